// SPDX-License-Identifier: Apache-2.0
// Tests for log/witness_collector that need no witness node: policy checks,
// quorum none (publish at integration), offering an unwitnessed head at
// Start, and a witness that refuses connections (never published, counted).
// Behaviour with real ktwitness nodes is in log_witness_integration_test.cc.
#include "log/witness_collector.h"

#include <gtest/gtest.h>

#include "core/keys.h"
#include "core/policy.h"
#include "log/memory_storage.h"
#include "log/sequencer.h"
#include "net/metrics.h"
#include "tests/log/log_testing.h"
#include "tests/testing/process.h"

namespace kt::log {
namespace {

constexpr char kOrigin[] = "example.org/log";

core::SignerKey LogKey() {
  auto k = core::GenerateSignerKey(kOrigin, core::kSigTypeEd25519);
  KT_CHECK(k.ok());
  return *k;
}

std::string WitnessVkey(const std::string& name) {
  auto k = core::GenerateSignerKey(name, core::kSigTypeCosignatureV1);
  KT_CHECK(k.ok());
  return k->VerifierKeyString();
}

core::Policy Policy(const std::string& text) {
  auto p = core::ParsePolicy(text);
  KT_CHECK(p.ok());
  return *p;
}

std::future<StatusOr<SequencedEntry>> SubmitOne(Sequencer& seq, const std::string& user) {
  Submission s;
  s.entry = kt::testing::TestEntry(user, "d");
  return seq.Submit(std::move(s));
}

TEST(WitnessCollectorTest, RejectsQuorumThatCannotBeMet) {
  MemoryStorage storage;
  // w2 has no URL, so a 2-of-2 quorum can never be collected.
  std::string text = "witness w1 " + WitnessVkey("w1") + " http://127.0.0.1:1\n" +
                     "witness w2 " + WitnessVkey("w2") + "\n" + "group g 2 w1 w2\nquorum g\n";
  auto c = WitnessCollector::Create(storage, Policy(text));
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  // 1-of-2 is fine.
  text = "witness w1 " + WitnessVkey("w1") + " http://127.0.0.1:1\n" + "witness w2 " +
         WitnessVkey("w2") + "\n" + "group g 1 w1 w2\nquorum g\n";
  EXPECT_TRUE(WitnessCollector::Create(storage, Policy(text)).ok());
  // A bad URL is refused.
  text = "witness w1 " + WitnessVkey("w1") + " ftp://127.0.0.1:1\nquorum w1\n";
  EXPECT_FALSE(WitnessCollector::Create(storage, Policy(text)).ok());
}

TEST(WitnessCollectorTest, QuorumNonePublishesEveryIntegration) {
  MemoryStorage storage;
  auto seq = Sequencer::Create(storage, MakeCheckpointSigner(LogKey()));
  ASSERT_TRUE(seq.ok());
  auto wc = WitnessCollector::Create(storage, Policy("quorum none\n"));
  ASSERT_TRUE(wc.ok());
  (*seq)->SetOnIntegrated([&](const std::string& cp, uint64_t size) { (*wc)->OnIntegrated(cp, size); });
  ASSERT_TRUE((*wc)->Start().ok());
  (*seq)->Start();
  // The fresh log's empty checkpoint is published at Start.
  auto head = storage.ReadTreeState();
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->witnessed_checkpoint.empty());
  EXPECT_EQ(head->witnessed_size, 0u);
  auto r = SubmitOne(**seq, "alice").get();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*wc)->WaitWitnessed(r->index + 1, std::chrono::steady_clock::now() +
                                                     std::chrono::seconds(10)));
  head = storage.ReadTreeState();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->witnessed_size, 1u);
  EXPECT_EQ(head->witnessed_checkpoint, head->checkpoint);
  EXPECT_EQ((*wc)->witnessed_size(), 1u);
  (*seq)->Stop();
  (*wc)->Stop();
}

TEST(WitnessCollectorTest, StartOffersUnwitnessedHead) {
  MemoryStorage storage;
  {
    // Integrate without any collector (as if the node crashed before quorum).
    auto seq = Sequencer::Create(storage, MakeCheckpointSigner(LogKey()));
    ASSERT_TRUE(seq.ok());
    (*seq)->Start();
    ASSERT_TRUE(SubmitOne(**seq, "bob").get().ok());
    ASSERT_TRUE(SubmitOne(**seq, "carol").get().ok());
    (*seq)->Stop();
  }
  auto head = storage.ReadTreeState();
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size, 2u);
  EXPECT_TRUE(head->witnessed_checkpoint.empty());
  auto wc = WitnessCollector::Create(storage, std::nullopt);
  ASSERT_TRUE(wc.ok());
  ASSERT_TRUE((*wc)->Start().ok());
  head = storage.ReadTreeState();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->witnessed_size, 2u);
  EXPECT_EQ(head->witnessed_checkpoint, head->checkpoint);
}

TEST(WitnessCollectorTest, UnreachableWitnessNeverPublishesAndIsCounted) {
  MemoryStorage storage;
  int port = kt::testing::PickFreePort();  // nothing listens there
  ASSERT_GT(port, 0);
  std::string text = "witness w1 " + WitnessVkey("w1") + " http://127.0.0.1:" +
                     std::to_string(port) + "\nquorum w1\n";
  net::Registry metrics;
  WitnessCollectorOptions options;
  options.request_timeout = std::chrono::milliseconds(500);
  options.retry_backoff = std::chrono::milliseconds(50);
  auto seq = Sequencer::Create(storage, MakeCheckpointSigner(LogKey()));
  ASSERT_TRUE(seq.ok());
  auto wc = WitnessCollector::Create(storage, Policy(text), options, &metrics);
  ASSERT_TRUE(wc.ok());
  (*seq)->SetOnIntegrated([&](const std::string& cp, uint64_t size) { (*wc)->OnIntegrated(cp, size); });
  ASSERT_TRUE((*wc)->Start().ok());
  (*seq)->Start();
  ASSERT_TRUE(SubmitOne(**seq, "dave").get().ok());
  EXPECT_FALSE((*wc)->WaitWitnessed(1, std::chrono::steady_clock::now() +
                                           std::chrono::milliseconds(500)));
  auto head = storage.ReadTreeState();
  ASSERT_TRUE(head.ok());
  EXPECT_TRUE(head->witnessed_checkpoint.empty());
  // Retries keep failing and are counted (bounded wait for the first count).
  uint64_t count = 0;
  for (int i = 0; i < 200 && count == 0; i++) {
    count = metrics
                .GetCounter("kt_witness_requests_total", "",
                            {{"witness", "w1"}, {"outcome", "unavailable"}})
                .Value();
    if (count == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(count, 0u);
  EXPECT_EQ((*wc)->witness_size("w1"), 0u);
  EXPECT_FALSE((*wc)->witness_size("nobody").has_value());
  (*seq)->Stop();
  (*wc)->Stop();
}

}  // namespace
}  // namespace kt::log
