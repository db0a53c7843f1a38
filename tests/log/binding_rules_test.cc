// SPDX-License-Identifier: Apache-2.0
// Tests for log/binding_rules: POST /v1/bindings parsing (every 400 rule),
// the operator token, the pre-sequencing checks in DESIGN.md's error order
// (every rule and every precedence pair), and the at-sequencing check.
#include "log/binding_rules.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/entry.h"

namespace kt::log {
namespace {

using core::EntryKind;
using nlohmann::json;
using Code = core::Status::Code;

constexpr char kUser[] = "alice@example.org";
constexpr char kToken[] = "operator-token-0123456789abcdef";

core::Ed25519Signer Key(uint8_t seed) {
  auto s = core::Ed25519Signer::FromSeed(core::Bytes(32, seed));
  KT_CHECK(s.ok());
  return *s;
}

std::string B64(core::ByteSpan b) { return core::Base64Encode(b); }

// RequestBuilder makes signed request bodies; every field can be spoiled.
struct RequestBuilder {
  std::string kind = "set";
  std::string user = kUser;
  std::string device = "phone";
  std::optional<uint64_t> prev;
  core::Ed25519Signer key = Key(1);
  std::vector<std::pair<std::string, core::Ed25519Signer>> endorsers;

  core::Entry Candidate() const {
    core::Entry e;
    e.kind = kind == "set" ? EntryKind::kKeySet : EntryKind::kRevoke;
    e.user = user;
    e.device = device;
    e.prev = prev.value_or(0);
    if (e.kind == EntryKind::kKeySet) e.identity_key = key.public_key();
    return e;
  }
  json Json() const {
    core::Entry e = Candidate();
    json j = {{"kind", kind}, {"user", user}, {"device", device}};
    if (prev) j["prev"] = *prev;
    if (kind == "set") {
      j["identity_key"] = B64(e.identity_key);
      j["possession_sig"] = B64(key.Sign(core::PopMessage(user, device, e.identity_key)));
    }
    if (!endorsers.empty()) {
      j["endorsements"] = json::array();
      for (const auto& [dev, signer] : endorsers) {
        auto sig = signer.Sign(core::EndorseMessage(user, device, e.kind, e.identity_key, e.prev));
        j["endorsements"].push_back({{"device", dev}, {"signature", B64(sig)}});
      }
    }
    return j;
  }
  std::string Body() const { return Json().dump(); }
};

BindingRequest MustParse(const std::string& body) {
  auto r = ParseBindingRequest(body);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : BindingRequest{};
}

Code ParseCode(const std::string& body) { return ParseBindingRequest(body).status().code(); }

// A user with devices "phone" (key 1, index 0) and "laptop" (key 2, index 1)
// and a revoked "tablet" (key 3; set at 2, revoked at 3). NextPrev() == 4.
UserState AliceState() {
  UserState s;
  auto set = [&](uint64_t index, const std::string& dev, uint8_t seed) {
    core::Entry e;
    e.user = kUser;
    e.device = dev;
    e.identity_key = Key(seed).public_key();
    s.Apply(index, e);
  };
  set(0, "phone", 1);
  set(1, "laptop", 2);
  set(2, "tablet", 3);
  core::Entry revoke;
  revoke.kind = EntryKind::kRevoke;
  revoke.user = kUser;
  revoke.device = "tablet";
  s.Apply(3, revoke);
  return s;
}

OperatorToken Token() {
  auto t = OperatorToken::FromFileContents(std::string(kToken) + "\n");
  KT_CHECK(t.ok());
  return *t;
}

// Check runs the pre-sequencing checks with the operator token configured.
Code Check(const RequestBuilder& b, const UserState& state,
           std::optional<std::string> bearer = std::nullopt) {
  OperatorToken token = Token();
  BindingRequest req = MustParse(b.Body());
  return CheckBinding(req, state, &token, bearer).status().code();
}

// --- Parsing (400) ---------------------------------------------------------

TEST(ParseBindingRequestTest, AcceptsKeySetWithoutPrev) {
  RequestBuilder b;
  BindingRequest req = MustParse(b.Body());
  EXPECT_FALSE(req.prev_given);
  EXPECT_EQ(req.entry.kind, EntryKind::kKeySet);
  EXPECT_EQ(req.entry.user, kUser);
  EXPECT_EQ(req.entry.device, "phone");
  EXPECT_EQ(req.entry.identity_key, Key(1).public_key());
  EXPECT_EQ(req.entry.possession_sig.size(), 64u);
  EXPECT_TRUE(req.entry.endorsements.empty());
  EXPECT_TRUE(core::VerifyPossession(req.entry).ok());
}

TEST(ParseBindingRequestTest, AcceptsEndorsedKeySetWithPrev) {
  RequestBuilder b;
  b.device = "desk";
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  BindingRequest req = MustParse(b.Body());
  EXPECT_TRUE(req.prev_given);
  EXPECT_EQ(req.entry.prev, 4u);
  ASSERT_EQ(req.entry.endorsements.size(), 1u);
  EXPECT_EQ(req.entry.endorsements[0].device, "laptop");
}

TEST(ParseBindingRequestTest, AcceptsBothRevokeForms) {
  RequestBuilder b;
  b.kind = "revoke";
  BindingRequest req = MustParse(b.Body());
  EXPECT_EQ(req.entry.kind, EntryKind::kRevoke);
  EXPECT_EQ(req.entry.identity_key, (std::array<uint8_t, 32>{}));
  EXPECT_TRUE(req.entry.possession_sig.empty());
  json j = b.Json();
  j["identity_key"] = B64(core::Bytes(32, 0));
  j["possession_sig"] = "";
  BindingRequest req2 = MustParse(j.dump());
  EXPECT_EQ(req2.entry, req.entry);
}

TEST(ParseBindingRequestTest, IgnoresUnknownFieldsAndNullPrev) {
  json j = RequestBuilder().Json();
  j["comment"] = "hello";
  j["prev"] = nullptr;
  BindingRequest req = MustParse(j.dump());
  EXPECT_FALSE(req.prev_given);
}

TEST(ParseBindingRequestTest, AcceptsPrevZero) {
  json j = RequestBuilder().Json();
  j["prev"] = 0;
  BindingRequest req = MustParse(j.dump());
  EXPECT_TRUE(req.prev_given);
  EXPECT_EQ(req.entry.prev, 0u);
}

TEST(ParseBindingRequestTest, RejectsBadJson) {
  for (const char* body :
       {"", "{", "[]", "null", "42", "\"set\"", "{\"kind\":\"set\",}", "{} {}",
        "{\"kind\": \"set\", \"user\": \"a\" \"device\": \"b\"}"}) {
    EXPECT_EQ(ParseCode(body), Code::kInvalidArgument) << body;
  }
}

TEST(ParseBindingRequestTest, RejectsInvalidUnicode) {
  json j = RequestBuilder().Json();
  std::string good = j.dump();
  // A lone high surrogate, a lone low surrogate, a reversed pair, a raw
  // UTF-8-encoded surrogate, an overlong '/', and a stray continuation byte.
  for (const std::string& bad_user :
       {std::string("\\ud800x"), std::string("\\udc00"), std::string("\\udc00\\ud800"),
        std::string("\xed\xa0\x80"), std::string("\xc0\xaf"), std::string("a\x80")}) {
    std::string body = good;
    size_t pos = body.find(kUser);
    ASSERT_NE(pos, std::string::npos);
    body.replace(pos, std::string(kUser).size(), bad_user);
    EXPECT_EQ(ParseCode(body), Code::kInvalidArgument) << bad_user;
  }
  // A valid surrogate pair (U+1F600) is fine in ids.
  RequestBuilder b;
  b.device = "\xf0\x9f\x98\x80";
  std::string body = b.Body();
  EXPECT_TRUE(ParseBindingRequest(body).ok());
}

TEST(ParseBindingRequestTest, RejectsMissingAndMistypedFields) {
  json base = RequestBuilder().Json();
  for (const char* field : {"kind", "user", "device", "identity_key", "possession_sig"}) {
    json j = base;
    j.erase(field);
    EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument) << "missing " << field;
    j[field] = 7;
    EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument) << "number " << field;
  }
  json j = base;
  j["kind"] = "add";
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["endorsements"] = json::object();
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j["endorsements"] = json::array({"laptop"});
  j["prev"] = 1;
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
}

