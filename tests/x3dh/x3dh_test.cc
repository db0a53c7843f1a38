// SPDX-License-Identifier: Apache-2.0
// Tests for x3dh/x3dh.h and x3dh/keys.h: initiator -> responder round trips
// with and without a one-time prekey, every failure reason Respond and
// Initiate report, the checks that run before any DH, and the strict
// encodings (round trip, truncation, trailing bytes, flag values).
#include "x3dh/x3dh.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/crypto_cache.h"
#include "core/crypto_dh.h"
#include "core/encoding.h"
#include "tests/x3dh/verified_bundle_test_peer.h"
#include "x3dh/keys.h"

namespace kt::x3dh {
namespace {

using core::Bytes;
using core::SecretBytes;
using core::Status;
using core::StatusOr;

constexpr uint64_t kNow = 1'750'000'000;

// Device is a responder with an identity key, one SPK and some OPKs, and
// in-memory lookups that consume OPKs the way a device store would.
struct Device {
  core::Ed25519Signer identity = core::Ed25519Signer::Generate();
  core::X25519KeyPair spk = core::GenerateX25519();
  uint32_t spk_id = 7;
  uint64_t spk_created = kNow - 3600;
  std::map<uint32_t, core::X25519KeyPair> opks;
  std::set<uint32_t> used_opks;

  Device() {
    for (uint32_t id = 100; id < 103; id++) opks.emplace(id, core::GenerateX25519());
  }

  PrekeyBundle Bundle(bool with_opk) const {
    PrekeyBundle b;
    b.user = "bob@example.org";
    b.device = "phone";
    b.identity_key = identity.public_key();
    b.signed_prekey = SignPrekey(identity, spk_id, spk_created, spk.public_key);
    if (with_opk) {
      const auto& [id, kp] = *opks.begin();
      b.one_time_prekey = OneTimePrekey{id, kp.public_key};
    }
    return b;
  }

  PrekeyLookup SpkLookup() const {
    return [this](uint32_t id) -> StatusOr<SecretBytes> {
      if (id != spk_id) return Status::NotFound("no such spk");
      return spk.private_key;
    };
  }
  PrekeyLookup OpkLookup() {
    return [this](uint32_t id) -> StatusOr<SecretBytes> {
      if (used_opks.count(id) != 0) return Status::Conflict("opk already used");
      auto it = opks.find(id);
      if (it == opks.end()) return Status::NotFound("no such opk");
      return it->second.private_key;
    };
  }

