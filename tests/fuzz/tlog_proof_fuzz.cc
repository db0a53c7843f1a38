// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/tlog_proof: every accepted text formats back to itself
// byte for byte, and the re-parsed proof is equal.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/tlog_proof.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto proof = ParseTlogProof(text);
  if (!proof.ok()) return 0;
  std::string formatted = FormatTlogProof(*proof);
  if (formatted != text) std::abort();
  auto again = ParseTlogProof(formatted);
  if (!again.ok() || !(*again == *proof)) std::abort();
  return 0;
}
