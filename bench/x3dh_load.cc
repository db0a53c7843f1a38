// SPDX-License-Identifier: Apache-2.0
// x3dh_load: end-to-end X3DH load over loopback (issue 6 "Performance":
// bundle fetch + verify + send with 8 concurrent initiators, at least 1,500
// handshakes/s on 2 cores, server included). It starts a real `ktlog serve`
// (no witness policy, rate limit off), registers R recipients (each one
// device with up to 1,000 OPKs published through x3dh::DeviceStore and
// PrekeyClient) and I initiators, then runs for S seconds, each initiator in
// its own thread with its own client state, looping over the recipients:
//   cached: the recipient's verified lookup (lookup + history, pinned) is
//           made once per recipient; each handshake then fetches the bundle
//           (GET /v1/prekeys: OPK popped), verifies it (CheckBundleItem:
//           tlog-proof, checkpoint consistency, current entry, logged and
//           pinned key, SPK signature), runs x3dh::Initiate and POSTs the
//           message (the path a client with a fresh lookup takes);
//   full:   each handshake is kt send's SendToUser (lookup + history again).
// It prints the rate, latency, the CPU time per handshake of the client and
// of the server (load-independent, unlike the wall-clock rate on a shared
// machine) and, measured in the same run, the bound: the same handshake
// with no network and no server (CheckBundleItem + Initiate on a fetched
// bundle) per thread on every core: the client's share of the CPU.
// Usage: x3dh_load [--initiators 8] [--recipients 16] [--seconds 4]
//   [--mode cached|full] [--http-threads 32] [--cold on|off]
// A client caches signatures it verified (SPK, proofs of possession) and
// identity keys it converted (core/crypto_cache.h, core/crypto_dh.h):
// recipients are met again and again here, so these hit; --cold on clears
// both caches before every handshake.
#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/contacts.h"
#include "client/log_client.h"
#include "client/http_fetcher.h"
#include "client/lookup.h"
#include "client/messenger.h"
#include "client/prekey_client.h"
#include "client/state_store.h"
#include "client/trust.h"
#include "core/crypto_cache.h"
#include "core/crypto_dh.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/policy.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "tests/testing/process.h"
#include "x3dh/device_store.h"
#include "x3dh/keys.h"
#include "x3dh/prekey_upload.h"

namespace {

using Clock = std::chrono::steady_clock;
using kt::core::Status;
namespace client = kt::client;
namespace x3dh = kt::x3dh;

constexpr char kToken[] = "x3dh-load-operator-token-0123456789";

struct Options {
  int initiators = 8;
  int recipients = 16;
  int seconds = 4;
  std::string mode = "cached";
  int http_threads = 32;
  // cold: forget cached SPK verifications and identity-key conversions
  // before every handshake (a client that never met the recipient before).
  bool cold = false;
};

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    std::string v = argv[i + 1];
    if (f == "--initiators") o.initiators = std::atoi(v.c_str());
    else if (f == "--recipients") o.recipients = std::atoi(v.c_str());
    else if (f == "--seconds") o.seconds = std::atoi(v.c_str());
    else if (f == "--mode") o.mode = v;
    else if (f == "--http-threads") o.http_threads = std::atoi(v.c_str());
    else if (f == "--cold") o.cold = v == "1" || v == "on" || v == "true";
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      std::exit(2);
    }
  }
  if (o.mode != "cached" && o.mode != "full") {
    std::fprintf(stderr, "--mode is cached or full\n");
    std::exit(2);
  }
  return o;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// Register logs `key` as user/phone with the operator token.
bool Register(kt::net::HttpClient& http, const std::string& base, const std::string& user,
              const kt::core::Ed25519Signer& key) {
  const auto& ik = key.public_key();
  nlohmann::json j = {{"kind", "set"},
                      {"user", user},
                      {"device", "phone"},
                      {"identity_key", kt::core::Base64Encode(ik)},
                      {"possession_sig", kt::core::Base64Encode(key.Sign(kt::core::PopMessage(user, "phone", ik)))}};
  auto r = http.Post(base + "/v1/bindings", j.dump(), "application/json",
                     {{"Authorization", std::string("Bearer ") + kToken}});
  if (!r.ok() || r->status != 200) {
    std::fprintf(stderr, "register %s failed: %s\n", user.c_str(),
                 r.ok() ? r->body.c_str() : r.status().ToString().c_str());
    return false;
  }
  return true;
}

