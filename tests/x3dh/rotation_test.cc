// SPDX-License-Identifier: Apache-2.0
// Tests for the pure rotation rules of x3dh/rotation.h: boundaries of SPK
// rotation and retention, OPK refill thresholds, and the combined plan.
#include "x3dh/rotation.h"

#include <gtest/gtest.h>

namespace kt::x3dh {
namespace {

constexpr uint64_t kT = 1'750'000'000;
constexpr uint64_t kDay = 24 * 3600;

TEST(RotationTest, SpkRotationBoundaries) {
  const RotationPolicy p;
  EXPECT_FALSE(SpkRotationDue(p, kT, kT));
  EXPECT_FALSE(SpkRotationDue(p, kT, kT + 7 * kDay - 1));
  EXPECT_TRUE(SpkRotationDue(p, kT, kT + 7 * kDay));
  EXPECT_FALSE(SpkRotationDue(p, kT, kT - 100));  // clock went backwards
  RotationPolicy daily;
  daily.spk_rotation_seconds = kDay;
  EXPECT_TRUE(SpkRotationDue(daily, kT, kT + kDay));
}

TEST(RotationTest, SpkErasureBoundaries) {
  const RotationPolicy p;
  EXPECT_FALSE(SpkErasureDue(p, kT, kT + 30 * kDay - 1));
  EXPECT_TRUE(SpkErasureDue(p, kT, kT + 30 * kDay));
  EXPECT_FALSE(SpkErasureDue(p, kT, kT - 1));
}

TEST(RotationTest, OpkRefillBelowLowWaterOnly) {
  const RotationPolicy p;
  EXPECT_EQ(OpkRefillCount(p, std::nullopt, 0), 100u);  // never published
  EXPECT_EQ(OpkRefillCount(p, 0, 0), 100u);
  EXPECT_EQ(OpkRefillCount(p, 19, 0), 100u);
  EXPECT_EQ(OpkRefillCount(p, 20, 0), 0u);
  EXPECT_EQ(OpkRefillCount(p, 5, 100), 0u);  // a pending batch will be uploaded
  RotationPolicy small;
  small.opk_low_water = 2;
  small.opk_batch = 7;
  EXPECT_EQ(OpkRefillCount(small, 1, 0), 7u);
  EXPECT_EQ(OpkRefillCount(small, 2, 0), 0u);
}

TEST(RotationTest, PlanCombinesTheRules) {
  const RotationPolicy p;
  const RotationPlan first = PlanRotation(p, std::nullopt, {}, std::nullopt, 0, kT);
  EXPECT_TRUE(first.rotate_spk);
  EXPECT_TRUE(first.erase_spk_ids.empty());
  EXPECT_EQ(first.new_opks, 100u);

  const SpkTimes current{9, kT, std::nullopt};
  const std::vector<SpkTimes> retired = {
      {7, kT - 50 * kDay, kT - 40 * kDay}, {8, kT - 20 * kDay, kT - 10 * kDay}};
  const RotationPlan later = PlanRotation(p, current, retired, 50, 0, kT + 7 * kDay);
  EXPECT_TRUE(later.rotate_spk);
  EXPECT_EQ(later.erase_spk_ids, std::vector<uint32_t>({7}));
  EXPECT_EQ(later.new_opks, 0u);

  const RotationPlan idle = PlanRotation(p, current, {}, 50, 0, kT + 1);
  EXPECT_FALSE(idle.rotate_spk);
  EXPECT_TRUE(idle.erase_spk_ids.empty());
  EXPECT_EQ(idle.new_opks, 0u);
}

}  // namespace
}  // namespace kt::x3dh
