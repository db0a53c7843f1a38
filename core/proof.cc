// SPDX-License-Identifier: Apache-2.0
// RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) proof
// verification. The path length is checked up front so that a malformed
// proof is InvalidArgument, distinct from a well-formed proof for other data.
#include "core/proof.h"

#include <bit>
#include <string>

#include "core/merkle.h"

namespace kt::core {
namespace {

// Path lengths follow the tree shape: the audit path of leaf `index` in a
// tree whose last leaf is `last` has one hash per level where the paths to
// index and last diverge (`inner`) plus one per left sibling above that
// (`border`, the set bits of index above the divergence).
//
//          root                  index = 2, last = 4 (size 5):
//         /    \                 inner  = bit_width(2 ^ 4) = 3
//       ...    ...               border = popcount(2 >> 3) = 0
int Inner(uint64_t index, uint64_t last) { return std::bit_width(index ^ last); }
int Border(uint64_t index, int inner) { return inner >= 64 ? 0 : std::popcount(index >> inner); }

Status LengthError(const char* what, size_t got, size_t want) {
  return Status::InvalidArgument(std::string(what) + ": proof has " + std::to_string(got) +
                                 " hashes, want " + std::to_string(want));
}

}  // namespace

size_t InclusionPathLength(uint64_t index, uint64_t tree_size) {
  KT_CHECK(index < tree_size);
  int inner = Inner(index, tree_size - 1);
  return static_cast<size_t>(inner + Border(index, inner));
}

size_t ConsistencyPathLength(uint64_t old_size, uint64_t new_size) {
  KT_CHECK(old_size <= new_size);
  if (old_size == 0 || old_size == new_size) return 0;
  // The proof starts with the root of the largest perfect subtree ending at
  // old_size (2^shift leaves), omitted when that subtree is the old tree.
  int shift = std::countr_zero(old_size);
  int inner = Inner(old_size - 1, new_size - 1);
  int border = Border(old_size - 1, inner);
  int seed = std::has_single_bit(old_size) ? 0 : 1;
  return static_cast<size_t>(seed + (inner - shift) + border);
}

StatusOr<Hash> RootFromInclusionProof(const InclusionProof& proof, const Hash& leaf_hash) {
  // RFC 9162 §2.1.3.2 step 1.
  if (proof.index >= proof.tree_size) {
    return Status::InvalidArgument("inclusion proof: index " + std::to_string(proof.index) +
                                   " not below tree size " + std::to_string(proof.tree_size));
  }
  size_t want = InclusionPathLength(proof.index, proof.tree_size);
  if (proof.path.size() != want) return LengthError("inclusion proof", proof.path.size(), want);
  // Steps 2-4.
  uint64_t fn = proof.index;
  uint64_t sn = proof.tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof.path) {
    if (sn == 0) return Status::InvalidArgument("inclusion proof: too long");  // step 4a
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::InvalidArgument("inclusion proof: too short");  // step 5
  return r;
}

Status VerifyInclusion(const InclusionProof& proof, const Hash& leaf_hash, const Hash& root) {
  KT_ASSIGN_OR_RETURN(Hash r, RootFromInclusionProof(proof, leaf_hash));
  if (r != root) {
    return Status::VerificationFailed("inclusion proof: computed root does not match for index " +
                                      std::to_string(proof.index) + " in tree size " +
                                      std::to_string(proof.tree_size));
  }
  return Status();
}

Status VerifyConsistency(const ConsistencyProof& proof, const Hash& old_root,
                         const Hash& new_root) {
  const uint64_t first = proof.old_size;
  const uint64_t second = proof.new_size;
  const std::vector<Hash>& path = proof.path;
  if (first > second) {
    return Status::InvalidArgument("consistency proof: old size " + std::to_string(first) +
                                   " greater than new size " + std::to_string(second));
  }
  if (first == 0 || first == second) {
    if (!path.empty()) {
      return Status::InvalidArgument(
          "consistency proof: must be empty when old size is 0 or equals new size");
    }
    if (first == 0 && old_root != EmptyRoot()) {
      return Status::VerificationFailed("consistency proof: old root of size 0 is not SHA-256(\"\")");
    }
    if (first == second && old_root != new_root) {
      return Status::VerificationFailed("consistency proof: same size, different roots");
    }
    return Status();
  }
  size_t want = ConsistencyPathLength(first, second);
  if (path.size() != want) return LengthError("consistency proof", path.size(), want);

  // RFC 9162 §2.1.4.2. Step 2: if first is a power of 2, the proof omits
  // the old root, which is then the seed; otherwise the seed is path[0].
  size_t next = 0;
  Hash seed = old_root;
  if (!std::has_single_bit(first)) seed = path[next++];
  // Steps 3-4.
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // Steps 5-6.
  Hash fr = seed;
  Hash sr = seed;
  for (; next < path.size(); ++next) {
    const Hash& c = path[next];
    if (sn == 0) return Status::InvalidArgument("consistency proof: too long");  // step 6a
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 7.
  if (sn != 0) return Status::InvalidArgument("consistency proof: too short");
  if (fr != old_root) {
    return Status::VerificationFailed("consistency proof: computed old root does not match");
  }
  if (sr != new_root) {
    return Status::VerificationFailed("consistency proof: computed new root does not match");
  }
  return Status();
}

}  // namespace kt::core
