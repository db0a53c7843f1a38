// SPDX-License-Identifier: Apache-2.0
// X3DH initial messages (DESIGN.md "X3DH"; Signal's X3DH specification with
// X25519, SHA-256 and AES-256-GCM): the wire header and message, the
// type-level gate VerifiedBundle, Initiate and Respond, and the failure
// reasons reported to metrics.
//
// The gate: Initiate accepts only a VerifiedBundle, and only
// kt::client::BundleVerifier (which checks the bundle's identity key against
// the transparency log: inclusion, checkpoint quorum, current binding) can
// construct one. There is no API that runs X3DH on an unverified bundle.
#ifndef KT_X3DH_X3DH_H_
#define KT_X3DH_X3DH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/crypto_dh.h"
#include "core/status.h"
#include "x3dh/keys.h"

namespace kt::client {
class BundleVerifier;
}  // namespace kt::client

namespace kt::x3dh {

// X3dhError is the reason an X3DH step failed; each is a metrics counter.
// The last four are reported by kt::client's BundleVerifier.
enum class X3dhError : uint8_t {
  kSignatureInvalid,  // SPK signature does not verify under the identity key
  kSpkUnknown,        // responder has no private key for spk_id
  kOpkUnknown,        // responder has no private key for opk_id
  kOpkReused,         // opk_id was already consumed
  kDuplicate,         // the same initial message was seen before
  kAeadFailed,        // the payload does not authenticate (tampered or wrong keys)
  kNotLogged,         // identity key not in the log
  kProofInvalid,      // a log proof does not verify
  kQuorumNotMet,      // checkpoint lacks the witness quorum
  kKeyChanged,        // bundle identity key differs from the logged one
  kSpkExpired,        // SPK older than the initiator's max age, or from the future
};
inline constexpr size_t kX3dhErrorCount = 11;

// X3dhErrorName returns a stable snake_case name, e.g. "spk_unknown".
std::string_view X3dhErrorName(X3dhError e);
// X3dhFailure makes a non-OK Status for `e` whose message carries
// "x3dh/<name>: <detail>" (the code follows core::Status conventions:
// NotFound for unknown keys, Conflict for reuse, VerificationFailed else).
core::Status X3dhFailure(X3dhError e, std::string_view detail);
// X3dhErrorOf recovers the reason from a Status made by X3dhFailure (also
// after Annotate); nullopt for OK and for other failures.
std::optional<X3dhError> X3dhErrorOf(const core::Status& s);

// Header is the clear-text part of an initial message; all of it is the
// AEAD associated data.
struct Header {
  std::string sender_user;
  std::string sender_device;
  std::string recipient_user;
  std::string recipient_device;
  core::Ed25519PublicKey sender_identity_key{};  // IK_A (Ed25519)
  core::X25519PublicKey ephemeral_key{};         // EK_A
  uint32_t spk_id = 0;
  std::optional<uint32_t> opk_id;

  bool operator==(const Header&) const = default;
};

// InitialMessage is the header plus AES-256-GCM ciphertext || 16-byte tag.
struct InitialMessage {
  Header header;
  core::Bytes ciphertext;

  bool operator==(const InitialMessage&) const = default;
};

// Header wire format (big-endian, TLS presentation style):
//   uint8  version = 1;
//   opaque sender_user<1..255>; opaque sender_device<1..255>;
//   opaque recipient_user<1..255>; opaque recipient_device<1..255>;  (UTF-8)
//   opaque ik_a[32]; opaque ek_a[32]; uint32 spk_id;
//   uint8  has_opk (0 or 1); [uint32 opk_id] if has_opk.
// InitialMessage = Header || uint32 ciphertext_len || ciphertext, with
// 16 <= ciphertext_len <= kMaxCiphertextSize.
inline constexpr size_t kMaxCiphertextSize = (size_t{1} << 20) + 16;

// EncodeHeader requires 1..255-byte ids (KT_CHECK).
core::Bytes EncodeHeader(const Header& header);
// DecodeHeader accepts exactly EncodeHeader's outputs (no trailing bytes, ids
// valid UTF-8, has_opk 0 or 1), so decode -> encode is the identity.
// InvalidArgument otherwise.
core::StatusOr<Header> DecodeHeader(core::ByteSpan in);
core::Bytes EncodeInitialMessage(const InitialMessage& message);
// DecodeInitialMessage is as strict as DecodeHeader.
core::StatusOr<InitialMessage> DecodeInitialMessage(core::ByteSpan in);
// MessageId is SHA-256 of the encoded message: the key for duplicate
// detection (X3dhError::kDuplicate) in mailboxes and device stores.
core::Hash MessageId(const InitialMessage& message);

// VerifiedBundle is a PrekeyBundle whose identity key kt::client verified
// against the log. It can be copied but only BundleVerifier creates one.
class VerifiedBundle {
 public:
  const PrekeyBundle& bundle() const { return bundle_; }
  // identity_key is the device's logged Ed25519 identity key.
  const core::Ed25519PublicKey& identity_key() const { return bundle_.identity_key; }
  // spk_signature_verified: whoever made this bundle already verified the
  // SPK signature under identity_key (BundleVerifier does), so Initiate
  // does not verify it a second time. False for VerifiedBundleTestPeer.
  bool spk_signature_verified() const { return spk_signature_verified_; }

