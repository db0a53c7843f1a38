// SPDX-License-Identifier: Apache-2.0
// Integration tests of the prekey directory and mailbox (docs/x3dh.md
// "Server API") against the real ktlog binary on loopback: devices
// registered through POST /v1/bindings, KT-Device authentication failures
// (bad signature, stale ts, replayed nonce → 401; unknown or revoked device,
// foreign identity key → 403), SPK signature → 422, 32 concurrent bundle
// fetches that never share an OPK and then come without one, mailbox
// POST/GET/DELETE with dedup, bounds and recipient checks, persistence across
// a restart, and the metrics.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/crypto_dh.h"
#include "core/encoding.h"
#include "core/policy.h"
#include "core/tlog_proof.h"
#include "net/http_client.h"
#include "tests/log/binding_testing.h"
#include "tests/log/node_testing.h"
#include "tests/testing/vectors.h"
#include "x3dh/device_auth.h"
#include "x3dh/keys.h"
#include "x3dh/prekey_upload.h"
#include "x3dh/x3dh.h"

namespace kt::testing {
namespace {

using nlohmann::json;

struct Answer {
  int status = 0;
  json body;
  std::string raw;
};

Answer ToAnswer(const core::StatusOr<net::HttpResponse>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  return {r->status, json::parse(r->body, nullptr, false), r->body};
}

class PrekeyIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("ktlog-prekeys");
    log_ = std::make_unique<LogProcess>(dir_);
    ASSERT_NO_FATAL_FAILURE(log_->Start());
    auto p = core::ParsePolicy("log " + log_->vkey() + "\nquorum none\n");
    ASSERT_TRUE(p.ok());
    policy_ = *p;
  }

  // Register logs `dev` for `user` with the operator token.
  void Register(const std::string& user, const TestDevice& dev, std::optional<uint64_t> prev) {
    net::Headers h{{"Authorization", std::string("Bearer ") + kTestToken}};
    Answer a = ToAnswer(client_.Post(log_->Url("/v1/bindings"),
                                     SetRequest(user, dev, prev).dump(), "application/json", h));
    ASSERT_EQ(a.status, 200) << a.raw;
  }

  // Signed sends a device-authenticated request; `signed_path` is the
  // decoded path, `url_path` the encoded one.
  Answer Signed(const std::string& method, const std::string& url_path,
                const std::string& signed_path, const std::string& body,
                const core::Ed25519Signer& key, uint64_t ts = 0,
                std::optional<std::string> header = std::nullopt) {
    if (ts == 0) ts = core::UnixSeconds();
    if (!header) {
      header = x3dh::DeviceAuthHeader(key, method, signed_path, core::AsBytes(body), ts);
    }
    net::Headers h{{"Authorization", *header}};
    if (method == "PUT") return ToAnswer(client_.Put(log_->Url(url_path), body, "application/json", h));
    if (method == "GET") return ToAnswer(client_.Get(log_->Url(url_path), h));
    if (method == "DELETE") return ToAnswer(client_.Delete(log_->Url(url_path), h));
    return ToAnswer(client_.Post(log_->Url(url_path), body, "application/json", h));
  }

  x3dh::PrekeyUpload Upload(const TestDevice& dev, uint32_t spk_id, uint32_t first, uint32_t n) {
    auto key = std::make_pair(dev.name, spk_id);
    if (!spks_.contains(key)) {
      spks_[key] =
          x3dh::SignPrekey(dev.key, spk_id, core::UnixSeconds(), core::GenerateX25519().public_key);
    }
    x3dh::PrekeyUpload u;
    u.identity_key = dev.key.public_key();
    u.spk = spks_[key];
    for (uint32_t i = 0; i < n; ++i) u.opks.push_back({first + i, core::GenerateX25519().public_key});
    return u;
  }

  Answer Put(const std::string& user, const TestDevice& dev, const x3dh::PrekeyUpload& up) {
    std::string path = "/v1/prekeys/" + user + "/" + dev.name;
    return Signed("PUT", path, path, x3dh::PrekeyUploadToJson(up), dev.key);
  }


  Answer PostMessage(const std::string& path, const std::string& body) {
    return ToAnswer(client_.Post(log_->Url(path), body, "application/octet-stream"));
  }

