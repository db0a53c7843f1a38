// SPDX-License-Identifier: Apache-2.0
// Fetcher over net::HttpClient, with a plain-HTTP fast path for GETs
// (HTTP/1.1 message framing: RFC 9112 §2-§6).
#include "client/http_fetcher.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/encoding.h"
#include "net/http_response_head.h"
#include "net/http_status.h"

namespace kt::client {

using core::Status;

namespace {

constexpr size_t kHeadBytes = 16384;  // status line + headers, at most

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

PlainHttpGetter::PlainHttpGetter(net::Url origin, net::HttpClientOptions options)
    : origin_(std::move(origin)), options_(std::move(options)) {
  const bool v6 = origin_.host.find(':') != std::string::npos;
  host_header_ = (v6 ? "[" + origin_.host + "]" : origin_.host) + ":" + std::to_string(origin_.port);
}

PlainHttpGetter::~PlainHttpGetter() {
  for (int fd : idle_) ::close(fd);
}

uint64_t PlainHttpGetter::answered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return answered_;
}

int PlainHttpGetter::Connect() const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(origin_.host.c_str(), std::to_string(origin_.port).c_str(), &hints, &res) != 0) {
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    // SO_SNDTIMEO bounds a blocking connect (Linux); then the write timeout.
    timeval connect_tv = ToTimeval(options_.connect_timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connect_tv, sizeof(connect_tv));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return -1;
  timeval write_tv = ToTimeval(options_.write_timeout);
  timeval read_tv = ToTimeval(options_.read_timeout);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &write_tv, sizeof(write_tv));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_tv, sizeof(read_tv));
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

namespace {

// TimedOut tells whether a failed send/recv hit SO_SNDTIMEO/SO_RCVTIMEO.
bool TimedOut(ssize_t n) { return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK); }

}  // namespace

std::optional<int> PlainHttpGetter::Exchange(int fd, const std::string& request,
                                             std::string* body, bool* reusable, bool* nothing,
                                             bool* timed_out) const {
  *reusable = false;
  *nothing = true;
  *timed_out = false;
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *timed_out = TimedOut(n);
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  // The head, read in one buffer; what follows it is the body's start.
  char buf[kHeadBytes];
  size_t have = 0;
  size_t end = std::string_view::npos;
  while (end == std::string_view::npos) {
    if (have == sizeof(buf)) return std::nullopt;
    ssize_t n = ::recv(fd, buf + have, sizeof(buf) - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *timed_out = TimedOut(n);
      return std::nullopt;
    }
    *nothing = false;
    const size_t from = have >= 3 ? have - 3 : 0;
    have += static_cast<size_t>(n);
    end = std::string_view(buf, have).find("\r\n\r\n", from);
  }
  std::optional<net::HttpResponseHead> head =
      net::ParseHttpResponseHead(std::string_view(buf, end + 2));
  if (!head.has_value() || head->content_length > options_.max_body_bytes) return std::nullopt;
  const size_t len = static_cast<size_t>(head->content_length);
  const size_t start = end + 4;
  if (have - start > len) return std::nullopt;  // bytes beyond the response
  body->resize(len);  // fills only beyond its former size
  std::memcpy(body->data(), buf + start, have - start);
  for (size_t got = have - start; got < len;) {
    ssize_t n = ::recv(fd, body->data() + got, len - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *timed_out = TimedOut(n);
      return std::nullopt;
    }
    got += static_cast<size_t>(n);
  }
  *reusable = head->keep_alive;
  return head->status;
}

std::optional<int> PlainHttpGetter::Get(const std::string& target, std::string* body,
                                        bool* timed_out) {
  *timed_out = false;
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host_header_ +
                              "\r\nUser-Agent: " + options_.user_agent +
                              "\r\nAccept: */*\r\n\r\n";
  // Attempt 0 may take a pooled connection; if the server had closed it
  // (no byte of an answer), attempt 1 opens a fresh one.
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = -1;
    if (attempt == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        fd = idle_.back();
        idle_.pop_back();
      }
    }
    const bool pooled = fd >= 0;
    if (!pooled) fd = Connect();
    if (fd < 0) return std::nullopt;
    bool reusable = false;
    bool nothing = false;
    std::optional<int> answer = Exchange(fd, request, body, &reusable, &nothing, timed_out);
    if (answer.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      answered_++;
      if (reusable && idle_.size() < options_.max_idle_per_host) {
        idle_.push_back(fd);
        fd = -1;
      }
    }
    if (fd >= 0) ::close(fd);
    if (answer.has_value() || !pooled || !nothing || *timed_out) return answer;
  }
  return std::nullopt;
}

HttpFetcher::HttpFetcher(std::string base_url, net::HttpClientOptions options)
    : base_url_(std::move(base_url)), http_(options) {
  auto url = net::ParseUrl(base_url_);
  if (url.ok() && url->scheme == "http") {
    plain_ = std::make_unique<PlainHttpGetter>(*url, std::move(options));
  }
}

HttpFetcher::~HttpFetcher() = default;

uint64_t HttpFetcher::plain_gets() const { return plain_ == nullptr ? 0 : plain_->answered(); }

namespace {

// FromAnswer maps a non-200 answer to the Fetcher's errors.
Status FromAnswer(const std::string& url, int status, std::string_view body) {
  Status s = net::StatusFromHttp(status, body);
  if (status == 404) return Status::NotFound("GET " + url + ": " + s.message());
  if (status >= 500) {
    return Status::Unavailable("GET " + url + ": HTTP " + std::to_string(status) + ": " + s.message());
  }
  if (s.ok()) return Status::Unavailable("GET " + url + ": unexpected HTTP " + std::to_string(status));
  return s.Annotate("GET " + url);
}

}  // namespace

core::Status HttpFetcher::GetInto(std::string_view path, std::string* body) {
  const std::string url = net::JoinUrl(base_url_, path);
  if (plain_ != nullptr) {
    auto target = net::ParseUrl(url);
    if (target.ok()) {
      bool timed_out = false;
      std::optional<int> status = plain_->Get(target->path, body, &timed_out);
      if (status.has_value()) return *status == 200 ? Status() : FromAnswer(url, *status, *body);
      // A server that does not answer in time is not asked again by the
      // general client (that would double the wait).
      if (timed_out) return Status::Unavailable("GET " + url + ": timed out");
    }
  }
  auto resp = http_.Get(url);
  if (!resp.ok()) return resp.status().Annotate("GET " + url);
  if (resp->status != 200) return FromAnswer(url, resp->status, resp->body);
  *body = std::move(resp->body);
  return Status();
}

core::StatusOr<std::string> HttpFetcher::Get(std::string_view path) {
  std::string body;
  KT_RETURN_IF_ERROR(GetInto(path, &body));
  return body;
}

}  // namespace kt::client
