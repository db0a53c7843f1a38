// SPDX-License-Identifier: Apache-2.0
// User history replay under the binding rules of DESIGN.md.
#include "client/replay.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/crypto_cache.h"
#include "core/encoding.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kAddDevice:
      return "add-device";
    case EventKind::kRotate:
      return "rotate";
    case EventKind::kRevoke:
      return "revoke";
  }
  return "?";
}

Status SignatureCheck::Run() const {
  if (core::Ed25519Verify(public_key, message, signature)) return Status();
  return Status::VerificationFailed("entry " + std::to_string(index) + ": " + what +
                                    " does not verify");
}

Status VerifyChecks(const std::vector<SignatureCheck>& checks, int threads) {
  // Each thread keeps the first failing position it met; the lowest one is
  // what a sequential run meets first (checks are in Apply order).
  std::atomic<size_t> next{0};
  std::vector<size_t> bad(static_cast<size_t>(std::max(threads, 1)), SIZE_MAX);
  auto work = [&](size_t t) {
    for (size_t i = next++; i < checks.size(); i = next++) {
      if (!checks[i].Run().ok()) bad[t] = std::min(bad[t], i);
    }
  };
  if (threads <= 1 || checks.size() < 64) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < bad.size(); t++) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  size_t first = *std::min_element(bad.begin(), bad.end());
  return first == SIZE_MAX ? Status() : checks[first].Run();
}

UserReplay UserReplay::Partial(std::string user, uint64_t last_index) {
  UserReplay r(std::move(user));
  r.last_ = last_index;
  r.partial_ = true;
  return r;
}

StatusOr<UserReplay> UserReplay::Restored(std::string user, uint64_t last_index,
                                          std::vector<DeviceKey> devices) {
  for (size_t i = 0; i < devices.size(); i++) {
    if (devices[i].index > last_index || (i > 0 && !(devices[i - 1].device < devices[i].device))) {
      return Status::InvalidArgument("replay state of " + user + ": devices out of order");
    }
  }
  UserReplay r(std::move(user));
  r.last_ = last_index;
  r.devices_ = std::move(devices);
  return r;
}

const DeviceKey* UserReplay::FindDevice(std::string_view device) const {
  auto it = std::lower_bound(devices_.begin(), devices_.end(), device,
                             [](const DeviceKey& d, std::string_view name) { return d.device < name; });
  return it != devices_.end() && it->device == device ? &*it : nullptr;
}

int UserReplay::Known(std::string_view device) const {
  if (FindDevice(device) != nullptr) return 1;
  if (!partial_) return 0;
  return std::find(revoked_.begin(), revoked_.end(), device) != revoked_.end() ? 0 : -1;
}

StatusOr<BindingEvent> UserReplay::Apply(uint64_t index, const core::Entry& entry,
                                         std::vector<SignatureCheck>* deferred) {
  auto fail = [&](const std::string& why) {
    return Status::VerificationFailed("entry " + std::to_string(index) + " of user " + user_ +
                                      ": " + why);
  };
  if (entry.user != user_) return fail("belongs to user " + entry.user);
  auto bytes = core::EncodeEntry(entry);
  if (!bytes.ok()) return fail(bytes.status().message());
  KT_ASSIGN_OR_RETURN(core::EntryView view, core::ParseEntryView(*bytes));
  BindingEvent ev;
  KT_RETURN_IF_ERROR(ApplyView(index, view, deferred, &ev, &ev.endorsed_by));
  ev.index = index;
  ev.entry = entry;
  return ev;
}

