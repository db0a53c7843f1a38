// SPDX-License-Identifier: Apache-2.0
// Integration tests: the real ktwitness binary on 127.0.0.1, driven over HTTP
// (keygen, every status code, 50 racing clients, SIGKILL mid-stream and
// restart, garbage bodies, untrusted keys, rate limit, config file, SIGTERM).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/checkpoint.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/keys.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "tests/testing/process.h"
#include "tests/testing/vectors.h"
#include "tests/witness/witness_testing.h"

namespace kt::witness {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TestLog;

std::string OriginPath(const std::string& origin) {
  return "/" + core::HexEncode(core::Sha256(core::AsBytes(origin))) + "/checkpoint";
}

// Keygen runs `ktwitness keygen` and returns the printed vkey.
std::string Keygen(const std::string& name, const std::string& out) {
  auto p = ChildProcess::Start(testing::BinaryPath("ktwitness"),
                               {"keygen", "--name", name, "--out", out});
  KT_CHECK(p.ok());
  auto st = (*p)->Wait(20s);
  EXPECT_TRUE(st && st->Success()) << (*p)->Stderr();
  std::string vkey = (*p)->Stdout();
  while (!vkey.empty() && vkey.back() == '\n') vkey.pop_back();
  return vkey;
}

class WitnessIntegrationTest : public ::testing::Test {
 protected:
  WitnessIntegrationTest()
      : dir_(testing::TempDir("wint")), log_("example.com/log"), other_("other.example/log") {}

  void SetUp() override {
    key_file_ = dir_ + "/witness.key";
    vkey_ = Keygen("witness.example/w1", key_file_);
    auto v = core::ParseVerifierKey(vkey_);
    ASSERT_TRUE(v.ok()) << vkey_;
    wkeys_.push_back(*v);
  }

  std::vector<std::string> ServeArgs(int port) {
    std::vector<std::string> a = {"serve",       "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--data",      dir_ + "/data", "--key", key_file_,
                                  "--trust-log", log_.vkey(), "--trust-log", other_.vkey()};
    a.insert(a.end(), extra_args_.begin(), extra_args_.end());
    return a;
  }

  void Start() {
    port_ = testing::PickFreePort();
    ASSERT_GT(port_, 0);
    auto p = ChildProcess::Start(testing::BinaryPath("ktwitness"), ServeArgs(port_));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    proc_ = std::move(p).value();
    ASSERT_TRUE(testing::WaitForHttpReady("127.0.0.1", port_, "/healthz", 10s))
        << proc_->Stderr();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  net::HttpResponse Post(const std::string& body, net::HttpClient* client = nullptr) {
    net::HttpClient& c = client != nullptr ? *client : client_;
    auto r = c.Post(Url("/add-checkpoint"), body, "text/plain");
    KT_CHECK(r.ok());
    return *r;
  }

  net::HttpResponse Get(const std::string& path) {
    auto r = client_.Get(Url(path));
    KT_CHECK(r.ok());
    return *r;
  }

  // StoredSize fetches GET /<hash>/checkpoint and verifies it (log signature
  // and our cosignature); -1 for 404.
  int64_t StoredSize(TestLog& log) {
    net::HttpResponse r = Get(OriginPath(log.origin()));
    if (r.status == 404) return -1;
    EXPECT_EQ(r.status, 200) << r.body;
    const std::vector<core::VerifierKey> lk{log.key().Verifier()};
    auto v = core::VerifyCheckpoint(r.body, lk, wkeys_);
    EXPECT_TRUE(v.ok()) << v.status().ToString() << "\n" << r.body;
    if (!v.ok()) return -2;
    EXPECT_EQ(v->note.cosignatures.size(), 1u);
    return static_cast<int64_t>(v->checkpoint.size);
  }

  void ExpectCosigned(const net::HttpResponse& r, const std::string& signed_note) {
    ASSERT_EQ(r.status, 200) << r.body;
    const std::vector<core::VerifierKey> lk{log_.key().Verifier(), other_.key().Verifier()};
    auto v = core::VerifyCheckpoint(signed_note + r.body, lk, wkeys_);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->note.cosignatures.size(), wkeys_.size());
  }

