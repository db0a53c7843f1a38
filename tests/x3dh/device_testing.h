// SPDX-License-Identifier: Apache-2.0
// Test helpers for the device store: a real DeviceStore in a temp dir, an
// in-test prekey directory holding what the device uploaded (popping each
// OPK at most once, as the server does, unless told to replay), and an
// initiator that runs the real x3dh::Initiate against it.
#ifndef KT_TESTS_X3DH_DEVICE_TESTING_H_
#define KT_TESTS_X3DH_DEVICE_TESTING_H_

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "core/crypto.h"
#include "tests/testing/vectors.h"
#include "tests/x3dh/verified_bundle_test_peer.h"
#include "x3dh/device_store.h"
#include "x3dh/responder.h"
#include "x3dh/x3dh.h"

namespace kt::x3dh::testing {

inline constexpr uint64_t kT0 = 1'750'000'000;
inline constexpr uint64_t kDay = 24 * 3600;

// Directory is what the prekey directory would hold for one device.
struct Directory {
  core::Ed25519PublicKey identity_key{};
  SignedPrekey spk;
  std::deque<OneTimePrekey> opks;

  // Apply stores an upload like PUT /v1/prekeys (SPK replaced, OPKs appended).
  void Apply(const PrekeyUpload& up) {
    identity_key = up.identity_key;
    spk = up.spk;
    opks.insert(opks.end(), up.opks.begin(), up.opks.end());
  }
  // Fetch returns a bundle with the oldest OPK popped (none when empty), or
  // with it left in place when `replay` (a misbehaving server).
  PrekeyBundle Fetch(const std::string& user, const std::string& device, bool replay = false) {
    PrekeyBundle b;
    b.user = user;
    b.device = device;
    b.identity_key = identity_key;
    b.signed_prekey = spk;
    if (!opks.empty()) {
      b.one_time_prekey = opks.front();
      if (!replay) opks.pop_front();
    }
    return b;
  }
};

// DeviceFixture is Bob's device plus Alice, who sends to him.
class DeviceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = kt::testing::TempDir("device_store");
    options_.no_sync = true;
    auto s = DeviceStore::Create(BobDir(), "bob@example.org", "phone", bob_key_, kT0, options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    bob_ = std::move(s).value();
  }

  std::string BobDir() const { return dir_ + "/bob"; }

  // Publish runs PrepareUpload as `kt device publish-prekeys` would and
  // applies it to the directory.
  void Publish(uint64_t now) {
    std::optional<uint64_t> count;
    if (published_) count = directory_.opks.size();
    auto up = bob_->PrepareUpload(now, count);
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    directory_.Apply(*up);
    ASSERT_TRUE(bob_->ConfirmUpload(*up).ok());
    published_ = true;
  }

  // Send has Alice fetch Bob's bundle and encrypt `text` at `now`.
  InitialMessage Send(const std::string& text, uint64_t now, bool replay = false) {
    const PrekeyBundle b = directory_.Fetch("bob@example.org", "phone", replay);
    InitiatorOptions o;
    o.now = now;
    auto r = Initiate(VerifiedBundleTestPeer::Make(b), alice_, "alice@example.org", "laptop",
                      core::AsBytes(text), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    last_sk_ = r->shared_key;
    return r->message;
  }

  core::StatusOr<ProcessedMessage> Receive(const InitialMessage& m, uint64_t now) {
    return ProcessInitialMessage(*bob_, m, now);
  }

  DeviceCounters Counters() const {
    auto c = bob_->Counters();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : DeviceCounters{};
  }
  DeviceInfo Info() const {
    auto i = bob_->Info();
    EXPECT_TRUE(i.ok()) << i.status().ToString();
    return i.ok() ? *i : DeviceInfo{};
  }

  static std::string Text(const core::Bytes& b) { return std::string(b.begin(), b.end()); }

  std::string dir_;
  DeviceStoreOptions options_;
  core::Ed25519Signer bob_key_ = core::Ed25519Signer::Generate();
  core::Ed25519Signer alice_ = core::Ed25519Signer::Generate();
  std::unique_ptr<DeviceStore> bob_;
  Directory directory_;
  bool published_ = false;
  core::SecretBytes last_sk_;
};

}  // namespace kt::x3dh::testing

#endif  // KT_TESTS_X3DH_DEVICE_TESTING_H_
