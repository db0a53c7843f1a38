// SPDX-License-Identifier: Apache-2.0
// Tests for log/api (the HTTP API handlers, without HTTP) over a real
// MemoryStorage, Sequencer and WitnessCollector (no witness policy, so every
// checkpoint is published at integration): bindings end to end with every
// answer checked by core's verifiers, lookup and history, tiles and entry
// bundles against an independent core::TreeBuilder, proofs, errors.
#include "log/api.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "core/policy.h"
#include "core/proof.h"
#include "core/tile.h"
#include "core/tlog_proof.h"
#include "log/memory_storage.h"
#include "tests/log/binding_testing.h"
#include "tests/log/in_process_log.h"
#include "tests/testing/vectors.h"

namespace kt::log {
namespace {

using nlohmann::json;
using testing::RevokeRequest;
using testing::SetRequest;
using testing::TestDevice;

using testing::kOrigin;
using testing::kToken;

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  for (int i = 0; i < 100000 && rc == Z_OK; i++) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

std::string HeaderOf(const ApiResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class LogApiTest : public testing::InProcessLogTest {
 protected:
  void SetUp() override {
    LogApiOptions api_options;
    api_options.witness_timeout = std::chrono::milliseconds(5000);
    ASSERT_NO_FATAL_FAILURE(StartLog(api_options));
  }

  ApiResponse Post(const json& body, std::optional<std::string> auth = std::nullopt,
                   bool allow = true) {
    return log_api_->PostBinding(body.dump(), auth, [allow] { return allow; });
  }
  ApiResponse PostAsOperator(const json& body) {
    return Post(body, std::string("Bearer ") + kToken);
  }

  // Verified checks a 200 answer's tlog-proof with core and returns the entry.
  core::Entry Verified(const ApiResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    auto entry_bytes = core::Base64Decode(j["entry"].get<std::string>());
    EXPECT_TRUE(entry_bytes.ok());
    auto v = core::VerifyTlogProof(j["proof"].get<std::string>(), *policy_, core::UnixSeconds());
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (v.ok()) {
      EXPECT_EQ(v->proof.extra, *entry_bytes);
      EXPECT_EQ(v->proof.index, j["index"].get<uint64_t>());
    }
    auto e = core::DecodeEntry(*entry_bytes);
    EXPECT_TRUE(e.ok());
    return e.ok() ? *e : core::Entry{};
  }

  // AddEntries integrates n operator entries through the sequencer and
  // returns their canonical bytes in index order (starting at the tree size).
  std::vector<Bytes> AddEntries(size_t n) {
    std::vector<std::future<StatusOr<SequencedEntry>>> fs;
    for (size_t i = 0; i < n; i++) {
      core::Entry e;
      e.user = "bulk" + std::to_string(i);
      e.device = "d";
      auto k = core::Ed25519Signer::Generate();
      e.identity_key = k.public_key();
      auto sig = k.Sign(core::PopMessage(e.user, e.device, e.identity_key));
      e.possession_sig.assign(sig.begin(), sig.end());
      Submission s;
      s.entry = e;
      fs.push_back(sequencer_->Submit(std::move(s)));
    }
    std::vector<std::pair<uint64_t, Bytes>> got;
    for (auto& f : fs) {
      auto r = f.get();
      EXPECT_TRUE(r.ok());
      if (r.ok()) got.emplace_back(r->index, r->entry);
    }
    std::sort(got.begin(), got.end());
    std::vector<Bytes> out;
    for (auto& [i, b] : got) out.push_back(b);
    return out;
  }
};

TEST_F(LogApiTest, CheckpointOfFreshLogIsTheEmptyTree) {
  ApiResponse r = log_api_->GetCheckpoint();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, kTextContentType);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), kCheckpointCache);
  auto v = core::VerifyCheckpoint(r.body, core::LogKeys(*policy_), {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint.size, 0u);
  EXPECT_EQ(v->checkpoint.root, core::EmptyRoot());
}

TEST_F(LogApiTest, BindingLifecycle) {
  const std::string user = "alice@example.org";
  TestDevice phone{"phone"}, laptop{"laptop"}, phone2{"phone"};
  // First device: operator token.
  core::Entry e0 = Verified(PostAsOperator(SetRequest(user, phone)));
  EXPECT_EQ(e0.prev, 0u);
  EXPECT_EQ(e0.identity_key, phone.key.public_key());
  EXPECT_TRUE(e0.endorsements.empty());
  // Second device, endorsed by the first (prev = 1 + index 0).
  core::Entry e1 = Verified(Post(SetRequest(user, laptop, 1, {&phone})));
  EXPECT_EQ(e1.prev, 1u);
  ASSERT_EQ(e1.endorsements.size(), 1u);
  EXPECT_EQ(e1.endorsements[0].device, "phone");
  // The phone rotates its key, endorsing with its current key.
  phone2.key = core::Ed25519Signer::Generate();
  core::Entry e2 = Verified(Post(SetRequest(user, phone2, 2, {&phone})));
  EXPECT_EQ(e2.identity_key, phone2.key.public_key());
  // A replay of the laptop request (stale prev) is a conflict.
  ApiResponse stale = Post(SetRequest(user, laptop, 1, {&phone2}));
  EXPECT_EQ(stale.status, 409) << stale.body;
  // The old phone key can no longer endorse.
  ApiResponse old = Post(SetRequest(user, TestDevice{"tablet"}, 3, {&phone}));
  EXPECT_EQ(old.status, 422) << old.body;
  // The laptop revokes the phone.
  core::Entry e3 = Verified(Post(RevokeRequest(user, "phone", 3, {&laptop})));
  EXPECT_EQ(e3.kind, core::EntryKind::kRevoke);
  // The revoked phone cannot endorse any more.
  ApiResponse revoked = Post(SetRequest(user, TestDevice{"tablet"}, 4, {&phone2}));
  EXPECT_EQ(revoked.status, 422) << revoked.body;
  // Revoking it again: 409.
  ApiResponse again = Post(RevokeRequest(user, "phone", 4, {&laptop}));
  EXPECT_EQ(again.status, 409) << again.body;

  // Lookup: only the laptop is current.
  ApiResponse look = log_api_->GetLookup(user);
  ASSERT_EQ(look.status, 200) << look.body;
  json lj = json::parse(look.body);
  EXPECT_EQ(lj["user"], user);
  ASSERT_EQ(lj["devices"].size(), 1u);
  EXPECT_EQ(lj["devices"][0]["device"], "laptop");
  EXPECT_EQ(lj["devices"][0]["index"], 1);
  auto lv = core::VerifyTlogProof(lj["devices"][0]["proof"].get<std::string>(), *policy_,
                                  core::UnixSeconds());
  ASSERT_TRUE(lv.ok()) << lv.status().ToString();
  EXPECT_EQ(core::Base64Encode(lv->proof.extra), lj["devices"][0]["entry"]);
  // History: all four, oldest first, each proven against one checkpoint.
  ApiResponse hist = log_api_->GetHistory(user);
  ASSERT_EQ(hist.status, 200) << hist.body;
  json hj = json::parse(hist.body);
  ASSERT_EQ(hj["entries"].size(), 4u);
  for (size_t i = 0; i < 4; i++) {
    EXPECT_EQ(hj["entries"][i]["index"], i);
    auto v = core::VerifyTlogProof(hj["entries"][i]["proof"].get<std::string>(), *policy_,
                                   core::UnixSeconds());
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->proof.checkpoint, hj["checkpoint"]);
  }
  EXPECT_EQ(log_api_->GetLookup(std::string("bob")).status, 404);
  EXPECT_EQ(log_api_->GetHistory(std::string("bob")).status, 404);
}

