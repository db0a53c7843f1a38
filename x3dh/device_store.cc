// SPDX-License-Identifier: Apache-2.0
// The device store (x3dh/device_store.h): key file, LMDB layout, rotation
// and uploads, sessions and counters. The responder's transaction is in
// x3dh/responder.cc.
#include "x3dh/device_store.h"

#include <sys/stat.h>

#include <string>
#include <system_error>
#include <utility>

#include "core/encoding.h"
#include "store/file_util.h"
#include "x3dh/device_auth.h"
#include "x3dh/device_records.h"

namespace kt::x3dh {
namespace {

using core::ByteSpan;
using core::Status;
using core::StatusOr;
namespace fs = std::filesystem;

constexpr std::string_view kKeyPrefix = "kt-device-key-v1 ";

bool ValidId(std::string_view id) { return !id.empty() && id.size() <= 255; }

ByteSpan KeySpan(const std::array<uint8_t, 4>& k) { return {k.data(), k.size()}; }

StatusOr<internal::DeviceDbs> OpenDbs(store::Env& env) {
  internal::DeviceDbs d;
  KT_ASSIGN_OR_RETURN(d.meta, env.OpenDb(internal::kMetaDb));
  KT_ASSIGN_OR_RETURN(d.spks, env.OpenDb(internal::kSpkDb));
  KT_ASSIGN_OR_RETURN(d.opks, env.OpenDb(internal::kOpkDb));
  KT_ASSIGN_OR_RETURN(d.tombstones, env.OpenDb(internal::kTombstoneDb));
  KT_ASSIGN_OR_RETURN(d.sessions, env.OpenDb(internal::kSessionDb));
  KT_ASSIGN_OR_RETURN(d.processed, env.OpenDb(internal::kProcessedDb));
  KT_ASSIGN_OR_RETURN(d.counters, env.OpenDb(internal::kCounterDb));
  return d;
}

store::EnvOptions EnvOptionsFor(const DeviceStoreOptions& o) {
  store::EnvOptions e;
  e.map_size = o.map_size;
  e.max_dbs = 8;
  e.max_readers = 64;
  e.no_sync = o.no_sync;
  return e;
}

// NextId returns the meta counter `name` and advances it; ids start at 1 and
// are never reused, so running out is ResourceExhausted.
StatusOr<uint32_t> NextId(store::Txn& txn, store::Dbi meta, std::string_view name) {
  KT_ASSIGN_OR_RETURN(uint32_t id, internal::GetU32Meta(txn, meta, name));
  if (id == UINT32_MAX) return Status::ResourceExhausted("device store: prekey ids exhausted");
  KT_RETURN_IF_ERROR(internal::PutU32Meta(txn, meta, name, id + 1));
  return id;
}

// MakeCurrentSpk generates a new SPK signed at `now`, retires the current one
// (if any) at `now` and makes the new one current.
Status MakeCurrentSpk(store::Txn& txn, const internal::DeviceDbs& dbs, const DeviceIdentity& identity,
                      uint64_t now) {
  KT_ASSIGN_OR_RETURN(uint32_t new_id, NextId(txn, dbs.meta, internal::kMetaNextSpk));
  auto cur_id = internal::GetU32Meta(txn, dbs.meta, internal::kMetaCurrentSpk);
  if (cur_id.ok() && *cur_id != 0) {
    const auto k = internal::U32Key(*cur_id);
    auto v = txn.Get(dbs.spks, KeySpan(k));
    if (v.ok()) {
      KT_ASSIGN_OR_RETURN(internal::SpkRecord rec, internal::DecodeSpkRecord(*cur_id, *v));
      rec.spk.retired_at = now;
      KT_RETURN_IF_ERROR(txn.Put(dbs.spks, KeySpan(k), internal::EncodeSpkRecord(rec)));
    } else if (v.status().code() != Status::Code::kNotFound) {
      return v.status();
    }
    KT_RETURN_IF_ERROR(internal::AddCounter(txn, dbs.counters, "spk_rotations"));
  }
  const core::X25519KeyPair kp = core::GenerateX25519();
  internal::SpkRecord rec;
  rec.spk.prekey = SignPrekey(identity.signer(), new_id, now, kp.public_key);
  rec.private_key = kp.private_key;
  const auto k = internal::U32Key(new_id);
  KT_RETURN_IF_ERROR(txn.Put(dbs.spks, KeySpan(k), internal::EncodeSpkRecord(rec), store::PutMode::kNoOverwrite));
  return internal::PutU32Meta(txn, dbs.meta, internal::kMetaCurrentSpk, new_id);
}

// ReadSpks returns the current SPK (if any) and the retired ones.
Status ReadSpks(const store::Txn& txn, const internal::DeviceDbs& dbs,
                std::optional<StoredSignedPrekey>* current, std::vector<StoredSignedPrekey>* retired) {
  KT_ASSIGN_OR_RETURN(uint32_t cur_id, internal::GetU32Meta(txn, dbs.meta, internal::kMetaCurrentSpk));
  Status err;
  KT_RETURN_IF_ERROR(txn.ForEach(dbs.spks, {}, [&](std::string_view k, std::string_view v) {
    auto id = internal::ParseU32Key(k);
    auto rec = id.ok() ? internal::DecodeSpkRecord(*id, v) : StatusOr<internal::SpkRecord>(id.status());
    if (!rec.ok()) {
      err = rec.status();
      return false;
    }
    if (*id == cur_id && !rec->spk.retired_at) {
      *current = rec->spk;
    } else {
      retired->push_back(rec->spk);
    }
    return true;
  }));
  return err;
}

// ApplyRotation runs the SPK half of PlanRotation in `txn`; the erased ids
// are returned in *erased.
StatusOr<RotationPlan> ApplyRotation(store::Txn& txn, const internal::DeviceDbs& dbs,
                                     const DeviceIdentity& identity, const RotationPolicy& policy,
                                     std::optional<uint64_t> directory_count, uint64_t pending,
                                     uint64_t now, std::vector<uint32_t>* erased) {
  std::optional<StoredSignedPrekey> current;
  std::vector<StoredSignedPrekey> retired;
  KT_RETURN_IF_ERROR(ReadSpks(txn, dbs, &current, &retired));
  std::optional<SpkTimes> cur_times;
  if (current) cur_times = SpkTimes{current->prekey.spk_id, current->prekey.created, std::nullopt};
  std::vector<SpkTimes> retired_times;
  for (const auto& r : retired) retired_times.push_back({r.prekey.spk_id, r.prekey.created, r.retired_at});
  RotationPlan plan = PlanRotation(policy, cur_times, retired_times, directory_count, pending, now);
  KT_ASSIGN_OR_RETURN(*erased, internal::EraseExpiredSpks(txn, dbs, policy, now));
  if (plan.rotate_spk) KT_RETURN_IF_ERROR(MakeCurrentSpk(txn, dbs, identity, now));
  return plan;
}

Status CheckDirExists(const fs::path& path, std::string_view what) {
  std::error_code ec;
  if (fs::exists(path, ec)) return Status();
  return Status::NotFound("device store: " + std::string(what) + " " + path.string() +
                          " does not exist (run `kt device init USER DEVICE` to create the device)");
}

}  // namespace

std::string FormatIdentityKey(const core::Ed25519Signer& identity) {
  return std::string(kKeyPrefix) + core::Base64Encode(identity.seed().span()) + "\n";
}

StatusOr<core::Ed25519Signer> ParseIdentityKey(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.substr(0, kKeyPrefix.size()) != kKeyPrefix) {
    return Status::InvalidArgument("device key file: not a kt-device-key-v1 key");
  }
  auto seed = core::Base64Decode(text.substr(kKeyPrefix.size()));
  if (!seed.ok() || seed->size() != 32) {
    if (seed.ok()) core::Cleanse(*seed);
    return Status::InvalidArgument("device key file: the seed is not 32 bytes of base64");
  }
  auto signer = core::Ed25519Signer::FromSeed(*seed);
  core::Cleanse(*seed);
  return signer;
}

