// SPDX-License-Identifier: Apache-2.0
// Tests for the auditor's parts: UserIndex (dense ids for users),
// SignaturePool (parallel verification that reports the failure a sequential
// run meets first), UserReplay::Partial (an audit started mid-log checks
// what it can and raises no false alarm), and RunAudit over a TestLog.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "client/audit.h"
#include "client/entry_stream.h"
#include "client/log_client.h"
#include "client/replay.h"
#include "client/signature_pool.h"
#include "client/state_store.h"
#include "client/user_index.h"
#include "core/policy.h"
#include "tests/client/test_log.h"
#include "tests/testing/vectors.h"

namespace kt::client {
namespace {

using core::Ed25519Signer;
using core::Status;
using testing::kTestNow;
using testing::TestKeys;
using testing::TestLog;

TEST(UserIndexTest, HintsFindTheUserAndChangeNothing) {
  UserIndex index;
  EXPECT_EQ(index.Candidate(UserIndex::HashOf("a")), UserIndex::kNoCandidate);
  index.PrefetchSlot(UserIndex::HashOf("a"));
  for (int i = 0; i < 3000; i++) {
    std::string name = "u" + std::to_string(i);
    const uint64_t h = UserIndex::HashOf(name);
    index.PrefetchSlot(h);
    EXPECT_EQ(index.Candidate(h), UserIndex::kNoCandidate) << name;
    EXPECT_EQ(index.Intern(name, h), std::make_pair(static_cast<uint32_t>(i), true));
  }
  for (int i = 0; i < 3000; i++) {
    std::string name = "u" + std::to_string(i);
    const uint64_t h = UserIndex::HashOf(name);
    ASSERT_EQ(index.Candidate(h), static_cast<uint32_t>(i)) << name;
    index.PrefetchName(static_cast<uint32_t>(i));
    EXPECT_EQ(index.Intern(name), std::make_pair(static_cast<uint32_t>(i), false));
  }
  EXPECT_EQ(index.size(), 3000u);
}

TEST(UserIndexTest, DenseIdsInFirstSeenOrder) {
  UserIndex index;
  std::vector<std::string> names;
  for (int i = 0; i < 5000; i++) names.push_back("user-" + std::to_string(i) + "@example.org");
  names.push_back(std::string(255, 'x'));
  names.push_back("u");
  for (size_t i = 0; i < names.size(); i++) {
    auto [id, fresh] = index.Intern(names[i]);
    EXPECT_EQ(id, i);
    EXPECT_TRUE(fresh);
  }
  ASSERT_EQ(index.size(), names.size());
  // After every growth, each name maps to its id and back.
  for (size_t i = 0; i < names.size(); i++) {
    auto [id, fresh] = index.Intern(names[i]);
    EXPECT_EQ(id, i);
    EXPECT_FALSE(fresh);
    EXPECT_EQ(index.Name(static_cast<uint32_t>(i)), names[i]);
  }
  // Prefixes and near-misses are other users.
  EXPECT_TRUE(index.Intern("user-1@example.or").second);
  EXPECT_TRUE(index.Intern("user-1@example.orgx").second);
  EXPECT_GT(index.MemoryBytes(), 5000u * 8);
}

// Checks signs `n` messages; the ones in `bad` get a flipped signature byte.
std::vector<SignatureCheck> Checks(size_t n, const std::set<size_t>& bad, uint64_t first_index) {
  static const Ed25519Signer key = Ed25519Signer::Generate();
  std::vector<SignatureCheck> out;
  for (size_t i = 0; i < n; i++) {
    SignatureCheck c;
    c.public_key = key.public_key();
    c.message = core::ToBytes("message " + std::to_string(i));
    c.signature = key.Sign(c.message);
    if (bad.count(i) > 0) c.signature[7] ^= 1;
    c.index = first_index + i / 2;  // two checks per entry
    c.ordinal = static_cast<uint32_t>(i % 2);
    c.what = "check " + std::to_string(i);
    out.push_back(std::move(c));
  }
  return out;
}

TEST(SignaturePoolTest, AllGoodVerifiesEveryBatch) {
  SignaturePool pool(2, 3);
  uint64_t need = 0;
  for (int b = 0; b < 6; b++) {
    auto batch = Checks(20, {}, 100 * b);
    need = pool.Submit(&batch);
    EXPECT_TRUE(batch.empty());
  }
  EXPECT_EQ(need, 6u);
  EXPECT_TRUE(pool.Finish().ok());
  EXPECT_EQ(pool.Verified(), 6u);
  EXPECT_FALSE(pool.failed());
}

TEST(SignaturePoolTest, ReportsTheFirstFailureInSubmissionOrder) {
  // Failures in batches 1 and 4 (and two in batch 1): whichever thread
  // finds which first, the report is batch 1's first bad check.
  for (int round = 0; round < 5; round++) {
    SignaturePool pool(2, 2);
    for (int b = 0; b < 6; b++) {
      std::set<size_t> bad;
      if (b == 1) bad = {9, 3};
      if (b == 4) bad = {0};
      auto batch = Checks(16, bad, 100 * b);
      pool.Submit(&batch);
    }
    Status s = pool.Finish();
    ASSERT_EQ(s.code(), Status::Code::kVerificationFailed);
    EXPECT_EQ(s.message(), "entry 101: check 3 does not verify");
    EXPECT_EQ(pool.Verified(), 1u);  // only batch 0 is trusted
    EXPECT_TRUE(pool.failed());
  }
}

TEST(SignaturePoolTest, VerifyChecksPicksTheSequentialFirst) {
  auto checks = Checks(200, {151, 150, 190}, 0);  // entry 75: ordinal 0 and 1 both bad
  for (int threads : {1, 2, 4}) {
    Status s = VerifyChecks(checks, threads);
    EXPECT_EQ(s.message(), "entry 75: check 150 does not verify") << threads;
  }
  EXPECT_TRUE(VerifyChecks(Checks(100, {}, 0), 2).ok());
}

// TestEntry builds an entry view's bytes for replay tests.
struct Built {
  core::Bytes bytes;
  core::EntryView view() const { return core::ParseEntryView(bytes).value(); }
};
Built KeySet(const std::string& user, const std::string& device, const Ed25519Signer& key,
             uint64_t prev, const std::vector<std::pair<std::string, const Ed25519Signer*>>& by = {}) {
  core::Entry e;
  e.user = user;
  e.device = device;
  e.prev = prev;
  e.identity_key = key.public_key();
  auto pop = key.Sign(core::PopMessage(user, device, e.identity_key));
  e.possession_sig.assign(pop.begin(), pop.end());
  for (const auto& [d, s] : by) {
    core::Endorsement en{d, s->Sign(core::EndorseMessage(user, device, e.kind, e.identity_key, prev))};
    e.endorsements.push_back(en);
  }
  return Built{core::EncodeEntry(e).value()};
}
Built Revoke(const std::string& user, const std::string& device, uint64_t prev,
             const std::vector<std::pair<std::string, const Ed25519Signer*>>& by = {}) {
  core::Entry e;
  e.kind = core::EntryKind::kRevoke;
  e.user = user;
  e.device = device;
  e.prev = prev;
  for (const auto& [d, s] : by) {
    core::Endorsement en{d, s->Sign(core::EndorseMessage(user, device, e.kind, e.identity_key, prev))};
    e.endorsements.push_back(en);
  }
  return Built{core::EncodeEntry(e).value()};
}

TEST(ReplayTest, PartialChecksWhatItCanWithoutFalseAlarms) {
  Ed25519Signer phone = Ed25519Signer::Generate(), laptop = Ed25519Signer::Generate(),
                tablet = Ed25519Signer::Generate();
  // alice's entries 0..9 precede the replay; her entry 9 was the last.
  UserReplay r = UserReplay::Partial("alice", 9);
  ReplayEffect eff;
  // A rotation of phone endorsed by phone (set before the start): the
  // endorsement cannot be checked, and this is not an unendorsed change.
  Built b1 = KeySet("alice", "phone", phone, 10, {{"phone", &phone}});
  ASSERT_TRUE(r.ApplyView(12, b1.view(), nullptr, &eff).ok());
  EXPECT_EQ(eff.unchecked, 1u);
  EXPECT_FALSE(eff.unendorsed);
  // tablet endorsed by phone, whose key is now known: checked.
  Built b2 = KeySet("alice", "tablet", tablet, 13, {{"phone", &phone}});
  ASSERT_TRUE(r.ApplyView(20, b2.view(), nullptr, &eff).ok());
  EXPECT_EQ(eff.unchecked, 0u);
  EXPECT_EQ(eff.kind, EventKind::kAddDevice);
  EXPECT_TRUE(eff.had_devices);
  // A bad endorsement by a known device is still a failure.
  Built b3 = KeySet("alice", "laptop", laptop, 21, {{"phone", &tablet}});
  Status s = r.ApplyView(30, b3.view(), nullptr, &eff);
  EXPECT_EQ(s.code(), Status::Code::kVerificationFailed);
  EXPECT_NE(s.message().find("endorsement by phone"), std::string::npos) << s.message();
  // Revoking laptop (set before the start, unknown): not checkable, allowed.
  Built b4 = Revoke("alice", "laptop", 21, {{"phone", &phone}});
  ASSERT_TRUE(r.ApplyView(31, b4.view(), nullptr, &eff).ok());
  EXPECT_EQ(eff.unchecked, 1u);
  // Revoking it again, or an endorsement by it, is known to be wrong.
  Built b5 = Revoke("alice", "laptop", 32);
  EXPECT_NE(r.ApplyView(40, b5.view(), nullptr, &eff).message().find("not current"), std::string::npos);
  Built b6 = KeySet("alice", "tablet", tablet, 32, {{"laptop", &laptop}});
  EXPECT_NE(r.ApplyView(41, b6.view(), nullptr, &eff).message().find("not a current device"),
            std::string::npos);
  // A bad proof of possession is always checkable.
  Built b7 = KeySet("alice", "pc", phone, 32);
  b7.bytes[b7.bytes.size() - 3 - 10] ^= 1;  // inside possession_sig
  EXPECT_NE(r.ApplyView(42, b7.view(), nullptr, &eff).message().find("proof of possession"),
            std::string::npos);
  // The chain continues from the last applied entry (31): prev must be 32.
  Built b8 = KeySet("alice", "pc", phone, 30);
  EXPECT_NE(r.ApplyView(43, b8.view(), nullptr, &eff).message().find("expected 32"), std::string::npos);
}

TEST(ReplayTest, DeferredChecksStopWhereSequentialWould) {
  Ed25519Signer phone = Ed25519Signer::Generate(), laptop = Ed25519Signer::Generate();
  UserReplay r("bob");
  std::vector<SignatureCheck> checks;
  ReplayEffect eff;
  ASSERT_TRUE(r.ApplyView(0, KeySet("bob", "phone", phone, 0).view(), &checks, &eff).ok());
  EXPECT_EQ(checks.size(), 1u);
  // Endorsed by phone (good, deferred) and by laptop (not a device): the
  // failure comes after the PoP and phone's endorsement were deferred.
  Built b = KeySet("bob", "tablet", laptop, 1, {{"phone", &phone}, {"zlaptop", &laptop}});
  Status s = r.ApplyView(5, b.view(), &checks, &eff);
  EXPECT_NE(s.message().find("zlaptop, which is not a current device"), std::string::npos);
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[1].ordinal, 0u);
  EXPECT_EQ(checks[2].ordinal, 1u);
  EXPECT_TRUE(VerifyChecks(checks, 2).ok());
}

// AuditFixture: a TestLog with alice (phone, then laptop endorsed by phone,
// then rotations) and bob, audited through RunAudit.
class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = kt::testing::TempDir("audit-test");
    log_.SetKey("alice", "phone", phone_);
    log_.SetKey("bob", "pc", pc_);
    log_.SetKey("alice", "laptop", laptop_, {{"phone", &phone_}});
    for (int i = 0; i < 600; i++) log_.SetKey("filler" + std::to_string(i), "d", pc_);
    Ed25519Signer phone2 = Ed25519Signer::Generate();
    log_.SetKey("alice", "phone", phone2, {{"phone", &phone_}});
    log_.Revoke("alice", "laptop", {{"phone", &phone2}});
    log_.SetKey("bob", "pc", pc_, {{"pc", &pc_}});
    log_.Publish();
  }
  core::StatusOr<AuditReport> Audit(std::optional<uint64_t> from, bool sigs) {
    auto store = StateStore::Open(dir_);
    if (!store.ok()) return store.status();
    Trust trust(core::ParsePolicy(keys_.PolicyText()).value(), [] { return kTestNow; });
    LogClient client(trust, **store, log_);
    AuditOptions o;
    o.from = from;
    o.verify_signatures = sigs;
    o.parallelism = 3;
    return RunAudit(client, dir_, o);
  }
  // Serve makes the log serve `entries` in its entry bundles (its tiles
  // and checkpoint stay those of the honest log).
  void Serve(std::vector<core::Bytes> entries) {
    log_.tamper = [entries = std::move(entries)](std::string_view path, const core::StatusOr<std::string>&)
        -> std::optional<core::StatusOr<std::string>> {
      auto tile = core::ParseTilePath(path);
      if (!tile.ok() || !tile->is_entry_bundle()) return std::nullopt;
      auto first = static_cast<std::ptrdiff_t>(tile->index * core::kTileWidth);
      std::vector<core::Bytes> b(entries.begin() + first, entries.begin() + first + tile->width);
      return core::StatusOr<std::string>(core::ToString(core::EncodeEntryBundle(b).value()));
    };
  }
  // Reencoded is entry `i` decoded, changed by `change` and encoded again.
  core::Bytes Reencoded(size_t i, const std::function<void(core::Entry*)>& change) {
    core::Entry e = core::DecodeEntry(log_.entries()[i]).value();
    change(&e);
    return core::EncodeEntry(e).value();
  }
  TestKeys keys_ = TestKeys::Make();
  TestLog log_{keys_};
  Ed25519Signer phone_ = Ed25519Signer::Generate(), laptop_ = Ed25519Signer::Generate(),
                pc_ = Ed25519Signer::Generate();
  std::string dir_;
};

