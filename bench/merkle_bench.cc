// SPDX-License-Identifier: Apache-2.0
// Benchmarks for core/merkle.h and core/proof.h. Each hashing benchmark also
// measures its physical bound in the same process: OpenSSL's low-level
// SHA256_Init/Update/Final over the same bytes, as many digests as the
// operation must compute at minimum. Counters: `bound_ns` (bound per op),
// `ours_ns` (ours per op, timed interleaved with the bound) and `ratio` =
// bound_ns / ours_ns (1.0 = as fast as the bare digest).
//
// Run: ./build/bench/merkle_bench
#define OPENSSL_SUPPRESS_DEPRECATED
#include <benchmark/benchmark.h>
#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <ctime>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "core/merkle.h"
#include "core/proof.h"

namespace kt::core {
namespace {

// ThreadCpuNs is this thread's CPU time: the machine is shared (2 cores), so
// wall time would mostly measure other processes.
double ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::vector<Hash> RandomHashes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Hash> out(n);
  for (Hash& h : out) {
    for (size_t i = 0; i < h.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(h.data() + i, &v, 8);
    }
  }
  return out;
}

// BareLeaf / BareNode are the physical bound: one low-level SHA-256 over
// exactly the bytes RFC 6962 hashes (0x00 || entry, 0x01 || l || r).
Hash BareLeaf(const uint8_t* entry, size_t len) {
  static const uint8_t kZero = 0x00;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &kZero, 1);
  SHA256_Update(&ctx, entry, len);
  Hash out;
  SHA256_Final(out.data(), &ctx);
  return out;
}
Hash BareNode(const Hash& l, const Hash& r) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, l.data(), 32);
  std::memcpy(buf + 33, r.data(), 32);
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, buf, sizeof(buf));
  Hash out;
  SHA256_Final(out.data(), &ctx);
  return out;
}

// Compare times `ours` and `bound` (each one op) interleaved, `reps` ops per
// round, and records the best per-op time of each as counters.
void Compare(benchmark::State& state, size_t reps, const std::function<void()>& ours,
             const std::function<void()>& bound) {
  double best_ours = 1e30, best_bound = 1e30;
  for (int round = 0; round < 7; ++round) {
    double t0 = ThreadCpuNs();
    for (size_t i = 0; i < reps; ++i) ours();
    double t1 = ThreadCpuNs();
    for (size_t i = 0; i < reps; ++i) bound();
    double t2 = ThreadCpuNs();
    best_ours = std::min(best_ours, (t1 - t0) / static_cast<double>(reps));
    best_bound = std::min(best_bound, (t2 - t1) / static_cast<double>(reps));
  }
  state.counters["ours_ns"] = best_ours;
  state.counters["bound_ns"] = best_bound;
  state.counters["ratio"] = best_bound / best_ours;
}

void BM_RecordHash(benchmark::State& state) {
  std::vector<uint8_t> entry(200);
  for (size_t i = 0; i < entry.size(); ++i) entry[i] = static_cast<uint8_t>(i * 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(RecordHash(entry));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (entry.size() + 1)));
  Compare(state, 20000, [&] { benchmark::DoNotOptimize(RecordHash(entry)); },
          [&] { benchmark::DoNotOptimize(BareLeaf(entry.data(), entry.size())); });
}
BENCHMARK(BM_RecordHash);

void BM_NodeHash(benchmark::State& state) {
  std::vector<Hash> h = RandomHashes(2, 1);
  for (auto _ : state) {
    h[0] = NodeHash(h[0], h[1]);  // dependent chain: no overlap between calls
  }
  benchmark::DoNotOptimize(h[0]);
  Compare(state, 50000, [&] { h[0] = NodeHash(h[0], h[1]); },
          [&] { h[0] = BareNode(h[0], h[1]); });
}
BENCHMARK(BM_NodeHash);

