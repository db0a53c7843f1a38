// SPDX-License-Identifier: Apache-2.0
// Authenticated streaming of log entries through entry bundles.
#include "client/entry_stream.h"

#include <algorithm>
#include <future>

#include "client/tile_reader.h"
#include "core/encoding.h"
#include "core/tile.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

struct Batch {
  std::vector<core::Tile> tiles;
  std::vector<core::Bytes> bodies;
  Status status;
};

// BundlesFrom lists the entry bundles covering [first_bundle*256, size),
// `count` at most.
std::vector<core::Tile> Bundles(uint64_t first_bundle, uint64_t size, size_t count) {
  std::vector<core::Tile> out;
  for (uint64_t b = first_bundle; out.size() < count && b * core::kTileWidth < size; b++) {
    uint64_t left = size - b * core::kTileWidth;
    out.push_back(core::Tile{core::kEntryBundleLevel, b,
                             static_cast<uint32_t>(std::min<uint64_t>(left, core::kTileWidth))});
  }
  return out;
}

}  // namespace

Status ReadEntries(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                   std::optional<core::TreeBuilder> start, const EntryStreamOptions& options,
                   const std::function<Status(uint64_t, core::ByteSpan)>& fn) {
  const uint64_t size = cp.checkpoint.size;
  if (from > size) return Status::InvalidArgument("start " + std::to_string(from) + " beyond tree size");
  FetcherTileReader tiles(fetcher, TileReaderOptions{options.parallelism, {}});
  core::TreeBuilder builder;
  if (from > 0) {
    // The frontier at `from` from hash tiles authenticated against the
    // checkpoint: the entries before `from` are then covered by the final
    // root comparison too.
    core::TileHashReader reader(size, cp.checkpoint.root, tiles);
    KT_ASSIGN_OR_RETURN(core::TreeBuilder restored, core::TreeBuilder::Restore(from, reader));
    if (start.has_value() && (start->size() != from || start->frontier() != restored.frontier())) {
      return Status::VerificationFailed(
          "the saved tree of the first " + std::to_string(from) +
          " entries does not match the log's tiles: the log changed its history (or the "
          "earlier run read entries that do not match)");
    }
    builder = std::move(restored);
  }
  auto fetch = [&tiles](std::vector<core::Tile> list) {
    Batch b;
    b.tiles = std::move(list);
    b.status = tiles.ReadTiles(b.tiles, &b.bodies);
    return b;
  };
  uint64_t next_bundle = from / core::kTileWidth;
  std::future<Batch> pending;
  auto launch = [&] {
    std::vector<core::Tile> list = Bundles(next_bundle, size, options.batch_bundles);
    next_bundle += list.size();
    if (list.empty()) return false;
    pending = std::async(std::launch::async, fetch, std::move(list));
    return true;
  };
  bool more = launch();
  while (more) {
    Batch batch = pending.get();
    more = launch();  // fetch the next batch while this one is hashed
    if (!batch.status.ok()) {
      if (more) pending.wait();
      return batch.status;
    }
    for (size_t t = 0; t < batch.tiles.size(); t++) {
      const core::Tile& tile = batch.tiles[t];
      auto entries = core::DecodeEntryBundle(batch.bodies[t], tile.width);
      if (!entries.ok()) {
        if (more) pending.wait();
        return Status::VerificationFailed(core::TilePath(tile) + ": " + entries.status().message());
      }
      uint64_t index = tile.index * core::kTileWidth;
      for (const core::Bytes& e : *entries) {
        if (index >= from) {
          builder.AppendEntry(e);
          Status s = fn(index, e);
          if (!s.ok()) {
            if (more) pending.wait();
            return s;
          }
        }
        index++;
      }
    }
    if (options.batch_done) options.batch_done(builder.size(), builder);
  }
  if (builder.size() != size || builder.Root() != cp.checkpoint.root) {
    return Status::VerificationFailed(
        "the tree recomputed from the entry bundles (size " + std::to_string(builder.size()) +
        ", root " + core::Base64Encode(builder.Root()) +
        ") does not match the trusted checkpoint: the log served a bundle or tile that does not "
        "match");
  }
  return Status();
}

}  // namespace kt::client
