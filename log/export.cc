// SPDX-License-Identifier: Apache-2.0
// ExportTiles: the tlog-tiles read API as static files (see log/export.h).
#include "log/export.h"

#include <system_error>

#include "core/tile.h"
#include "store/file_util.h"

namespace kt::log {

namespace {

using core::Status;
using core::StatusOr;

// WriteOne writes one tile body to webroot/<tile path>, creating parents.
// A full tile whose file exists is left alone: its content never changes.
Status WriteOne(const std::filesystem::path& webroot, const core::Tile& tile,
                const Bytes& data) {
  std::filesystem::path path = webroot / core::TilePath(tile);
  std::error_code ec;
  if (tile.is_full() && std::filesystem::exists(path, ec)) return Status();
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Status::IOError("export: mkdir " + path.parent_path().string() + ": " + ec.message());
  return store::WriteFileAtomic(path, core::AsStringView(data));
}

// Published returns the checkpoint readers should see and its size.
StatusOr<std::pair<std::string, uint64_t>> Published(const TreeState& st) {
  if (!st.witnessed_checkpoint.empty()) {
    return std::make_pair(st.witnessed_checkpoint, st.witnessed_size);
  }
  if (st.checkpoint.empty()) return Status::NotFound("export: the log has no checkpoint yet");
  return std::make_pair(st.checkpoint, st.size);
}

}  // namespace

StatusOr<uint64_t> ExportTiles(LogStorage& storage, const std::filesystem::path& webroot,
                               uint64_t from_size) {
  KT_ASSIGN_OR_RETURN(TreeState st, storage.ReadTreeState());
  KT_ASSIGN_OR_RETURN(auto published, Published(st));
  const auto& [checkpoint, size] = published;
  if (from_size > size) {
    return Status::InvalidArgument("export: from_size " + std::to_string(from_size) +
                                   " is beyond the published size " + std::to_string(size));
  }
  // Hash tiles (every level) that the growth creates or extends.
  for (const core::Tile& tile : core::NewTiles(from_size, size)) {
    KT_ASSIGN_OR_RETURN(Bytes data, storage.ReadTile(tile.level, tile.index, tile.width));
    KT_RETURN_IF_ERROR(WriteOne(webroot, tile, data));
  }
  // Entry bundles from the one holding record from_size to the last one.
  if (size > from_size) {
    for (uint64_t n = from_size / core::kTileWidth; n <= (size - 1) / core::kTileWidth; ++n) {
      core::Tile bundle = core::EntryBundleForIndex(n * core::kTileWidth, size);
      KT_ASSIGN_OR_RETURN(Bytes data, storage.ReadEntryBundle(bundle.index, bundle.width));
      KT_RETURN_IF_ERROR(WriteOne(webroot, bundle, data));
    }
  }
  // Last, the checkpoint (tlog-tiles: "<prefix>/checkpoint").
  KT_RETURN_IF_ERROR(store::WriteFileAtomic(webroot / "checkpoint", checkpoint));
  return size;
}

}  // namespace kt::log
