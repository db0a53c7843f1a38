// SPDX-License-Identifier: Apache-2.0
// Tests of the `kt` commands run in-process (RunCli) against the in-process
// log of test_log.h: output, exit codes, state, contacts, audit resume,
// monitor alerts and adversarial answers.
#include "client/cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "client/audit.h"
#include "client/errors.h"
#include "store/file_util.h"
#include "tests/client/test_log.h"
#include "tests/testing/vectors.h"

namespace kt::client {
namespace {

using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;
using Tampered = std::optional<core::StatusOr<std::string>>;

// Borrowed forwards to a Fetcher owned by the test.
class Borrowed : public Fetcher {
 public:
  explicit Borrowed(Fetcher& f) : f_(f) {}
  core::StatusOr<std::string> Get(std::string_view path) override { return f_.Get(path); }

 private:
  Fetcher& f_;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<TestKeys>(TestKeys::Make());
    log_ = std::make_unique<TestLog>(*keys_);
    dir_ = kt::testing::TempDir("client-cli");
    policy_ = dir_ + "/policy";
    ASSERT_TRUE(store::WriteFileAtomic(policy_, keys_->PolicyText()).ok());
    log_->SetKey("alice", "phone", phone_);
    log_->SetKey("alice", "laptop", laptop_, {{"phone", &phone_}});
    for (int i = 0; i < 300; i++) {
      core::Ed25519Signer k = core::Ed25519Signer::Generate();
      log_->SetKey("user" + std::to_string(i % 40), "d" + std::to_string(i), k);
    }
    log_->Publish();
  }
  int Run(std::vector<std::string> args) {
    std::vector<std::string> all = {"--policy", policy_, "--log", "http://test", "--state",
                                    dir_ + "/state"};
    all.insert(all.end(), args.begin(), args.end());
    out_.str("");
    err_.str("");
    CliContext ctx;
    ctx.out = &out_;
    ctx.err = &err_;
    ctx.clock = [] { return kTestNow; };
    ctx.make_fetcher = [this](const std::string&) -> core::StatusOr<std::unique_ptr<Fetcher>> {
      return std::unique_ptr<Fetcher>(new Borrowed(*log_));
    };
    return RunCli(all, ctx);
  }

  core::Ed25519Signer phone_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer laptop_ = core::Ed25519Signer::Generate();
  std::unique_ptr<TestKeys> keys_;
  std::unique_ptr<TestLog> log_;
  std::string dir_, policy_;
  std::ostringstream out_, err_;
};

TEST_F(CliTest, HelpDocumentsExitCodes) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  for (const char* s : {"0  ok", "2  verification", "3  fork", "4  rollback", "5  network", "6  key change"}) {
    EXPECT_NE(out_.str().find(s), std::string::npos) << s;
  }
  EXPECT_EQ(Run({"frobnicate"}), kExitUsage);
  EXPECT_EQ(Run({"lookup"}), kExitUsage);
  EXPECT_EQ(Run({"checkpoint", "--bogus"}), kExitUsage);
}

