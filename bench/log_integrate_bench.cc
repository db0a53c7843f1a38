// SPDX-License-Identifier: Apache-2.0
// In-process integration benchmark of the log (LOG_ISSUE.md "Performance"):
// N entries of 200 bytes through the real Sequencer into LmdbStorage in
// batches of 1,000, one durable commit per batch, tiles (stored hashes)
// persisted. In the same run it measures the bound: the SHA-256 leaf + node
// hashing rate for the same entries, and the LMDB batched durable write rate
// of the same bytes; it prints the figure, the bound and the ratio. With
// --entries=10000000 it also reports disk bytes per entry, process RSS and
// inclusion/consistency proof latency at that size.
//
// Usage: log_integrate_bench [--entries=N] [--batch=1000] [--users=N]
//                            [--dir=PATH] [--keep] [--proofs=N]
//                            [--signed] [--key-out=FILE]
// --signed makes every proof of possession a real Ed25519 signature (keys
// from a pool of 1,024), so that `kt audit --verify-signatures` can audit the
// log; --key-out writes the log's signer key (mode 0600, origin
// "bench.example/log"; its vkey in FILE.vkey) so that `ktlog serve --data DIR/log` can serve it
// (bench/audit_10m.sh does both).
// Google Benchmark micro benchmarks (BM_*) run when --benchmark_filter is given.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/entry.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "log/lmdb_storage.h"
#include "log/memory_storage.h"
#include "log/sequencer.h"
#include "store/file_util.h"
#include "store/lmdb.h"

