// SPDX-License-Identifier: Apache-2.0
// Tests for x3dh/responder.h against a real LMDB device store: the first
// delivery, duplicates (idempotent answer, counted), reordering, an OPK
// replayed by the server to two initiators (opk_reused), OPK exhaustion
// (3-DH fallback), tampered messages (aead_failed, OPK not burned), SPK
// rotation within and past retention, wrong recipient and undecodable input.
#include "x3dh/responder.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "tests/x3dh/device_testing.h"

namespace kt::x3dh::testing {
namespace {

using core::Status;

class ResponderTest : public DeviceFixture {};

TEST_F(ResponderTest, FirstDeliveryConsumesTheOpkAndStoresTheSession) {
  Publish(kT0);
  ASSERT_EQ(directory_.opks.size(), 100u);
  const uint32_t opk_id = directory_.opks.front().opk_id;
  const InitialMessage m = Send("hello bob", kT0 + 60);
  ASSERT_EQ(m.header.opk_id, opk_id);

  auto r = Receive(m, kT0 + 120);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(Text(r->plaintext), "hello bob");
  EXPECT_EQ(r->header, m.header);
  EXPECT_EQ(r->message_id, MessageId(m));
  EXPECT_EQ(r->session.peer_user, "alice@example.org");
  EXPECT_EQ(r->session.peer_device, "laptop");
  EXPECT_EQ(r->session.peer_identity_key, alice_.public_key());
  EXPECT_TRUE(core::ConstantTimeEqual(r->session.shared_key.span(), last_sk_.span()));

  const DeviceInfo info = Info();
  EXPECT_EQ(info.opks, 99u);
  EXPECT_EQ(info.opk_tombstones, 1u);
  EXPECT_EQ(info.sessions, 1u);
  EXPECT_EQ(info.processed_messages, 1u);
  auto s = bob_->GetSession(MessageId(m));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->initiator);
  EXPECT_TRUE(core::ConstantTimeEqual(s->shared_key.span(), last_sk_.span()));
  const DeviceCounters c = Counters();
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.received_without_opk, 0u);
}

TEST_F(ResponderTest, DuplicateIsAnsweredIdempotentlyAndCounted) {
  Publish(kT0);
  const InitialMessage m = Send("once", kT0);
  auto first = Receive(m, kT0 + 1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Receive(m, kT0 + 2);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->plaintext, first->plaintext);
  EXPECT_EQ(second->header, first->header);
  EXPECT_EQ(second->processed_at, kT0 + 1);  // the stored answer, not a new run
  EXPECT_TRUE(core::ConstantTimeEqual(second->session.shared_key.span(), first->session.shared_key.span()));
  // Also from the encoded form, as it comes from the mailbox.
  auto third = ProcessEncodedInitialMessage(*bob_, EncodeInitialMessage(m), kT0 + 3);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->duplicate);

  const DeviceCounters c = Counters();
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.failure(X3dhError::kDuplicate), 2u);
  EXPECT_EQ(Info().sessions, 1u);
  EXPECT_EQ(Info().opk_tombstones, 1u);
}

TEST_F(ResponderTest, ReorderedMessagesBothSucceed) {
  Publish(kT0);
  const InitialMessage m1 = Send("first", kT0);
  const InitialMessage m2 = Send("second", kT0 + 1);
  ASSERT_NE(m1.header.opk_id, m2.header.opk_id);
  auto r2 = Receive(m2, kT0 + 10);
  auto r1 = Receive(m1, kT0 + 11);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(Text(r1->plaintext), "first");
  EXPECT_EQ(Text(r2->plaintext), "second");
  EXPECT_EQ(Counters().received, 2u);
  EXPECT_EQ(Info().sessions, 2u);
}

