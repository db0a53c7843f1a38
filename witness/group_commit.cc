// SPDX-License-Identifier: Apache-2.0
// Group commit of witness compare-and-swap operations (see group_commit.h).
#include "witness/group_commit.h"

#include <cstddef>
#include <utility>
#include <vector>

namespace kt::witness {

using core::Status;

GroupCommitter::GroupCommitter(store::Env* env, Options options)
    : env_(env), options_(options) {
  KT_CHECK(options_.max_batch > 0);
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

Status GroupCommitter::Run(Op op) {
  Pending p;
  p.op = std::move(op);
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return Status::Unavailable("witness is shutting down");
  queue_.push_back(&p);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return p.done; });
  return p.result;
}

void GroupCommitter::Loop() {
  std::deque<Pending*> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    CommitBatch(batch);
    if (options_.on_commit) options_.on_commit(batch.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Pending* p : batch) p->done = true;
      ++batches_;
      ops_ += batch.size();
    }
    done_cv_.notify_all();
    batch.clear();
  }
}

void GroupCommitter::CommitBatch(std::deque<Pending*>& batch) {
  // Ops run in arrival order in one txn, so each sees the writes of the ones
  // before it. Results are only published (done = true) by Loop after Update
  // returned, i.e. after mdb_txn_commit synced the batch to disk.
  std::vector<Pending*> live(batch.begin(), batch.end());
  while (!live.empty()) {
    size_t failed = live.size();
    Status commit = env_->Update([&](store::Txn& txn) -> Status {
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

}  // namespace kt::witness

namespace kt::witness {

size_t GroupCommitter::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace kt::witness
