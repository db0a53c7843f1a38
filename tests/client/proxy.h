// SPDX-License-Identifier: Apache-2.0
// Proxy: a test-only HTTP server on 127.0.0.1 in front of a real node that
// forwards every request and lets a test rewrite answers, to play an
// adversarial log (client integration and X3DH fault-injection tests).
#ifndef KT_TESTS_CLIENT_PROXY_H_
#define KT_TESTS_CLIENT_PROXY_H_

#include <httplib.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/status.h"
#include "net/http_client.h"

namespace kt::testing {

// Proxy forwards every request (method, path, Authorization, body) to
// `upstream`; `tamper` may rewrite the body of a 200 answer to a GET.
class Proxy {
 public:
  using Tamper = std::function<std::optional<std::string>(const std::string& target,
                                                         const std::string& body)>;
  explicit Proxy(std::string upstream) : upstream_(std::move(upstream)) {
    auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      net::Headers h;
      if (req.has_header("Authorization")) h.emplace("Authorization", req.get_header_value("Authorization"));
      const std::string url = upstream_ + req.target;
      const std::string type = req.get_header_value("Content-Type");
      core::StatusOr<net::HttpResponse> r = core::Status::Internal("method");
      if (req.method == "GET") r = client_.Get(url, h);
      if (req.method == "POST") r = client_.Post(url, req.body, type, h);
      if (req.method == "PUT") r = client_.Put(url, req.body, type, h);
      if (req.method == "DELETE") r = client_.Delete(url, h);
      if (!r.ok()) {
        res.status = 502;
        return;
      }
      std::string body = r->body;
      Tamper t;
      {
        std::lock_guard<std::mutex> lock(mu_);
        t = tamper_;
      }
      if (t && req.method == "GET" && r->status == 200) {
        if (auto changed = t(req.target, body); changed.has_value()) body = *changed;
      }
      res.status = r->status;
      res.set_content(body, r->Header("content-type").empty() ? "text/plain" : r->Header("content-type"));
    };
    server_.Get(".*", forward);
    server_.Post(".*", forward);
    server_.Put(".*", forward);
    server_.Delete(".*", forward);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Proxy() {
    server_.stop();
    thread_.join();
  }
  void Set(Tamper t) {
    std::lock_guard<std::mutex> lock(mu_);
    tamper_ = std::move(t);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string upstream_;
  net::HttpClient client_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  Tamper tamper_;
};

}  // namespace kt::testing

#endif  // KT_TESTS_CLIENT_PROXY_H_
