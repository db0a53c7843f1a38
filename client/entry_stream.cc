// SPDX-License-Identifier: Apache-2.0
// Authenticated streaming of log entries through entry bundles.
#include "client/entry_stream.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "client/tile_reader.h"
#include "core/encoding.h"
#include "core/tile.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

// BundleWindow fetches entry bundles [first, end) on `threads` threads, at
// most `window` bundles ahead of the consumer, and hands them out in order.
// A failed fetch is handed out in its place; the consumer stops there.
class BundleWindow {
 public:
  BundleWindow(Fetcher& fetcher, uint64_t first, uint64_t end, uint64_t tree_size, size_t window,
               int threads)
      : fetcher_(fetcher), tree_size_(tree_size), next_fetch_(first), next_take_(first), end_(end),
        slots_(std::max<size_t>(window, 1)) {
    const size_t n = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), slots_.size());
    for (size_t t = 0; t < n; t++) workers_.emplace_back([this, t] { Work(t); });
  }
  ~BundleWindow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // Take waits for the next bundle (in order) and returns its body.
  StatusOr<std::string> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    Slot& slot = slots_[next_take_ % slots_.size()];
    cv_.wait(lock, [&] { return slot.ready; });
    StatusOr<std::string> body = std::move(slot.body);
    slot.ready = false;
    next_take_++;
    lock.unlock();
    cv_.notify_all();  // a window slot is free
    return body;
  }

  core::Tile TileOf(uint64_t bundle) const {
    uint64_t left = tree_size_ - bundle * core::kTileWidth;
    return core::Tile{core::kEntryBundleLevel, bundle,
                      static_cast<uint32_t>(std::min<uint64_t>(left, core::kTileWidth))};
  }

 private:
  struct Slot {
    bool ready = false;
    StatusOr<std::string> body = std::string();
  };

  // Work fetches bundles. Worker `rank` starts once `rank` workers finished
  // their first fetch: their connections are then open, so the server never
  // sees more simultaneous connects than one (a burst can overflow a small
  // listen backlog, and a dropped SYN costs a 1 s retransmission).
  void Work(size_t rank) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stop_ || started_ >= rank; });
    bool first = true;
    while (true) {
      cv_.wait(lock, [&] { return stop_ || next_fetch_ == end_ || next_fetch_ < next_take_ + slots_.size(); });
      if (stop_ || next_fetch_ == end_) break;
      const uint64_t b = next_fetch_++;
      lock.unlock();
      const core::Tile tile = TileOf(b);
      StatusOr<std::string> body = fetcher_.Get(core::TilePath(tile));
      if (!body.ok()) body = body.status().Annotate(core::TilePath(tile));
      lock.lock();
      Slot& slot = slots_[b % slots_.size()];
      slot.body = std::move(body);
      slot.ready = true;
      if (first) started_++;
      first = false;
      cv_.notify_all();
    }
    if (first) started_++;  // let the next worker go (and finish)
    cv_.notify_all();
  }

  Fetcher& fetcher_;
  const uint64_t tree_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_fetch_;
  uint64_t next_take_;
  const uint64_t end_;
  bool stop_ = false;
  size_t started_ = 0;  // workers whose first fetch finished
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
};

}  // namespace

Status ReadEntries(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                   std::optional<core::TreeBuilder> start, const EntryStreamOptions& options,
                   const std::function<Status(uint64_t, core::ByteSpan)>& fn,
                   core::TreeBuilder* tree) {
  const uint64_t size = cp.checkpoint.size;
  if (from > size) return Status::InvalidArgument("start " + std::to_string(from) + " beyond tree size");
  core::TreeBuilder builder;
  if (from > 0) {
    // The frontier at `from` from hash tiles authenticated against the
    // checkpoint: the entries before `from` are then covered by the final
    // root comparison too.
    FetcherTileReader tiles(fetcher, TileReaderOptions{options.parallelism, {}});
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
  const uint64_t first_bundle = from / core::kTileWidth;
  const uint64_t end_bundle = (size + core::kTileWidth - 1) / core::kTileWidth;
  BundleWindow window(fetcher, first_bundle, end_bundle, size, options.window_bundles,
                      options.parallelism);
  std::array<core::ByteSpan, core::kTileWidth> entries;
  const size_t batch = std::max<size_t>(options.batch_bundles, 1);
  for (uint64_t b = first_bundle; b < end_bundle; b++) {
    const core::Tile tile = window.TileOf(b);
    KT_ASSIGN_OR_RETURN(std::string body, window.Take());
    std::span<core::ByteSpan> views = std::span(entries).first(tile.width);
    Status split = core::SplitEntryBundle(core::AsBytes(body), views);
    if (!split.ok()) return Status::VerificationFailed(core::TilePath(tile) + ": " + split.message());
    uint64_t index = b * core::kTileWidth;
    for (core::ByteSpan e : views) {
      if (index >= from) {
        builder.Append(core::RecordHash(e));  // RFC 6962 §2.1: each leaf hashed once
        KT_RETURN_IF_ERROR(fn(index, e));
      }
      index++;
    }
    if (options.batch_done && ((b + 1 - first_bundle) % batch == 0 || b + 1 == end_bundle)) {
      options.batch_done(builder.size(), builder);
    }
  }
  if (builder.size() != size || builder.Root() != cp.checkpoint.root) {
    return Status::VerificationFailed(
        "the tree recomputed from the entry bundles (size " + std::to_string(builder.size()) +
        ", root " + core::Base64Encode(builder.Root()) +
        ") does not match the trusted checkpoint: the log served a bundle or tile that does not "
        "match");
  }
  if (tree != nullptr) *tree = std::move(builder);
  return Status();
}

}  // namespace kt::client
