// SPDX-License-Identifier: Apache-2.0
// HTTP/1.x response head parsing (see http_response_head.h; RFC 9112 §4-§6).
#include "net/http_response_head.h"

#include "core/encoding.h"

namespace kt::net {
namespace {

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Trim drops optional whitespace around a field value (RFC 9110 §5.5).
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<HttpResponseHead> ParseHttpResponseHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '1' && line[7] != '0') ||
      line[8] != ' ') {
    return std::nullopt;
  }
  HttpResponseHead h;
  h.keep_alive = line[7] == '1';
  for (size_t i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
    h.status = h.status * 10 + (line[i] - '0');
  }
  if (h.status < 200 || (line.size() > 12 && line[12] != ' ')) return std::nullopt;
  bool have_length = false;
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsLower(name, "content-length")) {
      auto n = core::ParseDecimal(value);
      if (have_length || !n.ok()) return std::nullopt;
      have_length = true;
      h.content_length = *n;
    } else if (EqualsLower(name, "transfer-encoding")) {
      return std::nullopt;  // §6.3: Transfer-Encoding overrides Content-Length
    } else if (EqualsLower(name, "connection")) {
      if (EqualsLower(value, "close")) h.keep_alive = false;
    }
  }
  if (!have_length) return std::nullopt;
  return h;
}

}  // namespace kt::net
