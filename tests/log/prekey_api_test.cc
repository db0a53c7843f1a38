// SPDX-License-Identifier: Apache-2.0
// Tests for log/prekey_api (the prekey directory, mailbox and KT-Device
// authentication handlers, without HTTP) over a real MemoryStorage,
// Sequencer, WitnessCollector (no witness policy), LogApi and LMDB prekey and
// mailbox stores: every answer of docs/x3dh.md "Server API", bundles checked
// with core's tlog-proof verifier, percent-encoded ids, key rotation, metrics.
#include "log/prekey_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/crypto_dh.h"
#include "core/encoding.h"
#include "core/keys.h"
#include "core/policy.h"
#include "core/tlog_proof.h"
#include "log/memory_storage.h"
#include "tests/log/binding_testing.h"
#include "tests/log/in_process_log.h"
#include "tests/testing/vectors.h"
#include "x3dh/keys.h"
#include "x3dh/prekey_upload.h"
#include "x3dh/x3dh.h"

namespace kt::log {
namespace {

using nlohmann::json;
using testing::RevokeRequest;
using testing::SetRequest;
using testing::SyntheticInitialMessage;
using testing::TestDevice;

using testing::kToken;

// Call is a request as the device (or anyone) would send it.
struct Call {
  Call(std::string m, std::string t, std::string sp, std::string b,
       std::optional<std::string> l = std::nullopt)
      : method(std::move(m)), target(std::move(t)), signed_path(std::move(sp)), body(std::move(b)),
        limit(std::move(l)) {}
  std::string method;
  std::string target;      // raw, percent-encoded
  std::string signed_path;  // decoded path the device signs (empty: no auth)
  std::string body;
  std::optional<std::string> limit;
};

class PrekeyApiTest : public testing::InProcessLogTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartLog());
    x3dh::PrekeyStoreOptions po;
    po.env.no_sync = true;
    po.env.map_size = uint64_t{1} << 30;
    po.max_pool = 20;
    auto prekeys = x3dh::PrekeyStore::Open(testing::TempDir("prekeys"), po);
    ASSERT_TRUE(prekeys.ok());
    prekeys_ = std::move(prekeys).value();
    x3dh::MailboxOptions mo;
    mo.env.no_sync = true;
    mo.env.map_size = uint64_t{1} << 30;
    mo.max_messages = 3;
    auto mailbox = x3dh::MailboxStore::Open(testing::TempDir("mailbox"), mo);
    ASSERT_TRUE(mailbox.ok());
    mailbox_ = std::move(mailbox).value();
    api_ = std::make_unique<PrekeyApi>(*log_api_, storage_, *prekeys_, *mailbox_, metrics_);
  }

  // Register logs `dev` for `user` as the operator; returns the entry index.
  uint64_t Register(const std::string& user, const TestDevice& dev) {
    auto state = storage_.ReadUser(user);
    KT_CHECK(state.ok());
    std::optional<uint64_t> prev;
    if (!state->empty()) prev = state->NextPrev();
    ApiResponse r = log_api_->PostBinding(SetRequest(user, dev, prev).dump(),
                                          std::string("Bearer ") + kToken, [] { return true; });
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["index"].get<uint64_t>();
  }
  void Revoke(const std::string& user, const std::string& device) {
    auto state = storage_.ReadUser(user);
    KT_CHECK(state.ok());
    ApiResponse r = log_api_->PostBinding(RevokeRequest(user, device, state->NextPrev()).dump(),
                                          std::string("Bearer ") + kToken, [] { return true; });
    EXPECT_EQ(r.status, 200) << r.body;
  }

  // Send runs `call` signed by `key` (when signed_path is set) at time `now`.
  ApiResponse Send(const Call& call, const core::Ed25519Signer* key, uint64_t now = 0,
                   std::optional<std::string> auth_override = std::nullopt) {
    if (now == 0) now = core::UnixSeconds();
    PrekeyRequest req;
    req.method = call.method;
    req.target = call.target;
    req.body = call.body;
    req.limit = call.limit;
    req.now = core::UnixSeconds();
    if (auth_override) {
      req.authorization = auth_override;
    } else if (key != nullptr) {
      req.authorization = x3dh::DeviceAuthHeader(*key, call.method, call.signed_path,
                                                 core::AsBytes(call.body), now);
    }
    return api_->Handle(req);
  }

  // Upload makes a PUT body for `dev` with SPK `spk_id` and OPK ids
  // [first, first + n).
  x3dh::PrekeyUpload Upload(const TestDevice& dev, uint32_t spk_id, uint32_t first, uint32_t n) {
    if (!spk_priv_.contains(spk_id)) {
      spk_priv_[spk_id] =
          x3dh::SignPrekey(dev.key, spk_id, core::UnixSeconds(), core::GenerateX25519().public_key);
    }
    x3dh::PrekeyUpload u;
    u.identity_key = dev.key.public_key();
    u.spk = spk_priv_[spk_id];
    for (uint32_t i = 0; i < n; ++i) {
      u.opks.push_back({first + i, core::GenerateX25519().public_key});
    }
    return u;
  }
  ApiResponse Put(const std::string& user, const TestDevice& dev, const x3dh::PrekeyUpload& up) {
    std::string path = "/v1/prekeys/" + user + "/" + dev.name;
    return Send({"PUT", path, path, x3dh::PrekeyUploadToJson(up)}, &dev.key);
  }

  static std::string Code(const ApiResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("code") ? j["code"].get<std::string>() : "";
  }
  uint64_t Metric(const std::string& name, const net::Labels& labels = {}) {
    return metrics_.GetCounter(name, "", labels).Value();
  }

  std::unique_ptr<x3dh::PrekeyStore> prekeys_;
  std::unique_ptr<x3dh::MailboxStore> mailbox_;
  net::Registry metrics_;
  std::unique_ptr<PrekeyApi> api_;
  std::map<uint32_t, x3dh::SignedPrekey> spk_priv_;
};

