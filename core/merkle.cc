// SPDX-License-Identifier: Apache-2.0
// RFC 6962 Merkle tree math: hashing, stored-hash numbering, tree hashes and
// proofs from stored hashes (a port of golang.org/x/mod/sumdb/tlog's plan /
// fetch / compute structure), and the TreeBuilder frontier.
#include "core/merkle.h"

#include <algorithm>
#include <bit>
#include <string>
#include <utility>

#include "core/crypto.h"

namespace kt::core {
namespace {

// MaxPow2Below returns the largest power of two k < n (requires n > 1), the
// split point of RFC 6962 §2.1.
uint64_t MaxPow2Below(uint64_t n) {
  KT_CHECK(n > 1);
  return std::bit_floor(n - 1);
}

// Interval [lo, hi) of leaves; all plans below walk the same recursion.

// SubTreeIndex appends the stored indexes of the perfect subtrees that make
// up leaves [lo, hi), left to right (RFC 6962 §2.1 MTH decomposition).
void SubTreeIndex(uint64_t lo, uint64_t hi, std::vector<uint64_t>* need) {
  while (lo < hi) {
    uint64_t k = std::bit_floor(hi - lo);
    KT_CHECK((lo & (k - 1)) == 0);
    need->push_back(StoredHashIndex(std::countr_zero(k), lo >> std::countr_zero(k)));
    lo += k;
  }
}

// SubTreeHash folds the hashes of SubTreeIndex(lo, hi) starting at *pos into
// the root of [lo, hi), advancing *pos past them.
Hash SubTreeHash(uint64_t lo, uint64_t hi, std::span<const Hash> hashes, size_t* pos) {
  KT_CHECK(lo < hi);
  size_t count = 0;
  for (uint64_t l = lo; l < hi; l += std::bit_floor(hi - l)) ++count;
  KT_CHECK(*pos + count <= hashes.size());
  size_t first = *pos;
  Hash h = hashes[first + count - 1];
  for (size_t i = count - 1; i-- > 0;) h = NodeHash(hashes[first + i], h);
  *pos += count;
  return h;
}

// LeafProofIndex appends the plan for the audit path of leaf n in [lo, hi)
// (RFC 6962 §2.1.1 PATH).
void LeafProofIndex(uint64_t lo, uint64_t hi, uint64_t n, std::vector<uint64_t>* need) {
  KT_CHECK(lo <= n && n < hi);
  if (lo + 1 == hi) return;
  uint64_t k = MaxPow2Below(hi - lo);
  if (n < lo + k) {
    LeafProofIndex(lo, lo + k, n, need);
    SubTreeIndex(lo + k, hi, need);
  } else {
    SubTreeIndex(lo, lo + k, need);
    LeafProofIndex(lo + k, hi, n, need);
  }
}

// LeafProof computes the audit path from the hashes fetched for LeafProofIndex.
void LeafProof(uint64_t lo, uint64_t hi, uint64_t n, std::span<const Hash> hashes, size_t* pos,
               std::vector<Hash>* proof) {
  KT_CHECK(lo <= n && n < hi);
  if (lo + 1 == hi) return;  // the verifier knows the leaf hash
  uint64_t k = MaxPow2Below(hi - lo);
  Hash sibling;
  if (n < lo + k) {
    LeafProof(lo, lo + k, n, hashes, pos, proof);
    sibling = SubTreeHash(lo + k, hi, hashes, pos);
  } else {
    sibling = SubTreeHash(lo, lo + k, hashes, pos);
    LeafProof(lo + k, hi, n, hashes, pos, proof);
  }
  proof->push_back(sibling);
}

// TreeProofIndex appends the plan for the consistency sub-proof of old size
// m within [lo, hi) (RFC 6962 §2.1.2 SUBPROOF; `lo == 0` plays the role of b).
void TreeProofIndex(uint64_t lo, uint64_t hi, uint64_t m, std::vector<uint64_t>* need) {
  KT_CHECK(lo < m && m <= hi);
  if (m == hi) {
    if (lo != 0) SubTreeIndex(lo, hi, need);
    return;
  }
  uint64_t k = MaxPow2Below(hi - lo);
  if (m <= lo + k) {
    TreeProofIndex(lo, lo + k, m, need);
    SubTreeIndex(lo + k, hi, need);
  } else {
    SubTreeIndex(lo, lo + k, need);
    TreeProofIndex(lo + k, hi, m, need);
  }
}

void TreeProof(uint64_t lo, uint64_t hi, uint64_t m, std::span<const Hash> hashes, size_t* pos,
               std::vector<Hash>* proof) {
  KT_CHECK(lo < m && m <= hi);
  if (m == hi) {
    // The old tree itself (lo == 0) is known to the verifier.
    if (lo != 0) proof->push_back(SubTreeHash(lo, hi, hashes, pos));
    return;
  }
  uint64_t k = MaxPow2Below(hi - lo);
  Hash sibling;
  if (m <= lo + k) {
    TreeProof(lo, lo + k, m, hashes, pos, proof);
    sibling = SubTreeHash(lo + k, hi, hashes, pos);
  } else {
    sibling = SubTreeHash(lo, lo + k, hashes, pos);
    TreeProof(lo + k, hi, m, hashes, pos, proof);
  }
  proof->push_back(sibling);
}

// Fetch runs one ReadHashes call and checks the reader kept its contract.
Status Fetch(HashReader& reader, const std::vector<uint64_t>& indexes, std::vector<Hash>* out) {
  out->clear();
  if (indexes.empty()) return Status();
  KT_RETURN_IF_ERROR(reader.ReadHashes(indexes, out));
  if (out->size() != indexes.size()) {
    return Status::Internal("merkle: ReadHashes(" + std::to_string(indexes.size()) +
                            " indexes) returned " + std::to_string(out->size()) + " hashes");
  }
  return Status();
}

Status TooLarge(uint64_t size) {
  return Status::InvalidArgument("merkle: tree size " + std::to_string(size) +
                                 " exceeds the supported maximum 2^62");
}

}  // namespace

Hash RecordHash(ByteSpan entry) {
  static constexpr uint8_t kLeafPrefix[1] = {0x00};  // RFC 6962 §2.1
  return Sha256({ByteSpan(kLeafPrefix), entry});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  // RFC 6962 §2.1: one contiguous 65-byte input, a single digest update.
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256(ByteSpan(buf, sizeof(buf)));
}

const Hash& EmptyRoot() {
  static const Hash kEmpty = Sha256(ByteSpan());
  return kEmpty;
}

Hash RootOfRange(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyRoot();
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  uint64_t k = MaxPow2Below(leaf_hashes.size());
  return NodeHash(RootOfRange(leaf_hashes.first(k)), RootOfRange(leaf_hashes.subspan(k)));
}

uint64_t StoredHashIndex(int level, uint64_t n) {
  KT_CHECK(level >= 0 && level <= 62);
  KT_CHECK(n < (kMaxTreeSize >> level));  // (n + 1) << level <= kMaxTreeSize
  // Level L's n'th hash is stored right after level L-1's (2n+1)'th hash;
  // walk down to level 0, whose n'th hash is at n + n/2 + n/4 + ...
  uint64_t m = n;
  for (int l = level; l > 0; --l) m = 2 * m + 1;
  uint64_t i = 0;
  for (; m > 0; m >>= 1) i += m;
  return i + static_cast<uint64_t>(level);
}

StoredNode SplitStoredHashIndex(uint64_t index) {
  static const uint64_t kLimit = StoredHashCount(kMaxTreeSize);
  KT_CHECK(index < kLimit);
  // StoredHashIndex(0, n) <= 2n, so record n is in [index/2, index/2 + log2].
  uint64_t n = index / 2;
  uint64_t index_n = StoredHashIndex(0, n);
  KT_CHECK(index_n <= index);
  for (;;) {
    // Record n+1 starts 1 + trailing_ones(n) hashes after record n.
    uint64_t x = index_n + 1 + static_cast<uint64_t>(std::countr_one(n));
    if (x > index) break;
    ++n;
    index_n = x;
  }
  int level = static_cast<int>(index - index_n);
  return {level, n >> level};
}

uint64_t StoredHashCount(uint64_t size) {
  KT_CHECK(size <= kMaxTreeSize);
  if (size == 0) return 0;
  return StoredHashIndex(0, size - 1) + 1 + static_cast<uint64_t>(std::countr_one(size - 1));
}

StatusOr<std::vector<Hash>> StoredHashesForRecordHash(uint64_t n, const Hash& record_hash,
                                                      HashReader& reader) {
  if (n >= kMaxTreeSize) return TooLarge(n);
  // Each trailing 1 bit of n completes a subtree, consuming its left sibling.
  int m = std::countr_one(n);
  std::vector<uint64_t> indexes(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) {
    indexes[static_cast<size_t>(m - 1 - i)] = StoredHashIndex(i, (n >> i) - 1);
  }
  std::vector<Hash> old;
  KT_RETURN_IF_ERROR(Fetch(reader, indexes, &old));
  std::vector<Hash> hashes;
  hashes.reserve(static_cast<size_t>(m) + 1);
  Hash h = record_hash;
  hashes.push_back(h);
  for (int i = 0; i < m; ++i) {
    h = NodeHash(old[static_cast<size_t>(m - 1 - i)], h);
    hashes.push_back(h);
  }
  return hashes;
}

StatusOr<std::vector<Hash>> StoredHashes(uint64_t n, ByteSpan entry, HashReader& reader) {
  return StoredHashesForRecordHash(n, RecordHash(entry), reader);
}

std::vector<uint64_t> TreeHashIndexes(uint64_t size) {
  KT_CHECK(size <= kMaxTreeSize);
  std::vector<uint64_t> need;
  SubTreeIndex(0, size, &need);
  return need;
}

StatusOr<Hash> TreeHash(uint64_t size, HashReader& reader) {
  if (size > kMaxTreeSize) return TooLarge(size);
  if (size == 0) return EmptyRoot();
  std::vector<uint64_t> indexes = TreeHashIndexes(size);
  std::vector<Hash> hashes;
  KT_RETURN_IF_ERROR(Fetch(reader, indexes, &hashes));
  size_t pos = 0;
  Hash h = SubTreeHash(0, size, hashes, &pos);
  KT_CHECK(pos == hashes.size());
  return h;
}

std::vector<uint64_t> RecordProofIndexes(uint64_t size, uint64_t index) {
  KT_CHECK(size <= kMaxTreeSize);
  std::vector<uint64_t> need;
  if (index < size) LeafProofIndex(0, size, index, &need);
  return need;
}

StatusOr<std::vector<Hash>> ProveRecord(uint64_t size, uint64_t index, HashReader& reader) {
  if (size > kMaxTreeSize) return TooLarge(size);
  if (index >= size) {
    return Status::InvalidArgument("merkle: index " + std::to_string(index) +
                                   " not below tree size " + std::to_string(size));
  }
  std::vector<uint64_t> indexes = RecordProofIndexes(size, index);
  std::vector<Hash> hashes;
  KT_RETURN_IF_ERROR(Fetch(reader, indexes, &hashes));
  std::vector<Hash> proof;
  size_t pos = 0;
  LeafProof(0, size, index, hashes, &pos, &proof);
  KT_CHECK(pos == hashes.size());
  return proof;
}

std::vector<uint64_t> TreeProofIndexes(uint64_t size, uint64_t old_size) {
  KT_CHECK(size <= kMaxTreeSize);
  std::vector<uint64_t> need;
  if (old_size > 0 && old_size < size) TreeProofIndex(0, size, old_size, &need);
  return need;
}

StatusOr<std::vector<Hash>> ProveTree(uint64_t size, uint64_t old_size, HashReader& reader) {
  if (size > kMaxTreeSize) return TooLarge(size);
  if (old_size > size) {
    return Status::InvalidArgument("merkle: old size " + std::to_string(old_size) +
                                   " greater than tree size " + std::to_string(size));
  }
  if (old_size == 0 || old_size == size) return std::vector<Hash>();
  std::vector<uint64_t> indexes = TreeProofIndexes(size, old_size);
  std::vector<Hash> hashes;
  KT_RETURN_IF_ERROR(Fetch(reader, indexes, &hashes));
  std::vector<Hash> proof;
  size_t pos = 0;
  TreeProof(0, size, old_size, hashes, &pos, &proof);
  KT_CHECK(pos == hashes.size());
  return proof;
}

StatusOr<TreeBuilder> TreeBuilder::FromFrontier(uint64_t size, std::vector<Hash> frontier) {
  if (size > kMaxTreeSize) return TooLarge(size);
  if (frontier.size() != static_cast<size_t>(std::popcount(size))) {
    return Status::InvalidArgument("merkle: frontier of tree size " + std::to_string(size) +
                                   " needs " + std::to_string(std::popcount(size)) +
                                   " hashes, got " + std::to_string(frontier.size()));
  }
  TreeBuilder b;
  b.size_ = size;
  b.frontier_ = std::move(frontier);
  return b;
}

StatusOr<TreeBuilder> TreeBuilder::Restore(uint64_t size, HashReader& reader) {
  if (size > kMaxTreeSize) return TooLarge(size);
  std::vector<Hash> frontier;
  KT_RETURN_IF_ERROR(Fetch(reader, TreeHashIndexes(size), &frontier));
  return FromFrontier(size, std::move(frontier));
}

void TreeBuilder::Append(const Hash& record_hash, std::vector<Hash>* stored) {
  // The frontier's last m entries are the left siblings that the new leaf
  // completes, m = trailing ones of size_ (same rule as StoredHashes).
  Hash h = record_hash;
  if (stored != nullptr) stored->push_back(h);
  for (uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    KT_CHECK(!frontier_.empty());
    h = NodeHash(frontier_.back(), h);
    frontier_.pop_back();
    if (stored != nullptr) stored->push_back(h);
  }
  frontier_.push_back(h);
  ++size_;
}

Hash TreeBuilder::Root() const {
  if (frontier_.empty()) return EmptyRoot();
  Hash h = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) h = NodeHash(frontier_[i], h);
  return h;
}

}  // namespace kt::core
