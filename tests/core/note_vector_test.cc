// SPDX-License-Identifier: Apache-2.0
// Known-answer tests from ../shared/vectors/merkle/notes.json (generated with
// golang.org/x/mod/sumdb/note): keys, a plain signed note, a checkpoint, a
// cosigned checkpoint, and the verification cases with their error classes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/cosignature.h"
#include "core/encoding.h"
#include "core/keys.h"
#include "core/note.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using nlohmann::json;

// ErrorClass maps a Status to the vectors' expect_error vocabulary.
std::string ErrorClass(const Status& s) {
  if (s.ok()) return "";
  const std::string& m = s.message();
  if (s.code() == Status::Code::kInvalidArgument && m.rfind("malformed: ", 0) == 0) {
    return "malformed";
  }
  if (s.code() == Status::Code::kInvalidArgument && m.rfind("bad_checkpoint: ", 0) == 0) {
    return "bad_checkpoint";
  }
  if (s.code() == Status::Code::kVerificationFailed && m.rfind("bad_signature: ", 0) == 0) {
    return "bad_signature";
  }
  if (s.code() == Status::Code::kPermissionDenied && m.rfind("unverified: ", 0) == 0) {
    return "unverified";
  }
  return "unexpected(" + s.ToString() + ")";
}

std::vector<std::string> Labels(const std::vector<VerifiedSignature>& sigs) {
  std::vector<std::string> out;
  for (const auto& s : sigs) {
    const uint8_t id[4] = {static_cast<uint8_t>(s.key_id >> 24), static_cast<uint8_t>(s.key_id >> 16),
                           static_cast<uint8_t>(s.key_id >> 8), static_cast<uint8_t>(s.key_id)};
    out.push_back(s.name + "/" + HexEncode(id));
  }
  return out;
}

std::vector<VerifierKey> ParseKeys(const json& list) {
  std::vector<VerifierKey> keys;
  if (list.is_null()) return keys;
  for (const auto& v : list) {
    auto k = ParseVerifierKey(v.get<std::string>());
    EXPECT_TRUE(k.ok()) << v << ": " << k.status().ToString();
    if (k.ok()) keys.push_back(*k);
  }
  return keys;
}

SignerKey Signer(const json& key) {
  auto k = ParseSignerKey(key.at("private").get<std::string>());
  KT_CHECK(k.ok());
  return *k;
}

class NoteVectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = kt::testing::LoadVectorJson("merkle/notes.json");
    ASSERT_TRUE(v_.contains("cases"));
  }
  json v_;
};

TEST_F(NoteVectorTest, KeysRoundTrip) {
  for (const char* field : {"log_key", "witness_key", "witness_key_2", "note_key"}) {
    SCOPED_TRACE(field);
    const json& k = v_.at(field);
    const std::string priv = k.at("private");
    const std::string vkey = k.at("vkey");
    auto sk = ParseSignerKey(priv);
    ASSERT_TRUE(sk.ok()) << sk.status().ToString();
    EXPECT_EQ(sk->VerifierKeyString(), vkey);
    EXPECT_EQ(FormatSignerKey(*sk), priv);
    auto vk = ParseVerifierKey(vkey);
    ASSERT_TRUE(vk.ok()) << vk.status().ToString();
    EXPECT_EQ(vk->ToString(), vkey);
    EXPECT_EQ(vk->key_id, sk->key_id);
    EXPECT_EQ(vk->type, sk->type);
    EXPECT_EQ(vk->key_id, KeyId(vk->name, vk->type, vk->verifier.public_key()));
    EXPECT_EQ(vkey.substr(vk->name.size() + 1, 8), HexEncode(std::vector<uint8_t>{
        static_cast<uint8_t>(vk->key_id >> 24), static_cast<uint8_t>(vk->key_id >> 16),
        static_cast<uint8_t>(vk->key_id >> 8), static_cast<uint8_t>(vk->key_id)}));
    if (k.contains("name")) {
      EXPECT_EQ(vk->name, k.at("name").get<std::string>());
    }
  }
  EXPECT_EQ(Signer(v_.at("log_key")).type, kSigTypeEd25519);
  EXPECT_EQ(Signer(v_.at("witness_key")).type, kSigTypeCosignatureV1);
  EXPECT_EQ(Signer(v_.at("witness_key_2")).type, kSigTypeCosignatureV1);
}

TEST_F(NoteVectorTest, PlainNoteSignature) {
  const json& p = v_.at("plain_note");
  const SignerKey key = Signer(v_.at("note_key"));
  Note note{p.at("text"), {SignNote(key, p.at("text").get<std::string>())}};
  EXPECT_EQ(FormatNote(note), p.at("note").get<std::string>());
  auto parsed = ParseNote(p.at("note").get<std::string>());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, note);
}