TEST(ParseBindingRequestTest, RejectsBadPrev) {
  json base = RequestBuilder().Json();
  for (const json& prev : {json(-1), json(1.5), json(2.0), json("3"), json(true),
                           json::parse("1e3"), json::parse("18446744073709551616")}) {
    json j = base;
    j["prev"] = prev;
    EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument) << prev.dump();
  }
}

TEST(ParseBindingRequestTest, RejectsNonCanonicalBase64) {
  json base = RequestBuilder().Json();
  std::string key = base["identity_key"];
  std::string unpadded = key.substr(0, key.find('='));
  std::string url = key;
  for (char& c : url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  std::vector<std::string> bad = {unpadded, key + "\n", " " + key, key.substr(0, 40) + "\n" +
                                  key.substr(40)};
  if (url != key) bad.push_back(url);
  // Non-zero unused bits: the last char before '=' carries 4 spare bits.
  std::string spare = key;
  size_t last = spare.find('=') - 1;
  spare[last] = spare[last] == 'A' ? 'B' : 'A';
  if (core::Base64Decode(spare).ok() == false) bad.push_back(spare);
  for (const std::string& k : bad) {
    json j = base;
    j["identity_key"] = k;
    EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument) << k;
  }
}

TEST(ParseBindingRequestTest, RejectsSizeBounds) {
  json base = RequestBuilder().Json();
  json j = base;
  j["user"] = "";
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j["user"] = std::string(256, 'u');
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["device"] = std::string(256, 'd');
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["identity_key"] = B64(core::Bytes(31, 1));
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j["identity_key"] = B64(core::Bytes(33, 1));
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["possession_sig"] = B64(core::Bytes(63, 1));
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j["possession_sig"] = "";
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  // 255-byte ids are fine.
  RequestBuilder b;
  b.user = std::string(255, 'u');
  b.device = std::string(255, 'd');
  EXPECT_TRUE(ParseBindingRequest(b.Body()).ok());
  // The whole body is bounded.
  j = base;
  j["padding"] = std::string(kMaxBindingRequestSize, ' ');
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
}

