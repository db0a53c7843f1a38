// SPDX-License-Identifier: Apache-2.0
// Strict, exception-free reading of the log's JSON answers (DESIGN.md "Log
// HTTP API"): every field access checks its type, so a malformed answer is
// an InvalidArgument naming the field, never an exception.
#ifndef KT_CLIENT_JSON_UTIL_H_
#define KT_CLIENT_JSON_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/status.h"

namespace kt::client {

// ParseJsonObject parses `body` as a JSON object. InvalidArgument otherwise.
core::StatusOr<nlohmann::json> ParseJsonObject(std::string_view body, std::string_view what);

// Field readers: InvalidArgument("<what>: field <name> ...") when the field is
// missing or of another type. GetBase64 requires canonical standard base64.
core::StatusOr<std::string> GetString(const nlohmann::json& obj, const char* name,
                                      std::string_view what);
core::StatusOr<uint64_t> GetU64(const nlohmann::json& obj, const char* name,
                                std::string_view what);
core::StatusOr<core::Bytes> GetBase64(const nlohmann::json& obj, const char* name,
                                      std::string_view what);
core::StatusOr<std::vector<nlohmann::json>> GetArray(const nlohmann::json& obj, const char* name,
                                                     std::string_view what);
// GetHashes reads an array of base64 32-byte hashes (a proof).
core::StatusOr<std::vector<core::Hash>> GetHashes(const nlohmann::json& obj, const char* name,
                                                  std::string_view what);

}  // namespace kt::client

#endif  // KT_CLIENT_JSON_UTIL_H_
