// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/proof.h (RFC 9162 §2.1.3.2 / §2.1.4.2): arbitrary
// sizes and paths never crash; a path of the wrong length is always
// InvalidArgument; an inclusion proof verifies against exactly the root
// RootFromInclusionProof computes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/proof.h"

namespace {
uint64_t U64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kt::core;
  if (size < 16 + 64) return 0;
  uint64_t a = U64(data), b = U64(data + 8);
  Hash h1, h2;
  std::memcpy(h1.data(), data + 16, 32);
  std::memcpy(h2.data(), data + 48, 32);
  std::vector<Hash> path;
  for (size_t off = 80; off + 32 <= size && path.size() < 70; off += 32) {
    Hash h;
    std::memcpy(h.data(), data + off, 32);
    path.push_back(h);
  }

  InclusionProof inc{a, b, path};
  auto root = RootFromInclusionProof(inc, h1);
  if (a >= b || path.size() != InclusionPathLength(a, b)) {
    KT_CHECK(!root.ok() && root.status().code() == Status::Code::kInvalidArgument);
  } else {
    KT_CHECK(root.ok());
    KT_CHECK(VerifyInclusion(inc, h1, *root).ok());
    Status s = VerifyInclusion(inc, h1, h2);
    KT_CHECK(s.ok() == (h2 == *root));
  }

  ConsistencyProof con{a, b, path};
  Status s = VerifyConsistency(con, h1, h2);
  if (a > b || path.size() != ConsistencyPathLength(a, b)) {
    KT_CHECK(s.code() == Status::Code::kInvalidArgument);
  } else {
    KT_CHECK(s.ok() || s.code() == Status::Code::kVerificationFailed);
  }
  return 0;
}
