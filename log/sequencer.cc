// SPDX-License-Identifier: Apache-2.0
// Sequencer: pool -> batch -> check -> index -> hash -> sign -> one durable
// LogStorage::Integrate -> answer (see log/sequencer.h).
//
// Threads. Submit runs on any thread and only touches the pool under mu_.
// Everything else (the tree frontier, the batch, storage writes, callbacks)
// runs on the one sequencer thread inside io_.run(), so batches are
// integrated strictly one after another.
//
// Security reasoning (DESIGN.md "Sequencing"): the tree in memory (tree_)
// only advances together with a successful Integrate; if Integrate fails the
// outcome on disk is unknown to us (a failed commit may or may not have
// reached the disk), so the sequencer stops for good (status() reports it)
// instead of signing a possibly different tree for a size that may already
// have a durable checkpoint. A restart then re-reads the committed head.
#include "log/sequencer.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/checkpoint.h"
#include "core/encoding.h"
#include "core/merkle.h"

namespace kt::log {

namespace asio = boost::asio;

CheckpointSigner MakeCheckpointSigner(core::SignerKey log_key) {
  return [key = std::move(log_key)](uint64_t size, const Hash& root) -> StatusOr<std::string> {
    core::Checkpoint c;
    c.origin = key.name;
    c.size = size;
    c.root = root;
    return core::SignCheckpoint(key, c);
  };
}

namespace {

uint64_t SystemNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// DedupKey identifies "the same submission": a flag byte for prev_given,
// then the canonical encoding of the entry with timestamp_ms 0 (and prev 0
// unless the submitter fixed it). It zeroes those fields of `s.entry`; the
// sequencer sets them again. InvalidArgument if the entry does not encode.
StatusOr<std::string> DedupKey(Submission& s) {
  s.entry.timestamp_ms = 0;
  if (!s.prev_given) s.entry.prev = 0;
  KT_ASSIGN_OR_RETURN(Bytes b, core::EncodeEntry(s.entry));
  std::string key;
  key.reserve(1 + b.size());
  key.push_back(s.prev_given ? '\1' : '\0');
  key.append(core::AsStringView(b));
  return key;
}

// EntryBytes returns the canonical encoding of `e` from its dedup key by
// writing timestamp_ms and prev in place. DESIGN.md "Log entry": version(1)
// kind(1) user<1..255>(1+u) device<1..255>(1+d) timestamp_ms(8) prev(8) ...,
// so timestamp_ms starts at byte 4 + u + d. Equal to core::EncodeEntry(e)
// (the sequencer tests decode and re-encode every sequenced entry).
Bytes EntryBytes(std::string_view key, const core::Entry& e) {
  Bytes b(key.begin() + 1, key.end());
  size_t ts = 4 + e.user.size() + e.device.size();
  KT_CHECK(b.size() >= ts + 16);
  core::PutU64BE(b.data() + ts, e.timestamp_ms);
  core::PutU64BE(b.data() + ts + 8, e.prev);
  return b;
}

}  // namespace

class Sequencer::Impl {
 public:
  Impl(LogStorage& storage, CheckpointSigner signer, SequencerOptions options)
      : storage_(storage),
        signer_(std::move(signer)),
        options_(std::move(options)),
        timer_(io_),
        work_(asio::make_work_guard(io_)) {
    if (!options_.now_ms) options_.now_ms = SystemNowMs;
    InitMetrics();
  }

  Status Restore();
  void SetOnIntegrated(IntegratedFn fn) { on_integrated_ = std::move(fn); }
  void Start();
  void Stop();
  void Submit(Submission submission, DoneFn done);
  size_t pending() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  Status status() const {
    std::lock_guard lock(mu_);
    return fatal_;
  }

 private:
  struct Item {
    std::chrono::steady_clock::time_point submitted;
    Submission submission;
    std::string key;   // DedupKey
    size_t hash = 0;   // std::hash of key, computed outside the lock
    std::vector<DoneFn> waiters;
  };
  using ItemPtr = std::shared_ptr<Item>;
  // KeyRef is a by_key_ key: a view of an Item's key and its hash.
  struct KeyRef {
    std::string_view key;
    size_t hash;
    bool operator==(const KeyRef& o) const { return key == o.key; }
  };
  struct KeyRefHash {
    size_t operator()(const KeyRef& k) const { return k.hash; }
  };

