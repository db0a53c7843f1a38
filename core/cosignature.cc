// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-cosignature, Ed25519 cosignature/v1 (type 0x04).
#include "core/cosignature.h"

#include "core/encoding.h"

namespace kt::core {

std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp) {
  // tlog-cosignature §Ed25519 signed message: header line, then "time" and
  // the timestamp in decimal without leading zeroes, then the note text.
  std::string msg = "cosignature/v1\ntime ";
  msg += std::to_string(timestamp);
  msg += '\n';
  msg += checkpoint_text;
  return msg;
}

NoteSignature Cosign(const SignerKey& witness_key, std::string_view checkpoint_text,
                     uint64_t timestamp) {
  KT_CHECK(witness_key.type == kSigTypeCosignatureV1);
  KT_CHECK(timestamp <= kMaxCosignatureTimestamp);
  const std::string msg = CosignatureMessage(checkpoint_text, timestamp);
  const Ed25519Signature ed = witness_key.signer.Sign(AsBytes(msg));
  // tlog-cosignature §Format: timestamped_signature = u64 timestamp || sig.
  Writer w;
  w.U64(timestamp);
  w.Raw(ed);
  return NoteSignature{witness_key.name, witness_key.key_id, w.Take()};
}

StatusOr<uint64_t> VerifyCosignature(const VerifierKey& key, std::string_view checkpoint_text,
                                     const NoteSignature& sig) {
  if (key.type != kSigTypeCosignatureV1 || key.name != sig.name || key.key_id != sig.key_id) {
    return Status::VerificationFailed("bad_signature: not a cosignature/v1 line of " + key.name);
  }
  if (sig.signature.size() != kCosignatureV1Size) {
    return Status::VerificationFailed("bad_signature: cosignature/v1 by " + key.name +
                                      " is not 72 bytes");
  }
  const uint64_t timestamp = GetU64BE(sig.signature.data());
  if (timestamp > kMaxCosignatureTimestamp) {
    return Status::VerificationFailed("bad_signature: cosignature/v1 by " + key.name +
                                      " has a timestamp above 2^63-1");
  }
  const std::string msg = CosignatureMessage(checkpoint_text, timestamp);
  if (!key.verifier.Verify(AsBytes(msg), ByteSpan(sig.signature).subspan(8))) {
    return Status::VerificationFailed("bad_signature: cosignature/v1 by " + key.name +
                                      " does not verify");
  }
  return timestamp;
}

}  // namespace kt::core
