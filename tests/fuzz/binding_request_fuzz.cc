// SPDX-License-Identifier: Apache-2.0
// Fuzz target for log/binding_rules ParseBindingRequest (POST /v1/bindings
// bodies). Properties: whatever is accepted is a valid entry candidate
// (core::ValidateEntry, ids valid UTF-8 of 1..255 bytes, endorsements only
// with prev, no endorsing device twice); re-serialising the accepted request
// in the documented JSON shape and parsing again gives an equal request; and
// the pre-sequencing checks never crash on it. Differential: the answer
// (request, or error and its message) equals that of the reference parser
// below, the nlohmann::json-based ParseBindingRequest that log/binding_rules
// used before it moved to net::JsonDocument.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "core/encoding.h"
#include "core/entry.h"
#include "core/utf8.h"
#include "log/binding_rules.h"

namespace reference {

namespace core = kt::core;
using kt::core::EntryKind;
using kt::core::Status;
using kt::core::StatusOr;
using kt::log::BindingRequest;
using kt::log::kMaxBindingRequestSize;
using nlohmann::json;

// 400: a JSON string field holding a user or device id (1..255 bytes UTF-8).
StatusOr<std::string> ParseId(const json& obj, const char* field, const std::string& what) {
  auto it = obj.find(field);
  if (it == obj.end()) return Status::InvalidArgument("missing field \"" + what + "\"");
  if (!it->is_string()) return Status::InvalidArgument("\"" + what + "\" must be a string");
  std::string s = it->get<std::string>();
  if (s.empty() || s.size() > core::kMaxIdLength) {
    return Status::InvalidArgument("\"" + what + "\" must be 1 to 255 bytes");
  }
  // nlohmann already rejects invalid UTF-8 and lone surrogates while
  // parsing; check again so the rule does not depend on the parser.
  if (!core::IsValidUtf8(s)) return Status::InvalidArgument("\"" + what + "\" is not valid UTF-8");
  return s;
}

// 400: an optional base64 field; nullopt when absent. The decoded size must
// be in [min_size, max_size].
StatusOr<std::optional<core::Bytes>> ParseBase64(const json& obj, const char* field,
                                                 const std::string& what, size_t min_size,
                                                 size_t max_size) {
  auto it = obj.find(field);
  if (it == obj.end()) return std::optional<core::Bytes>();
  if (!it->is_string()) return Status::InvalidArgument("\"" + what + "\" must be a base64 string");
  auto bytes = core::Base64Decode(it->get_ref<const std::string&>());
  if (!bytes.ok()) {
    return Status::InvalidArgument("\"" + what + "\" is not standard padded base64");
  }
  if (bytes->size() < min_size || bytes->size() > max_size) {
    return Status::InvalidArgument("\"" + what + "\" has the wrong length");
  }
  return std::optional<core::Bytes>(std::move(bytes).value());
}

Status ParseKind(const json& obj, EntryKind* kind) {
  auto it = obj.find("kind");
  if (it == obj.end()) return Status::InvalidArgument("missing field \"kind\"");
  if (it->is_string() && *it == "set") {
    *kind = EntryKind::kKeySet;
  } else if (it->is_string() && *it == "revoke") {
    *kind = EntryKind::kRevoke;
  } else {
    return Status::InvalidArgument("\"kind\" must be \"set\" or \"revoke\"");
  }
  return Status();
}

Status ParsePrev(const json& obj, BindingRequest* req) {
  auto it = obj.find("prev");
  if (it == obj.end() || it->is_null()) return Status();
  if (!it->is_number_unsigned()) {
    return Status::InvalidArgument("\"prev\" must be a non-negative integer");
  }
  req->entry.prev = it->get<uint64_t>();
  req->prev_given = true;
  return Status();
}

// Kind set: a 32-byte key and a 64-byte PoP are required. Revoke: both may
// be omitted, or be 32 zero bytes and an empty string (DESIGN.md).
Status ParseKeyFields(const json& obj, core::Entry* e) {
  const bool set = e->kind == EntryKind::kKeySet;
  KT_ASSIGN_OR_RETURN(auto key, ParseBase64(obj, "identity_key", "identity_key", 32, 32));
  KT_ASSIGN_OR_RETURN(auto pop, ParseBase64(obj, "possession_sig", "possession_sig",
                                            set ? 64 : 0, set ? 64 : 0));
  if (set) {
    if (!key) return Status::InvalidArgument("missing field \"identity_key\"");
    if (!pop) return Status::InvalidArgument("missing field \"possession_sig\"");
    std::copy(key->begin(), key->end(), e->identity_key.begin());
    e->possession_sig = std::move(*pop);
    return Status();
  }
  if (key && std::any_of(key->begin(), key->end(), [](uint8_t b) { return b != 0; })) {
    return Status::InvalidArgument("a revoke's \"identity_key\" must be 32 zero bytes");
  }
  return Status();
}

Status ParseEndorsements(const json& obj, core::Entry* e) {
  auto it = obj.find("endorsements");
  if (it == obj.end() || it->is_null()) return Status();
  if (!it->is_array()) return Status::InvalidArgument("\"endorsements\" must be an array");
  // Bound the work before the entry-size check: an endorsement takes at
  // least 66 bytes of the entry's 65535.
  if (it->size() > core::kMaxEntrySize / 66) {
    return Status::InvalidArgument("too many endorsements: the entry would exceed 65535 bytes");
  }
  std::set<std::string> seen;
  for (const json& item : *it) {
    if (!item.is_object()) return Status::InvalidArgument("an endorsement must be an object");
    core::Endorsement en;
    KT_ASSIGN_OR_RETURN(en.device, ParseId(item, "device", "endorsements[].device"));
    KT_ASSIGN_OR_RETURN(auto sig, ParseBase64(item, "signature", "endorsements[].signature", 64, 64));
    if (!sig) return Status::InvalidArgument("missing field \"endorsements[].signature\"");
    std::copy(sig->begin(), sig->end(), en.signature.begin());
    if (!seen.insert(en.device).second) {
      return Status::InvalidArgument("the same device endorses twice");
    }
    e->endorsements.push_back(std::move(en));
  }
  return Status();
}

StatusOr<BindingRequest> ParseBindingRequest(std::string_view body) {
  if (body.size() > kMaxBindingRequestSize) {
    return Status::InvalidArgument("request body too large");
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::InvalidArgument("malformed JSON (or invalid UTF-8 / lone surrogate)");
  }
  if (!j.is_object()) return Status::InvalidArgument("request must be a JSON object");
  BindingRequest req;
  core::Entry& e = req.entry;
  KT_RETURN_IF_ERROR(ParseKind(j, &e.kind));
  KT_ASSIGN_OR_RETURN(e.user, ParseId(j, "user", "user"));
  KT_ASSIGN_OR_RETURN(e.device, ParseId(j, "device", "device"));
  KT_RETURN_IF_ERROR(ParsePrev(j, &req));
  KT_RETURN_IF_ERROR(ParseKeyFields(j, &e));
  KT_RETURN_IF_ERROR(ParseEndorsements(j, &e));
  if (!e.endorsements.empty() && !req.prev_given) {
    return Status::InvalidArgument("endorsements require \"prev\" (they are bound to it)");
  }
  // Size bounds of the whole entry (at most 65535 bytes) and every other
  // format rule; timestamp and prev are fixed-size, so the log's values
  // cannot change the outcome.
  Status valid = core::ValidateEntry(e);
  if (!valid.ok()) return Status::InvalidArgument(valid.message());
  return req;
}


}  // namespace reference

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
  auto ref = reference::ParseBindingRequest(body);
  if (req.ok() != ref.ok()) std::abort();
  if (!req.ok() && req.status().message() != ref.status().message()) std::abort();
  if (req.ok() && (!(req->entry == ref->entry) || req->prev_given != ref->prev_given)) {
    std::abort();
  }
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
