// SPDX-License-Identifier: Apache-2.0
// Prekey rotation policy (x3dh/rotation.h; Signal X3DH §4.1 and §4.6).
#include "x3dh/rotation.h"

namespace kt::x3dh {

bool SpkRotationDue(const RotationPolicy& policy, uint64_t created, uint64_t now) {
  return now >= created && now - created >= policy.spk_rotation_seconds;
}

bool SpkErasureDue(const RotationPolicy& policy, uint64_t retired_at, uint64_t now) {
  return now >= retired_at && now - retired_at >= policy.spk_retention_seconds;
}

uint32_t OpkRefillCount(const RotationPolicy& policy, std::optional<uint64_t> directory_count,
                        uint64_t pending) {
  const uint64_t have = directory_count.value_or(0) + pending;
  return have < policy.opk_low_water ? policy.opk_batch : 0;
}

RotationPlan PlanRotation(const RotationPolicy& policy, const std::optional<SpkTimes>& current,
                          const std::vector<SpkTimes>& retired, std::optional<uint64_t> directory_count,
                          uint64_t pending_opks, uint64_t now) {
  RotationPlan plan;
  plan.rotate_spk = !current.has_value() || SpkRotationDue(policy, current->created, now);
  for (const SpkTimes& s : retired) {
    // A stored retired SPK always has retired_at; one without is treated as
    // retired now (kept for the full retention).
    if (s.retired_at && SpkErasureDue(policy, *s.retired_at, now)) plan.erase_spk_ids.push_back(s.spk_id);
  }
  plan.new_opks = OpkRefillCount(policy, directory_count, pending_opks);
  return plan;
}

}  // namespace kt::x3dh
