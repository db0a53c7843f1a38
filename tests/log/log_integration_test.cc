// SPDX-License-Identifier: Apache-2.0
// Integration tests with the real ktlog binary on loopback: bindings end to
// end (every proof checked by core), adversarial inputs, tiles and proofs
// against core's authenticated tile reader, `ktlog export`, and SIGKILL
// during sustained writes followed by a restart.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/merkle.h"
#include "core/policy.h"
#include "core/proof.h"
#include "core/tile.h"
#include "core/tlog_proof.h"
#include "net/http_client.h"
#include "tests/log/binding_testing.h"
#include "tests/log/node_testing.h"
#include "tests/testing/vectors.h"

namespace kt::testing {
namespace {

using nlohmann::json;
using core::Status;

core::Policy LogOnlyPolicy(const std::string& vkey) {
  auto p = core::ParsePolicy("log " + vkey + "\nquorum none\n");
  KT_CHECK(p.ok());
  return *p;
}

struct Answer {
  int status = 0;
  json body;
};

Answer PostJson(net::HttpClient& client, const std::string& url, const std::string& body,
                bool as_operator = false) {
  net::Headers h;
  if (as_operator) h.emplace("Authorization", std::string("Bearer ") + kTestToken);
  auto r = client.Post(url, body, "application/json", h);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  json j = json::parse(r->body, nullptr, false);
  return {r->status, j};
}

Answer Post(net::HttpClient& client, LogProcess& log, const json& body, bool as_operator = false) {
  return PostJson(client, log.Url("/v1/bindings"), body.dump(), as_operator);
}

// VerifyAnswer checks a 200 binding answer's tlog-proof with core.
void VerifyAnswer(const Answer& a, const core::Policy& policy) {
  ASSERT_EQ(a.status, 200) << a.body.dump();
  auto v = core::VerifyTlogProof(a.body["proof"].get<std::string>(), policy, core::UnixSeconds());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(core::Base64Encode(v->proof.extra), a.body["entry"]);
  EXPECT_EQ(v->proof.index, a.body["index"].get<uint64_t>());
}

core::VerifiedCheckpoint FetchCheckpoint(net::HttpClient& client, LogProcess& log,
                                         const core::Policy& policy) {
  auto r = client.Get(log.Url("/checkpoint"));
  KT_CHECK(r.ok() && r->status == 200);
  auto v = core::VerifyCheckpoint(r->body, core::LogKeys(policy), core::WitnessKeys(policy));
  KT_CHECK(v.ok());
  return *v;
}

class LogIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("ktlog-it");
    log_ = std::make_unique<LogProcess>(dir_);
    policy_.emplace(LogOnlyPolicy(log_->vkey()));
  }
  std::string dir_;
  std::unique_ptr<LogProcess> log_;
  std::optional<core::Policy> policy_;
  net::HttpClient client_;
};

TEST_F(LogIntegrationTest, BindingsEndToEnd) {
  ASSERT_NO_FATAL_FAILURE(log_->Start());
  const std::string user = "alice@example.org";
  TestDevice phone{"phone"}, laptop{"laptop"};
  Answer a0 = Post(client_, *log_, SetRequest(user, phone), true);
  VerifyAnswer(a0, *policy_);
  Answer a1 = Post(client_, *log_, SetRequest(user, laptop, 1, {&phone}));
  VerifyAnswer(a1, *policy_);
  TestDevice phone2{"phone"};
  Answer a2 = Post(client_, *log_, SetRequest(user, phone2, 2, {&phone}));
  VerifyAnswer(a2, *policy_);
  // Replaying a1 as is: the old phone key no longer endorses (422 wins).
  Answer replay = Post(client_, *log_, SetRequest(user, laptop, 1, {&phone}));
  EXPECT_EQ(replay.status, 422) << replay.body.dump();
  // A valid endorsement bound to a stale prev: 409.
  Answer stale = Post(client_, *log_, SetRequest(user, laptop, 1, {&phone2}));
  EXPECT_EQ(stale.status, 409) << stale.body.dump();
  Answer a3 = Post(client_, *log_, RevokeRequest(user, "laptop", 3, {&phone2}));
  VerifyAnswer(a3, *policy_);
  // Lookup: only the rotated phone is current.
  auto r = client_.Get(log_->Url("/v1/lookup?user=alice%40example.org"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  json lj = json::parse(r->body);
  ASSERT_EQ(lj["devices"].size(), 1u);
  EXPECT_EQ(lj["devices"][0]["index"], 2);
  auto lv = core::VerifyTlogProof(lj["devices"][0]["proof"].get<std::string>(), *policy_,
                                  core::UnixSeconds());
  ASSERT_TRUE(lv.ok()) << lv.status().ToString();
  auto entry = core::DecodeEntry(lv->proof.extra);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->identity_key, phone2.key.public_key());
  // History: four entries chained by prev.
  r = client_.Get(log_->Url("/v1/history?user=alice%40example.org"));
  ASSERT_TRUE(r.ok());
  json hj = json::parse(r->body);
  ASSERT_EQ(hj["entries"].size(), 4u);
  for (size_t i = 0; i < 4; i++) {
    auto e = core::DecodeEntry(*core::Base64Decode(hj["entries"][i]["entry"].get<std::string>()));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->prev, i);  // 1 + index of the previous entry (indexes 0..3)
  }
  // Clean shutdown on SIGTERM.
  log_->Terminate();
}