TEST_F(PrekeyApiTest, UploadFetchCountAndExhaust) {
  TestDevice phone{"phone"};
  Register("bob", phone);
  x3dh::PrekeyUpload up = Upload(phone, 7, 100, 2);
  ApiResponse put = Put("bob", phone, up);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body), json::parse(R"({"opk_count": 2, "spk_id": 7})"));
  EXPECT_EQ(Metric("kt_prekey_uploads_total"), 1u);

  std::set<uint32_t> handed;
  for (int i = 0; i < 3; ++i) {
    ApiResponse get = Send({"GET", "/v1/prekeys/bob", "", ""}, nullptr);
    ASSERT_EQ(get.status, 200) << get.body;
    json j = json::parse(get.body);
    EXPECT_EQ(get.body, j.dump());  // hand-written, byte-identical to nlohmann's dump
    EXPECT_EQ(j["user"], "bob");
    ASSERT_EQ(j["bundles"].size(), 1u);
    const json& b = j["bundles"][0];
    EXPECT_EQ(b["device"], "phone");
    auto bytes = core::Base64Decode(b["bundle"].get<std::string>());
    ASSERT_TRUE(bytes.ok());
    auto bundle = x3dh::DecodePrekeyBundle(*bytes);
    ASSERT_TRUE(bundle.ok());
    EXPECT_EQ(bundle->user, "bob");
    EXPECT_EQ(bundle->identity_key, phone.key.public_key());
    EXPECT_EQ(bundle->signed_prekey, up.spk);
    if (i < 2) {
      ASSERT_TRUE(bundle->one_time_prekey.has_value());
      EXPECT_TRUE(handed.insert(bundle->one_time_prekey->opk_id).second);
    } else {
      EXPECT_FALSE(bundle->one_time_prekey.has_value());
    }
    // The entry and proof are the lookup's, and verify with core.
    auto v = core::VerifyTlogProof(b["proof"].get<std::string>(), *policy_, core::UnixSeconds());
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(core::Base64Encode(v->proof.extra), b["entry"]);
    EXPECT_EQ(v->proof.index, b["index"].get<uint64_t>());
    EXPECT_EQ(j["checkpoint"], v->proof.checkpoint);
  }
  EXPECT_EQ(handed, (std::set<uint32_t>{100, 101}));
  EXPECT_EQ(Metric("kt_prekey_bundles_served_total"), 3u);
  EXPECT_EQ(Metric("kt_prekey_opks_handed_out_total"), 2u);
  EXPECT_EQ(Metric("kt_prekey_bundles_without_opk_total"), 1u);

  std::string count_path = "/v1/prekeys/bob/phone/count";
  ApiResponse count = Send({"GET", count_path, count_path, ""}, &phone.key);
  ASSERT_EQ(count.status, 200) << count.body;
  json c = json::parse(count.body);
  EXPECT_EQ(c["opk_count"], 0);
  EXPECT_EQ(c["spk_id"], 7);
  EXPECT_EQ(c["spk_created"], up.spk.created);
}

