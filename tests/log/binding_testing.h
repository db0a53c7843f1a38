// SPDX-License-Identifier: Apache-2.0
// Test helpers: client-side construction of POST /v1/bindings requests
// (DESIGN.md "Log HTTP API") with real PoP and endorsement signatures, and
// well-formed X3DH initial messages for the mailbox routes.
#ifndef KT_TESTS_LOG_BINDING_TESTING_H_
#define KT_TESTS_LOG_BINDING_TESTING_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "x3dh/x3dh.h"

namespace kt::testing {

// TestDevice is a device id with its identity key.
struct TestDevice {
  std::string name;
  core::Ed25519Signer key = core::Ed25519Signer::Generate();
};

inline std::string B64(core::ByteSpan b) { return core::Base64Encode(b); }

// SetRequest is a kind-1 request binding `dev` for `user`, endorsed by
// `endorsers` (their current keys) over `prev`.
inline nlohmann::json SetRequest(const std::string& user, const TestDevice& dev,
                                 std::optional<uint64_t> prev = std::nullopt,
                                 const std::vector<const TestDevice*>& endorsers = {}) {
  const auto& ik = dev.key.public_key();
  nlohmann::json j = {{"kind", "set"},
                      {"user", user},
                      {"device", dev.name},
                      {"identity_key", B64(ik)},
                      {"possession_sig", B64(dev.key.Sign(core::PopMessage(user, dev.name, ik)))}};
  if (prev) j["prev"] = *prev;
  for (const TestDevice* e : endorsers) {
    auto sig = e->key.Sign(
        core::EndorseMessage(user, dev.name, core::EntryKind::kKeySet, ik, prev.value_or(0)));
    j["endorsements"].push_back({{"device", e->name}, {"signature", B64(sig)}});
  }
  return j;
}

// RevokeRequest is a kind-2 request for `device`, endorsed over `prev`.
inline nlohmann::json RevokeRequest(const std::string& user, const std::string& device,
                                    std::optional<uint64_t> prev = std::nullopt,
                                    const std::vector<const TestDevice*>& endorsers = {}) {
  nlohmann::json j = {{"kind", "revoke"}, {"user", user}, {"device", device}};
  if (prev) j["prev"] = *prev;
  std::array<uint8_t, 32> zero{};
  for (const TestDevice* e : endorsers) {
    auto sig = e->key.Sign(
        core::EndorseMessage(user, device, core::EntryKind::kRevoke, zero, prev.value_or(0)));
    j["endorsements"].push_back({{"device", e->name}, {"signature", B64(sig)}});
  }
  return j;
}

// SyntheticInitialMessage is an encoded initial message from alice/laptop to
// user/device that the mailbox accepts (it is never decrypted); distinct `n`
// give distinct messages (ephemeral key filled with n, opk_id n).
inline std::string SyntheticInitialMessage(const std::string& user, const std::string& device,
                                           uint32_t n) {
  x3dh::InitialMessage m;
  m.header.sender_user = "alice";
  m.header.sender_device = "laptop";
  m.header.recipient_user = user;
  m.header.recipient_device = device;
  m.header.spk_id = 1;
  m.header.ephemeral_key.fill(static_cast<uint8_t>(n));
  m.header.opk_id = n;
  m.ciphertext.assign(16, 0xAB);
  return core::ToString(x3dh::EncodeInitialMessage(m));
}

}  // namespace kt::testing

#endif  // KT_TESTS_LOG_BINDING_TESTING_H_
