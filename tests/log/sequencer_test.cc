// SPDX-License-Identifier: Apache-2.0
// Sequencer: batching, dedup, bounded pool, sequencing-time checks, restart
// continuity and fatal storage errors, on real LMDB storage in temp dirs;
// every result is checked against core's proofs and checkpoint verifier.
#include "log/sequencer.h"

#include <atomic>
#include <chrono>
#include <mutex>

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "core/proof.h"
#include "log/lmdb_storage.h"
#include "log/memory_storage.h"
#include "tests/log/log_testing.h"

namespace kt::log {
namespace {

using core::Status;
using kt::testing::TestEntry;
using std::chrono::milliseconds;

constexpr auto kWait = std::chrono::seconds(60);  // bound, never a timing assertion

core::SignerKey LogKey() {
  static const core::SignerKey key = *core::GenerateSignerKey("example.org/kt-test", 0x01);
  return key;
}

Submission Sub(core::Entry e) {
  Submission s;
  s.entry = std::move(e);
  return s;
}

StatusOr<SequencedEntry> Get(std::future<StatusOr<SequencedEntry>>& f) {
  if (f.wait_for(kWait) != std::future_status::ready) return Status::Internal("timed out");
  return f.get();
}

class SequencerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    sequencer_.reset();
    storage_.reset();
    if (dir_.empty()) dir_ = kt::testing::TempDir("sequencer");
    auto s = LmdbStorage::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(s).value();
  }
  void MakeSequencer(SequencerOptions options = {}) {
    auto s = Sequencer::Create(*storage_, MakeCheckpointSigner(LogKey()), std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sequencer_ = std::move(s).value();
    sequencer_->SetOnIntegrated([this](const std::string& cp, uint64_t size) {
      std::lock_guard lock(mu_);
      integrated_.emplace_back(size, cp);
    });
  }
  // Verify checks a signed checkpoint with the log key and returns it.
  core::Checkpoint Verify(const std::string& signed_cp) {
    std::vector<core::VerifierKey> keys = {LogKey().Verifier()};
    auto v = core::VerifyCheckpoint(signed_cp, keys, {});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->checkpoint : core::Checkpoint{};
  }
  // CheckIncluded verifies an inclusion proof from storage for `e`.
  void CheckIncluded(const SequencedEntry& e) {
    core::Checkpoint cp = Verify(e.checkpoint);
    ASSERT_EQ(cp.size, e.checkpoint_size);
    auto path = core::ProveRecord(cp.size, e.index, *storage_);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    core::InclusionProof proof{e.index, cp.size, *path};
    EXPECT_TRUE(core::VerifyInclusion(proof, core::RecordHash(e.entry), cp.root).ok());
    EXPECT_EQ(*storage_->ReadEntry(e.index), e.entry);
    // The logged bytes are exactly the canonical encoding.
    auto decoded = core::DecodeEntry(e.entry);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*core::EncodeEntry(*decoded), e.entry);
  }

  std::string dir_;
  std::unique_ptr<LmdbStorage> storage_;
  std::unique_ptr<Sequencer> sequencer_;
  std::mutex mu_;
  std::vector<std::pair<uint64_t, std::string>> integrated_;
};

TEST_F(SequencerTest, FreshLogGetsSignedEmptyCheckpoint) {
  MakeSequencer();
  auto st = storage_->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 0u);
  core::Checkpoint cp = Verify(st->checkpoint);
  EXPECT_EQ(cp.size, 0u);
  EXPECT_EQ(cp.root, core::EmptyRoot());
  EXPECT_EQ(cp.origin, "example.org/kt-test");
}

