// SPDX-License-Identifier: Apache-2.0
// Benchmarks for X3DH (x3dh/x3dh.h) and its primitives (core/crypto_dh.h).
// BM_InitiatorCrypto is Initiate() for a device holding a DeviceIdentity, on
// a verified bundle with an OPK: SPK signature check, responder identity key
// conversion, ephemeral key, 4 X25519, 2 HKDF, AES-GCM seal (the log proof
// check comes later in kt::client). Its bound is the sum of the primitives it
// runs, each measured in this binary: BM_Ed25519Verify (fresh key) +
// BM_Ed25519PublicToX25519 + BM_X25519KeyParse (EK_A: OpenSSL computes the
// public key, one scalar multiplication) + 4 x BM_X25519 + 2 x BM_HkdfSha256
// + BM_Aes256GcmSeal. BM_Responder's bound: 2 x BM_X25519KeyParse (SPK, OPK)
// + BM_Ed25519PublicToX25519 + 4 x BM_X25519 + 2 x BM_HkdfSha256 +
// BM_Aes256GcmOpen. BM_X25519Raw is OpenSSL's bare derive (no key or context
// setup), the floor of one DH. x3dh converts peer identity keys through a
// bounded cache (core::Ed25519PublicToX25519Cached); every handshake
// benchmark clears it each iteration, so its figure is the cold cost, and the
// *Cached variants measure a peer seen before.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "tests/x3dh/verified_bundle_test_peer.h"
#include "x3dh/device_store.h"
#include "x3dh/keys.h"
#include "x3dh/responder.h"
#include "x3dh/x3dh.h"

namespace {

using namespace kt;

constexpr uint64_t kNow = 1'750'000'000;

// MinOf is the "min" statistic of repeated runs: on a shared machine the
// least disturbed repetition is the best estimate of the CPU an operation
// needs (the summary in main uses it when runs are repeated).
double MinOf(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

struct Fixture {
  core::Ed25519Signer alice = core::Ed25519Signer::Generate();
  core::Ed25519Signer bob = core::Ed25519Signer::Generate();
  core::X25519KeyPair spk = core::GenerateX25519();
  core::X25519KeyPair opk = core::GenerateX25519();
  x3dh::PrekeyBundle bundle;
  core::Bytes plaintext = core::Bytes(64, 0x42);
  x3dh::InitialMessage message;
};

const Fixture& F() {
  static const Fixture* f = [] {
    auto* x = new Fixture;
    x->bundle.user = "bob@example.org";
    x->bundle.device = "phone";
    x->bundle.identity_key = x->bob.public_key();
    x->bundle.signed_prekey = x3dh::SignPrekey(x->bob, 7, kNow - 3600, x->spk.public_key);
    x->bundle.one_time_prekey = x3dh::OneTimePrekey{100, x->opk.public_key};
    x3dh::InitiatorOptions o;
    o.now = kNow;
    auto r = x3dh::Initiate(x3dh::VerifiedBundleTestPeer::Make(x->bundle), x->alice,
                            "alice@example.org", "laptop", x->plaintext, o);
    if (!r.ok()) std::abort();
    x->message = r->message;
    return x;
  }();
  return *f;
}

void BM_X25519(benchmark::State& state) {
  auto key = core::X25519PrivateKey::FromBytes(F().opk.private_key.span());
  if (!key.ok()) std::abort();
  for (auto _ : state) {
    auto s = key->Agree(F().spk.public_key);
    if (!s.ok()) std::abort();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_X25519)->ComputeStatistics("min", MinOf);

// The floor of one DH: EVP_PKEY_derive on a context whose keys are set up.
void BM_X25519Raw(benchmark::State& state) {
  EVP_PKEY* priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, F().opk.private_key.data(), 32);
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, F().spk.public_key.data(), 32);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, priv, nullptr);
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1) {
    std::abort();
  }
  uint8_t out[32];
  for (auto _ : state) {
    size_t len = sizeof(out);
    if (EVP_PKEY_derive(ctx, out, &len) != 1) std::abort();
    benchmark::DoNotOptimize(out);
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(priv);
}
BENCHMARK(BM_X25519Raw)->ComputeStatistics("min", MinOf);

