// SPDX-License-Identifier: Apache-2.0
// Device request authentication for the prekey directory and mailbox
// (docs/x3dh.md "Server API", "Device authentication"): the
// `Authorization: KT-Device ts=..,nonce=..,sig=..` header, the message a
// device signs, freshness, and the server's bounded replay cache. Pure code
// (no I/O); shared by ktlog and the kt client.
#ifndef KT_X3DH_DEVICE_AUTH_H_
#define KT_X3DH_DEVICE_AUTH_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"

namespace kt::x3dh {

// kDeviceAuthScheme is the Authorization scheme name (matched exactly).
inline constexpr std::string_view kDeviceAuthScheme = "KT-Device";
// kDeviceAuthWindowSeconds: a request's ts must lie within now ± window.
inline constexpr uint64_t kDeviceAuthWindowSeconds = 300;
// kDeviceAuthNonceHexSize: a nonce is 16 random bytes as 32 lowercase hex.
inline constexpr size_t kDeviceAuthNonceHexSize = 32;

// DeviceAuth is a parsed KT-Device credential.
struct DeviceAuth {
  uint64_t ts = 0;               // unix seconds
  std::string nonce;             // 32 lowercase hex chars
  core::Ed25519Signature signature{};

  bool operator==(const DeviceAuth&) const = default;
};

// FormatDeviceAuth returns the Authorization header value
// "KT-Device ts=<decimal>,nonce=<hex>,sig=<b64>". `auth.nonce` must be 32
// lowercase hex chars (KT_CHECK).
std::string FormatDeviceAuth(const DeviceAuth& auth);

// ParseDeviceAuth accepts exactly FormatDeviceAuth's outputs: the scheme
// "KT-Device", one space, then ts (canonical decimal), nonce (32 lowercase
// hex) and sig (canonical padded base64 of 64 bytes) in this order,
// comma-separated, no whitespace. So parse -> format is the identity.
// InvalidArgument otherwise.
core::StatusOr<DeviceAuth> ParseDeviceAuth(std::string_view header_value);

// DeviceAuthMessage returns the signed bytes
//   "kt-device-auth-v1\n" || METHOD || "\n" || PATH || "\n" || ts || "\n" ||
//   nonce || "\n" || hex(SHA-256(body)) || "\n"
// `method` is the upper-case HTTP method ([A-Z]+, KT_CHECK), `path` the
// percent-decoded request path without query string (non-empty, KT_CHECK),
// `body` the request body (empty for GET and DELETE). The fields are
// unambiguous: METHOD has no newline and everything after PATH has a fixed
// shape, so a PATH containing "\n" cannot collide with another request.
core::Bytes DeviceAuthMessage(std::string_view method, std::string_view path, uint64_t ts,
                              std::string_view nonce, core::ByteSpan body);

// NewDeviceAuthNonce returns 16 bytes from the CSPRNG as 32 lowercase hex.
std::string NewDeviceAuthNonce();

// SignDeviceRequest signs a request with the device identity key at time
// `now` with `nonce` (a fresh NewDeviceAuthNonce when empty). Thread-safe.
DeviceAuth SignDeviceRequest(const core::Ed25519Signer& identity, std::string_view method,
                             std::string_view path, core::ByteSpan body, uint64_t now,
                             std::string nonce = {});

// DeviceAuthHeader is FormatDeviceAuth(SignDeviceRequest(...)) with a fresh
// nonce: the full Authorization header value for one request.
std::string DeviceAuthHeader(const core::Ed25519Signer& identity, std::string_view method,
                             std::string_view path, core::ByteSpan body, uint64_t now);

// DeviceAuthFresh reports whether now - window <= ts <= now + window
// (without overflow).
bool DeviceAuthFresh(uint64_t ts, uint64_t now, uint64_t window = kDeviceAuthWindowSeconds);

// VerifyDeviceAuthSignature reports whether `auth.signature` is `key`'s
// Ed25519 signature over DeviceAuthMessage(method, path, auth.ts,
// auth.nonce, body). Thread-safe.
bool VerifyDeviceAuthSignature(const core::Ed25519Verifier& key, const DeviceAuth& auth,
                               std::string_view method, std::string_view path,
                               core::ByteSpan body);
// This form takes the raw 32-byte key (false if it is not a valid key).
bool VerifyDeviceAuthSignature(const core::Ed25519PublicKey& key, const DeviceAuth& auth,
                               std::string_view method, std::string_view path,
                               core::ByteSpan body);

// ReplayCache remembers (user, device, nonce) triples for 2 × window after
// first use, in at most `capacity` entries. Thread-safe.
//
// Memory is bounded without ever forgetting a live nonce: expired entries
// are dropped first, and when all `capacity` entries are still live, Check
// refuses (Unavailable → 503) instead of evicting one that could then be
// replayed.
class ReplayCache {
 public:
  explicit ReplayCache(size_t capacity = size_t{1} << 18,
                       uint64_t window = kDeviceAuthWindowSeconds);
  ReplayCache(const ReplayCache&) = delete;
  ReplayCache& operator=(const ReplayCache&) = delete;

  // CheckAndRemember records the triple at time `now` and returns OK if it
  // was not seen within 2 × window; Unauthenticated("replayed nonce") if it
  // was; Unavailable if the cache is full of live entries (nothing recorded).
  core::Status CheckAndRemember(std::string_view user, std::string_view device,
                                std::string_view nonce, uint64_t now);

  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  struct HashHasher {
    size_t operator()(const core::Hash& h) const;
  };
  void ExpireLocked(uint64_t now);

  const size_t capacity_;
  const uint64_t window_;
  mutable std::mutex mu_;
  // Keys are SHA-256(user, device, nonce) with length prefixes: a fixed 32
  // bytes per entry whatever the id lengths.
  std::unordered_set<core::Hash, HashHasher> seen_;
  std::multimap<uint64_t, core::Hash> by_expiry_;
};

}  // namespace kt::x3dh

#endif  // KT_X3DH_DEVICE_AUTH_H_
