// SPDX-License-Identifier: Apache-2.0
// HttpFetcher: a Fetcher over HTTP(S) (net/http_client.h) for a log's base
// URL, e.g. http://127.0.0.1:8080 or https://kt.example/log. For plain
// http:// it answers GETs over its own kept-alive TCP connections when the
// exchange is the common one (a complete response with a Content-Length, RFC
// 9112 §6.3), reading the body straight into the returned string in large
// reads; anything else (a connect failure, another framing, an oversized
// body) is redone through net::HttpClient, so errors are the same. An
// auditor fetches gigabytes of entry bundles: this halves its HTTP CPU.
#ifndef KT_CLIENT_HTTP_FETCHER_H_
#define KT_CLIENT_HTTP_FETCHER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/fetcher.h"
#include "net/http_client.h"

namespace kt::client {

class PlainHttpGetter;

// HttpFetcher GETs <base_url>/<path>. 200 is the body; 404 NotFound; other
// 4xx the server's error (net::StatusFromHttp); 5xx and network failures
// Unavailable. Thread-safe (connections are pooled).
class HttpFetcher : public Fetcher {
 public:
  explicit HttpFetcher(std::string base_url, net::HttpClientOptions options = {});
  ~HttpFetcher() override;
  core::StatusOr<std::string> Get(std::string_view path) override;
  // GetInto reuses *body's memory on the plain-HTTP path.
  core::Status GetInto(std::string_view path, std::string* body) override;
  // plain_gets counts the GETs answered by the plain-HTTP path (tests).
  uint64_t plain_gets() const;

 private:
  std::string base_url_;
  net::HttpClient http_;
  std::unique_ptr<PlainHttpGetter> plain_;  // null unless http://
};

// PlainHttpGetter makes HTTP/1.1 GETs to one http:// origin over pooled
// keep-alive connections. Get returns the status and sets *body for a
// complete response framed by Content-Length of at most max_body_bytes
// (reusing *body's memory); nullopt for anything else (the caller then uses
// a general client; *body is unspecified). A pooled connection that
// the server closed meanwhile is replaced once. Thread-safe.
class PlainHttpGetter {
 public:
  PlainHttpGetter(net::Url origin, net::HttpClientOptions options);
  ~PlainHttpGetter();
  PlainHttpGetter(const PlainHttpGetter&) = delete;
  PlainHttpGetter& operator=(const PlainHttpGetter&) = delete;
  // `target` is the path and query, starting with '/'. *timed_out is set when
  // the server took longer than the read or write timeout: the request must
  // then not be repeated.
  std::optional<int> Get(const std::string& target, std::string* body, bool* timed_out);
  uint64_t answered() const;

 private:
  int Connect() const;
  // Exchange sends `request` on fd and reads the response. *reusable tells
  // whether fd may serve another request; *nothing whether no response
  // byte arrived (a stale keep-alive connection); *timed_out whether a send
  // or receive hit its timeout.
  std::optional<int> Exchange(int fd, const std::string& request, std::string* body,
                              bool* reusable, bool* nothing, bool* timed_out) const;
  const net::Url origin_;
  const net::HttpClientOptions options_;
  std::string host_header_;
  mutable std::mutex mu_;
  std::vector<int> idle_;
  uint64_t answered_ = 0;
};

}  // namespace kt::client

#endif  // KT_CLIENT_HTTP_FETCHER_H_
