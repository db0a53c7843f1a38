// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-checkpoint: parsing, formatting, signing and verification.
#include "core/checkpoint.h"

#include <algorithm>

#include "core/encoding.h"

namespace kt::core {
namespace {

Status BadCheckpoint(std::string_view why) {
  return Status::InvalidArgument("bad_checkpoint: " + std::string(why));
}

// NextLine removes and returns the next '\n'-terminated line of `*text`
// (without the '\n'); false when no full line is left.
bool NextLine(std::string_view* text, std::string_view* line) {
  const size_t nl = text->find('\n');
  if (nl == std::string_view::npos) return false;
  *line = text->substr(0, nl);
  text->remove_prefix(nl + 1);
  return true;
}

}  // namespace

StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (!IsNoteText(text)) return BadCheckpoint("not UTF-8 or has a control character");
  if (text.empty() || text.back() != '\n') return BadCheckpoint("text must end with a newline");
  std::string_view origin, size, root;
  // tlog-checkpoint §Note text: origin, tree size, root hash, extensions.
  if (!NextLine(&text, &origin) || !NextLine(&text, &size) || !NextLine(&text, &root)) {
    return BadCheckpoint("fewer than three lines");
  }
  Checkpoint cp;
  if (origin.empty()) return BadCheckpoint("empty origin");
  cp.origin = std::string(origin);
  auto n = ParseDecimal(size);
  if (!n.ok()) return BadCheckpoint("tree size is not a canonical decimal");
  cp.size = *n;
  auto hash = Base64Decode(root);
  if (!hash.ok() || hash->size() != cp.root.size()) {
    return BadCheckpoint("root hash is not base64 of 32 bytes");
  }
  std::copy(hash->begin(), hash->end(), cp.root.begin());
  std::string_view ext;
  while (NextLine(&text, &ext)) {
    if (ext.empty()) return BadCheckpoint("empty extension line");
    cp.extensions.emplace_back(ext);
  }
  return cp;
}

std::string FormatCheckpoint(const Checkpoint& checkpoint) {
  std::string out = checkpoint.origin;
  out += '\n';
  out += std::to_string(checkpoint.size);
  out += '\n';
  out += Base64Encode(checkpoint.root);
  out += '\n';
  for (const std::string& ext : checkpoint.extensions) {
    out += ext;
    out += '\n';
  }
  return out;
}

StatusOr<VerifiedCheckpoint> VerifyCheckpoint(std::string_view signed_note,
                                              std::span<const VerifierKey> log_keys,
                                              std::span<const VerifierKey> witness_keys,
                                              const CheckpointOptions& options) {
  KT_ASSIGN_OR_RETURN(VerifiedNote note, VerifyNote(signed_note, log_keys, witness_keys));
  KT_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(note.note.text));
  if (!options.allow_extensions && !cp.extensions.empty()) {
    return BadCheckpoint("extension lines are not accepted");
  }
  // The origin names the log: a valid signature by some other configured
  // log key must not vouch for this log's tree.
  const bool origin_signed =
      std::any_of(note.log_signatures.begin(), note.log_signatures.end(),
                  [&](const VerifiedSignature& s) { return s.name == cp.origin; });
  if (!origin_signed) {
    return Status::PermissionDenied("unverified: no verified log signature named after origin " +
                                    cp.origin);
  }
  return VerifiedCheckpoint{std::move(cp), std::move(note)};
}

std::string SignCheckpoint(const SignerKey& log_key, const Checkpoint& checkpoint) {
  Note note;
  note.text = FormatCheckpoint(checkpoint);
  note.signatures.push_back(SignNote(log_key, note.text));
  return FormatNote(note);
}

StatusOr<std::string> AddCosignatures(std::string_view signed_note,
                                      std::span<const NoteSignature> cosignatures) {
  return AddSignatures(signed_note, cosignatures);
}

}  // namespace kt::core