  std::string dir_;
  std::unique_ptr<LogProcess> log_;
  std::optional<core::Policy> policy_;
  net::HttpClient client_;
  std::map<std::pair<std::string, uint32_t>, x3dh::SignedPrekey> spks_;
};

TEST_F(PrekeyIntegrationTest, UploadAuthenticationAndRefusals) {
  TestDevice phone{"phone"}, laptop{"laptop"};
  ASSERT_NO_FATAL_FAILURE(Register("bob", phone, std::nullopt));
  ASSERT_NO_FATAL_FAILURE(Register("bob", laptop, 1));
  const std::string path = "/v1/prekeys/bob/phone";
  std::string body = x3dh::PrekeyUploadToJson(Upload(phone, 1, 0, 3));

  // Valid.
  Answer ok = Signed("PUT", path, path, body, phone.key);
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["opk_count"], 3);
  EXPECT_EQ(ok.body["spk_id"], 1);

  // Bad signature (another key), stale ts, replayed nonce: 401.
  std::string body2 = x3dh::PrekeyUploadToJson(Upload(phone, 1, 10, 1));
  TestDevice impostor{"phone"};
  Answer a = Signed("PUT", path, path, body2, impostor.key);
  EXPECT_EQ(a.status, 401) << a.raw;
  EXPECT_EQ(a.body["code"], "unauthenticated");
  EXPECT_EQ(Signed("PUT", path, path, body2, phone.key, core::UnixSeconds() - 3600).status, 401);
  EXPECT_EQ(Signed("PUT", path, path, body2, phone.key, core::UnixSeconds() + 3600).status, 401);
  EXPECT_EQ(Signed("PUT", path, path, body2, phone.key, 0, "KT-Device nonsense").status, 401);
  std::string header =
      x3dh::DeviceAuthHeader(phone.key, "PUT", path, core::AsBytes(body2), core::UnixSeconds());
  EXPECT_EQ(Signed("PUT", path, path, body2, phone.key, 0, header).status, 200);
  EXPECT_EQ(Signed("PUT", path, path, body2, phone.key, 0, header).status, 401);
  {
    auto r = client_.Put(log_->Url(path), body2, "application/json");  // no header
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401);
  }

  // Unknown device and revoked device: 403.
  TestDevice tablet{"tablet"};
  a = Put("bob", tablet, Upload(tablet, 1, 0, 1));
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_EQ(a.body["code"], "forbidden");

  // Identity key that is not the logged key: 403; bad SPK signature: 422;
  // OPK id reuse: 409.
  x3dh::PrekeyUpload foreign = Upload(phone, 1, 20, 1);
  foreign.identity_key = impostor.key.public_key();
  a = Put("bob", phone, foreign);
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_EQ(a.body["code"], "identity_key_not_logged");
  x3dh::PrekeyUpload bad_spk = Upload(phone, 1, 20, 1);
  bad_spk.spk.signature[0] ^= 1;
  a = Put("bob", phone, bad_spk);
  EXPECT_EQ(a.status, 422) << a.raw;
  EXPECT_EQ(a.body["code"], "signature_invalid");
  a = Put("bob", phone, Upload(phone, 1, 2, 1));
  EXPECT_EQ(a.status, 409) << a.raw;
  EXPECT_EQ(a.body["code"], "opk_id_reused");
  a = Signed("PUT", path, path, "{not json", phone.key);
  EXPECT_EQ(a.status, 400) << a.raw;

  // Count.
  std::string count_path = path + "/count";
  a = Signed("GET", count_path, count_path, "", phone.key);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["opk_count"], 4);
  EXPECT_EQ(a.body["spk_id"], 1);

  // Revoke the laptop (endorsed by the phone): it can no longer upload.
  ASSERT_EQ(Put("bob", laptop, Upload(laptop, 1, 0, 1)).status, 200);
  net::Headers h;
  Answer rv = ToAnswer(client_.Post(log_->Url("/v1/bindings"),
                                    RevokeRequest("bob", "laptop", 2, {&phone}).dump(),
                                    "application/json", h));
  ASSERT_EQ(rv.status, 200) << rv.raw;
  a = Put("bob", laptop, Upload(laptop, 1, 5, 1));
  EXPECT_EQ(a.status, 403) << a.raw;
  std::string mpath = "/v1/messages/bob/laptop";
  EXPECT_EQ(Signed("GET", mpath, mpath, "", laptop.key).status, 403);
  // Only the phone's bundle is served now.
  a = ToAnswer(client_.Get(log_->Url("/v1/prekeys/bob")));
  ASSERT_EQ(a.status, 200) << a.raw;
  ASSERT_EQ(a.body["bundles"].size(), 1u);
  EXPECT_EQ(a.body["bundles"][0]["device"], "phone");

  // Metrics carry the failures by reason.
  auto m = client_.Get(log_->Url("/metrics"));
  ASSERT_TRUE(m.ok());
  for (const char* want :
       {"kt_device_auth_failures_total{reason=\"signature\"} 1",
        "kt_device_auth_failures_total{reason=\"stale\"} 2",
        "kt_device_auth_failures_total{reason=\"replay\"} 1",
        "kt_device_auth_failures_total{reason=\"missing\"} 1",
        "kt_prekey_uploads_refused_total{reason=\"signature_invalid\"} 1",
        "kt_prekey_bundles_served_total 1"}) {
    EXPECT_NE(m->body.find(want), std::string::npos) << want << "\n" << m->body;
  }
}

