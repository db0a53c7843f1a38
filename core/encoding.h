// SPDX-License-Identifier: Apache-2.0
// Text and binary encodings shared by every format: strict standard base64,
// lowercase hex, canonical decimal, and a TLS-style big-endian Reader/Writer.
#ifndef KT_CORE_ENCODING_H_
#define KT_CORE_ENCODING_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace kt::core {

// Base64Encode returns standard padded base64 (RFC 4648 §4).
std::string Base64Encode(ByteSpan data);
// Base64Decode accepts only canonical standard padded base64: no whitespace,
// no URL alphabet, correct padding, zero unused bits. InvalidArgument otherwise.
StatusOr<Bytes> Base64Decode(std::string_view text);

// HexEncode returns lowercase hex.
std::string HexEncode(ByteSpan data);
// HexDecode accepts upper or lower case hex of even length.
StatusOr<Bytes> HexDecode(std::string_view text);
// HexToHash decodes exactly 64 hex digits.
StatusOr<Hash> HexToHash(std::string_view text);

// ParseDecimal parses a canonical unsigned decimal: digits only, no sign, no
// leading zero (except "0" itself), fits in uint64. InvalidArgument otherwise.
StatusOr<uint64_t> ParseDecimal(std::string_view text);

// Big-endian integers.
void PutU64BE(uint8_t out[8], uint64_t v);
uint64_t GetU64BE(const uint8_t in[8]);

// Writer appends TLS-presentation-style fields to a byte vector.
class Writer {
 public:
  // Reserve makes room for n more bytes (one allocation for a known size).
  void Reserve(size_t n) { out_.reserve(out_.size() + n); }
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Raw(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void Raw(std::string_view s) { Raw(AsBytes(s)); }
  // Vec8/Vec16 write a length prefix of 1/2 bytes then the data. The caller
  // guarantees the bound (KT_CHECK otherwise).
  void Vec8(ByteSpan b);
  void Vec16(ByteSpan b);
  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

// Reader consumes fields from a byte span; each Read* returns false (and
// consumes nothing further) when the input is too short.
class Reader {
 public:
  explicit Reader(ByteSpan in) : in_(in) {}
  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  // Raw reads exactly n bytes; the span aliases the input.
  bool Raw(size_t n, ByteSpan* out);
  // Array reads exactly N bytes into a fixed-size array (keys, signatures).
  template <size_t N>
  bool Array(std::array<uint8_t, N>* out) {
    ByteSpan b;
    if (!Raw(N, &b)) return false;
    std::copy(b.begin(), b.end(), out->begin());
    return true;
  }
  bool Vec8(ByteSpan* out);
  bool Vec16(ByteSpan* out);
  bool empty() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  ByteSpan in_;
};

}  // namespace kt::core

#endif  // KT_CORE_ENCODING_H_
