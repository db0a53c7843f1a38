// SPDX-License-Identifier: Apache-2.0
// Tests for witness/state_store.h against real LMDB files in temp dirs.
#include "witness/state_store.h"

#include <gtest/gtest.h>

#include <string>

#include "core/note.h"
#include "tests/testing/vectors.h"
#include "tests/witness/witness_testing.h"

namespace kt::witness {
namespace {

using core::Status;

StoredCheckpoint MakeState(testing::TestLog& log, uint64_t size, uint64_t at = 1700000000) {
  return StoredCheckpoint{log.CheckpointAt(size), log.Signed(size), at};
}

std::unique_ptr<StateStore> OpenStore(const std::string& dir) {
  auto s = StateStore::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(StateStoreTest, EmptyStoreHasNoState) {
  auto store = OpenStore(testing::TempDir("wstate"));
  ASSERT_TRUE(store);
  auto got = store->Get("example.com/log");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  auto n = store->EvidenceCount();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST(StateStoreTest, WriteReadAndSurviveReopen) {
  const std::string dir = testing::TempDir("wstate");
  testing::TestLog a("a.example/log"), b("b.example/log");
  {
    auto store = OpenStore(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->env()
                    .Update([&](store::Txn& txn) -> Status {
                      KT_RETURN_IF_ERROR(store->Write(txn, MakeState(a, 5)));
                      // A write is visible to a later Read in the same txn.
                      auto in_txn = store->Read(txn, "a.example/log");
                      EXPECT_TRUE(in_txn.ok() && in_txn->has_value());
                      return store->Write(txn, MakeState(b, 9));
                    })
                    .ok());
  }
  auto store = OpenStore(dir);
  ASSERT_TRUE(store);
  auto got_a = store->Get("a.example/log");
  ASSERT_TRUE(got_a.ok() && got_a->has_value());
  EXPECT_EQ(**got_a, MakeState(a, 5));
  auto got_b = store->GetByKey(OriginKey("b.example/log"));
  ASSERT_TRUE(got_b.ok() && got_b->has_value());
  EXPECT_EQ((*got_b)->checkpoint.size, 9u);
}

TEST(StateStoreTest, WriteRefusesNoteThatIsNotTheCheckpoint) {
  auto store = OpenStore(testing::TempDir("wstate"));
  ASSERT_TRUE(store);
  testing::TestLog log("a.example/log");
  StoredCheckpoint s = MakeState(log, 5);
  s.note = log.Signed(6);
  EXPECT_EQ(store->env().Update([&](store::Txn& txn) { return store->Write(txn, s); }).code(),
            Status::Code::kInvalidArgument);
  s.note = "not a note";
  EXPECT_FALSE(store->env().Update([&](store::Txn& txn) { return store->Write(txn, s); }).ok());
}

TEST(StateStoreTest, EncodeDecodeRoundTripAndCorruption) {
  testing::TestLog log("a.example/log");
  const StoredCheckpoint s = MakeState(log, 12, 42);
  const std::string v = EncodeStoredCheckpoint(s);
  auto back = DecodeStoredCheckpoint(v);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
  // Every truncation and every byte flip of the fixed header is Corruption.
  for (size_t n = 0; n < v.size(); ++n) {
    EXPECT_EQ(DecodeStoredCheckpoint(v.substr(0, n)).status().code(), Status::Code::kCorruption);
  }
  for (size_t i = 0; i < 1 + 8 + 32 + 4; ++i) {
    if (i >= 41 && i < 49) continue;  // cosigned_at is free-form
    std::string m = v;
    m[i] = static_cast<char>(m[i] ^ 0x01);
    EXPECT_EQ(DecodeStoredCheckpoint(m).status().code(), Status::Code::kCorruption) << i;
  }
  EXPECT_EQ(DecodeStoredCheckpoint(v + "x").status().code(), Status::Code::kCorruption);
}

TEST(StateStoreTest, CorruptRecordIsReportedNotServed) {
  const std::string dir = testing::TempDir("wstate");
  auto env = store::Env::Open(dir);
  ASSERT_TRUE(env.ok());
  auto dbi = (*env)->OpenDb("witness_state");
  ASSERT_TRUE(dbi.ok());
  const core::Hash key = OriginKey("a.example/log");
  ASSERT_TRUE((*env)->Update([&](store::Txn& txn) {
                  return txn.Put(*dbi, key, core::AsBytes("garbage"));
                }).ok());
  env->reset();
  auto store = OpenStore(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Get("a.example/log").status().code(), Status::Code::kCorruption);
}

TEST(StateStoreTest, RecordUnderWrongKeyIsCorruption) {
  const std::string dir = testing::TempDir("wstate");
  testing::TestLog log("a.example/log");
  auto env = store::Env::Open(dir);
  ASSERT_TRUE(env.ok());
  auto dbi = (*env)->OpenDb("witness_state");
  ASSERT_TRUE(dbi.ok());
  const core::Hash key = OriginKey("b.example/log");
  ASSERT_TRUE((*env)->Update([&](store::Txn& txn) {
                  return txn.Put(*dbi, key, core::AsBytes(EncodeStoredCheckpoint(MakeState(log, 3))));
                }).ok());
  env->reset();
  auto store = OpenStore(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Get("b.example/log").status().code(), Status::Code::kCorruption);
}

// Reads are memoised by the record's bytes: a record changed underneath (by
// another writer, or a write whose txn aborted) is decoded and checked again.
TEST(StateStoreTest, MemoisedReadsFollowTheStoredBytes) {
  testing::TestLog log("a.example/log");
  auto store = OpenStore(testing::TempDir("wstate"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->env().Update([&](store::Txn& txn) { return store->Write(txn, MakeState(log, 5)); }).ok());
  auto got = store->Get("a.example/log");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, MakeState(log, 5));
  // A write whose txn aborts leaves the stored record (and what Get serves).
  EXPECT_EQ(store->env()
                .Update([&](store::Txn& txn) -> Status {
                  KT_RETURN_IF_ERROR(store->Write(txn, MakeState(log, 6)));
                  return Status::IOError("abort");
                })
                .code(),
            Status::Code::kIOError);
  got = store->Get("a.example/log");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, MakeState(log, 5));
  // Bytes put behind the store's back are decoded afresh: a valid record is
  // served, garbage is Corruption.
  auto dbi = store->env().OpenDb("witness_state");
  ASSERT_TRUE(dbi.ok());
  const core::Hash key = OriginKey("a.example/log");
  ASSERT_TRUE(store->env().Update([&](store::Txn& txn) {
                  return txn.Put(*dbi, key, core::AsBytes(EncodeStoredCheckpoint(MakeState(log, 7))));
                }).ok());
  got = store->Get("a.example/log");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, MakeState(log, 7));
  ASSERT_TRUE(store->env().Update([&](store::Txn& txn) {
                  return txn.Put(*dbi, key, core::AsBytes("garbage"));
                }).ok());
  EXPECT_EQ(store->Get("a.example/log").status().code(), Status::Code::kCorruption);
  // A fresh store (empty memo) reads what the memoised one wrote identically.
  ASSERT_TRUE(store->env().Update([&](store::Txn& txn) { return store->Write(txn, MakeState(log, 8)); }).ok());
  auto memo = store->Get("a.example/log");
  const std::filesystem::path dir = store->env().path();
  store.reset();
  auto fresh = OpenStore(dir);
  ASSERT_TRUE(fresh);
  auto cold = fresh->Get("a.example/log");
  ASSERT_TRUE(memo.ok() && cold.ok() && memo->has_value() && cold->has_value());
  EXPECT_EQ(**memo, **cold);
  EXPECT_EQ(**cold, MakeState(log, 8));
}

TEST(StateStoreTest, EvidenceIsDeduplicatedByCheckpointText) {
  auto store = OpenStore(testing::TempDir("wstate"));
  ASSERT_TRUE(store);
  testing::TestLog log("a.example/log");
  const std::string text = log.CheckpointAt(4).origin + "\n4\n";  // any text: it is only hashed
  Evidence e1{"a.example/log", EvidenceKind::kSameSizeDifferentRoot, 1000, log.Signed(4),
              "request one"};
  Evidence e2 = e1;
  e2.request = "request two";
  Evidence e3 = e1;
  e3.kind = EvidenceKind::kConsistencyProofFailed;
  ASSERT_TRUE(store->env()
                  .Update([&](store::Txn& txn) -> Status {
                    KT_RETURN_IF_ERROR(store->AddEvidence(txn, text, e1));
                    KT_RETURN_IF_ERROR(store->AddEvidence(txn, text, e2));  // same text: kept e1
                    return store->AddEvidence(txn, text + "other\n", e3);
                  })
                  .ok());
  auto list = store->ListEvidence(10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE(((*list)[0] == e1 && (*list)[1] == e3) || ((*list)[0] == e3 && (*list)[1] == e1));
  auto limited = store->ListEvidence(1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
  auto n = store->EvidenceCount();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
}

TEST(StateStoreTest, EvidenceEncodingRoundTrip) {
  Evidence e{"o", EvidenceKind::kBadEmptyRoot, 7, "", "body"};
  const std::string v = EncodeEvidence(e);
  auto back = DecodeEvidence(v);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
  for (size_t n = 0; n < v.size(); ++n) EXPECT_FALSE(DecodeEvidence(v.substr(0, n)).ok());
  std::string bad_kind = v;
  bad_kind[1] = 9;
  EXPECT_EQ(DecodeEvidence(bad_kind).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace kt::witness
