// SPDX-License-Identifier: Apache-2.0
// Tests for x3dh/device_store.h on real LMDB files: create/open, the key
// file (0600, format, refused when it does not match the store), deleted
// state (clear errors), uploads (pending OPKs, fresh ids, JSON), rotation
// and retention, counters and state surviving a reopen and a crashed
// process.
#include "x3dh/device_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "store/file_util.h"
#include "tests/x3dh/device_testing.h"
#include "x3dh/device_auth.h"
#include "x3dh/prekey_upload.h"

namespace kt::x3dh::testing {
namespace {

using core::Status;
namespace fs = std::filesystem;

class DeviceStoreTest : public DeviceFixture {
 protected:
  core::StatusOr<std::unique_ptr<DeviceStore>> Reopen() {
    bob_.reset();
    return DeviceStore::Open(BobDir(), options_);
  }
};

TEST_F(DeviceStoreTest, CreateWritesAPrivateKeyFileAndAFirstSpk) {
  struct stat st{};
  ASSERT_EQ(::stat((BobDir() + "/identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = store::ReadSecretFile(BobDir() + "/identity.key");
  ASSERT_TRUE(text.ok());
  auto parsed = ParseIdentityKey(*text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->public_key(), bob_key_.public_key());

  const DeviceInfo info = Info();
  EXPECT_EQ(info.user, "bob@example.org");
  EXPECT_EQ(info.device, "phone");
  EXPECT_EQ(info.identity_key, bob_key_.public_key());
  EXPECT_EQ(info.created, kT0);
  ASSERT_TRUE(info.current_spk.has_value());
  EXPECT_EQ(info.current_spk->prekey.created, kT0);
  EXPECT_FALSE(info.current_spk->retired_at.has_value());
  auto verifier = core::Ed25519Verifier::Create(bob_key_.public_key());
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(VerifySignedPrekey(*verifier, info.current_spk->prekey).ok());
  EXPECT_EQ(info.opks, 0u);

  auto again = DeviceStore::Create(BobDir(), "bob@example.org", "phone", bob_key_, kT0, options_);
  EXPECT_EQ(again.status().code(), Status::Code::kConflict);
}

TEST_F(DeviceStoreTest, FailedCreateLeavesNothingBehind) {
  DeviceStoreOptions tiny = options_;
  tiny.map_size = 4096;  // the first txn cannot fit
  const std::string dir = dir_ + "/carol";
  auto bad = DeviceStore::Create(dir, "carol@example.org", "tablet", alice_, kT0, tiny);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(fs::exists(dir + "/identity.key"));
  EXPECT_FALSE(fs::exists(dir + "/db"));
  auto good = DeviceStore::Create(dir, "carol@example.org", "tablet", alice_, kT0, options_);
  EXPECT_TRUE(good.ok()) << good.status().ToString();
}

TEST_F(DeviceStoreTest, IdentityKeyFormatRoundTripsAndRejectsGarbage) {
  const std::string text = FormatIdentityKey(bob_key_);
  auto k = ParseIdentityKey(text);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->public_key(), bob_key_.public_key());
  EXPECT_FALSE(ParseIdentityKey("kt-device-key-v1 AAAA\n").ok());
  EXPECT_FALSE(ParseIdentityKey(text.substr(1)).ok());
  EXPECT_FALSE(ParseIdentityKey("").ok());
  const std::string msg = ParseIdentityKey(text.substr(0, text.size() - 3)).status().message();
  EXPECT_EQ(msg.find(text.substr(17, 20)), std::string::npos);  // no key bytes in errors
}

TEST_F(DeviceStoreTest, DeletedStateGivesClearErrors) {
  bob_.reset();
  fs::remove_all(BobDir() + "/db");
  auto no_db = DeviceStore::Open(BobDir(), options_);
  EXPECT_EQ(no_db.status().code(), Status::Code::kNotFound);
  EXPECT_NE(no_db.status().message().find("kt device init"), std::string::npos);

  fs::remove_all(BobDir());
  auto no_dir = DeviceStore::Open(BobDir(), options_);
  EXPECT_EQ(no_dir.status().code(), Status::Code::kNotFound);
  // Open never creates anything.
  EXPECT_FALSE(fs::exists(BobDir()));
}

TEST_F(DeviceStoreTest, DeletedKeyFileOrAnotherKeyIsRefused) {
  bob_.reset();
  fs::remove(BobDir() + "/identity.key");
  EXPECT_EQ(DeviceStore::Open(BobDir(), options_).status().code(), Status::Code::kNotFound);

  const auto other = core::Ed25519Signer::Generate();
  ASSERT_TRUE(store::WriteSecretFile(BobDir() + "/identity.key", FormatIdentityKey(other)).ok());
  auto r = DeviceStore::Open(BobDir(), options_);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("does not match"), std::string::npos);

  ASSERT_TRUE(store::WriteSecretFile(BobDir() + "/identity.key", FormatIdentityKey(bob_key_), true).ok());
  ASSERT_EQ(::chmod((BobDir() + "/identity.key").c_str(), 0644), 0);
  EXPECT_EQ(DeviceStore::Open(BobDir(), options_).status().code(), Status::Code::kPermissionDenied);
  ASSERT_EQ(::chmod((BobDir() + "/identity.key").c_str(), 0600), 0);
  EXPECT_TRUE(DeviceStore::Open(BobDir(), options_).ok());
}

TEST_F(DeviceStoreTest, PendingOpksAreReofferedUntilConfirmed) {
  auto up1 = bob_->PrepareUpload(kT0, std::nullopt);
  ASSERT_TRUE(up1.ok());
  ASSERT_EQ(up1->opks.size(), 100u);
  EXPECT_EQ(up1->identity_key, bob_key_.public_key());
  EXPECT_EQ(up1->spk, Info().current_spk->prekey);
  // The PUT failed: the same OPKs come again, no new batch.
  auto up2 = bob_->PrepareUpload(kT0 + 1, std::nullopt);
  ASSERT_TRUE(up2.ok());
  EXPECT_EQ(up2->opks, up1->opks);
  EXPECT_EQ(Info().opks_pending, 100u);
  ASSERT_TRUE(bob_->ConfirmUpload(*up2).ok());
  EXPECT_EQ(Info().opks_pending, 0u);
  // Enough in the directory: no OPKs in the next upload.
  auto up3 = bob_->PrepareUpload(kT0 + 2, 20);
  ASSERT_TRUE(up3.ok());
  EXPECT_TRUE(up3->opks.empty());
  // Low: a new batch with ids never used before.
  auto up4 = bob_->PrepareUpload(kT0 + 3, 19);
  ASSERT_TRUE(up4.ok());
  ASSERT_EQ(up4->opks.size(), 100u);
  std::set<uint32_t> ids;
  for (const auto& o : up1->opks) ids.insert(o.opk_id);
  for (const auto& o : up4->opks) EXPECT_TRUE(ids.insert(o.opk_id).second) << o.opk_id;
  EXPECT_EQ(Counters().opks_generated, 200u);
}

TEST_F(DeviceStoreTest, UploadJsonRoundTripsAndIsStrict) {
  auto up = bob_->PrepareUpload(kT0, std::nullopt);
  ASSERT_TRUE(up.ok());
  const std::string j = PrekeyUploadToJson(*up);
  auto back = ParsePrekeyUploadJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *up);
  EXPECT_FALSE(ParsePrekeyUploadJson("{}").ok());
  EXPECT_FALSE(ParsePrekeyUploadJson("[").ok());
  PrekeyUpload dup = *up;
  dup.opks.push_back(dup.opks.front());
  EXPECT_FALSE(ParsePrekeyUploadJson(PrekeyUploadToJson(dup)).ok());
  std::string neg = j;
  neg.replace(neg.find("\"id\":"), 5, "\"id\":-");
  EXPECT_FALSE(ParsePrekeyUploadJson(neg).ok());
}

TEST_F(DeviceStoreTest, RotationRetiresThenErasesAfterRetention) {
  const uint32_t first = Info().current_spk->prekey.spk_id;
  auto p = bob_->Rotate(kT0 + 7 * kDay - 1);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->rotate_spk);
  p = bob_->Rotate(kT0 + 7 * kDay);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->rotate_spk);
  DeviceInfo info = Info();
  ASSERT_TRUE(info.current_spk.has_value());
  EXPECT_GT(info.current_spk->prekey.spk_id, first);
  EXPECT_EQ(info.current_spk->prekey.created, kT0 + 7 * kDay);
  ASSERT_EQ(info.retired_spks.size(), 1u);
  EXPECT_EQ(info.retired_spks[0].prekey.spk_id, first);
  EXPECT_EQ(info.retired_spks[0].retired_at, kT0 + 7 * kDay);

