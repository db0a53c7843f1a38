// SPDX-License-Identifier: Apache-2.0
// Loopback tests: a real cpp-httplib server configured by ConfigureServer,
// run by ServerThread on 127.0.0.1 port 0, and our HttpClient.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "net/http_status.h"
#include "net/server_options.h"
#include "tests/testing/process.h"

namespace kt::net {
namespace {

using core::Status;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.max_body_bytes = 1000;
    options.threads = 8;
    ConfigureServer(server_, options);
    server_.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("hello " + req.get_header_value("X-Name"), "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, req.get_header_value("Content-Type"));
    });
    server_.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("put " + req.body, req.get_header_value("Content-Type"));
    });
    server_.Delete("/item", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("deleted " + std::to_string(req.body.size()), "text/plain");
    });
    server_.Get("/throw", [](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error("secret detail");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(5000, 'b'), "text/plain");
    });
    server_.Get("/conflict", [](const httplib::Request&, httplib::Response& res) {
      Status s = Status::Conflict("size mismatch", 42);
      res.status = HttpStatusFor(s.code());
      res.set_content(JsonError(s), "application/json");
    });
    auto st = ServerThread::Start(server_, "127.0.0.1", 0);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    thread_ = std::move(st).value();
    base_ = "http://127.0.0.1:" + std::to_string(thread_->port());
  }

  httplib::Server server_;
  std::unique_ptr<ServerThread> thread_;
  std::string base_;
};

TEST_F(HttpTest, GetAndPostRoundTrip) {
  HttpClient client;
  auto r = client.Get(base_ + "/hello", {{"X-Name", "kt"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello kt");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("Content-Type"), "text/plain");
  EXPECT_TRUE(r->ToStatus().ok());

  std::string body("binary\0body", 11);
  auto p = client.Post(base_ + "/echo", body, "application/octet-stream");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->status, 200);
  EXPECT_EQ(p->body, body);
  EXPECT_EQ(p->Header("content-type"), "application/octet-stream");
}

TEST_F(HttpTest, PutAndDelete) {
  HttpClient client;
  auto p = client.Put(base_ + "/echo", "abc", "application/json");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->status, 200);
  EXPECT_EQ(p->body, "put abc");
  EXPECT_EQ(p->Header("Content-Type"), "application/json");
  auto d = client.Delete(base_ + "/item");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->body, "deleted 0");
  auto wrong = client.Delete(base_ + "/echo");  // no DELETE route
  ASSERT_TRUE(wrong.ok());
  EXPECT_NE(wrong->status, 200);
}

TEST_F(HttpTest, BodyLimitGives413) {
  HttpClient client;
  auto ok = client.Post(base_ + "/echo", std::string(1000, 'x'), "text/plain");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  auto r = client.Post(base_ + "/echo", std::string(1001, 'x'), "text/plain");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  EXPECT_EQ(j["code"], "invalid_argument");
}

TEST_F(HttpTest, UnknownRouteIsJson404) {
  HttpClient client;
  auto r = client.Get(base_ + "/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->ToStatus().code(), Status::Code::kNotFound);
}

TEST_F(HttpTest, ExceptionIsJson500WithoutDetail) {
  HttpClient client;
  auto r = client.Get(base_ + "/throw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("secret detail"), std::string::npos);
  EXPECT_EQ(r->ToStatus().code(), Status::Code::kInternal);
}

TEST_F(HttpTest, ErrorStatusRoundTripsThroughClient) {
  HttpClient client;
  auto r = client.Get(base_ + "/conflict");
  ASSERT_TRUE(r.ok());
  Status s = r->ToStatus();
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.value(), 42u);
}

TEST_F(HttpTest, KeepAliveReusesOneConnection) {
  HttpClient client;
  for (int i = 0; i < 300; ++i) {
    auto r = client.Get(base_ + "/hello");
    ASSERT_TRUE(r.ok()) << i << " " << r.status().ToString();
    ASSERT_EQ(r->status, 200);
  }
  EXPECT_EQ(client.connections_created(), 1u);
}

TEST_F(HttpTest, ConcurrentRequestsFromOneClient) {
  HttpClient client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        std::string body = "x";
        body += std::to_string(i);
        auto r = client.Post(base_ + "/echo", body, "text/plain");
        if (r.ok() && r->status == 200 && r->body == body) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_LE(client.connections_created(), 4u);
}

TEST_F(HttpTest, ResponseBodyCap) {
  HttpClientOptions options;
  options.max_body_bytes = 4999;
  HttpClient client(options);
  auto r = client.Get(base_ + "/big");
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted);
  options.max_body_bytes = 5000;
  HttpClient client2(options);
  auto r2 = client2.Get(base_ + "/big");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->body.size(), 5000u);
}

TEST_F(HttpTest, ReconnectsAfterServerRestart) {
  HttpClient client;
  ASSERT_TRUE(client.Get(base_ + "/hello").ok());
  int port = thread_->port();
  thread_->Stop();
  auto down = client.Get(base_ + "/hello");
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable);
  auto st = ServerThread::Start(server_, "127.0.0.1", port);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  thread_ = std::move(st).value();
  auto r = client.Get(base_ + "/hello");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpTest, BindingATakenPortFails) {
  httplib::Server other;
  ConfigureServer(other, {});
  auto st = ServerThread::Start(other, "127.0.0.1", thread_->port());
  EXPECT_EQ(st.status().code(), Status::Code::kIOError);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A port that was free a moment ago: nobody listens there.
  int port = testing::PickFreePort();
  ASSERT_GT(port, 0);
  HttpClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  HttpClient client(options);
  auto r = client.Get("http://127.0.0.1:" + std::to_string(port) + "/x");
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos);
}

TEST(HttpClientTest, BadUrlIsInvalidArgument) {
  HttpClient client;
  EXPECT_EQ(client.Get("ftp://x/").status().code(), Status::Code::kInvalidArgument);
}

TEST(ParseUrlTest, Accepts) {
  auto u = ParseUrl("http://127.0.0.1:8080/prefix/checkpoint?x=1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/prefix/checkpoint?x=1");
  EXPECT_EQ(u->Origin(), "http://127.0.0.1:8080");
  auto d = ParseUrl("HTTPS://log.example.com");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->scheme, "https");
  EXPECT_EQ(d->port, 443);
  EXPECT_EQ(d->path, "/");
  auto v6 = ParseUrl("http://[::1]:9/a");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Origin(), "http://[::1]:9");
  EXPECT_EQ(ParseUrl("http://h")->port, 80);
}

TEST(ParseUrlTest, Rejects) {
  for (const char* bad : {"", "127.0.0.1:80", "ftp://h/", "http://", "http://:80/", "http://h:/",
                          "http://h:0/", "http://h:65536/", "http://h:8x/", "http://u@h/",
                          "http://h/a#frag", "http://::1/", "http://[::1/", "http://h/a b",
                          "http://h?q"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }
}

TEST(ParseUrlTest, JoinUrl) {
  EXPECT_EQ(JoinUrl("http://h:1/prefix/", "/checkpoint"), "http://h:1/prefix/checkpoint");
  EXPECT_EQ(JoinUrl("http://h:1", "tile/0/000"), "http://h:1/tile/0/000");
}

TEST(ParseListenAddressTest, AcceptsAndRejects) {
  auto a = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8080);
  auto z = ParseListenAddress("0.0.0.0:0");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->second, 0);
  auto v6 = ParseListenAddress("[::1]:443");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  for (const char* bad : {"", "8080", ":8080", "h:", "h:65536", "h:-1", "h:80x", "::1:80", "[]:1",
                          "[::1:80"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kt::net