// Publish makes a device store for user/phone and uploads its SPK and 1,000 OPKs.
std::unique_ptr<x3dh::DeviceStore> Publish(kt::net::HttpClient& http, const std::string& base,
                                           const std::string& dir, const std::string& user) {
  x3dh::DeviceStoreOptions options;
  options.no_sync = true;
  options.policy.opk_batch = 1000;
  options.policy.opk_low_water = 1000;
  uint64_t now = client::SystemClockSeconds();
  auto key = kt::core::Ed25519Signer::Generate();
  if (!Register(http, base, user, key)) return nullptr;
  auto store = x3dh::DeviceStore::Create(dir, user, "phone", key, now, options);
  if (!store.ok()) return nullptr;
  client::PrekeyClient prekeys(base, http);
  auto upload = (*store)->PrepareUpload(now, std::nullopt);
  if (!upload.ok()) return nullptr;
  x3dh::DeviceStore* s = store->get();
  client::AuthHeader auth = [s](std::string_view m, std::string_view p, std::string_view b) {
    return s->AuthHeader(m, p, kt::core::AsBytes(b), client::SystemClockSeconds());
  };
  auto r = prekeys.Upload(user, "phone", x3dh::PrekeyUploadToJson(*upload), auth);
  if (!r.ok()) {
    std::fprintf(stderr, "publish %s: %s\n", user.c_str(), r.status().ToString().c_str());
    return nullptr;
  }
  return std::move(store).value();
}

// Initiator is one sending device with its own client state.
struct Initiator {
  std::string user;
  std::unique_ptr<x3dh::DeviceIdentity> identity;
  std::unique_ptr<client::StateStore> state;
  std::unique_ptr<client::HttpFetcher> fetcher;
  std::unique_ptr<client::LogClient> log;
  std::unique_ptr<client::Contacts> contacts;
  std::vector<client::LookupResult> lookups;  // per recipient (cached mode)
};

struct RunResult {
  uint64_t ok = 0, failed = 0, without_opk = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  std::string first_error;
};

// Handshake runs one fetch + verify + initiate + send in cached mode.
Status CachedHandshake(Initiator& in, client::PrekeyClient& prekeys, const std::string& to,
                       const client::LookupResult& lookup, bool* without_opk) {
  KT_ASSIGN_OR_RETURN(client::BundleSet set, prekeys.FetchBundles(to));
  for (const client::BundleItem& item : set.bundles) {
    KT_ASSIGN_OR_RETURN(x3dh::VerifiedBundle v, client::CheckBundleItem(item, lookup, *in.log, *in.contacts));
    *without_opk = !item.bundle.one_time_prekey.has_value();
    static constexpr char kText[] = "a load test message of about sixty bytes, padded to size..";
    KT_ASSIGN_OR_RETURN(x3dh::InitiatorResult r,
                        x3dh::Initiate(v, *in.identity, in.user, "phone", kt::core::AsBytes(kText)));
    KT_ASSIGN_OR_RETURN(std::string id, prekeys.Deliver(r.message));
    (void)id;
  }
  return Status();
}

