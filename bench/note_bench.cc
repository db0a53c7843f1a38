// SPDX-License-Identifier: Apache-2.0
// Benchmarks for core/note + core/checkpoint: verifying a checkpoint with one
// log signature and three cosignature/v1 lines, beside its physical bound,
// four raw OpenSSL Ed25519 verifications of the same messages with
// pre-parsed keys (BM_Ed25519VerifyRaw), measured in the same binary.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/cosignature.h"
#include "core/keys.h"
#include "core/note.h"

namespace {

using namespace kt::core;

struct Fixture {
  SignerKey log;
  std::vector<SignerKey> witnesses;
  std::vector<VerifierKey> log_keys;
  std::vector<VerifierKey> witness_keys;
  Checkpoint checkpoint;
  std::string signed_note;  // 1 log signature + 3 cosignatures
};

SignerKey Key(const std::string& name, uint8_t type, uint8_t fill) {
  auto k = SignerKeyFromSeed(name, type, Bytes(32, fill));
  if (!k.ok()) std::abort();
  return *k;
}

const Fixture& F() {
  static const Fixture* f = [] {
    auto* x = new Fixture{Key("kt.example/log", kSigTypeEd25519, 1), {}, {}, {}, {}, {}};
    for (uint8_t i = 0; i < 3; i++) {
      x->witnesses.push_back(
          Key("witness.example/w" + std::to_string(i), kSigTypeCosignatureV1, uint8_t(10 + i)));
      x->witness_keys.push_back(x->witnesses.back().Verifier());
    }
    x->log_keys.push_back(x->log.Verifier());
    x->checkpoint.origin = "kt.example/log";
    x->checkpoint.size = 123456789;
    for (size_t i = 0; i < 32; i++) x->checkpoint.root[i] = uint8_t(i);
    const std::string text = FormatCheckpoint(x->checkpoint);
    std::vector<NoteSignature> cosigs;
    for (const auto& w : x->witnesses) cosigs.push_back(Cosign(w, text, 1767225600));
    auto note = AddCosignatures(SignCheckpoint(x->log, x->checkpoint), cosigs);
    if (!note.ok()) std::abort();
    x->signed_note = *note;
    return x;
  }();
  return *f;
}

void BM_VerifyCheckpoint(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    auto v = VerifyCheckpoint(f.signed_note, f.log_keys, f.witness_keys);
    if (!v.ok() || v->note.cosignatures.size() != 3) std::abort();
    benchmark::DoNotOptimize(v);
  }
  state.counters["sigs_per_s"] =
      benchmark::Counter(4.0 * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_VerifyCheckpoint);

// The bound: the same four Ed25519 verifications (same messages, same
// signatures) straight through EVP_DigestVerify with pre-parsed EVP_PKEYs.
void BM_Ed25519VerifyRaw(benchmark::State& state) {
  const Fixture& f = F();
  auto parsed = ParseNote(f.signed_note);
  if (!parsed.ok()) std::abort();
  struct Job {
    EVP_PKEY* key;
    std::string msg;
    Bytes sig;
  };
  std::vector<Job> jobs;
  auto raw_key = [](const Ed25519PublicKey& pub) {
    EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size());
    if (k == nullptr) std::abort();
    return k;
  };
  const std::string& text = parsed->text;
  jobs.push_back({raw_key(f.log.signer.public_key()), text, parsed->signatures[0].signature});
  for (size_t i = 0; i < 3; i++) {
    const Bytes& s = parsed->signatures[i + 1].signature;
    jobs.push_back({raw_key(f.witnesses[i].signer.public_key()),
                    CosignatureMessage(text, 1767225600), Bytes(s.begin() + 8, s.end())});
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  for (auto _ : state) {
    for (const Job& j : jobs) {
      if (EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, j.key) != 1) std::abort();
      const int rc = EVP_DigestVerify(ctx, j.sig.data(), j.sig.size(),
                                      reinterpret_cast<const uint8_t*>(j.msg.data()), j.msg.size());
      if (rc != 1) std::abort();
      EVP_MD_CTX_reset(ctx);
    }
  }
  state.counters["sigs_per_s"] =
      benchmark::Counter(4.0 * double(state.iterations()), benchmark::Counter::kIsRate);
  EVP_MD_CTX_free(ctx);
  for (Job& j : jobs) EVP_PKEY_free(j.key);
}
BENCHMARK(BM_Ed25519VerifyRaw);

void BM_ParseNote(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    auto n = ParseNote(f.signed_note);
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_ParseNote);

void BM_ParseCheckpoint(benchmark::State& state) {
  const std::string text = FormatCheckpoint(F().checkpoint);
  for (auto _ : state) {
    auto c = ParseCheckpoint(text);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ParseCheckpoint);

void BM_SignCheckpoint(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    std::string s = SignCheckpoint(f.log, f.checkpoint);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SignCheckpoint);

void BM_Cosign(benchmark::State& state) {
  const Fixture& f = F();
  const std::string text = FormatCheckpoint(f.checkpoint);
  for (auto _ : state) {
    NoteSignature s = Cosign(f.witnesses[0], text, 1767225600);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Cosign);

}  // namespace

BENCHMARK_MAIN();
