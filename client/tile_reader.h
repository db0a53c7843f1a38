// SPDX-License-Identifier: Apache-2.0
// A core::TileReader over a Fetcher (c2sp.org/tlog-tiles): fetches the tiles
// of one request in parallel and keeps full (immutable) tiles that were
// authenticated in an on-disk cache. Wrapped in a core::TileHashReader with a
// trusted checkpoint, every hash it yields is checked against that
// checkpoint's root; a tile that does not match is VerificationFailed.
#ifndef KT_CLIENT_TILE_READER_H_
#define KT_CLIENT_TILE_READER_H_

#include <atomic>
#include <filesystem>
#include <span>
#include <vector>

#include "client/fetcher.h"
#include "core/tile.h"

namespace kt::client {

struct TileReaderOptions {
  int parallelism = 8;                    // concurrent fetches per ReadTiles
  std::filesystem::path cache_dir;        // empty: no disk cache
};

// FetcherTileReader fetches tiles and entry bundles by their tlog-tiles path.
// Thread-safe if the Fetcher is.
class FetcherTileReader : public core::TileReader {
 public:
  FetcherTileReader(Fetcher& fetcher, TileReaderOptions options = {});

  // ReadTiles fills `out` with the bodies (from the cache for full tiles that
  // were saved before, otherwise fetched in parallel). The first fetch error
  // is returned. A body of the wrong length is VerificationFailed.
  core::Status ReadTiles(std::span<const core::Tile> tiles, std::vector<core::Bytes>* out) override;
  // SaveTiles writes authenticated full hash tiles to the cache.
  void SaveTiles(std::span<const core::Tile> tiles, std::span<const core::Bytes> data) override;

  uint64_t fetched() const { return fetched_.load(); }
  uint64_t cache_hits() const { return cache_hits_.load(); }

 private:
  std::filesystem::path CachePath(const core::Tile& tile) const;
  Fetcher& fetcher_;
  TileReaderOptions options_;
  std::atomic<uint64_t> fetched_{0};
  std::atomic<uint64_t> cache_hits_{0};
};

}  // namespace kt::client

#endif  // KT_CLIENT_TILE_READER_H_
