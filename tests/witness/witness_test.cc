// SPDX-License-Identifier: Apache-2.0
// Tests for witness/witness.h: every tlog-witness rule and the DESIGN.md error
// precedence, against a real LMDB state store in a temp dir.
#include "witness/witness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/checkpoint.h"
#include "core/cosignature.h"
#include "core/merkle.h"
#include "core/note.h"
#include "tests/testing/vectors.h"
#include "tests/witness/witness_testing.h"

namespace kt::witness {
namespace {

using core::Status;
using Code = core::Status::Code;

core::SignerKey NewWitnessKey(const std::string& name) {
  auto k = core::GenerateSignerKey(name, core::kSigTypeCosignatureV1);
  KT_CHECK(k.ok());
  return *k;
}

class WitnessTest : public ::testing::Test {
 protected:
  WitnessTest()
      : dir_(testing::TempDir("witness")),
        log_("example.com/log"),
        other_("other.example/log"),
        wkeys_{NewWitnessKey("witness.example/w1")} {}

  void SetUp() override { Open(); }

  void Open() {
    store::EnvOptions opt;
    opt.no_sync = true;  // durability is covered by the integration test
    auto s = StateStore::Open(dir_, opt);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    committer_ = std::make_unique<GroupCommitter>(&store_->env());
    WitnessOptions wopt = options_;
    wopt.now = [] { return uint64_t{1700000000}; };
    auto w = Witness::Create(wkeys_, LogKeys(), store_.get(), committer_.get(), wopt);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    witness_ = std::move(w).value();
  }

  void Reopen() {
    witness_.reset();
    committer_.reset();
    store_.reset();
    Open();
  }

  virtual std::vector<core::VerifierKey> LogKeys() {
    std::vector<core::VerifierKey> keys{log_.key().Verifier(), other_.key().Verifier()};
    keys.insert(keys.end(), extra_log_keys_.begin(), extra_log_keys_.end());
    return keys;
  }

  std::vector<core::VerifierKey> WitnessVerifiers() const {
    std::vector<core::VerifierKey> out;
    for (const auto& k : wkeys_) out.push_back(k.Verifier());
    return out;
  }

  core::StatusOr<std::string> Add(const std::string& body) { return witness_->AddCheckpoint(body); }

  // ExpectCosigned checks that `resp` holds one valid cosignature per witness
  // key over `signed_note`.
  void ExpectCosigned(const core::StatusOr<std::string>& resp, const std::string& signed_note) {
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    auto v = core::VerifyCheckpoint(signed_note + *resp, LogKeys(), WitnessVerifiers(),
                                    core::CheckpointOptions{.allow_extensions = true});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->note.cosignatures.size(), wkeys_.size());
    for (const auto& c : v->note.cosignatures) EXPECT_EQ(c.timestamp, 1700000000u);
    EXPECT_EQ(std::count(resp->begin(), resp->end(), '\n'), static_cast<long>(wkeys_.size()));
  }

  uint64_t StoredSize(const std::string& origin) {
    auto s = store_->Get(origin);
    KT_CHECK(s.ok());
    return s->has_value() ? (*s)->checkpoint.size : UINT64_MAX;
  }

  std::vector<Evidence> AllEvidence() {
    auto e = witness_->ListEvidence(1000);
    KT_CHECK(e.ok());
    return *e;
  }

