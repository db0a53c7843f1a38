// SPDX-License-Identifier: Apache-2.0
// Fetcher: where the client reads a log's HTTP API from (DESIGN.md "Log HTTP
// API"): the tlog-tiles static paths and the dynamic JSON endpoints. Nothing
// a Fetcher returns is trusted; every byte is verified by the caller.
#ifndef KT_CLIENT_FETCHER_H_
#define KT_CLIENT_FETCHER_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace kt::client {

// Fetcher reads one resource of a log, by its path relative to the log's base
// URL without a leading slash ("checkpoint", "tile/0/000",
// "v1/lookup?user=alice%40example.org"). Implementations must be thread-safe
// (the tile reader fetches in parallel).
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Get returns the body of a 200 answer. Errors: NotFound for 404,
  // Unavailable for network failures and timeouts, otherwise the Status the
  // server's error maps to (its reason in the message).
  virtual core::StatusOr<std::string> Get(std::string_view path) = 0;
  // GetInto is Get into *body, whose memory an implementation may reuse (an
  // auditor fetches thousands of bundles of about one size). On error *body
  // is unspecified. The default calls Get.
  virtual core::Status GetInto(std::string_view path, std::string* body);
};

// UrlEncode percent-encodes everything but RFC 3986 unreserved characters,
// for query values such as user ids.
std::string UrlEncode(std::string_view s);

}  // namespace kt::client

#endif  // KT_CLIENT_FETCHER_H_
