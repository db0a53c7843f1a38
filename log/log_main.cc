// SPDX-License-Identifier: Apache-2.0
// ktlog: the key transparency log node (LOG_ISSUE "Command line").
//   ktlog keygen --origin ORIGIN --out KEYFILE      (prints the vkey)
//   ktlog serve ...                                  (see log/config.h)
//   ktlog export --data DIR --out WEBROOT            (static tlog-tiles files)
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/keys.h"
#include "core/policy.h"
#include "log/api.h"
#include "log/binding_rules.h"
#include "log/config.h"
#include "log/export.h"
#include "log/http_server.h"
#include "log/lmdb_storage.h"
#include "log/prekey_api.h"
#include "log/sequencer.h"
#include "log/witness_collector.h"
#include "net/metrics.h"
#include "net/server_options.h"
#include "net/signals.h"
#include "store/file_util.h"
#include "x3dh/mailbox_store.h"
#include "x3dh/prekey_store.h"

namespace kt::log {
namespace {

using core::Status;

int Fail(const Status& s) {
  std::fprintf(stderr, "ktlog: %s\n", s.ToString().c_str());
  return 1;
}

int Keygen(const KeygenConfig& c) {
  auto key = core::GenerateSignerKey(c.origin, core::kSigTypeEd25519);
  if (!key.ok()) return Fail(key.status());
  Status s = store::WriteSecretFile(c.out, core::FormatSignerKey(*key) + "\n");
  if (!s.ok()) return Fail(s);
  std::printf("%s\n", key->VerifierKeyString().c_str());
  return 0;
}

core::StatusOr<core::SignerKey> LoadLogKey(const ServeConfig& c) {
  KT_ASSIGN_OR_RETURN(std::string text, store::ReadSecretFile(c.key));
  KT_ASSIGN_OR_RETURN(core::SignerKey key, core::ParseSignerKey(text));
  if (key.type != core::kSigTypeEd25519) {
    return Status::InvalidArgument("log key must be an Ed25519 note key (type 0x01)");
  }
  if (key.name != c.origin) {
    return Status::InvalidArgument("log key name \"" + key.name + "\" is not the origin \"" +
                                   c.origin + "\"");
  }
  return key;
}

core::StatusOr<std::optional<core::Policy>> LoadPolicy(const ServeConfig& c) {
  if (!c.witness_policy) return std::optional<core::Policy>();
  KT_ASSIGN_OR_RETURN(std::string text, store::ReadFile(*c.witness_policy, core::kMaxPolicySize));
  auto policy = core::ParsePolicy(text);
  if (!policy.ok()) return policy.status().Annotate(*c.witness_policy);
  return std::optional<core::Policy>(std::move(policy).value());
}

core::StatusOr<std::optional<OperatorToken>> LoadToken(const ServeConfig& c) {
  if (!c.operator_token_file) return std::optional<OperatorToken>();
  // ReadSecretFile refuses a file readable by group or others (0600).
  KT_ASSIGN_OR_RETURN(std::string text, store::ReadSecretFile(*c.operator_token_file));
  auto token = OperatorToken::FromFileContents(text);
  if (!token.ok()) return token.status().Annotate(*c.operator_token_file);
  return std::optional<OperatorToken>(std::move(token).value());
}

int Serve(const ServeConfig& c) {
  net::BlockTerminationSignals();
  auto listen = net::ParseListenAddress(c.listen);
  if (!listen.ok()) return Fail(listen.status());
  auto key = LoadLogKey(c);
  if (!key.ok()) return Fail(key.status());
  auto policy = LoadPolicy(c);
  if (!policy.ok()) return Fail(policy.status());
  auto token = LoadToken(c);
  if (!token.ok()) return Fail(token.status());
  auto storage = LmdbStorage::Open(c.data);
  if (!storage.ok()) return Fail(storage.status());

  net::Registry metrics;
  // Declared before the collector, whose publish hook uses them.
  std::mutex export_mu;
  uint64_t exported_size = 0;
  WitnessCollectorOptions wc_options;
  auto collector = WitnessCollector::Create(**storage, *policy, wc_options, &metrics);
  if (!collector.ok()) return Fail(collector.status());
  SequencerOptions seq_options;
  seq_options.batch_interval = c.batch_interval;
  seq_options.batch_max = c.batch_max;
  seq_options.max_pool = c.max_pool;
  seq_options.metrics = &metrics;
  // Without witnesses to wait for, each batch's commit also publishes its
  // checkpoint (one durable commit per batch instead of two).
  seq_options.checkpoints_witnessed = (*collector)->QuorumWithoutWitnesses();
  auto sequencer = Sequencer::Create(**storage, MakeCheckpointSigner(*key), seq_options);
  if (!sequencer.ok()) return Fail(sequencer.status());
  if (c.export_dir) {
    // Keep the static web root current: after each publication, write the
    // new tiles and bundles, then the witnessed checkpoint.
    LogStorage* st = storage->get();
    std::filesystem::path dir = *c.export_dir;
    (*collector)->SetOnPublished([st, dir, &export_mu, &exported_size](const std::string&, uint64_t) {
      std::lock_guard<std::mutex> lk(export_mu);
      auto size = ExportTiles(*st, dir, exported_size);
      if (!size.ok()) {
        std::fprintf(stderr, "ktlog: export: %s\n", size.status().ToString().c_str());
        return;
      }
      exported_size = *size;
    });
  }
  WitnessCollector* wc = collector->get();
  (*sequencer)->SetOnIntegrated(
      [wc](const std::string& checkpoint, uint64_t size) { wc->OnIntegrated(checkpoint, size); });
  Status started = wc->Start();
  if (!started.ok()) return Fail(started);
  (*sequencer)->Start();

  LogApiOptions api_options;
  api_options.witness_timeout = c.witness_timeout;
  api_options.checkpoints_witnessed = seq_options.checkpoints_witnessed;
  LogApi api(**storage, **sequencer, *wc, *token ? &**token : nullptr, api_options);
  // The prekey directory and mailbox (docs/x3dh.md "Server API"), each in
  // its own LMDB environment under the data directory.
  std::filesystem::path data_dir = c.data;
  auto prekeys = x3dh::PrekeyStore::Open(data_dir / "prekeys");
  if (!prekeys.ok()) return Fail(prekeys.status());
  auto mailbox = x3dh::MailboxStore::Open(data_dir / "mailbox");
  if (!mailbox.ok()) return Fail(mailbox.status());
  PrekeyApi prekey_api(api, **storage, **prekeys, **mailbox, metrics);
  LogHttpOptions http_options;
  http_options.rate_limit = c.rate_limit;
  http_options.server.threads = c.http_threads;
  http_options.prekey_api = &prekey_api;
  LogHttpServer server(api, **sequencer, **storage, metrics, http_options);
  started = server.Start(listen->first, listen->second);
  if (!started.ok()) {
    (*sequencer)->Stop();  // before the collector its hook calls goes away
    wc->Stop();
    return Fail(started);
  }
  std::printf("ktlog: serving %s on http://%s:%d (%s)\n", c.origin.c_str(), listen->first.c_str(),
              server.port(), *policy ? "witness policy loaded" : "no witness policy");
  std::fflush(stdout);

  int sig = net::WaitForTermination();
  std::fprintf(stderr, "ktlog: signal %d, shutting down\n", sig);
  server.Stop();          // no new requests
  (*sequencer)->Stop();   // integrates and answers what is pending
  wc->Stop();
  return 0;
}

int Export(const ExportConfig& c) {
  auto storage = LmdbStorage::Open(c.data);
  if (!storage.ok()) return Fail(storage.status());
  auto head = (*storage)->ReadTreeState();
  if (!head.ok()) return Fail(head.status());
  if (head->witnessed_checkpoint.empty()) {
    return Fail(Status::NotFound("the log has no witnessed checkpoint yet"));
  }
  auto size = ExportTiles(**storage, c.out, 0);
  if (!size.ok()) return Fail(size.status());
  std::printf("exported tree size %llu to %s\n", static_cast<unsigned long long>(*size),
              c.out.c_str());
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "keygen") {
    auto c = ParseKeygenArgs(args);
    if (!c.ok()) return Fail(c.status());
    return Keygen(*c);
  }
  if (cmd == "serve") {
    auto c = ParseServeArgs(args);
    if (!c.ok()) return Fail(c.status());
    return Serve(*c);
  }
  if (cmd == "export") {
    auto c = ParseExportArgs(args);
    if (!c.ok()) return Fail(c.status());
    return Export(*c);
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace
}  // namespace kt::log

int main(int argc, char** argv) { return kt::log::Main(argc, argv); }