  void ArmTimer();
  // RunBatch integrates up to batch_max pending items; false if none were.
  bool RunBatch();
  // DrainFullBatches runs batches while at least batch_max items are pending.
  void DrainFullBatches() {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (pool_.size() < options_.batch_max) return;
      }
      RunBatch();
    }
  }
  std::vector<StatusOr<SequencedEntry>> Integrate(const std::vector<ItemPtr>& batch);
  // UserSlot is a user's state during one batch; changed once an entry of
  // the user is accepted.
  struct UserSlot {
    std::shared_ptr<UserState> state;
    bool changed = false;
  };
  StatusOr<UserSlot*> UserFor(std::unordered_map<std::string, UserSlot>& users,
                              const std::string& user);

  // Metrics (null when options_.metrics is null); updates are lock-free.
  struct Metrics {
    net::Counter* entries = nullptr;
    net::Counter* rejected_pool_full = nullptr;
    net::Counter* rejected_check = nullptr;
    net::Histogram* batch_entries = nullptr;
    net::Histogram* integration_seconds = nullptr;
    net::Histogram* time_to_integrate = nullptr;
  };
  void InitMetrics();

  LogStorage& storage_;
  CheckpointSigner signer_;
  SequencerOptions options_;
  IntegratedFn on_integrated_;
  Metrics metrics_;

  // Sequencer thread only (or the owner before Start / after the join).
  core::TreeBuilder tree_;
  uint64_t last_timestamp_ = 0;

  asio::io_context io_;
  asio::steady_timer timer_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  bool stopped_ = false;  // owner thread only

  mutable std::mutex mu_;
  std::deque<ItemPtr> pool_;                          // guarded by mu_
  // by_key_ maps each pending or in-batch item's key (a view of its own
  // Item::key) to the item.
  std::unordered_map<KeyRef, ItemPtr, KeyRefHash> by_key_;  // mu_
  size_t waiting_ = 0;                                // submitters waiting; mu_
  bool kick_posted_ = false;                          // mu_
  bool stopping_ = false;                             // mu_
  bool started_ = false;                              // mu_
  Status fatal_;                                      // mu_
};

void Sequencer::Impl::InitMetrics() {
  net::Registry* r = options_.metrics;
  if (r == nullptr) return;
  metrics_.entries = &r->GetCounter("kt_log_entries_integrated_total",
                                    "Entries durably integrated into the log.");
  metrics_.rejected_pool_full =
      &r->GetCounter("kt_log_submissions_rejected_total",
                     "Submissions refused by the sequencer.", {{"reason", "pool_full"}});
  metrics_.rejected_check =
      &r->GetCounter("kt_log_submissions_rejected_total",
                     "Submissions refused by the sequencer.", {{"reason", "check"}});
  std::vector<double> sizes;
  for (double b = 1; b <= 65536; b *= 4) sizes.push_back(b);
  metrics_.batch_entries = &r->GetHistogram("kt_log_batch_entries",
                                            "Entries per integrated batch.", {}, sizes);
  metrics_.integration_seconds = &r->GetHistogram(
      "kt_log_integration_seconds",
      "Time to integrate one batch: checks, hashing, signing and the durable commit.");
  metrics_.time_to_integrate = &r->GetHistogram(
      "kt_log_time_to_integrate_seconds",
      "Time from Submit until the entry is durably integrated, per submission.");
}

Status Sequencer::Impl::Restore() {
  KT_ASSIGN_OR_RETURN(TreeState state, storage_.ReadTreeState());
  KT_ASSIGN_OR_RETURN(tree_, core::TreeBuilder::Restore(state.size, storage_));
  if (tree_.Root() != state.root) {
    return Status::Corruption("sequencer: stored hashes do not give the stored root");
  }
  if (state.size > 0) {
    KT_ASSIGN_OR_RETURN(Bytes last, storage_.ReadEntry(state.size - 1));
    KT_ASSIGN_OR_RETURN(core::Entry e, core::DecodeEntry(last));
    last_timestamp_ = e.timestamp_ms;
  }
  if (state.checkpoint.empty()) {
    // A fresh log: sign and store the checkpoint of the empty tree.
    IntegrationBatch batch;
    batch.first_index = 0;
    batch.root = tree_.Root();
    KT_ASSIGN_OR_RETURN(batch.checkpoint, signer_(0, batch.root));
    KT_RETURN_IF_ERROR(storage_.Integrate(batch));
  }
  return Status();
}

void Sequencer::Impl::Start() {
  if (stopped_) return;
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
  }
  ArmTimer();
  thread_ = std::thread([this] { io_.run(); });
}