  std::string dir_;
  TestLog log_;
  TestLog other_;
  std::string key_file_;
  std::string vkey_;
  std::vector<core::VerifierKey> wkeys_;
  std::vector<std::string> extra_args_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
  net::HttpClient client_;
};

TEST_F(WitnessIntegrationTest, KeygenWritesPrivateKeyFileAndPrintsVkey) {
  struct stat st {};
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(wkeys_[0].type, core::kSigTypeCosignatureV1);
  EXPECT_EQ(wkeys_[0].name, "witness.example/w1");
  auto text = store::ReadSecretFile(key_file_);
  ASSERT_TRUE(text.ok());
  auto key = core::ParseSignerKey(*text);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->VerifierKeyString(), vkey_);
  // keygen refuses to overwrite an existing key.
  auto p = ChildProcess::Start(testing::BinaryPath("ktwitness"),
                               {"keygen", "--name", "x", "--out", key_file_});
  ASSERT_TRUE(p.ok());
  auto exit = (*p)->Wait(20s);
  ASSERT_TRUE(exit);
  EXPECT_FALSE(exit->Success());
}

TEST_F(WitnessIntegrationTest, RefusesKeyFileReadableByOthers) {
  ASSERT_EQ(::chmod(key_file_.c_str(), 0644), 0);
  auto p = ChildProcess::Start(testing::BinaryPath("ktwitness"), ServeArgs(testing::PickFreePort()));
  ASSERT_TRUE(p.ok());
  auto exit = (*p)->Wait(20s);
  ASSERT_TRUE(exit) << "ktwitness served with a 0644 key file";
  EXPECT_FALSE(exit->Success());
  EXPECT_NE((*p)->Stderr().find("600"), std::string::npos) << (*p)->Stderr();
}

TEST_F(WitnessIntegrationTest, EveryStatusCodeOverHttp) {
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(StoredSize(log_), -1);
  ExpectCosigned(Post(log_.Request(0, 5)), log_.Signed(5));
  EXPECT_EQ(StoredSize(log_), 5);
  // 409: stored size and a newline, text/x.tlog.size.
  net::HttpResponse conflict = Post(log_.Request(3, 9));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body, "5\n");
  EXPECT_EQ(conflict.Header("Content-Type"), "text/x.tlog.size");
  // 400 malformed, 400 old > size.
  EXPECT_EQ(Post("old 5\n").status, 400);
  EXPECT_EQ(Post(TestLog::RequestWith(9, {}, log_.Signed(8))).status, 400);
  // 404 unknown origin, 403 untrusted key.
  TestLog unknown("unknown.example/log"), impostor("example.com/log");
  EXPECT_EQ(Post(unknown.Request(0, 1)).status, 404);
  EXPECT_EQ(Post(impostor.Request(5, 9)).status, 403);
  // 422 bad proof; evidence exposed.
  std::vector<core::Hash> bogus = log_.Proof(5, 9);
  bogus[0][0] ^= 1;
  EXPECT_EQ(Post(TestLog::RequestWith(5, bogus, log_.Signed(9))).status, 422);
  net::HttpResponse ev = Get("/evidence");
  EXPECT_EQ(ev.status, 200);
  EXPECT_NE(ev.body.find("consistency_proof_failed"), std::string::npos) << ev.body;
  // 200 again with the right proof; the other log is independent.
  ExpectCosigned(Post(log_.Request(5, 9)), log_.Signed(9));
  ExpectCosigned(Post(other_.Request(0, 0)), other_.Signed(0));
  EXPECT_EQ(StoredSize(log_), 9);
  EXPECT_EQ(StoredSize(other_), 0);
  EXPECT_EQ(Get("/not-a-route").status, 404);
  EXPECT_EQ(Get(OriginPath("unknown.example/log")).status, 404);
  // Metrics count outcomes and cosignatures.
  net::HttpResponse m = Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("kt_witness_add_checkpoint_requests_total{code=\"409\""), std::string::npos);
  EXPECT_NE(m.body.find("kt_witness_cosignatures_total 3"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("kt_witness_add_checkpoint_seconds_bucket"), std::string::npos);
}

