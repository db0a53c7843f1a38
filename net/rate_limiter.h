// SPDX-License-Identifier: Apache-2.0
// Per-key token-bucket rate limiting (e.g. per client IP or per account) with
// bounded memory, for the nodes' HTTP front ends (429 on refusal).
#ifndef KT_NET_RATE_LIMITER_H_
#define KT_NET_RATE_LIMITER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kt::net {

// RateLimiter gives every key a token bucket that refills at `per_second`
// tokens per second up to `burst` tokens (a new key starts full). Allow takes
// a token if one is available.
//
// Memory is bounded: at most max_keys buckets are kept (least recently used
// ones are evicted first), and buckets that have refilled completely are
// dropped, since forgetting a full bucket changes nothing. Evicting a
// non-full bucket under key churn only ever errs towards allowing.
//
// Thread-safe; keys are spread over shards with their own mutex.
class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  struct Options {
    double per_second = 0;  // 0 disables limiting: Allow always returns true
    double burst = 0;       // 0 means burst = max(per_second, 1)
    size_t max_keys = 100000;
  };

  // clock defaults to steady_clock::now; tests inject a fake one.
  explicit RateLimiter(Options options, Clock clock = nullptr);

  // Allow reports whether a request for key may proceed now, consuming a
  // token if so.
  bool Allow(std::string_view key);
  // size is the number of buckets currently kept (for tests and metrics).
  size_t size() const;
  bool enabled() const { return options_.per_second > 0; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
    std::list<std::string>::iterator lru_pos;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
    std::list<std::string> lru;  // front = most recently used
  };
  static constexpr size_t kShards = 16;

  double Refilled(const Bucket& b, std::chrono::steady_clock::time_point now) const;
  void Trim(Shard& shard, std::chrono::steady_clock::time_point now);

  Options options_;
  Clock clock_;
  size_t max_per_shard_;
  std::vector<Shard> shards_;
};

}  // namespace kt::net

#endif  // KT_NET_RATE_LIMITER_H_
