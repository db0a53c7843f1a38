// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the request-path decoding of the prekey and mailbox routes
// (log/prekey_api.h PercentDecode): a decodable input decodes to at most its
// own length, and re-encoding every byte as %XX decodes back to the same
// bytes; an input without '%' decodes to itself.
#include <cstdint>
#include <cstdio>
#include <string>

#include "log/prekey_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt;
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto decoded = log::PercentDecode(input);
  if (input.find('%') == std::string::npos) KT_CHECK(decoded.ok() && *decoded == input);
  if (!decoded.ok()) return 0;
  KT_CHECK(decoded->size() <= input.size());
  std::string encoded;
  for (unsigned char c : *decoded) {
    char buf[4];
    std::snprintf(buf, sizeof(buf), "%%%02X", c);
    encoded += buf;
  }
  auto again = log::PercentDecode(encoded);
  KT_CHECK(again.ok() && *again == *decoded);
  return 0;
}
