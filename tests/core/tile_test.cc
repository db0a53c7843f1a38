// SPDX-License-Identifier: Apache-2.0
// Tests for core/tile.h: tlog-tiles paths (round trips and strict
// rejection), tile sets per tree size, hashes read from tiles, the
// authenticating TileHashReader (every tampered tile is caught), and entry
// bundles.
#include "core/tile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/proof.h"
#include "tests/core/merkle_testing.h"

namespace kt::core {
namespace {

using kt::testing::LogTileReader;
using kt::testing::MemoryHashLog;

MemoryHashLog LogOf(uint64_t n) {
  MemoryHashLog log;
  for (uint64_t i = 0; i < n; ++i) log.Append(RecordHash(AsBytes(std::to_string(i))));
  return log;
}

// One shared 70,000-leaf log: full level-0 and level-1 tiles, partial level 2.
MemoryHashLog& BigLog() {
  static MemoryHashLog* log = new MemoryHashLog(LogOf(70000));
  return *log;
}

TEST(TilePathTest, FormatsGroups) {
  EXPECT_EQ(TilePath({0, 0, 256}), "tile/0/000");
  EXPECT_EQ(TilePath({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({3, 1000, 17}), "tile/3/x001/000.p/17");
  EXPECT_EQ(TilePath({kEntryBundleLevel, 5, 44}), "tile/entries/005.p/44");
  EXPECT_EQ(TilePath({63, UINT64_MAX, 255}),
            "tile/63/x018/x446/x744/x073/x709/x551/615.p/255");
}

TEST(TilePathTest, RoundTripsRandomTiles) {
  std::mt19937_64 rng(9);
  for (int i = 0; i < 20000; ++i) {
    Tile t;
    t.level = static_cast<int>(rng() % 65) - 1;
    t.index = rng() >> (rng() % 64);
    t.width = static_cast<uint32_t>(1 + rng() % 256);
    std::string path = TilePath(t);
    auto parsed = ParseTilePath(path);
    ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status().ToString();
    ASSERT_EQ(*parsed, t) << path;
  }
}

TEST(ParseTilePathTest, RejectsNonCanonicalPaths) {
  for (const char* bad : {
           "", "tile", "tile/", "tile/0", "tile/0/", "/tile/0/000", "tile/0/000/", "tile//000",
           "tiles/0/000", "Tile/0/000", "tile/0/00", "tile/0/0000", "tile/0/x01/000",
           "tile/0/x000/000", "tile/0/x000/x001/000", "tile/0/001/000", "tile/0/x001",
           "tile/0/X001/000", "tile/0/x001/x000", "tile/0/00a", "tile/0/+00", "tile/0/ 000",
           "tile/0/000 ", "tile/0/-01", "tile/0/000.p", "tile/0/000.p/", "tile/0/000.p/0",
           "tile/0/000.p/256", "tile/0/000.p/+1", "tile/0/000.p/01", "tile/0/000.p/1/",
           "tile/0/000.p/1.p/1", "tile/0/000.P/1", "tile/0/000.q/1", "tile/0/000p/1",
           "tile/0/x001.p/1/000", "tile/64/000", "tile/99999999999999999999/000", "tile/01/000",
           "tile/-1/000", "tile/+1/000", "tile/data/000", "tile/entries/000.p/256",
           "tile/entries", "tile/entries/", "tile/8/0/000",
           // 2^64 and an 8th group overflow uint64.
           "tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
           "tile/0/x999/x999/x999/x999/x999/x999/999"}) {
    auto parsed = ParseTilePath(bad);
    EXPECT_FALSE(parsed.ok()) << '"' << bad << "\" parsed as " << (parsed.ok() ? TilePath(*parsed) : "");
  }
  std::string with_nul("tile/0/000\0", 11);
  EXPECT_FALSE(ParseTilePath(with_nul).ok());
}

TEST(ParseTilePathTest, AcceptsLargestIndex) {
  auto parsed = ParseTilePath("tile/0/x018/x446/x744/x073/x709/x551/615");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->index, UINT64_MAX);
}

std::set<std::string> Paths(const std::vector<Tile>& tiles) {
  std::set<std::string> out;
  for (const Tile& t : tiles) out.insert(TilePath(t));
  return out;
}

TEST(NewTilesTest, IsTheDifferenceOfTileSets) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300; ++i) {
    uint64_t b = rng() % 200000, a = rng() % (b + 1);
    if (i % 3 == 0) b = a + rng() % 600;
    std::set<std::string> before = Paths(TilesForSize(a)), after = Paths(TilesForSize(b));
    std::set<std::string> added = Paths(NewTiles(a, b));
    for (const std::string& p : added) EXPECT_TRUE(after.count(p)) << p;
    for (const std::string& p : after) {
      if (!before.count(p)) {
        EXPECT_TRUE(added.count(p)) << a << " -> " << b << ": " << p;
      }
    }
  }
  EXPECT_TRUE(NewTiles(300, 300).empty());
  EXPECT_TRUE(TilesForSize(0).empty());
}

TEST(NewTilesTest, TilesCoverEveryStoredHashAtTheirLevels) {
  // Each tile (L, N, W) of a size holds nodes at level 8L that are complete.
  for (uint64_t size : {1ull, 255ull, 256ull, 65535ull, 65536ull, 65537ull, 16777217ull}) {
    for (const Tile& t : TilesForSize(size)) {
      uint64_t last = (t.index * kTileWidth + t.width) << (kTileHeight * t.level);
      EXPECT_LE(last, size) << TilePath(t);
      if (!t.is_full()) {
        EXPECT_GT(last + (uint64_t{1} << (kTileHeight * t.level)), size) << TilePath(t);
      }
    }
  }
  std::set<std::string> paths = Paths(TilesForSize(65536));
  EXPECT_TRUE(paths.count("tile/0/255"));
  EXPECT_TRUE(paths.count("tile/1/000"));
  EXPECT_TRUE(paths.count("tile/2/000.p/1"));
  EXPECT_EQ(TilesForSize(65536).size(), 256u + 1u + 1u);
}

TEST(EntryBundleForIndexTest, UsesWidthAtTreeSize) {
  EXPECT_EQ(EntryBundleForIndex(0, 1), (Tile{kEntryBundleLevel, 0, 1}));
  EXPECT_EQ(EntryBundleForIndex(255, 300), (Tile{kEntryBundleLevel, 0, 256}));
  EXPECT_EQ(EntryBundleForIndex(299, 300), (Tile{kEntryBundleLevel, 1, 44}));
  EXPECT_EQ(EntryBundleForIndex(511, 512), (Tile{kEntryBundleLevel, 1, 256}));
}

TEST(HashFromTileTest, ReadsEveryStoredHashOfBigTree) {
  MemoryHashLog& log = BigLog();
  std::mt19937_64 rng(13);
  for (int i = 0; i < 3000; ++i) {
    uint64_t x = i < 1000 ? static_cast<uint64_t>(i) : rng() % log.hashes.size();
    Tile t = TileForIndex(x);
    auto data = ReadTileData(t, log);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    auto h = HashFromTile(t, *data, x);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_EQ(*h, log.hashes[x]) << x;
    // A wider tile at the same position works too; a different tile does not.
    Tile full = t;
    full.width = kTileWidth;
    if (auto full_data = ReadTileData(full, log); full_data.ok()) {
      auto h2 = HashFromTile(full, *full_data, x);
      ASSERT_TRUE(h2.ok());
      EXPECT_EQ(*h2, log.hashes[x]);
      Tile other = full;
      other.index ^= 1;
      EXPECT_FALSE(HashFromTile(other, *full_data, x).ok());
    }
  }
}

TEST(HashFromTileTest, RejectsBadInput) {
  MemoryHashLog& log = BigLog();
  Tile t{0, 0, 256};
  auto data = ReadTileData(t, log);
  ASSERT_TRUE(data.ok());
  Bytes short_data(data->begin(), data->end() - 1);
  EXPECT_FALSE(HashFromTile(t, short_data, 0).ok());
  EXPECT_FALSE(HashFromTile({kEntryBundleLevel, 0, 256}, *data, 0).ok());
  EXPECT_FALSE(HashFromTile({0, 0, 0}, {}, 0).ok());
  Tile narrow{0, 0, 3};
  auto narrow_data = ReadTileData(narrow, log);
  ASSERT_TRUE(narrow_data.ok());
  EXPECT_TRUE(HashFromTile(narrow, *narrow_data, StoredHashIndex(0, 2)).ok());
  EXPECT_FALSE(HashFromTile(narrow, *narrow_data, StoredHashIndex(0, 3)).ok());
  EXPECT_FALSE(HashFromTile(narrow, *narrow_data, StoredHashIndex(2, 0)).ok());  // needs W=4
}

TEST(TileRootTest, FullTileHashesToParentNode) {
  MemoryHashLog& log = BigLog();
  for (uint64_t n : {0ull, 1ull, 100ull, 272ull}) {
    auto data = ReadTileData({0, n, 256}, log);
    ASSERT_TRUE(data.ok());
    auto root = TileRoot(*data);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, log.hashes[StoredHashIndex(8, n)]);
  }
  auto level1 = ReadTileData({1, 0, 256}, log);
  ASSERT_TRUE(level1.ok());
  EXPECT_EQ(*TileRoot(*level1), log.hashes[StoredHashIndex(16, 0)]);
  EXPECT_FALSE(TileRoot({}).ok());
  EXPECT_FALSE(TileRoot(Bytes(33)).ok());
}

