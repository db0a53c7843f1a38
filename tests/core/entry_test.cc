// SPDX-License-Identifier: Apache-2.0
// Tests for core/entry: the x3dh.json `entries` known answers (encode, decode,
// leaf hash, PoP, endorsements, deterministic re-signing) and strict decoding.
#include "core/entry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;
using nlohmann::json;

std::array<uint8_t, 32> Key32(const std::string& hex) {
  Bytes b = Hex(hex);
  std::array<uint8_t, 32> out{};
  EXPECT_EQ(b.size(), 32u);
  std::copy_n(b.begin(), std::min<size_t>(b.size(), 32), out.begin());
  return out;
}

Entry FromJson(const json& v) {
  Entry e;
  e.kind = static_cast<EntryKind>(v["kind"].get<int>());
  e.user = v["user"].get<std::string>();
  e.device = v["device"].get<std::string>();
  e.timestamp_ms = v["timestamp_ms"].get<uint64_t>();
  e.prev = v["prev"].get<uint64_t>();
  e.identity_key = Key32(v["identity_key"].get<std::string>());
  e.possession_sig = Hex(v["possession_sig"].get<std::string>());
  for (const auto& en : v["endorsements"]) {
    Endorsement d;
    d.device = en["device"].get<std::string>();
    Bytes sig = Hex(en["signature"].get<std::string>());
    EXPECT_EQ(sig.size(), 64u);
    std::copy_n(sig.begin(), std::min<size_t>(sig.size(), 64), d.signature.begin());
    e.endorsements.push_back(d);
  }
  return e;
}

std::vector<json> VectorEntries() {
  json j = kt::testing::LoadVectorJson("x3dh.json");
  std::vector<json> out;
  if (j.is_object() && j.contains("entries")) {
    for (const auto& e : j["entries"]) out.push_back(e);
  }
  return out;
}

// A valid kind-1 entry signed with fresh keys, endorsed by two devices.
Entry MakeKeySet(size_t endorsements = 2) {
  auto ik = Ed25519Signer::FromSeed(Bytes(32, 7));
  KT_CHECK(ik.ok());
  Entry e;
  e.user = "alice@example.org";
  e.device = "phone";
  e.timestamp_ms = 1763199785471;
  e.prev = 3;
  e.identity_key = ik->public_key();
  auto sig = ik->Sign(PopMessage(e.user, e.device, e.identity_key));
  e.possession_sig.assign(sig.begin(), sig.end());
  for (size_t i = 0; i < endorsements; i++) {
    auto s = Ed25519Signer::FromSeed(Bytes(32, static_cast<uint8_t>(20 + i)));
    KT_CHECK(s.ok());
    Endorsement d;
    d.device = "laptop-" + std::to_string(i);
    d.signature = s->Sign(EndorseMessage(e.user, e.device, e.kind, e.identity_key, e.prev));
    e.endorsements.push_back(d);
  }
  return e;
}

TEST(EntryVectorTest, EncodesDecodesAndHashes) {
  auto entries = VectorEntries();
  ASSERT_GE(entries.size(), 6u);
  for (const auto& v : entries) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Entry want = FromJson(v);
    Bytes bytes = Hex(v["entry"].get<std::string>());
    auto enc = EncodeEntry(want);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_EQ(HexEncode(*enc), v["entry"].get<std::string>());
    auto dec = DecodeEntry(bytes);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, want);
    const uint8_t zero = 0x00;
    EXPECT_EQ(HexEncode(Sha256({ByteSpan(&zero, 1), bytes})), v["leaf_hash"].get<std::string>());
  }
}

TEST(EntryVectorTest, SignaturesVerifyAndReproduce) {
  for (const auto& v : VectorEntries()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto entry = DecodeEntry(Hex(v["entry"].get<std::string>()));
    ASSERT_TRUE(entry.ok());
    if (entry->kind == EntryKind::kKeySet) {
      EXPECT_TRUE(VerifyPossession(*entry).ok());
      auto ik = Ed25519Signer::FromSeed(Hex(v["identity_seed"].get<std::string>()));
      ASSERT_TRUE(ik.ok());
      EXPECT_EQ(ik->public_key(), entry->identity_key);
      auto sig = ik->Sign(PopMessage(entry->user, entry->device, entry->identity_key));
      EXPECT_EQ(Bytes(sig.begin(), sig.end()), entry->possession_sig);
    } else {
      EXPECT_FALSE(VerifyPossession(*entry).ok());
    }
    const auto& ends = v["endorsements"];
    ASSERT_EQ(ends.size(), entry->endorsements.size());
    for (size_t i = 0; i < ends.size(); i++) {
      const Endorsement& d = entry->endorsements[i];
      EXPECT_TRUE(VerifyEndorsement(*entry, d, Hex(ends[i]["pub"].get<std::string>())).ok());
      auto s = Ed25519Signer::FromSeed(Hex(ends[i]["seed"].get<std::string>()));
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(HexEncode(s->public_key()), ends[i]["pub"].get<std::string>());
      EXPECT_EQ(s->Sign(EndorseMessage(entry->user, entry->device, entry->kind,
                                       entry->identity_key, entry->prev)),
                d.signature);
      // Bound to the entry's prev: the same signature fails for another prev.
      Entry moved = *entry;
      moved.prev++;
      EXPECT_EQ(VerifyEndorsement(moved, d, Hex(ends[i]["pub"].get<std::string>())).code(),
                Status::Code::kVerificationFailed);
    }
  }
}

