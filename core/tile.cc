// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-tiles (height 8): paths, tile sets, hashes in tiles, the
// authenticating TileHashReader, and entry bundles.
#include "core/tile.h"

#include <array>
#include <algorithm>
#include <bit>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "core/encoding.h"

namespace kt::core {
namespace {

constexpr size_t kHashSize = 32;

bool ValidTile(const Tile& t) {
  return t.level >= kEntryBundleLevel && t.level <= kMaxTileLevel && t.width >= 1 &&
         t.width <= kTileWidth;
}

// ShiftRight is x >> s that yields 0 for s >= 64 (tile levels reach 63).
uint64_t ShiftRight(uint64_t x, int s) { return s >= 64 ? 0 : x >> s; }

// ParseGroup parses exactly three decimal digits.
std::optional<uint64_t> ParseGroup(std::string_view g) {
  if (g.size() != 3) return std::nullopt;
  uint64_t v = 0;
  for (char c : g) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// ParseTileIndex parses `x001/x234/067` (tlog-tiles <N>) canonically.
std::optional<uint64_t> ParseTileIndex(std::string_view s) {
  uint64_t value = 0;
  bool first = true;
  for (;;) {
    size_t slash = s.find('/');
    bool last = slash == std::string_view::npos;
    std::string_view part = last ? s : s.substr(0, slash);
    if (!last) {
      // Every group but the last is `x` + 3 digits; a leading x000 would be
      // a second spelling of the same N.
      if (part.size() != 4 || part[0] != 'x' || (first && part == "x000")) return std::nullopt;
      part.remove_prefix(1);
    }
    std::optional<uint64_t> g = ParseGroup(part);
    if (!g) return std::nullopt;
    if (value > (UINT64_MAX - *g) / 1000) return std::nullopt;  // N < 2^64
    value = value * 1000 + *g;
    if (last) return value;
    s.remove_prefix(slash + 1);
    first = false;
  }
}

// TileParent is t's k'th ancestor tile in the tree of size n, at the width
// it has in that tree, or nullopt if that tile does not exist.
std::optional<Tile> TileParent(Tile t, int k, uint64_t n) {
  t.level += k;
  t.index = ShiftRight(t.index, kTileHeight * k);
  t.width = kTileWidth;
  uint64_t max = ShiftRight(n, kTileHeight * t.level);  // nodes at level 8L
  uint64_t start = t.index * kTileWidth;
  if (start + kTileWidth >= max) {
    if (start >= max) return std::nullopt;
    t.width = static_cast<uint32_t>(max - start);
  }
  return t;
}

// TileHashRange locates stored hash `index` in its narrowest tile: the hash
// is the root of that tile's hashes [*start, *end).
Tile TileForIndexRange(uint64_t index, uint64_t* start, uint64_t* end) {
  StoredNode node = SplitStoredHashIndex(index);
  Tile t;
  t.level = node.level / kTileHeight;
  int level_in_tile = node.level - t.level * kTileHeight;
  t.index = (node.n << level_in_tile) >> kTileHeight;
  uint64_t n_in_tile = node.n - ((t.index << kTileHeight) >> level_in_tile);
  *start = n_in_tile << level_in_tile;
  *end = (n_in_tile + 1) << level_in_tile;
  t.width = static_cast<uint32_t>(*end);
  return t;
}

Hash RootOfTileHashes(ByteSpan data) {
  KT_CHECK(!data.empty() && data.size() % kHashSize == 0);
  size_t n = data.size() / kHashSize;
  if (n == 1) {
    Hash h;
    std::copy(data.begin(), data.end(), h.begin());
    return h;
  }
  size_t k = std::bit_floor(n - 1);  // RFC 6962 §2.1 split
  return NodeHash(RootOfTileHashes(data.first(k * kHashSize)),
                  RootOfTileHashes(data.subspan(k * kHashSize)));
}

using TileKey = std::tuple<int, uint64_t, uint32_t>;
TileKey Key(const Tile& t) { return {t.level, t.index, t.width}; }

// TilePlan is TileHashReader's plan: tiles[0, num_root_tiles) hash up to the
// tree hash via the `subtrees` stored hashes; every later tile is full and
// is authenticated by its parent, which precedes it.
struct TilePlan {
  std::vector<Tile> tiles;
  size_t num_root_tiles = 0;
  std::vector<uint64_t> subtrees;       // TreeHashIndexes(tree_size)
  std::vector<size_t> subtree_tile;     // tile of each subtree hash
  std::vector<size_t> index_tile;       // tile of each requested index
  std::map<TileKey, size_t> order;
};

StatusOr<TilePlan> PlanTiles(uint64_t tree_size, std::span<const uint64_t> indexes) {
  if (tree_size > kMaxTreeSize) return Status::InvalidArgument("tiles: tree size above 2^62");
  TilePlan plan;
  uint64_t limit = StoredHashCount(tree_size);
  auto add = [&plan](const Tile& t) {
    plan.order[Key(t)] = plan.tiles.size();
    plan.tiles.push_back(t);
    return plan.tiles.size() - 1;
  };
  uint64_t start, end;
  plan.subtrees = TreeHashIndexes(tree_size);
  for (uint64_t x : plan.subtrees) {
    std::optional<Tile> t = TileParent(TileForIndexRange(x, &start, &end), 0, tree_size);
    KT_CHECK(t.has_value());
    auto it = plan.order.find(Key(*t));
    plan.subtree_tile.push_back(it != plan.order.end() ? it->second : add(*t));
  }
  plan.num_root_tiles = plan.tiles.size();
  for (uint64_t x : indexes) {
    if (x >= limit) {
      return Status::InvalidArgument("tiles: stored hash " + std::to_string(x) +
                                     " is not in the tree of size " + std::to_string(tree_size));
    }
    Tile base = TileForIndexRange(x, &start, &end);
    // Walk up to the first tile already planned (it will be authenticated),
    // then plan the tiles below it, parents first.
    int k = 0;
    for (;; ++k) {
      std::optional<Tile> p = TileParent(base, k, tree_size);
      KT_CHECK(p.has_value());  // the root tiles cover the top of the tree
      if (plan.order.count(Key(*p)) != 0) break;
    }
    for (int j = k - 1; j >= 0; --j) {
      std::optional<Tile> p = TileParent(base, j, tree_size);
      KT_CHECK(p.has_value() && p->is_full());  // a tile with a parent is full
      add(*p);
    }
    plan.index_tile.push_back(plan.order.at(Key(*TileParent(base, 0, tree_size))));
  }
  return plan;
}

Status CheckTileBodies(const TilePlan& plan, const std::vector<Bytes>& data) {
  if (data.size() != plan.tiles.size()) {
    return Status::Internal("tiles: ReadTiles returned " + std::to_string(data.size()) +
                            " bodies for " + std::to_string(plan.tiles.size()) + " tiles");
  }
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i].size() != plan.tiles[i].width * kHashSize) {
      return Status::VerificationFailed("tiles: " + TilePath(plan.tiles[i]) + " has " +
                                        std::to_string(data[i].size()) + " bytes, want " +
                                        std::to_string(plan.tiles[i].width * kHashSize));
    }
  }
  return Status();
}

