// SPDX-License-Identifier: Apache-2.0
// JsonDocument: a strict, allocation-light JSON reader (RFC 8259) for request
// bodies on hot paths (POST /v1/bindings). It accepts exactly what
// nlohmann::json::parse(text, nullptr, false) accepts (the parser the rest of
// the project uses, STYLE.md), so swapping it in changes no answer: UTF-8
// validated in strings (RFC 3629; no lone or encoded surrogates), escapes
// checked, control characters rejected, one leading UTF-8 BOM skipped,
// numbers whose value is not finite as a double rejected, nothing but
// whitespace after the value up to the end or a NUL byte (nlohmann's lexer
// takes a NUL where a token starts as the end of input). tests/fuzz/json_reader_fuzz.cc checks the
// equivalence against nlohmann on arbitrary input.
//
// The document is a flat "tape" of tokens in text order; a container's token
// is followed by its elements (objects: key token, then the value's tokens),
// and every token records where its value ends, so a value is skipped in O(1)
// and deep nesting needs no recursion.
#ifndef KT_NET_JSON_READER_H_
#define KT_NET_JSON_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kt::net {

enum class JsonType : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

// JsonToken is one value (or object key) of a JsonDocument.
struct JsonToken {
  JsonType type = JsonType::kNull;
  // kBool: the value. kString: the raw text holds escapes (String() decodes).
  // kNumber: a non-negative integer that fits uint64_t (as nlohmann's
  // is_number_unsigned), its value in `value`.
  bool flag = false;
  uint32_t end = 0;       // index of the first token after this value
  uint64_t value = 0;     // kNumber with flag: the number; containers: element count
  std::string_view text;  // kString: between the quotes, undecoded; kNumber: its text
};

// JsonDocument is immutable after Parse and thread-compatible. It refers to
// the parsed text, which must outlive it.
class JsonDocument {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Parse reads `text` as one JSON value. InvalidArgument (with the byte
  // offset) for anything nlohmann::json::parse would reject.
  static core::StatusOr<JsonDocument> Parse(std::string_view text);

  // The root value is token 0.
  const JsonToken& at(size_t i) const { return tokens_[i]; }
  size_t size() const { return tokens_.size(); }

  // Member returns the value token of the member named `key` of the object
  // token `object` (the last one when the key repeats, as nlohmann keeps it),
  // or kNone. `object` must be a kObject token.
  size_t Member(size_t object, std::string_view key) const;
  // FirstElement / NextElement walk an array's elements: FirstElement gives
  // kNone for an empty array; NextElement gives kNone after the last.
  size_t FirstElement(size_t array) const;
  size_t NextElement(size_t array, size_t element) const;
  // String returns the decoded value of a kString token.
  std::string String(size_t i) const;
  // StringEquals compares a kString token's decoded value with `s`.
  bool StringEquals(size_t i, std::string_view s) const;

 private:
  std::vector<JsonToken> tokens_;
};

}  // namespace kt::net

#endif  // KT_NET_JSON_READER_H_
