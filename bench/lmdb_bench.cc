// SPDX-License-Identifier: Apache-2.0
// Durable LMDB write throughput through store/lmdb.h: the ceilings the log's
// sequencer (one durable write txn per batch) is compared against. Each LMDB
// figure is reported beside its physical bound measured in the same binary:
// writing the same bytes to a plain file and fdatasync-ing it (an LMDB commit
// fsyncs twice: the data pages, then the meta page).
//
// Files go to $KT_BENCH_DIR, else $TMPDIR or /tmp; it must be a real disk
// (tmpfs makes fsync free and the figures meaningless).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/lmdb.h"

namespace {

using kt::core::AsBytes;
using kt::core::Status;
using kt::store::Dbi;
using kt::store::Env;
using kt::store::PutMode;
using kt::store::Txn;
using kt::store::U64Key;

constexpr size_t kRecordBytes = 232;  // a log entry record as the sequencer stores it

std::filesystem::path BenchDir() {
  const char* base = std::getenv("KT_BENCH_DIR");
  if (base == nullptr) base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/kt-lmdb-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  return buf.data();
}

// ScopedEnv is a fresh durable LMDB environment, deleted afterwards.
struct ScopedEnv {
  ScopedEnv() : dir(BenchDir()) {
    auto e = Env::Open(dir);
    if (!e.ok()) std::abort();
    env = std::move(e).value();
    auto d = env->OpenDb("entries");
    if (!d.ok()) std::abort();
    dbi = *d;
  }
  ~ScopedEnv() {
    env.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<Env> env;
  Dbi dbi;
};

// Writes `batch` records with increasing keys in one durable commit per
// iteration.
void RunBatches(benchmark::State& state, size_t batch) {
  ScopedEnv s;
  std::string record(kRecordBytes, 'r');
  uint64_t next = 0;
  for (auto _ : state) {
    Status st = s.env->Update([&](Txn& t) -> Status {
      for (size_t i = 0; i < batch; ++i) {
        auto key = U64Key(next++);
        KT_RETURN_IF_ERROR(t.Put(s.dbi, kt::store::AsSpan(key), AsBytes(record), PutMode::kAppend));
      }
      return Status();
    });
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_LmdbBatchedDurableWrite(benchmark::State& state) {
  RunBatches(state, static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_LmdbBatchedDurableWrite)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_LmdbSingleDurableCommit(benchmark::State& state) { RunBatches(state, 1); }
BENCHMARK(BM_LmdbSingleDurableCommit)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Bound: append the same bytes to a plain file and fdatasync once per
// iteration (one sync; LMDB needs two per commit).
void BM_FileAppendFdatasync(benchmark::State& state) {
  std::filesystem::path dir = BenchDir();
  std::string path = (dir / "append").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  size_t records = static_cast<size_t>(state.range(0));
  std::string data(kRecordBytes * records, 'r');
  for (auto _ : state) {
    if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
  }
  ::close(fd);
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records));
  state.counters["syncs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FileAppendFdatasync)->Arg(1)->Arg(1000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Context: the same batches without fsync (MDB_NOSYNC), i.e. LMDB's CPU cost.
void BM_LmdbBatchedNoSyncWrite(benchmark::State& state) {
  std::filesystem::path dir = BenchDir();
  kt::store::EnvOptions opt;
  opt.no_sync = true;
  {
    auto e = Env::Open(dir, opt);
    if (!e.ok()) std::abort();
    auto dbi = (*e)->OpenDb("entries");
    if (!dbi.ok()) std::abort();
    std::string record(kRecordBytes, 'r');
    uint64_t next = 0;
    size_t batch = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
      Status st = (*e)->Update([&](Txn& t) -> Status {
        for (size_t i = 0; i < batch; ++i) {
          auto key = U64Key(next++);
          KT_RETURN_IF_ERROR(t.Put(*dbi, kt::store::AsSpan(key), AsBytes(record), PutMode::kAppend));
        }
        return Status();
      });
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        break;
      }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LmdbBatchedNoSyncWrite)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