TEST(ParseBindingRequestTest, RejectsRevokeWithKeyMaterial) {
  RequestBuilder b;
  b.kind = "revoke";
  json j = b.Json();
  core::Bytes key(32, 0);
  key[31] = 1;
  j["identity_key"] = B64(key);
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = b.Json();
  j["possession_sig"] = B64(core::Bytes(64, 1));
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
}

TEST(ParseBindingRequestTest, RejectsBadEndorsements) {
  RequestBuilder b;
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  json base = b.Json();
  json j = base;
  j["endorsements"][0]["signature"] = B64(core::Bytes(63, 1));
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["endorsements"][0].erase("signature");
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["endorsements"][0].erase("device");
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
  j = base;
  j["endorsements"][0]["device"] = "";
  EXPECT_EQ(ParseCode(j.dump()), Code::kInvalidArgument);
}

TEST(ParseBindingRequestTest, RejectsSameEndorsingDeviceTwice) {
  RequestBuilder b;
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  b.endorsers.emplace_back("laptop", Key(2));
  EXPECT_EQ(ParseCode(b.Body()), Code::kInvalidArgument);
  b.endorsers[1].first = "phone";
  EXPECT_TRUE(ParseBindingRequest(b.Body()).ok());
}

TEST(ParseBindingRequestTest, RejectsEndorsementsWithoutPrev) {
  RequestBuilder b;
  b.endorsers.emplace_back("laptop", Key(2));
  EXPECT_EQ(ParseCode(b.Body()), Code::kInvalidArgument);
  b.prev = 4;
  EXPECT_TRUE(ParseBindingRequest(b.Body()).ok());
}

