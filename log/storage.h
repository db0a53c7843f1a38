// SPDX-License-Identifier: Apache-2.0
// LogStorage: the narrow storage interface of the log node (tessera-style
// "storage driver"). The Sequencer is its only writer of records; HTTP
// handlers, the tile exporter and the witness collector read it. It stores
// entries (index -> canonical entry bytes), the RFC 6962 stored hashes
// (golang.org/x/mod/sumdb/tlog numbering, core/merkle.h), the per-user index
// of DESIGN.md "Binding rules", the latest log-signed checkpoint and every
// witnessed checkpoint. Reads are served as tlog-tiles (c2sp.org/tlog-tiles)
// hash tiles and entry bundles. Implementations: LmdbStorage
// (log/lmdb_storage.h, the on-disk layout is in docs/formats.md) and
// MemoryStorage (log/memory_storage.h).
#ifndef KT_LOG_STORAGE_H_
#define KT_LOG_STORAGE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/entry.h"
#include "core/merkle.h"
#include "core/status.h"

namespace kt::log {

using core::Bytes;
using core::ByteSpan;
using core::Hash;
using core::Status;
using core::StatusOr;

// TreeState is a consistent snapshot of the log's head.
struct TreeState {
  uint64_t size = 0;  // number of integrated records
  Hash root{};        // RFC 6962 root of those records (SHA-256("") when 0)
  // checkpoint is the log-signed checkpoint (signed note) for `size`; empty
  // only before the first Integrate.
  std::string checkpoint;
  // witnessed_checkpoint is the latest checkpoint published with a quorum of
  // cosignatures (PublishWitnessed) and its size; it may lag `size`. Empty
  // (and witnessed_size 0) until the first PublishWitnessed.
  uint64_t witnessed_size = 0;
  std::string witnessed_checkpoint;
};

// WitnessedCheckpoint is one checkpoint stored by PublishWitnessed.
struct WitnessedCheckpoint {
  uint64_t size = 0;
  std::string checkpoint;  // log signature + cosignatures, a signed note
};

// DeviceState is the state of one device id of a user.
struct DeviceState {
  std::string device;
  uint64_t latest_index = 0;  // index of the device's latest entry
  // identity_key is the key of the latest key-set entry of the device (it is
  // kept after a revoke, for history; `revoked` says whether it is current).
  std::array<uint8_t, 32> identity_key{};
  bool revoked = false;  // the latest entry of the device is a revoke
  bool operator==(const DeviceState&) const = default;
};

// UserState is the index of one user's entries (DESIGN.md "Binding rules").
// A user with no entries has an empty history and no devices.
struct UserState {
  std::vector<uint64_t> history;     // entry indexes, increasing
  std::vector<DeviceState> devices;  // sorted by device id (bytewise)

  bool empty() const { return history.empty(); }
  // NextPrev is the `prev` value of the user's next entry: 1 + the index of
  // the latest entry, 0 for a new user.
  uint64_t NextPrev() const { return history.empty() ? 0 : history.back() + 1; }
  // FindDevice returns the device's state or nullptr. The pointer is valid
  // until this UserState changes.
  const DeviceState* FindDevice(std::string_view device) const;
  // IsCurrentDevice reports whether `device` exists and is not revoked.
  bool IsCurrentDevice(std::string_view device) const;
  // Apply records `entry` as the entry at `index`. Requires index to be
  // larger than every index in history (KT_CHECK). A key set makes the
  // device current with entry.identity_key; a revoke marks it revoked
  // (creating it if unknown: the rules are the check function's job).
  void Apply(uint64_t index, const core::Entry& entry);

  bool operator==(const UserState&) const = default;
};

// EncodeUserState / DecodeUserState are the storage encoding of a UserState
// (docs/formats.md "users"). DecodeUserState returns Corruption for bytes
// that EncodeUserState did not produce.
Bytes EncodeUserState(const UserState& state);
// EncodedUserStateSize is EncodeUserState(state).size();
// EncodeUserStateTo writes those bytes to `out` (which has room for them).
size_t EncodedUserStateSize(const UserState& state);
void EncodeUserStateTo(const UserState& state, uint8_t* out);
StatusOr<UserState> DecodeUserState(ByteSpan data);

// IntegrationBatch is one sequencer batch: the records
// [first_index, first_index + entries.size()) with everything derived from
// them, written by one Integrate call.
struct IntegrationBatch {
  uint64_t first_index = 0;  // must equal the current tree size
  std::vector<Bytes> entries;  // canonical entry bytes (core::EncodeEntry)
  // decoded[i] is entries[i] decoded (the user index is updated from it).
  // It may be left empty when `users` carries the new user states.
  std::vector<core::Entry> decoded;
  // stored_hashes are the new stored hashes, in stored-index order, starting
  // at core::StoredHashIndex(0, first_index): exactly
  // core::StoredHashCount(new size) - core::StoredHashCount(first_index) of
  // them (what core::TreeBuilder::Append emits for each record in turn).
  std::vector<Hash> stored_hashes;
  Hash root{};             // RFC 6962 root of the new tree
  std::string checkpoint;  // log-signed checkpoint for the new size and root
  // witnessed: also store `checkpoint` as the witnessed checkpoint of the new
  // size, in the same atomic write (a log whose witness policy needs no
  // cosignature, DESIGN.md "Witnessed checkpoints"), saving a second durable
  // commit per batch. Ignored for an empty batch.
  bool witnessed = false;
  // users optionally carries the new state of every user whose entries the
  // batch holds (each user once), derived by the caller with ReadUser +
  // UserState::Apply over `decoded` in order. When it is empty the storage
  // derives the states itself. The Sequencer fills it, so the work is not
  // done twice; the storage trusts it (the Sequencer is the only writer).
  // The user ids are views: they must stay valid until Integrate returns.
  std::vector<std::pair<std::string_view, std::shared_ptr<const UserState>>> users;
};

// LogStorage is the log's storage. All methods are thread-safe: reads run
// concurrently with each other and with the (serialised) writes. Each read
// method sees one consistent snapshot; records, stored hashes and witnessed
// checkpoints never change once written, so results of separate reads are
// consistent with every later state.
class LogStorage : public core::HashReader {
 public:
  ~LogStorage() override = default;

