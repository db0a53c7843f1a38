// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-policy (c2sp.org/tlog-policy): the trust policy file naming the
// accepted logs, the known witnesses, witness groups and the quorum a
// checkpoint's cosignatures must satisfy.
//
//   log <vkey> [<url>]
//   witness <name> <vkey> [<url>]
//   group <name> <k|any|all> <member>...
//   quorum <name|none>
//
// Log keys are Ed25519 note keys (type 0x01); witness keys cosignature/v1
// (type 0x04). Names are opaque octet strings; `none` is predefined.
#ifndef KT_CORE_POLICY_H_
#define KT_CORE_POLICY_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/keys.h"
#include "core/status.h"

namespace kt::core {

// Implementation limits (tlog-policy §Implementation limits recommends at
// least 32 of each).
inline constexpr size_t kMaxPolicyLogs = 256;
inline constexpr size_t kMaxPolicyWitnesses = 256;
inline constexpr size_t kMaxPolicyGroups = 256;
inline constexpr size_t kMaxPolicySize = size_t{1} << 20;
// kQuorumNone is the predefined name for "no cosignature required".
inline constexpr std::string_view kQuorumNone = "none";

// PolicyLog is one `log` line. `vkey` is the key as written; `key` its parse.
// `url` is empty when the line has none.
struct PolicyLog {
  std::string vkey;
  VerifierKey key;
  std::string url;
};

// PolicyWitness is one `witness` line.
struct PolicyWitness {
  std::string name;
  std::string vkey;
  VerifierKey key;
  std::string url;
};

// PolicyGroup is one `group` line: witnessed iff at least `threshold` of its
// `members` (witness or earlier group names) are witnessed. `form` keeps how
// the threshold was written so that FormatPolicy reproduces it.
struct PolicyGroup {
  enum class Form : uint8_t { kNumber, kAny, kAll };
  std::string name;
  Form form = Form::kNumber;
  uint64_t threshold = 1;  // 1 <= threshold <= members.size()
  std::vector<std::string> members;
  bool operator==(const PolicyGroup&) const = default;
};

// Policy is a parsed policy file. `quorum` is a witness or group name, or
// kQuorumNone. Witnesses and groups are in file order; every group refers
// only to names defined before it, so evaluation in order is well-founded.
struct Policy {
  std::vector<PolicyLog> logs;
  std::vector<PolicyWitness> witnesses;
  std::vector<PolicyGroup> groups;
  std::string quorum;
};

// SamePolicy reports whether two policies have the same logs, witnesses,
// groups and quorum (keys compared by their vkey strings).
bool SamePolicy(const Policy& a, const Policy& b);

// ParsePolicy parses a policy file strictly (tlog-policy §Policy file syntax
// and structure): only octets 0x09, 0x0A, 0x20-0x7E, 0x80-0xFF; lines end in
// '\n' (a last line without one is also accepted); items separated by runs
// of spaces and tabs; blank and `#` comment lines ignored; unknown keywords,
// wrong item counts, log keys not of type 0x01, witness keys not of type
// 0x04, duplicate log or witness public keys, duplicate or reserved (`none`)
// names, groups or quorum naming undefined (or later) names, a member listed
// twice, thresholds outside 1..n or not canonical decimal, and anything but
// exactly one quorum line are rejected with InvalidArgument.
StatusOr<Policy> ParsePolicy(std::string_view text);

// FormatPolicy writes `policy` as a policy file: logs, witnesses, groups in
// order, then the quorum line, single spaces, '\n' line ends. For every
// accepted text t, SamePolicy(ParsePolicy(FormatPolicy(ParsePolicy(t))), ...).
std::string FormatPolicy(const Policy& policy);

// QuorumSatisfied reports whether the policy's quorum holds when exactly the
// witnesses named in `cosigned` have witnessed a checkpoint (tlog-policy
// §Defining a witness group). Names that are not witnesses are ignored.
// `quorum none` always holds. Pure and thread-safe.
bool QuorumSatisfied(const Policy& policy, const std::set<std::string>& cosigned);

// LogKeys and WitnessKeys return the policy's keys, for VerifyCheckpoint.
std::vector<VerifierKey> LogKeys(const Policy& policy);
std::vector<VerifierKey> WitnessKeys(const Policy& policy);

// FindWitness returns the witness whose key has this name and key ID, or
// nullptr. The pointer is valid while `policy` is unchanged.
const PolicyWitness* FindWitness(const Policy& policy, std::string_view key_name,
                                 uint32_t key_id);

}  // namespace kt::core

#endif  // KT_CORE_POLICY_H_
