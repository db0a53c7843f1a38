// SPDX-License-Identifier: Apache-2.0
// Prekey rotation policy for a device (docs/x3dh.md "Device store",
// Signal X3DH §4.1 "Signed prekey rotation"): when the signed prekey (SPK) is
// replaced, when a retired SPK's private key is erased, and when the
// one-time prekey (OPK) pool is refilled. Pure functions of the policy, the
// stored state and `now`; x3dh/device_store.h applies the plan in one LMDB
// write transaction.
#ifndef KT_X3DH_ROTATION_H_
#define KT_X3DH_ROTATION_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace kt::x3dh {

// RotationPolicy holds the device's prekey lifetimes. The defaults are those
// of the issue: a new SPK every 7 days, retired SPK private keys kept 30
// days (so an initial message delayed that long still decrypts), OPK batches
// of 100 when the directory holds fewer than 20.
struct RotationPolicy {
  uint64_t spk_rotation_seconds = uint64_t{7} * 24 * 3600;
  uint64_t spk_retention_seconds = uint64_t{30} * 24 * 3600;
  uint64_t opk_low_water = 20;
  uint32_t opk_batch = 100;
};

// SpkTimes is what the policy needs to know about one stored SPK.
struct SpkTimes {
  uint32_t spk_id = 0;
  uint64_t created = 0;                 // unix seconds
  std::optional<uint64_t> retired_at;   // unset for the current SPK
};

// SpkRotationDue is true when the current SPK, created at `created`, is at
// least spk_rotation_seconds old at `now` (a clock that went backwards never
// rotates).
bool SpkRotationDue(const RotationPolicy& policy, uint64_t created, uint64_t now);

// SpkErasureDue is true when a SPK retired at `retired_at` has been retired
// for at least spk_retention_seconds at `now`: its private key must be gone.
bool SpkErasureDue(const RotationPolicy& policy, uint64_t retired_at, uint64_t now);

// OpkRefillCount returns how many OPKs to generate when the directory reports
// `directory_count` OPKs (nullopt: the device never published, i.e. 0) and
// `pending` generated OPKs are still waiting to be uploaded: opk_batch when
// directory_count + pending < opk_low_water, else 0.
uint32_t OpkRefillCount(const RotationPolicy& policy, std::optional<uint64_t> directory_count,
                        uint64_t pending);

// RotationPlan is what a device must do at `now`.
struct RotationPlan {
  bool rotate_spk = false;               // make a new current SPK, retire the old one
  std::vector<uint32_t> erase_spk_ids;   // retired SPKs past retention
  uint32_t new_opks = 0;                 // OPKs to generate (0 = no refill)
};

// PlanRotation combines the three rules for a device whose current SPK is
// `current` (nullopt: none yet, so one must be made) and whose retired SPKs
// are `retired` (each with retired_at set). The SPK retired by this plan's
// own rotation is never erased by it (retention starts at `now`).
RotationPlan PlanRotation(const RotationPolicy& policy, const std::optional<SpkTimes>& current,
                          const std::vector<SpkTimes>& retired, std::optional<uint64_t> directory_count,
                          uint64_t pending_opks, uint64_t now);

}  // namespace kt::x3dh

#endif  // KT_X3DH_ROTATION_H_
