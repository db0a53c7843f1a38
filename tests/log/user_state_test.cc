// SPDX-License-Identifier: Apache-2.0
// UserState storage encoding (docs/formats.md "users"): known bytes, round
// trips, and every malformed input refused with Corruption.
#include <gtest/gtest.h>

#include "log/storage.h"
#include "tests/testing/vectors.h"

namespace kt::log {
namespace {

UserState TwoDevices() {
  UserState s;
  s.history = {3, 9, 1000000007};
  DeviceState a;
  a.device = "alpha";
  a.latest_index = 9;
  a.identity_key.fill(0xab);
  DeviceState b;
  b.device = std::string(255, 'z');  // the longest device id
  b.latest_index = 1000000007;
  b.revoked = true;
  b.identity_key.fill(0x01);
  s.devices = {a, b};
  return s;
}

TEST(UserStateTest, EncodesTheDocumentedLayout) {
  UserState s;
  s.history = {0x0102030405060708};
  DeviceState d;
  d.device = "d";
  d.latest_index = 7;
  d.revoked = true;
  d.identity_key.fill(0xee);
  s.devices = {d};
  std::string want = "00000001" "0102030405060708" "0001" "01" "64" "0000000000000007" "01" +
                     std::string(64, 'e');
  EXPECT_EQ(EncodeUserState(s), kt::testing::Hex(want));
  EXPECT_EQ(EncodeUserState(UserState()), kt::testing::Hex("000000000000"));
}

TEST(UserStateTest, RoundTrips) {
  for (const UserState& s : {UserState(), TwoDevices()}) {
    Bytes enc = EncodeUserState(s);
    auto dec = DecodeUserState(enc);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, s);
    // The decoded state takes one more Apply as any other state does.
    core::Entry e;
    e.user = "u";
    e.device = "beta";
    e.identity_key.fill(2);
    dec->Apply(2000000000, e);
    EXPECT_EQ(dec->NextPrev(), 2000000001u);
    EXPECT_TRUE(dec->IsCurrentDevice("beta"));
  }
}

TEST(UserStateTest, RefusesEveryTruncationAndTrailingBytes) {
  Bytes enc = EncodeUserState(TwoDevices());
  for (size_t n = 0; n < enc.size(); ++n) {
    auto dec = DecodeUserState(ByteSpan(enc.data(), n));
    EXPECT_EQ(dec.status().code(), Status::Code::kCorruption) << n;
  }
  enc.push_back(0);
  EXPECT_EQ(DecodeUserState(enc).status().code(), Status::Code::kCorruption);
}

TEST(UserStateTest, RefusesBadFields) {
  const Bytes good = EncodeUserState(TwoDevices());
  // history count 3 -> 0xffffffff (more than the bytes left)
  Bytes count = good;
  count[0] = count[1] = count[2] = count[3] = 0xff;
  EXPECT_EQ(DecodeUserState(count).status().code(), Status::Code::kCorruption);
  // history not increasing: the second index (9) becomes 3
  Bytes order = good;
  order[4 + 8 + 7] = 3;
  EXPECT_EQ(DecodeUserState(order).status().code(), Status::Code::kCorruption);
  // revoked flag 2 on the first device ("alpha"): after counts, history,
  // device count, length, id and latest index
  Bytes revoked = good;
  revoked[4 + 24 + 2 + 1 + 5 + 8] = 2;
  EXPECT_EQ(DecodeUserState(revoked).status().code(), Status::Code::kCorruption);
  // devices out of order
  UserState swapped = TwoDevices();
  std::swap(swapped.devices[0], swapped.devices[1]);
  EXPECT_EQ(DecodeUserState(EncodeUserState(swapped)).status().code(),
            Status::Code::kCorruption);
  // a device length running past the end
  Bytes length = good;
  length[4 + 24 + 2] = 0xff;
  EXPECT_EQ(DecodeUserState(length).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace kt::log
