// SPDX-License-Identifier: Apache-2.0
// Tests for x3dh/device_auth.h: header format/parse round trip and strict
// rejection, the exact signed message, signature binding to every field,
// freshness bounds, and the replay cache (replay, expiry, full → refuse,
// concurrent use).
#include "x3dh/device_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"

namespace kt::x3dh {
namespace {

constexpr uint64_t kNow = 1'750'000'000;
const std::string kNonce = "00112233445566778899aabbccddeeff";

core::ByteSpan Body(const std::string& s) { return core::AsBytes(s); }

TEST(DeviceAuthTest, FormatParseRoundTrip) {
  auto key = core::Ed25519Signer::Generate();
  std::string body = R"({"x":1})";
  DeviceAuth auth = SignDeviceRequest(key, "PUT", "/v1/prekeys/bob/phone", Body(body), kNow, kNonce);
  std::string header = FormatDeviceAuth(auth);
  EXPECT_EQ(header.rfind("KT-Device ts=1750000000,nonce=" + kNonce + ",sig=", 0), 0u) << header;
  auto parsed = ParseDeviceAuth(header);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, auth);
  EXPECT_EQ(FormatDeviceAuth(*parsed), header);
}

TEST(DeviceAuthTest, ParseRejectsNonCanonical) {
  auto key = core::Ed25519Signer::Generate();
  std::string good = FormatDeviceAuth(SignDeviceRequest(key, "GET", "/p", {}, kNow, kNonce));
  ASSERT_TRUE(ParseDeviceAuth(good).ok());
  std::string sig = good.substr(good.find(",sig=") + 5);
  std::vector<std::string> bad = {
      "",
      "KT-Device",
      "KT-Device ",
      "kt-device ts=1,nonce=" + kNonce + ",sig=" + sig,
      "KT-Device  ts=1,nonce=" + kNonce + ",sig=" + sig,
      "Bearer ts=1,nonce=" + kNonce + ",sig=" + sig,
      "KT-Device ts=01,nonce=" + kNonce + ",sig=" + sig,
      "KT-Device ts=,nonce=" + kNonce + ",sig=" + sig,
      "KT-Device ts=-1,nonce=" + kNonce + ",sig=" + sig,
      "KT-Device ts=18446744073709551616,nonce=" + kNonce + ",sig=" + sig,
      "KT-Device ts=1, nonce=" + kNonce + ",sig=" + sig,
      "KT-Device nonce=" + kNonce + ",ts=1,sig=" + sig,
      "KT-Device ts=1,nonce=00112233445566778899AABBCCDDEEFF,sig=" + sig,
      "KT-Device ts=1,nonce=00112233445566778899aabbccddeef,sig=" + sig,
      "KT-Device ts=1,nonce=00112233445566778899aabbccddeeff0,sig=" + sig,
      "KT-Device ts=1,nonce=" + kNonce + ",sig=" + sig.substr(1),
      "KT-Device ts=1,nonce=" + kNonce + ",sig=" + sig + "=",
      "KT-Device ts=1,nonce=" + kNonce + ",sig=" + sig + ",x=1",
      "KT-Device ts=1,nonce=" + kNonce + ",sig=" + sig + " ",
      "KT-Device ts=1,nonce=" + kNonce + ",sig=" + sig.substr(0, 86) + "_=",
      "KT-Device ts=1,nonce=" + kNonce,
  };
  for (const auto& h : bad) EXPECT_FALSE(ParseDeviceAuth(h).ok()) << h;
}

TEST(DeviceAuthTest, MessageIsExactlyTheContract) {
  core::Bytes m = DeviceAuthMessage("DELETE", "/v1/messages/b ob/ph", 42, kNonce, {});
  std::string expected = "kt-device-auth-v1\nDELETE\n/v1/messages/b ob/ph\n42\n" + kNonce + "\n" +
                         core::HexEncode(core::Sha256(core::ByteSpan{})) + "\n";
  EXPECT_EQ(core::ToString(m), expected);
  // SHA-256 of the empty string, as the contract says for GET and DELETE.
  EXPECT_NE(expected.find("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            std::string::npos);
}

TEST(DeviceAuthTest, SignatureBindsEveryField) {
  auto key = core::Ed25519Signer::Generate();
  std::string body = "payload";
  DeviceAuth auth = SignDeviceRequest(key, "PUT", "/v1/prekeys/bob/phone", Body(body), kNow);
  auto verifier = core::Ed25519Verifier::Create(key.public_key());
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(VerifyDeviceAuthSignature(*verifier, auth, "PUT", "/v1/prekeys/bob/phone", Body(body)));
  EXPECT_TRUE(VerifyDeviceAuthSignature(key.public_key(), auth, "PUT", "/v1/prekeys/bob/phone",
                                        Body(body)));
  std::string other = "payloaD";
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, auth, "POST", "/v1/prekeys/bob/phone", Body(body)));
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, auth, "PUT", "/v1/prekeys/bob/phone2", Body(body)));
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, auth, "PUT", "/v1/prekeys/bob/phone", Body(other)));
  DeviceAuth ts = auth;
  ts.ts += 1;
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, ts, "PUT", "/v1/prekeys/bob/phone", Body(body)));
  DeviceAuth nonce = auth;
  nonce.nonce[0] = nonce.nonce[0] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, nonce, "PUT", "/v1/prekeys/bob/phone", Body(body)));
  for (size_t i = 0; i < auth.signature.size(); i += 7) {
    DeviceAuth sig = auth;
    sig.signature[i] ^= 0x01;
    EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, sig, "PUT", "/v1/prekeys/bob/phone", Body(body)));
  }
  auto other_key = core::Ed25519Signer::Generate();
  EXPECT_FALSE(VerifyDeviceAuthSignature(other_key.public_key(), auth, "PUT",
                                         "/v1/prekeys/bob/phone", Body(body)));
  // Malformed inputs are refusals, not aborts.
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, auth, "put", "/v1/prekeys/bob/phone", Body(body)));
  DeviceAuth short_nonce = auth;
  short_nonce.nonce = "ab";
  EXPECT_FALSE(VerifyDeviceAuthSignature(*verifier, short_nonce, "PUT", "/v1/prekeys/bob/phone",
                                         Body(body)));
}

