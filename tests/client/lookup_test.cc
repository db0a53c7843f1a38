// SPDX-License-Identifier: Apache-2.0
// Tests for client/replay, lookup and contacts against the in-process log
// (real keys, entries, trees and proofs; test_log.h), including an
// adversarial log that swaps keys, hides devices and drops history entries.
#include "client/lookup.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/contacts.h"
#include "client/errors.h"
#include "client/state_store.h"
#include "core/encoding.h"
#include "core/policy.h"
#include "tests/client/test_log.h"
#include "tests/testing/vectors.h"

namespace kt::client {
namespace {

using nlohmann::json;
using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;

using Tampered = std::optional<core::StatusOr<std::string>>;

class LookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<TestKeys>(TestKeys::Make());
    log_ = std::make_unique<TestLog>(*keys_);
    trust_ = std::make_unique<Trust>(core::ParsePolicy(keys_->PolicyText()).value(),
                                     [] { return kTestNow; });
    dir_ = kt::testing::TempDir("client-lookup");
    state_ = StateStore::Open(dir_).value();
    client_ = std::make_unique<LogClient>(*trust_, *state_, *log_);
    lookup_ = std::make_unique<Lookup>(*client_);
    // alice: phone (first device, operator), laptop endorsed by phone, phone
    // rotates (self-endorsed), tablet added by laptop then revoked by phone.
    log_->SetKey("alice", "phone", phone_);
    log_->SetKey("bob", "pc", bob_);
    log_->SetKey("alice", "laptop", laptop_, {{"phone", &phone_}});
    log_->SetKey("alice", "phone", phone2_, {{"phone", &phone_}});
    log_->SetKey("alice", "tablet", tablet_, {{"laptop", &laptop_}});
    log_->Revoke("alice", "tablet", {{"phone", &phone2_}});
    log_->Publish();
  }
  // TamperJson rewrites the JSON answers of `prefix` with `fn`.
  void TamperJson(std::string prefix, std::function<void(json&)> fn) {
    log_->tamper = [prefix, fn](std::string_view path,
                                const core::StatusOr<std::string>& honest) -> Tampered {
      if (!path.starts_with(prefix) || !honest.ok()) return std::nullopt;
      json j = json::parse(*honest);
      fn(j);
      return core::StatusOr<std::string>(j.dump());
    };
  }

  core::Ed25519Signer phone_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer phone2_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer laptop_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer tablet_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer bob_ = core::Ed25519Signer::Generate();
  std::unique_ptr<TestKeys> keys_;
  std::unique_ptr<TestLog> log_;
  std::unique_ptr<Trust> trust_;
  std::string dir_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<LogClient> client_;
  std::unique_ptr<Lookup> lookup_;
};

TEST_F(LookupTest, VerifiesDevicesAndHistory) {
  auto r = lookup_->Get("alice");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->lookup.devices.size(), 2u);
  EXPECT_EQ(r->lookup.devices[0].entry.device, "laptop");
  EXPECT_EQ(r->lookup.devices[1].entry.device, "phone");
  EXPECT_EQ(r->lookup.devices[1].entry.identity_key, phone2_.public_key());
  const auto& ev = r->history.events;
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_TRUE(ev[0].unendorsed);
  EXPECT_FALSE(ev[0].HighSeverity());  // first device
  EXPECT_EQ(ev[1].kind, EventKind::kAddDevice);
  EXPECT_EQ(ev[1].endorsed_by, std::vector<std::string>{"phone"});
  EXPECT_EQ(ev[2].kind, EventKind::kRotate);
  EXPECT_FALSE(ev[2].unendorsed);
  EXPECT_EQ(ev[4].kind, EventKind::kRevoke);
  // State moved to the answer's checkpoint.
  EXPECT_EQ(state_->Load("kt.test/log").value()->checkpoint.size, log_->size());
}

TEST_F(LookupTest, UnknownUserIsNotFound) {
  auto r = lookup_->Get("carol");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Status::Code::kNotFound);
}

TEST_F(LookupTest, SwappedKeyInLookupAnswerIsDetected) {
  // The server swaps the laptop's entry bytes for an entry with its own key
  // (proof left as it was).
  core::Ed25519Signer evil = core::Ed25519Signer::Generate();
  TamperJson("v1/lookup", [&](json& j) {
    for (auto& d : j["devices"]) {
      if (d["device"] != "laptop") continue;
      core::Entry e = core::DecodeEntry(core::Base64Decode(d["entry"].get<std::string>()).value()).value();
      e.identity_key = evil.public_key();
      auto pop = evil.Sign(core::PopMessage(e.user, e.device, e.identity_key));
      e.possession_sig.assign(pop.begin(), pop.end());
      d["entry"] = core::Base64Encode(core::EncodeEntry(e).value());
    }
  });
  auto r = lookup_->Get("alice");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Status::Code::kVerificationFailed) << r.status().ToString();
  EXPECT_EQ(ExitCodeFor(r.status()), kExitVerification);
}

