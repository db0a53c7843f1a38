// SPDX-License-Identifier: Apache-2.0
// Tests for client/prekey_client (strict parsing of the directory and
// mailbox answers) and client/messenger's per-bundle checks against the
// in-process log of test_log.h (real proofs, real checkpoints): a bundle is
// usable only with a valid tlog-proof of the device's current entry, the
// logged and pinned key and a valid SPK signature; every refusal carries
// its x3dh reason and happens before any DH.
#include "client/messenger.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/prekey_client.h"
#include "client/state_store.h"
#include "core/crypto_dh.h"
#include "core/encoding.h"
#include "core/policy.h"
#include "tests/client/test_log.h"
#include "tests/testing/vectors.h"
#include "x3dh/keys.h"

namespace kt::client {
namespace {

using nlohmann::json;
using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;
using x3dh::X3dhError;
using x3dh::X3dhErrorOf;

x3dh::PrekeyBundle MakeBundle(const std::string& user, const std::string& device,
                              const core::Ed25519Signer& identity,
                              const core::Ed25519Signer& spk_signer, bool with_opk) {
  x3dh::PrekeyBundle b;
  b.user = user;
  b.device = device;
  b.identity_key = identity.public_key();
  core::X25519PrivateKey spk = core::X25519PrivateKey::Generate();
  b.signed_prekey = x3dh::SignPrekey(spk_signer, 7, kTestNow, spk.public_key());
  if (with_opk) b.one_time_prekey = x3dh::OneTimePrekey{3, core::X25519PrivateKey::Generate().public_key()};
  return b;
}

json BundleJson(const x3dh::PrekeyBundle& b, uint64_t index, const core::Bytes& entry,
                const std::string& proof) {
  return {{"device", b.device},
          {"bundle", core::Base64Encode(x3dh::EncodePrekeyBundle(b))},
          {"index", index},
          {"entry", core::Base64Encode(entry)},
          {"proof", proof}};
}

TEST(PrekeyClientTest, ParsesBundlesStrictly) {
  core::Ed25519Signer k = core::Ed25519Signer::Generate();
  auto b = MakeBundle("bob", "phone", k, k, true);
  json ok = {{"user", "bob"}, {"checkpoint", "cp"},
             {"bundles", json::array({BundleJson(b, 4, {1, 2}, "proof")})}};
  auto set = ParseBundlesAnswer(ok.dump(), "bob");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->bundles.size(), 1u);
  EXPECT_EQ(set->bundles[0].bundle, b);
  EXPECT_EQ(set->bundles[0].index, 4u);
  EXPECT_EQ(set->bundles[0].entry, (core::Bytes{1, 2}));

