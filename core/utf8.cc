// SPDX-License-Identifier: Apache-2.0
// Strict UTF-8 validation, following the table of well-formed byte sequences
// in RFC 3629 §4 (also Unicode 15 Table 3-7).
#include "core/utf8.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kt::core {

bool IsValidUtf8(ByteSpan s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII runs 8 bytes at a time (user and device ids are mostly ASCII).
    if (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080u) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t b0 = s[i];
    if (b0 < 0x80) {
      i++;
      continue;
    }
    // RFC 3629 §4: UTF8-2 / UTF8-3 / UTF8-4 with their second-byte ranges.
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
      if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // no overlong 4-byte forms
      if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;  // continuation byte, 0xC0/0xC1 (overlong), or 0xF5..0xFF
    }
    if (n - i < len) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k < len; k++) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace kt::core
