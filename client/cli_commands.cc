// SPDX-License-Identifier: Apache-2.0
// `kt` commands: checkpoint, lookup, history, verify-proof, verify-evidence,
// safety-number.
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "client/cli_internal.h"
#include "client/contacts.h"
#include "client/errors.h"
#include "client/evidence.h"
#include "client/lookup.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using nlohmann::json;

namespace {

json CheckpointJson(const TrustedCheckpoint& cp) {
  return {{"origin", cp.checkpoint.origin},
          {"size", cp.checkpoint.size},
          {"root", core::Base64Encode(cp.checkpoint.root)},
          {"witnesses", cp.witnesses}};
}

std::string Joined(const std::vector<std::string>& v, const std::string& none = "-") {
  if (v.empty()) return none;
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// Table prints rows with columns padded to their widest cell.
void Table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); i++) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); i++) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

json EventJson(const BindingEvent& ev) {
  json j = {{"index", ev.index},
            {"kind", EventKindName(ev.kind)},
            {"device", ev.entry.device},
            {"timestamp_ms", ev.entry.timestamp_ms},
            {"endorsed_by", ev.endorsed_by},
            {"unendorsed", ev.unendorsed},
            {"high_severity", ev.HighSeverity()}};
  if (ev.kind != EventKind::kRevoke) j["identity_key"] = core::Base64Encode(ev.entry.identity_key);
  return j;
}

// AnswerJson is the --json answer of lookup and history: the user, the
// checkpoint it was verified against, and under `key` one EventJson per
// event (with "device" when `with_device`).
json AnswerJson(const std::string& user, const TrustedCheckpoint& cp, const char* key,
                const std::vector<const BindingEvent*>& events, bool with_device) {
  json j = {{"user", user}, {"checkpoint", CheckpointJson(cp)}};
  j[key] = json::array();
  for (const BindingEvent* ev : events) {
    json e = EventJson(*ev);
    if (with_device) e["device"] = ev->entry.device;
    j[key].push_back(std::move(e));
  }
  return j;
}

std::string Flags(const BindingEvent& ev) {
  if (ev.HighSeverity()) return "UNENDORSED (operator) HIGH";
  if (ev.unendorsed) return "unendorsed (operator)";
  return "";
}

}  // namespace

int CmdCheckpoint(CliEnv& env) {
  auto u = env.log->Update();
  if (!u.ok()) return Fail(env, u.status());
  const TrustedCheckpoint& cp = u->checkpoint;
  if (env.json()) {
    json j = CheckpointJson(cp);
    j["previous_size"] = u->had_previous ? json(u->previous_size) : json(nullptr);
    j["advanced"] = u->advanced;
    env.out() << j.dump() << "\n";
    return kExitOk;
  }
  env.out() << "origin:    " << cp.checkpoint.origin << "\n"
            << "size:      " << cp.checkpoint.size << "\n"
            << "root:      " << core::Base64Encode(cp.checkpoint.root) << "\n"
            << "witnesses: " << Joined(cp.witnesses, "(none required)") << "\n";
  if (u->had_previous) {
    env.out() << "previous:  " << u->previous_size
              << (u->advanced ? " (consistency proof verified)" : " (unchanged)") << "\n";
  } else {
    env.out() << "previous:  none (first checkpoint of this log, now trusted)\n";
  }
  return kExitOk;
}

int CmdLookup(CliEnv& env) {
  const std::string user = env.args.positional[0];
  Lookup lookup(*env.log);
  auto r = lookup.Get(user);
  if (!r.ok()) return Fail(env, r.status());
  auto contacts = Contacts::Load(env.state->dir());
  if (!contacts.ok()) return Fail(env, contacts.status());
  ContactCheck check = contacts->Check(*r);
  const bool accept = env.args.Has("accept");
  if (check.changed && accept) contacts->Accept(*r);
  if (check.first_use || (check.changed && accept)) {
    Status s = contacts->Save();
    if (!s.ok()) return Fail(env, s);
  }
  std::map<uint64_t, const BindingEvent*> events;
  for (const auto& ev : r->history.events) events[ev.index] = &ev;
  if (env.json()) {
    std::vector<const BindingEvent*> current;
    for (const auto& d : r->lookup.devices) current.push_back(events.at(d.index));
    json j = AnswerJson(user, r->lookup.checkpoints[0], "devices", current, true);
    j["pin"] = check.first_use ? "first-use" : check.changed ? (accept ? "accepted" : "changed") : "unchanged";
    if (check.changed) {
      j["key_change"] = {{"added", check.added}, {"removed", check.removed},
                         {"rotated", check.rotated}, {"endorsed", check.endorsed}};
    }
    env.out() << j.dump() << "\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"DEVICE", "IDENTITY KEY", "INDEX", "SET AT (UTC)", "ENDORSED BY", "FLAGS"}};
    for (const auto& d : r->lookup.devices) {
      const BindingEvent& ev = *events.at(d.index);
      rows.push_back({d.entry.device, core::Base64Encode(d.entry.identity_key),
                      std::to_string(d.index), FormatTimeMs(d.entry.timestamp_ms),
                      Joined(ev.endorsed_by), Flags(ev)});
    }
    Table(env.out(), rows);
    env.out() << "verified against checkpoint size " << r->lookup.checkpoints[0].checkpoint.size
              << (check.first_use ? "; keys pinned (first use)" : "") << "\n";
  }
  if (check.changed) {
    env.err() << "kt: KEY CHANGE for " << user << ": " << check.Describe() << "\n";
    if (!accept) {
      env.err() << "kt: run `kt lookup " << user << " --accept` to accept the new keys\n";
      return kExitKeyChange;
    }
    env.err() << "kt: new keys accepted and pinned\n";
  }
  return kExitOk;
}

