// SPDX-License-Identifier: Apache-2.0
// Client verification costs, each beside its bound measured in this binary:
//  - BM_VerifyLookupAnswer: full verification of a /v1/lookup answer with one
//    device (checkpoint: 1 log signature + 3 cosignatures; inclusion proof;
//    entry decode + proof of possession) with a fresh Trust (no cache).
//    Bound: BM_Ed25519VerifyBound, the same 5 signatures through raw OpenSSL
//    (the 4 checkpoint keys pre-parsed, the identity key parsed per call).
//  - BM_VerifyLookupAnswerCached: the same answer when its checkpoint was
//    already verified (Trust cache): what remains is the PoP and inclusion.
//  - BM_AuditRecompute: entries/s of the audit path (entry bundles from an
//    in-memory fetcher → decode → TreeBuilder → root check; prev chains).
//    Bound: BM_Sha256LeafNodeBound, RecordHash of every entry plus one
//    NodeHash per entry (the hashes a tree recomputation cannot avoid).
//  - BM_AuditVerifySignatures: the same with --verify-signatures (UserReplay);
//    bound: one raw Ed25519 verify per entry (BM_Ed25519PerEntryBound).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <map>
#include <unordered_map>

#include "client/entry_stream.h"
#include "client/lookup.h"
#include "client/replay.h"
#include "client/trust.h"
#include "core/cosignature.h"
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
    for (uint64_t b = 0; b * 256 < kAuditEntries; b++) {
      std::string path = core::TilePath(core::Tile{core::kEntryBundleLevel, b, 256});
      fetcher.bodies[path] = log.Get(path).value();
    }
    Trust trust(core::ParsePolicy(keys.PolicyText()).value(), [] { return kTestNow; });
    cp = trust.VerifyCheckpoint(log.served()).value();
  }
};
const AuditFixture& AF() {
  static AuditFixture* f = new AuditFixture();
  return *f;
}

void BM_AuditRecompute(benchmark::State& state) {
  AuditFixture& f = const_cast<AuditFixture&>(AF());
  for (auto _ : state) {
    std::unordered_map<std::string, uint64_t> last;
    Status s = ReadEntries(f.fetcher, f.cp, 0, std::nullopt, EntryStreamOptions{}, [&](uint64_t i, core::ByteSpan b) {
      auto e = core::DecodeEntry(b);
      if (!e.ok()) return e.status();
      auto [it, fresh] = last.try_emplace(e->user, i);
      if (!fresh) {
        if (e->prev != it->second + 1) return core::Status::VerificationFailed("chain");
        it->second = i;
      }
      return core::Status();
    });
    if (!s.ok()) std::abort();
  }
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
  for (auto _ : state) {
    // As RunAudit: replay sequentially, signatures deferred and verified in
    // parallel on both cores at each batch end.
    std::unordered_map<std::string, UserReplay> users;
    std::vector<SignatureCheck> pending;
    Status batch_error;
    EntryStreamOptions so;
    so.batch_done = [&](uint64_t, const core::TreeBuilder&) {
      if (batch_error.ok()) batch_error = VerifyChecks(pending, 2);
      pending.clear();
    };
    Status s = ReadEntries(f.fetcher, f.cp, 0, std::nullopt, so, [&](uint64_t i, core::ByteSpan b) {
      auto e = core::DecodeEntry(b);
      if (!e.ok()) return e.status();
      auto it = users.try_emplace(e->user, e->user).first;
      return it->second.Apply(i, *e, &pending).status();
    });
    if (!s.ok() || !batch_error.ok()) std::abort();
  }
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations() * kAuditEntries), benchmark::Counter::kIsRate);
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
}
BENCHMARK(BM_Ed25519PerEntryBound)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace
}  // namespace kt::client

BENCHMARK_MAIN();
