// SPDX-License-Identifier: Apache-2.0
// log_http_load: end-to-end load driver for ktlog over loopback HTTP
// (LOG_ISSUE "Performance"). It starts a real `ktlog serve` (no witness
// policy, rate limit off), then:
//   1. bound: Ed25519 verifications/s on every core, in this process;
//   2. writes: S concurrent submitters (keep-alive) POST /v1/bindings with a
//      fresh user each (PoP verified by the log for every entry); reports
//      entries/s beside 45% of the verify bound, and the time-to-integrate
//      p50/p99 (request sent -> answer) beside 2x the batch interval;
//   3. reads, closed loop: C keep-alive connections issue inclusion-proof
//      requests, then tile reads, for a fixed time each; requests/s and p99;
//   4. reads, open loop (--rate R > 0): the same requests offered at a fixed
//      total rate for --seconds; latency is measured from each request's
//      scheduled send time, so a stall counts for every request it delays
//      (no coordinated omission).
// The driver shares the machine's cores with the node, so it is kept cheap:
// every request (PoPs signed, JSON built, HTTP bytes laid out) is built
// before its phase starts and sent on a plain keep-alive socket; the driver's
// and the node's CPU shares are printed for every phase.
// Usage: log_http_load [--submitters 64] [--per-submitter 300]
//   [--batch-interval 25] [--batch-max 64] [--connections 8] [--read-seconds 5]
//   [--rate 20000] [--seconds 10]
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/tile.h"
#include "store/file_util.h"
#include "tests/testing/process.h"
#include "tests/testing/raw_http.h"

namespace {

using Clock = std::chrono::steady_clock;
using kt::core::Base64Encode;

constexpr char kToken[] = "load-operator-token-0123456789abcdef";

struct Options {
  int submitters = 64;
  int per_submitter = 300;
  // With S submitters each waiting for its entry to be integrated, the rate
  // is at most S / (time to integrate), and on this disk the durable commit
  // (one fsync per batch, ~5-10 ms, tails of 30+ ms under load) sets the time
  // to integrate. Batches of S/2 (two in flight) pay one fsync per S/2
  // entries: ~32 / 8 ms = 4,000/s; one batch of all S submitters pays one per
  // S entries. So the default is batch_max = S, with a 25 ms interval (the
  // timer only cuts a batch when fewer than S are pending); p99 <= 2 x the
  // interval = 50 ms then holds with the fsync tails seen here.
  int batch_interval_ms = 25;
  int batch_max = 0;  // 0: the number of submitters
  int connections = 8;
  int read_seconds = 5;
  double rate = 20000;  // open-loop reads: offered requests/s in total; 0 = skip
  int seconds = 10;     // open-loop duration per request kind
};

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (f == "--submitters") o.submitters = v;
    else if (f == "--per-submitter") o.per_submitter = v;
    else if (f == "--batch-interval") o.batch_interval_ms = v;
    else if (f == "--connections") o.connections = v;
    else if (f == "--batch-max") o.batch_max = v;
    else if (f == "--read-seconds") o.read_seconds = v;
    else if (f == "--rate") o.rate = std::atof(argv[i + 1]);
    else if (f == "--seconds") o.seconds = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      std::exit(2);
    }
  }
  return o;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

