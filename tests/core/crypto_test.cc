// SPDX-License-Identifier: Apache-2.0
// Tests for core/crypto: SHA-256 known answers, RFC 8032 Ed25519 test 1 and 2.
#include "core/crypto.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/encoding.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256(ByteSpan())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256({AsBytes("a"), AsBytes("bc")})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, ThreadsAgree) {
  Hash want = Sha256(AsBytes("abc"));
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; i++) {
        if (Sha256(AsBytes("abc")) != want) bad++;
        (void)Sha512(AsBytes("x"));
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// RFC 8032 §7.1 TEST 1 and TEST 2.
TEST(Ed25519Test, Rfc8032Vectors) {
  struct Case { const char* seed; const char* pub; const char* msg; const char* sig; };
  const Case cases[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const auto& c : cases) {
    auto signer = Ed25519Signer::FromSeed(Hex(c.seed));
    ASSERT_TRUE(signer.ok());
    EXPECT_EQ(HexEncode(signer->public_key()), c.pub);
    Bytes msg = Hex(c.msg);
    EXPECT_EQ(HexEncode(signer->Sign(msg)), c.sig);
    auto v = Ed25519Verifier::Create(Hex(c.pub));
    ASSERT_TRUE(v.ok());
    Bytes sig = Hex(c.sig);
    EXPECT_TRUE(v->Verify(msg, sig));
    for (size_t i = 0; i < sig.size(); i++) {
      Bytes bad = sig;
      bad[i] ^= 0x01;
      EXPECT_FALSE(v->Verify(msg, bad)) << i;
    }
    EXPECT_FALSE(v->Verify(msg, ByteSpan(sig).first(63)));
  }
}

TEST(Ed25519Test, RejectsBadKeySizes) {
  EXPECT_FALSE(Ed25519Verifier::Create(Bytes(31)).ok());
  EXPECT_FALSE(Ed25519Signer::FromSeed(Bytes(33)).ok());
}

}  // namespace
}  // namespace kt::core