  EXPECT_FALSE(ParseBundlesAnswer(ok.dump(), "alice").ok());  // another user
  json dup = ok;
  dup["bundles"].push_back(dup["bundles"][0]);
  EXPECT_FALSE(ParseBundlesAnswer(dup.dump(), "bob").ok());
  json renamed = ok;
  renamed["bundles"][0]["device"] = "tablet";  // the bundle says phone
  EXPECT_FALSE(ParseBundlesAnswer(renamed.dump(), "bob").ok());
  json bad_b64 = ok;
  bad_b64["bundles"][0]["bundle"] = "AAA";
  EXPECT_FALSE(ParseBundlesAnswer(bad_b64.dump(), "bob").ok());
  json trailing = ok;
  core::Bytes enc = x3dh::EncodePrekeyBundle(b);
  enc.push_back(0);
  trailing["bundles"][0]["bundle"] = core::Base64Encode(enc);
  EXPECT_FALSE(ParseBundlesAnswer(trailing.dump(), "bob").ok());
  json neg = ok;
  neg["bundles"][0]["index"] = -1;
  EXPECT_FALSE(ParseBundlesAnswer(neg.dump(), "bob").ok());
  EXPECT_FALSE(ParseBundlesAnswer("[]", "bob").ok());
  EXPECT_FALSE(ParseBundlesAnswer("{", "bob").ok());
}

TEST(PrekeyClientTest, ParsesCountMessagesAndUpload) {
  auto c = ParseCountAnswer(R"({"opk_count": 5, "spk_id": 2, "spk_created": 99})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->opk_count, 5u);
  EXPECT_EQ(c->spk_id, 2u);
  EXPECT_EQ(c->spk_created, 99u);
  EXPECT_FALSE(ParseCountAnswer(R"({"opk_count": 5, "spk_id": 4294967296, "spk_created": 1})").ok());
  EXPECT_FALSE(ParseCountAnswer(R"({"opk_count": "5", "spk_id": 1, "spk_created": 1})").ok());
  EXPECT_TRUE(ParseUploadAnswer(R"({"opk_count": 5, "spk_id": 2})").ok());
  EXPECT_FALSE(ParseUploadAnswer(R"({"opk_count": 5})").ok());

  const std::string id(64, 'a');
  auto m = ParseMessagesAnswer(R"({"messages": [{"id": ")" + id + R"(", "message": "AQI=", "received": 7}]})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].message, (core::Bytes{1, 2}));
  EXPECT_EQ((*m)[0].received, 7u);
  // An id that is not 64 lowercase hex digits could not be a MessageId (and
  // could smuggle path segments into the DELETE).
  std::string traversal = "../";
  traversal.append(61, 'a');
  for (const std::string& bad : {std::string(64, 'A'), std::string(63, 'a'), traversal}) {
    EXPECT_FALSE(ParseMessagesAnswer(R"({"messages": [{"id": ")" + bad + R"(", "message": "AQI=", "received": 7}]})").ok())
        << bad;
  }
  EXPECT_FALSE(ParseMessagesAnswer(R"({"messages": {}})").ok());
}

class MessengerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<TestKeys>(TestKeys::Make());
    log_ = std::make_unique<TestLog>(*keys_);
    phone_index_ = log_->SetKey("bob", "phone", phone_);
    tablet_index_ = log_->SetKey("bob", "tablet", tablet_, {{"phone", &phone_}});
    log_->Publish();
    trust_ = std::make_unique<Trust>(core::ParsePolicy(keys_->PolicyText()).value(),
                                     [] { return kTestNow; });
    dir_ = kt::testing::TempDir("client-messenger");
    state_ = StateStore::Open(dir_).value();
    client_ = std::make_unique<LogClient>(*trust_, *state_, *log_);
    contacts_ = std::make_unique<Contacts>(Contacts::Load(dir_).value());
    Lookup lookup(*client_);
    lookup_ = lookup.Get("bob").value();
  }
  BundleItem Item(const x3dh::PrekeyBundle& b, uint64_t index) {
    BundleItem item;
    item.device = b.device;
    item.bundle = b;
    item.index = index;
    item.entry = log_->entries()[index];
    item.proof = log_->ProofFor(index);
    return item;
  }

  core::Ed25519Signer phone_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer tablet_ = core::Ed25519Signer::Generate();
  uint64_t phone_index_ = 0, tablet_index_ = 0;
  std::unique_ptr<TestKeys> keys_;
  std::unique_ptr<TestLog> log_;
  std::unique_ptr<Trust> trust_;
  std::string dir_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<LogClient> client_;
  std::unique_ptr<Contacts> contacts_;
  LookupResult lookup_;
};

TEST_F(MessengerTest, AcceptsTheLoggedBundle) {
  auto v = CheckBundleItem(Item(MakeBundle("bob", "phone", phone_, phone_, true), phone_index_),
                           lookup_, *client_, *contacts_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->identity_key(), phone_.public_key());
}

TEST_F(MessengerTest, ProofAgainstNewerCheckpointIsReconciledWithState) {
  // The log grows after the lookup: the bundle's proof names a checkpoint
  // the lookup did not reconcile, so state advances to it.
  const uint64_t looked_size = log_->size();
  log_->SetKey("carol", "phone", core::Ed25519Signer::Generate());
  log_->Publish();
  auto v = CheckBundleItem(Item(MakeBundle("bob", "phone", phone_, phone_, true), phone_index_),
                           lookup_, *client_, *contacts_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto stored = state_->Load("kt.test/log");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->checkpoint.size, looked_size + 1);
}

TEST_F(MessengerTest, RefusesSwappedIdentityKey) {
  core::Ed25519Signer mitm = core::Ed25519Signer::Generate();
  auto v = CheckBundleItem(Item(MakeBundle("bob", "phone", mitm, mitm, true), phone_index_),
                           lookup_, *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kKeyChanged) << v.status().ToString();
}

TEST_F(MessengerTest, RefusesSwappedSignedPrekey) {
  core::Ed25519Signer mitm = core::Ed25519Signer::Generate();
  auto v = CheckBundleItem(Item(MakeBundle("bob", "phone", phone_, mitm, true), phone_index_),
                           lookup_, *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kSignatureInvalid) << v.status().ToString();
}

TEST_F(MessengerTest, RefusesProofForAnotherDevice) {
  // The phone's bundle carrying the tablet's entry and proof.
  BundleItem item = Item(MakeBundle("bob", "phone", phone_, phone_, true), tablet_index_);
  auto v = CheckBundleItem(item, lookup_, *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kProofInvalid) << v.status().ToString();
  // The phone's entry with the tablet's proof.
  item = Item(MakeBundle("bob", "phone", phone_, phone_, true), phone_index_);
  item.proof = log_->ProofFor(tablet_index_);
  v = CheckBundleItem(item, lookup_, *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kProofInvalid) << v.status().ToString();
}

TEST_F(MessengerTest, RefusesStaleEntryAndUnknownDevice) {
  // The phone rotates; a bundle proven by its old entry is refused.
  core::Ed25519Signer rotated = core::Ed25519Signer::Generate();
  log_->SetKey("bob", "phone", rotated, {{"phone", &phone_}});
  log_->Publish();
  Lookup lookup(*client_);
  LookupResult now = lookup.Get("bob").value();
  auto v = CheckBundleItem(Item(MakeBundle("bob", "phone", phone_, phone_, false), phone_index_), now,
                           *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kProofInvalid) << v.status().ToString();

  // An entry of another user is not bob's device at all.
  core::Ed25519Signer eve = core::Ed25519Signer::Generate();
  uint64_t eve_index = log_->SetKey("eve", "phone", eve);
  log_->Publish();
  BundleItem item = Item(MakeBundle("bob", "phone", eve, eve, false), eve_index);
  v = CheckBundleItem(item, now, *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kProofInvalid) << v.status().ToString();
}

TEST_F(MessengerTest, RefusesUnpinnedKeyAndProofWithoutQuorum) {
  // The pin says another key for the phone: key_changed.
  LookupResult pinned = lookup_;
  pinned.lookup.devices[0].entry.identity_key = core::Ed25519Signer::Generate().public_key();
  contacts_->Accept(pinned);
  auto v = CheckBundleItem(Item(MakeBundle("bob", "phone", phone_, phone_, true), phone_index_),
                           lookup_, *client_, *contacts_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kKeyChanged) << v.status().ToString();

  // A proof whose checkpoint has one cosignature (quorum 2 of 3).
  Contacts empty = Contacts::Load(kt::testing::TempDir("client-messenger-empty")).value();
  log_->Serve(log_->Sign(log_->size(), 1, kTestNow));
  BundleItem item = Item(MakeBundle("bob", "phone", phone_, phone_, true), phone_index_);
  v = CheckBundleItem(item, lookup_, *client_, empty);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kQuorumNotMet) << v.status().ToString();
}

}  // namespace
}  // namespace kt::client