TEST_F(PrekeyIntegrationTest, ConcurrentFetchesNeverShareAnOpk) {
  TestDevice phone{"phone"}, laptop{"laptop"};
  ASSERT_NO_FATAL_FAILURE(Register("bob", phone, std::nullopt));
  ASSERT_NO_FATAL_FAILURE(Register("bob", laptop, 1));
  // 20 OPKs on the phone, 5 on the laptop, 32 concurrent fetches.
  ASSERT_EQ(Put("bob", phone, Upload(phone, 1, 1000, 20)).status, 200);
  ASSERT_EQ(Put("bob", laptop, Upload(laptop, 9, 0, 5)).status, 200);
  constexpr int kFetchers = 32;
  std::mutex mu;
  std::map<std::string, std::multiset<uint32_t>> handed;
  std::map<std::string, int> without;
  int failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kFetchers; ++t) {
    threads.emplace_back([&] {
      net::HttpClient client;
      auto r = client.Get(log_->Url("/v1/prekeys/bob"));
      std::lock_guard<std::mutex> lock(mu);
      if (!r.ok() || r->status != 200) {
        failures++;
        return;
      }
      json j = json::parse(r->body, nullptr, false);
      for (const json& b : j["bundles"]) {
        auto bytes = core::Base64Decode(b["bundle"].get<std::string>());
        auto bundle = x3dh::DecodePrekeyBundle(*bytes);
        if (!bundle.ok()) {
          failures++;
          continue;
        }
        if (bundle->one_time_prekey) {
          handed[bundle->device].insert(bundle->one_time_prekey->opk_id);
        } else {
          without[bundle->device]++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  // Every OPK handed out exactly once; the rest of the fetches got none.
  EXPECT_EQ(handed["phone"].size(), 20u);
  EXPECT_EQ(std::set<uint32_t>(handed["phone"].begin(), handed["phone"].end()).size(), 20u);
  EXPECT_EQ(without["phone"], kFetchers - 20);
  EXPECT_EQ(handed["laptop"].size(), 5u);
  EXPECT_EQ(std::set<uint32_t>(handed["laptop"].begin(), handed["laptop"].end()).size(), 5u);
  EXPECT_EQ(without["laptop"], kFetchers - 5);

  // An exhausted bundle still verifies: entry and proof as in /v1/lookup.
  Answer a = ToAnswer(client_.Get(log_->Url("/v1/prekeys/bob")));
  ASSERT_EQ(a.status, 200);
  for (const json& b : a.body["bundles"]) {
    auto v = core::VerifyTlogProof(b["proof"].get<std::string>(), *policy_, core::UnixSeconds());
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(core::Base64Encode(v->proof.extra), b["entry"]);
    auto bundle = x3dh::DecodePrekeyBundle(*core::Base64Decode(b["bundle"].get<std::string>()));
    ASSERT_TRUE(bundle.ok());
    EXPECT_FALSE(bundle->one_time_prekey.has_value());
    auto entry = core::DecodeEntry(v->proof.extra);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->identity_key, bundle->identity_key);
  }
  auto m = client_.Get(log_->Url("/metrics"));
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->body.find("kt_prekey_opks_handed_out_total 25"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("kt_prekey_bundles_without_opk_total 41"), std::string::npos);
}

TEST_F(PrekeyIntegrationTest, MailboxAndRestart) {
  TestDevice phone{"ph one/x"};
  ASSERT_NO_FATAL_FAILURE(Register("bob", phone, std::nullopt));
  const std::string url_path = "/v1/messages/bob/ph%20one%2Fx";
  const std::string signed_path = "/v1/messages/bob/ph one/x";
  std::string m0 = SyntheticInitialMessage("bob", "ph one/x", 0);
  Answer a = PostMessage(url_path, m0);
  ASSERT_EQ(a.status, 200) << a.raw;
  std::string id0 = a.body["id"];
  a = PostMessage(url_path, m0);  // dedup
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["id"], id0);
  a = PostMessage(url_path, SyntheticInitialMessage("bob", "phone", 1));
  EXPECT_EQ(a.status, 400) << a.raw;
  EXPECT_EQ(a.body["code"], "recipient_mismatch");
  EXPECT_EQ(PostMessage(url_path, "garbage").status, 400);
  EXPECT_EQ(
      PostMessage("/v1/messages/bob/nobody", SyntheticInitialMessage("bob", "nobody", 1)).status,
      404);

  // Fill the mailbox to its bound of 1,000 messages.
  for (int i = 1; i < 1000; ++i) {
    a = PostMessage(url_path, SyntheticInitialMessage("bob", "ph one/x", i));
    ASSERT_EQ(a.status, 200) << i << " " << a.raw;
  }
  a = PostMessage(url_path, SyntheticInitialMessage("bob", "ph one/x", 1000));
  EXPECT_EQ(a.status, 507) << a.raw;
  EXPECT_EQ(a.body["code"], "mailbox_full");
  EXPECT_EQ(PostMessage(url_path, m0).status, 200);  // a resend is still idempotent

  // Fetch: unauthenticated 401; with the device key, oldest first.
  EXPECT_EQ(ToAnswer(client_.Get(log_->Url(url_path))).status, 401);
  a = Signed("GET", url_path + "?limit=3", signed_path, "", phone.key);
  ASSERT_EQ(a.status, 200) << a.raw;
  ASSERT_EQ(a.body["messages"].size(), 3u);
  EXPECT_EQ(a.body["messages"][0]["id"], id0);
  EXPECT_EQ(a.body["messages"][0]["message"], core::Base64Encode(core::AsBytes(m0)));
  // Ack, then there is room again.
  std::string del_url = url_path + "/" + id0;
  std::string del_signed = signed_path + "/" + id0;
  a = Signed("DELETE", del_url, del_signed, "", phone.key);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["deleted"], true);
  a = Signed("DELETE", del_url, del_signed, "", phone.key);
  EXPECT_EQ(a.body["deleted"], false);
  EXPECT_EQ(PostMessage(url_path, SyntheticInitialMessage("bob", "ph one/x", 1000)).status, 200);

  // Everything survives a restart.
  a = Signed("PUT", "/v1/prekeys/bob/ph%20one%2Fx", "/v1/prekeys/bob/ph one/x",
             x3dh::PrekeyUploadToJson(Upload(phone, 4, 0, 2)), phone.key);
  ASSERT_EQ(a.status, 200) << a.raw;
  log_->Terminate();
  ASSERT_NO_FATAL_FAILURE(log_->Start());
  a = Signed("GET", url_path + "?limit=1000", signed_path, "", phone.key);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["messages"].size(), 1000u);
  std::string count_path = "/v1/prekeys/bob/ph%20one%2Fx/count";
  a = Signed("GET", count_path, "/v1/prekeys/bob/ph one/x/count", "", phone.key);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["opk_count"], 2);
  EXPECT_EQ(a.body["spk_id"], 4);
}

}  // namespace
}  // namespace kt::testing