  std::string dir_;
  testing::TestLog log_;
  testing::TestLog other_;
  std::vector<core::SignerKey> wkeys_;
  std::vector<core::VerifierKey> extra_log_keys_;
  WitnessOptions options_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<Witness> witness_;
};

// --- 200 ---------------------------------------------------------------------

TEST_F(WitnessTest, CosignsFirstCheckpointAndStoresIt) {
  ExpectCosigned(Add(log_.Request(0, 5)), log_.Signed(5));
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
  EXPECT_EQ(StoredSize("other.example/log"), UINT64_MAX);
}

TEST_F(WitnessTest, CosignsAChainAndResubmissions) {
  ExpectCosigned(Add(log_.Request(0, 5)), log_.Signed(5));
  ExpectCosigned(Add(log_.Request(5, 9)), log_.Signed(9));
  ExpectCosigned(Add(log_.Request(9, 9)), log_.Signed(9));  // same size and root
  ExpectCosigned(Add(log_.Request(9, 300)), log_.Signed(300));
  EXPECT_EQ(StoredSize("example.com/log"), 300u);
}

TEST_F(WitnessTest, CosignsEmptyTreeThenGrows) {
  ExpectCosigned(Add(log_.Request(0, 0)), log_.Signed(0));
  EXPECT_EQ(StoredSize("example.com/log"), 0u);
  ExpectCosigned(Add(log_.Request(0, 0)), log_.Signed(0));
  ExpectCosigned(Add(log_.Request(0, 4)), log_.Signed(4));
  EXPECT_EQ(StoredSize("example.com/log"), 4u);
}

TEST_F(WitnessTest, EveryWitnessKeyCosigns) {
  wkeys_.push_back(NewWitnessKey("witness.example/w2"));
  wkeys_.push_back(NewWitnessKey("witness.example/w1-rotated"));
  Reopen();
  ExpectCosigned(Add(log_.Request(0, 3)), log_.Signed(3));
}

TEST_F(WitnessTest, LogsHaveIndependentState) {
  ExpectCosigned(Add(log_.Request(0, 5)), log_.Signed(5));
  ExpectCosigned(Add(other_.Request(0, 2)), other_.Signed(2));
  ExpectCosigned(Add(other_.Request(2, 7)), other_.Signed(7));
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
  EXPECT_EQ(StoredSize("other.example/log"), 7u);
}

TEST_F(WitnessTest, AcceptsEitherOfTwoTrustedKeysOfOneOrigin) {
  auto rotated = core::GenerateSignerKey("example.com/log", core::kSigTypeEd25519);
  ASSERT_TRUE(rotated.ok());
  extra_log_keys_.push_back(rotated->Verifier());
  Reopen();
  testing::TestLog same_tree_new_key("example.com/log", *rotated, "leaf-");
  ExpectCosigned(Add(log_.Request(0, 5)), log_.Signed(5));
  ExpectCosigned(Add(same_tree_new_key.Request(5, 8)), same_tree_new_key.Signed(8));
  // The stored note keeps the trusted log signature it verified.
  auto got = witness_->GetCheckpoint(OriginKey("example.com/log"));
  ASSERT_TRUE(got.ok());
  const std::vector<core::VerifierKey> rotated_keys{rotated->Verifier()};
  auto v = core::VerifyCheckpoint(*got, rotated_keys, WitnessVerifiers());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint.size, 8u);
}

TEST_F(WitnessTest, IgnoresAndDropsSignaturesOfUnknownKeys) {
  testing::TestLog stranger("example.com/log");  // same name, another key
  const std::string note = log_.Signed(6);
  auto extra = core::AddSignatures(note, std::vector<core::NoteSignature>{
                                             core::SignNote(stranger.key(), log_.Signed(6).substr(
                                                                                0, note.find("\n\n") + 1))});
  ASSERT_TRUE(extra.ok());
  ExpectCosigned(Add(testing::TestLog::RequestWith(0, {}, *extra)), *extra);
  auto got = witness_->GetCheckpoint(OriginKey("example.com/log"));
  ASSERT_TRUE(got.ok());
  auto parsed = core::ParseNote(*got);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->signatures.size(), 2u);  // the log's and ours, not the stranger's
  EXPECT_EQ(parsed->signatures[0].key_id, log_.key().key_id);
  EXPECT_EQ(parsed->signatures[1].key_id, wkeys_[0].key_id);
}

TEST_F(WitnessTest, CosignsCheckpointsWithExtensionLines) {
  core::Checkpoint cp = log_.CheckpointAt(4);
  cp.extensions = {"ext one", "ext two"};
  const std::string note = core::SignCheckpoint(log_.key(), cp);
  ExpectCosigned(Add(testing::TestLog::RequestWith(0, {}, note)), note);
}

TEST_F(WitnessTest, GetCheckpointServesTheCosignedNote) {
  EXPECT_EQ(witness_->GetCheckpoint(OriginKey("example.com/log")).status().code(), Code::kNotFound);
  ASSERT_TRUE(Add(log_.Request(0, 11)).ok());
  auto got = witness_->GetCheckpoint(OriginKey("example.com/log"));
  ASSERT_TRUE(got.ok());
  auto v = core::VerifyCheckpoint(*got, LogKeys(), WitnessVerifiers());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint, log_.CheckpointAt(11));
  EXPECT_EQ(v->note.cosignatures.size(), 1u);
  EXPECT_EQ(witness_->GetCheckpoint(OriginKey("nope")).status().code(), Code::kNotFound);
}

