// SPDX-License-Identifier: Apache-2.0
// RFC 6962 / RFC 9162 Merkle tree math over SHA-256: record and node hashes,
// the dense "stored hash" numbering of golang.org/x/mod/sumdb/tlog (Crosby &
// Wallach §3.3), tree hashes and proofs computed from stored hashes, and an
// in-memory incremental TreeBuilder. Everything here is pure: storage comes in
// through the narrow HashReader interface (plan -> one batched read -> compute).
//
// Geometry. Leaves are level 0; the node at (level L, index n) covers leaves
// [n*2^L, (n+1)*2^L). A tree of `size` leaves is split RFC 6962 style: the left
// child is the largest perfect subtree of fewer than `size` leaves.
//
//                 root(5)
//                /       \   .
//          (2,0)          leaf 4         stored hashes are numbered in the
//         /     \   .                    order an append-only writer produces
//     (1,0)     (1,1)                    them:  0:(0,0) 1:(0,1) 2:(1,0)
//     /   \     /   \   .                       3:(0,2) 4:(0,3) 5:(1,1)
//   L0    L1   L2   L3                          6:(2,0) 7:(0,4) ...
#ifndef KT_CORE_MERKLE_H_
#define KT_CORE_MERKLE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace kt::core {

// kMaxTreeSize bounds the trees whose stored hashes are numbered here (2^62
// records; stored indexes then fit in uint64). Functions below that take a
// tree size from outside return InvalidArgument above it; the pure verifiers
// in proof.h accept any uint64 size.
inline constexpr uint64_t kMaxTreeSize = uint64_t{1} << 62;

// RecordHash returns the leaf hash SHA-256(0x00 || entry) (RFC 6962 §2.1).
Hash RecordHash(ByteSpan entry);
// NodeHash returns the interior hash SHA-256(0x01 || left || right) (RFC 6962 §2.1).
Hash NodeHash(const Hash& left, const Hash& right);
// EmptyRoot returns the root of the empty tree, SHA-256("") (RFC 6962 §2.1).
// Note golang.org/x/mod's TreeHash(0) returns zeros instead; we do not.
const Hash& EmptyRoot();

// RootOfRange is the naive recursive RFC 6962 §2.1 MTH over already-hashed
// leaves (EmptyRoot for none). O(n) hashes and O(log n) recursion; a
// reference for tests and small trees.
Hash RootOfRange(std::span<const Hash> leaf_hashes);

// StoredHashIndex maps the node (level, n) to its position in the dense
// append-order numbering (see the file comment). Requires a node of a tree of
// at most kMaxTreeSize records: (n + 1) << level <= kMaxTreeSize (KT_CHECK).
uint64_t StoredHashIndex(int level, uint64_t n);

// StoredNode is a node's (level, index-within-level) coordinates.
struct StoredNode {
  int level = 0;
  uint64_t n = 0;
  bool operator==(const StoredNode&) const = default;
};
// SplitStoredHashIndex is the inverse of StoredHashIndex. Requires index <
// StoredHashCount(kMaxTreeSize) (KT_CHECK).
StoredNode SplitStoredHashIndex(uint64_t index);

// StoredHashCount is the number of stored hashes a tree of `size` records
// has: every leaf hash and every complete subtree hash. It equals
// StoredHashIndex(0, size). Requires size <= kMaxTreeSize (KT_CHECK).
uint64_t StoredHashCount(uint64_t size);

// HashReader reads stored hashes by their StoredHashIndex. Implementations:
// a log's storage, TileHashReader (tiles fetched over HTTP), test maps.
class HashReader {
 public:
  virtual ~HashReader() = default;
  // ReadHashes fills `out` with exactly indexes.size() hashes in the order of
  // `indexes` (resizing it), or returns an error (e.g. NotFound, IOError,
  // VerificationFailed for unauthenticated tiles). Callers pass indexes in
  // increasing order where the plan allows.
  virtual Status ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) = 0;
};

// StoredHashesForRecordHash returns the hashes to store when appending record
// `n` (0-based) whose leaf hash is `record_hash`: the leaf hash followed by the
// hash of every subtree that record completes, i.e. the nodes (0,n), (1,n/2),
// ... with stored indexes StoredHashIndex(0, n), +1, +2, ... It reads at most
// log2(n) earlier hashes in one call. InvalidArgument if n >= kMaxTreeSize;
// other errors come from `reader`.
StatusOr<std::vector<Hash>> StoredHashesForRecordHash(uint64_t n, const Hash& record_hash,
                                                      HashReader& reader);
