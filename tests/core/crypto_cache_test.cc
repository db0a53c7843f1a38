// SPDX-License-Identifier: Apache-2.0
// Tests for core/crypto_cache.h: the cached Ed25519 verification returns
// exactly what Ed25519Verify returns; only successes are remembered, under
// every input.
#include "core/crypto_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/crypto.h"

namespace kt::core {
namespace {

TEST(SignatureCacheTest, RemembersOnlyExactSuccesses) {
  ClearSignatureCache();
  Ed25519Signer alice = Ed25519Signer::Generate();
  const Bytes msg = {1, 2, 3, 4};
  const auto sig = alice.Sign(msg);
  const SignatureCacheStats s0 = GetSignatureCacheStats();
  EXPECT_TRUE(Ed25519VerifyCached(alice.public_key(), msg, sig));  // miss: verified
  EXPECT_TRUE(Ed25519VerifyCached(alice.public_key(), msg, sig));  // hit
  const SignatureCacheStats s1 = GetSignatureCacheStats();
  EXPECT_EQ(s1.misses - s0.misses, 1u);
  EXPECT_EQ(s1.hits - s0.hits, 1u);

  // After that success, each changed input is verified in full and refused,
  // every time.
  Bytes other_msg = msg;
  other_msg.push_back(5);
  auto bad_sig = sig;
  bad_sig[10] ^= 1;
  Ed25519Signer mallory = Ed25519Signer::Generate();
  for (int round = 0; round < 2; round++) {
    EXPECT_FALSE(Ed25519VerifyCached(alice.public_key(), other_msg, sig));
    EXPECT_FALSE(Ed25519VerifyCached(alice.public_key(), msg, bad_sig));
    EXPECT_FALSE(Ed25519VerifyCached(mallory.public_key(), msg, sig));
  }
  EXPECT_EQ(GetSignatureCacheStats().hits, s1.hits);  // no refusal came from the cache
  // Wrong sizes fail as Ed25519Verify does and are never cached.
  EXPECT_FALSE(Ed25519VerifyCached(ByteSpan(alice.public_key().data(), 31), msg, sig));
  EXPECT_FALSE(Ed25519VerifyCached(alice.public_key(), msg, ByteSpan(sig.data(), 63)));

  // Cleared: verified in full again.
  ClearSignatureCache();
  const uint64_t misses = GetSignatureCacheStats().misses;
  EXPECT_TRUE(Ed25519VerifyCached(alice.public_key(), msg, sig));
  EXPECT_EQ(GetSignatureCacheStats().misses, misses + 1);
}

TEST(SignatureCacheTest, AgreesWithUncachedAcrossThreads) {
  ClearSignatureCache();
  std::vector<Ed25519Signer> keys;
  std::vector<Bytes> msgs;
  std::vector<std::array<uint8_t, 64>> sigs;
  for (uint8_t i = 0; i < 6; i++) {
    keys.push_back(Ed25519Signer::Generate());
    msgs.push_back(Bytes(i + 1, i));
    sigs.push_back(keys.back().Sign(msgs.back()));
  }
  std::atomic<int> wrong{0};
  auto run = [&](size_t first) {
    for (size_t round = 0; round < 12; round++) {
      const size_t i = (first + round) % keys.size();
      const size_t j = (i + 1) % keys.size();  // another key's signature
      if (!Ed25519VerifyCached(keys[i].public_key(), msgs[i], sigs[i])) wrong++;
      if (Ed25519VerifyCached(keys[i].public_key(), msgs[i], sigs[j])) wrong++;
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 3; t++) threads.emplace_back(run, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace kt::core