TEST_F(CliTest, CheckpointRollbackAndFork) {
  ASSERT_EQ(Run({"checkpoint"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("size:      302"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("w1,w2,w3"), std::string::npos) << out_.str();
  std::string old = log_->served();
  log_->AppendRaw(core::ToBytes("x"));
  log_->Publish();
  ASSERT_EQ(Run({"checkpoint", "--json"}), kExitOk) << err_.str();
  auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["size"], 303);
  EXPECT_EQ(j["previous_size"], 302);
  log_->Serve(old);
  EXPECT_EQ(Run({"checkpoint"}), kExitRollback) << err_.str();
  TestLog fork(*keys_);
  for (int i = 0; i < 303; i++) fork.AppendRaw(core::ToBytes("f" + std::to_string(i)));
  log_->Serve(fork.Sign(303, 3, kTestNow));
  EXPECT_EQ(Run({"checkpoint"}), kExitFork) << err_.str();
  std::string evidence;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/state/evidence")) {
    evidence = e.path().string();
  }
  ASSERT_FALSE(evidence.empty());
  EXPECT_EQ(Run({"verify-evidence", evidence}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("FORK PROVEN"), std::string::npos);
  // Evidence that proves nothing is refused.
  std::string text = store::ReadFile(evidence).value();
  ForkEvidence e = ParseEvidence(text).value();
  e.second = e.first;
  ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/not-a-fork", FormatEvidence(e)).ok());
  EXPECT_EQ(Run({"verify-evidence", dir_ + "/not-a-fork"}), kExitVerification);
}

TEST_F(CliTest, LookupPinsAndReportsKeyChanges) {
  ASSERT_EQ(Run({"lookup", "alice"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("laptop"), std::string::npos);
  EXPECT_NE(out_.str().find("first use"), std::string::npos);
  ASSERT_EQ(Run({"lookup", "alice"}), kExitOk) << err_.str();
  core::Ed25519Signer spy = core::Ed25519Signer::Generate();
  log_->SetKey("alice", "spy", spy);
  log_->Publish();
  EXPECT_EQ(Run({"lookup", "alice"}), kExitKeyChange);
  EXPECT_NE(err_.str().find("NOT endorsed"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"lookup", "alice", "--json"}), kExitKeyChange);
  auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["pin"], "changed");
  EXPECT_EQ(j["key_change"]["added"][0], "spy");
  EXPECT_EQ(Run({"lookup", "alice", "--accept"}), kExitOk) << err_.str();
  EXPECT_EQ(Run({"lookup", "alice"}), kExitOk) << err_.str();
  EXPECT_EQ(Run({"lookup", "nobody"}), kExitNetwork);
  ASSERT_EQ(Run({"lookup", "user1"}), kExitOk);
  ASSERT_EQ(Run({"safety-number", "alice", "user1"}), kExitOk) << err_.str();
  std::string a = out_.str();
  ASSERT_EQ(Run({"safety-number", "user1", "alice"}), kExitOk);
  EXPECT_EQ(out_.str(), a);
  EXPECT_EQ(a.size(), 60u + 11u + 1u);
}

TEST_F(CliTest, HistoryAndVerifyProof) {
  ASSERT_EQ(Run({"history", "alice", "--json"}), kExitOk) << err_.str();
  auto j = nlohmann::json::parse(out_.str());
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][1]["kind"], "add-device");
  EXPECT_EQ(j["entries"][1]["endorsed_by"][0], "phone");
  std::string proof = log_->ProofFor(1);
  ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/p.tlog-proof", proof).ok());
  ASSERT_EQ(Run({"verify-proof", dir_ + "/p.tlog-proof"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("user=alice device=laptop"), std::string::npos) << out_.str();
  proof[proof.find("index 1") + 6] = '2';
  ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/bad.tlog-proof", proof).ok());
  EXPECT_EQ(Run({"verify-proof", dir_ + "/bad.tlog-proof"}), kExitVerification);
}

TEST_F(CliTest, AuditRecomputesResumesAndCatchesBadBundles) {
  ASSERT_EQ(Run({"audit", "--json", "--verify-signatures"}), kExitOk) << err_.str();
  auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["entries"], 302);
  EXPECT_EQ(j["users"], 41);
  EXPECT_EQ(j["unendorsed"], 301);  // every device but alice's laptop came from the operator
  // Resume: nothing new to read, then only the new tail.
  ASSERT_EQ(Run({"audit", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["entries"], 0);
  core::Ed25519Signer k = core::Ed25519Signer::Generate();
  log_->SetKey("user3", "late", k);
  log_->Publish();
  ASSERT_EQ(Run({"audit", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["entries"], 1);
  // A bundle that does not match the tree.
  log_->tamper = [](std::string_view path, const core::StatusOr<std::string>& honest) -> Tampered {
    if (path != "tile/entries/000") return std::nullopt;
    std::string b = *honest;
    b[b.size() / 2] ^= 1;
    return core::StatusOr<std::string>(b);
  };
  EXPECT_EQ(Run({"audit", "--from", "0"}), kExitVerification);
  EXPECT_NE(err_.str().find("does not match"), std::string::npos) << err_.str();
}

TEST_F(CliTest, MonitorAlertsOnQuietDeviceAndRemembersPosition) {
  std::string alerts = dir_ + "/alerts.txt";
  ASSERT_EQ(Run({"monitor", "--watch", "alice", "--alert-cmd", "cat >> " + alerts}), kExitOk)
      << err_.str();
  EXPECT_NE(out_.str().find("add-device user=alice device=laptop"), std::string::npos) << out_.str();
  // Nothing new: no alert.
  ASSERT_EQ(Run({"monitor", "--watch", "alice"}), kExitOk);
  EXPECT_EQ(out_.str(), "");
  core::Ed25519Signer spy = core::Ed25519Signer::Generate();
  log_->SetKey("alice", "spy", spy);
  log_->Publish();
  ASSERT_EQ(Run({"monitor", "--watch", "alice", "--json", "--alert-cmd", "cat >> " + alerts}), kExitOk)
      << err_.str();
  auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["severity"], "high");
  EXPECT_EQ(j["device"], "spy");
  std::string written = store::ReadFile(alerts).value();
  EXPECT_NE(written.find("\"device\":\"spy\""), std::string::npos) << written;
  // A rollback is an alert and its exit code.
  log_->Serve(log_->Sign(10, 3, kTestNow));
  EXPECT_EQ(Run({"monitor", "--watch", "alice"}), kExitRollback);
  EXPECT_NE(out_.str().find("[HIGH] rollback"), std::string::npos) << out_.str();
}

TEST(AuditPositionTest, RoundTrip) {
  core::TreeBuilder b;
  for (int i = 0; i < 37; i++) b.AppendEntry(core::ToBytes(std::to_string(i)));
  std::string text = FormatAuditPosition(b);
  auto back = ParseAuditPosition(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Root(), b.Root());
  EXPECT_FALSE(ParseAuditPosition(text.substr(0, text.size() - 1)).ok());
}

}  // namespace
}  // namespace kt::client
