// SPDX-License-Identifier: Apache-2.0
// Fuzz target for core/note (C2SP signed-note): every note ParseNote accepts
// formats back to exactly the input and re-parses equal; VerifyNote and
// VerifyCheckpoint with fixed test keys (merkle/notes.json) never crash and
// agree with the parser and with each other.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/checkpoint.h"
#include "core/keys.h"
#include "core/note.h"

namespace {

using namespace kt::core;

std::vector<VerifierKey> Keys(std::initializer_list<const char*> vkeys) {
  std::vector<VerifierKey> out;
  for (const char* v : vkeys) {
    auto k = ParseVerifierKey(v);
    if (!k.ok()) std::abort();
    out.push_back(*k);
  }
  return out;
}

// Test-only keys from ../shared/vectors/merkle/notes.json.
const std::vector<VerifierKey>& LogKeys() {
  static const auto* keys = new std::vector<VerifierKey>(
      Keys({"kt.example/public-log+55538d32+Aej6cv3s6gl4aOWZFTmVE6a3hYUALmiTwEA0elKPfuz5",
            "notes.example/public+b4f63335+AXkYhn/NN64jzTCyuzKzCk38Ikad8cqXok1HS5X4aJMB"}));
  return *keys;
}
const std::vector<VerifierKey>& WitnessKeys() {
  static const auto* keys = new std::vector<VerifierKey>(
      Keys({"witness.example/public-w1+8418379c+BG1L36ofgWF1HcyC1Wt8slpiySSNEI+FJT0sXuJ6VboY",
            "witness.example/public-w2+19e389d4+BKYgP6R5J7KIHFte+aCMd3RhX9pmN3gfR9szP+ca6C7d"}));
  return *keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  auto note = ParseNote(msg);
  auto verified = VerifyNote(msg, LogKeys(), WitnessKeys());
  auto checkpoint = VerifyCheckpoint(msg, LogKeys(), WitnessKeys());
  if (!note.ok()) {
    // Whatever the parser rejects, the verifiers reject with the same status.
    if (verified.ok() || checkpoint.ok()) std::abort();
    if (verified.status().code() != note.status().code()) std::abort();
    return 0;
  }
  if (note->signatures.empty() || note->signatures.size() > kMaxNoteSignatures) std::abort();
  const std::string formatted = FormatNote(*note);
  if (formatted != msg) std::abort();
  auto again = ParseNote(formatted);
  if (!again.ok() || !(*again == *note)) std::abort();
  if (verified.ok()) {
    if (verified->log_signatures.empty() || !(verified->note == *note)) std::abort();
    if (verified->log_signatures.size() + verified->cosignatures.size() > note->signatures.size()) {
      std::abort();
    }
  }
  if (checkpoint.ok()) {
    // A verified checkpoint is a verified note whose text is a checkpoint.
    if (!verified.ok()) std::abort();
    if (FormatCheckpoint(checkpoint->checkpoint) != note->text) std::abort();
  }
  return 0;
}
