// SPDX-License-Identifier: Apache-2.0
// Log entry codec and binding-signature checks (DESIGN.md "Log entry").
#include "core/entry.h"

#include <algorithm>
#include <set>

#include "core/encoding.h"
#include "core/utf8.h"

namespace kt::core {
namespace {

constexpr std::string_view kPopContext = "kt-binding-pop-v1\n";
constexpr std::string_view kEndorseContext = "kt-binding-endorse-v1\n";
constexpr size_t kSignatureSize = 64;
// An encoded Endorsement: u8 len || device || signature[64].
size_t EndorsementSize(const Endorsement& e) { return 1 + e.device.size() + kSignatureSize; }

Status ValidateId(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) {
    return Status::InvalidArgument(std::string(what) + " must be 1..255 bytes");
  }
  if (!IsValidUtf8(id)) return Status::InvalidArgument(std::string(what) + " is not valid UTF-8");
  return Status();
}

bool AllZero(const std::array<uint8_t, 32>& key) {
  return std::all_of(key.begin(), key.end(), [](uint8_t b) { return b == 0; });
}

// EndorsementsSize is the byte length of the encoded endorsements vector body.
size_t EndorsementsSize(const Entry& entry) {
  size_t n = 0;
  for (const auto& e : entry.endorsements) n += EndorsementSize(e);
  return n;
}

// EncodedSize is the full entry length; valid only after the id bounds hold.
size_t EncodedSize(const Entry& entry, size_t endorsements_size) {
  return 2 + 1 + entry.user.size() + 1 + entry.device.size() + 8 + 8 + 32 + 1 +
         entry.possession_sig.size() + 2 + endorsements_size;
}

void WriteEntry(const Entry& entry, Writer& w) {
  w.U8(entry.version);
  w.U8(static_cast<uint8_t>(entry.kind));
  w.Vec8(AsBytes(entry.user));
  w.Vec8(AsBytes(entry.device));
  w.U64(entry.timestamp_ms);
  w.U64(entry.prev);
  w.Raw(entry.identity_key);
  w.Vec8(entry.possession_sig);
  // TLS vector: the prefix is the byte length of all Endorsement structs.
  w.U16(static_cast<uint16_t>(EndorsementsSize(entry)));
  for (const auto& e : entry.endorsements) {
    w.Vec8(AsBytes(e.device));
    w.Raw(e.signature);
  }
}

}  // namespace

Status ValidateEntry(const Entry& entry) {
  if (entry.version != kEntryVersion) return Status::InvalidArgument("entry: unsupported version");
  KT_RETURN_IF_ERROR(ValidateId("entry: user", entry.user));
  KT_RETURN_IF_ERROR(ValidateId("entry: device", entry.device));
  switch (entry.kind) {
    case EntryKind::kKeySet:
      if (entry.possession_sig.size() != kSignatureSize) {
        return Status::InvalidArgument("entry: key set needs a 64-byte possession_sig");
      }
      break;
    case EntryKind::kRevoke:
      if (!entry.possession_sig.empty()) {
        return Status::InvalidArgument("entry: revoke has a possession_sig");
      }
      if (!AllZero(entry.identity_key)) {
        return Status::InvalidArgument("entry: revoke has a non-zero identity_key");
      }
      break;
    default:
      return Status::InvalidArgument("entry: unknown kind");
  }
  std::set<std::string_view> seen;
  for (const auto& e : entry.endorsements) {
    KT_RETURN_IF_ERROR(ValidateId("entry: endorsing device", e.device));
    if (!seen.insert(e.device).second) {
      return Status::InvalidArgument("entry: the same device endorses twice");
    }
  }
  const size_t endorsements_size = EndorsementsSize(entry);
  if (endorsements_size > 0xFFFF) return Status::InvalidArgument("entry: endorsements too long");
  if (EncodedSize(entry, endorsements_size) > kMaxEntrySize) {
    return Status::InvalidArgument("entry: longer than 65535 bytes");
  }
  return Status();
}

