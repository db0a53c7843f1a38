// SPDX-License-Identifier: Apache-2.0
// Fork evidence files: format, strict parse, offline verification.
#include "client/evidence.h"

#include <system_error>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/proof.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

constexpr size_t kMaxProofLines = 64;

Status Bad(const std::string& why) { return Status::InvalidArgument("evidence: " + why); }

// NextLine splits off the next '\n'-terminated line; false at the end or
// for a last line without '\n'.
bool NextLine(std::string_view* rest, std::string_view* line) {
  size_t nl = rest->find('\n');
  if (nl == std::string_view::npos) return false;
  *line = rest->substr(0, nl);
  rest->remove_prefix(nl + 1);
  return true;
}

StatusOr<core::Hash> ParseHash(std::string_view b64) {
  auto bytes = core::Base64Decode(b64);
  if (!bytes.ok() || bytes->size() != 32 || core::Base64Encode(*bytes) != b64) {
    return Bad("not the canonical base64 of a 32-byte hash");
  }
  core::Hash h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

StatusOr<std::string> ParseNoteLine(std::string_view line) {
  constexpr std::string_view kPrefix = "checkpoint ";
  if (!line.starts_with(kPrefix)) return Bad("expected a checkpoint line");
  std::string_view b64 = line.substr(kPrefix.size());
  auto bytes = core::Base64Decode(b64);
  if (!bytes.ok() || bytes->empty() || core::Base64Encode(*bytes) != b64) {
    return Bad("checkpoint is not canonical base64");
  }
  return core::ToString(*bytes);
}

}  // namespace

std::string FormatEvidence(const ForkEvidence& e) {
  std::string out = std::string(kEvidenceHeader) + "\n";
  out += "checkpoint " + core::Base64Encode(core::AsBytes(e.first)) + "\n";
  out += "checkpoint " + core::Base64Encode(core::AsBytes(e.second)) + "\n";
  if (e.prefix_root.has_value()) {
    out += "prefix-root " + core::Base64Encode(*e.prefix_root) + "\n";
    for (const core::Hash& h : e.proof) out += "proof " + core::Base64Encode(h) + "\n";
  }
  return out;
}

StatusOr<ForkEvidence> ParseEvidence(std::string_view text) {
  if (text.size() > kMaxEvidenceSize) return Bad("too large");
  std::string_view rest = text;
  std::string_view line;
  if (!NextLine(&rest, &line) || line != kEvidenceHeader) return Bad("missing header line");
  ForkEvidence e;
  if (!NextLine(&rest, &line)) return Bad("missing first checkpoint");
  KT_ASSIGN_OR_RETURN(e.first, ParseNoteLine(line));
  if (!NextLine(&rest, &line)) return Bad("missing second checkpoint");
  KT_ASSIGN_OR_RETURN(e.second, ParseNoteLine(line));
  if (NextLine(&rest, &line)) {
    constexpr std::string_view kRoot = "prefix-root ";
    if (!line.starts_with(kRoot)) return Bad("expected a prefix-root line");
    KT_ASSIGN_OR_RETURN(core::Hash root, ParseHash(line.substr(kRoot.size())));
    e.prefix_root = root;
    while (NextLine(&rest, &line)) {
      constexpr std::string_view kProof = "proof ";
      if (!line.starts_with(kProof)) return Bad("expected a proof line");
      if (e.proof.size() >= kMaxProofLines) return Bad("too many proof lines");
      KT_ASSIGN_OR_RETURN(core::Hash h, ParseHash(line.substr(kProof.size())));
      e.proof.push_back(h);
    }
  }
  if (!rest.empty()) return Bad("trailing bytes or a last line without newline");
  return e;
}

StatusOr<EvidenceVerdict> VerifyEvidence(const ForkEvidence& e, const Trust& trust) {
  auto a = trust.VerifyLogSigned(e.first);
  if (!a.ok()) return a.status().Annotate("evidence: first checkpoint");
  auto b = trust.VerifyLogSigned(e.second);
  if (!b.ok()) return b.status().Annotate("evidence: second checkpoint");
  EvidenceVerdict v;
  v.first = a->checkpoint;
  v.second = b->checkpoint;
  v.origin = v.first.origin;
  if (v.first.origin != v.second.origin) {
    return Status::VerificationFailed("not a fork: different origins");
  }
  if (v.first.size == v.second.size) {
    if (v.first.root == v.second.root) {
      return Status::VerificationFailed("not a fork: same size and same root");
    }
    v.reason = "two different roots for tree size " + std::to_string(v.first.size);
    return v;
  }
  const core::Checkpoint& small = v.first.size < v.second.size ? v.first : v.second;
  const core::Checkpoint& large = v.first.size < v.second.size ? v.second : v.first;
  if (!e.prefix_root.has_value()) {
    return Status::VerificationFailed(
        "not a fork: sizes differ and the evidence has no prefix-root and proof");
  }
  if (*e.prefix_root == small.root) {
    return Status::VerificationFailed("not a fork: the prefix root equals the smaller root");
  }
  core::ConsistencyProof proof{small.size, large.size, e.proof};
  Status s = core::VerifyConsistency(proof, *e.prefix_root, large.root);
  if (!s.ok()) return Status::VerificationFailed("not a fork: " + s.message());
  v.reason = "the tree of size " + std::to_string(large.size) + " has root " +
             core::Base64Encode(*e.prefix_root) + " at size " + std::to_string(small.size) +
             ", not the signed " + core::Base64Encode(small.root);
  return v;
}

StatusOr<std::filesystem::path> WriteEvidenceFile(const std::filesystem::path& dir,
                                                  const ForkEvidence& evidence) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "evidence", ec);
  if (ec) return Status::IOError("evidence dir: " + ec.message());
  std::string text = FormatEvidence(evidence);
  core::Hash h = core::Sha256(core::AsBytes(text));
  std::filesystem::path path =
      dir / "evidence" /
      ("fork-" + std::to_string(SystemClockSeconds()) + "-" +
       core::HexEncode(core::ByteSpan(h.data(), 8)) + ".txt");
  KT_RETURN_IF_ERROR(store::WriteFileAtomic(path, text, 0644));
  return path;
}

}  // namespace kt::client
