// SPDX-License-Identifier: Apache-2.0
// Tests for core/merkle.h: stored-hash numbering, tree hashes and proofs from
// stored hashes against a naive RFC 6962 §2.1 reference (exhaustive for
// n <= 64, sampled up to 100k leaves), and TreeBuilder.
#include "core/merkle.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/crypto.h"
#include "core/proof.h"
#include "tests/core/merkle_testing.h"

namespace kt::core {
namespace {

using kt::testing::MemoryHashLog;

// Naive RFC 6962 §2.1 reference, hashing with Sha256 directly so that it
// shares nothing with the code under test but the digest.
Hash RefNode(const Hash& l, const Hash& r) {
  const uint8_t one[1] = {0x01};
  return Sha256({ByteSpan(one), l, r});
}
size_t RefSplit(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
Hash RefMth(std::span<const Hash> d) {
  if (d.empty()) return Sha256(ByteSpan());
  if (d.size() == 1) return d[0];
  size_t k = RefSplit(d.size());
  return RefNode(RefMth(d.first(k)), RefMth(d.subspan(k)));
}
// RFC 6962 §2.1.1 PATH(m, D[n]).
std::vector<Hash> RefPath(size_t m, std::span<const Hash> d) {
  if (d.size() <= 1) return {};
  size_t k = RefSplit(d.size());
  std::vector<Hash> p;
  if (m < k) {
    p = RefPath(m, d.first(k));
    p.push_back(RefMth(d.subspan(k)));
  } else {
    p = RefPath(m - k, d.subspan(k));
    p.push_back(RefMth(d.first(k)));
  }
  return p;
}
// RFC 6962 §2.1.2 SUBPROOF(m, D[n], b).
std::vector<Hash> RefSubproof(size_t m, std::span<const Hash> d, bool b) {
  if (m == d.size()) return b ? std::vector<Hash>{} : std::vector<Hash>{RefMth(d)};
  size_t k = RefSplit(d.size());
  std::vector<Hash> p;
  if (m <= k) {
    p = RefSubproof(m, d.first(k), b);
    p.push_back(RefMth(d.subspan(k)));
  } else {
    p = RefSubproof(m - k, d.subspan(k), false);
    p.push_back(RefMth(d.first(k)));
  }
  return p;
}

std::vector<Hash> Leaves(size_t n, uint32_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<Hash> out(n);
  for (Hash& h : out) {
    for (uint8_t& b : h) b = static_cast<uint8_t>(rng());
  }
  return out;
}

MemoryHashLog LogOf(std::span<const Hash> leaves) {
  MemoryHashLog log;
  for (const Hash& h : leaves) log.Append(h);
  return log;
}

TEST(MerkleHashTest, RecordAndNodeHashUseDomainSeparation) {
  const uint8_t entry[] = {'a', 'b', 'c'};
  const uint8_t prefixed[] = {0x00, 'a', 'b', 'c'};
  EXPECT_EQ(RecordHash(entry), Sha256(ByteSpan(prefixed)));
  Hash l = Leaves(1, 7)[0], r = Leaves(1, 8)[0];
  EXPECT_EQ(NodeHash(l, r), RefNode(l, r));
  EXPECT_NE(NodeHash(l, r), NodeHash(r, l));
  EXPECT_EQ(EmptyRoot(), Sha256(ByteSpan()));
}

TEST(StoredHashIndexTest, MatchesAppendOrder) {
  // 0:(0,0) 1:(0,1) 2:(1,0) 3:(0,2) 4:(0,3) 5:(1,1) 6:(2,0) 7:(0,4)
  const StoredNode want[] = {{0, 0}, {0, 1}, {1, 0}, {0, 2}, {0, 3}, {1, 1}, {2, 0}, {0, 4}};
  for (uint64_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(SplitStoredHashIndex(i), want[i]) << i;
    EXPECT_EQ(StoredHashIndex(want[i].level, want[i].n), i) << i;
  }
}

TEST(StoredHashIndexTest, SplitInvertsIndex) {
  for (uint64_t i = 0; i < 100000; ++i) {
    StoredNode node = SplitStoredHashIndex(i);
    ASSERT_EQ(StoredHashIndex(node.level, node.n), i);
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10000; ++i) {
    uint64_t x = rng() >> 3;  // below 2^61
    StoredNode node = SplitStoredHashIndex(x);
    ASSERT_EQ(StoredHashIndex(node.level, node.n), x);
  }
  for (int level = 0; level < 62; ++level) {
    uint64_t n = (uint64_t{1} << (61 - level)) - 1;
    EXPECT_EQ(SplitStoredHashIndex(StoredHashIndex(level, n)), (StoredNode{level, n}));
  }
}

TEST(StoredHashIndexTest, CountMatchesStoredLog) {
  MemoryHashLog log;
  EXPECT_EQ(StoredHashCount(0), 0u);
  for (const Hash& h : Leaves(1000)) {
    log.Append(h);
    ASSERT_EQ(StoredHashCount(log.size), log.hashes.size());
    ASSERT_EQ(StoredHashIndex(0, log.size), log.hashes.size());
  }
}

TEST(StoredHashesTest, StoresLeafAndCompletedSubtrees) {
  std::vector<Hash> leaves = Leaves(8);
  MemoryHashLog log = LogOf(std::span(leaves).first(7));
  log.calls = 0;
  auto stored = StoredHashesForRecordHash(7, leaves[7], log);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 4u);  // leaf 7, (1,3), (2,1), (3,0)
  EXPECT_EQ((*stored)[0], leaves[7]);
  EXPECT_EQ((*stored)[1], RefMth(std::span(leaves).subspan(6, 2)));
  EXPECT_EQ((*stored)[2], RefMth(std::span(leaves).subspan(4, 4)));
  EXPECT_EQ((*stored)[3], RefMth(leaves));
  EXPECT_EQ(log.calls, 1);
  const uint8_t entry[] = {1, 2, 3};
  auto by_entry = StoredHashes(7, entry, log);
  ASSERT_TRUE(by_entry.ok());
  EXPECT_EQ((*by_entry)[0], RecordHash(entry));
}

TEST(StoredHashesTest, PropagatesReaderErrors) {
  MemoryHashLog empty;
  auto stored = StoredHashesForRecordHash(3, Leaves(1)[0], empty);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(TreeHash(5, empty).ok());
  EXPECT_FALSE(ProveRecord(5, 1, empty).ok());
  EXPECT_FALSE(ProveTree(5, 3, empty).ok());
}

// ShortReader breaks the HashReader contract by returning too few hashes.
class ShortReader : public HashReader {
 public:
  Status ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) override {
    out->assign(indexes.size() - 1, Hash{});
    return Status();
  }
};

TEST(StoredHashesTest, RejectsReaderReturningWrongCount) {
  ShortReader r;
  auto th = TreeHash(5, r);
  ASSERT_FALSE(th.ok());
  EXPECT_EQ(th.status().code(), Status::Code::kInternal);
  EXPECT_FALSE(ProveRecord(5, 1, r).ok());
  EXPECT_FALSE(ProveTree(5, 3, r).ok());
  EXPECT_FALSE(StoredHashesForRecordHash(3, Hash{}, r).ok());
}

TEST(TreeHashTest, EmptyTreeReadsNothing) {
  MemoryHashLog log;
  auto th = TreeHash(0, log);
  ASSERT_TRUE(th.ok());
  EXPECT_EQ(*th, EmptyRoot());
  EXPECT_EQ(log.calls, 0);
}

// Exhaustive: every n <= 64, every index and old size, against the reference.
TEST(MerkleExhaustiveTest, SmallTreesMatchReference) {
  std::vector<Hash> leaves = Leaves(64);
  MemoryHashLog log = LogOf(leaves);
  TreeBuilder builder;
  for (uint64_t n = 0; n <= 64; ++n) {
    std::span<const Hash> d = std::span(leaves).first(n);
    Hash root = RefMth(d);
    ASSERT_EQ(RootOfRange(d), root) << n;
    ASSERT_EQ(builder.Root(), root) << n;
    log.calls = 0;
    auto th = TreeHash(n, log);
    ASSERT_TRUE(th.ok());
    ASSERT_EQ(*th, root) << n;
    ASSERT_LE(log.calls, 1);
    for (uint64_t i = 0; i < n; ++i) {
      auto p = ProveRecord(n, i, log);
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, RefPath(i, d)) << "index " << i << " size " << n;
      ASSERT_EQ(p->size(), InclusionPathLength(i, n));
      ASSERT_TRUE(VerifyInclusion({i, n, *p}, leaves[i], root).ok()) << i << " " << n;
    }
    for (uint64_t m = 0; m <= n; ++m) {
      auto p = ProveTree(n, m, log);
      ASSERT_TRUE(p.ok());
      std::vector<Hash> want = (m == 0) ? std::vector<Hash>{} : RefSubproof(m, d, true);
      ASSERT_EQ(*p, want) << "old " << m << " size " << n;
      ASSERT_EQ(p->size(), ConsistencyPathLength(m, n));
      ASSERT_TRUE(VerifyConsistency({m, n, *p}, RefMth(d.first(m)), root).ok()) << m << " " << n;
    }
    if (n < 64) builder.Append(leaves[n]);
  }
}

