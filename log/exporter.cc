// SPDX-License-Identifier: Apache-2.0
// Exporter: static tlog-tiles files. See exporter.h.
#include "log/exporter.h"

#include <system_error>
#include <utility>

#include "core/tile.h"
#include "store/file_util.h"

namespace kt::log {

Exporter::Exporter(LogStorage& storage, std::filesystem::path root)
    : storage_(storage), root_(std::move(root)) {}

uint64_t Exporter::exported_size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return exported_size_;
}

Status Exporter::WriteFile(const std::string& path, const Bytes& data, bool immutable) {
  std::filesystem::path file = root_ / path;
  std::error_code ec;
  if (immutable && first_ && std::filesystem::exists(file, ec)) return Status();
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return Status::IOError("mkdir " + file.parent_path().string() + ": " + ec.message());
  return store::WriteFileAtomic(file, core::AsStringView(data), 0644);
}

Status Exporter::ExportRange(uint64_t old_size, uint64_t size) {
  // Hash tiles: exactly the ones the growth creates or extends.
  for (const core::Tile& t : core::NewTiles(old_size, size)) {
    KT_ASSIGN_OR_RETURN(Bytes data, storage_.ReadTile(t.level, t.index, t.width));
    KT_RETURN_IF_ERROR(WriteFile(core::TilePath(t), data, t.is_full()));
  }
  // Entry bundles holding records [old_size, size), at their width for size.
  if (size == old_size) return Status();
  for (uint64_t n = old_size / core::kTileWidth; n <= (size - 1) / core::kTileWidth; n++) {
    core::Tile b = core::EntryBundleForIndex(n * core::kTileWidth, size);
    KT_ASSIGN_OR_RETURN(Bytes data, storage_.ReadEntryBundle(b.index, b.width));
    KT_RETURN_IF_ERROR(WriteFile(core::TilePath(b), data, b.is_full()));
  }
  return Status();
}

Status Exporter::Export(const std::string& checkpoint, uint64_t size) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!first_ && size <= exported_size_) return Status();
  KT_RETURN_IF_ERROR(ExportRange(first_ ? 0 : exported_size_, size));
  // The checkpoint last: its tiles are all in place before readers see it.
  KT_RETURN_IF_ERROR(store::WriteFileAtomic(root_ / "checkpoint", checkpoint, 0644));
  first_ = false;
  exported_size_ = size;
  return Status();
}

}  // namespace kt::log