DeviceStore::DeviceStore(fs::path dir, std::unique_ptr<store::Env> env, internal::DeviceDbs dbs,
                         DeviceIdentity identity, std::string user, std::string device,
                         DeviceStoreOptions options)
    : dir_(std::move(dir)),
      env_(std::move(env)),
      dbs_(dbs),
      identity_(std::move(identity)),
      user_(std::move(user)),
      device_(std::move(device)),
      options_(options) {}

DeviceStore::~DeviceStore() = default;

StatusOr<std::unique_ptr<DeviceStore>> DeviceStore::Create(const fs::path& dir, std::string_view user,
                                                           std::string_view device,
                                                           const core::Ed25519Signer& identity,
                                                           uint64_t now, const DeviceStoreOptions& options) {
  if (!ValidId(user) || !ValidId(device)) {
    return Status::InvalidArgument("device store: user and device must be 1..255 bytes");
  }
  std::error_code ec;
  if (fs::exists(dir / kDeviceDbDirName, ec) || fs::exists(dir / kIdentityKeyFileName, ec)) {
    return Status::Conflict("device store: " + dir.string() + " already holds a device");
  }
  const bool created_dir = fs::create_directories(dir, ec);
  if (ec) return Status::IOError("device store: cannot create " + dir.string() + ": " + ec.message());
  if (created_dir) ::chmod(dir.c_str(), 0700);
  KT_RETURN_IF_ERROR(store::WriteSecretFile(dir / kIdentityKeyFileName, FormatIdentityKey(identity)));
  auto store = Initialize(dir, user, device, identity, now, options);
  if (!store.ok()) {
    // Leave nothing half-made behind, so that a retry of Create can succeed.
    fs::remove_all(dir / kDeviceDbDirName, ec);
    fs::remove(dir / kIdentityKeyFileName, ec);
  }
  return store;
}

