// SPDX-License-Identifier: Apache-2.0
// Tests for the token-bucket rate limiter with an injected clock (no sleeps).
#include "net/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace kt::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct FakeClock {
  steady_clock::time_point now{};
  RateLimiter::Clock Fn() {
    return [this] { return now; };
  }
};

TEST(RateLimiterTest, DisabledAllowsEverything) {
  RateLimiter rl({.per_second = 0});
  EXPECT_FALSE(rl.enabled());
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(rl.Allow("k"));
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiterTest, BurstThenRefill) {
  FakeClock clock;
  RateLimiter rl({.per_second = 10}, clock.Fn());  // burst defaults to 10
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(rl.Allow("a")) << i;
  EXPECT_FALSE(rl.Allow("a"));
  EXPECT_TRUE(rl.Allow("b"));  // keys are independent
  clock.now += milliseconds(99);
  EXPECT_FALSE(rl.Allow("a"));  // 0.99 tokens
  clock.now += milliseconds(1);
  EXPECT_TRUE(rl.Allow("a"));
  EXPECT_FALSE(rl.Allow("a"));
  clock.now += std::chrono::seconds(100);  // refill caps at burst
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += rl.Allow("a") ? 1 : 0;
  EXPECT_EQ(allowed, 10);
}

TEST(RateLimiterTest, SteadyRateOverTime) {
  FakeClock clock;
  RateLimiter rl({.per_second = 5, .burst = 1}, clock.Fn());
  int allowed = 0;
  for (int ms = 0; ms < 10000; ms += 10) {  // 10 simulated seconds, 100 tries/s
    allowed += rl.Allow("k") ? 1 : 0;
    clock.now += milliseconds(10);
  }
  EXPECT_GE(allowed, 50);
  EXPECT_LE(allowed, 51);
}

TEST(RateLimiterTest, MemoryIsBounded) {
  FakeClock clock;
  RateLimiter rl({.per_second = 1, .burst = 2, .max_keys = 160}, clock.Fn());
  for (int i = 0; i < 100000; ++i) rl.Allow("key" + std::to_string(i));
  EXPECT_LE(rl.size(), 160u);
  EXPECT_GT(rl.size(), 0u);
}

TEST(RateLimiterTest, IdleFullBucketsAreDropped) {
  FakeClock clock;
  RateLimiter rl({.per_second = 1, .burst = 1}, clock.Fn());
  for (int i = 0; i < 1000; ++i) rl.Allow("key" + std::to_string(i));
  EXPECT_EQ(rl.size(), 1000u);
  clock.now += std::chrono::seconds(2);
  // Touching each shard trims its refilled (idle) buckets.
  for (int i = 0; i < 1000; ++i) rl.Allow("fresh" + std::to_string(i));
  EXPECT_EQ(rl.size(), 1000u);  // only the fresh keys remain
  // A recently limited key is still limited: its bucket was kept.
  EXPECT_FALSE(rl.Allow("fresh999"));
}

TEST(RateLimiterTest, EvictedHotKeyStaysLimitedWhileRecent) {
  FakeClock clock;
  RateLimiter rl({.per_second = 1, .burst = 1, .max_keys = 16000}, clock.Fn());
  EXPECT_TRUE(rl.Allow("hot"));
  for (int i = 0; i < 100; ++i) rl.Allow("other" + std::to_string(i));
  EXPECT_FALSE(rl.Allow("hot"));
}

}  // namespace
}  // namespace kt::net
