// SPDX-License-Identifier: Apache-2.0
// X3DH prekeys: SPK signature message (DESIGN.md "X3DH"), signing,
// verification, and the canonical prekey bundle encoding of x3dh/keys.h.
#include "x3dh/keys.h"

#include <algorithm>
#include <mutex>
#include <string_view>
#include <unordered_set>

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

namespace {

// SpkCache is the set of SHA-256(identity_key || message || signature) of
// SPK signatures that verified. Its keys are collision-resistant digests of
// every input of the verification, so a hit is a triple verified before.
class SpkCache {
 public:
  static constexpr size_t kMaxEntries = 4096;

  bool Contains(const core::Hash& h) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool hit = set_.count(h) != 0;
    (hit ? stats_.hits : stats_.misses)++;
    return hit;
  }
  void Insert(const core::Hash& h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (set_.size() >= kMaxEntries) set_.clear();
    set_.insert(h);
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    set_.clear();
  }
  SignedPrekeyCacheStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  struct HashOf {
    size_t operator()(const core::Hash& h) const {
      size_t v;
      std::copy_n(h.data(), sizeof(v), reinterpret_cast<uint8_t*>(&v));
      return v;
    }
  };
  std::mutex mu_;
  std::unordered_set<core::Hash, HashOf> set_;
  SignedPrekeyCacheStats stats_;
};

SpkCache& TheSpkCache() {
  static SpkCache* cache = new SpkCache();  // never destroyed: used until exit
  return *cache;
}

}  // namespace

core::Status VerifySignedPrekeyCached(const core::Ed25519PublicKey& identity_key,
                                      const SignedPrekey& spk) {
  const core::Bytes message = SpkSignatureMessage(spk.spk_id, spk.created, spk.public_key);
  // Fixed sizes (32, 59, 64 bytes): the concatenation is unambiguous.
  const core::Hash key = core::Sha256({identity_key, message, spk.signature});
  if (TheSpkCache().Contains(key)) return core::Status();
  auto verifier = core::Ed25519Verifier::Create(identity_key);
  if (!verifier.ok()) {
    return core::Status::VerificationFailed("x3dh: identity key is not an Ed25519 key: " +
                                            verifier.status().message());
  }
  if (!verifier->Verify(message, spk.signature)) {
    return core::Status::VerificationFailed("x3dh: signed prekey signature does not verify");
  }
  TheSpkCache().Insert(key);
  return core::Status();
}

SignedPrekeyCacheStats GetSignedPrekeyCacheStats() { return TheSpkCache().Stats(); }

void ClearSignedPrekeyCache() { TheSpkCache().Clear(); }

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
