// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/tile.h entry bundles (C2SP tlog-tiles): the first
// byte picks the expected entry count (1..256), the rest is the bundle.
// Whatever DecodeEntryBundle accepts must hold exactly that many entries and
// re-encode to exactly the input bytes.
#include <cstdint>
#include <cstdlib>

#include "core/tile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  if (size == 0) return 0;
  size_t count = static_cast<size_t>(data[0]) + 1;
  ByteSpan bundle(data + 1, size - 1);
  auto entries = DecodeEntryBundle(bundle, count);
  if (!entries.ok()) return 0;
  KT_CHECK(entries->size() == count);
  auto encoded = EncodeEntryBundle(*entries);
  KT_CHECK(encoded.ok());
  KT_CHECK(Bytes(bundle.begin(), bundle.end()) == *encoded);
  auto again = DecodeEntryBundle(*encoded, count);
  KT_CHECK(again.ok() && *again == *entries);
  return 0;
}