double CpuSecondsOf(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  // After "pid (comm) ": state is field 3; utime and stime are 14 and 15.
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < line.size() && fields.size() < 13) {
    size_t end = line.find(' ', pos);
    fields.push_back(line.substr(pos, end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (fields.size() < 13) return 0;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

// VerifyBoundResult: Ed25519 verifications/s over all cores (the write bound)
// and the CPU time one verification took (thread CPU time / count), which
// does not depend on what else runs on the machine.
struct VerifyBoundResult {
  double per_second = 0;
  double cpu_us_per_verify = 0;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

VerifyBoundResult VerifyBound(double seconds) {
  unsigned n = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<uint64_t> total{0};
  std::mutex mu;
  double cpu = 0;
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < n; t++) {
    ts.emplace_back([&] {
      auto k = kt::core::Ed25519Signer::Generate();
      auto v = kt::core::Ed25519Verifier::Create(k.public_key());
      std::string msg(100, 'm');
      auto sig = k.Sign(kt::core::AsBytes(msg));
      uint64_t count = 0;
      double cpu0 = ThreadCpuSeconds();
      auto end = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < end) {
        for (int i = 0; i < 64; i++) count += v->Verify(kt::core::AsBytes(msg), sig) ? 1 : 0;
      }
      double used = ThreadCpuSeconds() - cpu0;
      total += count;
      std::lock_guard<std::mutex> lk(mu);
      cpu += used;
    });
  }
  for (auto& t : ts) t.join();
  VerifyBoundResult r;
  r.per_second = static_cast<double>(total) / seconds;
  r.cpu_us_per_verify = total > 0 ? 1e6 * cpu / static_cast<double>(total) : 0;
  return r;
}

// Phase describes one measured phase: `requests[w]` are worker w's
// pre-built requests, sent in turn (cycling) on its own connection.
struct Phase {
  std::vector<std::vector<std::string>> requests;
  uint64_t per_worker = UINT64_MAX;  // stop after this many per worker
  double seconds = 0;                // or after this long (0: no limit)
  double rate = 0;  // total offered requests/s, open loop; 0: closed loop
};

struct PhaseResult {
  uint64_t ok = 0, failed = 0;
  double seconds = 0;
  double driver_cpu = 0;  // driver process CPU seconds during the phase
  double node_cpu = 0;    // ktlog CPU seconds during the phase
  std::vector<double> latencies_ms;
  double Rate() const { return static_cast<double>(ok) / seconds; }
};

// RunPhase runs one worker thread per request list. Closed loop: each
// worker sends its next request when the previous answer arrived; latency
// is send -> answer. Open loop: worker w's i-th request is scheduled at
// start + (i + w / W) * W / rate and latency runs from that scheduled time,
// so a slow answer also counts against the requests it holds up.
PhaseResult RunPhase(int port, pid_t node, const Phase& phase) {
  const size_t workers = phase.requests.size();
  PhaseResult r;
  std::mutex mu;
  std::vector<std::thread> ts;
  std::string node_stat = "/proc/" + std::to_string(node) + "/stat";
  double node_cpu0 = CpuSecondsOf(node_stat), driver_cpu0 = CpuSecondsOf("/proc/self/stat");
  auto t0 = Clock::now();
  auto end = phase.seconds > 0 ? t0 + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(phase.seconds))
                               : Clock::time_point::max();
  for (size_t w = 0; w < workers; w++) {
    ts.emplace_back([&, w] {
      kt::testing::RawConn conn(port);
      int status = 0;
      std::string_view body;
      std::string err;
      const std::vector<std::string>& list = phase.requests[w];
      std::vector<double> lat;
      lat.reserve(phase.per_worker != UINT64_MAX ? phase.per_worker : 1 << 20);
      uint64_t ok = 0, failed = 0;
      const double interval = phase.rate > 0 ? static_cast<double>(workers) / phase.rate : 0;
      for (uint64_t i = 0; i < phase.per_worker && !list.empty(); i++) {
        Clock::time_point start;
        if (phase.rate > 0) {
          double at = (static_cast<double>(i) + static_cast<double>(w) /
                                                    static_cast<double>(workers)) * interval;
          start = t0 + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(at));
          if (start >= end) break;
          std::this_thread::sleep_until(start);
        } else {
          start = Clock::now();
          if (start >= end) break;
        }
        bool sent = conn.RoundTrip(list[i % list.size()], &status, &body, &err);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (sent && status == 200) {
          ok++;
          lat.push_back(ms);
        } else {
          failed++;
        }
      }
      std::lock_guard<std::mutex> lk(mu);
      r.ok += ok;
      r.failed += failed;
      r.latencies_ms.insert(r.latencies_ms.end(), lat.begin(), lat.end());
    });
  }
  for (auto& t : ts) t.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.node_cpu = CpuSecondsOf(node_stat) - node_cpu0;
  r.driver_cpu = CpuSecondsOf("/proc/self/stat") - driver_cpu0;
  return r;
}

