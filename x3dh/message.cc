// SPDX-License-Identifier: Apache-2.0
// Wire encoding of X3DH initial messages (x3dh/x3dh.h "Header wire format")
// and the X3dhError names. Decoding is strict: every accepted input is the
// unique encoding of its value.
#include <algorithm>
#include <array>
#include <string>

#include "core/encoding.h"
#include "core/utf8.h"
#include "x3dh/x3dh.h"

namespace kt::x3dh {
namespace {

constexpr uint8_t kHeaderVersion = 1;

constexpr std::array<std::string_view, kX3dhErrorCount> kErrorNames = {
    "signature_invalid", "spk_unknown",  "opk_unknown",  "opk_reused",
    "duplicate",         "aead_failed",  "not_logged",   "proof_invalid",
    "quorum_not_met",    "key_changed",  "spk_expired",
};

void WriteId(core::Writer& w, const std::string& id) {
  KT_CHECK(!id.empty() && id.size() <= 255);
  w.Vec8(core::AsBytes(id));
}

bool ReadId(core::Reader& r, std::string* out) {
  core::ByteSpan b;
  if (!r.Vec8(&b) || b.empty() || !core::IsValidUtf8(b)) return false;
  *out = core::ToString(b);
  return true;
}

void WriteHeader(core::Writer& w, const Header& h) {
  w.U8(kHeaderVersion);
  WriteId(w, h.sender_user);
  WriteId(w, h.sender_device);
  WriteId(w, h.recipient_user);
  WriteId(w, h.recipient_device);
  w.Raw(h.sender_identity_key);
  w.Raw(h.ephemeral_key);
  w.U32(h.spk_id);
  w.U8(h.opk_id.has_value() ? 1 : 0);
  if (h.opk_id) w.U32(*h.opk_id);
}

core::Status ReadHeader(core::Reader& r, Header* h) {
  auto bad = [](std::string_view why) {
    return core::Status::InvalidArgument("x3dh header: " + std::string(why));
  };
  uint8_t version = 0;
  if (!r.U8(&version) || version != kHeaderVersion) return bad("unsupported version");
  if (!ReadId(r, &h->sender_user) || !ReadId(r, &h->sender_device) ||
      !ReadId(r, &h->recipient_user) || !ReadId(r, &h->recipient_device)) {
    return bad("bad user or device id");
  }
  if (!r.Array(&h->sender_identity_key) || !r.Array(&h->ephemeral_key) ||
      !r.U32(&h->spk_id)) {
    return bad("truncated");
  }
  uint8_t has_opk = 0;
  if (!r.U8(&has_opk) || has_opk > 1) return bad("bad has_opk flag");
  if (has_opk == 1) {
    uint32_t id = 0;
    if (!r.U32(&id)) return bad("truncated opk_id");
    h->opk_id = id;
  }
  return core::Status();
}

}  // namespace

std::string_view X3dhErrorName(X3dhError e) {
  const auto i = static_cast<size_t>(e);
  KT_CHECK(i < kErrorNames.size());
  return kErrorNames[i];
}

core::Status X3dhFailure(X3dhError e, std::string_view detail) {
  std::string msg = "x3dh/" + std::string(X3dhErrorName(e)) + ": " + std::string(detail);
  switch (e) {
    case X3dhError::kSpkUnknown:
    case X3dhError::kOpkUnknown:
    case X3dhError::kNotLogged:
      return core::Status::NotFound(std::move(msg));
    case X3dhError::kOpkReused:
    case X3dhError::kDuplicate:
      return core::Status::Conflict(std::move(msg));
    default:
      return core::Status::VerificationFailed(std::move(msg));
  }
}

std::optional<X3dhError> X3dhErrorOf(const core::Status& s) {
  if (s.ok()) return std::nullopt;
  const std::string& m = s.message();
  for (size_t pos = m.find("x3dh/"); pos != std::string::npos; pos = m.find("x3dh/", pos + 1)) {
    for (size_t i = 0; i < kErrorNames.size(); i++) {
      const std::string token = std::string(kErrorNames[i]) + ":";
      if (m.compare(pos + 5, token.size(), token) == 0) return static_cast<X3dhError>(i);
    }
  }
  return std::nullopt;
}

core::Bytes EncodeHeader(const Header& header) {
  core::Writer w;
  WriteHeader(w, header);
  return w.Take();
}

core::StatusOr<Header> DecodeHeader(core::ByteSpan in) {
  core::Reader r(in);
  Header h;
  KT_RETURN_IF_ERROR(ReadHeader(r, &h));
  if (!r.empty()) return core::Status::InvalidArgument("x3dh header: trailing bytes");
  return h;
}

core::Bytes EncodeInitialMessage(const InitialMessage& message) {
  KT_CHECK(message.ciphertext.size() >= core::kAes256GcmTagSize &&
           message.ciphertext.size() <= kMaxCiphertextSize);
  core::Writer w;
  WriteHeader(w, message.header);
  w.U32(static_cast<uint32_t>(message.ciphertext.size()));
  w.Raw(message.ciphertext);
  return w.Take();
}

core::StatusOr<InitialMessage> DecodeInitialMessage(core::ByteSpan in) {
  core::Reader r(in);
  InitialMessage m;
  KT_RETURN_IF_ERROR(ReadHeader(r, &m.header));
  uint32_t len = 0;
  core::ByteSpan ct;
  if (!r.U32(&len) || len < core::kAes256GcmTagSize || len > kMaxCiphertextSize) {
    return core::Status::InvalidArgument("x3dh message: bad ciphertext length");
  }
  if (!r.Raw(len, &ct)) return core::Status::InvalidArgument("x3dh message: truncated ciphertext");
  if (!r.empty()) return core::Status::InvalidArgument("x3dh message: trailing bytes");
  m.ciphertext.assign(ct.begin(), ct.end());
  return m;
}

core::Hash MessageId(const InitialMessage& message) {
  return core::Sha256(EncodeInitialMessage(message));
}

}  // namespace kt::x3dh
