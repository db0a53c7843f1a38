// SPDX-License-Identifier: Apache-2.0
// The pure X3DH key agreement of DESIGN.md "X3DH": the four DH values, the
// KDF info, SK = HKDF-SHA256(...), and the AEAD key and nonce derived from SK.
// These take raw (already converted) keys and check nothing about where the
// keys came from: they are the building blocks of x3dh/x3dh.h, whose
// Initiate only accepts a VerifiedBundle, and are exposed for the
// known-answer tests. Application code must not call them directly.
#ifndef KT_X3DH_SECRET_H_
#define KT_X3DH_SECRET_H_

#include <array>
#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "core/status.h"

namespace kt::x3dh::internal {

// SessionContext is what the KDF info binds: both Ed25519 identity keys and
// the prekey ids used.
struct SessionContext {
  core::Ed25519PublicKey ik_a{};  // initiator identity key (Ed25519)
  core::Ed25519PublicKey ik_b{};  // responder identity key (Ed25519)
  uint32_t spk_id = 0;
  std::optional<uint32_t> opk_id;  // none: has_opk = 0, opk_id = 0
};

// KdfInfo returns "kt-x3dh-v1" || IK_A || IK_B || uint32 spk_id || uint8
// has_opk || uint32 opk_id (0 when none).
core::Bytes KdfInfo(const SessionContext& ctx);

// InitiatorDh returns DH1 || DH2 || DH3 [|| DH4] with DH1 = DH(IK_A, SPK_B),
// DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B) when
// `opk_b` is set. `ik_a` is the initiator's identity key converted to X25519,
// `ik_b` the responder's. VerificationFailed if any DH is all zero.
core::StatusOr<core::SecretBytes> InitiatorDh(const core::X25519PrivateKey& ik_a,
                                              const core::X25519PrivateKey& ek_a,
                                              const core::X25519PublicKey& ik_b,
                                              const core::X25519PublicKey& spk_b,
                                              const std::optional<core::X25519PublicKey>& opk_b);

// ResponderDh computes the same values from the responder's side; `opk_b` is
// null when no one-time prekey was used.
core::StatusOr<core::SecretBytes> ResponderDh(const core::X25519PrivateKey& ik_b,
                                              const core::X25519PrivateKey& spk_b,
                                              const core::X25519PrivateKey* opk_b,
                                              const core::X25519PublicKey& ik_a,
                                              const core::X25519PublicKey& ek_a);

// DeriveSk returns HKDF-SHA256(salt = 32 zero bytes, IKM = 32 x 0xFF ||
// dh_concat, info = kdf_info, L = 32).
core::SecretBytes DeriveSk(core::ByteSpan dh_concat, core::ByteSpan kdf_info);

// DeriveInitiatorSecret = DeriveSk(InitiatorDh(...), KdfInfo(ctx)); the OPK
// public key must be set exactly when ctx.opk_id is (KT_CHECK).
core::StatusOr<core::SecretBytes> DeriveInitiatorSecret(
    const core::X25519PrivateKey& ik_a, const core::X25519PrivateKey& ek_a,
    const core::X25519PublicKey& ik_b, const core::X25519PublicKey& spk_b,
    const std::optional<core::X25519PublicKey>& opk_b, const SessionContext& ctx);

// DeriveResponderSecret = DeriveSk(ResponderDh(...), KdfInfo(ctx)); `opk_b`
// must be non-null exactly when ctx.opk_id is set (KT_CHECK).
core::StatusOr<core::SecretBytes> DeriveResponderSecret(
    const core::X25519PrivateKey& ik_b, const core::X25519PrivateKey& spk_b,
    const core::X25519PrivateKey* opk_b, const core::X25519PublicKey& ik_a,
    const core::X25519PublicKey& ek_a, const SessionContext& ctx);

// AeadKeys are the AES-256-GCM key and nonce for the initial message:
// HKDF-SHA256(salt = 32 zero bytes, IKM = SK, info = "kt-x3dh-aead-v1",
// L = 44) split as key = [0, 32), nonce = [32, 44). SK is fresh for every
// initial message (a fresh EK_A), so the fixed nonce is never reused with a key.
struct AeadKeys {
  core::SecretBytes key;
  std::array<uint8_t, 12> nonce{};
};
AeadKeys DeriveAeadKeys(core::ByteSpan sk);

}  // namespace kt::x3dh::internal

#endif  // KT_X3DH_SECRET_H_
