// SPDX-License-Identifier: Apache-2.0
// Tests for core/utf8: the RFC 3629 §4 well-formed sequences and their edges.
#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kt::core {
namespace {

TEST(Utf8Test, AcceptsWellFormed) {
  for (std::string s : {std::string(""), std::string("abc"), std::string(1, '\0'),
                        std::string("\xc2\x80"), std::string("\xdf\xbf"),
                        std::string("\xe0\xa0\x80"), std::string("\xed\x9f\xbf"),
                        std::string("\xee\x80\x80"), std::string("\xef\xbf\xbf"),
                        std::string("\xf0\x90\x80\x80"), std::string("\xf4\x8f\xbf\xbf")}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
  }
}

TEST(Utf8Test, RejectsIllFormed) {
  for (std::string s : {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41",
                        "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xe1\x80",
                        "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                        "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "a\xe2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(s)) << s;
  }
}

// Exhaustive over every 1-, 2- and 3-byte sequence against a decoder that
// computes the scalar value and applies the definition directly.
TEST(Utf8Test, MatchesDefinitionExhaustively) {
  auto reference = [](const uint8_t* p, size_t n) -> bool {
    size_t i = 0;
    while (i < n) {
      uint32_t c = p[i];
      size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (len == 0 || i + len > n) return false;
      if (len > 1) c &= (0xFFu >> (len + 1));
      for (size_t k = 1; k < len; k++) {
        if ((p[i + k] & 0xC0) != 0x80) return false;
        c = (c << 6) | (p[i + k] & 0x3Fu);
      }
      const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
      if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
      i += len;
    }
    return true;
  };
  uint8_t buf[3];
  for (uint32_t v = 0; v < (1u << 24); v += 1) {
    buf[0] = static_cast<uint8_t>(v >> 16);
    buf[1] = static_cast<uint8_t>(v >> 8);
    buf[2] = static_cast<uint8_t>(v);
    ASSERT_EQ(IsValidUtf8(ByteSpan(buf, 3)), reference(buf, 3)) << v;
    if ((v & 0xFFFF) == 0) {
      ASSERT_EQ(IsValidUtf8(ByteSpan(buf, 1)), reference(buf, 1));
    }
    if ((v & 0xFF) == 0) {
      ASSERT_EQ(IsValidUtf8(ByteSpan(buf, 2)), reference(buf, 2));
    }
  }
}

// Long ASCII runs take a word-at-a-time path: a bad or multi-byte sequence
// at any offset (inside or after a word) must still be judged byte-exactly.
TEST(Utf8Test, SequencesAtEveryOffsetOfAsciiRuns) {
  for (size_t len = 1; len <= 40; len++) {
    for (size_t at = 0; at < len; at++) {
      std::vector<uint8_t> s(len, 'a');
      EXPECT_TRUE(IsValidUtf8(ByteSpan(s))) << len;
      s[at] = 0xFF;
      EXPECT_FALSE(IsValidUtf8(ByteSpan(s))) << len << " " << at;
      s[at] = 0xC3;  // a 2-byte sequence cut short or completed
      EXPECT_FALSE(IsValidUtf8(ByteSpan(s))) << len << " " << at;
      if (at + 1 < len) {
        s[at + 1] = 0xA9;
        EXPECT_TRUE(IsValidUtf8(ByteSpan(s))) << len << " " << at;
      }
    }
  }
}

}  // namespace
}  // namespace kt::core
