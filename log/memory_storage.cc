// SPDX-License-Identifier: Apache-2.0
// MemoryStorage: LogStorage in memory (see log/memory_storage.h).
#include "log/memory_storage.h"

#include <mutex>

#include "core/encoding.h"
#include "core/tile.h"

namespace kt::log {

StatusOr<TreeState> MemoryStorage::ReadTreeState() {
  std::shared_lock lock(mu_);
  TreeState s = state_;
  if (s.checkpoint.empty()) s.root = core::EmptyRoot();
  if (!witnessed_.empty()) {
    s.witnessed_size = witnessed_.rbegin()->first;
    s.witnessed_checkpoint = witnessed_.rbegin()->second;
  }
  return s;
}

Status MemoryStorage::ReadHashes(std::span<const uint64_t> stored_indexes,
                                 std::vector<Hash>* out) {
  std::shared_lock lock(mu_);
  out->resize(stored_indexes.size());
  for (size_t i = 0; i < stored_indexes.size(); ++i) {
    if (stored_indexes[i] >= hashes_.size()) {
      return Status::NotFound("stored hash " + std::to_string(stored_indexes[i]) +
                              " is beyond the tree");
    }
    (*out)[i] = hashes_[stored_indexes[i]];
  }
  return Status();
}

StatusOr<Bytes> MemoryStorage::ReadTile(int level, uint64_t index, uint64_t width) {
  uint64_t size = 0;
  {
    std::shared_lock lock(mu_);
    size = state_.size;
  }
  KT_RETURN_IF_ERROR(CheckTileRequest(level, index, width, size));
  // Stored hashes never change, so reading them after the lock is released
  // still gives this size's tile.
  core::Tile tile{level, index, static_cast<uint32_t>(width)};
  return core::ReadTileData(tile, *this);
}

StatusOr<Bytes> MemoryStorage::ReadEntryBundle(uint64_t index, uint64_t width) {
  std::shared_lock lock(mu_);
  KT_RETURN_IF_ERROR(CheckTileRequest(0, index, width, state_.size));
  core::Writer w;
  for (uint64_t i = 0; i < width; ++i) w.Vec16(entries_[index * core::kTileWidth + i]);
  return w.Take();
}

StatusOr<Bytes> MemoryStorage::ReadEntry(uint64_t index) {
  std::shared_lock lock(mu_);
  if (index >= entries_.size()) return Status::NotFound("no entry at that index");
  return entries_[index];
}

StatusOr<UserState> MemoryStorage::ReadUser(std::string_view user) {
  std::shared_lock lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return UserState();
  return it->second;
}

StatusOr<WitnessedCheckpoint> MemoryStorage::ReadWitnessed(uint64_t min_size) {
  std::shared_lock lock(mu_);
  auto it = witnessed_.lower_bound(min_size);
  if (it == witnessed_.end()) return Status::NotFound("no witnessed checkpoint that large");
  return WitnessedCheckpoint{it->first, it->second};
}

Status MemoryStorage::Integrate(const IntegrationBatch& batch) {
  std::unique_lock lock(mu_);
  KT_RETURN_IF_ERROR(CheckBatch(batch, state_.size, !state_.checkpoint.empty()));
  for (size_t i = 0; i < batch.entries.size(); ++i) {
    entries_.push_back(batch.entries[i]);
    if (batch.users.empty()) {
      users_[batch.decoded[i].user].Apply(batch.first_index + i, batch.decoded[i]);
    }
  }
  for (const auto& [user, state] : batch.users) {
    users_.insert_or_assign(std::string(user), *state);
  }
  hashes_.insert(hashes_.end(), batch.stored_hashes.begin(), batch.stored_hashes.end());
  state_.size = entries_.size();
  state_.root = batch.root;
  state_.checkpoint = batch.checkpoint;
  if (batch.witnessed && !batch.entries.empty()) witnessed_[state_.size] = batch.checkpoint;
  return Status();
}

Status MemoryStorage::PublishWitnessed(const std::string& checkpoint, uint64_t size) {
  std::unique_lock lock(mu_);
  uint64_t latest = witnessed_.empty() ? 0 : witnessed_.rbegin()->first;
  KT_RETURN_IF_ERROR(CheckPublish(checkpoint, size, state_.size, latest));
  witnessed_[size] = checkpoint;
  return Status();
}

}  // namespace kt::log