// Authenticate checks the root tiles against `root` and every other tile
// against its (already authenticated) parent.
Status Authenticate(const TilePlan& plan, const std::vector<Bytes>& data, uint64_t tree_size,
                    const Hash& root) {
  auto hash_at = [&](size_t tile, uint64_t index) {
    StatusOr<Hash> h = HashFromTile(plan.tiles[tile], data[tile], index);
    KT_CHECK(h.ok());  // the plan put `index` in that tile
    return *h;
  };
  size_t last = plan.subtrees.size() - 1;
  Hash th = hash_at(plan.subtree_tile[last], plan.subtrees[last]);
  for (size_t i = last; i-- > 0;) th = NodeHash(hash_at(plan.subtree_tile[i], plan.subtrees[i]), th);
  if (th != root) {
    return Status::VerificationFailed("tiles: tiles do not hash to the trusted tree hash");
  }
  for (size_t i = plan.num_root_tiles; i < plan.tiles.size(); ++i) {
    const Tile& t = plan.tiles[i];
    std::optional<Tile> p = TileParent(t, 1, tree_size);
    KT_CHECK(p.has_value());
    size_t j = plan.order.at(Key(*p));
    KT_CHECK(j < i);
    if (hash_at(j, StoredHashIndex(p->level * kTileHeight, t.index)) != RootOfTileHashes(data[i])) {
      return Status::VerificationFailed("tiles: " + TilePath(t) + " does not match its parent");
    }
  }
  return Status();
}

}  // namespace

std::string TilePath(const Tile& tile) {
  KT_CHECK(ValidTile(tile));
  // N in 3-digit groups, most significant first; all but the last get `x`.
  char groups[7][3];
  int count = 0;
  uint64_t x = tile.index;
  do {
    uint64_t g = x % 1000;
    groups[count][0] = static_cast<char>('0' + g / 100);
    groups[count][1] = static_cast<char>('0' + g / 10 % 10);
    groups[count][2] = static_cast<char>('0' + g % 10);
    ++count;
    x /= 1000;
  } while (x > 0);
  std::string path = "tile/";
  path += tile.is_entry_bundle() ? "entries" : std::to_string(tile.level);
  for (int i = count - 1; i >= 0; --i) {
    path += i > 0 ? "/x" : "/";
    path.append(groups[i], 3);
  }
  if (!tile.is_full()) {
    path += ".p/";
    path += std::to_string(tile.width);
  }
  return path;
}

