// SPDX-License-Identifier: Apache-2.0
// Tests for core/tlog_proof parsing and formatting: the C2SP spec example,
// proofs built from the shared Merkle and note vectors, and strict rejects.
#include "core/tlog_proof.h"

#include <gtest/gtest.h>

#include <string>

#include "core/cosignature.h"
#include "core/encoding.h"
#include "core/keys.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;
using kt::testing::HexHash;

// The example of c2sp.org/tlog-proof §Introduction. The spec elides the
// signatures ("hI2DJw[...]1roloI="); here they are placeholder base64 of the
// right shape so the signed-note syntax holds (they are not verified).
constexpr std::string_view kSpecExample =
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n"
    "example.com/fancylog\n"
    "109482\n"
    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
    "\n"
    "\xe2\x80\x94 example.com/fancylog hI2DJwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1roloI=\n"
    "\xe2\x80\x94 witness1.example mJirIkljAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAqY9v2B/5bg==\n";

TEST(TlogProofTest, ParsesSpecExample) {
  auto p = ParseTlogProof(kSpecExample);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->index, 73894u);
  ASSERT_EQ(p->inclusion.size(), 5u);
  EXPECT_EQ(Base64Encode(p->inclusion[0]), "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=");
  EXPECT_EQ(Base64Encode(p->extra), "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ");
  EXPECT_TRUE(p->checkpoint.starts_with("example.com/fancylog\n109482\n"));
  EXPECT_TRUE(p->checkpoint.ends_with("qY9v2B/5bg==\n"));
  EXPECT_EQ(FormatTlogProof(*p), kSpecExample);
}

TlogProof Sample() {
  TlogProof p;
  p.extra = ToBytes("entry");
  p.index = 7;
  p.inclusion = {Hash{}, Hash{1}};
  p.checkpoint = "o\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 o AAAAAAAA\n";
  return p;
}

