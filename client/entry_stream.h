// SPDX-License-Identifier: Apache-2.0
// Reading a log's entries through tlog-tiles entry bundles
// (c2sp.org/tlog-tiles) and authenticating them against a trusted
// checkpoint by recomputing the RFC 6962 tree: the entries of [from, size)
// are appended to a TreeBuilder whose frontier at `from` comes from hash
// tiles authenticated against the same checkpoint, and the final root must
// equal the checkpoint's. Bundles are fetched in parallel, one batch ahead.
#ifndef KT_CLIENT_ENTRY_STREAM_H_
#define KT_CLIENT_ENTRY_STREAM_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "client/fetcher.h"
#include "client/trust.h"
#include "core/bytes.h"
#include "core/merkle.h"
#include "core/status.h"

namespace kt::client {

struct EntryStreamOptions {
  int parallelism = 8;         // concurrent bundle fetches
  size_t window_bundles = 64;  // bundles fetched ahead of the reader, at most
  size_t batch_bundles = 64;   // bundles per batch
  // batch_done is called after each batch with the number of entries read
  // so far and the builder (callers persist it to resume).
  std::function<void(uint64_t next_index, const core::TreeBuilder& builder)> batch_done;
};

// ReadEntries calls fn(index, entry bytes) for every entry of [from,
// cp.size) in order. When `start` is given it is the tree of the first
// `from` entries (a resumed run); otherwise it is restored from hash tiles
// (authenticated). If start is given and differs from the tiles' frontier,
// VerificationFailed. Returns OK only if the recomputed root equals the
// checkpoint's root; VerificationFailed ("... does not match ...") if not:
// until then, whatever fn saw is unauthenticated. fn's errors stop the read.
// The span given to fn is valid only during the call. fn and batch_done run
// on the calling thread.
// When it returns OK and `tree` is given, *tree is the verified tree.
core::Status ReadEntries(Fetcher& fetcher, const TrustedCheckpoint& cp, uint64_t from,
                         std::optional<core::TreeBuilder> start, const EntryStreamOptions& options,
                         const std::function<core::Status(uint64_t, core::ByteSpan)>& fn,
                         core::TreeBuilder* tree = nullptr);

}  // namespace kt::client

#endif  // KT_CLIENT_ENTRY_STREAM_H_
