// SPDX-License-Identifier: Apache-2.0
// Tests for client/bundle_verifier: X3DH prekey bundles are accepted only
// with the logged, pinned identity key and a valid SPK signature; every
// refusal carries its x3dh reason.
#include "client/bundle_verifier.h"

#include <gtest/gtest.h>

#include "client/state_store.h"
#include "core/policy.h"
#include "tests/client/test_log.h"
#include "tests/testing/vectors.h"
#include "x3dh/keys.h"

namespace kt::client {
namespace {

using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;
using x3dh::X3dhError;
using x3dh::X3dhErrorOf;

class BundleVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<TestKeys>(TestKeys::Make());
    log_ = std::make_unique<TestLog>(*keys_);
    log_->SetKey("bob", "phone", phone_);
    log_->Publish();
    trust_ = std::make_unique<Trust>(core::ParsePolicy(keys_->PolicyText()).value(),
                                     [] { return kTestNow; });
    dir_ = kt::testing::TempDir("client-bundle");
    state_ = StateStore::Open(dir_).value();
    client_ = std::make_unique<LogClient>(*trust_, *state_, *log_);
    lookup_ = std::make_unique<Lookup>(*client_);
  }
  x3dh::PrekeyBundle Bundle(const core::Ed25519Signer& identity, const core::Ed25519Signer& spk_signer) {
    x3dh::PrekeyBundle b;
    b.user = "bob";
    b.device = "phone";
    b.identity_key = identity.public_key();
    core::X25519PublicKey spk{};
    spk[0] = 9;
    b.signed_prekey = x3dh::SignPrekey(spk_signer, 7, kTestNow, spk);
    return b;
  }

  core::Ed25519Signer phone_ = core::Ed25519Signer::Generate();
  std::unique_ptr<TestKeys> keys_;
  std::unique_ptr<TestLog> log_;
  std::unique_ptr<Trust> trust_;
  std::string dir_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<LogClient> client_;
  std::unique_ptr<Lookup> lookup_;
};

TEST_F(BundleVerifierTest, AcceptsLoggedKeyWithValidSpk) {
  auto v = BundleVerifier::VerifyFromLog(Bundle(phone_, phone_), *lookup_, nullptr);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->identity_key(), phone_.public_key());
  // The verifier checked the SPK signature, so Initiate does not redo it.
  EXPECT_TRUE(v->spk_signature_verified());
}

TEST_F(BundleVerifierTest, RefusesWithReasons) {
  core::Ed25519Signer mitm = core::Ed25519Signer::Generate();
  auto swapped = BundleVerifier::VerifyFromLog(Bundle(mitm, mitm), *lookup_, nullptr);
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(X3dhErrorOf(swapped.status()), X3dhError::kKeyChanged);

  auto bad_spk = BundleVerifier::VerifyFromLog(Bundle(phone_, mitm), *lookup_, nullptr);
  ASSERT_FALSE(bad_spk.ok());
  EXPECT_EQ(X3dhErrorOf(bad_spk.status()), X3dhError::kSignatureInvalid);

  x3dh::PrekeyBundle other_device = Bundle(phone_, phone_);
  other_device.device = "tablet";
  auto unknown = BundleVerifier::VerifyFromLog(other_device, *lookup_, nullptr);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(X3dhErrorOf(unknown.status()), X3dhError::kNotLogged);

  x3dh::PrekeyBundle nobody = Bundle(phone_, phone_);
  nobody.user = "nobody";
  auto not_logged = BundleVerifier::VerifyFromLog(nobody, *lookup_, nullptr);
  ASSERT_FALSE(not_logged.ok());
  EXPECT_EQ(X3dhErrorOf(not_logged.status()), X3dhError::kNotLogged);

  // Quorum: the log stops getting cosignatures.
  log_->Serve(log_->Sign(log_->size(), 1, kTestNow));
  auto quorum = BundleVerifier::VerifyFromLog(Bundle(phone_, phone_), *lookup_, nullptr);
  ASSERT_FALSE(quorum.ok());
  EXPECT_EQ(X3dhErrorOf(quorum.status()), X3dhError::kQuorumNotMet) << quorum.status().ToString();
}

TEST_F(BundleVerifierTest, ForgedSpkRefusedAfterGenuineOneWasAccepted) {
  // The genuine bundle's SPK verification is cached; a forged signature over
  // the same SPK, or the same signature over another SPK, is still refused.
  x3dh::PrekeyBundle good = Bundle(phone_, phone_);
  ASSERT_TRUE(BundleVerifier::VerifyFromLog(good, *lookup_, nullptr).ok());
  ASSERT_TRUE(BundleVerifier::VerifyFromLog(good, *lookup_, nullptr).ok());
  x3dh::PrekeyBundle forged_sig = good;
  forged_sig.signed_prekey.signature[0] ^= 0x80;
  x3dh::PrekeyBundle swapped_spk = good;
  swapped_spk.signed_prekey.public_key[1] ^= 1;
  for (const auto& bad : {forged_sig, swapped_spk}) {
    auto v = BundleVerifier::VerifyFromLog(bad, *lookup_, nullptr);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kSignatureInvalid);
  }
}

TEST_F(BundleVerifierTest, PinnedKeyMustMatch) {
  auto contacts = Contacts::Load(dir_).value();
  auto first = lookup_->Get("bob");
  ASSERT_TRUE(first.ok());
  (void)contacts.Check(*first);  // pins phone_
  // The operator rotates bob's phone key (logged, so the lookup verifies).
  core::Ed25519Signer new_key = core::Ed25519Signer::Generate();
  log_->SetKey("bob", "phone", new_key, {{"phone", &phone_}});
  log_->Publish();
  auto v = BundleVerifier::VerifyFromLog(Bundle(new_key, new_key), *lookup_, &contacts);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(X3dhErrorOf(v.status()), X3dhError::kKeyChanged);
  auto r = lookup_->Get("bob");
  ASSERT_TRUE(r.ok());
  contacts.Accept(*r);
  EXPECT_TRUE(BundleVerifier::Verify(Bundle(new_key, new_key), *r, &contacts).ok());
}

}  // namespace
}  // namespace kt::client