void Sequencer::Impl::ArmTimer() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  timer_.expires_after(options_.batch_interval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled by Stop
    RunBatch();
    DrainFullBatches();
    ArmTimer();
  });
}

void Sequencer::Impl::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stopped_ = true;
  bool started = false;
  {
    std::lock_guard lock(mu_);
    started = started_;
  }
  if (started) {
    asio::post(io_, [this] {
      timer_.cancel();
      while (RunBatch()) {
      }
    });
    work_.reset();
    thread_.join();
  } else {
    while (RunBatch()) {
    }
  }
}

void Sequencer::Impl::Submit(Submission submission, DoneFn done) {
  auto key = DedupKey(submission);
  if (!key.ok()) {
    done(key.status());
    return;
  }
  // Build the item outside the lock: the critical section stays short.
  auto item = std::make_shared<Item>();
  item->submitted = std::chrono::steady_clock::now();
  item->key = std::move(*key);
  item->hash = std::hash<std::string_view>()(item->key);
  item->submission = std::move(submission);
  item->waiters.push_back(std::move(done));
  Status refuse;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refuse = Status::Unavailable("shutting down");
    } else if (!fatal_.ok()) {
      refuse = Status::Unavailable("sequencer stopped: " + fatal_.message());
    } else if (waiting_ >= options_.max_pool) {
      refuse = Status::Unavailable("pool full");
      if (metrics_.rejected_pool_full != nullptr) metrics_.rejected_pool_full->Inc();
    } else {
      ++waiting_;
      auto [it, fresh] = by_key_.try_emplace(KeyRef{item->key, item->hash}, item);
      if (!fresh) {
        it->second->waiters.push_back(std::move(item->waiters.front()));
        return;  // `item` is dropped outside the lock
      }
      pool_.push_back(std::move(item));
      if (pool_.size() >= options_.batch_max && started_ && !kick_posted_) {
        kick_posted_ = true;
        asio::post(io_, [this] {
          {
            std::lock_guard inner(mu_);
            kick_posted_ = false;
          }
          DrainFullBatches();
        });
      }
      return;
    }
  }
  item->waiters.front()(refuse);
}

bool Sequencer::Impl::RunBatch() {
  std::vector<ItemPtr> batch;
  {
    std::lock_guard lock(mu_);
    size_t n = std::min(pool_.size(), options_.batch_max);
    batch.assign(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(n));
    pool_.erase(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (batch.empty()) return false;
  auto start = std::chrono::steady_clock::now();
  std::vector<StatusOr<SequencedEntry>> results = Integrate(batch);
  auto end = std::chrono::steady_clock::now();
  if (metrics_.integration_seconds != nullptr) {
    metrics_.integration_seconds->Observe(std::chrono::duration<double>(end - start).count());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!results[i].ok()) continue;
      metrics_.time_to_integrate->Observe(
          std::chrono::duration<double>(end - batch[i]->submitted).count());
    }
  }
  // Detach the waiters under the lock: a duplicate that arrives from now on
  // is a new submission.
  std::vector<std::vector<DoneFn>> waiters(batch.size());
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      by_key_.erase(KeyRef{batch[i]->key, batch[i]->hash});
      waiters[i] = std::move(batch[i]->waiters);
      waiting_ -= waiters[i].size();
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    for (size_t w = 0; w + 1 < waiters[i].size(); ++w) waiters[i][w](results[i]);
    if (!waiters[i].empty()) waiters[i].back()(std::move(results[i]));
  }
  return true;
}

StatusOr<Sequencer::Impl::UserSlot*> Sequencer::Impl::UserFor(
    std::unordered_map<std::string, UserSlot>& users, const std::string& user) {
  auto it = users.find(user);
  if (it == users.end()) {
    KT_ASSIGN_OR_RETURN(UserState state, storage_.ReadUser(user));
    it = users.emplace(user, UserSlot{std::make_shared<UserState>(std::move(state)), false}).first;
  }
  return &it->second;
}