RunResult Run(const Options& o, const std::string& base, std::vector<Initiator>& initiators,
              const std::vector<std::string>& recipients) {
  RunResult r;
  std::mutex mu;
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::seconds(o.seconds);
  for (size_t t = 0; t < initiators.size(); t++) {
    ts.emplace_back([&, t] {
      Initiator& in = initiators[t];
      kt::net::HttpClient http;
      client::PrekeyClient prekeys(base, http);
      std::vector<double> lat;
      uint64_t ok = 0, failed = 0, without = 0;
      std::string err;
      for (size_t k = t; Clock::now() < end; k += initiators.size()) {
        size_t to = k % recipients.size();
        auto start = Clock::now();
        bool no_opk = false;
        Status s;
        if (o.cold) {
          kt::core::ClearSignatureCache();
          kt::core::ClearEd25519ToX25519Cache();
        }
        if (o.mode == "cached") {
          s = CachedHandshake(in, prekeys, recipients[to], in.lookups[to], &no_opk);
        } else {
          client::Sender sender{in.identity.get(), in.user, "phone"};
          auto rep = client::SendToUser(prekeys, *in.log, *in.contacts, sender, recipients[to],
                                        kt::core::AsBytes("a load test message"));
          s = rep.ok() ? (rep->delivered() == 1 ? Status() : rep->deliveries[0].status) : rep.status();
          no_opk = rep.ok() && !rep->deliveries.empty() && !rep->deliveries[0].opk_id.has_value();
        }
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (s.ok()) {
          ok++;
          without += no_opk ? 1 : 0;
          lat.push_back(ms);
        } else {
          failed++;
          if (err.empty()) err = s.ToString();
        }
      }
      std::lock_guard<std::mutex> lk(mu);
      r.ok += ok;
      r.failed += failed;
      r.without_opk += without;
      r.latencies_ms.insert(r.latencies_ms.end(), lat.begin(), lat.end());
      if (r.first_error.empty()) r.first_error = err;
    });
  }
  for (auto& t : ts) t.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

// ClientBound: handshakes/s of CheckBundleItem + Initiate on one fetched
// bundle, no network, one thread per core.
double ClientBound(std::vector<Initiator>& initiators, const client::BundleItem& item, double seconds,
                   bool cold) {
  unsigned n = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<uint64_t> total{0};
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < n; t++) {
    ts.emplace_back([&, t] {
      Initiator& in = initiators[t % initiators.size()];
      uint64_t count = 0;
      auto end = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < end) {
        if (cold) {
          kt::core::ClearSignatureCache();
          kt::core::ClearEd25519ToX25519Cache();
        }
        auto v = client::CheckBundleItem(item, in.lookups[0], *in.log, *in.contacts);
        if (!v.ok()) break;
        auto r = x3dh::Initiate(*v, *in.identity, in.user, "phone", kt::core::AsBytes("bound"));
        if (r.ok()) count++;
      }
      total += count;
    });
  }
  for (auto& t : ts) t.join();
  return static_cast<double>(total) / seconds;
}

// CpuSeconds of this process (all threads) and of process `pid` (from
// /proc/<pid>/stat utime + stime): CPU time is what a handshake costs
// whatever else shares the machine.
struct Cpu {
  double user = 0, sys = 0;
  double total() const { return user + sys; }
};

Cpu SelfCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return Cpu{static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
             static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6};
}