TEST_F(WitnessTest, StateSurvivesReopen) {
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  Reopen();
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
  auto r = Add(log_.Request(0, 9));
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_EQ(r.status().value(), 5u);
  ExpectCosigned(Add(log_.Request(5, 9)), log_.Signed(9));
}

// --- 400 ---------------------------------------------------------------------

TEST_F(WitnessTest, MalformedBodiesAre400) {
  const std::string note = log_.Signed(5);
  for (const std::string& body :
       {std::string(""), std::string("garbage"), "old 0\n" + note, "old 00\n\n" + note,
        "old 0\n\nexample.com/log\n5\nnot base64\n\n" + note.substr(note.find("\n\n") + 2),
        "old 0\n\n" + note.substr(0, note.find("\n\n") + 1),  // no signature line
        "old 0\n\nexample.com/log\n05\n" + note.substr(note.find('\n', 16) + 1)}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(Add(body).status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(StoredSize("example.com/log"), UINT64_MAX);
}

TEST_F(WitnessTest, MoreThanSixtyThreeProofLinesIs400EvenForUnknownOrigin) {
  testing::TestLog unknown("unknown.example/log");
  std::vector<core::Hash> proof(64);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(1, proof, unknown.Signed(3))).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(1, proof, log_.Signed(3))).status().code(),
            Code::kInvalidArgument);
}

TEST_F(WitnessTest, OldSizeGreaterThanCheckpointSizeIs400) {
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  // Also wins over the 409 that old != stored would give.
  EXPECT_EQ(Add(testing::TestLog::RequestWith(6, {}, log_.Signed(5))).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(9, {}, log_.Signed(8))).status().code(),
            Code::kInvalidArgument);
}

// --- 404 ---------------------------------------------------------------------

TEST_F(WitnessTest, UnknownOriginIs404AndBeatsLaterErrors) {
  testing::TestLog unknown("unknown.example/log");
  EXPECT_EQ(Add(unknown.Request(0, 5)).status().code(), Code::kNotFound);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(9, {}, unknown.Signed(5))).status().code(),
            Code::kNotFound);
}

// --- 403 ---------------------------------------------------------------------

TEST_F(WitnessTest, UntrustedLogKeyIs403) {
  testing::TestLog impostor("example.com/log");  // right origin, key not trusted
  EXPECT_EQ(Add(impostor.Request(0, 5)).status().code(), Code::kPermissionDenied);
  // 403 wins over old > size.
  EXPECT_EQ(Add(testing::TestLog::RequestWith(9, {}, impostor.Signed(5))).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(StoredSize("example.com/log"), UINT64_MAX);
  EXPECT_TRUE(AllEvidence().empty());
}

TEST_F(WitnessTest, FailingTrustedSignatureIs403EvenWithAnotherValidOne) {
  auto rotated = core::GenerateSignerKey("example.com/log", core::kSigTypeEd25519);
  ASSERT_TRUE(rotated.ok());
  extra_log_keys_.push_back(rotated->Verifier());
  Reopen();
  const std::string note = log_.Signed(5);
  const std::string text = note.substr(0, note.find("\n\n") + 1);
  core::NoteSignature bad = core::SignNote(*rotated, text);
  bad.signature[10] ^= 1;
  auto both = core::AddSignatures(note, std::vector<core::NoteSignature>{bad});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(Add(testing::TestLog::RequestWith(0, {}, *both)).status().code(),
            Code::kPermissionDenied);
  // A tampered text fails the (only) trusted signature.
  std::string tampered = note;
  tampered[note.find('\n') + 1] = '6';
  EXPECT_EQ(Add(testing::TestLog::RequestWith(0, {}, tampered)).status().code(),
            Code::kPermissionDenied);
}

// --- 409 ---------------------------------------------------------------------

TEST_F(WitnessTest, WrongOldSizeIs409WithStoredSize) {
  auto r = Add(log_.Request(3, 5));  // nothing stored: stored size is 0
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_EQ(r.status().value(), 0u);
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  for (uint64_t old : {0, 3, 4, 6}) {
    auto c = Add(log_.Request(old, 9));
    EXPECT_EQ(c.status().code(), Code::kConflict) << old;
    EXPECT_EQ(c.status().value(), 5u);
  }
  // 409 wins over a proof that would fail.
  std::vector<core::Hash> bogus = log_.Proof(4, 9);
  bogus[0][0] ^= 1;
  EXPECT_EQ(Add(testing::TestLog::RequestWith(4, bogus, log_.Signed(9))).status().code(),
            Code::kConflict);
  // 409 wins over a same-size fork (old 3 != stored 5).
  testing::TestLog fork("example.com/log", log_.key(), "fork-");
  EXPECT_EQ(Add(fork.Request(3, 5)).status().code(), Code::kConflict);
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
  EXPECT_TRUE(AllEvidence().empty());
}

// --- 422 ---------------------------------------------------------------------

TEST_F(WitnessTest, FailingConsistencyProofIs422AndRecordedAsEvidence) {
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  std::vector<core::Hash> bogus = log_.Proof(5, 9);
  bogus.back()[31] ^= 1;
  const std::string body = testing::TestLog::RequestWith(5, bogus, log_.Signed(9));
  EXPECT_EQ(Add(body).status().code(), Code::kVerificationFailed);
  EXPECT_EQ(Add(body).status().code(), Code::kVerificationFailed);  // replay: no new record
  auto ev = AllEvidence();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EvidenceKind::kConsistencyProofFailed);
  EXPECT_EQ(ev[0].origin, "example.com/log");
  EXPECT_EQ(ev[0].request, body);
  EXPECT_EQ(ev[0].stored_note, *witness_->GetCheckpoint(OriginKey("example.com/log")));
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
}

