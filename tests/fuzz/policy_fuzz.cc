// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/policy: every accepted policy formats to a text that
// parses to the same policy and formats identically again; quorum evaluation
// terminates and agrees between the two parses.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = ParsePolicy(text);
  if (!policy.ok()) return 0;
  std::string formatted = FormatPolicy(*policy);
  auto again = ParsePolicy(formatted);
  if (!again.ok() || !SamePolicy(*policy, *again)) std::abort();
  if (FormatPolicy(*again) != formatted) std::abort();
  std::set<std::string> all, first;
  for (const auto& w : policy->witnesses) all.insert(w.name);
  if (!policy->witnesses.empty()) first.insert(policy->witnesses[0].name);
  if (!QuorumSatisfied(*policy, all)) std::abort();  // every witness cosigned
  if (QuorumSatisfied(*policy, first) != QuorumSatisfied(*again, first)) std::abort();
  return 0;
}