TEST_F(SequencerTest, IntegratesAndAnswersWithVerifiableIndexes) {
  MakeSequencer({.batch_interval = milliseconds(5)});
  sequencer_->Start();
  std::vector<std::future<StatusOr<SequencedEntry>>> fs;
  for (int i = 0; i < 300; ++i) {
    fs.push_back(sequencer_->Submit(Sub(TestEntry("user" + std::to_string(i % 13),
                                                  "dev" + std::to_string(i), 7))));
  }
  std::vector<bool> seen(300, false);
  for (auto& f : fs) {
    auto r = Get(f);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_LT(r->index, 300u);
    EXPECT_FALSE(seen[r->index]);
    seen[r->index] = true;
    EXPECT_GT(r->checkpoint_size, r->index);
    CheckIncluded(*r);
  }
  sequencer_->Stop();
  auto st = storage_->ReadTreeState();
  EXPECT_EQ(st->size, 300u);
  EXPECT_EQ(Verify(st->checkpoint).root, *core::TreeHash(300, *storage_));
  // The hook saw every checkpoint, in increasing size order, and a
  // consistency proof links each to the next.
  std::lock_guard lock(mu_);
  ASSERT_FALSE(integrated_.empty());
  EXPECT_EQ(integrated_.back().first, 300u);
  for (size_t i = 1; i < integrated_.size(); ++i) {
    core::Checkpoint a = Verify(integrated_[i - 1].second);
    core::Checkpoint b = Verify(integrated_[i].second);
    ASSERT_LT(a.size, b.size);
    auto path = core::ProveTree(b.size, a.size, *storage_);
    ASSERT_TRUE(path.ok());
    EXPECT_TRUE(core::VerifyConsistency({a.size, b.size, *path}, a.root, b.root).ok());
  }
}

TEST_F(SequencerTest, FillsPrevAndTimestampAtSequencingTime) {
  std::atomic<uint64_t> now{5000};
  MakeSequencer({.now_ms = [&now] { return now.load(); }});
  // Three entries of one user in one batch (submitted before Start): each
  // gets prev = 1 + the previous one's index, even within the batch.
  auto f1 = sequencer_->Submit(Sub(TestEntry("alice", "phone", 1)));
  auto f2 = sequencer_->Submit(Sub(TestEntry("bob", "pc", 2)));
  auto f3 = sequencer_->Submit(Sub(TestEntry("alice", "laptop", 3)));
  sequencer_->Start();
  auto r1 = Get(f1), r2 = Get(f2), r3 = Get(f3);
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());
  EXPECT_EQ(r1->index, 0u);
  EXPECT_EQ(r3->index, 2u);
  EXPECT_EQ(r1->checkpoint_size, 3u);  // one batch
  CheckIncluded(*r1);
  CheckIncluded(*r3);
  auto e1 = core::DecodeEntry(r1->entry), e3 = core::DecodeEntry(r3->entry);
  EXPECT_EQ(e1->prev, 0u);
  EXPECT_EQ(e3->prev, 1u);
  EXPECT_EQ(e1->timestamp_ms, 5000u);
  now = 100;  // the clock goes back: timestamps never do
  auto f4 = sequencer_->Submit(Sub(TestEntry("alice", "tablet", 4)));
  auto r4 = Get(f4);
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(core::DecodeEntry(r4->entry)->timestamp_ms, 5000u);
  EXPECT_EQ(core::DecodeEntry(r4->entry)->prev, 3u);
  EXPECT_EQ(storage_->ReadUser("alice")->history, (std::vector<uint64_t>{0, 2, 3}));
}

TEST_F(SequencerTest, CheckSeesEarlierEntriesOfTheSameBatch) {
  MakeSequencer();
  // A revoke check like logapi's: 409 for an unknown or revoked device.
  auto revoke_check = [](const core::Entry& c, const UserState& u) -> Status {
    if (!u.IsCurrentDevice(c.device)) return Status::Conflict("device not current");
    return Status();
  };
  auto set = sequencer_->Submit(Sub(TestEntry("carol", "phone", 1)));
  Submission r1 = Sub(TestEntry("carol", "phone", 0, true));
  r1.check = revoke_check;
  auto rev1 = sequencer_->Submit(std::move(r1));
  // Same content, given prev: not a duplicate of r1 (prev fixed), and by
  // then the device is revoked within the same batch.
  Submission r2 = Sub(TestEntry("carol", "phone", 0, true));
  r2.entry.prev = 2;
  r2.prev_given = true;
  r2.check = revoke_check;
  auto rev2 = sequencer_->Submit(std::move(r2));
  sequencer_->Start();
  ASSERT_TRUE(Get(set).ok());
  auto a = Get(rev1);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->index, 1u);
  auto b = Get(rev2);
  EXPECT_EQ(b.status().code(), Status::Code::kConflict);
  EXPECT_EQ(storage_->ReadTreeState()->size, 2u);
}

