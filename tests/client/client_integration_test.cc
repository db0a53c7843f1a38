// SPDX-License-Identifier: Apache-2.0
// Integration tests of the real `kt` binary against the real `ktlog` binary
// on loopback, directly and through an adversarial proxy (an httplib server
// in this test that forwards to the real log and tampers with answers: a key
// swap in lookup, a forked checkpoint signed with the real log key, a
// rollback, a dropped history entry, a tile that does not match). Each must
// be detected with the right exit code; the monitor must alert on a device
// the operator added quietly.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "client/errors.h"
#include "core/checkpoint.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "tests/client/proxy.h"
#include "tests/log/binding_testing.h"
#include "tests/log/node_testing.h"
#include "tests/testing/process.h"
#include "tests/testing/vectors.h"

namespace kt::testing {
namespace {

using nlohmann::json;

struct KtResult {
  int code = -1;
  std::string out, err;
};

class ClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("client-int");
    log_ = std::make_unique<LogProcess>(dir_);
    log_->Start();
    policy_ = dir_ + "/policy.txt";
    ASSERT_TRUE(store::WriteFileAtomic(policy_, "log " + log_->vkey() + "\nquorum none\n").ok());
    // alice: phone (operator, first device), laptop endorsed by phone.
    auto a = Post(SetRequest("alice", phone_), true);
    ASSERT_EQ(a.first, 200) << a.second.dump();
    phone_index_ = a.second["index"].get<uint64_t>();
    auto b = Post(SetRequest("alice", laptop_, phone_index_ + 1, {&phone_}));
    ASSERT_EQ(b.first, 200) << b.second.dump();
    laptop_proof_ = b.second["proof"].get<std::string>();
    auto c = Post(SetRequest("bob", bob_), true);
    ASSERT_EQ(c.first, 200) << c.second.dump();
  }
  std::pair<int, json> Post(const json& body, bool as_operator = false) {
    net::Headers h;
    if (as_operator) h.emplace("Authorization", std::string("Bearer ") + kTestToken);
    auto r = http_.Post(log_->Url("/v1/bindings"), body.dump(), "application/json", h);
    if (!r.ok()) return {0, json()};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  KtResult Kt(const std::string& state, const std::string& url, std::vector<std::string> args) {
    std::vector<std::string> all = {"--policy", policy_, "--log", url, "--state", dir_ + "/" + state};
    all.insert(all.end(), args.begin(), args.end());
    auto p = ChildProcess::Start(BinaryPath("kt"), all);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return {};
    auto st = (*p)->Wait(std::chrono::seconds(60));
    EXPECT_TRUE(st.has_value() && st->exited) << "kt did not finish";
    return {st && st->exited ? st->code : -1, (*p)->Stdout(), (*p)->Stderr()};
  }
  std::string LogUrl() const { return log_->Url(""); }

  std::string dir_, policy_, laptop_proof_;
  uint64_t phone_index_ = 0;
  std::unique_ptr<LogProcess> log_;
  net::HttpClient http_;
  TestDevice phone_{"phone"}, laptop_{"laptop"}, bob_{"pc"};
};

TEST_F(ClientIntegrationTest, CommandsAgainstRealLog) {
  KtResult r = Kt("s", LogUrl(), {"checkpoint"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("size:      3"), std::string::npos) << r.out;
  r = Kt("s", LogUrl(), {"lookup", "alice"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("laptop"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(core::Base64Encode(laptop_.key.public_key())), std::string::npos);
  r = Kt("s", LogUrl(), {"history", "alice", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json h = json::parse(r.out);
  ASSERT_EQ(h["entries"].size(), 2u);
  EXPECT_EQ(h["entries"][1]["endorsed_by"][0], "phone");
  ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/laptop.tlog-proof", laptop_proof_).ok());
  r = Kt("s", LogUrl(), {"verify-proof", dir_ + "/laptop.tlog-proof"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Kt("s", LogUrl(), {"audit", "--verify-signatures", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["entries"], 3);
  r = Kt("s", LogUrl(), {"lookup", "nobody"});
  EXPECT_EQ(r.code, client::kExitNetwork) << r.err;
  r = Kt("s", "http://127.0.0.1:1", {"checkpoint"});
  EXPECT_EQ(r.code, client::kExitNetwork) << r.err;
}

TEST_F(ClientIntegrationTest, AdversarialProxyIsDetected) {
  Proxy proxy(LogUrl());
  // Key swap: the proxy replaces alice's laptop key in the lookup answer.
  proxy.Set([&](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (!target.starts_with("/v1/lookup")) return std::nullopt;
    json j = json::parse(body);
    for (auto& d : j["devices"]) {
      auto e = core::DecodeEntry(core::Base64Decode(d["entry"].get<std::string>()).value()).value();
      core::Ed25519Signer evil = core::Ed25519Signer::Generate();
      e.identity_key = evil.public_key();
      auto pop = evil.Sign(core::PopMessage(e.user, e.device, e.identity_key));
      e.possession_sig.assign(pop.begin(), pop.end());
      d["entry"] = core::Base64Encode(core::EncodeEntry(e).value());
    }
    return j.dump();
  });
  KtResult r = Kt("swap", proxy.Url(), {"lookup", "alice"});
  EXPECT_EQ(r.code, client::kExitVerification) << r.err;

  // Dropped history entry.
  proxy.Set([&](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (!target.starts_with("/v1/history")) return std::nullopt;
    json j = json::parse(body);
    j["entries"].erase(0);
    return j.dump();
  });
  r = Kt("drop", proxy.Url(), {"lookup", "alice"});
  EXPECT_EQ(r.code, client::kExitVerification) << r.err;
  EXPECT_NE(r.err.find("prev"), std::string::npos) << r.err;

  // A tile that does not match.
  proxy.Set([&](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (!target.starts_with("/tile/entries/")) return std::nullopt;
    // The last entry ends with its possession_sig and an empty endorsement
    // list (2 length bytes): flip a signature byte, so the bundle still
    // decodes but its hashes no longer match.
    std::string b = body;
    b[b.size() - 3] ^= 1;
    return b;
  });
  r = Kt("tile", proxy.Url(), {"audit"});
  EXPECT_EQ(r.code, client::kExitVerification) << r.err;
  EXPECT_NE(r.err.find("does not match"), std::string::npos) << r.err;

  // Rollback: the client saw size 4; the proxy serves the size-3 checkpoint.
  proxy.Set(nullptr);
  r = Kt("roll", proxy.Url(), {"checkpoint"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string old_note = http_.Get(log_->Url("/checkpoint")).value().body;
  TestDevice tablet{"tablet"};
  ASSERT_EQ(Post(SetRequest("carol", tablet), true).first, 200);
  r = Kt("roll", proxy.Url(), {"checkpoint"});
  ASSERT_EQ(r.code, 0) << r.err;
  proxy.Set([&](const std::string& target, const std::string&) -> std::optional<std::string> {
    if (target != "/checkpoint") return std::nullopt;
    return old_note;
  });
  std::string state_before = store::ReadFile(std::filesystem::directory_iterator(dir_ + "/roll/checkpoints")->path()).value();
  r = Kt("roll", proxy.Url(), {"checkpoint"});
  EXPECT_EQ(r.code, client::kExitRollback) << r.err;
  EXPECT_EQ(store::ReadFile(std::filesystem::directory_iterator(dir_ + "/roll/checkpoints")->path()).value(),
            state_before);

  // Fork: a checkpoint of the same size with another root, signed with the
  // real log key file, served to this client only.
  auto key = core::ParseSignerKey(store::ReadSecretFile(dir_ + "/log.key").value()).value();
  auto current = core::ParseCheckpoint(core::ParseNote(http_.Get(log_->Url("/checkpoint")).value().body)
                                           .value()
                                           .text)
                     .value();
  core::Checkpoint forked = current;
  forked.root = core::RecordHash(core::AsBytes("a forked view"));
  std::string forked_note = core::SignCheckpoint(key, forked);
  proxy.Set([&](const std::string& target, const std::string&) -> std::optional<std::string> {
    if (target != "/checkpoint") return std::nullopt;
    return forked_note;
  });
  r = Kt("roll", proxy.Url(), {"checkpoint"});
  EXPECT_EQ(r.code, client::kExitFork) << r.err;
  std::string evidence;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/roll/evidence")) evidence = e.path();
  ASSERT_FALSE(evidence.empty());
  r = Kt("other", LogUrl(), {"verify-evidence", evidence});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("FORK PROVEN"), std::string::npos) << r.out;
}

TEST_F(ClientIntegrationTest, MonitorAlertsOnQuietDeviceAddition) {
  std::vector<std::string> args = {"--policy", policy_, "--log", LogUrl(), "--state", dir_ + "/mon",
                                   "monitor", "--watch", "alice", "--follow", "--interval", "1",
                                   "--max-polls", "60", "--json"};
  auto mon = ChildProcess::Start(BinaryPath("kt"), args);
  ASSERT_TRUE(mon.ok()) << mon.status().ToString();
  auto wait_for = [&](const std::string& needle) {
    for (int i = 0; i < 300; i++) {  // bounded: 30 s
      if ((*mon)->Stdout().find(needle) != std::string::npos) return true;
      if (!(*mon)->Running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  ASSERT_TRUE(wait_for("\"device\":\"laptop\"")) << (*mon)->Stdout() << (*mon)->Stderr();
  // The operator adds a device for alice without any endorsement.
  TestDevice spy{"spy"};
  ASSERT_EQ(Post(SetRequest("alice", spy), true).first, 200);
  ASSERT_TRUE(wait_for("\"device\":\"spy\"")) << (*mon)->Stdout() << (*mon)->Stderr();
  std::string out = (*mon)->Stdout();
  std::string line = out.substr(out.rfind('{', out.find("\"device\":\"spy\"")));
  line = line.substr(0, line.find('\n'));
  json j = json::parse(line);
  EXPECT_EQ(j["severity"], "high");
  EXPECT_EQ(j["kind"], "add-device");
  (*mon)->Kill();
}

// `kt monitor --all` saves every user's replay state with its position: a
// restarted monitor continues without history lookups (the proxy breaks
// /v1/history, which a monitor without the saved state would need for
// alice and bob, whose chains began before its position).
TEST_F(ClientIntegrationTest, MonitorAllKeepsUserStateAcrossRestarts) {
  KtResult r = Kt("mon", LogUrl(), {"monitor", "--all", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  bool saved = false;
  for (const auto& f : std::filesystem::directory_iterator(dir_ + "/mon")) {
    saved = saved || f.path().extension() == ".state";
  }
  EXPECT_TRUE(saved);
  TestDevice tablet{"tablet"}, tv{"tv"};
  ASSERT_EQ(Post(SetRequest("alice", tablet, phone_index_ + 2, {&laptop_})).first, 200);
  ASSERT_EQ(Post(SetRequest("bob", tv, 3, {&bob_})).first, 200);
  Proxy proxy(LogUrl());
  proxy.Set([](const std::string& target, const std::string&) -> std::optional<std::string> {
    if (target.starts_with("/v1/history")) return std::string("{}");
    return std::nullopt;
  });
  r = Kt("mon", proxy.Url(), {"monitor", "--all", "--json"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  std::vector<json> alerts;
  for (size_t at = 0; at < r.out.size();) {
    size_t nl = r.out.find('\n', at);
    alerts.push_back(json::parse(r.out.substr(at, nl - at)));
    at = nl + 1;
  }
  ASSERT_EQ(alerts.size(), 2u) << r.out;
  EXPECT_EQ(alerts[0]["device"], "tablet");
  EXPECT_EQ(alerts[0]["severity"], "info");
  EXPECT_NE(alerts[0]["message"].get<std::string>().find("endorsed by laptop"), std::string::npos);
  EXPECT_EQ(alerts[1]["device"], "tv");
  EXPECT_NE(alerts[1]["message"].get<std::string>().find("endorsed by pc"), std::string::npos);
  // Without the saved state the same restart needs alice's history: fails.
  std::filesystem::remove_all(dir_ + "/fresh");
  r = Kt("fresh", LogUrl(), {"checkpoint"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/fresh/" + [&] {
                std::string name;
                for (const auto& f : std::filesystem::directory_iterator(dir_ + "/mon")) {
                  if (f.path().extension() == ".state") name = f.path().stem().string();
                }
                return name + ".pos";
              }(), "3\n").ok());
  r = Kt("fresh", proxy.Url(), {"monitor", "--all", "--json"});
  EXPECT_NE(r.code, 0) << r.out;
}

// `kt audit --from N` with users whose prev chain began before N: what can
// be checked is (proofs of possession, the rest of the chain), what cannot
// is counted and said, and nothing is a false alarm; a bad signature after
// N is still caught.
TEST_F(ClientIntegrationTest, AuditFromMidLogHandlesPartialChains) {
  TestDevice tablet{"tablet"};
  ASSERT_EQ(Post(SetRequest("alice", tablet, phone_index_ + 2, {&laptop_})).first, 200);
  KtResult r = Kt("a", LogUrl(), {"audit", "--from", "2", "--verify-signatures", "--json"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["entries"], 2);
  EXPECT_EQ(j["partial_chains"], 1);  // alice; bob's first entry is index 2
  EXPECT_EQ(j["unchecked"], 1);       // tablet's endorsement by laptop (set at 1)
  r = Kt("a", LogUrl(), {"audit", "--from", "2", "--verify-signatures"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("not checkable from this start: 1"), std::string::npos) << r.out;
  // The proxy corrupts the tablet entry's proof of possession.
  Proxy proxy(LogUrl());
  proxy.Set([](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (!target.starts_with("/tile/entries/")) return std::nullopt;
    std::string b = body;
    b[b.size() - (1 + 6 + 64) - 2 - 10] ^= 1;  // before the u16 and laptop's endorsement
    return b;
  });
  r = Kt("a", proxy.Url(), {"audit", "--from", "2", "--verify-signatures"});
  EXPECT_EQ(r.code, client::kExitVerification) << r.out;
  EXPECT_NE(r.err.find("entry 3: proof of possession does not verify"), std::string::npos) << r.err;
}

// A witnessed deployment: three real ktwitness nodes, a ktlog that publishes
// only checkpoints with 2 of 3 cosignatures, and a client whose policy wants
// 2 of 3. The proxy strips cosignatures: with one left, the client refuses.
TEST(ClientWitnessIntegrationTest, StrippedCosignatureIsRefused) {
  const std::string dir = TempDir("client-wit");
  std::filesystem::create_directories(dir + "/log");
  LogProcess log(dir + "/log");
  std::string policy = "log " + log.vkey() + "\n";
  std::vector<std::unique_ptr<ChildProcess>> witnesses;
  for (int i = 0; i < 3; i++) {
    std::string name = "w" + std::to_string(i);
    std::string vkey = RunTool("ktwitness", {"keygen", "--name", "kt.test/" + name, "--out",
                                             dir + "/" + name + ".key"});
    int port = PickFreePort();
    ASSERT_GT(port, 0);
    auto w = ChildProcess::Start(BinaryPath("ktwitness"),
                                 {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--data",
                                  dir + "/" + name, "--key", dir + "/" + name + ".key", "--trust-log",
                                  log.vkey()});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE(WaitForHttpReady("127.0.0.1", port, "/healthz", std::chrono::seconds(20)))
        << (*w)->Stderr();
    witnesses.push_back(std::move(w).value());
    policy += "witness " + name + " " + vkey + " http://127.0.0.1:" + std::to_string(port) + "\n";
  }
  policy += "group g 2 w0 w1 w2\nquorum g\n";
  const std::string policy_file = dir + "/policy.txt";
  ASSERT_TRUE(store::WriteFileAtomic(policy_file, policy).ok());
  log.Start({"--witness-policy", policy_file});
  ASSERT_TRUE(WaitForHttpReady("127.0.0.1", std::stoi(log.Url("").substr(17)), "/checkpoint",
                               std::chrono::seconds(30)));
  net::HttpClient http;
  TestDevice phone{"phone"};
  net::Headers h = {{"Authorization", std::string("Bearer ") + kTestToken}};
  auto r = http.Post(log.Url("/v1/bindings"), SetRequest("alice", phone).dump(), "application/json", h);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;

  auto kt = [&](const std::string& url, std::vector<std::string> args) {
    std::vector<std::string> all = {"--policy", policy_file, "--log", url, "--state", dir + "/state"};
    all.insert(all.end(), args.begin(), args.end());
    auto p = ChildProcess::Start(BinaryPath("kt"), all);
    EXPECT_TRUE(p.ok());
    auto st = (*p)->Wait(std::chrono::seconds(60));
    return std::make_pair(st && st->exited ? st->code : -1, (*p)->Stdout() + (*p)->Stderr());
  };
  auto ok = kt(log.Url(""), {"checkpoint"});
  ASSERT_EQ(ok.first, 0) << ok.second;
  EXPECT_NE(ok.second.find("witnesses: w"), std::string::npos) << ok.second;
  ok = kt(log.Url(""), {"lookup", "alice"});
  ASSERT_EQ(ok.first, 0) << ok.second;

  // The proxy keeps only the first cosignature line of every checkpoint.
  Proxy proxy(log.Url(""));
  auto strip = [](const std::string& note) {
    size_t blank = note.find("\n\n");
    std::string out = note.substr(0, blank + 2);
    std::string_view rest(note);
    rest.remove_prefix(blank + 2);
    int line = 0;
    while (!rest.empty()) {
      std::string_view l = rest.substr(0, rest.find('\n') + 1);
      if (line++ < 2) out += std::string(l);  // the log signature and one cosignature
      rest.remove_prefix(l.size());
    }
    return out;
  };
  proxy.Set([&](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (target == "/checkpoint") return strip(body);
    if (target.starts_with("/v1/lookup")) {
      json j = json::parse(body);
      j["checkpoint"] = strip(j["checkpoint"].get<std::string>());
      return j.dump();
    }
    return std::nullopt;
  });
  auto refused = kt(proxy.Url(), {"checkpoint"});
  EXPECT_EQ(refused.first, client::kExitVerification) << refused.second;
  EXPECT_NE(refused.second.find("quorum"), std::string::npos) << refused.second;
  refused = kt(proxy.Url(), {"lookup", "alice"});
  EXPECT_EQ(refused.first, client::kExitVerification) << refused.second;
  for (auto& w : witnesses) w->Kill();
}

}  // namespace
}  // namespace kt::testing
