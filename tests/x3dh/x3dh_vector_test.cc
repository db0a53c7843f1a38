// SPDX-License-Identifier: Apache-2.0
// Known-answer tests for X3DH against vectors/x3dh.json (produced by an
// independent Python program over libsodium and pyca/cryptography): key
// conversions, the SPK signature, every DH value, the KDF info and SK, then
// the same run through Initiate/Respond with the vector's ephemeral key.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "core/encoding.h"
#include "tests/testing/vectors.h"
#include "tests/x3dh/verified_bundle_test_peer.h"
#include "x3dh/keys.h"
#include "x3dh/secret.h"
#include "x3dh/x3dh.h"

namespace kt::x3dh {
namespace {

using core::Bytes;
using core::HexEncode;
using kt::testing::Hex;

template <size_t N>
std::array<uint8_t, N> Arr(const nlohmann::json& v) {
  Bytes b = Hex(v.get<std::string>());
  std::array<uint8_t, N> out{};
  EXPECT_EQ(b.size(), N);
  std::copy_n(b.begin(), std::min(N, b.size()), out.begin());
  return out;
}

core::X25519PrivateKey PrivKey(const nlohmann::json& v) {
  auto k = core::X25519PrivateKey::FromBytes(Hex(v.get<std::string>()));
  KT_CHECK(k.ok());
  return std::move(k).value();
}

class X3dhVectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json_ = kt::testing::LoadVectorJson("x3dh.json");
    ASSERT_TRUE(json_.contains("x3dh"));
    ASSERT_GE(json_["x3dh"].size(), 2u);
  }
  const nlohmann::json& cases() const { return json_["x3dh"]; }
  nlohmann::json json_;
};

TEST_F(X3dhVectorTest, IdentityKeyConversions) {
  for (const auto& v : cases()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    for (const char* who : {"ik_a", "ik_b"}) {
      const std::string w(who);
      auto signer = core::Ed25519Signer::FromSeed(Hex(v[w + "_seed"]));
      ASSERT_TRUE(signer.ok());
      EXPECT_EQ(HexEncode(signer->public_key()), v[w + "_pub"]);
      EXPECT_EQ(HexEncode(core::Ed25519SeedToX25519Private(signer->seed().span()).span()),
                v[w + "_x25519_priv"]);
      auto from_pub = core::Ed25519PublicToX25519(Hex(v[w + "_pub"]));
      ASSERT_TRUE(from_pub.ok()) << from_pub.status().ToString();
      EXPECT_EQ(HexEncode(*from_pub), v[w + "_x25519_pub"]);
      auto from_priv = core::X25519PublicFromPrivate(Hex(v[w + "_x25519_priv"]));
      ASSERT_TRUE(from_priv.ok());
      EXPECT_EQ(HexEncode(*from_priv), v[w + "_x25519_pub"]);
    }
    EXPECT_EQ(HexEncode(*core::X25519PublicFromPrivate(Hex(v["ek_a_priv"]))), v["ek_a_pub"]);
    EXPECT_EQ(HexEncode(*core::X25519PublicFromPrivate(Hex(v["spk_b_priv"]))), v["spk_b_pub"]);
    if (v["has_opk"].get<bool>()) {
      EXPECT_EQ(HexEncode(*core::X25519PublicFromPrivate(Hex(v["opk_b_priv"]))), v["opk_b_pub"]);
    } else {
      EXPECT_TRUE(v["opk_b_priv"].is_null());
      EXPECT_EQ(v["opk_id"].get<uint32_t>(), 0u);
    }
  }
}

TEST_F(X3dhVectorTest, SignedPrekeySignature) {
  for (const auto& v : cases()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const auto spk_pub = Arr<32>(v["spk_b_pub"]);
    const uint32_t spk_id = v["spk_id"].get<uint32_t>();
    const uint64_t created = v["spk_created"].get<uint64_t>();
    EXPECT_EQ(HexEncode(SpkSignatureMessage(spk_id, created, spk_pub)), v["spk_signature_message"]);
    auto ik_b = core::Ed25519Signer::FromSeed(Hex(v["ik_b_seed"]));
    ASSERT_TRUE(ik_b.ok());
    SignedPrekey spk = SignPrekey(*ik_b, spk_id, created, spk_pub);  // Ed25519 is deterministic
    EXPECT_EQ(HexEncode(spk.signature), v["spk_signature"]);
    auto verifier = core::Ed25519Verifier::Create(ik_b->public_key());
    ASSERT_TRUE(verifier.ok());
    EXPECT_TRUE(VerifySignedPrekey(*verifier, spk).ok());
    spk.created++;
    EXPECT_FALSE(VerifySignedPrekey(*verifier, spk).ok());
  }
}

