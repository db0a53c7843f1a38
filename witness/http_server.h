// SPDX-License-Identifier: Apache-2.0
// The witness's HTTP front end (the only TU that includes cpp-httplib):
//   POST /add-checkpoint                  c2sp.org/tlog-witness §add-checkpoint
//   GET  /<hex sha256(origin)>/checkpoint the latest cosigned checkpoint
//   GET  /evidence                        refused log-signed checkpoints (JSON)
//   GET  /metrics                         Prometheus text format
//   GET  /healthz
// HTTP only maps Witness results to status codes (net::HttpStatusFor) and
// records metrics; every decision is made by Witness.
#ifndef KT_WITNESS_HTTP_SERVER_H_
#define KT_WITNESS_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "net/metrics.h"
#include "net/server_options.h"
#include "witness/witness.h"

namespace kt::witness {

// HttpServer serves one Witness. Thread-safe as the Witness is; handlers run
// on the server's worker pool.
class HttpServer {
 public:
  // `witness` and `metrics` must outlive the server.
  HttpServer(Witness* witness, net::Registry* metrics, const net::ServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Start binds host:port (0 picks a free port) and serves on a background
  // thread; returns the bound port. IOError if binding fails.
  core::StatusOr<int> Start(const std::string& host, int port);
  // Stop stops accepting, finishes in-flight requests and joins. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// kTlogSizeContentType is the 409 body type of tlog-witness.
inline constexpr const char kTlogSizeContentType[] = "text/x.tlog.size";

}  // namespace kt::witness

#endif  // KT_WITNESS_HTTP_SERVER_H_
