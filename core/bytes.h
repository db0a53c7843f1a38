// SPDX-License-Identifier: Apache-2.0
// Byte vocabulary types: Bytes, ByteSpan, Hash (a SHA-256 value type).
#ifndef KT_CORE_BYTES_H_
#define KT_CORE_BYTES_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kt::core {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
// Hash is a SHA-256 output, compared and copied by value.
using Hash = std::array<uint8_t, 32>;

// AsBytes views a string's characters as bytes (no copy; same lifetime).
inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
// AsStringView views bytes as characters (no copy; same lifetime).
inline std::string_view AsStringView(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline std::string ToString(ByteSpan b) { return std::string(AsStringView(b)); }
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace kt::core

#endif  // KT_CORE_BYTES_H_