TEST(EntryVectorTest, RejectsEveryTruncationAndTrailingByte) {
  for (const auto& v : VectorEntries()) {
    Bytes bytes = Hex(v["entry"].get<std::string>());
    for (size_t n = 0; n < bytes.size(); n++) {
      EXPECT_FALSE(DecodeEntry(ByteSpan(bytes).first(n)).ok()) << n;
    }
    Bytes longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(DecodeEntry(longer).ok());
  }
}

TEST(EntryVectorTest, FlippedPopByteFailsVerification) {
  for (const auto& v : VectorEntries()) {
    if (v["kind"].get<int>() != 1) continue;
    auto entry = DecodeEntry(Hex(v["entry"].get<std::string>()));
    ASSERT_TRUE(entry.ok());
    for (size_t i = 0; i < 64; i++) {
      Entry bad = *entry;
      bad.possession_sig[i] ^= 0x01;
      EXPECT_EQ(VerifyPossession(bad).code(), Status::Code::kVerificationFailed) << i;
    }
    Entry other_device = *entry;
    other_device.device += "x";
    EXPECT_EQ(VerifyPossession(other_device).code(), Status::Code::kVerificationFailed);
  }
}

TEST(EntryTest, RoundTripsGeneratedEntry) {
  Entry e = MakeKeySet();
  auto enc = EncodeEntry(e);
  ASSERT_TRUE(enc.ok());
  auto dec = DecodeEntry(*enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(*dec, e);
  EXPECT_TRUE(VerifyPossession(*dec).ok());
}

TEST(EntryTest, ViewAliasesTheBytesAndMatchesDecode) {
  Entry e = MakeKeySet(2);
  Bytes enc = *EncodeEntry(e);
  auto v = ParseEntryView(enc);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->kind, e.kind);
  EXPECT_EQ(v->user, e.user);
  EXPECT_EQ(v->device, e.device);
  EXPECT_EQ(v->timestamp_ms, e.timestamp_ms);
  EXPECT_EQ(v->prev, e.prev);
  EXPECT_EQ(Bytes(v->identity_key.begin(), v->identity_key.end()),
            Bytes(e.identity_key.begin(), e.identity_key.end()));
  EXPECT_EQ(Bytes(v->possession_sig.begin(), v->possession_sig.end()), e.possession_sig);
  const auto* begin = reinterpret_cast<const char*>(enc.data());
  EXPECT_GE(v->user.data(), begin);  // views into `enc`, not copies
  EXPECT_LT(v->user.data(), begin + enc.size());
  ByteSpan rest = v->endorsements;
  EndorsementView en;
  size_t n = 0;
  while (NextEndorsement(&rest, &en)) {
    ASSERT_LT(n, e.endorsements.size());
    EXPECT_EQ(en.device, e.endorsements[n].device);
    EXPECT_EQ(Bytes(en.signature.begin(), en.signature.end()),
              Bytes(e.endorsements[n].signature.begin(), e.endorsements[n].signature.end()));
    n++;
  }
  EXPECT_EQ(n, 2u);
}

TEST(EntryTest, ViewIsAsStrictAsDecodeUnderMutation) {
  Bytes enc = *EncodeEntry(MakeKeySet(2));
  // Every single-byte change and every truncation: the view and the decoder
  // agree on acceptance (a changed length prefix or id byte must fail both).
  for (size_t i = 0; i < enc.size(); i++) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      Bytes m = enc;
      m[i] ^= flip;
      EXPECT_EQ(ParseEntryView(m).ok(), DecodeEntry(m).ok()) << i;
    }
    EXPECT_FALSE(ParseEntryView(ByteSpan(enc).first(i)).ok()) << i;
  }
  // Rename the second endorser to the first's name: same length, duplicate.
  Entry e = MakeKeySet(2);
  e.endorsements[1].device = e.endorsements[0].device;
  Writer w;
  w.U8(1);
  w.U8(1);
  w.Vec8(AsBytes(e.user));
  w.Vec8(AsBytes(e.device));
  w.U64(e.timestamp_ms);
  w.U64(e.prev);
  w.Raw(e.identity_key);
  w.Vec8(e.possession_sig);
  w.U16(static_cast<uint16_t>(2 * (1 + e.endorsements[0].device.size() + 64)));
  for (const auto& d : e.endorsements) {
    w.Vec8(AsBytes(d.device));
    w.Raw(d.signature);
  }
  auto v = ParseEntryView(w.bytes());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "entry: the same device endorses twice");
}

