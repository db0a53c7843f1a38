// SPDX-License-Identifier: Apache-2.0
// Verification of lookup and history answers.
#include "client/lookup.h"

#include <algorithm>
#include <map>
#include <set>

#include "client/json_util.h"
#include "core/crypto_cache.h"
#include "core/encoding.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using nlohmann::json;

namespace {

// ProvenEntry verifies one {"index", "entry", "proof"} item and collects its
// checkpoint into `checkpoints` (distinct by note text).
StatusOr<VerifiedEntry> ProvenEntry(const json& item, std::string_view what, const Trust& trust,
                                    std::vector<TrustedCheckpoint>* checkpoints) {
  if (!item.is_object()) return Status::InvalidArgument(std::string(what) + ": not an object");
  KT_ASSIGN_OR_RETURN(uint64_t index, GetU64(item, "index", what));
  KT_ASSIGN_OR_RETURN(core::Bytes bytes, GetBase64(item, "entry", what));
  KT_ASSIGN_OR_RETURN(std::string proof, GetString(item, "proof", what));
  auto rec = trust.VerifyTlogProof(proof);
  if (!rec.ok()) return rec.status().Annotate(std::string(what) + " " + std::to_string(index));
  if (rec->index != index || rec->record != bytes) {
    return Status::VerificationFailed(std::string(what) + " " + std::to_string(index) +
                                      ": the proof is for another index or entry");
  }
  auto entry = core::DecodeEntry(bytes);
  if (!entry.ok()) {
    return Status::VerificationFailed(std::string(what) + " " + std::to_string(index) +
                                      ": logged entry does not decode: " +
                                      entry.status().message());
  }
  bool seen = std::any_of(checkpoints->begin(), checkpoints->end(),
                          [&](const TrustedCheckpoint& c) { return c.note == rec->checkpoint.note; });
  if (!seen) checkpoints->push_back(rec->checkpoint);
  return VerifiedEntry{index, std::move(bytes), std::move(entry).value()};
}

StatusOr<json> ParseAnswer(std::string_view body, std::string_view user, const Trust& trust,
                           std::string_view what, std::vector<TrustedCheckpoint>* checkpoints) {
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(body, what));
  KT_ASSIGN_OR_RETURN(std::string got_user, GetString(j, "user", what));
  if (got_user != user) {
    return Status::VerificationFailed(std::string(what) + " is for user " + got_user);
  }
  KT_ASSIGN_OR_RETURN(std::string note, GetString(j, "checkpoint", what));
  auto cp = trust.VerifyCheckpoint(note);
  if (!cp.ok()) return cp.status().Annotate(std::string(what) + " checkpoint");
  checkpoints->push_back(*cp);
  return j;
}

uint64_t MaxSize(const std::vector<TrustedCheckpoint>& cps) {
  uint64_t m = 0;
  for (const auto& c : cps) m = std::max(m, c.checkpoint.size);
  return m;
}

}  // namespace

StatusOr<LookupAnswer> VerifyLookupAnswer(std::string_view body, std::string_view user,
                                          const Trust& trust) {
  LookupAnswer out;
  out.user = std::string(user);
  KT_ASSIGN_OR_RETURN(json j, ParseAnswer(body, user, trust, "lookup answer", &out.checkpoints));
  KT_ASSIGN_OR_RETURN(std::vector<json> devices, GetArray(j, "devices", "lookup answer"));
  std::set<std::string> names;
  for (const json& d : devices) {
    KT_ASSIGN_OR_RETURN(VerifiedEntry v, ProvenEntry(d, "lookup device", trust, &out.checkpoints));
    KT_ASSIGN_OR_RETURN(std::string device, GetString(d, "device", "lookup device"));
    const std::string at = "lookup device " + device + " (entry " + std::to_string(v.index) + ")";
    if (v.entry.user != user || v.entry.device != device) {
      return Status::VerificationFailed(at + ": entry is for " + v.entry.user + "/" + v.entry.device);
    }
    if (v.entry.kind != core::EntryKind::kKeySet) {
      return Status::VerificationFailed(at + ": entry is not a key set");
    }
    // Cached (core/crypto_cache.h): a client looks the same users up again
    // and again, and their entries' proofs of possession do not change.
    if (!core::Ed25519VerifyCached(
            v.entry.identity_key, core::PopMessage(v.entry.user, v.entry.device, v.entry.identity_key),
            v.entry.possession_sig)) {
      return Status::VerificationFailed(at + ": proof of possession does not verify");
    }
    if (!names.insert(device).second) return Status::VerificationFailed(at + ": listed twice");
    out.devices.push_back(std::move(v));
  }
  std::sort(out.devices.begin(), out.devices.end(),
            [](const VerifiedEntry& a, const VerifiedEntry& b) { return a.entry.device < b.entry.device; });
  return out;
}

