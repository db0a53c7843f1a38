// SPDX-License-Identifier: Apache-2.0
// cpp-httplib server configuration and lifecycle; see net/server_options.h.
#include "net/server_options.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cstdio>
#include <exception>

#include "core/encoding.h"
#include "net/http_status.h"
#include "net/response_cork.h"

namespace kt::net {

using core::Status;
using core::StatusOr;

namespace {

// StatusForHttpError names the errors httplib itself produces.
Status StatusForHttpError(int http_status) {
  switch (http_status) {
    case 400: return Status::InvalidArgument("bad request");
    case 404: return Status::NotFound("no such endpoint");
    case 405: return Status::InvalidArgument("method not allowed");
    case 413: return Status::InvalidArgument("request body too large");
    case 414: return Status::InvalidArgument("request URI too long");
    default: return StatusFromHttp(http_status, "request failed");
  }
}

// SetSocketOptions is the listening socket's setup. httplib's default also
// sets SO_REUSEPORT, which would let a second node bind the same port and
// silently share its traffic. Keep SO_REUSEADDR only (a restarted node can
// rebind while old connections sit in TIME_WAIT).
void SetSocketOptions(socket_t sock) {
  int one = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}

}  // namespace

void ConfigureServer(httplib::Server& server, const ServerOptions& options) {
  server.set_tcp_nodelay(options.tcp_nodelay);
  server.set_socket_options(SetSocketOptions);
  server.set_keep_alive_max_count(options.keep_alive_max_count);
  server.set_keep_alive_timeout(static_cast<time_t>(options.keep_alive_timeout.count()));
  server.set_read_timeout(options.read_timeout);
  server.set_write_timeout(options.write_timeout);
  server.set_payload_max_length(options.max_body_bytes);
  size_t threads = options.threads == 0 ? 1 : options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                  std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    // The reason goes to the operator's log, not to the client.
    std::fprintf(stderr, "http: exception in handler for %s %s: %s\n", req.method.c_str(),
                 req.path.c_str(), what.c_str());
    res.status = 500;
    res.set_content(JsonError(Status::Internal("internal error")), "application/json");
  });
  // One TCP segment per response (net/response_cork.h): cpp-httplib calls the
  // post-routing handler just before it writes any response and the logger
  // just after, on the connection's worker thread.
  if (options.tcp_nodelay) {
    server.set_post_routing_handler([](const httplib::Request& req, httplib::Response&) {
      CorkResponse(req.remote_addr, req.remote_port, req.local_port);
    });
    server.set_logger([](const httplib::Request&, const httplib::Response&) { UncorkResponse(); });
  }
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_content(JsonError(StatusForHttpError(res.status)), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
}

StatusOr<std::pair<std::string, int>> ParseListenAddress(std::string_view address) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("listen address \"" + std::string(address) + "\": " + why +
                                   " (want host:port, e.g. 127.0.0.1:8080)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("missing port");
  std::string_view host = address.substr(0, colon);
  std::string_view port_text = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("IPv6 hosts need brackets");
  }
  if (host.empty()) return bad("empty host");
  auto port = core::ParseDecimal(port_text);
  if (!port.ok() || *port > 65535) return bad("port must be a number 0..65535");
  return std::make_pair(std::string(host), static_cast<int>(*port));
}

StatusOr<std::unique_ptr<ServerThread>> ServerThread::Start(httplib::Server& server,
                                                            const std::string& host, int port) {
  // Keep the listening socket (same options as ConfigureServer) so that its
  // accept backlog can be raised once bound.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t sock) {
    SetSocketOptions(sock);
    listen_fd = sock;
  });
  int bound = -1;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    bound = port;
  }
  server.set_socket_options(SetSocketOptions);  // drop the reference to listen_fd
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections
  // (say 50 clients at once) overflows the accept queue and some wait for a
  // SYN retransmission (1 s, then 3 s) or see their connection reset.
  // Calling listen() again on a listening socket only changes its backlog
  // (Linux), so raise it to the system maximum.
  if (bound >= 0 && listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  if (bound < 0) {
    return Status::IOError("cannot bind " + host + ":" + std::to_string(port) +
                           " (address in use or not local?)");
  }
  std::unique_ptr<ServerThread> st(new ServerThread(server, bound));
  ServerThread* raw = st.get();
  st->thread_ = std::thread([raw] {
    raw->server_.listen_after_bind();
    raw->exited_ = true;
  });
  // httplib's stop() is a no-op until the accept loop runs, so wait for it
  // (bounded: 10 s) before handing out a ServerThread that may be stopped.
  for (int i = 0; i < 10000 && !server.is_running() && !st->exited_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    st->Stop();
    return Status::IOError("server on " + host + ":" + std::to_string(bound) + " did not start");
  }
  return st;
}

void ServerThread::Stop() {
  if (stopped_.exchange(true)) return;
  // httplib's stop() only acts once the accept loop runs (bounded wait). It
  // closes the listening socket; workers finish their current request, the
  // keep-alive loops notice the closed socket, and listen_after_bind returns.
  for (int i = 0; i < 10000 && !server_.is_running() && !exited_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!exited_) server_.stop();
  if (thread_.joinable()) thread_.join();
}

ServerThread::~ServerThread() { Stop(); }

}  // namespace kt::net