  // ReadTreeState returns the head. IOError/Corruption on storage failure.
  virtual StatusOr<TreeState> ReadTreeState() = 0;

  // ReadHashes fills `out` (resized) with the stored hashes at the given
  // stored indexes (core::StoredHashIndex numbering), in that order: the
  // core::HashReader contract, so core's TreeHash / ProveRecord / ProveTree
  // read from storage. NotFound if an index is beyond the current tree.
  Status ReadHashes(std::span<const uint64_t> stored_indexes,
                    std::vector<Hash>* out) override = 0;

  // ReadTile returns the tlog-tiles hash tile (level, index) of `width`
  // hashes (1..256; 256 = full tile): width x 32 bytes, the hashes at tree
  // level level*8 of nodes index*256 .. index*256+width-1 (core/tile.h).
  // NotFound if those nodes are not all complete in the current tree (a
  // partial tile of any width up to the current one is served);
  // InvalidArgument for a width outside 1..256 or a level outside 0..63.
  virtual StatusOr<Bytes> ReadTile(int level, uint64_t index, uint64_t width) = 0;

  // ReadEntryBundle returns the tlog-tiles entry bundle `index` of `width`
  // entries (1..256): each entry as uint16 big-endian length || bytes, for
  // records index*256 .. index*256+width-1. NotFound if a record is beyond
  // the current tree; InvalidArgument for a bad width.
  virtual StatusOr<Bytes> ReadEntryBundle(uint64_t index, uint64_t width) = 0;

  // ReadEntry returns the canonical bytes of record `index`, or NotFound.
  virtual StatusOr<Bytes> ReadEntry(uint64_t index) = 0;

  // ReadUser returns the user's index; an unknown user gives an OK empty
  // UserState (callers answer 404 for that).
  virtual StatusOr<UserState> ReadUser(std::string_view user) = 0;

  // ReadUsers fills `out` (resized) with the index of each of `users`, in
  // order, as ReadUser would return it (an unknown user: an empty state);
  // each state is the user's latest committed one when the call began or
  // newer. The default calls ReadUser per user; LmdbStorage reads them all
  // under one lock and one read transaction. IOError/Corruption on failure.
  virtual Status ReadUsers(std::span<const std::string_view> users, std::vector<UserState>* out);

  // ReadWitnessed returns the first (smallest) stored witnessed checkpoint
  // whose size is >= min_size, or NotFound. A caller holding record i asks
  // for min_size = i + 1 to find the first witnessed checkpoint containing it.
  virtual StatusOr<WitnessedCheckpoint> ReadWitnessed(uint64_t min_size) = 0;

  // Integrate durably stores one batch in one atomic write (one LMDB write
  // transaction, one durable commit): the records, their stored hashes, the
  // user index updates, the new size/root and checkpoint. Returns OK only
  // once the batch is durable. Corruption if batch.first_index is not the
  // current size (so a size never gets two checkpoints) or an empty batch
  // when a checkpoint exists; InvalidArgument for an inconsistent batch
  // (counts); IOError on a storage failure (nothing was written).
  // An empty batch with first_index 0 on a fresh log stores the checkpoint
  // of the empty tree.
  virtual Status Integrate(const IntegrationBatch& batch) = 0;

  // IntegrateGroup stores consecutive non-empty batches (each carrying its
  // `users`) as Integrate would one after the other; the head becomes the
  // last batch's. LmdbStorage writes them in one atomic write with one
  // durable commit (a group commit: the sequencer's commit thread hands it
  // every batch that queued up during the previous commit); the default
  // calls Integrate per batch (so a failure may leave a prefix stored).
  virtual Status IntegrateGroup(std::span<const IntegrationBatch* const> batches);

  // PublishWitnessed stores `checkpoint` (a signed note with the log's
  // signature and a quorum of cosignatures) for tree size `size` and makes
  // it the latest witnessed checkpoint. Monotonic: Conflict (carrying the
  // stored witnessed size) if size is below the latest witnessed size; a
  // republish of the latest size replaces its text (e.g. more cosignatures).
  // InvalidArgument if size exceeds the integrated tree size or the
  // checkpoint is empty. The caller verifies the signatures.
  virtual Status PublishWitnessed(const std::string& checkpoint, uint64_t size) = 0;
};

// Helpers shared by the implementations (log/storage.cc).

// CheckTileRequest validates a ReadTile request against a tree of
// `tree_size` records: InvalidArgument for a level outside 0..63 or a width
// outside 1..256, NotFound unless nodes index*256 .. index*256+width-1 of
// tree level level*8 are all complete.
Status CheckTileRequest(int level, uint64_t index, uint64_t width, uint64_t tree_size);

// CheckBatch validates `batch` against the stored head (size, and whether a
// checkpoint exists) with the Integrate error contract.
Status CheckBatch(const IntegrationBatch& batch, uint64_t tree_size, bool has_checkpoint);

// CheckPublish validates a PublishWitnessed call against the tree size and
// the latest witnessed size with the PublishWitnessed error contract.
Status CheckPublish(std::string_view checkpoint, uint64_t size, uint64_t tree_size,
                    uint64_t witnessed_size);

}  // namespace kt::log

#endif  // KT_LOG_STORAGE_H_
