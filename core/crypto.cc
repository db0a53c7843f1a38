// SPDX-License-Identifier: Apache-2.0
// OpenSSL 3 implementation of core/crypto.h: SHA-256 via the low-level API,
// SHA-512 with a fetched EVP_MD and a per-thread context, Ed25519 with parsed
// keys, CSPRNG.
#include "core/crypto.h"
#include "core/openssl_ptr.h"

// The low-level SHA256_* functions are deprecated in OpenSSL 3 but are the
// fastest path for short inputs; see Sha256 below.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

namespace kt::core {
namespace {

using internal::UniquePtr;

// A fetched digest, shared by all threads (EVP_MD is immutable once fetched).
const EVP_MD* FetchedMd(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  KT_CHECK(md != nullptr);
  return md;  // intentionally never freed: lives for the process
}

const EVP_MD* Sha512Md() {
  static const EVP_MD* md = FetchedMd("SHA512");
  return md;
}

// ThreadCtx returns this thread's reusable digest context, armed for `md`.
// After the first EVP_DigestInit_ex with the md, later calls re-arm it with
// NULL, which skips the algorithm fetch and its lock.
EVP_MD_CTX* ArmedCtx(const EVP_MD* md) {
  struct Slot {
    UniquePtr<EVP_MD_CTX> ctx{EVP_MD_CTX_new()};
    const EVP_MD* md = nullptr;
  };
  thread_local Slot slot;
  KT_CHECK(slot.ctx != nullptr);
  if (slot.md == md) {
    KT_CHECK(EVP_DigestInit_ex(slot.ctx.get(), nullptr, nullptr) == 1);
  } else {
    KT_CHECK(EVP_DigestInit_ex(slot.ctx.get(), md, nullptr) == 1);
    slot.md = md;
  }
  return slot.ctx.get();
}

EVP_MD_CTX* ThreadVerifyCtx() {
  thread_local UniquePtr<EVP_MD_CTX> ctx{EVP_MD_CTX_new()};
  KT_CHECK(ctx != nullptr);
  return ctx.get();
}

// NewEd25519PublicKey imports a raw Ed25519 public key the way
// EVP_PKEY_new_raw_public_key does (EVP_PKEY_fromdata with the public key
// parameter), but with a per-thread context, so the key manager is fetched
// once per thread rather than once per key (about half the cost). Null on
// failure.
EVP_PKEY* NewEd25519PublicKey(ByteSpan public_key) {
  thread_local UniquePtr<EVP_PKEY_CTX> ctx{EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr)};
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<uint8_t*>(public_key.data()),
                                        public_key.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) return nullptr;
  return key;
}

}  // namespace

Hash Sha256(std::initializer_list<ByteSpan> parts) {
  // SHA-256 uses OpenSSL's low-level API: a stack
  // SHA256_CTX goes straight to the (SHA-NI / AVX2) block function, where
  // EVP's init/update/final dispatch through the provider costs ~25% on the
  // 65-byte Merkle node inputs (bench/merkle_bench.cc). It is deprecated in
  // OpenSSL 3 but present through 3.x, and stateless, so thread-safe.
  SHA256_CTX ctx;
  KT_CHECK(SHA256_Init(&ctx) == 1);
  for (ByteSpan p : parts) {
    KT_CHECK(SHA256_Update(&ctx, p.data(), p.size()) == 1);
  }
  Hash out;
  KT_CHECK(SHA256_Final(out.data(), &ctx) == 1);
  return out;
}

std::array<uint8_t, 64> Sha512(ByteSpan data) {
  EVP_MD_CTX* ctx = ArmedCtx(Sha512Md());
  KT_CHECK(EVP_DigestUpdate(ctx, data.data(), data.size()) == 1);
  std::array<uint8_t, 64> out;
  unsigned int n = 0;
  KT_CHECK(EVP_DigestFinal_ex(ctx, out.data(), &n) == 1 && n == out.size());
  return out;
}

void RandomBytes(std::span<uint8_t> out) {
  KT_CHECK(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1);
}

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void SecretBytes::Wipe() {
  if (!b_.empty()) OPENSSL_cleanse(b_.data(), b_.size());
  b_.clear();
}

struct Ed25519Verifier::Impl {
  UniquePtr<EVP_PKEY> key;
};

StatusOr<Ed25519Verifier> Ed25519Verifier::Create(ByteSpan public_key) {
  if (public_key.size() != 32) return Status::InvalidArgument("ed25519: public key must be 32 bytes");
  auto impl = std::make_shared<Impl>();
  impl->key.reset(NewEd25519PublicKey(public_key));
  ERR_clear_error();
  if (!impl->key) return Status::InvalidArgument("ed25519: invalid public key");
  Ed25519PublicKey pub;
  std::copy(public_key.begin(), public_key.end(), pub.begin());
  return Ed25519Verifier(std::move(impl), pub);
}

bool Ed25519Verifier::Verify(ByteSpan msg, ByteSpan sig) const {
  if (sig.size() != 64 || !impl_) return false;
  EVP_MD_CTX* ctx = ThreadVerifyCtx();
  int rc = -1;
  if (EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, impl_->key.get()) == 1) {
    rc = EVP_DigestVerify(ctx, sig.data(), sig.size(), msg.data(), msg.size());
  }
  EVP_MD_CTX_reset(ctx);
  ERR_clear_error();
  return rc == 1;  // 0 = bad signature, < 0 = error: both mean "not verified"
}

struct Ed25519Signer::Impl {
  UniquePtr<EVP_PKEY> key;
};

StatusOr<Ed25519Signer> Ed25519Signer::FromSeed(ByteSpan seed) {
  if (seed.size() != 32) return Status::InvalidArgument("ed25519: seed must be 32 bytes");
  auto impl = std::make_shared<Impl>();
  impl->key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!impl->key) {
    ERR_clear_error();
    return Status::InvalidArgument("ed25519: invalid seed");
  }
  Ed25519PublicKey pub;
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(impl->key.get(), pub.data(), &len) != 1 || len != 32) {
    ERR_clear_error();
    return Status::Internal("ed25519: cannot derive public key");
  }
  return Ed25519Signer(std::move(impl), pub, SecretBytes(seed));
}

Ed25519Signer Ed25519Signer::Generate() {
  std::array<uint8_t, 32> seed;
  RandomBytes(seed);
  auto s = FromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  KT_CHECK(s.ok());
  return std::move(s).value();
}

Ed25519Signature Ed25519Signer::Sign(ByteSpan msg) const {
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  KT_CHECK(ctx != nullptr);
  KT_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) == 1);
  Ed25519Signature sig;
  size_t len = sig.size();
  KT_CHECK(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) == 1 && len == 64);
  return sig;
}

bool Ed25519Verify(ByteSpan public_key, ByteSpan msg, ByteSpan sig) {
  auto v = Ed25519Verifier::Create(public_key);
  return v.ok() && v->Verify(msg, sig);
}

}  // namespace kt::core
