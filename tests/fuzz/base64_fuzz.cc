// SPDX-License-Identifier: Apache-2.0
// Fuzzes the strict base64/hex/decimal decoders: any accepted input must
// re-encode to exactly itself (canonical forms only).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/encoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto b = kt::core::Base64Decode(in); b.ok()) {
    if (kt::core::Base64Encode(*b) != in) std::abort();
  }
  if (auto n = kt::core::ParseDecimal(in); n.ok()) {
    if (std::to_string(*n) != in) std::abort();
  }
  if (auto h = kt::core::HexDecode(in); h.ok()) {
    if (kt::core::HexDecode(kt::core::HexEncode(*h))->size() != h->size()) std::abort();
  }
  return 0;
}