TEST_F(SequencerTest, StalePrevIsRejectedByTheCheck) {
  MakeSequencer();
  sequencer_->Start();
  auto first = sequencer_->Submit(Sub(TestEntry("dave", "a", 1)));
  ASSERT_TRUE(Get(first).ok());
  auto prev_check = [](const core::Entry& c, const UserState& u) -> Status {
    if (c.prev != u.NextPrev()) return Status::Conflict("stale prev", u.NextPrev());
    return Status();
  };
  Submission ok = Sub(TestEntry("dave", "b", 2));
  ok.entry.prev = 1;
  ok.prev_given = true;
  ok.check = prev_check;
  auto good = sequencer_->Submit(std::move(ok));
  auto r = Get(good);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(core::DecodeEntry(r->entry)->prev, 1u);
  Submission stale = Sub(TestEntry("dave", "c", 3));
  stale.entry.prev = 1;  // the user's latest is now index 1, so prev must be 2
  stale.prev_given = true;
  stale.check = prev_check;
  auto bad = sequencer_->Submit(std::move(stale));
  auto rb = Get(bad);
  EXPECT_EQ(rb.status().code(), Status::Code::kConflict);
  EXPECT_EQ(rb.status().value(), 2u);
  EXPECT_EQ(storage_->ReadTreeState()->size, 2u);
}

TEST_F(SequencerTest, IdenticalPendingSubmissionsShareOneIndex) {
  MakeSequencer();
  auto a = sequencer_->Submit(Sub(TestEntry("erin", "phone", 5)));
  core::Entry same = TestEntry("erin", "phone", 5);
  same.timestamp_ms = 12345;  // ignored for dedup
  auto b = sequencer_->Submit(Sub(same));
  auto c = sequencer_->Submit(Sub(TestEntry("erin", "phone", 6)));  // different key
  EXPECT_EQ(sequencer_->pending(), 3u);
  sequencer_->Start();
  auto ra = Get(a), rb = Get(b), rc = Get(c);
  ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok());
  EXPECT_EQ(ra->index, rb->index);
  EXPECT_EQ(ra->entry, rb->entry);
  EXPECT_NE(ra->index, rc->index);
  EXPECT_EQ(storage_->ReadTreeState()->size, 2u);
  // Once integrated, the same entry is a new submission again.
  auto d = sequencer_->Submit(Sub(TestEntry("erin", "phone", 5)));
  auto rd = Get(d);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(rd->index, 2u);
}

// Answered submissions are recycled (their dedup-table nodes too): rounds of
// identical and distinct submissions after earlier rounds were answered
// still share exactly the indexes they should, and every answer carries its
// own entry.
TEST_F(SequencerTest, DedupHoldsAcrossRecycledSubmissions) {
  // A batch is cut only when 11 distinct submissions are pending (the timer
  // never fires during the test): each round's 10 pairs are all pending
  // before its 21st submission cuts the batch.
  MakeSequencer({.batch_interval = milliseconds(3600 * 1000), .batch_max = 11});
  sequencer_->Start();
  uint64_t size = 0;
  for (int round = 0; round < 6; ++round) {
    std::vector<std::future<StatusOr<SequencedEntry>>> fs;
    for (int i = 0; i < 21; ++i) {
      // Pairs i, i+1 (i even) are the same entry; keys differ per round.
      int k = i / 2;
      std::string user = "r" + std::to_string(round) + "u" + std::to_string(k);
      fs.push_back(sequencer_->Submit(Sub(TestEntry(user, "d", static_cast<uint8_t>(k)))));
    }
    std::vector<SequencedEntry> got;
    for (auto& f : fs) {
      auto r = Get(f);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      got.push_back(*r);
    }
    for (int i = 0; i < 20; i += 2) {
      EXPECT_EQ(got[i].index, got[i + 1].index) << round << " " << i;
      EXPECT_EQ(got[i].entry, got[i + 1].entry);
      auto e = core::DecodeEntry(got[i].entry);
      ASSERT_TRUE(e.ok());
      EXPECT_EQ(e->user, "r" + std::to_string(round) + "u" + std::to_string(i / 2));
      if (i > 0) EXPECT_NE(got[i].index, got[i - 1].index);
    }
    EXPECT_NE(got[20].index, got[18].index);
    size += 11;
    EXPECT_EQ(storage_->ReadTreeState()->size, size);
    EXPECT_EQ(sequencer_->pending(), 0u);
  }
}