// CpuShares prints how the machine's CPU went during a phase.
void PrintCpu(const char* what, const PhaseResult& r) {
  double cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
  double avail = cores * r.seconds;
  std::printf("  %s CPU: driver %.0f%%, ktlog %.0f%% of %g cores (driver %.1f us, ktlog %.1f us "
              "per request)\n",
              what, 100 * r.driver_cpu / avail, 100 * r.node_cpu / avail, cores,
              1e6 * r.driver_cpu / static_cast<double>(std::max<uint64_t>(1, r.ok)),
              1e6 * r.node_cpu / static_cast<double>(std::max<uint64_t>(1, r.ok)));
}

// HistogramQuantile estimates quantile q of a Prometheus histogram from its
// cumulative buckets (le, count), interpolating linearly inside the bucket
// that holds it (as PromQL's histogram_quantile does).
double HistogramQuantile(const std::vector<std::pair<double, double>>& buckets, double q) {
  double total = buckets.back().second, rank = q * total, lower = 0, below = 0;
  for (const auto& [le, n] : buckets) {
    if (n >= rank) {
      if (std::isinf(le)) return lower;  // beyond the last finite bound
      return n == below ? le : lower + (le - lower) * (rank - below) / (n - below);
    }
    lower = le;
    below = n;
  }
  return lower;
}

// PrintServerTimeToIntegrate reads ktlog's kt_log_time_to_integrate_seconds
// histogram (Submit -> durable, per submission, server side) from /metrics
// and prints its p50 and p99 (interpolated inside the histogram's buckets).
void PrintServerTimeToIntegrate(int port, int batch_interval_ms) {
  kt::testing::RawConn conn(port);
  int status = 0;
  std::string_view body;
  std::string err;
  if (!conn.RoundTrip(kt::testing::HttpRequestBytes("GET", "/metrics"), &status, &body, &err) ||
      status != 200) {
    std::printf("  server-side time to integrate: /metrics unavailable\n");
    return;
  }
  constexpr std::string_view kBucket = "kt_log_time_to_integrate_seconds_bucket{le=\"";
  std::vector<std::pair<double, double>> buckets;  // le, cumulative count
  for (size_t pos = 0; (pos = body.find(kBucket, pos)) != std::string_view::npos;) {
    size_t le_end = body.find('"', pos + kBucket.size());
    size_t value = body.find(' ', le_end);
    if (le_end == std::string_view::npos || value == std::string_view::npos) break;
    std::string le(body.substr(pos + kBucket.size(), le_end - pos - kBucket.size()));
    buckets.emplace_back(le == "+Inf" ? HUGE_VAL : std::atof(le.c_str()),
                         std::atof(std::string(body.substr(value + 1, 24)).c_str()));
    pos = value;
  }
  if (buckets.empty() || buckets.back().second == 0) return;
  std::printf("  server-side time to integrate (Submit -> durable, %.0f submissions): p50 %.1f ms, "
              "p99 %.1f ms (interpolated in the histogram's buckets; target p99 <= %d ms)\n",
              buckets.back().second, 1e3 * HistogramQuantile(buckets, 0.5),
              1e3 * HistogramQuantile(buckets, 0.99), 2 * batch_interval_ms);
}

std::string BindingBody(const std::string& user) {
  auto k = kt::core::Ed25519Signer::Generate();
  const auto& ik = k.public_key();
  nlohmann::json j = {{"kind", "set"},
                      {"user", user},
                      {"device", "phone"},
                      {"identity_key", Base64Encode(ik)},
                      {"possession_sig", Base64Encode(k.Sign(kt::core::PopMessage(user, "phone", ik)))}};
  return j.dump();
}