TEST(ParseBindingRequestTest, RejectsEntryOver65535Bytes) {
  // Each endorsement with a 255-byte device id takes 320 bytes: 204 of them
  // fit (with a short user/device), 205 do not.
  auto body_with = [](size_t n) {
    json j = RequestBuilder().Json();
    j["prev"] = 1;
    j["endorsements"] = json::array();
    for (size_t i = 0; i < n; i++) {
      std::string dev = std::to_string(i);
      dev.resize(255, 'x');
      j["endorsements"].push_back({{"device", dev}, {"signature", B64(core::Bytes(64, 9))}});
    }
    return j.dump();
  };
  EXPECT_TRUE(ParseBindingRequest(body_with(203)).ok());
  EXPECT_EQ(ParseCode(body_with(205)), Code::kInvalidArgument);
  EXPECT_EQ(ParseCode(body_with(2000)), Code::kInvalidArgument);
}

// --- Operator token --------------------------------------------------------

TEST(OperatorTokenTest, MatchesOnlyTheExactToken) {
  OperatorToken t = Token();
  EXPECT_TRUE(t.Matches(kToken));
  EXPECT_FALSE(t.Matches(std::string(kToken) + "\n"));
  EXPECT_FALSE(t.Matches(std::string(kToken).substr(1)));
  EXPECT_FALSE(t.Matches(""));
  std::string flipped = kToken;
  for (size_t i = 0; i < flipped.size(); i++) {
    std::string m = flipped;
    m[i] = static_cast<char>(m[i] ^ 1);
    EXPECT_FALSE(t.Matches(m)) << i;
  }
}

TEST(OperatorTokenTest, RejectsBadFiles) {
  EXPECT_FALSE(OperatorToken::FromFileContents("").ok());
  EXPECT_FALSE(OperatorToken::FromFileContents("short\n").ok());
  EXPECT_FALSE(OperatorToken::FromFileContents("two words token1234567\n").ok());
  EXPECT_FALSE(OperatorToken::FromFileContents(std::string(kToken) + "\n\n").ok());
  EXPECT_FALSE(OperatorToken::FromFileContents(std::string(4097, 'a')).ok());
  auto crlf = OperatorToken::FromFileContents(std::string(kToken) + "\r\n");
  ASSERT_TRUE(crlf.ok());
  EXPECT_TRUE(crlf->Matches(kToken));
  auto bare = OperatorToken::FromFileContents(kToken);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->Matches(kToken));
}

TEST(ParseBearerTokenTest, AcceptsBearerScheme) {
  auto t = ParseBearerToken("Bearer abc");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "abc");
  t = ParseBearerToken("bEaReR xyz");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "xyz");
  for (const char* bad : {"", "Bearer", "Bearer ", "Basic abc", "Bearer  abc", "Bearer a b",
                          "Bearerabc"}) {
    EXPECT_EQ(ParseBearerToken(bad).status().code(), Code::kUnauthenticated) << bad;
  }
}

// --- Rules -----------------------------------------------------------------

TEST(CheckBindingTest, FirstDeviceNeedsOperatorToken) {
  RequestBuilder b;
  EXPECT_EQ(Check(b, UserState{}), Code::kPermissionDenied);
  OperatorToken token = Token();
  auto d = CheckBinding(MustParse(b.Body()), UserState{}, &token, std::string(kToken));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->by_operator);
  EXPECT_TRUE(d->endorsers.empty());
}

TEST(CheckBindingTest, WrongTokenIs401) {
  RequestBuilder b;
  EXPECT_EQ(Check(b, UserState{}, "not-the-operator-token"), Code::kUnauthenticated);
  // No operator token configured: every presented token is refused.
  auto r = CheckBinding(MustParse(b.Body()), UserState{}, nullptr, std::string(kToken));
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  r = CheckBinding(MustParse(b.Body()), UserState{}, nullptr, std::nullopt);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
}

TEST(CheckBindingTest, EndorsedNewDeviceIsAccepted) {
  RequestBuilder b;
  b.device = "desk";
  b.key = Key(9);
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  OperatorToken token = Token();
  auto d = CheckBinding(MustParse(b.Body()), AliceState(), &token, std::nullopt);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->by_operator);
  ASSERT_EQ(d->endorsers.size(), 1u);
  EXPECT_EQ(d->endorsers[0], (Endorser{"laptop", Key(2).public_key()}));
}

