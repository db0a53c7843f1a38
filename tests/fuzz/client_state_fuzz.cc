// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the client's local file parsers: the state file
// (client/state_store.h), fork evidence (client/evidence.h) and the audit
// position (client/audit.h). Every accepted input must format back to
// exactly the same bytes and parse again to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/audit.h"
#include "client/evidence.h"
#include "client/state_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::client;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto st = ParseStateFile(text); st.ok()) {
    if (FormatStateFile(st->note) != text) std::abort();
    auto again = ParseStateFile(FormatStateFile(st->note));
    if (!again.ok() || again->checkpoint != st->checkpoint) std::abort();
  }
  if (auto ev = ParseEvidence(text); ev.ok()) {
    std::string formatted = FormatEvidence(*ev);
    if (formatted != text) std::abort();
    auto again = ParseEvidence(formatted);
    if (!again.ok() || !(*again == *ev)) std::abort();
  }
  if (auto pos = ParseAuditPosition(text); pos.ok()) {
    if (FormatAuditPosition(*pos) != text) std::abort();
  }
  return 0;
}