// As ktlog runs without witnesses: every batch's commit stores its checkpoint
// as witnessed, and POST /v1/bindings proves against the batch's checkpoint
// without reading it from storage. The proof must be against the same
// checkpoint storage holds as the entry's first witnessed one, and the
// hand-built body must be exactly nlohmann's rendering of the answer.
class LogApiBatchWitnessedTest : public LogApiTest {
 protected:
  void SetUp() override {
    LogApiOptions api_options;
    api_options.checkpoints_witnessed = true;
    ASSERT_NO_FATAL_FAILURE(StartLog(api_options));
  }
};

TEST_F(LogApiBatchWitnessedTest, AnswerProvesAgainstFirstWitnessedCheckpoint) {
  TestDevice phone{"phone"}, laptop{"laptop"};
  for (int i = 0; i < 3; i++) {
    ApiResponse r = PostAsOperator(SetRequest("user" + std::to_string(i) + "@example.org", phone));
    Verified(r);
    json j = json::parse(r.body);
    EXPECT_EQ(r.body, (json{{"entry", j["entry"]}, {"index", j["index"]}, {"proof", j["proof"]}})
                          .dump());
    auto first = storage_.ReadWitnessed(j["index"].get<uint64_t>() + 1);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto proof = core::ParseTlogProof(j["proof"].get<std::string>());
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(proof->checkpoint, first->checkpoint);
  }
  ApiResponse endorsed = Post(SetRequest("user0@example.org", laptop, 1, {&phone}));
  EXPECT_EQ(Verified(endorsed).endorsements.size(), 1u);
}

