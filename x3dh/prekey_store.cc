// SPDX-License-Identifier: Apache-2.0
// PrekeyStore over LMDB (x3dh/prekey_store.h; layout in docs/x3dh.md
// "Server storage").
#include "x3dh/prekey_store.h"

#include <algorithm>
#include <set>

#include "core/encoding.h"

namespace kt::x3dh {
namespace {

using core::Status;
using core::StatusOr;

// DeviceRecord value: identity_key[32] || uint32 spk_id || uint64 created ||
// spk_pub[32] || spk_sig[64] || uint64 opk_count.
constexpr size_t kRecordSize = 32 + 4 + 8 + 32 + 64 + 8;

struct DeviceRecord {
  core::Ed25519PublicKey identity_key{};
  SignedPrekey spk;
  uint64_t opk_count = 0;
};

core::Bytes EncodeRecord(const DeviceRecord& r) {
  core::Writer w;
  w.Raw(r.identity_key);
  w.U32(r.spk.spk_id);
  w.U64(r.spk.created);
  w.Raw(r.spk.public_key);
  w.Raw(r.spk.signature);
  w.U64(r.opk_count);
  return w.Take();
}

StatusOr<DeviceRecord> DecodeRecord(std::string_view v) {
  core::Reader r(core::AsBytes(v));
  DeviceRecord rec;
  if (v.size() != kRecordSize || !r.Array(&rec.identity_key) || !r.U32(&rec.spk.spk_id) ||
      !r.U64(&rec.spk.created) || !r.Array(&rec.spk.public_key) ||
      !r.Array(&rec.spk.signature) || !r.U64(&rec.opk_count) || !r.empty()) {
    return Status::Corruption("prekey store: bad device record");
  }
  return rec;
}

// ReadRecord returns the device's record, or nullopt if it has none.
StatusOr<std::optional<DeviceRecord>> ReadRecord(const store::Txn& txn, store::Dbi dbi,
                                                 const core::Hash& dev) {
  auto v = txn.Get(dbi, dev);
  if (!v.ok()) {
    if (v.status().code() == Status::Code::kNotFound) return std::optional<DeviceRecord>();
    return v.status();
  }
  KT_ASSIGN_OR_RETURN(DeviceRecord rec, DecodeRecord(*v));
  return std::optional<DeviceRecord>(rec);
}

core::Bytes OpkKey(const core::Hash& dev, uint32_t id) {
  core::Writer w;
  w.Raw(dev);
  w.U32(id);
  return w.Take();
}

bool HasPrefix(std::string_view key, const core::Hash& dev) {
  return key.substr(0, dev.size()) == core::AsStringView(dev);
}

// KeysWithPrefix returns every key of dbi that starts with `dev`, in order,
// at most `limit` of them.
StatusOr<std::vector<std::string>> KeysWithPrefix(const store::Txn& txn, store::Dbi dbi,
                                                  const core::Hash& dev, size_t limit) {
  std::vector<std::string> keys;
  KT_RETURN_IF_ERROR(txn.ForEach(dbi, dev, [&](std::string_view k, std::string_view) {
    if (!HasPrefix(k, dev) || keys.size() >= limit) return false;
    keys.emplace_back(k);
    return true;
  }));
  return keys;
}

Status DeletePrefix(store::Txn& txn, store::Dbi dbi, const core::Hash& dev) {
  KT_ASSIGN_OR_RETURN(auto keys, KeysWithPrefix(txn, dbi, dev, SIZE_MAX));
  for (const auto& k : keys) KT_RETURN_IF_ERROR(txn.Del(dbi, core::AsBytes(k)));
  return Status();
}

}  // namespace

core::Hash DeviceStoreKey(std::string_view user, std::string_view device) {
  core::Writer w;
  w.Vec16(core::AsBytes(user));
  w.Vec16(core::AsBytes(device));
  return core::Sha256(w.bytes());
}

StatusOr<std::unique_ptr<PrekeyStore>> PrekeyStore::Open(const std::filesystem::path& dir,
                                                         PrekeyStoreOptions options) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<store::Env> env, store::Env::Open(dir, options.env));
  Dbs dbs;
  KT_ASSIGN_OR_RETURN(dbs.devices, env->OpenDb("devices"));
  KT_ASSIGN_OR_RETURN(dbs.opks, env->OpenDb("opks"));
  KT_ASSIGN_OR_RETURN(dbs.opk_ids, env->OpenDb("opk_ids"));
  return std::unique_ptr<PrekeyStore>(new PrekeyStore(std::move(env), dbs, options));
}

PrekeyStore::PrekeyStore(std::unique_ptr<store::Env> env, Dbs dbs, PrekeyStoreOptions options)
    : env_(std::move(env)),
      committer_(std::make_unique<store::GroupCommitter>(env_.get())),
      dbs_(dbs),
      options_(options) {}

PrekeyStore::~PrekeyStore() = default;

Status PrekeyStore::Write(const std::function<Status(store::Txn&)>& fn) {
  return committer_->Run([&fn](store::Txn& txn, Status*) { return fn(txn); });
}