TEST_F(PrekeyApiTest, FetchErrors) {
  EXPECT_EQ(Send({"GET", "/v1/prekeys/nobody", "", ""}, nullptr).status, 404);
  TestDevice phone{"phone"};
  Register("bob", phone);
  ApiResponse none = Send({"GET", "/v1/prekeys/bob", "", ""}, nullptr);
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(Code(none), "not_found");
  std::string count_path = "/v1/prekeys/bob/phone/count";
  EXPECT_EQ(Send({"GET", count_path, count_path, ""}, &phone.key).status, 404);
  EXPECT_EQ(Send({"GET", "/v1/prekeys/%ZZ", "", ""}, nullptr).status, 400);
  EXPECT_EQ(Send({"GET", "/v1/prekeys/%ff", "", ""}, nullptr).status, 400);  // not UTF-8
  EXPECT_EQ(Send({"GET", "/v1/prekeys/", "", ""}, nullptr).status, 400);
  EXPECT_EQ(Send({"GET", "/v1/prekeys/a/b/c/d/e/f", "", ""}, nullptr).status, 404);
  EXPECT_EQ(Send({"DELETE", "/v1/prekeys/bob", "", ""}, nullptr).status, 405);
  EXPECT_EQ(Send({"GET", "/v1/other/bob", "", ""}, nullptr).status, 404);
}

TEST_F(PrekeyApiTest, AuthFailures) {
  TestDevice phone{"phone"};
  Register("bob", phone);
  std::string path = "/v1/prekeys/bob/phone";
  std::string body = x3dh::PrekeyUploadToJson(Upload(phone, 1, 0, 1));
  Call call{"PUT", path, path, body};
  auto reason = [this](const char* r) {
    return Metric("kt_device_auth_failures_total", {{"reason", r}});
  };
  ApiResponse r = Send(call, nullptr);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Code(r), "unauthenticated");
  EXPECT_EQ(reason("missing"), 1u);
  EXPECT_EQ(Send(call, nullptr, 0, "KT-Device ts=1").status, 401);
  EXPECT_EQ(Send(call, nullptr, 0, "Bearer x").status, 401);
  EXPECT_EQ(reason("malformed"), 2u);
  EXPECT_EQ(Send(call, &phone.key, core::UnixSeconds() - 400).status, 401);
  EXPECT_EQ(Send(call, &phone.key, core::UnixSeconds() + 400).status, 401);
  EXPECT_EQ(reason("stale"), 2u);
  TestDevice other{"phone"};
  EXPECT_EQ(Send(call, &other.key).status, 401);
  // Signed over another body, path or method.
  std::string auth = x3dh::DeviceAuthHeader(phone.key, "PUT", path, core::AsBytes(body + " "),
                                            core::UnixSeconds());
  EXPECT_EQ(Send(call, nullptr, 0, auth).status, 401);
  auth = x3dh::DeviceAuthHeader(phone.key, "PUT", "/v1/prekeys/bob/phone2", core::AsBytes(body),
                                core::UnixSeconds());
  EXPECT_EQ(Send(call, nullptr, 0, auth).status, 401);
  EXPECT_EQ(reason("signature"), 3u);
  // Replay of an accepted header.
  auth = x3dh::DeviceAuthHeader(phone.key, "PUT", path, core::AsBytes(body), core::UnixSeconds());
  EXPECT_EQ(Send(call, nullptr, 0, auth).status, 200);
  r = Send(call, nullptr, 0, auth);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(reason("replay"), 1u);
  // Unknown device: 403.
  TestDevice laptop{"laptop"};
  std::string lpath = "/v1/prekeys/bob/laptop";
  r = Send({"PUT", lpath, lpath, x3dh::PrekeyUploadToJson(Upload(laptop, 1, 0, 1))}, &laptop.key);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Code(r), "forbidden");
  // Revoked device: its old key still signs correctly, but it is not current.
  Revoke("bob", "phone");
  r = Send({"PUT", path, path, x3dh::PrekeyUploadToJson(Upload(phone, 1, 5, 1))}, &phone.key);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(reason("forbidden"), 2u);
  // And its prekeys are no longer served.
  EXPECT_EQ(Send({"GET", "/v1/prekeys/bob", "", ""}, nullptr).status, 404);
}

