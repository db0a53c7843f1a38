// SPDX-License-Identifier: Apache-2.0
// RawConn: see raw_http.h.
#include "tests/testing/raw_http.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace kt::testing {

namespace {

// HeaderValue returns the value of header `name` (lowercase) in `head`.
std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const size_t start = pos + 2;
    const size_t eol = head.find("\r\n", start);
    const std::string_view line = head.substr(start, eol - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
    pos = eol;
  }
  return {};
}

size_t HeaderNumber(std::string_view head, std::string_view name) {
  const std::string_view v = HeaderValue(head, name);
  if (v.empty()) return std::string_view::npos;
  return static_cast<size_t>(std::strtoull(std::string(v).c_str(), nullptr, 10));
}

}  // namespace

bool RawConn::RoundTrip(std::string_view request, int* status, std::string_view* body,
                        std::string* err) {
  if (fd_ < 0 && !Connect(err)) return false;
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return Fail(err, "send failed");
    sent += static_cast<size_t>(n);
  }
  size_t have = 0;
  size_t header_end = std::string_view::npos;
  size_t total = 0;
  while (true) {
    if (have == buf_.size()) buf_.resize(buf_.size() * 2);
    const ssize_t n = ::recv(fd_, buf_.data() + have, buf_.size() - have, 0);
    if (n <= 0) return Fail(err, "connection closed before a full response");
    have += static_cast<size_t>(n);
    const std::string_view got(buf_.data(), have);
    if (header_end == std::string_view::npos) {
      header_end = got.find("\r\n\r\n");
      if (header_end == std::string_view::npos) continue;
      const std::string_view head = got.substr(0, header_end + 2);
      if (head.size() < 12 || head.substr(0, 9) != "HTTP/1.1 ") return Fail(err, "bad status line");
      *status = std::atoi(std::string(head.substr(9, 3)).c_str());
      const size_t length = HeaderNumber(head, "content-length");
      if (length == std::string_view::npos) return Fail(err, "no Content-Length");
      close_after_ = HeaderValue(head, "connection") == "close";
      total = header_end + 4 + length;
    }
    if (have > total) return Fail(err, "unexpected bytes after the response");
    if (have == total) {
      *body = got.substr(header_end + 4);
      if (close_after_) Close();
      return true;
    }
  }
}

bool RawConn::Connect(std::string* err) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return Fail(err, "socket failed");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Fail(err, "connect failed");
  }
  return true;
}

void RawConn::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConn::Fail(std::string* err, const char* why) {
  *err = why;
  Close();
  return false;
}

std::string HttpRequestBytes(std::string_view method, std::string_view path,
                             std::string_view body, std::string_view content_type,
                             std::string_view extra_headers) {
  std::string r;
  r.reserve(128 + path.size() + extra_headers.size() + body.size());
  r.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  r.append(extra_headers);
  if (!body.empty()) {
    r.append("Content-Type: ").append(content_type).append("\r\n");
    r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  return r.append("\r\n").append(body);
}

}  // namespace kt::testing
