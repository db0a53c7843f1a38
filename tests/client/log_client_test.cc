// SPDX-License-Identifier: Apache-2.0
// Tests for client/trust, state_store, evidence and log_client against an
// in-process log made of real keys, trees and signatures (test_log.h).
#include "client/log_client.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "client/errors.h"
#include "client/evidence.h"
#include "client/state_store.h"
#include "client/trust.h"
#include "core/policy.h"
#include "store/file_util.h"
#include "tests/client/test_log.h"
#include "tests/testing/vectors.h"

namespace kt::client {
namespace {

using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;

class LogClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<TestKeys>(TestKeys::Make());
    log_ = std::make_unique<TestLog>(*keys_);
    trust_ = std::make_unique<Trust>(core::ParsePolicy(keys_->PolicyText()).value(),
                                     [this] { return now_; });
    dir_ = kt::testing::TempDir("client-state");
    state_ = StateStore::Open(dir_).value();
    client_ = std::make_unique<LogClient>(*trust_, *state_, *log_);
  }
  void Grow(int n) {
    for (int i = 0; i < n; i++) log_->AppendRaw(core::ToBytes("record-" + std::to_string(log_->size())));
    log_->Publish();
  }
  std::string StateBytes() {
    auto s = store::ReadFile(state_->PathFor("kt.test/log"));
    return s.ok() ? *s : "<none>";
  }
  uint64_t StoredSize() { return state_->Load("kt.test/log").value()->checkpoint.size; }

  uint64_t now_ = kTestNow;
  std::unique_ptr<TestKeys> keys_;
  std::unique_ptr<TestLog> log_;
  std::unique_ptr<Trust> trust_;
  std::string dir_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<LogClient> client_;
};

TEST_F(LogClientTest, FirstUpdateStoresAndLaterUpdatesNeedConsistency) {
  Grow(5);
  auto u = client_->Update();
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_FALSE(u->had_previous);
  EXPECT_EQ(u->checkpoint.checkpoint.size, 5u);
  EXPECT_EQ(u->checkpoint.witnesses.size(), 3u);
  for (int step : {1, 250, 7, 600}) {
    Grow(step);
    u = client_->Update();
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    EXPECT_TRUE(u->advanced);
    EXPECT_EQ(StoredSize(), log_->size());
  }
  // Same checkpoint again: no change.
  u = client_->Update();
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->advanced);
}

TEST_F(LogClientTest, RollbackIsReportedAndStateKept) {
  Grow(10);
  ASSERT_TRUE(client_->Update().ok());
  std::string old_note = log_->served();
  Grow(10);
  ASSERT_TRUE(client_->Update().ok());
  std::string before = StateBytes();
  log_->Serve(old_note);
  auto u = client_->Update();
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(IsRollback(u.status())) << u.status().ToString();
  EXPECT_EQ(ExitCodeFor(u.status()), kExitRollback);
  EXPECT_EQ(StateBytes(), before);
  // An older checkpoint inside an answer is fine when consistent.
  auto a = client_->Accept(old_note);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(StateBytes(), before);
}

TEST_F(LogClientTest, SameSizeForkWritesVerifiableEvidence) {
  Grow(8);
  ASSERT_TRUE(client_->Update().ok());
  std::string before = StateBytes();
  TestLog fork(*keys_);  // same log key, other records
  for (int i = 0; i < 8; i++) fork.AppendRaw(core::ToBytes("evil-" + std::to_string(i)));
  log_->Serve(fork.Sign(8, 3, kTestNow));
  auto u = client_->Update();
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(IsFork(u.status())) << u.status().ToString();
  EXPECT_EQ(ExitCodeFor(u.status()), kExitFork);
  EXPECT_EQ(StateBytes(), before);
  auto text = store::ReadFile(client_->last_evidence());
  ASSERT_TRUE(text.ok());
  auto ev = ParseEvidence(*text);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(FormatEvidence(*ev), *text);
  auto verdict = VerifyEvidence(*ev, *trust_);
  ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
  EXPECT_EQ(verdict->origin, "kt.test/log");
}

TEST_F(LogClientTest, LargerForkIsProvenThroughTiles) {
  Grow(300);
  ASSERT_TRUE(client_->Update().ok());
  std::string before = StateBytes();
  // The adversary serves a whole other tree of 700 records under the real
  // log key, consistently (its proofs and tiles all match its own root).
  TestLog fork(*keys_);
  for (int i = 0; i < 700; i++) fork.AppendRaw(core::ToBytes("evil-" + std::to_string(i)));
  fork.Publish();
  LogClient forked_client(*trust_, *state_, fork);
  auto u = forked_client.Update();
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(IsFork(u.status())) << u.status().ToString();
  EXPECT_EQ(StateBytes(), before);
  auto ev = ParseEvidence(store::ReadFile(forked_client.last_evidence()).value());
  ASSERT_TRUE(ev.ok());
  ASSERT_TRUE(ev->prefix_root.has_value());
  auto verdict = VerifyEvidence(*ev, *trust_);
  ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
  // Tampering with any proof hash breaks the evidence.
  for (size_t i = 0; i < ev->proof.size(); i++) {
    ForkEvidence bad = *ev;
    bad.proof[i][0] ^= 1;
    EXPECT_FALSE(VerifyEvidence(bad, *trust_).ok()) << i;
  }
  ForkEvidence swapped_root = *ev;
  swapped_root.prefix_root = log_->Root(300);
  EXPECT_FALSE(VerifyEvidence(swapped_root, *trust_).ok());
}

