// SPDX-License-Identifier: Apache-2.0
// The persistent state of one local X3DH device (docs/x3dh.md "Device
// store"): its Ed25519 identity key (in a 0600 key file beside the store),
// and in LMDB its current and retained signed prekeys, one-time prekey
// private keys, tombstones of consumed one-time prekeys, sessions, the dedup
// records of processed initial messages and persistent counters. The
// responder that consumes prekeys is x3dh/responder.h; the rotation rules
// are x3dh/rotation.h. No network I/O here: the caller uploads what
// PrepareUpload returns and fetches messages from the mailbox.
//
// Layout of a device directory DIR:
//   DIR/identity.key   the Ed25519 seed, FormatIdentityKey, mode 0600
//   DIR/db/            LMDB environment (data.mdb, lock.mdb)
#ifndef KT_X3DH_DEVICE_STORE_H_
#define KT_X3DH_DEVICE_STORE_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "core/status.h"
#include "store/lmdb.h"
#include "x3dh/keys.h"
#include "x3dh/prekey_upload.h"
#include "x3dh/rotation.h"
#include "x3dh/x3dh.h"

namespace kt::x3dh {
namespace internal {
struct DeviceStoreAccess;
// DeviceDbs are the store's LMDB databases (x3dh/device_records.h).
struct DeviceDbs {
  store::Dbi meta, spks, opks, tombstones, sessions, processed, counters;
};
}  // namespace internal

inline constexpr char kIdentityKeyFileName[] = "identity.key";
inline constexpr char kDeviceDbDirName[] = "db";

// FormatIdentityKey returns "kt-device-key-v1 <base64 of the 32-byte seed>\n".
// The result is secret: write it only with store::WriteSecretFile.
std::string FormatIdentityKey(const core::Ed25519Signer& identity);
// ParseIdentityKey reverses FormatIdentityKey (the trailing newline is
// optional). InvalidArgument otherwise; the message never holds key bytes.
core::StatusOr<core::Ed25519Signer> ParseIdentityKey(std::string_view text);

// DeviceStoreOptions configure Create and Open.
struct DeviceStoreOptions {
  RotationPolicy policy;
  // no_sync skips fsync at commit: only for tests and benchmarks.
  bool no_sync = false;
  uint64_t map_size = uint64_t{1} << 30;  // 1 GiB of address space
};

// StoredSignedPrekey is the public part of a stored SPK; its private key
// never leaves the store.
struct StoredSignedPrekey {
  SignedPrekey prekey;                 // id, created, public key, signature
  std::optional<uint64_t> retired_at;  // unset for the current SPK

  bool operator==(const StoredSignedPrekey&) const = default;
};

// Session is the outcome of one X3DH handshake, keyed by the initial
// message's MessageId (the responder's and the initiator's copy alike).
struct Session {
  core::Hash message_id{};
  bool initiator = false;  // true: we sent the initial message
  std::string peer_user;
  std::string peer_device;
  core::Ed25519PublicKey peer_identity_key{};  // IK of the other side (Ed25519)
  core::SecretBytes shared_key;                // SK
  uint64_t created = 0;                        // unix seconds
};

// ProcessedMessage is what ProcessInitialMessage returns, the same for the
// first delivery and for every duplicate of it.
struct ProcessedMessage {
  core::Hash message_id{};
  Header header;            // authenticated header
  core::Bytes plaintext;    // decrypted payload
  Session session;          // the responder's session (SK, peer)
  uint64_t processed_at = 0;
  bool duplicate = false;   // true when answered from the dedup record
};

// DeviceCounters are persisted in the store and survive restarts.
struct DeviceCounters {
  uint64_t received = 0;              // initial messages processed (first delivery)
  uint64_t received_without_opk = 0;  // of which without a one-time prekey (3-DH)
  uint64_t sent = 0;                  // initial messages made (RecordInitiated)
  uint64_t spk_rotations = 0;
  uint64_t spks_erased = 0;           // retired SPKs erased after retention
  uint64_t opks_generated = 0;
  std::array<uint64_t, kX3dhErrorCount> failures{};  // indexed by X3dhError
  uint64_t other_failures = 0;        // malformed, wrong recipient, bad sender key

  uint64_t failure(X3dhError e) const { return failures[static_cast<size_t>(e)]; }
};

// DeviceInfo summarises the store (for `kt device status`).
struct DeviceInfo {
  std::string user;
  std::string device;
  core::Ed25519PublicKey identity_key{};
  uint64_t created = 0;
  std::optional<StoredSignedPrekey> current_spk;
  std::vector<StoredSignedPrekey> retired_spks;  // retained, oldest first
  uint64_t opks = 0;              // private keys held (uploaded or pending)
  uint64_t opks_pending = 0;      // generated, not yet confirmed uploaded
  uint64_t opk_tombstones = 0;    // consumed OPK ids
  uint64_t sessions = 0;
  uint64_t processed_messages = 0;
};

// DeviceStore is one device's state. All methods are thread-safe (LMDB
// serialises write transactions; every change is one durable write txn), and
// a second process may open the same directory (LMDB locks it).
class DeviceStore {
 public:
  // Create makes DIR (0700) with DIR/identity.key (0600) holding `identity`
  // and a new store for device `device` of `user` (1..255 bytes each), with
  // a first current SPK created at `now`. Conflict if DIR already holds a
  // key file or a store; IOError on file errors (then nothing is left
  // behind). DIR gets mode 0700 when Create makes it.
  static core::StatusOr<std::unique_ptr<DeviceStore>> Create(const std::filesystem::path& dir,
                                                             std::string_view user,
                                                             std::string_view device,
                                                             const core::Ed25519Signer& identity,
                                                             uint64_t now,
                                                             const DeviceStoreOptions& options = {});
  // Open opens an existing device directory. NotFound (naming the missing
  // file and suggesting `kt device init`) when DIR, the key file or the
  // store is missing; PermissionDenied for a key file readable by others;
  // Corruption when the key file's public key is not the one the store was
  // created with, or the store's records do not parse.
  static core::StatusOr<std::unique_ptr<DeviceStore>> Open(const std::filesystem::path& dir,
                                                           const DeviceStoreOptions& options = {});
  ~DeviceStore();
  DeviceStore(const DeviceStore&) = delete;
  DeviceStore& operator=(const DeviceStore&) = delete;

