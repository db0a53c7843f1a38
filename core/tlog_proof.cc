// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-proof (c2sp.org/tlog-proof@v1) parsing and formatting.
#include "core/tlog_proof.h"

#include <algorithm>

#include "core/encoding.h"
#include "core/merkle.h"
#include "core/note.h"
#include "core/proof.h"

namespace kt::core {
namespace {

// LineReader splits a text into '\n'-terminated lines.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  // Next sets *line to the next line without its '\n'; false if the rest of
  // the text has no '\n'.
  bool Next(std::string_view* line) {
    size_t nl = rest_.find('\n');
    if (nl == std::string_view::npos) return false;
    *line = rest_.substr(0, nl);
    rest_.remove_prefix(nl + 1);
    return true;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

Status Bad(std::string_view why) {
  return Status::InvalidArgument("tlog-proof: " + std::string(why));
}

}  // namespace

StatusOr<TlogProof> ParseTlogProof(std::string_view text) {
  if (text.size() > kMaxTlogProofSize) return Bad("too long");
  LineReader lines(text);
  std::string_view line;
  // tlog-proof §Format: "The first line MUST be the string c2sp.org/tlog-proof@v1".
  if (!lines.Next(&line) || line != kTlogProofHeader) return Bad("missing header line");
  if (!lines.Next(&line)) return Bad("missing index line");
  TlogProof proof;
  // §Format: "The second line MAY start with the string extra followed by a
  // space and base64-encoded opaque extra data."
  if (line.starts_with("extra ")) {
    std::string_view b64 = line.substr(6);
    if (b64.empty()) return Bad("empty extra data");
    auto extra = Base64Decode(b64);
    if (!extra.ok()) return Bad("extra is not canonical base64");
    proof.extra = std::move(extra).value();
    if (!lines.Next(&line)) return Bad("missing index line");
  }
  // §Format: "index" + space + zero-based ASCII decimal without leading zeroes.
  if (!line.starts_with("index ")) return Bad("missing index line");
  auto index = ParseDecimal(line.substr(6));
  if (!index.ok()) return Bad("index is not a canonical decimal");
  proof.index = *index;
  // §Format: zero or more non-empty lines of base64 hashes, then an empty line.
  for (;;) {
    if (!lines.Next(&line)) return Bad("missing empty line before the checkpoint");
    if (line.empty()) break;
    if (proof.inclusion.size() == kMaxTlogProofHashes) return Bad("too many proof hashes");
    auto hash = Base64Decode(line);
    if (!hash.ok() || hash->size() != 32) return Bad("proof line is not a base64 SHA-256 hash");
    Hash h;
    std::copy(hash->begin(), hash->end(), h.begin());
    proof.inclusion.push_back(h);
  }
  // §Format: "the checkpoint issued by the log is included verbatim"
  // (tlog-checkpoint: a signed note whose text is a checkpoint).
  std::string_view checkpoint = lines.rest();
  auto note = ParseNote(checkpoint);
  if (!note.ok()) return Bad("checkpoint: " + note.status().message());
  auto parsed = ParseCheckpoint(note->text);
  if (!parsed.ok()) return Bad("checkpoint: " + parsed.status().message());
  proof.checkpoint = std::string(checkpoint);
  return proof;
}

std::string FormatTlogProof(const TlogProof& proof) {
  std::string out(kTlogProofHeader);
  out += '\n';
  if (!proof.extra.empty()) {
    out += "extra ";
    out += Base64Encode(proof.extra);
    out += '\n';
  }
  out += "index " + std::to_string(proof.index) + "\n";
  for (const Hash& h : proof.inclusion) {
    out += Base64Encode(h);
    out += '\n';
  }
  out += '\n';
  out += proof.checkpoint;
  return out;
}

StatusOr<VerifiedTlogProof> VerifyTlogProof(std::string_view text, const Policy& policy,
                                            uint64_t now_unix_seconds) {
  KT_ASSIGN_OR_RETURN(TlogProof proof, ParseTlogProof(text));
  if (proof.extra.empty()) return Bad("no extra data: the record is needed to verify inclusion");
  // 1. Signatures. Unknown keys are ignored; a known key whose line fails
  //    rejects the whole note (core/note.h).
  const std::vector<VerifierKey> log_keys = LogKeys(policy);
  const std::vector<VerifierKey> witness_keys = WitnessKeys(policy);
  KT_ASSIGN_OR_RETURN(VerifiedCheckpoint vc,
                      VerifyCheckpoint(proof.checkpoint, log_keys, witness_keys));
  // 2. Quorum. A cosignature from the future cannot have been made by an
  //    honest witness clock; counting it would let a compromised witness key
  //    pre-date support for a view, so it is ignored (not an error: the
  //    other witnesses may still reach the quorum).
  VerifiedTlogProof out;
  std::set<std::string> cosigned;
  for (const VerifiedSignature& sig : vc.note.cosignatures) {
    if (sig.timestamp > now_unix_seconds &&
        sig.timestamp - now_unix_seconds > kMaxCosignatureSkewSeconds) {
      continue;
    }
    const PolicyWitness* w = FindWitness(policy, sig.name, sig.key_id);
    if (w != nullptr && cosigned.insert(w->name).second) out.witnesses.push_back(w->name);
  }
  if (!QuorumSatisfied(policy, cosigned)) {
    return Status::PermissionDenied("unverified: witness quorum " + policy.quorum +
                                    " not satisfied by " + std::to_string(cosigned.size()) +
                                    " valid cosignature(s)");
  }
  // 3. Inclusion of the record at `index` in the checkpoint's tree.
  InclusionProof inclusion{proof.index, vc.checkpoint.size, proof.inclusion};
  Status s = VerifyInclusion(inclusion, RecordHash(proof.extra), vc.checkpoint.root);
  if (!s.ok()) return s.Annotate("tlog-proof: inclusion");
  out.proof = std::move(proof);
  out.checkpoint = std::move(vc.checkpoint);
  return out;
}

}  // namespace kt::core
