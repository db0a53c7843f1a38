// SPDX-License-Identifier: Apache-2.0
// Record formats of the device store (x3dh/device_records.h). Every decoder
// is strict (exact sizes, flags 0 or 1, no trailing bytes); a record that
// does not parse is Corruption, since only this code writes them.
#include "x3dh/device_records.h"

#include <algorithm>
#include <set>
#include <string>

#include "core/encoding.h"
#include "x3dh/x3dh.h"

namespace kt::x3dh::internal {
namespace {

using core::ByteSpan;
using core::Status;
using core::StatusOr;

constexpr uint8_t kRecordVersion = 1;

Status Corrupt(std::string_view what) {
  return Status::Corruption("device store: malformed " + std::string(what) + " record");
}

bool ReadFlag(core::Reader& r, bool* out) {
  uint8_t b = 0;
  if (!r.U8(&b) || b > 1) return false;
  *out = b == 1;
  return true;
}

bool ReadSecret(core::Reader& r, size_t n, core::SecretBytes* out) {
  ByteSpan s;
  if (!r.Raw(n, &s)) return false;
  *out = core::SecretBytes(s);
  return true;
}

bool ReadVersion(core::Reader& r) {
  uint8_t v = 0;
  return r.U8(&v) && v == kRecordVersion;
}

void PutU32Prefixed(core::Writer& w, ByteSpan b) {
  w.U32(static_cast<uint32_t>(b.size()));
  w.Raw(b);
}

bool ReadU32Prefixed(core::Reader& r, ByteSpan* out) {
  uint32_t n = 0;
  return r.U32(&n) && r.Raw(n, out);
}

}  // namespace

std::array<uint8_t, 4> U32Key(uint32_t id) {
  return {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16), static_cast<uint8_t>(id >> 8),
          static_cast<uint8_t>(id)};
}