StatusOr<Bytes> EncodeEntry(const Entry& entry) {
  KT_RETURN_IF_ERROR(ValidateEntry(entry));
  Writer w;
  w.Reserve(EncodedSize(entry, EndorsementsSize(entry)));
  WriteEntry(entry, w);
  return w.Take();
}

StatusOr<EntryView> ParseEntryView(ByteSpan data) {
  if (data.size() > kMaxEntrySize) return Status::InvalidArgument("entry: longer than 65535 bytes");
  Reader r(data);
  EntryView v;
  uint8_t kind = 0;
  ByteSpan user, device;
  if (!r.U8(&v.version) || !r.U8(&kind) || !r.Vec8(&user) || !r.Vec8(&device) ||
      !r.U64(&v.timestamp_ms) || !r.U64(&v.prev) || !r.Raw(32, &v.identity_key) ||
      !r.Vec8(&v.possession_sig) || !r.Vec16(&v.endorsements)) {
    return Status::InvalidArgument("entry: truncated");
  }
  if (!r.empty()) return Status::InvalidArgument("entry: trailing bytes");
  if (kind != static_cast<uint8_t>(EntryKind::kKeySet) &&
      kind != static_cast<uint8_t>(EntryKind::kRevoke)) {
    return Status::InvalidArgument("entry: unknown kind");
  }
  if (v.possession_sig.size() > kSignatureSize) {
    return Status::InvalidArgument("entry: possession_sig too long");
  }
  v.kind = static_cast<EntryKind>(kind);
  v.user = AsStringView(user);
  v.device = AsStringView(device);
  for (Reader er(v.endorsements); !er.empty();) {
    ByteSpan dev, sig;
    if (!er.Vec8(&dev) || !er.Raw(kSignatureSize, &sig)) {
      return Status::InvalidArgument("entry: truncated endorsement");
    }
  }
  // The checks of ValidateEntry, on the views. The grammar admits exactly one
  // encoding per valid entry, so nothing else can differ.
  if (v.version != kEntryVersion) return Status::InvalidArgument("entry: unsupported version");
  KT_RETURN_IF_ERROR(ValidateId("entry: user", v.user));
  KT_RETURN_IF_ERROR(ValidateId("entry: device", v.device));
  if (v.kind == EntryKind::kKeySet && v.possession_sig.size() != kSignatureSize) {
    return Status::InvalidArgument("entry: key set needs a 64-byte possession_sig");
  }
  if (v.kind == EntryKind::kRevoke) {
    if (!v.possession_sig.empty()) return Status::InvalidArgument("entry: revoke has a possession_sig");
    if (std::any_of(v.identity_key.begin(), v.identity_key.end(), [](uint8_t b) { return b != 0; })) {
      return Status::InvalidArgument("entry: revoke has a non-zero identity_key");
    }
  }
  ByteSpan rest = v.endorsements;
  EndorsementView e;
  for (size_t count = 0; NextEndorsement(&rest, &e); count++) {
    KT_RETURN_IF_ERROR(ValidateId("entry: endorsing device", e.device));
    // Pairwise (no allocation; a real entry has one or two endorsements).
    ByteSpan before = v.endorsements;
    EndorsementView other;
    for (size_t k = 0; k < count && NextEndorsement(&before, &other); k++) {
      if (other.device == e.device) {
        return Status::InvalidArgument("entry: the same device endorses twice");
      }
    }
  }
  return v;
}

bool NextEndorsement(ByteSpan* rest, EndorsementView* out) {
  if (rest->empty()) return false;
  Reader r(*rest);
  ByteSpan dev, sig;
  // A bug if the caller did not get `*rest` from ParseEntryView.
  KT_CHECK(r.Vec8(&dev) && r.Raw(kSignatureSize, &sig));
  out->device = AsStringView(dev);
  out->signature = sig;
  *rest = rest->subspan(1 + dev.size() + kSignatureSize);
  return true;
}

