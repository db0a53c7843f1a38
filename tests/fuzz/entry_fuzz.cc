// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/entry: whatever DecodeEntry accepts must re-encode to
// exactly the input (canonical form), pass ValidateEntry, and decode again to
// an equal Entry. Signature checks must not crash on any accepted entry.
#include <cstdint>
#include <cstdlib>

#include "core/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  ByteSpan in(data, size);
  auto entry = DecodeEntry(in);
  if (!entry.ok()) return 0;
  if (!ValidateEntry(*entry).ok()) std::abort();
  auto enc = EncodeEntry(*entry);
  if (!enc.ok() || *enc != Bytes(in.begin(), in.end())) std::abort();
  auto again = DecodeEntry(*enc);
  if (!again.ok() || !(*again == *entry)) std::abort();
  (void)VerifyPossession(*entry);
  return 0;
}
