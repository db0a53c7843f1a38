// SPDX-License-Identifier: Apache-2.0
// witness_load: end-to-end add-checkpoint load against a real ktwitness on
// loopback. Starts ktwitness (durable LMDB commits), pre-builds signed
// checkpoints and consistency proofs for each log (so the driver's own
// signing is not in the measured window), then measures
//   1. sequential: one keep-alive connection, one log;
//   2. concurrent: N connections, each following its own log (default 8);
// and prints req/s, p50/p99 latency and, measured in this same run, the
// Ed25519 bound (one verify + one sign per request, on the same 2 threads,
// before and after the load phases) and the durable-commit latency of LMDB on
// the data directory. It also prints the CPU time per request of ktwitness and
// of the driver itself (they share the machine's cores).
//
// The driver is kept cheap so that it takes as little CPU from the witness as
// possible: each request is pre-serialised (headers + body) before the clock
// starts and sent on a raw keep-alive socket with one write; the response is
// parsed only as far as the status line and Content-Length. Every response
// must be a 200 with a body; after the measured window, the first and the last
// answer of every connection are checked to be valid cosignature/v1 lines by
// the witness key over the request's checkpoint.
//
// usage: witness_load [--seconds S] [--logs N] [--binary PATH] [--dir DIR]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/checkpoint.h"
#include "core/cosignature.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/keys.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "store/lmdb.h"
#include "witness/request.h"
#include "tests/core/merkle_testing.h"
#include "tests/testing/raw_http.h"
#include "tests/witness/witness_testing.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using kt::testing::TestLog;

struct Args {
  double seconds = 5;
  int logs = 8;
  std::string binary = std::string(KT_BINARY_DIR) + "/witness/ktwitness";
  std::string dir = "/tmp/kt-witness-load";
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--seconds") a.seconds = std::atof(argv[i + 1]);
    if (f == "--logs") a.logs = std::atoi(argv[i + 1]);
    if (f == "--binary") a.binary = argv[i + 1];
    if (f == "--dir") a.dir = argv[i + 1];
  }
  return a;
}

// ThreadCpuUs is the CPU time of the calling thread in microseconds.
double ThreadCpuUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Bound is the Ed25519 bound: (verify + sign) pairs per wall-clock second on
// 2 threads, and the CPU time one pair takes.
struct Bound {
  double pairs_per_s = 0;
  double cpu_us_per_pair = 0;
};

// CryptoBound measures (verify + sign) pairs per second on `threads` threads
// over a checkpoint-sized message: the work ktwitness must do per request,
// through the same calls it makes (Ed25519Verifier::Verify, core::Cosign).
Bound CryptoBound(int threads, double seconds) {
  auto log_key = kt::core::GenerateSignerKey("bound.example/log", kt::core::kSigTypeEd25519);
  auto w_key = kt::core::GenerateSignerKey("bound.example/w", kt::core::kSigTypeCosignatureV1);
  KT_CHECK(log_key.ok() && w_key.ok());
  kt::core::Checkpoint cp{"bound.example/log", 123456, kt::core::Hash{}, {}};
  const std::string text = kt::core::FormatCheckpoint(cp);
  const auto sig = log_key->signer.Sign(kt::core::AsBytes(text));
  const kt::core::VerifierKey vk = log_key->Verifier();
  std::atomic<uint64_t> pairs{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  double cpu_us = 0;
  std::vector<std::thread> ts;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      const double cpu0 = ThreadCpuUs();
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        KT_CHECK(vk.verifier.Verify(kt::core::AsBytes(text), sig));
        (void)kt::core::Cosign(*w_key, text, 1700000000);
        ++n;
      }
      pairs.fetch_add(n);
      std::lock_guard<std::mutex> lock(mu);
      cpu_us += ThreadCpuUs() - cpu0;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double n = static_cast<double>(pairs.load());
  return {n / std::chrono::duration<double>(Clock::now() - start).count(), cpu_us / n};
}

