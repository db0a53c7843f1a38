// SPDX-License-Identifier: Apache-2.0
// Integration tests of witnessed checkpoints with the real binaries on
// loopback: one ktlog and three ktwitness nodes under a 2-of-3 policy.
// Quorum with all witnesses, with one stopped (SIGSTOP), with two stopped
// (202 pending, then published after SIGCONT), a witness killed and
// restarted, a log restart (409 re-sync of every witness), and a witness
// whose cosignatures do not match the policy key (ignored and counted).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/policy.h"
#include "core/tlog_proof.h"
#include "net/http_client.h"
#include "tests/log/binding_testing.h"
#include "tests/log/node_testing.h"
#include "tests/testing/vectors.h"

namespace kt::testing {
namespace {

using nlohmann::json;

// WitnessProcess is a ktwitness serve child with its key and data.
class WitnessProcess {
 public:
  WitnessProcess(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {
    vkey_ = RunTool("ktwitness", {"keygen", "--name", name_ + ".test/witness", "--out",
                                  dir_ + "/" + name_ + ".key"});
    port_ = PickFreePort();
  }
  ~WitnessProcess() { Kill(); }
  void Start(const std::string& log_vkey) {
    auto p = ChildProcess::Start(
        BinaryPath("ktwitness"),
        {"serve", "--listen", "127.0.0.1:" + std::to_string(port_), "--data",
         dir_ + "/" + name_ + "-data", "--key", dir_ + "/" + name_ + ".key", "--trust-log",
         log_vkey});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    proc_ = std::move(p).value();
    ASSERT_TRUE(WaitForHttpReady("127.0.0.1", port_, "/healthz", std::chrono::seconds(20)))
        << proc_->Stderr();
  }
  void Kill() {
    if (!proc_) return;
    proc_->Signal(SIGCONT);
    proc_->Kill();
    proc_->Wait(std::chrono::seconds(10));
    proc_.reset();
  }
  void Stop() { proc_->Signal(SIGSTOP); }
  void Continue() { proc_->Signal(SIGCONT); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& vkey() const { return vkey_; }
  const std::string& name() const { return name_; }

 private:
  std::string dir_, name_, vkey_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
};

class LogWitnessIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("ktlog-witness-it");
    log_ = std::make_unique<LogProcess>(dir_);
    for (int i = 0; i < 3; i++) {
      witnesses_.push_back(std::make_unique<WitnessProcess>(dir_, "w" + std::to_string(i)));
    }
  }

  // StartAll writes the policy (witness w2's key replaced by `w2_vkey` when
  // given) and starts the witnesses and the log.
  void StartAll(const std::string& w2_vkey = "", const std::string& witness_timeout = "10000") {
    std::string text = "log " + log_->vkey() + "\n";
    for (const auto& w : witnesses_) {
      std::string vkey = (w->name() == "w2" && !w2_vkey.empty()) ? w2_vkey : w->vkey();
      text += "witness " + w->name() + " " + vkey + " " + w->url() + "\n";
    }
    text += "group two 2 w0 w1 w2\nquorum two\n";
    auto p = core::ParsePolicy(text);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    policy_.emplace(*p);
    ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/policy", text).ok());
    for (auto& w : witnesses_) ASSERT_NO_FATAL_FAILURE(w->Start(log_->vkey()));
    ASSERT_NO_FATAL_FAILURE(StartLog(witness_timeout));
  }
  void StartLog(const std::string& witness_timeout = "10000") {
    log_->Start({"--witness-policy", dir_ + "/policy", "--witness-timeout", witness_timeout});
  }