StatusOr<Entry> DecodeEntry(ByteSpan data) {
  KT_ASSIGN_OR_RETURN(EntryView v, ParseEntryView(data));
  Entry entry;
  entry.version = v.version;
  entry.kind = v.kind;
  entry.user = std::string(v.user);
  entry.device = std::string(v.device);
  entry.timestamp_ms = v.timestamp_ms;
  entry.prev = v.prev;
  std::copy(v.identity_key.begin(), v.identity_key.end(), entry.identity_key.begin());
  entry.possession_sig.assign(v.possession_sig.begin(), v.possession_sig.end());
  ByteSpan rest = v.endorsements;
  EndorsementView ev;
  while (NextEndorsement(&rest, &ev)) {
    Endorsement e;
    e.device = std::string(ev.device);
    std::copy(ev.signature.begin(), ev.signature.end(), e.signature.begin());
    entry.endorsements.push_back(std::move(e));
  }
  // Defence in depth: the decoded entry must re-encode to exactly `data`.
  Writer w;
  WriteEntry(entry, w);
  if (!std::equal(data.begin(), data.end(), w.bytes().begin(), w.bytes().end())) {
    return Status::InvalidArgument("entry: not canonically encoded");
  }
  return entry;
}

namespace {
// AppendId appends u8 len || id (the id is at most 255 bytes, a precondition).
void AppendId(Bytes& out, std::string_view id) {
  KT_CHECK(id.size() <= kMaxIdLength);
  out.push_back(static_cast<uint8_t>(id.size()));
  out.insert(out.end(), id.begin(), id.end());
}
}  // namespace

Bytes PopMessage(std::string_view user, std::string_view device,
                 const std::array<uint8_t, 32>& identity_key) {
  // Built in place (not with Writer): one allocation, and GCC 12 issues a
  // false -Wstringop-overflow for an insert into an empty vector.
  Bytes out(kPopContext.begin(), kPopContext.end());
  out.reserve(kPopContext.size() + 2 + user.size() + device.size() + 32);
  AppendId(out, user);
  AppendId(out, device);
  out.insert(out.end(), identity_key.begin(), identity_key.end());
  return out;
}

Bytes EndorseMessage(std::string_view user, std::string_view device, EntryKind kind,
                     const std::array<uint8_t, 32>& identity_key, uint64_t prev) {
  Bytes out(kEndorseContext.begin(), kEndorseContext.end());
  out.reserve(kEndorseContext.size() + 2 + user.size() + device.size() + 1 + 32 + 8);
  AppendId(out, user);
  AppendId(out, device);
  out.push_back(static_cast<uint8_t>(kind));
  out.insert(out.end(), identity_key.begin(), identity_key.end());
  uint8_t be[8];
  PutU64BE(be, prev);
  out.insert(out.end(), be, be + 8);
  return out;
}

Status VerifyPossession(const Entry& entry) {
  KT_RETURN_IF_ERROR(ValidateEntry(entry));
  if (entry.kind != EntryKind::kKeySet) {
    return Status::InvalidArgument("entry: only a key set carries a possession_sig");
  }
  KT_ASSIGN_OR_RETURN(Ed25519Verifier v, Ed25519Verifier::Create(entry.identity_key));
  if (!v.Verify(PopMessage(entry.user, entry.device, entry.identity_key), entry.possession_sig)) {
    return Status::VerificationFailed("entry: possession_sig does not verify");
  }
  return Status();
}

Status VerifyEndorsement(const Entry& entry, const Endorsement& endorsement,
                         const Ed25519Verifier& endorser) {
  KT_RETURN_IF_ERROR(ValidateEntry(entry));
  Bytes msg = EndorseMessage(entry.user, entry.device, entry.kind, entry.identity_key, entry.prev);
  if (!endorser.Verify(msg, endorsement.signature)) {
    return Status::VerificationFailed("entry: endorsement by " + endorsement.device +
                                      " does not verify");
  }
  return Status();
}

Status VerifyEndorsement(const Entry& entry, const Endorsement& endorsement,
                         ByteSpan endorser_public_key) {
  KT_ASSIGN_OR_RETURN(Ed25519Verifier v, Ed25519Verifier::Create(endorser_public_key));
  return VerifyEndorsement(entry, endorsement, v);
}

}  // namespace kt::core
