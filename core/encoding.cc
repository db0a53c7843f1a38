// SPDX-License-Identifier: Apache-2.0
// Strict encodings: base64 (RFC 4648 §4), hex, canonical decimal, TLS vectors.
#include "core/encoding.h"

#include <array>
#include <limits>

namespace kt::core {
namespace {

constexpr char kB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// kB64Table maps a byte to its base64 value, or -1 if it is not in the
// standard alphabet.
constexpr std::array<int8_t, 256> MakeB64Table() {
  std::array<int8_t, 256> t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kB64Table = MakeB64Table();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Base64Encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

StatusOr<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("base64: length is not a multiple of 4");
  }
  if (text.empty()) return Bytes();
  // Every quad but the last has no padding: decode those through the table,
  // straight into the output. '=' there is an invalid character.
  const size_t body = text.size() - 4;
  Bytes out(body / 4 * 3);
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0, o = 0; i < body; i += 4, o += 3) {
    const int a = kB64Table[in[i]], b = kB64Table[in[i + 1]];
    const int c = kB64Table[in[i + 2]], d = kB64Table[in[i + 3]];
    if ((a | b | c | d) < 0) return Status::InvalidArgument("base64: invalid character");
    const uint32_t w = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    out[o] = static_cast<uint8_t>(w >> 16);
    out[o + 1] = static_cast<uint8_t>(w >> 8);
    out[o + 2] = static_cast<uint8_t>(w);
  }
  // The last quad may end in one or two '=' (RFC 4648 §4), and the bits the
  // padding drops must be zero (canonical encoding).
  int v[4];
  int pad = 0;
  for (int j = 0; j < 4; j++) {
    const char c = text[body + static_cast<size_t>(j)];
    if (c == '=' && j >= 2) {
      v[j] = 0;
      pad++;
      continue;
    }
    if (pad > 0) return Status::InvalidArgument("base64: data after padding");
    v[j] = kB64Table[static_cast<unsigned char>(c)];
    if (v[j] < 0) return Status::InvalidArgument("base64: invalid character");
  }
  const uint32_t w = (static_cast<uint32_t>(v[0]) << 18) | (static_cast<uint32_t>(v[1]) << 12) |
                     (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
  if (pad == 2 && (w & 0xFFFF) != 0) return Status::InvalidArgument("base64: non-canonical padding bits");
  if (pad == 1 && (w & 0xFF) != 0) return Status::InvalidArgument("base64: non-canonical padding bits");
  out.push_back(static_cast<uint8_t>(w >> 16));
  if (pad < 2) out.push_back(static_cast<uint8_t>(w >> 8));
  if (pad < 1) out.push_back(static_cast<uint8_t>(w));
  return out;
}

std::string HexEncode(ByteSpan data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

StatusOr<Bytes> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return Status::InvalidArgument("hex: odd length");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("hex: invalid character");
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

StatusOr<Hash> HexToHash(std::string_view text) {
  if (text.size() != 64) return Status::InvalidArgument("hash: want 64 hex digits");
  KT_ASSIGN_OR_RETURN(Bytes b, HexDecode(text));
  Hash h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

StatusOr<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("number: empty");
  if (text.size() > 1 && text[0] == '0') return Status::InvalidArgument("number: leading zero");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Status::InvalidArgument("number: not a decimal digit");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return Status::InvalidArgument("number: overflows 64 bits");
    }
    v = v * 10 + d;
  }
  return v;
}

void PutU64BE(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetU64BE(const uint8_t in[8]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | in[i];
  return v;
}

void Writer::U16(uint16_t v) {
  out_.push_back(static_cast<uint8_t>(v >> 8));
  out_.push_back(static_cast<uint8_t>(v));
}
void Writer::U32(uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<uint8_t>(v >> s));
}
void Writer::U64(uint64_t v) {
  uint8_t b[8];
  PutU64BE(b, v);
  out_.insert(out_.end(), b, b + 8);
}
void Writer::Vec8(ByteSpan b) {
  KT_CHECK(b.size() <= 0xFF);
  U8(static_cast<uint8_t>(b.size()));
  Raw(b);
}
void Writer::Vec16(ByteSpan b) {
  KT_CHECK(b.size() <= 0xFFFF);
  U16(static_cast<uint16_t>(b.size()));
  Raw(b);
}

bool Reader::Raw(size_t n, ByteSpan* out) {
  if (in_.size() < n) return false;
  *out = in_.first(n);
  in_ = in_.subspan(n);
  return true;
}
bool Reader::U8(uint8_t* v) {
  ByteSpan b;
  if (!Raw(1, &b)) return false;
  *v = b[0];
  return true;
}
bool Reader::U16(uint16_t* v) {
  ByteSpan b;
  if (!Raw(2, &b)) return false;
  *v = static_cast<uint16_t>((b[0] << 8) | b[1]);
  return true;
}
bool Reader::U32(uint32_t* v) {
  ByteSpan b;
  if (!Raw(4, &b)) return false;
  *v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  return true;
}
bool Reader::U64(uint64_t* v) {
  ByteSpan b;
  if (!Raw(8, &b)) return false;
  *v = GetU64BE(b.data());
  return true;
}
bool Reader::Vec8(ByteSpan* out) {
  uint8_t n;
  return U8(&n) && Raw(n, out);
}
bool Reader::Vec16(ByteSpan* out) {
  uint16_t n;
  return U16(&n) && Raw(n, out);
}

}  // namespace kt::core