TEST_F(SequencerTest, FullPoolAnswersUnavailableImmediately) {
  MakeSequencer({.max_pool = 3});
  std::vector<std::future<StatusOr<SequencedEntry>>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(sequencer_->Submit(Sub(TestEntry("f", "d" + std::to_string(i)))));
  // Not started: nothing drains, so the fourth is refused at once (also a
  // duplicate of a pending one counts against the pool).
  auto over = sequencer_->Submit(Sub(TestEntry("f", "d9")));
  ASSERT_EQ(over.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = over.get();
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "pool full");
  auto dup = sequencer_->Submit(Sub(TestEntry("f", "d0")));
  ASSERT_EQ(dup.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(dup.get().status().code(), Status::Code::kUnavailable);
  sequencer_->Start();
  for (auto& f : fs) EXPECT_TRUE(Get(f).ok());
  EXPECT_EQ(sequencer_->pending(), 0u);
  auto again = sequencer_->Submit(Sub(TestEntry("f", "d9")));
  EXPECT_TRUE(Get(again).ok());
}

TEST_F(SequencerTest, BatchesHoldAtMostBatchMaxEntries) {
  MakeSequencer({.batch_interval = milliseconds(1), .batch_max = 10});
  std::vector<std::future<StatusOr<SequencedEntry>>> fs;
  for (int i = 0; i < 25; ++i) fs.push_back(sequencer_->Submit(Sub(TestEntry("g", "d" + std::to_string(i)))));
  sequencer_->Start();
  for (auto& f : fs) ASSERT_TRUE(Get(f).ok());
  std::lock_guard lock(mu_);
  std::vector<uint64_t> sizes;
  for (auto& [size, cp] : integrated_) sizes.push_back(size);
  EXPECT_EQ(sizes, (std::vector<uint64_t>{10, 20, 25}));
}

TEST_F(SequencerTest, FullBatchIntegratesWithoutWaitingForTheTimer) {
  // The interval is an hour: only reaching batch_max can trigger the batch.
  MakeSequencer({.batch_interval = std::chrono::hours(1), .batch_max = 8});
  sequencer_->Start();
  std::vector<std::future<StatusOr<SequencedEntry>>> fs;
  for (int i = 0; i < 8; ++i) fs.push_back(sequencer_->Submit(Sub(TestEntry("h", "d" + std::to_string(i)))));
  for (auto& f : fs) ASSERT_TRUE(Get(f).ok());
  EXPECT_EQ(storage_->ReadTreeState()->size, 8u);
}

TEST_F(SequencerTest, StopIntegratesWhatIsPending) {
  MakeSequencer({.batch_interval = std::chrono::hours(1)});
  sequencer_->Start();
  auto f = sequencer_->Submit(Sub(TestEntry("i", "d")));
  sequencer_->Stop();
  auto r = Get(f);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto late = sequencer_->Submit(Sub(TestEntry("i", "e")));
  EXPECT_EQ(Get(late).status().code(), Status::Code::kUnavailable);
}

TEST_F(SequencerTest, RestartContinuesFromTheCommittedTree) {
  MakeSequencer();
  sequencer_->Start();
  std::vector<std::future<StatusOr<SequencedEntry>>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(sequencer_->Submit(Sub(TestEntry("j", "d" + std::to_string(i)))));
  for (auto& f : fs) ASSERT_TRUE(Get(f).ok());
  std::string old_cp = storage_->ReadTreeState()->checkpoint;
  Open();  // drops the sequencer and reopens the LMDB directory
  MakeSequencer();
  EXPECT_EQ(storage_->ReadTreeState()->checkpoint, old_cp);  // not re-signed
  sequencer_->Start();
  auto f = sequencer_->Submit(Sub(TestEntry("j", "d9")));
  auto r = Get(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->index, 5u);
  EXPECT_EQ(core::DecodeEntry(r->entry)->prev, 5u);  // user j's latest was 4
  CheckIncluded(*r);
  core::Checkpoint a = Verify(old_cp), b = Verify(r->checkpoint);
  auto path = core::ProveTree(b.size, a.size, *storage_);
  ASSERT_TRUE(path.ok());
  EXPECT_TRUE(core::VerifyConsistency({a.size, b.size, *path}, a.root, b.root).ok());
}

TEST_F(SequencerTest, WitnessedCheckpointsAreStoredInTheBatchCommit) {
  MakeSequencer({.checkpoints_witnessed = true});
  EXPECT_EQ(storage_->ReadTreeState()->witnessed_size, 0u);
  EXPECT_TRUE(storage_->ReadTreeState()->witnessed_checkpoint.empty());
  sequencer_->Start();
  auto f = sequencer_->Submit(Sub(TestEntry("w", "a")));
  auto r = Get(f);
  ASSERT_TRUE(r.ok());
  auto head = storage_->ReadTreeState();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->witnessed_size, r->checkpoint_size);
  EXPECT_EQ(head->witnessed_checkpoint, r->checkpoint);
  auto w = storage_->ReadWitnessed(r->index + 1);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->checkpoint, r->checkpoint);
}

