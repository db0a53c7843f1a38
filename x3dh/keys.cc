// SPDX-License-Identifier: Apache-2.0
// X3DH prekeys: SPK signature message (DESIGN.md "X3DH"), signing,
// verification, and the canonical prekey bundle encoding of x3dh/keys.h.
#include "x3dh/keys.h"

#include <algorithm>
#include <string_view>

#include "core/crypto_cache.h"
#include "core/encoding.h"
#include "core/utf8.h"

namespace kt::x3dh {
namespace {

constexpr std::string_view kSpkContext = "kt-x3dh-spk-v1\n";
constexpr uint8_t kBundleVersion = 1;

// ReadId reads a non-empty UTF-8 user or device id (opaque <1..255>).
bool ReadId(core::Reader& r, std::string* out) {
  core::ByteSpan b;
  if (!r.Vec8(&b) || b.empty() || !core::IsValidUtf8(b)) return false;
  *out = core::ToString(b);
  return true;
}

core::X25519PrivateKey IdentityDhKey(const core::Ed25519Signer& signer) {
  core::SecretBytes priv = core::Ed25519SeedToX25519Private(signer.seed().span());
  auto key = core::X25519PrivateKey::FromBytes(priv.span());
  KT_CHECK(key.ok());  // 32 bytes by construction
  return std::move(key).value();
}

}  // namespace

DeviceIdentity::DeviceIdentity(core::Ed25519Signer signer)
    : signer_(std::move(signer)), dh_key_(IdentityDhKey(signer_)) {}

core::Bytes SpkSignatureMessage(uint32_t spk_id, uint64_t created,
                                const core::X25519PublicKey& spk_public) {
  // Built in place (not with core::Writer): GCC 12 issues a false
  // -Wstringop-overflow for a first insert into an empty vector.
  core::Bytes out(kSpkContext.begin(), kSpkContext.end());
  out.reserve(kSpkContext.size() + 4 + 8 + spk_public.size());
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(spk_id >> s));
  uint8_t be[8];
  core::PutU64BE(be, created);
  out.insert(out.end(), be, be + 8);
  out.insert(out.end(), spk_public.begin(), spk_public.end());
  return out;
}

SignedPrekey SignPrekey(const core::Ed25519Signer& identity, uint32_t spk_id, uint64_t created,
                        const core::X25519PublicKey& spk_public) {
  SignedPrekey spk;
  spk.spk_id = spk_id;
  spk.created = created;
  spk.public_key = spk_public;
  spk.signature = identity.Sign(SpkSignatureMessage(spk_id, created, spk_public));
  return spk;
}

core::Status VerifySignedPrekey(const core::Ed25519Verifier& identity, const SignedPrekey& spk) {
  if (!identity.Verify(SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key), spk.signature)) {
    return core::Status::VerificationFailed("x3dh: signed prekey signature does not verify");
  }
  return core::Status();
}

core::Status VerifySignedPrekeyCached(const core::Ed25519PublicKey& identity_key,
                                      const SignedPrekey& spk) {
  if (!core::Ed25519VerifyCached(identity_key,
                                 SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key),
                                 spk.signature)) {
    return core::Status::VerificationFailed("x3dh: signed prekey signature does not verify");
  }
  return core::Status();
}

core::Bytes EncodePrekeyBundle(const PrekeyBundle& bundle) {
  KT_CHECK(!bundle.user.empty() && !bundle.device.empty());
  core::Writer w;
  w.U8(kBundleVersion);
  w.Vec8(core::AsBytes(bundle.user));
  w.Vec8(core::AsBytes(bundle.device));
  w.Raw(bundle.identity_key);
  w.U32(bundle.signed_prekey.spk_id);
  w.U64(bundle.signed_prekey.created);
  w.Raw(bundle.signed_prekey.public_key);
  w.Raw(bundle.signed_prekey.signature);
  w.U8(bundle.one_time_prekey.has_value() ? 1 : 0);
  if (bundle.one_time_prekey) {
    w.U32(bundle.one_time_prekey->opk_id);
    w.Raw(bundle.one_time_prekey->public_key);
  }
  return w.Take();
}

core::StatusOr<PrekeyBundle> DecodePrekeyBundle(core::ByteSpan in) {
  auto bad = [](std::string_view why) {
    return core::Status::InvalidArgument("x3dh bundle: " + std::string(why));
  };
  core::Reader r(in);
  uint8_t version = 0;
  if (!r.U8(&version) || version != kBundleVersion) return bad("unsupported version");
  PrekeyBundle b;
  if (!ReadId(r, &b.user) || !ReadId(r, &b.device)) return bad("bad user or device id");
  SignedPrekey& spk = b.signed_prekey;
  if (!r.Array(&b.identity_key) || !r.U32(&spk.spk_id) || !r.U64(&spk.created) ||
      !r.Array(&spk.public_key) || !r.Array(&spk.signature)) {
    return bad("truncated");
  }
  uint8_t has_opk = 0;
  if (!r.U8(&has_opk) || has_opk > 1) return bad("bad has_opk flag");
  if (has_opk == 1) {
    OneTimePrekey opk;
    if (!r.U32(&opk.opk_id) || !r.Array(&opk.public_key)) return bad("truncated one-time prekey");
    b.one_time_prekey = opk;
  }
  if (!r.empty()) return bad("trailing bytes");
  return b;
}

}  // namespace kt::x3dh
