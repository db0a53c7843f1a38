// SPDX-License-Identifier: Apache-2.0
// Tests for core/cosignature: the cosignature/v1 signed message, the 72-byte
// timestamped signature, and its rejection rules.
#include "core/cosignature.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/encoding.h"

namespace kt::core {
namespace {

const std::string kText = "log.example/a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

SignerKey Key(std::string_view name, uint8_t type, uint8_t fill) {
  auto k = SignerKeyFromSeed(name, type, Bytes(32, fill));
  KT_CHECK(k.ok());
  return *k;
}

bool IsBadSignature(const Status& s) {
  return s.code() == Status::Code::kVerificationFailed &&
         s.message().rfind("bad_signature: ", 0) == 0;
}

TEST(CosignatureTest, Message) {
  EXPECT_EQ(CosignatureMessage(kText, 1679315147), "cosignature/v1\ntime 1679315147\n" + kText);
  EXPECT_EQ(CosignatureMessage(kText, 0), "cosignature/v1\ntime 0\n" + kText);
  EXPECT_EQ(CosignatureMessage("", kMaxCosignatureTimestamp),
            "cosignature/v1\ntime 9223372036854775807\n");
}

TEST(CosignatureTest, CosignVerifyRoundTrip) {
  const SignerKey w = Key("witness.example/w", kSigTypeCosignatureV1, 9);
  const NoteSignature sig = Cosign(w, kText, 1767225600);
  ASSERT_EQ(sig.signature.size(), kCosignatureV1Size);
  EXPECT_EQ(HexEncode(ByteSpan(sig.signature).first(8)), "000000006955b900");
  EXPECT_EQ(sig.name, w.name);
  EXPECT_EQ(sig.key_id, w.key_id);
  // The Ed25519 part is a plain signature of the cosignature/v1 message.
  EXPECT_TRUE(w.Verifier().verifier.Verify(AsBytes(CosignatureMessage(kText, 1767225600)),
                                           ByteSpan(sig.signature).subspan(8)));
  auto ts = VerifyCosignature(w.Verifier(), kText, sig);
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(*ts, 1767225600u);
  auto max = VerifyCosignature(w.Verifier(), kText, Cosign(w, kText, kMaxCosignatureTimestamp));
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, kMaxCosignatureTimestamp);
}

TEST(CosignatureTest, RejectsBadCosignatures) {
  const SignerKey w = Key("witness.example/w", kSigTypeCosignatureV1, 9);
  const VerifierKey vk = w.Verifier();
  const NoteSignature good = Cosign(w, kText, 1000);

  NoteSignature shorter = good;
  shorter.signature.pop_back();
  NoteSignature longer = good;
  longer.signature.push_back(0);
  NoteSignature no_ts{good.name, good.key_id, Bytes(good.signature.begin() + 8, good.signature.end())};
  NoteSignature other_ts = good;
  other_ts.signature[7] ^= 1;
  NoteSignature flipped = good;
  flipped.signature[40] ^= 1;
  for (const NoteSignature& s : {shorter, longer, no_ts, other_ts, flipped}) {
    EXPECT_TRUE(IsBadSignature(VerifyCosignature(vk, kText, s).status()));
  }
  // Another text, another key, a type 0x01 key with the same seed and name.
  EXPECT_TRUE(IsBadSignature(VerifyCosignature(vk, kText + "x\n", good).status()));
  const SignerKey w2 = Key("witness.example/w2", kSigTypeCosignatureV1, 9);
  EXPECT_TRUE(IsBadSignature(VerifyCosignature(w2.Verifier(), kText, good).status()));
  const SignerKey ed = Key("witness.example/w", kSigTypeEd25519, 9);
  NoteSignature as_ed = good;
  as_ed.key_id = ed.key_id;
  EXPECT_TRUE(IsBadSignature(VerifyCosignature(ed.Verifier(), kText, as_ed).status()));
}

TEST(CosignatureTest, RejectsTimestampAbove2To63) {
  // A genuine Ed25519 signature over the message with time 2^63: only the
  // spec's bound rejects it.
  const SignerKey w = Key("witness.example/w", kSigTypeCosignatureV1, 9);
  const uint64_t ts = uint64_t{1} << 63;
  const Ed25519Signature ed = w.signer.Sign(AsBytes(CosignatureMessage(kText, ts)));
  Writer wr;
  wr.U64(ts);
  wr.Raw(ed);
  const NoteSignature sig{w.name, w.key_id, wr.Take()};
  EXPECT_TRUE(IsBadSignature(VerifyCosignature(w.Verifier(), kText, sig).status()));
}

TEST(CosignatureTest, BadLengthInNoteRejectsNote) {
  const SignerKey log = Key("log.example/a", kSigTypeEd25519, 1);
  const SignerKey w = Key("witness.example/w", kSigTypeCosignatureV1, 9);
  NoteSignature cosig = Cosign(w, kText, 1000);
  cosig.signature.erase(cosig.signature.begin());  // 7-byte timestamp
  const std::vector<VerifierKey> logs = {log.Verifier()};
  const std::vector<VerifierKey> ws = {w.Verifier()};
  const std::string msg = FormatNote(Note{kText, {SignNote(log, kText), cosig}});
  EXPECT_TRUE(IsBadSignature(VerifyNote(msg, logs, ws).status()));
  // The same note with the witness unconfigured verifies (line ignored).
  EXPECT_TRUE(VerifyNote(msg, logs, {}).ok());
}

TEST(CosignatureDeathTest, CosignWithNoteKeyIsABug) {
  const SignerKey ed = Key("log.example/a", kSigTypeEd25519, 1);
  EXPECT_DEATH((void)Cosign(ed, kText, 1), "");
}

}  // namespace
}  // namespace kt::core