TEST_F(WitnessTest, ForkedTreeIs422) {
  testing::TestLog fork("example.com/log", log_.key(), "fork-");
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  // The fork's tree of 9 is not an extension of the log's tree of 5.
  EXPECT_EQ(Add(testing::TestLog::RequestWith(5, log_.Proof(5, 9), fork.Signed(9)))
                .status()
                .code(),
            Code::kVerificationFailed);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(5, fork.Proof(5, 9), fork.Signed(9)))
                .status()
                .code(),
            Code::kVerificationFailed);
  EXPECT_EQ(AllEvidence().size(), 1u);  // one signed checkpoint text
  ExpectCosigned(Add(log_.Request(5, 9)), log_.Signed(9));
}

TEST_F(WitnessTest, SameSizeDifferentRootIs422Evidence) {
  testing::TestLog fork("example.com/log", log_.key(), "fork-");
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  EXPECT_EQ(Add(fork.Request(5, 5)).status().code(), Code::kVerificationFailed);
  auto ev = AllEvidence();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EvidenceKind::kSameSizeDifferentRoot);
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
}

TEST_F(WitnessTest, NonEmptyProofWithOldZeroIs422) {
  EXPECT_EQ(Add(testing::TestLog::RequestWith(0, {core::Hash{}}, log_.Signed(5))).status().code(),
            Code::kVerificationFailed);
  ASSERT_TRUE(Add(log_.Request(0, 0)).ok());
  EXPECT_EQ(Add(testing::TestLog::RequestWith(0, {core::Hash{}}, log_.Signed(5))).status().code(),
            Code::kVerificationFailed);
  EXPECT_TRUE(AllEvidence().empty());
  EXPECT_EQ(StoredSize("example.com/log"), 0u);
}

TEST_F(WitnessTest, SizeZeroWithNonEmptyRootIs422Evidence) {
  core::Checkpoint cp{"example.com/log", 0, core::Hash{}, {}};
  const std::string note = core::SignCheckpoint(log_.key(), cp);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(0, {}, note)).status().code(),
            Code::kVerificationFailed);
  auto ev = AllEvidence();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EvidenceKind::kBadEmptyRoot);
  EXPECT_EQ(StoredSize("example.com/log"), UINT64_MAX);
}

TEST_F(WitnessTest, ProofOfWrongLengthIs422WithoutEvidence) {
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  std::vector<core::Hash> proof = log_.Proof(5, 9);
  proof.push_back(core::Hash{});
  EXPECT_EQ(Add(testing::TestLog::RequestWith(5, proof, log_.Signed(9))).status().code(),
            Code::kVerificationFailed);
  EXPECT_EQ(Add(testing::TestLog::RequestWith(5, {core::Hash{}}, log_.Signed(5))).status().code(),
            Code::kVerificationFailed);  // proof between equal sizes must be empty
  EXPECT_TRUE(AllEvidence().empty());
}