TEST_F(LogIntegrationTest, AdversarialInputs) {
  ASSERT_NO_FATAL_FAILURE(log_->Start());
  const std::string user = "mallory-target";
  TestDevice phone{"phone"}, laptop{"laptop"}, attacker{"evil"};
  VerifyAnswer(Post(client_, *log_, SetRequest(user, phone), true), *policy_);
  VerifyAnswer(Post(client_, *log_, SetRequest(user, laptop, 1, {&phone})), *policy_);
  uint64_t size_before = FetchCheckpoint(client_, *log_, *policy_).checkpoint.size;

  // Bad PoP.
  json bad_pop = SetRequest(user, attacker, 2, {&phone});
  bad_pop["possession_sig"] = B64(attacker.key.Sign(core::AsBytes("not the pop message")));
  EXPECT_EQ(Post(client_, *log_, bad_pop).status, 422);
  // Forged endorsement: "phone" signed by the attacker's key.
  TestDevice fake_phone{"phone"};
  EXPECT_EQ(Post(client_, *log_, SetRequest(user, attacker, 2, {&fake_phone})).status, 422);
  // Oversized user id.
  json oversized = SetRequest(user, attacker);
  oversized["user"] = std::string(256, 'u');
  EXPECT_EQ(Post(client_, *log_, oversized, true).status, 400);
  // Garbage JSON, wrong types, huge body.
  EXPECT_EQ(PostJson(client_, log_->Url("/v1/bindings"), "{\"kind\":", true).status, 400);
  EXPECT_EQ(PostJson(client_, log_->Url("/v1/bindings"), "\xff\xfe", true).status, 400);
  EXPECT_EQ(PostJson(client_, log_->Url("/v1/bindings"), "[1,2,3]").status, 400);
  auto big = client_.Post(log_->Url("/v1/bindings"), std::string(2 << 20, ' '), "application/json");
  ASSERT_TRUE(big.ok());
  EXPECT_GE(big->status, 400);
  EXPECT_LT(big->status, 500);
  // No token for a new device, and a wrong token.
  EXPECT_EQ(Post(client_, *log_, SetRequest("new-user", attacker)).status, 403);
  net::Headers wrong = {{"Authorization", "Bearer not-the-operator-token"}};
  auto w = client_.Post(log_->Url("/v1/bindings"), SetRequest("new-user", attacker).dump(),
                        "application/json", wrong);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, 401);
  // Revoke the phone, then the revoked phone tries to endorse.
  VerifyAnswer(Post(client_, *log_, RevokeRequest(user, "phone", 2, {&laptop})), *policy_);
  EXPECT_EQ(Post(client_, *log_, SetRequest(user, attacker, 3, {&phone})).status, 422);
  // Every refusal left the log unchanged (one revoke was accepted).
  uint64_t size_after = FetchCheckpoint(client_, *log_, *policy_).checkpoint.size;
  EXPECT_EQ(size_after, size_before + 1);
  // Bad query parameters and paths.
  for (const char* path : {"/v1/lookup", "/v1/lookup?user=", "/v1/proof/inclusion?index=x",
                           "/v1/proof/inclusion?index=0&size=999", "/v1/proof/consistency?old=5&size=2",
                           "/tile/0/1", "/tile/0/000.p/0", "/tile/entries/x"}) {
    auto r = client_.Get(log_->Url(path));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << path << " " << r->body;
    json e = json::parse(r->body, nullptr, false);
    EXPECT_TRUE(e.is_object() && e.contains("error") && e.contains("code")) << r->body;
  }
  auto health = client_.Get(log_->Url("/healthz"));
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