namespace {

using Clock = std::chrono::steady_clock;
using kt::core::Bytes;
using kt::core::Entry;

constexpr size_t kEntrySize = 200;
// Runs of at most this many entries build them before the timed window
// (~350 bytes each); larger runs build each entry just before its Submit.
constexpr uint64_t kPrebuildMax = 2'000'000;

struct Flags {
  uint64_t entries = 1'000'000;
  uint64_t batch = 1000;
  uint64_t users = 0;  // 0: entries / 4 (each user has ~4 entries)
  std::string dir;
  bool keep = false;
  uint64_t proofs = 10000;
  bool no_sync = false;     // diagnosis only: separates CPU from fsync cost
  bool skip_bound = false;  // diagnosis only: profile the integration alone
  bool presubmit = false;   // diagnosis only: fill the pool, then time the sequencer alone
  bool memory = false;      // diagnosis only: MemoryStorage instead of LMDB
  uint64_t user_flush = 0;  // LmdbStorageOptions::user_flush_entries; 0: the default
  bool sign = false;        // real proofs of possession (for kt audit --verify-signatures)
  std::string key_out;      // write the log's signer key here
};

// DeviceKeys is the pool of device keys of --signed entries.
const std::vector<kt::core::Ed25519Signer>& DeviceKeys() {
  static const auto* keys = [] {
    auto* v = new std::vector<kt::core::Ed25519Signer>();
    for (int k = 0; k < 1024; ++k) v->push_back(kt::core::Ed25519Signer::Generate());
    return v;
  }();
  return *keys;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CpuSeconds is the user + system CPU time so far of the process
// (RUSAGE_SELF) or of the calling thread (RUSAGE_THREAD).
double CpuSeconds(int who = RUSAGE_SELF) {
  rusage ru{};
  getrusage(who, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// MakeEntry builds entry i: a key set of 200 encoded bytes for user
// i % users on one of the user's two devices (so later entries of a user
// are rotations), ids padded so that the encoding is exactly kEntrySize.
Entry MakeEntry(uint64_t i, uint64_t users, bool sign = false) {
  Entry e;
  e.kind = kt::core::EntryKind::kKeySet;
  // "user-%010llu@example.org" (28 bytes) and "device-%llu-" padded with
  // 'x', written without printf (the driver should cost little).
  e.user = "user-0000000000@example.org";
  for (uint64_t u = i % users, k = 14; u != 0 && k >= 5; u /= 10, --k) {
    e.user[k] = static_cast<char>('0' + u % 10);
  }
  e.device.assign(kEntrySize - 119 - e.user.size(), 'x');
  std::memcpy(e.device.data(), (i / users) % 2 == 0 ? "device-0-" : "device-1-", 9);
  if (sign) {
    const kt::core::Ed25519Signer& key = DeviceKeys()[i % DeviceKeys().size()];
    e.identity_key = key.public_key();
    auto sig = key.Sign(kt::core::PopMessage(e.user, e.device, e.identity_key));
    e.possession_sig.assign(sig.begin(), sig.end());
    return e;
  }
  for (int k = 0; k < 32; ++k) e.identity_key[k] = static_cast<uint8_t>(i >> (k % 8));
  e.possession_sig.assign(64, static_cast<uint8_t>(i));
  return e;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.is_regular_file()) total += f.file_size();
  }
  return total;
}

// RssKiB returns a /proc/self/status field in KiB ("VmRSS", "RssAnon":
// heap and stacks, "RssFile": mapped file pages, here the LMDB map).
long RssKiB(const std::string& field = "VmRSS") {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// ThreadCpu returns "name=seconds" for every thread of this process whose
// name starts with "kt-" (the sequencer's threads name themselves).
std::string ThreadCpu() {
  std::string out;
  long ticks = sysconf(_SC_CLK_TCK);
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(t.path() / "comm"), stat(t.path() / "stat");
    std::string name, line;
    std::getline(comm, name);
    std::getline(stat, line);
    if (name.rfind("kt-", 0) != 0) continue;
    // Fields after the ")" that ends the name: state is field 3, utime 14, stime 15.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    double cpu = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i >= 14) cpu += std::stod(field) / static_cast<double>(ticks);
    }
    out += " " + name + "=" + std::to_string(cpu).substr(0, 5) + "s";
  }
  return out;
}

// --- the figure: integration through the Sequencer ---

struct IntegrateResult {
  double seconds = 0;
  double cpu_seconds = 0;  // all threads (submitter, sequencer, commit)
  double submitter_cpu_seconds = 0;  // the submitting (driver) thread alone
  std::string threads;               // CPU of the sequencer's own threads
  uint64_t failures = 0;
  uint64_t batches = 0;
  std::vector<double> batch_ms;  // sequencer thread time per batch (from the hook)
  bool prebuilt = false;         // the entries were built before the timed window
};

IntegrateResult RunIntegration(kt::log::LogStorage& storage, const Flags& f) {
  auto key = kt::core::GenerateSignerKey("bench.example/log", 0x01);
  KT_CHECK(key.ok());
  if (!f.key_out.empty()) {
    KT_CHECK(kt::store::WriteSecretFile(f.key_out, kt::core::FormatSignerKey(*key) + "\n", true).ok());
    KT_CHECK(kt::store::WriteFileAtomic(f.key_out + ".vkey", key->VerifierKeyString() + "\n", 0644).ok());
    std::printf("log key written to %s (vkey in %s.vkey)\n", f.key_out.c_str(), f.key_out.c_str());
  }
  kt::log::SequencerOptions opts;
  opts.batch_max = f.batch;
  opts.batch_interval = std::chrono::milliseconds(100);
  opts.max_pool = f.presubmit ? f.entries : 4 * f.batch;  // bounded: the submitter waits
  auto seq = kt::log::Sequencer::Create(storage, kt::log::MakeCheckpointSigner(*key), opts);
  KT_CHECK(seq.ok());
  IntegrateResult r;
  auto last = Clock::now();
  (*seq)->SetOnIntegrated([&](const std::string&, uint64_t) {
    auto now = Clock::now();
    r.batch_ms.push_back(std::chrono::duration<double, std::milli>(now - last).count());
    last = now;
    ++r.batches;
  });
  // Completion: the callback captures one pointer (fits std::function's
  // inline storage: no allocation per submission) and wakes the driver once
  // per batch, not per entry.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<uint64_t> done{0};
    std::atomic<uint64_t> failures{0};
    uint64_t batch = 0, entries = 0;
  } w;
  w.batch = f.batch;
  w.entries = f.entries;
  Waiter* wp = &w;
  auto on_done = [wp](kt::core::StatusOr<kt::log::SequencedEntry> s) {
    if (!s.ok()) wp->failures.fetch_add(1, std::memory_order_relaxed);
    uint64_t d = wp->done.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (d % wp->batch == 0 || d == wp->entries) {
      std::lock_guard lock(wp->mu);
      wp->cv.notify_all();
    }
  };
  uint64_t users = f.users != 0 ? f.users : std::max<uint64_t>(1, f.entries / 4);
  if (f.presubmit) {
    for (uint64_t i = 0; i < f.entries; ++i) {
      kt::log::Submission s;
      s.entry = MakeEntry(i, users, f.sign);
      (*seq)->Submit(std::move(s), on_done);
    }
  }
  // Up to kPrebuildMax entries are built (MakeEntry: the core::Entry
  // structs) before the timed window; Submit (encoding, validation, dedup,
  // pool admission) and all of the sequencing stay inside it.
  std::vector<Entry> prebuilt;
  r.prebuilt = !f.presubmit && f.entries <= kPrebuildMax;
  if (r.prebuilt) {
    prebuilt.reserve(f.entries);
    for (uint64_t i = 0; i < f.entries; ++i) prebuilt.push_back(MakeEntry(i, users, f.sign));
  }
  auto start = Clock::now();
  double cpu_start = CpuSeconds();
  double thread_cpu_start = CpuSeconds(RUSAGE_THREAD);
  last = start;
  (*seq)->Start();
  for (uint64_t i = f.presubmit ? f.entries : 0; i < f.entries; ++i) {
    // Backpressure: keep at most max_pool in flight (the pool would answer
    // Unavailable otherwise, as it does for HTTP clients).
    if (i >= w.done.load(std::memory_order_acquire) + opts.max_pool) {
      std::unique_lock lock(w.mu);
      w.cv.wait(lock, [&] { return i < w.done.load(std::memory_order_acquire) + opts.max_pool; });
    }
    kt::log::Submission s;
    s.entry = r.prebuilt ? std::move(prebuilt[i]) : MakeEntry(i, users, f.sign);
    (*seq)->Submit(std::move(s), on_done);
  }
  {
    std::unique_lock lock(w.mu);
    w.cv.wait(lock, [&] { return w.done.load(std::memory_order_acquire) == f.entries; });
  }
  r.seconds = Seconds(Clock::now() - start);
  r.cpu_seconds = CpuSeconds() - cpu_start;
  r.submitter_cpu_seconds = CpuSeconds(RUSAGE_THREAD) - thread_cpu_start;
  r.threads = ThreadCpu();
  r.failures = w.failures.load();
  (*seq)->Stop();
  return r;
}

