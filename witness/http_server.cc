// SPDX-License-Identifier: Apache-2.0
// cpp-httplib handlers of the witness (see http_server.h).
#include "witness/http_server.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "net/http_status.h"

namespace kt::witness {
namespace {

using core::Status;

constexpr char kTextContentType[] = "text/plain; charset=utf-8";
constexpr size_t kMaxEvidenceListed = 1000;

void SetError(httplib::Response& res, const Status& s) {
  res.status = net::HttpStatusFor(s.code());
  res.set_content(net::JsonError(s), "application/json");
}

}  // namespace

struct HttpServer::Impl {
  // The metrics every add-checkpoint touches are looked up once (the
  // Registry's references stay valid); other outcomes are looked up on use.
  Impl(Witness* w, net::Registry* m, const net::ServerOptions& o)
      : witness(w),
        metrics(m),
        options(o),
        ok_requests(Outcome(Status())),
        cosignatures(m->GetCounter("kt_witness_cosignatures_total", "Cosignature lines returned.")),
        latency(m->GetHistogram("kt_witness_add_checkpoint_seconds", "add-checkpoint latency.")) {}

  void Route();
  void AddCheckpoint(const httplib::Request& req, httplib::Response& res);
  void GetCheckpoint(const httplib::Request& req, httplib::Response& res);
  void ListEvidence(httplib::Response& res);
  net::Counter& Outcome(const Status& s);

  Witness* witness;
  net::Registry* metrics;
  net::ServerOptions options;
  net::Counter& ok_requests;
  net::Counter& cosignatures;
  net::Histogram& latency;
  httplib::Server server;
  std::unique_ptr<net::ServerThread> thread;
};

net::Counter& HttpServer::Impl::Outcome(const Status& s) {
  return metrics->GetCounter("kt_witness_add_checkpoint_requests_total",
                             "add-checkpoint requests by outcome.",
                             {{"code", std::to_string(s.ok() ? 200 : net::HttpStatusFor(s.code()))},
                              {"outcome", std::string(core::CodeName(s.code()))}});
}

void HttpServer::Impl::AddCheckpoint(const httplib::Request& req, httplib::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  auto result = witness->AddCheckpoint(req.body);
  if (result.ok()) {
    res.status = 200;
    res.set_content(*result, kTextContentType);
    cosignatures.Inc(witness->witness_keys().size());
  } else if (result.status().code() == Status::Code::kConflict) {
    // tlog-witness: 409 with the stored size in decimal and a newline, as
    // Content-Type text/x.tlog.size.
    res.status = 409;
    res.set_content(std::to_string(result.status().value()) + "\n", kTlogSizeContentType);
  } else {
    SetError(res, result.status());
  }
  (result.ok() ? ok_requests : Outcome(result.status())).Inc();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  latency.Observe(took.count());
}

void HttpServer::Impl::GetCheckpoint(const httplib::Request& req, httplib::Response& res) {
  auto key = core::HexToHash(req.matches[1].str());
  if (!key.ok()) return SetError(res, Status::NotFound("not a hex SHA-256"));
  auto note = witness->GetCheckpoint(*key);
  if (!note.ok()) return SetError(res, note.status());
  res.set_header("Cache-Control", "no-store");
  res.set_content(*note, kTextContentType);
}

void HttpServer::Impl::ListEvidence(httplib::Response& res) {
  auto list = witness->ListEvidence(kMaxEvidenceListed);
  if (!list.ok()) return SetError(res, list.status());
  nlohmann::json out = nlohmann::json::array();
  for (const Evidence& e : *list) {
    out.push_back({{"origin", e.origin},
                   {"kind", std::string(EvidenceKindName(e.kind))},
                   {"time_ms", e.time_ms},
                   {"stored_checkpoint", e.stored_note},
                   {"request", e.request}});
  }
  res.set_content(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void HttpServer::Impl::Route() {
  net::ConfigureServer(server, options);
  server.Post("/add-checkpoint", [this](const httplib::Request& req, httplib::Response& res) {
    AddCheckpoint(req, res);
  });
  server.Get(R"(/([0-9a-fA-F]{64})/checkpoint)",
             [this](const httplib::Request& req, httplib::Response& res) { GetCheckpoint(req, res); });
  server.Get("/evidence", [this](const httplib::Request&, httplib::Response& res) { ListEvidence(res); });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", kTextContentType);
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->Render(), net::kPrometheusContentType);
  });
}

HttpServer::HttpServer(Witness* witness, net::Registry* metrics, const net::ServerOptions& options)
    : impl_(std::make_unique<Impl>(witness, metrics, options)) {
  impl_->Route();
}

HttpServer::~HttpServer() { Stop(); }

core::StatusOr<int> HttpServer::Start(const std::string& host, int port) {
  // ServerThread raises cpp-httplib's listen backlog of 5 to SOMAXCONN.
  KT_ASSIGN_OR_RETURN(impl_->thread, net::ServerThread::Start(impl_->server, host, port));
  return impl_->thread->port();
}

void HttpServer::Stop() {
  if (impl_->thread) impl_->thread->Stop();
}

}  // namespace kt::witness