TEST(EntryTest, EndorsementsPrefixIsByteLength) {
  Entry e = MakeKeySet(2);
  auto enc = EncodeEntry(e);
  ASSERT_TRUE(enc.ok());
  // The last field is endorsements<0..2^16-1>: u16 byte length, then structs.
  size_t body = 2 * (1 + 8 + 64);  // "laptop-N" is 8 bytes
  size_t at = enc->size() - body - 2;
  EXPECT_EQ((*enc)[at], body >> 8);
  EXPECT_EQ((*enc)[at + 1], body & 0xFF);
}

TEST(EntryTest, RejectsWrongVersionAndKind) {
  auto enc = EncodeEntry(MakeKeySet());
  ASSERT_TRUE(enc.ok());
  for (uint8_t version : {0, 2, 255}) {
    Bytes b = *enc;
    b[0] = version;
    EXPECT_FALSE(DecodeEntry(b).ok());
  }
  for (uint8_t kind : {0, 3, 255}) {
    Bytes b = *enc;
    b[1] = kind;
    EXPECT_FALSE(DecodeEntry(b).ok());
  }
  Bytes b = *enc;
  b[1] = 2;  // a revoke may not carry a key and a signature
  EXPECT_FALSE(DecodeEntry(b).ok());
  Entry e = MakeKeySet();
  e.version = 2;
  EXPECT_FALSE(EncodeEntry(e).ok());
  e.version = 1;
  e.kind = static_cast<EntryKind>(3);
  EXPECT_FALSE(EncodeEntry(e).ok());
}

TEST(EntryTest, RevokeBounds) {
  Entry r;
  r.kind = EntryKind::kRevoke;
  r.user = "bob";
  r.device = "tablet";
  EXPECT_TRUE(EncodeEntry(r).ok());
  Entry with_key = r;
  with_key.identity_key[31] = 1;
  EXPECT_FALSE(EncodeEntry(with_key).ok());
  Entry with_sig = r;
  with_sig.possession_sig = Bytes(64, 1);
  EXPECT_FALSE(EncodeEntry(with_sig).ok());
  // The same rejections through the decoder: flip the last key byte.
  Bytes b = *EncodeEntry(r);
  size_t key_end = 2 + 1 + 3 + 1 + 6 + 16 + 32;
  b[key_end - 1] = 1;
  EXPECT_FALSE(DecodeEntry(b).ok());
  EXPECT_FALSE(VerifyPossession(r).ok());
}

TEST(EntryTest, KeySetNeedsExactly64BytePop) {
  for (size_t n : {0, 1, 63, 65}) {
    Entry e = MakeKeySet(0);
    e.possession_sig.assign(n, 1);
    EXPECT_FALSE(EncodeEntry(e).ok()) << n;
  }
  // Decoder: rewrite the pop length to 63 and drop one byte.
  Entry e = MakeKeySet(0);
  Bytes b = *EncodeEntry(e);
  size_t pop_len_at = 2 + 1 + e.user.size() + 1 + e.device.size() + 16 + 32;
  ASSERT_EQ(b[pop_len_at], 64);
  b[pop_len_at] = 63;
  b.erase(b.begin() + static_cast<std::ptrdiff_t>(pop_len_at + 1));
  EXPECT_FALSE(DecodeEntry(b).ok());
  // A 65-byte possession_sig exceeds <0..64> even before the kind rule.
  b = *EncodeEntry(e);
  b[pop_len_at] = 65;
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(pop_len_at + 1), 0);
  EXPECT_FALSE(DecodeEntry(b).ok());
}

TEST(EntryTest, RejectsBadIds) {
  const std::vector<std::string> bad = {
      "", std::string(256, 'a'), "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"};
  for (const auto& id : bad) {
    Entry e = MakeKeySet(1);
    e.user = id;
    EXPECT_FALSE(EncodeEntry(e).ok());
    e = MakeKeySet(1);
    e.device = id;
    EXPECT_FALSE(EncodeEntry(e).ok());
    e = MakeKeySet(1);
    e.endorsements[0].device = id;
    EXPECT_FALSE(EncodeEntry(e).ok());
  }
  Entry ok = MakeKeySet(1);
  ok.user = std::string(255, 'u');
  ok.device = "t\xc3\xa9l\xc3\xa9phone \xf0\x9f\x93\xb1";
  EXPECT_TRUE(EncodeEntry(ok).ok());
}