StatusOr<UploadOutcome> PrekeyStore::Upload(std::string_view user, std::string_view device,
                                            const PrekeyUpload& upload) {
  const core::Hash dev = DeviceStoreKey(user, device);
  UploadOutcome out;
  Status st = Write([&](store::Txn& txn) -> Status {
    out = UploadOutcome{};
    KT_ASSIGN_OR_RETURN(std::optional<DeviceRecord> stored, ReadRecord(txn, dbs_.devices, dev));
    // A new identity key starts the device afresh (docs/x3dh.md): its old
    // SPK, pool and remembered ids are dropped, but only once every check
    // passed (a refused upload writes nothing).
    const bool fresh = stored && stored->identity_key != upload.identity_key;
    if (fresh) stored.reset();
    if (stored && stored->spk.spk_id == upload.spk.spk_id && stored->spk != upload.spk) {
      out.refusal = UploadRefusal::kSpkIdReused;
      return Status();
    }
    std::set<uint32_t> seen;
    for (const OneTimePrekey& opk : upload.opks) {
      bool reused = !seen.insert(opk.opk_id).second;
      if (!reused && stored) {
        auto v = txn.Get(dbs_.opk_ids, OpkKey(dev, opk.opk_id));
        if (v.ok()) {
          reused = true;
        } else if (v.status().code() != Status::Code::kNotFound) {
          return v.status();
        }
      }
      if (reused) {
        out.refusal = UploadRefusal::kOpkIdReused;
        out.opk_id = opk.opk_id;
        return Status();
      }
    }
    DeviceRecord rec = stored.value_or(DeviceRecord{});
    if (rec.opk_count + upload.opks.size() > options_.max_pool) {
      out.refusal = UploadRefusal::kPoolFull;
      return Status();
    }
    if (fresh) {
      KT_RETURN_IF_ERROR(DeletePrefix(txn, dbs_.opks, dev));
      KT_RETURN_IF_ERROR(DeletePrefix(txn, dbs_.opk_ids, dev));
    }
    for (const OneTimePrekey& opk : upload.opks) {
      core::Bytes key = OpkKey(dev, opk.opk_id);
      KT_RETURN_IF_ERROR(txn.Put(dbs_.opk_ids, key, {}, store::PutMode::kNoOverwrite));
      KT_RETURN_IF_ERROR(txn.Put(dbs_.opks, key, opk.public_key, store::PutMode::kNoOverwrite));
    }
    rec.identity_key = upload.identity_key;
    rec.spk = upload.spk;
    rec.opk_count += upload.opks.size();
    KT_RETURN_IF_ERROR(txn.Put(dbs_.devices, dev, EncodeRecord(rec)));
    out.opk_count = rec.opk_count;
    out.spk_id = rec.spk.spk_id;
    return Status();
  });
  if (!st.ok()) return st.Annotate("prekey upload");
  return out;
}

StatusOr<std::vector<PrekeyBundle>> PrekeyStore::PopBundles(std::string_view user,
                                                            std::span<const BundleQuery> queries) {
  std::vector<PrekeyBundle> bundles;
  Status st = Write([&](store::Txn& txn) -> Status {
    bundles.clear();
    for (const BundleQuery& q : queries) {
      const core::Hash dev = DeviceStoreKey(user, q.device);
      KT_ASSIGN_OR_RETURN(std::optional<DeviceRecord> rec, ReadRecord(txn, dbs_.devices, dev));
      if (!rec || rec->identity_key != q.identity_key) continue;
      PrekeyBundle b;
      b.user = std::string(user);
      b.device = q.device;
      b.identity_key = rec->identity_key;
      b.signed_prekey = rec->spk;
      std::optional<std::pair<std::string, OneTimePrekey>> first;
      bool corrupt = false;
      KT_RETURN_IF_ERROR(txn.ForEach(dbs_.opks, dev, [&](std::string_view k, std::string_view v) {
        if (!HasPrefix(k, dev)) return false;
        corrupt = k.size() != dev.size() + 4 || v.size() != 32;
        if (!corrupt) {
          OneTimePrekey opk;
          core::Reader r(core::AsBytes(k.substr(dev.size())));
          (void)r.U32(&opk.opk_id);
          std::copy(v.begin(), v.end(), opk.public_key.begin());
          first.emplace(std::string(k), opk);
        }
        return false;  // only the first key at or after the prefix
      }));
      if (corrupt) return Status::Corruption("prekey store: bad OPK record");
      if (first) {
        if (rec->opk_count == 0) return Status::Corruption("prekey store: OPK count mismatch");
        KT_RETURN_IF_ERROR(txn.Del(dbs_.opks, core::AsBytes(first->first)));
        rec->opk_count--;
        KT_RETURN_IF_ERROR(txn.Put(dbs_.devices, dev, EncodeRecord(*rec)));
        b.one_time_prekey = first->second;
      }
      bundles.push_back(std::move(b));
    }
    return Status();
  });
  if (!st.ok()) return st.Annotate("prekey fetch");
  return bundles;
}

StatusOr<PrekeyCount> PrekeyStore::Count(std::string_view user, std::string_view device) {
  const core::Hash dev = DeviceStoreKey(user, device);
  PrekeyCount out;
  Status st = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(std::optional<DeviceRecord> rec, ReadRecord(txn, dbs_.devices, dev));
    if (!rec) return Status::NotFound("device has not published prekeys");
    out.opk_count = rec->opk_count;
    out.spk_id = rec->spk.spk_id;
    out.spk_created = rec->spk.created;
    out.identity_key = rec->identity_key;
    return Status();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace kt::x3dh
