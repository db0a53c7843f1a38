// SPDX-License-Identifier: Apache-2.0
// MemoryStorage: a LogStorage held in process memory (nothing is durable).
// For tests and tools; it follows the same contract as LmdbStorage, which the
// typed contract suite (tests/log/storage_test.cc) checks for both.
#ifndef KT_LOG_MEMORY_STORAGE_H_
#define KT_LOG_MEMORY_STORAGE_H_

#include <functional>
#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "log/storage.h"

namespace kt::log {

// MemoryStorage is thread-safe (a reader/writer lock).
class MemoryStorage : public LogStorage {
 public:
  MemoryStorage() = default;

  StatusOr<TreeState> ReadTreeState() override;
  Status ReadHashes(std::span<const uint64_t> stored_indexes, std::vector<Hash>* out) override;
  StatusOr<Bytes> ReadTile(int level, uint64_t index, uint64_t width) override;
  StatusOr<Bytes> ReadEntryBundle(uint64_t index, uint64_t width) override;
  StatusOr<Bytes> ReadEntry(uint64_t index) override;
  StatusOr<UserState> ReadUser(std::string_view user) override;
  StatusOr<WitnessedCheckpoint> ReadWitnessed(uint64_t min_size) override;
  Status Integrate(const IntegrationBatch& batch) override;
  Status PublishWitnessed(const std::string& checkpoint, uint64_t size) override;

 private:
  mutable std::shared_mutex mu_;
  TreeState state_;  // witnessed_* fields unused; see witnessed_
  std::vector<Bytes> entries_;
  std::vector<Hash> hashes_;  // by stored index
  std::map<std::string, UserState, std::less<>> users_;
  std::map<uint64_t, std::string> witnessed_;
};

}  // namespace kt::log

#endif  // KT_LOG_MEMORY_STORAGE_H_