TEST(EntryTest, DecoderRejectsBadUtf8) {
  Entry e = MakeKeySet(1);
  e.user = "abc";
  Bytes b = *EncodeEntry(e);
  b[3] = 0xff;  // version, kind, len, then 'a'
  EXPECT_FALSE(DecodeEntry(b).ok());
  b[3] = 0xc3;  // a truncated two-byte sequence followed by 'b'
  EXPECT_FALSE(DecodeEntry(b).ok());
}

TEST(EntryTest, RejectsDuplicateEndorser) {
  Entry e = MakeKeySet(2);
  e.endorsements[1].device = e.endorsements[0].device;
  EXPECT_FALSE(EncodeEntry(e).ok());
  Entry good = MakeKeySet(2);
  Bytes b = *EncodeEntry(good);
  // Rename laptop-1 to laptop-0 in the encoding: same length, now duplicated.
  size_t second = b.size() - 64 - 1;
  ASSERT_EQ(b[second], '1');
  b[second] = '0';
  EXPECT_FALSE(DecodeEntry(b).ok());
}

TEST(EntryTest, RejectsOversizedVectors) {
  // 897 endorsements of 73 bytes = 65481 bytes: fits the vector, not the entry.
  Entry e = MakeKeySet(0);
  for (int i = 0; i < 897; i++) {
    char name[9];
    std::snprintf(name, sizeof(name), "d%07d", i);
    e.endorsements.push_back({name, {}});
  }
  EXPECT_FALSE(EncodeEntry(e).ok());
  // Exactly at the limit: trim, then pad the last device to 65535 bytes total.
  const size_t fixed = 2 + 1 + e.user.size() + 1 + e.device.size() + 16 + 32 + 1 + 64 + 2;
  while (fixed + e.endorsements.size() * 73 + 66 > kMaxEntrySize) e.endorsements.pop_back();
  size_t room = kMaxEntrySize - fixed - e.endorsements.size() * 73;
  ASSERT_GE(room, 66u);
  ASSERT_LE(room - 65, 255u);
  e.endorsements.push_back({std::string(room - 65, 'z'), {}});
  auto enc = EncodeEntry(e);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ(enc->size(), kMaxEntrySize);
  EXPECT_TRUE(DecodeEntry(*enc).ok());
  e.endorsements.back().device += "z";
  EXPECT_FALSE(EncodeEntry(e).ok());
  // The decoder refuses more than 65535 input bytes outright.
  Bytes big = *enc;
  big.push_back(0);
  EXPECT_FALSE(DecodeEntry(big).ok());
  // An endorsements length prefix that overruns the input.
  Bytes b = *EncodeEntry(MakeKeySet(1));
  size_t at = b.size() - 73 - 2;
  b[at] = 0x00;
  b[at + 1] = 74;
  EXPECT_FALSE(DecodeEntry(b).ok());
  b[at + 1] = 72;  // underrun: leaves a partial endorsement
  EXPECT_FALSE(DecodeEntry(b).ok());
}

TEST(EntryTest, MessagesMatchLayout) {
  std::array<uint8_t, 32> key{};
  key[0] = 0xAA;
  Bytes pop = PopMessage("u", "dv", key);
  Bytes want = ToBytes("kt-binding-pop-v1\n");
  want.insert(want.end(), {1, 'u', 2, 'd', 'v'});
  want.insert(want.end(), key.begin(), key.end());
  EXPECT_EQ(pop, want);
  Bytes end = EndorseMessage("u", "dv", EntryKind::kRevoke, key, 0x0102);
  want = ToBytes("kt-binding-endorse-v1\n");
  want.insert(want.end(), {1, 'u', 2, 'd', 'v', 2});
  want.insert(want.end(), key.begin(), key.end());
  want.insert(want.end(), {0, 0, 0, 0, 0, 0, 1, 2});
  EXPECT_EQ(end, want);
}

TEST(EntryTest, EndorsementWithWrongKeyFails) {
  Entry e = MakeKeySet(1);
  auto other = Ed25519Signer::FromSeed(Bytes(32, 99));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifyEndorsement(e, e.endorsements[0], other->public_key()).code(),
            Status::Code::kVerificationFailed);
  EXPECT_EQ(VerifyEndorsement(e, e.endorsements[0], Bytes(31, 1)).code(),
            Status::Code::kInvalidArgument);
  auto right = Ed25519Signer::FromSeed(Bytes(32, 20));
  ASSERT_TRUE(right.ok());
  EXPECT_TRUE(VerifyEndorsement(e, e.endorsements[0], right->public_key()).ok());
}

}  // namespace
}  // namespace kt::core
