// SPDX-License-Identifier: Apache-2.0
// OpenSSL 3 implementation of core/crypto_dh.h (except Ed25519PublicToX25519,
// in core/ed25519_to_x25519.cc): X25519 with parsed keys, HKDF through a
// fetched EVP_KDF, AES-256-GCM through a fetched EVP_CIPHER. Algorithms are
// fetched once per process; contexts are per call or per thread.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "core/crypto_dh.h"
#include "core/openssl_ptr.h"

namespace kt::core {
namespace {

using internal::UniquePtr;

// Fetched algorithms: immutable once fetched, shared by all threads, and
// intentionally never freed (they live for the process).
EVP_KDF* HkdfKdf() {
  static EVP_KDF* kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    KT_CHECK(k != nullptr);
    return k;
  }();
  return kdf;
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    KT_CHECK(c != nullptr);
    return c;
  }();
  return cipher;
}

// ThreadCipherCtx returns this thread's cipher context. Callers reset it after
// use so that no key schedule stays in memory between calls.
EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local UniquePtr<EVP_CIPHER_CTX> ctx{EVP_CIPHER_CTX_new()};
  KT_CHECK(ctx != nullptr);
  return ctx.get();
}

// ResetOnExit wipes and resets a cipher context when the call ends.
struct ResetOnExit {
  EVP_CIPHER_CTX* ctx;
  ~ResetOnExit() {
    EVP_CIPHER_CTX_reset(ctx);
    ERR_clear_error();
  }
};

// ImportX25519 makes an X25519 EVP_PKEY from raw key halves (32 bytes each;
// an empty span leaves that half out) through this thread's fromdata
// context: unlike EVP_PKEY_new_raw_*_key, it does not fetch the key
// management again for every key. With only the private half OpenSSL
// computes the public key (one scalar multiplication); given both, it takes
// the public key as given (ossl_ecx_key_fromdata). nullptr on failure.
UniquePtr<EVP_PKEY> ImportX25519(ByteSpan priv, ByteSpan pub) {
  thread_local UniquePtr<EVP_PKEY_CTX> ctx{EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr)};
  KT_CHECK(ctx != nullptr);
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  OSSL_PARAM params[3];
  size_t n = 0;
  if (!priv.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                                    const_cast<uint8_t*>(priv.data()), priv.size());
  }
  if (!pub.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                    const_cast<uint8_t*>(pub.data()), pub.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  EVP_PKEY* raw = nullptr;
  const int selection = priv.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  const bool ok = EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                  EVP_PKEY_fromdata(ctx.get(), &raw, selection, params) == 1;
  ERR_clear_error();
  UniquePtr<EVP_PKEY> key(raw);
  if (!ok) key.reset();
  return key;
}

// NewDeriveCtx makes a derive context for `key`, initialised for derive.
UniquePtr<EVP_PKEY_CTX> NewDeriveCtx(EVP_PKEY* key) {
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx && EVP_PKEY_derive_init(ctx.get()) != 1) ctx.reset();
  ERR_clear_error();
  return ctx;
}

}  // namespace

void Cleanse(std::span<uint8_t> b) {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

// Impl is shared by copies of a key. `ctx` is a derive context kept for
// reuse (created on first use): setting it up costs more than 10% of a DH
// (a key-management fetch, the exchange fetch). Agree takes it under `mu`
// when it is free; a concurrent caller makes its own instead of waiting.
struct X25519PrivateKey::Impl {
  UniquePtr<EVP_PKEY> key;
  mutable std::mutex mu;
  mutable UniquePtr<EVP_PKEY_CTX> ctx;  // guarded by mu
};

StatusOr<X25519PrivateKey> X25519PrivateKey::FromBytes(ByteSpan private_key) {
  if (private_key.size() != 32) return Status::InvalidArgument("x25519: private key must be 32 bytes");
  auto impl = std::make_shared<Impl>();
  impl->key = ImportX25519(private_key, {});
  if (!impl->key) return Status::Internal("x25519: cannot parse private key");
  X25519PublicKey pub;
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(impl->key.get(), pub.data(), &len) != 1 || len != pub.size()) {
    ERR_clear_error();
    return Status::Internal("x25519: cannot derive public key");
  }
  return X25519PrivateKey(std::move(impl), pub, SecretBytes(private_key));
}