TEST(TileHashReaderTest, ProofsMatchStoredHashProofs) {
  MemoryHashLog& log = BigLog();
  std::mt19937_64 rng(17);
  for (int i = 0; i < 150; ++i) {
    uint64_t size = 1 + rng() % log.size;
    if (i % 10 == 0) size = 65536 + static_cast<uint64_t>(i % 3) - 1;
    auto root = TreeHash(size, log);
    ASSERT_TRUE(root.ok());
    LogTileReader tiles(log);
    TileHashReader reader(size, *root, tiles);
    uint64_t index = rng() % size;
    auto want = ProveRecord(size, index, log);
    auto got = ProveRecord(size, index, reader);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, *want);
    auto plan = TilesForInclusionProof(index, size);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(tiles.fetched, *plan);
    EXPECT_EQ(tiles.saved, *plan);

    uint64_t old_size = rng() % (size + 1);
    tiles.fetched.clear();
    auto cwant = ProveTree(size, old_size, log);
    auto cgot = ProveTree(size, old_size, reader);
    ASSERT_TRUE(cgot.ok()) << cgot.status().ToString();
    EXPECT_EQ(*cgot, *cwant);
    auto cplan = TilesForConsistencyProof(old_size, size);
    ASSERT_TRUE(cplan.ok());
    EXPECT_EQ(tiles.fetched, *cplan);

    auto th = TreeHash(size, reader);
    ASSERT_TRUE(th.ok());
    EXPECT_EQ(*th, *root);
  }
}

