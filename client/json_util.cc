// SPDX-License-Identifier: Apache-2.0
// Exception-free JSON field access for log answers.
#include "client/json_util.h"

#include "core/encoding.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using nlohmann::json;

namespace {

Status Bad(std::string_view what, const char* name, const char* why) {
  return Status::InvalidArgument(std::string(what) + ": field " + name + " " + why);
}

}  // namespace

StatusOr<json> ParseJsonObject(std::string_view body, std::string_view what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string(what) + ": answer is not a JSON object");
  }
  return j;
}

StatusOr<std::string> GetString(const json& obj, const char* name, std::string_view what) {
  auto it = obj.find(name);
  if (it == obj.end()) return Bad(what, name, "missing");
  if (!it->is_string()) return Bad(what, name, "is not a string");
  return it->get_ref<const std::string&>();
}

StatusOr<uint64_t> GetU64(const json& obj, const char* name, std::string_view what) {
  auto it = obj.find(name);
  if (it == obj.end()) return Bad(what, name, "missing");
  if (!it->is_number_unsigned()) return Bad(what, name, "is not a non-negative integer");
  return it->get<uint64_t>();
}

StatusOr<core::Bytes> GetBase64(const json& obj, const char* name, std::string_view what) {
  KT_ASSIGN_OR_RETURN(std::string s, GetString(obj, name, what));
  auto bytes = core::Base64Decode(s);
  if (!bytes.ok() || core::Base64Encode(*bytes) != s) {
    return Bad(what, name, "is not canonical base64");
  }
  return std::move(bytes).value();
}

StatusOr<std::vector<json>> GetArray(const json& obj, const char* name, std::string_view what) {
  auto it = obj.find(name);
  if (it == obj.end()) return Bad(what, name, "missing");
  if (!it->is_array()) return Bad(what, name, "is not an array");
  return it->get<std::vector<json>>();
}

StatusOr<std::vector<core::Hash>> GetHashes(const json& obj, const char* name,
                                            std::string_view what) {
  KT_ASSIGN_OR_RETURN(std::vector<json> items, GetArray(obj, name, what));
  if (items.size() > 64) return Bad(what, name, "has more than 64 hashes");
  std::vector<core::Hash> out;
  for (const json& item : items) {
    if (!item.is_string()) return Bad(what, name, "holds a non-string");
    const std::string& s = item.get_ref<const std::string&>();
    auto bytes = core::Base64Decode(s);
    if (!bytes.ok() || bytes->size() != 32 || core::Base64Encode(*bytes) != s) {
      return Bad(what, name, "holds a value that is not a base64 32-byte hash");
    }
    core::Hash h{};
    std::copy(bytes->begin(), bytes->end(), h.begin());
    out.push_back(h);
  }
  return out;
}

}  // namespace kt::client