TEST_F(ResponderTest, OpkReplayedToTwoInitiatorsIsDetected) {
  Publish(kT0);
  const InitialMessage m1 = Send("from alice", kT0, /*replay=*/true);
  alice_ = core::Ed25519Signer::Generate();  // a second initiator
  const InitialMessage m2 = Send("from carol", kT0 + 1);
  ASSERT_EQ(m1.header.opk_id, m2.header.opk_id);

  ASSERT_TRUE(Receive(m1, kT0 + 5).ok());
  auto r = Receive(m2, kT0 + 6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(X3dhErrorOf(r.status()), X3dhError::kOpkReused);
  EXPECT_EQ(r.status().code(), Status::Code::kConflict);
  EXPECT_EQ(Counters().failure(X3dhError::kOpkReused), 1u);
  EXPECT_EQ(bob_->GetSession(MessageId(m2)).status().code(), Status::Code::kNotFound);
  // The first session is untouched and m1 is still a duplicate, not a reuse.
  auto again = Receive(m1, kT0 + 7);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
}

TEST_F(ResponderTest, UnknownOpkIsCounted) {
  Publish(kT0);
  InitialMessage m = Send("x", kT0);
  m.header.opk_id = 999'999;
  auto r = Receive(m, kT0 + 1);
  EXPECT_EQ(X3dhErrorOf(r.status()), X3dhError::kOpkUnknown);
  EXPECT_EQ(Counters().failure(X3dhError::kOpkUnknown), 1u);
}

TEST_F(ResponderTest, ExhaustedPoolFallsBackToThreeDh) {
  Publish(kT0);
  directory_.opks.clear();  // every OPK handed out
  const InitialMessage m = Send("no opk", kT0);
  ASSERT_FALSE(m.header.opk_id.has_value());
  auto r = Receive(m, kT0 + 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Text(r->plaintext), "no opk");
  const DeviceCounters c = Counters();
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.received_without_opk, 1u);
  EXPECT_EQ(Info().opks, 100u);  // nothing consumed

  // The next publish sees an empty directory and refills with fresh ids.
  const uint32_t last_id = 100;
  Publish(kT0 + 60);
  ASSERT_EQ(directory_.opks.size(), 100u);
  EXPECT_GT(directory_.opks.front().opk_id, last_id);
}

TEST_F(ResponderTest, TamperedMessageFailsWithoutBurningTheOpk) {
  Publish(kT0);
  const InitialMessage m = Send("secret", kT0);
  InitialMessage bad_payload = m;
  bad_payload.ciphertext[3] ^= 0x01;
  InitialMessage bad_header = m;
  bad_header.header.sender_device = "tablet";
  for (const InitialMessage& bad : {bad_payload, bad_header}) {
    auto r = Receive(bad, kT0 + 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(X3dhErrorOf(r.status()), X3dhError::kAeadFailed);
  }
  EXPECT_EQ(Counters().failure(X3dhError::kAeadFailed), 2u);
  EXPECT_EQ(Info().opks, 100u);
  EXPECT_EQ(Info().opk_tombstones, 0u);
  EXPECT_EQ(Info().processed_messages, 0u);
  // The genuine message still gets through with the same OPK.
  auto good = Receive(m, kT0 + 2);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(Text(good->plaintext), "secret");
}

TEST_F(ResponderTest, DelayedPastRotationWithinRetentionSucceeds) {
  Publish(kT0);
  const uint32_t old_spk = directory_.spk.spk_id;
  const InitialMessage m = Send("late", kT0 + 6 * kDay);
  Publish(kT0 + 7 * kDay);  // rotation: a new SPK, the old one retired
  ASSERT_NE(directory_.spk.spk_id, old_spk);
  EXPECT_EQ(Counters().spk_rotations, 1u);
  auto r = Receive(m, kT0 + 36 * kDay);  // 29 days after retirement
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Text(r->plaintext), "late");
}

TEST_F(ResponderTest, DelayedPastRetentionIsSpkUnknown) {
  Publish(kT0);
  const InitialMessage m = Send("too late", kT0 + 6 * kDay);
  Publish(kT0 + 7 * kDay);
  auto r = Receive(m, kT0 + 37 * kDay);  // exactly 30 days after retirement
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(X3dhErrorOf(r.status()), X3dhError::kSpkUnknown);
  EXPECT_EQ(Counters().failure(X3dhError::kSpkUnknown), 1u);
  EXPECT_EQ(Counters().spks_erased, 1u);
  EXPECT_TRUE(Info().retired_spks.empty());  // the private key is gone
  EXPECT_EQ(Info().opks, 100u);              // the OPK was not burned
}

// Dedup records live as long as their SPK: once it is erased, a redelivery
// is spk_unknown and the stored plaintext is gone; the session and the OPK
// tombstone stay.
TEST_F(ResponderTest, DedupRecordsArePrunedWithTheirSpk) {
  Publish(kT0);
  const InitialMessage old_msg = Send("old", kT0);
  ASSERT_TRUE(Receive(old_msg, kT0 + 1).ok());
  Publish(kT0 + 7 * kDay);  // rotation
  const InitialMessage new_msg = Send("new", kT0 + 7 * kDay);
  ASSERT_TRUE(Receive(new_msg, kT0 + 7 * kDay + 1).ok());
  EXPECT_EQ(Info().processed_messages, 2u);
  EXPECT_TRUE(Receive(old_msg, kT0 + 36 * kDay)->duplicate);  // still retained

  ASSERT_TRUE(bob_->Rotate(kT0 + 37 * kDay).ok());  // the first SPK is erased
  const DeviceInfo info = Info();
  EXPECT_EQ(info.processed_messages, 1u);
  EXPECT_EQ(info.sessions, 2u);
  EXPECT_EQ(info.opk_tombstones, 2u);
  auto again = Receive(old_msg, kT0 + 37 * kDay);
  EXPECT_EQ(X3dhErrorOf(again.status()), X3dhError::kSpkUnknown);
  auto recent = Receive(new_msg, kT0 + 37 * kDay);
  ASSERT_TRUE(recent.ok());
  EXPECT_TRUE(recent->duplicate);
}

