// SPDX-License-Identifier: Apache-2.0
// BundleVerifier: the only way to obtain an x3dh::VerifiedBundle (the
// type-level gate of x3dh/x3dh.h). A prekey bundle is accepted only when its
// identity key is the current logged key of that device in a verified lookup
// (inclusion in a quorum-cosigned checkpoint consistent with state, history
// replayed: client/lookup.h), matches the local contact pin, and signed the
// bundle's signed prekey.
#ifndef KT_CLIENT_BUNDLE_VERIFIER_H_
#define KT_CLIENT_BUNDLE_VERIFIER_H_

#include "client/contacts.h"
#include "client/lookup.h"
#include "core/status.h"
#include "x3dh/keys.h"
#include "x3dh/x3dh.h"

namespace kt::client {

class BundleVerifier {
 public:
  // Verify checks `bundle` against `lookup` (a verified lookup of
  // bundle.user) and the pins in `contacts` (nullptr: no pin check).
  // Failures (x3dh::X3dhFailure reasons): kNotLogged when the device is not
  // a current device of the user in the lookup; kKeyChanged when the bundle's
  // identity key differs from the logged key, or the logged key differs from
  // the contact's pinned key (accept the key change first); kSignatureInvalid
  // when the SPK signature does not verify under the identity key.
  static core::StatusOr<x3dh::VerifiedBundle> Verify(const x3dh::PrekeyBundle& bundle,
                                                     const LookupResult& lookup,
                                                     const Contacts* contacts);

  // VerifyFromLog runs the lookup first (Lookup::Get) and maps its failures:
  // NotFound -> kNotLogged, "unverified" quorum failures -> kQuorumNotMet,
  // other verification failures -> kProofInvalid; network errors as they are.
  static core::StatusOr<x3dh::VerifiedBundle> VerifyFromLog(const x3dh::PrekeyBundle& bundle,
                                                            Lookup& lookup,
                                                            const Contacts* contacts);

  // LookupFailure maps a failed Lookup::Get as VerifyFromLog does, for
  // callers that run one lookup for several bundles.
  static core::Status LookupFailure(const core::Status& s);
};

}  // namespace kt::client

#endif  // KT_CLIENT_BUNDLE_VERIFIER_H_
