// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the KT-Device Authorization header (x3dh/device_auth.h):
// whatever ParseDeviceAuth accepts must format back to exactly the input and
// parse again to an equal value; its signed message must have the contract's
// shape; a signature made over it with a fixed key must verify and must not
// verify for another path.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "x3dh/device_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt;
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto auth = x3dh::ParseDeviceAuth(input);
  if (!auth.ok()) return 0;
  KT_CHECK(x3dh::FormatDeviceAuth(*auth) == input);
  auto again = x3dh::ParseDeviceAuth(x3dh::FormatDeviceAuth(*auth));
  KT_CHECK(again.ok() && *again == *auth);
  KT_CHECK(auth->nonce.size() == x3dh::kDeviceAuthNonceHexSize);

  const core::Bytes msg = x3dh::DeviceAuthMessage("GET", "/v1/p", auth->ts, auth->nonce, {});
  const std::string expected = "kt-device-auth-v1\nGET\n/v1/p\n" + std::to_string(auth->ts) +
                               "\n" + auth->nonce + "\n";
  KT_CHECK(msg.size() == expected.size() + 65);
  KT_CHECK(std::string_view(reinterpret_cast<const char*>(msg.data()), expected.size()) == expected);

  static const core::Ed25519Signer key = [] {
    auto k = core::Ed25519Signer::FromSeed(core::Bytes(32, 7));
    KT_CHECK(k.ok());
    return *k;
  }();
  x3dh::DeviceAuth signed_auth = x3dh::SignDeviceRequest(key, "PUT", "/v1/x", core::AsBytes(input),
                                                         auth->ts, auth->nonce);
  KT_CHECK(x3dh::VerifyDeviceAuthSignature(key.public_key(), signed_auth, "PUT", "/v1/x",
                                           core::AsBytes(input)));
  KT_CHECK(!x3dh::VerifyDeviceAuthSignature(key.public_key(), signed_auth, "PUT", "/v1/y",
                                            core::AsBytes(input)));
  return 0;
}