std::vector<StatusOr<SequencedEntry>> Sequencer::Impl::Integrate(
    const std::vector<ItemPtr>& batch) {
  std::vector<StatusOr<SequencedEntry>> results(batch.size(),
                                                Status::Internal("not sequenced"));
  {
    std::lock_guard lock(mu_);
    if (!fatal_.ok()) {
      results.assign(batch.size(), Status::Unavailable("sequencer stopped: " + fatal_.message()));
      return results;
    }
  }
  const core::TreeBuilder before = tree_;
  last_timestamp_ = std::max(last_timestamp_, options_.now_ms());
  IntegrationBatch out;
  out.first_index = tree_.size();
  std::vector<size_t> accepted;  // batch positions, in index order
  std::unordered_map<std::string, UserSlot> users;
  for (size_t i = 0; i < batch.size(); ++i) {
    Submission& sub = batch[i]->submission;
    core::Entry candidate = std::move(sub.entry);  // the item keeps only its key
    candidate.timestamp_ms = last_timestamp_;
    auto user = UserFor(users, candidate.user);
    if (!user.ok()) {
      results[i] = user.status();
      continue;
    }
    UserState& state = *(*user)->state;
    if (!sub.prev_given) candidate.prev = state.NextPrev();
    if (sub.check) {
      Status s = sub.check(candidate, state);
      if (!s.ok()) {
        if (metrics_.rejected_check != nullptr) metrics_.rejected_check->Inc();
        results[i] = s;
        continue;
      }
    }
    Bytes bytes = EntryBytes(batch[i]->key, candidate);
    state.Apply(tree_.size(), candidate);
    (*user)->changed = true;
    tree_.Append(core::RecordHash(bytes), &out.stored_hashes);
    out.entries.push_back(std::move(bytes));
    out.decoded.push_back(std::move(candidate));
    accepted.push_back(i);
  }
  if (accepted.empty()) return results;
  for (auto& [name, slot] : users) {
    if (slot.changed) out.users.emplace_back(name, std::move(slot.state));
  }
  out.root = tree_.Root();
  auto checkpoint = signer_(tree_.size(), out.root);
  Status s = checkpoint.ok() ? Status() : checkpoint.status();
  if (s.ok()) {
    out.checkpoint = *checkpoint;
    s = storage_.Integrate(out);
  }
  if (!s.ok()) {
    tree_ = before;
    std::lock_guard lock(mu_);
    fatal_ = s;
    for (size_t i : accepted) results[i] = Status::Unavailable("integration failed: " + s.message());
    return results;
  }
  if (metrics_.entries != nullptr) {
    metrics_.entries->Inc(out.entries.size());
    metrics_.batch_entries->Observe(static_cast<double>(out.entries.size()));
  }
  if (on_integrated_) on_integrated_(out.checkpoint, tree_.size());
  for (size_t k = 0; k < accepted.size(); ++k) {
    SequencedEntry e;
    e.index = out.first_index + k;
    e.entry = std::move(out.entries[k]);
    e.checkpoint_size = tree_.size();
    e.checkpoint = out.checkpoint;
    results[accepted[k]] = std::move(e);
  }
  return results;
}

// --- Sequencer ---

Sequencer::Sequencer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sequencer::~Sequencer() { Stop(); }

StatusOr<std::unique_ptr<Sequencer>> Sequencer::Create(LogStorage& storage,
                                                       CheckpointSigner signer,
                                                       SequencerOptions options) {
  if (!signer) return Status::InvalidArgument("sequencer: no checkpoint signer");
  if (options.batch_max == 0 || options.max_pool == 0 ||
      options.batch_interval <= std::chrono::milliseconds(0)) {
    return Status::InvalidArgument("sequencer: batch_max, max_pool and batch_interval must be > 0");
  }
  auto impl = std::make_unique<Impl>(storage, std::move(signer), std::move(options));
  KT_RETURN_IF_ERROR(impl->Restore());
  return std::unique_ptr<Sequencer>(new Sequencer(std::move(impl)));
}

void Sequencer::SetOnIntegrated(IntegratedFn fn) { impl_->SetOnIntegrated(std::move(fn)); }
void Sequencer::Start() { impl_->Start(); }
void Sequencer::Stop() { impl_->Stop(); }
void Sequencer::Submit(Submission submission, DoneFn done) {
  impl_->Submit(std::move(submission), std::move(done));
}

std::future<StatusOr<SequencedEntry>> Sequencer::Submit(Submission submission) {
  auto promise = std::make_shared<std::promise<StatusOr<SequencedEntry>>>();
  auto future = promise->get_future();
  impl_->Submit(std::move(submission),
                [promise](StatusOr<SequencedEntry> r) { promise->set_value(std::move(r)); });
  return future;
}

size_t Sequencer::pending() const { return impl_->pending(); }
Status Sequencer::status() const { return impl_->status(); }

}  // namespace kt::log
