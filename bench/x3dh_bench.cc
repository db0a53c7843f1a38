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
// setup), the floor of one DH.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <map>

#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "tests/x3dh/verified_bundle_test_peer.h"
#include "x3dh/keys.h"
#include "x3dh/x3dh.h"

namespace {

using namespace kt;

constexpr uint64_t kNow = 1'750'000'000;

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
BENCHMARK(BM_X25519);

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
BENCHMARK(BM_X25519Raw);

void BM_X25519KeyParse(benchmark::State& state) {
  for (auto _ : state) {
    auto k = core::X25519PrivateKey::FromBytes(F().opk.private_key.span());
    if (!k.ok()) std::abort();
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_X25519KeyParse);

// One verification by a key seen for the first time, as in Initiate.
void BM_Ed25519Verify(benchmark::State& state) {
  const auto& spk = F().bundle.signed_prekey;
  const core::Bytes msg = x3dh::SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key);
  for (auto _ : state) {
    auto v = core::Ed25519Verifier::Create(F().bob.public_key());
    if (!v.ok() || !v->Verify(msg, spk.signature)) std::abort();
  }
}
BENCHMARK(BM_Ed25519Verify);

void BM_Ed25519Sign(benchmark::State& state) {
  const auto& spk = F().bundle.signed_prekey;
  const core::Bytes msg = x3dh::SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key);
  for (auto _ : state) benchmark::DoNotOptimize(F().bob.Sign(msg));
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519PublicToX25519(benchmark::State& state) {
  for (auto _ : state) {
    auto u = core::Ed25519PublicToX25519(F().bob.public_key());
    if (!u.ok()) std::abort();
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(BM_Ed25519PublicToX25519);

void BM_HkdfSha256(benchmark::State& state) {
  const core::Bytes salt(32, 0), ikm(160, 7), info(83, 1);
  for (auto _ : state) benchmark::DoNotOptimize(core::HkdfSha256(salt, ikm, info, 44));
}
BENCHMARK(BM_HkdfSha256);

void BM_Aes256GcmSeal(benchmark::State& state) {
  const core::Bytes key(32, 1), nonce(12, 2), aad(150, 3);
  for (auto _ : state) benchmark::DoNotOptimize(core::Aes256GcmSeal(key, nonce, aad, F().plaintext));
}
BENCHMARK(BM_Aes256GcmSeal);

void BM_Aes256GcmOpen(benchmark::State& state) {
  const core::Bytes key(32, 1), nonce(12, 2), aad(150, 3);
  const core::Bytes sealed = core::Aes256GcmSeal(key, nonce, aad, F().plaintext);
  for (auto _ : state) {
    auto r = core::Aes256GcmOpen(key, nonce, aad, sealed);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Aes256GcmOpen);

void BM_InitiatorCrypto(benchmark::State& state) {
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
BENCHMARK(BM_InitiatorCrypto);

// The same from a bare Ed25519Signer: one more X25519 key setup per call.
void BM_InitiatorCryptoFromSigner(benchmark::State& state) {
  const Fixture& f = F();
  const x3dh::VerifiedBundle vb = x3dh::VerifiedBundleTestPeer::Make(f.bundle);
  x3dh::InitiatorOptions o;
  o.now = kNow;
  for (auto _ : state) {
    auto r = x3dh::Initiate(vb, f.alice, "alice@example.org", "laptop", f.plaintext, o);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_InitiatorCryptoFromSigner);

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
    auto r = x3dh::Respond(f.message, me, spk, opk);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Responder);

}  // namespace

BENCHMARK_MAIN();