TEST_F(LogClientTest, BadConsistencyProofFromHonestTreeIsRepairedByTiles) {
  Grow(300);
  ASSERT_TRUE(client_->Update().ok());
  Grow(300);
  log_->tamper = [](std::string_view path, const core::StatusOr<std::string>& honest)
      -> std::optional<core::StatusOr<std::string>> {
    if (!path.starts_with("v1/proof/consistency")) return std::nullopt;
    std::string body = *honest;
    size_t at = body.find("\"proof\":[\"") + 10;
    body[at] = body[at] == 'A' ? 'B' : 'A';
    return core::StatusOr<std::string>(body);
  };
  auto u = client_->Update();
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(StoredSize(), 600u);
}

TEST_F(LogClientTest, StrippedCosignaturesAreRefused) {
  Grow(3);
  ASSERT_TRUE(client_->Update().ok());
  std::string before = StateBytes();
  Grow(3);
  log_->Serve(log_->Sign(6, 1, kTestNow));  // one cosignature, quorum is 2
  auto u = client_->Update();
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), core::Status::Code::kPermissionDenied) << u.status().ToString();
  EXPECT_EQ(ExitCodeFor(u.status()), kExitVerification);
  EXPECT_EQ(StateBytes(), before);
  log_->Serve(log_->Sign(6, 2, kTestNow));
  EXPECT_TRUE(client_->Update().ok());
}

TEST_F(LogClientTest, FutureCosignaturesDoNotCount) {
  Grow(3);
  log_->Serve(log_->Sign(3, 3, kTestNow + 601));
  EXPECT_FALSE(client_->Update().ok());
  log_->Serve(log_->Sign(3, 3, kTestNow + 600));
  auto u = client_->Update();
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->checkpoint.witnesses.size(), 3u);
}

TEST_F(LogClientTest, UnreachableLogIsNetworkError) {
  log_->tamper = [](std::string_view, const core::StatusOr<std::string>&)
      -> std::optional<core::StatusOr<std::string>> {
    return core::StatusOr<std::string>(core::Status::Unavailable("connection refused"));
  };
  auto u = client_->Update();
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(ExitCodeFor(u.status()), kExitNetwork);
}

TEST_F(LogClientTest, EveryFlippedByteOfTheCheckpointIsRefused) {
  Grow(4);
  std::string note = log_->served();
  const size_t first_cosig = note.find("\xe2\x80\x94 w1.test");
  ASSERT_NE(first_cosig, std::string::npos);
  for (size_t i = 0; i < note.size(); i++) {
    std::string bad = note;
    bad[i] ^= 0x01;
    auto v = trust_->VerifyCheckpoint(bad);
    if (i < first_cosig) {
      EXPECT_FALSE(v.ok()) << i;
    } else if (v.ok()) {
      // A flip in a cosignature line's key name makes it an unknown key's
      // line (ignored): the other two still make the 2-of-3 quorum, but the
      // damaged one never counts.
      EXPECT_EQ(v->witnesses.size(), 2u) << i;
    }
  }
}

TEST(TrustTest, VerifiedCheckpointIsNotVerifiedAgain) {
  TestKeys keys = TestKeys::Make();
  TestLog log(keys);
  log.AppendRaw(core::ToBytes("a"));
  log.Publish();
  Trust trust(core::ParsePolicy(keys.PolicyText()).value(), [] { return kTestNow; });
  ASSERT_TRUE(trust.VerifyCheckpoint(log.served()).ok());
  ASSERT_TRUE(trust.VerifyTlogProof(log.ProofFor(0)).ok());
  ASSERT_TRUE(trust.VerifyCheckpoint(log.served()).ok());
  EXPECT_EQ(trust.full_verifications(), 1u);
  // A failure is not cached as a success.
  std::string bad = log.Sign(1, 1, kTestNow);
  EXPECT_FALSE(trust.VerifyCheckpoint(bad).ok());
  EXPECT_FALSE(trust.VerifyCheckpoint(bad).ok());
}

TEST(StateStoreTest, FileRoundTripAndStrictParse) {
  TestKeys keys = TestKeys::Make();
  TestLog log(keys);
  std::string text = FormatStateFile(log.served());
  auto sc = ParseStateFile(text);
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  EXPECT_EQ(FormatStateFile(sc->note), text);
  const size_t sigs = text.find("\n\n") + 2;
  for (size_t n = 0; n < text.size(); n++) {
    // A prefix that ends after a whole signature line is a note with fewer
    // signatures (well-formed; verification judges it); all else is refused.
    if (n > sigs && text[n - 1] == '\n') continue;
    EXPECT_FALSE(ParseStateFile(text.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(ParseStateFile("kt-client-state/v2\n" + log.served()).ok());
}

TEST(EvidenceTest, ParseRejectsMalformed) {
  ForkEvidence e{"a\n", "b\n", core::Hash{}, {core::Hash{}}};
  std::string text = FormatEvidence(e);
  auto back = ParseEvidence(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
  for (size_t n = 0; n < text.size(); n++) {
    if (text.substr(0, n).ends_with("\n") &&
        std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(n), '\n') >= 3) {
      continue;  // a shorter proof is still well-formed
    }
    EXPECT_FALSE(ParseEvidence(text.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(ParseEvidence(text + "junk\n").ok());
}

}  // namespace
}  // namespace kt::client
