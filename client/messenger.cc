// SPDX-License-Identifier: Apache-2.0
// X3DH sending path (fetch, verify against the log and the pin, initiate,
// post) and the responder's sender check; see messenger.h.
#include "client/messenger.h"

#include "client/bundle_verifier.h"
#include "core/encoding.h"
#include "core/entry.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using x3dh::X3dhError;
using x3dh::X3dhFailure;

namespace {

// ReconciledByLookup: `note` is one of the checkpoints the lookup reconciled
// with state when it was made (Lookup::Get accepts every checkpoint of its
// answers). Accepting that exact text again cannot change state or reveal a
// fork: every later checkpoint was checked against a state consistent with it.
bool ReconciledByLookup(const LookupResult& lookup, std::string_view note) {
  for (const TrustedCheckpoint& cp : lookup.lookup.checkpoints) {
    if (cp.note == note) return true;
  }
  for (const TrustedCheckpoint& cp : lookup.history.checkpoints) {
    if (cp.note == note) return true;
  }
  return false;
}

const VerifiedEntry* FindDevice(const LookupResult& lookup, std::string_view device) {
  for (const VerifiedEntry& d : lookup.lookup.devices) {
    if (d.entry.device == device) return &d;
  }
  return nullptr;
}

// PinCheck compares the verified lookup with the pin: first use pins (and
// saves), a change is a key_changed failure naming the devices.
StatusOr<bool> PinCheck(Contacts& contacts, const LookupResult& lookup) {
  ContactCheck check = contacts.Check(lookup);
  if (check.first_use) {
    KT_RETURN_IF_ERROR(contacts.Save());
    return true;
  }
  if (check.changed) {
    return X3dhFailure(X3dhError::kKeyChanged,
                       "KEY CHANGE for " + lookup.lookup.user + ": " + check.Describe() +
                           "; nothing was encrypted. Compare safety numbers, then accept with "
                           "`kt lookup " + lookup.lookup.user + " --accept`");
  }
  return false;
}

}  // namespace

size_t SendReport::delivered() const {
  size_t n = 0;
  for (const auto& d : deliveries) n += d.status.ok() ? 1 : 0;
  return n;
}

StatusOr<x3dh::VerifiedBundle> CheckBundleItem(const BundleItem& item, const LookupResult& lookup,
                                               LogClient& log, const Contacts& contacts) {
  const std::string who = item.bundle.user + "/" + item.device;
  auto rec = log.trust().VerifyTlogProof(item.proof);
  if (!rec.ok()) {
    if (rec.status().code() == Status::Code::kPermissionDenied) {
      return X3dhFailure(X3dhError::kQuorumNotMet, who + ": " + rec.status().message());
    }
    return X3dhFailure(X3dhError::kProofInvalid, who + ": " + rec.status().message());
  }
  // The proof's checkpoint is trusted (VerifyTlogProof) and the inclusion is
  // checked every time; it is reconciled with state unless it is one the
  // lookup already reconciled (the usual case: both answers name the log's
  // latest checkpoint), which saves reading and locking the state files.
  if (!ReconciledByLookup(lookup, rec->checkpoint.note)) {
    auto accepted = log.Accept(rec->checkpoint.note);
    if (!accepted.ok()) return accepted.status().Annotate(who + ": bundle proof checkpoint");
  }
  if (rec->index != item.index || rec->record != item.entry) {
    return X3dhFailure(X3dhError::kProofInvalid,
                       who + ": the bundle's proof does not prove its index and entry");
  }
  auto entry = core::DecodeEntry(item.entry);
  if (!entry.ok()) return X3dhFailure(X3dhError::kProofInvalid, who + ": " + entry.status().message());
  if (entry->kind != core::EntryKind::kKeySet || entry->user != item.bundle.user ||
      entry->device != item.device) {
    return X3dhFailure(X3dhError::kProofInvalid,
                       who + ": the bundle's proof is for " + entry->user + "/" + entry->device);
  }
  const VerifiedEntry* logged = FindDevice(lookup, item.device);
  if (logged == nullptr) {
    return X3dhFailure(X3dhError::kNotLogged, who + " is not a current logged device");
  }
  if (logged->index != item.index || logged->bytes != item.entry) {
    return X3dhFailure(X3dhError::kProofInvalid,
                       who + ": the bundle's proof is not the device's current entry (index " +
                           std::to_string(item.index) + ", current " +
                           std::to_string(logged->index) + ")");
  }
  if (entry->identity_key != item.bundle.identity_key) {
    return X3dhFailure(X3dhError::kKeyChanged,
                       who + ": the bundle's identity key is not the logged key");
  }
  auto verified = BundleVerifier::Verify(item.bundle, lookup, &contacts);
  if (!verified.ok()) return verified.status().Annotate(who);
  return verified;
}

