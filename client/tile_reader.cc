// SPDX-License-Identifier: Apache-2.0
// Parallel tile fetching with an on-disk cache of authenticated full tiles.
#include "client/tile_reader.h"

#include <algorithm>
#include <mutex>
#include <system_error>
#include <thread>

#include "store/file_util.h"

namespace kt::client {

using core::Status;

FetcherTileReader::FetcherTileReader(Fetcher& fetcher, TileReaderOptions options)
    : fetcher_(fetcher), options_(std::move(options)) {}

std::filesystem::path FetcherTileReader::CachePath(const core::Tile& tile) const {
  return options_.cache_dir / core::TilePath(tile);
}

Status FetcherTileReader::ReadTiles(std::span<const core::Tile> tiles,
                                    std::vector<core::Bytes>* out) {
  out->assign(tiles.size(), {});
  std::vector<size_t> missing;
  for (size_t i = 0; i < tiles.size(); i++) {
    // Only full hash tiles are cached, and only after TileHashReader
    // authenticated them (SaveTiles), so a cached tile is trusted content
    // for its path; it is still checked again by the caller.
    if (!options_.cache_dir.empty() && tiles[i].is_full() && !tiles[i].is_entry_bundle()) {
      auto data = store::ReadFile(CachePath(tiles[i]), core::kTileWidth * 32);
      if (data.ok() && data->size() == core::kTileWidth * 32) {
        (*out)[i] = core::ToBytes(*data);
        cache_hits_++;
        continue;
      }
    }
    missing.push_back(i);
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    for (size_t k = next++; k < missing.size(); k = next++) {
      const core::Tile& tile = tiles[missing[k]];
      auto body = fetcher_.Get(core::TilePath(tile));
      std::lock_guard<std::mutex> lock(mu);
      if (!body.ok()) {
        if (first_error.ok()) first_error = body.status().Annotate(core::TilePath(tile));
        continue;
      }
      if (!tile.is_entry_bundle() && body->size() != size_t{tile.width} * 32) {
        if (first_error.ok()) {
          first_error = Status::VerificationFailed(core::TilePath(tile) + ": tile has " +
                                                   std::to_string(body->size()) + " bytes");
        }
        continue;
      }
      (*out)[missing[k]] = core::ToBytes(*body);
      fetched_++;
    }
  };
  size_t n = std::min<size_t>(missing.size(), static_cast<size_t>(std::max(1, options_.parallelism)));
  if (n <= 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (size_t t = 0; t < n; t++) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }
  return first_error;
}

void FetcherTileReader::SaveTiles(std::span<const core::Tile> tiles,
                                  std::span<const core::Bytes> data) {
  if (options_.cache_dir.empty()) return;
  for (size_t i = 0; i < tiles.size() && i < data.size(); i++) {
    if (!tiles[i].is_full() || tiles[i].is_entry_bundle()) continue;
    std::filesystem::path p = CachePath(tiles[i]);
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) continue;  // the cache is an optimisation; failures only cost refetches
    (void)store::WriteFileAtomic(p, core::AsStringView(data[i]), 0644);
  }
}

}  // namespace kt::client
