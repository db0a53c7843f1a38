// SPDX-License-Identifier: Apache-2.0
// DESIGN.md "Binding rules" and POST /v1/bindings request validation. See
// binding_rules.h for the error order; each check below is tagged with the
// HTTP status it produces.
#include "log/binding_rules.h"

#include <algorithm>
#include <set>
#include <utility>

#include "core/encoding.h"
#include "core/utf8.h"
#include "net/json_reader.h"

namespace kt::log {

namespace {

using core::EntryKind;

constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;

// The request is read with net::JsonDocument, which accepts exactly what
// nlohmann::json::parse accepts; a repeated key counts with its last value,
// as in nlohmann's object. Doc is the document and the object being read.
struct Obj {
  const net::JsonDocument& doc;
  size_t index;
  size_t Find(std::string_view field) const { return doc.Member(index, field); }
  const net::JsonToken& at(size_t i) const { return doc.at(i); }
};

// Quoted is `"what"` for error messages.
std::string Quoted(std::string_view what) {
  std::string s = "\"";
  s += what;
  s += '"';
  return s;
}

// 400: a JSON string field holding a user or device id (1..255 bytes UTF-8).
StatusOr<std::string> ParseId(const Obj& obj, std::string_view field, std::string_view what) {
  size_t it = obj.Find(field);
  if (it == net::JsonDocument::kNone) {
    return Status::InvalidArgument("missing field " + Quoted(what));
  }
  if (obj.at(it).type != net::JsonType::kString) {
    return Status::InvalidArgument(Quoted(what) + " must be a string");
  }
  std::string s = obj.doc.String(it);
  if (s.empty() || s.size() > core::kMaxIdLength) {
    return Status::InvalidArgument(Quoted(what) + " must be 1 to 255 bytes");
  }
  // The reader already rejects invalid UTF-8 and lone surrogates; check
  // again so the rule does not depend on the parser.
  if (!core::IsValidUtf8(s)) {
    return Status::InvalidArgument(Quoted(what) + " is not valid UTF-8");
  }
  return s;
}

// 400: an optional base64 field; nullopt when absent. The decoded size must
// be in [min_size, max_size].
StatusOr<std::optional<core::Bytes>> ParseBase64(const Obj& obj, std::string_view field,
                                                 std::string_view what, size_t min_size,
                                                 size_t max_size) {
  size_t it = obj.Find(field);
  if (it == net::JsonDocument::kNone) return std::optional<core::Bytes>();
  const net::JsonToken& t = obj.at(it);
  if (t.type != net::JsonType::kString) {
    return Status::InvalidArgument(Quoted(what) + " must be a base64 string");
  }
  // The string's value (escapes decoded) is what must be base64.
  auto bytes = t.flag ? core::Base64Decode(obj.doc.String(it)) : core::Base64Decode(t.text);
  if (!bytes.ok()) {
    return Status::InvalidArgument(Quoted(what) + " is not standard padded base64");
  }
  if (bytes->size() < min_size || bytes->size() > max_size) {
    return Status::InvalidArgument(Quoted(what) + " has the wrong length");
  }
  return std::optional<core::Bytes>(std::move(bytes).value());
}

Status ParseKind(const Obj& obj, EntryKind* kind) {
  size_t it = obj.Find("kind");
  if (it == net::JsonDocument::kNone) return Status::InvalidArgument("missing field \"kind\"");
  const bool is_string = obj.at(it).type == net::JsonType::kString;
  if (is_string && obj.doc.StringEquals(it, "set")) {
    *kind = EntryKind::kKeySet;
  } else if (is_string && obj.doc.StringEquals(it, "revoke")) {
    *kind = EntryKind::kRevoke;
  } else {
    return Status::InvalidArgument("\"kind\" must be \"set\" or \"revoke\"");
  }
  return Status();
}

Status ParsePrev(const Obj& obj, BindingRequest* req) {
  size_t it = obj.Find("prev");
  if (it == net::JsonDocument::kNone || obj.at(it).type == net::JsonType::kNull) return Status();
  const net::JsonToken& t = obj.at(it);
  if (t.type != net::JsonType::kNumber || !t.flag) {
    return Status::InvalidArgument("\"prev\" must be a non-negative integer");
  }
  req->entry.prev = t.value;
  req->prev_given = true;
  return Status();
}

// Kind set: a 32-byte key and a 64-byte PoP are required. Revoke: both may
// be omitted, or be 32 zero bytes and an empty string (DESIGN.md).
Status ParseKeyFields(const Obj& obj, core::Entry* e) {
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

Status ParseEndorsements(const Obj& obj, core::Entry* e) {
  size_t it = obj.Find("endorsements");
  if (it == net::JsonDocument::kNone || obj.at(it).type == net::JsonType::kNull) return Status();
  if (obj.at(it).type != net::JsonType::kArray) {
    return Status::InvalidArgument("\"endorsements\" must be an array");
  }
  // Bound the work before the entry-size check: an endorsement takes at
  // least 66 bytes of the entry's 65535.
  if (obj.at(it).value > core::kMaxEntrySize / 66) {
    return Status::InvalidArgument("too many endorsements: the entry would exceed 65535 bytes");
  }
  std::set<std::string> seen;
  for (size_t item = obj.doc.FirstElement(it); item != net::JsonDocument::kNone;
       item = obj.doc.NextElement(it, item)) {
    if (obj.at(item).type != net::JsonType::kObject) {
      return Status::InvalidArgument("an endorsement must be an object");
    }
    const Obj en_obj{obj.doc, item};
    core::Endorsement en;
    KT_ASSIGN_OR_RETURN(en.device, ParseId(en_obj, "device", "endorsements[].device"));
    KT_ASSIGN_OR_RETURN(auto sig,
                        ParseBase64(en_obj, "signature", "endorsements[].signature", 64, 64));
    if (!sig) return Status::InvalidArgument("missing field \"endorsements[].signature\"");
    std::copy(sig->begin(), sig->end(), en.signature.begin());
    if (!seen.insert(en.device).second) {
      return Status::InvalidArgument("the same device endorses twice");
    }
    e->endorsements.push_back(std::move(en));
  }
  return Status();
}

}  // namespace

StatusOr<BindingRequest> ParseBindingRequest(std::string_view body) {
  if (body.size() > kMaxBindingRequestSize) {
    return Status::InvalidArgument("request body too large");
  }
  auto doc = net::JsonDocument::Parse(body);
  if (!doc.ok()) {
    return Status::InvalidArgument("malformed JSON (or invalid UTF-8 / lone surrogate)");
  }
  if (doc->at(0).type != net::JsonType::kObject) {
    return Status::InvalidArgument("request must be a JSON object");
  }
  const Obj j{*doc, 0};
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

StatusOr<OperatorToken> OperatorToken::FromFileContents(std::string_view contents) {
  std::string_view t = contents;
  if (t.ends_with("\r\n")) {
    t.remove_suffix(2);
  } else if (t.ends_with("\n")) {
    t.remove_suffix(1);
  }
  if (t.size() < kMinTokenLength || t.size() > kMaxTokenLength) {
    return Status::InvalidArgument("operator token must be 16 to 4096 characters on one line");
  }
  for (char c : t) {
    if (c <= 0x20 || c >= 0x7f) {
      return Status::InvalidArgument("operator token must be visible ASCII characters");
    }
  }
  return OperatorToken(core::Sha256(core::AsBytes(t)));
}

bool OperatorToken::Matches(std::string_view presented) const {
  // Comparing fixed-length digests in constant time hides both the content
  // and the length of the operator's token from a timing observer.
  core::Hash digest = core::Sha256(core::AsBytes(presented));
  return core::ConstantTimeEqual(digest, digest_);
}

StatusOr<std::string> ParseBearerToken(std::string_view header_value) {
  constexpr std::string_view kScheme = "bearer ";
  if (header_value.size() <= kScheme.size()) {
    return Status::Unauthenticated("Authorization must be \"Bearer <token>\"");
  }
  for (size_t i = 0; i < kScheme.size(); i++) {
    char c = header_value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return Status::Unauthenticated("Authorization must be \"Bearer <token>\"");
  }
  std::string_view token = header_value.substr(kScheme.size());
  if (token.find_first_of(" \t") != std::string_view::npos) {
    return Status::Unauthenticated("Authorization must be \"Bearer <token>\"");
  }
  return std::string(token);
}

StatusOr<BindingDecision> CheckBinding(const BindingRequest& request, const UserState& state,
                                       const OperatorToken* operator_token,
                                       const std::optional<std::string>& bearer) {
  const core::Entry& e = request.entry;
  BindingDecision decision;
  // 401: a presented token must be the operator's (none configured: no token
  // is the operator's).
  if (bearer.has_value()) {
    if (operator_token == nullptr || !operator_token->Matches(*bearer)) {
      return Status::Unauthenticated("bearer token is not the operator's");
    }
    decision.by_operator = true;
  }
  // 422: PoP, then every endorsement against the endorser's current key.
  if (e.kind == EntryKind::kKeySet) {
    Status pop = core::VerifyPossession(e);
    if (!pop.ok()) return Status::VerificationFailed("possession_sig: " + pop.message());
  }
  bool endorsed = false;
  for (const core::Endorsement& en : e.endorsements) {
    const DeviceState* dev = state.FindDevice(en.device);
    if (dev == nullptr || dev->revoked) {
      return Status::VerificationFailed("endorsement by \"" + en.device +
                                        "\": not a current device of the user");
    }
    Status sig = core::VerifyEndorsement(e, en, ByteSpan(dev->identity_key));
    if (!sig.ok()) {
      return Status::VerificationFailed("endorsement by \"" + en.device + "\": " + sig.message());
    }
    decision.endorsers.push_back(Endorser{en.device, dev->identity_key});
    // A device may endorse its own rotation with its current key; a revoke
    // needs another device (a stolen device must not be able to keep itself
    // alive, nor is self-revocation an endorsement by "another device").
    if (e.kind == EntryKind::kKeySet || en.device != e.device) endorsed = true;
  }
  // 403: authority. First device and recovery need the operator.
  if (!decision.by_operator && !endorsed) {
    return Status::PermissionDenied(
        e.kind == EntryKind::kKeySet
            ? "a key set needs an endorsement by a current device or the operator token"
            : "a revoke needs an endorsement by another current device or the operator token");
  }
  // 409: the same state rules the sequencer re-checks.
  KT_RETURN_IF_ERROR(CheckAtSequencing(e, state, request.prev_given, {}));
  return decision;
}

Status CheckAtSequencing(const core::Entry& candidate, const UserState& state, bool prev_given,
                         const std::vector<Endorser>& endorsers) {
  if (prev_given && candidate.prev != state.NextPrev()) {
    return Status::Conflict("prev is not the user's latest; re-read the history and retry",
                            state.NextPrev());
  }
  if (candidate.kind == EntryKind::kRevoke) {
    const DeviceState* dev = state.FindDevice(candidate.device);
    if (dev == nullptr) return Status::Conflict("revoke of an unknown device");
    if (dev->revoked) return Status::Conflict("device is already revoked");
  }
  for (const Endorser& en : endorsers) {
    const DeviceState* dev = state.FindDevice(en.device);
    if (dev == nullptr || dev->revoked || dev->identity_key != en.identity_key) {
      return Status::Conflict("endorsing device \"" + en.device + "\" is no longer current");
    }
  }
  return Status();
}

Submission MakeSubmission(const BindingRequest& request, const BindingDecision& decision) {
  Submission s;
  s.entry = request.entry;
  s.prev_given = request.prev_given;
  s.check = [prev_given = request.prev_given, endorsers = decision.endorsers](
                const core::Entry& candidate, const UserState& current) {
    return CheckAtSequencing(candidate, current, prev_given, endorsers);
  };
  return s;
}

}  // namespace kt::log
