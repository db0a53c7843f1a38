// SPDX-License-Identifier: Apache-2.0
// RAII over the LMDB C API (http://www.lmdb.tech/doc/): Env owns an MDB_env,
// Txn owns an MDB_txn. Every mdb_* error becomes a Status naming the function.
// Our on-disk conventions (big-endian u64 keys, one write txn per logical
// change, durable commits) are in docs/formats.md "LMDB conventions".
//
// LMDB facts this wrapper encodes:
//  - mdb_txn_commit frees the handle even when it fails: Commit() clears it
//    first, so the destructor never aborts a freed txn.
//  - Write-txn cursors are freed at commit and read-txn cursors must be closed
//    explicitly: cursors never escape a Txn method (ForEach, Last, First).
//  - MDB_val memory is valid only inside the txn (and, in a write txn, only
//    until the next write): Get returns a string_view with that lifetime.
//  - One write txn at a time per Env: LMDB serialises them, so Update blocks
//    while another write txn is open. Readers never block and never block the
//    writer (MVCC); a reader sees the snapshot taken when its txn began.
#ifndef KT_STORE_LMDB_H_
#define KT_STORE_LMDB_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "core/bytes.h"
#include "core/status.h"

// Opaque LMDB handles (lmdb.h declares them as `typedef struct MDB_x MDB_x`).
struct MDB_env;
struct MDB_txn;

namespace kt::store {

using core::ByteSpan;
using core::Status;
using core::StatusOr;

// Dbi names one named database inside an Env. Obtain it from Env::OpenDb at
// startup; it stays valid for the Env's lifetime and may be shared by threads.
struct Dbi {
  unsigned int handle = 0;
};

// U64Key encodes v big-endian, so LMDB's bytewise key order equals numeric
// order. ParseU64Key is its inverse; a key that is not 8 bytes is Corruption.
std::array<uint8_t, 8> U64Key(uint64_t v);
StatusOr<uint64_t> ParseU64Key(std::string_view key);
inline ByteSpan AsSpan(const std::array<uint8_t, 8>& k) { return {k.data(), k.size()}; }

// PutMode selects Put's behaviour for an existing key.
enum class PutMode {
  kUpsert,       // insert or replace
  kNoOverwrite,  // fail with Conflict if the key exists (MDB_NOOVERWRITE)
  kAppend,       // key must sort after every existing key (MDB_APPEND); fast
                 // path for increasing U64Key; otherwise Conflict
};

// Txn owns an MDB_txn and aborts it on destruction unless it was committed.
// Move-only. Not thread-safe: a write Txn stays on the thread that began it; a
// read Txn (the Env uses MDB_NOTLS) may move between threads but is used by
// one thread at a time.
class Txn {
 public:
  Txn(Txn&& o) noexcept : txn_(std::exchange(o.txn_, nullptr)), read_only_(o.read_only_) {}
  Txn& operator=(Txn&& o) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();

  bool read_only() const { return read_only_; }

  // Get returns the value stored under key, or NotFound. The view points into
  // the memory map: it is valid until this Txn ends and, in a write Txn, until
  // the next Put/Del. Copy it to keep it.
  StatusOr<std::string_view> Get(Dbi dbi, ByteSpan key) const;
  // Put stores value under key (see PutMode). Needs a write Txn. A full map is
  // IOError "LMDB map is full"; the Txn must then be aborted.
  Status Put(Dbi dbi, ByteSpan key, ByteSpan value, PutMode mode = PutMode::kUpsert);
  // Del removes key; NotFound if it was absent. Needs a write Txn.
  Status Del(Dbi dbi, ByteSpan key);

  // ForEach calls fn(key, value) for every entry with key >= start_key in key
  // order, until fn returns false or the entries end. An empty start_key starts
  // at the first entry. The views obey Get's lifetime; fn must not write to
  // this Txn. Returns OK also when nothing matched.
  Status ForEach(Dbi dbi, ByteSpan start_key,
                 const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // First / Last copy out the entry with the smallest / largest key, or NotFound
  // when the database is empty.
  StatusOr<std::pair<std::string, std::string>> First(Dbi dbi) const;
  StatusOr<std::pair<std::string, std::string>> Last(Dbi dbi) const;
  // Count returns the number of entries in dbi as seen by this Txn.
  StatusOr<uint64_t> Count(Dbi dbi) const;

  // Commit consumes the Txn and makes its writes visible (and durable unless
  // the Env was opened with no_sync). mdb_txn_commit frees the handle even on
  // failure, so txn_ is cleared before the call. Committing a read Txn just
  // ends it.
  Status Commit() &&;

 private:
  friend class Env;
  Txn(MDB_txn* t, bool read_only) : txn_(t), read_only_(read_only) {}
  StatusOr<std::pair<std::string, std::string>> Edge(Dbi dbi, bool last) const;

  MDB_txn* txn_;
  bool read_only_;
};

// EnvOptions configure Env::Open.
struct EnvOptions {
  // map_size is the largest the data file may grow. The file is sparse and
  // grows as used, so a large value costs only address space.
  uint64_t map_size = uint64_t{64} << 30;  // 64 GiB
  unsigned int max_dbs = 16;
  unsigned int max_readers = 512;
  // no_sync skips fsync at commit (MDB_NOSYNC): a crash may lose the last
  // commits (never corrupt the file). Only for tests and benchmarks.
  bool no_sync = false;
};

// Env owns an LMDB environment in one directory (data.mdb + lock.mdb) and
// closes it in its destructor; every Txn must have ended by then.
// Thread-safety: all methods may be called from any thread. Write txns are
// serialised by LMDB (Update / BeginWrite block while another write txn is
// open); read txns run concurrently with each other and with the writer.
// One process should open a given directory once.
class Env {
 public:
  // Open creates dir (mode 0700) if needed and opens the environment in it.
  // IOError with the mdb_* function and reason on failure.
  static StatusOr<std::unique_ptr<Env>> Open(const std::filesystem::path& dir,
                                             const EnvOptions& options = {});
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // OpenDb opens (creating if needed) the named database. Call it at startup,
  // before other txns run; the Dbi is then valid for the Env's lifetime.
  StatusOr<Dbi> OpenDb(const std::string& name);

  // Update runs fn in a write Txn and commits iff fn returns OK; otherwise the
  // Txn is aborted and fn's Status returned. A commit failure is returned too.
  // Blocks while another write txn is open. fn must not begin other txns on
  // this Env (deadlock) and must keep cursors and views inside the call.
  Status Update(const std::function<Status(Txn&)>& fn);
  // View runs fn in a read-only Txn (a consistent snapshot) and returns fn's
  // Status. Never blocks on the writer.
  Status View(const std::function<Status(const Txn&)>& fn) const;

  // BeginWrite / BeginRead return a Txn for callers that cannot use the scoped
  // forms. Prefer Update / View.
  StatusOr<Txn> BeginWrite();
  StatusOr<Txn> BeginRead() const;

  // Sync flushes to disk (useful with no_sync). OK or IOError.
  Status Sync();

  const std::filesystem::path& path() const { return path_; }
  const EnvOptions& options() const { return options_; }

 private:
  Env(MDB_env* env, std::filesystem::path path, EnvOptions options)
      : env_(env), path_(std::move(path)), options_(options) {}
  MDB_env* env_;
  std::filesystem::path path_;
  EnvOptions options_;
  std::mutex open_db_mu_;  // serialises OpenDb
};

}  // namespace kt::store

#endif  // KT_STORE_LMDB_H_