TEST_F(LogApiTest, PendingAnswerIsNlohmannRendering) {
  // A collector that is never told of an integration: the entry is never
  // witnessed within the timeout, so the answer is 202 pending.
  auto idle = WitnessCollector::Create(storage_, std::nullopt);
  ASSERT_TRUE(idle.ok());
  LogApiOptions options;
  options.witness_timeout = std::chrono::milliseconds(10);
  LogApi api(storage_, *sequencer_, **idle, token_.get(), options);
  TestDevice phone{"phone"};
  ApiResponse r = api.PostBinding(SetRequest("pending@example.org", phone).dump(),
                                  std::string("Bearer ") + kToken, [] { return true; });
  ASSERT_EQ(r.status, 202) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["status"], "pending");
  EXPECT_EQ(r.body, (json{{"entry", j["entry"]}, {"index", j["index"]}, {"status", "pending"}})
                        .dump());
}

TEST_F(LogApiTest, ErrorsFollowDesignOrder) {
  const std::string user = "carol";
  TestDevice d{"d"};
  auto code = [](const ApiResponse& r) { return json::parse(r.body)["code"].get<std::string>(); };
  ApiResponse r = log_api_->PostBinding("{not json", std::nullopt, nullptr);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "invalid_argument");
  r = Post(SetRequest(user, d), std::string("Bearer wrong-token-wrong-token"));
  EXPECT_EQ(r.status, 401);
  r = Post(SetRequest(user, d), std::string("Basic abc"));
  EXPECT_EQ(r.status, 401);
  json bad_pop = SetRequest(user, d);
  bad_pop["possession_sig"] = testing::B64(Bytes(64, 1));
  r = PostAsOperator(bad_pop);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(code(r), "verification_failed");
  r = Post(SetRequest(user, d));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "permission_denied");
  // 429 only once everything before it passed; malformed still gets 400.
  r = Post(SetRequest(user, d), std::string("Bearer ") + kToken, /*allow=*/false);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "1");
  r = Post(json{{"kind", "set"}}, std::nullopt, /*allow=*/false);
  EXPECT_EQ(r.status, 400);
  // Nothing of the refused requests was logged.
  EXPECT_EQ(log_api_->GetHistory(user).status, 404);
}