TEST_F(PrekeyApiTest, FullReplayCacheRefusesWith503) {
  PrekeyApiOptions options;
  options.replay_capacity = 2;
  api_ = std::make_unique<PrekeyApi>(*log_api_, storage_, *prekeys_, *mailbox_, metrics_, options);
  TestDevice phone{"phone"};
  Register("bob", phone);
  std::string path = "/v1/messages/bob/phone";
  EXPECT_EQ(Send({"GET", path, path, ""}, &phone.key).status, 200);
  EXPECT_EQ(Send({"GET", path, path, ""}, &phone.key).status, 200);
  // Both nonces are still live: a third is refused, not remembered by
  // evicting one of them.
  ApiResponse r = Send({"GET", path, path, ""}, &phone.key);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Code(r), "unavailable");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(Metric("kt_device_auth_failures_total", {{"reason", "replay_cache_full"}}), 1u);
  // Unauthenticated requests never reach the cache.
  TestDevice other{"phone"};
  EXPECT_EQ(Send({"GET", path, path, ""}, &other.key).status, 401);
}

TEST_F(PrekeyApiTest, UploadRefusals) {
  TestDevice phone{"phone"};
  Register("bob", phone);
  auto code_of = [&](const x3dh::PrekeyUpload& up) {
    ApiResponse r = Put("bob", phone, up);
    return std::to_string(r.status) + " " + Code(r);
  };
  // Identity key that is not the logged key (signed properly by the device).
  TestDevice stranger{"phone"};
  x3dh::PrekeyUpload foreign = Upload(phone, 1, 0, 1);
  foreign.identity_key = stranger.key.public_key();
  EXPECT_EQ(code_of(foreign), "403 identity_key_not_logged");
  x3dh::PrekeyUpload bad_sig = Upload(phone, 1, 0, 1);
  bad_sig.spk.signature[5] ^= 1;
  EXPECT_EQ(code_of(bad_sig), "422 signature_invalid");
  bad_sig = Upload(phone, 1, 0, 1);
  bad_sig.spk.created += 1;
  EXPECT_EQ(code_of(bad_sig), "422 signature_invalid");
  EXPECT_EQ(code_of(Upload(phone, 1, 0, 2)), "200 ");
  EXPECT_EQ(code_of(Upload(phone, 1, 1, 1)), "409 opk_id_reused");
  x3dh::PrekeyUpload other_spk = Upload(phone, 1, 10, 1);
  other_spk.spk =
      x3dh::SignPrekey(phone.key, 1, core::UnixSeconds(), core::GenerateX25519().public_key);
  EXPECT_EQ(code_of(other_spk), "409 spk_id_reused");
  EXPECT_EQ(code_of(Upload(phone, 1, 10, 19)), "507 opk_pool_full");  // pool bound 20 in this test
  EXPECT_EQ(code_of(Upload(phone, 2, 10, 18)), "200 ");
  EXPECT_EQ(Metric("kt_prekey_uploads_refused_total", {{"reason", "opk_pool_full"}}), 1u);
  // Malformed bodies.
  std::string path = "/v1/prekeys/bob/phone";
  for (std::string body : {"", "{", "[]", R"({"identity_key": 1})"}) {
    ApiResponse r = Send({"PUT", path, path, body}, &phone.key);
    EXPECT_EQ(r.status, 400) << body;
  }
  // The signed body is what is parsed: a tampered body fails authentication.
  std::string body = x3dh::PrekeyUploadToJson(Upload(phone, 2, 50, 1));
  std::string auth =
      x3dh::DeviceAuthHeader(phone.key, "PUT", path, core::AsBytes(body), core::UnixSeconds());
  body[body.size() - 3] ^= 1;
  EXPECT_EQ(Send({"PUT", path, path, body}, nullptr, 0, auth).status, 401);
}

