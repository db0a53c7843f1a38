// SPDX-License-Identifier: Apache-2.0
// JsonDocument: RFC 8259 parsing into a token tape, with nlohmann::json's
// acceptance rules (see json_reader.h).
#include "net/json_reader.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/utf8.h"

namespace kt::net {

namespace {

using core::Status;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ReadHex4 parses the 4 hex digits at s[pos..pos+4); -1 if malformed.
int ReadHex4(std::string_view s, size_t pos) {
  if (s.size() - pos < 4) return -1;
  int v = 0;
  for (size_t k = 0; k < 4; k++) {
    int h = HexValue(s[pos + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Parser fills a token tape; every method returns false at the first error
// (error_ holds the reason, pos_ the offset).
class Parser {
 public:
  Parser(std::string_view text, std::vector<JsonToken>* tokens) : s_(text), tokens_(*tokens) {}

  Status Run() {
    if (s_.size() >= UINT32_MAX) return Status::InvalidArgument("JSON text too large");
    if (s_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // nlohmann skips one UTF-8 BOM
    if (!Document()) {
      return Status::InvalidArgument("invalid JSON at byte " + std::to_string(pos_) + ": " +
                                     error_);
    }
    return Status();
  }

 private:
  bool Fail(const char* why) {
    error_ = why;
    return false;
  }
  void SkipWhitespace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      pos_++;
    }
  }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  // Document: value, then only whitespace. Containers are kept on an explicit
  // stack (open_), so nesting depth costs no recursion.
  bool Document() {
    for (;;) {
      SkipWhitespace();
      const Step step = Value();
      if (step == Step::kError) return false;
      if (step == Step::kOpened) continue;  // the container's first value next
      // After a complete value: close what ends here, or go on with the next
      // element / member of the innermost open container.
      for (;;) {
        SkipWhitespace();
        if (open_.empty()) {
          // nlohmann's lexer reads a NUL byte where a token starts as the end
          // of the input, so "value\0anything" is accepted as value.
          if (pos_ != s_.size() && s_[pos_] != '\0') {
            return Fail("unexpected text after the value");
          }
          return true;
        }
        JsonToken& top = tokens_[open_.back()];
        const bool object = top.type == JsonType::kObject;
        if (Peek(object ? '}' : ']')) {
          pos_++;
          Close();
          continue;
        }
        if (!Peek(',')) return Fail("expected ',' or a closing bracket");
        pos_++;
        top.value++;
        if (object && !Key()) return false;
        break;
      }
    }
  }

  enum class Step { kError, kComplete, kOpened };

  // Value parses one scalar or an empty container (kComplete), or opens a
  // non-empty container and reads its first key (kOpened).
  Step Value() {
    if (pos_ >= s_.size()) return Error("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      pos_++;
      open_.push_back(static_cast<uint32_t>(tokens_.size()));
      tokens_.push_back(Token(c == '{' ? JsonType::kObject : JsonType::kArray));
      SkipWhitespace();
      if (Peek(c == '{' ? '}' : ']')) {
        pos_++;
        Close();
        return Step::kComplete;
      }
      tokens_[open_.back()].value = 1;
      if (c == '{' && !Key()) return Step::kError;
      return Step::kOpened;
    }
    bool ok;
    if (c == '"') {
      ok = String();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      ok = Number();
    } else if (Literal("true", JsonType::kBool, true) ||
               Literal("false", JsonType::kBool, false) ||
               Literal("null", JsonType::kNull, false)) {
      ok = true;
    } else {
      ok = Fail("unexpected character");
    }
    return ok ? Step::kComplete : Step::kError;
  }
  Step Error(const char* why) {
    Fail(why);
    return Step::kError;
  }

  void Close() {
    tokens_[open_.back()].end = static_cast<uint32_t>(tokens_.size());
    open_.pop_back();
  }

  // Key parses `"name" :` and leaves pos_ before the member's value.
  bool Key() {
    SkipWhitespace();
    if (!Peek('"')) return Fail("expected a string key");
    if (!String()) return false;
    SkipWhitespace();
    if (!Peek(':')) return Fail("expected ':'");
    pos_++;
    SkipWhitespace();
    return true;
  }

  bool Literal(std::string_view word, JsonType type, bool flag) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    Push(Token(type, flag));
    return true;
  }

  static JsonToken Token(JsonType type, bool flag = false) {
    JsonToken t;
    t.type = type;
    t.flag = flag;
    return t;
  }

  void Push(JsonToken t) {
    t.end = static_cast<uint32_t>(tokens_.size() + 1);
    tokens_.push_back(t);
  }

  // String: RFC 8259 §7 with RFC 3629 UTF-8 (raw runs validated; \u escapes
  // must pair surrogates). pos_ is at the opening quote.
  bool String() {
    const size_t start = ++pos_;
    bool escaped = false;
    size_t run = pos_;
    for (;;) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"' || c == '\\') {
        // A raw run never splits a multi-byte sequence validly: escapes are
        // ASCII and produce whole sequences.
        if (!core::IsValidUtf8(s_.substr(run, pos_ - run))) return Fail("invalid UTF-8");
        if (c == '"') break;
        escaped = true;
        if (!Escape()) return false;
        run = pos_;
        continue;
      }
      if (c < 0x20) return Fail("control character in a string");
      pos_++;
    }
    JsonToken t = Token(JsonType::kString, escaped);
    t.text = s_.substr(start, pos_ - start);
    Push(t);
    pos_++;
    return true;
  }

  bool Escape() {
    pos_++;  // the backslash
    if (pos_ >= s_.size()) return Fail("unterminated escape");
    const char e = s_[pos_];
    if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
        e == 't') {
      pos_++;
      return true;
    }
    if (e != 'u') return Fail("invalid escape");
    int cp = ReadHex4(s_, pos_ + 1);
    if (cp < 0) return Fail("invalid \\u escape");
    pos_ += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return Fail("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s_.substr(pos_, 2) != "\\u") return Fail("lone high surrogate");
      int lo = ReadHex4(s_, pos_ + 2);
      if (lo < 0xDC00 || lo > 0xDFFF) return Fail("lone high surrogate");
      pos_ += 6;
    }
    return true;
  }

