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
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/status.h"

namespace kt::client {

// DeviceKey is a current device: its id, identity key and the index of the
// entry that set it. (No parsed key is kept: an auditor holds millions.)
struct DeviceKey {
  std::string device;
  std::array<uint8_t, 32> identity_key{};
  uint64_t index = 0;
};

enum class EventKind : uint8_t { kAddDevice, kRotate, kRevoke };
const char* EventKindName(EventKind kind);

// ReplayEffect is what applying one entry meant, without copies of it.
struct ReplayEffect {
  EventKind kind = EventKind::kAddDevice;
  // unendorsed: no endorsement counted, so the operator's token authorised
  // it (a first device or a recovery). For a partial replay (below) an entry
  // with an endorsement that could not be checked is not unendorsed.
  bool unendorsed = false;
  // had_devices: the user had current devices before this entry (for a
  // partial replay: devices known to be current).
  bool had_devices = false;
  // previous_key: for kRotate and kRevoke, the key the device had before.
  std::array<uint8_t, 32> previous_key{};
  // unchecked: checks a partial replay could not make (an endorsement by, or
  // a revoke of, a device whose state precedes the replay).
  uint32_t unchecked = 0;
  // HighSeverity: an unendorsed change while the user had devices (the
  // operator added or changed a key the user's devices did not approve).
  bool HighSeverity() const { return unendorsed && had_devices; }
};

// BindingEvent is one applied entry and what it meant.
struct BindingEvent : ReplayEffect {
  uint64_t index = 0;
  core::Entry entry;
  // endorsed_by: devices whose endorsement verified (current devices of the
  // user; for a new device or a revoke, other devices than the entry's own).
  std::vector<std::string> endorsed_by;
};

// SignatureCheck is a signature verification that Apply deferred (for
// parallel verification by an auditor). `ordinal` orders the checks of one
// entry as Apply would have made them (0 = proof of possession, k + 1 =
// endorsement k).
struct SignatureCheck {
  std::array<uint8_t, 32> public_key{};
  core::Bytes message;
  std::array<uint8_t, 64> signature{};
  uint64_t index = 0;
  uint32_t ordinal = 0;
  std::string what;  // "proof of possession" or "endorsement by <device>"
  // Run verifies the signature (parsing the key). OK or VerificationFailed
  // "entry <index>: <what> does not verify".
  core::Status Run() const;
};

// VerifyChecks verifies `checks` on `threads` threads. OK, or the failure
// that a sequential run in order would meet first.
core::Status VerifyChecks(const std::vector<SignatureCheck>& checks, int threads);

// UserReplay applies a user's entries in log order. Not thread-safe.
class UserReplay {
 public:
  explicit UserReplay(std::string user) : user_(std::move(user)) {}
  // Partial is a replay of a user whose earlier entries, up to and including
  // `last_index`, precede what the caller reads (an audit started mid-log):
  // their devices are unknown. The prev chain continues from last_index;
  // proofs of possession are checked; endorsements by (and revokes of)
  // devices set or revoked since are checked; the others are counted in
  // ReplayEffect::unchecked and never reported as failures.
  static UserReplay Partial(std::string user, uint64_t last_index);
  // Restored is a replay whose state was saved earlier (monitor.h): the
  // user's last entry and current devices (sorted and distinct, else
  // InvalidArgument).
  static core::StatusOr<UserReplay> Restored(std::string user, uint64_t last_index,
                                             std::vector<DeviceKey> devices);

  // Apply checks entry `index` and applies it. VerificationFailed when the
  // entry is not the user's, its `prev` is not 1 + the index of the user's
  // previous entry (0 for the first; a history with a hole fails here), its
  // index does not increase, its possession signature fails, an endorsement
  // signature fails or comes from a device that is not current, or a revoke
  // names a device that is not current: things the log must have refused.
  //
  // With `deferred`, the proof of possession and endorsement signatures are
  // appended to it instead of verified (every other check still runs); the
  // caller must verify them before trusting the result. On failure the
  // checks appended for this entry are those a sequential Apply would have
  // verified before meeting the failure.
  core::StatusOr<BindingEvent> Apply(uint64_t index, const core::Entry& entry,
                                     std::vector<SignatureCheck>* deferred = nullptr);
  // ApplyView is Apply on an entry parsed in place, without copying it;
  // endorsed_by, when given, receives the endorsing devices.
  core::Status ApplyView(uint64_t index, const core::EntryView& entry,
                         std::vector<SignatureCheck>* deferred, ReplayEffect* effect,
                         std::vector<std::string>* endorsed_by = nullptr);

  // devices are the current devices, sorted by device id.
  const std::vector<DeviceKey>& devices() const { return devices_; }
  const DeviceKey* FindDevice(std::string_view device) const;
  std::optional<uint64_t> last_index() const { return last_; }
  const std::string& user() const { return user_; }
  bool partial() const { return partial_; }

 private:
  core::Status CheckEndorsements(uint64_t index, const core::EntryView& entry,
                                 const std::array<uint8_t, 32>& key, bool device_is_current, ReplayEffect* effect,
                                 std::vector<std::string>* endorsed_by,
                                 std::vector<SignatureCheck>* deferred) const;
  // Known reports whether a device is current (1), not current (0) or
  // unknown (-1, partial replays only).
  int Known(std::string_view device) const;
  std::string user_;
  std::vector<DeviceKey> devices_;  // sorted by device
  std::vector<std::string> revoked_;  // partial replays: revoked since the start
  std::optional<uint64_t> last_;
  bool partial_ = false;
};

}  // namespace kt::client

#endif  // KT_CLIENT_REPLAY_H_