TEST_F(WitnessIntegrationTest, FiftyConcurrentClientsRaceWithSameOldSize) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Post(log_.Request(0, 10)).status, 200);
  constexpr int kClients = 50;
  std::vector<std::string> bodies;
  for (int i = 0; i < kClients; ++i) bodies.push_back(log_.Request(10, 11 + static_cast<uint64_t>(i)));
  std::vector<net::HttpResponse> results(kClients);
  std::vector<std::string> errors(kClients);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      net::HttpClient own;  // one connection per client
      ready.fetch_add(1);
      while (ready.load() < kClients) std::this_thread::yield();
      auto r = own.Post(Url("/add-checkpoint"), bodies[i], "text/plain");
      if (r.ok()) {
        results[i] = *r;
      } else {
        errors[i] = r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  int64_t winner = -1;
  for (int i = 0; i < kClients; ++i) {
    if (results[i].status == 200) {
      ++ok;
      winner = 11 + i;
    }
  }
  ASSERT_EQ(ok, 1);
  for (int i = 0; i < kClients; ++i) {
    if (results[i].status == 200) continue;
    EXPECT_EQ(results[i].status, 409) << results[i].body << errors[i];
    EXPECT_EQ(results[i].body, std::to_string(winner) + "\n");
  }
  EXPECT_EQ(StoredSize(log_), winner);
}

TEST_F(WitnessIntegrationTest, SigkillMidStreamLosesNoAcknowledgedCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // Four submitters, each following its own log, as fast as they can.
  std::vector<std::unique_ptr<TestLog>> logs;
  for (int i = 0; i < 4; ++i) logs.push_back(std::make_unique<TestLog>("kill" + std::to_string(i) + ".example/log"));
  extra_args_.clear();
  for (auto& l : logs) {
    extra_args_.push_back("--trust-log");
    extra_args_.push_back(l->vkey());
  }
  proc_->Signal(SIGTERM);
  ASSERT_TRUE(proc_->Wait(20s));
  ASSERT_NO_FATAL_FAILURE(Start());
  for (auto& l : logs) l->GrowTo(4000);

  std::vector<uint64_t> acked(logs.size(), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> total_acks{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < logs.size(); ++i) {
    threads.emplace_back([&, i] {
      net::HttpClientOptions o;
      o.read_timeout = 5000ms;
      net::HttpClient own(o);
      uint64_t size = 0;
      for (int n = 0; n < 3000 && !stop.load(); ++n) {
        const uint64_t next = size + 1;
        auto r = own.Post(Url("/add-checkpoint"), logs[i]->Request(size, next), "text/plain");
        if (!r.ok()) break;  // the witness died
        if (r->status != 200) {
          ADD_FAILURE() << "status " << r->status << ": " << r->body;
          break;
        }
        acked[i] = size = next;
        total_acks.fetch_add(1);
      }
    });
  }
  // Kill once requests are flowing (bounded wait), mid-stream.
  for (int i = 0; i < 20000 && total_acks.load() < 200; ++i) std::this_thread::sleep_for(1ms);
  proc_->Kill();
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(proc_->Wait(20s));
  ASSERT_GE(total_acks.load(), 1);

  ASSERT_NO_FATAL_FAILURE(Start());
  for (size_t i = 0; i < logs.size(); ++i) {
    const int64_t stored = StoredSize(*logs[i]);
    // Every 200 is reflected: the stored size is the last acknowledged one, or
    // the one after it if that commit landed but its answer was cut off.
    EXPECT_TRUE(stored == static_cast<int64_t>(acked[i]) ||
                stored == static_cast<int64_t>(acked[i]) + 1)
        << "log " << i << ": acked " << acked[i] << ", stored " << stored;
    // And the chain continues from there.
    if (stored >= 0) {
      const uint64_t s = static_cast<uint64_t>(stored);
      EXPECT_EQ(Post(logs[i]->Request(s, s + 5)).status, 200);
    }
  }
}

TEST_F(WitnessIntegrationTest, GarbageBodiesNeverChangeState) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Post(log_.Request(0, 7)).status, 200);
  std::mt19937 rng(42);
  const std::string valid = log_.Request(7, 12);
  for (int i = 0; i < 200; ++i) {
    std::string body;
    switch (i % 4) {
      case 0:  // random bytes
        body.resize(rng() % 512);
        for (char& c : body) c = static_cast<char>(rng());
        break;
      case 1:  // a valid body with random bytes overwritten
        body = valid;
        for (int k = 0; k < 3; ++k) body[rng() % body.size()] = static_cast<char>(rng());
        break;
      case 2:  // truncated
        body = valid.substr(0, rng() % valid.size());
        break;
      default:  // valid prefix, random tail
        body = valid.substr(0, valid.size() / 2) + std::string(rng() % 64, static_cast<char>(rng()));
    }
    net::HttpResponse r = Post(body);
    EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404 || r.status == 409 ||
                r.status == 422)
        << r.status << " for garbage #" << i;
  }
  // Over the body limit: 413 from the server, connection still usable.
  EXPECT_EQ(Post(std::string(70000, 'x')).status, 413);
  EXPECT_EQ(Post("").status, 400);
  EXPECT_EQ(StoredSize(log_), 7);
  ExpectCosigned(Post(valid), log_.Signed(12));
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(WitnessIntegrationTest, UntrustedLogKeyIsForbidden) {
  ASSERT_NO_FATAL_FAILURE(Start());
  TestLog impostor("example.com/log");  // same origin, key not trusted
  net::HttpResponse r = Post(impostor.Request(0, 3));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(StoredSize(log_), -1);
  EXPECT_EQ(Get("/evidence").body, "[]\n");
}