// WriteRequests pre-signs every binding: the client's signing must not
// compete with the log for the CPU during the timed phase.
Phase WriteRequests(const Options& o) {
  Phase p;
  p.per_worker = static_cast<uint64_t>(o.per_submitter);
  std::string auth = std::string("Authorization: Bearer ") + kToken + "\r\n";
  p.requests.resize(static_cast<size_t>(o.submitters));
  for (int s = 0; s < o.submitters; s++) {
    for (int i = 0; i < o.per_submitter; i++) {
      std::string user = "load-" + std::to_string(s) + "-" + std::to_string(i) + "@example.org";
      p.requests[static_cast<size_t>(s)].push_back(
          kt::testing::HttpRequestBytes("POST", "/v1/bindings", BindingBody(user),
                                        "application/json", auth));
    }
  }
  return p;
}

// ReadRequests builds, per connection, 4096 GETs of paths from make_path.
template <typename PathFn>
Phase ReadRequests(const Options& o, PathFn make_path) {
  Phase p;
  p.requests.resize(static_cast<size_t>(o.connections));
  for (int c = 0; c < o.connections; c++) {
    std::mt19937_64 rng(static_cast<uint64_t>(c) * 7919 + 1);
    for (int i = 0; i < 4096; i++) {
      p.requests[static_cast<size_t>(c)].push_back(kt::testing::HttpRequestBytes("GET", make_path(rng)));
    }
  }
  return p;
}

