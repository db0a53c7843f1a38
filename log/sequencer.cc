// SPDX-License-Identifier: Apache-2.0
// Sequencer: pool -> batch -> check -> index -> hash -> sign -> one durable
// LogStorage::Integrate -> answer (see log/sequencer.h).
//
// Threads. Submit runs on any thread and only touches the pool under mu_.
// The sequencer thread (inside io_.run()) owns the tree frontier and the
// in-flight user states: it takes a batch, checks, hashes and signs it
// (Prepare) and queues it for the commit thread, which makes batches durable
// strictly in order (LogStorage::IntegrateGroup: all the batches queued when
// it is free, in one durable commit) and runs the on-integrated hook;
// the answers to the submitters are then posted back to the sequencer thread,
// so the commit thread's time is the durable commits alone. The two overlap:
// batch k+1 is prepared while batch k is being committed (at most
// kMaxQueuedBatches wait), so throughput is max(CPU, commit) rather than
// their sum.
//
// Security reasoning (DESIGN.md "Sequencing"): a submitter is answered only
// after the batch holding its entry is durable. The tree in memory runs
// ahead of storage by the queued batches; their checkpoints are signed but
// released (hook, answers) only after their commit. If an Integrate fails,
// the outcome on disk is unknown to us (a failed commit may or may not have
// reached the disk), so the sequencer stops for good (status() reports it):
// the queued batches are not committed and no checkpoint for a size that
// may already have a durable one is ever released. A restart re-reads the
// committed head.
#include "log/sequencer.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
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
#include "log/linear_probing.h"

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

// DedupKey identifies "the same submission" together with prev_given: the
// canonical encoding of the entry with timestamp_ms 0 (and prev 0 unless the
// submitter fixed it). It zeroes those fields of `s.entry`; the sequencer
// sets them again. InvalidArgument if the entry does not encode.
StatusOr<Bytes> DedupKey(Submission& s) {
  s.entry.timestamp_ms = 0;
  if (!s.prev_given) s.entry.prev = 0;
  return core::EncodeEntry(s.entry);
}

// EntryBytes returns the canonical encoding of `e` from its dedup key by
// writing timestamp_ms and prev in place. DESIGN.md "Log entry": version(1)
// kind(1) user<1..255>(1+u) device<1..255>(1+d) timestamp_ms(8) prev(8) ...,
// so timestamp_ms starts at byte 4 + u + d. Equal to core::EncodeEntry(e)
// (the sequencer tests decode and re-encode every sequenced entry).
Bytes EntryBytes(const Bytes& key, const core::Entry& e) {
  Bytes b = key;
  size_t ts = 4 + e.user.size() + e.device.size();
  KT_CHECK(b.size() >= ts + 16);
  core::PutU64BE(b.data() + ts, e.timestamp_ms);
  core::PutU64BE(b.data() + ts + 8, e.prev);
  return b;
}

// kMaxQueuedBatches bounds the prepared batches waiting for the commit
// thread (besides the one it is committing): the sequencer prepares batch
// k+1 while batch k is being made durable, and waits when it is this far
// ahead.
constexpr size_t kMaxQueuedBatches = 2;

// kMaxSpare bounds the answered items kept for reuse by Submit.
constexpr size_t kMaxSpare = 8192;

// InflightUser is a user's state as the sequencer sees it: including the
// batches prepared but not yet durable. `state` is shared with those
// batches (IntegrationBatch::users) and so is immutable once a later batch
// is being prepared (copy on write: only a state whose seq is the batch
// being prepared is changed in place).
struct InflightUser {
  std::string name;  // IntegrationBatch::users views it while it is in flight
  size_t hash = 0;
  std::shared_ptr<UserState> state;  // null: reading it failed
  uint64_t seq = 0;          // last batch that read or changed it
  uint64_t changed_seq = 0;  // last batch that changed it
};

