// SPDX-License-Identifier: Apache-2.0
// LogStorage contract suite over {MemoryStorage, LmdbStorage}, the tiles
// known-answer vectors read through storage, and LMDB crash safety.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "core/tile.h"
#include "log/storage.h"
#include "tests/core/merkle_testing.h"
#include "tests/log/log_testing.h"

namespace kt::log {
namespace {

using core::Status;
using kt::testing::AppendBatch;
using kt::testing::TestEntry;

template <typename Factory>
class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = factory_.Make();
    ASSERT_NE(storage_, nullptr);
  }
  // AppendN appends n entries (user "u<i % users>", device "d") in one batch.
  void AppendN(uint64_t n, uint64_t users = 7) {
    std::vector<core::Entry> es;
    for (uint64_t i = 0; i < n; ++i) {
      es.push_back(TestEntry("u" + std::to_string((tree_.size() + i) % users), "d",
                             static_cast<uint8_t>(i)));
    }
    IntegrationBatch b = AppendBatch(tree_, std::move(es));
    for (const auto& e : b.entries) entries_.push_back(e);
    ASSERT_TRUE(storage_->Integrate(b).ok());
  }

  Factory factory_;
  LogStorage* storage_ = nullptr;
  core::TreeBuilder tree_;
  std::vector<core::Bytes> entries_;
};

using Factories = ::testing::Types<kt::testing::MemoryStorageFactory,
                                   kt::testing::LmdbStorageFactory,
                                   kt::testing::LmdbFlushingStorageFactory>;
TYPED_TEST_SUITE(StorageTest, Factories);

TYPED_TEST(StorageTest, FreshLogIsEmpty) {
  auto st = this->storage_->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 0u);
  EXPECT_EQ(st->root, core::EmptyRoot());
  EXPECT_TRUE(st->checkpoint.empty());
  EXPECT_TRUE(st->witnessed_checkpoint.empty());
  EXPECT_EQ(this->storage_->ReadEntry(0).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadWitnessed(0).status().code(), Status::Code::kNotFound);
  auto u = this->storage_->ReadUser("nobody");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->empty());
}

TYPED_TEST(StorageTest, EmptyBatchStoresCheckpointOfEmptyTreeOnce) {
  IntegrationBatch b = AppendBatch(this->tree_, {});
  ASSERT_TRUE(this->storage_->Integrate(b).ok());
  auto st = this->storage_->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 0u);
  EXPECT_EQ(st->checkpoint, b.checkpoint);
  // A second checkpoint for size 0 is refused.
  EXPECT_EQ(this->storage_->Integrate(b).code(), Status::Code::kCorruption);
}

TYPED_TEST(StorageTest, IntegrateStoresEntriesHashesAndHead) {
  for (uint64_t n : {1, 2, 17, 255, 1, 300, 45}) this->AppendN(n);
  auto st = this->storage_->ReadTreeState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->size, this->entries_.size());
  EXPECT_EQ(st->root, this->tree_.Root());
  EXPECT_EQ(st->checkpoint, kt::testing::TestCheckpoint(st->size, st->root));
  std::vector<core::Hash> leaves;
  for (uint64_t i = 0; i < st->size; ++i) {
    auto e = this->storage_->ReadEntry(i);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, this->entries_[i]);
    leaves.push_back(core::RecordHash(*e));
  }
  // Every root and proof computed from storage agrees with the naive
  // reference over the leaves.
  for (uint64_t size : {uint64_t{1}, uint64_t{2}, uint64_t{300}, st->size}) {
    auto root = core::TreeHash(size, *this->storage_);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, core::RootOfRange(std::span(leaves).first(size)));
  }
  EXPECT_EQ(this->storage_->ReadEntry(st->size).status().code(), Status::Code::kNotFound);
  std::vector<uint64_t> beyond = {core::StoredHashCount(st->size)};
  std::vector<core::Hash> out;
  EXPECT_EQ(this->storage_->ReadHashes(beyond, &out).code(), Status::Code::kNotFound);
}