StatusOr<std::unique_ptr<DeviceStore>> DeviceStore::Initialize(const fs::path& dir, std::string_view user,
                                                               std::string_view device,
                                                               const core::Ed25519Signer& identity,
                                                               uint64_t now, const DeviceStoreOptions& options) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<store::Env> env,
                      store::Env::Open(dir / kDeviceDbDirName, EnvOptionsFor(options)));
  KT_ASSIGN_OR_RETURN(internal::DeviceDbs dbs, OpenDbs(*env));
  DeviceIdentity id(identity);
  const Status txn_status = env->Update([&](store::Txn& txn) -> Status {
    auto put = [&](std::string_view k, ByteSpan v) { return txn.Put(dbs.meta, core::AsBytes(k), v); };
    KT_RETURN_IF_ERROR(put(internal::kMetaUser, core::AsBytes(user)));
    KT_RETURN_IF_ERROR(put(internal::kMetaDevice, core::AsBytes(device)));
    KT_RETURN_IF_ERROR(put(internal::kMetaIdentityKey, identity.public_key()));
    KT_RETURN_IF_ERROR(put(internal::kMetaCreated, store::AsSpan(store::U64Key(now))));
    KT_RETURN_IF_ERROR(internal::PutU32Meta(txn, dbs.meta, internal::kMetaCurrentSpk, 0));
    KT_RETURN_IF_ERROR(internal::PutU32Meta(txn, dbs.meta, internal::kMetaNextSpk, 1));
    KT_RETURN_IF_ERROR(internal::PutU32Meta(txn, dbs.meta, internal::kMetaNextOpk, 1));
    return MakeCurrentSpk(txn, dbs, id, now);
  });
  if (!txn_status.ok()) return txn_status;
  return std::unique_ptr<DeviceStore>(new DeviceStore(dir, std::move(env), dbs, std::move(id),
                                                      std::string(user), std::string(device), options));
}