// CommitLatencyMs measures the mean durable LMDB commit (one small put) in dir.
double CommitLatencyMs(const std::string& dir, int commits) {
  auto env = kt::store::Env::Open(dir);
  KT_CHECK(env.ok());
  auto dbi = (*env)->OpenDb("probe");
  KT_CHECK(dbi.ok());
  const auto start = Clock::now();
  for (int i = 0; i < commits; ++i) {
    auto key = kt::store::U64Key(static_cast<uint64_t>(i));
    KT_CHECK((*env)->Update([&](kt::store::Txn& t) {
                      return t.Put(*dbi, kt::store::AsSpan(key), kt::core::AsBytes("v"));
                    }).ok());
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / commits;
}

using kt::testing::RawConn;  // tests/testing/raw_http.h

// Serialise turns an add-checkpoint body into a complete HTTP/1.1 request.
std::string Serialise(int port, const std::string& body) {
  return "POST /add-checkpoint HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Cpu is CPU time in microseconds (user, system) and voluntary context
// switches, of the driver (getrusage) or of the ktwitness process (/proc).
struct Cpu {
  double user_us = 0;
  double sys_us = 0;
  uint64_t switches = 0;
  Cpu operator-(const Cpu& o) const { return {user_us - o.user_us, sys_us - o.sys_us, switches - o.switches}; }
};

Cpu SelfCpu() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return {us(ru.ru_utime), us(ru.ru_stime), static_cast<uint64_t>(ru.ru_nvcsw + ru.ru_nivcsw)};
}

// ProcessCpu reads utime/stime (fields 14, 15 of /proc/PID/stat, in clock
// ticks; whole process) and sums the context switches of its live threads.
Cpu ProcessCpu(pid_t pid) {
  Cpu c;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return c;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  const double tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) c.user_us = std::stod(field) * tick_us;
    if (i == 15) c.sys_us = std::stod(field) * tick_us;
  }
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(task_dir, ec)) {
    std::ifstream ts(t.path() / "status");
    while (std::getline(ts, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        c.switches += std::stoull(line.substr(line.find(':') + 1));
      }
    }
  }
  return c;
}

struct Phase {
  uint64_t ok = 0;
  uint64_t failed = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  Cpu server;  // ktwitness CPU during the phase
  Cpu driver;  // this process's CPU during the phase
  // first and last answered (request index, response body) of each connection
  std::vector<std::vector<std::pair<size_t, std::string>>> samples;
};

// Run drives one connection per log; requests[i] is log i's pre-serialised
// chain of HTTP requests.
Phase Run(int port, pid_t server, const std::vector<std::vector<std::string>>& requests,
          double seconds) {
  Phase p;
  std::vector<std::vector<double>> lat(requests.size());
  p.samples.resize(requests.size());
  uint64_t total = 0;
  for (const auto& r : requests) total += r.size();
  for (auto& l : lat) l.reserve(total / requests.size());
  std::atomic<uint64_t> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  const Cpu server0 = ProcessCpu(server);
  const Cpu driver0 = SelfCpu();
  const auto start = Clock::now();
  for (size_t i = 0; i < requests.size(); ++i) {
    ts.emplace_back([&, i] {
      RawConn conn(port);
      int status = 0;
      std::string_view body;
      std::string err;
      for (size_t j = 0; j < requests[i].size(); ++j) {
        if (stop.load(std::memory_order_relaxed)) break;
        const auto t0 = Clock::now();
        const bool sent = conn.RoundTrip(requests[i][j], &status, &body, &err);
        const auto t1 = Clock::now();
        if (!sent || status != 200 || body.empty()) {
          failed.fetch_add(1);
          std::fprintf(stderr, "request failed: %s\n",
                       sent ? (std::to_string(status) + " " + std::string(body)).c_str() : err.c_str());
          break;
        }
        ok.fetch_add(1, std::memory_order_relaxed);
        lat[i].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (j == 0) p.samples[i].emplace_back(j, std::string(body));
        if (j + 1 == requests[i].size() || stop.load(std::memory_order_relaxed)) {
          p.samples[i].emplace_back(j, std::string(body));
        }
      }
    });
  }
  while (Clock::now() - start < std::chrono::duration<double>(seconds) &&
         ok.load() + failed.load() < total) {
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  for (auto& t : ts) t.join();
  p.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  p.server = ProcessCpu(server) - server0;
  p.driver = SelfCpu() - driver0;
  p.ok = ok.load();
  p.failed = failed.load();
  for (auto& l : lat) p.latencies_ms.insert(p.latencies_ms.end(), l.begin(), l.end());
  std::sort(p.latencies_ms.begin(), p.latencies_ms.end());
  return p;
}

// CheckSamples verifies that each sampled response is exactly one valid
// cosignature/v1 line by `witness` over the checkpoint of its request body.
// Returns the number of samples checked; KT_CHECK-fails on a bad one.
size_t CheckSamples(const Phase& p, const std::vector<std::vector<std::string>>& bodies,
                    const kt::core::VerifierKey& witness) {
  size_t n = 0;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    for (const auto& [j, response] : p.samples[i]) {
      auto req = kt::witness::ParseAddCheckpointRequest(bodies[i][j]);
      KT_CHECK(req.ok());
      auto note = kt::core::ParseNote(req->checkpoint.text + "\n" + response);
      KT_CHECK(note.ok() && note->signatures.size() == 1);
      KT_CHECK(kt::core::VerifyCosignature(witness, req->checkpoint.text, note->signatures[0]).ok());
      ++n;
    }
  }
  return n;
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())))];
}

