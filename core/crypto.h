// SPDX-License-Identifier: Apache-2.0
// Hashing, Ed25519 (RFC 8032) and randomness over OpenSSL 3. No OpenSSL type
// appears in this header; core/crypto*.cc are the only files that include it.
#ifndef KT_CORE_CRYPTO_H_
#define KT_CORE_CRYPTO_H_

#include <array>
#include <initializer_list>
#include <memory>
#include <span>

#include "core/bytes.h"
#include "core/status.h"

namespace kt::core {

// Sha256 hashes the concatenation of `parts`. It reuses a fetched EVP_MD and a
// per-thread EVP_MD_CTX, so it is as fast as the low-level API and
// thread-safe.
Hash Sha256(std::initializer_list<ByteSpan> parts);
inline Hash Sha256(ByteSpan data) { return Sha256({data}); }
// Sha512 hashes `data` (used by the Ed25519 -> X25519 private key conversion).
std::array<uint8_t, 64> Sha512(ByteSpan data);

// RandomBytes fills `out` from OpenSSL's CSPRNG; aborts if it fails.
void RandomBytes(std::span<uint8_t> out);

// ConstantTimeEqual compares two equal-length spans without early exit.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

// SecretBytes holds key material and wipes it (OPENSSL_cleanse) on destruction.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteSpan b) : b_(b.begin(), b.end()) {}
  SecretBytes(const SecretBytes& o) : b_(o.b_) {}
  SecretBytes(SecretBytes&& o) noexcept : b_(std::move(o.b_)) { o.Wipe(); }
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) { Wipe(); b_ = o.b_; }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) { Wipe(); b_ = std::move(o.b_); o.Wipe(); }
    return *this;
  }
  ~SecretBytes() { Wipe(); }
  ByteSpan span() const { return b_; }
  const uint8_t* data() const { return b_.data(); }
  size_t size() const { return b_.size(); }
  bool empty() const { return b_.empty(); }

 private:
  void Wipe();
  Bytes b_;
};

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

// Ed25519Verifier holds a parsed public key so that repeated verifications
// do no key parsing. Copies share the parsed key. Verify is thread-safe.
class Ed25519Verifier {
 public:
  // Create parses a 32-byte public key; InvalidArgument if it is not one.
  static StatusOr<Ed25519Verifier> Create(ByteSpan public_key);
  // Verify returns true only for a valid signature of `msg` (a 64-byte `sig`).
  bool Verify(ByteSpan msg, ByteSpan sig) const;
  const Ed25519PublicKey& public_key() const { return public_key_; }

 private:
  struct Impl;
  Ed25519Verifier(std::shared_ptr<const Impl> impl, const Ed25519PublicKey& pub)
      : impl_(std::move(impl)), public_key_(pub) {}
  std::shared_ptr<const Impl> impl_;
  Ed25519PublicKey public_key_{};
};

// Ed25519Signer holds a private key (from its 32-byte RFC 8032 seed). Sign is
// thread-safe. The seed is kept in SecretBytes.
class Ed25519Signer {
 public:
  // FromSeed derives the key pair; InvalidArgument unless the seed is 32 bytes.
  static StatusOr<Ed25519Signer> FromSeed(ByteSpan seed);
  // Generate makes a fresh key pair from the CSPRNG.
  static Ed25519Signer Generate();
  Ed25519Signature Sign(ByteSpan msg) const;
  const Ed25519PublicKey& public_key() const { return public_key_; }
  const SecretBytes& seed() const { return seed_; }

 private:
  struct Impl;
  Ed25519Signer(std::shared_ptr<const Impl> impl, const Ed25519PublicKey& pub, SecretBytes seed)
      : impl_(std::move(impl)), public_key_(pub), seed_(std::move(seed)) {}
  std::shared_ptr<const Impl> impl_;
  Ed25519PublicKey public_key_{};
  SecretBytes seed_;
};

// Ed25519Verify is the one-shot form (parses the key on each call).
bool Ed25519Verify(ByteSpan public_key, ByteSpan msg, ByteSpan sig);

}  // namespace kt::core

#endif  // KT_CORE_CRYPTO_H_
