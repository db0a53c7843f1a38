// SPDX-License-Identifier: Apache-2.0
// LogHttpServer: the log node's HTTP front end, the only cpp-httplib TU of
// ktlog. It maps routes onto LogApi (DESIGN.md "Log HTTP API"), applies the
// per-client rate limit and body limit, counts requests by route and status
// (GET /metrics, Prometheus text) and answers GET /healthz.
#ifndef KT_LOG_HTTP_SERVER_H_
#define KT_LOG_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "log/api.h"
#include "log/prekey_api.h"
#include "log/sequencer.h"
#include "log/storage.h"
#include "net/metrics.h"
#include "net/rate_limiter.h"
#include "net/server_options.h"

namespace httplib {
class Server;
class Request;
}  // namespace httplib

namespace kt::log {

struct LogHttpOptions {
  net::ServerOptions server;  // TCP_NODELAY, keep-alive, body limit, threads
  double rate_limit = 0;      // requests/s per client address; 0 = off
  // prekey_api, when set (and outliving the server), mounts /v1/prekeys/ and
  // /v1/messages/ (docs/x3dh.md "Server API") and raises the body limit to
  // kMaxMailboxBody.
  PrekeyApi* prekey_api = nullptr;
};

// LogHttpServer serves `api` until Stop. `api`, `sequencer`, `storage` and
// `metrics` must outlive it. Start/Stop from one owner thread.
class LogHttpServer {
 public:
  LogHttpServer(LogApi& api, Sequencer& sequencer, LogStorage& storage, net::Registry& metrics,
                LogHttpOptions options);
  ~LogHttpServer();  // Stop()
  LogHttpServer(const LogHttpServer&) = delete;
  LogHttpServer& operator=(const LogHttpServer&) = delete;

  // Start binds host:port (0 = a free port) and serves on a background
  // thread; returns once connections are accepted. IOError if binding fails.
  Status Start(const std::string& host, int port);
  // port is the bound port after Start.
  int port() const;
  // Stop stops accepting, lets in-flight requests finish and joins.
  void Stop();

 private:
  void Register();

  LogApi& api_;
  Sequencer& sequencer_;
  LogStorage& storage_;
  net::Registry& metrics_;
  LogHttpOptions options_;
  net::RateLimiter limiter_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<net::ServerThread> thread_;
};

}  // namespace kt::log

#endif  // KT_LOG_HTTP_SERVER_H_
