// SPDX-License-Identifier: Apache-2.0
// HttpFetcher: a Fetcher over HTTP(S) (net/http_client.h) for a log's base
// URL, e.g. http://127.0.0.1:8080 or https://kt.example/log.
#ifndef KT_CLIENT_HTTP_FETCHER_H_
#define KT_CLIENT_HTTP_FETCHER_H_

#include <memory>
#include <string>

#include "client/fetcher.h"
#include "net/http_client.h"

namespace kt::client {

// HttpFetcher GETs <base_url>/<path>. 200 is the body; 404 NotFound; other
// 4xx the server's error (net::StatusFromHttp); 5xx and network failures
// Unavailable. Thread-safe (HttpClient pools connections).
class HttpFetcher : public Fetcher {
 public:
  explicit HttpFetcher(std::string base_url, net::HttpClientOptions options = {});
  core::StatusOr<std::string> Get(std::string_view path) override;

 private:
  std::string base_url_;
  net::HttpClient http_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_HTTP_FETCHER_H_
