// SPDX-License-Identifier: Apache-2.0
// Known-answer tests against ../shared/vectors/merkle/{tree,inclusion,
// consistency,tiles}.json (produced with golang.org/x/mod/sumdb/tlog and
// cross-checked against RFC 6962 / RFC 9162).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/merkle.h"
#include "core/proof.h"
#include "core/tile.h"
#include "tests/core/merkle_testing.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;
using kt::testing::HexHash;
using kt::testing::LoadVectorJson;
using kt::testing::MemoryHashLog;
using nlohmann::json;

// TreeVector holds tree.json's leaves and a stored-hash log built from them.
struct TreeVector {
  std::vector<Bytes> leaves;
  std::vector<Hash> tree_hashes;
  MemoryHashLog log;
};

const TreeVector& Tree() {
  static TreeVector* tv = [] {
    auto* t = new TreeVector;
    json j = LoadVectorJson("merkle/tree.json");
    if (!j.is_object()) return t;
    for (const auto& l : j["leaves"]) t->leaves.push_back(Hex(l.get<std::string>()));
    for (const auto& h : j["tree_hashes"]) t->tree_hashes.push_back(HexHash(h.get<std::string>()));
    for (const Bytes& l : t->leaves) t->log.Append(RecordHash(l));
    return t;
  }();
  return *tv;
}

std::vector<Hash> Hashes(const json& arr) {
  std::vector<Hash> out;
  for (const auto& h : arr) out.push_back(HexHash(h.get<std::string>()));
  return out;
}

TEST(MerkleVectorTest, LeafHashesMatch) {
  json j = LoadVectorJson("merkle/tree.json");
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j["leaves"].size(), j["n"].get<size_t>());
  if (!j.contains("leaf_hashes")) GTEST_SKIP() << "no leaf_hashes in this set";
  ASSERT_EQ(j["leaf_hashes"].size(), j["leaves"].size());
  for (size_t i = 0; i < j["leaves"].size(); ++i) {
    EXPECT_EQ(RecordHash(Hex(j["leaves"][i])), HexHash(j["leaf_hashes"][i])) << "leaf " << i;
  }
}

TEST(MerkleVectorTest, EmptyTreeIsSha256OfEmptyString) {
  const TreeVector& t = Tree();
  ASSERT_FALSE(t.tree_hashes.empty());
  EXPECT_EQ(t.tree_hashes[0], EmptyRoot());
  EXPECT_EQ(EmptyRoot(), HexHash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(MerkleVectorTest, EveryPrefixRootMatches) {
  const TreeVector& t = Tree();
  ASSERT_EQ(t.tree_hashes.size(), t.leaves.size() + 1);
  TreeBuilder b;
  std::vector<Hash> leaf_hashes;
  MemoryHashLog log = t.log;
  for (size_t s = 0; s <= t.leaves.size(); ++s) {
    EXPECT_EQ(b.Root(), t.tree_hashes[s]) << "TreeBuilder size " << s;
    EXPECT_EQ(RootOfRange(leaf_hashes), t.tree_hashes[s]) << "RootOfRange size " << s;
    auto th = TreeHash(s, log);
    ASSERT_TRUE(th.ok()) << th.status().ToString();
    EXPECT_EQ(*th, t.tree_hashes[s]) << "TreeHash size " << s;
    if (s == t.leaves.size()) break;
    b.AppendEntry(t.leaves[s]);
    leaf_hashes.push_back(RecordHash(t.leaves[s]));
  }
}

TEST(ProofVectorTest, InclusionProofsVerifyExactlyWhenValid) {
  json j = LoadVectorJson("merkle/inclusion.json");
  ASSERT_TRUE(j.is_object());
  ASSERT_FALSE(j["proofs"].empty());
  int valid = 0, invalid = 0;
  for (const auto& p : j["proofs"]) {
    InclusionProof proof{p["index"].get<uint64_t>(), p["size"].get<uint64_t>(), Hashes(p["proof"])};
    Status s = VerifyInclusion(proof, HexHash(p["leaf_hash"]), HexHash(p["root"]));
    bool want = p["expect_valid"].get<bool>();
    EXPECT_EQ(s.ok(), want) << p.value("name", "valid") << " index " << proof.index << " size "
                            << proof.tree_size << ": " << s.ToString();
    (want ? valid : invalid)++;
  }
  EXPECT_GT(valid, 100);
  EXPECT_EQ(invalid, 7);
}

TEST(ProofVectorTest, ProveRecordReproducesInclusionProofs) {
  json j = LoadVectorJson("merkle/inclusion.json");
  const TreeVector& t = Tree();
  ASSERT_TRUE(j.is_object());
  MemoryHashLog log = t.log;
  for (const auto& p : j["proofs"]) {
    if (!p["expect_valid"].get<bool>()) continue;
    uint64_t index = p["index"], size = p["size"];
    ASSERT_LE(size, t.leaves.size());
    EXPECT_EQ(RecordHash(t.leaves[index]), HexHash(p["leaf_hash"]));
    EXPECT_EQ(t.tree_hashes[size], HexHash(p["root"]));
    log.calls = 0;
    auto proof = ProveRecord(size, index, log);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, Hashes(p["proof"])) << "index " << index << " size " << size;
    EXPECT_LE(log.calls, 1);  // one batched read
  }
}

TEST(ProofVectorTest, ConsistencyProofsVerifyExactlyWhenValid) {
  json j = LoadVectorJson("merkle/consistency.json");
  ASSERT_TRUE(j.is_object());
  int valid = 0, invalid = 0;
  for (const auto& p : j["proofs"]) {
    ConsistencyProof proof{p["old"].get<uint64_t>(), p["new"].get<uint64_t>(), Hashes(p["proof"])};
    Status s = VerifyConsistency(proof, HexHash(p["old_root"]), HexHash(p["new_root"]));
    bool want = p["expect_valid"].get<bool>();
    EXPECT_EQ(s.ok(), want) << p.value("name", "valid") << " old " << proof.old_size << " new "
                            << proof.new_size << ": " << s.ToString();
    (want ? valid : invalid)++;
  }
  EXPECT_GT(valid, 100);
  EXPECT_EQ(invalid, 7);
}

TEST(ProofVectorTest, ProveTreeReproducesConsistencyProofs) {
  json j = LoadVectorJson("merkle/consistency.json");
  const TreeVector& t = Tree();
  ASSERT_TRUE(j.is_object());
  MemoryHashLog log = t.log;
  for (const auto& p : j["proofs"]) {
    if (!p["expect_valid"].get<bool>()) continue;
    uint64_t old_size = p["old"], size = p["new"];
    ASSERT_LE(size, t.leaves.size());
    EXPECT_EQ(t.tree_hashes[old_size], HexHash(p["old_root"]));
    auto proof = ProveTree(size, old_size, log);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, Hashes(p["proof"])) << "old " << old_size << " new " << size;
  }
}

