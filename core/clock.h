// SPDX-License-Identifier: Apache-2.0
// The wall clock as Unix time, the one place that reads it for timestamps
// (checkpoint cosignature times, freshness windows, integration latency).
#ifndef KT_CORE_CLOCK_H_
#define KT_CORE_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace kt::core {

// UnixSeconds is the system clock in whole seconds since 1970-01-01 UTC.
inline uint64_t UnixSeconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// UnixMillis is the system clock in milliseconds since 1970-01-01 UTC.
inline uint64_t UnixMillis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace kt::core

#endif  // KT_CORE_CLOCK_H_