TEST_F(ResponderTest, WrongRecipientAndGarbageCountAsOther) {
  Publish(kT0);
  InitialMessage m = Send("x", kT0);
  m.header.recipient_device = "laptop";
  auto r = Receive(m, kT0);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  auto g = ProcessEncodedInitialMessage(*bob_, core::AsBytes("not a message"), kT0);
  EXPECT_EQ(g.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Counters().other_failures, 2u);
  EXPECT_EQ(Info().opks, 100u);
}

TEST_F(ResponderTest, MessageForAnotherIdentityKeyFails) {
  Publish(kT0);
  // A swapped identity key that signs Bob's SPK public key again: the bundle
  // is self-consistent (it passed as if the log had vouched for it) but the
  // DH with IK_B is not Bob's, so Bob cannot decrypt.
  PrekeyBundle b = directory_.Fetch("bob@example.org", "phone");
  const auto eve = core::Ed25519Signer::Generate();
  b.identity_key = eve.public_key();
  b.signed_prekey = SignPrekey(eve, b.signed_prekey.spk_id, kT0, b.signed_prekey.public_key);
  InitiatorOptions o;
  o.now = kT0;
  auto sent = Initiate(VerifiedBundleTestPeer::Make(b), alice_, "alice@example.org", "laptop",
                       core::AsBytes("to eve"), o);
  ASSERT_TRUE(sent.ok());
  auto r = Receive(sent->message, kT0 + 1);
  EXPECT_EQ(X3dhErrorOf(r.status()), X3dhError::kAeadFailed);
  EXPECT_EQ(Info().opks, 100u);
}

TEST_F(ResponderTest, BatchHasPerMessageSemanticsInOneTxn) {
  Publish(kT0);
  const InitialMessage m1 = Send("one", kT0);
  InitialMessage forged = Send("two", kT0);
  forged.ciphertext.back() ^= 0x80;
  const InitialMessage m3 = Send("three", kT0);
  const std::vector<InitialMessage> batch = {m1, m1, forged, m3};
  auto rs = ProcessInitialMessages(*bob_, batch, kT0 + 1);
  ASSERT_EQ(rs.size(), 4u);
  ASSERT_TRUE(rs[0].ok());
  EXPECT_FALSE(rs[0]->duplicate);
  EXPECT_EQ(Text(rs[0]->plaintext), "one");
  ASSERT_TRUE(rs[1].ok());
  EXPECT_TRUE(rs[1]->duplicate);
  EXPECT_EQ(X3dhErrorOf(rs[2].status()), X3dhError::kAeadFailed);
  ASSERT_TRUE(rs[3].ok());
  EXPECT_EQ(Text(rs[3]->plaintext), "three");
  const DeviceCounters c = Counters();
  EXPECT_EQ(c.received, 2u);
  EXPECT_EQ(c.failure(X3dhError::kDuplicate), 1u);
  EXPECT_EQ(c.failure(X3dhError::kAeadFailed), 1u);
  EXPECT_EQ(Info().opks, 98u);  // the forged message's OPK is still there
  EXPECT_TRUE(ProcessInitialMessages(*bob_, {}, kT0 + 2).empty());

  // The encoded form, as from a mailbox fetch, with one undecodable entry.
  const InitialMessage m4 = Send("four", kT0);
  const std::vector<core::Bytes> encoded = {EncodeInitialMessage(m4), core::ToBytes("junk"),
                                            EncodeInitialMessage(m1)};
  auto es = ProcessEncodedInitialMessages(*bob_, encoded, kT0 + 3);
  ASSERT_EQ(es.size(), 3u);
  ASSERT_TRUE(es[0].ok());
  EXPECT_EQ(Text(es[0]->plaintext), "four");
  EXPECT_EQ(es[1].status().code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(es[2].ok());
  EXPECT_TRUE(es[2]->duplicate);
  EXPECT_EQ(Counters().other_failures, 1u);
  EXPECT_EQ(Counters().received, 3u);
}

}  // namespace
}  // namespace kt::x3dh::testing
