// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the PUT /v1/prekeys body parser (x3dh/prekey_upload.h):
// whatever ParsePrekeyUploadJson accepts must format with PrekeyUploadToJson
// into a body that parses to an equal upload and formats to the same text,
// and respect the bounds (at most kMaxOpksPerUpload OPKs, distinct ids).
#include <cstdint>
#include <set>
#include <string_view>

#include "x3dh/prekey_upload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto upload = x3dh::ParsePrekeyUploadJson(input);
  if (!upload.ok()) return 0;
  KT_CHECK(upload->opks.size() <= x3dh::kMaxOpksPerUpload);
  std::set<uint32_t> ids;
  for (const auto& o : upload->opks) KT_CHECK(ids.insert(o.opk_id).second);
  const std::string text = x3dh::PrekeyUploadToJson(*upload);
  auto again = x3dh::ParsePrekeyUploadJson(text);
  KT_CHECK(again.ok() && *again == *upload);
  KT_CHECK(x3dh::PrekeyUploadToJson(*again) == text);
  return 0;
}
