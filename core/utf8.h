// SPDX-License-Identifier: Apache-2.0
// Strict UTF-8 validation (RFC 3629 §3-4): the well-formed byte sequences of
// Unicode scalar values, used for user and device ids (DESIGN.md "Log entry").
#ifndef KT_CORE_UTF8_H_
#define KT_CORE_UTF8_H_

#include <string_view>

#include "core/bytes.h"

namespace kt::core {

// IsValidUtf8 returns true iff `s` is well-formed UTF-8: no overlong forms,
// no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated or
// stray continuation bytes. NUL is a valid scalar value. Pure, thread-safe.
bool IsValidUtf8(ByteSpan s);
inline bool IsValidUtf8(std::string_view s) { return IsValidUtf8(AsBytes(s)); }

}  // namespace kt::core

#endif  // KT_CORE_UTF8_H_
