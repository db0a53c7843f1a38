// SPDX-License-Identifier: Apache-2.0
// Benchmarks for core/entry: decoding a ~200-byte key-set entry and checking
// its proof of possession, beside its physical bound measured in the same
// binary: one raw OpenSSL Ed25519 verification of the same PoP message by a
// key seen for the first time (EVP_PKEY_new_raw_public_key +
// EVP_DigestVerifyInit + EVP_DigestVerify), since every entry brings its own
// identity key.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <string>

#include "core/crypto.h"
#include "core/entry.h"

namespace {

using namespace kt::core;

struct Fixture {
  Entry entry;
  Bytes bytes;
  Bytes pop_message;
};

// A kind-1 entry with one endorsement, as a new device endorsed by a phone.
const Fixture& F() {
  static const Fixture* f = [] {
    auto* x = new Fixture;
    auto ik = Ed25519Signer::FromSeed(Bytes(32, 7));
    auto phone = Ed25519Signer::FromSeed(Bytes(32, 8));
    if (!ik.ok() || !phone.ok()) std::abort();
    Entry& e = x->entry;
    e.user = "alice.liddell@example.org";
    e.device = "laptop-2f9c";
    e.timestamp_ms = 1767225600123;
    e.prev = 42;
    e.identity_key = ik->public_key();
    auto pop = ik->Sign(PopMessage(e.user, e.device, e.identity_key));
    e.possession_sig.assign(pop.begin(), pop.end());
    e.endorsements.push_back(
        {"phone", phone->Sign(EndorseMessage(e.user, e.device, e.kind, e.identity_key, e.prev))});
    auto enc = EncodeEntry(e);
    if (!enc.ok()) std::abort();
    x->bytes = *enc;
    x->pop_message = PopMessage(e.user, e.device, e.identity_key);
    return x;
  }();
  return *f;
}

void BM_EntryDecodeAndVerifyPop(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    auto e = DecodeEntry(f.bytes);
    if (!e.ok() || !VerifyPossession(*e).ok()) std::abort();
    benchmark::DoNotOptimize(e);
  }
  state.counters["entry_bytes"] = double(f.bytes.size());
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EntryDecodeAndVerifyPop);

// The bound: the same signature over the same message, straight through
// OpenSSL, parsing the (new) public key each time as the entry path must.
void BM_Ed25519VerifyRaw(benchmark::State& state) {
  const Fixture& f = F();
  const auto& pub = f.entry.identity_key;
  const Bytes& sig = f.entry.possession_sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  for (auto _ : state) {
    EVP_PKEY* key =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size());
    if (key == nullptr) std::abort();
    if (EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) != 1) std::abort();
    if (EVP_DigestVerify(ctx, sig.data(), sig.size(), f.pop_message.data(),
                         f.pop_message.size()) != 1) {
      std::abort();
    }
    EVP_MD_CTX_reset(ctx);
    EVP_PKEY_free(key);
  }
  EVP_MD_CTX_free(ctx);
  state.counters["entries_per_s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Ed25519VerifyRaw);

// Context: the codec alone.
void BM_EntryDecode(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    auto e = DecodeEntry(f.bytes);
    if (!e.ok()) std::abort();
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_EntryDecode);

void BM_EntryEncode(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    auto b = EncodeEntry(f.entry);
    if (!b.ok()) std::abort();
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_EntryEncode);

}  // namespace

BENCHMARK_MAIN();