Status UserReplay::ApplyView(uint64_t index, const core::EntryView& entry,
                             std::vector<SignatureCheck>* deferred, ReplayEffect* effect,
                             std::vector<std::string>* endorsed_by) {
  auto fail = [&](const std::string& why) {
    return Status::VerificationFailed("entry " + std::to_string(index) + " of user " + user_ +
                                      ": " + why);
  };
  if (entry.user != user_) return fail("belongs to user " + std::string(entry.user));
  if (last_.has_value() && index <= *last_) return fail("index does not increase");
  // The prev chain: each entry names its predecessor, so a history with an
  // entry left out (or reordered) cannot verify.
  const uint64_t want_prev = last_.has_value() ? *last_ + 1 : 0;
  if (entry.prev != want_prev) {
    return fail("prev is " + std::to_string(entry.prev) + ", expected " +
                std::to_string(want_prev) + " (an entry of this user is missing)");
  }
  *effect = ReplayEffect{};
  effect->had_devices = !devices_.empty();
  const DeviceKey* current = FindDevice(entry.device);
  const bool is_current = current != nullptr;
  std::array<uint8_t, 32> key{};
  std::copy(entry.identity_key.begin(), entry.identity_key.end(), key.begin());
  if (entry.kind == core::EntryKind::kKeySet) {
    if (entry.possession_sig.size() != 64) return fail("possession_sig is not 64 bytes");
    core::Bytes pop = core::PopMessage(entry.user, entry.device, key);
    if (deferred != nullptr) {
      SignatureCheck c{key, std::move(pop), {}, index, 0, "proof of possession"};
      std::copy(entry.possession_sig.begin(), entry.possession_sig.end(), c.signature.begin());
      deferred->push_back(std::move(c));
    } else if (!core::Ed25519VerifyCached(key, pop, entry.possession_sig)) {
      return fail("proof of possession does not verify");
    }
    effect->kind = is_current ? EventKind::kRotate : EventKind::kAddDevice;
  } else {
    const int known = Known(entry.device);
    if (known == 0) return fail("revokes device " + std::string(entry.device) + ", which is not current");
    if (known < 0) effect->unchecked++;
    effect->kind = EventKind::kRevoke;
  }
  if (is_current) effect->previous_key = current->identity_key;
  KT_RETURN_IF_ERROR(CheckEndorsements(index, entry, key, is_current, effect, endorsed_by, deferred)
                         .Annotate("entry " + std::to_string(index) + " of user " + user_));
  auto pos = std::lower_bound(devices_.begin(), devices_.end(), entry.device,
                              [](const DeviceKey& d, std::string_view name) { return d.device < name; });
  if (entry.kind == core::EntryKind::kKeySet) {
    if (is_current) {
      pos->identity_key = key;
      pos->index = index;
    } else {
      devices_.insert(pos, DeviceKey{std::string(entry.device), key, index});
    }
    if (partial_) std::erase(revoked_, entry.device);
  } else {
    if (is_current) devices_.erase(pos);
    if (partial_ && Known(entry.device) != 0) revoked_.emplace_back(entry.device);
  }
  last_ = index;
  return Status();
}

Status UserReplay::CheckEndorsements(uint64_t index, const core::EntryView& entry,
                                     const std::array<uint8_t, 32>& key, bool device_is_current, ReplayEffect* effect,
                                     std::vector<std::string>* endorsed_by,
                                     std::vector<SignatureCheck>* deferred) const {
  uint32_t counted = 0;
  uint32_t ordinal = 1;
  core::ByteSpan rest = entry.endorsements;
  core::EndorsementView en;
  while (core::NextEndorsement(&rest, &en)) {
    const uint32_t k = ordinal++;
    const int known = Known(en.device);
    if (known == 0) {
      return Status::VerificationFailed("endorsement by " + std::string(en.device) +
                                        ", which is not a current device");
    }
    if (known < 0) {  // partial replay: the endorser's key precedes it
      effect->unchecked++;
      continue;
    }
    const DeviceKey* endorser = FindDevice(en.device);
    core::Bytes msg = core::EndorseMessage(entry.user, entry.device, entry.kind, key, entry.prev);
    if (deferred != nullptr) {
      SignatureCheck c{endorser->identity_key, std::move(msg), {}, index, k,
                       "endorsement by " + std::string(en.device)};
      std::copy(en.signature.begin(), en.signature.end(), c.signature.begin());
      deferred->push_back(std::move(c));
    } else if (!core::Ed25519Verify(endorser->identity_key, msg, en.signature)) {
      return Status::VerificationFailed("endorsement by " + std::string(en.device) +
                                        ": entry: endorsement by " + std::string(en.device) +
                                        " does not verify");
    }
    // Binding rules: a device rotating its own key may endorse itself; a new
    // device and a revoke need another device.
    const bool self = en.device == entry.device;
    const bool counts = !self || (device_is_current && entry.kind == core::EntryKind::kKeySet);
    if (counts) {
      counted++;
      if (endorsed_by != nullptr) endorsed_by->emplace_back(en.device);
    }
  }
  effect->unendorsed = counted == 0 && effect->unchecked == 0;
  return Status();
}

}  // namespace kt::client
