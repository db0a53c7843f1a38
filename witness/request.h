// SPDX-License-Identifier: Apache-2.0
// The body of a C2SP tlog-witness add-checkpoint request (c2sp.org/tlog-witness
// §add-checkpoint): an "old <size>" line, up to 63 consistency proof lines (one
// base64 hash each), an empty line, then a signed checkpoint note. Pure: no I/O,
// no signature verification; fuzzed by tests/fuzz/witness_request_fuzz.cc.
#ifndef KT_WITNESS_REQUEST_H_
#define KT_WITNESS_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/note.h"
#include "core/status.h"

namespace kt::witness {

// tlog-witness §add-checkpoint: "The client MUST NOT send more than 63
// consistency proof lines."
constexpr size_t kMaxProofLines = 63;
// kMaxRequestSize bounds a whole request body. A checkpoint note with the
// spec's 63 proof lines and dozens of cosignatures is a few KiB; 64 KiB leaves
// room for many extension lines and signatures while keeping the cost of a
// hostile body small. The HTTP server enforces the same bound (413).
constexpr size_t kMaxRequestSize = size_t{64} << 10;

// AddCheckpointRequest is a parsed add-checkpoint body.
struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<core::Hash> proof;  // RFC 6962 §2.1.2 consistency proof, in order
  core::Note checkpoint;          // the signed checkpoint note, syntax-checked only

  bool operator==(const AddCheckpointRequest&) const = default;
};

// ParseAddCheckpointRequest parses `body` strictly: at most kMaxRequestSize
// bytes; first line exactly "old " + canonical decimal (no leading zeroes, "0"
// for zero); then 0..kMaxProofLines lines, each the canonical standard base64
// of exactly 32 bytes; then an empty line; then a signed note that
// core::ParseNote accepts (so at least one signature line). Every line ends in
// '\n'. InvalidArgument("malformed: ...") otherwise. The checkpoint text itself
// (origin, size, root) is not interpreted here. Pure and thread-safe.
core::StatusOr<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body);

// FormatAddCheckpointRequest is the inverse: for every body that
// ParseAddCheckpointRequest accepts, Format(Parse(body)) == body.
std::string FormatAddCheckpointRequest(const AddCheckpointRequest& request);

}  // namespace kt::witness

#endif  // KT_WITNESS_REQUEST_H_