TEST(TlogProofTest, OmitsAbsentExtraAndEmptyPath) {
  TlogProof p = Sample();
  p.extra.clear();
  p.inclusion.clear();
  p.index = 0;
  std::string text = FormatTlogProof(p);
  EXPECT_EQ(text, "c2sp.org/tlog-proof@v1\nindex 0\n\n" + p.checkpoint);
  auto back = ParseTlogProof(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
}

TEST(TlogProofTest, RejectsEveryTruncation) {
  std::string text = FormatTlogProof(Sample());
  // Every prefix is incomplete (the checkpoint has one signature line).
  for (size_t n = 0; n < text.size(); n++) {
    EXPECT_FALSE(ParseTlogProof(text.substr(0, n)).ok()) << n;
  }
}

TEST(TlogProofTest, RejectsMalformedLines) {
  const std::string good = FormatTlogProof(Sample());
  ASSERT_TRUE(ParseTlogProof(good).ok());
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  const std::string bad[] = {
      replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
      replace("c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v1\r\n"),
      replace("c2sp.org/tlog-proof@v1\n", " c2sp.org/tlog-proof@v1\n"),
      replace("extra ZW50cnk=", "extra "),            // empty extra
      replace("extra ZW50cnk=", "extra ZW50cnk"),     // unpadded
      replace("extra ZW50cnk=", "extra  ZW50cnk="),   // double space
      replace("extra ZW50cnk=", "extra ZW50cnk=\nextra ZW50cnk="),
      replace("extra ZW50cnk=", "Extra ZW50cnk="),
      replace("index 7", "index 07"),
      replace("index 7", "index -7"),
      replace("index 7", "index 7 "),
      replace("index 7", "index"),
      replace("index 7", "index 18446744073709551616"),
      replace("index 7\n", ""),                                     // no index
      replace("index 7\n", "index 7\nindex 7\n"),
      replace("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nAQ", "AAAA\nAQ"),  // short hash
      replace("=\n\no\n", "=\no\n"),                 // no empty line
      good.substr(0, good.size() - 1) + "x",         // checkpoint not newline-terminated
      good + "\n",                                   // blank line after the signatures
      replace("o\n8\n", "o\n08\n"),               // not a checkpoint
      replace("\n\n\xe2\x80\x94", "\n\n\n\xe2\x80\x94"),  // not a signed note
  };
  for (const auto& s : bad) EXPECT_FALSE(ParseTlogProof(s).ok()) << s;
}

TEST(TlogProofTest, BoundsPathLength) {
  TlogProof p = Sample();
  p.inclusion.assign(kMaxTlogProofHashes, Hash{});
  EXPECT_TRUE(ParseTlogProof(FormatTlogProof(p)).ok());
  p.inclusion.push_back(Hash{});
  EXPECT_FALSE(ParseTlogProof(FormatTlogProof(p)).ok());
}

// VectorFixture: real keys, checkpoint and audit paths from the shared
// vectors (merkle/notes.json: the size-300 checkpoint over merkle/tree.json,
// cosigned by witness_key at `timestamp`; merkle/inclusion.json).
class TlogProofVectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    notes_ = kt::testing::LoadVectorJson("merkle/notes.json");
    auto inc = kt::testing::LoadVectorJson("merkle/inclusion.json");
    ASSERT_TRUE(notes_.is_object() && inc.is_object());
    for (const auto& v : inc["proofs"]) {
      if (v["expect_valid"].get<bool>() && v["size"].get<uint64_t>() == 300) proofs_.push_back(v);
    }
    ASSERT_GE(proofs_.size(), 5u);
    cosigned_ = notes_["cosigned_checkpoint"]["note"].get<std::string>();
    timestamp_ = notes_["cosigned_checkpoint"]["timestamp"].get<uint64_t>();
  }
  std::string VkeyOf(const char* key) { return notes_[key]["vkey"].get<std::string>(); }
  SignerKey SignerOf(const char* key) {
    auto k = ParseSignerKey(notes_[key]["private"].get<std::string>());
    KT_CHECK(k.ok());
    return *k;
  }
  Policy MakePolicy(const std::string& witness_lines, const std::string& quorum) {
    auto p = ParsePolicy("log " + VkeyOf("log_key") + "\n" + witness_lines + "quorum " + quorum);
    KT_CHECK(p.ok());
    return *p;
  }
  Policy W1Policy() { return MakePolicy("witness w1 " + VkeyOf("witness_key") + "\n", "w1"); }
  TlogProof ProofFor(const nlohmann::json& v, const std::string& checkpoint) {
    TlogProof p;
    p.index = v["index"].get<uint64_t>();
    p.extra = ToBytes("leaf-" + std::to_string(p.index));
    for (const auto& h : v["proof"]) p.inclusion.push_back(HexHash(h.get<std::string>()));
    p.checkpoint = checkpoint;
    return p;
  }
  // CosignedBy appends a cosignature/v1 line by `key` at `ts`.
  std::string CosignedBy(const std::string& note, const char* key, uint64_t ts) {
    const std::string text = notes_["checkpoint"]["text"].get<std::string>();
    NoteSignature sig = Cosign(SignerOf(key), text, ts);
    auto out = AddCosignatures(note, std::span<const NoteSignature>(&sig, 1));
    KT_CHECK(out.ok());
    return *out;
  }

  nlohmann::json notes_;
  std::vector<nlohmann::json> proofs_;
  std::string cosigned_;
  uint64_t timestamp_ = 0;
};

TEST_F(TlogProofVectorTest, RoundTripsVectorProofs) {
  for (const auto& v : proofs_) {
    TlogProof p = ProofFor(v, cosigned_);
    std::string text = FormatTlogProof(p);
    EXPECT_TRUE(text.starts_with("c2sp.org/tlog-proof@v1\nextra bGVhZi"));
    auto back = ParseTlogProof(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, p);
    EXPECT_EQ(FormatTlogProof(*back), text);
  }
}

TEST_F(TlogProofVectorTest, VerifiesEveryVectorProof) {
  const Policy policy = W1Policy();
  for (const auto& v : proofs_) {
    auto r = VerifyTlogProof(FormatTlogProof(ProofFor(v, cosigned_)), policy, timestamp_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->checkpoint.size, 300u);
    EXPECT_EQ(r->checkpoint.origin, "kt.example/public-log");
    EXPECT_EQ(r->witnesses, std::vector<std::string>{"w1"});
    EXPECT_EQ(r->proof.index, v["index"].get<uint64_t>());
  }
}

