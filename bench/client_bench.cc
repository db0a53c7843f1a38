// SPDX-License-Identifier: Apache-2.0
// Client verification costs, each beside its bound measured in this binary:
//  - BM_VerifyLookupAnswer: full verification of a /v1/lookup answer with one
//    device (checkpoint: 1 log signature + 3 cosignatures; inclusion proof;
//    entry decode + proof of possession) with a fresh Trust and an empty
//    signature cache (core/crypto_cache.h): every signature verified in full.
//    Bound: BM_Ed25519VerifyBound, the same 5 signatures through raw OpenSSL
//    (the 4 checkpoint keys pre-parsed, the identity key parsed per call).
//  - BM_VerifyLookupAnswerCached: the same answer when its checkpoint was
//    already verified (Trust cache): what remains is the PoP and inclusion.
//  - BM_AuditRecompute: entries/s of RunAudit (`kt audit`) over entry
//    bundles from an in-memory fetcher (fetch threads: split, leaf hashes,
//    parse in place; reading thread: TreeBuilder → root check, user table,
//    prev chains, position file). Its CPU time is the reading thread's.
//    Bound: BM_Sha256LeafNodeBound, RecordHash of every entry plus one
//    NodeHash per entry (the hashes a tree recomputation cannot avoid).
//  - BM_AuditVerifySignatures: the same with --verify-signatures (replay,
//    signatures on every core); bound: the raw Ed25519 verifies each entry
//    needs (BM_Ed25519PerEntryBound, threads:2 = both cores).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "client/audit.h"
#include "client/entry_stream.h"
#include "client/log_client.h"
#include "client/lookup.h"
#include "client/state_store.h"
#include "client/replay.h"
#include "client/trust.h"
#include "core/cosignature.h"
#include "core/crypto_cache.h"
#include "core/note.h"
#include "core/policy.h"
#include "tests/client/test_log.h"