TEST(ProveRecordTest, RejectsIndexNotBelowSize) {
  MemoryHashLog log = LogOf(Leaves(10));
  for (auto [size, index] : {std::pair<uint64_t, uint64_t>{0, 0}, {5, 5}, {5, 6}, {10, 100}}) {
    auto p = ProveRecord(size, index, log);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(ProveTreeTest, OldSizeRules) {
  MemoryHashLog log = LogOf(Leaves(10));
  auto bad = ProveTree(5, 6, log);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  log.calls = 0;
  for (auto [size, old] : {std::pair<uint64_t, uint64_t>{0, 0}, {7, 0}, {7, 7}}) {
    auto p = ProveTree(size, old, log);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->empty());
  }
  EXPECT_EQ(log.calls, 0);
}

TEST(MerkleLimitsTest, SizesAboveMaximumAreInvalidArgument) {
  MemoryHashLog log = LogOf(Leaves(4));
  auto code = [](const Status& s) { return s.code(); };
  EXPECT_EQ(code(TreeHash(kMaxTreeSize + 1, log).status()), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(TreeHash(UINT64_MAX, log).status()), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(ProveRecord(UINT64_MAX, 0, log).status()), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(ProveTree(UINT64_MAX, 1, log).status()), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(StoredHashesForRecordHash(kMaxTreeSize, Hash{}, log).status()),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(code(TreeBuilder::FromFrontier(UINT64_MAX, Leaves(64)).status()),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(code(TreeBuilder::Restore(UINT64_MAX, log).status()), Status::Code::kInvalidArgument);
  // The largest supported tree still has well-defined stored indexes.
  uint64_t last = StoredHashCount(kMaxTreeSize) - 1;
  EXPECT_EQ(SplitStoredHashIndex(last), (StoredNode{62, 0}));
  EXPECT_EQ(StoredHashIndex(62, 0), last);
  EXPECT_EQ(TreeHashIndexes(kMaxTreeSize), std::vector<uint64_t>{last});
  // A reader error, not an abort, for a size the log does not have.
  EXPECT_EQ(code(TreeHash(kMaxTreeSize, log).status()), Status::Code::kNotFound);
}

TEST(TreeBuilderTest, EmitsExactlyTheStoredHashes) {
  std::vector<Hash> leaves = Leaves(600);
  MemoryHashLog log;
  TreeBuilder b;
  for (const Hash& h : leaves) {
    std::vector<Hash> emitted;
    b.Append(h, &emitted);
    uint64_t n = log.size;
    log.Append(h);
    ASSERT_EQ(emitted, std::vector<Hash>(log.hashes.begin() + static_cast<ptrdiff_t>(StoredHashIndex(0, n)),
                                         log.hashes.end()));
    ASSERT_EQ(b.frontier().size(), static_cast<size_t>(std::popcount(b.size())));
  }
  EXPECT_EQ(b.size(), 600u);
  EXPECT_EQ(b.Root(), RefMth(leaves));
}

TEST(TreeBuilderTest, RestoreContinuesTheSameTree) {
  std::vector<Hash> leaves = Leaves(1000);
  MemoryHashLog log = LogOf(std::span(leaves).first(777));
  log.calls = 0;
  auto restored = TreeBuilder::Restore(777, log);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(log.calls, 1);
  EXPECT_EQ(restored->Root(), RefMth(std::span(leaves).first(777)));
  for (size_t i = 777; i < leaves.size(); ++i) restored->Append(leaves[i]);
  EXPECT_EQ(restored->Root(), RefMth(leaves));
  auto copy = TreeBuilder::FromFrontier(restored->size(), restored->frontier());
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->Root(), restored->Root());
}

TEST(TreeBuilderTest, FromFrontierRejectsWrongCount) {
  std::vector<Hash> three = Leaves(3);
  EXPECT_FALSE(TreeBuilder::FromFrontier(8, three).ok());   // popcount 1
  EXPECT_FALSE(TreeBuilder::FromFrontier(7, {}).ok());      // popcount 3
  EXPECT_TRUE(TreeBuilder::FromFrontier(7, three).ok());
  auto empty = TreeBuilder::FromFrontier(0, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Root(), EmptyRoot());
}

// Property test: a 100k-leaf tree; sampled proofs verify and mutations fail.
TEST(MerklePropertyTest, SampledProofsOnLargeTreeVerify) {
  constexpr uint64_t kLeaves = 100000;
  std::vector<Hash> leaves = Leaves(kLeaves, 42);
  MemoryHashLog log;
  TreeBuilder b;
  std::vector<Hash> roots = {EmptyRoot()};
  roots.reserve(kLeaves + 1);
  for (const Hash& h : leaves) {
    log.Append(h);
    b.Append(h);
    roots.push_back(b.Root());
  }
  EXPECT_EQ(roots[kLeaves], RootOfRange(leaves));
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    uint64_t size = 1 + rng() % kLeaves;
    uint64_t index = rng() % size;
    auto path = ProveRecord(size, index, log);
    ASSERT_TRUE(path.ok());
    InclusionProof p{index, size, *path};
    ASSERT_TRUE(VerifyInclusion(p, leaves[index], roots[size]).ok()) << index << " " << size;
    if (size > 1) {
      InclusionProof wrong_index = p;
      wrong_index.index = (index + 1) % size;
      EXPECT_FALSE(VerifyInclusion(wrong_index, leaves[index], roots[size]).ok());
    }
    if (size < kLeaves) {
      // The tree size is bound through the root: a proof for `size` must not
      // verify against the checkpoint of another size.
      InclusionProof wrong_size = p;
      wrong_size.tree_size = size + 1;
      EXPECT_FALSE(VerifyInclusion(wrong_size, leaves[index], roots[size + 1]).ok());
    }
    if (!p.path.empty()) {
      InclusionProof flipped = p;
      flipped.path[rng() % p.path.size()][rng() % 32] ^= 0x01;
      EXPECT_FALSE(VerifyInclusion(flipped, leaves[index], roots[size]).ok());
      InclusionProof truncated = p;
      truncated.path.pop_back();
      EXPECT_FALSE(VerifyInclusion(truncated, leaves[index], roots[size]).ok());
    }
    InclusionProof extended = p;
    extended.path.push_back(leaves[0]);
    EXPECT_FALSE(VerifyInclusion(extended, leaves[index], roots[size]).ok());

    uint64_t old_size = rng() % (size + 1);
    auto cpath = ProveTree(size, old_size, log);
    ASSERT_TRUE(cpath.ok());
    ConsistencyProof c{old_size, size, *cpath};
    ASSERT_TRUE(VerifyConsistency(c, roots[old_size], roots[size]).ok()) << old_size << " " << size;
    if (!c.path.empty()) {
      ConsistencyProof flipped = c;
      flipped.path[rng() % c.path.size()][rng() % 32] ^= 0x80;
      EXPECT_FALSE(VerifyConsistency(flipped, roots[old_size], roots[size]).ok());
      ConsistencyProof truncated = c;
      truncated.path.pop_back();
      EXPECT_FALSE(VerifyConsistency(truncated, roots[old_size], roots[size]).ok());
      ConsistencyProof extended_c = c;
      extended_c.path.push_back(leaves[1]);
      EXPECT_FALSE(VerifyConsistency(extended_c, roots[old_size], roots[size]).ok());
      ConsistencyProof other_old = c;
      other_old.old_size = old_size - 1;
      EXPECT_FALSE(VerifyConsistency(other_old, roots[old_size - 1], roots[size]).ok());
    }
    if (old_size < size) {
      EXPECT_FALSE(VerifyConsistency(c, roots[old_size], roots[size - 1]).ok());
    }
  }
}

}  // namespace
}  // namespace kt::core
