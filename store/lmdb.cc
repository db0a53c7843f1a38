// SPDX-License-Identifier: Apache-2.0
// RAII over the LMDB C API; see store/lmdb.h for the facts it encodes.
#include "store/lmdb.h"

#include <lmdb.h>

#include <system_error>

#include "core/encoding.h"

namespace kt::store {
namespace {

// FromMdb maps an mdb_* return code to a Status naming the function.
Status FromMdb(int rc, std::string_view fn) {
  if (rc == MDB_SUCCESS) return Status();
  std::string what = std::string(fn) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
      return Status::NotFound(what);
    case MDB_KEYEXIST:
      return Status::Conflict(what);
    case MDB_MAP_FULL:
      return Status::IOError("LMDB map is full (raise EnvOptions::map_size): " + what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return Status::Corruption(what);
    default:
      return Status::IOError(what);
  }
}

MDB_val ToVal(ByteSpan b) {
  // LMDB never writes through mv_data of an input key/value.
  return MDB_val{b.size(), const_cast<uint8_t*>(b.data())};
}

std::string_view FromVal(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Cursor closes an MDB_cursor when it leaves scope, which is always inside the
// owning Txn's method: write cursors are closed before commit (never after,
// which would be a double free), read cursors are closed explicitly as LMDB
// requires.
class Cursor {
 public:
  static StatusOr<std::unique_ptr<Cursor>> Open(MDB_txn* txn, Dbi dbi) {
    MDB_cursor* c = nullptr;
    int rc = mdb_cursor_open(txn, dbi.handle, &c);
    if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_cursor_open");
    return std::unique_ptr<Cursor>(new Cursor(c));
  }
  ~Cursor() { mdb_cursor_close(c_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // Get returns MDB_SUCCESS, MDB_NOTFOUND or another error code.
  int Get(MDB_val* k, MDB_val* v, MDB_cursor_op op) { return mdb_cursor_get(c_, k, v, op); }

 private:
  explicit Cursor(MDB_cursor* c) : c_(c) {}
  MDB_cursor* c_;
};

}  // namespace

std::array<uint8_t, 8> U64Key(uint64_t v) {
  std::array<uint8_t, 8> k;
  core::PutU64BE(k.data(), v);
  return k;
}

StatusOr<uint64_t> ParseU64Key(std::string_view key) {
  if (key.size() != 8) {
    return Status::Corruption("u64 key has " + std::to_string(key.size()) + " bytes, want 8");
  }
  return core::GetU64BE(reinterpret_cast<const uint8_t*>(key.data()));
}

// --- Txn ---

Txn& Txn::operator=(Txn&& o) noexcept {
  if (this != &o) {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = std::exchange(o.txn_, nullptr);
    read_only_ = o.read_only_;
  }
  return *this;
}

Txn::~Txn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

StatusOr<std::string_view> Txn::Get(Dbi dbi, ByteSpan key) const {
  KT_CHECK(txn_ != nullptr);
  MDB_val k = ToVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, dbi.handle, &k, &v);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_get");
  return FromVal(v);
}

Status Txn::Put(Dbi dbi, ByteSpan key, ByteSpan value, PutMode mode) {
  KT_CHECK(txn_ != nullptr);
  if (read_only_) return Status::Internal("Put in a read-only LMDB txn");
  unsigned int flags = 0;
  if (mode == PutMode::kNoOverwrite) flags = MDB_NOOVERWRITE;
  if (mode == PutMode::kAppend) flags = MDB_APPEND;
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  return FromMdb(mdb_put(txn_, dbi.handle, &k, &v, flags), "mdb_put");
}

Status Txn::Del(Dbi dbi, ByteSpan key) {
  KT_CHECK(txn_ != nullptr);
  if (read_only_) return Status::Internal("Del in a read-only LMDB txn");
  MDB_val k = ToVal(key);
  return FromMdb(mdb_del(txn_, dbi.handle, &k, nullptr), "mdb_del");
}

Status Txn::ForEach(Dbi dbi, ByteSpan start_key,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  KT_CHECK(txn_ != nullptr);
  KT_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn_, dbi));
  MDB_val k = ToVal(start_key);
  MDB_val v{0, nullptr};
  int rc = start_key.empty() ? cursor->Get(&k, &v, MDB_FIRST) : cursor->Get(&k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    if (!fn(FromVal(k), FromVal(v))) return Status();
    rc = cursor->Get(&k, &v, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return Status();
  return FromMdb(rc, "mdb_cursor_get");
}

StatusOr<std::pair<std::string, std::string>> Txn::Edge(Dbi dbi, bool last) const {
  KT_CHECK(txn_ != nullptr);
  KT_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn_, dbi));
  MDB_val k{0, nullptr};
  MDB_val v{0, nullptr};
  int rc = cursor->Get(&k, &v, last ? MDB_LAST : MDB_FIRST);
  if (rc != MDB_SUCCESS) return FromMdb(rc, last ? "mdb_cursor_get(MDB_LAST)" : "mdb_cursor_get(MDB_FIRST)");
  return std::make_pair(std::string(FromVal(k)), std::string(FromVal(v)));
}

StatusOr<std::pair<std::string, std::string>> Txn::First(Dbi dbi) const { return Edge(dbi, false); }
StatusOr<std::pair<std::string, std::string>> Txn::Last(Dbi dbi) const { return Edge(dbi, true); }

StatusOr<uint64_t> Txn::Count(Dbi dbi) const {
  KT_CHECK(txn_ != nullptr);
  MDB_stat st;
  int rc = mdb_stat(txn_, dbi.handle, &st);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_stat");
  return static_cast<uint64_t>(st.ms_entries);
}

Status Txn::Commit() && {
  KT_CHECK(txn_ != nullptr);
  // mdb_txn_commit frees the txn even on failure: clear our handle first.
  return FromMdb(mdb_txn_commit(std::exchange(txn_, nullptr)), "mdb_txn_commit");
}

// --- Env ---

StatusOr<std::unique_ptr<Env>> Env::Open(const std::filesystem::path& dir,
                                         const EnvOptions& options) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) return Status::IOError("create directory " + dir.string() + ": " + ec.message());
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_env_create");
  // From here on, env must be closed on every error path.
  auto fail = [env](int code, std::string_view fn) {
    mdb_env_close(env);
    return FromMdb(code, fn);
  };
  if ((rc = mdb_env_set_mapsize(env, options.map_size)) != MDB_SUCCESS) {
    return fail(rc, "mdb_env_set_mapsize");
  }
  if ((rc = mdb_env_set_maxdbs(env, options.max_dbs)) != MDB_SUCCESS) {
    return fail(rc, "mdb_env_set_maxdbs");
  }
  if ((rc = mdb_env_set_maxreaders(env, options.max_readers)) != MDB_SUCCESS) {
    return fail(rc, "mdb_env_set_maxreaders");
  }
  // MDB_NOTLS ties reader slots to txns, not threads, so any thread may read.
  unsigned int flags = MDB_NOTLS;
  if (options.no_sync) flags |= MDB_NOSYNC;
  if ((rc = mdb_env_open(env, dir.c_str(), flags, 0600)) != MDB_SUCCESS) {
    return fail(rc, "mdb_env_open(" + dir.string() + ")")
        .Annotate("open LMDB environment");
  }
  return std::unique_ptr<Env>(new Env(env, dir, options));
}

