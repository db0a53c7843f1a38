// SPDX-License-Identifier: Apache-2.0
// Tests for core/note: the strict signed-note grammar, its limits, and
// VerifyNote's treatment of unknown, duplicate and failing signatures.
#include "core/note.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/cosignature.h"
#include "core/encoding.h"

namespace kt::core {
namespace {

const std::string kDash = "\xE2\x80\x94";  // U+2014

SignerKey Key(std::string_view name, uint8_t type, uint8_t fill) {
  auto k = SignerKeyFromSeed(name, type, Bytes(32, fill));
  KT_CHECK(k.ok());
  return *k;
}

std::string Signed(const SignerKey& key, const std::string& text) {
  return FormatNote(Note{text, {SignNote(key, text)}});
}

bool IsMalformed(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument && s.message().rfind("malformed: ", 0) == 0;
}

class NoteTest : public ::testing::Test {
 protected:
  const SignerKey log_ = Key("log.example/a", kSigTypeEd25519, 1);
  const SignerKey other_ = Key("other.example/b", kSigTypeEd25519, 2);
  const SignerKey witness_ = Key("witness.example/w", kSigTypeCosignatureV1, 3);
  const std::vector<VerifierKey> logs_ = {log_.Verifier()};
  const std::vector<VerifierKey> witnesses_ = {witness_.Verifier()};
  const std::string text_ = "hello\n\nworld\n";
};

TEST_F(NoteTest, SignParseFormatRoundTrip) {
  const std::string msg = Signed(log_, text_);
  EXPECT_EQ(msg.substr(text_.size()), "\n" + kDash + " log.example/a " +
                                          msg.substr(text_.size() + 1 + kDash.size() + 15));
  auto note = ParseNote(msg);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(note->text, text_);  // the text keeps its inner blank line
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "log.example/a");
  EXPECT_EQ(note->signatures[0].key_id, log_.key_id);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
  EXPECT_EQ(FormatNote(*note), msg);
  auto v = VerifyNote(msg, logs_, {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->log_signatures.size(), 1u);
  EXPECT_EQ(v->log_signatures[0],
            (VerifiedSignature{"log.example/a", log_.key_id, kSigTypeEd25519, 0}));
  EXPECT_TRUE(v->cosignatures.empty());
}

TEST_F(NoteTest, RejectsMalformedSyntax) {
  const std::string msg = Signed(log_, text_);
  const std::string sig_line = msg.substr(text_.size() + 1);  // "— name b64\n"
  const std::string b64 = sig_line.substr(kDash.size() + 15, sig_line.size() - kDash.size() - 16);
  const std::string cases[] = {
      "",
      "\n",
      msg.substr(0, msg.size() - 1),                        // no final newline
      text_ + sig_line,                                     // no blank line ("hello\n\nworld\n— ..")
      "hello\n" + sig_line,                                 // no blank line at all
      text_ + "\n",                                         // no signatures
      text_ + "\n\n",                                       // blank line only
      msg + "\n",                                           // trailing blank line
      "hello\r\n\n" + sig_line,                             // CR in the text
      text_ + "\n" + sig_line.substr(0, sig_line.size() - 1) + "\r\n",  // CR in a line
      "he\tllo\n\n" + sig_line,                             // tab
      "he\x01llo\n\n" + sig_line,                           // control character
      "he\xffllo\n\n" + sig_line,                           // invalid UTF-8
      "he\xc0\xafllo\n\n" + sig_line,                       // overlong UTF-8
      text_ + "\n- log.example/a " + b64 + "\n",            // hyphen, not em dash
      text_ + "\n" + kDash + "log.example/a " + b64 + "\n",  // no space after the dash
      text_ + "\n" + kDash + "  " + b64 + "\n",             // empty name
      text_ + "\n" + kDash + " log.example/a\n",            // no signature
      text_ + "\n" + kDash + " log.example/a \n",           // empty signature
      text_ + "\n" + kDash + " log.example/a  " + b64 + "\n",  // two spaces
      text_ + "\n" + kDash + " log.example/a " + b64 + " \n",  // trailing space
      text_ + "\n" + kDash + " log+example " + b64 + "\n",  // '+' in name
      text_ + "\n" + kDash + " log.example/a " + b64.substr(0, b64.size() - 1) + "\n",
      text_ + "\n" + kDash + " log.example/a !!!notbase64\n",
      text_ + "\n" + kDash + " log.example/a AAAAAA==\n",   // 4 bytes: key ID only
      text_ + "\n" + kDash + " log.example/a AAAAAAB=\n",   // 5 bytes, non-zero pad bits
  };
  for (const std::string& c : cases) {
    auto n = ParseNote(c);
    EXPECT_TRUE(!n.ok() && IsMalformed(n.status())) << c;
    EXPECT_TRUE(IsMalformed(VerifyNote(c, logs_, witnesses_).status())) << c;
  }
  // The text ends at the LAST blank line: an earlier "signature" is text.
  auto split = ParseNote(text_ + "\n" + sig_line + "\n" + sig_line);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->text, text_ + "\n" + sig_line);
  EXPECT_EQ(split->signatures.size(), 1u);
  // Five bytes (key ID + 1) is the shortest signature the grammar allows.
  EXPECT_TRUE(ParseNote(text_ + "\n" + kDash + " log.example/a AAAAAAA=\n").ok());
  EXPECT_TRUE(ParseNote(text_ + "\n" + kDash + " log.example/a AAAAAAE=\n").ok());
}

TEST_F(NoteTest, EveryTruncationFails) {
  const std::string msg = Signed(log_, text_);
  for (size_t n = 0; n < msg.size(); n++) {
    EXPECT_FALSE(VerifyNote(msg.substr(0, n), logs_, {}).ok()) << n;
  }
}

TEST_F(NoteTest, SizeLimit) {
  // A text that makes the whole note exactly kMaxNoteSize bytes is accepted.
  const std::string probe = Signed(log_, "x\n");
  const size_t overhead = probe.size() - 2;
  std::string text(kMaxNoteSize - overhead - 1, 'a');
  text += '\n';
  const std::string at_limit = Signed(log_, text);
  ASSERT_EQ(at_limit.size(), kMaxNoteSize);
  EXPECT_TRUE(VerifyNote(at_limit, logs_, {}).ok());
  text.insert(0, "a");
  const std::string over = Signed(log_, text);
  EXPECT_TRUE(IsMalformed(ParseNote(over).status()));
}

TEST_F(NoteTest, SignatureCountLimit) {
  Note note{text_, {SignNote(log_, text_)}};
  for (size_t i = 1; i < kMaxNoteSignatures; i++) {
    note.signatures.push_back(NoteSignature{"unknown.example/" + std::to_string(i),
                                            static_cast<uint32_t>(i), Bytes(64, 7)});
  }
  auto at_limit = VerifyNote(FormatNote(note), logs_, {});
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  note.signatures.push_back(NoteSignature{"unknown.example/x", 1, Bytes(64, 7)});
  EXPECT_TRUE(IsMalformed(ParseNote(FormatNote(note)).status()));
  // AddSignatures refuses to build a note over the limit.
  note.signatures.pop_back();
  const std::vector<NoteSignature> extra = {Cosign(witness_, text_, 1)};
  EXPECT_TRUE(IsMalformed(AddSignatures(FormatNote(note), extra).status()));
}

TEST_F(NoteTest, UnknownKeysAreIgnored) {
  const NoteSignature good = SignNote(log_, text_);
  const NoteSignature unknown = SignNote(other_, text_);
  // Same name, other key ID; same key ID, other name; both with junk bytes.
  const NoteSignature same_name{log_.name, log_.key_id ^ 1, Bytes(64, 9)};
  const NoteSignature same_id{"log.example/b", log_.key_id, Bytes(3, 9)};
  const std::string msg = FormatNote(Note{text_, {unknown, same_name, good, same_id}});
  auto v = VerifyNote(msg, logs_, witnesses_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->log_signatures.size(), 1u);
  EXPECT_EQ(v->log_signatures[0].key_id, log_.key_id);
  EXPECT_EQ(v->note.signatures.size(), 4u);
  // Only unknown signatures: unverified.
  const std::string only_unknown = FormatNote(Note{text_, {unknown, same_name, same_id}});
  auto u = VerifyNote(only_unknown, logs_, witnesses_);
  EXPECT_EQ(u.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(u.status().message().rfind("unverified: ", 0), 0u);
  // No configured keys at all: unverified.
  EXPECT_EQ(VerifyNote(Signed(log_, text_), {}, {}).status().code(),
            Status::Code::kPermissionDenied);
}

TEST_F(NoteTest, KnownKeyBadSignatureRejectsNote) {
  NoteSignature bad = SignNote(log_, text_);
  bad.signature[10] ^= 0x40;
  const NoteSignature other = SignNote(other_, text_);
  const std::vector<VerifierKey> both = {log_.Verifier(), other_.Verifier()};
  // A valid signature of another known log key does not rescue the note.
  auto v = VerifyNote(FormatNote(Note{text_, {other, bad}}), both, {});
  EXPECT_EQ(v.status().code(), Status::Code::kVerificationFailed);
  EXPECT_EQ(v.status().message().rfind("bad_signature: ", 0), 0u);
  // Wrong length for an Ed25519 signature: bad, not ignored.
  NoteSignature longer = SignNote(log_, text_);
  longer.signature.push_back(0);
  EXPECT_EQ(VerifyNote(FormatNote(Note{text_, {longer}}), logs_, {}).status().code(),
            Status::Code::kVerificationFailed);
  // Signature over another text.
  const NoteSignature moved = SignNote(log_, "other\n");
  EXPECT_EQ(VerifyNote(FormatNote(Note{text_, {moved}}), logs_, {}).status().code(),
            Status::Code::kVerificationFailed);
}

TEST_F(NoteTest, DuplicateKnownKeyIsMalformed) {
  const NoteSignature good = SignNote(log_, text_);
  auto v = VerifyNote(FormatNote(Note{text_, {good, good}}), logs_, {});
  EXPECT_TRUE(IsMalformed(v.status())) << v.status().ToString();
  // A second line with junk after a good one: still rejected, never skipped.
  const NoteSignature junk{log_.name, log_.key_id, Bytes(64, 1)};
  EXPECT_FALSE(VerifyNote(FormatNote(Note{text_, {good, junk}}), logs_, {}).ok());
  const NoteSignature cosig = Cosign(witness_, text_, 5);
  EXPECT_TRUE(IsMalformed(
      VerifyNote(FormatNote(Note{text_, {good, cosig, cosig}}), logs_, witnesses_).status()));
  // Duplicate lines of an unknown key are ignored like any unknown line.
  const NoteSignature unknown = SignNote(other_, text_);
  EXPECT_TRUE(VerifyNote(FormatNote(Note{text_, {good, unknown, unknown}}), logs_, {}).ok());
}

TEST_F(NoteTest, CosignaturesAreReportedSeparately) {
  const SignerKey w2 = Key("witness.example/w2", kSigTypeCosignatureV1, 4);
  const std::vector<VerifierKey> ws = {witness_.Verifier(), w2.Verifier()};
  const Note note{text_, {SignNote(log_, text_), Cosign(w2, text_, 200), Cosign(witness_, text_, 100)}};
  auto v = VerifyNote(FormatNote(note), logs_, ws);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->cosignatures.size(), 2u);
  EXPECT_EQ(v->cosignatures[0], (VerifiedSignature{w2.name, w2.key_id, 0x04, 200}));
  EXPECT_EQ(v->cosignatures[1], (VerifiedSignature{witness_.name, witness_.key_id, 0x04, 100}));
  // Cosignatures alone never satisfy the log-signature requirement.
  const Note cosigs_only{text_, {Cosign(witness_, text_, 100)}};
  EXPECT_EQ(VerifyNote(FormatNote(cosigs_only), logs_, ws).status().code(),
            Status::Code::kPermissionDenied);
  // A witness key passed as a log key is checked as a cosignature but does not
  // count as a witness.
  auto as_log = VerifyNote(FormatNote(cosigs_only), ws, {});
  ASSERT_TRUE(as_log.ok());
  EXPECT_EQ(as_log->log_signatures[0].timestamp, 100u);
}

TEST_F(NoteTest, AddSignaturesReplacesSameKey) {
  const std::string msg = Signed(log_, text_);
  const std::vector<NoteSignature> first = {Cosign(witness_, text_, 1)};
  auto once = AddSignatures(msg, first);
  ASSERT_TRUE(once.ok());
  const std::vector<NoteSignature> second = {Cosign(witness_, text_, 2)};
  auto twice = AddSignatures(*once, second);
  ASSERT_TRUE(twice.ok());
  auto v = VerifyNote(*twice, logs_, witnesses_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->cosignatures.size(), 1u);
  EXPECT_EQ(v->cosignatures[0].timestamp, 2u);
  EXPECT_EQ(v->note.signatures.size(), 2u);
  EXPECT_TRUE(IsMalformed(AddSignatures("not a note", first).status()));
}

TEST_F(NoteTest, IsNoteText) {
  EXPECT_TRUE(IsNoteText(""));
  EXPECT_TRUE(IsNoteText("a\nb\n\xE2\x80\x94 \x7f"));
  EXPECT_FALSE(IsNoteText("a\r\n"));
  EXPECT_FALSE(IsNoteText(std::string("a\0", 2)));
  EXPECT_FALSE(IsNoteText("\xed\xa0\x80"));  // surrogate
}

}  // namespace
}  // namespace kt::core