StatusOr<SendReport> SendToUser(PrekeyClient& prekeys, LogClient& log, Contacts& contacts,
                                const Sender& sender, std::string_view user,
                                core::ByteSpan plaintext, const SendOptions& options) {
  KT_CHECK(sender.identity != nullptr);
  KT_ASSIGN_OR_RETURN(BundleSet set, prekeys.FetchBundles(user));
  Lookup lookup(log);
  auto looked = lookup.Get(user);
  if (!looked.ok()) return BundleVerifier::LookupFailure(looked.status());
  SendReport report;
  report.user = std::string(user);
  KT_ASSIGN_OR_RETURN(report.first_use, PinCheck(contacts, *looked));
  for (const VerifiedEntry& d : looked->lookup.devices) {
    bool served = false;
    for (const BundleItem& b : set.bundles) served = served || b.device == d.entry.device;
    if (!served) report.without_bundle.push_back(d.entry.device);
  }
  for (const BundleItem& item : set.bundles) {
    DeviceDelivery out;
    out.device = item.device;
    out.spk_id = item.bundle.signed_prekey.spk_id;
    if (item.bundle.one_time_prekey) out.opk_id = item.bundle.one_time_prekey->opk_id;
    auto verified = CheckBundleItem(item, *looked, log, contacts);
    if (!verified.ok()) {
      out.status = verified.status();
      report.deliveries.push_back(std::move(out));
      continue;
    }
    auto init = x3dh::Initiate(*verified, *sender.identity, sender.user, sender.device, plaintext,
                               options.initiator);
    if (init.ok() && options.record) {
      Status recorded = options.record(*verified, *init);
      if (!recorded.ok()) init = recorded;
    }
    if (!init.ok()) {
      out.status = init.status().Annotate(std::string(user) + "/" + item.device);
      report.deliveries.push_back(std::move(out));
      continue;
    }
    auto id = prekeys.Deliver(init->message);
    if (id.ok()) {
      out.message_id = *id;
    } else {
      out.status = id.status();
    }
    report.deliveries.push_back(std::move(out));
  }
  return report;
}

Status VerifySender(LogClient& log, Contacts& contacts, const x3dh::Header& header) {
  Lookup lookup(log);
  auto looked = lookup.Get(header.sender_user);
  if (!looked.ok()) return BundleVerifier::LookupFailure(looked.status());
  const std::string who = header.sender_user + "/" + header.sender_device;
  const VerifiedEntry* logged = FindDevice(*looked, header.sender_device);
  if (logged == nullptr) return X3dhFailure(X3dhError::kNotLogged, who + " is not a current device");
  if (logged->entry.identity_key != header.sender_identity_key) {
    return X3dhFailure(X3dhError::kNotLogged,
                       who + ": the message's sender key is not the device's logged key");
  }
  const Contact* pin = contacts.Find(header.sender_user);
  if (pin == nullptr) {
    contacts.Check(*looked);  // first use: pins the sender's devices
    return contacts.Save();
  }
  auto it = pin->devices.find(header.sender_device);
  if (it == pin->devices.end() || it->second.identity_key != header.sender_identity_key) {
    ContactCheck check = contacts.Check(*looked);
    return X3dhFailure(X3dhError::kKeyChanged,
                       "KEY CHANGE for " + who + ": the logged key differs from the pinned one " +
                           check.Describe() + "; accept with `kt lookup " + header.sender_user +
                           " --accept`");
  }
  return Status();
}

}  // namespace kt::client
