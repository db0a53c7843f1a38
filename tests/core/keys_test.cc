// SPDX-License-Identifier: Apache-2.0
// Tests for core/keys: key IDs, key names, vkeys and private key strings,
// with the RFC 8032 §7.1 TEST 1 key as a known answer.
#include "core/keys.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/encoding.h"
#include "core/note.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;

// RFC 8032 §7.1 TEST 1.
constexpr char kSeedHex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kPubHex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kSigEmptyHex[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b";
constexpr char kName[] = "rfc8032.example/test1";

std::string IdHex(uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", id);
  return buf;
}

std::string Typed(uint8_t type, const Bytes& key) {
  Bytes b = {type};
  b.insert(b.end(), key.begin(), key.end());
  return Base64Encode(b);
}

TEST(KeyIdTest, IsSha256PrefixOfNameNewlineTypeKey) {
  const Bytes pub = Hex(kPubHex);
  Bytes preimage = ToBytes(kName);
  preimage.push_back(0x0A);
  preimage.push_back(0x01);
  preimage.insert(preimage.end(), pub.begin(), pub.end());
  const Hash h = Sha256(preimage);
  const uint32_t want = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  EXPECT_EQ(KeyId(kName, kSigTypeEd25519, pub), want);
  EXPECT_NE(KeyId(kName, kSigTypeCosignatureV1, pub), want);
  EXPECT_NE(KeyId("rfc8032.example/test2", kSigTypeEd25519, pub), want);
}

TEST(KeyIdTest, FormatKeyIdIsEightLowercaseHexDigits) {
  EXPECT_EQ(FormatKeyId(0), "00000000");
  EXPECT_EQ(FormatKeyId(0x55538d32), "55538d32");
  EXPECT_EQ(FormatKeyId(0xABCDEF01), "abcdef01");
}

TEST(KeyNameTest, AcceptsAndRejects) {
  EXPECT_TRUE(IsValidKeyName("example.com/log42"));
  EXPECT_TRUE(IsValidKeyName("quasimodo.example/salvatore"));
  EXPECT_TRUE(IsValidKeyName("oid/1.3.6.1.4.1.44363.47.1"));
  EXPECT_TRUE(IsValidKeyName("\xc3\xbcnic\xc3\xb6" "de.example"));  // ü, ö
  EXPECT_TRUE(IsValidKeyName("emoji\xf0\x9f\x94\x91"));              // U+1F511
  for (const std::string& bad :
       {std::string(), std::string("a+b"), std::string("a b"), std::string("a\tb"),
        std::string("a\nb"), std::string("a\rb"), std::string("a\x7f"), std::string("a\x01"),
        std::string("a\xc2\xa0" "b"),      // U+00A0 no-break space
        std::string("a\xe2\x80\x83" "b"),  // U+2003 em space
        std::string("a\xe3\x80\x80" "b"),  // U+3000 ideographic space
        std::string("a\xc2\x85" "b"),      // U+0085 next line
        std::string("a\xc2\x9f" "b"),      // C1 control
        std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
        std::string("a\xe2\x80"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(IsValidKeyName(bad)) << HexEncode(AsBytes(bad));
  }
}

TEST(VerifierKeyTest, ParsesRfc8032Key) {
  const Bytes pub = Hex(kPubHex);
  const uint32_t id = KeyId(kName, kSigTypeEd25519, pub);
  const std::string vkey = std::string(kName) + "+" + IdHex(id) + "+" + Typed(0x01, pub);
  auto vk = ParseVerifierKey(vkey);
  ASSERT_TRUE(vk.ok()) << vk.status().ToString();
  EXPECT_EQ(vk->name, kName);
  EXPECT_EQ(vk->key_id, id);
  EXPECT_EQ(vk->type, kSigTypeEd25519);
  EXPECT_EQ(Bytes(vk->verifier.public_key().begin(), vk->verifier.public_key().end()), pub);
  EXPECT_EQ(vk->ToString(), vkey);
  EXPECT_TRUE(vk->verifier.Verify({}, Hex(kSigEmptyHex)));
}

TEST(VerifierKeyTest, RejectsMalformed) {
  const Bytes pub = Hex(kPubHex);
  const std::string id = IdHex(KeyId(kName, 0x01, pub));
  const std::string good_b64 = Typed(0x01, pub);
  const std::string name = kName;
  Bytes short_key(pub.begin(), pub.end() - 1);
  Bytes long_key = pub;
  long_key.push_back(0);
  const std::string cases[] = {
      "",
      name,
      name + "+" + id,
      name + "+" + id + "+",
      "+" + id + "+" + good_b64,                                  // empty name
      "bad name+" + IdHex(KeyId("bad name", 1, pub)) + "+" + Typed(1, pub),
      name + "+" + id.substr(1) + "+" + good_b64,                 // 7 hex digits
      name + "+0" + id + "+" + good_b64,                          // 9 hex digits
      name + "+" + id.substr(0, 7) + "g+" + good_b64,             // not hex
      name + "+" + IdHex(KeyId(name, 0x04, pub)) + "+" + good_b64,  // id of another type
      name + "+" + id + "+" + good_b64.substr(0, good_b64.size() - 1),  // bad padding
      name + "+" + id + "+" + good_b64 + "\n",
      name + "+" + id + "+ " + good_b64,
      name + "+" + IdHex(KeyId(name, 0x02, pub)) + "+" + Typed(0x02, pub),  // type 0x02
      name + "+" + IdHex(KeyId(name, 0x01, short_key)) + "+" + Typed(0x01, short_key),
      name + "+" + IdHex(KeyId(name, 0x01, long_key)) + "+" + Typed(0x01, long_key),
      name + "+" + IdHex(KeyId(name, 0x01, {})) + "+" + Typed(0x01, {}),
  };
  for (const std::string& c : cases) EXPECT_FALSE(ParseVerifierKey(c).ok()) << c;
  // The key ID in uppercase hex is the same key (as x/mod's ParseUint).
  std::string upper = id;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto vk = ParseVerifierKey(name + "+" + upper + "+" + good_b64);
  ASSERT_TRUE(vk.ok());
  EXPECT_EQ(vk->ToString(), name + "+" + id + "+" + good_b64);
}

TEST(VerifierKeyTest, EveryByteFlipFailsOrIsSameKey) {
  auto sk = SignerKeyFromSeed(kName, kSigTypeCosignatureV1, Hex(kSeedHex));
  ASSERT_TRUE(sk.ok());
  const std::string vkey = sk->VerifierKeyString();
  for (size_t i = 0; i < vkey.size(); i++) {
    for (const int mask : {0x01, 0x20, 0x80}) {
      std::string m = vkey;
      m[i] = static_cast<char>(m[i] ^ mask);
      auto vk = ParseVerifierKey(m);
      if (vk.ok()) EXPECT_EQ(vk->ToString(), vkey) << "byte " << i;
    }
  }
}

TEST(SignerKeyTest, ParsesRfc8032Seed) {
  const Bytes seed = Hex(kSeedHex);
  const uint32_t id = KeyId(kName, kSigTypeEd25519, Hex(kPubHex));
  const std::string priv =
      std::string("PRIVATE+KEY+") + kName + "+" + IdHex(id) + "+" + Typed(0x01, seed);
  for (const std::string& text : {priv, priv + "\n"}) {
    auto sk = ParseSignerKey(text);
    ASSERT_TRUE(sk.ok()) << sk.status().ToString();
    EXPECT_EQ(sk->key_id, id);
    EXPECT_EQ(HexEncode(sk->signer.public_key()), kPubHex);
    EXPECT_EQ(FormatSignerKey(*sk), priv);
    EXPECT_EQ(sk->VerifierKeyString(), std::string(kName) + "+" + IdHex(id) + "+" +
                                           Typed(0x01, Hex(kPubHex)));
    // Signing the empty text gives RFC 8032's signature of the empty message.
    const NoteSignature sig = SignNote(*sk, "");
    EXPECT_EQ(HexEncode(sig.signature), kSigEmptyHex);
    EXPECT_EQ(sig.key_id, id);
  }
}

TEST(SignerKeyTest, RejectsMalformed) {
  const Bytes seed = Hex(kSeedHex);
  const std::string name = kName;
  const std::string id = IdHex(KeyId(name, 0x01, Hex(kPubHex)));
  const std::string b64 = Typed(0x01, seed);
  const std::string good = "PRIVATE+KEY+" + name + "+" + id + "+" + b64;
  ASSERT_TRUE(ParseSignerKey(good).ok());
  Bytes short_seed(seed.begin(), seed.end() - 1);
  const std::string cases[] = {
      "",
      good + "\n\n",
      good + "\r\n",
      "\n" + good,
      "private+key+" + name + "+" + id + "+" + b64,
      "PRIVATE+" + name + "+" + id + "+" + b64,
      "PRIVATE+KEY+" + name + "+" + id,
      "PRIVATE+KEY+" + name + "+" + IdHex(KeyId(name, 0x04, Hex(kPubHex))) + "+" + b64,
      "PRIVATE+KEY+other.example+" + id + "+" + b64,
      "PRIVATE+KEY+" + name + "+" + id + "+" + Typed(0x02, seed),
      "PRIVATE+KEY+" + name + "+" + id + "+" + Typed(0x01, short_seed),
      "PRIVATE+KEY+" + name + "+" + id + "+" + b64.substr(0, b64.size() - 2),
      "PRIVATE+KEY+a b+" + id + "+" + b64,
  };
  for (const std::string& c : cases) {
    auto sk = ParseSignerKey(c);
    EXPECT_FALSE(sk.ok()) << c;
    // Errors never echo key material.
    if (!sk.ok()) EXPECT_EQ(sk.status().message().find(b64), std::string::npos);
  }
}

TEST(SignerKeyTest, CosignatureTypeRoundTrip) {
  auto sk = SignerKeyFromSeed("witness.example/w", kSigTypeCosignatureV1, Hex(kSeedHex));
  ASSERT_TRUE(sk.ok());
  EXPECT_EQ(sk->key_id, KeyId("witness.example/w", 0x04, Hex(kPubHex)));
  auto back = ParseSignerKey(FormatSignerKey(*sk));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->type, kSigTypeCosignatureV1);
  EXPECT_EQ(back->key_id, sk->key_id);
  auto vk = ParseVerifierKey(sk->VerifierKeyString());
  ASSERT_TRUE(vk.ok());
  EXPECT_EQ(vk->type, kSigTypeCosignatureV1);
  EXPECT_EQ(vk->key_id, sk->key_id);
}

TEST(SignerKeyTest, GenerateMakesDistinctValidKeys) {
  auto a = GenerateSignerKey("gen.example/a", kSigTypeEd25519);
  auto b = GenerateSignerKey("gen.example/a", kSigTypeEd25519);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->signer.public_key(), b->signer.public_key());
  auto parsed = ParseSignerKey(FormatSignerKey(*a));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->signer.public_key(), a->signer.public_key());
  EXPECT_FALSE(GenerateSignerKey("bad+name", kSigTypeEd25519).ok());
  EXPECT_FALSE(GenerateSignerKey("", kSigTypeEd25519).ok());
  EXPECT_FALSE(GenerateSignerKey("gen.example/a", 0x02).ok());
  EXPECT_FALSE(SignerKeyFromSeed("gen.example/a", 0x01, Bytes(31)).ok());
}

}  // namespace
}  // namespace kt::core