TEST_F(NoteVectorTest, CheckpointSignature) {
  const json& c = v_.at("checkpoint");
  const json tree = kt::testing::LoadVectorJson("merkle/tree.json");
  Checkpoint cp;
  cp.origin = c.at("origin");
  cp.size = c.at("size");
  auto root = Base64Decode(c.at("root_base64").get<std::string>());
  ASSERT_TRUE(root.ok() && root->size() == 32);
  std::copy(root->begin(), root->end(), cp.root.begin());
  EXPECT_EQ(cp.root, kt::testing::HexHash(tree.at("tree_hashes").at(cp.size)));
  EXPECT_EQ(FormatCheckpoint(cp), c.at("text").get<std::string>());
  auto parsed = ParseCheckpoint(c.at("text").get<std::string>());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, cp);
  const SignerKey log_key = Signer(v_.at("log_key"));
  EXPECT_EQ(SignCheckpoint(log_key, cp), c.at("signed").get<std::string>());
  const std::vector<VerifierKey> logs = {log_key.Verifier()};
  auto verified = VerifyCheckpoint(c.at("signed").get<std::string>(), logs, {});
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->checkpoint, cp);
}

TEST_F(NoteVectorTest, CosignedCheckpoint) {
  const json& cc = v_.at("cosigned_checkpoint");
  const std::string text = v_.at("checkpoint").at("text");
  const uint64_t ts = cc.at("timestamp");
  const std::string msg = CosignatureMessage(text, ts);
  EXPECT_EQ(msg, cc.at("signed_message").get<std::string>());
  EXPECT_EQ(HexEncode(AsBytes(msg)), cc.at("signed_message_hex").get<std::string>());

  const SignerKey witness = Signer(v_.at("witness_key"));
  const NoteSignature sig = Cosign(witness, text, ts);
  Writer w;
  w.U32(sig.key_id);
  w.Raw(sig.signature);
  EXPECT_EQ(HexEncode(w.bytes()), cc.at("signature_hex").get<std::string>());
  EXPECT_EQ(HexEncode(w.bytes()).substr(0, 8), cc.at("key_id_hex").get<std::string>());
  EXPECT_EQ(FormatSignatureLine(sig), cc.at("signature_line").get<std::string>() + "\n");

  auto ts_back = VerifyCosignature(witness.Verifier(), text, sig);
  ASSERT_TRUE(ts_back.ok()) << ts_back.status().ToString();
  EXPECT_EQ(*ts_back, ts);

  const std::vector<NoteSignature> sigs = {sig};
  auto cosigned = AddCosignatures(v_.at("checkpoint").at("signed").get<std::string>(), sigs);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status().ToString();
  EXPECT_EQ(*cosigned, cc.at("note").get<std::string>());
}

TEST_F(NoteVectorTest, Cases) {
  ASSERT_GE(v_.at("cases").size(), 20u);
  for (const json& c : v_.at("cases")) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const std::string msg = c.at("note");
    const std::vector<VerifierKey> logs = ParseKeys(c.at("log_vkeys"));
    const std::vector<VerifierKey> witnesses = ParseKeys(c.at("witness_vkeys"));
    const std::string want_error = c.at("expect_error");
    const bool want_valid = c.at("expect_valid");
    ASSERT_EQ(want_valid, want_error.empty());

    auto note = VerifyNote(msg, logs, witnesses);
    if (name.rfind("note-", 0) == 0) {
      EXPECT_EQ(ErrorClass(note.status()), want_error);
    } else {
      auto cp = VerifyCheckpoint(msg, logs, witnesses);
      EXPECT_EQ(ErrorClass(cp.status()), want_error);
      if (cp.ok()) {
        EXPECT_EQ(cp->checkpoint.origin, v_.at("checkpoint").at("origin").get<std::string>());
        EXPECT_EQ(Labels(cp->note.log_signatures), Labels(note->log_signatures));
      }
    }
    std::vector<std::string> want_logs = c.at("verified_log_keys");
    std::vector<std::string> want_witnesses = c.at("verified_witnesses");
    if (note.ok()) {
      EXPECT_EQ(Labels(note->log_signatures), want_logs);
      EXPECT_EQ(Labels(note->cosignatures), want_witnesses);
      for (const auto& cs : note->cosignatures) {
        EXPECT_EQ(cs.type, kSigTypeCosignatureV1);
        EXPECT_GT(cs.timestamp, 0u);
      }
    } else {
      EXPECT_TRUE(want_logs.empty());
      EXPECT_TRUE(want_witnesses.empty());
    }
  }
}

TEST_F(NoteVectorTest, CosignedTimestamps) {
  const std::string note = v_.at("cosigned_checkpoint").at("note");
  const std::vector<VerifierKey> logs = {Signer(v_.at("log_key")).Verifier()};
  const std::vector<VerifierKey> ws = {Signer(v_.at("witness_key")).Verifier()};
  auto cp = VerifyCheckpoint(note, logs, ws);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  ASSERT_EQ(cp->note.cosignatures.size(), 1u);
  EXPECT_EQ(cp->note.cosignatures[0].timestamp, v_.at("cosigned_checkpoint").at("timestamp"));
  EXPECT_EQ(cp->note.log_signatures[0].timestamp, 0u);
}

}  // namespace
}  // namespace kt::core