TEST_F(WitnessIntegrationTest, RateLimitPerOrigin) {
  extra_args_ = {"--rate-limit", "1"};
  ASSERT_NO_FATAL_FAILURE(Start());
  int limited = 0;
  uint64_t size = 0;
  for (int i = 0; i < 20; ++i) {
    net::HttpResponse r = Post(log_.Request(size, size + 1));
    if (r.status == 429) {
      ++limited;
    } else {
      ASSERT_EQ(r.status, 200) << r.body;
      ++size;
    }
  }
  EXPECT_GT(limited, 0);
  // Another origin has its own budget.
  EXPECT_EQ(Post(other_.Request(0, 1)).status, 200);
}

TEST_F(WitnessIntegrationTest, ConfigFileAndKeyRotation) {
  const std::string key2 = dir_ + "/witness2.key";
  auto v2 = core::ParseVerifierKey(Keygen("witness.example/w2", key2));
  ASSERT_TRUE(v2.ok());
  wkeys_.push_back(*v2);
  const std::string conf = dir_ + "/witness.conf";
  port_ = testing::PickFreePort();
  ASSERT_TRUE(store::WriteFileAtomic(conf, "# test\nlisten 127.0.0.1:" + std::to_string(port_) +
                                               "\ndata " + dir_ + "/data\nkey " + key_file_ +
                                               "\nkey " + key2 + "\ntrust-log " + log_.vkey() +
                                               "\n")
                  .ok());
  auto p = ChildProcess::Start(testing::BinaryPath("ktwitness"), {"serve", "--config", conf});
  ASSERT_TRUE(p.ok());
  proc_ = std::move(p).value();
  ASSERT_TRUE(testing::WaitForHttpReady("127.0.0.1", port_, "/healthz", 10s)) << proc_->Stderr();
  net::HttpResponse r = Post(log_.Request(0, 4));
  ExpectCosigned(r, log_.Signed(4));  // both keys cosign
  EXPECT_EQ(Post(other_.Request(0, 1)).status, 404);  // not trusted by this config
}

TEST_F(WitnessIntegrationTest, SigtermShutsDownCleanly) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_EQ(Post(log_.Request(0, 3)).status, 200);
  proc_->Signal(SIGTERM);
  auto exit = proc_->Wait(20s);
  ASSERT_TRUE(exit) << "ktwitness did not exit after SIGTERM";
  EXPECT_TRUE(exit->Success()) << exit->ToString() << "\n" << proc_->Stderr();
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(StoredSize(log_), 3);
}

}  // namespace
}  // namespace kt::witness
