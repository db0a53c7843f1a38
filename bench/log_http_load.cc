// SPDX-License-Identifier: Apache-2.0
// log_http_load: end-to-end load driver for ktlog over loopback HTTP
// (LOG_ISSUE "Performance"). It starts a real `ktlog serve` (no witness
// policy, rate limit off), then:
//   1. bound: Ed25519 verifications/s on every core, in this process;
//   2. writes: S concurrent submitters (keep-alive) POST /v1/bindings with a
//      fresh user each (PoP verified by the log for every entry); reports
//      entries/s beside 45% of the verify bound, and the time-to-integrate
//      p50/p99 (request sent -> answer) beside 2x the batch interval;
//   3. reads: C keep-alive connections issue inclusion-proof requests, then
//      tile reads, for a fixed time each; reports requests/s and p99.
// Usage: log_http_load [--submitters 64] [--per-submitter 300]
//   [--batch-interval 10] [--batch-max S] [--connections 8] [--read-seconds 5]
#include <csignal>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/tile.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "tests/testing/process.h"

namespace {

using Clock = std::chrono::steady_clock;
using kt::core::Base64Encode;

constexpr char kToken[] = "load-operator-token-0123456789abcdef";

struct Options {
  int submitters = 64;
  int per_submitter = 300;
  // With S submitters each waiting for its entry to be integrated, the rate
  // is at most S / (time to integrate): 6,000 entries/s from 64 submitters
  // needs ~10 ms, so the driver runs the sequencer with a short interval and
  // batch_max = S (a batch starts as soon as every submitter is waiting).
  int batch_interval_ms = 10;
  int batch_max = 0;  // 0: the number of submitters
  int connections = 8;
  int read_seconds = 5;
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

// Ed25519 verifications per second over all cores (the write bound).
double VerifyBound(double seconds) {
  unsigned n = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<uint64_t> total{0};
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < n; t++) {
    ts.emplace_back([&] {
      auto k = kt::core::Ed25519Signer::Generate();
      auto v = kt::core::Ed25519Verifier::Create(k.public_key());
      std::string msg(100, 'm');
      auto sig = k.Sign(kt::core::AsBytes(msg));
      uint64_t count = 0;
      auto end = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < end) {
        for (int i = 0; i < 64; i++) count += v->Verify(kt::core::AsBytes(msg), sig) ? 1 : 0;
      }
      total += count;
    });
  }
  for (auto& t : ts) t.join();
  return static_cast<double>(total) / seconds;
}

std::string Body(const std::string& user) {
  auto k = kt::core::Ed25519Signer::Generate();
  const auto& ik = k.public_key();
  nlohmann::json j = {{"kind", "set"},
                      {"user", user},
                      {"device", "phone"},
                      {"identity_key", Base64Encode(ik)},
                      {"possession_sig", Base64Encode(k.Sign(kt::core::PopMessage(user, "phone", ik)))}};
  return j.dump();
}

