// SPDX-License-Identifier: Apache-2.0
// Note keys (C2SP signed-note §Signatures, tlog-cosignature §Format): key
// IDs, key names, verifier keys ("vkeys") and the golang.org/x/mod/sumdb/note
// private key string "PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>".
// Signature types: 0x01 Ed25519 note signatures, 0x04 cosignature/v1.
#ifndef KT_CORE_KEYS_H_
#define KT_CORE_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"

namespace kt::core {

// Signature type identifier bytes (C2SP signed-note §Signature types).
constexpr uint8_t kSigTypeEd25519 = 0x01;
constexpr uint8_t kSigTypeCosignatureV1 = 0x04;

// KeyId returns the first 4 bytes, big-endian, of
// SHA-256(name || 0x0A || type || public_key) (signed-note §Signatures).
uint32_t KeyId(std::string_view name, uint8_t type, ByteSpan public_key);

// FormatKeyId returns the key ID as 8 lowercase hex digits, as in vkeys.
std::string FormatKeyId(uint32_t key_id);

// IsValidKeyName reports whether `name` may name a note key: non-empty, valid
// UTF-8, no '+', no Unicode space, no control character (C0, DEL or C1).
bool IsValidKeyName(std::string_view name);

// VerifierKey is a parsed public key of type 0x01 or 0x04. Copies share the
// parsed Ed25519 key; all methods are thread-safe.
struct VerifierKey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;
  Ed25519Verifier verifier;

  // ToString returns the vkey "<name>+<8 hex id>+<base64(type || pub)>".
  std::string ToString() const;
};

// ParseVerifierKey parses a vkey "<name>+<8 hex digits>+<base64(type||pub)>".
// The name must be valid, the base64 canonical, the type 0x01 or 0x04 with a
// 32-byte Ed25519 key, and the key ID must equal KeyId(name, type, pub).
// InvalidArgument otherwise.
StatusOr<VerifierKey> ParseVerifierKey(std::string_view vkey);

// MakeVerifierKey builds a VerifierKey from its parts (key ID computed).
// InvalidArgument for a bad name, type or public key.
StatusOr<VerifierKey> MakeVerifierKey(std::string_view name, uint8_t type, ByteSpan public_key);

// SignerKey is a private note key of type 0x01 or 0x04. Thread-safe.
struct SignerKey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;
  Ed25519Signer signer;

  // Verifier returns the matching public VerifierKey.
  VerifierKey Verifier() const;
  // VerifierKeyString returns Verifier().ToString() (the vkey).
  std::string VerifierKeyString() const;
};

// ParseSignerKey parses "PRIVATE+KEY+<name>+<8 hex id>+<base64(type||seed)>"
// with at most one trailing '\n'. The key ID must equal KeyId(name, type,
// public key derived from the 32-byte seed). InvalidArgument otherwise; the
// error message never contains key material.
StatusOr<SignerKey> ParseSignerKey(std::string_view text);

// FormatSignerKey returns the private key string (no trailing newline).
// The result is secret: callers must not log it.
std::string FormatSignerKey(const SignerKey& key);

// SignerKeyFromSeed derives a key from a 32-byte RFC 8032 seed.
// InvalidArgument for a bad name, type or seed.
StatusOr<SignerKey> SignerKeyFromSeed(std::string_view name, uint8_t type, ByteSpan seed);

// GenerateSignerKey makes a fresh key from the CSPRNG. InvalidArgument for a
// bad name or a type other than 0x01 / 0x04.
StatusOr<SignerKey> GenerateSignerKey(std::string_view name, uint8_t type);

}  // namespace kt::core

#endif  // KT_CORE_KEYS_H_
