// SPDX-License-Identifier: Apache-2.0
// Verification of X3DH prekey bundles against the log (see bundle_verifier.h).
#include "client/bundle_verifier.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using x3dh::X3dhError;
using x3dh::X3dhFailure;

StatusOr<x3dh::VerifiedBundle> BundleVerifier::Verify(const x3dh::PrekeyBundle& bundle,
                                                      const LookupResult& lookup,
                                                      const Contacts* contacts) {
  if (lookup.lookup.user != bundle.user) {
    return X3dhFailure(X3dhError::kNotLogged, "lookup is for another user");
  }
  const VerifiedEntry* logged = nullptr;
  for (const VerifiedEntry& d : lookup.lookup.devices) {
    if (d.entry.device == bundle.device) logged = &d;
  }
  if (logged == nullptr) {
    return X3dhFailure(X3dhError::kNotLogged,
                       bundle.user + "/" + bundle.device + " is not a current logged device");
  }
  if (logged->entry.identity_key != bundle.identity_key) {
    return X3dhFailure(X3dhError::kKeyChanged,
                       "the bundle's identity key is not the logged key of " + bundle.device);
  }
  if (contacts != nullptr) {
    const Contact* pin = contacts->Find(bundle.user);
    if (pin != nullptr) {
      auto it = pin->devices.find(bundle.device);
      if (it == pin->devices.end() || it->second.identity_key != bundle.identity_key) {
        return X3dhFailure(X3dhError::kKeyChanged,
                           "the logged key of " + bundle.device +
                               " differs from the pinned key: accept the key change first");
      }
    }
  }
  // Cached: an initiator meets the same SPK for every session it starts
  // with this device; any differing byte is verified in full (x3dh/keys.h).
  Status spk = x3dh::VerifySignedPrekeyCached(bundle.identity_key, bundle.signed_prekey);
  if (!spk.ok()) return X3dhFailure(X3dhError::kSignatureInvalid, spk.message());
  // The SPK signature was verified just above: Initiate need not redo it.
  return x3dh::VerifiedBundle(bundle, logged->entry.identity_key, /*spk_signature_verified=*/true);
}

StatusOr<x3dh::VerifiedBundle> BundleVerifier::VerifyFromLog(const x3dh::PrekeyBundle& bundle,
                                                             Lookup& lookup,
                                                             const Contacts* contacts) {
  auto r = lookup.Get(bundle.user);
  if (!r.ok()) return LookupFailure(r.status());
  return Verify(bundle, *r, contacts);
}

Status BundleVerifier::LookupFailure(const Status& s) {
  if (s.ok()) return s;
  if (s.code() == Status::Code::kNotFound) return X3dhFailure(X3dhError::kNotLogged, s.message());
  if (s.code() == Status::Code::kPermissionDenied) {
    return X3dhFailure(X3dhError::kQuorumNotMet, s.message());
  }
  if (s.code() == Status::Code::kVerificationFailed || s.code() == Status::Code::kInvalidArgument) {
    return X3dhFailure(X3dhError::kProofInvalid, s.message());
  }
  return s;
}

}  // namespace kt::client
