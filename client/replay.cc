// SPDX-License-Identifier: Apache-2.0
// User history replay under the binding rules of DESIGN.md.
#include "client/replay.h"

#include <algorithm>
#include <atomic>
#include <thread>

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

Status VerifyChecks(const std::vector<SignatureCheck>& checks, int threads) {
  std::atomic<size_t> next{0};
  std::vector<size_t> bad(static_cast<size_t>(std::max(threads, 1)), SIZE_MAX);
  auto work = [&](size_t t) {
    for (size_t i = next++; i < checks.size(); i = next++) {
      const SignatureCheck& c = checks[i];
      if (!c.verifier.Verify(c.message, c.signature)) {
        if (bad[t] == SIZE_MAX || checks[bad[t]].index > c.index) bad[t] = i;
      }
    }
  };
  if (threads <= 1 || checks.size() < 64) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < bad.size(); t++) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  const SignatureCheck* worst = nullptr;
  for (size_t b : bad) {
    if (b != SIZE_MAX && (worst == nullptr || checks[b].index < worst->index)) worst = &checks[b];
  }
  if (worst == nullptr) return Status();
  return Status::VerificationFailed("entry " + std::to_string(worst->index) + ": " + worst->what +
                                    " does not verify");
}

StatusOr<BindingEvent> UserReplay::Apply(uint64_t index, const core::Entry& entry,
                                         std::vector<SignatureCheck>* deferred) {
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
  std::optional<core::Ed25519Verifier> new_key;
  if (entry.kind == core::EntryKind::kKeySet) {
    auto verifier = core::Ed25519Verifier::Create(entry.identity_key);
    if (!verifier.ok()) return fail("identity key: " + verifier.status().message());
    new_key = *verifier;
    core::Bytes pop = core::PopMessage(entry.user, entry.device, entry.identity_key);
    if (entry.possession_sig.size() != 64) return fail("possession_sig is not 64 bytes");
    if (deferred != nullptr) {
      SignatureCheck c{*new_key, std::move(pop), {}, index, "proof of possession"};
      std::copy(entry.possession_sig.begin(), entry.possession_sig.end(), c.signature.begin());
      deferred->push_back(std::move(c));
    } else if (!new_key->Verify(pop, entry.possession_sig)) {
      return fail("proof of possession does not verify");
    }
    ev.kind = is_current ? EventKind::kRotate : EventKind::kAddDevice;
  } else {
    if (!is_current) return fail("revokes device " + entry.device + ", which is not current");
    ev.kind = EventKind::kRevoke;
  }
  if (is_current) ev.previous_key = current->second.identity_key;
  KT_RETURN_IF_ERROR(CheckEndorsements(index, entry, is_current, &ev, deferred).Annotate(
      "entry " + std::to_string(index) + " of user " + user_));
  if (entry.kind == core::EntryKind::kKeySet) {
    devices_.insert_or_assign(entry.device, DeviceKey{entry.identity_key, index, *new_key});
  } else {
    devices_.erase(entry.device);
  }
  last_ = index;
  return ev;
}

Status UserReplay::CheckEndorsements(uint64_t index, const core::Entry& entry,
                                     bool device_is_current, BindingEvent* event,
                                     std::vector<SignatureCheck>* deferred) const {
  for (const core::Endorsement& en : entry.endorsements) {
    auto it = devices_.find(en.device);
    if (it == devices_.end()) {
      return Status::VerificationFailed("endorsement by " + en.device +
                                        ", which is not a current device");
    }
    if (deferred != nullptr) {
      deferred->push_back(SignatureCheck{
          it->second.verifier,
          core::EndorseMessage(entry.user, entry.device, entry.kind, entry.identity_key, entry.prev),
          en.signature, index, "endorsement by " + en.device});
    } else {
      Status s = core::VerifyEndorsement(entry, en, it->second.verifier);
      if (!s.ok()) {
        return Status::VerificationFailed("endorsement by " + en.device + ": " + s.message());
      }
    }
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
