// SPDX-License-Identifier: Apache-2.0
// Fault injection for X3DH end to end, with real nodes: the real `ktlog`
// (binding API, prekey directory, mailbox) on 127.0.0.1, and the `kt`
// commands (device init/register/publish-prekeys/stats, send, receive) run
// in-process through RunCli over HTTP, each user with its own state
// directory and clock. A test-only proxy in front of the log rewrites
// prekey answers to play a lying server. Covered: SPK rotation within and
// past retention, OPK pool exhausted (3-DH), duplicated and reordered
// initial messages, one OPK replayed to two initiators, bundles with a
// swapped IK or SPK or another device's proof (refused before any DH), and
// a deleted device state.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "client/cli.h"
#include "client/errors.h"
#include "client/http_fetcher.h"
#include "core/encoding.h"
#include "core/tlog_proof.h"
#include "net/http_client.h"
#include "store/file_util.h"
#include "tests/client/proxy.h"
#include "tests/log/node_testing.h"
#include "tests/testing/process.h"
#include "tests/testing/vectors.h"
#include "x3dh/device_auth.h"
#include "x3dh/device_store.h"
#include "x3dh/keys.h"

namespace kt::testing {
namespace {

using nlohmann::json;
constexpr uint64_t kDay = 24 * 3600;

struct Result {
  int code = -1;
  std::string out, err;
};

class X3dhCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("x3dh-cli");
    log_ = std::make_unique<LogProcess>(dir_);
    log_->Start();
    policy_ = dir_ + "/policy.txt";
    ASSERT_TRUE(store::WriteFileAtomic(policy_, "log " + log_->vkey() + "\nquorum none\n").ok());
    now_ = client::SystemClockSeconds();
  }

