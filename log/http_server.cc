// SPDX-License-Identifier: Apache-2.0
// LogHttpServer: route table and request translation for LogApi.
#include "log/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http_status.h"

namespace kt::log {

namespace {

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

std::optional<std::string> Header(const httplib::Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  return req.get_header_value(name);
}

bool AcceptsGzip(const httplib::Request& req) {
  return req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
}

// Write moves the answer into cpp-httplib's response (set_content would copy
// the body); the headers are those set_content sets.
void Write(ApiResponse& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [name, value] : r.headers) res.set_header(name, value);
  res.body = std::move(r.body);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", r.content_type);
}

// RouteMetrics holds one route's series, looked up once: the latency
// histogram, and the request counter of each status, made on first use.
class RouteMetrics {
 public:
  RouteMetrics(net::Registry& registry, const char* route)
      : registry_(registry),
        route_(route),
        latency_(&registry.GetHistogram("kt_http_request_seconds", "HTTP request latency by route.",
                                        {{"route", route}})) {
    for (auto& c : by_status_) c.store(nullptr, std::memory_order_relaxed);
  }
  void Count(int status, std::chrono::steady_clock::duration took) {
    net::Counter* c = nullptr;
    if (status >= 0 && status < kStatuses) c = by_status_[status].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &registry_.GetCounter("kt_http_requests_total", "HTTP requests by route and status.",
                                {{"route", route_}, {"code", std::to_string(status)}});
      if (status >= 0 && status < kStatuses) by_status_[status].store(c, std::memory_order_release);
    }
    c->Inc();
    latency_->Observe(std::chrono::duration<double>(took).count());
  }

 private:
  static constexpr int kStatuses = 600;
  net::Registry& registry_;
  const char* route_;
  net::Histogram* latency_;
  std::array<std::atomic<net::Counter*>, kStatuses> by_status_;
};

}  // namespace

LogHttpServer::LogHttpServer(LogApi& api, Sequencer& sequencer, LogStorage& storage,
                             net::Registry& metrics, LogHttpOptions options)
    : api_(api),
      sequencer_(sequencer),
      storage_(storage),
      metrics_(metrics),
      options_(options),
      limiter_(net::RateLimiter::Options{options.rate_limit, 0, 100000}),
      server_(std::make_unique<httplib::Server>()) {
  if (options_.prekey_api != nullptr) {
    options_.server.max_body_bytes = std::max(options_.server.max_body_bytes, kMaxMailboxBody);
  }
  net::ConfigureServer(*server_, options_.server);
  Register();
}

LogHttpServer::~LogHttpServer() { Stop(); }

Status LogHttpServer::Start(const std::string& host, int port) {
  KT_ASSIGN_OR_RETURN(thread_, net::ServerThread::Start(*server_, host, port));
  return Status();
}

int LogHttpServer::port() const { return thread_ ? thread_->port() : 0; }

void LogHttpServer::Stop() {
  if (thread_) thread_->Stop();
}

void LogHttpServer::Register() {
  using Handler = std::function<ApiResponse(const httplib::Request&)>;
  // Wrap: rate limit (unless the route does it itself), exceptions -> 500,
  // metrics by route and status.
  auto wrap = [this](const char* route, bool limit, Handler fn) {
    // Shared: cpp-httplib copies handlers; the series are looked up once.
    auto metrics = std::make_shared<RouteMetrics>(metrics_, route);
    return [this, metrics, limit, fn = std::move(fn)](const httplib::Request& req,
                                                     httplib::Response& res) {
      auto t0 = std::chrono::steady_clock::now();
      ApiResponse r;
      try {
        if (limit && !limiter_.Allow(req.remote_addr)) {
          r = ErrorResponse(Status::ResourceExhausted("rate limited"));
        } else {
          r = fn(req);
        }
      } catch (...) {
        r = ErrorResponse(Status::Internal("internal error"));
      }
      Write(r, res);
      metrics->Count(r.status, std::chrono::steady_clock::now() - t0);
    };
  };
  httplib::Server& s = *server_;
  s.Get("/checkpoint", wrap("checkpoint", true, [this](const httplib::Request&) {
          return api_.GetCheckpoint();
        }));
  s.Get(R"(/tile/entries/(.+))", wrap("entries", true, [this](const httplib::Request& req) {
          return api_.GetTile("tile/entries/" + req.matches[1].str(), AcceptsGzip(req));
        }));
  s.Get(R"(/tile/(.+))", wrap("tile", true, [this](const httplib::Request& req) {
          return api_.GetTile("tile/" + req.matches[1].str(), false);
        }));
  // Bindings rate-limit after the checks that precede 429 in DESIGN.md.
  s.Post("/v1/bindings", wrap("bindings", false, [this](const httplib::Request& req) {
           std::string client = req.remote_addr;
           return api_.PostBinding(req.body, Header(req, "Authorization"),
                                   [this, client] { return limiter_.Allow(client); });
         }));
  s.Get("/v1/lookup", wrap("lookup", true, [this](const httplib::Request& req) {
          return api_.GetLookup(Param(req, "user"));
        }));
  s.Get("/v1/history", wrap("history", true, [this](const httplib::Request& req) {
          return api_.GetHistory(Param(req, "user"));
        }));
  s.Get("/v1/proof/inclusion", wrap("inclusion", true, [this](const httplib::Request& req) {
          return api_.GetInclusionProof(Param(req, "index"), Param(req, "size"));
        }));
  s.Get("/v1/proof/consistency", wrap("consistency", true, [this](const httplib::Request& req) {
          return api_.GetConsistencyProof(Param(req, "old"), Param(req, "size"));
        }));
  if (options_.prekey_api != nullptr) {
    // The API splits the raw target itself: ids may hold an encoded '/'.
    auto prekey = [this](const httplib::Request& req) {
      return options_.prekey_api->Handle(PrekeyRequest{
          req.method, req.target, Header(req, "Authorization"), Param(req, "limit"), req.body,
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count())});
    };
    const char* kPrekeys = R"(/v1/prekeys/[\s\S]*)";
    const char* kMessages = R"(/v1/messages/[\s\S]*)";
    s.Get(kPrekeys, wrap("prekeys_get", true, prekey));
    s.Put(kPrekeys, wrap("prekeys_put", true, prekey));
    s.Post(kMessages, wrap("messages_post", true, prekey));
    s.Get(kMessages, wrap("messages_get", true, prekey));
    s.Delete(kMessages, wrap("messages_delete", true, prekey));
  }
  s.Get("/metrics", wrap("metrics", false, [this](const httplib::Request&) {
          auto head = storage_.ReadTreeState();
          if (head.ok()) {
            metrics_.GetGauge("kt_tree_size", "Integrated tree size.")
                .Set(static_cast<double>(head->size));
            metrics_.GetGauge("kt_witnessed_tree_size", "Tree size of /checkpoint.")
                .Set(static_cast<double>(head->witnessed_size));
          }
          metrics_.GetGauge("kt_sequencer_pool", "Submissions waiting in the pool.")
              .Set(static_cast<double>(sequencer_.pending()));
          ApiResponse r;
          r.content_type = net::kPrometheusContentType;
          r.body = metrics_.Render();
          return r;
        }));
  s.Get("/healthz", wrap("healthz", false, [this](const httplib::Request&) {
          Status st = sequencer_.status();
          if (!st.ok()) return ErrorResponse(Status::Unavailable("sequencer stopped: " + st.message()));
          ApiResponse r;
          r.content_type = kTextContentType;
          r.body = "ok\n";
          return r;
        }));
}

}  // namespace kt::log
