// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/tile.h (C2SP tlog-tiles paths): every path
// ParseTilePath accepts must format back to exactly the input and re-parse
// equal; and every valid Tile built from the input bytes must round-trip
// through TilePath -> ParseTilePath.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/tile.h"

namespace {
// ZeroReader serves an all-zero hash for every stored index.
class ZeroReader : public kt::core::HashReader {
 public:
  kt::core::Status ReadHashes(std::span<const uint64_t> indexes,
                              std::vector<kt::core::Hash>* out) override {
    out->assign(indexes.size(), kt::core::Hash{});
    return kt::core::Status();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto t = ParseTilePath(in); t.ok()) {
    KT_CHECK(t->level >= kEntryBundleLevel && t->level <= kMaxTileLevel);
    KT_CHECK(t->width >= 1 && t->width <= kTileWidth);
    std::string path = TilePath(*t);
    KT_CHECK(path == in);
    auto again = ParseTilePath(path);
    KT_CHECK(again.ok() && *again == *t);
    // Any parsed path is safe to serve: ReadTileData refuses what cannot
    // exist, and what it returns has its first hash where HashFromTile says.
    ZeroReader zeros;
    if (auto data = ReadTileData(*t, zeros); data.ok()) {
      KT_CHECK(data->size() == t->width * 32u);
      uint64_t first = StoredHashIndex(t->level * kTileHeight, t->index * kTileWidth);
      auto h = HashFromTile(*t, *data, first);
      KT_CHECK(h.ok() && *h == Hash{});
    } else {
      KT_CHECK(t->is_entry_bundle() || data.status().code() == Status::Code::kInvalidArgument);
    }
  }
  // The other direction: a tile from the raw bytes.
  if (size >= 10) {
    Tile t;
    t.level = static_cast<int>(data[0] % 65) - 1;
    std::memcpy(&t.index, data + 1, sizeof(t.index));
    t.width = 1 + static_cast<uint32_t>(data[9]);
    auto parsed = ParseTilePath(TilePath(t));
    KT_CHECK(parsed.ok() && *parsed == t);
  }
  return 0;
}
