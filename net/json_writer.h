// SPDX-License-Identifier: Apache-2.0
// Building small JSON answers on hot paths without a DOM: a JSON string
// literal written exactly as nlohmann::json::dump() writes it (UTF-8 kept,
// ensure_ascii off), so hand-built answers are byte-identical to the
// nlohmann-built ones they replace.
#ifndef KT_NET_JSON_WRITER_H_
#define KT_NET_JSON_WRITER_H_

#include <string>
#include <string_view>

namespace kt::net {

// AppendJsonString appends `s` as a JSON string literal (RFC 8259 §7) to
// `out`: quotes, '"' and '\\' escaped, \b \f \n \r \t, other bytes below
// 0x20 as \u00xx, everything else copied. `s` must be valid UTF-8 (callers
// pass text they produced or validated). Pure.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace kt::net

#endif  // KT_NET_JSON_WRITER_H_
