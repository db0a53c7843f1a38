// SPDX-License-Identifier: Apache-2.0
// Tests for core/checkpoint: the tlog-checkpoint text grammar, signing,
// verification (origin binding, extension policy) and a mutation loop over
// every byte of a cosigned checkpoint.
#include "core/checkpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/cosignature.h"
#include "core/encoding.h"

namespace kt::core {
namespace {

SignerKey Key(std::string_view name, uint8_t type, uint8_t fill) {
  auto k = SignerKeyFromSeed(name, type, Bytes(32, fill));
  KT_CHECK(k.ok());
  return *k;
}

bool IsBadCheckpoint(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument &&
         s.message().rfind("bad_checkpoint: ", 0) == 0;
}

Checkpoint Sample() {
  Checkpoint cp;
  cp.origin = "log.example/a";
  cp.size = 300;
  for (size_t i = 0; i < cp.root.size(); i++) cp.root[i] = static_cast<uint8_t>(i * 7 + 1);
  return cp;
}

TEST(CheckpointTest, FormatParseRoundTrip) {
  Checkpoint cp = Sample();
  const std::string text = FormatCheckpoint(cp);
  EXPECT_EQ(text, "log.example/a\n300\n" + Base64Encode(cp.root) + "\n");
  auto back = ParseCheckpoint(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, cp);
  cp.extensions = {"ext one", "\xE2\x80\x94 two"};
  auto ext = ParseCheckpoint(FormatCheckpoint(cp));
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_EQ(*ext, cp);
  EXPECT_EQ(FormatCheckpoint(*ext), FormatCheckpoint(cp));
}

TEST(CheckpointTest, SizeBounds) {
  const std::string root = Base64Encode(Sample().root);
  auto zero = ParseCheckpoint("o\n0\n" + root + "\n");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->size, 0u);
  auto max = ParseCheckpoint("o\n18446744073709551615\n" + root + "\n");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size, UINT64_MAX);
  for (const char* size : {"18446744073709551616", "007", "00", "0300", "-1", "+1", " 1", "1 ",
                           "", "1e3", "0x10", "３"}) {
    EXPECT_TRUE(IsBadCheckpoint(ParseCheckpoint("o\n" + std::string(size) + "\n" + root + "\n")
                                    .status()))
        << size;
  }
}

TEST(CheckpointTest, RejectsMalformedText) {
  const std::string root = Base64Encode(Sample().root);
  Bytes short_root(31, 1), long_root(33, 1);
  std::string url_root = Base64Encode(Bytes(32, 0xfb));  // "+/v7..."
  std::replace(url_root.begin(), url_root.end(), '+', '-');
  std::replace(url_root.begin(), url_root.end(), '/', '_');
  ASSERT_NE(url_root, root);
  const std::string cases[] = {
      "",
      "o\n300\n" + root,                    // no final newline
      "o\n300\n",                           // two lines
      "o\n300\n\n",                         // empty root line
      "\n300\n" + root + "\n",              // empty origin
      "o\n300\n" + Base64Encode(short_root) + "\n",
      "o\n300\n" + Base64Encode(long_root) + "\n",
      "o\n300\n" + url_root + "\n",         // URL-safe alphabet
      "o\n300\n" + root.substr(0, 43) + "\n",  // no padding
      "o\n300\n" + root + " \n",
      "o\n300\n" + root + "\n\n",           // extra blank line = empty extension
      "o\n300\n" + root + "\next\n\n",
      "o\r\n300\n" + root + "\n",           // CR
      "o\n300\r\n" + root + "\n",
      "o\x01\n300\n" + root + "\n",         // control character
      "o\xff\n300\n" + root + "\n",         // invalid UTF-8
  };
  for (const std::string& c : cases) EXPECT_TRUE(IsBadCheckpoint(ParseCheckpoint(c).status())) << c;
}

class CheckpointVerifyTest : public ::testing::Test {
 protected:
  const SignerKey log_ = Key("log.example/a", kSigTypeEd25519, 1);
  const SignerKey w1_ = Key("witness.example/w1", kSigTypeCosignatureV1, 2);
  const SignerKey w2_ = Key("witness.example/w2", kSigTypeCosignatureV1, 3);
  const SignerKey w3_ = Key("witness.example/w3", kSigTypeCosignatureV1, 4);
  const std::vector<VerifierKey> logs_ = {log_.Verifier()};
  const std::vector<VerifierKey> ws_ = {w1_.Verifier(), w2_.Verifier(), w3_.Verifier()};

