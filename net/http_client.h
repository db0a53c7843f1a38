// SPDX-License-Identifier: Apache-2.0
// A small HTTP(S) client for talking to our nodes (log, witness) over
// cpp-httplib: URL parsing, timeouts, keep-alive connection reuse per host,
// TCP_NODELAY and a response body size cap. Network failures are Unavailable.
#ifndef KT_NET_HTTP_CLIENT_H_
#define KT_NET_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace kt::net {

// Url is a parsed http(s) URL. path always starts with '/'.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without IPv6 brackets
  int port = 0;        // explicit or the scheme's default
  std::string path;    // path + query, e.g. "/prefix/checkpoint"
  // Origin is "scheme://host:port" (IPv6 hosts in brackets).
  std::string Origin() const;
};

// ParseUrl accepts "http://host[:port][/path]" and "https://...". Userinfo,
// fragments and other schemes are InvalidArgument.
core::StatusOr<Url> ParseUrl(std::string_view url);

// JoinUrl appends path to base, with exactly one '/' between them.
std::string JoinUrl(std::string_view base, std::string_view path);

// Headers are extra request headers, or response headers with lowercase names.
using Headers = std::multimap<std::string, std::string>;

// HttpResponse is any response the server sent, whatever its status code.
struct HttpResponse {
  int status = 0;
  std::string body;
  Headers headers;  // names lowercased
  // Header returns the first value of `name` (any case), or "".
  std::string Header(std::string_view name) const;
  // ToStatus is OK for 2xx, else the server's error (see StatusFromHttp).
  core::Status ToStatus() const;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  size_t max_body_bytes = size_t{64} << 20;  // larger responses fail
  size_t max_idle_per_host = 8;              // idle keep-alive connections kept
  std::string user_agent = "kt/1";
};

// HttpClient sends requests, reusing keep-alive connections per origin.
// Thread-safe: concurrent requests each take their own connection from a
// per-origin pool (up to max_idle_per_host are kept idle for reuse).
// Redirects are not followed. A response is returned for every HTTP status;
// use HttpResponse::ToStatus to turn 4xx/5xx into a Status. Errors:
// InvalidArgument for a bad URL, Unavailable for connect/read/write failures
// and timeouts (with httplib's reason), ResourceExhausted when the body
// exceeds max_body_bytes.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  core::StatusOr<HttpResponse> Get(const std::string& url, const Headers& headers = {});
  core::StatusOr<HttpResponse> Post(const std::string& url, std::string_view body,
                                    const std::string& content_type,
                                    const Headers& headers = {});
  core::StatusOr<HttpResponse> Put(const std::string& url, std::string_view body,
                                   const std::string& content_type, const Headers& headers = {});
  core::StatusOr<HttpResponse> Delete(const std::string& url, const Headers& headers = {});

  // connections_created counts TCP connections opened so far (keep-alive
  // reuse keeps it low); for tests and metrics.
  uint64_t connections_created() const;

 private:
  core::StatusOr<HttpResponse> Send(const std::string& method, const std::string& url,
                                    std::string_view body, const std::string& content_type,
                                    const Headers& headers);
  std::unique_ptr<httplib::Client> Acquire(const Url& url);
  void Release(const std::string& origin, std::unique_ptr<httplib::Client> client);

  HttpClientOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_;
  uint64_t connections_created_ = 0;
};

}  // namespace kt::net

#endif  // KT_NET_HTTP_CLIENT_H_
