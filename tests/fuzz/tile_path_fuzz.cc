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

#include "core/tile.h"

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
