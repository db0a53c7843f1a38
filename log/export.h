// SPDX-License-Identifier: Apache-2.0
// Static export of the log's read API (c2sp.org/tlog-tiles) to a directory,
// so that nginx or a CDN can serve /checkpoint, /tile/<L>/<N>[.p/<W>] and
// /tile/entries/<N>[.p/<W>] byte-for-byte as the log node does.
#ifndef KT_LOG_EXPORT_H_
#define KT_LOG_EXPORT_H_

#include <cstdint>
#include <filesystem>

#include "core/status.h"
#include "log/storage.h"

namespace kt::log {

// ExportTiles writes into `webroot` every file a reader of the published
// checkpoint needs: each hash tile and entry bundle of that tree (full ones,
// and the partial ones at their width for that size), then `checkpoint`.
// The published checkpoint is the latest witnessed one, or the log-signed
// one when nothing has been witnessed yet. Tiles are written before the
// checkpoint, so a reader never sees a checkpoint whose tiles are missing;
// every file is replaced atomically (temp file + rename, store/file_util.h).
//
// Incremental: only tiles that the growth from `from_size` to the published
// size creates or extends are written, and a full tile or bundle whose file
// already exists is skipped (full tiles never change). Pass the size this
// function returned last time (0 for a first or full export).
//
// Returns the exported tree size. IOError if a file cannot be written,
// InvalidArgument if from_size is beyond the published size, errors from
// `storage`. Safe to run while the log is integrating (it reads immutable
// data for the size it captured at the start); not safe to run twice
// concurrently on one webroot.
core::StatusOr<uint64_t> ExportTiles(LogStorage& storage, const std::filesystem::path& webroot,
                                     uint64_t from_size);

}  // namespace kt::log

#endif  // KT_LOG_EXPORT_H_