TEST_F(PrekeyApiTest, KeyRotationStopsOldPrekeys) {
  TestDevice phone{"phone"};
  Register("bob", phone);
  ASSERT_EQ(Put("bob", phone, Upload(phone, 1, 0, 3)).status, 200);
  TestDevice rotated{"phone"};
  Register("bob", rotated);  // the log now holds a new key for bob/phone
  // Bundles uploaded under the old key are not served, and no OPK is popped.
  EXPECT_EQ(Send({"GET", "/v1/prekeys/bob", "", ""}, nullptr).status, 404);
  std::string count_path = "/v1/prekeys/bob/phone/count";
  EXPECT_EQ(Send({"GET", count_path, count_path, ""}, &phone.key).status, 401);
  EXPECT_EQ(Send({"GET", count_path, count_path, ""}, &rotated.key).status, 404);
  spk_priv_.clear();
  ApiResponse put = Put("bob", rotated, Upload(rotated, 1, 0, 1));
  ASSERT_EQ(put.status, 200) << put.body;
  ApiResponse get = Send({"GET", "/v1/prekeys/bob", "", ""}, nullptr);
  ASSERT_EQ(get.status, 200);
  auto bytes = core::Base64Decode(json::parse(get.body)["bundles"][0]["bundle"].get<std::string>());
  EXPECT_EQ(x3dh::DecodePrekeyBundle(*bytes)->identity_key, rotated.key.public_key());
}

TEST_F(PrekeyApiTest, PercentEncodedIds) {
  TestDevice dev{"ph/one"};
  Register("a/b c", dev);
  std::string target = "/v1/prekeys/a%2Fb%20c/ph%2Fone";
  std::string signed_path = "/v1/prekeys/a/b c/ph/one";
  std::string body = x3dh::PrekeyUploadToJson(Upload(dev, 1, 0, 1));
  ApiResponse r = Send({"PUT", target, signed_path, body}, &dev.key);
  ASSERT_EQ(r.status, 200) << r.body;
  r = Send({"GET", "/v1/prekeys/a%2Fb%20c", "", ""}, nullptr);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["bundles"][0]["device"], "ph/one");
  EXPECT_EQ(r.body, json::parse(r.body).dump());
  // Signing the encoded form instead of the decoded path fails.
  r = Send({"PUT", target, target, x3dh::PrekeyUploadToJson(Upload(dev, 1, 1, 1))}, &dev.key);
  EXPECT_EQ(r.status, 401);
}

