// SPDX-License-Identifier: Apache-2.0
// Tests for witness/group_commit.h with a real LMDB environment.
#include "witness/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/encoding.h"
#include "tests/testing/vectors.h"

namespace kt::witness {
namespace {

using core::Status;

struct Fixture {
  std::unique_ptr<store::Env> env;
  store::Dbi dbi;
};

Fixture Open(bool no_sync = true) {
  store::EnvOptions opt;
  opt.no_sync = no_sync;
  auto env = store::Env::Open(testing::TempDir("gc"), opt);
  KT_CHECK(env.ok());
  auto dbi = (*env)->OpenDb("t");
  KT_CHECK(dbi.ok());
  return {std::move(env).value(), *dbi};
}

uint64_t ReadCounter(const store::Txn& txn, store::Dbi dbi) {
  auto v = txn.Get(dbi, core::AsBytes("n"));
  if (!v.ok()) return 0;
  auto n = core::ParseDecimal(*v);
  KT_CHECK(n.ok());
  return *n;
}

// IncrementOp adds one to the counter and reports the value it saw.
GroupCommitter::Op IncrementOp(store::Dbi dbi, uint64_t* seen) {
  return [dbi, seen](store::Txn& txn, Status* result) -> Status {
    *seen = ReadCounter(txn, dbi);
    *result = Status();
    return txn.Put(dbi, core::AsBytes("n"), core::AsBytes(std::to_string(*seen + 1)));
  };
}

// ExpectNoLostUpdate runs 16 threads x 50 increments through one committer
// with `max_batch` and checks that every op saw a distinct counter value,
// that the batches reported to on_commit add up, and the final count.
void ExpectNoLostUpdate(size_t max_batch) {
  Fixture f = Open();
  constexpr int kThreads = 16, kPerThread = 50;
  std::vector<std::vector<uint64_t>> seen(kThreads);
  {
    std::atomic<uint64_t> committed_ops{0}, commits{0};
    GroupCommitter::Options opt;
    opt.max_batch = max_batch;
    opt.on_commit = [&](size_t n) {
      EXPECT_LE(n, max_batch);
      committed_ops += n;
      ++commits;
    };
    GroupCommitter gc(f.env.get(), opt);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          uint64_t s = 0;
          ASSERT_TRUE(gc.Run(IncrementOp(f.dbi, &s)).ok());
          seen[t].push_back(s);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(gc.ops(), uint64_t{kThreads * kPerThread});
    EXPECT_LE(gc.batches(), gc.ops());
    EXPECT_EQ(committed_ops.load(), gc.ops());
    EXPECT_EQ(commits.load(), gc.batches());
    EXPECT_EQ(gc.pending(), 0u);
  }
  // Every op saw a distinct counter value: no lost update.
  std::vector<bool> hit(kThreads * kPerThread, false);
  for (const auto& v : seen) {
    for (uint64_t s : v) {
      ASSERT_LT(s, hit.size());
      EXPECT_FALSE(hit[s]) << "value " << s << " seen twice";
      hit[s] = true;
    }
  }
  ASSERT_TRUE(f.env->View([&](const store::Txn& txn) {
                  EXPECT_EQ(ReadCounter(txn, f.dbi), uint64_t{kThreads * kPerThread});
                  return Status();
                }).ok());
}

TEST(GroupCommitTest, ConcurrentOpsEachSeeThePreviousWrite) { ExpectNoLostUpdate(256); }

// With small batches a leader's own op may not fit the first batch it runs.
TEST(GroupCommitTest, SmallBatchesLoseNoUpdate) {
  ExpectNoLostUpdate(1);
  ExpectNoLostUpdate(3);
}

TEST(GroupCommitTest, OpsQueuedDuringACommitShareOneBatch) {
  Fixture f = Open();
  GroupCommitter gc(f.env.get());
  constexpr size_t kWaiters = 10;
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  // The first op holds the committer until the others are queued.
  std::thread first([&] {
    EXPECT_TRUE(gc.Run([&](store::Txn&, Status* r) {
                    started = true;
                    for (int i = 0; i < 10000 && !release.load(); ++i) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    }
                    *r = Status();
                    return Status();
                  }).ok());
  });
  for (int i = 0; i < 10000 && !started.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!started.load()) {
    release = true;
    first.join();
    FAIL() << "the first op never ran";
  }
  std::vector<std::thread> others;
  std::vector<uint64_t> seen(kWaiters);
  for (size_t i = 0; i < kWaiters; ++i) {
    others.emplace_back([&, i] { EXPECT_TRUE(gc.Run(IncrementOp(f.dbi, &seen[i])).ok()); });
  }
  for (int i = 0; i < 10000 && gc.pending() < kWaiters; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(gc.pending(), kWaiters);
  release = true;
  first.join();
  for (auto& t : others) t.join();
  EXPECT_EQ(gc.ops(), kWaiters + 1);
  EXPECT_EQ(gc.batches(), 2u);
}

TEST(GroupCommitTest, RefusalKeepsOthersAndStorageErrorFailsOnlyItsOp) {
  Fixture f = Open();
  GroupCommitter gc(f.env.get());
  uint64_t seen = 0;
  // A refusal is the op's result; the txn still commits.
  Status refused = gc.Run([](store::Txn&, Status* r) {
    *r = Status::Conflict("no", 7);
    return Status();
  });
  EXPECT_EQ(refused.code(), Status::Code::kConflict);
  EXPECT_EQ(refused.value(), 7u);
  // A storage error aborts the txn and is returned to that op only.
  Status failed = gc.Run([&](store::Txn& txn, Status*) -> Status {
    KT_RETURN_IF_ERROR(txn.Put(f.dbi, core::AsBytes("junk"), core::AsBytes("x")));
    return Status::IOError("disk on fire");
  });
  EXPECT_EQ(failed.code(), Status::Code::kIOError);
  EXPECT_TRUE(gc.Run(IncrementOp(f.dbi, &seen)).ok());
  ASSERT_TRUE(f.env->View([&](const store::Txn& txn) {
                  EXPECT_FALSE(txn.Get(f.dbi, core::AsBytes("junk")).ok());
                  EXPECT_EQ(ReadCounter(txn, f.dbi), 1u);
                  return Status();
                }).ok());
}

TEST(GroupCommitTest, DurableCommitsArePersistedBeforeRunReturns) {
  const std::string dir = testing::TempDir("gc");
  {
    auto env = store::Env::Open(dir);
    ASSERT_TRUE(env.ok());
    auto dbi = (*env)->OpenDb("t");
    ASSERT_TRUE(dbi.ok());
    GroupCommitter gc(env->get());
    uint64_t seen = 0;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(gc.Run(IncrementOp(*dbi, &seen)).ok());
  }
  auto env = store::Env::Open(dir);
  ASSERT_TRUE(env.ok());
  auto dbi = (*env)->OpenDb("t");
  ASSERT_TRUE(dbi.ok());
  ASSERT_TRUE((*env)->View([&](const store::Txn& txn) {
                  EXPECT_EQ(ReadCounter(txn, *dbi), 3u);
                  return Status();
                }).ok());
}

}  // namespace
}  // namespace kt::witness