Tile TileOf(const json& t) {
  return Tile{t["level"].get<int>(), t["index"].get<uint64_t>(), t["width"].get<uint32_t>()};
}

TEST(TileVectorTest, HashTilesMatchData) {
  json j = LoadVectorJson("merkle/tiles.json");
  const TreeVector& t = Tree();
  ASSERT_TRUE(j.is_object());
  ASSERT_FALSE(j["tiles"].empty());
  for (const auto& v : j["tiles"]) {
    Tile tile = TileOf(v);
    EXPECT_EQ(TilePath(tile), v["path"].get<std::string>());
    EXPECT_EQ(tile.is_full(), !v["partial"].get<bool>());
    auto parsed = ParseTilePath(v["path"].get<std::string>());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, tile);
    // The tile as the log would serve it for that tree size.
    uint64_t size = v["tree_size"];
    auto tiles = TilesForSize(size);
    EXPECT_NE(std::find(tiles.begin(), tiles.end(), tile), tiles.end()) << v["path"];
    MemoryHashLog log = t.log;
    auto data = ReadTileData(tile, log);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(*data, Hex(v["data"])) << v["path"];
  }
}

TEST(TileVectorTest, EntryBundlesMatchData) {
  json j = LoadVectorJson("merkle/tiles.json");
  const TreeVector& t = Tree();
  ASSERT_TRUE(j.is_object());
  ASSERT_FALSE(j["entry_bundles"].empty());
  for (const auto& v : j["entry_bundles"]) {
    Tile tile = TileOf(v);
    ASSERT_TRUE(tile.is_entry_bundle());
    EXPECT_EQ(TilePath(tile), v["path"].get<std::string>());
    auto parsed = ParseTilePath(v["path"].get<std::string>());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, tile);
    uint64_t size = v["tree_size"];
    EXPECT_EQ(EntryBundleForIndex(tile.index * kTileWidth, size), tile);
    auto first = t.leaves.begin() + static_cast<ptrdiff_t>(tile.index * kTileWidth);
    std::vector<Bytes> entries(first, first + tile.width);
    auto encoded = EncodeEntryBundle(entries);
    ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
    Bytes want = Hex(v["data"]);
    EXPECT_EQ(*encoded, want) << v["path"];
    auto decoded = DecodeEntryBundle(want, tile.width);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, entries);
  }
}

TEST(TileVectorTest, TilePathsForSizeAreComplete) {
  json j = LoadVectorJson("merkle/tiles.json");
  ASSERT_TRUE(j.is_object());
  ASSERT_FALSE(j["tile_paths_for_size"].empty());
  for (const auto& [size_str, paths] : j["tile_paths_for_size"].items()) {
    std::set<std::string> want;
    for (const auto& p : paths) want.insert(p.get<std::string>());
    std::set<std::string> got;
    for (const Tile& tile : TilesForSize(std::stoull(size_str))) got.insert(TilePath(tile));
    EXPECT_EQ(got, want) << "size " << size_str;
  }
}

TEST(TileVectorTest, PathExamplesRoundTrip) {
  json j = LoadVectorJson("merkle/tiles.json");
  ASSERT_TRUE(j.is_object());
  ASSERT_FALSE(j["path_examples"].empty());
  for (const auto& v : j["path_examples"]) {
    Tile tile = TileOf(v);
    EXPECT_EQ(TilePath(tile), v["path"].get<std::string>());
    auto parsed = ParseTilePath(v["path"].get<std::string>());
    ASSERT_TRUE(parsed.ok()) << v["path"] << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, tile);
  }
}

TEST(TileVectorTest, InvalidPathsAreRejected) {
  json j = LoadVectorJson("merkle/tiles.json");
  ASSERT_TRUE(j.is_object());
  ASSERT_FALSE(j["invalid_paths"].empty());
  for (const auto& v : j["invalid_paths"]) {
    auto parsed = ParseTilePath(v.get<std::string>());
    EXPECT_FALSE(parsed.ok()) << v << " parsed as " << (parsed.ok() ? TilePath(*parsed) : "");
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace kt::core