TEST_F(PrekeyApiTest, Mailbox) {
  TestDevice phone{"phone"};
  Register("bob", phone);
  std::string path = "/v1/messages/bob/phone";
  std::string m1 = SyntheticInitialMessage("bob", "phone", 1);
  ApiResponse r = Send({"POST", path, "", m1}, nullptr);
  ASSERT_EQ(r.status, 200) << r.body;
  std::string id1 = json::parse(r.body)["id"];
  EXPECT_EQ(r.body, json::parse(r.body).dump());
  EXPECT_EQ(id1, core::HexEncode(core::Sha256(core::AsBytes(m1))));
  // Idempotent.
  r = Send({"POST", path, "", m1}, nullptr);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["id"], id1);
  EXPECT_EQ(Metric("kt_mailbox_messages_stored_total"), 1u);
  EXPECT_EQ(Metric("kt_mailbox_messages_duplicate_total"), 1u);
  // Refusals.
  r = Send({"POST", path, "", SyntheticInitialMessage("bob", "laptop", 2)}, nullptr);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Code(r), "recipient_mismatch");
  EXPECT_EQ(Send({"POST", path, "", "junk"}, nullptr).status, 400);
  EXPECT_EQ(Send({"POST", path, "", m1 + "x"}, nullptr).status, 400);
  EXPECT_EQ(
      Send({"POST", "/v1/messages/bob/laptop", "", SyntheticInitialMessage("bob", "laptop", 2)},
           nullptr)
          .status,
      404);
  EXPECT_EQ(Send({"POST", path, "", std::string(kMaxMailboxBody + 1, 'x')}, nullptr).status, 413);
  std::string m2 = SyntheticInitialMessage("bob", "phone", 2);
  std::string m3 = SyntheticInitialMessage("bob", "phone", 3);
  ASSERT_EQ(Send({"POST", path, "", m2}, nullptr).status, 200);
  ASSERT_EQ(Send({"POST", path, "", m3}, nullptr).status, 200);
  r = Send({"POST", path, "", SyntheticInitialMessage("bob", "phone", 4)},
           nullptr);  // bound 3 in this test
  EXPECT_EQ(r.status, 507);
  EXPECT_EQ(Code(r), "mailbox_full");
  EXPECT_EQ(Metric("kt_mailbox_messages_refused_total", {{"reason", "mailbox_full"}}), 1u);

  // Fetch (authenticated), oldest first, with limit.
  EXPECT_EQ(Send({"GET", path, "", ""}, nullptr).status, 401);
  r = Send({"GET", path, path, ""}, &phone.key);
  ASSERT_EQ(r.status, 200) << r.body;
  json list = json::parse(r.body)["messages"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["id"], id1);
  EXPECT_EQ(list[0]["message"], core::Base64Encode(core::AsBytes(m1)));
  EXPECT_EQ(list[2]["message"], core::Base64Encode(core::AsBytes(m3)));
  EXPECT_NEAR(list[0]["received"].get<double>(), static_cast<double>(core::UnixSeconds()), 60);
  r = Send({"GET", path + "?limit=1", path, "", "1"}, &phone.key);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["messages"].size(), 1u);
  for (const char* bad : {"0", "1001", "01", "x"}) {
    EXPECT_EQ(Send({"GET", path, path, "", bad}, &phone.key).status, 400) << bad;
  }
  // Ack (authenticated, idempotent); another device's key cannot fetch.
  std::string del = path + "/" + id1;
  EXPECT_EQ(Send({"DELETE", del, del, ""}, nullptr).status, 401);
  r = Send({"DELETE", del, del, ""}, &phone.key);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["deleted"], true);
  r = Send({"DELETE", del, del, ""}, &phone.key);
  EXPECT_EQ(json::parse(r.body)["deleted"], false);
  EXPECT_EQ(Metric("kt_mailbox_messages_acked_total"), 1u);
  std::string bad_id = path + "/xyz";
  EXPECT_EQ(Send({"DELETE", bad_id, bad_id, ""}, &phone.key).status, 400);
  TestDevice laptop{"laptop"};
  Register("bob", laptop);
  EXPECT_EQ(Send({"GET", path, path, ""}, &laptop.key).status, 401);
  r = Send({"GET", path, path, ""}, &phone.key);
  EXPECT_EQ(json::parse(r.body)["messages"].size(), 2u);
  EXPECT_EQ(Metric("kt_mailbox_messages_fetched_total"), 3u + 1u + 2u);
}

}  // namespace
}  // namespace kt::log
