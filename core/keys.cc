// SPDX-License-Identifier: Apache-2.0
// Note keys: key IDs, vkeys and x/mod-style private key strings
// (C2SP signed-note §Signatures, tlog-cosignature §Format).
#include "core/keys.h"

#include <array>
#include <span>

#include "core/encoding.h"
#include "core/utf8.h"

namespace kt::core {
namespace {

bool IsSupportedType(uint8_t type) {
  return type == kSigTypeEd25519 || type == kSigTypeCosignatureV1;
}

// Cut splits `s` at the first `sep`: returns false when there is none.
bool Cut(std::string_view s, char sep, std::string_view* before, std::string_view* after) {
  const size_t i = s.find(sep);
  if (i == std::string_view::npos) return false;
  *before = s.substr(0, i);
  *after = s.substr(i + 1);
  return true;
}

// ParseKeyId parses exactly 8 hex digits.
bool ParseKeyId(std::string_view hex, uint32_t* id) {
  if (hex.size() != 8) return false;
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) return false;
  *id = (uint32_t{(*bytes)[0]} << 24) | (uint32_t{(*bytes)[1]} << 16) |
        (uint32_t{(*bytes)[2]} << 8) | uint32_t{(*bytes)[3]};
  return true;
}

// Wipe zeroes a temporary copy of key material; the volatile stores cannot be
// elided as dead.
void Wipe(std::span<uint8_t> b) {
  volatile uint8_t* p = b.data();
  for (size_t i = 0; i < b.size(); i++) p[i] = 0;
}

// EncodeTypedKey returns base64(type || key), the payload of vkeys and
// private keys; the temporary copy is wiped since `key` may be a seed.
std::string EncodeTypedKey(uint8_t type, ByteSpan key) {
  Bytes b;
  b.reserve(1 + key.size());
  b.push_back(type);
  b.insert(b.end(), key.begin(), key.end());
  std::string out = Base64Encode(b);
  Wipe(b);
  return out;
}

// NextRune decodes the code point at `*i` of valid UTF-8 `s` and advances *i.
char32_t NextRune(std::string_view s, size_t* i) {
  const auto b0 = static_cast<uint8_t>(s[*i]);
  const size_t n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
  char32_t r = n == 1 ? b0 : b0 & (0x7F >> n);
  for (size_t k = 1; k < n; k++) r = (r << 6) | (static_cast<uint8_t>(s[*i + k]) & 0x3F);
  *i += n;
  return r;
}

// IsUnicodeSpace reports whether `r` has the Unicode White_Space property,
// the set Go's unicode.IsSpace (used by x/mod's isValidName) accepts.
bool IsUnicodeSpace(char32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

}  // namespace

std::string FormatKeyId(uint32_t key_id) {
  const std::array<uint8_t, 4> b = {
      static_cast<uint8_t>(key_id >> 24), static_cast<uint8_t>(key_id >> 16),
      static_cast<uint8_t>(key_id >> 8), static_cast<uint8_t>(key_id)};
  return HexEncode(b);
}

uint32_t KeyId(std::string_view name, uint8_t type, ByteSpan public_key) {
  const uint8_t sep_type[2] = {0x0A, type};
  const Hash h = Sha256({AsBytes(name), ByteSpan(sep_type), public_key});
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || !IsValidUtf8(name)) return false;
  size_t i = 0;
  while (i < name.size()) {
    const char32_t r = NextRune(name, &i);
    if (r == '+' || r < 0x20 || r == 0x7F || (r >= 0x80 && r <= 0x9F) || IsUnicodeSpace(r)) {
      return false;
    }
  }
  return true;
}

std::string VerifierKey::ToString() const {
  return name + "+" + FormatKeyId(key_id) + "+" + EncodeTypedKey(type, verifier.public_key());
}