// --- the bound, part 1: hashing the same entries ---

double HashRate(const Flags& f, uint64_t users) {
  uint64_t n = std::min<uint64_t>(f.entries, 1'000'000);
  std::vector<Bytes> encoded;
  encoded.reserve(n);
  for (uint64_t i = 0; i < n; ++i) encoded.push_back(*kt::core::EncodeEntry(MakeEntry(i, users)));
  kt::core::TreeBuilder tree;
  std::vector<kt::core::Hash> stored;
  stored.reserve(2 * f.batch + 64);
  auto start = Clock::now();
  for (const Bytes& e : encoded) {
    tree.Append(kt::core::RecordHash(e), &stored);
    if (stored.size() > 2 * f.batch) stored.clear();
  }
  benchmark::DoNotOptimize(tree.Root());
  return static_cast<double>(n) / Seconds(Clock::now() - start);
}

// --- the bound, part 2: LMDB batched durable writes of the same bytes ---

double LmdbRate(const Flags& f, const std::string& dir, uint64_t users) {
  uint64_t n = std::min<uint64_t>(f.entries, 1'000'000);
  std::vector<Bytes> encoded;
  encoded.reserve(n);
  for (uint64_t i = 0; i < n; ++i) encoded.push_back(*kt::core::EncodeEntry(MakeEntry(i, users)));
  kt::store::EnvOptions eo;
  eo.no_sync = f.no_sync;
  eo.map_size = (uint64_t{1} << 30) + n * 1024;
  auto env = kt::store::Env::Open(dir, eo);
  KT_CHECK(env.ok());
  auto dbi = (*env)->OpenDb("records");
  KT_CHECK(dbi.ok());
  auto start = Clock::now();
  for (uint64_t first = 0; first < n; first += f.batch) {
    kt::core::Status s = (*env)->Update([&](kt::store::Txn& txn) -> kt::core::Status {
      for (uint64_t i = first; i < std::min(n, first + f.batch); ++i) {
        KT_RETURN_IF_ERROR(txn.Put(*dbi, kt::store::AsSpan(kt::store::U64Key(i)), encoded[i],
                                   kt::store::PutMode::kAppend));
      }
      return kt::core::Status();
    });
    KT_CHECK(s.ok());
  }
  return static_cast<double>(n) / Seconds(Clock::now() - start);
}