int CmdHistory(CliEnv& env) {
  const std::string user = env.args.positional[0];
  Lookup lookup(*env.log);
  auto h = lookup.History(user);
  if (!h.ok()) return Fail(env, h.status());
  if (env.json()) {
    std::vector<const BindingEvent*> all;
    for (const auto& ev : h->events) all.push_back(&ev);
    env.out() << AnswerJson(user, h->checkpoints[0], "entries", all, false).dump() << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"INDEX", "TIME (UTC)", "EVENT", "DEVICE", "IDENTITY KEY", "ENDORSED BY", "FLAGS"}};
  for (const auto& ev : h->events) {
    rows.push_back({std::to_string(ev.index), FormatTimeMs(ev.entry.timestamp_ms),
                    EventKindName(ev.kind), ev.entry.device,
                    ev.kind == EventKind::kRevoke ? "-" : core::Base64Encode(ev.entry.identity_key),
                    Joined(ev.endorsed_by), Flags(ev)});
  }
  Table(env.out(), rows);
  env.out() << h->events.size() << " entries, prev chain verified, checkpoint size "
            << h->checkpoints[0].checkpoint.size << "\n";
  return kExitOk;
}

int CmdVerifyProof(CliEnv& env) {
  auto text = store::ReadFile(env.args.positional[0], core::kMaxTlogProofSize);
  if (!text.ok()) return Fail(env, Status::InvalidArgument("usage: " + text.status().message()));
  auto rec = env.trust->VerifyTlogProof(*text);
  if (!rec.ok()) return Fail(env, rec.status());
  auto entry = core::DecodeEntry(rec->record);
  if (env.json()) {
    json j = {{"valid", true}, {"index", rec->index}, {"checkpoint", CheckpointJson(rec->checkpoint)}};
    if (entry.ok()) {
      j["entry"] = {{"user", entry->user}, {"device", entry->device},
                    {"kind", entry->kind == core::EntryKind::kKeySet ? "set" : "revoke"},
                    {"timestamp_ms", entry->timestamp_ms}, {"prev", entry->prev},
                    {"identity_key", core::Base64Encode(entry->identity_key)}};
    }
    env.out() << j.dump() << "\n";
    return kExitOk;
  }
  env.out() << "valid: record " << rec->index << " is in " << rec->checkpoint.checkpoint.origin
            << " at tree size " << rec->checkpoint.checkpoint.size << " (witnesses "
            << Joined(rec->checkpoint.witnesses, "none required") << ")\n";
  if (entry.ok()) {
    env.out() << "entry: " << (entry->kind == core::EntryKind::kKeySet ? "key set" : "revoke")
              << " user=" << entry->user << " device=" << entry->device;
    if (entry->kind == core::EntryKind::kKeySet) {
      env.out() << " key=" << core::Base64Encode(entry->identity_key);
    }
    env.out() << " time=" << FormatTimeMs(entry->timestamp_ms) << " prev=" << entry->prev << "\n";
  } else {
    env.out() << "entry: not a key transparency entry (" << entry.status().message() << ")\n";
  }
  return kExitOk;
}

int CmdVerifyEvidence(CliEnv& env) {
  auto text = store::ReadFile(env.args.positional[0], kMaxEvidenceSize);
  if (!text.ok()) return Fail(env, Status::InvalidArgument("usage: " + text.status().message()));
  auto ev = ParseEvidence(*text);
  if (!ev.ok()) return Fail(env, ev.status());
  auto v = VerifyEvidence(*ev, *env.trust);
  if (!v.ok()) return Fail(env, v.status());
  if (env.json()) {
    env.out() << json{{"fork", true}, {"origin", v->origin}, {"reason", v->reason},
                      {"sizes", {v->first.size, v->second.size}}}
                     .dump()
              << "\n";
  } else {
    env.out() << "FORK PROVEN for " << v->origin << ": " << v->reason
              << " (both checkpoints carry valid signatures of the log key)\n";
  }
  return kExitOk;
}

int CmdSafetyNumber(CliEnv& env) {
  auto contacts = Contacts::Load(env.state->dir());
  if (!contacts.ok()) return Fail(env, contacts.status());
  const std::string& me = env.args.positional[0];
  const std::string& them = env.args.positional[1];
  const Contact* a = contacts->Find(me);
  const Contact* b = contacts->Find(them);
  if (a == nullptr || b == nullptr) {
    return Fail(env, Status::InvalidArgument(
                         "usage: both users must be pinned first: run `kt lookup " +
                         std::string(a == nullptr ? me : them) + "`"));
  }
  std::string number = SafetyNumber(me, *a, them, *b);
  if (env.json()) {
    env.out() << json{{"safety_number", number}}.dump() << "\n";
  } else {
    env.out() << number << "\n";
  }
  return kExitOk;
}

}  // namespace kt::client
