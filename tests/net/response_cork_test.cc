// SPDX-License-Identifier: Apache-2.0
// Tests for net/response_cork: finding a connection's socket from the
// request's addresses (the part that must never pick another socket), and a
// ConfigureServer'd server answering keep-alive requests correctly with no
// socket left corked after its response.
#include "net/response_cork.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "net/server_options.h"
#include "tests/testing/raw_http.h"

namespace kt::net {
namespace {

int PortOf(int fd, bool peer) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return rc == 0 ? ntohs(a.sin_port) : -1;
}

TEST(ResponseCorkTest, FindsExactlyTheConnectionSocket) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  const int listen_port = PortOf(listener, false);
  addr.sin_port = htons(static_cast<uint16_t>(listen_port));
  int clients[2], accepted[2];
  for (int i = 0; i < 2; i++) {
    clients[i] = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(clients[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    accepted[i] = accept(listener, nullptr, nullptr);
    ASSERT_GE(accepted[i], 0);
  }
  for (int i = 0; i < 2; i++) {
    const int client_port = PortOf(clients[i], false);
    EXPECT_EQ(FindConnectionSocket("127.0.0.1", client_port, listen_port), accepted[i]);
    // The client's own socket has the swapped ports: it must not match.
    EXPECT_EQ(FindConnectionSocket("127.0.0.1", listen_port, client_port), clients[i]);
    EXPECT_EQ(FindConnectionSocket("127.0.0.2", client_port, listen_port), -1);
    EXPECT_EQ(FindConnectionSocket("127.0.0.1", client_port, listen_port + 1), -1);
  }
  for (int fd : {clients[0], clients[1], accepted[0], accepted[1], listener}) close(fd);
}

TEST(ResponseCorkTest, KeepAliveAnswersAreCompleteAndNothingStaysCorked) {
  httplib::Server server;
  ServerOptions options;
  options.threads = 2;
  ConfigureServer(server, options);
  server.Get("/small", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("tiny", "text/plain");
  });
  server.Get("/large", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(200000, 'L'), "text/plain");
  });
  auto st = ServerThread::Start(server, "127.0.0.1", 0);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const int port = (*st)->port();
  kt::testing::RawConn conn(port);
  int status = 0;
  std::string_view body;
  std::string err;
  for (int i = 0; i < 6; i++) {
    const bool large = i % 3 == 2;
    ASSERT_TRUE(conn.RoundTrip(kt::testing::HttpRequestBytes("GET", large ? "/large" : "/small"),
                               &status, &body, &err))
        << err;
    EXPECT_EQ(status, 200);
    EXPECT_EQ(body, large ? std::string(200000, 'L') : std::string("tiny"));
  }
  ASSERT_TRUE(conn.RoundTrip(kt::testing::HttpRequestBytes("GET", "/none"), &status, &body, &err));
  EXPECT_EQ(status, 404);
  // Every socket of the server's listening port in this process: none corked.
  int checked = 0;
  for (int fd = 0; fd < 1024; fd++) {
    if (PortOf(fd, false) != port || PortOf(fd, true) <= 0) continue;
    int cork = -1;
    socklen_t len = sizeof cork;
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_CORK, &cork, &len), 0);
    EXPECT_EQ(cork, 0) << "fd " << fd;
    checked++;
  }
  EXPECT_EQ(checked, 1);  // the server side of our one keep-alive connection
}

}  // namespace
}  // namespace kt::net