TEST(DeviceAuthTest, HeaderHelperUsesFreshNonces) {
  auto key = core::Ed25519Signer::Generate();
  std::string a = DeviceAuthHeader(key, "GET", "/v1/prekeys/u/d/count", {}, kNow);
  std::string b = DeviceAuthHeader(key, "GET", "/v1/prekeys/u/d/count", {}, kNow);
  auto pa = ParseDeviceAuth(a);
  auto pb = ParseDeviceAuth(b);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_NE(pa->nonce, pb->nonce);
  EXPECT_TRUE(VerifyDeviceAuthSignature(key.public_key(), *pa, "GET", "/v1/prekeys/u/d/count", {}));
}

TEST(DeviceAuthTest, Freshness) {
  EXPECT_TRUE(DeviceAuthFresh(kNow, kNow));
  EXPECT_TRUE(DeviceAuthFresh(kNow - 300, kNow));
  EXPECT_TRUE(DeviceAuthFresh(kNow + 300, kNow));
  EXPECT_FALSE(DeviceAuthFresh(kNow - 301, kNow));
  EXPECT_FALSE(DeviceAuthFresh(kNow + 301, kNow));
  EXPECT_FALSE(DeviceAuthFresh(0, kNow));
  EXPECT_FALSE(DeviceAuthFresh(UINT64_MAX, kNow));
  EXPECT_TRUE(DeviceAuthFresh(UINT64_MAX, UINT64_MAX - 5));
  EXPECT_TRUE(DeviceAuthFresh(0, 10, 10));
  EXPECT_FALSE(DeviceAuthFresh(0, 11, 10));
}

TEST(ReplayCacheTest, RefusesReplayWithinTwoWindows) {
  ReplayCache cache(16, 300);
  EXPECT_TRUE(cache.CheckAndRemember("bob", "phone", kNonce, kNow).ok());
  auto again = cache.CheckAndRemember("bob", "phone", kNonce, kNow + 600);
  EXPECT_EQ(again.code(), core::Status::Code::kUnauthenticated);
  // Other devices and users have their own nonce space; the split between
  // user and device is part of the key.
  EXPECT_TRUE(cache.CheckAndRemember("bob", "laptop", kNonce, kNow).ok());
  EXPECT_TRUE(cache.CheckAndRemember("bobp", "hone", kNonce, kNow).ok());
  EXPECT_EQ(cache.size(), 3u);
  // After 2 × window the entry is forgotten (its ts can no longer be fresh).
  EXPECT_TRUE(cache.CheckAndRemember("bob", "phone", kNonce, kNow + 601).ok());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ReplayCacheTest, FullOfLiveEntriesRefusesInsteadOfForgetting) {
  ReplayCache cache(4, 300);
  for (int i = 0; i < 4; ++i) {
    std::string nonce = kNonce.substr(0, 31) + std::to_string(i);
    ASSERT_TRUE(cache.CheckAndRemember("u", "d", nonce, kNow + i).ok());
  }
  auto full = cache.CheckAndRemember("u", "d", kNonce.substr(0, 31) + "9", kNow + 10);
  EXPECT_EQ(full.code(), core::Status::Code::kUnavailable);
  // A remembered nonce is still reported as a replay, not forgotten.
  EXPECT_EQ(cache.CheckAndRemember("u", "d", kNonce.substr(0, 31) + "0", kNow + 10).code(),
            core::Status::Code::kUnauthenticated);
  // Once the first entry expires there is room again.
  EXPECT_TRUE(cache.CheckAndRemember("u", "d", kNonce.substr(0, 31) + "9", kNow + 601).ok());
  EXPECT_EQ(cache.size(), 4u);
}

TEST(ReplayCacheTest, ConcurrentSameNonceAcceptedOnce) {
  ReplayCache cache(1024, 300);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        std::string nonce = core::HexEncode(core::Sha256(core::AsBytes(std::to_string(i)))).substr(0, 32);
        if (cache.CheckAndRemember("u", "d", nonce, kNow).ok()) accepted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 50);
  EXPECT_EQ(cache.size(), 50u);
}

}  // namespace
}  // namespace kt::x3dh