  // Weekly rotations: at day 35 the SPKs retired at days 7..35 are all kept
  // (35 - 7 < 30); at day 42 the first one (retired 35 days ago) is erased.
  for (uint64_t week = 2; week <= 5; week++) ASSERT_TRUE(bob_->Rotate(kT0 + week * 7 * kDay).ok());
  EXPECT_EQ(Info().retired_spks.size(), 5u);
  ASSERT_TRUE(bob_->Rotate(kT0 + 42 * kDay).ok());
  info = Info();
  EXPECT_EQ(info.retired_spks.size(), 5u);  // retired at days 14..42
  EXPECT_NE(info.retired_spks.front().prekey.spk_id, first);
  const DeviceCounters c = Counters();
  EXPECT_EQ(c.spk_rotations, 6u);
  EXPECT_EQ(c.spks_erased, 1u);
}

TEST_F(DeviceStoreTest, StateAndCountersSurviveReopen) {
  Publish(kT0);
  const InitialMessage m = Send("persist", kT0);
  ASSERT_TRUE(Receive(m, kT0 + 1).ok());
  ASSERT_TRUE(Receive(m, kT0 + 2).ok());
  ASSERT_TRUE(bob_->CountFailure(X3dhError::kKeyChanged).ok());
  const DeviceInfo before = Info();

  auto re = Reopen();
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  bob_ = std::move(re).value();
  const DeviceInfo after = Info();
  EXPECT_EQ(after.current_spk, before.current_spk);
  EXPECT_EQ(after.opks, before.opks);
  EXPECT_EQ(after.sessions, 1u);
  const DeviceCounters c = Counters();
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.failure(X3dhError::kDuplicate), 1u);
  EXPECT_EQ(c.failure(X3dhError::kKeyChanged), 1u);
  EXPECT_EQ(c.opks_generated, 100u);
  // Dedup and tombstones persisted too.
  auto dup = Receive(m, kT0 + 3);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(Text(dup->plaintext), "persist");
}

