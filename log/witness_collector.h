// SPDX-License-Identifier: Apache-2.0
// WitnessCollector: the log side of c2sp.org/tlog-witness. After each
// integration it sends the new log-signed checkpoint with a consistency proof
// (`POST <url>/add-checkpoint`) to every witness of the log's own tlog-policy
// in parallel, with deadlines; verifies each returned cosignature/v1 line
// with the policy's witness key; and publishes the checkpoint with the
// collected cosignatures (LogStorage::PublishWitnessed, served as
// /checkpoint) as soon as the policy's quorum holds (DESIGN.md "Witnessed
// checkpoints"). Without a policy, or with `quorum none`, every checkpoint is
// published as soon as it is integrated.
//
// Rounds. A round is one checkpoint offered to every witness. A new round
// starts with the newest integrated checkpoint once the current round is
// published, or after `round_timeout` without quorum (so a log whose
// witnesses are down keeps offering its newest checkpoint). Each witness has
// its own thread and takes the current round when it is free, so a slow or
// down witness only ever delays itself: the round is published as soon as the
// quorum's cosignatures are in, and the slow one catches up with the newest
// round when it answers. Witnesses that failed retry the current round after
// `retry_backoff` until it is published.
//
// Witness state. The log tracks each witness's last cosigned size (the `old`
// of the next request). It starts at 0; a 409 answer carries the witness's
// stored size (text/x.tlog.size), which re-syncs it, and the request is
// retried once at once.
#ifndef KT_LOG_WITNESS_COLLECTOR_H_
#define KT_LOG_WITNESS_COLLECTOR_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/policy.h"
#include "core/status.h"
#include "log/storage.h"

namespace kt::net {
class HttpClient;
class Registry;
}  // namespace kt::net

namespace kt::log {

struct WitnessCollectorOptions {
  // request_timeout is the deadline of one add-checkpoint request (connect,
  // write and read each).
  std::chrono::milliseconds request_timeout{3000};
  // round_timeout: how long a round without quorum holds back a newer one.
  std::chrono::milliseconds round_timeout{3000};
  // retry_backoff: pause before a failed witness retries the current round.
  std::chrono::milliseconds retry_backoff{500};
  // max_future_skew: cosignatures dated further in the future are ignored
  // (clients do not count them, DESIGN.md "Trust policy").
  std::chrono::seconds max_future_skew{600};
};

// WitnessOutcome names the metric label of one add-checkpoint attempt.
enum class WitnessOutcome { kCosigned, kConflict, kInvalidCosignature, kRejected, kUnavailable, kAhead };

// WitnessCollector is thread-safe. `storage` (and `metrics`, if not null)
// must outlive it.
class WitnessCollector {
 public:
  // Create checks the policy: InvalidArgument when the quorum cannot be met
  // by the witnesses that have a URL. nullopt = no policy (quorum none).
  static StatusOr<std::unique_ptr<WitnessCollector>> Create(
      LogStorage& storage, std::optional<core::Policy> policy,
      WitnessCollectorOptions options = {}, net::Registry* metrics = nullptr);
  ~WitnessCollector();  // Stop()
  WitnessCollector(const WitnessCollector&) = delete;
  WitnessCollector& operator=(const WitnessCollector&) = delete;

  // SetOnPublished installs a hook called after each successful
  // publication (on the publishing thread, no lock held), e.g. to export
  // static files. Call before Start.
  void SetOnPublished(std::function<void(const std::string& note, uint64_t size)> fn);

  // Start launches one thread per witness and offers the stored head if it
  // is not yet witnessed (e.g. after a restart). Stop joins the threads (an
  // in-flight request may take up to request_timeout). Both idempotent.
  Status Start();
  void Stop();

  // OnIntegrated offers a newly integrated checkpoint (the Sequencer's
  // on-integrated hook). Does not block on the network; with quorum none it
  // publishes synchronously (one durable write).
  void OnIntegrated(const std::string& signed_checkpoint, uint64_t size);

  // WaitWitnessed blocks until a checkpoint of at least `min_size` has been
  // published or `deadline` passes (or Stop), and reports whether it was.
  bool WaitWitnessed(uint64_t min_size, std::chrono::steady_clock::time_point deadline);

  // QuorumWithoutWitnesses: no policy, or a quorum that holds with no
  // cosignature; every log-signed checkpoint is then published as witnessed.
  bool QuorumWithoutWitnesses() const;

  // witnessed_size is the largest size published by this collector (or
  // found in storage at Start).
  uint64_t witnessed_size() const;

  // witness_size returns the tracked cosigned size of the named witness
  // (nullopt for an unknown name). For tests and diagnostics.
  std::optional<uint64_t> witness_size(const std::string& name) const;

 private:
  struct Round;
  struct Witness;
  WitnessCollector(LogStorage& storage, std::optional<core::Policy> policy,
                   WitnessCollectorOptions options, net::Registry* metrics);
  void WorkerLoop(Witness& w);
  void MaybeAdvanceLocked(std::chrono::steady_clock::time_point now);
  struct AttemptResult;
  struct Publication {
    std::string note;
    uint64_t size = 0;
    size_t cosignatures = 0;
  };
  AttemptResult Attempt(Witness& w, const Round& round);
  AttemptResult VerifyAnswer(const Witness& w, const Round& round, const std::string& answer,
                             uint64_t old_size) const;
  StatusOr<std::string> RequestBody(uint64_t old_size, const Round& round);
  // Record applies an attempt's result (mu_ held) and returns what to publish.
  std::optional<Publication> Record(Witness& w, Round& round, AttemptResult result);
  void Publish(const std::string& note, uint64_t size, size_t cosignatures);

  LogStorage& storage_;
  std::optional<core::Policy> policy_;
  WitnessCollectorOptions options_;
  net::Registry* metrics_;
  std::unique_ptr<net::HttpClient> client_;
  std::function<void(const std::string&, uint64_t)> on_published_;

  mutable std::mutex mu_;
  std::condition_variable cv_;            // rounds and stop, for workers
  std::condition_variable witnessed_cv_;  // publications, for WaitWitnessed
  bool started_ = false;
  bool stop_ = false;
  uint64_t next_round_id_ = 1;
  std::shared_ptr<Round> round_;   // current round (null before the first)
  std::shared_ptr<Round> latest_;  // newest integrated checkpoint offered
  uint64_t witnessed_size_ = 0;
  bool witnessed_any_ = false;
  std::vector<std::unique_ptr<Witness>> witnesses_;
  std::vector<std::thread> threads_;
  std::mutex publish_mu_;  // serialises PublishWitnessed and guards:
  bool published_any_ = false;
  uint64_t published_size_ = 0;
  size_t published_cosignatures_ = 0;
};

}  // namespace kt::log

#endif  // KT_LOG_WITNESS_COLLECTOR_H_
