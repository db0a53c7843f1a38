// SPDX-License-Identifier: Apache-2.0
// Tests for x3dh/prekey_store.h: upload/replace rules (SPK id reuse, OPK id
// reuse forever, pool bound, identity key change), popping one OPK per
// device atomically (also under concurrent fetches), identity key filter,
// Count, and persistence across reopen.
#include "x3dh/prekey_store.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "tests/testing/vectors.h"

namespace kt::x3dh {
namespace {

constexpr uint64_t kNow = 1'750'000'000;

// Device uploads one fixed SPK per spk_id (as a real device does) and fresh
// OPKs.
struct Device {
  core::Ed25519Signer identity = core::Ed25519Signer::Generate();
  std::map<uint32_t, SignedPrekey> spks;

  PrekeyUpload Upload(uint32_t spk_id, uint32_t first_opk, uint32_t opks) {
    if (!spks.contains(spk_id)) {
      spks[spk_id] = SignPrekey(identity, spk_id, kNow, core::GenerateX25519().public_key);
    }
    PrekeyUpload u;
    u.identity_key = identity.public_key();
    u.spk = spks[spk_id];
    for (uint32_t i = 0; i < opks; ++i) {
      u.opks.push_back(OneTimePrekey{first_opk + i, core::GenerateX25519().public_key});
    }
    return u;
  }
};

std::unique_ptr<PrekeyStore> OpenStore(const std::string& dir, uint64_t max_pool = kMaxOpkPool) {
  PrekeyStoreOptions o;
  o.env.no_sync = true;
  o.env.map_size = uint64_t{1} << 30;
  o.max_pool = max_pool;
  auto s = PrekeyStore::Open(dir, o);
  KT_CHECK(s.ok());
  return std::move(s).value();
}

TEST(PrekeyStoreTest, UploadCountPopAndExhaust) {
  auto store = OpenStore(testing::TempDir("prekeys"));
  Device d;
  PrekeyUpload up = d.Upload(7, 100, 3);
  auto out = store->Upload("bob", "phone", up);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->refusal, UploadRefusal::kNone);
  EXPECT_EQ(out->opk_count, 3u);
  EXPECT_EQ(out->spk_id, 7u);
  auto count = store->Count("bob", "phone");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->opk_count, 3u);
  EXPECT_EQ(count->spk_id, 7u);
  EXPECT_EQ(count->spk_created, kNow);
  EXPECT_EQ(store->Count("bob", "laptop").status().code(), core::Status::Code::kNotFound);

  std::vector<BundleQuery> q = {{"phone", d.identity.public_key()}};
  for (uint32_t i = 0; i < 3; ++i) {
    auto b = store->PopBundles("bob", q);
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(b->size(), 1u);
    const PrekeyBundle& bundle = (*b)[0];
    EXPECT_EQ(bundle.user, "bob");
    EXPECT_EQ(bundle.device, "phone");
    EXPECT_EQ(bundle.identity_key, d.identity.public_key());
    EXPECT_EQ(bundle.signed_prekey, up.spk);
    ASSERT_TRUE(bundle.one_time_prekey.has_value());
    EXPECT_EQ(*bundle.one_time_prekey, up.opks[i]);  // lowest id first
  }
  auto empty = store->PopBundles("bob", q);
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_FALSE((*empty)[0].one_time_prekey.has_value());
  EXPECT_EQ(store->Count("bob", "phone")->opk_count, 0u);
}