 private:
  friend class ::kt::client::BundleVerifier;
  // VerifiedBundleTestPeer is defined only under tests/ and bench/ (for the
  // round-trip tests and benchmarks that have no log); production code must
  // never define it.
  friend class VerifiedBundleTestPeer;
  // The caller has verified that `logged_identity_key` is the current logged
  // key of bundle.user/bundle.device; a bundle carrying another key is a bug
  // in the caller (KT_CHECK; the verifier reports kKeyChanged instead).
  VerifiedBundle(PrekeyBundle bundle, const core::Ed25519PublicKey& logged_identity_key,
                 bool spk_signature_verified = false);

  PrekeyBundle bundle_;
  bool spk_signature_verified_ = false;
};

// InitiatorOptions tune Initiate. The defaults suit production.
struct InitiatorOptions {
  uint64_t max_spk_age_seconds = 30 * 24 * 3600;  // refuse older SPKs
  uint64_t max_clock_skew_seconds = 600;          // refuse SPKs created later than now + skew
  uint64_t now = 0;  // unix seconds; 0 = read the system clock
  // random fills the ephemeral private key; empty = core::RandomBytes. Only
  // known-answer tests set it: a repeated EK_A repeats SK and with it the
  // AES-GCM key and nonce.
  std::function<void(std::span<uint8_t>)> random;
};

// InitiatorResult is the message to send and SK (kept for the session).
struct InitiatorResult {
  InitialMessage message;
  core::SecretBytes shared_key;  // SK
};

// Initiate runs X3DH as the initiator `identity` (device sender_device of
// sender_user) against `bundle` and encrypts `plaintext` for it. Before any
// DH it verifies the SPK signature under the bundle's identity key
// (kSignatureInvalid; skipped when bundle.spk_signature_verified(), i.e. the
// verifier that made it already did) and the SPK's age (kSpkExpired). InvalidArgument for
// bad ids or an identity key unusable for DH; VerificationFailed if a DH is
// all zero. Thread-safe.
core::StatusOr<InitiatorResult> Initiate(const VerifiedBundle& bundle,
                                         const DeviceIdentity& identity,
                                         std::string_view sender_user,
                                         std::string_view sender_device,
                                         core::ByteSpan plaintext,
                                         const InitiatorOptions& options = {});
// This form converts the identity key on every call (one more X25519 key
// setup); devices that keep their keys should hold a DeviceIdentity.
core::StatusOr<InitiatorResult> Initiate(const VerifiedBundle& bundle,
                                         const core::Ed25519Signer& identity,
                                         std::string_view sender_user,
                                         std::string_view sender_device,
                                         core::ByteSpan plaintext,
                                         const InitiatorOptions& options = {});

// PrekeyLookup returns the X25519 private key for a prekey id, NotFound if
// it has none, and (for one-time prekeys) Conflict if the key was used
// already. It may be called from the Respond thread only.
using PrekeyLookup = std::function<core::StatusOr<core::SecretBytes>(uint32_t id)>;

// ResponderResult is the authenticated header, the plaintext and SK.
struct ResponderResult {
  Header header;
  core::Bytes plaintext;
  core::SecretBytes shared_key;  // SK
};

// Respond runs X3DH as the responder `identity` for `message` and decrypts
// it. Failures: kSpkUnknown / kOpkUnknown (lookup NotFound), kOpkReused
// (lookup Conflict), kAeadFailed (payload or header tampered, or not meant
// for this identity); InvalidArgument for a sender identity key unusable for
// DH; other lookup errors pass through. Respond neither consumes the OPK nor
// detects duplicates: the caller deletes the OPK after success and dedups on
// MessageId. The caller must also check header.sender_identity_key against
// the log before trusting who sent the message.
core::StatusOr<ResponderResult> Respond(const InitialMessage& message,
                                        const DeviceIdentity& identity,
                                        const PrekeyLookup& spk_lookup,
                                        const PrekeyLookup& opk_lookup);
core::StatusOr<ResponderResult> Respond(const InitialMessage& message,
                                        const core::Ed25519Signer& identity,
                                        const PrekeyLookup& spk_lookup,
                                        const PrekeyLookup& opk_lookup);

// ParsedPrekeyLookup is PrekeyLookup returning a parsed key, with the same
// NotFound / Conflict contract. A device that caches its parsed SPK, or that
// stored each OPK's public key beside its private key
// (core::X25519PrivateKey::FromKeyPair), saves the X25519 key setups that
// FromBytes costs (one scalar multiplication each).
using ParsedPrekeyLookup = std::function<core::StatusOr<core::X25519PrivateKey>(uint32_t id)>;

// RespondWithKeys is Respond with parsed-key lookups: the same checks,
// results and failures (the PrekeyLookup forms call it).
core::StatusOr<ResponderResult> RespondWithKeys(const InitialMessage& message,
                                                const DeviceIdentity& identity,
                                                const ParsedPrekeyLookup& spk_lookup,
                                                const ParsedPrekeyLookup& opk_lookup);

}  // namespace kt::x3dh

#endif  // KT_X3DH_X3DH_H_
