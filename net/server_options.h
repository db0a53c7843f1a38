// SPDX-License-Identifier: Apache-2.0
// Configuration and lifecycle of the nodes' cpp-httplib servers: socket and
// keep-alive options, timeouts, body limit, worker pool, JSON 500 on exceptions,
// listen-address parsing, and a server running on its own thread.
// Only the nodes' http TUs need <httplib.h>; this header forward-declares it.
#ifndef KT_NET_SERVER_OPTIONS_H_
#define KT_NET_SERVER_OPTIONS_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "core/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace kt::net {

// ServerOptions tune an httplib::Server; the defaults suit a node on a small
// machine. A keep-alive connection occupies one worker thread while it is open
// (httplib is thread-per-connection), so `threads` bounds the number of
// concurrently served connections; further ones queue until a worker is free.
struct ServerOptions {
  size_t threads = 64;
  size_t max_body_bytes = size_t{1} << 20;  // larger request bodies get 413
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  // keep_alive_timeout is how long an idle connection is kept. It also bounds
  // how long ServerThread::Stop waits for idle connections to close.
  std::chrono::seconds keep_alive_timeout{2};
  size_t keep_alive_max_count = 100000;       // requests per connection
  bool tcp_nodelay = true;
};

// ConfigureServer applies options to server and installs handlers that turn an
// escaped exception into 500 {"error","code":"internal"} and give any error
// response without a body (404 for an unknown route, 413, ...) a JSON error
// body. With tcp_nodelay it also sends each response as one TCP segment
// (net/response_cork.h; it takes the server's post-routing handler and
// logger). Call before binding. Not thread-safe with a running server.
void ConfigureServer(httplib::Server& server, const ServerOptions& options);

// ParseListenAddress splits "host:port" (IPv6 as "[::1]:8080") into host and
// port 0..65535. InvalidArgument when malformed.
core::StatusOr<std::pair<std::string, int>> ParseListenAddress(std::string_view address);

// ServerThread runs an already configured httplib::Server on its own thread.
// The server must outlive the ServerThread. Stop() (also run by the
// destructor) stops accepting, lets in-flight requests finish, and joins; an
// idle keep-alive connection is only noticed when it times out, so Stop may
// take up to ServerOptions::keep_alive_timeout.
class ServerThread {
 public:
  // Start binds server to host:port (port 0 picks a free port; see port())
  // with ConfigureServer's socket options, raises the listen backlog to
  // SOMAXCONN (cpp-httplib's is 5), and serves on a new thread, returning
  // once the server accepts connections. IOError if binding fails (e.g.
  // address in use).
  static core::StatusOr<std::unique_ptr<ServerThread>> Start(httplib::Server& server,
                                                             const std::string& host, int port);
  ~ServerThread();
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  // port is the bound port (the actual one when 0 was requested).
  int port() const { return port_; }
  // Stop is idempotent and thread-safe with respect to the serving thread.
  void Stop();

 private:
  ServerThread(httplib::Server& server, int port) : server_(server), port_(port) {}
  httplib::Server& server_;
  int port_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> exited_{false};
};

}  // namespace kt::net

#endif  // KT_NET_SERVER_OPTIONS_H_
