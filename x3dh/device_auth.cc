// SPDX-License-Identifier: Apache-2.0
// KT-Device request authentication (docs/x3dh.md "Server API"): strict
// header parsing and formatting, the signed message, freshness and the
// bounded replay cache of x3dh/device_auth.h.
#include "x3dh/device_auth.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/encoding.h"

namespace kt::x3dh {
namespace {

constexpr std::string_view kMessageContext = "kt-device-auth-v1\n";
constexpr std::string_view kTsField = "ts=";
constexpr std::string_view kNonceField = ",nonce=";
constexpr std::string_view kSigField = ",sig=";
constexpr size_t kSigBase64Size = 88;  // 64 bytes, padded base64

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsValidNonce(std::string_view s) {
  return s.size() == kDeviceAuthNonceHexSize && IsLowerHex(s);
}

bool IsUpperMethod(std::string_view m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// ConsumePrefix strips `prefix` from `*s`; false if `*s` does not start with it.
bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::string FormatDeviceAuth(const DeviceAuth& auth) {
  KT_CHECK(IsValidNonce(auth.nonce));
  std::string out(kDeviceAuthScheme);
  out += ' ';
  out += kTsField;
  out += std::to_string(auth.ts);
  out += kNonceField;
  out += auth.nonce;
  out += kSigField;
  out += core::Base64Encode(auth.signature);
  return out;
}

core::StatusOr<DeviceAuth> ParseDeviceAuth(std::string_view s) {
  auto bad = [](std::string_view why) {
    return core::Status::InvalidArgument("KT-Device authorization: " + std::string(why));
  };
  if (!ConsumePrefix(&s, kDeviceAuthScheme) || !ConsumePrefix(&s, " ")) {
    return bad("scheme is not \"KT-Device \"");
  }
  if (!ConsumePrefix(&s, kTsField)) return bad("expected ts=");
  size_t end = s.find(',');
  if (end == std::string_view::npos) return bad("missing nonce");
  auto ts = core::ParseDecimal(s.substr(0, end));
  if (!ts.ok()) return bad("ts is not a canonical decimal");
  s.remove_prefix(end);
  DeviceAuth auth;
  auth.ts = *ts;
  if (!ConsumePrefix(&s, kNonceField)) return bad("expected nonce=");
  if (s.size() < kDeviceAuthNonceHexSize || !IsValidNonce(s.substr(0, kDeviceAuthNonceHexSize))) {
    return bad("nonce is not 32 lowercase hex chars");
  }
  auth.nonce = std::string(s.substr(0, kDeviceAuthNonceHexSize));
  s.remove_prefix(kDeviceAuthNonceHexSize);
  if (!ConsumePrefix(&s, kSigField)) return bad("expected sig= right after the nonce");
  if (s.size() != kSigBase64Size) return bad("sig is not a 64-byte base64 signature");
  auto sig = core::Base64Decode(s);
  if (!sig.ok() || sig->size() != auth.signature.size()) return bad("sig is not canonical base64");
  std::copy(sig->begin(), sig->end(), auth.signature.begin());
  return auth;
}

core::Bytes DeviceAuthMessage(std::string_view method, std::string_view path, uint64_t ts,
                              std::string_view nonce, core::ByteSpan body) {
  KT_CHECK(IsUpperMethod(method));
  KT_CHECK(!path.empty());
  KT_CHECK(IsValidNonce(nonce));
  core::Writer w;
  w.Raw(kMessageContext);
  w.Raw(method);
  w.Raw("\n");
  w.Raw(path);
  w.Raw("\n");
  w.Raw(std::to_string(ts));
  w.Raw("\n");
  w.Raw(nonce);
  w.Raw("\n");
  w.Raw(core::HexEncode(core::Sha256(body)));
  w.Raw("\n");
  return w.Take();
}

std::string NewDeviceAuthNonce() {
  std::array<uint8_t, kDeviceAuthNonceHexSize / 2> raw{};
  core::RandomBytes(raw);
  return core::HexEncode(raw);
}

DeviceAuth SignDeviceRequest(const core::Ed25519Signer& identity, std::string_view method,
                             std::string_view path, core::ByteSpan body, uint64_t now,
                             std::string nonce) {
  DeviceAuth auth;
  auth.ts = now;
  auth.nonce = nonce.empty() ? NewDeviceAuthNonce() : std::move(nonce);
  auth.signature = identity.Sign(DeviceAuthMessage(method, path, auth.ts, auth.nonce, body));
  return auth;
}

std::string DeviceAuthHeader(const core::Ed25519Signer& identity, std::string_view method,
                             std::string_view path, core::ByteSpan body, uint64_t now) {
  return FormatDeviceAuth(SignDeviceRequest(identity, method, path, body, now));
}

bool DeviceAuthFresh(uint64_t ts, uint64_t now, uint64_t window) {
  return ts <= now ? now - ts <= window : ts - now <= window;
}

bool VerifyDeviceAuthSignature(const core::Ed25519Verifier& key, const DeviceAuth& auth,
                               std::string_view method, std::string_view path,
                               core::ByteSpan body) {
  if (!IsValidNonce(auth.nonce) || !IsUpperMethod(method) || path.empty()) return false;
  return key.Verify(DeviceAuthMessage(method, path, auth.ts, auth.nonce, body), auth.signature);
}

bool VerifyDeviceAuthSignature(const core::Ed25519PublicKey& key, const DeviceAuth& auth,
                               std::string_view method, std::string_view path,
                               core::ByteSpan body) {
  auto verifier = core::Ed25519Verifier::Create(key);
  return verifier.ok() && VerifyDeviceAuthSignature(*verifier, auth, method, path, body);
}

// --- ReplayCache ---

size_t ReplayCache::HashHasher::operator()(const core::Hash& h) const {
  size_t v;
  std::memcpy(&v, h.data(), sizeof(v));  // SHA-256 output: any 8 bytes are uniform
  return v;
}

ReplayCache::ReplayCache(size_t capacity, uint64_t window)
    : capacity_(capacity), window_(window) {
  KT_CHECK(capacity > 0);
}

void ReplayCache::ExpireLocked(uint64_t now) {
  auto it = by_expiry_.begin();
  while (it != by_expiry_.end() && it->first < now) {
    seen_.erase(it->second);
    it = by_expiry_.erase(it);
  }
}

core::Status ReplayCache::CheckAndRemember(std::string_view user, std::string_view device,
                                           std::string_view nonce, uint64_t now) {
  core::Writer w;  // length-prefixed, so (user, device) splits cannot collide
  w.U32(static_cast<uint32_t>(user.size()));
  w.Raw(user);
  w.U32(static_cast<uint32_t>(device.size()));
  w.Raw(device);
  w.Raw(nonce);
  core::Hash key = core::Sha256(w.bytes());
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(now);
  if (seen_.contains(key)) return core::Status::Unauthenticated("replayed nonce");
  if (seen_.size() >= capacity_) {
    return core::Status::Unavailable("device auth replay cache is full; retry later");
  }
  seen_.insert(key);
  // Remembered for 2 × window: a ts accepted now is at most now + window, so
  // it stays fresh until at most now + 2 × window.
  by_expiry_.emplace(now + 2 * window_, key);
  return core::Status();
}

size_t ReplayCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size();
}

}  // namespace kt::x3dh
