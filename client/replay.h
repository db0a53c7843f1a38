// SPDX-License-Identifier: Apache-2.0
// Replaying one user's key history (DESIGN.md "Log entry" and "Binding
// rules"): the `prev` chain, proofs of possession, endorsements checked over
// the entry's `prev` with the endorsing device's key at that point, and the
// resulting set of current devices. Used by lookup/history verification, the
// auditor and the monitor.
#ifndef KT_CLIENT_REPLAY_H_
#define KT_CLIENT_REPLAY_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/status.h"

namespace kt::client {

// DeviceKey is a current device: its identity key and the index of the entry
// that set it.
struct DeviceKey {
  std::array<uint8_t, 32> identity_key{};
  uint64_t index = 0;
  core::Ed25519Verifier verifier;
};

enum class EventKind : uint8_t { kAddDevice, kRotate, kRevoke };
const char* EventKindName(EventKind kind);

// BindingEvent is one applied entry and what it meant.
struct BindingEvent {
  uint64_t index = 0;
  core::Entry entry;
  EventKind kind = EventKind::kAddDevice;
  // endorsed_by: devices whose endorsement verified (current devices of the
  // user; for a new device or a revoke, other devices than the entry's own).
  std::vector<std::string> endorsed_by;
  // unendorsed: no endorsement counted, so the operator's token authorised
  // it (a first device or a recovery).
  bool unendorsed = false;
  // had_devices: the user had current devices before this entry.
  bool had_devices = false;
  // previous_key: for kRotate and kRevoke, the key the device had before.
  std::array<uint8_t, 32> previous_key{};
  // HighSeverity: an unendorsed change while the user had devices (the
  // operator added or changed a key the user's devices did not approve).
  bool HighSeverity() const { return unendorsed && had_devices; }
};

// SignatureCheck is a signature verification that Apply deferred (for
// batched, parallel verification by an auditor).
struct SignatureCheck {
  core::Ed25519Verifier verifier;
  core::Bytes message;
  std::array<uint8_t, 64> signature{};
  uint64_t index = 0;
  std::string what;  // "proof of possession" or "endorsement by <device>"
};

// VerifyChecks verifies `checks` on `threads` threads. OK, or
// VerificationFailed naming the first failing entry (lowest index).
core::Status VerifyChecks(const std::vector<SignatureCheck>& checks, int threads);

// UserReplay applies a user's entries in log order. Not thread-safe.
class UserReplay {
 public:
  explicit UserReplay(std::string user) : user_(std::move(user)) {}

  // Apply checks entry `index` and applies it. VerificationFailed when the
  // entry is not the user's, its `prev` is not 1 + the index of the user's
  // previous entry (0 for the first; a history with a hole fails here), its
  // index does not increase, its possession signature fails, an endorsement
  // signature fails or comes from a device that is not current, or a revoke
  // names a device that is not current: things the log must have refused.
  //
  // With `deferred`, the proof of possession and endorsement signatures are
  // appended to it instead of verified (every other check still runs); the
  // caller must VerifyChecks them before trusting the result.
  core::StatusOr<BindingEvent> Apply(uint64_t index, const core::Entry& entry,
                                     std::vector<SignatureCheck>* deferred = nullptr);

  const std::map<std::string, DeviceKey>& devices() const { return devices_; }
  std::optional<uint64_t> last_index() const { return last_; }
  const std::string& user() const { return user_; }

 private:
  core::Status CheckEndorsements(uint64_t index, const core::Entry& entry, bool device_is_current,
                                 BindingEvent* event, std::vector<SignatureCheck>* deferred) const;
  std::string user_;
  std::map<std::string, DeviceKey> devices_;
  std::optional<uint64_t> last_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_REPLAY_H_