TYPED_TEST(StorageTest, RefusesBatchAtWrongIndex) {
  this->AppendN(5);
  core::TreeBuilder stale;  // starts at 0: a second writer's view
  IntegrationBatch b = AppendBatch(stale, {TestEntry("x", "d")});
  EXPECT_EQ(this->storage_->Integrate(b).code(), Status::Code::kCorruption);
  core::TreeBuilder ahead = this->tree_;
  ahead.AppendEntry(core::AsBytes("gap"));
  IntegrationBatch gap = AppendBatch(ahead, {TestEntry("x", "d")});
  EXPECT_EQ(this->storage_->Integrate(gap).code(), Status::Code::kCorruption);
  auto st = this->storage_->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 5u);
  EXPECT_EQ(st->root, this->tree_.Root());
}

TYPED_TEST(StorageTest, RefusesInconsistentBatchWithoutWriting) {
  this->AppendN(3);
  core::TreeBuilder t = this->tree_;
  IntegrationBatch b = AppendBatch(t, {TestEntry("x", "d"), TestEntry("y", "d")});
  IntegrationBatch missing_hash = b;
  missing_hash.stored_hashes.pop_back();
  EXPECT_EQ(this->storage_->Integrate(missing_hash).code(), Status::Code::kInvalidArgument);
  IntegrationBatch no_decoded = b;
  no_decoded.decoded.pop_back();
  EXPECT_EQ(this->storage_->Integrate(no_decoded).code(), Status::Code::kInvalidArgument);
  IntegrationBatch no_checkpoint = b;
  no_checkpoint.checkpoint.clear();
  EXPECT_EQ(this->storage_->Integrate(no_checkpoint).code(), Status::Code::kInvalidArgument);
  auto st = this->storage_->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 3u);
  EXPECT_TRUE(this->storage_->ReadUser("x")->empty());
  // The good batch still applies afterwards.
  ASSERT_TRUE(this->storage_->Integrate(b).ok());
}

TYPED_TEST(StorageTest, TilesAndBundlesMatchCoreTileMath) {
  kt::testing::MemoryHashLog reference;
  uint64_t done = 0;
  for (uint64_t n : {1, 255, 1, 300, 70000}) {
    this->AppendN(n, 1000);
    for (; done < this->entries_.size(); ++done) {
      reference.Append(core::RecordHash(this->entries_[done]));
    }
    uint64_t size = this->entries_.size();
    for (const core::Tile& tile : core::TilesForSize(size)) {
      auto got = this->storage_->ReadTile(tile.level, tile.index, tile.width);
      ASSERT_TRUE(got.ok()) << core::TilePath(tile) << " " << got.status().ToString();
      auto want = core::ReadTileData(tile, reference);
      ASSERT_TRUE(want.ok());
      EXPECT_EQ(*got, *want) << core::TilePath(tile);
      if (tile.level == 0) {
        auto bundle = this->storage_->ReadEntryBundle(tile.index, tile.width);
        ASSERT_TRUE(bundle.ok());
        auto first = this->entries_.begin() + static_cast<std::ptrdiff_t>(tile.index * 256);
        std::vector<core::Bytes> es(first, first + tile.width);
        EXPECT_EQ(*bundle, *core::EncodeEntryBundle(es));
      }
    }
  }
}

