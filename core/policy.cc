// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-policy parsing, formatting and quorum evaluation.
#include "core/policy.h"

#include <algorithm>
#include <map>

#include "core/encoding.h"

namespace kt::core {
namespace {

Status Bad(size_t line_no, std::string_view why) {
  return Status::InvalidArgument("policy line " + std::to_string(line_no) + ": " +
                                 std::string(why));
}

// tlog-policy §Character set: only tab, newline, 0x20-0x7E and 0x80-0xFF.
bool AllowedOctet(unsigned char c) { return c == '\t' || c == '\n' || (c >= 0x20 && c != 0x7F); }

// Fields splits a line at runs of ASCII spaces and tabs (§Structure).
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Parser holds the state of one ParsePolicy call.
class Parser {
 public:
  Status Line(size_t no, const std::vector<std::string_view>& f);
  StatusOr<Policy> Finish() &&;

 private:
  Status Log(size_t no, const std::vector<std::string_view>& f);
  Status Witness(size_t no, const std::vector<std::string_view>& f);
  Status Group(size_t no, const std::vector<std::string_view>& f);
  Status Quorum(size_t no, const std::vector<std::string_view>& f);
  Status NewName(size_t no, std::string_view name);
  bool Defined(std::string_view name) const { return names_.count(std::string(name)) > 0; }