  const std::string& user() const { return user_; }
  const std::string& device() const { return device_; }
  const DeviceIdentity& identity() const { return identity_; }
  const RotationPolicy& policy() const { return options_.policy; }
  const std::filesystem::path& dir() const { return dir_; }

  // Info reads a consistent snapshot of the store.
  core::StatusOr<DeviceInfo> Info() const;

  // Rotate applies x3dh/rotation.h at `now` in one write txn: rotates the SPK
  // when due (the new SPK gets a never-used id) and erases the private keys
  // of retired SPKs past retention. Returns the plan it applied (new_opks
  // is always 0: refills happen in PrepareUpload).
  core::StatusOr<RotationPlan> Rotate(uint64_t now);

  // PrepareUpload runs Rotate's rules and the OPK refill rule for a
  // directory that reports `directory_opk_count` OPKs (nullopt: the device
  // never published), all in one write txn, and returns the PUT body: the
  // identity key, the current SPK and every OPK generated but not yet
  // confirmed (at most kMaxOpksPerUpload). New OPK ids are never reused.
  // Calling it again before ConfirmUpload returns the same pending OPKs.
  core::StatusOr<PrekeyUpload> PrepareUpload(uint64_t now, std::optional<uint64_t> directory_opk_count);
  // ConfirmUpload marks the upload's OPKs as uploaded once the directory
  // answered 200 (or 409 opk_id_reused, which means an earlier attempt of the
  // same upload got through: ids are never reused). Ids no longer held are
  // ignored. OK or an LMDB error.
  core::Status ConfirmUpload(const PrekeyUpload& upload);

  // RecordInitiated stores the initiator's session for a message we sent to
  // `bundle`'s device (peer = recipient, peer IK = the bundle's logged
  // identity key) and counts it as sent. Conflict if that MessageId is
  // already stored.
  core::Status RecordInitiated(const VerifiedBundle& bundle, const InitiatorResult& sent, uint64_t now);

  // GetSession returns the session made by message `message_id`, NotFound if none.
  core::StatusOr<Session> GetSession(const core::Hash& message_id) const;
  // Sessions returns every session, in MessageId order.
  core::StatusOr<std::vector<Session>> Sessions() const;

  // AuthHeader returns the `Authorization: KT-Device ...` header value for a
  // device request (prekey upload, count, mailbox fetch and ack) signed by
  // this device's identity key at `now` with a fresh nonce
  // (x3dh/device_auth.h; `path` percent-decoded, without query string).
  std::string AuthHeader(std::string_view method, std::string_view path, core::ByteSpan body,
                         uint64_t now) const;

  // Counters reads the persisted counters.
  core::StatusOr<DeviceCounters> Counters() const;
  // CountFailure persistently counts a failure seen outside this store (e.g.
  // the initiator's kNotLogged or kKeyChanged from kt::client).
  core::Status CountFailure(X3dhError reason);

 private:
  // x3dh/responder.cc runs its write txn on env_ through this accessor.
  friend struct internal::DeviceStoreAccess;
  // Initialize makes the LMDB store of Create (the key file exists already).
  static core::StatusOr<std::unique_ptr<DeviceStore>> Initialize(const std::filesystem::path& dir,
                                                                 std::string_view user, std::string_view device,
                                                                 const core::Ed25519Signer& identity, uint64_t now,
                                                                 const DeviceStoreOptions& options);
  DeviceStore(std::filesystem::path dir, std::unique_ptr<store::Env> env, internal::DeviceDbs dbs,
              DeviceIdentity identity, std::string user, std::string device,
              DeviceStoreOptions options);

  // CachedSpkKey returns the parsed private key of SPK `spk_id` from the
  // in-memory cache, parsing `private_key` on a miss. SPK ids are never
  // reused, so an id always names the same key.
  core::StatusOr<core::X25519PrivateKey> CachedSpkKey(uint32_t spk_id, core::ByteSpan private_key) const;
  void ForgetSpkKeys(const std::vector<uint32_t>& spk_ids) const;

  std::filesystem::path dir_;
  std::unique_ptr<store::Env> env_;
  internal::DeviceDbs dbs_;
  DeviceIdentity identity_;
  std::string user_;
  std::string device_;
  DeviceStoreOptions options_;
  mutable std::mutex spk_cache_mu_;
  mutable std::map<uint32_t, core::X25519PrivateKey> spk_cache_;
};

}  // namespace kt::x3dh

#endif  // KT_X3DH_DEVICE_STORE_H_
