// SPDX-License-Identifier: Apache-2.0
// SignaturePool verifies the signatures an auditor's replay defers
// (replay.h SignatureCheck) on worker threads while the replay goes on:
// batches go through a bounded queue, so memory stays bounded and the
// replay waits when the workers fall behind. Failures are reported as a
// sequential run would meet them: the first failing check in submission
// order (checks are submitted in log order, then Apply order).
#ifndef KT_CLIENT_SIGNATURE_POOL_H_
#define KT_CLIENT_SIGNATURE_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client/replay.h"
#include "core/status.h"

namespace kt::client {

class SignaturePool {
 public:
  // SignaturePool starts `threads` workers (at least 1); at most
  // `max_batches` submitted batches wait or are being verified.
  SignaturePool(int threads, size_t max_batches);
  ~SignaturePool();  // stops after the batches in progress; drops the rest
  SignaturePool(const SignaturePool&) = delete;
  SignaturePool& operator=(const SignaturePool&) = delete;

  // Submit hands a batch to the workers (moved from; empty batches are
  // ignored) and returns the number of batches submitted so far: once
  // Verified() reaches it, every check submitted until now verified. Blocks while the queue is full.
  // Once a failure is known, later batches are dropped unverified (the
  // failure comes before them). Thread-safe with respect to the workers;
  // one submitting thread.
  uint64_t Submit(std::vector<SignatureCheck>* batch);
  // Verified returns the number of batches, from the first, that were all
  // verified (every check good). Batches before it may be trusted.
  uint64_t Verified() const;
  // failed is true once some check failed (a caller may stop early).
  bool failed() const;
  // Finish waits for every submitted batch. OK, or the failure of the first
  // failing check in submission order.
  core::Status Finish();

 private:
  struct Job {
    uint64_t seq = 0;
    std::vector<SignatureCheck> checks;
  };
  void Work();

  const size_t max_batches_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t in_progress_ = 0;
  uint64_t next_seq_ = 0;
  std::vector<bool> done_;     // by seq: verified (good or bad)
  uint64_t verified_ = 0;      // prefix of done_ with no failure
  // The first failure: (batch seq, position) and its Status.
  std::optional<std::pair<uint64_t, size_t>> first_bad_;
  core::Status first_status_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_SIGNATURE_POOL_H_