StatusOr<Tile> ParseTilePath(std::string_view path) {
  auto bad = [path](const char* why) {
    return Status::InvalidArgument("tile path \"" + std::string(path.substr(0, 80)) + "\": " + why);
  };
  constexpr std::string_view kPrefix = "tile/";
  if (!path.starts_with(kPrefix)) return bad("must start with tile/");
  std::string_view rest = path.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("missing index");
  std::string_view level = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  Tile t;
  if (level == "entries") {
    t.level = kEntryBundleLevel;
  } else {
    StatusOr<uint64_t> l = ParseDecimal(level);
    if (!l.ok() || *l > static_cast<uint64_t>(kMaxTileLevel)) return bad("level must be 0..63");
    t.level = static_cast<int>(*l);
  }
  if (size_t p = rest.find(".p/"); p != std::string_view::npos) {
    StatusOr<uint64_t> w = ParseDecimal(rest.substr(p + 3));
    if (!w.ok() || *w == 0 || *w >= kTileWidth) return bad("partial width must be 1..255");
    t.width = static_cast<uint32_t>(*w);
    rest = rest.substr(0, p);
  }
  std::optional<uint64_t> n = ParseTileIndex(rest);
  if (!n) return bad("index must be canonical 3-digit groups (x001/x234/067)");
  t.index = *n;
  return t;
}

std::vector<Tile> NewTiles(uint64_t old_size, uint64_t new_size) {
  KT_CHECK(old_size <= new_size);
  std::vector<Tile> tiles;
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    uint64_t new_n = ShiftRight(new_size, kTileHeight * level);  // nodes at level 8L
    if (new_n == 0) break;
    uint64_t old_n = ShiftRight(old_size, kTileHeight * level);
    if (old_n == new_n) continue;
    for (uint64_t n = old_n >> kTileHeight; n < (new_n >> kTileHeight); ++n) {
      tiles.push_back(Tile{level, n, kTileWidth});
    }
    uint64_t n = new_n >> kTileHeight;
    if (uint64_t w = new_n - (n << kTileHeight); w > 0) {
      tiles.push_back(Tile{level, n, static_cast<uint32_t>(w)});
    }
  }
  return tiles;
}

std::vector<Tile> TilesForSize(uint64_t size) { return NewTiles(0, size); }

Tile EntryBundleForIndex(uint64_t index, uint64_t tree_size) {
  KT_CHECK(index < tree_size);
  uint64_t n = index / kTileWidth;
  uint64_t w = std::min<uint64_t>(kTileWidth, tree_size - n * kTileWidth);
  return Tile{kEntryBundleLevel, n, static_cast<uint32_t>(w)};
}

Tile TileForIndex(uint64_t index) {
  uint64_t start, end;
  return TileForIndexRange(index, &start, &end);
}

StatusOr<Hash> TileRoot(ByteSpan data) {
  if (data.empty() || data.size() % kHashSize != 0) {
    return Status::InvalidArgument("tile: " + std::to_string(data.size()) +
                                   " bytes is not a positive number of hashes");
  }
  return RootOfTileHashes(data);
}

StatusOr<Hash> HashFromTile(const Tile& tile, ByteSpan data, uint64_t index) {
  if (!ValidTile(tile) || tile.is_entry_bundle()) {
    return Status::InvalidArgument("tile: not a hash tile");
  }
  if (data.size() != tile.width * kHashSize) {
    return Status::InvalidArgument("tile: " + TilePath(tile) + " has " +
                                   std::to_string(data.size()) + " bytes");
  }
  static const uint64_t kLimit = StoredHashCount(kMaxTreeSize);
  if (index >= kLimit) return Status::InvalidArgument("tile: stored hash index out of range");
  uint64_t start, end;
  Tile t = TileForIndexRange(index, &start, &end);
  if (t.level != tile.level || t.index != tile.index || t.width > tile.width) {
    return Status::InvalidArgument("tile: stored hash " + std::to_string(index) + " is in " +
                                   TilePath(t) + ", not " + TilePath(tile));
  }
  return RootOfTileHashes(data.subspan(start * kHashSize, (end - start) * kHashSize));
}

