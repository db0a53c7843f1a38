// SPDX-License-Identifier: Apache-2.0
// LmdbStorage: the durable LogStorage, one LMDB environment per log. Layout
// (docs/formats.md "Log node LMDB layout"): entries by index, stored hashes
// packed 16 per value by stored index, users by id, the head ("tree") in
// meta, and every witnessed checkpoint by size. Integrate is one write
// transaction with one durable commit.
#ifndef KT_LOG_LMDB_STORAGE_H_
#define KT_LOG_LMDB_STORAGE_H_

#include <filesystem>
#include <memory>

#include "log/storage.h"
#include "store/lmdb.h"

namespace kt::log {

// kHashesPerChunk is how many consecutive stored hashes one value of the
// "hashes" database holds (16 x 32 = 512 bytes: small enough to stay inline
// in 4 KiB pages, large enough to make per-record overhead ~3%).
inline constexpr uint64_t kHashesPerChunk = 16;

// LmdbStorage is thread-safe: LMDB readers never block, writes are serialised.
class LmdbStorage : public LogStorage {
 public:
  // Open opens (creating) the log database in `dir`. IOError on failure;
  // Corruption if an existing database fails its consistency checks.
  static StatusOr<std::unique_ptr<LmdbStorage>> Open(const std::filesystem::path& dir,
                                                     const store::EnvOptions& options = {});

  StatusOr<TreeState> ReadTreeState() override;
  Status ReadHashes(std::span<const uint64_t> stored_indexes, std::vector<Hash>* out) override;
  StatusOr<Bytes> ReadTile(int level, uint64_t index, uint64_t width) override;
  StatusOr<Bytes> ReadEntryBundle(uint64_t index, uint64_t width) override;
  StatusOr<Bytes> ReadEntry(uint64_t index) override;
  StatusOr<UserState> ReadUser(std::string_view user) override;
  StatusOr<WitnessedCheckpoint> ReadWitnessed(uint64_t min_size) override;
  Status Integrate(const IntegrationBatch& batch) override;
  Status PublishWitnessed(const std::string& checkpoint, uint64_t size) override;

  // env gives access for diagnostics (e.g. disk usage in benchmarks).
  store::Env& env() { return *env_; }

 private:
  struct Dbs {
    store::Dbi meta, entries, hashes, users, witnessed;
  };
  struct Head {
    uint64_t size = 0;
    Hash root{};
    std::string checkpoint;  // empty: fresh log
  };
  LmdbStorage(std::unique_ptr<store::Env> env, Dbs dbs) : env_(std::move(env)), dbs_(dbs) {}

  StatusOr<Head> ReadHead(const store::Txn& txn) const;
  Status ReadHashesIn(const store::Txn& txn, uint64_t size, std::span<const uint64_t> indexes,
                      std::vector<Hash>* out) const;
  Status PutHashes(store::Txn& txn, uint64_t first_stored, std::span<const Hash> hashes) const;
  Status PutUsers(store::Txn& txn, const IntegrationBatch& batch) const;

  std::unique_ptr<store::Env> env_;
  Dbs dbs_;
};

}  // namespace kt::log

#endif  // KT_LOG_LMDB_STORAGE_H_