// BuildChain pre-builds `n` requests old=i -> size=i+1 for `log`.
std::vector<std::string> BuildChain(TestLog& log, uint64_t n) {
  log.GrowTo(n + 1);
  std::vector<std::string> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(log.Request(i, i + 1));
  return out;
}

std::string MetricLine(kt::net::HttpClient& c, const std::string& base, const std::string& name) {
  auto r = c.Get(base + "/metrics");
  if (!r.ok()) return "";
  size_t pos = r->body.find("\n" + name + " ");
  if (pos == std::string::npos) return "";
  size_t end = r->body.find('\n', pos + 1);
  return r->body.substr(pos + 1, end - pos - 1);
}

// PrintPhase prints one phase's throughput, latency and CPU per request.
void PrintPhase(const char* name, const Phase& p) {
  const double n = std::max<double>(1, static_cast<double>(p.ok));
  std::printf("%s %8.0f req/s  p50 %.2f ms  p99 %.2f ms  (%llu ok, %llu failed)\n", name,
              static_cast<double>(p.ok) / p.seconds, Percentile(p.latencies_ms, 0.50),
              Percentile(p.latencies_ms, 0.99), static_cast<unsigned long long>(p.ok),
              static_cast<unsigned long long>(p.failed));
  std::printf("    CPU per request: ktwitness %.0f us (user %.0f + sys %.0f), driver %.0f us "
              "(user %.0f + sys %.0f); context switches/req: ktwitness %.1f, driver %.1f\n",
              (p.server.user_us + p.server.sys_us) / n, p.server.user_us / n, p.server.sys_us / n,
              (p.driver.user_us + p.driver.sys_us) / n, p.driver.user_us / n, p.driver.sys_us / n,
              static_cast<double>(p.server.switches) / n, static_cast<double>(p.driver.switches) / n);
}