TEST_F(LogApiTest, TilesAndBundlesMatchIndependentTree) {
  std::vector<Bytes> entries = AddEntries(300);
  ASSERT_EQ(entries.size(), 300u);
  core::TreeBuilder tree;
  std::vector<Hash> leaves;
  for (const Bytes& e : entries) {
    leaves.push_back(core::RecordHash(e));
    tree.Append(leaves.back());
  }
  auto concat = [](std::span<const Hash> hs) {
    std::string s;
    for (const Hash& h : hs) s.append(reinterpret_cast<const char*>(h.data()), h.size());
    return s;
  };
  ApiResponse full = log_api_->GetTile("tile/0/000", false);
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.content_type, kOctetContentType);
  EXPECT_EQ(HeaderOf(full, "Cache-Control"), kImmutableCache);
  EXPECT_EQ(full.body, concat(std::span(leaves).first(256)));
  ApiResponse partial = log_api_->GetTile("tile/0/001.p/44", false);
  ASSERT_EQ(partial.status, 200) << partial.body;
  EXPECT_EQ(HeaderOf(partial, "Cache-Control"), kPartialTileCache);
  EXPECT_EQ(partial.body, concat(std::span(leaves).subspan(256, 44)));
  ApiResponse level1 = log_api_->GetTile("tile/1/000.p/1", false);
  ASSERT_EQ(level1.status, 200);
  Hash root256 = core::RootOfRange(std::span(leaves).first(256));
  EXPECT_EQ(level1.body, concat(std::span(&root256, 1)));
  // Entry bundles, plain and gzipped.
  auto bundle = core::EncodeEntryBundle(std::span(entries).first(256));
  ASSERT_TRUE(bundle.ok());
  ApiResponse b = log_api_->GetTile("tile/entries/000", false);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(b.body, core::AsStringView(*bundle));
  ApiResponse gz = log_api_->GetTile("tile/entries/000", true);
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), b.body.size());
  EXPECT_TRUE(Gunzip(gz.body) == b.body);
  auto last = core::EncodeEntryBundle(std::span(entries).subspan(256));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(log_api_->GetTile("tile/entries/001.p/44", false).body, core::AsStringView(*last));
  // Beyond the tree: 404; malformed: 400.
  EXPECT_EQ(log_api_->GetTile("tile/0/001.p/45", false).status, 404);
  EXPECT_EQ(log_api_->GetTile("tile/0/001", false).status, 404);
  EXPECT_EQ(log_api_->GetTile("tile/entries/002.p/1", false).status, 404);
  for (const char* bad : {"tile/0/1", "tile/0/001.p/0", "tile/0/001.p/256", "tile/x/000",
                          "tile/0/x000/001", "tile/64/000", "tile/0/000/", "tile//000"}) {
    EXPECT_EQ(log_api_->GetTile(bad, false).status, 400) << bad;
  }
  // Proofs agree with the independent tree.
  ApiResponse inc = log_api_->GetInclusionProof(std::string("123"), std::string("300"));
  ASSERT_EQ(inc.status, 200) << inc.body;
  json ij = json::parse(inc.body);
  core::InclusionProof ip{123, 300, {}};
  for (const auto& h : ij["proof"]) ip.path.push_back(*core::HexToHash(core::HexEncode(
                                        *core::Base64Decode(h.get<std::string>()))));
  EXPECT_TRUE(core::VerifyInclusion(ip, leaves[123], tree.Root()).ok());
  ApiResponse con = log_api_->GetConsistencyProof(std::string("100"), std::string("300"));
  ASSERT_EQ(con.status, 200) << con.body;
  json cj = json::parse(con.body);
  core::ConsistencyProof cp{100, 300, {}};
  for (const auto& h : cj["proof"]) cp.path.push_back(*core::HexToHash(core::HexEncode(
                                        *core::Base64Decode(h.get<std::string>()))));
  EXPECT_TRUE(core::VerifyConsistency(cp, core::RootOfRange(std::span(leaves).first(100)),
                                      tree.Root())
                  .ok());
  // Without size: the latest witnessed checkpoint (all 300 here).
  json dj = json::parse(log_api_->GetConsistencyProof(std::string("100"), std::nullopt).body);
  EXPECT_EQ(dj["size"], 300);
  EXPECT_EQ(dj["proof"], cj["proof"]);
  // Empty proofs for old = 0 and old = size.
  EXPECT_TRUE(
      json::parse(log_api_->GetConsistencyProof(std::string("0"), std::string("300")).body)["proof"]
          .empty());
  EXPECT_TRUE(
      json::parse(
          log_api_->GetConsistencyProof(std::string("300"), std::string("300")).body)["proof"]
          .empty());
}

