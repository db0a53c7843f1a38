// SPDX-License-Identifier: Apache-2.0
// Authenticated streaming of log entries through entry bundles.
#include "client/entry_stream.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "client/tile_reader.h"
#include "client/user_index.h"
#include "core/encoding.h"
#include "core/tile.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

// Bundle is one fetched entry bundle, prepared by a fetch thread: `entries`
// alias `body` (heap-held, so handing the Bundle over keeps them valid).
struct Bundle {
  Status status;  // the fetch or split failure, if any
  std::string body;
  std::vector<StreamEntry> entries;  // those of [from, size)
};

// BundleWindow fetches and prepares entry bundles [first, end) on `threads`
// threads, at most `window` bundles ahead of the consumer, and hands them
// out in order. A failed bundle is handed out in its place (with its
// status); the consumer stops there. Wake-ups are targeted (the consumer is
// woken only for the bundle it waits for, one worker per freed slot): on
// two cores a broadcast to every thread per bundle cost more than the
// hashing.
class BundleWindow {
 public:
  BundleWindow(Fetcher& fetcher, uint64_t first, uint64_t end, uint64_t tree_size, uint64_t from,
               bool parse, size_t window, int threads)
      : fetcher_(fetcher), tree_size_(tree_size), from_(from), parse_(parse), next_fetch_(first),
        next_take_(first), end_(end), slots_(std::max<size_t>(window, 1)) {
    const size_t n = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), slots_.size());
    for (size_t t = 0; t < n; t++) workers_.emplace_back([this, t] { Work(t); });
  }
  ~BundleWindow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    start_cv_.notify_all();
    space_cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // Take waits for the next bundle (in order) and returns it; `done` (may be
  // null) is the previous one, whose memory is reused.
  std::unique_ptr<Bundle> Take(std::unique_ptr<Bundle> done) {
    std::unique_lock<std::mutex> lock(mu_);
    if (done != nullptr) free_.push_back(std::move(done));
    std::unique_ptr<Bundle>& slot = slots_[next_take_ % slots_.size()];
    if (slot == nullptr) {
      // Wait for a run of bundles, not one: a consumer faster than the
      // fetches would otherwise sleep and wake once per bundle.
      consumer_waiting_ = true;
      ready_cv_.wait(lock, [&] { return RunReady(); });
      consumer_waiting_ = false;
    }
    std::unique_ptr<Bundle> bundle = std::move(slot);
    next_take_++;
    const bool wake = workers_waiting_ > 0;
    lock.unlock();
    if (wake) space_cv_.notify_one();  // a window slot is free
    return bundle;
  }

 private:
  core::Tile TileOf(uint64_t bundle) const {
    uint64_t left = tree_size_ - bundle * core::kTileWidth;
    return core::Tile{core::kEntryBundleLevel, bundle,
                      static_cast<uint32_t>(std::min<uint64_t>(left, core::kTileWidth))};
  }

  // RunReady: the next kWakeRun bundles (or all that are left) are ready.
  // Every bundle in the window gets fetched, so a run always completes.
  bool RunReady() const {
    const uint64_t last = std::min<uint64_t>({next_take_ + kWakeRun, end_, next_take_ + slots_.size()});
    for (uint64_t b = next_take_; b < last; b++) {
      if (slots_[b % slots_.size()] == nullptr) return false;
    }
    return true;
  }

  // Prepare fetches bundle `b` into *out, splits it, hashes its leaves and
  // (with parse_) parses its entries. Thread-safe (const; Fetcher is).
  void Prepare(uint64_t b, Bundle* out) const {
    const core::Tile tile = TileOf(b);
    Status got = fetcher_.GetInto(core::TilePath(tile), &out->body);
    if (!got.ok()) {
      out->status = got.Annotate(core::TilePath(tile));
      out->entries.clear();
      return;
    }
    std::array<core::ByteSpan, core::kTileWidth> views;
    std::span<core::ByteSpan> split_views = std::span(views).first(tile.width);
    Status split = core::SplitEntryBundle(core::AsBytes(out->body), split_views);
    if (!split.ok()) {
      out->status = Status::VerificationFailed(core::TilePath(tile) + ": " + split.message());
      out->entries.clear();
      return;
    }
    out->status = Status();
    const uint64_t first = b * core::kTileWidth;
    const size_t skip = from_ > first ? static_cast<size_t>(from_ - first) : 0;
    // A reused bundle keeps its entries (no default-construction pass over
    // them before they are overwritten); only the count may change.
    out->entries.resize(split_views.size() - std::min(skip, split_views.size()));
    for (size_t i = 0; i < out->entries.size(); i++) {
      StreamEntry& e = out->entries[i];
      e.index = first + skip + i;
      e.bytes = split_views[skip + i];
      e.leaf = core::RecordHash(e.bytes);  // RFC 6962 §2.1: each leaf hashed once
      if (parse_) {
        e.view = core::ParseEntryView(e.bytes);
        e.user_hash = e.view.ok() ? UserIndex::HashOf(e.view->user) : 0;
      }
    }
  }

  // Work fetches bundles. Worker `rank` starts once `rank` workers finished
  // their first fetch: their connections are then open, so the server never
  // sees more simultaneous connects than one (a burst can overflow a small
  // listen backlog, and a dropped SYN costs a 1 s retransmission).
  void Work(size_t rank) {
    std::unique_lock<std::mutex> lock(mu_);
    start_cv_.wait(lock, [&] { return stop_ || started_ >= rank; });
    bool first = true;
    while (true) {
      workers_waiting_++;
      space_cv_.wait(lock, [&] {
        return stop_ || next_fetch_ == end_ || next_fetch_ < next_take_ + slots_.size();
      });
      workers_waiting_--;
      if (stop_ || next_fetch_ == end_) break;
      const uint64_t b = next_fetch_++;
      std::unique_ptr<Bundle> bundle;
      if (!free_.empty()) {
        bundle = std::move(free_.back());
        free_.pop_back();
      }
      lock.unlock();
      if (bundle == nullptr) bundle = std::make_unique<Bundle>();
      Prepare(b, bundle.get());
      lock.lock();
      slots_[b % slots_.size()] = std::move(bundle);
      if (consumer_waiting_ && RunReady()) ready_cv_.notify_one();
      if (first) {
        first = false;
        started_++;
        start_cv_.notify_all();
      }
    }
    if (first) {
      started_++;  // let the next worker go (and finish)
      start_cv_.notify_all();
    }
  }

  static constexpr uint64_t kWakeRun = 8;
  Fetcher& fetcher_;
  const uint64_t tree_size_;
  const uint64_t from_;
  const bool parse_;
  std::mutex mu_;
  std::condition_variable ready_cv_;  // the consumer waits for its bundle
  std::condition_variable space_cv_;  // workers wait for a free slot
  std::condition_variable start_cv_;  // workers wait for their turn to connect
  uint64_t next_fetch_;
  uint64_t next_take_;
  const uint64_t end_;
  bool stop_ = false;
  bool consumer_waiting_ = false;
  size_t workers_waiting_ = 0;
  size_t started_ = 0;  // workers whose first fetch finished
  std::vector<std::unique_ptr<Bundle>> slots_;  // by bundle % size; null = not ready
  std::vector<std::unique_ptr<Bundle>> free_;   // taken bundles, for reuse
  std::vector<std::thread> workers_;
};

}  // namespace