StatusOr<std::unique_ptr<DeviceStore>> DeviceStore::Open(const fs::path& dir, const DeviceStoreOptions& options) {
  KT_RETURN_IF_ERROR(CheckDirExists(dir, "device directory"));
  KT_RETURN_IF_ERROR(CheckDirExists(dir / kIdentityKeyFileName, "identity key file"));
  KT_RETURN_IF_ERROR(CheckDirExists(dir / kDeviceDbDirName / "data.mdb", "device store"));
  KT_ASSIGN_OR_RETURN(std::string key_text, store::ReadSecretFile(dir / kIdentityKeyFileName));
  auto signer = ParseIdentityKey(key_text);
  core::Cleanse({reinterpret_cast<uint8_t*>(key_text.data()), key_text.size()});
  if (!signer.ok()) return signer.status().Annotate((dir / kIdentityKeyFileName).string());
  KT_ASSIGN_OR_RETURN(std::unique_ptr<store::Env> env,
                      store::Env::Open(dir / kDeviceDbDirName, EnvOptionsFor(options)));
  KT_ASSIGN_OR_RETURN(internal::DeviceDbs dbs, OpenDbs(*env));
  std::string user, device;
  const Status txn_status = env->View([&](const store::Txn& txn) -> Status {
    auto get = [&](std::string_view k) -> StatusOr<std::string> {
      auto v = txn.Get(dbs.meta, core::AsBytes(k));
      if (!v.ok() && v.status().code() == Status::Code::kNotFound) {
        return Status::Corruption("device store: meta " + std::string(k) + " missing (not a device store?)");
      }
      if (!v.ok()) return v.status();
      return std::string(*v);
    };
    KT_ASSIGN_OR_RETURN(user, get(internal::kMetaUser));
    KT_ASSIGN_OR_RETURN(device, get(internal::kMetaDevice));
    KT_ASSIGN_OR_RETURN(std::string ik, get(internal::kMetaIdentityKey));
    if (!core::ConstantTimeEqual(core::AsBytes(ik), signer->public_key()) || ik.size() != 32) {
      return Status::Corruption("device store: identity key file " + (dir / kIdentityKeyFileName).string() +
                                " does not match the key this store was created with");
    }
    return Status();
  });
  if (!txn_status.ok()) return txn_status;
  DeviceIdentity id(*signer);
  return std::unique_ptr<DeviceStore>(
      new DeviceStore(dir, std::move(env), dbs, std::move(id), std::move(user), std::move(device), options));
}

StatusOr<core::X25519PrivateKey> DeviceStore::CachedSpkKey(uint32_t spk_id, ByteSpan private_key) const {
  {
    std::lock_guard<std::mutex> l(spk_cache_mu_);
    auto it = spk_cache_.find(spk_id);
    if (it != spk_cache_.end()) return it->second;
  }
  KT_ASSIGN_OR_RETURN(core::X25519PrivateKey key, core::X25519PrivateKey::FromBytes(private_key));
  std::lock_guard<std::mutex> l(spk_cache_mu_);
  spk_cache_.emplace(spk_id, key);
  return key;
}

void DeviceStore::ForgetSpkKeys(const std::vector<uint32_t>& spk_ids) const {
  std::lock_guard<std::mutex> l(spk_cache_mu_);
  for (uint32_t id : spk_ids) spk_cache_.erase(id);
}