TYPED_TEST(StorageTest, TileRequestsOutsideTheTreeFail) {
  this->AppendN(300);
  // Level 0: tile 0 full, tile 1 partial with 44 hashes.
  EXPECT_TRUE(this->storage_->ReadTile(0, 1, 44).ok());
  EXPECT_TRUE(this->storage_->ReadTile(0, 1, 3).ok());  // an older partial width
  EXPECT_EQ(this->storage_->ReadTile(0, 1, 45).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadTile(0, 1, 256).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadTile(0, 2, 1).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(this->storage_->ReadTile(1, 0, 1).ok());
  EXPECT_EQ(this->storage_->ReadTile(1, 0, 2).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadTile(2, 0, 1).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadTile(9, 0, 1).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadTile(64, 0, 1).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->storage_->ReadTile(-1, 0, 1).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->storage_->ReadTile(0, 0, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->storage_->ReadTile(0, 0, 257).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->storage_->ReadTile(0, UINT64_MAX, 1).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadEntryBundle(1, 45).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(this->storage_->ReadEntryBundle(0, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(this->storage_->ReadEntryBundle(1, 44).ok());
}

TYPED_TEST(StorageTest, UserIndexFollowsKeySetsAndRevokes) {
  core::TreeBuilder& t = this->tree_;
  ASSERT_TRUE(this->storage_->Integrate(AppendBatch(t, {TestEntry("alice", "phone", 1),
                                                          TestEntry("bob", "pc", 2)})).ok());
  ASSERT_TRUE(this->storage_->Integrate(AppendBatch(t, {TestEntry("alice", "laptop", 3),
                                                          TestEntry("alice", "phone", 4)})).ok());
  ASSERT_TRUE(this->storage_->Integrate(AppendBatch(t, {TestEntry("alice", "laptop", 0, true)}))
                  .ok());
  auto alice = this->storage_->ReadUser("alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->history, (std::vector<uint64_t>{0, 2, 3, 4}));
  EXPECT_EQ(alice->NextPrev(), 5u);
  ASSERT_EQ(alice->devices.size(), 2u);
  EXPECT_EQ(alice->devices[0].device, "laptop");  // sorted
  EXPECT_TRUE(alice->devices[0].revoked);
  EXPECT_EQ(alice->devices[0].latest_index, 4u);
  EXPECT_EQ(alice->devices[0].identity_key[0], 3);  // kept for history
  EXPECT_FALSE(alice->IsCurrentDevice("laptop"));
  EXPECT_TRUE(alice->IsCurrentDevice("phone"));
  EXPECT_EQ(alice->FindDevice("phone")->identity_key[0], 4);
  EXPECT_EQ(alice->FindDevice("phone")->latest_index, 3u);
  EXPECT_EQ(alice->FindDevice("tablet"), nullptr);
  // A revoked device may be set again.
  ASSERT_TRUE(this->storage_->Integrate(AppendBatch(t, {TestEntry("alice", "laptop", 9)})).ok());
  alice = this->storage_->ReadUser("alice");
  EXPECT_TRUE(alice->IsCurrentDevice("laptop"));
  EXPECT_EQ(alice->FindDevice("laptop")->identity_key[0], 9);
  auto bob = this->storage_->ReadUser("bob");
  EXPECT_EQ(bob->history, (std::vector<uint64_t>{1}));
  EXPECT_EQ(bob->NextPrev(), 2u);
}

// The Sequencer passes the user states it derived (batch.users); the stored
// index must equal the one the storage derives itself, also after reopening.
TYPED_TEST(StorageTest, CallerSuppliedUserStatesEqualDerivedOnes) {
  MemoryStorage reference;
  core::TreeBuilder ref_tree;
  for (int b = 0; b < 12; ++b) {
    std::vector<core::Entry> es;
    for (int k = 0; k < 1 + b % 4; ++k) {
      int n = b * 4 + k;
      es.push_back(TestEntry("u" + std::to_string(n % 5), "d" + std::to_string(n % 3),
                             static_cast<uint8_t>(n), n % 7 == 6));
    }
    IntegrationBatch batch = AppendBatch(this->tree_, es);
    std::map<std::string, UserState> states;
    for (size_t i = 0; i < batch.decoded.size(); ++i) {
      const core::Entry& e = batch.decoded[i];
      if (states.count(e.user) == 0) states[e.user] = *this->storage_->ReadUser(e.user);
      states[e.user].Apply(batch.first_index + i, e);
    }
    for (auto& [user, state] : states) {
      batch.users.emplace_back(user, std::make_shared<const UserState>(state));
    }
    ASSERT_TRUE(this->storage_->Integrate(batch).ok());
    ASSERT_TRUE(reference.Integrate(AppendBatch(ref_tree, es)).ok());
  }
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) this->storage_ = this->factory_.Reopen();
    for (int u = 0; u < 5; ++u) {
      std::string user = "u" + std::to_string(u);
      EXPECT_EQ(*this->storage_->ReadUser(user), *reference.ReadUser(user)) << user;
    }
  }
}

// WithUsers fills batch.users from `reference` (which then integrates the
// batch), keeping the ids in `names` (the batch holds views of them).
void WithUsers(IntegrationBatch& batch, MemoryStorage& reference,
               std::deque<std::map<std::string, UserState>>& names) {
  auto& states = names.emplace_back();
  for (size_t i = 0; i < batch.decoded.size(); ++i) {
    const core::Entry& e = batch.decoded[i];
    if (states.count(e.user) == 0) states[e.user] = *reference.ReadUser(e.user);
    states[e.user].Apply(batch.first_index + i, e);
  }
  for (auto& [user, state] : states) {
    batch.users.emplace_back(user, std::make_shared<const UserState>(state));
  }
  ASSERT_TRUE(reference.Integrate(batch).ok());
}

// A group commit stores exactly what the same batches integrated one by one
// store: entries, hashes, head, user index, every batch's witnessed
// checkpoint.
TYPED_TEST(StorageTest, GroupOfBatchesEqualsBatchesOneByOne) {
  MemoryStorage reference;
  std::deque<std::map<std::string, UserState>> names;
  for (int g = 0; g < 6; ++g) {
    std::vector<IntegrationBatch> group;
    for (int b = 0; b < 1 + g % 3; ++b) {
      std::vector<core::Entry> es;
      for (int k = 0; k < 1 + (g + b) % 4; ++k) {
        int n = g * 16 + b * 4 + k;
        es.push_back(TestEntry("u" + std::to_string(n % 5), "d" + std::to_string(n % 2),
                               static_cast<uint8_t>(n), n % 6 == 5));
      }
      IntegrationBatch batch = AppendBatch(this->tree_, es);
      batch.witnessed = b % 2 == 1;
      WithUsers(batch, reference, names);
      group.push_back(std::move(batch));
    }
    std::vector<const IntegrationBatch*> ptrs;
    for (const IntegrationBatch& b : group) ptrs.push_back(&b);
    ASSERT_TRUE(this->storage_->IntegrateGroup(ptrs).ok());
  }
  auto got = this->storage_->ReadTreeState();
  auto want = reference.ReadTreeState();
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ(got->size, want->size);
  EXPECT_EQ(got->root, want->root);
  EXPECT_EQ(got->checkpoint, want->checkpoint);
  EXPECT_EQ(got->witnessed_size, want->witnessed_size);
  EXPECT_EQ(*core::TreeHash(got->size, *this->storage_), want->root);
  for (uint64_t i = 0; i < want->size; ++i) {
    EXPECT_EQ(*this->storage_->ReadEntry(i), *reference.ReadEntry(i)) << i;
    auto w = reference.ReadWitnessed(i + 1);
    auto g = this->storage_->ReadWitnessed(i + 1);
    ASSERT_EQ(w.ok(), g.ok()) << i;
    if (w.ok()) EXPECT_EQ(g->size, w->size) << i;
  }
  for (int u = 0; u < 5; ++u) {
    std::string user = "u" + std::to_string(u);
    EXPECT_EQ(*this->storage_->ReadUser(user), *reference.ReadUser(user)) << user;
  }
}

TYPED_TEST(StorageTest, WitnessedCheckpointsAreMonotonic) {
  this->AppendN(10);
  EXPECT_EQ(this->storage_->PublishWitnessed("w11", 11).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->storage_->PublishWitnessed("", 3).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(this->storage_->PublishWitnessed("w4", 4).ok());
  ASSERT_TRUE(this->storage_->PublishWitnessed("w7", 7).ok());
  Status back = this->storage_->PublishWitnessed("w5", 5);
  EXPECT_EQ(back.code(), Status::Code::kConflict);
  EXPECT_EQ(back.value(), 7u);
  ASSERT_TRUE(this->storage_->PublishWitnessed("w7+", 7).ok());  // more cosignatures
  auto st = this->storage_->ReadTreeState();
  EXPECT_EQ(st->witnessed_size, 7u);
  EXPECT_EQ(st->witnessed_checkpoint, "w7+");
  EXPECT_EQ(this->storage_->ReadWitnessed(0)->checkpoint, "w4");
  EXPECT_EQ(this->storage_->ReadWitnessed(4)->size, 4u);
  EXPECT_EQ(this->storage_->ReadWitnessed(5)->checkpoint, "w7+");
  EXPECT_EQ(this->storage_->ReadWitnessed(8).status().code(), Status::Code::kNotFound);
}

TYPED_TEST(StorageTest, StateSurvivesReopen) {
  this->AppendN(600);
  ASSERT_TRUE(this->storage_->PublishWitnessed("w600", 600).ok());
  LogStorage* s = this->factory_.Reopen();
  ASSERT_NE(s, nullptr);
  auto st = s->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 600u);
  EXPECT_EQ(st->root, this->tree_.Root());
  EXPECT_EQ(st->witnessed_checkpoint, "w600");
  EXPECT_EQ(*core::TreeHash(600, *s), this->tree_.Root());
  EXPECT_EQ(*s->ReadEntry(599), this->entries_[599]);
}

TYPED_TEST(StorageTest, ReadersSeeConsistentTreesDuringWrites) {
  std::atomic<bool> stop{false};
  std::atomic<int> checked{0};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    while (!stop.load()) {
      auto st = this->storage_->ReadTreeState();
      if (!st.ok()) {
        ++failures;
        continue;
      }
      auto root = core::TreeHash(st->size, *this->storage_);
      if (!root.ok() || *root != st->root) ++failures;
      if (st->size > 0) {
        auto proof = core::ProveRecord(st->size, st->size - 1, *this->storage_);
        if (!proof.ok()) ++failures;
      }
      ++checked;
    }
  });
  for (int i = 0; i < 40; ++i) {
    this->AppendN(37);
    // Let the reader finish a check between writes (bounded wait).
    int seen = checked.load();
    for (int spin = 0; spin < 100000 && checked.load() == seen; ++spin) std::this_thread::yield();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(checked.load(), 0);
}

// --- Known-answer tiles (vectors/merkle/tiles.json) read through storage ---

template <typename Factory>
class StorageVectorTest : public StorageTest<Factory> {};
TYPED_TEST_SUITE(StorageVectorTest, Factories);

TYPED_TEST(StorageVectorTest, ServesVectorTilesAndBundles) {
  auto v = kt::testing::LoadVectorJson("merkle/tiles.json");
  ASSERT_FALSE(v.is_null());
  uint64_t n = v["n"].get<uint64_t>();
  // Integrate the vectors' leaves ("leaf-<i>") up to each tree size that
  // has listed tiles, and compare every listed tile at that size.
  std::vector<uint64_t> sizes;
  for (const auto& t : v["tiles"]) sizes.push_back(t["tree_size"].get<uint64_t>());
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  ASSERT_EQ(sizes.back(), n);
  int compared = 0;
  for (uint64_t size : sizes) {
    std::vector<core::Entry> decoded;
    std::vector<core::Bytes> raw;
    for (uint64_t i = this->tree_.size(); i < size; ++i) {
      raw.push_back(core::ToBytes("leaf-" + std::to_string(i)));
      decoded.push_back(TestEntry("u", "d"));
    }
    ASSERT_TRUE(this->storage_->Integrate(AppendBatch(this->tree_, decoded, raw)).ok());
    for (const auto& t : v["tiles"]) {
      if (t["tree_size"].get<uint64_t>() != size) continue;
      auto got = this->storage_->ReadTile(t["level"].get<int>(), t["index"].get<uint64_t>(),
                                          t["width"].get<uint64_t>());
      ASSERT_TRUE(got.ok()) << t["path"];
      EXPECT_EQ(*got, kt::testing::Hex(t["data"].get<std::string>())) << t["path"];
      ++compared;
    }
  }
  for (const auto& b : v["entry_bundles"]) {
    auto got = this->storage_->ReadEntryBundle(b["index"].get<uint64_t>(),
                                               b["width"].get<uint64_t>());
    ASSERT_TRUE(got.ok()) << b["path"];
    EXPECT_EQ(*got, kt::testing::Hex(b["data"].get<std::string>())) << b["path"];
    ++compared;
  }
  EXPECT_GE(compared, 10);
}

// --- LMDB user index overlay ---

// The user index read back after a reopen (replaying the unflushed tail)
// equals MemoryStorage's for every user, whatever the flush threshold.
TEST(LmdbStorageTest, UserIndexSurvivesReopenAtAnyFlushPoint) {
  for (uint64_t flush : {1, 3, 64, 1000}) {
    std::string dir = kt::testing::TempDir("lmdb-users");
    MemoryStorage reference;
    LmdbStorageOptions options;
    options.user_flush_entries = flush;
    core::TreeBuilder tree;
    for (int b = 0; b < 30; ++b) {
      std::vector<core::Entry> es;
      for (int k = 0; k < 1 + b % 7; ++k) {
        int n = b * 7 + k;
        es.push_back(TestEntry("u" + std::to_string(n % 11), "d" + std::to_string(n % 3),
                               static_cast<uint8_t>(n), n % 5 == 4));
      }
      IntegrationBatch batch = AppendBatch(tree, es);
      ASSERT_TRUE(reference.Integrate(batch).ok());
      auto s = LmdbStorage::Open(dir, options);  // reopen before every batch
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      ASSERT_TRUE((*s)->Integrate(batch).ok());
      for (int u = 0; u < 11; ++u) {
        std::string user = "u" + std::to_string(u);
        EXPECT_EQ(*(*s)->ReadUser(user), *reference.ReadUser(user)) << user << " flush " << flush;
      }
    }
    auto s = LmdbStorage::Open(dir, options);
    ASSERT_TRUE(s.ok());
    for (int u = 0; u < 11; ++u) {
      std::string user = "u" + std::to_string(u);
      EXPECT_EQ(*(*s)->ReadUser(user), *reference.ReadUser(user)) << user << " flush " << flush;
    }
  }
}

// A flush of more states than one slice spans several batches: reads see
// every state while it is in progress, and a reopen in the middle (some
// records already newer than users_through) replays the tail without
// applying an entry twice.
TEST(LmdbStorageTest, UserIndexIsExactDuringAndAcrossASlicedFlush) {
  std::string dir = kt::testing::TempDir("lmdb-sliced");
  MemoryStorage reference;
  LmdbStorageOptions options;
  options.user_flush_entries = 400;  // a freeze every 10 batches of 40
  constexpr int kUsers = 600;        // ~400 states per freeze: 2 slices of <= 256
  core::TreeBuilder tree;
  auto s = LmdbStorage::Open(dir, options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (int b = 0; b < 45; ++b) {
    // Reopen right after a first slice (b = 11: freeze after batch 9, slice
    // at 10) and at other points of later flushes.
    if (b == 11 || b == 23 || b == 32 || b == 42) {
      s->reset();  // one environment per process at a time
      s = LmdbStorage::Open(dir, options);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
    }
    std::vector<core::Entry> es;
    for (int k = 0; k < 40; ++k) {
      int n = b * 40 + k;
      es.push_back(TestEntry("u" + std::to_string(n % kUsers), "d" + std::to_string(n % 3),
                             static_cast<uint8_t>(n), n % 7 == 6));
    }
    IntegrationBatch batch = AppendBatch(tree, es);
    ASSERT_TRUE(reference.Integrate(batch).ok());
    ASSERT_TRUE((*s)->Integrate(batch).ok());
    for (int u = 0; u < kUsers; ++u) {
      std::string user = "u" + std::to_string(u);
      ASSERT_EQ(*(*s)->ReadUser(user), *reference.ReadUser(user)) << user << " batch " << b;
    }
  }
  s->reset();
  s = LmdbStorage::Open(dir, options);
  ASSERT_TRUE(s.ok());
  std::vector<std::string> names;
  std::vector<std::string_view> views;
  for (int u = 0; u < kUsers; ++u) names.push_back("u" + std::to_string(u));
  for (const std::string& n : names) views.push_back(n);
  std::vector<UserState> got;
  ASSERT_TRUE((*s)->ReadUsers(views, &got).ok());
  for (int u = 0; u < kUsers; ++u) EXPECT_EQ(got[u], *reference.ReadUser(names[u])) << names[u];
}

// A group is one atomic write: when its second batch is refused, the first
// is not stored either.
TEST(LmdbStorageTest, GroupCommitIsAllOrNothing) {
  std::string dir = kt::testing::TempDir("lmdb-group");
  auto s = LmdbStorage::Open(dir);
  ASSERT_TRUE(s.ok());
  MemoryStorage reference;
  std::deque<std::map<std::string, UserState>> names;
  core::TreeBuilder tree;
  IntegrationBatch first = AppendBatch(tree, {TestEntry("a", "d", 1), TestEntry("b", "d", 2)});
  WithUsers(first, reference, names);
  IntegrationBatch second = AppendBatch(tree, {TestEntry("a", "d", 3)});
  WithUsers(second, reference, names);
  IntegrationBatch bad = second;
  bad.first_index += 1;  // not where the first batch ends
  const IntegrationBatch* group[] = {&first, &bad};
  EXPECT_EQ((*s)->IntegrateGroup(group).code(), Status::Code::kCorruption);
  EXPECT_EQ((*s)->ReadTreeState()->size, 0u);
  EXPECT_EQ((*s)->ReadEntry(0).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE((*s)->ReadUser("a")->empty());
  const IntegrationBatch* good[] = {&first, &second};
  ASSERT_TRUE((*s)->IntegrateGroup(good).ok());
  EXPECT_EQ((*s)->ReadTreeState()->size, 3u);
  EXPECT_EQ(*(*s)->ReadUser("a"), *reference.ReadUser("a"));
}

// --- LMDB crash safety ---

// A child process integrates batches as fast as it can and reports each
// acknowledged (Integrate returned OK) size on a pipe; the parent SIGKILLs
// it mid-stream, reopens the database and checks that every acknowledged
// batch is there and that the head, entries and hashes agree.
TEST(LmdbStorageTest, AcknowledgedBatchesSurviveSigkill) {
  std::string dir = kt::testing::TempDir("lmdb-crash");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto s = LmdbStorage::Open(dir);
    if (!s.ok()) _exit(2);
    core::TreeBuilder tree;
    for (int i = 0; i < 100000; ++i) {
      std::vector<core::Entry> es;
      for (int k = 0; k < 50; ++k) es.push_back(TestEntry("u" + std::to_string(k), "d"));
      if (!(*s)->Integrate(AppendBatch(tree, es)).ok()) _exit(3);
      uint64_t size = tree.size();
      if (write(fds[1], &size, sizeof size) != sizeof size) _exit(4);
    }
    _exit(0);
  }
  close(fds[1]);
  uint64_t acked = 0;
  uint64_t v = 0;
  while (acked < 2000 && read(fds[0], &v, sizeof v) == sizeof v) acked = v;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Drain sizes acknowledged before the kill landed.
  while (read(fds[0], &v, sizeof v) == sizeof v) acked = v;
  close(fds[0]);
  ASSERT_GE(acked, 2000u);

  auto s = LmdbStorage::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto st = (*s)->ReadTreeState();
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->size, acked);
  EXPECT_EQ(st->size % 50, 0u);
  auto root = core::TreeHash(st->size, **s);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, st->root);
  core::TreeBuilder check;
  for (uint64_t i = 0; i < st->size; ++i) check.AppendEntry(*(*s)->ReadEntry(i));
  EXPECT_EQ(check.Root(), st->root);
  EXPECT_EQ((*s)->ReadUser("u0")->history.size(), st->size / 50);
}

}  // namespace
}  // namespace kt::log
