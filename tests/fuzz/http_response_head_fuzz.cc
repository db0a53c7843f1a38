// SPDX-License-Identifier: Apache-2.0
// Fuzz target for net/http_response_head.h (the plain-HTTP GET path of
// kt's fetcher reads network bytes through it). Every accepted head must be
// a final status with exactly one Content-Length and no Transfer-Encoding,
// and its canonical re-rendering must parse back equal.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "net/http_response_head.h"

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// FieldCount counts the header lines named `name` (lower case) after the
// status line.
int FieldCount(std::string_view head, std::string_view name) {
  int n = 0;
  size_t eol = head.find("\r\n");
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && Lower(line.substr(0, colon)) == name) n++;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kt::net::HttpResponseHead;
  using kt::net::ParseHttpResponseHead;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::optional<HttpResponseHead> h = ParseHttpResponseHead(in);
  if (!h) return 0;
  KT_CHECK(h->status >= 200 && h->status <= 999);
  KT_CHECK(FieldCount(in, "content-length") == 1);
  KT_CHECK(FieldCount(in, "transfer-encoding") == 0);
  KT_CHECK(!h->keep_alive || in.starts_with("HTTP/1.1 "));
  std::string canonical = "HTTP/1.1 " + std::to_string(h->status) + " X\r\nContent-Length: " +
                          std::to_string(h->content_length) + "\r\n" +
                          (h->keep_alive ? "" : "Connection: close\r\n");
  std::optional<HttpResponseHead> again = ParseHttpResponseHead(canonical);
  KT_CHECK(again && *again == *h);
  return 0;
}