void PrintReads(const char* what, const Options& o, const PhaseResult& r, const char* target) {
  std::printf("%s over %d connections: %.0f req/s (%llu failed), p50 %.3f ms, p99 %.3f ms, "
              "max %.3f ms (%s)\n",
              what, o.connections, r.Rate(), static_cast<unsigned long long>(r.failed),
              Percentile(r.latencies_ms, 0.5), Percentile(r.latencies_ms, 0.99),
              Percentile(r.latencies_ms, 1.0), target);
  PrintCpu("reads", r);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  if (o.batch_max == 0) o.batch_max = std::max(1, o.submitters);
  char tmpl[] = "/tmp/log_http_load.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  std::string dir = tmpl;
  std::string ktlog = std::string(KT_BINARY_DIR) + "/log/ktlog";
  auto keygen = kt::testing::ChildProcess::Start(
      ktlog, {"keygen", "--origin", "load.test/log", "--out", dir + "/log.key"});
  if (!keygen.ok() || !(*keygen)->Wait(std::chrono::seconds(30))) return 1;
  if (!kt::store::WriteSecretFile(dir + "/token", kToken).ok()) return 1;
  int port = kt::testing::PickFreePort();
  std::vector<std::string> serve = {
      "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--data", dir + "/data",
      "--key", dir + "/log.key", "--origin", "load.test/log", "--operator-token-file",
      dir + "/token", "--batch-interval", std::to_string(o.batch_interval_ms),
      "--batch-max", std::to_string(o.batch_max), "--rate-limit", "0", "--http-threads",
      std::to_string(std::max(o.submitters, o.connections) + 16)};
  // LOG_HTTP_LOAD_NODE_PREFIX (e.g. "perf record -g -o FILE") runs ktlog
  // under a profiler; bench/log_http_profile.sh uses it. The CPU shares
  // printed are then the profiler's process (ktlog's children included).
  std::string program = ktlog;
  if (const char* prefix = std::getenv("LOG_HTTP_LOAD_NODE_PREFIX"); prefix && *prefix) {
    std::vector<std::string> argv;
    for (std::string_view rest = prefix; !rest.empty();) {
      size_t sp = rest.find(' ');
      if (sp != 0) argv.emplace_back(rest.substr(0, sp));
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
    argv.push_back(ktlog);
    argv.insert(argv.end(), serve.begin(), serve.end());
    program = "/usr/bin/env";
    serve = std::move(argv);
  }
  auto log = kt::testing::ChildProcess::Start(program, serve);
  if (!log.ok() ||
      !kt::testing::WaitForHttpReady("127.0.0.1", port, "/healthz", std::chrono::seconds(20))) {
    std::fprintf(stderr, "ktlog did not start\n");
    return 1;
  }
  pid_t node = (*log)->pid();

  Phase writes = WriteRequests(o);
  VerifyBoundResult verify = VerifyBound(2.0);
  double bound = verify.per_second;
  std::printf("Ed25519 verify bound (all %u cores): %.0f verifies/s, %.1f us CPU per verify; "
              "45%% = %.0f entries/s\n",
              std::thread::hardware_concurrency(), bound, verify.cpu_us_per_verify, 0.45 * bound);

  PhaseResult w = RunPhase(port, node, writes);
  std::printf("writes: %d submitters x %d (batch interval %d ms, batch max %d): %llu ok, %llu "
              "failed in %.2f s = %.0f entries/s (%.2f of the verify bound; target >= 6000 and "
              ">= 0.45)\n",
              o.submitters, o.per_submitter, o.batch_interval_ms, o.batch_max,
              static_cast<unsigned long long>(w.ok), static_cast<unsigned long long>(w.failed),
              w.seconds, w.Rate(), w.Rate() / bound);
  std::printf("time to integrate (request sent -> durable, proved answer): p50 %.1f ms, p99 "
              "%.1f ms (target p99 <= %d ms)\n",
              Percentile(w.latencies_ms, 0.5), Percentile(w.latencies_ms, 0.99),
              2 * o.batch_interval_ms);
  PrintCpu("writes", w);
  double node_us = 1e6 * w.node_cpu / static_cast<double>(std::max<uint64_t>(1, w.ok));
  std::printf("  ktlog CPU per write: %.1f us = one verify %.1f us + %.1f us beyond it "
              "(target: beyond <= ~50 us)\n",
              node_us, verify.cpu_us_per_verify, node_us - verify.cpu_us_per_verify);
  PrintServerTimeToIntegrate(port, o.batch_interval_ms);

  uint64_t size = w.ok;
  if (size == 0) return 1;
  auto proof_path = [size](std::mt19937_64& rng) {
    uint64_t i = rng() % size;
    return "/v1/proof/inclusion?index=" + std::to_string(i) + "&size=" + std::to_string(size);
  };
  uint64_t full_tiles = size / 256;
  auto tile_path = [full_tiles](std::mt19937_64& rng) {
    kt::core::Tile t;
    t.level = 0;
    t.index = full_tiles == 0 ? 0 : rng() % full_tiles;
    std::string path = "/";
    return path.append(kt::core::TilePath(t));
  };
  Phase proofs = ReadRequests(o, proof_path), tiles = ReadRequests(o, tile_path);
  proofs.seconds = tiles.seconds = o.read_seconds;
  PrintReads("inclusion proofs, closed loop", o, RunPhase(port, node, proofs),
             "target >= 25000 req/s");
  PrintReads("tile reads, closed loop", o, RunPhase(port, node, tiles), "target >= 25000 req/s");
  if (o.rate > 0) {
    char target[96];
    std::snprintf(target, sizeof target, "offered %.0f req/s, latency from the scheduled send; "
                  "target p99 < 2 ms", o.rate);
    proofs.seconds = tiles.seconds = o.seconds;
    proofs.rate = tiles.rate = o.rate;
    PrintReads("inclusion proofs, fixed rate", o, RunPhase(port, node, proofs), target);
    PrintReads("tile reads, fixed rate", o, RunPhase(port, node, tiles), target);
  }
  (*log)->Signal(SIGTERM);
  (*log)->Wait(std::chrono::seconds(30));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
