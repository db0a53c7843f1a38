// SPDX-License-Identifier: Apache-2.0
// The binding rules of DESIGN.md "Log entry" / "Binding rules" and the
// request side of "Log HTTP API" POST /v1/bindings, as pure functions (no
// I/O): parse the JSON request into a candidate core::Entry, run the
// pre-sequencing checks against the user's current UserState in the fixed
// error order, and build the at-sequencing check the Sequencer runs.
//
// Error order (the first that applies wins), with the Status code used:
//   400 InvalidArgument     malformed request (ParseBindingRequest)
//   401 Unauthenticated     a bearer token that is not the operator's
//   422 VerificationFailed  a PoP or endorsement signature that fails, or an
//                           endorsement by a device that is not current
//   403 PermissionDenied    no valid endorsement and no token where needed
//   409 Conflict            revoke of an unknown / already revoked device, or
//                           a `prev` that is not the user's latest
#ifndef KT_LOG_BINDING_RULES_H_
#define KT_LOG_BINDING_RULES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "core/status.h"
#include "log/sequencer.h"
#include "log/storage.h"

namespace kt::log {

// kMaxBindingRequestSize bounds a POST /v1/bindings body. An entry is at
// most 65535 bytes; its JSON form (base64, escapes) fits well within this.
inline constexpr size_t kMaxBindingRequestSize = size_t{1} << 20;

// BindingRequest is a well-formed POST /v1/bindings request.
struct BindingRequest {
  // entry is the candidate: kind, user, device, identity_key,
  // possession_sig and endorsements as sent; timestamp_ms 0; prev as sent
  // when prev_given, else 0 (the sequencer sets it).
  core::Entry entry;
  bool prev_given = false;
};

// ParseBindingRequest parses a request body `{"kind": "set"|"revoke",
// "user", "device", "prev", "identity_key": b64, "possession_sig": b64,
// "endorsements": [{"device", "signature": b64}]}` strictly. Returns
// InvalidArgument with the reason for: a body over kMaxBindingRequestSize,
// bad JSON (including invalid UTF-8 and lone surrogates), a missing or
// mistyped field, base64 that is not canonical standard padded base64, an
// id outside 1..255 bytes, a key that is not 32 bytes or a PoP that is not
// 64 bytes (kind set), a revoke with a non-zero key or non-empty PoP, an
// endorsement signature that is not 64 bytes, the same endorsing device
// twice, endorsements without `prev`, or an entry over 65535 bytes. Unknown
// fields are ignored. Pure and thread-safe.
StatusOr<BindingRequest> ParseBindingRequest(std::string_view body);

// OperatorToken is the operator's bearer token (the account service's
// credential). Matches compares in constant time with respect to the
// content and length of both tokens. Never logged. Thread-safe.
class OperatorToken {
 public:
  // FromFileContents takes a token file's contents: one token of 16 to 4096
  // visible ASCII characters, optionally followed by "\n" (or "\r\n").
  // InvalidArgument otherwise (the message does not echo the content).
  static StatusOr<OperatorToken> FromFileContents(std::string_view contents);
  bool Matches(std::string_view presented) const;

 private:
  explicit OperatorToken(const core::Hash& digest) : digest_(digest) {}
  core::Hash digest_{};  // SHA-256 of the token: fixed-length comparison
};

// ParseBearerToken extracts the token of an `Authorization` header value
// "Bearer <token>" (scheme case-insensitive, one space, non-empty token).
// Unauthenticated otherwise: a credential we cannot accept is a 401.
StatusOr<std::string> ParseBearerToken(std::string_view header_value);

// Endorser is an endorsing device and the key its endorsement verified with.
struct Endorser {
  std::string device;
  std::array<uint8_t, 32> identity_key{};
  bool operator==(const Endorser&) const = default;
};

// BindingDecision is the outcome of the pre-sequencing checks.
struct BindingDecision {
  bool by_operator = false;        // authorised by the operator token
  std::vector<Endorser> endorsers;  // every endorsement (all verified, current)
};

// CheckBinding runs the pre-sequencing checks on `request` against `state`
// (the user's integrated state), in the order at the top of this file:
// 401 if `bearer` is given and `operator_token` is null or does not match;
// 422 if a kind-set PoP fails, an endorser is not a current device of the
// user, or an endorsement signature fails under that device's current key;
// 403 if neither the operator token nor a valid endorsement authorises the
// entry (a key set needs an endorsement by a current device — the device
// itself may endorse its own rotation; a revoke needs one by another current
// device); 409 for a revoke of an unknown or revoked device or a given
// `prev` other than state.NextPrev(). Pure and thread-safe.
StatusOr<BindingDecision> CheckBinding(const BindingRequest& request, const UserState& state,
                                       const OperatorToken* operator_token,
                                       const std::optional<std::string>& bearer);

// CheckAtSequencing is the rule the Sequencer re-runs with the final
// candidate (prev filled) and the user's state at sequencing time: Conflict
// (409) when a given prev is no longer state.NextPrev(), for a revoke of an
// unknown or already revoked device, or when an endorser is no longer a
// current device with the key it endorsed with. OK otherwise. Pure.
Status CheckAtSequencing(const core::Entry& candidate, const UserState& state, bool prev_given,
                         const std::vector<Endorser>& endorsers);

// MakeSubmission builds the Sequencer submission for an accepted request:
// its check is CheckAtSequencing with the decision's endorsers.
Submission MakeSubmission(const BindingRequest& request, const BindingDecision& decision);

}  // namespace kt::log

#endif  // KT_LOG_BINDING_RULES_H_