TEST(CheckBindingTest, RecoveryWithTokenNeedsNoEndorsement) {
  RequestBuilder b;
  b.key = Key(10);
  EXPECT_EQ(Check(b, AliceState(), kToken), Code::kOk);
  EXPECT_EQ(Check(b, AliceState()), Code::kPermissionDenied);
}

TEST(CheckBindingTest, SelfEndorsedRotationIsAccepted) {
  RequestBuilder b;
  b.key = Key(11);
  b.prev = 4;
  b.endorsers.emplace_back("phone", Key(1));  // its current key
  EXPECT_EQ(Check(b, AliceState()), Code::kOk);
  b.endorsers[0].second = Key(11);  // signed with the new key instead
  EXPECT_EQ(Check(b, AliceState()), Code::kVerificationFailed);
}

TEST(CheckBindingTest, NewDeviceCannotEndorseItself) {
  RequestBuilder b;
  b.device = "desk";
  b.key = Key(9);
  b.prev = 4;
  b.endorsers.emplace_back("desk", Key(9));
  EXPECT_EQ(Check(b, AliceState()), Code::kVerificationFailed);
}

TEST(CheckBindingTest, EndorsementByUnknownOrRevokedDeviceIs422) {
  RequestBuilder b;
  b.device = "desk";
  b.prev = 4;
  b.endorsers.emplace_back("watch", Key(5));
  EXPECT_EQ(Check(b, AliceState()), Code::kVerificationFailed);
  b.endorsers[0] = {"tablet", Key(3)};  // revoked, though its signature is valid
  EXPECT_EQ(Check(b, AliceState()), Code::kVerificationFailed);
  // Even with the operator token a bad endorsement is refused.
  EXPECT_EQ(Check(b, AliceState(), kToken), Code::kVerificationFailed);
}

TEST(CheckBindingTest, ForgedEndorsementIs422) {
  RequestBuilder b;
  b.device = "desk";
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(7));  // not laptop's key
  EXPECT_EQ(Check(b, AliceState()), Code::kVerificationFailed);
  // A valid endorsement for another prev does not verify for this one.
  RequestBuilder other = b;
  other.endorsers[0].second = Key(2);
  other.prev = 3;
  json j = other.Json();
  j["prev"] = 4;
  OperatorToken token = Token();
  auto r = CheckBinding(MustParse(j.dump()), AliceState(), &token, std::nullopt);
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  // Or for another device.
  other = b;
  other.endorsers[0].second = Key(2);
  other.device = "desk2";
  j = other.Json();
  j["device"] = "desk";
  r = CheckBinding(MustParse(j.dump()), AliceState(), &token, std::nullopt);
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
}

TEST(CheckBindingTest, BadPopIs422) {
  RequestBuilder b;
  json j = b.Json();
  j["possession_sig"] = B64(Key(5).Sign(core::AsBytes("something else")));
  OperatorToken token = Token();
  auto r = CheckBinding(MustParse(j.dump()), UserState{}, &token, std::string(kToken));
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  // A PoP bound to another device id fails too.
  RequestBuilder other;
  other.device = "other";
  j = other.Json();
  j["device"] = "phone";
  r = CheckBinding(MustParse(j.dump()), UserState{}, &token, std::string(kToken));
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
}

TEST(CheckBindingTest, RevokeRules) {
  RequestBuilder b;
  b.kind = "revoke";
  b.device = "phone";
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  EXPECT_EQ(Check(b, AliceState()), Code::kOk);
  // Self-endorsed revoke is not an endorsement by another device.
  b.endorsers[0] = {"phone", Key(1)};
  EXPECT_EQ(Check(b, AliceState()), Code::kPermissionDenied);
  EXPECT_EQ(Check(b, AliceState(), kToken), Code::kOk);
  // The operator alone may revoke, with or without prev.
  RequestBuilder op;
  op.kind = "revoke";
  EXPECT_EQ(Check(op, AliceState(), kToken), Code::kOk);
  EXPECT_EQ(Check(op, AliceState()), Code::kPermissionDenied);
}