TEST_F(LookupTest, LoggedEntryOfAnotherUserIsRefused) {
  // The server answers alice's lookup with bob's (validly logged) entry.
  auto bob = json::parse(log_->Get("v1/lookup?user=bob").value());
  TamperJson("v1/lookup?user=alice", [&](json& j) {
    j["devices"][0]["entry"] = bob["devices"][0]["entry"];
    j["devices"][0]["proof"] = bob["devices"][0]["proof"];
    j["devices"][0]["index"] = bob["devices"][0]["index"];
  });
  auto r = lookup_->Get("alice");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Status::Code::kVerificationFailed) << r.status().ToString();
}

TEST_F(LookupTest, HiddenDeviceIsDetected) {
  TamperJson("v1/lookup", [](json& j) { j["devices"].erase(0); });
  auto r = lookup_->Get("alice");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("disagrees with the verified history"), std::string::npos)
      << r.status().ToString();
}

TEST_F(LookupTest, DroppedHistoryEntryIsDetected) {
  for (size_t drop = 0; drop < 5; drop++) {
    TamperJson("v1/history", [drop](json& j) {
      j["entries"].erase(static_cast<json::size_type>(drop));
    });
    auto r = lookup_->Get("alice");
    ASSERT_FALSE(r.ok()) << drop;
    EXPECT_EQ(r.status().code(), core::Status::Code::kVerificationFailed) << r.status().ToString();
  }
}

TEST_F(LookupTest, QuietDeviceAdditionIsFlaggedAndIsAKeyChange) {
  auto contacts = Contacts::Load(dir_).value();
  auto first = lookup_->Get("alice");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(contacts.Check(*first).first_use);
  ASSERT_TRUE(contacts.Save().ok());
  // The operator adds a device quietly (no endorsement by alice's devices).
  core::Ed25519Signer evil = core::Ed25519Signer::Generate();
  log_->SetKey("alice", "spy", evil);
  log_->Publish();
  auto r = lookup_->Get("alice");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->history.events.back().HighSeverity());
  auto reloaded = Contacts::Load(dir_).value();
  ContactCheck c = reloaded.Check(*r);
  EXPECT_TRUE(c.changed);
  EXPECT_FALSE(c.endorsed);
  EXPECT_EQ(c.added, std::vector<std::string>{"spy"});
  // The pin is unchanged until accepted.
  EXPECT_TRUE(reloaded.Check(*r).changed);
  reloaded.Accept(*r);
  EXPECT_FALSE(reloaded.Check(*r).changed);
}

TEST_F(LookupTest, EndorsedRotationIsAnEndorsedKeyChange) {
  auto contacts = Contacts::Load(dir_).value();
  auto first = lookup_->Get("alice");
  ASSERT_TRUE(first.ok());
  (void)contacts.Check(*first);
  core::Ed25519Signer laptop2 = core::Ed25519Signer::Generate();
  log_->SetKey("alice", "laptop", laptop2, {{"phone", &phone2_}});
  log_->Publish();
  auto r = lookup_->Get("alice");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ContactCheck c = contacts.Check(*r);
  EXPECT_TRUE(c.changed);
  EXPECT_TRUE(c.endorsed);
  EXPECT_EQ(c.rotated, std::vector<std::string>{"laptop"});
}

TEST_F(LookupTest, ForgedEndorsementInHistoryFailsReplay) {
  // An entry whose endorsement is by a device that is not current is
  // something the log must refuse; a history containing one fails.
  core::Ed25519Signer x = core::Ed25519Signer::Generate();
  log_->SetKey("alice", "desk", x, {{"tablet", &tablet_}});  // tablet was revoked
  log_->Publish();
  auto r = lookup_->Get("alice");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a current device"), std::string::npos)
      << r.status().ToString();
}

TEST(SafetyNumberTest, SymmetricSixtyDigitsAndKeyBound) {
  Contact a, b;
  a.devices["phone"].identity_key[0] = 1;
  b.devices["pc"].identity_key[0] = 2;
  std::string ab = SafetyNumber("alice", a, "bob", b);
  EXPECT_EQ(ab, SafetyNumber("bob", b, "alice", a));
  std::string digits;
  for (char c : ab) {
    if (c != ' ') digits += c;
  }
  EXPECT_EQ(digits.size(), 60u);
  EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos);
  b.devices["pc"].identity_key[31] = 9;
  EXPECT_NE(SafetyNumber("alice", a, "bob", b), ab);
  EXPECT_NE(SafetyNumber("alice", a, "bobby", b), ab);
}

}  // namespace
}  // namespace kt::client
