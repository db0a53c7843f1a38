// SPDX-License-Identifier: Apache-2.0
// LmdbStorage: the durable LogStorage, one LMDB environment per log. Layout
// (docs/formats.md "Log node LMDB layout"): entries by index, stored hashes
// packed 16 per value by stored index, users by id, the head ("tree") in
// meta, and every witnessed checkpoint by size. Integrate is one write
// transaction with one durable commit.
//
// The user index is derived state (a pure function of the entries), so it is
// checkpointed lazily: user states changed by recent batches live in an
// in-memory overlay and are written to the "users" database every
// user_flush_entries entries, in the same transaction as a batch, together
// with meta "users_through" (every user's record in the database reflects at
// least the entries [0, users_through)). Open replays entries
// [users_through, size) into the overlay, skipping for each user the entries
// its record already holds (a record may be newer: a flush is written in
// slices). This turns ~one random B-tree page write per entry into one per
// flushed page, which is what keeps the per-batch durable commit small.
//
// A flush does not stall the pipeline: when the overlay reaches
// user_flush_entries it is frozen (moved aside as `flushing_`, a new empty
// overlay takes the next batches) and the frozen states are written in key
// order over the following batches, a slice per Integrate, the last slice
// with users_through = the size at the freeze. Reads look in the overlay,
// then the frozen states, then the database.
#ifndef KT_LOG_LMDB_STORAGE_H_
#define KT_LOG_LMDB_STORAGE_H_

#include <filesystem>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "log/storage.h"
#include "log/user_overlay.h"
#include "store/lmdb.h"

namespace kt::log {

// kHashesPerChunk is how many consecutive stored hashes one value of the
// "hashes" database holds (16 x 32 = 512 bytes: small enough to stay inline
// in 4 KiB pages, large enough to make per-record overhead ~3%).
inline constexpr uint64_t kHashesPerChunk = 16;

struct LmdbStorageOptions {
  store::EnvOptions env;
  // user_flush_entries: write the user overlay to LMDB once it reflects at
  // least this many entries (>= 1; 1 = every batch).
  uint64_t user_flush_entries = 262144;
};

// LmdbStorage is thread-safe: LMDB readers never block, writes are serialised.
class LmdbStorage : public LogStorage {
 public:
  // Open opens (creating) the log database in `dir` and replays the user
  // index tail. IOError on failure; Corruption if an existing database fails
  // its consistency checks or an entry does not decode.
  static StatusOr<std::unique_ptr<LmdbStorage>> Open(const std::filesystem::path& dir,
                                                     const LmdbStorageOptions& options = {});

  StatusOr<TreeState> ReadTreeState() override;
  Status ReadHashes(std::span<const uint64_t> stored_indexes, std::vector<Hash>* out) override;
  StatusOr<Bytes> ReadTile(int level, uint64_t index, uint64_t width) override;
  StatusOr<Bytes> ReadEntryBundle(uint64_t index, uint64_t width) override;
  StatusOr<Bytes> ReadEntry(uint64_t index) override;
  StatusOr<UserState> ReadUser(std::string_view user) override;
  Status ReadUsers(std::span<const std::string_view> users, std::vector<UserState>* out) override;
  StatusOr<WitnessedCheckpoint> ReadWitnessed(uint64_t min_size) override;
  Status Integrate(const IntegrationBatch& batch) override;
  Status IntegrateGroup(std::span<const IntegrationBatch* const> batches) override;
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
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using UserMap = std::unordered_map<std::string, UserState, StringHash, std::equal_to<>>;
  LmdbStorage(std::unique_ptr<store::Env> env, Dbs dbs, uint64_t user_flush_entries)
      : env_(std::move(env)), dbs_(dbs), user_flush_entries_(user_flush_entries) {}

  StatusOr<Head> ReadHead(const store::Txn& txn) const;
  Status ReadHashesIn(const store::Txn& txn, uint64_t size, std::span<const uint64_t> indexes,
                      std::vector<Hash>* out) const;
  Status PutHashes(store::Txn& txn, uint64_t first_stored, std::span<const Hash> hashes) const;
  // FindOverlay returns the user's newest in-memory state (overlay_, then
  // flushing_) or nullptr. Caller holds overlay_mu_ or write_mu_.
  const UserOverlay::Record* FindOverlay(std::string_view user) const;
  // FlushSlice is how many frozen states an Integrate of `entries` entries
  // writes: enough to finish the flush within half a flush interval.
  size_t FlushSlice(size_t entries) const;
  // UserBase returns the user's state before the current write: from
  // `updated`, the overlay, or the database (in that order).
  StatusOr<UserState*> UserBase(const store::Txn& txn, UserMap& updated,
                                std::string_view user) const;
  Status ReplayUsers();

  std::unique_ptr<store::Env> env_;
  Dbs dbs_;
  const uint64_t user_flush_entries_;
  std::mutex write_mu_;  // serialises Integrate (overlay updates)
  // overlay_ holds user states newer than the "users" database; written by
  // Integrate under write_mu_ plus an exclusive overlay_mu_, read under a
  // shared overlay_mu_.
  mutable std::shared_mutex overlay_mu_;
  // Encoded states (EncodeUserState bytes: about a third of the decoded
  // form's memory, written to the "users" database as they are).
  UserOverlay overlay_;
  uint64_t overlay_entries_ = 0;  // entries reflected only in overlay_
  // The flush in progress (empty when none): the overlay frozen when the
  // tree had flush_through_ entries; states newer than the database for
  // those entries, older than overlay_'s. Same locking as overlay_.
  UserOverlay flushing_;
  // FlushKey is one frozen state; `prefix` holds the key's first 16 bytes
  // big-endian (zero-padded) so that most comparisons of the sort are two
  // integer compares.
  struct FlushKey {
    uint64_t prefix[2];
    const UserOverlay::Record* record;
    bool operator<(const FlushKey& o) const {
      if (prefix[0] != o.prefix[0]) return prefix[0] < o.prefix[0];
      if (prefix[1] != o.prefix[1]) return prefix[1] < o.prefix[1];
      return record->id() < o.record->id();
    }
  };
  // flush_keys_: flushing_'s states in key order; [flush_pos_, end) are not
  // written yet (the written ones are erased from flushing_ once durable, a
  // slice at a time). Writer only (write_mu_).
  std::vector<FlushKey> flush_keys_;
  size_t flush_pos_ = 0;
  uint64_t flush_through_ = 0;
};

}  // namespace kt::log

#endif  // KT_LOG_LMDB_STORAGE_H_
