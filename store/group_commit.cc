// SPDX-License-Identifier: Apache-2.0
// Group commit of LMDB write operations, leader/follower (see
// group_commit.h). Used by the witness (compare-and-swap of checkpoints) and
// by ktlog's prekey directory and mailbox.
#include "store/group_commit.h"

#include <cstddef>
#include <utility>
#include <vector>

namespace kt::store {

using core::Status;

GroupCommitter::GroupCommitter(Env* env, Options options)
    : env_(env), options_(std::move(options)) {
  KT_CHECK(options_.max_batch > 0);
}

GroupCommitter::~GroupCommitter() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  // Every queued op has a caller inside Run, and some caller leads while the
  // queue is not empty, so this wait ends.
  idle_cv_.wait(lock, [&] { return queue_.empty() && !committing_; });
}

Status GroupCommitter::Run(Op op) {
  Pending p;
  p.op = std::move(op);
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return Status::Unavailable("shutting down");
  queue_.push_back(&p);
  while (!p.done) {
    if (!committing_) {
      Lead(lock, &p);
    } else {
      // Woken when our op is done, or (by the last leader) to lead.
      p.cv.wait(lock);
    }
  }
  return p.result;
}

void GroupCommitter::Lead(std::unique_lock<std::mutex>& lock, Pending* self) {
  // Our op may not fit the first batch (max_batch); lead until it is done.
  while (!self->done && !queue_.empty()) {
    committing_ = true;
    std::vector<Pending*> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    CommitBatch(batch);
    if (options_.on_commit) options_.on_commit(batch.size());
    lock.lock();
    committing_ = false;
    ++batches_;
    ops_ += batch.size();
    // Results are published only now, after Update returned, i.e. after
    // mdb_txn_commit synced the batch to disk. Each waiter is notified while
    // mu_ is held, so it cannot return (and destroy its Pending) before the
    // notify is done.
    for (Pending* p : batch) {
      p->done = true;
      if (p != self) p->cv.notify_one();
    }
  }
  // Hand the next batch to the oldest waiting caller.
  if (!queue_.empty()) {
    queue_.front()->cv.notify_one();
  } else {
    idle_cv_.notify_all();
  }
}

void GroupCommitter::CommitBatch(std::vector<Pending*>& batch) {
  // Ops run in arrival order in one txn, so each sees the writes of the ones
  // before it.
  std::vector<Pending*> live(batch.begin(), batch.end());
  while (!live.empty()) {
    size_t failed = live.size();
    Status commit = env_->Update([&](Txn& txn) -> Status {
      for (size_t i = 0; i < live.size(); ++i) {
        live[i]->result = Status();
        Status s = live[i]->op(txn, &live[i]->result);
        if (!s.ok()) {
          failed = i;
          return s;
        }
      }
      return Status();
    });
    if (commit.ok()) return;
    if (failed == live.size()) {
      // The commit itself failed: nothing of this batch is on disk, so no op
      // may report success.
      for (Pending* p : live) p->result = commit;
      return;
    }
    // One op hit a storage error and aborted the txn: it gets the error, the
    // others are retried in a fresh txn (each retry drops one op, so this
    // loop ends).
    live[failed]->result = commit;
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(failed));
  }
}

uint64_t GroupCommitter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

uint64_t GroupCommitter::ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_;
}

size_t GroupCommitter::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace kt::store