TEST_F(SequencerTest, CheckpointsAreNotWitnessedByDefault) {
  MakeSequencer();
  sequencer_->Start();
  auto f = sequencer_->Submit(Sub(TestEntry("w", "b")));
  ASSERT_TRUE(Get(f).ok());
  EXPECT_EQ(storage_->ReadWitnessed(1).status().code(), Status::Code::kNotFound);
}

TEST_F(SequencerTest, ReportsMetrics) {
  net::Registry registry;
  MakeSequencer({.max_pool = 3, .metrics = &registry});
  std::vector<std::future<StatusOr<SequencedEntry>>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(sequencer_->Submit(Sub(TestEntry("m", "d" + std::to_string(i)))));
  auto full = sequencer_->Submit(Sub(TestEntry("m", "x")));  // pool full
  EXPECT_FALSE(Get(full).ok());
  sequencer_->Start();
  for (auto& f : fs) ASSERT_TRUE(Get(f).ok());
  Submission rejected = Sub(TestEntry("m", "y"));
  rejected.check = [](const core::Entry&, const UserState&) { return Status::Conflict("no"); };
  auto r = sequencer_->Submit(std::move(rejected));
  EXPECT_FALSE(Get(r).ok());
  sequencer_->Stop();
  EXPECT_EQ(registry.GetCounter("kt_log_entries_integrated_total", "").Value(), 3u);
  EXPECT_EQ(registry.GetCounter("kt_log_submissions_rejected_total", "", {{"reason", "pool_full"}})
                .Value(), 1u);
  EXPECT_EQ(registry.GetCounter("kt_log_submissions_rejected_total", "", {{"reason", "check"}})
                .Value(), 1u);
  EXPECT_EQ(registry.GetHistogram("kt_log_batch_entries", "").Sum(), 3.0);
  EXPECT_EQ(registry.GetHistogram("kt_log_time_to_integrate_seconds", "").Count(), 3u);
  EXPECT_GE(registry.GetHistogram("kt_log_integration_seconds", "").Count(), 1u);
  std::string text = registry.Render();
  EXPECT_NE(text.find("kt_log_batch_entries_bucket"), std::string::npos);
}

// FailingStorage is a MemoryStorage whose Integrate fails on demand
// (fault injection at the storage boundary).
class FailingStorage : public MemoryStorage {
 public:
  Status Integrate(const IntegrationBatch& batch) override {
    if (fail) return Status::IOError("injected commit failure");
    return MemoryStorage::Integrate(batch);
  }
  std::atomic<bool> fail{false};
};

TEST(SequencerFaultTest, StorageFailureStopsSequencingForGood) {
  FailingStorage storage;
  auto s = Sequencer::Create(storage, MakeCheckpointSigner(LogKey()));
  ASSERT_TRUE(s.ok());
  auto& seq = **s;
  seq.Start();
  auto ok = seq.Submit(Sub(TestEntry("k", "a")));
  ASSERT_TRUE(Get(ok).ok());
  storage.fail = true;
  auto failed = seq.Submit(Sub(TestEntry("k", "b")));
  auto r = Get(failed);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(seq.status().code(), Status::Code::kIOError);
  storage.fail = false;  // even if storage recovers, the sequencer stays down
  auto after = seq.Submit(Sub(TestEntry("k", "c")));
  EXPECT_EQ(Get(after).status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(storage.ReadTreeState()->size, 1u);
}

TEST(SequencerFaultTest, RefusesStorageWhoseHashesDisagreeWithItsRoot) {
  MemoryStorage storage;
  core::TreeBuilder tree;
  IntegrationBatch b = kt::testing::AppendBatch(tree, {TestEntry("l", "a"), TestEntry("l", "b")});
  b.root[0] ^= 1;  // a head that the stored hashes do not give
  ASSERT_TRUE(storage.Integrate(b).ok());
  auto s = Sequencer::Create(storage, MakeCheckpointSigner(LogKey()));
  EXPECT_EQ(s.status().code(), Status::Code::kCorruption);
}

TEST(SequencerFaultTest, RejectsBadOptions) {
  MemoryStorage storage;
  EXPECT_EQ(Sequencer::Create(storage, MakeCheckpointSigner(LogKey()), {.batch_max = 0})
                .status()
                .code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Sequencer::Create(storage, nullptr).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kt::log