TEST_F(LogIntegrationTest, TilesProofsAndExportAgreeWithCore) {
  ASSERT_NO_FATAL_FAILURE(log_->Start());
  // 300 entries from 6 concurrent operators.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; t++) {
    threads.emplace_back([&, t] {
      net::HttpClient c;
      for (int i = 0; i < 50; i++) {
        TestDevice d{"d"};
        if (Post(c, *log_, SetRequest("u" + std::to_string(t) + "-" + std::to_string(i), d), true)
                .status == 200) {
          ok++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(ok.load(), 300);
  core::VerifiedCheckpoint cp = FetchCheckpoint(client_, *log_, *policy_);
  ASSERT_EQ(cp.checkpoint.size, 300u);
  // Authenticated tile reads: TileHashReader checks every tile against the root.
  HttpTileReader tiles(client_, log_->Url(""));
  core::TileHashReader reader(cp.checkpoint.size, cp.checkpoint.root, tiles);
  for (uint64_t index : {0u, 1u, 255u, 256u, 299u}) {
    auto proof = core::ProveRecord(300, index, reader);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    auto r = client_.Get(log_->Url("/v1/proof/inclusion?index=" + std::to_string(index) +
                                   "&size=300"));
    ASSERT_TRUE(r.ok());
    json j = json::parse(r->body);
    ASSERT_EQ(j["proof"].size(), proof->size());
    for (size_t i = 0; i < proof->size(); i++) {
      EXPECT_EQ(j["proof"][i], core::Base64Encode((*proof)[i]));
    }
  }
  // Entry bundles hash to the level-0 tiles.
  struct Bundle {
    const char* path;
    uint64_t first, count;
  };
  for (const Bundle& b : {Bundle{"/tile/entries/000", 0, 256}, Bundle{"/tile/entries/001.p/44", 256, 44}}) {
    auto r = client_.Get(log_->Url(b.path));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200);
    auto entries = core::DecodeEntryBundle(core::AsBytes(r->body), b.count);
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    uint64_t first = b.first;
    std::vector<uint64_t> idx;
    for (uint64_t i = 0; i < entries->size(); i++) idx.push_back(core::StoredHashIndex(0, first + i));
    std::vector<core::Hash> hashes;
    ASSERT_TRUE(reader.ReadHashes(idx, &hashes).ok());
    for (size_t i = 0; i < entries->size(); i++) {
      EXPECT_EQ(core::RecordHash((*entries)[i]), hashes[i]);
    }
  }
  // Consistency between two served sizes.
  auto r = client_.Get(log_->Url("/v1/proof/consistency?old=100&size=300"));
  ASSERT_TRUE(r.ok());
  json cj = json::parse(r->body);
  auto expect = core::ProveTree(300, 100, reader);
  ASSERT_TRUE(expect.ok());
  ASSERT_EQ(cj["proof"].size(), expect->size());
  // ktlog export writes the same files.
  log_->Terminate();
  std::string web = dir_ + "/web";
  RunTool("ktlog", {"export", "--data", dir_ + "/data", "--out", web});
  ASSERT_NO_FATAL_FAILURE(log_->Start());
  for (const core::Tile& t : core::TilesForSize(300)) {
    auto body = store::ReadFile(web + "/" + core::TilePath(t));
    ASSERT_TRUE(body.ok()) << core::TilePath(t);
    auto served = client_.Get(log_->Url("/" + core::TilePath(t)));
    ASSERT_TRUE(served.ok());
    EXPECT_TRUE(*body == served->body) << core::TilePath(t);
  }
  auto exported_cp = store::ReadFile(web + "/checkpoint");
  ASSERT_TRUE(exported_cp.ok());
  EXPECT_TRUE(core::VerifyCheckpoint(*exported_cp, core::LogKeys(*policy_), {}).ok());
}

TEST_F(LogIntegrationTest, SigkillDuringWritesLosesNothingAcknowledged) {
  ASSERT_NO_FATAL_FAILURE(log_->Start());
  std::mutex mu;
  std::map<uint64_t, std::string> acked;        // index -> entry (b64)
  std::map<uint64_t, core::Hash> checkpoints;   // every checkpoint served
  std::atomic<bool> stop{false};
  auto record_checkpoint = [&](net::HttpClient& c) {
    auto r = c.Get(log_->Url("/checkpoint"));
    if (!r.ok() || r->status != 200) return;
    auto v = core::VerifyCheckpoint(r->body, core::LogKeys(*policy_), {});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    std::lock_guard<std::mutex> lk(mu);
    auto [it, inserted] = checkpoints.emplace(v->checkpoint.size, v->checkpoint.root);
    EXPECT_EQ(it->second, v->checkpoint.root) << "two roots for size " << v->checkpoint.size;
  };
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; t++) {
    writers.emplace_back([&, t] {
      net::HttpClientOptions o;
      o.read_timeout = std::chrono::milliseconds(5000);
      net::HttpClient c(o);
      for (int i = 0; i < 100000 && !stop; i++) {
        TestDevice d{"d"};
        json req = SetRequest("w" + std::to_string(t) + "-" + std::to_string(i), d);
        net::Headers h = {{"Authorization", std::string("Bearer ") + kTestToken}};
        auto r = c.Post(log_->Url("/v1/bindings"), req.dump(), "application/json", h);
        if (!r.ok()) continue;  // the node died mid-request: not acknowledged
        if (r->status != 200) continue;
        json j = json::parse(r->body);
        std::lock_guard<std::mutex> lk(mu);
        acked[j["index"].get<uint64_t>()] = j["entry"].get<std::string>();
      }
    });
  }
  std::thread reader([&] {
    net::HttpClient c;
    for (int i = 0; i < 100000 && !stop; i++) {
      record_checkpoint(c);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  // Let the load run until a good number of entries were acknowledged
  // (bounded), then SIGKILL the node mid-load.
  for (int i = 0; i < 3000; i++) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (acked.size() >= 400) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  log_->process()->Signal(SIGKILL);
  log_->Kill();
  stop = true;
  for (auto& w : writers) w.join();
  reader.join();
  ASSERT_GE(acked.size(), 1u);

  ASSERT_NO_FATAL_FAILURE(log_->Start());
  net::HttpClient c;
  record_checkpoint(c);
  core::VerifiedCheckpoint head = FetchCheckpoint(c, *log_, *policy_);
  // Every acknowledged entry is present at its index.
  HttpTileReader tiles(c, log_->Url(""));
  core::TileHashReader reader2(head.checkpoint.size, head.checkpoint.root, tiles);
  std::vector<uint64_t> idx;
  std::vector<core::Hash> want;
  for (const auto& [index, entry] : acked) {
    ASSERT_LT(index, head.checkpoint.size);
    idx.push_back(core::StoredHashIndex(0, index));
    want.push_back(core::RecordHash(*core::Base64Decode(entry)));
  }
  std::vector<core::Hash> got;
  ASSERT_TRUE(reader2.ReadHashes(idx, &got).ok());
  EXPECT_TRUE(got == want);
  // The tree is consistent with every checkpoint ever served.
  for (const auto& [size, root] : checkpoints) {
    auto r = c.Get(log_->Url("/v1/proof/consistency?old=" + std::to_string(size) +
                             "&size=" + std::to_string(head.checkpoint.size)));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
    core::ConsistencyProof p{size, head.checkpoint.size, {}};
    json body = json::parse(r->body);
    for (const auto& h : body["proof"]) {
      auto b = core::Base64Decode(h.get<std::string>());
      ASSERT_TRUE(b.ok() && b->size() == 32);
      core::Hash hash;
      std::copy(b->begin(), b->end(), hash.begin());
      p.path.push_back(hash);
    }
    Status vs = core::VerifyConsistency(p, root, head.checkpoint.root);
    EXPECT_TRUE(vs.ok()) << size << " -> " << head.checkpoint.size << ": " << vs.ToString();
  }
  // And the restarted node keeps accepting writes.
  TestDevice d{"d"};
  VerifyAnswer(Post(c, *log_, SetRequest("after-restart", d), true), *policy_);
}

}  // namespace
}  // namespace kt::testing
