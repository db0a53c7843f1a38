// SPDX-License-Identifier: Apache-2.0
// Internal to x3dh/: the LMDB databases and record formats of the device
// store (docs/x3dh.md "Device store" lists them), shared by
// x3dh/device_store.cc and x3dh/responder.cc. Not for other libraries.
#ifndef KT_X3DH_DEVICE_RECORDS_H_
#define KT_X3DH_DEVICE_RECORDS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"
#include "store/lmdb.h"
#include "x3dh/device_store.h"

namespace kt::x3dh::internal {

// Database names inside DIR/db.
inline constexpr char kMetaDb[] = "meta";              // name -> value
inline constexpr char kSpkDb[] = "spks";               // u32 spk_id -> SpkRecord
inline constexpr char kOpkDb[] = "opks";               // u32 opk_id -> OpkRecord
inline constexpr char kTombstoneDb[] = "opk_tombstones";  // u32 opk_id -> TombstoneRecord
inline constexpr char kSessionDb[] = "sessions";       // MessageId -> SessionRecord
inline constexpr char kProcessedDb[] = "processed";    // MessageId -> ProcessedRecord
inline constexpr char kCounterDb[] = "counters";       // name -> u64 BE

// Meta keys.
inline constexpr char kMetaUser[] = "user";
inline constexpr char kMetaDevice[] = "device";
inline constexpr char kMetaIdentityKey[] = "identity_key";  // 32-byte Ed25519 public key
inline constexpr char kMetaCreated[] = "created";           // u64
inline constexpr char kMetaCurrentSpk[] = "current_spk_id"; // u32
inline constexpr char kMetaNextSpk[] = "next_spk_id";       // u32, ids never reused
inline constexpr char kMetaNextOpk[] = "next_opk_id";       // u32, ids never reused

// U32Key encodes an id big-endian (LMDB key order = numeric order).
std::array<uint8_t, 4> U32Key(uint32_t id);
core::StatusOr<uint32_t> ParseU32Key(std::string_view key);

// SpkRecord: u8 version=1 | u64 created | pub[32] | sig[64] | priv[32] |
// u8 retired (0/1) | u64 retired_at.
struct SpkRecord {
  StoredSignedPrekey spk;
  core::SecretBytes private_key;
};
core::Bytes EncodeSpkRecord(const SpkRecord& r);
core::StatusOr<SpkRecord> DecodeSpkRecord(uint32_t spk_id, std::string_view v);

// OpkRecord: u8 version=1 | u8 uploaded (0/1) | u64 created | priv[32] | pub[32].
// The public key is kept so that the responder parses the private key
// without recomputing it (core::X25519PrivateKey::FromKeyPair).
struct OpkRecord {
  bool uploaded = false;
  uint64_t created = 0;
  core::SecretBytes private_key;
  core::X25519PublicKey public_key{};
};
core::Bytes EncodeOpkRecord(const OpkRecord& r);
core::StatusOr<OpkRecord> DecodeOpkRecord(std::string_view v);

// TombstoneRecord: MessageId[32] | u64 consumed_at.
struct TombstoneRecord {
  core::Hash message_id{};
  uint64_t consumed_at = 0;
};
core::Bytes EncodeTombstone(const TombstoneRecord& r);
core::StatusOr<TombstoneRecord> DecodeTombstone(std::string_view v);

// SessionRecord: u8 version=1 | u8 initiator | opaque peer_user<1..255> |
// opaque peer_device<1..255> | peer_ik[32] | sk[32] | u64 created.
core::Bytes EncodeSession(const Session& s);
core::StatusOr<Session> DecodeSession(const core::Hash& message_id, std::string_view v);

// ProcessedRecord: u8 version=1 | u64 processed_at | u32 len | EncodeHeader |
// u32 len | plaintext. The session lives in the session db under the same id.
core::Bytes EncodeProcessed(const ProcessedMessage& m);
core::StatusOr<ProcessedMessage> DecodeProcessed(const core::Hash& message_id, std::string_view v);

// Counter names: "received", "received_without_opk", "sent", "spk_rotations",
// "spks_erased", "opks_generated", "failure/<X3dhErrorName>", "failure/other".
std::string FailureCounterName(X3dhError e);
inline constexpr char kCounterOtherFailure[] = "failure/other";
// AddCounter adds `delta` to counter `name` in a write txn.
core::Status AddCounter(store::Txn& txn, store::Dbi counters, std::string_view name, uint64_t delta = 1);
core::StatusOr<DeviceCounters> ReadCounters(const store::Txn& txn, store::Dbi counters);

// GetU32Meta / PutU32Meta read and write a u32 meta value.
core::StatusOr<uint32_t> GetU32Meta(const store::Txn& txn, store::Dbi meta, std::string_view name);
core::Status PutU32Meta(store::Txn& txn, store::Dbi meta, std::string_view name, uint32_t v);

// DeviceStoreAccess hands x3dh/responder.cc the store's env and databases.
struct DeviceStoreAccess {
  static store::Env& Env(DeviceStore& s) { return *s.env_; }
  static const DeviceDbs& Dbs(const DeviceStore& s) { return s.dbs_; }
  static core::StatusOr<core::X25519PrivateKey> SpkKey(const DeviceStore& s, uint32_t id,
                                                      core::ByteSpan private_key) {
    return s.CachedSpkKey(id, private_key);
  }
  static void ForgetSpkKeys(const DeviceStore& s, const std::vector<uint32_t>& ids) {
    s.ForgetSpkKeys(ids);
  }
};

// EraseExpiredSpks deletes, in `txn`, retired SPKs past the policy's
// retention at `now`, counts them, prunes their dedup records
// (PruneDedupForSpks), and returns their ids (the caller drops them from the
// key cache after commit).
core::StatusOr<std::vector<uint32_t>> EraseExpiredSpks(store::Txn& txn, const DeviceDbs& dbs,
                                                       const RotationPolicy& policy, uint64_t now);

// PruneDedupForSpks deletes the dedup records (with their plaintexts) of
// messages made with one of `spk_ids`, whose private keys are gone: a
// redelivery of such a message now fails spk_unknown at the SPK lookup, so
// the record could only turn that answer into "duplicate". This bounds the
// dedup database to the messages of retained SPKs. Sessions and OPK
// tombstones (small; they keep opk_reused precise) are kept.
core::Status PruneDedupForSpks(store::Txn& txn, const DeviceDbs& dbs, const std::vector<uint32_t>& spk_ids);

}  // namespace kt::x3dh::internal

#endif  // KT_X3DH_DEVICE_RECORDS_H_