namespace kt::client {
namespace {

using core::Status;
using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;

struct LookupFixture {
  TestKeys keys = TestKeys::Make();
  core::Policy policy;
  std::string body;
  std::string note;
  LookupFixture() {
    policy = core::ParsePolicy(keys.PolicyText()).value();
    TestLog log(keys);
    for (int i = 0; i < 1000; i++) {
      core::Ed25519Signer k = core::Ed25519Signer::Generate();
      log.SetKey(i == 500 ? "alice" : "u" + std::to_string(i), "phone", k);
    }
    log.Publish();
    body = log.Get("v1/lookup?user=alice").value();
    note = log.served();
  }
};
const LookupFixture& LF() {
  static const LookupFixture* f = new LookupFixture();
  return *f;
}

void BM_VerifyLookupAnswer(benchmark::State& state) {
  const LookupFixture& f = LF();
  for (auto _ : state) {
    core::ClearSignatureCache();  // the PoP is verified in full every time
    Trust trust(f.policy, [] { return kTestNow; });
    auto a = VerifyLookupAnswer(f.body, "alice", trust);
    if (!a.ok() || a->devices.size() != 1) std::abort();
  }
}
BENCHMARK(BM_VerifyLookupAnswer);

void BM_VerifyLookupAnswerCached(benchmark::State& state) {
  const LookupFixture& f = LF();
  Trust trust(f.policy, [] { return kTestNow; });
  for (auto _ : state) {
    auto a = VerifyLookupAnswer(f.body, "alice", trust);
    if (!a.ok()) std::abort();
  }
  if (trust.full_verifications() != 1) std::abort();
}
BENCHMARK(BM_VerifyLookupAnswerCached);

// RawVerify is one EVP_DigestVerify with a parsed key.
bool RawVerify(EVP_MD_CTX* ctx, EVP_PKEY* key, core::ByteSpan msg, core::ByteSpan sig) {
  if (EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) != 1) return false;
  bool ok = EVP_DigestVerify(ctx, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_reset(ctx);
  return ok;
}

void BM_Ed25519VerifyBound(benchmark::State& state) {
  const LookupFixture& f = LF();
  core::Note note = core::ParseNote(f.note).value();
  struct Item {
    EVP_PKEY* key;
    core::Bytes msg, sig;
  };
  std::vector<Item> items;
  auto pkey = [](const core::Ed25519PublicKey& pub) {
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size());
  };
  // Log signature and the three cosignatures (keys pre-parsed, as Trust does).
  items.push_back({pkey(f.keys.log.signer.public_key()), core::ToBytes(note.text),
                   note.signatures[0].signature});
  for (size_t i = 1; i < note.signatures.size(); i++) {
    const core::Bytes& s = note.signatures[i].signature;
    uint64_t ts = core::GetU64BE(s.data());
    items.push_back({pkey(f.keys.witnesses[i - 1].signer.public_key()),
                     core::ToBytes(core::CosignatureMessage(note.text, ts)),
                     core::Bytes(s.begin() + 8, s.end())});
  }
  // The PoP, parsing the identity key per call as the lookup path must.
  auto j = nlohmann::json::parse(f.body);
  core::Entry e =
      core::DecodeEntry(core::Base64Decode(j["devices"][0]["entry"].get<std::string>()).value()).value();
  core::Bytes pop_msg = core::PopMessage(e.user, e.device, e.identity_key);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  for (auto _ : state) {
    for (const Item& it : items) {
      if (!RawVerify(ctx, it.key, it.msg, it.sig)) std::abort();
    }
    EVP_PKEY* ik = pkey(e.identity_key);
    if (!RawVerify(ctx, ik, pop_msg, e.possession_sig)) std::abort();
    EVP_PKEY_free(ik);
  }
  EVP_MD_CTX_free(ctx);
  for (Item& it : items) EVP_PKEY_free(it.key);
}
BENCHMARK(BM_Ed25519VerifyBound);

// MapFetcher serves pre-rendered bodies (so the audit figures are the
// client's cost only).
class MapFetcher : public Fetcher {
 public:
  std::map<std::string, std::string, std::less<>> bodies;
  core::StatusOr<std::string> Get(std::string_view path) override {
    auto it = bodies.find(path);
    if (it == bodies.end()) return core::Status::NotFound(std::string(path));
    return it->second;
  }
};

constexpr uint64_t kAuditEntries = 1 << 16;

struct AuditFixture {
  TestKeys keys = TestKeys::Make();
  MapFetcher fetcher;
  TrustedCheckpoint cp;
  std::vector<core::Bytes> entries;
  uint64_t verifies = 0;  // Ed25519 verifications a signature audit makes
  AuditFixture() {
    TestLog log(keys);
    std::vector<core::Ed25519Signer> devs;
    for (int u = 0; u < 4096; u++) devs.push_back(core::Ed25519Signer::Generate());
    for (uint64_t i = 0; i < kAuditEntries; i++) {
      // 4096 users; each rotates its one device key (self-endorsed) over time.
      int u = static_cast<int>(i % 4096);
      if (i < 4096) {
        log.SetKey("user" + std::to_string(u) + "@example.org", "phone", devs[u]);
      } else {
        core::Ed25519Signer next = core::Ed25519Signer::Generate();
        log.SetKey("user" + std::to_string(u) + "@example.org", "phone", next, {{"phone", &devs[u]}});
        devs[u] = next;
      }
    }
    log.Publish();
    entries = log.entries();
    for (const core::Bytes& e : entries) verifies += 1 + core::DecodeEntry(e).value().endorsements.size();
    for (uint64_t b = 0; b * 256 < kAuditEntries; b++) {
      std::string path = core::TilePath(core::Tile{core::kEntryBundleLevel, b, 256});
      fetcher.bodies[path] = log.Get(path).value();
    }
    fetcher.bodies["checkpoint"] = log.served();
    Trust trust(core::ParsePolicy(keys.PolicyText()).value(), [] { return kTestNow; });
    cp = trust.VerifyCheckpoint(log.served()).value();
  }
};
const AuditFixture& AF() {
  static AuditFixture* f = new AuditFixture();
  return *f;
}

// RunAuditOnce runs the real RunAudit (as `kt audit`) over the fixture's
// in-memory fetcher, from scratch, in a fresh state directory.
void RunAuditOnce(AuditFixture& f, bool verify_signatures) {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kt-client-bench-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto store = StateStore::Open(dir);
  if (!store.ok()) std::abort();
  Trust trust(core::ParsePolicy(f.keys.PolicyText()).value(), [] { return kTestNow; });
  LogClient log(trust, **store, f.fetcher);
  AuditOptions o;
  o.from = 0;
  o.verify_signatures = verify_signatures;
  auto r = RunAudit(log, dir, o);
  if (!r.ok() || r->entries != kAuditEntries) {
    std::fprintf(stderr, "audit: %s\n", r.ok() ? "short" : r.status().ToString().c_str());
    std::abort();
  }
}

void BM_AuditRecompute(benchmark::State& state) {
  AuditFixture& f = const_cast<AuditFixture&>(AF());
  for (auto _ : state) RunAuditOnce(f, false);
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations() * kAuditEntries), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AuditRecompute)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Sha256LeafNodeBound(benchmark::State& state) {
  const AuditFixture& f = AF();
  for (auto _ : state) {
    core::Hash acc{};
    for (const core::Bytes& e : f.entries) acc = core::NodeHash(acc, core::RecordHash(e));
    benchmark::DoNotOptimize(acc);
  }
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations() * kAuditEntries), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sha256LeafNodeBound)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AuditVerifySignatures(benchmark::State& state) {
  AuditFixture& f = const_cast<AuditFixture&>(AF());
  for (auto _ : state) RunAuditOnce(f, true);
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations() * kAuditEntries), benchmark::Counter::kIsRate);
  state.counters["verifies_per_s"] =
      benchmark::Counter(double(state.iterations() * f.verifies), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AuditVerifySignatures)->Unit(benchmark::kMillisecond)->UseRealTime();

// Bound for the signature audit: the Ed25519 verifications an entry needs
// (PoP, plus the endorsement for rotations), one thread, keys parsed per call.
void BM_Ed25519PerEntryBound(benchmark::State& state) {
  const AuditFixture& f = AF();
  std::vector<core::Entry> es;
  for (size_t i = 0; i < 4096 + 4096; i++) es.push_back(core::DecodeEntry(f.entries[i]).value());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  uint64_t verifies = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < es.size(); i++) {
      const core::Entry& e = es[i];
      EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, e.identity_key.data(), 32);
      if (!RawVerify(ctx, k, core::PopMessage(e.user, e.device, e.identity_key), e.possession_sig)) std::abort();
      EVP_PKEY_free(k);
      verifies++;
      if (!e.endorsements.empty()) {
        const core::Entry& prev = es[i - 4096];
        EVP_PKEY* pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, prev.identity_key.data(), 32);
        if (!RawVerify(ctx, pk, core::EndorseMessage(e.user, e.device, e.kind, e.identity_key, e.prev),
                       e.endorsements[0].signature)) {
          std::abort();
        }
        EVP_PKEY_free(pk);
        verifies++;
      }
    }
  }
  EVP_MD_CTX_free(ctx);
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations() * es.size()), benchmark::Counter::kIsRate);
  state.counters["verifies_per_s"] = benchmark::Counter(double(verifies), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Ed25519PerEntryBound)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace
}  // namespace kt::client

BENCHMARK_MAIN();