void BM_X25519KeyParse(benchmark::State& state) {
  for (auto _ : state) {
    auto k = core::X25519PrivateKey::FromBytes(F().opk.private_key.span());
    if (!k.ok()) std::abort();
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_X25519KeyParse)->ComputeStatistics("min", MinOf);

// One verification by a key seen for the first time, as in Initiate.
void BM_Ed25519Verify(benchmark::State& state) {
  const auto& spk = F().bundle.signed_prekey;
  const core::Bytes msg = x3dh::SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key);
  for (auto _ : state) {
    auto v = core::Ed25519Verifier::Create(F().bob.public_key());
    if (!v.ok() || !v->Verify(msg, spk.signature)) std::abort();
  }
}
BENCHMARK(BM_Ed25519Verify)->ComputeStatistics("min", MinOf);

void BM_Ed25519Sign(benchmark::State& state) {
  const auto& spk = F().bundle.signed_prekey;
  const core::Bytes msg = x3dh::SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key);
  for (auto _ : state) benchmark::DoNotOptimize(F().bob.Sign(msg));
}
BENCHMARK(BM_Ed25519Sign)->ComputeStatistics("min", MinOf);

// RunConversion times `convert` of Bob's identity key.
template <typename Convert>
void RunConversion(benchmark::State& state, Convert convert) {
  for (auto _ : state) {
    auto u = convert(F().bob.public_key());
    if (!u.ok()) std::abort();
    benchmark::DoNotOptimize(u);
  }
}

void BM_Ed25519PublicToX25519(benchmark::State& state) {
  RunConversion(state, [](const auto& k) { return core::Ed25519PublicToX25519(k); });
}
BENCHMARK(BM_Ed25519PublicToX25519)->ComputeStatistics("min", MinOf);

// The cached conversion x3dh uses, for a peer converted before (a hit).
void BM_Ed25519PublicToX25519Cached(benchmark::State& state) {
  RunConversion(state, [](const auto& k) { return core::Ed25519PublicToX25519Cached(k); });
}
BENCHMARK(BM_Ed25519PublicToX25519Cached)->ComputeStatistics("min", MinOf);

void BM_HkdfSha256(benchmark::State& state) {
  const core::Bytes salt(32, 0), ikm(160, 7), info(83, 1);
  for (auto _ : state) benchmark::DoNotOptimize(core::HkdfSha256(salt, ikm, info, 44));
}
BENCHMARK(BM_HkdfSha256)->ComputeStatistics("min", MinOf);

void BM_Aes256GcmSeal(benchmark::State& state) {
  const core::Bytes key(32, 1), nonce(12, 2), aad(150, 3);
  for (auto _ : state) benchmark::DoNotOptimize(core::Aes256GcmSeal(key, nonce, aad, F().plaintext));
}
BENCHMARK(BM_Aes256GcmSeal)->ComputeStatistics("min", MinOf);