  std::string Cosigned(const Checkpoint& cp) const {
    const std::string text = FormatCheckpoint(cp);
    const std::vector<NoteSignature> cosigs = {Cosign(w1_, text, 1767225600),
                                               Cosign(w2_, text, 1767225601),
                                               Cosign(w3_, text, 1767225602)};
    auto out = AddCosignatures(SignCheckpoint(log_, cp), cosigs);
    KT_CHECK(out.ok());
    return *out;
  }
};

TEST_F(CheckpointVerifyTest, VerifiesCosignedCheckpoint) {
  const std::string msg = Cosigned(Sample());
  auto v = VerifyCheckpoint(msg, logs_, ws_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint, Sample());
  ASSERT_EQ(v->note.log_signatures.size(), 1u);
  ASSERT_EQ(v->note.cosignatures.size(), 3u);
  EXPECT_EQ(v->note.cosignatures[2].timestamp, 1767225602u);
  EXPECT_EQ(v->note.note.text, FormatCheckpoint(Sample()));
}

TEST_F(CheckpointVerifyTest, OriginMustNameTheLogKey) {
  const SignerKey other = Key("log.example/b", kSigTypeEd25519, 1);  // same seed, other name
  const std::vector<VerifierKey> both = {log_.Verifier(), other.Verifier()};
  const std::string msg = SignCheckpoint(other, Sample());  // origin log.example/a
  EXPECT_TRUE(VerifyNote(msg, both, {}).ok());
  auto v = VerifyCheckpoint(msg, both, {});
  EXPECT_EQ(v.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(v.status().message().rfind("unverified: ", 0), 0u);
}

TEST_F(CheckpointVerifyTest, ExtensionsNeedOptIn) {
  Checkpoint cp = Sample();
  cp.extensions = {"ext"};
  const std::string msg = Cosigned(cp);
  EXPECT_TRUE(IsBadCheckpoint(VerifyCheckpoint(msg, logs_, ws_).status()));
  auto v = VerifyCheckpoint(msg, logs_, ws_, CheckpointOptions{.allow_extensions = true});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint, cp);
  EXPECT_EQ(v->note.cosignatures.size(), 3u);  // the cosignatures cover the extension
}

TEST_F(CheckpointVerifyTest, NotACheckpoint) {
  const std::string msg = FormatNote(Note{"hello\n", {SignNote(log_, "hello\n")}});
  EXPECT_TRUE(IsBadCheckpoint(VerifyCheckpoint(msg, logs_, ws_).status()));
}

// Flipping any bit of any byte must make verification fail, or leave the
// same checkpoint verified by a subset of the same keys (a flipped name or
// key ID turns a line into an ignored unknown line).
TEST_F(CheckpointVerifyTest, EveryByteFlipFailsOrVerifiesSubset) {
  const std::string msg = Cosigned(Sample());
  auto orig = VerifyCheckpoint(msg, logs_, ws_);
  ASSERT_TRUE(orig.ok());
  auto contains = [](const std::vector<VerifiedSignature>& all, const VerifiedSignature& s) {
    return std::find(all.begin(), all.end(), s) != all.end();
  };
  size_t accepted = 0;
  for (size_t i = 0; i < msg.size(); i++) {
    for (const int mask : {0x01, 0x02, 0x10, 0x80}) {
      std::string m = msg;
      m[i] = static_cast<char>(m[i] ^ mask);
      auto v = VerifyCheckpoint(m, logs_, ws_);
      if (!v.ok()) continue;
      accepted++;
      EXPECT_EQ(v->checkpoint, orig->checkpoint) << i;
      for (const auto& s : v->note.log_signatures) EXPECT_TRUE(contains(orig->note.log_signatures, s));
      for (const auto& s : v->note.cosignatures) EXPECT_TRUE(contains(orig->note.cosignatures, s));
      EXPECT_LT(v->note.cosignatures.size(), 3u) << i;
    }
  }
  // Flipping a witness's name or key ID leaves a valid, less cosigned note.
  EXPECT_GT(accepted, 0u);
}

TEST_F(CheckpointVerifyTest, EveryTruncationFails) {
  const std::string msg = SignCheckpoint(log_, Sample());
  for (size_t n = 0; n < msg.size(); n++) {
    EXPECT_FALSE(VerifyCheckpoint(msg.substr(0, n), logs_, ws_).ok()) << n;
  }
}

}  // namespace
}  // namespace kt::core