TEST_F(TlogProofVectorTest, FutureCosignaturesDoNotCount) {
  const std::string text = FormatTlogProof(ProofFor(proofs_[0], cosigned_));
  const Policy policy = W1Policy();
  EXPECT_TRUE(VerifyTlogProof(text, policy, timestamp_ - 600).ok());
  EXPECT_TRUE(VerifyTlogProof(text, policy, timestamp_ + 100000).ok());
  auto r = VerifyTlogProof(text, policy, timestamp_ - 601);
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  // With quorum none the early clock does not matter.
  EXPECT_TRUE(VerifyTlogProof(text, MakePolicy("", "none"), timestamp_ - 601).ok());
}

TEST_F(TlogProofVectorTest, EnforcesQuorum) {
  const std::string w1 = "witness w1 " + VkeyOf("witness_key") + "\n";
  const std::string w2 = "witness w2 " + VkeyOf("witness_key_2") + "\n";
  const std::string uncosigned = notes_["checkpoint"]["signed"].get<std::string>();
  const auto& v = proofs_[2];
  auto verify = [&](const std::string& checkpoint, const Policy& policy) {
    return VerifyTlogProof(FormatTlogProof(ProofFor(v, checkpoint)), policy, timestamp_).status();
  };
  EXPECT_TRUE(verify(uncosigned, MakePolicy("", "none")).ok());
  EXPECT_EQ(verify(uncosigned, W1Policy()).code(), Status::Code::kPermissionDenied);
  const Policy both = MakePolicy(w1 + w2 + "group g all w1 w2\n", "g");
  const Policy either = MakePolicy(w1 + w2 + "group g any w1 w2\n", "g");
  EXPECT_EQ(verify(cosigned_, both).code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(verify(cosigned_, either).ok());
  const std::string two = CosignedBy(cosigned_, "witness_key_2", timestamp_ + 5);
  EXPECT_TRUE(verify(two, both).ok());
  // w2 dated 11 minutes ahead no longer counts toward "all".
  const std::string early = CosignedBy(cosigned_, "witness_key_2", timestamp_ + 660);
  EXPECT_EQ(verify(early, both).code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(verify(early, either).ok());
}

TEST_F(TlogProofVectorTest, RejectsBadSignaturesAndKeys) {
  const auto& v = proofs_[1];
  // A policy trusting another log key: the checkpoint is unverified.
  auto other = SignerKeyFromSeed("kt.example/public-log", kSigTypeEd25519, Bytes(32, 5));
  ASSERT_TRUE(other.ok());
  auto p = ParsePolicy("log " + other->VerifierKeyString() + "\nquorum none\n");
  ASSERT_TRUE(p.ok());
  auto r = VerifyTlogProof(FormatTlogProof(ProofFor(v, cosigned_)), *p, timestamp_);
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  // A known witness whose cosignature is corrupted rejects the proof.
  std::string bad = cosigned_;
  size_t at = bad.rfind("AA==");
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, 4, "AQ==");
  EXPECT_EQ(VerifyTlogProof(FormatTlogProof(ProofFor(v, bad)), W1Policy(), timestamp_)
                .status()
                .code(),
            Status::Code::kVerificationFailed);
}

TEST_F(TlogProofVectorTest, RejectsWrongInclusion) {
  const Policy policy = W1Policy();
  const auto& v = proofs_[3];
  ASSERT_FALSE(v["proof"].empty());
  auto code = [&](const TlogProof& p) {
    return VerifyTlogProof(FormatTlogProof(p), policy, timestamp_).status().code();
  };
  TlogProof p = ProofFor(v, cosigned_);
  ASSERT_EQ(code(p), Status::Code::kOk);
  TlogProof wrong_leaf = p;
  wrong_leaf.extra.push_back('0');
  EXPECT_EQ(code(wrong_leaf), Status::Code::kVerificationFailed);
  TlogProof wrong_index = p;
  wrong_index.index ^= 1;
  EXPECT_NE(code(wrong_index), Status::Code::kOk);
  TlogProof past_end = p;
  past_end.index = 300;
  EXPECT_EQ(code(past_end), Status::Code::kInvalidArgument);
  TlogProof short_path = p;
  short_path.inclusion.pop_back();
  EXPECT_EQ(code(short_path), Status::Code::kInvalidArgument);
  for (size_t i = 0; i < p.inclusion.size(); i++) {
    TlogProof flipped = p;
    flipped.inclusion[i][i % 32] ^= 0x80;
    EXPECT_EQ(code(flipped), Status::Code::kVerificationFailed) << i;
  }
  TlogProof no_extra = p;
  no_extra.extra.clear();
  EXPECT_EQ(code(no_extra), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kt::core