// --- proof latency at the final size ---

void ProofLatency(kt::log::LmdbStorage& storage, uint64_t size, uint64_t count) {
  if (count == 0) return;
  std::mt19937_64 rng(42);
  std::vector<double> incl, cons;
  for (uint64_t k = 0; k < count; ++k) {
    uint64_t index = rng() % size;
    auto t0 = Clock::now();
    auto p = kt::core::ProveRecord(size, index, storage);
    auto t1 = Clock::now();
    KT_CHECK(p.ok());
    auto c = kt::core::ProveTree(size, 1 + index, storage);
    auto t2 = Clock::now();
    KT_CHECK(c.ok());
    incl.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    cons.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  auto report = [](const char* what, std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    std::printf("%s latency at this size: p50 %.1f us, p99 %.1f us (%zu proofs from LMDB)\n",
                what, v[v.size() / 2], v[v.size() * 99 / 100], v.size());
  };
  report("inclusion proof", incl);
  report("consistency proof", cons);
}

// --- micro benchmarks ---

void BM_RecordHash200(benchmark::State& state) {
  Bytes e = *kt::core::EncodeEntry(MakeEntry(1, 1));
  for (auto _ : state) benchmark::DoNotOptimize(kt::core::RecordHash(e));
}
BENCHMARK(BM_RecordHash200);

void BM_EncodeEntry200(benchmark::State& state) {
  Entry e = MakeEntry(1, 1);
  for (auto _ : state) benchmark::DoNotOptimize(kt::core::EncodeEntry(e));
}
BENCHMARK(BM_EncodeEntry200);

bool ParseFlag(const char* arg, const char* name, std::string* out) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *out = arg + n + 1;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  bool micro = false;
  std::string v;
  for (int i = 1; i < argc; ++i) {
    if (ParseFlag(argv[i], "--entries", &v)) f.entries = std::stoull(v);
    else if (ParseFlag(argv[i], "--batch", &v)) f.batch = std::stoull(v);
    else if (ParseFlag(argv[i], "--users", &v)) f.users = std::stoull(v);
    else if (ParseFlag(argv[i], "--dir", &v)) f.dir = v;
    else if (ParseFlag(argv[i], "--proofs", &v)) f.proofs = std::stoull(v);
    else if (ParseFlag(argv[i], "--user-flush", &v)) f.user_flush = std::stoull(v);
    else if (ParseFlag(argv[i], "--key-out", &v)) f.key_out = v;
    else if (std::strcmp(argv[i], "--keep") == 0) f.keep = true;
    else if (std::strcmp(argv[i], "--signed") == 0) f.sign = true;
    else if (std::strcmp(argv[i], "--no-sync") == 0) f.no_sync = true;
    else if (std::strcmp(argv[i], "--skip-bound") == 0) f.skip_bound = true;
    else if (std::strcmp(argv[i], "--presubmit") == 0) f.presubmit = true;
    else if (std::strcmp(argv[i], "--memory") == 0) f.memory = true;
    else if (std::strncmp(argv[i], "--benchmark", 11) == 0) micro = true;
  }
  if (micro) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    return 0;
  }
  std::string root = f.dir.empty() ? (std::filesystem::temp_directory_path() /
                                      ("kt-log-bench-" + std::to_string(getpid())))
                                         .string()
                                   : f.dir;
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  uint64_t users = f.users != 0 ? f.users : std::max<uint64_t>(1, f.entries / 4);
  std::printf("log_integrate_bench: %llu entries of %zu bytes, batches of %llu, %llu users, dir %s\n",
              static_cast<unsigned long long>(f.entries), kEntrySize,
              static_cast<unsigned long long>(f.batch), static_cast<unsigned long long>(users),
              root.c_str());

  double hash_rate = f.skip_bound ? 1 : HashRate(f, users);
  double lmdb_rate = f.skip_bound ? 1 : LmdbRate(f, root + "/bound", users);
  std::filesystem::remove_all(root + "/bound");
  double bound = 1.0 / (1.0 / hash_rate + 1.0 / lmdb_rate);

  // The bound's buffers are gone; give their pages back so that the RSS
  // printed below is the integration's.
  malloc_trim(0);
  kt::log::LmdbStorageOptions so;
  so.env.no_sync = f.no_sync;
  if (f.user_flush != 0) so.user_flush_entries = f.user_flush;
  // Room for the run (~400 bytes per entry on disk) without reserving the
  // default 64 GiB of address space (which valgrind cannot map).
  so.env.map_size = (uint64_t{1} << 30) + f.entries * 2048;
  if (f.memory) {
    kt::log::MemoryStorage memory;
    IntegrateResult r = RunIntegration(memory, f);
    std::printf("memory storage: %.0f entries/s, CPU %.2f us/entry\n",
                static_cast<double>(f.entries) / r.seconds,
                1e6 * r.cpu_seconds / static_cast<double>(f.entries));
    return 0;
  }
  auto storage = kt::log::LmdbStorage::Open(root + "/log", so);
  KT_CHECK(storage.ok());
  IntegrateResult r = RunIntegration(**storage, f);
  malloc_trim(0);  // the driver's prebuilt entries are gone: RSS below is the log's
  double rate = static_cast<double>(f.entries) / r.seconds;
  std::sort(r.batch_ms.begin(), r.batch_ms.end());
  uint64_t disk = DirBytes(root + "/log");

  if (!f.skip_bound) {
    std::printf("bound: SHA-256 leaf+node hashing %.0f entries/s; LMDB batched durable writes "
                "%.0f entries/s; combined %.0f entries/s\n", hash_rate, lmdb_rate, bound);
  }
  std::printf("integration: %.0f entries/s (%.2f s, %llu batches, batch p50 %.2f ms, "
              "p99 %.2f ms, %llu failures)\n",
              rate, r.seconds, static_cast<unsigned long long>(r.batches),
              r.batch_ms.empty() ? 0 : r.batch_ms[r.batch_ms.size() / 2],
              r.batch_ms.empty() ? 0 : r.batch_ms[r.batch_ms.size() * 99 / 100],
              static_cast<unsigned long long>(r.failures));
  std::printf("timed window: Submit (encode, UTF-8 and format checks, dedup, pool admission), "
              "sequencing, hashing, signing, durable commits, answers; the core::Entry structs "
              "were built %s\n", r.prebuilt ? "before it" : "inside it (run above the prebuild cap)");
  {
    std::ifstream load("/proc/loadavg");
    std::string avg;
    std::getline(load, avg);
    std::printf("load average at the end: %s\n", avg.c_str());
  }
  double n = static_cast<double>(f.entries);
  std::printf("integration CPU: %.2f us/entry (all threads; the submitting driver thread "
              "%.2f, the sequencer and commit threads %.2f)\n",
              1e6 * r.cpu_seconds / n, 1e6 * r.submitter_cpu_seconds / n,
              1e6 * (r.cpu_seconds - r.submitter_cpu_seconds) / n);
  std::printf("thread CPU:%s\n", r.threads.c_str());
  if (f.skip_bound) {
    std::printf("ratio: bound skipped (--skip-bound)\n");
  } else {
    std::printf("ratio: %.1f%% of the bound (target >= 35%%, >= 375000 entries/s)\n",
                100.0 * rate / bound);
  }
  std::printf("disk: %.1f bytes/entry (budget 2 x (entry + 32) = %zu)\n",
              static_cast<double>(disk) / static_cast<double>(f.entries), 2 * (kEntrySize + 32));
  std::printf("RSS: %ld KiB (anonymous %ld KiB; mapped LMDB file pages %ld KiB, clean page "
              "cache the kernel may drop)\n",
              RssKiB(), RssKiB("RssAnon"), RssKiB("RssFile"));
  auto st = (*storage)->ReadTreeState();
  KT_CHECK(st.ok() && st->size == f.entries);
  ProofLatency(**storage, st->size, f.proofs);
  if (!f.keep) std::filesystem::remove_all(root);
  return r.failures == 0 ? 0 : 1;
}