  Policy policy_;
  std::set<std::string> names_;  // witnesses and groups share one namespace
  bool have_quorum_ = false;
};

Status Parser::Line(size_t no, const std::vector<std::string_view>& f) {
  if (f[0] == "log") return Log(no, f);
  if (f[0] == "witness") return Witness(no, f);
  if (f[0] == "group") return Group(no, f);
  if (f[0] == "quorum") return Quorum(no, f);
  return Bad(no, "unknown keyword");
}

// KeyCollides reports whether `key` repeats a public key (§Public key
// representation: duplicates wrap the same key) or a (name, key ID) pair,
// which would make signature lines ambiguous.
template <typename T>
bool KeyCollides(const std::vector<T>& list, const VerifierKey& key) {
  return std::any_of(list.begin(), list.end(), [&](const T& e) {
    return e.key.verifier.public_key() == key.verifier.public_key() ||
           (e.key.name == key.name && e.key.key_id == key.key_id);
  });
}

// §Defining a log: "log <vkey> [<url>]", type 0x01, no duplicates.
Status Parser::Log(size_t no, const std::vector<std::string_view>& f) {
  if (f.size() < 2 || f.size() > 3) return Bad(no, "want log <vkey> [<url>]");
  auto key = ParseVerifierKey(f[1]);
  if (!key.ok()) return Bad(no, key.status().message());
  if (key->type != kSigTypeEd25519) return Bad(no, "a log key must be of type 0x01");
  if (KeyCollides(policy_.logs, *key)) return Bad(no, "duplicate log key");
  if (policy_.logs.size() == kMaxPolicyLogs) return Bad(no, "too many logs");
  policy_.logs.push_back(
      {std::string(f[1]), std::move(key).value(), f.size() == 3 ? std::string(f[2]) : ""});
  return Status();
}

Status Parser::NewName(size_t no, std::string_view name) {
  if (name == kQuorumNone) return Bad(no, "the name none is reserved");
  if (Defined(name)) return Bad(no, "name defined twice");
  names_.insert(std::string(name));
  return Status();
}

// §Defining a witness: "witness <name> <vkey> [<url>]", type 0x04.
Status Parser::Witness(size_t no, const std::vector<std::string_view>& f) {
  if (f.size() < 3 || f.size() > 4) return Bad(no, "want witness <name> <vkey> [<url>]");
  auto key = ParseVerifierKey(f[2]);
  if (!key.ok()) return Bad(no, key.status().message());
  if (key->type != kSigTypeCosignatureV1) return Bad(no, "a witness key must be of type 0x04");
  if (KeyCollides(policy_.witnesses, *key)) return Bad(no, "duplicate witness key");
  if (policy_.witnesses.size() == kMaxPolicyWitnesses) return Bad(no, "too many witnesses");
  KT_RETURN_IF_ERROR(NewName(no, f[1]));
  policy_.witnesses.push_back({std::string(f[1]), std::string(f[2]), std::move(key).value(),
                               f.size() == 4 ? std::string(f[3]) : ""});
  return Status();
}

// §Defining a witness group: "group <name> <all|any|k> <name>...", members
// defined on preceding lines (which rules out cycles), each at most once,
// 1 <= k <= n.
Status Parser::Group(size_t no, const std::vector<std::string_view>& f) {
  if (f.size() < 4) return Bad(no, "want group <name> <k|any|all> <member>...");
  if (policy_.groups.size() == kMaxPolicyGroups) return Bad(no, "too many groups");
  PolicyGroup g;
  g.name = std::string(f[1]);
  std::set<std::string_view> seen;
  for (size_t i = 3; i < f.size(); i++) {
    if (f[i] == kQuorumNone) return Bad(no, "none cannot be a group member");
    if (!Defined(f[i])) return Bad(no, "group member not defined on a preceding line");
    if (!seen.insert(f[i]).second) return Bad(no, "group member listed twice");
    g.members.emplace_back(f[i]);
  }
  const uint64_t n = g.members.size();
  if (f[2] == "any") {
    g.form = PolicyGroup::Form::kAny;
    g.threshold = 1;
  } else if (f[2] == "all") {
    g.form = PolicyGroup::Form::kAll;
    g.threshold = n;
  } else {
    auto k = ParseDecimal(f[2]);
    if (!k.ok() || *k < 1 || *k > n) return Bad(no, "threshold must be any, all or 1..n");
    g.threshold = *k;
  }
  KT_RETURN_IF_ERROR(NewName(no, f[1]));
  policy_.groups.push_back(std::move(g));
  return Status();
}

// §Defining the quorum: exactly one "quorum <name>", name defined earlier or none.
Status Parser::Quorum(size_t no, const std::vector<std::string_view>& f) {
  if (f.size() != 2) return Bad(no, "want quorum <name>");
  if (have_quorum_) return Bad(no, "more than one quorum line");
  if (f[1] != kQuorumNone && !Defined(f[1])) {
    return Bad(no, "quorum name not defined on a preceding line");
  }
  have_quorum_ = true;
  policy_.quorum = std::string(f[1]);
  return Status();
}

StatusOr<Policy> Parser::Finish() && {
  if (!have_quorum_) return Status::InvalidArgument("policy: no quorum line");
  return std::move(policy_);
}

void AppendUrl(std::string& out, const std::string& url) {
  if (!url.empty()) out += " " + url;
}

}  // namespace

StatusOr<Policy> ParsePolicy(std::string_view text) {
  if (text.size() > kMaxPolicySize) return Status::InvalidArgument("policy: too long");
  Parser parser;
  size_t no = 0;
  while (!text.empty()) {
    no++;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    for (char c : line) {
      if (!AllowedOctet(static_cast<unsigned char>(c))) return Bad(no, "forbidden control octet");
    }
    auto f = Fields(line);
    if (f.empty() || f[0].front() == '#') continue;  // blank or comment line
    KT_RETURN_IF_ERROR(parser.Line(no, f));
  }
  return std::move(parser).Finish();
}

std::string FormatPolicy(const Policy& policy) {
  std::string out;
  for (const auto& l : policy.logs) {
    out += "log " + l.vkey;
    AppendUrl(out, l.url);
    out += '\n';
  }
  for (const auto& w : policy.witnesses) {
    out += "witness " + w.name + " " + w.vkey;
    AppendUrl(out, w.url);
    out += '\n';
  }
  for (const auto& g : policy.groups) {
    out += "group " + g.name + " ";
    switch (g.form) {
      case PolicyGroup::Form::kAny: out += "any"; break;
      case PolicyGroup::Form::kAll: out += "all"; break;
      case PolicyGroup::Form::kNumber: out += std::to_string(g.threshold); break;
    }
    for (const auto& m : g.members) out += " " + m;
    out += '\n';
  }
  out += "quorum " + policy.quorum + "\n";
  return out;
}

bool SamePolicy(const Policy& a, const Policy& b) {
  auto same_log = [](const PolicyLog& x, const PolicyLog& y) {
    return x.vkey == y.vkey && x.url == y.url;
  };
  auto same_witness = [](const PolicyWitness& x, const PolicyWitness& y) {
    return x.name == y.name && x.vkey == y.vkey && x.url == y.url;
  };
  return std::equal(a.logs.begin(), a.logs.end(), b.logs.begin(), b.logs.end(), same_log) &&
         std::equal(a.witnesses.begin(), a.witnesses.end(), b.witnesses.begin(),
                    b.witnesses.end(), same_witness) &&
         a.groups == b.groups && a.quorum == b.quorum;
}

bool QuorumSatisfied(const Policy& policy, const std::set<std::string>& cosigned) {
  if (policy.quorum == kQuorumNone) return true;
  // Every group refers only to earlier names, so one pass in file order
  // decides each name before any group that lists it.
  std::map<std::string_view, bool> witnessed;
  for (const auto& w : policy.witnesses) witnessed[w.name] = cosigned.count(w.name) > 0;
  for (const auto& g : policy.groups) {
    uint64_t count = 0;
    for (const auto& m : g.members) {
      auto it = witnessed.find(m);
      if (it != witnessed.end() && it->second) count++;
    }
    witnessed[g.name] = count >= g.threshold;
  }
  auto it = witnessed.find(policy.quorum);
  return it != witnessed.end() && it->second;
}

std::vector<VerifierKey> LogKeys(const Policy& policy) {
  std::vector<VerifierKey> out;
  for (const auto& l : policy.logs) out.push_back(l.key);
  return out;
}

std::vector<VerifierKey> WitnessKeys(const Policy& policy) {
  std::vector<VerifierKey> out;
  for (const auto& w : policy.witnesses) out.push_back(w.key);
  return out;
}

const PolicyWitness* FindWitness(const Policy& policy, std::string_view key_name,
                                 uint32_t key_id) {
  for (const auto& w : policy.witnesses) {
    if (w.key.name == key_name && w.key.key_id == key_id) return &w;
  }
  return nullptr;
}

}  // namespace kt::core
