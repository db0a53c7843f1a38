// SPDX-License-Identifier: Apache-2.0
// Whole-log audit through entry bundles.
#include "client/audit.h"

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "client/entry_stream.h"
#include "client/replay.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

constexpr std::string_view kAuditHeader = "kt-audit/v1\n";

std::filesystem::path PositionPath(const std::filesystem::path& dir, std::string_view origin) {
  return dir / ("audit-" + core::HexEncode(core::Sha256(core::AsBytes(origin))) + ".pos");
}

// ChainState is what the auditor keeps per user: the last index (prev
// chain) and, with signatures, the full replay.
struct ChainState {
  std::optional<uint64_t> last;
  bool partial = false;  // first seen mid-chain
  std::unique_ptr<UserReplay> replay;
};

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
  if (report.start > update.checkpoint.checkpoint.size) {
    return Status::InvalidArgument("usage: --from beyond the log's size");
  }
  std::unordered_map<std::string, ChainState> users;
  const uint64_t total = update.checkpoint.checkpoint.size;
  // Signatures are collected during the (sequential) replay and verified in
  // parallel on every core before the position moves past them.
  std::vector<SignatureCheck> pending;
  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  Status batch_error;
  EntryStreamOptions so;
  so.parallelism = options.parallelism;
  so.batch_done = [&](uint64_t next, const core::TreeBuilder& b) {
    if (!batch_error.ok()) return;
    batch_error = VerifyChecks(pending, threads);
    pending.clear();
    if (!batch_error.ok()) return;
    if (options.progress) options.progress(next, total);
    batch_error = store::WriteFileAtomic(pos_path, FormatAuditPosition(b), 0600);
  };
  auto check = [&](uint64_t index, core::ByteSpan bytes) -> Status {
    if (!batch_error.ok()) return batch_error;
    auto entry = core::DecodeEntry(bytes);
    if (!entry.ok()) {
      return Status::VerificationFailed("entry " + std::to_string(index) + " does not decode: " +
                                        entry.status().message());
    }
    report.entries++;
    ChainState& st = users[entry->user];
    if (!st.last.has_value()) {
      report.users++;
      if (entry->prev != 0) {
        // Only possible when this run started mid-log: the user's earlier
        // entries were checked by an earlier run (or not at all with --from).
        if (report.start == 0 || entry->prev > index) {
          return Status::VerificationFailed("entry " + std::to_string(index) + " of user " +
                                            entry->user + ": prev " + std::to_string(entry->prev) +
                                            " but the user has no earlier entry");
        }
        st.partial = true;
        report.partial_chains++;
      }
    } else if (entry->prev != *st.last + 1) {
      return Status::VerificationFailed("entry " + std::to_string(index) + " of user " +
                                        entry->user + ": prev chain broken (prev " +
                                        std::to_string(entry->prev) + ", previous entry " +
                                        std::to_string(*st.last) + ")");
    }
    st.last = index;
    if (options.verify_signatures && !st.partial) {
      if (!st.replay) st.replay = std::make_unique<UserReplay>(entry->user);
      KT_ASSIGN_OR_RETURN(BindingEvent ev, st.replay->Apply(index, *entry, &pending));
      if (ev.unendorsed && ev.kind != EventKind::kRevoke) report.unendorsed++;
      if (ev.HighSeverity()) report.high_severity++;
    } else if (options.verify_signatures && entry->kind == core::EntryKind::kKeySet) {
      Status pop = core::VerifyPossession(*entry);
      if (!pop.ok()) {
        return Status::VerificationFailed("entry " + std::to_string(index) + ": " + pop.message());
      }
    }
    return Status();
  };
  Status read = ReadEntries(log.fetcher(), update.checkpoint, report.start, std::move(start), so, check);
  // A signature failure found at a batch end is the more precise reason.
  if (!batch_error.ok()) return batch_error;
  KT_RETURN_IF_ERROR(read);
  return report;
}

}  // namespace kt::client