StatusOr<X25519PrivateKey> X25519PrivateKey::FromKeyPair(ByteSpan private_key, ByteSpan public_key) {
  if (private_key.size() != 32 || public_key.size() != 32) {
    return Status::InvalidArgument("x25519: private and public key must be 32 bytes");
  }
  auto impl = std::make_shared<Impl>();
  impl->key = ImportX25519(private_key, public_key);
  if (!impl->key) return Status::Internal("x25519: cannot import key pair");
  X25519PublicKey pub;
  std::copy(public_key.begin(), public_key.end(), pub.begin());
  return X25519PrivateKey(std::move(impl), pub, SecretBytes(private_key));
}

X25519PrivateKey X25519PrivateKey::Generate() {
  std::array<uint8_t, 32> priv;
  RandomBytes(priv);
  auto k = FromBytes(priv);
  Cleanse(priv);
  KT_CHECK(k.ok());
  return std::move(k).value();
}

StatusOr<X25519SharedSecret> X25519PrivateKey::Agree(ByteSpan peer_public) const {
  if (peer_public.size() != 32) return Status::InvalidArgument("x25519: public key must be 32 bytes");
  UniquePtr<EVP_PKEY> peer = ImportX25519({}, peer_public);
  if (!peer) return Status::InvalidArgument("x25519: cannot parse public key");
  std::unique_lock<std::mutex> lock(impl_->mu, std::try_to_lock);
  UniquePtr<EVP_PKEY_CTX> own;
  EVP_PKEY_CTX* ctx = nullptr;
  if (lock.owns_lock()) {
    if (!impl_->ctx) impl_->ctx = NewDeriveCtx(impl_->key.get());
    ctx = impl_->ctx.get();
  } else {
    own = NewDeriveCtx(impl_->key.get());
    ctx = own.get();
  }
  X25519SharedSecret out{};
  size_t len = out.size();
  // No peer validation by OpenSSL (validate_peer = 0): for X25519 it only
  // checks that the key has a public half, at the price of a context fetch.
  // Every 32-byte string is a u-coordinate (RFC 7748 §5); small-order peers
  // are refused by the all-zero check below (§6.1), which OpenSSL's X25519
  // also applies, so a derive failure after a good setup is such a peer.
  const bool init_ok = ctx != nullptr && EVP_PKEY_derive_set_peer_ex(ctx, peer.get(), 0) == 1;
  const bool derived = init_ok && EVP_PKEY_derive(ctx, out.data(), &len) == 1 && len == 32;
  ERR_clear_error();
  if (!init_ok) return Status::Internal("x25519: derive setup failed");
  static constexpr X25519SharedSecret kZero{};
  if (!derived || CRYPTO_memcmp(out.data(), kZero.data(), out.size()) == 0) {
    Cleanse(out);
    return Status::VerificationFailed("x25519: all-zero shared secret (small-order public key)");
  }
  return out;
}

StatusOr<X25519SharedSecret> X25519(ByteSpan private_key, ByteSpan peer_public) {
  KT_ASSIGN_OR_RETURN(X25519PrivateKey key, X25519PrivateKey::FromBytes(private_key));
  return key.Agree(peer_public);
}

StatusOr<X25519PublicKey> X25519PublicFromPrivate(ByteSpan private_key) {
  KT_ASSIGN_OR_RETURN(X25519PrivateKey key, X25519PrivateKey::FromBytes(private_key));
  return key.public_key();
}

X25519KeyPair GenerateX25519() {
  X25519PrivateKey key = X25519PrivateKey::Generate();
  return X25519KeyPair{key.private_key(), key.public_key()};
}

SecretBytes Ed25519SeedToX25519Private(ByteSpan seed) {
  KT_CHECK(seed.size() == 32);
  std::array<uint8_t, 64> h = Sha512(seed);
  // RFC 7748 §5 clamping, as libsodium's crypto_sign_ed25519_sk_to_curve25519
  // (X25519 clamps again, so this only makes the stored form canonical).
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  SecretBytes out(ByteSpan(h.data(), 32));
  Cleanse(h);
  return out;
}