StatusOr<DeviceInfo> DeviceStore::Info() const {
  DeviceInfo info;
  info.user = user_;
  info.device = device_;
  info.identity_key = identity_.public_key();
  const Status txn_status = env_->View([&](const store::Txn& txn) -> Status {
    auto created = txn.Get(dbs_.meta, core::AsBytes(internal::kMetaCreated));
    if (created.ok()) {
      KT_ASSIGN_OR_RETURN(info.created, store::ParseU64Key(*created));
    }
    KT_RETURN_IF_ERROR(ReadSpks(txn, dbs_, &info.current_spk, &info.retired_spks));
    Status err;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.opks, {}, [&](std::string_view, std::string_view v) {
      auto rec = internal::DecodeOpkRecord(v);
      if (!rec.ok()) {
        err = rec.status();
        return false;
      }
      info.opks++;
      if (!rec->uploaded) info.opks_pending++;
      return true;
    }));
    KT_RETURN_IF_ERROR(err);
    KT_ASSIGN_OR_RETURN(info.opk_tombstones, txn.Count(dbs_.tombstones));
    KT_ASSIGN_OR_RETURN(info.sessions, txn.Count(dbs_.sessions));
    KT_ASSIGN_OR_RETURN(info.processed_messages, txn.Count(dbs_.processed));
    return Status();
  });
  if (!txn_status.ok()) return txn_status;
  return info;
}

StatusOr<RotationPlan> DeviceStore::Rotate(uint64_t now) {
  RotationPlan plan;
  std::vector<uint32_t> erased;
  const Status txn_status = env_->Update([&](store::Txn& txn) -> Status {
    // No refill here: a directory count of "plenty" disables it.
    KT_ASSIGN_OR_RETURN(plan, ApplyRotation(txn, dbs_, identity_, options_.policy, UINT64_MAX / 2, 0, now,
                                            &erased));
    return Status();
  });
  if (!txn_status.ok()) return txn_status;
  plan.new_opks = 0;
  ForgetSpkKeys(erased);
  return plan;
}

StatusOr<PrekeyUpload> DeviceStore::PrepareUpload(uint64_t now, std::optional<uint64_t> directory_opk_count) {
  PrekeyUpload up;
  up.identity_key = identity_.public_key();
  std::vector<uint32_t> erased;
  const Status txn_status = env_->Update([&](store::Txn& txn) -> Status {
    up.opks.clear();
    Status err;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.opks, {}, [&](std::string_view k, std::string_view v) {
      auto id = internal::ParseU32Key(k);
      auto rec = id.ok() ? internal::DecodeOpkRecord(v) : StatusOr<internal::OpkRecord>(id.status());
      if (!rec.ok()) {
        err = rec.status();
        return false;
      }
      if (!rec->uploaded) up.opks.push_back({*id, rec->public_key});
      return up.opks.size() < kMaxOpksPerUpload;
    }));
    KT_RETURN_IF_ERROR(err);
    KT_ASSIGN_OR_RETURN(RotationPlan plan, ApplyRotation(txn, dbs_, identity_, options_.policy,
                                                         directory_opk_count, up.opks.size(), now, &erased));
    const uint32_t room = static_cast<uint32_t>(kMaxOpksPerUpload - up.opks.size());
    const uint32_t n = std::min(plan.new_opks, room);
    for (uint32_t i = 0; i < n; i++) {
      KT_ASSIGN_OR_RETURN(uint32_t id, NextId(txn, dbs_.meta, internal::kMetaNextOpk));
      const core::X25519KeyPair kp = core::GenerateX25519();
      internal::OpkRecord rec{false, now, kp.private_key, kp.public_key};
      const auto k = internal::U32Key(id);
      KT_RETURN_IF_ERROR(txn.Put(dbs_.opks, KeySpan(k), internal::EncodeOpkRecord(rec), store::PutMode::kNoOverwrite));
      up.opks.push_back({id, kp.public_key});
    }
    if (n > 0) KT_RETURN_IF_ERROR(internal::AddCounter(txn, dbs_.counters, "opks_generated", n));
    KT_ASSIGN_OR_RETURN(uint32_t cur, internal::GetU32Meta(txn, dbs_.meta, internal::kMetaCurrentSpk));
    const auto k = internal::U32Key(cur);
    KT_ASSIGN_OR_RETURN(std::string_view v, txn.Get(dbs_.spks, KeySpan(k)));
    KT_ASSIGN_OR_RETURN(internal::SpkRecord spk, internal::DecodeSpkRecord(cur, v));
    up.spk = spk.spk.prekey;
    return Status();
  });
  if (!txn_status.ok()) return txn_status;
  ForgetSpkKeys(erased);
  return up;
}