StatusOr<Bytes> ReadTileData(const Tile& tile, HashReader& reader) {
  if (!ValidTile(tile) || tile.is_entry_bundle()) {
    return Status::InvalidArgument("tile: not a hash tile");
  }
  // Nodes at level 8L of the largest supported tree.
  const int shift = tile.level * kTileHeight;
  const uint64_t max_nodes = shift > 62 ? 0 : kMaxTreeSize >> shift;
  if (tile.index > max_nodes / kTileWidth ||
      tile.index * kTileWidth + tile.width > max_nodes) {
    return Status::InvalidArgument("tile: " + TilePath(tile) + " is beyond any supported tree");
  }
  std::vector<uint64_t> indexes(tile.width);
  for (uint32_t i = 0; i < tile.width; ++i) {
    indexes[i] = StoredHashIndex(tile.level * kTileHeight, tile.index * kTileWidth + i);
  }
  std::vector<Hash> hashes;
  KT_RETURN_IF_ERROR(reader.ReadHashes(indexes, &hashes));
  if (hashes.size() != indexes.size()) return Status::Internal("tile: short ReadHashes");
  Bytes data;
  data.reserve(hashes.size() * kHashSize);
  for (const Hash& h : hashes) data.insert(data.end(), h.begin(), h.end());
  return data;
}

void TileReader::SaveTiles(std::span<const Tile>, std::span<const Bytes>) {}

StatusOr<std::vector<Tile>> TilesForHashes(uint64_t tree_size, std::span<const uint64_t> indexes) {
  if (indexes.empty()) return std::vector<Tile>();
  KT_ASSIGN_OR_RETURN(TilePlan plan, PlanTiles(tree_size, indexes));
  return std::move(plan.tiles);
}

StatusOr<std::vector<Tile>> TilesForInclusionProof(uint64_t index, uint64_t tree_size) {
  if (tree_size > kMaxTreeSize) return Status::InvalidArgument("tiles: tree size above 2^62");
  if (index >= tree_size) return Status::InvalidArgument("tiles: index not below tree size");
  return TilesForHashes(tree_size, RecordProofIndexes(tree_size, index));
}

StatusOr<std::vector<Tile>> TilesForConsistencyProof(uint64_t old_size, uint64_t tree_size) {
  if (tree_size > kMaxTreeSize) return Status::InvalidArgument("tiles: tree size above 2^62");
  if (old_size > tree_size) return Status::InvalidArgument("tiles: old size above tree size");
  return TilesForHashes(tree_size, TreeProofIndexes(tree_size, old_size));
}

Status TileHashReader::ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) {
  out->clear();
  if (indexes.empty()) return Status();
  KT_ASSIGN_OR_RETURN(TilePlan plan, PlanTiles(tree_size_, indexes));
  std::vector<Bytes> data;
  KT_RETURN_IF_ERROR(tiles_.ReadTiles(plan.tiles, &data));
  KT_RETURN_IF_ERROR(CheckTileBodies(plan, data));
  KT_RETURN_IF_ERROR(Authenticate(plan, data, tree_size_, root_));
  tiles_.SaveTiles(plan.tiles, data);
  out->reserve(indexes.size());
  for (size_t i = 0; i < indexes.size(); ++i) {
    size_t j = plan.index_tile[i];
    StatusOr<Hash> h = HashFromTile(plan.tiles[j], data[j], indexes[i]);
    KT_CHECK(h.ok());
    out->push_back(*h);
  }
  return Status();
}

StatusOr<Bytes> EncodeEntryBundle(std::span<const Bytes> entries) {
  if (entries.empty() || entries.size() > kTileWidth) {
    return Status::InvalidArgument("entry bundle: must hold 1..256 entries");
  }
  Writer w;
  for (const Bytes& e : entries) {
    if (e.size() > kMaxBundleEntrySize) {
      return Status::InvalidArgument("entry bundle: entry of " + std::to_string(e.size()) +
                                     " bytes exceeds 65535");
    }
    w.Vec16(e);
  }
  return w.Take();
}

Status SplitEntryBundle(ByteSpan data, std::span<ByteSpan> out) {
  if (out.empty() || out.size() > kTileWidth) {
    return Status::InvalidArgument("entry bundle: expected count must be 1..256");
  }
  Reader r(data);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!r.Vec16(&out[i])) {
      return Status::InvalidArgument("entry bundle: truncated at entry " + std::to_string(i));
    }
  }
  if (!r.empty()) {
    return Status::InvalidArgument("entry bundle: " + std::to_string(r.remaining()) +
                                   " trailing bytes after " + std::to_string(out.size()) +
                                   " entries");
  }
  return Status();
}

StatusOr<std::vector<Bytes>> DecodeEntryBundle(ByteSpan data, size_t expected_count) {
  if (expected_count == 0 || expected_count > kTileWidth) {
    return Status::InvalidArgument("entry bundle: expected count must be 1..256");
  }
  std::array<ByteSpan, kTileWidth> views;
  KT_RETURN_IF_ERROR(SplitEntryBundle(data, std::span(views).first(expected_count)));
  std::vector<Bytes> entries;
  entries.reserve(expected_count);
  for (size_t i = 0; i < expected_count; ++i) entries.emplace_back(views[i].begin(), views[i].end());
  return entries;
}

}  // namespace kt::core
