// SPDX-License-Identifier: Apache-2.0
// Tests for store/lmdb.h against real LMDB files in a temp directory.
#include "store/lmdb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "tests/testing/vectors.h"

namespace kt::store {
namespace {

using core::AsBytes;
using core::Status;

struct Opened {
  std::unique_ptr<Env> env;
  Dbi dbi;
};

Opened OpenTestEnv(const std::string& dir, EnvOptions options = {}) {
  options.no_sync = false;
  auto env = Env::Open(dir, options);
  EXPECT_TRUE(env.ok()) << env.status().ToString();
  if (!env.ok()) return {};
  auto dbi = (*env)->OpenDb("entries");
  EXPECT_TRUE(dbi.ok()) << dbi.status().ToString();
  return {std::move(env).value(), dbi.ok() ? *dbi : Dbi{}};
}

TEST(LmdbTest, PutGetCommit) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  ASSERT_TRUE(o.env->Update([&](Txn& t) { return t.Put(o.dbi, AsBytes("k"), AsBytes("v1")); }).ok());
  std::string got;
  ASSERT_TRUE(o.env->View([&](const Txn& t) -> Status {
    KT_ASSIGN_OR_RETURN(std::string_view v, t.Get(o.dbi, AsBytes("k")));
    got = std::string(v);
    return Status();
  }).ok());
  EXPECT_EQ(got, "v1");
}

TEST(LmdbTest, GetAbsentIsNotFound) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  Status s = o.env->View([&](const Txn& t) { return t.Get(o.dbi, AsBytes("nope")).status(); });
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("mdb_get"), std::string::npos) << s.message();
}

TEST(LmdbTest, DestroyedTxnAborts) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  {
    auto txn = o.env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(o.dbi, AsBytes("k"), AsBytes("v")).ok());
    ASSERT_TRUE(txn->Get(o.dbi, AsBytes("k")).ok());  // visible inside the txn
  }  // aborted here
  Status s = o.env->View([&](const Txn& t) { return t.Get(o.dbi, AsBytes("k")).status(); });
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
}

TEST(LmdbTest, ExplicitCommitPersists) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  auto txn = o.env->BeginWrite();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(txn->Put(o.dbi, AsBytes("k"), AsBytes("v")).ok());
  ASSERT_TRUE(std::move(txn).value().Commit().ok());
  auto r = o.env->BeginRead();
  ASSERT_TRUE(r.ok());
  auto v = r->Get(o.dbi, AsBytes("k"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "v");
}

TEST(LmdbTest, UpdateRollsBackOnError) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  ASSERT_TRUE(o.env->Update([&](Txn& t) { return t.Put(o.dbi, AsBytes("a"), AsBytes("1")); }).ok());
  Status s = o.env->Update([&](Txn& t) -> Status {
    KT_RETURN_IF_ERROR(t.Put(o.dbi, AsBytes("a"), AsBytes("2")));
    KT_RETURN_IF_ERROR(t.Put(o.dbi, AsBytes("b"), AsBytes("2")));
    return Status::Conflict("changed my mind", 7);
  });
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.value(), 7u);
  ASSERT_TRUE(o.env->View([&](const Txn& t) -> Status {
    auto a = t.Get(o.dbi, AsBytes("a"));
    EXPECT_TRUE(a.ok());
    if (a.ok()) {
      EXPECT_EQ(*a, "1");
    }
    EXPECT_EQ(t.Get(o.dbi, AsBytes("b")).status().code(), Status::Code::kNotFound);
    return Status();
  }).ok());
}

TEST(LmdbTest, ReopenKeepsCommittedData) {
  std::string dir = testing::TempDir("lmdb");
  {
    auto o = OpenTestEnv(dir);
    ASSERT_TRUE(o.env);
    ASSERT_TRUE(o.env->Update([&](Txn& t) -> Status {
      for (uint64_t i = 0; i < 100; ++i) {
        std::string v = "value";
        v += std::to_string(i);
        KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(i)), AsBytes(v)));
      }
      return Status();
    }).ok());
  }
  auto o = OpenTestEnv(dir);
  ASSERT_TRUE(o.env);
  ASSERT_TRUE(o.env->View([&](const Txn& t) -> Status {
    KT_ASSIGN_OR_RETURN(uint64_t n, t.Count(o.dbi));
    EXPECT_EQ(n, 100u);
    KT_ASSIGN_OR_RETURN(std::string_view v, t.Get(o.dbi, AsSpan(U64Key(42))));
    EXPECT_EQ(v, "value42");
    return Status();
  }).ok());
}

