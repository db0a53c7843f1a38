// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/checkpoint (C2SP tlog-checkpoint): every text
// ParseCheckpoint accepts formats back to exactly the input and re-parses
// equal, and is a valid signed-note text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/checkpoint.h"
#include "core/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cp = ParseCheckpoint(text);
  if (!cp.ok()) return 0;
  if (cp->origin.empty() || !IsNoteText(text)) std::abort();
  for (const auto& ext : cp->extensions) {
    if (ext.empty()) std::abort();
  }
  const std::string formatted = FormatCheckpoint(*cp);
  if (formatted != text) std::abort();
  auto again = ParseCheckpoint(formatted);
  if (!again.ok() || !(*again == *cp)) std::abort();
  return 0;
}
