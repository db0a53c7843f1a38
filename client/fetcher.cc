// SPDX-License-Identifier: Apache-2.0
// Helpers shared by Fetcher users.
#include "client/fetcher.h"

namespace kt::client {

core::Status Fetcher::GetInto(std::string_view path, std::string* body) {
  core::StatusOr<std::string> got = Get(path);
  if (!got.ok()) return got.status();
  *body = std::move(*got);
  return core::Status();
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                      (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace kt::client