TEST(TileHashReaderTest, DetectsEveryTamperedTile) {
  MemoryHashLog& log = BigLog();
  for (auto [size, index] : {std::pair<uint64_t, uint64_t>{300, 5}, {300, 299}, {70000, 12},
                             {70000, 65600}, {65537, 300}, {256, 17}}) {
    auto root = TreeHash(size, log);
    ASSERT_TRUE(root.ok());
    auto plan = TilesForInclusionProof(index, size);
    ASSERT_TRUE(plan.ok());
    ASSERT_FALSE(plan->empty());
    for (const Tile& victim : *plan) {
      for (size_t byte : {size_t{0}, size_t{31}, size_t{victim.width} * 32 - 1}) {
        LogTileReader tiles(log);
        tiles.corrupt = [&](const Tile& t, Bytes* data) {
          if (t == victim) (*data)[byte] ^= 0x01;
        };
        TileHashReader reader(size, *root, tiles);
        auto p = ProveRecord(size, index, reader);
        ASSERT_FALSE(p.ok()) << "tampered " << TilePath(victim) << " byte " << byte
                             << " not detected (size " << size << ", index " << index << ")";
        EXPECT_EQ(p.status().code(), Status::Code::kVerificationFailed);
        EXPECT_TRUE(tiles.saved.empty());
      }
    }
  }
}

TEST(TileHashReaderTest, RejectsWrongRootShortTilesAndOutOfRange) {
  MemoryHashLog& log = BigLog();
  auto root = TreeHash(1000, log);
  ASSERT_TRUE(root.ok());
  LogTileReader tiles(log);
  Hash wrong = *root;
  wrong[0] ^= 1;
  TileHashReader bad_root(1000, wrong, tiles);
  EXPECT_EQ(ProveRecord(1000, 3, bad_root).status().code(), Status::Code::kVerificationFailed);

  LogTileReader truncating(log);
  truncating.corrupt = [](const Tile&, Bytes* data) { data->pop_back(); };
  TileHashReader short_tiles(1000, *root, truncating);
  EXPECT_EQ(ProveRecord(1000, 3, short_tiles).status().code(), Status::Code::kVerificationFailed);

  TileHashReader reader(1000, *root, tiles);
  std::vector<Hash> out;
  uint64_t beyond[] = {StoredHashCount(1000)};
  EXPECT_EQ(reader.ReadHashes(beyond, &out).code(), Status::Code::kInvalidArgument);
  uint64_t last[] = {StoredHashCount(1000) - 1};
  ASSERT_TRUE(reader.ReadHashes(last, &out).ok());
  EXPECT_EQ(out[0], log.hashes[last[0]]);
  TileHashReader empty(0, EmptyRoot(), tiles);
  uint64_t first[] = {0};
  EXPECT_FALSE(empty.ReadHashes(first, &out).ok());
  EXPECT_TRUE(empty.ReadHashes({}, &out).ok());
  EXPECT_FALSE(TilesForInclusionProof(5, 5).ok());
  EXPECT_FALSE(TilesForConsistencyProof(6, 5).ok());
}

