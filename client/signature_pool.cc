// SPDX-License-Identifier: Apache-2.0
// Parallel, ordered signature verification for the auditor.
#include "client/signature_pool.h"

#include <algorithm>

namespace kt::client {

using core::Status;

SignaturePool::SignaturePool(int threads, size_t max_batches)
    : max_batches_(std::max<size_t>(max_batches, 1)) {
  for (int t = 0; t < std::max(threads, 1); t++) workers_.emplace_back([this] { Work(); });
}

SignaturePool::~SignaturePool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

uint64_t SignaturePool::Submit(std::vector<SignatureCheck>* batch) {
  std::unique_lock<std::mutex> lock(mu_);
  if (batch->empty()) return next_seq_;
  cv_.wait(lock, [&] { return queue_.size() + in_progress_ < max_batches_ || first_bad_.has_value(); });
  const uint64_t seq = next_seq_++;
  done_.push_back(false);
  if (first_bad_.has_value()) {
    // Dropped: a failure precedes it, and Finish reports that one.
    done_[seq] = true;
    batch->clear();
    return next_seq_;
  }
  queue_.push_back(Job{seq, std::move(*batch)});
  batch->clear();
  lock.unlock();
  cv_.notify_all();
  return next_seq_;
}

void SignaturePool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    if (first_bad_.has_value() && job.seq > first_bad_->first) {
      done_[job.seq] = true;  // after the failure: not needed
      cv_.notify_all();
      continue;
    }
    in_progress_++;
    lock.unlock();
    // In order within the batch: the first failure is the one to report.
    std::optional<std::pair<size_t, Status>> bad;
    for (size_t i = 0; i < job.checks.size() && !bad; i++) {
      Status s = job.checks[i].Run();
      if (!s.ok()) bad.emplace(i, std::move(s));
    }
    lock.lock();
    in_progress_--;
    done_[job.seq] = true;
    if (bad.has_value()) {
      std::pair<uint64_t, size_t> at{job.seq, bad->first};
      if (!first_bad_.has_value() || at < *first_bad_) {
        first_bad_ = at;
        first_status_ = std::move(bad->second);
      }
    }
    while (verified_ < done_.size() && done_[verified_] &&
           !(first_bad_.has_value() && first_bad_->first == verified_)) {
      verified_++;
    }
    cv_.notify_all();
  }
}

uint64_t SignaturePool::Verified() const {
  std::lock_guard<std::mutex> lock(mu_);
  return verified_;
}

bool SignaturePool::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_bad_.has_value();
}

Status SignaturePool::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && in_progress_ == 0; });
  return first_bad_.has_value() ? first_status_ : Status();
}

}  // namespace kt::client