std::string Uptime() {
  std::ifstream f("/proc/loadavg");
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  std::string cmd = "rm -rf '" + args.dir + "' && mkdir -p '" + args.dir + "'";
  if (std::system(cmd.c_str()) != 0) return 1;

  std::printf("loadavg at start: %s\n", Uptime().c_str());
  std::printf("measuring bounds (same run)...\n");
  const Bound bound_before = CryptoBound(2, 3.0);
  const double commit_ms = CommitLatencyMs(args.dir + "/probe", 100);

  // Logs and their pre-built, pre-serialised requests (outside the window).
  const uint64_t seq_n = static_cast<uint64_t>(args.seconds * 5000) + 100;
  const uint64_t conc_n = static_cast<uint64_t>(args.seconds * 1500) + 100;
  std::vector<std::unique_ptr<TestLog>> logs;
  for (int i = 0; i <= args.logs; ++i) {
    logs.push_back(std::make_unique<TestLog>("load" + std::to_string(i) + ".example/log"));
  }
  std::printf("building %llu + %d x %llu signed requests...\n",
              static_cast<unsigned long long>(seq_n), args.logs,
              static_cast<unsigned long long>(conc_n));
  const int port = 18000 + static_cast<int>(::getpid() % 10000);
  std::vector<std::vector<std::string>> seq_bodies{BuildChain(*logs[0], seq_n)};
  std::vector<std::vector<std::string>> conc_bodies;
  for (int i = 1; i <= args.logs; ++i) {
    conc_bodies.push_back(BuildChain(*logs[static_cast<size_t>(i)], conc_n));
  }
  auto serialise = [&](const std::vector<std::vector<std::string>>& bodies) {
    std::vector<std::vector<std::string>> out(bodies.size());
    for (size_t i = 0; i < bodies.size(); ++i) {
      for (const std::string& b : bodies[i]) out[i].push_back(Serialise(port, b));
    }
    return out;
  };
  const auto seq = serialise(seq_bodies);
  const auto conc = serialise(conc_bodies);

  // Start ktwitness.
  auto wkey = kt::core::GenerateSignerKey("load.example/witness", kt::core::kSigTypeCosignatureV1);
  KT_CHECK(wkey.ok());
  const std::string key_file = args.dir + "/witness.key";
  KT_CHECK(kt::store::WriteSecretFile(key_file, kt::core::FormatSignerKey(*wkey) + "\n").ok());
  std::vector<std::string> argv_s = {args.binary, "serve", "--listen",
                                     "127.0.0.1:" + std::to_string(port), "--data",
                                     args.dir + "/data", "--key", key_file};
  for (auto& l : logs) {
    argv_s.push_back("--trust-log");
    argv_s.push_back(l->vkey());
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> cargv;
    for (auto& s : argv_s) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    std::_Exit(127);
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  kt::net::HttpClient probe;
  bool up = false;
  for (int i = 0; i < 500 && !up; ++i) {
    auto r = probe.Get(base + "/healthz");
    up = r.ok() && r->status == 200;
    if (!up) std::this_thread::sleep_for(10ms);
  }
  if (!up) {
    std::fprintf(stderr, "ktwitness did not start\n");
    ::kill(pid, SIGKILL);
    return 1;
  }

  Phase s = Run(port, pid, seq, args.seconds);
  const std::string commits_after_seq = MetricLine(probe, base, "kt_witness_commits_total");
  Phase c = Run(port, pid, conc, args.seconds);
  const std::string commits_after = MetricLine(probe, base, "kt_witness_commits_total");
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const size_t checked = CheckSamples(s, seq_bodies, wkey->Verifier()) +
                         CheckSamples(c, conc_bodies, wkey->Verifier());
  // The same measurement after the load phases, on the same 2 threads. The
  // machine is shared, so the two can differ: both are printed, and the
  // ratio is taken against the larger (more favourable) one, which makes it
  // conservative.
  const Bound bound_after = CryptoBound(2, 3.0);
  const double bound = std::max(bound_before.pairs_per_s, bound_after.pairs_per_s);
  const double pair_cpu_us = std::min(bound_before.cpu_us_per_pair, bound_after.cpu_us_per_pair);

  const double conc_rps = static_cast<double>(c.ok) / c.seconds;
  std::printf("\nmachine: %u cores; ktwitness with durable LMDB commits (fsync), group commit\n",
              std::thread::hardware_concurrency());
  std::printf("loadavg at the end: %s\n", Uptime().c_str());
  std::printf("bound: Ed25519 verify+sign pairs/s on 2 threads (same run): before %.0f, after %.0f "
              "-> %.0f; CPU per pair: before %.0f us, after %.0f us\n",
              bound_before.pairs_per_s, bound_after.pairs_per_s, bound,
              bound_before.cpu_us_per_pair, bound_after.cpu_us_per_pair);
  std::printf("bound: durable LMDB commit latency on %s: %.2f ms -> %.0f commits/s\n",
              args.dir.c_str(), commit_ms, 1000.0 / commit_ms);
  PrintPhase("sequential (1 conn, 1 log):  ", s);
  char name[64];
  std::snprintf(name, sizeof(name), "concurrent (%d conns, %d logs):", args.logs, args.logs);
  PrintPhase(name, c);
  std::printf("ratio concurrent / crypto bound: %.2f (against before: %.2f, after: %.2f)\n",
              conc_rps / bound, conc_rps / bound_before.pairs_per_s,
              conc_rps / bound_after.pairs_per_s);
  // On a shared machine the wall-clock ratio also depends on how the
  // scheduler splits the cores between ktwitness's threads and everything
  // else; the CPU ratio does not: the cheapest CPU time of one pair over the
  // CPU time ktwitness and the driver together spent per request.
  const double n_conc = std::max<double>(1, static_cast<double>(c.ok));
  const double req_cpu_us = (c.server.user_us + c.server.sys_us + c.driver.user_us +
                             c.driver.sys_us) / n_conc;
  std::printf("CPU ratio concurrent: crypto %.0f us per pair / (ktwitness + driver) %.0f us per "
              "request = %.2f\n", pair_cpu_us, req_cpu_us, pair_cpu_us / req_cpu_us);
  std::printf("ratio concurrent / (conns / commit latency): %.2f\n",
              conc_rps / (args.logs * 1000.0 / commit_ms));
  std::printf("commits: after sequential [%s], after concurrent [%s]\n", commits_after_seq.c_str(),
              commits_after.c_str());
  std::printf("responses checked as valid cosignatures by the witness key: %zu\n", checked);
  return (s.failed == 0 && c.failed == 0) ? 0 : 1;
}