  // Number: RFC 8259 §6. Like nlohmann, an integer that does not fit
  // (u)int64 becomes a double, and a double that is not finite is an error.
  bool Number() {
    const size_t start = pos_;
    bool integer = true;
    if (Peek('-')) pos_++;
    if (Peek('0')) {
      pos_++;
    } else if (!Digits()) {
      return Fail("invalid number");
    }
    if (Peek('.')) {
      integer = false;
      pos_++;
      if (!Digits()) return Fail("invalid number");
    }
    if (Peek('e') || Peek('E')) {
      integer = false;
      pos_++;
      if (Peek('+') || Peek('-')) pos_++;
      if (!Digits()) return Fail("invalid number");
    }
    std::string text(s_.substr(start, pos_ - start));  // NUL-terminated for strto*
    JsonToken t = Token(JsonType::kNumber);
    t.text = s_.substr(start, pos_ - start);
    if (integer) {
      errno = 0;
      if (text[0] == '-') {
        (void)std::strtoll(text.c_str(), nullptr, 10);
        if (errno == 0) {
          Push(t);
          return true;
        }
      } else {
        unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
        if (errno == 0) {
          t.flag = true;
          t.value = v;
          Push(t);
          return true;
        }
      }
    }
    if (!std::isfinite(std::strtod(text.c_str(), nullptr))) return Fail("number overflow");
    Push(t);
    return true;
  }
  bool Digits() {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') pos_++;
    return pos_ > start;
  }

  std::string_view s_;
  std::vector<JsonToken>& tokens_;
  std::vector<uint32_t> open_;
  size_t pos_ = 0;
  const char* error_ = "";
};

}  // namespace

core::StatusOr<JsonDocument> JsonDocument::Parse(std::string_view text) {
  JsonDocument doc;
  doc.tokens_.reserve(32);
  Parser parser(text, &doc.tokens_);
  KT_RETURN_IF_ERROR(parser.Run());
  return doc;
}

size_t JsonDocument::Member(size_t object, std::string_view key) const {
  size_t found = kNone;
  for (size_t k = object + 1; k < tokens_[object].end; k = tokens_[k + 1].end) {
    if (StringEquals(k, key)) found = k + 1;
  }
  return found;
}

size_t JsonDocument::FirstElement(size_t array) const {
  return array + 1 < tokens_[array].end ? array + 1 : kNone;
}

size_t JsonDocument::NextElement(size_t array, size_t element) const {
  size_t next = tokens_[element].end;
  return next < tokens_[array].end ? next : kNone;
}

std::string JsonDocument::String(size_t i) const {
  const JsonToken& t = tokens_[i];
  if (!t.flag) return std::string(t.text);
  std::string out;
  out.reserve(t.text.size());
  const std::string_view s = t.text;
  for (size_t p = 0; p < s.size();) {
    if (s[p] != '\\') {
      out.push_back(s[p++]);
      continue;
    }
    const char e = s[p + 1];
    p += 2;
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = static_cast<uint32_t>(ReadHex4(s, p));
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // Parse checked the pair
          uint32_t lo = static_cast<uint32_t>(ReadHex4(s, p + 2));
          p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        AppendUtf8(cp, &out);
        break;
      }
      default: out.push_back(e); break;  // '"', '\\', '/'
    }
  }
  return out;
}

bool JsonDocument::StringEquals(size_t i, std::string_view s) const {
  const JsonToken& t = tokens_[i];
  if (!t.flag) return t.text == s;
  return String(i) == s;
}

}  // namespace kt::net