TEST_F(LogApiTest, ProofParametersOutOfRangeAre400) {
  AddEntries(10);
  auto status = [](const ApiResponse& r) { return r.status; };
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("10"), std::string("10"))), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("0"), std::string("11"))), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("0"), std::string("0"))), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::nullopt, std::string("5"))), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("-1"), std::nullopt)), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("01"), std::nullopt)), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("x"), std::nullopt)), 400);
  EXPECT_EQ(status(log_api_->GetInclusionProof(std::string("9"), std::nullopt)), 200);
  EXPECT_EQ(status(log_api_->GetConsistencyProof(std::string("11"), std::string("10"))), 400);
  EXPECT_EQ(status(log_api_->GetConsistencyProof(std::string("5"), std::string("11"))), 400);
  EXPECT_EQ(status(log_api_->GetConsistencyProof(std::nullopt, std::string("10"))), 400);
  EXPECT_EQ(status(log_api_->GetConsistencyProof(std::string("5"), std::string("10"))), 200);
  EXPECT_EQ(status(log_api_->GetLookup(std::nullopt)), 400);
  EXPECT_EQ(status(log_api_->GetLookup(std::string(""))), 400);
  EXPECT_EQ(status(log_api_->GetLookup(std::string(256, 'u'))), 400);
  EXPECT_EQ(status(log_api_->GetHistory(std::string("\xff"))), 400);
}

TEST_F(LogApiTest, ProofAnswersAreNlohmannRendering) {
  AddEntries(21);
  auto head = storage_.ReadTreeState();
  ASSERT_TRUE(head.ok());
  const uint64_t size = head->size;
  for (uint64_t i = 0; i < size; i += 4) {
    ApiResponse r = log_api_->GetInclusionProof(std::to_string(i), std::to_string(size));
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(r.body, (json{{"index", i}, {"size", size}, {"proof", j["proof"]}}).dump());
    auto want = core::ProveRecord(size, i, storage_);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(j["proof"].size(), want->size());
    for (size_t k = 0; k < want->size(); k++) {
      EXPECT_EQ(j["proof"][k], core::Base64Encode((*want)[k]));
    }
  }
  for (uint64_t old : {uint64_t{0}, uint64_t{1}, uint64_t{7}, size}) {
    ApiResponse r = log_api_->GetConsistencyProof(std::to_string(old), std::to_string(size));
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(r.body, (json{{"old", old}, {"size", size}, {"proof", j["proof"]}}).dump());
    auto want = core::ProveTree(size, old, storage_);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(j["proof"].size(), want->size());
  }
}

// CountingReader forwards to the real storage and counts the hashes read.
class CountingReader : public core::HashReader {
 public:
  explicit CountingReader(core::HashReader& inner) : inner_(inner) {}
  Status ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) override {
    read += indexes.size();
    return inner_.ReadHashes(indexes, out);
  }
  size_t read = 0;

 private:
  core::HashReader& inner_;
};