StatusOr<VerifierKey> MakeVerifierKey(std::string_view name, uint8_t type, ByteSpan public_key) {
  if (!IsValidKeyName(name)) return Status::InvalidArgument("vkey: invalid key name");
  if (!IsSupportedType(type)) return Status::InvalidArgument("vkey: unsupported signature type");
  KT_ASSIGN_OR_RETURN(Ed25519Verifier v, Ed25519Verifier::Create(public_key));
  return VerifierKey{std::string(name), KeyId(name, type, public_key), type, std::move(v)};
}

StatusOr<VerifierKey> ParseVerifierKey(std::string_view vkey) {
  std::string_view name, rest, hex, b64;
  if (!Cut(vkey, '+', &name, &rest) || !Cut(rest, '+', &hex, &b64)) {
    return Status::InvalidArgument("vkey: want <name>+<hex id>+<base64 key>");
  }
  uint32_t id = 0;
  if (!ParseKeyId(hex, &id)) return Status::InvalidArgument("vkey: key ID must be 8 hex digits");
  auto key = Base64Decode(b64);
  if (!key.ok()) return Status::InvalidArgument("vkey: key is not canonical base64");
  if (key->empty()) return Status::InvalidArgument("vkey: empty key");
  const uint8_t type = (*key)[0];
  KT_ASSIGN_OR_RETURN(VerifierKey vk, MakeVerifierKey(name, type, ByteSpan(*key).subspan(1)));
  if (vk.key_id != id) return Status::InvalidArgument("vkey: key ID does not match the key");
  return vk;
}

VerifierKey SignerKey::Verifier() const {
  auto v = Ed25519Verifier::Create(signer.public_key());
  KT_CHECK(v.ok());  // a derived public key always parses
  return VerifierKey{name, key_id, type, std::move(v).value()};
}

std::string SignerKey::VerifierKeyString() const { return Verifier().ToString(); }

StatusOr<SignerKey> SignerKeyFromSeed(std::string_view name, uint8_t type, ByteSpan seed) {
  if (!IsValidKeyName(name)) return Status::InvalidArgument("private key: invalid key name");
  if (!IsSupportedType(type)) {
    return Status::InvalidArgument("private key: unsupported signature type");
  }
  KT_ASSIGN_OR_RETURN(Ed25519Signer s, Ed25519Signer::FromSeed(seed));
  const uint32_t id = KeyId(name, type, s.public_key());
  return SignerKey{std::string(name), id, type, std::move(s)};
}

StatusOr<SignerKey> ParseSignerKey(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  constexpr std::string_view kPrefix = "PRIVATE+KEY+";
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    return Status::InvalidArgument("private key: missing PRIVATE+KEY+ prefix");
  }
  text.remove_prefix(kPrefix.size());
  std::string_view name, rest, hex, b64;
  if (!Cut(text, '+', &name, &rest) || !Cut(rest, '+', &hex, &b64)) {
    return Status::InvalidArgument("private key: want PRIVATE+KEY+<name>+<hex id>+<base64>");
  }
  uint32_t id = 0;
  if (!ParseKeyId(hex, &id)) {
    return Status::InvalidArgument("private key: key ID must be 8 hex digits");
  }
  auto decoded = Base64Decode(b64);
  if (!decoded.ok() || decoded->size() != 33) {
    return Status::InvalidArgument("private key: want canonical base64 of type || 32-byte seed");
  }
  const SecretBytes key(*decoded);
  Wipe(*decoded);
  KT_ASSIGN_OR_RETURN(SignerKey sk, SignerKeyFromSeed(name, key.data()[0], key.span().subspan(1)));
  if (sk.key_id != id) return Status::InvalidArgument("private key: key ID does not match the key");
  return sk;
}

std::string FormatSignerKey(const SignerKey& key) {
  return "PRIVATE+KEY+" + key.name + "+" + FormatKeyId(key.key_id) + "+" +
         EncodeTypedKey(key.type, key.signer.seed().span());
}

StatusOr<SignerKey> GenerateSignerKey(std::string_view name, uint8_t type) {
  std::array<uint8_t, 32> seed;
  RandomBytes(seed);
  auto key = SignerKeyFromSeed(name, type, seed);
  Wipe(seed);
  return key;
}

}  // namespace kt::core
