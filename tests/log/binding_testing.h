// SPDX-License-Identifier: Apache-2.0
// Test helpers: client-side construction of POST /v1/bindings requests
// (DESIGN.md "Log HTTP API") with real PoP and endorsement signatures.
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

}  // namespace kt::testing

#endif  // KT_TESTS_LOG_BINDING_TESTING_H_