TEST(PrekeyStoreTest, OpkIdsAreNeverReused) {
  auto store = OpenStore(testing::TempDir("prekeys"));
  Device d;
  ASSERT_EQ(store->Upload("u", "d", d.Upload(1, 10, 2))->refusal, UploadRefusal::kNone);
  // Popped ids stay remembered.
  std::vector<BundleQuery> q = {{"d", d.identity.public_key()}};
  ASSERT_TRUE(store->PopBundles("u", q).ok());
  auto again = store->Upload("u", "d", d.Upload(1, 10, 1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->refusal, UploadRefusal::kOpkIdReused);
  EXPECT_EQ(again->opk_id, 10u);
  // Twice within one request.
  PrekeyUpload dup = d.Upload(1, 20, 1);
  dup.opks.push_back(dup.opks[0]);
  EXPECT_EQ(store->Upload("u", "d", dup)->refusal, UploadRefusal::kOpkIdReused);
  // Nothing of a refused upload is stored.
  EXPECT_EQ(store->Count("u", "d")->opk_count, 1u);
  EXPECT_EQ(store->Upload("u", "d", d.Upload(1, 20, 1))->refusal, UploadRefusal::kNone);
  EXPECT_EQ(store->Count("u", "d")->opk_count, 2u);
  // Ids are per device.
  EXPECT_EQ(store->Upload("u", "d2", d.Upload(1, 10, 1))->refusal, UploadRefusal::kNone);
}

TEST(PrekeyStoreTest, SpkReplaceRules) {
  auto store = OpenStore(testing::TempDir("prekeys"));
  Device d;
  PrekeyUpload first = d.Upload(5, 0, 0);
  ASSERT_EQ(store->Upload("u", "d", first)->refusal, UploadRefusal::kNone);
  // Same id, identical SPK: fine (an OPK refill).
  PrekeyUpload refill = first;
  refill.opks = {OneTimePrekey{1, core::GenerateX25519().public_key}};
  EXPECT_EQ(store->Upload("u", "d", refill)->refusal, UploadRefusal::kNone);
  // Same id, different SPK: refused.
  PrekeyUpload other = d.Upload(5, 2, 1);
  other.spk = SignPrekey(d.identity, 5, kNow, core::GenerateX25519().public_key);
  EXPECT_EQ(store->Upload("u", "d", other)->refusal, UploadRefusal::kSpkIdReused);
  EXPECT_EQ(store->Count("u", "d")->opk_count, 1u);
  // New id: replaces, OPKs kept.
  PrekeyUpload rotated = d.Upload(6, 2, 1);
  auto out = store->Upload("u", "d", rotated);
  EXPECT_EQ(out->refusal, UploadRefusal::kNone);
  EXPECT_EQ(out->spk_id, 6u);
  EXPECT_EQ(out->opk_count, 2u);
  std::vector<BundleQuery> q = {{"d", d.identity.public_key()}};
  EXPECT_EQ((*store->PopBundles("u", q))[0].signed_prekey, rotated.spk);
}

TEST(PrekeyStoreTest, PoolBound) {
  auto store = OpenStore(testing::TempDir("prekeys"), 5);
  Device d;
  EXPECT_EQ(store->Upload("u", "d", d.Upload(1, 0, 4))->refusal, UploadRefusal::kNone);
  EXPECT_EQ(store->Upload("u", "d", d.Upload(1, 4, 2))->refusal, UploadRefusal::kPoolFull);
  auto ok = store->Upload("u", "d", d.Upload(1, 4, 1));
  EXPECT_EQ(ok->refusal, UploadRefusal::kNone);
  EXPECT_EQ(ok->opk_count, 5u);
}

TEST(PrekeyStoreTest, IdentityKeyFilterAndReset) {
  auto store = OpenStore(testing::TempDir("prekeys"));
  Device old_key, new_key;
  ASSERT_EQ(store->Upload("u", "d", old_key.Upload(1, 0, 2))->refusal, UploadRefusal::kNone);
  // Asked with another key (the log moved on): skipped, nothing popped.
  std::vector<BundleQuery> q_new = {{"d", new_key.identity.public_key()}};
  EXPECT_TRUE(store->PopBundles("u", q_new)->empty());
  EXPECT_EQ(store->Count("u", "d")->opk_count, 2u);
  // An upload under the new key starts the device afresh: old ids free again.
  auto out = store->Upload("u", "d", new_key.Upload(1, 0, 1));
  ASSERT_EQ(out->refusal, UploadRefusal::kNone);
  EXPECT_EQ(out->opk_count, 1u);
  auto b = store->PopBundles("u", q_new);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].identity_key, new_key.identity.public_key());
  std::vector<BundleQuery> q_old = {{"d", old_key.identity.public_key()}};
  EXPECT_TRUE(store->PopBundles("u", q_old)->empty());
}

TEST(PrekeyStoreTest, OnePopPerDeviceOfTheUser) {
  auto store = OpenStore(testing::TempDir("prekeys"));
  Device a, b;
  ASSERT_EQ(store->Upload("u", "a", a.Upload(1, 0, 2))->refusal, UploadRefusal::kNone);
  ASSERT_EQ(store->Upload("u", "b", b.Upload(1, 0, 2))->refusal, UploadRefusal::kNone);
  ASSERT_EQ(store->Upload("other", "a", a.Upload(1, 0, 2))->refusal, UploadRefusal::kNone);
  std::vector<BundleQuery> q = {{"a", a.identity.public_key()},
                                {"missing", a.identity.public_key()},
                                {"b", b.identity.public_key()}};
  auto bundles = store->PopBundles("u", q);
  ASSERT_TRUE(bundles.ok());
  ASSERT_EQ(bundles->size(), 2u);
  EXPECT_EQ((*bundles)[0].device, "a");
  EXPECT_EQ((*bundles)[1].device, "b");
  EXPECT_EQ(store->Count("u", "a")->opk_count, 1u);
  EXPECT_EQ(store->Count("u", "b")->opk_count, 1u);
  EXPECT_EQ(store->Count("other", "a")->opk_count, 2u);
}

TEST(PrekeyStoreTest, ConcurrentPopsNeverShareAnOpk) {
  auto store = OpenStore(testing::TempDir("prekeys"));
  Device d;
  ASSERT_EQ(store->Upload("u", "d", d.Upload(1, 0, 100))->refusal, UploadRefusal::kNone);
  std::vector<BundleQuery> q = {{"d", d.identity.public_key()}};
  std::mutex mu;
  std::multiset<uint32_t> handed;
  int without = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 16; ++i) {
        auto b = store->PopBundles("u", q);
        KT_CHECK(b.ok() && b->size() == 1);
        std::lock_guard<std::mutex> lock(mu);
        if ((*b)[0].one_time_prekey) {
          handed.insert((*b)[0].one_time_prekey->opk_id);
        } else {
          without++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(handed.size(), 100u);
  EXPECT_EQ(std::set<uint32_t>(handed.begin(), handed.end()).size(), 100u);
  EXPECT_EQ(without, 8 * 16 - 100);
}

TEST(PrekeyStoreTest, SurvivesReopen) {
  std::string dir = testing::TempDir("prekeys");
  Device d;
  {
    auto store = OpenStore(dir);
    ASSERT_EQ(store->Upload("u", "d", d.Upload(3, 0, 2))->refusal, UploadRefusal::kNone);
  }
  auto store = OpenStore(dir);
  EXPECT_EQ(store->Count("u", "d")->opk_count, 2u);
  EXPECT_EQ(store->Upload("u", "d", d.Upload(3, 1, 1))->refusal, UploadRefusal::kOpkIdReused);
}

}  // namespace
}  // namespace kt::x3dh
