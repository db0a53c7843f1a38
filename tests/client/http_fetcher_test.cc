// SPDX-License-Identifier: Apache-2.0
// Tests for HttpFetcher's plain-HTTP path (client/http_fetcher.h) against a
// real httplib server on 127.0.0.1: bodies, error statuses, the fallback
// for other framings, connections the server closes, concurrent use, and a
// server that never answers (one timeout, not two).
#include "client/http_fetcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace kt::client {
namespace {

using core::Status;

std::string Pattern(size_t n, char seed) {
  std::string s(n, 'x');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

class HttpFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.set_tcp_nodelay(true);  // as our servers (net/server_options.h)
    server_.Get("/log/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(Pattern(300000, 1), "application/octet-stream");
    });
    server_.Get(R"(/log/n/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(Pattern(std::stoul(req.matches[1].str()), 2), "text/plain");
    });
    server_.Get("/log/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"code":"not_found","error":"no such tile"})", "application/json");
    });
    server_.Get("/log/boom", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content(R"({"error":"disk on fire"})", "application/json");
    });
    server_.Get("/log/chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
        if (offset < 30000) {
          std::string part = Pattern(30000, 3).substr(offset, 10000);
          sink.write(part.data(), part.size());
        } else {
          sink.done();
        }
        return true;
      });
    });
  }
  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_) + "/log"; }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(HttpFetcherTest, PlainPathServesBodiesAndErrors) {
  Start();
  HttpFetcher f(Base());
  auto big = f.Get("big");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(*big, Pattern(300000, 1));
  auto missing = f.Get("missing");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("no such tile"), std::string::npos);
  auto boom = f.Get("boom");
  EXPECT_EQ(boom.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(boom.status().message().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(f.plain_gets(), 3u);
  // Chunked framing is left to the general client, with the same result.
  auto chunked = f.Get("chunked");
  ASSERT_TRUE(chunked.ok()) << chunked.status().ToString();
  EXPECT_EQ(*chunked, Pattern(30000, 3));
  EXPECT_EQ(f.plain_gets(), 3u);
}

TEST_F(HttpFetcherTest, GetIntoReusesTheBodyWhateverItsSize) {
  Start();
  HttpFetcher f(Base());
  std::string body = "stale content that must go";
  for (size_t n : {size_t{5}, size_t{70000}, size_t{0}, size_t{3}, size_t{70001}, size_t{69999}}) {
    ASSERT_TRUE(f.GetInto("n/" + std::to_string(n), &body).ok()) << n;
    EXPECT_EQ(body, Pattern(n, 2)) << n;
  }
  EXPECT_EQ(f.plain_gets(), 6u);
}

TEST_F(HttpFetcherTest, ConnectionsTheServerClosesAreReplaced) {
  // One request per connection ("Connection: close"), then a connection the
  // server drops while idle in the pool.
  server_.set_keep_alive_max_count(1);
  server_.set_keep_alive_timeout(1);
  Start();
  HttpFetcher f(Base());
  for (int i = 0; i < 20; i++) {
    auto r = f.Get("n/" + std::to_string(1000 + i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, Pattern(1000 + i, 2));
  }
  EXPECT_EQ(f.plain_gets(), 20u);
}

TEST_F(HttpFetcherTest, IdleConnectionClosedByTheServerIsRetried) {
  server_.set_keep_alive_timeout(1);
  Start();
  HttpFetcher f(Base());
  ASSERT_TRUE(f.Get("n/10").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // the server closes it
  auto r = f.Get("n/11");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Pattern(11, 2));
  EXPECT_EQ(f.plain_gets(), 2u);
}

TEST_F(HttpFetcherTest, ConcurrentGetsEachGetTheirOwnBody) {
  Start();
  HttpFetcher f(Base());
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        const size_t n = 100 + static_cast<size_t>(t * 1000 + i);
        auto r = f.Get("n/" + std::to_string(n));
        if (!r.ok() || *r != Pattern(n, 2)) bad[t]++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
  EXPECT_EQ(f.plain_gets(), 200u);
}

TEST_F(HttpFetcherTest, NoServerIsUnavailable) {
  Start();
  const std::string base = Base();
  ASSERT_TRUE(HttpFetcher(base).Get("n/1").ok());  // the server runs: stop() ends it
  server_.stop();
  thread_.join();
  HttpFetcher f(base);
  auto r = f.Get("n/5");
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(f.plain_gets(), 0u);
}

// A server that accepts connections and never answers: the plain path's
// read timeout is the answer (Unavailable), and the general client does not
// try again (which would double the wait): exactly one connection is made.
TEST(HttpFetcherSilentServerTest, ATimeoutIsNotRepeatedByTheGeneralClient) {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(lfd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::vector<int> held;  // touched by the acceptor only, until joined
  std::thread acceptor([&] {
    for (int i = 0; i < 1000 && !stop; i++) {  // bounded: at most ~10 s
      pollfd p{lfd, POLLIN, 0};
      if (::poll(&p, 1, 10) != 1) continue;
      int c = ::accept(lfd, nullptr, nullptr);
      if (c < 0) continue;
      accepted++;
      held.push_back(c);
    }
  });
  net::HttpClientOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  HttpFetcher f("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/log", options);
  auto r = f.Get("n/1");
  stop = true;
  acceptor.join();
  for (int c : held) ::close(c);
  ::close(lfd);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(f.plain_gets(), 0u);
}

}  // namespace
}  // namespace kt::client