StatusOr<HistoryAnswer> VerifyHistoryAnswer(std::string_view body, std::string_view user,
                                            const Trust& trust) {
  HistoryAnswer out;
  out.user = std::string(user);
  out.replay = UserReplay(std::string(user));
  KT_ASSIGN_OR_RETURN(json j, ParseAnswer(body, user, trust, "history answer", &out.checkpoints));
  KT_ASSIGN_OR_RETURN(std::vector<json> entries, GetArray(j, "entries", "history answer"));
  for (const json& e : entries) {
    KT_ASSIGN_OR_RETURN(VerifiedEntry v, ProvenEntry(e, "history entry", trust, &out.checkpoints));
    KT_ASSIGN_OR_RETURN(BindingEvent ev, out.replay.Apply(v.index, v.entry));
    out.events.push_back(std::move(ev));
    out.entries.push_back(std::move(v));
  }
  return out;
}

Status Lookup::Reconcile(const std::vector<TrustedCheckpoint>& checkpoints) {
  for (const TrustedCheckpoint& cp : checkpoints) {
    auto s = client_.Accept(cp.note);
    if (!s.ok()) return s.status();
  }
  return Status();
}

StatusOr<HistoryAnswer> Lookup::History(std::string_view user) {
  KT_ASSIGN_OR_RETURN(std::string body, client_.fetcher().Get("v1/history?user=" + UrlEncode(user)));
  KT_ASSIGN_OR_RETURN(HistoryAnswer h, VerifyHistoryAnswer(body, user, client_.trust()));
  KT_RETURN_IF_ERROR(Reconcile(h.checkpoints));
  return h;
}

StatusOr<LookupResult> Lookup::Get(std::string_view user) {
  KT_ASSIGN_OR_RETURN(std::string body, client_.fetcher().Get("v1/lookup?user=" + UrlEncode(user)));
  KT_ASSIGN_OR_RETURN(LookupAnswer lookup, VerifyLookupAnswer(body, user, client_.trust()));
  KT_RETURN_IF_ERROR(Reconcile(lookup.checkpoints));
  KT_ASSIGN_OR_RETURN(HistoryAnswer history, History(user));
  // The history must reach at least as far as the lookup (the log only
  // grows; both checkpoints were just reconciled with state, so they are on
  // one tree). Replay it up to the lookup's tree size and compare.
  const uint64_t lookup_size = MaxSize(lookup.checkpoints);
  if (MaxSize(history.checkpoints) < lookup_size) {
    return Status::VerificationFailed("history answer is older than the lookup answer");
  }
  UserReplay upto{std::string(user)};
  std::map<uint64_t, const VerifiedEntry*> by_index;
  for (const VerifiedEntry& e : history.entries) {
    if (e.index >= lookup_size) break;
    KT_ASSIGN_OR_RETURN(BindingEvent ev, upto.Apply(e.index, e.entry));
    (void)ev;
    by_index[e.index] = &e;
  }
  const std::vector<DeviceKey>& want = upto.devices();
  auto mismatch = [&](const std::string& why) {
    return Status::VerificationFailed("lookup answer for " + std::string(user) +
                                      " disagrees with the verified history: " + why);
  };
  if (want.size() != lookup.devices.size()) {
    return mismatch("history has " + std::to_string(want.size()) + " current device(s), lookup " +
                    std::to_string(lookup.devices.size()));
  }
  for (const VerifiedEntry& d : lookup.devices) {
    const DeviceKey* it = upto.FindDevice(d.entry.device);
    if (it == nullptr) return mismatch("device " + d.entry.device + " is not current");
    auto h = by_index.find(d.index);
    if (it->index != d.index || h == by_index.end() || h->second->bytes != d.bytes) {
      return mismatch("device " + d.entry.device + " has another latest entry");
    }
  }
  return LookupResult{std::move(lookup), std::move(history)};
}

}  // namespace kt::client
