// SPDX-License-Identifier: Apache-2.0
// Fetcher over net::HttpClient.
#include "client/http_fetcher.h"

#include "net/http_status.h"

namespace kt::client {

using core::Status;

HttpFetcher::HttpFetcher(std::string base_url, net::HttpClientOptions options)
    : base_url_(std::move(base_url)), http_(std::move(options)) {}

core::StatusOr<std::string> HttpFetcher::Get(std::string_view path) {
  const std::string url = net::JoinUrl(base_url_, path);
  auto resp = http_.Get(url);
  if (!resp.ok()) return resp.status().Annotate("GET " + url);
  if (resp->status == 200) return std::move(resp->body);
  Status s = net::StatusFromHttp(resp->status, resp->body);
  if (resp->status == 404) return Status::NotFound("GET " + url + ": " + s.message());
  if (resp->status >= 500) {
    return Status::Unavailable("GET " + url + ": HTTP " + std::to_string(resp->status) + ": " +
                               s.message());
  }
  if (s.ok()) {
    return Status::Unavailable("GET " + url + ": unexpected HTTP " + std::to_string(resp->status));
  }
  return s.Annotate("GET " + url);
}

}  // namespace kt::client