TEST(TileLimitsTest, HugeTilesAndSizesAreInvalidArgument) {
  MemoryHashLog& log = BigLog();
  for (const char* path : {"tile/63/000", "tile/8/000.p/1", "tile/0/x018/x446/x744/x073/x709/x551/615",
                           "tile/7/001", "tile/6/x001/000"}) {
    auto t = ParseTilePath(path);
    ASSERT_TRUE(t.ok()) << path;
    auto data = ReadTileData(*t, log);
    ASSERT_FALSE(data.ok()) << path;
    EXPECT_EQ(data.status().code(), Status::Code::kInvalidArgument) << path;
  }
  // The last tile at level 7 exists in a 2^62 tree: a reader miss, not a limit.
  auto top = ReadTileData({7, 0, 64}, log);
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(ReadTileData({7, 0, 65}, log).ok());
  EXPECT_FALSE(ReadTileData({kEntryBundleLevel, 0, 1}, log).ok());
  Bytes one(32);
  EXPECT_EQ(HashFromTile({0, 0, 1}, one, UINT64_MAX).status().code(), Status::Code::kInvalidArgument);
  LogTileReader tiles(log);
  TileHashReader reader(UINT64_MAX, EmptyRoot(), tiles);
  std::vector<Hash> out;
  uint64_t zero[] = {0};
  EXPECT_EQ(reader.ReadHashes(zero, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(TilesForInclusionProof(0, UINT64_MAX).ok());
  EXPECT_FALSE(TilesForConsistencyProof(1, UINT64_MAX).ok());
}

TEST(EntryBundleTest, RoundTrips) {
  std::vector<Bytes> entries = {Bytes{}, Bytes{1, 2, 3}, Bytes(65535, 0xab), Bytes(300, 7)};
  auto encoded = EncodeEntryBundle(entries);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->size(), 2 * 4 + 3 + 65535 + 300u);
  EXPECT_EQ((*encoded)[0], 0);
  EXPECT_EQ((*encoded)[1], 0);
  EXPECT_EQ((*encoded)[2], 0);
  EXPECT_EQ((*encoded)[3], 3);
  auto decoded = DecodeEntryBundle(*encoded, entries.size());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, entries);
  std::vector<Bytes> full(256, Bytes{9});
  auto full_encoded = EncodeEntryBundle(full);
  ASSERT_TRUE(full_encoded.ok());
  EXPECT_TRUE(DecodeEntryBundle(*full_encoded, 256).ok());
}

TEST(EntryBundleTest, SplitViewsEntriesInPlace) {
  std::vector<Bytes> entries = {Bytes{1, 2}, Bytes{}, Bytes(300, 7)};
  Bytes good = *EncodeEntryBundle(entries);
  std::array<ByteSpan, 3> views;
  ASSERT_TRUE(SplitEntryBundle(good, views).ok());
  for (size_t i = 0; i < views.size(); i++) {
    EXPECT_EQ(Bytes(views[i].begin(), views[i].end()), entries[i]) << i;
  }
  EXPECT_EQ(views[0].data(), good.data() + 2);  // a view, not a copy
  EXPECT_EQ(views[2].data(), good.data() + 2 + 2 + 2 + 2);
  std::array<ByteSpan, 4> more;
  EXPECT_FALSE(SplitEntryBundle(good, more).ok());  // missing entry
  EXPECT_FALSE(SplitEntryBundle(good, std::span(views).first(2)).ok());  // trailing entry
  for (size_t n = 0; n < good.size(); n++) {
    EXPECT_FALSE(SplitEntryBundle(ByteSpan(good).first(n), views).ok()) << n;
  }
  EXPECT_FALSE(SplitEntryBundle(good, std::span<ByteSpan>()).ok());
}

TEST(EntryBundleTest, EncodeRejectsBadBundles) {
  EXPECT_FALSE(EncodeEntryBundle({}).ok());
  EXPECT_FALSE(EncodeEntryBundle(std::vector<Bytes>(257, Bytes{1})).ok());
  EXPECT_FALSE(EncodeEntryBundle(std::vector<Bytes>{Bytes(65536, 0)}).ok());
}

TEST(EntryBundleTest, DecodeIsStrict) {
  std::vector<Bytes> entries = {Bytes{1, 2}, Bytes{3}};
  Bytes good = *EncodeEntryBundle(entries);
  EXPECT_TRUE(DecodeEntryBundle(good, 2).ok());
  EXPECT_FALSE(DecodeEntryBundle(good, 1).ok());  // trailing entry
  EXPECT_FALSE(DecodeEntryBundle(good, 3).ok());  // missing entry
  EXPECT_FALSE(DecodeEntryBundle(good, 0).ok());
  EXPECT_FALSE(DecodeEntryBundle(good, 257).ok());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(DecodeEntryBundle(ByteSpan(good).first(cut), 2).ok()) << cut;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeEntryBundle(trailing, 2).ok());
  EXPECT_FALSE(DecodeEntryBundle({}, 1).ok());
}

}  // namespace
}  // namespace kt::core
