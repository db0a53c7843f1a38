// SPDX-License-Identifier: Apache-2.0
// PrekeyStore: the server's prekey directory (docs/x3dh.md "Server API",
// "Prekey directory") in its own LMDB environment. Per device: the signed
// prekey record (with the identity key it was uploaded under), the pool of
// one-time prekeys, and every OPK id ever uploaded. Upload and PopBundles
// each run in one LMDB write transaction, so an OPK is never handed out
// twice, even under concurrent fetches. The on-disk layout is in
// docs/x3dh.md "Server storage".
#ifndef KT_X3DH_PREKEY_STORE_H_
#define KT_X3DH_PREKEY_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"
#include "store/group_commit.h"
#include "store/lmdb.h"
#include "x3dh/keys.h"

namespace kt::x3dh {

// kMaxOpkPool is the most OPKs the directory keeps per device.
inline constexpr uint64_t kMaxOpkPool = 10'000;
// kMaxOpksPerUpload is the most OPKs one PUT may carry.
inline constexpr size_t kMaxOpksPerUpload = 1'000;

// DeviceStoreKey is the fixed-size LMDB key prefix of one device:
// SHA-256(uint16 len || user || uint16 len || device). Fixed size keeps every
// key well below LMDB's 511-byte limit whatever the id lengths.
core::Hash DeviceStoreKey(std::string_view user, std::string_view device);

// PrekeyUpload is the body of PUT /v1/prekeys/{user}/{device}.
struct PrekeyUpload {
  core::Ed25519PublicKey identity_key{};
  SignedPrekey spk;
  std::vector<OneTimePrekey> opks;

  bool operator==(const PrekeyUpload&) const = default;
};

// UploadRefusal is why Upload stored nothing (each maps to an HTTP answer).
enum class UploadRefusal : uint8_t {
  kNone,
  kOpkIdReused,  // an OPK id was uploaded before (or twice in this request)
  kSpkIdReused,  // the stored SPK has this id but different content
  kPoolFull,     // the pool would exceed max_pool
};

// UploadOutcome is Upload's answer: refusal kNone means stored.
struct UploadOutcome {
  UploadRefusal refusal = UploadRefusal::kNone;
  uint32_t opk_id = 0;     // the offending id for kOpkIdReused
  uint64_t opk_count = 0;  // pool size after the upload
  uint32_t spk_id = 0;     // stored SPK id after the upload
};

// PrekeyCount is the state GET /v1/prekeys/{user}/{device}/count reports.
struct PrekeyCount {
  uint64_t opk_count = 0;
  uint32_t spk_id = 0;
  uint64_t spk_created = 0;
  core::Ed25519PublicKey identity_key{};
};

// BundleQuery names a device whose bundle is wanted and the identity key the
// log currently holds for it: a device whose prekeys were uploaded under
// another key is skipped (and none of its OPKs is popped).
struct BundleQuery {
  std::string device;
  core::Ed25519PublicKey identity_key{};
};

struct PrekeyStoreOptions {
  store::EnvOptions env;
  uint64_t max_pool = kMaxOpkPool;
};

// PrekeyStore is thread-safe. Concurrent Upload and PopBundles calls share
// write transactions (store::GroupCommitter: ops run one after another in
// arrival order inside one txn, one durable commit per batch, each caller
// answered after that commit), so OPK pops stay exclusive and durable while
// costing one disk sync per batch instead of per request.
class PrekeyStore {
 public:
  // Open opens (creating) the store in `dir`. IOError on failure.
  static core::StatusOr<std::unique_ptr<PrekeyStore>> Open(const std::filesystem::path& dir,
                                                           PrekeyStoreOptions options = {});
  ~PrekeyStore();

  // Upload stores `upload` for user/device in one write transaction. The
  // caller has authenticated the device, checked that upload.identity_key is
  // its current logged key and verified the SPK signature. The SPK replaces
  // the stored one when its id differs; an equal id must carry the identical
  // SPK (else kSpkIdReused). OPKs are appended; every id is remembered
  // forever (kOpkIdReused on reuse). An identity key different from the
  // stored one starts the device afresh: its old SPK, pool and remembered
  // ids are dropped (they belong to a previous key). Non-OK only on storage
  // failure.
  core::StatusOr<UploadOutcome> Upload(std::string_view user, std::string_view device,
                                       const PrekeyUpload& upload);

  // PopBundles returns, in `queries` order, a bundle for every queried
  // device that has prekeys stored under the queried identity key, each
  // with the lowest-id OPK of its pool removed in the same write transaction
  // (none when the pool is empty). Devices without prekeys or with another
  // identity key are left out and keep their OPKs.
  core::StatusOr<std::vector<PrekeyBundle>> PopBundles(std::string_view user,
                                                       std::span<const BundleQuery> queries);

  // Count returns the device's state, NotFound if it never published.
  core::StatusOr<PrekeyCount> Count(std::string_view user, std::string_view device);

 private:
  struct Dbs {
    store::Dbi devices;  // DeviceStoreKey -> DeviceRecord
    store::Dbi opks;     // DeviceStoreKey || uint32 id -> opk_pub[32]
    store::Dbi opk_ids;  // DeviceStoreKey || uint32 id -> "" (ever uploaded)
  };
  PrekeyStore(std::unique_ptr<store::Env> env, Dbs dbs, PrekeyStoreOptions options);
  // Write runs fn in a write txn shared with concurrent writers (group
  // commit: one durable commit per batch); fn may run more than once.
  core::Status Write(const std::function<core::Status(store::Txn&)>& fn);

  std::unique_ptr<store::Env> env_;
  std::unique_ptr<store::GroupCommitter> committer_;  // destroyed before env_
  Dbs dbs_;
  PrekeyStoreOptions options_;
};

}  // namespace kt::x3dh

#endif  // KT_X3DH_PREKEY_STORE_H_
