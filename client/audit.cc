// SPDX-License-Identifier: Apache-2.0
// Whole-log audit through entry bundles.
#include "client/audit.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

#include "client/entry_stream.h"
#include "client/replay.h"
#include "client/signature_pool.h"
#include "client/user_index.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/tile.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

constexpr std::string_view kAuditHeader = "kt-audit/v1\n";

std::filesystem::path PositionPath(const std::filesystem::path& dir, std::string_view origin) {
  return dir / ("audit-" + core::HexEncode(core::Sha256(core::AsBytes(origin))) + ".pos");
}

}  // namespace

std::string FormatAuditPosition(const core::TreeBuilder& builder) {
  std::string out(kAuditHeader);
  out += "size " + std::to_string(builder.size()) + "\n";
  for (const core::Hash& h : builder.frontier()) out += core::Base64Encode(h) + "\n";
  return out;
}

StatusOr<core::TreeBuilder> ParseAuditPosition(std::string_view text) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("audit position: " + why); };
  if (!text.starts_with(kAuditHeader)) return bad("missing header");
  text.remove_prefix(kAuditHeader.size());
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos || !text.starts_with("size ")) return bad("missing size");
  auto size = core::ParseDecimal(text.substr(5, nl - 5));
  if (!size.ok()) return bad("bad size");
  text.remove_prefix(nl + 1);
  std::vector<core::Hash> frontier;
  while (!text.empty()) {
    nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("last line without newline");
    std::string_view line = text.substr(0, nl);
    auto h = core::Base64Decode(line);
    if (!h.ok() || h->size() != 32 || core::Base64Encode(*h) != line) return bad("bad hash");
    if (frontier.size() >= 64) return bad("too many hashes");
    core::Hash hash{};
    std::copy(h->begin(), h->end(), hash.begin());
    frontier.push_back(hash);
    text.remove_prefix(nl + 1);
  }
  return core::TreeBuilder::FromFrontier(*size, std::move(frontier));
}

namespace {

// Auditor makes the per-entry checks of one run, on the reading thread.
class Auditor {
 public:
  Auditor(uint64_t start, bool verify_signatures, AuditReport* report)
      : start_(start), verify_(verify_signatures), report_(report) {
    if (verify_) {
      const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
      pool_ = std::make_unique<SignaturePool>(threads, 4 * static_cast<size_t>(threads));
    }
  }

  // CheckBundle checks a bundle's entries in order (Check), after loading
  // their users' state ahead (UserIndex prefetch passes): at millions of
  // users each lookup is otherwise a chain of DRAM misses.
  Status CheckBundle(std::span<const StreamEntry> entries);
  Status Check(const StreamEntry& e);
  // Submitted hands pending signature checks to the pool; returns the count
  // SignaturePool::Verified must reach before `index` may be saved.
  uint64_t Submit() { return pool_ ? pool_->Submit(&pending_) : 0; }
  bool Verified(uint64_t need) const { return !pool_ || pool_->Verified() >= need; }
  // Finish waits for every signature check: OK or the first failure.
  Status Finish() {
    if (!pool_) return Status();
    Submit();
    return pool_->Finish();
  }
  uint64_t StateBytes() const;

 private:
  Status Chain(uint64_t index, const core::EntryView& e, uint32_t id, bool fresh);
  Status Replay(uint64_t index, const core::EntryView& e, uint32_t id, bool fresh);