TEST(CheckBindingTest, RevokeUnknownOrRevokedDeviceIs409) {
  RequestBuilder b;
  b.kind = "revoke";
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  b.device = "watch";
  EXPECT_EQ(Check(b, AliceState()), Code::kConflict);
  b.device = "tablet";
  EXPECT_EQ(Check(b, AliceState()), Code::kConflict);
  RequestBuilder op;
  op.kind = "revoke";
  op.device = "tablet";
  EXPECT_EQ(Check(op, AliceState(), kToken), Code::kConflict);
}

TEST(CheckBindingTest, StaleOrFuturePrevIs409) {
  RequestBuilder b;
  b.device = "desk";
  b.endorsers.emplace_back("laptop", Key(2));
  for (uint64_t prev : {0u, 3u, 5u, 100u}) {
    b.prev = prev;
    auto r = CheckBinding(MustParse(b.Body()), AliceState(), nullptr, std::nullopt);
    EXPECT_EQ(r.status().code(), Code::kConflict) << prev;
    EXPECT_EQ(r.status().value(), 4u);
  }
  // With the token and a given prev the same holds.
  RequestBuilder op;
  op.prev = 2;
  EXPECT_EQ(Check(op, AliceState(), kToken), Code::kConflict);
  op.prev = 4;
  EXPECT_EQ(Check(op, AliceState(), kToken), Code::kOk);
  // For a new user, prev 0 is the latest.
  op.prev = 0;
  EXPECT_EQ(Check(op, UserState{}, kToken), Code::kOk);
}

// --- Precedence: for each pair, a request violating both gets the first ----

TEST(BindingPrecedenceTest, MalformedBeatsEverything) {
  // Endorsements without prev (400), wrong token (401) and a forged
  // endorsement (422): parsing stops it first.
  RequestBuilder b;
  b.endorsers.emplace_back("watch", Key(5));
  EXPECT_EQ(ParseCode(b.Body()), Code::kInvalidArgument);
}

TEST(BindingPrecedenceTest, UnauthenticatedBeatsVerificationFailed) {
  RequestBuilder b;
  json j = b.Json();
  j["possession_sig"] = B64(core::Bytes(64, 0));
  OperatorToken token = Token();
  auto r = CheckBinding(MustParse(j.dump()), UserState{}, &token, std::string("wrong-token"));
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
}

TEST(BindingPrecedenceTest, UnauthenticatedBeatsPermissionDeniedAndConflict) {
  RequestBuilder b;
  b.kind = "revoke";
  b.device = "watch";  // unknown: 409
  EXPECT_EQ(Check(b, AliceState(), "wrong-token"), Code::kUnauthenticated);
  EXPECT_EQ(Check(b, AliceState()), Code::kPermissionDenied);
  EXPECT_EQ(Check(b, AliceState(), kToken), Code::kConflict);
}

TEST(BindingPrecedenceTest, VerificationFailedBeatsPermissionDenied) {
  // Bad PoP and no authority at all.
  RequestBuilder b;
  json j = b.Json();
  j["possession_sig"] = B64(core::Bytes(64, 0));
  auto r = CheckBinding(MustParse(j.dump()), UserState{}, nullptr, std::nullopt);
  EXPECT_EQ(r.status().code(), Code::kVerificationFailed);
  // A revoke whose only endorsement is forged: 422, not 403.
  RequestBuilder rv;
  rv.kind = "revoke";
  rv.prev = 4;
  rv.endorsers.emplace_back("laptop", Key(8));
  EXPECT_EQ(Check(rv, AliceState()), Code::kVerificationFailed);
}

TEST(BindingPrecedenceTest, VerificationFailedBeatsConflict) {
  // Stale prev and an endorsement by a revoked device.
  RequestBuilder b;
  b.device = "desk";
  b.prev = 1;
  b.endorsers.emplace_back("tablet", Key(3));
  EXPECT_EQ(Check(b, AliceState()), Code::kVerificationFailed);
  // Revoke of an unknown device endorsed by an unknown device.
  RequestBuilder rv;
  rv.kind = "revoke";
  rv.device = "watch";
  rv.prev = 4;
  rv.endorsers.emplace_back("ghost", Key(4));
  EXPECT_EQ(Check(rv, AliceState()), Code::kVerificationFailed);
}