TEST(LmdbTest, ForEachOrderIsNumericOrder) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  // Values chosen so that little-endian or decimal order would differ.
  std::vector<uint64_t> nums = {0, 1, 255, 256, 257, 65535, 65536, 1ull << 32, (1ull << 32) + 1,
                                1ull << 56, ~0ull - 1, ~0ull};
  std::vector<uint64_t> shuffled = nums;
  std::mt19937_64 rng(1);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  ASSERT_TRUE(o.env->Update([&](Txn& t) -> Status {
    for (uint64_t n : shuffled) KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(n)), AsBytes("x")));
    return Status();
  }).ok());
  std::vector<uint64_t> seen;
  ASSERT_TRUE(o.env->View([&](const Txn& t) {
    return t.ForEach(o.dbi, {}, [&](std::string_view k, std::string_view) {
      auto n = ParseU64Key(k);
      EXPECT_TRUE(n.ok());
      if (n.ok()) seen.push_back(*n);
      return true;
    });
  }).ok());
  EXPECT_EQ(seen, nums);

  // Start key in the middle, stop early.
  seen.clear();
  auto start = U64Key(257);
  ASSERT_TRUE(o.env->View([&](const Txn& t) {
    return t.ForEach(o.dbi, AsSpan(start), [&](std::string_view k, std::string_view) {
      seen.push_back(*ParseU64Key(k));
      return seen.size() < 3;
    });
  }).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{257, 65535, 65536}));

  // Start between keys rounds up; past the end yields nothing.
  seen.clear();
  auto mid = U64Key(258);
  auto past = U64Key(~0ull);
  ASSERT_TRUE(o.env->Update([&](Txn& t) -> Status {
    KT_RETURN_IF_ERROR(t.Del(o.dbi, AsSpan(past)));
    KT_RETURN_IF_ERROR(t.ForEach(o.dbi, AsSpan(mid), [&](std::string_view k, std::string_view) {
      seen.push_back(*ParseU64Key(k));
      return true;
    }));
    return t.ForEach(o.dbi, AsSpan(past), [&](std::string_view, std::string_view) {
      ADD_FAILURE() << "entry past the end";
      return true;
    });
  }).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{65535, 65536, 1ull << 32, (1ull << 32) + 1, 1ull << 56,
                                          ~0ull - 1}));
}

TEST(LmdbTest, FirstLastAndEmpty) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  ASSERT_TRUE(o.env->View([&](const Txn& t) -> Status {
    EXPECT_EQ(t.Last(o.dbi).status().code(), Status::Code::kNotFound);
    EXPECT_EQ(t.First(o.dbi).status().code(), Status::Code::kNotFound);
    return Status();
  }).ok());
  ASSERT_TRUE(o.env->Update([&](Txn& t) -> Status {
    for (uint64_t i : {5, 300, 2}) {
      std::string v = "v";
      v += std::to_string(i);
      KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(i)), AsBytes(v)));
    }
    return Status();
  }).ok());
  ASSERT_TRUE(o.env->View([&](const Txn& t) -> Status {
    KT_ASSIGN_OR_RETURN(auto last, t.Last(o.dbi));
    EXPECT_EQ(*ParseU64Key(last.first), 300u);
    EXPECT_EQ(last.second, "v300");
    KT_ASSIGN_OR_RETURN(auto first, t.First(o.dbi));
    EXPECT_EQ(*ParseU64Key(first.first), 2u);
    return Status();
  }).ok());
}