  StatusOr<ResponderResult> Receive(const InitialMessage& m) {
    auto r = Respond(m, identity, SpkLookup(), OpkLookup());
    if (r.ok() && m.header.opk_id) used_opks.insert(*m.header.opk_id);
    return r;
  }
};

InitiatorOptions Options() {
  InitiatorOptions o;
  o.now = kNow;
  return o;
}

StatusOr<InitiatorResult> Send(const PrekeyBundle& b, const core::Ed25519Signer& alice,
                               std::string_view text, const InitiatorOptions& o = Options()) {
  return Initiate(VerifiedBundleTestPeer::Make(b), alice, "alice@example.org", "laptop",
                  core::AsBytes(text), o);
}

std::optional<X3dhError> ErrorOf(const Status& s) { return X3dhErrorOf(s); }

TEST(X3dhTest, RoundTripWithAndWithoutOneTimePrekey) {
  for (bool with_opk : {true, false}) {
    SCOPED_TRACE(with_opk ? "with opk" : "without opk");
    Device bob;
    const auto alice = core::Ed25519Signer::Generate();
    auto sent = Send(bob.Bundle(with_opk), alice, "hi bob");
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
    const Header& h = sent->message.header;
    EXPECT_EQ(h.sender_user, "alice@example.org");
    EXPECT_EQ(h.sender_device, "laptop");
    EXPECT_EQ(h.recipient_user, "bob@example.org");
    EXPECT_EQ(h.recipient_device, "phone");
    EXPECT_EQ(h.sender_identity_key, alice.public_key());
    EXPECT_EQ(h.spk_id, bob.spk_id);
    EXPECT_EQ(h.opk_id.has_value(), with_opk);

    auto wire = DecodeInitialMessage(EncodeInitialMessage(sent->message));
    ASSERT_TRUE(wire.ok());
    auto got = bob.Receive(*wire);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(core::ToString(got->plaintext), "hi bob");
    EXPECT_EQ(got->header, h);
    EXPECT_EQ(got->shared_key.size(), 32u);
    EXPECT_TRUE(core::ConstantTimeEqual(got->shared_key.span(), sent->shared_key.span()));
  }
}

// A DeviceIdentity (keys parsed once) interoperates with the Ed25519Signer
// overloads in both directions.
TEST(X3dhTest, DeviceIdentityMatchesSignerOverloads) {
  Device bob;
  const auto alice = core::Ed25519Signer::Generate();
  const DeviceIdentity alice_id(alice);
  const DeviceIdentity bob_id(bob.identity);
  EXPECT_EQ(alice_id.public_key(), alice.public_key());
  auto sent = Initiate(VerifiedBundleTestPeer::Make(bob.Bundle(true)), alice_id,
                       "alice@example.org", "laptop", core::AsBytes("via identity"), Options());
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(sent->message.header.sender_identity_key, alice.public_key());
  auto got = Respond(sent->message, bob_id, bob.SpkLookup(), bob.OpkLookup());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(core::ToString(got->plaintext), "via identity");
  auto got2 = bob.Receive(sent->message);  // Ed25519Signer overload
  ASSERT_TRUE(got2.ok());
  EXPECT_TRUE(core::ConstantTimeEqual(got2->shared_key.span(), sent->shared_key.span()));
}

TEST(X3dhTest, FreshEphemeralKeyEveryMessage) {
  Device bob;
  const auto alice = core::Ed25519Signer::Generate();
  auto a = Send(bob.Bundle(false), alice, "x");
  auto b = Send(bob.Bundle(false), alice, "x");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->message.header.ephemeral_key, b->message.header.ephemeral_key);
  EXPECT_NE(a->message.ciphertext, b->message.ciphertext);
  EXPECT_FALSE(core::ConstantTimeEqual(a->shared_key.span(), b->shared_key.span()));
}

TEST(X3dhTest, EmptyPlaintextRoundTrips) {
  Device bob;
  auto sent = Send(bob.Bundle(true), core::Ed25519Signer::Generate(), "");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->message.ciphertext.size(), core::kAes256GcmTagSize);
  auto got = bob.Receive(sent->message);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->plaintext.empty());
}

// Every byte of the encoded header is associated data or key material: a
// flip anywhere must fail (AEAD, or an unknown prekey id, or a bad key).
TEST(X3dhTest, TamperedHeaderFails) {
  Device bob;
  auto sent = Send(bob.Bundle(true), core::Ed25519Signer::Generate(), "secret");
  ASSERT_TRUE(sent.ok());
  const Bytes wire = EncodeInitialMessage(sent->message);
  const size_t header_size = EncodeHeader(sent->message.header).size();
  for (size_t i = 0; i < header_size; i++) {
    Bytes m = wire;
    m[i] ^= 0x01;
    auto decoded = DecodeInitialMessage(m);
    if (!decoded.ok()) continue;  // the flip broke the framing: rejected earlier
    auto got = bob.Receive(*decoded);
    EXPECT_FALSE(got.ok()) << "header byte " << i;
  }
  // Changing a field the DH does not use (the ids) must fail as AEAD.
  InitialMessage m = sent->message;
  m.header.sender_user = "mallory@example.org";
  EXPECT_EQ(ErrorOf(bob.Receive(m).status()), X3dhError::kAeadFailed);
  m = sent->message;
  m.header.recipient_device = "tablet";
  EXPECT_EQ(ErrorOf(bob.Receive(m).status()), X3dhError::kAeadFailed);
  // The untouched message still works (OPK not consumed by failures).
  EXPECT_TRUE(bob.Receive(sent->message).ok());
}

TEST(X3dhTest, TamperedCiphertextFails) {
  Device bob;
  auto sent = Send(bob.Bundle(true), core::Ed25519Signer::Generate(), "secret message");
  ASSERT_TRUE(sent.ok());
  for (size_t i = 0; i < sent->message.ciphertext.size(); i++) {
    InitialMessage m = sent->message;
    m.ciphertext[i] ^= 0x80;
    auto got = bob.Receive(m);
    ASSERT_FALSE(got.ok()) << "ciphertext byte " << i;
    EXPECT_EQ(ErrorOf(got.status()), X3dhError::kAeadFailed) << got.status().ToString();
  }
}