// A process that processes a message and dies without closing anything
// (no destructors, no env close) leaves a store whose committed state is
// complete: durable commits, as configured by default.
TEST_F(DeviceStoreTest, CommittedStateSurvivesACrashedProcess) {
  Publish(kT0);
  const InitialMessage m = Send("crash", kT0);
  bob_.reset();
  options_.no_sync = false;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = DeviceStore::Open(BobDir(), options_);
    if (!s.ok()) ::_exit(2);
    auto r = ProcessInitialMessage(**s, m, kT0 + 1);
    ::_exit(r.ok() && !r->duplicate ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  auto re = DeviceStore::Open(BobDir(), options_);
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  bob_ = std::move(re).value();
  EXPECT_EQ(Counters().received, 1u);
  EXPECT_EQ(Info().opks, 99u);
  auto again = Receive(m, kT0 + 2);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(Text(again->plaintext), "crash");
}

// A process SIGKILLed at an arbitrary moment while processing a stream of
// messages leaves a store in which every handshake is all-or-nothing: each
// consumed OPK has its tombstone, session and dedup record, and no OPK is
// both present and consumed.
TEST_F(DeviceStoreTest, KilledMidStreamLeavesEveryHandshakeAllOrNothing) {
  Publish(kT0);
  std::vector<InitialMessage> messages;
  for (int i = 0; i < 60; i++) messages.push_back(Send(std::to_string(i), kT0));
  bob_.reset();
  options_.no_sync = false;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = DeviceStore::Open(BobDir(), options_);
    if (!s.ok()) ::_exit(2);
    for (const auto& m : messages) (void)ProcessInitialMessage(**s, m, kT0 + 1);
    ::_exit(0);
  }
  ::usleep(150 * 1000);
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);

  auto re = DeviceStore::Open(BobDir(), options_);
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  bob_ = std::move(re).value();
  const DeviceInfo info = Info();
  const DeviceCounters c = Counters();
  EXPECT_EQ(info.opks + info.opk_tombstones, 100u);
  EXPECT_EQ(info.opk_tombstones, info.processed_messages);
  EXPECT_EQ(info.sessions, info.processed_messages);
  EXPECT_EQ(c.received, info.processed_messages);
  // Whatever was committed is answered as a duplicate; the rest is processed now.
  size_t dups = 0;
  for (const auto& m : messages) {
    auto r = Receive(m, kT0 + 2);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    dups += r->duplicate ? 1 : 0;
  }
  EXPECT_EQ(dups, c.received);
  EXPECT_EQ(Info().opk_tombstones, 60u);
  EXPECT_EQ(Info().opks, 40u);
}

