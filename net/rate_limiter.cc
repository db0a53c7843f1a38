// SPDX-License-Identifier: Apache-2.0
// Token-bucket rate limiter with LRU-bounded memory; see net/rate_limiter.h.
#include "net/rate_limiter.h"

#include <algorithm>

namespace kt::net {

using std::chrono::steady_clock;

RateLimiter::RateLimiter(Options options, Clock clock)
    : options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return steady_clock::now(); })),
      max_per_shard_(std::max<size_t>(1, (options.max_keys + kShards - 1) / kShards)),
      shards_(kShards) {
  if (options_.burst <= 0) options_.burst = std::max(options_.per_second, 1.0);
}

double RateLimiter::Refilled(const Bucket& b, steady_clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed < 0) elapsed = 0;  // a clock must not go back; be safe if it does
  return std::min(options_.burst, b.tokens + elapsed * options_.per_second);
}

// Trim drops full buckets from the cold end of the LRU list, then evicts the
// least recently used buckets while the shard is over its bound.
void RateLimiter::Trim(Shard& shard, steady_clock::time_point now) {
  while (!shard.lru.empty()) {
    auto it = shard.buckets.find(shard.lru.back());
    bool full = Refilled(it->second, now) >= options_.burst;
    if (!full && shard.buckets.size() <= max_per_shard_) break;
    shard.buckets.erase(it);
    shard.lru.pop_back();
  }
}

bool RateLimiter::Allow(std::string_view key) {
  if (options_.per_second <= 0) return true;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  steady_clock::time_point now = clock_();
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    shard.lru.emplace_front(key);
    it = shard.buckets.emplace(shard.lru.front(), Bucket{options_.burst, now, shard.lru.begin()})
             .first;
  } else {
    it->second.tokens = Refilled(it->second, now);
    it->second.last = now;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru_pos);
  }
  bool allowed = it->second.tokens >= 1;
  if (allowed) it->second.tokens -= 1;
  Trim(shard, now);  // never removes `it`: it is at the LRU front and not full
  return allowed;
}

size_t RateLimiter::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

}  // namespace kt::net
