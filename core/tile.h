// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-tiles (https://c2sp.org/tlog-tiles), tile height 8: tile paths,
// which tiles exist for a tree size, reading stored hashes out of tile data,
// a HashReader over fetched tiles that authenticates them against a trusted
// tree hash (after golang.org/x/mod/sumdb/tlog's TileHashReader), and entry
// bundles.
//
// A hash tile (L, N) holds the W <= 256 consecutive hashes at tree level 8L
// starting at node index 256N; a full tile's RFC 6962 root is the node at
// level 8(L+1), index N, which is one hash of tile (L+1, N/256):
//
//   level 16  . . . . . . . . . . . . . . . . .   tile (2, 0): nodes 0..
//   level  8  [ h0 h1 ... h255 ][ h256 ... ]      tile (1, 0), (1, 1), ...
//   level  0  [ leaf 0 .. leaf 255 ][ 256 .. 511 ][ 512 .. ]   tile (0, N)
//
// The entry bundle N holds the entries whose leaf hashes are in tile (0, N).
#ifndef KT_CORE_TILE_H_
#define KT_CORE_TILE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/merkle.h"
#include "core/status.h"

namespace kt::core {

inline constexpr int kTileHeight = 8;
inline constexpr uint32_t kTileWidth = 256;        // hashes in a full tile
inline constexpr int kMaxTileLevel = 63;           // tlog-tiles: L is 0..63
inline constexpr int kEntryBundleLevel = -1;       // Tile::level of an entry bundle
inline constexpr size_t kMaxBundleEntrySize = 65535;  // uint16 length prefix

// Tile names a hash tile (level >= 0) or an entry bundle (level ==
// kEntryBundleLevel). width is W, 1..256; 256 is a full tile.
struct Tile {
  int level = 0;
  uint64_t index = 0;
  uint32_t width = kTileWidth;

  bool is_entry_bundle() const { return level == kEntryBundleLevel; }
  bool is_full() const { return width == kTileWidth; }
  bool operator==(const Tile&) const = default;
};

// TilePath returns the C2SP path `tile/<L>/<N>[.p/<W>]` or
// `tile/entries/<N>[.p/<W>]`, N in 3-digit groups with an `x` on all but the
// last (1234067 -> x001/x234/067). Requires a valid tile (KT_CHECK).
std::string TilePath(const Tile& tile);
// ParseTilePath is the strict inverse of TilePath: it accepts exactly the
// strings TilePath produces (no leading slash, no leading zeros in L or W,
// no x000 leading group, L <= 63, W in 1..255 after `.p/`, N < 2^64), and
// returns InvalidArgument for anything else.
StatusOr<Tile> ParseTilePath(std::string_view path);

// NewTiles lists the hash tiles (all levels, each at its width for
// new_size) that a tree growing from old_size to new_size creates or
// extends; a writer publishes exactly these. Requires old_size <= new_size;
// the cost is linear in the number of tiles, so callers bound the range.
std::vector<Tile> NewTiles(uint64_t old_size, uint64_t new_size);
// TilesForSize is NewTiles(0, size): every hash tile of a checkpoint of `size`.
std::vector<Tile> TilesForSize(uint64_t size);
// EntryBundleForIndex is the entry bundle holding record `index` at its width
// for `tree_size`. Requires index < tree_size.
Tile EntryBundleForIndex(uint64_t index, uint64_t tree_size);

// TileForIndex returns the narrowest hash tile from which the stored hash
// with StoredHashIndex `index` can be computed (see HashFromTile). Requires
// index < StoredHashCount(kMaxTreeSize) (KT_CHECK).
Tile TileForIndex(uint64_t index);
// TileRoot is the RFC 6962 root of the W hashes in `data` (W*32 bytes, W >=
// 1); for a full tile (L, N), the node at level 8(L+1), index N.
// InvalidArgument if the size is not a positive multiple of 32.
StatusOr<Hash> TileRoot(ByteSpan data);
// HashFromTile returns the stored hash `index` from `data` of hash tile
// `tile`. InvalidArgument if `tile` is invalid or an entry bundle, if data is
// not exactly width*32 bytes, or if the hash is not within that tile (or
// beyond any tree of kMaxTreeSize).
StatusOr<Hash> HashFromTile(const Tile& tile, ByteSpan data, uint64_t index);
// ReadTileData assembles the body of hash tile `tile` from stored hashes
// (one ReadHashes call of `width` hashes). InvalidArgument for an entry
// bundle, an invalid tile or one beyond any tree of kMaxTreeSize (so any
// parsed path is safe to pass); other errors from `reader`.
StatusOr<Bytes> ReadTileData(const Tile& tile, HashReader& reader);

// TileReader fetches tile bodies (e.g. over HTTP or from a cache).
class TileReader {
 public:
  virtual ~TileReader() = default;
  // ReadTiles fills `out` (resized) with the body of each tile in order, or
  // returns an error. The bodies need not be trusted.
  virtual Status ReadTiles(std::span<const Tile> tiles, std::vector<Bytes>* out) = 0;
  // SaveTiles is told the tiles that TileHashReader authenticated (a cache
  // may keep them). Default: nothing.
  virtual void SaveTiles(std::span<const Tile> tiles, std::span<const Bytes> data);
};

// TilesForHashes is the tile plan of TileHashReader: the tiles needed to
// authenticate against the tree hash of `tree_size` and to read `indexes`,
// parents before children. InvalidArgument if an index is not a stored hash
// of that tree or tree_size > kMaxTreeSize.
StatusOr<std::vector<Tile>> TilesForHashes(uint64_t tree_size, std::span<const uint64_t> indexes);
// TilesForInclusionProof / TilesForConsistencyProof are the tiles
// TileHashReader fetches for ProveRecord(size, index) / ProveTree(size, old).
StatusOr<std::vector<Tile>> TilesForInclusionProof(uint64_t index, uint64_t tree_size);
StatusOr<std::vector<Tile>> TilesForConsistencyProof(uint64_t old_size, uint64_t tree_size);

// TileHashReader is a HashReader over a tree of `tree_size` with trusted root
// `root` (from a verified checkpoint) whose hashes come from `tiles`. Each
// ReadHashes fetches every tile it needs in one ReadTiles call and returns
// hashes only if the tiles hash up to `root` (VerificationFailed otherwise),
// so ProveRecord/ProveTree/TreeHash over it yield authenticated results.
// `tiles` must outlive the reader. Not thread-safe.
class TileHashReader : public HashReader {
 public:
  TileHashReader(uint64_t tree_size, const Hash& root, TileReader& tiles)
      : tree_size_(tree_size), root_(root), tiles_(tiles) {}
  Status ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) override;

 private:
  uint64_t tree_size_;
  Hash root_;
  TileReader& tiles_;
};

// EncodeEntryBundle returns the tlog-tiles entry bundle body: each entry as
// uint16-BE length || bytes. InvalidArgument for 0 or more than 256 entries
// or an entry over 65535 bytes.
StatusOr<Bytes> EncodeEntryBundle(std::span<const Bytes> entries);
// DecodeEntryBundle parses a bundle that must hold exactly `expected_count`
// (1..256) entries with no trailing bytes; InvalidArgument otherwise.
StatusOr<std::vector<Bytes>> DecodeEntryBundle(ByteSpan data, size_t expected_count);
// SplitEntryBundle is DecodeEntryBundle without copies: on success out[i]
// (i < out.size() == expected_count) views entry i inside `data`.
Status SplitEntryBundle(ByteSpan data, std::span<ByteSpan> out);

}  // namespace kt::core

#endif  // KT_CORE_TILE_H_
