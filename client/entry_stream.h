// SPDX-License-Identifier: Apache-2.0
// Reading a log's entries through tlog-tiles entry bundles
// (c2sp.org/tlog-tiles) and authenticating them against a trusted
// checkpoint by recomputing the RFC 6962 tree: the entries of [from, size)
// are appended to a TreeBuilder whose frontier at `from` comes from hash
// tiles authenticated against the same checkpoint, and the final root must
// equal the checkpoint's. Bundles are fetched in parallel into a bounded
// window ahead of the reader; the fetch threads also split each bundle and
// compute every entry's RFC 6962 leaf hash (and, on request, parse it), so
// the reading thread only does the node hashing and the caller's checks.
#ifndef KT_CLIENT_ENTRY_STREAM_H_
#define KT_CLIENT_ENTRY_STREAM_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "client/fetcher.h"
#include "client/trust.h"
#include "core/bytes.h"
#include "core/entry.h"
#include "core/merkle.h"
#include "core/status.h"

namespace kt::client {

struct EntryStreamOptions {
  int parallelism = 8;         // concurrent bundle fetches (fetch threads)
  size_t window_bundles = 64;  // bundles fetched ahead of the reader, at most
  size_t batch_bundles = 64;   // bundles per batch
  // parse_entries: the fetch threads also parse every entry in place
  // (StreamEntry::view and user_hash).
  bool parse_entries = false;
  // batch_done is called after each batch with the number of entries read
  // so far and the builder (callers persist it to resume).
  std::function<void(uint64_t next_index, const core::TreeBuilder& builder)> batch_done;
};

// StreamEntry is one entry as a fetch thread prepared it. Its views alias
// the fetched bundle and are valid only during the callback that sees it.
struct StreamEntry {
  uint64_t index = 0;
  core::ByteSpan bytes;
  core::Hash leaf{};  // RecordHash(bytes): RFC 6962 §2.1 leaf hash
  // With EntryStreamOptions::parse_entries: core::ParseEntryView(bytes) (its
  // error if the entry does not decode) and, when it parsed,
  // user_hash = UserIndex::HashOf(view->user).
  core::StatusOr<core::EntryView> view = core::EntryView{};
  uint64_t user_hash = 0;
};

// ReadEntryBundles calls fn(entries) for the entries of [from, cp.size) of
// each entry bundle, bundle after bundle in log order (a span of 1 to 256
// entries, consecutive indexes). When `start` is given it is the tree of the
// first `from` entries (a resumed run); otherwise it is restored from hash
// tiles (authenticated). If start is given and differs from the tiles'
// frontier, VerificationFailed. Returns OK only if the recomputed root
// equals the checkpoint's root; VerificationFailed ("... does not match
// ...") if not: until then, whatever fn saw is unauthenticated. A bundle
// that fails to fetch or split is returned (annotated with its path) after
// fn saw every bundle before it. fn's errors stop the read. fn and
// batch_done run on the calling thread. When it returns OK and `tree` is
// given, *tree is the verified tree.
core::Status ReadEntryBundles(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                              std::optional<core::TreeBuilder> start,
                              const EntryStreamOptions& options,
                              const std::function<core::Status(std::span<const StreamEntry>)>& fn,
                              core::TreeBuilder* tree = nullptr);

// ReadEntries is ReadEntryBundles calling fn(index, entry bytes) for every
// entry in order. The span given to fn is valid only during the call.
core::Status ReadEntries(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                         std::optional<core::TreeBuilder> start, const EntryStreamOptions& options,
                         const std::function<core::Status(uint64_t, core::ByteSpan)>& fn,
                         core::TreeBuilder* tree = nullptr);

}  // namespace kt::client

#endif  // KT_CLIENT_ENTRY_STREAM_H_
