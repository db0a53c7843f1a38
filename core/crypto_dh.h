// SPDX-License-Identifier: Apache-2.0
// Primitives for X3DH (DESIGN.md "X3DH"): X25519 (RFC 7748), the Ed25519 ->
// X25519 key conversions (libsodium's crypto_sign_ed25519_pk_to_curve25519 /
// sk_to_curve25519), HKDF-SHA256 (RFC 5869) and AES-256-GCM (NIST SP
// 800-38D). No OpenSSL type appears here; core/crypto_dh.cc implements it.
#ifndef KT_CORE_CRYPTO_DH_H_
#define KT_CORE_CRYPTO_DH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"

namespace kt::core {

using X25519PublicKey = std::array<uint8_t, 32>;
// X25519 shared secrets; callers wipe them with Cleanse when done.
using X25519SharedSecret = std::array<uint8_t, 32>;

// Cleanse overwrites `b` with zeros in a way the compiler cannot elide.
void Cleanse(std::span<uint8_t> b);

// X25519PrivateKey is a parsed X25519 private key (RFC 7748 §5: the scalar is
// clamped by X25519 itself, so any 32 bytes are a key). Parsing computes the
// public key once; Agree then costs one scalar multiplication. Copies share
// the parsed key. Agree is thread-safe.
class X25519PrivateKey {
 public:
  // FromBytes parses a 32-byte private key; InvalidArgument otherwise.
  static StatusOr<X25519PrivateKey> FromBytes(ByteSpan private_key);
  // FromKeyPair parses a private key whose public key the caller stored
  // beside it (a device store), skipping the scalar multiplication FromBytes
  // spends on computing it. The caller vouches that public_key is X25519(
  // private_key, 9): a wrong one only makes public_key() wrong, Agree uses
  // the private key alone. InvalidArgument unless both are 32 bytes.
  static StatusOr<X25519PrivateKey> FromKeyPair(ByteSpan private_key, ByteSpan public_key);
  // Generate makes a fresh key from the CSPRNG.
  static X25519PrivateKey Generate();

  // Agree returns X25519(private, peer_public) (RFC 7748 §6.1). It fails with
  // InvalidArgument for a peer key that is not 32 bytes and VerificationFailed
  // when the shared secret is all zero (a small-order peer key, §6.1 "check").
  StatusOr<X25519SharedSecret> Agree(ByteSpan peer_public) const;

  const X25519PublicKey& public_key() const { return public_key_; }
  const SecretBytes& private_key() const { return private_key_; }

 private:
  struct Impl;
  X25519PrivateKey(std::shared_ptr<const Impl> impl, const X25519PublicKey& pub, SecretBytes priv)
      : impl_(std::move(impl)), public_key_(pub), private_key_(std::move(priv)) {}
  std::shared_ptr<const Impl> impl_;
  X25519PublicKey public_key_{};
  SecretBytes private_key_;
};

// X25519 is the one-shot form of X25519PrivateKey::FromBytes(priv).Agree(peer):
// the same failures, plus InvalidArgument for a private key not of 32 bytes.
StatusOr<X25519SharedSecret> X25519(ByteSpan private_key, ByteSpan peer_public);
// X25519PublicFromPrivate returns X25519(private, 9); InvalidArgument unless
// the private key has 32 bytes.
StatusOr<X25519PublicKey> X25519PublicFromPrivate(ByteSpan private_key);

// X25519KeyPair is a fresh key pair; the private half wipes itself.
struct X25519KeyPair {
  SecretBytes private_key;
  X25519PublicKey public_key{};
};
// GenerateX25519 makes a key pair from the CSPRNG (aborts if it fails).
X25519KeyPair GenerateX25519();

// Ed25519PublicToX25519 maps an Ed25519 public key (RFC 8032 §5.1.3 encoding
// of a point (x, y)) to the X25519 public key u = (1 + y) / (1 - y) mod
// 2^255 - 19, as libsodium's crypto_sign_ed25519_pk_to_curve25519, and like
// it refuses keys that are unsafe for DH. It fails with InvalidArgument for:
//   - a key that is not 32 bytes;
//   - a non-canonical y (y >= p);
//   - an encoding that is not a curve point (no square root for x, or x = 0
//     with the sign bit set);
//   - the identity (y = 1, where 1 - y has no inverse) and every other point
//     of small order, and points outside the prime-order subgroup
//     ([L]P != identity), as libsodium's ge25519_is_on_main_subgroup.
// Pure, variable-time (public inputs only) and thread-safe.
StatusOr<X25519PublicKey> Ed25519PublicToX25519(ByteSpan ed25519_public);

// Ed25519PublicToX25519Cached returns exactly what Ed25519PublicToX25519
// returns, but remembers successful conversions in a bounded process-wide
// cache (1024 entries, about 80 KiB; a new key may evict an older one), since
// a device converts the same peers' identity keys again and again. Refused
// keys are not cached (every call checks them again). The cache holds public
// data only; its one observable effect is timing: a hit is ~100x faster, so
// it reveals whether this process converted that key recently. Thread-safe.
StatusOr<X25519PublicKey> Ed25519PublicToX25519Cached(ByteSpan ed25519_public);
// ClearEd25519ToX25519Cache forgets every cached conversion (benchmarks of
// the cold path, tests). Thread-safe.
void ClearEd25519ToX25519Cache();

// Ed25519SeedToX25519Private returns the first 32 bytes of SHA-512(seed)
// clamped (RFC 7748 §5), i.e. the Ed25519 secret scalar, as libsodium's
// crypto_sign_ed25519_sk_to_curve25519. The seed must have 32 bytes (KT_CHECK).
SecretBytes Ed25519SeedToX25519Private(ByteSpan seed);

// HkdfSha256 is RFC 5869 HKDF with SHA-256: Expand(Extract(salt, ikm), info,
// len). An empty salt means HashLen zero bytes (RFC 5869 §2.2). Requires a
// non-empty ikm and 0 < len <= 255 * 32 (KT_CHECK). Thread-safe.
SecretBytes HkdfSha256(ByteSpan salt, ByteSpan ikm, ByteSpan info, size_t len);

inline constexpr size_t kAes256GcmKeySize = 32;
inline constexpr size_t kAes256GcmNonceSize = 12;
inline constexpr size_t kAes256GcmTagSize = 16;

// Aes256GcmSeal encrypts `plaintext` under a 32-byte key and 12-byte nonce
// with `aad` authenticated, and returns ciphertext || 16-byte tag. Wrong key
// or nonce sizes are bugs (KT_CHECK). Thread-safe. A (key, nonce) pair must
// never be used for two different messages.
Bytes Aes256GcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext);
// Aes256GcmOpen reverses Aes256GcmSeal. It returns the plaintext, or
// InvalidArgument for wrong key/nonce sizes or an input shorter than the tag,
// or VerificationFailed when the tag does not authenticate the ciphertext and
// aad (no plaintext is released then). Thread-safe.
StatusOr<Bytes> Aes256GcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad,
                              ByteSpan ciphertext_and_tag);

}  // namespace kt::core

#endif  // KT_CORE_CRYPTO_DH_H_
