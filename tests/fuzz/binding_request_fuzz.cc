// SPDX-License-Identifier: Apache-2.0
// Fuzz target for log/binding_rules ParseBindingRequest (POST /v1/bindings
// bodies). Properties: whatever is accepted is a valid entry candidate
// (core::ValidateEntry, ids valid UTF-8 of 1..255 bytes, endorsements only
// with prev, no endorsing device twice); re-serialising the accepted request
// in the documented JSON shape and parsing again gives an equal request; and
// the pre-sequencing checks never crash on it.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/encoding.h"
#include "core/entry.h"
#include "core/utf8.h"
#include "log/binding_rules.h"

namespace {

using kt::log::BindingRequest;

std::string Serialize(const BindingRequest& r) {
  using nlohmann::json;
  const kt::core::Entry& e = r.entry;
  json j = {{"kind", e.kind == kt::core::EntryKind::kKeySet ? "set" : "revoke"},
            {"user", e.user},
            {"device", e.device}};
  if (r.prev_given) j["prev"] = e.prev;
  if (e.kind == kt::core::EntryKind::kKeySet) {
    j["identity_key"] = kt::core::Base64Encode(e.identity_key);
    j["possession_sig"] = kt::core::Base64Encode(e.possession_sig);
  }
  for (const auto& en : e.endorsements) {
    j["endorsements"].push_back(
        {{"device", en.device}, {"signature", kt::core::Base64Encode(en.signature)}});
  }
  return j.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = kt::log::ParseBindingRequest(body);
  if (!req.ok()) {
    if (req.status().code() != kt::core::Status::Code::kInvalidArgument) std::abort();
    return 0;
  }
  const kt::core::Entry& e = req->entry;
  if (!kt::core::ValidateEntry(e).ok()) std::abort();
  if (!kt::core::IsValidUtf8(e.user) || !kt::core::IsValidUtf8(e.device)) std::abort();
  if (!e.endorsements.empty() && !req->prev_given) std::abort();
  if (e.timestamp_ms != 0 || (!req->prev_given && e.prev != 0)) std::abort();
  std::set<std::string> seen;
  for (const auto& en : e.endorsements) {
    if (!seen.insert(en.device).second) std::abort();
  }
  auto again = kt::log::ParseBindingRequest(Serialize(*req));
  if (!again.ok() || !(again->entry == e) || again->prev_given != req->prev_given) std::abort();
  // The checks against an empty user state must not crash; with no
  // operator token and no bearer they can never authorise anything.
  auto d = kt::log::CheckBinding(*req, kt::log::UserState{}, nullptr, std::nullopt);
  if (d.ok()) std::abort();
  return 0;
}
