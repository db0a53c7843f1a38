// SPDX-License-Identifier: Apache-2.0
// The device-side responder (docs/x3dh.md "Device store"): processes an
// initial message against a DeviceStore in one LMDB write transaction, so
// that consuming the one-time prekey, creating the session and recording the
// message for dedup commit together or not at all (Signal X3DH §3.4: "Bob
// deletes any one-time prekey private key that was used").
#ifndef KT_X3DH_RESPONDER_H_
#define KT_X3DH_RESPONDER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "x3dh/device_store.h"
#include "x3dh/x3dh.h"

namespace kt::x3dh {

// ProcessInitialMessage runs x3dh::Respond for `message` as `store`'s device
// at unix time `now`, in ONE write txn:
//  - a message whose MessageId was processed before returns the stored
//    result (same header, plaintext and session) with duplicate = true, and
//    counts kDuplicate; nothing else changes;
//  - otherwise the SPK and OPK private keys are looked up in the txn: the
//    current and every retained SPK serve; a retired SPK past
//    spk_retention is erased and fails kSpkUnknown, as does an id never
//    made; an OPK id consumed by another message fails kOpkReused, one never
//    made kOpkUnknown; a payload that does not authenticate fails
//    kAeadFailed;
//  - on success the OPK private key is deleted, its tombstone (opk id ->
//    MessageId), the session and the dedup record are written, and
//    `received` (and `received_without_opk` for a 3-DH message) counted;
//  - on failure only the failure's counter changes (a forged message never
//    burns an OPK). A header addressed to another user/device, or a sender
//    identity key unusable for DH, is InvalidArgument and counts as
//    other_failures.
// The caller must still check header.sender_identity_key against the log
// (kt::client) before trusting who sent the message. Thread-safe.
core::StatusOr<ProcessedMessage> ProcessInitialMessage(DeviceStore& store, const InitialMessage& message,
                                                       uint64_t now);

// ProcessInitialMessages processes `messages` in order in ONE write txn (one
// durable commit for a whole mailbox fetch) with exactly the per-message
// semantics of ProcessInitialMessage: result i is message i's answer, and a
// message repeated within the batch is a duplicate of its first copy. If the
// txn itself fails (LMDB error, corrupt record) nothing is committed and
// every result is that error; the caller may retry the batch.
std::vector<core::StatusOr<ProcessedMessage>> ProcessInitialMessages(DeviceStore& store,
                                                                     std::span<const InitialMessage> messages,
                                                                     uint64_t now);

// ProcessEncodedInitialMessage decodes `encoded` (x3dh::DecodeInitialMessage,
// e.g. a mailbox message) and processes it. A message that does not decode
// is InvalidArgument and counts as other_failures.
// ProcessEncodedInitialMessages is the batch form (one txn, as
// ProcessInitialMessages): what `kt receive` should call for one mailbox
// fetch, since each txn costs one durable commit (fsync).
core::StatusOr<ProcessedMessage> ProcessEncodedInitialMessage(DeviceStore& store, core::ByteSpan encoded,
                                                              uint64_t now);
std::vector<core::StatusOr<ProcessedMessage>> ProcessEncodedInitialMessages(
    DeviceStore& store, std::span<const core::Bytes> encoded, uint64_t now);

}  // namespace kt::x3dh

#endif  // KT_X3DH_RESPONDER_H_