Env::~Env() { mdb_env_close(env_); }

StatusOr<Dbi> Env::OpenDb(const std::string& name) {
  std::lock_guard<std::mutex> lock(open_db_mu_);
  KT_ASSIGN_OR_RETURN(Txn txn, BeginWrite());
  Dbi dbi;
  int rc = mdb_dbi_open(txn.txn_, name.c_str(), MDB_CREATE, &dbi.handle);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_dbi_open(" + name + ")");
  KT_RETURN_IF_ERROR(std::move(txn).Commit());
  return dbi;
}

StatusOr<Txn> Env::BeginWrite() {
  MDB_txn* t = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &t);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_txn_begin");
  return Txn(t, false);
}

StatusOr<Txn> Env::BeginRead() const {
  MDB_txn* t = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
  if (rc != MDB_SUCCESS) return FromMdb(rc, "mdb_txn_begin(MDB_RDONLY)");
  return Txn(t, true);
}

Status Env::Update(const std::function<Status(Txn&)>& fn) {
  KT_ASSIGN_OR_RETURN(Txn txn, BeginWrite());
  Status s = fn(txn);
  if (!s.ok()) return s;  // ~Txn aborts
  return std::move(txn).Commit();
}

Status Env::View(const std::function<Status(const Txn&)>& fn) const {
  KT_ASSIGN_OR_RETURN(Txn txn, BeginRead());
  return fn(txn);  // ~Txn aborts the read txn, releasing its reader slot
}

Status Env::Sync() { return FromMdb(mdb_env_sync(env_, 1), "mdb_env_sync"); }

}  // namespace kt::store