// InflightTable maps user ids to InflightUsers: open addressing (linear
// probing, backward-shift deletion, at most half full) over pooled users
// whose addresses never change and whose name buffers are reused, so a user
// entering and leaving the table allocates nothing in the steady state.
class InflightTable {
 public:
  InflightUser* Find(std::string_view name, size_t hash) const {
    if (slots_.empty()) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.user == nullptr) return nullptr;
      if (s.hash == hash && s.user->name == name) return s.user;
    }
  }
  // Insert adds `name` (absent) with an empty state and seq 0.
  InflightUser* Insert(std::string_view name, size_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    InflightUser* u;
    if (!free_.empty()) {
      u = free_.back();
      free_.pop_back();
    } else {
      u = &pool_.emplace_back();
    }
    u->name.assign(name);
    u->hash = hash;
    u->seq = u->changed_seq = 0;
    size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].user != nullptr) i = (i + 1) & mask;
    slots_[i] = Slot{hash, u};
    ++size_;
    return u;
  }
  // Erase removes `u` (from Find or Insert); its state is released and the
  // object is reused by a later Insert.
  void Erase(InflightUser* u) {
    size_t mask = slots_.size() - 1;
    size_t i = u->hash & mask;
    while (slots_[i].user != u) {
      KT_CHECK(slots_[i].user != nullptr);
      i = (i + 1) & mask;
    }
    EraseSlot(slots_, i, [](const Slot& s) { return s.user == nullptr; });
    --size_;
    u->state.reset();
    free_.push_back(u);
  }

 private:
  struct Slot {
    size_t hash = 0;
    InflightUser* user = nullptr;
  };
  void Grow() {
    std::vector<Slot> old(slots_.empty() ? 1024 : 2 * slots_.size());
    old.swap(slots_);
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.user == nullptr) continue;
      size_t i = s.hash & mask;
      while (slots_[i].user != nullptr) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  std::deque<InflightUser> pool_;  // every user object ever made (stable addresses)
  std::vector<InflightUser*> free_;
};

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
  // KeyRef is a by_key_ key: a view of an Item's key, its flag and hash.
  struct KeyRef {
    std::string_view key;
    bool prev_given;
    size_t hash;
    bool operator==(const KeyRef& o) const {
      // The same item's key (Answer's extract) needs no byte comparison.
      if (key.data() == o.key.data()) {
        return prev_given == o.prev_given && key.size() == o.key.size();
      }
      return prev_given == o.prev_given && key == o.key;
    }
  };
  struct KeyRefHash {
    size_t operator()(const KeyRef& k) const { return k.hash; }
  };
  struct Item {
    std::chrono::steady_clock::time_point submitted;
    Submission submission;
    Bytes key;         // DedupKey
    bool prev_given = false;  // submission.prev_given (the submission is
                              // released once the entry is prepared)
    size_t hash = 0;   // of key and prev_given, computed outside the lock
    DoneFn done;       // the first submitter
    std::vector<DoneFn> duplicates;  // identical submissions sharing the result
    // node: this item's by_key_ node once detached (Answer), reused by the
    // next Submit that recycles the item (no allocation per submission).
    std::unordered_map<KeyRef, Item*, KeyRefHash>::node_type node;
  };
  using ItemPtr = std::unique_ptr<Item>;
  static KeyRef RefOf(const Item& item) {
    return KeyRef{core::AsStringView(item.key), item.prev_given, item.hash};
  }
  // Prepared is a batch that is checked, hashed and signed: the sequencer
  // thread makes it, the commit thread makes it durable and answers it.
  struct Prepared {
    uint64_t seq = 0;  // batch number (1, 2, ...)
    std::chrono::steady_clock::time_point start;
    std::vector<ItemPtr> items;
    // verdicts[i]: OK if items[i] was accepted (accepted items get indexes
    // in item order), else what its submitters receive.
    std::vector<Status> verdicts;
    IntegrationBatch out;
    uint64_t size = 0;  // tree size once out is integrated
    Status commit;      // set by Commit: OK, or why the batch is not durable
    std::chrono::steady_clock::time_point durable;  // when Commit finished
  };

  void ArmTimer();
  // RunBatch prepares up to batch_max pending items and hands them to the
  // commit thread; false if none were pending.
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
  std::unique_ptr<Prepared> Prepare(std::vector<ItemPtr> items);
  // ResolveUsers points slots[i] at the in-flight state of items[i]'s user,
  // reading the users not in flight from storage in one call.
  void ResolveUsers(Prepared& p, std::vector<InflightUser*>& slots);
  // PruneInflight drops the users whose last batch is durable (storage has
  // their state now).
  void PruneInflight();
  // Enqueue hands a prepared batch to the commit thread (or commits it
  // inline when that thread does not run).
  void Enqueue(std::unique_ptr<Prepared> p);
  void CommitLoop();
  // Commit makes p durable (unless sequencing already failed), runs the
  // hook, and has p answered: on the sequencer thread while it runs (the
  // commit thread then only does the durable commits), else inline.
  void Commit(std::unique_ptr<Prepared> p);
  // Commit of a group: the batches' stores in one LogStorage::IntegrateGroup
  // (one durable commit), then each batch in order as above.
  void Commit(std::vector<std::unique_ptr<Prepared>> group);
  void Answer(Prepared& p);
  // Recycle clears answered items and keeps them (up to kMaxSpare) for
  // Submit; the rest are freed with `items`.
  void Recycle(std::vector<ItemPtr>& items);

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

  // Sequencer thread only (or the owner before Start / after the joins).
  core::TreeBuilder tree_;
  uint64_t last_timestamp_ = 0;
  uint64_t next_seq_ = 0;
  InflightTable inflight_;
  // touched_: per prepared batch, the in-flight users it read or changed,
  // for PruneInflight.
  std::deque<std::pair<uint64_t, std::vector<InflightUser*>>> touched_;
  std::atomic<uint64_t> committed_seq_{0};  // last durable batch (commit thread)

  asio::io_context io_;
  asio::steady_timer timer_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  bool stopped_ = false;  // owner thread only

  // The commit thread and its queue.
  std::thread commit_thread_;
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::deque<std::unique_ptr<Prepared>> commit_queue_;  // commit_mu_
  bool commit_stop_ = false;                             // commit_mu_
  // answer_on_io_: Commit posts the answers to io_ (the sequencer thread).
  std::atomic<bool> answer_on_io_{false};

  mutable std::mutex mu_;
  std::deque<ItemPtr> pool_;                          // guarded by mu_
  // by_key_ maps each pending or in-batch item's key (a view of its own
  // Item::key) to the item.
  std::unordered_map<KeyRef, Item*, KeyRefHash> by_key_;  // mu_
  // spare_: answered items kept for reuse by Submit (at most kMaxSpare).
  // Recycling returns an item's heap parts (its key, the previous entry's
  // strings, its by_key_ node) to the submitting thread, which frees or
  // reuses them, instead of one allocation per submission on the submitter
  // and a free from another thread on the sequencer.
  std::mutex spare_mu_;
  std::vector<ItemPtr> spare_;  // spare_mu_
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
  answer_on_io_ = true;
  commit_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kt-commit");
    CommitLoop();
  });
  ArmTimer();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kt-sequencer");
    io_.run();
  });
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
    answer_on_io_ = false;  // the commit thread answers what is left itself
    {
      std::lock_guard lock(commit_mu_);
      commit_stop_ = true;
    }
    commit_cv_.notify_all();
    commit_thread_.join();
    // Answers posted after the sequencer thread returned.
    io_.restart();
    io_.run();
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
  // Build the item outside the lock: the critical section stays short. A
  // recycled item hands its old key and entry strings to `key` and
  // `submission`, freed here on the submitting thread that made them.
  ItemPtr item;
  {
    std::lock_guard lock(spare_mu_);
    if (!spare_.empty()) {
      item = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  if (!item) item = std::make_unique<Item>();
  item->submitted = std::chrono::steady_clock::now();
  std::swap(item->key, key.value());
  item->prev_given = submission.prev_given;
  item->hash = std::hash<std::string_view>()(core::AsStringView(item->key)) +
               (submission.prev_given ? 1 : 0);
  std::swap(item->submission, submission);
  item->done = std::move(done);
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
      Item* existing = nullptr;
      if (!item->node.empty()) {
        item->node.key() = RefOf(*item);
        item->node.mapped() = item.get();
        auto r = by_key_.insert(std::move(item->node));
        if (!r.inserted) {
          item->node = std::move(r.node);
          existing = r.position->second;
        }
      } else {
        auto [it, fresh] = by_key_.try_emplace(RefOf(*item), item.get());
        if (!fresh) existing = it->second;
      }
      if (existing != nullptr) {
        existing->duplicates.push_back(std::move(item->done));
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
  item->done(refuse);
}

bool Sequencer::Impl::RunBatch() {
  std::vector<ItemPtr> items;
  {
    std::lock_guard lock(mu_);
    size_t n = std::min(pool_.size(), options_.batch_max);
    items.reserve(n);
    for (size_t i = 0; i < n; ++i) items.push_back(std::move(pool_[i]));
    pool_.erase(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (items.empty()) return false;
  Enqueue(Prepare(std::move(items)));
  return true;
}

void Sequencer::Impl::PruneInflight() {
  uint64_t durable = committed_seq_.load(std::memory_order_acquire);
  while (!touched_.empty() && touched_.front().first <= durable) {
    uint64_t seq = touched_.front().first;
    // A user touched again by a later batch stays (its seq moved on).
    for (InflightUser* user : touched_.front().second) {
      if (user->seq == seq) inflight_.Erase(user);
    }
    touched_.pop_front();
  }
}

void Sequencer::Impl::ResolveUsers(Prepared& p, std::vector<InflightUser*>& slots) {
  std::vector<std::string_view> missing;
  std::vector<InflightUser*> touched, missing_slots;
  slots.resize(p.items.size());
  for (size_t i = 0; i < p.items.size(); ++i) {
    const std::string& name = p.items[i]->submission.entry.user;
    size_t hash = std::hash<std::string_view>()(name);
    InflightUser* user = inflight_.Find(name, hash);
    if (user == nullptr) {
      user = inflight_.Insert(name, hash);
      missing.push_back(user->name);
      missing_slots.push_back(user);
    }
    if (user->seq != p.seq) {
      user->seq = p.seq;
      touched.push_back(user);
    }
    slots[i] = user;
  }
  if (!missing.empty()) {
    std::vector<UserState> states;
    Status s = storage_.ReadUsers(missing, &states);
    for (size_t k = 0; k < missing.size() && s.ok(); ++k) {
      missing_slots[k]->state = std::make_shared<UserState>(std::move(states[k]));
    }
    if (!s.ok()) {
      for (size_t i = 0; i < p.items.size(); ++i) {
        if (!slots[i]->state) p.verdicts[i] = s;
      }
    }
  }
  touched_.emplace_back(p.seq, std::move(touched));
}

std::unique_ptr<Sequencer::Impl::Prepared> Sequencer::Impl::Prepare(std::vector<ItemPtr> items) {
  auto p = std::make_unique<Prepared>();
  p->start = std::chrono::steady_clock::now();
  p->items = std::move(items);
  p->verdicts.assign(p->items.size(), Status());
  {
    std::lock_guard lock(mu_);
    if (!fatal_.ok()) {
      p->verdicts.assign(p->items.size(),
                         Status::Unavailable("sequencer stopped: " + fatal_.message()));
      return p;
    }
  }
  PruneInflight();
  p->seq = ++next_seq_;
  std::vector<InflightUser*> slots;
  ResolveUsers(*p, slots);
  last_timestamp_ = std::max(last_timestamp_, options_.now_ms());
  IntegrationBatch& out = p->out;
  out.first_index = tree_.size();
  out.witnessed = options_.checkpoints_witnessed;
  out.entries.reserve(p->items.size());
  for (size_t i = 0; i < p->items.size(); ++i) {
    if (!p->verdicts[i].ok()) continue;  // the user's state could not be read
    Item& item = *p->items[i];
    core::Entry& candidate = item.submission.entry;
    candidate.timestamp_ms = last_timestamp_;
    InflightUser& user = *slots[i];
    if (!item.submission.prev_given) candidate.prev = user.state->NextPrev();
    if (item.submission.check) {
      Status s = item.submission.check(candidate, *user.state);
      if (!s.ok()) {
        if (metrics_.rejected_check != nullptr) metrics_.rejected_check->Inc();
        p->verdicts[i] = std::move(s);
        continue;
      }
    }
    Bytes bytes = EntryBytes(item.key, candidate);
    if (user.changed_seq != p->seq) {
      // First change in this batch: earlier batches may share the state.
      if (user.changed_seq != 0 || user.state.use_count() > 1) {
        user.state = std::make_shared<UserState>(*user.state);
      }
      user.changed_seq = p->seq;
      // A view of the in-flight user's name: it stays until this batch is
      // durable (PruneInflight), so past the Integrate that reads it.
      out.users.emplace_back(user.name, user.state);
    }
    user.state->Apply(tree_.size(), candidate);
    tree_.Append(core::RecordHash(bytes), &out.stored_hashes);
    out.entries.push_back(std::move(bytes));
    // The check may hold resources of its submitter: release it now. The
    // entry's strings stay with the item until Submit recycles it.
    item.submission.check = nullptr;
  }
  p->size = tree_.size();
  if (out.entries.empty()) return p;
  out.root = tree_.Root();
  auto checkpoint = signer_(tree_.size(), out.root);
  if (!checkpoint.ok()) {
    // Nothing of this batch is stored, but the in-memory tree moved: stop
    // for good, as for a failed commit.
    std::lock_guard lock(mu_);
    fatal_ = checkpoint.status();
    for (Status& v : p->verdicts) {
      if (v.ok()) v = Status::Unavailable("integration failed: " + fatal_.message());
    }
    out.entries.clear();
    return p;
  }
  out.checkpoint = std::move(checkpoint).value();
  return p;
}

void Sequencer::Impl::Enqueue(std::unique_ptr<Prepared> p) {
  if (!commit_thread_.joinable()) {
    Commit(std::move(p));
    return;
  }
  std::unique_lock lock(commit_mu_);
  commit_cv_.wait(lock, [this] { return commit_queue_.size() < kMaxQueuedBatches; });
  commit_queue_.push_back(std::move(p));
  commit_cv_.notify_all();
}

void Sequencer::Impl::CommitLoop() {
  while (true) {
    std::vector<std::unique_ptr<Prepared>> group;
    {
      std::unique_lock lock(commit_mu_);
      commit_cv_.wait(lock, [this] { return !commit_queue_.empty() || commit_stop_; });
      if (commit_queue_.empty()) return;  // stopping and drained
      // Every batch that queued up during the previous commit goes into one
      // durable commit (group commit: one fsync for all of them).
      while (!commit_queue_.empty()) {
        group.push_back(std::move(commit_queue_.front()));
        commit_queue_.pop_front();
      }
    }
    commit_cv_.notify_all();  // room for the sequencer
    Commit(std::move(group));
  }
}

void Sequencer::Impl::Commit(std::unique_ptr<Prepared> p) {
  std::vector<std::unique_ptr<Prepared>> one;
  one.push_back(std::move(p));
  Commit(std::move(one));
}

void Sequencer::Impl::Commit(std::vector<std::unique_ptr<Prepared>> group) {
  std::vector<const IntegrationBatch*> outs;
  {
    std::lock_guard lock(mu_);
    for (auto& p : group) {
      if (p->out.entries.empty()) continue;
      if (!fatal_.ok()) {
        p->commit = Status::Unavailable("sequencer stopped: " + fatal_.message());
      } else {
        outs.push_back(&p->out);
      }
    }
  }
  if (!outs.empty()) {
    Status s = storage_.IntegrateGroup(outs);
    if (!s.ok()) {
      // The outcome on disk is unknown: stop for good (see the top).
      std::lock_guard lock(mu_);
      fatal_ = s;
      for (auto& p : group) {
        if (!p->out.entries.empty() && p->commit.ok()) {
          p->commit = Status::Unavailable("integration failed: " + s.message());
        }
      }
    }
  }
  for (auto& p : group) {
    if (!p->out.entries.empty() && p->commit.ok()) {
      committed_seq_.store(p->seq, std::memory_order_release);
      if (metrics_.entries != nullptr) {
        metrics_.entries->Inc(p->out.entries.size());
        metrics_.batch_entries->Observe(static_cast<double>(p->out.entries.size()));
        metrics_.integration_seconds->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - p->start).count());
      }
      if (on_integrated_) on_integrated_(p->out.checkpoint, p->size);
    }
    p->durable = std::chrono::steady_clock::now();
    if (answer_on_io_) {
      std::shared_ptr<Prepared> shared = std::move(p);
      asio::post(io_, [this, shared] { Answer(*shared); });
    } else {
      Answer(*p);
    }
  }
}

void Sequencer::Impl::Answer(Prepared& p) {
  auto end = p.durable;
  const Status& commit = p.commit;
  bool integrated = !p.out.entries.empty() && commit.ok();
  // Detach the items under the lock: a duplicate that arrives from now on
  // is a new submission, and nothing else touches these items.
  {
    std::lock_guard lock(mu_);
    for (const ItemPtr& item : p.items) {
      item->node = by_key_.extract(RefOf(*item));
      waiting_ -= 1 + item->duplicates.size();
    }
  }
  uint64_t next_index = p.out.first_index;
  for (size_t i = 0; i < p.items.size(); ++i) {
    Item& item = *p.items[i];
    auto answer = [&](StatusOr<SequencedEntry> result) {
      for (DoneFn& d : item.duplicates) d(result);
      item.done(std::move(result));
    };
    if (!p.verdicts[i].ok()) {
      answer(std::move(p.verdicts[i]));
      continue;
    }
    uint64_t index = next_index++;
    if (!integrated) {
      answer(commit.ok() ? Status::Internal("not integrated") : commit);
      continue;
    }
    if (metrics_.time_to_integrate != nullptr) {
      metrics_.time_to_integrate->Observe(
          std::chrono::duration<double>(end - item.submitted).count());
    }
    SequencedEntry e;
    e.index = index;
    e.entry = std::move(p.out.entries[index - p.out.first_index]);
    e.checkpoint_size = p.size;
    e.checkpoint = p.out.checkpoint;
    answer(std::move(e));
  }
  Recycle(p.items);
}

void Sequencer::Impl::Recycle(std::vector<ItemPtr>& items) {
  for (ItemPtr& item : items) {
    item->done = nullptr;  // may hold its submitter's resources
    item->duplicates.clear();
    item->submission.check = nullptr;
  }
  std::lock_guard lock(spare_mu_);
  for (ItemPtr& item : items) {
    if (spare_.size() >= kMaxSpare) break;
    spare_.push_back(std::move(item));
  }
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