struct WriteResult {
  uint64_t ok = 0, failed = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

WriteResult RunWrites(const Options& o, const std::string& base) {
  // Pre-sign every request so the client's signing does not compete with
  // the log for the CPU during the timed phase.
  std::vector<std::vector<std::string>> bodies(static_cast<size_t>(o.submitters));
  for (int s = 0; s < o.submitters; s++) {
    for (int i = 0; i < o.per_submitter; i++) {
      bodies[static_cast<size_t>(s)].push_back(
          Body("load-" + std::to_string(s) + "-" + std::to_string(i) + "@example.org"));
    }
  }
  WriteResult r;
  std::mutex mu;
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  for (int s = 0; s < o.submitters; s++) {
    ts.emplace_back([&, s] {
      kt::net::HttpClient client;
      kt::net::Headers h = {{"Authorization", std::string("Bearer ") + kToken}};
      std::vector<double> lat;
      uint64_t ok = 0, failed = 0;
      for (const std::string& b : bodies[static_cast<size_t>(s)]) {
        auto start = Clock::now();
        auto resp = client.Post(base + "/v1/bindings", b, "application/json", h);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (resp.ok() && resp->status == 200) {
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
  return r;
}

struct ReadResult {
  uint64_t ok = 0, failed = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

// RunReads issues GETs of paths from `make_path` on C keep-alive connections.
template <typename PathFn>
ReadResult RunReads(const Options& o, const std::string& base, PathFn make_path) {
  ReadResult r;
  std::mutex mu;
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::seconds(o.read_seconds);
  for (int c = 0; c < o.connections; c++) {
    ts.emplace_back([&, c] {
      kt::net::HttpClient client;
      std::mt19937_64 rng(static_cast<uint64_t>(c) * 7919 + 1);
      std::vector<double> lat;
      uint64_t ok = 0, failed = 0;
      while (Clock::now() < end) {
        std::string url = base + make_path(rng);
        auto start = Clock::now();
        auto resp = client.Get(url);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (resp.ok() && resp->status == 200) {
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
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  if (o.batch_max == 0) o.batch_max = o.submitters;
  char tmpl[] = "/tmp/log_http_load.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  std::string dir = tmpl;
  std::string ktlog = std::string(KT_BINARY_DIR) + "/log/ktlog";
  auto keygen = kt::testing::ChildProcess::Start(
      ktlog, {"keygen", "--origin", "load.test/log", "--out", dir + "/log.key"});
  if (!keygen.ok() || !(*keygen)->Wait(std::chrono::seconds(30))) return 1;
  if (!kt::store::WriteSecretFile(dir + "/token", kToken).ok()) return 1;
  int port = kt::testing::PickFreePort();
  auto log = kt::testing::ChildProcess::Start(
      ktlog, {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--data", dir + "/data",
              "--key", dir + "/log.key", "--origin", "load.test/log", "--operator-token-file",
              dir + "/token", "--batch-interval", std::to_string(o.batch_interval_ms),
              "--batch-max", std::to_string(o.batch_max), "--rate-limit", "0", "--http-threads", std::to_string(o.submitters + 16)});
  if (!log.ok() ||
      !kt::testing::WaitForHttpReady("127.0.0.1", port, "/healthz", std::chrono::seconds(20))) {
    std::fprintf(stderr, "ktlog did not start\n");
    return 1;
  }
  std::string base = "http://127.0.0.1:" + std::to_string(port);

  double bound = VerifyBound(2.0);
  std::printf("Ed25519 verify bound (all %u cores): %.0f verifies/s; 45%% = %.0f entries/s\n",
              std::thread::hardware_concurrency(), bound, 0.45 * bound);

  WriteResult w = RunWrites(o, base);
  double wps = static_cast<double>(w.ok) / w.seconds;
  std::printf("writes: %d submitters x %d: %llu ok, %llu failed in %.2f s = %.0f entries/s "
              "(%.2f of the verify bound; target >= 6000 and >= 0.45)\n",
              o.submitters, o.per_submitter, static_cast<unsigned long long>(w.ok),
              static_cast<unsigned long long>(w.failed), w.seconds, wps, wps / bound);
  std::printf("time to integrate: p50 %.1f ms, p99 %.1f ms (batch interval %d ms; target p99 <= %d ms)\n",
              Percentile(w.latencies_ms, 0.5), Percentile(w.latencies_ms, 0.99),
              o.batch_interval_ms, 2 * o.batch_interval_ms);

  uint64_t size = w.ok;
  ReadResult proofs = RunReads(o, base, [size](std::mt19937_64& rng) {
    uint64_t i = rng() % size;
    return "/v1/proof/inclusion?index=" + std::to_string(i) + "&size=" + std::to_string(size);
  });
  std::printf("inclusion proofs over %d connections: %.0f req/s (%llu failed), p50 %.3f ms, "
              "p99 %.3f ms (target >= 25000 req/s)\n",
              o.connections, static_cast<double>(proofs.ok) / proofs.seconds,
              static_cast<unsigned long long>(proofs.failed), Percentile(proofs.latencies_ms, 0.5),
              Percentile(proofs.latencies_ms, 0.99));
  uint64_t full_tiles = size / 256;
  ReadResult tiles = RunReads(o, base, [full_tiles](std::mt19937_64& rng) {
    kt::core::Tile t;
    t.level = 0;
    t.index = full_tiles == 0 ? 0 : rng() % full_tiles;
    return "/" + kt::core::TilePath(t);
  });
  std::printf("tile reads over %d connections: %.0f req/s (%llu failed), p50 %.3f ms, p99 %.3f ms "
              "(target >= 25000 req/s)\n",
              o.connections, static_cast<double>(tiles.ok) / tiles.seconds,
              static_cast<unsigned long long>(tiles.failed), Percentile(tiles.latencies_ms, 0.5),
              Percentile(tiles.latencies_ms, 0.99));
  (*log)->Signal(SIGTERM);
  (*log)->Wait(std::chrono::seconds(30));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
