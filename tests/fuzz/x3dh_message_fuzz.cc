// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the X3DH wire formats (x3dh/x3dh.h, x3dh/keys.h): whatever
// DecodeInitialMessage, DecodeHeader or DecodePrekeyBundle accepts must
// re-encode to exactly the input bytes and decode again to an equal value;
// a decoded message's header must also decode on its own.
#include <cstdint>
#include <cstdlib>

#include "x3dh/keys.h"
#include "x3dh/x3dh.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt;
  const core::ByteSpan in(data, size);
  const core::Bytes input(in.begin(), in.end());

  if (auto m = x3dh::DecodeInitialMessage(in); m.ok()) {
    const core::Bytes encoded = x3dh::EncodeInitialMessage(*m);
    KT_CHECK(encoded == input);
    auto again = x3dh::DecodeInitialMessage(encoded);
    KT_CHECK(again.ok() && *again == *m);
    auto header = x3dh::DecodeHeader(x3dh::EncodeHeader(m->header));
    KT_CHECK(header.ok() && *header == m->header);
  }
  if (auto h = x3dh::DecodeHeader(in); h.ok()) {
    KT_CHECK(x3dh::EncodeHeader(*h) == input);
  }
  if (auto b = x3dh::DecodePrekeyBundle(in); b.ok()) {
    const core::Bytes encoded = x3dh::EncodePrekeyBundle(*b);
    KT_CHECK(encoded == input);
    auto again = x3dh::DecodePrekeyBundle(encoded);
    KT_CHECK(again.ok() && *again == *b);
  }
  return 0;
}