Cpu ProcCpu(pid_t pid) {
  auto text = kt::store::ReadFile("/proc/" + std::to_string(pid) + "/stat", 1 << 16);
  if (!text.ok()) return Cpu{};
  // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
  std::string rest = text->substr(text->rfind(')') + 2);
  std::vector<std::string> f;
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t sp = rest.find(' ', pos);
    if (sp == std::string::npos) sp = rest.size();
    f.push_back(rest.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (f.size() < 13) return Cpu{};
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return Cpu{std::stod(f[11]) / ticks, std::stod(f[12]) / ticks};
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  char tmpl[] = "/tmp/x3dh_load.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  const std::string ktlog = kt::testing::BinaryPath("ktlog");
  auto keygen = kt::testing::ChildProcess::Start(
      ktlog, {"keygen", "--origin", "load.test/log", "--out", dir + "/log.key"});
  if (!keygen.ok() || !(*keygen)->Wait(std::chrono::seconds(30))) return 1;
  std::string vkey = (*keygen)->Stdout();
  while (!vkey.empty() && vkey.back() == '\n') vkey.pop_back();
  if (!kt::store::WriteSecretFile(dir + "/token", kToken).ok()) return 1;
  int port = kt::testing::PickFreePort();
  auto log = kt::testing::ChildProcess::Start(
      ktlog, {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--data", dir + "/data",
              "--key", dir + "/log.key", "--origin", "load.test/log", "--operator-token-file",
              dir + "/token", "--batch-interval", "5", "--rate-limit", "0", "--http-threads",
              std::to_string(o.http_threads)});
  if (!log.ok() ||
      !kt::testing::WaitForHttpReady("127.0.0.1", port, "/healthz", std::chrono::seconds(20))) {
    std::fprintf(stderr, "ktlog did not start\n");
    return 1;
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  kt::net::HttpClient http;
  std::vector<std::string> recipients;
  std::vector<std::unique_ptr<x3dh::DeviceStore>> stores;
  for (int i = 0; i < o.recipients; i++) {
    recipients.push_back("recipient" + std::to_string(i));
    stores.push_back(Publish(http, base, dir + "/r" + std::to_string(i), recipients.back()));
    if (!stores.back()) return 1;
  }
  auto policy = kt::core::ParsePolicy("log " + vkey + "\nquorum none\n");
  if (!policy.ok()) return 1;
  client::Trust trust(*policy);
  std::vector<Initiator> initiators(static_cast<size_t>(o.initiators));
  for (int i = 0; i < o.initiators; i++) {
    Initiator& in = initiators[static_cast<size_t>(i)];
    in.user = "initiator" + std::to_string(i);
    auto key = kt::core::Ed25519Signer::Generate();
    if (!Register(http, base, in.user, key)) return 1;
    in.identity = std::make_unique<x3dh::DeviceIdentity>(key);
    const std::string sdir = dir + "/i" + std::to_string(i);
    in.state = client::StateStore::Open(sdir).value();
    in.fetcher = std::make_unique<client::HttpFetcher>(base);
    in.log = std::make_unique<client::LogClient>(trust, *in.state, *in.fetcher);
    in.contacts = std::make_unique<client::Contacts>(client::Contacts::Load(sdir).value());
    client::Lookup lookup(*in.log);
    for (const std::string& to : recipients) {
      auto r = lookup.Get(to);
      if (!r.ok()) {
        std::fprintf(stderr, "lookup %s: %s\n", to.c_str(), r.status().ToString().c_str());
        return 1;
      }
      in.contacts->Check(*r);  // pins (first use)
      in.lookups.push_back(std::move(r).value());
    }
  }
  // One fetched bundle (it pops one OPK) for the client-side bound.
  client::PrekeyClient prekeys(base, http);
  auto one = prekeys.FetchBundles(recipients[0]);
  if (!one.ok()) return 1;
  double bound = ClientBound(initiators, one->bundles[0], 2.0, o.cold);

  const Cpu client_cpu0 = SelfCpu();
  const Cpu server_cpu0 = ProcCpu((*log)->pid());
  const kt::core::SignatureCacheStats spk0 = kt::core::GetSignatureCacheStats();
  RunResult r = Run(o, base, initiators, recipients);
  const kt::core::SignatureCacheStats spk1 = kt::core::GetSignatureCacheStats();
  const Cpu client_cpu1 = SelfCpu();
  const Cpu server_cpu1 = ProcCpu((*log)->pid());
  const double per = 1e6 / static_cast<double>(std::max<uint64_t>(1, r.ok));
  const double client_us = (client_cpu1.total() - client_cpu0.total()) * per;
  const double server_us = (server_cpu1.total() - server_cpu0.total()) * per;
  double rate = static_cast<double>(r.ok) / r.seconds;
  std::printf("x3dh_load mode=%s cold=%s initiators=%d recipients=%d seconds=%.1f\n",
              o.mode.c_str(), o.cold ? "on" : "off", o.initiators, o.recipients, r.seconds);
  std::printf("  Ed25519 signatures (SPK; PoP in full mode): %llu verified in full, %llu from the cache\n",
              static_cast<unsigned long long>(spk1.misses - spk0.misses),
              static_cast<unsigned long long>(spk1.hits - spk0.hits));
  std::printf("  handshakes: %llu ok, %llu failed, %llu without OPK (3-DH)%s%s\n",
              static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.failed),
              static_cast<unsigned long long>(r.without_opk), r.first_error.empty() ? "" : "; first error: ",
              r.first_error.c_str());
  std::printf("  rate: %.0f handshakes/s (target >= 1500)  latency p50 %.2f ms p99 %.2f ms\n", rate,
              Percentile(r.latencies_ms, 0.5), Percentile(r.latencies_ms, 0.99));
  const double capacity = 2e6 / (client_us + server_us);
  std::printf("  CPU per handshake: client %.0f us, server %.0f us (user + sys); 2 cores at 100%% "
              "would sustain %.0f handshakes/s (rate / that = %.2f)\n",
              client_us, server_us, capacity, rate / capacity);
  std::printf("    of which kernel (sys): client %.0f us, server %.0f us\n",
              (client_cpu1.sys - client_cpu0.sys) * per, (server_cpu1.sys - server_cpu0.sys) * per);
  std::printf("  bound (same run): client verify + Initiate alone, no network/server, all cores: "
              "%.0f /s; ratio %.2f\n", bound, rate / bound);
  log.value()->Signal(SIGTERM);
  log.value()->Wait(std::chrono::seconds(20));
  std::filesystem::remove_all(dir);
  return r.failed == 0 ? 0 : 1;
}