  static constexpr size_t kChecksPerBatch = 256;
  const uint64_t start_;
  const bool verify_;
  AuditReport* report_;
  UserIndex users_;
  std::vector<uint64_t> last_;        // by user id, without signatures
  std::vector<UserReplay> replays_;   // by user id, with signatures
  std::vector<SignatureCheck> pending_;
  std::unique_ptr<SignaturePool> pool_;
};

Status Auditor::CheckBundle(std::span<const StreamEntry> entries) {
  std::array<uint32_t, core::kTileWidth> candidate;
  KT_CHECK(entries.size() <= candidate.size());
  for (const StreamEntry& e : entries) {
    if (e.view.ok()) users_.PrefetchSlot(e.user_hash);
  }
  for (size_t k = 0; k < entries.size(); k++) {
    candidate[k] = entries[k].view.ok() ? users_.Candidate(entries[k].user_hash)
                                        : UserIndex::kNoCandidate;
  }
  for (size_t k = 0; k < entries.size(); k++) {
    const uint32_t id = candidate[k];
    if (id == UserIndex::kNoCandidate) continue;
    users_.PrefetchName(id);
    if (id < last_.size()) __builtin_prefetch(&last_[id]);
    if (id < replays_.size()) __builtin_prefetch(&replays_[id]);
  }
  for (const StreamEntry& e : entries) KT_RETURN_IF_ERROR(Check(e));
  return Status();
}

Status Auditor::Check(const StreamEntry& e) {
  const uint64_t index = e.index;
  const core::StatusOr<core::EntryView>& entry = e.view;
  if (!entry.ok()) {
    return Status::VerificationFailed("entry " + std::to_string(index) + " does not decode: " +
                                      entry.status().message());
  }
  report_->entries++;
  auto [id, fresh] = users_.Intern(entry->user, e.user_hash);
  if (fresh) {
    report_->users++;
    // The user's previous entry is prev - 1. This run read every entry of
    // [start, index), so if it lies there the chain is broken; before start
    // it cannot be checked here (a partial chain).
    if (entry->prev != 0 && (entry->prev - 1 >= start_ || entry->prev > index)) {
      return Status::VerificationFailed(
          "entry " + std::to_string(index) + " of user " + std::string(entry->user) + ": prev " +
          std::to_string(entry->prev) + " but the user has no earlier entry" +
          (start_ > 0 ? " since index " + std::to_string(start_) : std::string()));
    }
    if (entry->prev != 0) report_->partial_chains++;
  }
  return verify_ ? Replay(index, *entry, id, fresh) : Chain(index, *entry, id, fresh);
}

Status Auditor::Chain(uint64_t index, const core::EntryView& e, uint32_t id, bool fresh) {
  if (fresh) {
    last_.push_back(index);
    return Status();
  }
  if (e.prev != last_[id] + 1) {
    return Status::VerificationFailed("entry " + std::to_string(index) + " of user " +
                                      std::string(e.user) + ": prev chain broken (prev " +
                                      std::to_string(e.prev) + ", previous entry " +
                                      std::to_string(last_[id]) + ")");
  }
  last_[id] = index;
  return Status();
}

Status Auditor::Replay(uint64_t index, const core::EntryView& e, uint32_t id, bool fresh) {
  if (fresh) {
    replays_.push_back(e.prev == 0 ? UserReplay(std::string(e.user))
                                   : UserReplay::Partial(std::string(e.user), e.prev - 1));
  }
  ReplayEffect effect;
  const size_t before = pending_.size();
  Status s = replays_[id].ApplyView(index, e, &pending_, &effect);
  if (!s.ok()) {
    // Checks deferred before this failure (earlier entries, and this
    // entry's before the failing rule) come first in a sequential run.
    Status sig = Finish();
    return sig.ok() ? s : sig;
  }
  if (effect.unendorsed && effect.kind != EventKind::kRevoke) report_->unendorsed++;
  if (effect.HighSeverity()) report_->high_severity++;
  report_->unchecked += effect.unchecked;
  report_->signatures += pending_.size() - before;
  if (pending_.size() >= kChecksPerBatch) {
    Submit();
    if (pool_->failed()) return pool_->Finish();
  }
  return Status();
}

uint64_t Auditor::StateBytes() const {
  uint64_t n = users_.MemoryBytes() + last_.capacity() * sizeof(uint64_t) +
               replays_.capacity() * sizeof(UserReplay);
  for (const UserReplay& r : replays_) {
    n += r.user().capacity() > 15 ? r.user().capacity() + 1 : 0;
    n += r.devices().capacity() * sizeof(DeviceKey);
    for (const DeviceKey& d : r.devices()) n += d.device.capacity() > 15 ? d.device.capacity() + 1 : 0;
  }
  return n;
}

// PositionSaver writes the audit position about once a second, and only
// once the signatures before it verified.
class PositionSaver {
 public:
  explicit PositionSaver(std::filesystem::path path) : path_(std::move(path)) {}
  Status Offer(const core::TreeBuilder& b, uint64_t need, const Auditor& auditor, bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && !waiting_ && now - last_ < std::chrono::seconds(1)) return Status();
    if (!waiting_ || force) {
      text_ = FormatAuditPosition(b);
      need_ = need;
      waiting_ = true;
    }
    if (!auditor.Verified(need_) && !force) return Status();
    waiting_ = false;
    last_ = now;
    return store::WriteFileAtomic(path_, text_, 0600);
  }

 private:
  std::filesystem::path path_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  bool waiting_ = false;
  std::string text_;
  uint64_t need_ = 0;
};

}  // namespace

StatusOr<AuditReport> RunAudit(LogClient& log, const std::filesystem::path& state_dir,
                               const AuditOptions& options) {
  KT_ASSIGN_OR_RETURN(CheckpointUpdate update, log.Update());
  AuditReport report;
  report.checkpoint = update.checkpoint;
  const std::string& origin = update.checkpoint.checkpoint.origin;
  const std::filesystem::path pos_path = PositionPath(state_dir, origin);
  std::optional<core::TreeBuilder> start;
  if (options.from.has_value()) {
    report.start = *options.from;
  } else {
    auto text = store::ReadFile(pos_path, 1 << 16);
    if (text.ok()) {
      KT_ASSIGN_OR_RETURN(core::TreeBuilder b, ParseAuditPosition(*text));
      start = std::move(b);
      report.start = start->size();
    } else if (text.status().code() != Status::Code::kNotFound) {
      return Status::IOError(text.status().message());
    }
  }
  const uint64_t total = update.checkpoint.checkpoint.size;
  if (report.start > total) return Status::InvalidArgument("usage: --from beyond the log's size");
  Auditor auditor(report.start, options.verify_signatures, &report);
  PositionSaver saver(pos_path);
  Status save_error;
  EntryStreamOptions so;
  so.parallelism = options.parallelism;
  so.parse_entries = true;
  so.batch_done = [&](uint64_t next, const core::TreeBuilder& b) {
    if (!save_error.ok()) return;
    if (options.progress) options.progress(next, total);
    save_error = saver.Offer(b, auditor.Submit(), auditor, false);
  };
  core::TreeBuilder final_tree;
  auto check = [&](std::span<const StreamEntry> entries) -> Status {
    if (!save_error.ok()) return save_error;
    return auditor.CheckBundle(entries);
  };
  Status read = ReadEntryBundles(log.fetcher(), update.checkpoint, report.start, std::move(start), so,
                            check, &final_tree);
  // A signature failure comes before anything found later (a sequential
  // run stops there).
  KT_RETURN_IF_ERROR(auditor.Finish());
  KT_RETURN_IF_ERROR(read);
  KT_RETURN_IF_ERROR(save_error);
  KT_RETURN_IF_ERROR(saver.Offer(final_tree, 0, auditor, true));
  report.user_state_bytes = auditor.StateBytes();
  return report;
}

}  // namespace kt::client