// BM_TreeRoot/N: TreeBuilder over N leaf hashes, then Root(). The bound is
// the N-1 node hashes any RFC 6962 root computation needs.
void BM_TreeRoot(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<Hash> leaves = RandomHashes(n, 2);
  Hash root{};
  for (auto _ : state) {
    TreeBuilder b;
    for (const Hash& h : leaves) b.Append(h);
    root = b.Root();
    benchmark::DoNotOptimize(root);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  // Bound: n-1 bare node hashes over the same data, one tree per op.
  Compare(
      state, 1,
      [&] {
        TreeBuilder b;
        for (const Hash& h : leaves) b.Append(h);
        benchmark::DoNotOptimize(b.Root());
      },
      [&] {
        Hash acc = leaves[0];
        for (size_t i = 1; i < n; ++i) acc = BareNode(acc, leaves[i]);
        benchmark::DoNotOptimize(acc);
      });
  state.counters["leaves_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TreeRoot)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

// BM_VerifyInclusion/size: a synthetic audit path for index size/3 (no
// storage needed, so sizes up to 2^40 work). Bound: path-length node hashes.
void BM_VerifyInclusion(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  InclusionProof p{size / 3, size, {}};
  p.path = RandomHashes(InclusionPathLength(p.index, size), 3);
  const Hash leaf = RandomHashes(1, 4)[0];
  StatusOr<Hash> root = RootFromInclusionProof(p, leaf);
  KT_CHECK(root.ok());
  for (auto _ : state) {
    Status s = VerifyInclusion(p, leaf, *root);
    KT_CHECK(s.ok());
  }
  state.counters["path"] = static_cast<double>(p.path.size());
  Compare(
      state, 2000, [&] { KT_CHECK(VerifyInclusion(p, leaf, *root).ok()); },
      [&] {
        Hash r = leaf;
        for (const Hash& h : p.path) r = BareNode(h, r);
        benchmark::DoNotOptimize(r);
      });
}
BENCHMARK(BM_VerifyInclusion)->Arg(int64_t{1} << 20)->Arg(int64_t{1} << 40);

// ConsistencyHashCount is the number of node hashes RFC 9162 §2.1.4.2 does.
size_t ConsistencyHashCount(uint64_t first, uint64_t second, size_t path_len) {
  size_t start = std::has_single_bit(first) ? 0 : 1;
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  size_t count = 0;
  for (size_t i = start; i < path_len; ++i) {
    if ((fn & 1) || fn == sn) {
      count += 2;
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      count += 1;
    }
    fn >>= 1;
    sn >>= 1;
  }
  return count;
}

// BM_VerifyConsistency/size: a real proof from old = size/3 + 7 in a tree of
// `size` random leaves.
void BM_VerifyConsistency(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  const uint64_t old_size = size / 3 + 7;
  std::vector<Hash> leaves = RandomHashes(size, 5);
  // A stored-hash reader over the whole tree, filled by TreeBuilder.
  struct Stored : HashReader {
    std::vector<Hash> hashes;
    Status ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) override {
      out->clear();
      for (uint64_t i : indexes) out->push_back(hashes[i]);
      return Status();
    }
  } stored;
  TreeBuilder b, old_b;
  for (uint64_t i = 0; i < size; ++i) {
    b.Append(leaves[i], &stored.hashes);
    if (i < old_size) old_b.Append(leaves[i]);
  }
  StatusOr<std::vector<Hash>> path = ProveTree(size, old_size, stored);
  KT_CHECK(path.ok());
  ConsistencyProof c{old_size, size, *path};
  const Hash old_root = old_b.Root(), new_root = b.Root();
  for (auto _ : state) {
    Status s = VerifyConsistency(c, old_root, new_root);
    KT_CHECK(s.ok());
  }
  const size_t hashes = ConsistencyHashCount(old_size, size, c.path.size());
  state.counters["path"] = static_cast<double>(c.path.size());
  state.counters["hashes"] = static_cast<double>(hashes);
  Compare(
      state, 2000, [&] { KT_CHECK(VerifyConsistency(c, old_root, new_root).ok()); },
      [&] {
        Hash r = old_root;
        for (size_t i = 0; i < hashes; ++i) r = BareNode(c.path[i % c.path.size()], r);
        benchmark::DoNotOptimize(r);
      });
}
BENCHMARK(BM_VerifyConsistency)->Arg(1 << 20);

}  // namespace
}  // namespace kt::core

BENCHMARK_MAIN();
