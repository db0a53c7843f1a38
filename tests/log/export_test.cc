// SPDX-License-Identifier: Apache-2.0
// ExportTiles: the exported files equal the storage's ReadTile /
// ReadEntryBundle outputs, are exactly the tlog-tiles set for the published
// size, and core's authenticated TileHashReader over the files yields proofs
// that verify against the published checkpoint's root.
#include "log/export.h"

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "core/proof.h"
#include "core/tile.h"
#include "store/file_util.h"
#include "tests/log/log_testing.h"

namespace kt::log {
namespace {

using core::Status;
using kt::testing::AppendBatch;
using kt::testing::TestEntry;

// FileTileReader serves tile bodies from an exported webroot.
class FileTileReader : public core::TileReader {
 public:
  explicit FileTileReader(std::filesystem::path root) : root_(std::move(root)) {}
  Status ReadTiles(std::span<const core::Tile> tiles, std::vector<Bytes>* out) override {
    out->clear();
    for (const core::Tile& t : tiles) {
      auto data = store::ReadFile(root_ / core::TilePath(t));
      if (!data.ok()) return data.status();
      out->push_back(core::ToBytes(*data));
    }
    return Status();
  }

 private:
  std::filesystem::path root_;
};

class ExportTest : public ::testing::Test {
 protected:
  void Grow(uint64_t n) {
    std::vector<core::Entry> es;
    for (uint64_t i = 0; i < n; ++i) {
      es.push_back(TestEntry("u" + std::to_string(i % 5), "d", static_cast<uint8_t>(i)));
    }
    ASSERT_TRUE(storage_.Integrate(AppendBatch(tree_, es)).ok());
  }
  // Files lists every exported tile path (relative to the webroot).
  std::set<std::string> Files() {
    std::set<std::string> out;
    for (const auto& f : std::filesystem::recursive_directory_iterator(root_)) {
      if (f.is_regular_file()) out.insert(std::filesystem::relative(f.path(), root_).string());
    }
    return out;
  }
  // CheckWebroot verifies every file and proofs through the files for `size`.
  void CheckWebroot(uint64_t size, const std::string& checkpoint) {
    EXPECT_EQ(*store::ReadFile(root_ / "checkpoint"), checkpoint);
    std::set<std::string> want;
    for (const core::Tile& t : core::TilesForSize(size)) want.insert(core::TilePath(t));
    for (uint64_t i = 0; i < size; i += core::kTileWidth) {
      want.insert(core::TilePath(core::EntryBundleForIndex(i, size)));
    }
    std::set<std::string> got = Files();
    got.erase("checkpoint");
    for (const std::string& path : want) EXPECT_EQ(got.count(path), 1u) << path;
    for (const std::string& path : got) {
      auto tile = core::ParseTilePath(path);
      ASSERT_TRUE(tile.ok()) << path;
      auto data = store::ReadFile(root_ / path);
      ASSERT_TRUE(data.ok());
      auto expect = tile->is_entry_bundle()
                        ? storage_.ReadEntryBundle(tile->index, tile->width)
                        : storage_.ReadTile(tile->level, tile->index, tile->width);
      ASSERT_TRUE(expect.ok()) << path;
      EXPECT_EQ(core::ToBytes(*data), *expect) << path;
    }
    // Authenticated proofs from the files alone.
    std::vector<core::Hash> leaves;
    for (uint64_t i = 0; i < size; ++i) leaves.push_back(core::RecordHash(*storage_.ReadEntry(i)));
    core::Hash root = core::RootOfRange(leaves);
    FileTileReader files(root_);
    core::TileHashReader reader(size, root, files);
    for (uint64_t i : {uint64_t{0}, size / 2, size - 1}) {
      auto path = core::ProveRecord(size, i, reader);
      ASSERT_TRUE(path.ok()) << path.status().ToString();
      EXPECT_TRUE(core::VerifyInclusion({i, size, *path}, leaves[i], root).ok());
    }
  }

  MemoryStorage storage_;
  core::TreeBuilder tree_;
  std::filesystem::path root_ = kt::testing::TempDir("export");
};

TEST_F(ExportTest, ExportsTheLogSignedCheckpointBeforeAnyWitnessing) {
  Grow(300);
  auto size = ExportTiles(storage_, root_, 0);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 300u);
  CheckWebroot(300, storage_.ReadTreeState()->checkpoint);
}

TEST_F(ExportTest, ExportsTheWitnessedSizeNotTheIntegratedOne) {
  Grow(700);
  ASSERT_TRUE(storage_.PublishWitnessed("witnessed 700\n", 700).ok());
  Grow(100);  // integrated but not witnessed yet
  auto size = ExportTiles(storage_, root_, 0);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 700u);
  CheckWebroot(700, "witnessed 700\n");
  EXPECT_EQ(Files().count("tile/entries/003.p/32"), 0u);  // size 800's bundle
}

TEST_F(ExportTest, IncrementalExportsFollowTheLog) {
  uint64_t exported = 0;
  for (uint64_t n : {1, 255, 1, 300, 66000, 3}) {
    Grow(n);
    ASSERT_TRUE(storage_.PublishWitnessed("w" + std::to_string(tree_.size()), tree_.size()).ok());
    auto size = ExportTiles(storage_, root_, exported);
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    exported = *size;
    CheckWebroot(exported, "w" + std::to_string(exported));
  }
  EXPECT_EQ(exported, 66560u);
  // Level 1 and 2 tiles exist at that size.
  EXPECT_EQ(Files().count("tile/1/000"), 1u);
  EXPECT_EQ(Files().count("tile/2/000.p/1"), 1u);
}

TEST_F(ExportTest, RefusesFromSizeBeyondThePublishedSize) {
  Grow(10);
  EXPECT_EQ(ExportTiles(storage_, root_, 11).status().code(), Status::Code::kInvalidArgument);
  MemoryStorage empty;
  EXPECT_EQ(ExportTiles(empty, root_, 0).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace kt::log
