// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note: strict parsing, formatting, signing and verification.
#include "core/note.h"

#include <algorithm>

#include "core/cosignature.h"
#include "core/encoding.h"
#include "core/utf8.h"

namespace kt::core {
namespace {

// signed-note §Format: em dash (U+2014), space.
constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";

Status Malformed(std::string_view why) {
  return Status::InvalidArgument("malformed: " + std::string(why));
}

std::string KeyLabel(std::string_view name, uint32_t key_id) {
  return std::string(name) + "/" + FormatKeyId(key_id);
}

// ParseSignatureLine parses one line (without its '\n'):
// "— <name> base64(32-bit key ID || signature)" (signed-note §Signatures).
StatusOr<NoteSignature> ParseSignatureLine(std::string_view line) {
  if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
    return Malformed("signature line must start with an em dash and a space");
  }
  line.remove_prefix(kSigPrefix.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return Malformed("signature line has no signature");
  const std::string_view name = line.substr(0, space);
  if (!IsValidKeyName(name)) return Malformed("invalid key name in signature line");
  auto raw = Base64Decode(line.substr(space + 1));
  if (!raw.ok()) return Malformed("signature is not canonical base64");
  if (raw->size() < 5) return Malformed("signature shorter than key ID + 1 byte");
  NoteSignature sig;
  sig.name = std::string(name);
  sig.key_id = (uint32_t{(*raw)[0]} << 24) | (uint32_t{(*raw)[1]} << 16) |
               (uint32_t{(*raw)[2]} << 8) | uint32_t{(*raw)[3]};
  sig.signature.assign(raw->begin() + 4, raw->end());
  return sig;
}

// FindKey returns the key whose name and key ID match `sig`, or nullptr.
const VerifierKey* FindKey(std::span<const VerifierKey> keys, const NoteSignature& sig) {
  for (const VerifierKey& k : keys) {
    if (k.key_id == sig.key_id && k.name == sig.name) return &k;
  }
  return nullptr;
}

// CheckSignature verifies `sig` by `key` according to the key's type and
// returns the cosignature timestamp (0 for Ed25519 note signatures).
StatusOr<uint64_t> CheckSignature(const VerifierKey& key, std::string_view text,
                                  const NoteSignature& sig) {
  if (key.type == kSigTypeCosignatureV1) return VerifyCosignature(key, text, sig);
  if (key.type == kSigTypeEd25519 && key.verifier.Verify(AsBytes(text), sig.signature)) return 0;
  return Status::VerificationFailed("bad_signature: signature by " +
                                    KeyLabel(sig.name, sig.key_id) + " does not verify");
}

}  // namespace

bool IsNoteText(std::string_view s) {
  // In UTF-8, bytes below 0x20 only ever encode ASCII control characters.
  for (const char c : s) {
    if (static_cast<uint8_t>(c) < 0x20 && c != '\n') return false;
  }
  return IsValidUtf8(s);
}

StatusOr<Note> ParseNote(std::string_view msg) {
  if (msg.size() > kMaxNoteSize) return Malformed("note larger than 1 MiB");
  if (!IsNoteText(msg)) return Malformed("note is not UTF-8 or has a control character");
  if (msg.empty() || msg.back() != '\n') return Malformed("note must end with a newline");
  // The text ends at the last blank line (signed-note §Format).
  const size_t split = msg.rfind("\n\n");
  if (split == std::string_view::npos) return Malformed("no blank line before the signatures");
  Note note;
  note.text = std::string(msg.substr(0, split + 1));
  std::string_view rest = msg.substr(split + 2);
  if (rest.empty()) return Malformed("no signature lines");
  while (!rest.empty()) {
    if (note.signatures.size() == kMaxNoteSignatures) return Malformed("too many signature lines");
    const size_t nl = rest.find('\n');  // found: msg ends with '\n'
    KT_ASSIGN_OR_RETURN(NoteSignature sig, ParseSignatureLine(rest.substr(0, nl)));
    note.signatures.push_back(std::move(sig));
    rest.remove_prefix(nl + 1);
  }
  return note;
}

std::string FormatSignatureLine(const NoteSignature& sig) {
  Writer w;
  w.U32(sig.key_id);
  w.Raw(sig.signature);
  std::string line(kSigPrefix);
  line += sig.name;
  line += ' ';
  line += Base64Encode(w.bytes());
  line += '\n';
  return line;
}

std::string FormatNote(const Note& note) {
  std::string out = note.text;
  out += '\n';
  for (const NoteSignature& sig : note.signatures) out += FormatSignatureLine(sig);
  return out;
}

NoteSignature SignNote(const SignerKey& key, std::string_view text) {
  KT_CHECK(key.type == kSigTypeEd25519);
  const Ed25519Signature sig = key.signer.Sign(AsBytes(text));
  return NoteSignature{key.name, key.key_id, Bytes(sig.begin(), sig.end())};
}

StatusOr<std::string> AddSignatures(std::string_view signed_note,
                                    std::span<const NoteSignature> sigs) {
  KT_ASSIGN_OR_RETURN(Note note, ParseNote(signed_note));
  for (const NoteSignature& sig : sigs) {
    auto same = [&](const NoteSignature& s) { return s.name == sig.name && s.key_id == sig.key_id; };
    std::erase_if(note.signatures, same);
    note.signatures.push_back(sig);
  }
  std::string out = FormatNote(note);
  // Re-check the limits (size, line count, line syntax) on the result.
  KT_RETURN_IF_ERROR(ParseNote(out).status());
  return out;
}

StatusOr<VerifiedNote> VerifyParsedNote(Note note, std::span<const VerifierKey> log_keys,
                                        std::span<const VerifierKey> witness_keys) {
  VerifiedNote out;
  std::vector<const VerifierKey*> seen;
  for (const NoteSignature& sig : note.signatures) {
    const VerifierKey* key = FindKey(log_keys, sig);
    const bool is_log_key = key != nullptr;
    if (key == nullptr) key = FindKey(witness_keys, sig);
    // signed-note §Signatures: verifiers MUST ignore signatures from unknown
    // keys, even if they share a name or ID (but not both) with a known key.
    if (key == nullptr) continue;
    // Two lines for one known key: x/mod silently skips the second without
    // verifying it; we reject, so that no unverified line of a known key is
    // ever carried along with a verified note.
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return Malformed("two signature lines for key " + KeyLabel(sig.name, sig.key_id));
    }
    seen.push_back(key);
    // A known key whose signature fails rejects the whole note.
    KT_ASSIGN_OR_RETURN(uint64_t timestamp, CheckSignature(*key, note.text, sig));
    VerifiedSignature v{key->name, key->key_id, key->type, timestamp};
    (is_log_key ? out.log_signatures : out.cosignatures).push_back(std::move(v));
  }
  if (out.log_signatures.empty()) {
    return Status::PermissionDenied("unverified: no signature by a configured log key");
  }
  out.note = std::move(note);
  return out;
}

StatusOr<VerifiedNote> VerifyNote(std::string_view msg, std::span<const VerifierKey> log_keys,
                                  std::span<const VerifierKey> witness_keys) {
  KT_ASSIGN_OR_RETURN(Note note, ParseNote(msg));
  return VerifyParsedNote(std::move(note), log_keys, witness_keys);
}

}  // namespace kt::core