Status DeviceStore::ConfirmUpload(const PrekeyUpload& upload) {
  return env_->Update([&](store::Txn& txn) -> Status {
    for (const OneTimePrekey& opk : upload.opks) {
      const auto k = internal::U32Key(opk.opk_id);
      auto v = txn.Get(dbs_.opks, KeySpan(k));
      if (!v.ok()) {
        if (v.status().code() == Status::Code::kNotFound) continue;  // consumed since
        return v.status();
      }
      KT_ASSIGN_OR_RETURN(internal::OpkRecord rec, internal::DecodeOpkRecord(*v));
      if (rec.uploaded || rec.public_key != opk.public_key) continue;
      rec.uploaded = true;
      KT_RETURN_IF_ERROR(txn.Put(dbs_.opks, KeySpan(k), internal::EncodeOpkRecord(rec)));
    }
    return Status();
  });
}

Status DeviceStore::RecordInitiated(const VerifiedBundle& bundle, const InitiatorResult& sent, uint64_t now) {
  const core::Hash id = MessageId(sent.message);
  Session s;
  s.message_id = id;
  s.initiator = true;
  s.peer_user = sent.message.header.recipient_user;
  s.peer_device = sent.message.header.recipient_device;
  s.peer_identity_key = bundle.identity_key();
  s.shared_key = sent.shared_key;
  s.created = now;
  return env_->Update([&](store::Txn& txn) -> Status {
    KT_RETURN_IF_ERROR(txn.Put(dbs_.sessions, id, internal::EncodeSession(s), store::PutMode::kNoOverwrite));
    return internal::AddCounter(txn, dbs_.counters, "sent");
  });
}

StatusOr<Session> DeviceStore::GetSession(const core::Hash& message_id) const {
  std::optional<Session> out;
  const Status txn_status = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(std::string_view v, txn.Get(dbs_.sessions, message_id));
    KT_ASSIGN_OR_RETURN(out, internal::DecodeSession(message_id, v));
    return Status();
  });
  if (!txn_status.ok()) return txn_status;
  return std::move(*out);
}

StatusOr<std::vector<Session>> DeviceStore::Sessions() const {
  std::vector<Session> out;
  const Status txn_status = env_->View([&](const store::Txn& txn) -> Status {
    Status err;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.sessions, {}, [&](std::string_view k, std::string_view v) {
      core::Hash id{};
      if (k.size() != id.size()) {
        err = Status::Corruption("device store: session key is not 32 bytes");
        return false;
      }
      std::copy(k.begin(), k.end(), id.begin());
      auto s = internal::DecodeSession(id, v);
      if (!s.ok()) {
        err = s.status();
        return false;
      }
      out.push_back(std::move(s).value());
      return true;
    }));
    return err;
  });
  if (!txn_status.ok()) return txn_status;
  return out;
}

std::string DeviceStore::AuthHeader(std::string_view method, std::string_view path, ByteSpan body,
                                    uint64_t now) const {
  return DeviceAuthHeader(identity_.signer(), method, path, body, now);
}

StatusOr<DeviceCounters> DeviceStore::Counters() const {
  DeviceCounters c;
  const Status txn_status = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(c, internal::ReadCounters(txn, dbs_.counters));
    return Status();
  });
  if (!txn_status.ok()) return txn_status;
  return c;
}

Status DeviceStore::CountFailure(X3dhError reason) {
  return env_->Update([&](store::Txn& txn) -> Status {
    return internal::AddCounter(txn, dbs_.counters, internal::FailureCounterName(reason));
  });
}

}  // namespace kt::x3dh
