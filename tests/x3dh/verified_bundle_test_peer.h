// SPDX-License-Identifier: Apache-2.0
// Test-only construction of x3dh::VerifiedBundle. Production code gets one
// only from kt::client::BundleVerifier after checking the log; tests and
// benchmarks that exercise X3DH without a log use this peer instead. It is
// defined only under tests/ and bench/ (never in a library).
#ifndef KT_TESTS_X3DH_VERIFIED_BUNDLE_TEST_PEER_H_
#define KT_TESTS_X3DH_VERIFIED_BUNDLE_TEST_PEER_H_

#include "x3dh/x3dh.h"

namespace kt::x3dh {

class VerifiedBundleTestPeer {
 public:
  // Make trusts `bundle.identity_key` as if it had been checked in the log.
  static VerifiedBundle Make(const PrekeyBundle& bundle) {
    return VerifiedBundle(bundle, bundle.identity_key);
  }
};

}  // namespace kt::x3dh

#endif  // KT_TESTS_X3DH_VERIFIED_BUNDLE_TEST_PEER_H_
