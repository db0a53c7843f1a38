// SPDX-License-Identifier: Apache-2.0
// JSON form of the prekey upload (x3dh/prekey_upload.h; docs/x3dh.md
// "Server API", PUT /v1/prekeys/{user}/{device}).
#include "x3dh/prekey_upload.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/encoding.h"

namespace kt::x3dh {
namespace {

using core::Status;
using core::StatusOr;
using json = nlohmann::json;

Status Bad(std::string_view what) {
  return Status::InvalidArgument("prekey upload: " + std::string(what));
}

// GetB64 reads a base64 field of exactly N bytes.
template <size_t N>
Status GetB64(const json& obj, const char* name, std::array<uint8_t, N>* out) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return Bad(std::string(name) + " missing or not a string");
  auto b = core::Base64Decode(it->get<std::string>());
  if (!b.ok() || b->size() != N) return Bad(std::string(name) + " is not " + std::to_string(N) + " bytes of base64");
  std::copy(b->begin(), b->end(), out->begin());
  return Status();
}

// GetUint reads an unsigned integer field no larger than max.
Status GetUint(const json& obj, const char* name, uint64_t max, uint64_t* out) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_number_unsigned()) return Bad(std::string(name) + " missing or not an unsigned integer");
  const uint64_t v = it->get<uint64_t>();
  if (v > max) return Bad(std::string(name) + " out of range");
  *out = v;
  return Status();
}

}  // namespace

std::string PrekeyUploadToJson(const PrekeyUpload& upload) {
  KT_CHECK(upload.opks.size() <= kMaxOpksPerUpload);
  json opks = json::array();
  for (const OneTimePrekey& o : upload.opks) {
    opks.push_back({{"id", o.opk_id}, {"public", core::Base64Encode(o.public_key)}});
  }
  json j = {
      {"identity_key", core::Base64Encode(upload.identity_key)},
      {"spk",
       {{"id", upload.spk.spk_id},
        {"created", upload.spk.created},
        {"public", core::Base64Encode(upload.spk.public_key)},
        {"signature", core::Base64Encode(upload.spk.signature)}}},
      {"opks", std::move(opks)},
  };
  return j.dump();
}

StatusOr<PrekeyUpload> ParsePrekeyUploadJson(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  PrekeyUpload up;
  KT_RETURN_IF_ERROR(GetB64(j, "identity_key", &up.identity_key));
  auto spk = j.find("spk");
  if (spk == j.end() || !spk->is_object()) return Bad("spk missing or not an object");
  uint64_t v = 0;
  KT_RETURN_IF_ERROR(GetUint(*spk, "id", UINT32_MAX, &v));
  up.spk.spk_id = static_cast<uint32_t>(v);
  KT_RETURN_IF_ERROR(GetUint(*spk, "created", UINT64_MAX, &up.spk.created));
  KT_RETURN_IF_ERROR(GetB64(*spk, "public", &up.spk.public_key));
  KT_RETURN_IF_ERROR(GetB64(*spk, "signature", &up.spk.signature));
  auto opks = j.find("opks");
  if (opks == j.end() || !opks->is_array()) return Bad("opks missing or not an array");
  if (opks->size() > kMaxOpksPerUpload) return Bad("more than 1000 opks");
  std::set<uint32_t> seen;
  for (const json& o : *opks) {
    if (!o.is_object()) return Bad("an opk is not an object");
    OneTimePrekey k;
    KT_RETURN_IF_ERROR(GetUint(o, "id", UINT32_MAX, &v));
    k.opk_id = static_cast<uint32_t>(v);
    KT_RETURN_IF_ERROR(GetB64(o, "public", &k.public_key));
    if (!seen.insert(k.opk_id).second) return Bad("duplicate opk id " + std::to_string(k.opk_id));
    up.opks.push_back(k);
  }
  return up;
}

}  // namespace kt::x3dh
