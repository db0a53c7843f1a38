// SPDX-License-Identifier: Apache-2.0
// Tests for core/crypto_dh: RFC 7748 §5.2 / §6.1 X25519, the Ed25519 ->
// X25519 conversions, RFC 5869 HKDF, and AES-256-GCM (McGrew-Viega GCM spec
// test cases 13, 14, 16, the ones NIST's validation suite also lists).
#include "core/crypto_dh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/encoding.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;

std::string HexOf(const StatusOr<X25519SharedSecret>& s) {
  return s.ok() ? HexEncode(*s) : s.status().ToString();
}

// RFC 7748 §5.2, the two single-step test vectors.
TEST(X25519Test, Rfc7748FunctionVectors) {
  EXPECT_EQ(HexOf(X25519(Hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                         Hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  EXPECT_EQ(HexOf(X25519(Hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                         Hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// RFC 7748 §5.2 iterated test: k = X25519(k, u), u = old k, after 1 and 1000.
TEST(X25519Test, Rfc7748Iterated) {
  Bytes k = Hex("0900000000000000000000000000000000000000000000000000000000000000");
  Bytes u = k;
  for (int i = 1; i <= 1000; i++) {
    auto r = X25519(k, u);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    u = k;
    k.assign(r->begin(), r->end());
    if (i == 1) {
      EXPECT_EQ(HexEncode(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(HexEncode(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// RFC 7748 §6.1 Diffie-Hellman example.
TEST(X25519Test, Rfc7748DiffieHellman) {
  const Bytes a = Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes b = Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  auto pa = X25519PublicFromPrivate(a);
  auto pb = X25519PublicFromPrivate(b);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(HexEncode(*pa), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(HexEncode(*pb), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(HexOf(X25519(a, *pb)), shared);
  EXPECT_EQ(HexOf(X25519(b, *pa)), shared);
}

TEST(X25519Test, RejectsSmallOrderPeerKeys) {
  const Bytes priv = Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  // u = 0 and u = 1 are small-order points: the shared secret is all zero.
  for (const char* u : {"0000000000000000000000000000000000000000000000000000000000000000",
                        "0100000000000000000000000000000000000000000000000000000000000000",
                        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
    auto r = X25519(priv, Hex(u));
    ASSERT_FALSE(r.ok()) << u;
    EXPECT_EQ(r.status().code(), Status::Code::kVerificationFailed) << u;
  }
}

TEST(X25519Test, RejectsWrongSizes) {
  EXPECT_EQ(X25519(Bytes(31), Bytes(32, 9)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(X25519(Bytes(32, 1), Bytes(33, 9)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(X25519PublicFromPrivate(Bytes(0)).ok());
}

TEST(X25519Test, GeneratedPairsAgree) {
  X25519KeyPair a = GenerateX25519();
  X25519KeyPair b = GenerateX25519();
  EXPECT_NE(a.public_key, b.public_key);
  EXPECT_EQ(HexEncode(*X25519PublicFromPrivate(a.private_key.span())), HexEncode(a.public_key));
  EXPECT_EQ(HexOf(X25519(a.private_key.span(), b.public_key)),
            HexOf(X25519(b.private_key.span(), a.public_key)));
  auto k = X25519PrivateKey::FromBytes(a.private_key.span());
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->public_key(), a.public_key);
  EXPECT_EQ(HexOf(k->Agree(b.public_key)), HexOf(X25519(a.private_key.span(), b.public_key)));
}

// FromKeyPair (stored key pairs) agrees exactly like FromBytes, and uses the
// private key alone for DH.
TEST(X25519Test, FromKeyPairMatchesFromBytes) {
  X25519KeyPair a = GenerateX25519();
  X25519KeyPair b = GenerateX25519();
  auto k = X25519PrivateKey::FromKeyPair(a.private_key.span(), a.public_key);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->public_key(), a.public_key);
  EXPECT_EQ(HexOf(k->Agree(b.public_key)), HexOf(X25519(a.private_key.span(), b.public_key)));
  auto wrong_pub = X25519PrivateKey::FromKeyPair(a.private_key.span(), b.public_key);
  ASSERT_TRUE(wrong_pub.ok());
  EXPECT_EQ(HexOf(wrong_pub->Agree(b.public_key)), HexOf(X25519(a.private_key.span(), b.public_key)));
  EXPECT_EQ(X25519PrivateKey::FromKeyPair(Bytes(31), a.public_key).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(X25519PrivateKey::FromKeyPair(a.private_key.span(), Bytes(33)).status().code(),
            Status::Code::kInvalidArgument);
}

// One parsed key reused for many peers (its derive context is kept), from
// several threads at once, and interleaved with small-order peers that fail:
// every result equals the one-shot X25519 of fresh keys.
TEST(X25519Test, ReusedKeyAgreesWithManyPeersAcrossThreads) {
  X25519KeyPair a = GenerateX25519();
  auto k = X25519PrivateKey::FromBytes(a.private_key.span());
  ASSERT_TRUE(k.ok());
  std::vector<X25519KeyPair> peers;
  std::vector<std::string> want;
  for (int i = 0; i < 8; i++) {
    peers.push_back(GenerateX25519());
    want.push_back(HexOf(X25519(peers.back().private_key.span(), a.public_key)));
  }
  const Bytes small_order(32, 0);
  std::atomic<int> mismatches{0};
  auto run = [&](size_t first) {
    for (size_t round = 0; round < 20; round++) {
      const size_t i = (first + round) % peers.size();
      if (HexOf(k->Agree(peers[i].public_key)) != want[i]) mismatches++;
      if (k->Agree(small_order).status().code() != Status::Code::kVerificationFailed) mismatches++;
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; t++) threads.emplace_back(run, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  X25519PrivateKey copy = *k;  // copies share the parsed key and its context
  EXPECT_EQ(HexOf(copy.Agree(peers[0].public_key)), want[0]);
}

// The Ed25519 base point (y = 4/5) maps to the X25519 base point u = 9, and
// 2B to the u of [2](9).
TEST(Ed25519ToX25519Test, BasePointMapsToNine) {
  auto u = Ed25519PublicToX25519(Hex("5866666666666666666666666666666666666666666666666666666666666666"));
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(HexEncode(*u), "0900000000000000000000000000000000000000000000000000000000000000");
  auto u2 = Ed25519PublicToX25519(Hex("c9a3f86aae465f0e56513864510f3997561fa2c9e85ea21dc2292309f3cd6022"));
  ASSERT_TRUE(u2.ok()) << u2.status().ToString();
  EXPECT_EQ(HexEncode(*u2), "fb4e68dd9c46ae5c5c0b351eed5c3f8f1471157d680c75d9b7f17318d542d320");
}

TEST(Ed25519ToX25519Test, RejectsUnsafeKeys) {
  const char* bad[] = {
      // identity (y = 1), and with the sign bit set
      "0100000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000080",
      // y = -1 (order 2)
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      // a point of order 8
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      // mixed order: base point + that order-8 point
      "98519eadf35b995233b51b5cd23e9cc5a28b639b5a4af0ec903cb960d81b7819",
      // non-canonical y = p + 1 and y = p
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      // y = 2 is not on the curve
      "0200000000000000000000000000000000000000000000000000000000000000",
  };
  for (const char* h : bad) {
    auto r = Ed25519PublicToX25519(Hex(h));
    EXPECT_FALSE(r.ok()) << h;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << h;
    }
  }
  EXPECT_FALSE(Ed25519PublicToX25519(Bytes(31)).ok());
}

// The two conversions agree: X25519 public of the converted private key equals
// the converted public key, for random Ed25519 keys.
TEST(Ed25519ToX25519Test, PublicAndPrivateConversionsAgree) {
  for (int i = 0; i < 64; i++) {
    Ed25519Signer signer = Ed25519Signer::Generate();
    auto from_pub = Ed25519PublicToX25519(signer.public_key());
    ASSERT_TRUE(from_pub.ok()) << from_pub.status().ToString();
    SecretBytes priv = Ed25519SeedToX25519Private(signer.seed().span());
    ASSERT_EQ(priv.size(), 32u);
    auto from_priv = X25519PublicFromPrivate(priv.span());
    ASSERT_TRUE(from_priv.ok());
    EXPECT_EQ(HexEncode(*from_pub), HexEncode(*from_priv));
  }
}

constexpr int kExpectedRandomAccepted = 34;
constexpr char kExpectedTranscript[] =
    "0b7992477676f4e94789d8156948e13fcee1619a26160d380f9c5f20a0c483c5";

// AddOrderTwo returns the encoding of P + (0, -1), i.e. (-x, -y), for the
// encoding of P = (x, y) with y != 0: y' = p - y and the sign bit flipped.
Bytes AddOrderTwo(ByteSpan enc) {
  static const Bytes kP = Hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  Bytes out(32);
  int borrow = 0;
  for (size_t i = 0; i < 32; i++) {
    const int y = i == 31 ? (enc[i] & 0x7f) : enc[i];
    int d = kP[i] - y - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<uint8_t>(d + 256 * borrow);
  }
  out[31] = static_cast<uint8_t>(out[31] | ((enc[31] & 0x80) ^ 0x80));
  return out;
}

// Differential regression: 512 pseudo-random 32-byte strings (about half are
// curve points, and 7 in 8 of those lie outside the prime-order subgroup, with
// torsion of order 2, 4 or 8), 64 valid keys, and those keys plus the point of
// order 2. The digest of all results (accepted + u, or refused) was produced by
// the first implementation (a plain double-and-add [L]P and a separate
// inversion, kept in git history); any rewrite must reproduce it exactly.
TEST(Ed25519ToX25519Test, MatchesFirstImplementationOnRandomAndTorsionPoints) {
  Bytes transcript;
  int accepted_random = 0, accepted_valid = 0, accepted_shifted = 0;
  auto feed = [&](ByteSpan in) {
    auto r = Ed25519PublicToX25519(in);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    }
    transcript.push_back(r.ok() ? 1 : 0);
    if (r.ok()) transcript.insert(transcript.end(), r->begin(), r->end());
    return r.ok();
  };
  for (int i = 0; i < 512; i++) {
    const std::string label = "kt ed25519->x25519 random " + std::to_string(i);
    const Hash in = Sha256(AsBytes(label));
    accepted_random += feed(in) ? 1 : 0;
  }
  for (int i = 0; i < 64; i++) {
    const std::string label = "kt ed25519->x25519 seed " + std::to_string(i);
    auto signer = Ed25519Signer::FromSeed(Sha256(AsBytes(label)));
    ASSERT_TRUE(signer.ok());
    accepted_valid += feed(signer->public_key()) ? 1 : 0;
    accepted_shifted += feed(AddOrderTwo(signer->public_key())) ? 1 : 0;
  }
  EXPECT_EQ(accepted_valid, 64);
  EXPECT_EQ(accepted_shifted, 0);
  EXPECT_EQ(accepted_random, kExpectedRandomAccepted);
  EXPECT_EQ(HexEncode(Sha256(transcript)), kExpectedTranscript);
}

// The cached conversion returns what the uncached one returns, for more keys
// than the cache holds (so entries are evicted and recomputed), from several
// threads at once, before and after a Clear; refused keys stay refused.
TEST(Ed25519ToX25519Test, CachedConversionEqualsUncached) {
  std::vector<Bytes> keys;
  std::vector<std::string> want;
  for (int i = 0; i < 1500; i++) {
    const std::string label = "kt cache " + std::to_string(i);
    const Hash h = Sha256(AsBytes(label));
    // Two in three valid keys, the rest pseudo-random bytes (mostly refused).
    Bytes k;
    if (i % 3 != 2) {
      auto signer = Ed25519Signer::FromSeed(h);
      KT_CHECK(signer.ok());
      k.assign(signer->public_key().begin(), signer->public_key().end());
    } else {
      k.assign(h.begin(), h.end());
    }
    auto r = Ed25519PublicToX25519(k);
    keys.push_back(k);
    want.push_back(r.ok() ? HexEncode(*r) : r.status().ToString());
  }
  auto check_all = [&](size_t offset) {
    for (size_t j = 0; j < keys.size(); j++) {
      const size_t i = (j + offset) % keys.size();
      auto r = Ed25519PublicToX25519Cached(keys[i]);
      ASSERT_EQ(r.ok() ? HexEncode(*r) : r.status().ToString(), want[i]) << i;
    }
  };
  ClearEd25519ToX25519Cache();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; t++) threads.emplace_back([&, t] { check_all(t * 97); });
  for (auto& t : threads) t.join();
  check_all(0);  // mostly hits now
  check_all(0);
  ClearEd25519ToX25519Cache();
  check_all(5);
  EXPECT_FALSE(Ed25519PublicToX25519Cached(Bytes(31)).ok());
  EXPECT_FALSE(Ed25519PublicToX25519Cached(Hex("0100000000000000000000000000000000000000000000000000000000000000")).ok());
}

TEST(Ed25519ToX25519Test, SeedConversionIsClampedSha512Prefix) {
  const Bytes seed = Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto h = Sha512(seed);
  h[0] &= 248;
  h[31] = static_cast<uint8_t>((h[31] & 127) | 64);
  EXPECT_EQ(HexEncode(Ed25519SeedToX25519Private(seed).span()), HexEncode(ByteSpan(h.data(), 32)));
}

// RFC 5869 Appendix A, test case 2: 80-byte inputs (the salt, as HMAC key,
// is longer than a block and is hashed first) and a 3-block output; shorter
// outputs are prefixes of longer ones.
TEST(HkdfSha256Test, Rfc5869LongInputsAndPrefixes) {
  Bytes ikm, salt, info;
  for (int i = 0; i < 80; i++) {
    ikm.push_back(static_cast<uint8_t>(i));
    salt.push_back(static_cast<uint8_t>(0x60 + i));
    info.push_back(static_cast<uint8_t>(0xb0 + i));
  }
  const std::string okm =
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
      "cc30c58179ec3e87c14c01d5c1f3434f1d87";
  EXPECT_EQ(HexEncode(HkdfSha256(salt, ikm, info, 82).span()), okm);
  for (size_t len : {1, 31, 32, 33, 64, 65}) {
    EXPECT_EQ(HexEncode(HkdfSha256(salt, ikm, info, len).span()), okm.substr(0, 2 * len)) << len;
  }
}

// RFC 5869 Appendix A, test cases 1 and 3.
TEST(HkdfSha256Test, Rfc5869Vectors) {
  const Bytes ikm(22, 0x0b);
  EXPECT_EQ(HexEncode(HkdfSha256(Hex("000102030405060708090a0b0c"), ikm, Hex("f0f1f2f3f4f5f6f7f8f9"), 42)
                          .span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  EXPECT_EQ(HexEncode(HkdfSha256({}, ikm, {}, 42).span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  // An empty salt is HashLen zero bytes (RFC 5869 §2.2).
  EXPECT_EQ(HexEncode(HkdfSha256(Bytes(32, 0), ikm, {}, 42).span()),
            HexEncode(HkdfSha256({}, ikm, {}, 42).span()));
}

struct GcmCase {
  const char* key;
  const char* iv;
  const char* aad;
  const char* pt;
  const char* ct_tag;
};
const GcmCase kGcmCases[] = {
    // Test case 13: zero key and IV, empty input.
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    // Test case 14: one zero block.
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
    // Test case 16: AAD and a partial final block.
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256GcmTest, KnownAnswers) {
  for (const auto& c : kGcmCases) {
    Bytes sealed = Aes256GcmSeal(Hex(c.key), Hex(c.iv), Hex(c.aad), Hex(c.pt));
    EXPECT_EQ(HexEncode(sealed), c.ct_tag);
    auto opened = Aes256GcmOpen(Hex(c.key), Hex(c.iv), Hex(c.aad), Hex(c.ct_tag));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(HexEncode(*opened), c.pt);
  }
}

// Flipping any bit of ciphertext, tag, nonce, key or aad must fail with
// VerificationFailed; so must truncating.
TEST(Aes256GcmTest, TamperingFails) {
  const GcmCase& c = kGcmCases[2];
  const Bytes key = Hex(c.key), iv = Hex(c.iv), aad = Hex(c.aad), sealed = Hex(c.ct_tag);
  auto expect_reject = [](const StatusOr<Bytes>& r, const std::string& what) {
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Status::Code::kVerificationFailed) << what;
  };
  for (size_t i = 0; i < sealed.size(); i++) {
    Bytes m = sealed;
    m[i] ^= 0x01;
    expect_reject(Aes256GcmOpen(key, iv, aad, m), "ciphertext byte " + std::to_string(i));
  }
  for (size_t i = 0; i < iv.size(); i++) {
    Bytes m = iv;
    m[i] ^= 0x80;
    expect_reject(Aes256GcmOpen(key, m, aad, sealed), "nonce byte " + std::to_string(i));
  }
  for (size_t i = 0; i < aad.size(); i++) {
    Bytes m = aad;
    m[i] ^= 0x40;
    expect_reject(Aes256GcmOpen(key, iv, m, sealed), "aad byte " + std::to_string(i));
  }
  Bytes k2 = key;
  k2[31] ^= 1;
  expect_reject(Aes256GcmOpen(k2, iv, aad, sealed), "key");
  expect_reject(Aes256GcmOpen(key, iv, {}, sealed), "dropped aad");
  expect_reject(Aes256GcmOpen(key, iv, aad, ByteSpan(sealed).first(sealed.size() - 1)), "truncated");
  Bytes longer = sealed;
  longer.push_back(0);
  expect_reject(Aes256GcmOpen(key, iv, aad, longer), "appended byte");
}

TEST(Aes256GcmTest, RejectsMalformedInputs) {
  EXPECT_EQ(Aes256GcmOpen(Bytes(31), Bytes(12), {}, Bytes(16)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Aes256GcmOpen(Bytes(32), Bytes(16), {}, Bytes(16)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Aes256GcmOpen(Bytes(32), Bytes(12), {}, Bytes(15)).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kt::core
