// SPDX-License-Identifier: Apache-2.0
// The pure X3DH key agreement (DESIGN.md "X3DH"; Signal's X3DH §3.3 with our
// KDF info); see x3dh/secret.h.
#include "x3dh/secret.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "core/encoding.h"

namespace kt::x3dh::internal {
namespace {

constexpr std::string_view kKdfInfoPrefix = "kt-x3dh-v1";
constexpr std::string_view kAeadInfo = "kt-x3dh-aead-v1";
constexpr size_t kDhSize = 32;

// DhConcat appends each DH output to a buffer that is wiped on every path.
class DhConcat {
 public:
  DhConcat() = default;
  DhConcat(const DhConcat&) = delete;
  DhConcat& operator=(const DhConcat&) = delete;
  ~DhConcat() { core::Cleanse(buf_); }

  core::Status Add(const core::X25519PrivateKey& priv, const core::X25519PublicKey& pub) {
    KT_CHECK(n_ + kDhSize <= buf_.size());
    auto dh = priv.Agree(pub);
    if (!dh.ok()) return dh.status().Annotate("x3dh: DH" + std::to_string(n_ / kDhSize + 1));
    std::copy(dh->begin(), dh->end(), buf_.begin() + static_cast<std::ptrdiff_t>(n_));
    core::Cleanse(*dh);
    n_ += kDhSize;
    return core::Status();
  }
  core::SecretBytes Take() const { return core::SecretBytes(core::ByteSpan(buf_.data(), n_)); }

 private:
  std::array<uint8_t, 4 * kDhSize> buf_{};
  size_t n_ = 0;
};

}  // namespace

core::Bytes KdfInfo(const SessionContext& ctx) {
  // Built in place (not with core::Writer): GCC 12 issues a false
  // -Wstringop-overflow for a first insert into an empty vector.
  core::Bytes out(kKdfInfoPrefix.begin(), kKdfInfoPrefix.end());
  out.reserve(kKdfInfoPrefix.size() + 32 + 32 + 4 + 1 + 4);
  out.insert(out.end(), ctx.ik_a.begin(), ctx.ik_a.end());
  out.insert(out.end(), ctx.ik_b.begin(), ctx.ik_b.end());
  auto put_u32 = [&out](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  };
  put_u32(ctx.spk_id);
  out.push_back(ctx.opk_id.has_value() ? 1 : 0);
  put_u32(ctx.opk_id.value_or(0));
  return out;
}

core::StatusOr<core::SecretBytes> InitiatorDh(const core::X25519PrivateKey& ik_a,
                                              const core::X25519PrivateKey& ek_a,
                                              const core::X25519PublicKey& ik_b,
                                              const core::X25519PublicKey& spk_b,
                                              const std::optional<core::X25519PublicKey>& opk_b) {
  DhConcat dh;
  KT_RETURN_IF_ERROR(dh.Add(ik_a, spk_b));  // DH1 = DH(IK_A, SPK_B)
  KT_RETURN_IF_ERROR(dh.Add(ek_a, ik_b));   // DH2 = DH(EK_A, IK_B)
  KT_RETURN_IF_ERROR(dh.Add(ek_a, spk_b));  // DH3 = DH(EK_A, SPK_B)
  if (opk_b) KT_RETURN_IF_ERROR(dh.Add(ek_a, *opk_b));  // DH4 = DH(EK_A, OPK_B)
  return dh.Take();
}

core::StatusOr<core::SecretBytes> ResponderDh(const core::X25519PrivateKey& ik_b,
                                              const core::X25519PrivateKey& spk_b,
                                              const core::X25519PrivateKey* opk_b,
                                              const core::X25519PublicKey& ik_a,
                                              const core::X25519PublicKey& ek_a) {
  DhConcat dh;
  KT_RETURN_IF_ERROR(dh.Add(spk_b, ik_a));  // DH1
  KT_RETURN_IF_ERROR(dh.Add(ik_b, ek_a));   // DH2
  KT_RETURN_IF_ERROR(dh.Add(spk_b, ek_a));  // DH3
  if (opk_b != nullptr) KT_RETURN_IF_ERROR(dh.Add(*opk_b, ek_a));  // DH4
  return dh.Take();
}

core::SecretBytes DeriveSk(core::ByteSpan dh_concat, core::ByteSpan kdf_info) {
  // IKM = 32 x 0xFF || DH1 || ... (the Signal X3DH "F" prefix for X25519).
  std::array<uint8_t, kDhSize + 4 * kDhSize> ikm;
  KT_CHECK(dh_concat.size() <= 4 * kDhSize);
  std::fill(ikm.begin(), ikm.begin() + kDhSize, 0xFF);
  std::copy(dh_concat.begin(), dh_concat.end(), ikm.begin() + kDhSize);
  const std::array<uint8_t, 32> salt{};
  core::SecretBytes sk =
      core::HkdfSha256(salt, core::ByteSpan(ikm.data(), kDhSize + dh_concat.size()), kdf_info, 32);
  core::Cleanse(ikm);
  return sk;
}

core::StatusOr<core::SecretBytes> DeriveInitiatorSecret(
    const core::X25519PrivateKey& ik_a, const core::X25519PrivateKey& ek_a,
    const core::X25519PublicKey& ik_b, const core::X25519PublicKey& spk_b,
    const std::optional<core::X25519PublicKey>& opk_b, const SessionContext& ctx) {
  KT_CHECK(opk_b.has_value() == ctx.opk_id.has_value());
  KT_ASSIGN_OR_RETURN(core::SecretBytes dh, InitiatorDh(ik_a, ek_a, ik_b, spk_b, opk_b));
  return DeriveSk(dh.span(), KdfInfo(ctx));
}

core::StatusOr<core::SecretBytes> DeriveResponderSecret(
    const core::X25519PrivateKey& ik_b, const core::X25519PrivateKey& spk_b,
    const core::X25519PrivateKey* opk_b, const core::X25519PublicKey& ik_a,
    const core::X25519PublicKey& ek_a, const SessionContext& ctx) {
  KT_CHECK((opk_b != nullptr) == ctx.opk_id.has_value());
  KT_ASSIGN_OR_RETURN(core::SecretBytes dh, ResponderDh(ik_b, spk_b, opk_b, ik_a, ek_a));
  return DeriveSk(dh.span(), KdfInfo(ctx));
}

AeadKeys DeriveAeadKeys(core::ByteSpan sk) {
  const std::array<uint8_t, 32> salt{};
  core::SecretBytes okm = core::HkdfSha256(salt, sk, core::AsBytes(kAeadInfo), 44);
  AeadKeys keys;
  keys.key = core::SecretBytes(okm.span().first(32));
  std::copy(okm.span().begin() + 32, okm.span().end(), keys.nonce.begin());
  return keys;
}

}  // namespace kt::x3dh::internal