TEST_F(AuditTest, FullAndPartialRunsAgree) {
  for (bool sigs : {false, true}) {
    auto r = Audit(0, sigs);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->entries, log_.size());
    EXPECT_EQ(r->users, 602u);
    EXPECT_EQ(r->partial_chains, 0u);
    EXPECT_EQ(r->unchecked, 0u);
    EXPECT_GT(r->user_state_bytes, 0u);
    // 605 proofs of possession (key sets) and 4 endorsements.
    EXPECT_EQ(r->signatures, sigs ? 609u : 0u);
  }
  // From 300: alice's and bob's chains began before; nothing is reported
  // as a failure, the link and the endorsements by phone/pc are unchecked.
  auto r = Audit(300, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->start, 300u);
  EXPECT_EQ(r->partial_chains, 2u);
  // alice's phone rotation endorsed by the old phone key (unknown), her
  // laptop revoke (laptop unknown) and bob's self-endorsed rotation; the
  // revoke's endorsement by the new phone key is checked.
  EXPECT_EQ(r->unchecked, 3u);
  EXPECT_EQ(r->high_severity, 0u);
}

TEST_F(AuditTest, ReportsTheFirstBadSignatureLikeASequentialRun) {
  // Tamper with two signatures in the served bundles: the PoP of entry 400
  // and of entry 250; the tree no longer matches either, but the first
  // failing entry is what is reported, with or without parallel workers.
  auto flip = [](core::Bytes* e) { (*e)[e->size() - 3 - 5] ^= 1; };  // in possession_sig
  std::vector<core::Bytes> entries = log_.entries();
  flip(&entries[400]);
  flip(&entries[250]);
  Serve(entries);
  auto r = Audit(0, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "entry 250: proof of possession does not verify");
  // Without signatures the tree mismatch is what fails.
  r = Audit(0, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match"), std::string::npos);
}

// The fetch threads parse the entries and hash the leaves; whichever bundle
// they finish first, the failure reported is the first in log order.
TEST_F(AuditTest, UndecodableEntryIsReportedInLogOrder) {
  std::vector<core::Bytes> entries = log_.entries();
  entries[300].pop_back();  // still splits (length-prefixed), no longer decodes
  entries[520].pop_back();
  entries[40].push_back(0);
  Serve(entries);
  for (bool sigs : {false, true}) {
    for (uint64_t from : {0, 100}) {
      auto r = Audit(from, sigs);
      ASSERT_FALSE(r.ok());
      EXPECT_TRUE(r.status().message().starts_with(
          from == 0 ? "entry 40 does not decode" : "entry 300 does not decode"))
          << r.status().message();
    }
  }
}

TEST_F(AuditTest, BrokenPrevChainIsReported) {
  // Entry 603 is alice's phone rotation (her previous entry is 2); entry
  // 605 is bob's rotation (previous 1).
  std::vector<core::Bytes> entries = log_.entries();
  entries[605] = Reencoded(605, [](core::Entry* e) { e->prev = 7; });
  Serve(entries);
  auto r = Audit(0, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "entry 605 of user bob: prev chain broken (prev 7, previous entry 1)");
  entries[603] = Reencoded(603, [](core::Entry* e) { e->prev = 2; });
  Serve(entries);
  r = Audit(0, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "entry 603 of user alice: prev chain broken (prev 2, previous entry 2)");
}

TEST_F(AuditTest, ChangedEntryFailsTheTree) {
  // A well-formed change that every per-entry check accepts: only the leaf
  // hashes (computed on the fetch threads) and the root catch it.
  for (size_t i : {size_t{0}, size_t{300}, size_t{605}}) {
    std::vector<core::Bytes> entries = log_.entries();
    entries[i] = Reencoded(i, [](core::Entry* e) { e->timestamp_ms += 1; });
    Serve(entries);
    for (bool sigs : {false, true}) {
      auto r = Audit(0, sigs);
      ASSERT_FALSE(r.ok()) << i;
      EXPECT_NE(r.status().message().find("does not match the trusted checkpoint"), std::string::npos)
          << r.status().message();
    }
  }
}

TEST_F(AuditTest, EntryBundlesArePreparedOnFetchThreads) {
  Trust trust(core::ParsePolicy(keys_.PolicyText()).value(), [] { return kTestNow; });
  TrustedCheckpoint cp = trust.VerifyCheckpoint(log_.served()).value();
  for (bool parse : {false, true}) {
    EntryStreamOptions o;
    o.parallelism = 3;
    o.window_bundles = 2;
    o.parse_entries = parse;
    uint64_t next = 300;
    core::TreeBuilder tree;
    Status s = ReadEntryBundles(log_, cp, 300, std::nullopt, o,
        [&](std::span<const StreamEntry> es) {
          for (const StreamEntry& e : es) {
            EXPECT_EQ(e.index, next++);
            EXPECT_EQ(core::Bytes(e.bytes.begin(), e.bytes.end()), log_.entries()[e.index]);
            EXPECT_EQ(e.leaf, core::RecordHash(e.bytes));
            if (parse) {
              EXPECT_EQ(std::string(e.view->user), core::DecodeEntry(e.bytes).value().user);
              EXPECT_EQ(e.user_hash, UserIndex::HashOf(e.view->user));
            }
          }
          return Status();
        },
        &tree);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(next, log_.size());
    EXPECT_EQ(tree.Root(), cp.checkpoint.root);
  }
}

}  // namespace
}  // namespace kt::client