TEST(LmdbTest, PutModes) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  Status s = o.env->Update([&](Txn& t) -> Status {
    KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(1)), AsBytes("a"), PutMode::kNoOverwrite));
    Status again = t.Put(o.dbi, AsSpan(U64Key(1)), AsBytes("b"), PutMode::kNoOverwrite);
    EXPECT_EQ(again.code(), Status::Code::kConflict);
    KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(2)), AsBytes("c"), PutMode::kAppend));
    Status out_of_order = t.Put(o.dbi, AsSpan(U64Key(0)), AsBytes("d"), PutMode::kAppend);
    EXPECT_FALSE(out_of_order.ok());
    KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(1)), AsBytes("e")));  // upsert
    KT_ASSIGN_OR_RETURN(std::string_view v, t.Get(o.dbi, AsSpan(U64Key(1))));
    EXPECT_EQ(v, "e");
    EXPECT_EQ(t.Del(o.dbi, AsSpan(U64Key(9))).code(), Status::Code::kNotFound);
    return Status();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(LmdbTest, ReadOnlyTxnRejectsWrites) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  auto r = o.env->BeginRead();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->read_only());
  EXPECT_FALSE(r->Put(o.dbi, AsBytes("k"), AsBytes("v")).ok());
  EXPECT_FALSE(r->Del(o.dbi, AsBytes("k")).ok());
}

TEST(LmdbTest, MapFullIsClearError) {
  EnvOptions opt;
  opt.map_size = 256 * 1024;
  auto o = OpenTestEnv(testing::TempDir("lmdb"), opt);
  ASSERT_TRUE(o.env);
  std::string value(1000, 'x');
  Status s = o.env->Update([&](Txn& t) -> Status {
    for (uint64_t i = 0; i < 10000; ++i) {
      KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(i)), AsBytes(value)));
    }
    return Status();
  });
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("map is full"), std::string::npos) << s.message();
  // The env stays usable after the failed txn was aborted.
  EXPECT_TRUE(o.env->Update([&](Txn& t) { return t.Put(o.dbi, AsBytes("k"), AsBytes("v")); }).ok());
}

TEST(LmdbTest, OpenFailureNamesFunction) {
  std::string dir = testing::TempDir("lmdb");
  std::string file = dir + "/not-a-dir";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto env = Env::Open(file);
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find(file), std::string::npos) << env.status().message();
}

TEST(LmdbTest, U64KeyIsBigEndian) {
  auto k = U64Key(0x0102030405060708ull);
  EXPECT_EQ(k, (std::array<uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(*ParseU64Key(core::AsStringView(AsSpan(k))), 0x0102030405060708ull);
  EXPECT_EQ(ParseU64Key("short").status().code(), Status::Code::kCorruption);
}

// Readers on other threads see consistent snapshots while a writer commits:
// every committed txn writes entry i and sets "count" to i+1 together.
TEST(LmdbTest, ConcurrentReadersSeeConsistentSnapshots) {
  auto o = OpenTestEnv(testing::TempDir("lmdb"));
  ASSERT_TRUE(o.env);
  auto meta = o.env->OpenDb("meta");
  ASSERT_TRUE(meta.ok());
  constexpr uint64_t kCommits = 200;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> failures{0};
  auto reader = [&] {
    for (int iter = 0; iter < 1000000 && !done.load(); ++iter) {
      Status s = o.env->View([&](const Txn& t) -> Status {
        auto c = t.Get(*meta, AsBytes("count"));
        if (!c.ok()) return c.status().code() == Status::Code::kNotFound ? Status() : c.status();
        KT_ASSIGN_OR_RETURN(uint64_t count, ParseU64Key(*c));
        KT_ASSIGN_OR_RETURN(uint64_t entries, t.Count(o.dbi));
        if (entries != count) return Status::Internal("torn snapshot");
        return Status();
      });
      if (!s.ok()) failures.fetch_add(1);
      reads.fetch_add(1);
    }
  };
  std::thread r1(reader), r2(reader);
  for (uint64_t i = 0; i < kCommits; ++i) {
    Status s = o.env->Update([&](Txn& t) -> Status {
      KT_RETURN_IF_ERROR(t.Put(o.dbi, AsSpan(U64Key(i)), AsBytes("entry"), PutMode::kAppend));
      return t.Put(*meta, AsBytes("count"), AsSpan(U64Key(i + 1)));
    });
    if (!s.ok()) {
      ADD_FAILURE() << s.ToString();
      break;
    }
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  // A read txn begun on one thread may be used and ended on another (MDB_NOTLS).
  auto txn = o.env->BeginRead();
  ASSERT_TRUE(txn.ok());
  std::thread other([t = std::move(txn).value(), &o]() mutable {
    auto n = t.Count(o.dbi);
    EXPECT_TRUE(n.ok());
    if (n.ok()) {
      EXPECT_EQ(*n, 200u);
    }
  });
  other.join();
}

}  // namespace
}  // namespace kt::store