TEST_F(LogApiTest, StoredHashCacheAgreesWithStorage) {
  AddEntries(300);
  auto head = storage_.ReadTreeState();
  ASSERT_TRUE(head.ok());
  CountingReader counting(storage_);
  StoredHashCache cache(counting);
  for (uint64_t index = 0; index < head->size; index += 7) {
    std::vector<uint64_t> plan = core::RecordProofIndexes(head->size, index);
    std::vector<Hash> want, got;
    ASSERT_TRUE(storage_.ReadHashes(plan, &want).ok());
    ASSERT_TRUE(cache.ReadHashes(plan, &got).ok());
    EXPECT_EQ(got, want) << "index " << index;
    size_t before = counting.read;
    ASSERT_TRUE(cache.ReadHashes(plan, &got).ok());
    EXPECT_EQ(counting.read, before) << "a repeated read must come from the cache";
    EXPECT_EQ(got, want);
  }
  // Indexes that share a slot evict each other but never mix up.
  uint64_t a = 3, b = 3 + StoredHashCache::kSlots;
  std::vector<Hash> one, two;
  ASSERT_TRUE(cache.ReadHashes(std::vector<uint64_t>{a}, &one).ok());
  Status missing = cache.ReadHashes(std::vector<uint64_t>{b}, &two);
  EXPECT_FALSE(missing.ok()) << "index beyond the stored tree";
  std::vector<Hash> again, direct;
  ASSERT_TRUE(cache.ReadHashes(std::vector<uint64_t>{a}, &again).ok());
  ASSERT_TRUE(storage_.ReadHashes(std::vector<uint64_t>{a}, &direct).ok());
  EXPECT_EQ(again, direct);
}

TEST_F(LogApiTest, StoredHashCacheIsConsistentUnderConcurrentUse) {
  AddEntries(300);
  auto head = storage_.ReadTreeState();
  ASSERT_TRUE(head.ok());
  const uint64_t size = head->size;
  std::vector<Hash> want;
  std::vector<uint64_t> all;
  for (uint64_t i = 0; i < 2 * size - 1 && all.size() < 400; i++) {
    std::vector<Hash> one;
    if (storage_.ReadHashes(std::vector<uint64_t>{i}, &one).ok()) {
      all.push_back(i);
      want.push_back(one[0]);
    }
  }
  ASSERT_GT(all.size(), 100u);
  // Four threads read overlapping sets, so slots are filled concurrently and
  // read while being filled: every answer must still be the stored hash.
  StoredHashCache cache(storage_);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 300; round++) {
        std::vector<uint64_t> plan;
        for (size_t k = (round + t) % 7; k < all.size(); k += 7) plan.push_back(all[k]);
        std::vector<Hash> got;
        if (!cache.ReadHashes(plan, &got).ok()) {
          wrong++;
          continue;
        }
        for (size_t k = 0, j = (round + t) % 7; j < all.size(); k++, j += 7) {
          if (got[k] != want[j]) wrong++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(GzipCompressTest, RoundTrips) {
  for (size_t n : {0u, 1u, 1000u, 70000u}) {
    std::string s;
    for (size_t i = 0; i < n; i++) s.push_back(static_cast<char>(i * 7 % 251));
    EXPECT_TRUE(Gunzip(GzipCompress(s)) == s) << n;
  }
}

TEST(LogApiVectorTest, InvalidTilePathsAre400) {
  json v = kt::testing::LoadVectorJson("merkle/tiles.json");
  ASSERT_TRUE(v.contains("invalid_paths"));
  MemoryStorage storage;
  auto key = core::GenerateSignerKey(kOrigin, core::kSigTypeEd25519);
  ASSERT_TRUE(key.ok());
  auto seq = Sequencer::Create(storage, MakeCheckpointSigner(*key));
  ASSERT_TRUE(seq.ok());
  auto wc = WitnessCollector::Create(storage, std::nullopt);
  ASSERT_TRUE(wc.ok());
  LogApi api(storage, **seq, **wc, nullptr);
  for (const auto& p : v["invalid_paths"]) {
    std::string path = p.get<std::string>();
    if (path.starts_with("/")) path = path.substr(1);
    EXPECT_EQ(api.GetTile(path, false).status, 400) << path;
  }
}

}  // namespace
}  // namespace kt::log
