// SPDX-License-Identifier: Apache-2.0
// The log entry (the Merkle leaf) of DESIGN.md "Log entry (the leaf)": a
// canonical, big-endian, TLS-presentation-style binary struct binding a
// user's device to an Ed25519 identity key (kind 1) or revoking it (kind 2),
// plus the proof-of-possession and endorsement messages and their checks.
//
//   struct {
//     uint8  version = 1;
//     uint8  kind;                   // 1 = key set, 2 = revoke
//     opaque user<1..255>;           // UTF-8
//     opaque device<1..255>;         // UTF-8
//     uint64 timestamp_ms;
//     uint64 prev;                   // 1 + index of the user's previous entry, 0 if first
//     opaque identity_key[32];       // all zero for revoke
//     opaque possession_sig<0..64>;  // 64 bytes for kind 1, empty for kind 2
//     Endorsement endorsements<0..2^16-1>;  // prefix = byte length (TLS)
//   } Entry;                         // at most 65535 bytes in all
//   struct { opaque device<1..255>; opaque signature[64]; } Endorsement;
#ifndef KT_CORE_ENTRY_H_
#define KT_CORE_ENTRY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/status.h"

namespace kt::core {

enum class EntryKind : uint8_t { kKeySet = 1, kRevoke = 2 };

inline constexpr uint8_t kEntryVersion = 1;
// kMaxEntrySize is the entry-bundle limit (uint16 length prefix).
inline constexpr size_t kMaxEntrySize = 65535;
inline constexpr size_t kMaxIdLength = 255;  // user and device ids

// Endorsement is a signature by an existing device of the same user over
// EndorseMessage(...) of the entry that carries it.
struct Endorsement {
  std::string device;
  std::array<uint8_t, 64> signature{};
  bool operator==(const Endorsement&) const = default;
};

// Entry is the decoded form of one log entry. Field meanings: see above.
struct Entry {
  uint8_t version = kEntryVersion;
  EntryKind kind = EntryKind::kKeySet;
  std::string user;
  std::string device;
  uint64_t timestamp_ms = 0;
  uint64_t prev = 0;
  std::array<uint8_t, 32> identity_key{};
  Bytes possession_sig;
  std::vector<Endorsement> endorsements;
  bool operator==(const Entry&) const = default;
};

// ValidateEntry checks every bound of the format: version 1, kind 1 or 2,
// user/device 1..255 bytes of valid UTF-8, possession_sig exactly 64 bytes
// for kind 1, empty with an all-zero identity_key for kind 2, endorsing
// devices 1..255 bytes of valid UTF-8 and pairwise distinct, endorsements at
// most 65535 bytes encoded, and the whole entry at most 65535 bytes. Returns
// OK or InvalidArgument with the reason. Signatures are not checked.
Status ValidateEntry(const Entry& entry);

// EncodeEntry returns the canonical entry bytes, or InvalidArgument when
// ValidateEntry fails.
StatusOr<Bytes> EncodeEntry(const Entry& entry);

// DecodeEntry parses canonical entry bytes strictly: every bound of
// ValidateEntry, no trailing bytes, and the result re-encodes to exactly
// `data`. InvalidArgument with a reason otherwise. Signatures are not checked.
StatusOr<Entry> DecodeEntry(ByteSpan data);

// EntryView is an entry parsed in place (ParseEntryView): its views alias the
// parsed bytes and are valid only while those bytes are. For auditors that
// read millions of entries without copying them.
struct EntryView {
  uint8_t version = kEntryVersion;
  EntryKind kind = EntryKind::kKeySet;
  std::string_view user;
  std::string_view device;
  uint64_t timestamp_ms = 0;
  uint64_t prev = 0;
  ByteSpan identity_key;    // 32 bytes (all zero for a revoke)
  ByteSpan possession_sig;  // 64 bytes for a key set, empty for a revoke
  ByteSpan endorsements;    // the encoded Endorsement structs; see NextEndorsement
};

// EndorsementView is one Endorsement of an EntryView (views into its bytes).
struct EndorsementView {
  std::string_view device;
  ByteSpan signature;  // 64 bytes
};

// ParseEntryView parses canonical entry bytes as strictly as DecodeEntry
// (the same checks and error messages) without copying or allocating on
// success. The result aliases `data`.
StatusOr<EntryView> ParseEntryView(ByteSpan data);

// NextEndorsement reads the next Endorsement from `*rest`, which starts as
// the `endorsements` of an EntryView that ParseEntryView returned, and
// advances it. False when `*rest` is empty.
bool NextEndorsement(ByteSpan* rest, EndorsementView* out);

// PopMessage is the proof-of-possession message signed by identity_key:
// "kt-binding-pop-v1\n" || u8 len || user || u8 len || device || identity_key.
// Precondition (a bug otherwise): user and device are at most 255 bytes.
Bytes PopMessage(std::string_view user, std::string_view device,
                 const std::array<uint8_t, 32>& identity_key);

// EndorseMessage is the message an endorsing device signs:
// "kt-binding-endorse-v1\n" || u8 len || user || u8 len || device || u8 kind
// || identity_key || uint64 prev, with `prev` the value the new entry carries.
// Precondition (a bug otherwise): user and device are at most 255 bytes.
Bytes EndorseMessage(std::string_view user, std::string_view device, EntryKind kind,
                     const std::array<uint8_t, 32>& identity_key, uint64_t prev);

// VerifyPossession checks a key-set entry's possession_sig over its
// PopMessage with its identity_key. Returns OK; InvalidArgument if the entry
// is not a valid kind-1 entry (ValidateEntry) or the key is not an Ed25519
// point; VerificationFailed if the signature does not verify.
Status VerifyPossession(const Entry& entry);

// VerifyEndorsement checks `endorsement.signature` over the EndorseMessage of
// `entry` (its own user, device, kind, identity_key and prev) with the
// endorsing device's current public key. Returns OK; InvalidArgument if the
// entry fails ValidateEntry or the key is malformed; VerificationFailed if the
// signature does not verify. Whether the endorser is a current device of the
// user is the caller's check.
Status VerifyEndorsement(const Entry& entry, const Endorsement& endorsement,
                         ByteSpan endorser_public_key);
Status VerifyEndorsement(const Entry& entry, const Endorsement& endorsement,
                         const Ed25519Verifier& endorser);

}  // namespace kt::core

#endif  // KT_CORE_ENTRY_H_
