// SPDX-License-Identifier: Apache-2.0
// Tests for core/encoding: strict base64, hex, canonical decimal, Reader/Writer.
#include "core/encoding.h"

#include <gtest/gtest.h>

namespace kt::core {
namespace {

TEST(Base64Test, RoundTripsAllLengths) {
  Bytes data;
  for (int n = 0; n < 40; n++) {
    auto dec = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(dec.ok()) << n;
    EXPECT_EQ(*dec, data);
    data.push_back(static_cast<uint8_t>(n * 37));
  }
}

TEST(Base64Test, RejectsNonCanonical) {
  EXPECT_TRUE(Base64Decode("YQ==").ok());
  EXPECT_FALSE(Base64Decode("YR==").ok());   // unused bits set
  EXPECT_FALSE(Base64Decode("YQ=").ok());    // short padding
  EXPECT_FALSE(Base64Decode("YQ").ok());     // missing padding
  EXPECT_FALSE(Base64Decode("Y===").ok());
  EXPECT_FALSE(Base64Decode("YQ==YQ==").ok());  // padding in the middle
  EXPECT_FALSE(Base64Decode("-_==").ok());   // URL alphabet
  EXPECT_FALSE(Base64Decode("YW Jj").ok());  // whitespace
  EXPECT_FALSE(Base64Decode("YWJj\n").ok());
}

TEST(HexTest, DecodesAndRejects) {
  EXPECT_EQ(HexEncode(*HexDecode("00fFa1")), "00ffa1");
  EXPECT_FALSE(HexDecode("0").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexToHash("00").ok());
}

TEST(ParseDecimalTest, AcceptsOnlyCanonical) {
  EXPECT_EQ(*ParseDecimal("0"), 0u);
  EXPECT_EQ(*ParseDecimal("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(ParseDecimal("18446744073709551616").ok());
  EXPECT_FALSE(ParseDecimal("007").ok());
  EXPECT_FALSE(ParseDecimal("").ok());
  EXPECT_FALSE(ParseDecimal("+1").ok());
  EXPECT_FALSE(ParseDecimal("-1").ok());
  EXPECT_FALSE(ParseDecimal("1 ").ok());
}

TEST(ReaderWriterTest, RoundTripsAndStopsOnShortInput) {
  Writer w;
  w.U8(1);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.U64(0x08090a0b0c0d0e0full);
  w.Vec8(AsBytes("ab"));
  w.Vec16(AsBytes("cde"));
  Bytes b = w.Take();
  Reader r(b);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  ByteSpan v8, v16;
  ASSERT_TRUE(r.U8(&u8) && r.U16(&u16) && r.U32(&u32) && r.U64(&u64) && r.Vec8(&v8) && r.Vec16(&v16));
  EXPECT_EQ(u8, 1);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u32, 0x04050607u);
  EXPECT_EQ(u64, 0x08090a0b0c0d0e0full);
  EXPECT_EQ(AsStringView(v8), "ab");
  EXPECT_EQ(AsStringView(v16), "cde");
  EXPECT_TRUE(r.empty());
  Reader shortr(ByteSpan(b).first(3));
  EXPECT_TRUE(shortr.U8(&u8));
  EXPECT_TRUE(shortr.U16(&u16));
  EXPECT_FALSE(shortr.U32(&u32));
}

}  // namespace
}  // namespace kt::core
