// SPDX-License-Identifier: Apache-2.0
// cpp-httplib client wrapper with per-origin keep-alive pools; see
// net/http_client.h.
#include "net/http_client.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>

#include "core/encoding.h"
#include "net/http_status.h"

namespace kt::net {

using core::Status;
using core::StatusOr;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}


}  // namespace

std::string Url::Origin() const {
  bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

StatusOr<Url> ParseUrl(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("URL \"" + std::string(text.substr(0, 200)) + "\": " + why);
  };
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return bad("missing scheme (want http:// or https://)");
  url.scheme = Lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (path.find('#') != std::string_view::npos) return bad("fragments are not allowed");
  if (!path.empty() && path.front() == '?') return bad("query without path");
  if (authority.find('@') != std::string_view::npos) return bad("userinfo is not allowed");
  std::string_view host = authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unbalanced brackets");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 host");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
    if (port_text.empty()) return bad("empty port");
    if (host.find(':') != std::string_view::npos) return bad("IPv6 hosts need brackets");
  }
  if (host.empty()) return bad("empty host");
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '\\') {
      return bad("invalid host");
    }
  }
  url.host = std::string(host);
  url.port = url.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    auto port = core::ParseDecimal(port_text);
    if (!port.ok() || *port == 0 || *port > 65535) return bad("port must be 1..65535");
    url.port = static_cast<int>(*port);
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("path has a control or space");
  }
  url.path = path.empty() ? "/" : std::string(path);
  return url;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return std::string(base) + "/" + std::string(path);
}

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

Status HttpResponse::ToStatus() const { return StatusFromHttp(status, body); }

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {}

HttpClient::~HttpClient() = default;

uint64_t HttpClient::connections_created() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_created_;
}

std::unique_ptr<httplib::Client> HttpClient::Acquire(const Url& url) {
  std::string origin = url.Origin();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& pool = idle_[origin];
    if (!pool.empty()) {
      auto c = std::move(pool.back());
      pool.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(origin);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_follow_location(false);
  c->set_connection_timeout(options_.connect_timeout);
  c->set_read_timeout(options_.read_timeout);
  c->set_write_timeout(options_.write_timeout);
  // Replaces httplib's default socket options (SO_REUSEADDR, irrelevant for
  // a client) and counts every TCP connection the client opens.
  c->set_socket_options([this](socket_t sock) {
    int one = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    ++connections_created_;
  });
  return c;
}

void HttpClient::Release(const std::string& origin, std::unique_ptr<httplib::Client> client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& pool = idle_[origin];
  if (pool.size() < options_.max_idle_per_host) pool.push_back(std::move(client));
}

StatusOr<HttpResponse> HttpClient::Get(const std::string& url, const Headers& headers) {
  return Send("GET", url, {}, "", headers);
}

StatusOr<HttpResponse> HttpClient::Post(const std::string& url, std::string_view body,
                                        const std::string& content_type, const Headers& headers) {
  return Send("POST", url, body, content_type, headers);
}

StatusOr<HttpResponse> HttpClient::Put(const std::string& url, std::string_view body,
                                       const std::string& content_type, const Headers& headers) {
  return Send("PUT", url, body, content_type, headers);
}

StatusOr<HttpResponse> HttpClient::Delete(const std::string& url, const Headers& headers) {
  return Send("DELETE", url, {}, "", headers);
}

StatusOr<HttpResponse> HttpClient::Send(const std::string& method, const std::string& url_text,
                                        std::string_view body, const std::string& content_type,
                                        const Headers& headers) {
  KT_ASSIGN_OR_RETURN(Url url, ParseUrl(url_text));
  std::unique_ptr<httplib::Client> client = Acquire(url);

  httplib::Request req;
  req.method = method;
  req.path = url.path;
  for (const auto& [k, v] : headers) req.headers.emplace(k, v);
  if (!req.has_header("User-Agent")) req.set_header("User-Agent", options_.user_agent);
  if (method == "POST" || method == "PUT") {
    req.body = std::string(body);
    req.set_header("Content-Type", content_type);
  }
  HttpResponse out;
  bool too_big = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t offset, uint64_t total) {
    if (out.body.size() + n > options_.max_body_bytes) {
      too_big = true;
      return false;
    }
    // One allocation for a body of known length (no regrowth copies).
    if (offset == 0 && total <= options_.max_body_bytes) out.body.reserve(total);
    out.body.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool ok = client->send(req, res, err);
  if (too_big) {
    // The connection is mid-body: drop it rather than pool it.
    return Status::ResourceExhausted(method + " " + url_text + ": response body exceeds " +
                                     std::to_string(options_.max_body_bytes) + " bytes");
  }
  if (!ok) {
    return Status::Unavailable(method + " " + url_text + ": " + httplib::to_string(err));
  }
  Release(url.Origin(), std::move(client));
  out.status = res.status;
  for (const auto& [k, v] : res.headers) out.headers.emplace(Lower(k), v);
  return out;
}

}  // namespace kt::net
