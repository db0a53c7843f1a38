// SPDX-License-Identifier: Apache-2.0
// WitnessCollector: c2sp.org/tlog-witness add-checkpoint fan-out, cosignature
// verification and quorum publication. See witness_collector.h for rounds.
#include "log/witness_collector.h"

#include <map>
#include <set>
#include <utility>

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/cosignature.h"
#include "core/encoding.h"
#include "core/merkle.h"
#include "core/note.h"
#include "net/http_client.h"
#include "net/metrics.h"

namespace kt::log {

using Clock = std::chrono::steady_clock;

// Round is one checkpoint offered to every witness. Mutable fields are
// guarded by WitnessCollector::mu_.
struct WitnessCollector::Round {
  uint64_t id = 0;
  uint64_t size = 0;
  std::string checkpoint;  // log-signed note
  std::string text;        // its checkpoint text (what cosignatures cover)
  Clock::time_point start;
  std::map<std::string, core::NoteSignature> cosignatures;  // by witness name
  bool published = false;
};

// AttemptResult is one witness's answer for a round.
struct WitnessCollector::AttemptResult {
  WitnessOutcome outcome = WitnessOutcome::kUnavailable;
  uint64_t witness_size = 0;  // the witness's size as we now know it
  std::optional<core::NoteSignature> cosignature;  // verified, when kCosigned
};

// Witness is one policy witness with a URL. Mutable fields: mu_.
struct WitnessCollector::Witness {
  const core::PolicyWitness* policy = nullptr;  // into policy_
  std::string url;                              // <url>/add-checkpoint
  uint64_t size = 0;              // last size it cosigned (or told us)
  uint64_t done_round = 0;        // last round it succeeded on (or gave up)
  uint64_t failed_round = 0;      // last round it failed on
  Clock::time_point retry_at{};   // when to retry failed_round
};

namespace {

const char* OutcomeName(WitnessOutcome o) {
  switch (o) {
    case WitnessOutcome::kCosigned: return "cosigned";
    case WitnessOutcome::kConflict: return "conflict";
    case WitnessOutcome::kInvalidCosignature: return "invalid_cosignature";
    case WitnessOutcome::kRejected: return "rejected";
    case WitnessOutcome::kUnavailable: return "unavailable";
    case WitnessOutcome::kAhead: return "ahead";
  }
  return "unknown";
}

// NoteText returns the text part of a signed note (up to the blank line).
StatusOr<std::string> NoteText(const std::string& signed_note) {
  KT_ASSIGN_OR_RETURN(core::Note note, core::ParseNote(signed_note));
  return note.text;
}

}  // namespace

WitnessCollector::WitnessCollector(LogStorage& storage, std::optional<core::Policy> policy,
                                   WitnessCollectorOptions options, net::Registry* metrics)
    : storage_(storage), policy_(std::move(policy)), options_(options), metrics_(metrics) {
  net::HttpClientOptions http;
  http.connect_timeout = options_.request_timeout;
  http.read_timeout = options_.request_timeout;
  http.write_timeout = options_.request_timeout;
  http.max_body_bytes = size_t{64} << 10;  // cosignature lines only
  http.max_idle_per_host = 2;
  client_ = std::make_unique<net::HttpClient>(http);
}

StatusOr<std::unique_ptr<WitnessCollector>> WitnessCollector::Create(
    LogStorage& storage, std::optional<core::Policy> policy, WitnessCollectorOptions options,
    net::Registry* metrics) {
  std::unique_ptr<WitnessCollector> c(
      new WitnessCollector(storage, std::move(policy), options, metrics));
  if (c->policy_) {
    std::set<std::string> reachable;
    for (const core::PolicyWitness& pw : c->policy_->witnesses) {
      if (pw.url.empty()) continue;
      auto url = net::ParseUrl(pw.url);
      if (!url.ok()) {
        return Status::InvalidArgument("witness " + pw.name + ": bad URL: " +
                                       url.status().message());
      }
      auto w = std::make_unique<Witness>();
      w->policy = &pw;
      w->url = net::JoinUrl(pw.url, "add-checkpoint");
      c->witnesses_.push_back(std::move(w));
      reachable.insert(pw.name);
    }
    if (!core::QuorumSatisfied(*c->policy_, reachable)) {
      return Status::InvalidArgument(
          "witness policy: the quorum cannot be met by the witnesses that have a URL");
    }
  }
  return c;
}

WitnessCollector::~WitnessCollector() { Stop(); }

bool WitnessCollector::QuorumWithoutWitnesses() const {
  return !policy_ || core::QuorumSatisfied(*policy_, {});
}

Status WitnessCollector::Start() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (started_) return Status();
    started_ = true;
  }
  KT_ASSIGN_OR_RETURN(TreeState head, storage_.ReadTreeState());
  {
    std::lock_guard<std::mutex> lk(mu_);
    witnessed_size_ = head.witnessed_size;
    witnessed_any_ = !head.witnessed_checkpoint.empty();
  }
  for (auto& w : witnesses_) {
    Witness* wp = w.get();
    threads_.emplace_back([this, wp] { WorkerLoop(*wp); });
  }
  // Offer the stored head when it is not witnessed yet (a fresh log, or a
  // crash between integration and quorum).
  if (!head.checkpoint.empty() && (!witnessed_any_ || head.witnessed_size < head.size)) {
    OnIntegrated(head.checkpoint, head.size);
  }
  return Status();
}

