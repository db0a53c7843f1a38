// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the device store's LMDB record decoders
// (x3dh/device_records.h): every record a decoder accepts must re-encode to
// exactly its input bytes (one encoding per record), so a stored record
// never changes meaning when it is rewritten.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/crypto.h"
#include "x3dh/device_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt;
  namespace xi = x3dh::internal;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const core::Bytes input(data, data + size);
  if (auto r = xi::DecodeSpkRecord(7, text); r.ok()) {
    KT_CHECK(r->spk.prekey.spk_id == 7);
    KT_CHECK(xi::EncodeSpkRecord(*r) == input);
  }
  if (auto r = xi::DecodeOpkRecord(text); r.ok()) KT_CHECK(xi::EncodeOpkRecord(*r) == input);
  if (auto r = xi::DecodeTombstone(text); r.ok()) KT_CHECK(xi::EncodeTombstone(*r) == input);
  const core::Hash id{};
  if (auto r = xi::DecodeSession(id, text); r.ok()) KT_CHECK(xi::EncodeSession(*r) == input);
  if (auto r = xi::DecodeProcessed(id, text); r.ok()) KT_CHECK(xi::EncodeProcessed(*r) == input);
  if (auto k = xi::ParseU32Key(text); k.ok()) {
    const auto again = xi::U32Key(*k);
    KT_CHECK(core::Bytes(again.begin(), again.end()) == input);
  }
  return 0;
}
