// SPDX-License-Identifier: Apache-2.0
// The head of an HTTP/1.x response (status line and header fields, RFC 9112
// §4-§6) as far as a client that reads bodies framed by Content-Length needs
// it. Pure parsing, no I/O.
#ifndef KT_NET_HTTP_RESPONSE_HEAD_H_
#define KT_NET_HTTP_RESPONSE_HEAD_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace kt::net {

// HttpResponseHead is a final (non-1xx) response whose body is exactly
// content_length bytes.
struct HttpResponseHead {
  int status = 0;
  uint64_t content_length = 0;
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close"
  bool operator==(const HttpResponseHead&) const = default;
};

// ParseHttpResponseHead parses "HTTP/1.x SSS reason" and the CRLF-separated
// header lines that follow (the final empty line may be absent). nullopt for
// anything outside the Content-Length framing: another version, an interim
// (1xx) status, no or several Content-Length fields, any Transfer-Encoding,
// a malformed line. A caller that gets nullopt must not use the connection
// for this plain path.
std::optional<HttpResponseHead> ParseHttpResponseHead(std::string_view head);

}  // namespace kt::net

#endif  // KT_NET_HTTP_RESPONSE_HEAD_H_