StatusOr<uint32_t> ParseU32Key(std::string_view key) {
  if (key.size() != 4) return Status::Corruption("device store: id key is not 4 bytes");
  uint32_t v = 0;
  for (char c : key) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

core::Bytes EncodeSpkRecord(const SpkRecord& r) {
  KT_CHECK(r.private_key.size() == 32);
  core::Writer w;
  w.U8(kRecordVersion);
  w.U64(r.spk.prekey.created);
  w.Raw(r.spk.prekey.public_key);
  w.Raw(r.spk.prekey.signature);
  w.Raw(r.private_key.span());
  w.U8(r.spk.retired_at.has_value() ? 1 : 0);
  w.U64(r.spk.retired_at.value_or(0));
  return w.Take();
}

StatusOr<SpkRecord> DecodeSpkRecord(uint32_t spk_id, std::string_view v) {
  core::Reader r(core::AsBytes(v));
  SpkRecord out;
  out.spk.prekey.spk_id = spk_id;
  bool retired = false;
  uint64_t retired_at = 0;
  if (!ReadVersion(r) || !r.U64(&out.spk.prekey.created) || !r.Array(&out.spk.prekey.public_key) ||
      !r.Array(&out.spk.prekey.signature) || !ReadSecret(r, 32, &out.private_key) ||
      !ReadFlag(r, &retired) || !r.U64(&retired_at) || !r.empty()) {
    return Corrupt("signed prekey");
  }
  if (!retired && retired_at != 0) return Corrupt("signed prekey");  // one encoding per record
  if (retired) out.spk.retired_at = retired_at;
  return out;
}

core::Bytes EncodeOpkRecord(const OpkRecord& r) {
  KT_CHECK(r.private_key.size() == 32);
  core::Writer w;
  w.U8(kRecordVersion);
  w.U8(r.uploaded ? 1 : 0);
  w.U64(r.created);
  w.Raw(r.private_key.span());
  w.Raw(r.public_key);
  return w.Take();
}

StatusOr<OpkRecord> DecodeOpkRecord(std::string_view v) {
  core::Reader r(core::AsBytes(v));
  OpkRecord out;
  if (!ReadVersion(r) || !ReadFlag(r, &out.uploaded) || !r.U64(&out.created) ||
      !ReadSecret(r, 32, &out.private_key) || !r.Array(&out.public_key) || !r.empty()) {
    return Corrupt("one-time prekey");
  }
  return out;
}

core::Bytes EncodeTombstone(const TombstoneRecord& t) {
  core::Writer w;
  w.Raw(t.message_id);
  w.U64(t.consumed_at);
  return w.Take();
}

StatusOr<TombstoneRecord> DecodeTombstone(std::string_view v) {
  core::Reader r(core::AsBytes(v));
  TombstoneRecord out;
  if (!r.Array(&out.message_id) || !r.U64(&out.consumed_at) || !r.empty()) {
    return Corrupt("one-time prekey tombstone");
  }
  return out;
}

core::Bytes EncodeSession(const Session& s) {
  KT_CHECK(s.shared_key.size() == 32);
  core::Writer w;
  w.U8(kRecordVersion);
  w.U8(s.initiator ? 1 : 0);
  w.Vec8(core::AsBytes(s.peer_user));
  w.Vec8(core::AsBytes(s.peer_device));
  w.Raw(s.peer_identity_key);
  w.Raw(s.shared_key.span());
  w.U64(s.created);
  return w.Take();
}

StatusOr<Session> DecodeSession(const core::Hash& message_id, std::string_view v) {
  core::Reader r(core::AsBytes(v));
  Session out;
  out.message_id = message_id;
  ByteSpan user, device;
  if (!ReadVersion(r) || !ReadFlag(r, &out.initiator) || !r.Vec8(&user) || !r.Vec8(&device) ||
      !r.Array(&out.peer_identity_key) || !ReadSecret(r, 32, &out.shared_key) ||
      !r.U64(&out.created) || !r.empty()) {
    return Corrupt("session");
  }
  out.peer_user = core::ToString(user);
  out.peer_device = core::ToString(device);
  return out;
}

core::Bytes EncodeProcessed(const ProcessedMessage& m) {
  core::Writer w;
  w.U8(kRecordVersion);
  w.U64(m.processed_at);
  PutU32Prefixed(w, EncodeHeader(m.header));
  PutU32Prefixed(w, m.plaintext);
  return w.Take();
}

StatusOr<ProcessedMessage> DecodeProcessed(const core::Hash& message_id, std::string_view v) {
  core::Reader r(core::AsBytes(v));
  ProcessedMessage out;
  out.message_id = message_id;
  ByteSpan header, plaintext;
  if (!ReadVersion(r) || !r.U64(&out.processed_at) || !ReadU32Prefixed(r, &header) ||
      !ReadU32Prefixed(r, &plaintext) || !r.empty()) {
    return Corrupt("processed message");
  }
  auto h = DecodeHeader(header);
  if (!h.ok()) return Corrupt("processed message header");
  out.header = std::move(h).value();
  out.plaintext.assign(plaintext.begin(), plaintext.end());
  return out;
}

std::string FailureCounterName(X3dhError e) { return "failure/" + std::string(X3dhErrorName(e)); }

Status AddCounter(store::Txn& txn, store::Dbi counters, std::string_view name, uint64_t delta) {
  uint64_t v = 0;
  auto cur = txn.Get(counters, core::AsBytes(name));
  if (cur.ok()) {
    if (cur->size() != 8) return Status::Corruption("device store: counter is not 8 bytes");
    v = core::GetU64BE(reinterpret_cast<const uint8_t*>(cur->data()));
  } else if (cur.status().code() != Status::Code::kNotFound) {
    return cur.status();
  }
  return txn.Put(counters, core::AsBytes(name), store::AsSpan(store::U64Key(v + delta)));
}

StatusOr<DeviceCounters> ReadCounters(const store::Txn& txn, store::Dbi counters) {
  DeviceCounters c;
  auto get = [&](std::string_view name, uint64_t* out) -> Status {
    auto v = txn.Get(counters, core::AsBytes(name));
    if (!v.ok()) return v.status().code() == Status::Code::kNotFound ? Status() : v.status();
    if (v->size() != 8) return Status::Corruption("device store: counter is not 8 bytes");
    *out = core::GetU64BE(reinterpret_cast<const uint8_t*>(v->data()));
    return Status();
  };
  KT_RETURN_IF_ERROR(get("received", &c.received));
  KT_RETURN_IF_ERROR(get("received_without_opk", &c.received_without_opk));
  KT_RETURN_IF_ERROR(get("sent", &c.sent));
  KT_RETURN_IF_ERROR(get("spk_rotations", &c.spk_rotations));
  KT_RETURN_IF_ERROR(get("spks_erased", &c.spks_erased));
  KT_RETURN_IF_ERROR(get("opks_generated", &c.opks_generated));
  KT_RETURN_IF_ERROR(get(kCounterOtherFailure, &c.other_failures));
  for (size_t i = 0; i < kX3dhErrorCount; i++) {
    KT_RETURN_IF_ERROR(get(FailureCounterName(static_cast<X3dhError>(i)), &c.failures[i]));
  }
  return c;
}

StatusOr<uint32_t> GetU32Meta(const store::Txn& txn, store::Dbi meta, std::string_view name) {
  auto v = txn.Get(meta, core::AsBytes(name));
  if (!v.ok()) {
    if (v.status().code() == Status::Code::kNotFound) {
      return Status::Corruption("device store: meta " + std::string(name) + " missing");
    }
    return v.status();
  }
  return ParseU32Key(*v);
}

Status PutU32Meta(store::Txn& txn, store::Dbi meta, std::string_view name, uint32_t v) {
  const auto k = U32Key(v);
  return txn.Put(meta, core::AsBytes(name), ByteSpan(k.data(), k.size()));
}

StatusOr<std::vector<uint32_t>> EraseExpiredSpks(store::Txn& txn, const DeviceDbs& dbs,
                                                 const RotationPolicy& policy, uint64_t now) {
  std::vector<uint32_t> expired;
  Status parse_error;
  KT_RETURN_IF_ERROR(txn.ForEach(dbs.spks, {}, [&](std::string_view k, std::string_view v) {
    auto id = ParseU32Key(k);
    auto rec = id.ok() ? DecodeSpkRecord(*id, v) : StatusOr<SpkRecord>(id.status());
    if (!rec.ok()) {
      parse_error = rec.status();
      return false;
    }
    if (rec->spk.retired_at && SpkErasureDue(policy, *rec->spk.retired_at, now)) expired.push_back(*id);
    return true;
  }));
  KT_RETURN_IF_ERROR(parse_error);
  for (uint32_t id : expired) {
    const auto k = U32Key(id);
    KT_RETURN_IF_ERROR(txn.Del(dbs.spks, ByteSpan(k.data(), k.size())));
  }
  if (!expired.empty()) {
    KT_RETURN_IF_ERROR(AddCounter(txn, dbs.counters, "spks_erased", expired.size()));
    KT_RETURN_IF_ERROR(PruneDedupForSpks(txn, dbs, expired));
  }
  return expired;
}

Status PruneDedupForSpks(store::Txn& txn, const DeviceDbs& dbs, const std::vector<uint32_t>& spk_ids) {
  const std::set<uint32_t> erased(spk_ids.begin(), spk_ids.end());
  std::vector<core::Hash> messages;
  Status parse_error;
  KT_RETURN_IF_ERROR(txn.ForEach(dbs.processed, {}, [&](std::string_view k, std::string_view v) {
    core::Hash id{};
    if (k.size() != id.size()) {
      parse_error = Status::Corruption("device store: processed key is not 32 bytes");
      return false;
    }
    std::copy(k.begin(), k.end(), id.begin());
    auto m = DecodeProcessed(id, v);
    if (!m.ok()) {
      parse_error = m.status();
      return false;
    }
    if (erased.count(m->header.spk_id) != 0) messages.push_back(id);
    return true;
  }));
  KT_RETURN_IF_ERROR(parse_error);
  for (const core::Hash& id : messages) KT_RETURN_IF_ERROR(txn.Del(dbs.processed, id));
  return Status();
}

}  // namespace kt::x3dh::internal
