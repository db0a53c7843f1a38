// SPDX-License-Identifier: Apache-2.0
// ktwitness: a C2SP tlog-witness node.
//   ktwitness keygen --name NAME --out KEYFILE
//   ktwitness serve --listen HOST:PORT --data DIR --key KEYFILE --trust-log VKEY ...
//                   [--config FILE] [--rate-limit N] [--threads N] [--max-body BYTES]
// See docs/witness.md.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/keys.h"
#include "net/metrics.h"
#include "net/rate_limiter.h"
#include "net/server_options.h"
#include "net/signals.h"
#include "store/file_util.h"
#include "witness/config.h"
#include "witness/group_commit.h"
#include "witness/http_server.h"
#include "witness/request.h"
#include "witness/state_store.h"
#include "witness/witness.h"

namespace kt::witness {
namespace {

using core::Status;

constexpr char kUsage[] =
    "usage:\n"
    "  ktwitness keygen --name NAME --out KEYFILE\n"
    "  ktwitness serve --listen HOST:PORT --data DIR --key KEYFILE --trust-log VKEY\n"
    "                  [--trust-log VKEY ...] [--key KEYFILE ...] [--config FILE]\n"
    "                  [--rate-limit N] [--threads N] [--max-body BYTES] [--max-batch N]\n";

int Fail(const Status& s) {
  std::fprintf(stderr, "ktwitness: %s\n", s.ToString().c_str());
  return 1;
}

int Keygen(const std::vector<std::string>& args) {
  auto c = ParseKeygenArgs(args);
  if (!c.ok()) return Fail(c.status());
  auto key = core::GenerateSignerKey(c->name, core::kSigTypeCosignatureV1);
  if (!key.ok()) return Fail(key.status());
  Status s = store::WriteSecretFile(c->out, core::FormatSignerKey(*key) + "\n");
  if (!s.ok()) return Fail(s);
  std::printf("%s\n", key->VerifierKeyString().c_str());
  return 0;
}

int Serve(const std::vector<std::string>& args) {
  auto c = ParseServeArgs(args);
  if (!c.ok()) return Fail(c.status());
  std::vector<core::SignerKey> keys;
  for (const std::string& file : c->key_files) {
    auto text = store::ReadSecretFile(file);
    if (!text.ok()) return Fail(text.status().Annotate(file));
    auto key = core::ParseSignerKey(*text);
    if (!key.ok()) return Fail(key.status().Annotate(file));
    keys.push_back(std::move(*key));
  }
  std::vector<core::VerifierKey> logs;
  for (const std::string& vkey : c->trusted_logs) {
    auto key = core::ParseVerifierKey(vkey);
    if (!key.ok()) return Fail(key.status().Annotate("--trust-log " + vkey));
    logs.push_back(std::move(*key));
  }
  auto store = StateStore::Open(c->data_dir);
  if (!store.ok()) return Fail(store.status());

  net::Registry metrics;
  net::Counter& commits = metrics.GetCounter("kt_witness_commits_total",
                                             "Durable LMDB commits (group commits).");
  net::Histogram& batch_size = metrics.GetHistogram(
      "kt_witness_commit_batch_ops", "Requests per group commit.", {},
      {1, 2, 4, 8, 16, 32, 64, 128, 256});
  GroupCommitter::Options gopt;
  gopt.max_batch = c->max_batch;
  gopt.on_commit = [&](size_t n) {
    commits.Inc();
    batch_size.Observe(static_cast<double>(n));
  };
  auto committer = std::make_unique<GroupCommitter>(&(*store)->env(), gopt);

  net::RateLimiter limiter(net::RateLimiter::Options{c->rate_limit, 0, 100000});
  WitnessOptions wopt;
  if (c->rate_limit > 0) wopt.admit = [&](std::string_view origin) { return limiter.Allow(origin); };
  auto witness = Witness::Create(keys, logs, store->get(), committer.get(), wopt);
  if (!witness.ok()) return Fail(witness.status());

  net::ServerOptions sopt;
  sopt.threads = static_cast<size_t>(c->threads);
  sopt.max_body_bytes = c->max_body == 0 ? kMaxRequestSize : c->max_body;
  auto server = std::make_unique<HttpServer>(witness->get(), &metrics, sopt);
  auto port = server->Start(c->listen_host, c->listen_port);
  if (!port.ok()) return Fail(port.status());
  for (const core::SignerKey& k : keys) {
    std::fprintf(stderr, "ktwitness: witness key %s\n", k.VerifierKeyString().c_str());
  }
  for (const std::string& origin : (*witness)->Origins()) {
    std::fprintf(stderr, "ktwitness: trusting log %s\n", origin.c_str());
  }
  std::fprintf(stderr, "ktwitness: listening on http://%s:%d\n", c->listen_host.c_str(), *port);

  const int sig = net::WaitForTermination();
  std::fprintf(stderr, "ktwitness: signal %d, shutting down\n", sig);
  // In order: stop taking requests (in-flight ones finish and are answered),
  // then drain and join the committer, then close LMDB.
  server->Stop();
  server.reset();
  witness->reset();
  committer.reset();
  store->reset();
  std::fprintf(stderr, "ktwitness: stopped\n");
  return 0;
}

int Main(int argc, char** argv) {
  net::BlockTerminationSignals();
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "keygen") return Keygen(args);
  if (cmd == "serve") return Serve(args);
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace
}  // namespace kt::witness

int main(int argc, char** argv) { return kt::witness::Main(argc, argv); }