TEST(X3dhTest, WrongResponderIdentityFails) {
  Device bob;
  auto sent = Send(bob.Bundle(false), core::Ed25519Signer::Generate(), "for bob");
  ASSERT_TRUE(sent.ok());
  Device eve;
  eve.spk = bob.spk;  // even holding Bob's SPK, Eve lacks IK_B
  auto got = Respond(sent->message, eve.identity, eve.SpkLookup(), eve.OpkLookup());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrorOf(got.status()), X3dhError::kAeadFailed);
}

TEST(X3dhTest, ResponderReportsUnknownAndReusedPrekeys) {
  Device bob;
  const auto alice = core::Ed25519Signer::Generate();
  auto sent = Send(bob.Bundle(true), alice, "once");
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(bob.Receive(sent->message).ok());
  auto again = bob.Receive(sent->message);
  EXPECT_EQ(ErrorOf(again.status()), X3dhError::kOpkReused) << again.status().ToString();
  EXPECT_EQ(again.status().code(), Status::Code::kConflict);

  InitialMessage m = sent->message;
  m.header.opk_id = 999;
  auto unknown_opk = bob.Receive(m);
  EXPECT_EQ(ErrorOf(unknown_opk.status()), X3dhError::kOpkUnknown);
  EXPECT_EQ(unknown_opk.status().code(), Status::Code::kNotFound);

  m = sent->message;
  m.header.spk_id = bob.spk_id + 1;
  auto unknown_spk = bob.Receive(m);
  EXPECT_EQ(ErrorOf(unknown_spk.status()), X3dhError::kSpkUnknown);
}

TEST(X3dhTest, OtherLookupErrorsPassThrough) {
  Device bob;
  auto sent = Send(bob.Bundle(true), core::Ed25519Signer::Generate(), "x");
  ASSERT_TRUE(sent.ok());
  PrekeyLookup broken = [](uint32_t) -> StatusOr<SecretBytes> { return Status::IOError("disk"); };
  auto r = Respond(sent->message, bob.identity, broken, bob.OpkLookup());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_FALSE(ErrorOf(r.status()).has_value());
}

TEST(X3dhTest, OldSignedPrekeyRefused) {
  Device bob;
  bob.spk_created = kNow - 31 * 24 * 3600;
  const auto alice = core::Ed25519Signer::Generate();
  auto sent = Send(bob.Bundle(true), alice, "x");
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(ErrorOf(sent.status()), X3dhError::kSpkExpired);
  InitiatorOptions o = Options();
  o.max_spk_age_seconds = 32 * 24 * 3600;
  EXPECT_TRUE(Send(bob.Bundle(true), alice, "x", o).ok());
  // Exactly at the limit is accepted; one second over is not.
  o.max_spk_age_seconds = kNow - bob.spk_created;
  EXPECT_TRUE(Send(bob.Bundle(true), alice, "x", o).ok());
  o.max_spk_age_seconds--;
  EXPECT_EQ(ErrorOf(Send(bob.Bundle(true), alice, "x", o).status()), X3dhError::kSpkExpired);
}

TEST(X3dhTest, FutureSignedPrekeyRefused) {
  Device bob;
  bob.spk_created = kNow + 3600;
  auto sent = Send(bob.Bundle(false), core::Ed25519Signer::Generate(), "x");
  EXPECT_EQ(ErrorOf(sent.status()), X3dhError::kSpkExpired);
  bob.spk_created = kNow + 60;  // within the clock skew
  EXPECT_TRUE(Send(bob.Bundle(false), core::Ed25519Signer::Generate(), "x").ok());
}

