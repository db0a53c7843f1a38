// SPDX-License-Identifier: Apache-2.0
// Strict parsing of tlog-witness add-checkpoint request bodies.
#include "witness/request.h"

#include <algorithm>

#include "core/encoding.h"

namespace kt::witness {
namespace {

core::Status Malformed(std::string_view why) {
  return core::Status::InvalidArgument("malformed: " + std::string(why));
}

// NextLine splits off the next line of `rest` (without its '\n'). False when
// no '\n' is left: tlog-witness requires every line to end in a newline.
bool NextLine(std::string_view* rest, std::string_view* line) {
  const size_t nl = rest->find('\n');
  if (nl == std::string_view::npos) return false;
  *line = rest->substr(0, nl);
  rest->remove_prefix(nl + 1);
  return true;
}

}  // namespace

core::StatusOr<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body) {
  if (body.size() > kMaxRequestSize) return Malformed("request body larger than 64 KiB");
  AddCheckpointRequest req;
  std::string_view rest = body;
  std::string_view line;
  // tlog-witness §add-checkpoint: "old", one space, ASCII decimal with no
  // leading zeroes (ParseDecimal is exactly that).
  if (!NextLine(&rest, &line)) return Malformed("missing old size line");
  constexpr std::string_view kOld = "old ";
  if (line.substr(0, kOld.size()) != kOld) return Malformed("first line must be \"old <size>\"");
  auto old_size = core::ParseDecimal(line.substr(kOld.size()));
  if (!old_size.ok()) return Malformed("old size is not a canonical decimal");
  req.old_size = *old_size;
  // Consistency proof lines, up to the empty line.
  while (true) {
    if (!NextLine(&rest, &line)) return Malformed("missing empty line before the checkpoint");
    if (line.empty()) break;
    if (req.proof.size() == kMaxProofLines) return Malformed("more than 63 proof lines");
    auto hash = core::Base64Decode(line);
    if (!hash.ok() || hash->size() != 32) {
      return Malformed("proof line is not the base64 of a 32-byte hash");
    }
    core::Hash h;
    std::copy(hash->begin(), hash->end(), h.begin());
    req.proof.push_back(h);
  }
  auto note = core::ParseNote(rest);
  if (!note.ok()) return note.status();  // already "malformed: ..."
  req.checkpoint = std::move(*note);
  return req;
}

std::string FormatAddCheckpointRequest(const AddCheckpointRequest& request) {
  std::string out = "old " + std::to_string(request.old_size) + "\n";
  for (const core::Hash& h : request.proof) {
    out += core::Base64Encode(h);
    out += '\n';
  }
  out += '\n';
  out += core::FormatNote(request.checkpoint);
  return out;
}

}  // namespace kt::witness