  json PostOperator(const json& body, int* status) {
    net::Headers h = {{"Authorization", std::string("Bearer ") + kTestToken}};
    auto r = client_.Post(log_->Url("/v1/bindings"), body.dump(), "application/json", h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    *status = r.ok() ? r->status : 0;
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }

  // Witnesses returns the policy names whose cosignatures counted in a
  // 200 answer's proof (which must verify with the 2-of-3 policy).
  std::vector<std::string> VerifiedWitnesses(const json& answer) {
    auto v =
        core::VerifyTlogProof(answer["proof"].get<std::string>(), *policy_, core::UnixSeconds());
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return {};
    std::vector<std::string> names = v->witnesses;
    std::sort(names.begin(), names.end());
    return names;
  }

  uint64_t MetricValue(const std::string& series) {
    auto r = client_.Get(log_->Url("/metrics"));
    if (!r.ok()) return 0;
    size_t pos = r->body.find(series + " ");
    if (pos == std::string::npos) return 0;
    return std::strtoull(r->body.c_str() + pos + series.size() + 1, nullptr, 10);
  }

  // WaitForWitnessedSize polls /checkpoint (bounded) until it has `size`.
  bool WaitForWitnessedSize(uint64_t size) {
    for (int i = 0; i < 500; i++) {
      auto r = client_.Get(log_->Url("/checkpoint"));
      if (r.ok() && r->status == 200) {
        auto cp = core::VerifyCheckpoint(r->body, core::LogKeys(*policy_),
                                         core::WitnessKeys(*policy_));
        if (cp.ok() && cp->checkpoint.size >= size) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<LogProcess> log_;
  std::vector<std::unique_ptr<WitnessProcess>> witnesses_;
  std::optional<core::Policy> policy_;
  net::HttpClient client_;
};

TEST_F(LogWitnessIntegrationTest, AllWitnessesCosign) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  int status = 0;
  TestDevice d{"phone"};
  json a = PostOperator(SetRequest("alice", d), &status);
  ASSERT_EQ(status, 200) << a.dump();
  EXPECT_GE(VerifiedWitnesses(a).size(), 2u);
  // /checkpoint carries the log signature and a quorum of cosignatures.
  ASSERT_TRUE(WaitForWitnessedSize(1));
  auto r = client_.Get(log_->Url("/checkpoint"));
  ASSERT_TRUE(r.ok());
  auto cp = core::VerifyCheckpoint(r->body, core::LogKeys(*policy_), core::WitnessKeys(*policy_));
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  EXPECT_GE(cp->note.cosignatures.size(), 2u);
}

TEST_F(LogWitnessIntegrationTest, OneStoppedWitnessDoesNotBlockQuorum) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  witnesses_[0]->Stop();
  for (int i = 0; i < 3; i++) {
    int status = 0;
    TestDevice d{"phone"};
    json a = PostOperator(SetRequest("bob" + std::to_string(i), d), &status);
    ASSERT_EQ(status, 200) << a.dump();
    EXPECT_EQ(VerifiedWitnesses(a), (std::vector<std::string>{"w1", "w2"}));
  }
  witnesses_[0]->Continue();
}

TEST_F(LogWitnessIntegrationTest, TwoStoppedWitnessesGivePendingThenPublish) {
  ASSERT_NO_FATAL_FAILURE(StartAll("", "500"));
  ASSERT_TRUE(WaitForWitnessedSize(0));  // the empty tree is witnessed first
  witnesses_[0]->Stop();
  witnesses_[1]->Stop();
  int status = 0;
  TestDevice d{"phone"};
  json a = PostOperator(SetRequest("carol", d), &status);
  ASSERT_EQ(status, 202) << a.dump();
  EXPECT_EQ(a["status"], "pending");
  uint64_t index = a["index"].get<uint64_t>();
  // Nothing unwitnessed is published as /checkpoint.
  auto r = client_.Get(log_->Url("/checkpoint"));
  ASSERT_TRUE(r.ok());
  auto cp = core::VerifyCheckpoint(r->body, core::LogKeys(*policy_), core::WitnessKeys(*policy_));
  ASSERT_TRUE(cp.ok()) << r->status << " " << r->body << " " << cp.status().ToString();
  EXPECT_LE(cp->checkpoint.size, index);
  witnesses_[0]->Continue();
  witnesses_[1]->Continue();
  ASSERT_TRUE(WaitForWitnessedSize(index + 1));
  // The entry is now provable with the quorum.
  auto look = client_.Get(log_->Url("/v1/lookup?user=carol"));
  ASSERT_TRUE(look.ok());
  ASSERT_EQ(look->status, 200) << look->body;
  json lj = json::parse(look->body);
  ASSERT_EQ(lj["devices"].size(), 1u);
  auto v = core::VerifyTlogProof(lj["devices"][0]["proof"].get<std::string>(), *policy_,
                                 core::UnixSeconds());
  EXPECT_TRUE(v.ok()) << v.status().ToString();
}

TEST_F(LogWitnessIntegrationTest, KilledWitnessAndLogRestartResync) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  int status = 0;
  TestDevice d{"phone"};
  ASSERT_EQ((PostOperator(SetRequest("dave0", d), &status), status), 200);
  witnesses_[2]->Kill();
  for (int i = 1; i <= 3; i++) {
    json a = PostOperator(SetRequest("dave" + std::to_string(i), d), &status);
    ASSERT_EQ(status, 200) << a.dump();
    EXPECT_EQ(VerifiedWitnesses(a), (std::vector<std::string>{"w0", "w1"}));
  }
  ASSERT_NO_FATAL_FAILURE(witnesses_[2]->Start(log_->vkey()));
  // Restart the log: it tracks every witness at size 0 again, so each
  // witness answers 409 with its stored size and is re-synced.
  log_->Terminate();
  ASSERT_NO_FATAL_FAILURE(StartLog());
  json a = PostOperator(SetRequest("dave4", d), &status);
  ASSERT_EQ(status, 200) << a.dump();
  EXPECT_GE(VerifiedWitnesses(a).size(), 2u);
  // Bounded wait for the (possibly slower) third witness, then the metric.
  uint64_t resyncs = 0;
  for (int i = 0; i < 250 && resyncs == 0; i++) {
    resyncs = MetricValue("kt_witness_resyncs_total{witness=\"w0\"}") +
              MetricValue("kt_witness_resyncs_total{witness=\"w1\"}");
    if (resyncs == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(resyncs, 1u);
}

TEST_F(LogWitnessIntegrationTest, CosignatureOfWrongKeyIsIgnoredAndCounted) {
  // The policy lists another key for w2: its (valid, but not the policy's)
  // cosignatures must not count.
  auto other = core::GenerateSignerKey("w2.test/witness", core::kSigTypeCosignatureV1);
  ASSERT_TRUE(other.ok());
  ASSERT_NO_FATAL_FAILURE(StartAll(other->VerifierKeyString()));
  int status = 0;
  TestDevice d{"phone"};
  json a = PostOperator(SetRequest("erin", d), &status);
  ASSERT_EQ(status, 200) << a.dump();
  EXPECT_EQ(VerifiedWitnesses(a), (std::vector<std::string>{"w0", "w1"}));
  uint64_t invalid = 0;
  for (int i = 0; i < 250 && invalid == 0; i++) {
    invalid = MetricValue("kt_witness_requests_total{witness=\"w2\",outcome=\"invalid_cosignature\"}");
    if (invalid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(invalid, 1u);
}

}  // namespace
}  // namespace kt::testing
