// SPDX-License-Identifier: Apache-2.0
// Differential fuzz target for net/json_reader against nlohmann::json (the
// parser it replaces on the POST /v1/bindings path). Properties: JsonDocument
// accepts exactly the inputs nlohmann::json::parse(s, nullptr, false)
// accepts; on those, the value rebuilt from the token tape (repeated keys:
// last wins, numbers classified as nlohmann does, strings decoded) equals
// nlohmann's; element counts and `end` links are consistent.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "net/json_reader.h"

namespace {

using kt::net::JsonDocument;
using kt::net::JsonType;
using nlohmann::json;

json Number(const kt::net::JsonToken& t) {
  if (t.flag) return json(t.value);
  std::string text(t.text);
  if (text.find_first_of(".eE") == std::string::npos) {
    errno = 0;
    long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == 0) return json(static_cast<int64_t>(v));
  }
  return json(std::strtod(text.c_str(), nullptr));
}

json Rebuild(const JsonDocument& doc, size_t i) {
  const kt::net::JsonToken& t = doc.at(i);
  switch (t.type) {
    case JsonType::kNull: return json(nullptr);
    case JsonType::kBool: return json(t.flag);
    case JsonType::kNumber: return Number(t);
    case JsonType::kString: return json(doc.String(i));
    case JsonType::kArray: {
      json a = json::array();
      uint64_t n = 0;
      for (size_t e = doc.FirstElement(i); e != JsonDocument::kNone; e = doc.NextElement(i, e)) {
        a.push_back(Rebuild(doc, e));
        n++;
      }
      if (n != t.value) std::abort();
      return a;
    }
    case JsonType::kObject: {
      json o = json::object();
      uint64_t n = 0;
      for (size_t k = i + 1; k < t.end; k = doc.at(k + 1).end) {
        if (doc.at(k).type != JsonType::kString) std::abort();
        std::string key = doc.String(k);
        o[key] = Rebuild(doc, k + 1);
        if (doc.Member(i, key) == JsonDocument::kNone) std::abort();
        n++;
      }
      if (n != t.value) std::abort();
      return o;
    }
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json expected = json::parse(text, nullptr, false);
  auto doc = JsonDocument::Parse(text);
  if (doc.ok() != !expected.is_discarded()) std::abort();
  if (!doc.ok()) return 0;
  if (doc->at(0).end != doc->size()) std::abort();
  if (Rebuild(*doc, 0) != expected) std::abort();
  return 0;
}
