// SPDX-License-Identifier: Apache-2.0
// Checkpoint trust under a tlog-policy (see trust.h).
#include "client/trust.h"

#include <set>
#include <utility>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/merkle.h"
#include "core/proof.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

uint64_t SystemClockSeconds() { return core::UnixSeconds(); }

Trust::Trust(core::Policy policy, Clock clock)
    : policy_(std::move(policy)),
      clock_(std::move(clock)),
      log_keys_(core::LogKeys(policy_)),
      witness_keys_(core::WitnessKeys(policy_)) {}

StatusOr<std::unique_ptr<Trust>> Trust::LoadPolicyFile(const std::filesystem::path& path,
                                                       Clock clock) {
  auto text = store::ReadFile(path, core::kMaxPolicySize);
  if (!text.ok()) return text.status().Annotate("policy file " + path.string());
  auto policy = core::ParsePolicy(*text);
  if (!policy.ok()) return policy.status().Annotate("policy file " + path.string());
  if (policy->logs.empty()) {
    return Status::InvalidArgument("policy file " + path.string() + ": no log line");
  }
  return std::make_unique<Trust>(std::move(policy).value(), std::move(clock));
}

StatusOr<core::VerifiedCheckpoint> Trust::VerifyLogSigned(std::string_view signed_note) const {
  return core::VerifyCheckpoint(signed_note, log_keys_, witness_keys_);
}

StatusOr<TrustedCheckpoint> Trust::VerifyCheckpoint(std::string_view signed_note) const {
  const core::Hash h = core::Sha256(core::AsBytes(signed_note));
  std::string key(h.begin(), h.end());
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  KT_ASSIGN_OR_RETURN(core::VerifiedCheckpoint vc, VerifyLogSigned(signed_note));
  // Quorum (tlog-policy). A cosignature dated in the future cannot come from
  // an honest witness clock; counting it would let a stolen witness key
  // pre-date support for a view, so it is ignored rather than fatal: the other
  // witnesses may still make the quorum. A success stays valid as time
  // passes (only the future bound moves, and it moves forward), so caching
  // successes is sound.
  const uint64_t now = clock_();
  TrustedCheckpoint out;
  std::set<std::string> cosigned;
  for (const core::VerifiedSignature& sig : vc.note.cosignatures) {
    if (sig.timestamp > now && sig.timestamp - now > core::kMaxCosignatureSkewSeconds) continue;
    const core::PolicyWitness* w = core::FindWitness(policy_, sig.name, sig.key_id);
    if (w != nullptr && cosigned.insert(w->name).second) out.witnesses.push_back(w->name);
  }
  if (!core::QuorumSatisfied(policy_, cosigned)) {
    return Status::PermissionDenied("unverified: witness quorum " + policy_.quorum +
                                    " not satisfied by " + std::to_string(cosigned.size()) +
                                    " valid cosignature(s) (cosignatures dated more than " +
                                    std::to_string(core::kMaxCosignatureSkewSeconds) +
                                    " s in the future do not count)");
  }
  out.note = std::string(signed_note);
  out.checkpoint = std::move(vc.checkpoint);
  std::lock_guard<std::mutex> lock(mu_);
  full_verifications_++;
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_.emplace(std::move(key), out);
  return out;
}

StatusOr<TrustedRecord> Trust::VerifyTlogProof(std::string_view text) const {
  KT_ASSIGN_OR_RETURN(core::TlogProof proof, core::ParseTlogProof(text));
  if (proof.extra.empty()) {
    return Status::InvalidArgument("tlog-proof: no extra line (the entry bytes are needed)");
  }
  KT_ASSIGN_OR_RETURN(TrustedCheckpoint cp, VerifyCheckpoint(proof.checkpoint));
  core::InclusionProof inclusion{proof.index, cp.checkpoint.size, std::move(proof.inclusion)};
  Status s = core::VerifyInclusion(inclusion, core::RecordHash(proof.extra), cp.checkpoint.root);
  if (!s.ok()) return s.Annotate("tlog-proof: inclusion");
  TrustedRecord out;
  out.record = std::move(proof.extra);
  out.index = proof.index;
  out.checkpoint = std::move(cp);
  return out;
}

uint64_t Trust::full_verifications() const {
  std::lock_guard<std::mutex> lock(mu_);
  return full_verifications_;
}

}  // namespace kt::client
