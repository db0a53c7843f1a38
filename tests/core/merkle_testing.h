// SPDX-License-Identifier: Apache-2.0
// Test helpers for the Merkle suites: an in-memory stored-hash log (a real
// HashReader, filled through StoredHashesForRecordHash) and a TileReader that
// serves tiles from it.
#ifndef KT_TESTS_CORE_MERKLE_TESTING_H_
#define KT_TESTS_CORE_MERKLE_TESTING_H_

#include <functional>
#include <string>
#include <vector>

#include "core/merkle.h"
#include "core/tile.h"

namespace kt::testing {

// MemoryHashLog stores every stored hash of an append-only tree in a vector
// indexed by StoredHashIndex. It counts ReadHashes calls.
class MemoryHashLog : public core::HashReader {
 public:
  core::Status ReadHashes(std::span<const uint64_t> indexes,
                          std::vector<core::Hash>* out) override {
    ++calls;
    out->clear();
    for (uint64_t i : indexes) {
      if (i >= hashes.size()) return core::Status::NotFound("no stored hash " + std::to_string(i));
      out->push_back(hashes[i]);
    }
    return core::Status();
  }
  // Append adds one record by its leaf hash, through StoredHashesForRecordHash.
  void Append(const core::Hash& record_hash) {
    KT_CHECK(hashes.size() == core::StoredHashIndex(0, size));
    auto stored = core::StoredHashesForRecordHash(size, record_hash, *this);
    KT_CHECK(stored.ok());
    hashes.insert(hashes.end(), stored->begin(), stored->end());
    ++size;
  }
  uint64_t size = 0;
  std::vector<core::Hash> hashes;
  int calls = 0;
};

// LogTileReader serves tile bodies read from a MemoryHashLog; `corrupt`
// optionally tampers with a body before it is returned.
class LogTileReader : public core::TileReader {
 public:
  explicit LogTileReader(MemoryHashLog& log) : log_(log) {}
  core::Status ReadTiles(std::span<const core::Tile> tiles,
                         std::vector<core::Bytes>* out) override {
    out->clear();
    for (const core::Tile& t : tiles) {
      auto data = core::ReadTileData(t, log_);
      if (!data.ok()) return data.status();
      if (corrupt) corrupt(t, &*data);
      out->push_back(*data);
      fetched.push_back(t);
    }
    return core::Status();
  }
  void SaveTiles(std::span<const core::Tile> tiles, std::span<const core::Bytes>) override {
    saved.insert(saved.end(), tiles.begin(), tiles.end());
  }
  std::function<void(const core::Tile&, core::Bytes*)> corrupt;
  std::vector<core::Tile> fetched;
  std::vector<core::Tile> saved;

 private:
  MemoryHashLog& log_;
};

// LeafHashes returns RecordHash("leaf-<i>") for i < n (the vectors' leaves).
inline std::vector<core::Hash> VectorLeafHashes(uint64_t n) {
  std::vector<core::Hash> out;
  for (uint64_t i = 0; i < n; ++i) {
    out.push_back(core::RecordHash(core::AsBytes("leaf-" + std::to_string(i))));
  }
  return out;
}

}  // namespace kt::testing

#endif  // KT_TESTS_CORE_MERKLE_TESTING_H_