// A bad SPK signature is refused before any DH: the injected RNG (which
// Initiate calls for the ephemeral key, right before the DHs) is never used.
TEST(X3dhTest, BadSignedPrekeySignatureRefusedBeforeDh) {
  Device bob;
  const auto alice = core::Ed25519Signer::Generate();
  int rng_calls = 0;
  InitiatorOptions o = Options();
  o.random = [&rng_calls](std::span<uint8_t> out) {
    rng_calls++;
    core::RandomBytes(out);
  };
  const PrekeyBundle good = bob.Bundle(true);
  std::vector<PrekeyBundle> bad(5, good);
  bad[0].signed_prekey.signature[0] ^= 1;
  bad[1].signed_prekey.public_key[5] ^= 1;
  bad[2].signed_prekey.spk_id++;
  bad[3].signed_prekey.created--;
  bad[4].signed_prekey = SignPrekey(alice, good.signed_prekey.spk_id, good.signed_prekey.created,
                                    good.signed_prekey.public_key);  // signed by the wrong key
  for (size_t i = 0; i < bad.size(); i++) {
    auto sent = Send(bad[i], alice, "x", o);
    ASSERT_FALSE(sent.ok()) << i;
    EXPECT_EQ(ErrorOf(sent.status()), X3dhError::kSignatureInvalid) << i;
    EXPECT_EQ(sent.status().code(), Status::Code::kVerificationFailed) << i;
  }
  EXPECT_EQ(rng_calls, 0);
  ASSERT_TRUE(Send(good, alice, "x", o).ok());
  EXPECT_EQ(rng_calls, 1);
}

TEST(X3dhTest, CachedSpkVerificationOnlyRemembersExactSuccesses) {
  core::ClearSignatureCache();
  Device bob;
  const SignedPrekey good = bob.Bundle(false).signed_prekey;
  const core::SignatureCacheStats s0 = core::GetSignatureCacheStats();
  EXPECT_TRUE(VerifySignedPrekeyCached(bob.identity.public_key(), good).ok());  // miss, verified
  EXPECT_TRUE(VerifySignedPrekeyCached(bob.identity.public_key(), good).ok());  // hit
  const core::SignatureCacheStats s1 = core::GetSignatureCacheStats();
  EXPECT_EQ(s1.misses - s0.misses, 1u);
  EXPECT_EQ(s1.hits - s0.hits, 1u);

  // Every input is part of the cache key: after the success above, each
  // one-byte change is verified in full and refused, again and again.
  std::vector<SignedPrekey> forged(4, good);
  forged[0].signature[5] ^= 1;
  forged[1].public_key[0] ^= 1;
  forged[2].spk_id++;
  forged[3].created++;
  for (int round = 0; round < 2; round++) {
    for (const SignedPrekey& f : forged) {
      Status st = VerifySignedPrekeyCached(bob.identity.public_key(), f);
      EXPECT_EQ(st.code(), Status::Code::kVerificationFailed);
    }
  }
  core::Ed25519Signer other = core::Ed25519Signer::Generate();
  EXPECT_EQ(VerifySignedPrekeyCached(other.public_key(), good).code(),
            Status::Code::kVerificationFailed);
  core::Ed25519PublicKey not_a_point{};
  not_a_point.fill(0xff);
  EXPECT_EQ(VerifySignedPrekeyCached(not_a_point, good).code(), Status::Code::kVerificationFailed);
  const core::SignatureCacheStats s2 = core::GetSignatureCacheStats();
  EXPECT_EQ(s2.hits, s1.hits);  // no refusal was answered from the cache

  // After clearing, the good SPK is verified in full again.
  core::ClearSignatureCache();
  EXPECT_TRUE(VerifySignedPrekeyCached(bob.identity.public_key(), good).ok());
  EXPECT_EQ(core::GetSignatureCacheStats().misses, s2.misses + 1);
}

TEST(X3dhTest, RejectsBadIds) {
  Device bob;
  const auto alice = core::Ed25519Signer::Generate();
  auto vb = VerifiedBundleTestPeer::Make(bob.Bundle(false));
  EXPECT_EQ(Initiate(vb, alice, "", "laptop", {}, Options()).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Initiate(vb, alice, "alice", std::string(256, 'd'), {}, Options()).status().code(),
            Status::Code::kInvalidArgument);
  auto sent = Send(bob.Bundle(false), alice, "x");
  ASSERT_TRUE(sent.ok());
  InitialMessage m = sent->message;
  m.header.sender_device.clear();
  EXPECT_EQ(bob.Receive(m).status().code(), Status::Code::kInvalidArgument);
}

TEST(X3dhTest, SmallOrderEphemeralKeyRejected) {
  Device bob;
  auto sent = Send(bob.Bundle(false), core::Ed25519Signer::Generate(), "x");
  ASSERT_TRUE(sent.ok());
  InitialMessage m = sent->message;
  m.header.ephemeral_key = {};
  m.header.ephemeral_key[0] = 1;  // u = 1 has small order: DH2 is all zero
  auto got = bob.Receive(m);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kVerificationFailed);
}