SecretBytes HkdfSha256(ByteSpan salt, ByteSpan ikm, ByteSpan info, size_t len) {
  KT_CHECK(!ikm.empty() && len > 0 && len <= 255 * 32);
  UniquePtr<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(HkdfKdf()));
  KT_CHECK(ctx != nullptr);
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  auto octets = [](const char* key, ByteSpan b) {
    return OSSL_PARAM_construct_octet_string(key, const_cast<uint8_t*>(b.data()), b.size());
  };
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
  if (!salt.empty()) params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[n++] = octets(OSSL_KDF_PARAM_INFO, info);
  params[n] = OSSL_PARAM_construct_end();
  Bytes out(len);
  const int rc = EVP_KDF_derive(ctx.get(), out.data(), out.size(), params);
  ERR_clear_error();
  KT_CHECK(rc == 1);
  SecretBytes secret(out);
  Cleanse(out);
  return secret;
}

Bytes Aes256GcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext) {
  KT_CHECK(key.size() == kAes256GcmKeySize && nonce.size() == kAes256GcmNonceSize);
  KT_CHECK(plaintext.size() <= static_cast<size_t>(INT32_MAX) - kAes256GcmTagSize &&
           aad.size() <= static_cast<size_t>(INT32_MAX));
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  ResetOnExit reset{ctx};
  Bytes out(plaintext.size() + kAes256GcmTagSize);
  int len = 0;
  // NIST SP 800-38D: a 96-bit IV is the default GCM IV length.
  KT_CHECK(EVP_EncryptInit_ex2(ctx, Aes256Gcm(), key.data(), nonce.data(), nullptr) == 1);
  if (!aad.empty()) {
    KT_CHECK(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1);
  }
  size_t written = 0;
  if (!plaintext.empty()) {
    KT_CHECK(EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(),
                               static_cast<int>(plaintext.size())) == 1);
    written = static_cast<size_t>(len);
  }
  KT_CHECK(EVP_EncryptFinal_ex(ctx, out.data() + written, &len) == 1);
  written += static_cast<size_t>(len);
  KT_CHECK(written == plaintext.size());
  KT_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAes256GcmTagSize),
                               out.data() + written) == 1);
  return out;
}

StatusOr<Bytes> Aes256GcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad,
                              ByteSpan ciphertext_and_tag) {
  if (key.size() != kAes256GcmKeySize) return Status::InvalidArgument("aes-gcm: key must be 32 bytes");
  if (nonce.size() != kAes256GcmNonceSize) {
    return Status::InvalidArgument("aes-gcm: nonce must be 12 bytes");
  }
  if (ciphertext_and_tag.size() < kAes256GcmTagSize) {
    return Status::InvalidArgument("aes-gcm: input shorter than the tag");
  }
  if (ciphertext_and_tag.size() > static_cast<size_t>(INT32_MAX) ||
      aad.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::InvalidArgument("aes-gcm: input too large");
  }
  const size_t ct_len = ciphertext_and_tag.size() - kAes256GcmTagSize;
  ByteSpan ct = ciphertext_and_tag.first(ct_len);
  // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer but only reads the tag.
  Bytes tag(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ct_len),
            ciphertext_and_tag.end());
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  ResetOnExit reset{ctx};
  Bytes out(ct_len);
  int len = 0;
  KT_CHECK(EVP_DecryptInit_ex2(ctx, Aes256Gcm(), key.data(), nonce.data(), nullptr) == 1);
  if (!aad.empty()) {
    KT_CHECK(EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1);
  }
  size_t written = 0;
  if (!ct.empty()) {
    KT_CHECK(EVP_DecryptUpdate(ctx, out.data(), &len, ct.data(), static_cast<int>(ct.size())) == 1);
    written = static_cast<size_t>(len);
  }
  KT_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAes256GcmTagSize),
                               tag.data()) == 1);
  // EVP_DecryptFinal_ex returns 1 when the tag verifies and 0 (or less) when
  // not. GCM's final step outputs nothing; `tail` only keeps the pointer valid.
  uint8_t tail[16];
  if (EVP_DecryptFinal_ex(ctx, tail, &len) != 1) {
    Cleanse(out);
    return Status::VerificationFailed("aes-gcm: authentication tag mismatch");
  }
  KT_CHECK(len == 0 && written == ct_len);
  return out;
}

}  // namespace kt::core