void WitnessCollector::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  witnessed_cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WitnessCollector::OnIntegrated(const std::string& signed_checkpoint, uint64_t size) {
  auto text = NoteText(signed_checkpoint);
  KT_CHECK(text.ok());  // the sequencer signed it: a bad note is a bug
  auto r = std::make_shared<Round>();
  r->size = size;
  r->checkpoint = signed_checkpoint;
  r->text = std::move(text).value();
  if (QuorumWithoutWitnesses()) {
    // quorum none: the log-signed checkpoint is already "witnessed".
    Publish(signed_checkpoint, size, 0);
    r->published = true;
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (latest_ && latest_->size >= size) return;
  latest_ = std::move(r);
  MaybeAdvanceLocked(Clock::now());
}

void WitnessCollector::MaybeAdvanceLocked(Clock::time_point now) {
  if (!latest_) return;
  if (round_ && latest_->size <= round_->size) return;
  if (round_ && !round_->published && now - round_->start < options_.round_timeout) return;
  latest_->id = next_round_id_++;
  latest_->start = now;
  round_ = latest_;
  cv_.notify_all();
}

void WitnessCollector::WorkerLoop(Witness& w) {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    Clock::time_point now = Clock::now();
    MaybeAdvanceLocked(now);
    std::shared_ptr<Round> r = round_;
    // Each round is offered once; a failed attempt is retried after the
    // backoff only while the round still lacks its quorum.
    bool ready = r && w.done_round != r->id &&
                 (w.failed_round != r->id || (now >= w.retry_at && !r->published));
    if (!ready) {
      // Bounded wait: rounds also advance on a timer (round_timeout).
      cv_.wait_for(lk, std::chrono::milliseconds(50));
      continue;
    }
    lk.unlock();
    AttemptResult result = Attempt(w, *r);
    lk.lock();
    std::optional<Publication> pub = Record(w, *r, std::move(result));
    if (pub) {
      lk.unlock();
      Publish(pub->note, pub->size, pub->cosignatures);
      lk.lock();
    }
  }
}

StatusOr<std::string> WitnessCollector::RequestBody(uint64_t old_size, const Round& round) {
  // tlog-witness §add-checkpoint: "old <size>", one base64 consistency proof
  // hash per line (RFC 6962 §2.1.2), a blank line, the signed checkpoint.
  KT_ASSIGN_OR_RETURN(std::vector<Hash> proof, core::ProveTree(round.size, old_size, storage_));
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const Hash& h : proof) body += core::Base64Encode(h) + "\n";
  body += "\n";
  body += round.checkpoint;
  return body;
}

