// SPDX-License-Identifier: Apache-2.0
// Fuzz target for witness/request.h (tlog-witness add-checkpoint bodies):
// every accepted body formats back to itself byte for byte, re-parses to an
// equal request, and respects the spec's limits.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "witness/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::witness;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = ParseAddCheckpointRequest(body);
  if (!req.ok()) {
    if (req.status().code() != kt::core::Status::Code::kInvalidArgument) std::abort();
    return 0;
  }
  if (req->proof.size() > kMaxProofLines) std::abort();
  if (req->checkpoint.signatures.empty()) std::abort();
  if (body.size() > kMaxRequestSize) std::abort();
  const std::string formatted = FormatAddCheckpointRequest(*req);
  if (formatted != body) std::abort();
  auto again = ParseAddCheckpointRequest(formatted);
  if (!again.ok() || !(*again == *req)) std::abort();
  return 0;
}