// --- rate limit hook -----------------------------------------------------------

TEST_F(WitnessTest, AdmitHookRefusesAfterOriginLookupBeforeSignatures) {
  std::vector<std::string> asked;
  options_.admit = [&](std::string_view origin) {
    asked.emplace_back(origin);
    return origin != "example.com/log";
  };
  Reopen();
  testing::TestLog unknown("unknown.example/log");
  testing::TestLog impostor("example.com/log");
  EXPECT_EQ(Add(unknown.Request(0, 1)).status().code(), Code::kNotFound);
  EXPECT_EQ(Add(impostor.Request(0, 1)).status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(Add(other_.Request(0, 1)).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"example.com/log", "other.example/log"}));
}

// --- mutations and races -------------------------------------------------------

TEST_F(WitnessTest, NoSingleByteMutationIsCosigned) {
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  const std::string body = log_.Request(5, 9);
  for (size_t i = 0; i < body.size(); ++i) {
    std::string m = body;
    m[i] = static_cast<char>(m[i] ^ 0x01);
    auto r = Add(m);
    ASSERT_FALSE(r.ok()) << "mutated byte " << i << " was cosigned";
  }
  EXPECT_EQ(StoredSize("example.com/log"), 5u);
  ExpectCosigned(Add(body), log_.Signed(9));
}

TEST_F(WitnessTest, FiftyRacersWithSameOldSizeExactlyOneWins) {
  ASSERT_TRUE(Add(log_.Request(0, 5)).ok());
  constexpr int kRacers = 50;
  std::vector<std::string> bodies;
  for (int i = 0; i < kRacers; ++i) bodies.push_back(log_.Request(5, 6 + static_cast<uint64_t>(i)));
  std::vector<core::StatusOr<std::string>> results(kRacers, Status::Internal("not run"));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kRacers) std::this_thread::yield();
      results[i] = Add(bodies[i]);
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  uint64_t winner_size = 0;
  for (int i = 0; i < kRacers; ++i) {
    if (results[i].ok()) {
      ++winners;
      winner_size = 6 + static_cast<uint64_t>(i);
    }
  }
  ASSERT_EQ(winners, 1);
  for (int i = 0; i < kRacers; ++i) {
    if (results[i].ok()) continue;
    EXPECT_EQ(results[i].status().code(), Code::kConflict);
    EXPECT_EQ(results[i].status().value(), winner_size);
  }
  EXPECT_EQ(StoredSize("example.com/log"), winner_size);
}

TEST_F(WitnessTest, ConcurrentSubmittersNeverRollBack) {
  // Each submitter follows the log from the size the witness tells it (409),
  // jumping ahead by a different stride; a reader checks monotonicity.
  constexpr int kThreads = 8, kRounds = 40;
  std::mutex log_mu;  // TestLog is not thread-safe
  log_.GrowTo(kThreads * kRounds * 8 + 8);
  std::atomic<bool> stop{false};
  std::vector<uint64_t> observed;
  std::thread reader([&] {
    while (!stop.load()) {
      const uint64_t s = StoredSize("example.com/log");
      if (s != UINT64_MAX) observed.push_back(s);
      std::this_thread::yield();
    }
  });
  std::atomic<uint64_t> max_cosigned{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t believed = 0;
      for (int r = 0; r < kRounds; ++r) {
        const uint64_t next = believed + 1 + static_cast<uint64_t>(t);
        std::string body;
        {
          std::lock_guard<std::mutex> l(log_mu);
          body = log_.Request(believed, next);
        }
        auto res = Add(body);
        if (res.ok()) {
          believed = next;
          uint64_t m = max_cosigned.load();
          while (next > m && !max_cosigned.compare_exchange_weak(m, next)) {
          }
        } else {
          ASSERT_EQ(res.status().code(), Code::kConflict) << res.status().ToString();
          ASSERT_GE(res.status().value(), believed);  // never told a smaller size
          believed = res.status().value();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  stop = true;
  reader.join();
  EXPECT_TRUE(std::is_sorted(observed.begin(), observed.end()));
  EXPECT_EQ(StoredSize("example.com/log"), max_cosigned.load());
}

}  // namespace
}  // namespace kt::witness