WitnessCollector::AttemptResult WitnessCollector::Attempt(Witness& w, const Round& round) {
  uint64_t old_size;
  {
    std::lock_guard<std::mutex> lk(mu_);
    old_size = w.size;
  }
  // Two tries at most: the second only after a 409 re-synced the size.
  for (int attempt = 0; attempt < 2; attempt++) {
    if (old_size > round.size) return {WitnessOutcome::kAhead, old_size, {}};
    auto body = RequestBody(old_size, round);
    if (!body.ok()) return {WitnessOutcome::kUnavailable, old_size, {}};
    Clock::time_point t0 = Clock::now();
    auto resp = client_->Post(w.url, *body, "text/plain; charset=utf-8");
    if (metrics_ != nullptr) {
      metrics_
          ->GetHistogram("kt_witness_request_seconds", "add-checkpoint request latency.",
                         {{"witness", w.policy->name}})
          .Observe(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    if (!resp.ok()) return {WitnessOutcome::kUnavailable, old_size, {}};
    if (resp->status == 409 && resp->Header("Content-Type").starts_with("text/x.tlog.size")) {
      // tlog-witness: the witness's stored size; re-sync and retry once.
      std::string_view b = resp->body;
      if (b.ends_with("\n")) b.remove_suffix(1);
      auto stored = core::ParseDecimal(b);
      if (!stored.ok()) return {WitnessOutcome::kRejected, old_size, {}};
      old_size = *stored;
      if (metrics_ != nullptr) {
        metrics_
            ->GetCounter("kt_witness_resyncs_total",
                         "409 answers that re-synced a witness's size.",
                         {{"witness", w.policy->name}})
            .Inc();
      }
      continue;
    }
    if (resp->status != 200) {
      return {resp->status == 409 ? WitnessOutcome::kConflict : WitnessOutcome::kRejected,
              old_size, {}};
    }
    return VerifyAnswer(w, round, resp->body, old_size);
  }
  return {WitnessOutcome::kConflict, old_size, {}};
}

WitnessCollector::AttemptResult WitnessCollector::VerifyAnswer(const Witness& w,
                                                               const Round& round,
                                                               const std::string& answer,
                                                               uint64_t old_size) const {
  // The answer is cosignature lines; appended to the signed checkpoint they
  // form a note. Lines of other keys are ignored; a line of this witness's
  // key must verify (a bad one voids the answer: ignored and counted).
  auto note = core::ParseNote(round.checkpoint + answer);
  if (!note.ok()) return {WitnessOutcome::kInvalidCosignature, old_size, {}};
  const core::VerifierKey& key = w.policy->key;
  const uint64_t latest_ok =
      core::UnixSeconds() + static_cast<uint64_t>(options_.max_future_skew.count());
  std::optional<core::NoteSignature> good;
  for (const core::NoteSignature& sig : note->signatures) {
    if (sig.name != key.name || sig.key_id != key.key_id) continue;
    auto ts = core::VerifyCosignature(key, round.text, sig);
    if (!ts.ok() || *ts > latest_ok) return {WitnessOutcome::kInvalidCosignature, old_size, {}};
    good = sig;
  }
  if (!good) return {WitnessOutcome::kInvalidCosignature, old_size, {}};
  return {WitnessOutcome::kCosigned, round.size, good};
}

std::optional<WitnessCollector::Publication> WitnessCollector::Record(Witness& w, Round& round,
                                                                      AttemptResult result) {
  const std::string& name = w.policy->name;
  if (metrics_ != nullptr) {
    metrics_
        ->GetCounter("kt_witness_requests_total", "add-checkpoint attempts by outcome.",
                     {{"witness", name}, {"outcome", OutcomeName(result.outcome)}})
        .Inc();
  }
  w.size = result.witness_size;
  if (result.outcome == WitnessOutcome::kAhead) {
    // The witness cosigned a larger tree of our origin than we have: nothing
    // we can prove to it. Give up on this round (the metric tells the
    // operator).
    w.done_round = round.id;
    return std::nullopt;
  }
  if (result.outcome != WitnessOutcome::kCosigned) {
    w.failed_round = round.id;
    w.retry_at = Clock::now() + options_.retry_backoff;
    return std::nullopt;
  }
  w.done_round = round.id;
  if (metrics_ != nullptr) {
    metrics_->GetGauge("kt_witness_size", "Last tree size each witness cosigned.",
                       {{"witness", name}})
        .Set(static_cast<double>(w.size));
  }
  round.cosignatures[name] = std::move(*result.cosignature);
  std::set<std::string> names;
  for (const auto& [n, sig] : round.cosignatures) names.insert(n);
  if (!core::QuorumSatisfied(*policy_, names)) return std::nullopt;
  // Publish at quorum, and again (same size, more cosignatures) as long as
  // nothing newer was published.
  if (witnessed_any_ && witnessed_size_ > round.size) return std::nullopt;
  std::vector<core::NoteSignature> sigs;
  for (const auto& [n, sig] : round.cosignatures) sigs.push_back(sig);
  auto note = core::AddCosignatures(round.checkpoint, sigs);
  if (!note.ok()) return std::nullopt;  // over the note limits: keep what we have
  round.published = true;
  cv_.notify_all();
  return Publication{std::move(note).value(), round.size, sigs.size()};
}

void WitnessCollector::Publish(const std::string& note, uint64_t size, size_t cosignatures) {
  Status s;
  {
    std::lock_guard<std::mutex> plk(publish_mu_);
    // Never replace a publication by an older or less cosigned one (two
    // workers may race to publish the same round).
    if (published_any_) {
      if (size < published_size_) return;
      if (size == published_size_ && cosignatures <= published_cosignatures_) return;
    }
    // The sequencer may have stored it already, in the batch's own commit
    // (SequencerOptions::checkpoints_witnessed): do not write it again.
    auto stored = storage_.ReadWitnessed(size);
    bool already = stored.ok() && stored->size == size && stored->checkpoint == note;
    s = already ? Status() : storage_.PublishWitnessed(note, size);
    if (s.ok()) {
      published_any_ = true;
      published_size_ = size;
      published_cosignatures_ = cosignatures;
    }
  }
  // Conflict: a newer checkpoint was published meanwhile, which is fine.
  if (!s.ok()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!witnessed_any_ || size > witnessed_size_) witnessed_size_ = size;
    witnessed_any_ = true;
  }
  if (metrics_ != nullptr) {
    metrics_->GetGauge("kt_witnessed_size", "Tree size of the published /checkpoint.")
        .Set(static_cast<double>(size));
    metrics_->GetCounter("kt_witnessed_publications_total", "Witnessed checkpoints published.")
        .Inc();
  }
  witnessed_cv_.notify_all();
  if (on_published_) on_published_(note, size);
}

void WitnessCollector::SetOnPublished(
    std::function<void(const std::string& note, uint64_t size)> fn) {
  on_published_ = std::move(fn);
}

bool WitnessCollector::WaitWitnessed(uint64_t min_size, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lk(mu_);
  return witnessed_cv_.wait_until(lk, deadline, [&] {
    return stop_ || (witnessed_any_ && witnessed_size_ >= min_size);
  }) && witnessed_any_ && witnessed_size_ >= min_size;
}

uint64_t WitnessCollector::witnessed_size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return witnessed_size_;
}

std::optional<uint64_t> WitnessCollector::witness_size(const std::string& name) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& w : witnesses_) {
    if (w->policy->name == name) return w->size;
  }
  return std::nullopt;
}

}  // namespace kt::log
