// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note (c2sp.org/signed-note): parsing, formatting, signing and
// verifying notes with Ed25519 (type 0x01) signatures and cosignature/v1
// (type 0x04, c2sp.org/tlog-cosignature) witness cosignatures.
//
// Error mapping, relied on by the log, witness and client:
//   malformed note (syntax, limits, duplicate line of a known key)
//       -> InvalidArgument("malformed: ...")
//   a known key's signature does not verify
//       -> VerificationFailed("bad_signature: ...")
//   no signature of a configured log key verified
//       -> PermissionDenied("unverified: ...")
// Signature lines whose (name, key ID) match no configured key are ignored.
#ifndef KT_CORE_NOTE_H_
#define KT_CORE_NOTE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/keys.h"
#include "core/status.h"

namespace kt::core {

// Limits applied by ParseNote. The spec asks verifiers to accept at least 16
// signatures; a note over a limit is rejected, never truncated.
constexpr size_t kMaxNoteSize = size_t{1} << 20;  // whole message, bytes
constexpr size_t kMaxNoteSignatures = 100;

// NoteSignature is one signature line "— <name> base64(key ID || signature)".
struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  Bytes signature;  // the bytes after the 4-byte key ID (at least 1)

  bool operator==(const NoteSignature&) const = default;
};

// Note is a note text (ending in '\n') and its signature lines, in order.
struct Note {
  std::string text;
  std::vector<NoteSignature> signatures;

  bool operator==(const Note&) const = default;
};

// IsNoteText reports whether `s` is valid UTF-8 with no ASCII control
// character (below U+0020) other than '\n' (signed-note §Format).
bool IsNoteText(std::string_view s);

// ParseNote parses a signed note strictly (signed-note §Format): at most
// kMaxNoteSize bytes, valid UTF-8 without control characters other than
// '\n', a non-empty text ending in '\n', a blank line, then 1 to
// kMaxNoteSignatures lines "— <valid name> <canonical base64 of >= 5 bytes>\n".
// The text ends at the last blank line. InvalidArgument("malformed: ...")
// otherwise. Duplicate lines are kept (VerifyNote judges them).
StatusOr<Note> ParseNote(std::string_view msg);

// FormatSignatureLine returns "— <name> <base64(key ID || signature)>\n".
std::string FormatSignatureLine(const NoteSignature& sig);

// FormatNote returns text + "\n" + each signature line. For every note that
// ParseNote accepted, FormatNote(ParseNote(m)) == m.
std::string FormatNote(const Note& note);

// SignNote signs `text` with an Ed25519 (type 0x01) key. Calling it with
// another key type is a bug (KT_CHECK). Thread-safe.
NoteSignature SignNote(const SignerKey& key, std::string_view text);

// AddSignatures parses `signed_note`, replaces any line with the same
// (name, key ID) as one of `sigs`, appends the others, and returns the
// formatted note. InvalidArgument("malformed: ...") for a bad note or when
// the result would exceed the limits.
StatusOr<std::string> AddSignatures(std::string_view signed_note,
                                    std::span<const NoteSignature> sigs);

// VerifiedSignature identifies a signature line that verified.
struct VerifiedSignature {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;
  uint64_t timestamp = 0;  // cosignature time (type 0x04); 0 for type 0x01

  bool operator==(const VerifiedSignature&) const = default;
};

// VerifiedNote is a note with the signatures that verified, in note order.
struct VerifiedNote {
  Note note;
  std::vector<VerifiedSignature> log_signatures;
  std::vector<VerifiedSignature> cosignatures;
};

// VerifyNote parses `msg` and verifies each line whose (name, key ID) equals
// a key in `log_keys` (reported in log_signatures) or `witness_keys` (in
// cosignatures); other lines are ignored. Each key is checked by its own
// type: 0x01 = Ed25519 over the text, 0x04 = cosignature/v1. Fails (see the
// error mapping at the top of this file) when the note is malformed, when a
// known key has two lines, when any known key's line does not verify, or
// when no log key verified. Thread-safe.
StatusOr<VerifiedNote> VerifyNote(std::string_view msg, std::span<const VerifierKey> log_keys,
                                  std::span<const VerifierKey> witness_keys);

// VerifyParsedNote is VerifyNote on an already parsed note.
StatusOr<VerifiedNote> VerifyParsedNote(Note note, std::span<const VerifierKey> log_keys,
                                        std::span<const VerifierKey> witness_keys);

}  // namespace kt::core

#endif  // KT_CORE_NOTE_H_