// StoredHashes is StoredHashesForRecordHash(n, RecordHash(entry), reader).
StatusOr<std::vector<Hash>> StoredHashes(uint64_t n, ByteSpan entry, HashReader& reader);

// TreeHashIndexes is the plan for TreeHash: the stored indexes of the
// perfect subtrees that make up a tree of `size` leaves, left to right.
// Requires size <= kMaxTreeSize (KT_CHECK).
std::vector<uint64_t> TreeHashIndexes(uint64_t size);
// TreeHash returns the RFC 6962 root of the first `size` records using one
// ReadHashes call (at most 1 + log2(size) hashes); EmptyRoot() for size 0.
// InvalidArgument above kMaxTreeSize; other errors come from `reader`.
StatusOr<Hash> TreeHash(uint64_t size, HashReader& reader);

// RecordProofIndexes is the plan for ProveRecord (empty unless index <
// size). Requires size <= kMaxTreeSize (KT_CHECK).
std::vector<uint64_t> RecordProofIndexes(uint64_t size, uint64_t index);
// ProveRecord returns the RFC 6962 §2.1.1 inclusion proof (audit path, from
// the leaf's sibling up) of record `index` in the tree of `size`.
// InvalidArgument unless index < size <= kMaxTreeSize; other errors come
// from `reader`.
StatusOr<std::vector<Hash>> ProveRecord(uint64_t size, uint64_t index, HashReader& reader);

// TreeProofIndexes is the plan for ProveTree (empty unless 0 < old_size <
// size). Requires size <= kMaxTreeSize (KT_CHECK).
std::vector<uint64_t> TreeProofIndexes(uint64_t size, uint64_t old_size);
// ProveTree returns the RFC 6962 §2.1.2 consistency proof that the tree of
// `size` extends the tree of `old_size`: empty when old_size is 0 or equals
// size. InvalidArgument if old_size > size or size > kMaxTreeSize; other
// errors come from `reader`.
StatusOr<std::vector<Hash>> ProveTree(uint64_t size, uint64_t old_size, HashReader& reader);

// TreeBuilder is an append-only Merkle tree kept as its right frontier
// ("compact range"): the roots of the perfect subtrees that make up the tree,
// largest first, one per set bit of size(). O(log n) memory, amortised one
// NodeHash per Append. Used by sequencers (to derive stored hashes and the
// new root) and by auditors (to recompute roots from entries). Not
// thread-safe; copyable.
class TreeBuilder {
 public:
  TreeBuilder() = default;
  // FromFrontier restores a builder for a tree of `size` from its frontier
  // (the hashes at TreeHashIndexes(size), in that order). InvalidArgument if
  // the count is not popcount(size) or size > kMaxTreeSize.
  static StatusOr<TreeBuilder> FromFrontier(uint64_t size, std::vector<Hash> frontier);
  // Restore reads the frontier of the tree of `size` from `reader` (one call).
  static StatusOr<TreeBuilder> Restore(uint64_t size, HashReader& reader);

  // Append adds the leaf with hash `record_hash` (a RecordHash) as record
  // size(). When `stored` is not null, the new stored hashes are appended to
  // it exactly as StoredHashesForRecordHash(size(), record_hash) returns
  // them: stored hash k (k = 0, 1, ...) is the node (level k, size() >> k),
  // at stored index StoredHashIndex(0, size()) + k. A tile writer keeps the
  // ones whose level is a multiple of 8.
  void Append(const Hash& record_hash, std::vector<Hash>* stored = nullptr);
  // AppendEntry is Append(RecordHash(entry), stored).
  void AppendEntry(ByteSpan entry, std::vector<Hash>* stored = nullptr) {
    Append(RecordHash(entry), stored);
  }

  uint64_t size() const { return size_; }
  // Root is the RFC 6962 root of the current tree (EmptyRoot() when empty).
  Hash Root() const;
  // frontier returns the perfect subtree roots, largest (leftmost) first.
  const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> frontier_;
};

}  // namespace kt::core

#endif  // KT_CORE_MERKLE_H_