TEST(X3dhErrorTest, NamesAreDistinctAndRecoverable) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kX3dhErrorCount; i++) {
    const auto e = static_cast<X3dhError>(i);
    names.insert(X3dhErrorName(e));
    Status s = X3dhFailure(e, "detail");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(X3dhErrorOf(s), e);
    EXPECT_EQ(X3dhErrorOf(s.Annotate("outer")), e);
  }
  EXPECT_EQ(names.size(), kX3dhErrorCount);
  EXPECT_EQ(X3dhErrorName(X3dhError::kOpkReused), "opk_reused");
  EXPECT_FALSE(X3dhErrorOf(Status()).has_value());
  EXPECT_FALSE(X3dhErrorOf(Status::InvalidArgument("x3dh/unknown: nope")).has_value());
}

Header SampleHeader(bool with_opk) {
  Header h;
  h.sender_user = "alice@example.org";
  h.sender_device = "laptop";
  h.recipient_user = "bob@example.org";
  h.recipient_device = "phone";
  for (size_t i = 0; i < 32; i++) {
    h.sender_identity_key[i] = static_cast<uint8_t>(i);
    h.ephemeral_key[i] = static_cast<uint8_t>(0xa0 + i);
  }
  h.spk_id = 0x01020304;
  if (with_opk) h.opk_id = 0xfffffffe;
  return h;
}

TEST(X3dhMessageTest, EncodingRoundTripsAndIsStrict) {
  for (bool with_opk : {true, false}) {
    InitialMessage m{SampleHeader(with_opk), Bytes(40, 0x5a)};
    const Bytes wire = EncodeInitialMessage(m);
    auto back = DecodeInitialMessage(wire);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
    EXPECT_EQ(EncodeInitialMessage(*back), wire);
    // Every truncation and any trailing byte is rejected.
    for (size_t n = 0; n < wire.size(); n++) {
      EXPECT_FALSE(DecodeInitialMessage(core::ByteSpan(wire).first(n)).ok()) << n;
    }
    Bytes longer = wire;
    longer.push_back(0);
    EXPECT_FALSE(DecodeInitialMessage(longer).ok());
    const Bytes hdr = EncodeHeader(m.header);
    EXPECT_EQ(*DecodeHeader(hdr), m.header);
    longer = hdr;
    longer.push_back(0);
    EXPECT_FALSE(DecodeHeader(longer).ok());
  }
}

TEST(X3dhMessageTest, RejectsNonCanonicalFields) {
  const Bytes hdr = EncodeHeader(SampleHeader(false));
  Bytes m = hdr;
  m[0] = 2;  // version
  EXPECT_FALSE(DecodeHeader(m).ok());
  m = hdr;
  m.back() = 2;  // has_opk must be 0 or 1
  EXPECT_FALSE(DecodeHeader(m).ok());
  m = hdr;
  m[2] = 0xff;  // "alice..." -> invalid UTF-8 byte
  EXPECT_FALSE(DecodeHeader(m).ok());
  m = hdr;
  m[1] = 0;  // empty sender user
  EXPECT_FALSE(DecodeHeader(m).ok());
  // Ciphertext shorter than a GCM tag.
  InitialMessage msg{SampleHeader(false), Bytes(16, 1)};
  Bytes wire = EncodeInitialMessage(msg);
  wire[hdr.size() + 3] = 15;
  wire.pop_back();
  EXPECT_FALSE(DecodeInitialMessage(wire).ok());
}

TEST(PrekeyBundleTest, EncodingRoundTripsAndIsStrict) {
  Device bob;
  for (bool with_opk : {true, false}) {
    const PrekeyBundle b = bob.Bundle(with_opk);
    const Bytes wire = EncodePrekeyBundle(b);
    auto back = DecodePrekeyBundle(wire);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, b);
    for (size_t n = 0; n < wire.size(); n++) {
      EXPECT_FALSE(DecodePrekeyBundle(core::ByteSpan(wire).first(n)).ok()) << n;
    }
    Bytes longer = wire;
    longer.push_back(1);
    EXPECT_FALSE(DecodePrekeyBundle(longer).ok());
  }
  Bytes wire = EncodePrekeyBundle(bob.Bundle(false));
  wire.back() = 2;
  EXPECT_FALSE(DecodePrekeyBundle(wire).ok());
}

}  // namespace
}  // namespace kt::x3dh
