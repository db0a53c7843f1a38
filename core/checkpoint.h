// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text
// "<origin>\n<tree size>\n<base64 root hash>\n[extension lines]" and its
// signed-note form, signed by the log (type 0x01) and cosigned by witnesses
// (cosignature/v1, type 0x04).
//
// Errors: a text that is not a checkpoint -> InvalidArgument("bad_checkpoint:
// ..."); note errors as documented in core/note.h ("malformed: ...",
// "bad_signature: ...", "unverified: ...").
#ifndef KT_CORE_CHECKPOINT_H_
#define KT_CORE_CHECKPOINT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/keys.h"
#include "core/note.h"
#include "core/status.h"

namespace kt::core {

// Checkpoint is a log's tree head: origin, tree size and RFC 6962 root hash.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // opaque, non-empty lines

  bool operator==(const Checkpoint&) const = default;
};

// ParseCheckpoint parses a checkpoint note text (tlog-checkpoint §Note text):
// at least three lines, each ending in '\n': a non-empty origin, the tree
// size in canonical decimal (no leading zeroes, no sign, fits uint64), the
// root as canonical standard base64 of exactly 32 bytes, then any non-empty
// extension lines. The text must be UTF-8 without control characters other
// than '\n'. InvalidArgument("bad_checkpoint: ...") otherwise.
StatusOr<Checkpoint> ParseCheckpoint(std::string_view note_text);

// FormatCheckpoint returns the note text (ending in '\n'). For every text
// ParseCheckpoint accepted, FormatCheckpoint(ParseCheckpoint(t)) == t.
std::string FormatCheckpoint(const Checkpoint& checkpoint);

// VerifiedCheckpoint is a checkpoint whose note verified.
struct VerifiedCheckpoint {
  Checkpoint checkpoint;
  VerifiedNote note;
};

// CheckpointOptions: local policy on top of tlog-checkpoint.
struct CheckpointOptions {
  // allow_extensions: accept extension lines. tlog-checkpoint allows them and
  // ParseCheckpoint accepts them; our log never emits any and the shared
  // vectors (merkle/notes.json, "checkpoint-extension-line") require a
  // verifier to reject them, so VerifyCheckpoint rejects them by default.
  bool allow_extensions = false;
};

// VerifyCheckpoint verifies `signed_note` as in VerifyNote, then parses its
// text as a checkpoint, and requires a verified log signature whose key name
// equals the origin (tlog-checkpoint §Signatures). Errors: note errors as in
// core/note.h; bad_checkpoint (InvalidArgument) for a bad text or an
// extension line not allowed by `options`; PermissionDenied("unverified: ...")
// when no verified log key is named after the origin. Thread-safe.
StatusOr<VerifiedCheckpoint> VerifyCheckpoint(std::string_view signed_note,
                                              std::span<const VerifierKey> log_keys,
                                              std::span<const VerifierKey> witness_keys,
                                              const CheckpointOptions& options = {});

// SignCheckpoint returns the signed note of `checkpoint` signed by
// `log_key` (type 0x01; other types are a bug). Thread-safe.
std::string SignCheckpoint(const SignerKey& log_key, const Checkpoint& checkpoint);

// AddCosignatures returns `signed_note` with `cosignatures` appended (a line of
// the same name and key ID is replaced). InvalidArgument("malformed: ...") as
// AddSignatures in core/note.h. No signature is verified here.
StatusOr<std::string> AddCosignatures(std::string_view signed_note,
                                      std::span<const NoteSignature> cosignatures);

}  // namespace kt::core

#endif  // KT_CORE_CHECKPOINT_H_
