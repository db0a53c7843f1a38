// SPDX-License-Identifier: Apache-2.0
// X3DH Initiate / Respond (DESIGN.md "X3DH"; Signal X3DH §3.3 and §3.4): the
// checks around the pure key agreement of x3dh/secret.h and the AES-256-GCM
// payload under keys derived from SK with the encoded header as AAD.
#include "x3dh/x3dh.h"

#include <chrono>
#include <string>

#include "x3dh/secret.h"

namespace kt::x3dh {
namespace {

uint64_t NowSeconds(const InitiatorOptions& options) {
  if (options.now != 0) return options.now;
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
}

bool ValidId(std::string_view id) { return !id.empty() && id.size() <= 255; }

// CheckSignedPrekey implements the initiator's checks of Signal X3DH §3.3
// ("Alice verifies the prekey signature and aborts the protocol if
// verification fails") plus our freshness rule. It runs before any DH so
// that a forged or stale SPK never touches our identity key.
core::Status CheckSignedPrekey(const VerifiedBundle& vb, const InitiatorOptions& options) {
  const SignedPrekey& spk = vb.bundle().signed_prekey;
  // A bundle from kt::client's BundleVerifier had its signature checked there.
  if (!vb.spk_signature_verified()) {
    auto verifier = core::Ed25519Verifier::Create(vb.identity_key());
    if (!verifier.ok()) {
      return X3dhFailure(X3dhError::kSignatureInvalid, "identity key is not an Ed25519 key");
    }
    if (!VerifySignedPrekey(*verifier, spk).ok()) {
      return X3dhFailure(X3dhError::kSignatureInvalid, "signed prekey signature does not verify");
    }
  }
  const uint64_t now = NowSeconds(options);
  if (spk.created > now && spk.created - now > options.max_clock_skew_seconds) {
    return X3dhFailure(X3dhError::kSpkExpired, "signed prekey created in the future");
  }
  if (now > spk.created && now - spk.created > options.max_spk_age_seconds) {
    return X3dhFailure(X3dhError::kSpkExpired,
                       "signed prekey is " + std::to_string(now - spk.created) + " s old");
  }
  return core::Status();
}

// EphemeralKey draws EK_A from the injected RNG (tests) or the CSPRNG.
core::StatusOr<core::X25519PrivateKey> EphemeralKey(const InitiatorOptions& options) {
  if (!options.random) return core::X25519PrivateKey::Generate();
  std::array<uint8_t, 32> priv{};
  options.random(priv);
  auto key = core::X25519PrivateKey::FromBytes(priv);
  core::Cleanse(priv);
  return key;
}

}  // namespace

VerifiedBundle::VerifiedBundle(PrekeyBundle bundle, const core::Ed25519PublicKey& logged_identity_key,
                               bool spk_signature_verified)
    : bundle_(std::move(bundle)), spk_signature_verified_(spk_signature_verified) {
  KT_CHECK(bundle_.identity_key == logged_identity_key);
}

core::StatusOr<InitiatorResult> Initiate(const VerifiedBundle& bundle,
                                         const DeviceIdentity& identity,
                                         std::string_view sender_user,
                                         std::string_view sender_device,
                                         core::ByteSpan plaintext,
                                         const InitiatorOptions& options) {
  if (!ValidId(sender_user) || !ValidId(sender_device)) {
    return core::Status::InvalidArgument("x3dh: sender user and device must be 1..255 bytes");
  }
  if (plaintext.size() + core::kAes256GcmTagSize > kMaxCiphertextSize) {
    return core::Status::InvalidArgument("x3dh: plaintext too large");
  }
  const PrekeyBundle& b = bundle.bundle();
  if (!ValidId(b.user) || !ValidId(b.device)) {
    return core::Status::InvalidArgument("x3dh: bundle user and device must be 1..255 bytes");
  }
  KT_RETURN_IF_ERROR(CheckSignedPrekey(bundle, options));

  // Cached: a device keeps talking to the same peers (core/crypto_dh.h).
  auto ik_b = core::Ed25519PublicToX25519Cached(bundle.identity_key());
  if (!ik_b.ok()) return ik_b.status().Annotate("x3dh: responder identity key");
  const core::X25519PrivateKey& ik_a = identity.dh_key();
  KT_ASSIGN_OR_RETURN(core::X25519PrivateKey ek_a, EphemeralKey(options));

  Header h;
  h.sender_user = std::string(sender_user);
  h.sender_device = std::string(sender_device);
  h.recipient_user = b.user;
  h.recipient_device = b.device;
  h.sender_identity_key = identity.public_key();
  h.ephemeral_key = ek_a.public_key();
  h.spk_id = b.signed_prekey.spk_id;
  std::optional<core::X25519PublicKey> opk_pub;
  if (b.one_time_prekey) {
    h.opk_id = b.one_time_prekey->opk_id;
    opk_pub = b.one_time_prekey->public_key;
  }
  const internal::SessionContext ctx{h.sender_identity_key, bundle.identity_key(), h.spk_id, h.opk_id};
  KT_ASSIGN_OR_RETURN(core::SecretBytes sk,
                      internal::DeriveInitiatorSecret(ik_a, ek_a, *ik_b, b.signed_prekey.public_key,
                                                      opk_pub, ctx));
  const internal::AeadKeys keys = internal::DeriveAeadKeys(sk.span());
  InitiatorResult out;
  out.message.ciphertext = core::Aes256GcmSeal(keys.key.span(), keys.nonce, EncodeHeader(h), plaintext);
  out.message.header = std::move(h);
  out.shared_key = std::move(sk);
  return out;
}

core::StatusOr<ResponderResult> RespondWithKeys(const InitialMessage& message,
                                                const DeviceIdentity& identity,
                                                const ParsedPrekeyLookup& spk_lookup,
                                                const ParsedPrekeyLookup& opk_lookup) {
  const Header& h = message.header;
  if (!ValidId(h.sender_user) || !ValidId(h.sender_device) || !ValidId(h.recipient_user) ||
      !ValidId(h.recipient_device)) {
    return core::Status::InvalidArgument("x3dh: header ids must be 1..255 bytes");
  }
  auto spk_b = spk_lookup(h.spk_id);
  if (!spk_b.ok()) {
    if (spk_b.status().code() == core::Status::Code::kNotFound) {
      return X3dhFailure(X3dhError::kSpkUnknown, "no signed prekey " + std::to_string(h.spk_id));
    }
    return spk_b.status().Annotate("x3dh: signed prekey lookup");
  }
  std::optional<core::X25519PrivateKey> opk_b;
  if (h.opk_id) {
    auto opk = opk_lookup(*h.opk_id);
    if (!opk.ok()) {
      const std::string id = std::to_string(*h.opk_id);
      switch (opk.status().code()) {
        case core::Status::Code::kNotFound:
          return X3dhFailure(X3dhError::kOpkUnknown, "no one-time prekey " + id);
        case core::Status::Code::kConflict:
          return X3dhFailure(X3dhError::kOpkReused, "one-time prekey " + id + " already used");
        default:
          return opk.status().Annotate("x3dh: one-time prekey lookup");
      }
    }
    opk_b = std::move(opk).value();
  }
  auto ik_a = core::Ed25519PublicToX25519Cached(h.sender_identity_key);
  if (!ik_a.ok()) return ik_a.status().Annotate("x3dh: sender identity key");
  const core::X25519PrivateKey& ik_b = identity.dh_key();

  const internal::SessionContext ctx{h.sender_identity_key, identity.public_key(), h.spk_id, h.opk_id};
  KT_ASSIGN_OR_RETURN(core::SecretBytes sk,
                      internal::DeriveResponderSecret(ik_b, *spk_b, opk_b ? &*opk_b : nullptr, *ik_a,
                                                      h.ephemeral_key, ctx));
  const internal::AeadKeys keys = internal::DeriveAeadKeys(sk.span());
  auto plaintext = core::Aes256GcmOpen(keys.key.span(), keys.nonce, EncodeHeader(h), message.ciphertext);
  if (!plaintext.ok()) {
    return X3dhFailure(X3dhError::kAeadFailed, "initial message does not authenticate");
  }
  ResponderResult out;
  out.header = h;
  out.plaintext = std::move(plaintext).value();
  out.shared_key = std::move(sk);
  return out;
}

core::StatusOr<ResponderResult> Respond(const InitialMessage& message,
                                        const DeviceIdentity& identity,
                                        const PrekeyLookup& spk_lookup,
                                        const PrekeyLookup& opk_lookup) {
  // Parse each raw key inside the lookup so that NotFound / Conflict keep
  // their meaning and a key that does not parse is an error of its own.
  auto parsed = [](const PrekeyLookup& lookup) {
    return [&lookup](uint32_t id) -> core::StatusOr<core::X25519PrivateKey> {
      KT_ASSIGN_OR_RETURN(core::SecretBytes raw, lookup(id));
      auto key = core::X25519PrivateKey::FromBytes(raw.span());
      if (!key.ok()) return core::Status::Internal("x3dh: stored prekey does not parse: " + key.status().message());
      return key;
    };
  };
  return RespondWithKeys(message, identity, parsed(spk_lookup), parsed(opk_lookup));
}

core::StatusOr<InitiatorResult> Initiate(const VerifiedBundle& bundle,
                                         const core::Ed25519Signer& identity,
                                         std::string_view sender_user,
                                         std::string_view sender_device,
                                         core::ByteSpan plaintext,
                                         const InitiatorOptions& options) {
  return Initiate(bundle, DeviceIdentity(identity), sender_user, sender_device, plaintext, options);
}

core::StatusOr<ResponderResult> Respond(const InitialMessage& message,
                                        const core::Ed25519Signer& identity,
                                        const PrekeyLookup& spk_lookup,
                                        const PrekeyLookup& opk_lookup) {
  return Respond(message, DeviceIdentity(identity), spk_lookup, opk_lookup);
}

}  // namespace kt::x3dh
