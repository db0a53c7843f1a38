// SPDX-License-Identifier: Apache-2.0
// User history replay under the binding rules of DESIGN.md.
#include "client/replay.h"

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

StatusOr<BindingEvent> UserReplay::Apply(uint64_t index, const core::Entry& entry) {
  auto fail = [&](const std::string& why) {
    return Status::VerificationFailed("entry " + std::to_string(index) + " of user " + user_ +
                                      ": " + why);
  };
  if (entry.user != user_) return fail("belongs to user " + entry.user);
  if (last_.has_value() && index <= *last_) return fail("index does not increase");
  // The prev chain: each entry names its predecessor, so a history with an
  // entry left out (or reordered) cannot verify.
  const uint64_t want_prev = last_.has_value() ? *last_ + 1 : 0;
  if (entry.prev != want_prev) {
    return fail("prev is " + std::to_string(entry.prev) + ", expected " +
                std::to_string(want_prev) + " (an entry of this user is missing)");
  }
  BindingEvent ev;
  ev.index = index;
  ev.entry = entry;
  ev.had_devices = !devices_.empty();
  auto current = devices_.find(entry.device);
  const bool is_current = current != devices_.end();
  if (entry.kind == core::EntryKind::kKeySet) {
    Status pop = core::VerifyPossession(entry);
    if (!pop.ok()) return fail("proof of possession: " + pop.message());
    ev.kind = is_current ? EventKind::kRotate : EventKind::kAddDevice;
  } else {
    if (!is_current) return fail("revokes device " + entry.device + ", which is not current");
    ev.kind = EventKind::kRevoke;
  }
  if (is_current) ev.previous_key = current->second.identity_key;
  KT_RETURN_IF_ERROR(CheckEndorsements(entry, is_current, &ev).Annotate(
      "entry " + std::to_string(index) + " of user " + user_));
  if (entry.kind == core::EntryKind::kKeySet) {
    auto verifier = core::Ed25519Verifier::Create(entry.identity_key);
    if (!verifier.ok()) return fail("identity key: " + verifier.status().message());
    devices_.insert_or_assign(entry.device, DeviceKey{entry.identity_key, index, *verifier});
  } else {
    devices_.erase(entry.device);
  }
  last_ = index;
  return ev;
}

Status UserReplay::CheckEndorsements(const core::Entry& entry, bool device_is_current,
                                     BindingEvent* event) const {
  for (const core::Endorsement& en : entry.endorsements) {
    auto it = devices_.find(en.device);
    if (it == devices_.end()) {
      return Status::VerificationFailed("endorsement by " + en.device +
                                        ", which is not a current device");
    }
    Status s = core::VerifyEndorsement(entry, en, it->second.verifier);
    if (!s.ok()) return Status::VerificationFailed("endorsement by " + en.device + ": " + s.message());
    // Binding rules: a device rotating its own key may endorse itself; a new
    // device and a revoke need another device.
    const bool self = en.device == entry.device;
    const bool counts = !self || (device_is_current && entry.kind == core::EntryKind::kKeySet);
    if (counts) event->endorsed_by.push_back(en.device);
  }
  event->unendorsed = event->endorsed_by.empty();
  return Status();
}

}  // namespace kt::client
