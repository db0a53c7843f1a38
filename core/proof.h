// SPDX-License-Identifier: Apache-2.0
// Pure verification of Merkle inclusion and consistency proofs, exactly the
// RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms (the proofs themselves are RFC
// 6962 §2.1.1 audit paths and §2.1.2 consistency proofs). No storage, no
// allocation beyond the proof; thread-safe.
#ifndef KT_CORE_PROOF_H_
#define KT_CORE_PROOF_H_

#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace kt::core {

// InclusionProof shows that leaf `index` is in the tree of `tree_size`
// leaves. `path` is RFC 6962's audit path, from the leaf's sibling up to the
// root's child (empty for a tree of one leaf).
struct InclusionProof {
  uint64_t index = 0;  // 0-based; requires index < tree_size
  uint64_t tree_size = 0;
  std::vector<Hash> path;
};

// ConsistencyProof shows that the tree of `new_size` extends the tree of
// `old_size`. `path` is empty when old_size is 0 or equals new_size.
struct ConsistencyProof {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<Hash> path;
};

// InclusionPathLength is the exact audit path length for (index, tree_size);
// requires index < tree_size.
size_t InclusionPathLength(uint64_t index, uint64_t tree_size);
// ConsistencyPathLength is the exact consistency proof length for
// 0 <= old_size <= new_size (0 when old_size is 0 or equals new_size).
size_t ConsistencyPathLength(uint64_t old_size, uint64_t new_size);

// RootFromInclusionProof runs RFC 9162 §2.1.3.2 and returns the root implied
// by `proof` for `leaf_hash` (a RecordHash). InvalidArgument if index >=
// tree_size or the path length is wrong for (index, tree_size).
StatusOr<Hash> RootFromInclusionProof(const InclusionProof& proof, const Hash& leaf_hash);

// VerifyInclusion checks `proof` for `leaf_hash` against `root`. OK;
// InvalidArgument if the proof is malformed for its sizes (index >= size,
// wrong path length); VerificationFailed if the computed root differs.
Status VerifyInclusion(const InclusionProof& proof, const Hash& leaf_hash, const Hash& root);

// VerifyConsistency checks that `proof` links `old_root` (tree of old_size)
// to `new_root` (tree of new_size), RFC 9162 §2.1.4.2. OK; InvalidArgument
// if old_size > new_size, the path is non-empty when old_size is 0 or equals
// new_size, or has the wrong length otherwise; VerificationFailed if a root
// does not match — including old_size == new_size with different roots and
// old_size == 0 with an old_root other than EmptyRoot().
Status VerifyConsistency(const ConsistencyProof& proof, const Hash& old_root,
                         const Hash& new_root);

}  // namespace kt::core

#endif  // KT_CORE_PROOF_H_
