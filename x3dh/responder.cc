// SPDX-License-Identifier: Apache-2.0
// ProcessInitialMessage (x3dh/responder.h): Respond with prekey lookups served
// from one LMDB write txn, dedup on MessageId, OPK consumption with
// tombstones, and persistent counters (docs/x3dh.md "Device store").
#include "x3dh/responder.h"

#include <optional>
#include <span>
#include <vector>
#include <string>
#include <utility>

#include "x3dh/device_records.h"

namespace kt::x3dh {
namespace {

using core::ByteSpan;
using core::Status;
using core::StatusOr;
using internal::DeviceDbs;
using internal::DeviceStoreAccess;

ByteSpan KeySpan(const std::array<uint8_t, 4>& k) { return {k.data(), k.size()}; }

// SpkLookup serves the current and retained SPKs; a retired SPK past
// retention is NotFound (and erased by the caller's txn).
StatusOr<core::X25519PrivateKey> LookupSpk(const DeviceStore& store, const store::Txn& txn,
                                           const DeviceDbs& dbs, uint32_t id, uint64_t now) {
  const auto k = internal::U32Key(id);
  KT_ASSIGN_OR_RETURN(std::string_view v, txn.Get(dbs.spks, KeySpan(k)));
  KT_ASSIGN_OR_RETURN(internal::SpkRecord rec, internal::DecodeSpkRecord(id, v));
  if (rec.spk.retired_at && SpkErasureDue(store.policy(), *rec.spk.retired_at, now)) {
    return Status::NotFound("signed prekey erased after retention");
  }
  return DeviceStoreAccess::SpkKey(store, id, rec.private_key.span());
}

// LookupOpk returns the OPK's private key, Conflict if a tombstone says
// another message consumed it, NotFound if this device never made it.
StatusOr<core::X25519PrivateKey> LookupOpk(const store::Txn& txn, const DeviceDbs& dbs, uint32_t id) {
  const auto k = internal::U32Key(id);
  auto v = txn.Get(dbs.opks, KeySpan(k));
  if (v.ok()) {
    KT_ASSIGN_OR_RETURN(internal::OpkRecord rec, internal::DecodeOpkRecord(*v));
    return core::X25519PrivateKey::FromKeyPair(rec.private_key.span(), rec.public_key);
  }
  if (v.status().code() != Status::Code::kNotFound) return v.status();
  auto t = txn.Get(dbs.tombstones, KeySpan(k));
  if (t.ok()) {
    KT_ASSIGN_OR_RETURN(internal::TombstoneRecord tomb, internal::DecodeTombstone(*t));
    // The dedup record is checked first, so the message this tombstone
    // names is always another one: the OPK is being reused.
    return Status::Conflict("one-time prekey consumed at " + std::to_string(tomb.consumed_at));
  }
  if (t.status().code() != Status::Code::kNotFound) return t.status();
  return Status::NotFound("one-time prekey never made");
}

// Duplicate answers a MessageId seen before from its dedup record and session.
StatusOr<ProcessedMessage> Duplicate(const store::Txn& txn, const DeviceDbs& dbs, const core::Hash& id,
                                     std::string_view processed) {
  KT_ASSIGN_OR_RETURN(ProcessedMessage out, internal::DecodeProcessed(id, processed));
  auto s = txn.Get(dbs.sessions, id);
  if (!s.ok()) {
    return s.status().code() == Status::Code::kNotFound
               ? Status::Corruption("device store: processed message without its session")
               : s.status();
  }
  KT_ASSIGN_OR_RETURN(out.session, internal::DecodeSession(id, *s));
  out.duplicate = true;
  return out;
}

// Commit writes a successful handshake: OPK -> tombstone, session, dedup record.
Status CommitSuccess(store::Txn& txn, const DeviceDbs& dbs, const ProcessedMessage& m) {
  if (m.header.opk_id) {
    const auto k = internal::U32Key(*m.header.opk_id);
    KT_RETURN_IF_ERROR(txn.Del(dbs.opks, KeySpan(k)));
    KT_RETURN_IF_ERROR(txn.Put(dbs.tombstones, KeySpan(k),
                               internal::EncodeTombstone({m.message_id, m.processed_at}),
                               store::PutMode::kNoOverwrite));
  }
  KT_RETURN_IF_ERROR(txn.Put(dbs.sessions, m.message_id, internal::EncodeSession(m.session),
                             store::PutMode::kNoOverwrite));
  KT_RETURN_IF_ERROR(txn.Put(dbs.processed, m.message_id, internal::EncodeProcessed(m),
                             store::PutMode::kNoOverwrite));
  KT_RETURN_IF_ERROR(internal::AddCounter(txn, dbs.counters, "received"));
  if (!m.header.opk_id) KT_RETURN_IF_ERROR(internal::AddCounter(txn, dbs.counters, "received_without_opk"));
  return Status();
}

// CountFailure counts `s` under its X3dhError, or as other_failures.
Status CountFailure(store::Txn& txn, const DeviceDbs& dbs, const Status& s) {
  const auto reason = X3dhErrorOf(s);
  return internal::AddCounter(txn, dbs.counters,
                              reason ? internal::FailureCounterName(*reason) : internal::kCounterOtherFailure);
}

// ProcessInTxn processes one message in `txn` and stores its answer in
// *out (a failure there is the message's, already counted). A returned error
// is the txn's own (LMDB, corruption): the caller aborts the txn.
Status ProcessInTxn(DeviceStore& store, store::Txn& txn, const InitialMessage& message, uint64_t now,
                    std::optional<StatusOr<ProcessedMessage>>* out) {
  const DeviceDbs& dbs = DeviceStoreAccess::Dbs(store);
  const core::Hash id = MessageId(message);
  auto seen = txn.Get(dbs.processed, id);
  if (seen.ok()) {
    KT_ASSIGN_OR_RETURN(ProcessedMessage dup, Duplicate(txn, dbs, id, *seen));
    *out = std::move(dup);
    return internal::AddCounter(txn, dbs.counters, internal::FailureCounterName(X3dhError::kDuplicate));
  }
  if (seen.status().code() != Status::Code::kNotFound) return seen.status();
  const Header& h = message.header;
  StatusOr<ResponderResult> r = Status::InvalidArgument(
      "x3dh: initial message is addressed to " + h.recipient_user + "/" + h.recipient_device + ", not " +
      store.user() + "/" + store.device());
  if (h.recipient_user == store.user() && h.recipient_device == store.device()) {
    r = RespondWithKeys(
        message, store.identity(), [&](uint32_t spk_id) { return LookupSpk(store, txn, dbs, spk_id, now); },
        [&](uint32_t opk_id) { return LookupOpk(txn, dbs, opk_id); });
  }
  if (!r.ok()) {
    const auto code = r.status().code();
    if (code == Status::Code::kCorruption || code == Status::Code::kIOError) return r.status();
    *out = r.status();
    return CountFailure(txn, dbs, r.status());
  }
  ProcessedMessage m;
  m.message_id = id;
  m.header = std::move(r->header);
  m.plaintext = std::move(r->plaintext);
  m.processed_at = now;
  m.session.message_id = id;
  m.session.initiator = false;
  m.session.peer_user = m.header.sender_user;
  m.session.peer_device = m.header.sender_device;
  m.session.peer_identity_key = m.header.sender_identity_key;
  m.session.shared_key = std::move(r->shared_key);
  m.session.created = now;
  KT_RETURN_IF_ERROR(CommitSuccess(txn, dbs, m));
  *out = std::move(m);
  return Status();
}

// ProcessBatch runs every decodable message of `decoded` in one txn; an entry
// holding a Status (it did not decode) is counted as other_failures and
// answered with that Status.
std::vector<StatusOr<ProcessedMessage>> ProcessBatch(DeviceStore& store,
                                                     const std::vector<StatusOr<InitialMessage>>& decoded,
                                                     uint64_t now) {
  std::vector<std::optional<StatusOr<ProcessedMessage>>> results(decoded.size());
  std::vector<uint32_t> erased;
  // The txn commits whatever the messages' outcomes (the counters must
  // persist); only successful ones write anything else.
  const Status txn_status = DeviceStoreAccess::Env(store).Update([&](store::Txn& txn) -> Status {
    const DeviceDbs& dbs = DeviceStoreAccess::Dbs(store);
    KT_ASSIGN_OR_RETURN(erased, internal::EraseExpiredSpks(txn, dbs, store.policy(), now));
    for (size_t i = 0; i < decoded.size(); i++) {
      if (!decoded[i].ok()) {
        results[i] = decoded[i].status();
        KT_RETURN_IF_ERROR(internal::AddCounter(txn, dbs.counters, internal::kCounterOtherFailure));
        continue;
      }
      KT_RETURN_IF_ERROR(ProcessInTxn(store, txn, *decoded[i], now, &results[i]));
    }
    return Status();
  });
  std::vector<StatusOr<ProcessedMessage>> out;
  out.reserve(decoded.size());
  if (!txn_status.ok()) {
    // Nothing was committed: every message fails with the txn's error.
    for (size_t i = 0; i < decoded.size(); i++) out.push_back(txn_status);
    return out;
  }
  DeviceStoreAccess::ForgetSpkKeys(store, erased);
  for (auto& r : results) {
    KT_CHECK(r.has_value());
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace

std::vector<StatusOr<ProcessedMessage>> ProcessInitialMessages(DeviceStore& store,
                                                               std::span<const InitialMessage> messages,
                                                               uint64_t now) {
  std::vector<StatusOr<InitialMessage>> decoded(messages.begin(), messages.end());
  return ProcessBatch(store, decoded, now);
}

std::vector<StatusOr<ProcessedMessage>> ProcessEncodedInitialMessages(DeviceStore& store,
                                                                      std::span<const core::Bytes> encoded,
                                                                      uint64_t now) {
  std::vector<StatusOr<InitialMessage>> decoded;
  decoded.reserve(encoded.size());
  for (const core::Bytes& e : encoded) decoded.push_back(DecodeInitialMessage(e));
  return ProcessBatch(store, decoded, now);
}

StatusOr<ProcessedMessage> ProcessInitialMessage(DeviceStore& store, const InitialMessage& message,
                                                 uint64_t now) {
  auto r = ProcessInitialMessages(store, std::span<const InitialMessage>(&message, 1), now);
  return std::move(r[0]);
}

StatusOr<ProcessedMessage> ProcessEncodedInitialMessage(DeviceStore& store, ByteSpan encoded, uint64_t now) {
  const core::Bytes copy(encoded.begin(), encoded.end());
  auto r = ProcessEncodedInitialMessages(store, std::span<const core::Bytes>(&copy, 1), now);
  return std::move(r[0]);
}

}  // namespace kt::x3dh