TEST(BindingPrecedenceTest, PermissionDeniedBeatsConflict) {
  // Stale prev without any authority.
  RequestBuilder b;
  b.prev = 1;
  EXPECT_EQ(Check(b, AliceState()), Code::kPermissionDenied);
  // Revoke of an already revoked device, self-endorsed by nobody current.
  RequestBuilder rv;
  rv.kind = "revoke";
  rv.device = "tablet";
  EXPECT_EQ(Check(rv, AliceState()), Code::kPermissionDenied);
}

// --- At sequencing ---------------------------------------------------------

TEST(CheckAtSequencingTest, StalePrevIsConflictOnlyWhenGiven) {
  RequestBuilder b;
  b.prev = 4;
  core::Entry e = b.Candidate();
  UserState s = AliceState();
  EXPECT_TRUE(CheckAtSequencing(e, s, true, {}).ok());
  core::Entry other;
  other.user = kUser;
  other.device = "laptop";
  other.identity_key = Key(2).public_key();
  s.Apply(7, other);
  EXPECT_EQ(CheckAtSequencing(e, s, true, {}).code(), Code::kConflict);
  e.prev = s.NextPrev();  // what the sequencer sets without a given prev
  EXPECT_TRUE(CheckAtSequencing(e, s, false, {}).ok());
}

TEST(CheckAtSequencingTest, RevokeOfUnknownOrRevokedDevice) {
  RequestBuilder b;
  b.kind = "revoke";
  core::Entry e = b.Candidate();
  e.prev = 4;
  UserState s = AliceState();
  EXPECT_TRUE(CheckAtSequencing(e, s, false, {}).ok());
  core::Entry revoke = e;
  s.Apply(4, revoke);  // an earlier entry of the batch revoked it
  e.prev = 5;
  EXPECT_EQ(CheckAtSequencing(e, s, false, {}).code(), Code::kConflict);
  e.device = "watch";
  EXPECT_EQ(CheckAtSequencing(e, s, false, {}).code(), Code::kConflict);
}

TEST(CheckAtSequencingTest, EndorserMustStillBeCurrentWithSameKey) {
  RequestBuilder b;
  b.device = "desk";
  core::Entry e = b.Candidate();
  std::vector<Endorser> endorsers = {{"laptop", Key(2).public_key()}};
  UserState s = AliceState();
  EXPECT_TRUE(CheckAtSequencing(e, s, false, endorsers).ok());
  UserState rotated = s;
  core::Entry rot;
  rot.user = kUser;
  rot.device = "laptop";
  rot.identity_key = Key(12).public_key();
  rotated.Apply(4, rot);
  EXPECT_EQ(CheckAtSequencing(e, rotated, false, endorsers).code(), Code::kConflict);
  UserState revoked = s;
  rot.kind = EntryKind::kRevoke;
  rot.identity_key = {};
  revoked.Apply(4, rot);
  EXPECT_EQ(CheckAtSequencing(e, revoked, false, endorsers).code(), Code::kConflict);
}

TEST(MakeSubmissionTest, CarriesEntryAndCheck) {
  RequestBuilder b;
  b.device = "desk";
  b.prev = 4;
  b.endorsers.emplace_back("laptop", Key(2));
  BindingRequest req = MustParse(b.Body());
  auto d = CheckBinding(req, AliceState(), nullptr, std::nullopt);
  ASSERT_TRUE(d.ok());
  Submission sub = MakeSubmission(req, *d);
  EXPECT_EQ(sub.entry, req.entry);
  EXPECT_TRUE(sub.prev_given);
  ASSERT_TRUE(sub.check);
  EXPECT_TRUE(sub.check(sub.entry, AliceState()).ok());
  UserState moved = AliceState();
  core::Entry revoke;
  revoke.kind = EntryKind::kRevoke;
  revoke.user = kUser;
  revoke.device = "laptop";
  moved.Apply(4, revoke);
  EXPECT_EQ(sub.check(sub.entry, moved).code(), Code::kConflict);
}

}  // namespace
}  // namespace kt::log