TEST_F(DeviceStoreTest, InitiatedSessionsAreStored) {
  // Bob sends to Carol's device.
  const auto carol = core::Ed25519Signer::Generate();
  const core::X25519KeyPair spk = core::GenerateX25519();
  PrekeyBundle b;
  b.user = "carol@example.org";
  b.device = "tablet";
  b.identity_key = carol.public_key();
  b.signed_prekey = SignPrekey(carol, 3, kT0, spk.public_key);
  const VerifiedBundle vb = VerifiedBundleTestPeer::Make(b);
  InitiatorOptions o;
  o.now = kT0;
  auto sent = Initiate(vb, bob_->identity(), bob_->user(), bob_->device(), core::AsBytes("hi carol"), o);
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(bob_->RecordInitiated(vb, *sent, kT0).ok());
  EXPECT_EQ(bob_->RecordInitiated(vb, *sent, kT0).code(), Status::Code::kConflict);
  auto s = bob_->GetSession(MessageId(sent->message));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->initiator);
  EXPECT_EQ(s->peer_user, "carol@example.org");
  EXPECT_EQ(s->peer_device, "tablet");
  EXPECT_EQ(s->peer_identity_key, carol.public_key());
  EXPECT_TRUE(core::ConstantTimeEqual(s->shared_key.span(), sent->shared_key.span()));
  EXPECT_EQ(Counters().sent, 1u);
  auto all = bob_->Sessions();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(DeviceStoreTest, AuthHeaderVerifiesUnderTheIdentityKey) {
  const std::string body = "{}";
  const std::string h = bob_->AuthHeader("PUT", "/v1/prekeys/bob@example.org/phone", core::AsBytes(body), kT0);
  auto auth = ParseDeviceAuth(h);
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->ts, kT0);
  EXPECT_TRUE(VerifyDeviceAuthSignature(bob_key_.public_key(), *auth, "PUT", "/v1/prekeys/bob@example.org/phone",
                                        core::AsBytes(body)));
  EXPECT_FALSE(VerifyDeviceAuthSignature(bob_key_.public_key(), *auth, "PUT", "/v1/prekeys/bob@example.org/laptop",
                                         core::AsBytes(body)));
}

}  // namespace
}  // namespace kt::x3dh::testing