TEST_F(X3dhVectorTest, DhKdfInfoAndSharedKey) {
  for (const auto& v : cases()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const bool has_opk = v["has_opk"].get<bool>();
    std::string dh_hex;
    for (const auto& d : v["dh"]) dh_hex += d.get<std::string>();
    ASSERT_EQ(v["dh"].size(), has_opk ? 4u : 3u);

    internal::SessionContext ctx;
    ctx.ik_a = Arr<32>(v["ik_a_pub"]);
    ctx.ik_b = Arr<32>(v["ik_b_pub"]);
    ctx.spk_id = v["spk_id"].get<uint32_t>();
    if (has_opk) ctx.opk_id = v["opk_id"].get<uint32_t>();
    EXPECT_EQ(HexEncode(internal::KdfInfo(ctx)), v["kdf_info"]);

    const auto ik_a = PrivKey(v["ik_a_x25519_priv"]);
    const auto ek_a = PrivKey(v["ek_a_priv"]);
    const auto ik_b = PrivKey(v["ik_b_x25519_priv"]);
    const auto spk_b = PrivKey(v["spk_b_priv"]);
    std::optional<core::X25519PrivateKey> opk_b;
    std::optional<core::X25519PublicKey> opk_pub;
    if (has_opk) {
      opk_b = PrivKey(v["opk_b_priv"]);
      opk_pub = Arr<32>(v["opk_b_pub"]);
    }
    const auto ik_b_pub = Arr<32>(v["ik_b_x25519_pub"]);
    const auto spk_pub = Arr<32>(v["spk_b_pub"]);
    auto init_dh = internal::InitiatorDh(ik_a, ek_a, ik_b_pub, spk_pub, opk_pub);
    ASSERT_TRUE(init_dh.ok());
    EXPECT_EQ(HexEncode(init_dh->span()), dh_hex);
    const core::X25519PrivateKey* opk_ptr = opk_b ? &*opk_b : nullptr;
    auto resp_dh = internal::ResponderDh(ik_b, spk_b, opk_ptr, Arr<32>(v["ik_a_x25519_pub"]),
                                         Arr<32>(v["ek_a_pub"]));
    ASSERT_TRUE(resp_dh.ok());
    EXPECT_EQ(HexEncode(resp_dh->span()), dh_hex);

    auto sk_a = internal::DeriveInitiatorSecret(ik_a, ek_a, ik_b_pub, spk_pub, opk_pub, ctx);
    ASSERT_TRUE(sk_a.ok());
    EXPECT_EQ(HexEncode(sk_a->span()), v["sk"]);
    auto sk_b = internal::DeriveResponderSecret(ik_b, spk_b, opk_ptr, Arr<32>(v["ik_a_x25519_pub"]),
                                                Arr<32>(v["ek_a_pub"]), ctx);
    ASSERT_TRUE(sk_b.ok());
    EXPECT_EQ(HexEncode(sk_b->span()), v["sk"]);
  }
}

// The vectors through the public API: a bundle from the vector, Initiate
// with the vector's ephemeral key injected, Respond with the vector's
// prekeys; both ends must reach the vector's SK and the plaintext.
TEST_F(X3dhVectorTest, InitiateAndRespondReachVectorKey) {
  for (const auto& v : cases()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto ik_a = core::Ed25519Signer::FromSeed(Hex(v["ik_a_seed"]));
    auto ik_b = core::Ed25519Signer::FromSeed(Hex(v["ik_b_seed"]));
    ASSERT_TRUE(ik_a.ok() && ik_b.ok());
    PrekeyBundle bundle;
    bundle.user = "bob@example.org";
    bundle.device = "phone";
    bundle.identity_key = ik_b->public_key();
    bundle.signed_prekey.spk_id = v["spk_id"].get<uint32_t>();
    bundle.signed_prekey.created = v["spk_created"].get<uint64_t>();
    bundle.signed_prekey.public_key = Arr<32>(v["spk_b_pub"]);
    bundle.signed_prekey.signature = Arr<64>(v["spk_signature"]);
    std::map<uint32_t, Bytes> opks;
    if (v["has_opk"].get<bool>()) {
      bundle.one_time_prekey = OneTimePrekey{v["opk_id"].get<uint32_t>(), Arr<32>(v["opk_b_pub"])};
      opks[v["opk_id"].get<uint32_t>()] = Hex(v["opk_b_priv"]);
    }
    InitiatorOptions opts;
    opts.now = bundle.signed_prekey.created + 60;
    const Bytes ek = Hex(v["ek_a_priv"]);
    opts.random = [&ek](std::span<uint8_t> out) { std::copy(ek.begin(), ek.end(), out.begin()); };
    const Bytes msg = core::ToBytes("hello bob");
    auto init = Initiate(VerifiedBundleTestPeer::Make(bundle), *ik_a, "alice@example.org", "laptop",
                         msg, opts);
    ASSERT_TRUE(init.ok()) << init.status().ToString();
    EXPECT_EQ(HexEncode(init->shared_key.span()), v["sk"]);
    EXPECT_EQ(HexEncode(init->message.header.ephemeral_key), v["ek_a_pub"]);

    const Bytes spk_priv = Hex(v["spk_b_priv"]);
    const uint32_t spk_id = bundle.signed_prekey.spk_id;
    PrekeyLookup spk_lookup = [&](uint32_t id) -> core::StatusOr<core::SecretBytes> {
      if (id != spk_id) return core::Status::NotFound("spk");
      return core::SecretBytes(spk_priv);
    };
    PrekeyLookup opk_lookup = [&](uint32_t id) -> core::StatusOr<core::SecretBytes> {
      auto it = opks.find(id);
      if (it == opks.end()) return core::Status::NotFound("opk");
      return core::SecretBytes(it->second);
    };
    auto wire = DecodeInitialMessage(EncodeInitialMessage(init->message));
    ASSERT_TRUE(wire.ok());
    auto resp = Respond(*wire, *ik_b, spk_lookup, opk_lookup);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(HexEncode(resp->shared_key.span()), v["sk"]);
    EXPECT_EQ(resp->plaintext, msg);
  }
}

}  // namespace
}  // namespace kt::x3dh
