// SPDX-License-Identifier: Apache-2.0
// The initiator's sending path and the responder's sender check of X3DH
// (docs/x3dh.md "CLI"): bundles are fetched from the prekey directory and
// each is encrypted to only after it passed, in this order, the recipient's
// verified lookup (client/lookup.h), the contact pin (client/contacts.h),
// the bundle's own tlog-proof (the device's current entry, in a trusted
// checkpoint consistent with state), and BundleVerifier (logged key, SPK
// signature). x3dh::Initiate takes only the VerifiedBundle that produces.
#ifndef KT_CLIENT_MESSENGER_H_
#define KT_CLIENT_MESSENGER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/contacts.h"
#include "client/log_client.h"
#include "client/lookup.h"
#include "client/prekey_client.h"
#include "core/bytes.h"
#include "core/status.h"
#include "x3dh/keys.h"
#include "x3dh/x3dh.h"

namespace kt::client {

// DeviceDelivery is the outcome for one device of the recipient.
struct DeviceDelivery {
  std::string device;
  core::Status status;     // OK: delivered; else why not (x3dh::X3dhErrorOf gives the reason)
  std::string message_id;  // hex MessageId when delivered
  uint32_t spk_id = 0;
  std::optional<uint32_t> opk_id;  // nullopt: no OPK was served (3-DH)
};

// SendReport is what SendToUser did.
struct SendReport {
  std::string user;
  bool first_use = false;  // the recipient's keys were pinned by this send
  std::vector<DeviceDelivery> deliveries;
  // without_bundle: current logged devices the directory served no bundle
  // for (they never published prekeys, or the server withheld them).
  std::vector<std::string> without_bundle;
  size_t delivered() const;
};

// Sender is the sending device.
struct Sender {
  const x3dh::DeviceIdentity* identity = nullptr;
  std::string user;
  std::string device;
};

// SendOptions tune SendToUser.
struct SendOptions {
  x3dh::InitiatorOptions initiator;
  // record, when set, stores the initiator's session (e.g.
  // x3dh::DeviceStore::RecordInitiated) before the message is posted; its
  // failure fails that device.
  std::function<core::Status(const x3dh::VerifiedBundle&, const x3dh::InitiatorResult&)> record;
};

// SendToUser encrypts `plaintext` to every current device of `user` whose
// bundle verifies and posts each initial message to that device's mailbox.
// Errors stop the whole send before anything is encrypted: fetch failures
// (NotFound when no device has prekeys), a failed lookup (x3dh reasons
// not_logged / quorum_not_met / proof_invalid, or fork / rollback), and a key
// change against the contact pin (x3dh key_changed; its message names the
// changed devices and whether the change was endorsed; the pin stays). A
// first lookup pins the user's keys (saved). A bundle that fails its own
// checks is refused for that device only (its status in the report) and is
// never passed to x3dh::Initiate. Not thread-safe (LogClient, Contacts).
core::StatusOr<SendReport> SendToUser(PrekeyClient& prekeys, LogClient& log, Contacts& contacts,
                                      const Sender& sender, std::string_view user,
                                      core::ByteSpan plaintext, const SendOptions& options = {});

// CheckBundleItem runs the per-device checks of SendToUser on one served
// bundle against the recipient's verified lookup, made by client/lookup.h
// through `log` (its checkpoints are reconciled with log's state already):
// the tlog-proof verifies, its checkpoint is reconciled with state (skipped
// when it is one of the lookup's checkpoints), it proves the device's
// current logged entry (same index and bytes as the lookup), the entry's key
// is the bundle's key; then BundleVerifier::Verify.
// Failures carry x3dh reasons (proof_invalid, not_logged, key_changed,
// signature_invalid, quorum_not_met).
core::StatusOr<x3dh::VerifiedBundle> CheckBundleItem(const BundleItem& item,
                                                     const LookupResult& lookup,
                                                     LogClient& log, const Contacts& contacts);

// VerifySender checks the sender of a received initial message against the
// log: `sender_device` must be a current device of `sender_user` whose logged
// key is the header's IK_A (else not_logged), and that device's key must
// match the contact pin (else key_changed, also for a device not pinned yet;
// a user never seen before is pinned and saved). Lookup
// failures map as BundleVerifier::LookupFailure does.
core::Status VerifySender(LogClient& log, Contacts& contacts, const x3dh::Header& header);

}  // namespace kt::client

#endif  // KT_CLIENT_MESSENGER_H_
