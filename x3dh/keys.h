// SPDX-License-Identifier: Apache-2.0
// X3DH prekeys and prekey bundles (DESIGN.md "X3DH"): the signed prekey (SPK)
// and its signature message, one-time prekeys (OPK), and the bundle a server
// hands to an initiator, with a canonical binary encoding.
#ifndef KT_X3DH_KEYS_H_
#define KT_X3DH_KEYS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "core/status.h"

namespace kt::x3dh {

// DeviceIdentity is a device's Ed25519 identity key together with its X25519
// form for DH (DESIGN.md "X3DH": the clamped first half of SHA-512(seed)),
// parsed once so that each X3DH run skips that key setup. Copies share the
// keys; thread-safe.
class DeviceIdentity {
 public:
  explicit DeviceIdentity(core::Ed25519Signer signer);

  const core::Ed25519Signer& signer() const { return signer_; }
  const core::Ed25519PublicKey& public_key() const { return signer_.public_key(); }
  const core::X25519PrivateKey& dh_key() const { return dh_key_; }

 private:
  core::Ed25519Signer signer_;
  core::X25519PrivateKey dh_key_;
};

// SignedPrekey is a device's medium-term X25519 prekey, signed by the
// device's Ed25519 identity key over SpkSignatureMessage.
struct SignedPrekey {
  uint32_t spk_id = 0;
  uint64_t created = 0;  // unix seconds
  core::X25519PublicKey public_key{};
  core::Ed25519Signature signature{};

  bool operator==(const SignedPrekey&) const = default;
};

// OneTimePrekey is an X25519 prekey handed out at most once.
struct OneTimePrekey {
  uint32_t opk_id = 0;
  core::X25519PublicKey public_key{};

  bool operator==(const OneTimePrekey&) const = default;
};

// PrekeyBundle is what the prekey directory returns for one device. Nothing
// in it is trusted until kt::client checked `identity_key` against the log
// (see VerifiedBundle in x3dh/x3dh.h).
struct PrekeyBundle {
  std::string user;
  std::string device;
  core::Ed25519PublicKey identity_key{};  // the device's Ed25519 identity key
  SignedPrekey signed_prekey;
  std::optional<OneTimePrekey> one_time_prekey;

  bool operator==(const PrekeyBundle&) const = default;
};

// SpkSignatureMessage returns "kt-x3dh-spk-v1\n" || uint32 spk_id || uint64
// created || spk_pub (big-endian integers), the message the identity key signs.
core::Bytes SpkSignatureMessage(uint32_t spk_id, uint64_t created,
                                const core::X25519PublicKey& spk_public);

// SignPrekey signs an SPK with the device identity key. Thread-safe.
SignedPrekey SignPrekey(const core::Ed25519Signer& identity, uint32_t spk_id, uint64_t created,
                        const core::X25519PublicKey& spk_public);

// VerifySignedPrekey returns OK if `spk.signature` is a valid Ed25519
// signature by `identity` over the SPK's message, VerificationFailed if not.
core::Status VerifySignedPrekey(const core::Ed25519Verifier& identity, const SignedPrekey& spk);

// VerifySignedPrekeyCached returns exactly what VerifySignedPrekey returns
// for `identity_key` (VerificationFailed also for a key that is not a valid
// Ed25519 key), through core::Ed25519VerifyCached: an initiator meets the
// same SPK (same bytes) for every session it starts with that device while
// the SPK lives, so a repeat costs a hash instead of a verification; any
// byte of the key, SPK or signature that differs is verified in full, and
// failures are never cached (core/crypto_cache.h). Thread-safe.
core::Status VerifySignedPrekeyCached(const core::Ed25519PublicKey& identity_key,
                                      const SignedPrekey& spk);

// Binary bundle encoding (big-endian, TLS presentation style):
//   uint8  version = 1;
//   opaque user<1..255>; opaque device<1..255>;
//   opaque identity_key[32];
//   uint32 spk_id; uint64 created; opaque spk_pub[32]; opaque spk_sig[64];
//   uint8  has_opk (0 or 1); [uint32 opk_id; opaque opk_pub[32]] if has_opk.
// EncodePrekeyBundle requires 1..255-byte user and device (KT_CHECK).
core::Bytes EncodePrekeyBundle(const PrekeyBundle& bundle);
// DecodePrekeyBundle accepts exactly the encodings EncodePrekeyBundle makes
// (so decode -> encode is the identity); InvalidArgument otherwise.
core::StatusOr<PrekeyBundle> DecodePrekeyBundle(core::ByteSpan in);

}  // namespace kt::x3dh

#endif  // KT_X3DH_KEYS_H_