void BM_Aes256GcmOpen(benchmark::State& state) {
  const core::Bytes key(32, 1), nonce(12, 2), aad(150, 3);
  const core::Bytes sealed = core::Aes256GcmSeal(key, nonce, aad, F().plaintext);
  for (auto _ : state) {
    auto r = core::Aes256GcmOpen(key, nonce, aad, sealed);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Aes256GcmOpen)->ComputeStatistics("min", MinOf);

void BM_InitiatorCrypto(benchmark::State& state) {
  const Fixture& f = F();
  const x3dh::VerifiedBundle vb = x3dh::VerifiedBundleTestPeer::Make(f.bundle);
  const x3dh::DeviceIdentity me(f.alice);
  x3dh::InitiatorOptions o;
  o.now = kNow;
  for (auto _ : state) {
    core::ClearEd25519ToX25519Cache();  // cold: the peer key is converted
    auto r = x3dh::Initiate(vb, me, "alice@example.org", "laptop", f.plaintext, o);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_InitiatorCrypto)->ComputeStatistics("min", MinOf);

// The same for a peer whose identity key is in the conversion cache.
void BM_InitiatorCryptoCached(benchmark::State& state) {
  const Fixture& f = F();
  const x3dh::VerifiedBundle vb = x3dh::VerifiedBundleTestPeer::Make(f.bundle);
  const x3dh::DeviceIdentity me(f.alice);
  x3dh::InitiatorOptions o;
  o.now = kNow;
  for (auto _ : state) {
    auto r = x3dh::Initiate(vb, me, "alice@example.org", "laptop", f.plaintext, o);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_InitiatorCryptoCached)->ComputeStatistics("min", MinOf);

// The same from a bare Ed25519Signer: one more X25519 key setup per call.
void BM_InitiatorCryptoFromSigner(benchmark::State& state) {
  const Fixture& f = F();
  const x3dh::VerifiedBundle vb = x3dh::VerifiedBundleTestPeer::Make(f.bundle);
  x3dh::InitiatorOptions o;
  o.now = kNow;
  for (auto _ : state) {
    core::ClearEd25519ToX25519Cache();  // cold: the peer key is converted
    auto r = x3dh::Initiate(vb, f.alice, "alice@example.org", "laptop", f.plaintext, o);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_InitiatorCryptoFromSigner)->ComputeStatistics("min", MinOf);

// Respond with in-memory lookups (the OPK is not consumed, so the same
// message can be answered every iteration).
void BM_Responder(benchmark::State& state) {
  const Fixture& f = F();
  x3dh::PrekeyLookup spk = [&f](uint32_t) -> core::StatusOr<core::SecretBytes> {
    return f.spk.private_key;
  };
  x3dh::PrekeyLookup opk = [&f](uint32_t) -> core::StatusOr<core::SecretBytes> {
    return f.opk.private_key;
  };
  const x3dh::DeviceIdentity me(f.bob);
  for (auto _ : state) {
    core::ClearEd25519ToX25519Cache();  // cold: the peer key is converted
    auto r = x3dh::Respond(f.message, me, spk, opk);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Responder)->ComputeStatistics("min", MinOf);

// X25519PrivateKey::FromKeyPair: importing a stored OPK key pair (no scalar
// multiplication, unlike BM_X25519KeyParse).
void BM_X25519KeyPairImport(benchmark::State& state) {
  for (auto _ : state) {
    auto k = core::X25519PrivateKey::FromKeyPair(F().opk.private_key.span(), F().opk.public_key);
    if (!k.ok()) std::abort();
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_X25519KeyPairImport)->ComputeStatistics("min", MinOf);

// RespondWithKeys as the device store runs it, without LMDB: the SPK key is
// parsed once (the store caches it by id), the OPK imported from its stored
// key pair on every call. `cold` clears the conversion cache each iteration,
// so the sender's identity key is converted every time.
void RunResponderStoredKeys(benchmark::State& state, bool cold) {
  const Fixture& f = F();
  auto spk = core::X25519PrivateKey::FromBytes(f.spk.private_key.span());
  if (!spk.ok()) std::abort();
  x3dh::ParsedPrekeyLookup spk_lookup = [&](uint32_t) -> core::StatusOr<core::X25519PrivateKey> {
    return *spk;
  };
  x3dh::ParsedPrekeyLookup opk_lookup = [&f](uint32_t) {
    return core::X25519PrivateKey::FromKeyPair(f.opk.private_key.span(), f.opk.public_key);
  };
  const x3dh::DeviceIdentity me(f.bob);
  for (auto _ : state) {
    if (cold) core::ClearEd25519ToX25519Cache();
    auto r = x3dh::RespondWithKeys(f.message, me, spk_lookup, opk_lookup);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}

void BM_ResponderStoredKeys(benchmark::State& state) { RunResponderStoredKeys(state, true); }
BENCHMARK(BM_ResponderStoredKeys)->ComputeStatistics("min", MinOf);

// The same for a sender whose identity key is in the conversion cache.
void BM_ResponderStoredKeysCached(benchmark::State& state) { RunResponderStoredKeys(state, false); }
BENCHMARK(BM_ResponderStoredKeysCached)->ComputeStatistics("min", MinOf);

// DeviceBench is a real device store (LMDB in a temp dir) with `n` OPKs
// published and `n` initial messages to it made in advance, each naming its
// own OPK (or none), so that every timed ProcessInitialMessage is a first
// delivery: dedup lookup, SPK/OPK lookups in the txn, Respond, OPK deleted,
// tombstone + session + dedup record written, counters, commit.
struct DeviceBench {
  std::filesystem::path dir;
  std::unique_ptr<x3dh::DeviceStore> store;
  std::vector<x3dh::InitialMessage> messages;

  DeviceBench(size_t n, bool with_opk, bool durable) {
    char tmpl[] = "/tmp/kt_x3dh_bench_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    x3dh::DeviceStoreOptions o;
    o.no_sync = !durable;
    o.policy.opk_batch = 1000;
    auto s = x3dh::DeviceStore::Create(dir / "bob", "bob@example.org", "phone", F().bob, kNow - 60, o);
    if (!s.ok()) std::abort();
    store = std::move(s).value();
    std::vector<x3dh::OneTimePrekey> opks;
    x3dh::SignedPrekey spk;
    while (opks.size() < n) {
      auto up = store->PrepareUpload(kNow - 60, 0);
      if (!up.ok() || !store->ConfirmUpload(*up).ok()) std::abort();
      spk = up->spk;
      opks.insert(opks.end(), up->opks.begin(), up->opks.end());
    }
    x3dh::InitiatorOptions io;
    io.now = kNow;
    const x3dh::DeviceIdentity alice(F().alice);
    for (size_t i = 0; i < n; i++) {
      x3dh::PrekeyBundle b;
      b.user = "bob@example.org";
      b.device = "phone";
      b.identity_key = F().bob.public_key();
      b.signed_prekey = spk;
      if (with_opk) b.one_time_prekey = opks[i];
      auto r = x3dh::Initiate(x3dh::VerifiedBundleTestPeer::Make(b), alice, "alice@example.org", "laptop",
                              F().plaintext, io);
      if (!r.ok()) std::abort();
      messages.push_back(std::move(r->message));
    }
    // Warm the SPK cache as a running device would have it.
    if (!x3dh::ProcessInitialMessage(*store, messages.back(), kNow).ok()) std::abort();
    messages.pop_back();
  }
  ~DeviceBench() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// Messages per device benchmark (KT_X3DH_BENCH_MESSAGES overrides, e.g. a
// few hundred under callgrind).
const size_t kDeviceBenchMessages = [] {
  const char* v = std::getenv("KT_X3DH_BENCH_MESSAGES");
  return v != nullptr ? static_cast<size_t>(std::strtoul(v, nullptr, 10)) : size_t{3000};
}();

void RunProcess(benchmark::State& state, bool with_opk, bool durable) {
  DeviceBench d(kDeviceBenchMessages + 1, with_opk, durable);
  size_t i = 0;
  for (auto _ : state) {
    core::ClearEd25519ToX25519Cache();  // cold: the peer key is converted
    auto r = x3dh::ProcessInitialMessage(*d.store, d.messages[i++], kNow);
    if (!r.ok() || r->duplicate) std::abort();
    benchmark::DoNotOptimize(r);
  }
}

// ProcessInitialMessage with a one-time prekey, commits without fsync (the
// CPU of the txn itself).
void BM_ProcessInitialMessage(benchmark::State& state) { RunProcess(state, true, false); }
BENCHMARK(BM_ProcessInitialMessage)->Iterations(kDeviceBenchMessages)->ComputeStatistics("min", MinOf);
// The same with durable commits (fsync per message; CPU time excludes the
// wait for the disk, real time includes it).
void BM_ProcessInitialMessageDurable(benchmark::State& state) { RunProcess(state, true, true); }
BENCHMARK(BM_ProcessInitialMessageDurable)->Iterations(kDeviceBenchMessages)->ComputeStatistics("min", MinOf);
// 3-DH (pool exhausted): no OPK import, one DH fewer, no tombstone.
void BM_ProcessInitialMessageNoOpk(benchmark::State& state) { RunProcess(state, false, false); }
BENCHMARK(BM_ProcessInitialMessageNoOpk)->Iterations(kDeviceBenchMessages)->ComputeStatistics("min", MinOf);

// Durable commits amortised: ProcessInitialMessages over batches of 100
// (one `kt receive` fetch); one iteration = 100 messages.
void BM_ProcessBatch100Durable(benchmark::State& state) {
  constexpr size_t kBatch = 100;
  DeviceBench d(kDeviceBenchMessages + 1, true, true);
  size_t i = 0;
  for (auto _ : state) {
    core::ClearEd25519ToX25519Cache();  // cold: the peer key is converted
    auto rs = x3dh::ProcessInitialMessages(
        *d.store, std::span<const x3dh::InitialMessage>(d.messages.data() + i, kBatch), kNow);
    i += kBatch;
    for (const auto& r : rs) {
      if (!r.ok() || r->duplicate) std::abort();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
}
BENCHMARK(BM_ProcessBatch100Durable)->Iterations(kDeviceBenchMessages / 100)->ComputeStatistics("min", MinOf);

// A duplicate: answered from the dedup record (no DH).
void BM_ProcessDuplicate(benchmark::State& state) {
  DeviceBench d(2, true, false);
  if (!x3dh::ProcessInitialMessage(*d.store, d.messages[0], kNow).ok()) std::abort();
  for (auto _ : state) {
    auto r = x3dh::ProcessInitialMessage(*d.store, d.messages[0], kNow);
    if (!r.ok() || !r->duplicate) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ProcessDuplicate)->ComputeStatistics("min", MinOf);

// SummaryReporter prints the console output and remembers each benchmark's
// CPU time per iteration (the min over repetitions when repeated), so that main can print
// the issue 6 targets beside their same-run bounds in one command.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "min") continue;
      const double us = r.GetAdjustedCPUTime() * ToMicros(r.time_unit);
      cpu_us_[r.run_name.function_name] = us;
    }
  }
  // Us returns the CPU time of `name`, or a negative value if it did not run.
  double Us(const std::string& name) const {
    auto it = cpu_us_.find(name);
    return it == cpu_us_.end() ? -1 : it->second;
  }

 private:
  static double ToMicros(benchmark::TimeUnit u) {
    switch (u) {
      case benchmark::kNanosecond: return 1e-3;
      case benchmark::kMicrosecond: return 1;
      case benchmark::kMillisecond: return 1e3;
      default: return 1e6;
    }
  }
  std::map<std::string, double> cpu_us_;
};

// PrintTarget prints `figure` (CPU us) against its budget and its bound (the
// sum of the primitives it runs, measured in this run), if all ran.
void PrintTarget(const SummaryReporter& r, const char* what, const std::string& figure,
                 double budget_us, const std::vector<std::pair<double, std::string>>& parts) {
  const double f = r.Us(figure);
  if (f < 0) return;
  double bound = 0;
  std::string terms;
  for (const auto& [times, name] : parts) {
    const double us = r.Us(name);
    if (us < 0) {
      std::printf("%s: %s = %.1f us CPU (budget %.0f us); bound needs %s (not run)\n", what,
                  figure.c_str(), f, budget_us, name.c_str());
      return;
    }
    bound += times * us;
    terms += (terms.empty() ? "" : " + ") + (times == 1 ? "" : std::to_string(int(times)) + " x ") + name;
  }
  std::printf("%s: %s = %.1f us CPU (budget %.0f us: %s)\n  bound (same run) = %.1f us = %s\n"
              "  bound / figure = %.2f (>= 0.70 required)\n",
              what, figure.c_str(), f, budget_us, f <= budget_us ? "met" : "NOT met", bound,
              terms.c_str(), bound / f);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nIssue 6 budgets (CPU time, min over repetitions; DH bound = BM_X25519Raw, the "
              "bare OpenSSL derive):\n");
  PrintTarget(reporter, "responder", "BM_ProcessInitialMessage", 280,
              {{1, "BM_X25519KeyPairImport"}, {1, "BM_Ed25519PublicToX25519"}, {4, "BM_X25519Raw"},
               {2, "BM_HkdfSha256"}, {1, "BM_Aes256GcmOpen"}});
  PrintTarget(reporter, "responder crypto only", "BM_ResponderStoredKeys", 280,
              {{1, "BM_X25519KeyPairImport"}, {1, "BM_Ed25519PublicToX25519"}, {4, "BM_X25519Raw"},
               {2, "BM_HkdfSha256"}, {1, "BM_Aes256GcmOpen"}});
  PrintTarget(reporter, "initiator", "BM_InitiatorCrypto", 550,
              {{1, "BM_Ed25519Verify"}, {1, "BM_Ed25519PublicToX25519"}, {1, "BM_X25519KeyParse"},
               {4, "BM_X25519Raw"}, {2, "BM_HkdfSha256"}, {1, "BM_Aes256GcmSeal"}});
  benchmark::Shutdown();
  return 0;
}