Status ReadEntryBundles(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                        std::optional<core::TreeBuilder> start, const EntryStreamOptions& options,
                        const std::function<Status(std::span<const StreamEntry>)>& fn,
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
  BundleWindow window(fetcher, first_bundle, end_bundle, size, from, options.parse_entries,
                      options.window_bundles, options.parallelism);
  const size_t batch = std::max<size_t>(options.batch_bundles, 1);
  std::unique_ptr<Bundle> bundle;
  for (uint64_t b = first_bundle; b < end_bundle; b++) {
    bundle = window.Take(std::move(bundle));
    KT_RETURN_IF_ERROR(bundle->status);
    for (const StreamEntry& e : bundle->entries) builder.Append(e.leaf);
    if (!bundle->entries.empty()) KT_RETURN_IF_ERROR(fn(bundle->entries));
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

Status ReadEntries(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                   std::optional<core::TreeBuilder> start, const EntryStreamOptions& options,
                   const std::function<Status(uint64_t, core::ByteSpan)>& fn,
                   core::TreeBuilder* tree) {
  return ReadEntryBundles(
      fetcher, cp, from, std::move(start), options,
      [&](std::span<const StreamEntry> entries) {
        for (const StreamEntry& e : entries) KT_RETURN_IF_ERROR(fn(e.index, e.bytes));
        return Status();
      },
      tree);
}

}  // namespace kt::client