  // Kt runs `kt` for `who` (state dir_/who) against `url` (default: the
  // log) at `clock` seconds after the test's start.
  Result Kt(const std::string& who, std::vector<std::string> args, uint64_t clock = 0,
            const std::string& url = "") {
    std::vector<std::string> all = {"--policy", policy_, "--log", url.empty() ? log_->Url("") : url,
                                    "--state", dir_ + "/" + who};
    all.insert(all.end(), args.begin(), args.end());
    std::ostringstream out, err;
    client::CliContext ctx;
    ctx.out = &out;
    ctx.err = &err;
    const uint64_t t = now_ + clock;
    ctx.clock = [t] { return t; };
    ctx.make_fetcher = [](const std::string& u) -> core::StatusOr<std::unique_ptr<client::Fetcher>> {
      return std::unique_ptr<client::Fetcher>(new client::HttpFetcher(u));
    };
    int code = client::RunCli(all, ctx);
    return {code, out.str(), err.str()};
  }
  // Device makes and registers (operator token) USER/DEVICE in state `who`.
  void Device(const std::string& who, const std::string& user, const std::string& device) {
    Result r = Kt(who, {"device", "init", user, device});
    ASSERT_EQ(r.code, 0) << r.err;
    r = Kt(who, {"device", "register", "--token-file", dir_ + "/token"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  void Publish(const std::string& who, const std::string& opks, uint64_t clock = 0) {
    Result r = Kt(who, {"device", "publish-prekeys", "--opks", opks}, clock);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  json Stats(const std::string& who) {
    Result r = Kt(who, {"device", "stats", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    return j.is_object() ? j["counters"] : json();
  }
  json Receive(const std::string& who, uint64_t clock = 0, int want_code = 0) {
    Result r = Kt(who, {"receive", "--json"}, clock);
    EXPECT_EQ(r.code, want_code) << r.out << r.err;
    json j = json::parse(r.out, nullptr, false);
    return j.is_object() ? j["messages"] : json::array();
  }
  // Signer of the device in state `who` (read from its 0600 key file).
  core::Ed25519Signer KeyOf(const std::string& who) {
    auto text = store::ReadSecretFile(dir_ + "/" + who + "/device/identity.key");
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return x3dh::ParseIdentityKey(*text).value();
  }
  // Mailbox reads (authenticated as the device in `who`) and empties a
  // mailbox, returning the raw messages oldest first.
  std::vector<std::string> DrainMailbox(const std::string& who, const std::string& user,
                                        const std::string& device) {
    core::Ed25519Signer key = KeyOf(who);
    const std::string path = "/v1/messages/" + user + "/" + device;
    auto auth = [&](const std::string& method, const std::string& p) {
      return net::Headers{{"Authorization", x3dh::DeviceAuthHeader(key, method, p, {},
                                                                   client::SystemClockSeconds())}};
    };
    auto r = http_.Get(log_->Url(path), auth("GET", path));
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    std::vector<std::string> out;
    if (!r.ok()) return out;
    json j = json::parse(r->body);
    for (const auto& m : j["messages"]) {
      out.push_back(core::ToString(core::Base64Decode(m["message"].get<std::string>()).value()));
      const std::string del = path + "/" + m["id"].get<std::string>();
      auto d = http_.Delete(log_->Url(del), auth("DELETE", del));
      EXPECT_TRUE(d.ok() && d->status == 200);
    }
    return out;
  }
  void Post(const std::string& user, const std::string& device, const std::string& message) {
    auto r = http_.Post(log_->Url("/v1/messages/" + user + "/" + device), message,
                        "application/octet-stream");
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  }

  std::string dir_, policy_;
  uint64_t now_ = 0;
  std::unique_ptr<LogProcess> log_;
  net::HttpClient http_;
};

// X3dhCliWitnessTest runs the log with three real ktwitness nodes: it
// publishes only checkpoints cosigned by 2 of 3, and the client's policy
// wants the same quorum.
class X3dhCliWitnessTest : public X3dhCliTest {
 protected:
  void SetUp() override {
    dir_ = TempDir("x3dh-cli-wit");
    log_ = std::make_unique<LogProcess>(dir_);
    std::string policy = "log " + log_->vkey() + "\n";
    for (int i = 0; i < 3; i++) {
      std::string name = "w" + std::to_string(i);
      std::string vkey = RunTool("ktwitness", {"keygen", "--name", "kt.test/" + name, "--out",
                                               dir_ + "/" + name + ".key"});
      int port = PickFreePort();
      ASSERT_GT(port, 0);
      auto w = ChildProcess::Start(BinaryPath("ktwitness"),
                                   {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--data",
                                    dir_ + "/" + name, "--key", dir_ + "/" + name + ".key",
                                    "--trust-log", log_->vkey()});
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      ASSERT_TRUE(WaitForHttpReady("127.0.0.1", port, "/healthz", std::chrono::seconds(20)))
          << (*w)->Stderr();
      witnesses_.push_back(std::move(w).value());
      policy += "witness " + name + " " + vkey + " http://127.0.0.1:" + std::to_string(port) + "\n";
    }
    policy += "group g 2 w0 w1 w2\nquorum g\n";
    policy_ = dir_ + "/policy.txt";
    ASSERT_TRUE(store::WriteFileAtomic(policy_, policy).ok());
    log_->Start({"--witness-policy", policy_});
    now_ = client::SystemClockSeconds();
  }
  void TearDown() override {
    log_->Kill();
    for (auto& w : witnesses_) w->Kill();
  }
  // Strip keeps the log signature and one cosignature of a checkpoint note.
  static std::string Strip(const std::string& note) {
    size_t blank = note.find("\n\n");
    std::string out = note.substr(0, blank + 2);
    std::string_view rest(note);
    rest.remove_prefix(blank + 2);
    for (int line = 0; !rest.empty(); line++) {
      std::string_view l = rest.substr(0, rest.find('\n') + 1);
      if (line < 2) out += std::string(l);
      rest.remove_prefix(l.size());
    }
    return out;
  }
  static std::string StripProof(const std::string& text) {
    core::TlogProof p = core::ParseTlogProof(text).value();
    p.checkpoint = Strip(p.checkpoint);
    return core::FormatTlogProof(p);
  }

  std::vector<std::unique_ptr<ChildProcess>> witnesses_;
};

TEST_F(X3dhCliTest, SendAndReceiveThroughTheRealLog) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  Result r = Kt("alice", {"send", "bob", "hello bob"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("bob/phone: delivered"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pinned bob's device keys"), std::string::npos) << r.out;
  json m = Receive("bob");
  ASSERT_EQ(m.size(), 1u) << m.dump();
  EXPECT_EQ(m[0]["status"], "ok");
  EXPECT_EQ(m[0]["plaintext"], "hello bob");
  EXPECT_EQ(m[0]["sender_user"], "alice");
  EXPECT_EQ(m[0]["sender_device"], "laptop");
  EXPECT_EQ(m[0]["acked"], true);
  EXPECT_EQ(Receive("bob").size(), 0u);  // acknowledged
  EXPECT_EQ(Stats("alice")["sent"], 1);
  EXPECT_EQ(Stats("bob")["received"], 1);
}

TEST_F(X3dhCliTest, SpkRotationWithinAndPastRetention) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  // Day 0: Alice sends with SPK 1. Day 8: Bob rotates (SPK 1 retired, kept)
  // and reads: the delayed message still decrypts.
  ASSERT_EQ(Kt("alice", {"send", "bob", "delayed 8 days"}).code, 0);
  Publish("bob", "10", 8 * kDay);
  json m = Receive("bob", 8 * kDay);
  ASSERT_EQ(m.size(), 1u) << m.dump();
  EXPECT_EQ(m[0]["status"], "ok") << m.dump();
  EXPECT_EQ(m[0]["plaintext"], "delayed 8 days");
  EXPECT_EQ(Stats("bob")["spk_rotations"], 1);

  // Day 8: Alice sends with SPK 2. Bob rotates at day 16 and day 47: SPK 2,
  // retired at day 16, is past the 30-day retention and erased.
  Result r = Kt("alice", {"send", "bob", "delayed 39 days"}, 8 * kDay);
  ASSERT_EQ(r.code, 0) << r.err;
  Publish("bob", "10", 16 * kDay);
  Publish("bob", "10", 47 * kDay);
  m = Receive("bob", 47 * kDay, client::kExitVerification);
  ASSERT_EQ(m.size(), 1u) << m.dump();
  EXPECT_EQ(m[0]["status"], "refused");
  EXPECT_EQ(m[0]["reason"], "spk_unknown") << m.dump();
  EXPECT_EQ(m[0].count("plaintext"), 0u);
  EXPECT_EQ(Stats("bob")["spk_unknown"], 1);
  EXPECT_EQ(Receive("bob", 47 * kDay).size(), 0u);  // acknowledged: it can never decrypt
}

TEST_F(X3dhCliTest, OpkPoolExhaustedFallsBackToThreeDh) {
  Device("bob", "bob", "phone");
  Publish("bob", "2");
  Device("alice", "alice", "laptop");
  for (int i = 0; i < 3; i++) {
    Result r = Kt("alice", {"send", "bob", i == 0 ? "m0" : i == 1 ? "m1" : "m2"});
    ASSERT_EQ(r.code, 0) << r.err;
    if (i == 2) {
      EXPECT_NE(r.out.find("no one-time prekey left (3-DH)"), std::string::npos) << r.out;
    }
  }
  json m = Receive("bob");
  ASSERT_EQ(m.size(), 3u) << m.dump();
  const std::vector<std::string> want = {"m0", "m1", "m2"};
  for (size_t i = 0; i < want.size(); i++) EXPECT_EQ(m[i]["plaintext"], want[i]) << m.dump();
  json s = Stats("bob");
  EXPECT_EQ(s["received"], 3);
  EXPECT_EQ(s["received_without_opk"], 1);
  // publish-prekeys refills the pool: the next send uses an OPK again.
  Publish("bob", "2");
  Result r = Kt("alice", {"send", "bob", "after refill"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("3-DH"), std::string::npos) << r.out;
}

TEST_F(X3dhCliTest, DuplicatedAndReorderedMessages) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  for (const char* t : {"first", "second", "third"}) ASSERT_EQ(Kt("alice", {"send", "bob", t}).code, 0);
  std::vector<std::string> raw = DrainMailbox("bob", "bob", "phone");
  ASSERT_EQ(raw.size(), 3u);
  // Delivered in reverse order, the second one twice.
  Post("bob", "phone", raw[2]);
  Post("bob", "phone", raw[1]);
  Post("bob", "phone", raw[1]);  // the mailbox keeps one copy
  Post("bob", "phone", raw[0]);
  json m = Receive("bob");
  ASSERT_EQ(m.size(), 3u) << m.dump();
  EXPECT_EQ(m[0]["plaintext"], "third");
  EXPECT_EQ(m[1]["plaintext"], "second");
  EXPECT_EQ(m[2]["plaintext"], "first");
  // A redelivery after the ack is processed once: answered from the dedup
  // record, counted as a duplicate.
  Post("bob", "phone", raw[1]);
  m = Receive("bob");
  ASSERT_EQ(m.size(), 1u) << m.dump();
  EXPECT_EQ(m[0]["status"], "duplicate");
  EXPECT_EQ(m[0]["plaintext"], "second");
  json s = Stats("bob");
  EXPECT_EQ(s["received"], 3);
  EXPECT_EQ(s["duplicate"], 1);
}

TEST_F(X3dhCliTest, ReplayedOpkIsDetectedAsReused) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  Device("carol", "carol", "tablet");
  Proxy proxy(log_->Url(""));
  std::mutex mu;
  std::optional<std::string> first;
  proxy.Set([&](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (target != "/v1/prekeys/bob") return std::nullopt;
    std::lock_guard<std::mutex> lock(mu);
    if (!first) first = body;
    return *first;  // every initiator gets the first answer, with its OPK
  });
  ASSERT_EQ(Kt("alice", {"send", "bob", "from alice"}, 0, proxy.Url()).code, 0);
  ASSERT_EQ(Kt("carol", {"send", "bob", "from carol"}, 0, proxy.Url()).code, 0);
  json m = Receive("bob", 0, client::kExitVerification);
  ASSERT_EQ(m.size(), 2u) << m.dump();
  EXPECT_EQ(m[0]["status"], "ok");
  EXPECT_EQ(m[0]["plaintext"], "from alice");
  EXPECT_EQ(m[1]["status"], "refused");
  EXPECT_EQ(m[1]["reason"], "opk_reused") << m.dump();
  EXPECT_EQ(Stats("bob")["opk_reused"], 1);
}

TEST_F(X3dhCliTest, LyingDirectoryIsRefusedBeforeAnyDh) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  // A second device of bob, endorsed by the phone.
  ASSERT_EQ(Kt("bobtab", {"device", "init", "bob", "tablet"}).code, 0);
  Result r = Kt("bobtab", {"device", "register", "--endorse-key", dir_ + "/bob/device/identity.key"});
  ASSERT_EQ(r.code, 0) << r.err;
  Publish("bobtab", "10");
  Device("alice", "alice", "laptop");
  Proxy proxy(log_->Url(""));
  auto rewrite = [&](std::function<void(json& bundles)> f) {
    proxy.Set([f](const std::string& target, const std::string& body) -> std::optional<std::string> {
      if (target != "/v1/prekeys/bob") return std::nullopt;
      json j = json::parse(body);
      f(j["bundles"]);
      return j.dump();
    });
  };
  auto bundle_of = [](const json& item) {
    return x3dh::DecodePrekeyBundle(core::Base64Decode(item["bundle"].get<std::string>()).value()).value();
  };
  auto set_bundle = [](json& item, const x3dh::PrekeyBundle& b) {
    item["bundle"] = core::Base64Encode(x3dh::EncodePrekeyBundle(b));
  };
  core::Ed25519Signer mitm = core::Ed25519Signer::Generate();
  struct Case {
    std::string name, reason;
    std::function<void(json&)> f;
  };
  std::vector<Case> cases = {
      {"swapped identity key", "key_changed",
       [&](json& bundles) {
         for (auto& item : bundles) {
           x3dh::PrekeyBundle b = bundle_of(item);
           b.identity_key = mitm.public_key();
           b.signed_prekey = x3dh::SignPrekey(mitm, b.signed_prekey.spk_id, b.signed_prekey.created,
                                              b.signed_prekey.public_key);
           set_bundle(item, b);
         }
       }},
      {"swapped signed prekey", "signature_invalid",
       [&](json& bundles) {
         for (auto& item : bundles) {
           x3dh::PrekeyBundle b = bundle_of(item);
           b.signed_prekey.public_key = core::X25519PrivateKey::Generate().public_key();
           set_bundle(item, b);
         }
       }},
      {"proof of the other device", "proof_invalid",
       [&](json& bundles) {
         ASSERT_EQ(bundles.size(), 2u);
         for (const char* f : {"index", "entry", "proof"}) std::swap(bundles[0][f], bundles[1][f]);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    rewrite(c.f);
    r = Kt("alice", {"send", "bob", "must not be encrypted", "--json"}, 0, proxy.Url());
    EXPECT_EQ(r.code, client::kExitVerification) << r.out << r.err;
    json j = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out << r.err;
    ASSERT_EQ(j["devices"].size(), 2u);
    for (const auto& d : j["devices"]) {
      EXPECT_EQ(d["delivered"], false);
      EXPECT_EQ(d["reason"], c.reason) << d.dump();
    }
  }
  // Nothing was ever encrypted: no session, no message in either mailbox.
  json s = Stats("alice");
  EXPECT_EQ(s["sent"], 0);
  EXPECT_EQ(s["key_changed"], 2);
  EXPECT_EQ(s["signature_invalid"], 2);
  EXPECT_EQ(s["proof_invalid"], 2);
  EXPECT_EQ(DrainMailbox("bob", "bob", "phone").size(), 0u);
  EXPECT_EQ(DrainMailbox("bobtab", "bob", "tablet").size(), 0u);
  // The honest directory works.
  proxy.Set(nullptr);
  r = Kt("alice", {"send", "bob", "honest"}, 0, proxy.Url());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Stats("alice")["sent"], 2);
}

TEST_F(X3dhCliTest, UnloggedSenderIsNotShown) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  ASSERT_EQ(Kt("alice", {"send", "bob", "from the real alice"}).code, 0);
  // Sending needs no registration: mallory claims alice/laptop with a key
  // the log never saw, and a user the log does not know at all.
  ASSERT_EQ(Kt("mallory", {"device", "init", "alice", "laptop"}).code, 0);
  ASSERT_EQ(Kt("mallory", {"send", "bob", "I am alice, trust me"}).code, 0);
  ASSERT_EQ(Kt("nobody", {"device", "init", "nobody", "pc"}).code, 0);
  ASSERT_EQ(Kt("nobody", {"send", "bob", "unknown user"}).code, 0);
  json m = Receive("bob", 0, client::kExitVerification);
  ASSERT_EQ(m.size(), 3u) << m.dump();
  EXPECT_EQ(m[0]["status"], "ok");
  EXPECT_EQ(m[0]["plaintext"], "from the real alice");
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(m[i]["status"], "refused") << m.dump();
    EXPECT_EQ(m[i]["reason"], "not_logged") << m.dump();
    EXPECT_EQ(m[i].count("plaintext"), 0u);
    EXPECT_EQ(m[i]["acked"], true);
  }
  json s = Stats("bob");
  EXPECT_EQ(s["not_logged"], 2);
  EXPECT_EQ(s["received"], 3);  // decrypted, but the sender was not shown
}

TEST_F(X3dhCliTest, KeyChangeStopsTheSend) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  ASSERT_EQ(Kt("alice", {"send", "bob", "hi"}).code, 0);  // pins bob
  ASSERT_EQ(Receive("bob").size(), 1u);
  // The operator logs a new key for bob/phone and publishes prekeys for it.
  Device("evil", "bob", "phone");
  Publish("evil", "10");
  Result r = Kt("alice", {"send", "bob", "secret"});
  EXPECT_EQ(r.code, client::kExitKeyChange) << r.err;
  EXPECT_NE(r.err.find("KEY CHANGE for bob"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("phone"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NOT endorsed"), std::string::npos) << r.err;
  EXPECT_EQ(Stats("alice")["key_changed"], 1);
  EXPECT_EQ(Stats("alice")["sent"], 1);
  EXPECT_EQ(DrainMailbox("evil", "bob", "phone").size(), 0u);
  // Accepting the change (after comparing safety numbers) lets it through.
  ASSERT_EQ(Kt("alice", {"lookup", "bob", "--accept"}).code, 0);
  EXPECT_EQ(Kt("alice", {"send", "bob", "accepted"}).code, 0);
}

TEST_F(X3dhCliTest, DeletedDeviceStateIsAClearError) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  ASSERT_EQ(Kt("alice", {"send", "bob", "lost"}).code, 0);
  std::filesystem::remove_all(dir_ + "/bob/device/db");
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"receive"}, {"device", "publish-prekeys"}, {"device", "stats"},
        {"send", "alice", "x"}}) {
    Result r = Kt("bob", cmd);
    EXPECT_EQ(r.code, client::kExitLocalState) << cmd[0] << ": " << r.err;
    EXPECT_NE(r.err.find("kt device init"), std::string::npos) << r.err;
  }
  std::filesystem::remove_all(dir_ + "/bob/device");
  Result r = Kt("bob", {"receive"});
  EXPECT_EQ(r.code, client::kExitLocalState) << r.err;
  EXPECT_NE(r.err.find("kt device init"), std::string::npos) << r.err;
  // A key file readable by others is refused, not used.
  ASSERT_EQ(Kt("alice2", {"device", "init", "alice", "tablet"}).code, 0);
  std::filesystem::permissions(dir_ + "/alice2/device/identity.key",
                               std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  r = Kt("alice2", {"device", "stats"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("identity.key"), std::string::npos) << r.err;
}

TEST_F(X3dhCliTest, ConcurrentFetchesNeverShareAnOpk) {
  Device("bob", "bob", "phone");
  Publish("bob", "40");
  std::mutex mu;
  std::vector<uint32_t> ids;
  std::vector<std::thread> threads;
  std::atomic<int> without{0};
  for (int t = 0; t < 32; t++) {
    threads.emplace_back([&] {
      net::HttpClient http;
      auto r = http.Get(log_->Url("/v1/prekeys/bob"));
      if (!r.ok() || r->status != 200) return;
      json j = json::parse(r->body);
      auto b = x3dh::DecodePrekeyBundle(core::Base64Decode(j["bundles"][0]["bundle"].get<std::string>()).value());
      if (!b.ok()) return;
      std::lock_guard<std::mutex> lock(mu);
      if (b->one_time_prekey) {
        ids.push_back(b->one_time_prekey->opk_id);
      } else {
        without++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size() + static_cast<size_t>(without.load()), 32u);
  EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(without.load(), 0);
}

TEST_F(X3dhCliWitnessTest, BundleWithoutQuorumIsRefused) {
  Device("bob", "bob", "phone");
  Publish("bob", "10");
  Device("alice", "alice", "laptop");
  Proxy proxy(log_->Url(""));
  // The bundle's proof carries a checkpoint with one cosignature of 2 needed.
  proxy.Set([](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (target != "/v1/prekeys/bob") return std::nullopt;
    json j = json::parse(body);
    for (auto& b : j["bundles"]) b["proof"] = StripProof(b["proof"].get<std::string>());
    return j.dump();
  });
  Result r = Kt("alice", {"send", "bob", "no quorum", "--json"}, 0, proxy.Url());
  EXPECT_EQ(r.code, client::kExitVerification) << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  ASSERT_EQ(j["devices"].size(), 1u);
  EXPECT_EQ(j["devices"][0]["reason"], "quorum_not_met") << r.out;
  // The lookup itself without quorum stops the send before any bundle.
  proxy.Set([](const std::string& target, const std::string& body) -> std::optional<std::string> {
    if (!target.starts_with("/v1/lookup")) return std::nullopt;
    json j = json::parse(body);
    j["checkpoint"] = Strip(j["checkpoint"].get<std::string>());
    for (auto& d : j["devices"]) d["proof"] = StripProof(d["proof"].get<std::string>());
    return j.dump();
  });
  r = Kt("alice", {"send", "bob", "no quorum"}, 0, proxy.Url());
  EXPECT_EQ(r.code, client::kExitVerification) << r.err;
  EXPECT_NE(r.err.find("quorum_not_met"), std::string::npos) << r.err;
  json s = Stats("alice");
  EXPECT_EQ(s["quorum_not_met"], 2);
  EXPECT_EQ(s["sent"], 0);
  // Through the honest log, with its 2-of-3 witnessed checkpoints, it works.
  r = Kt("alice", {"send", "bob", "witnessed"});
  ASSERT_EQ(r.code, 0) << r.err;
  json m = Receive("bob");
  ASSERT_EQ(m.size(), 1u) << m.dump();
  EXPECT_EQ(m[0]["plaintext"], "witnessed");
}

}  // namespace
}  // namespace kt::testing
