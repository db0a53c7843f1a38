// SPDX-License-Identifier: Apache-2.0
// TOFU pins, key change detection and safety numbers.
#include "client/contacts.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/encoding.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using nlohmann::json;

namespace {

constexpr char kFile[] = "contacts.json";
constexpr int kFingerprintIterations = 5200;

}  // namespace

std::string ContactCheck::Describe() const {
  if (!changed) return "";
  std::string s;
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    s += std::string(s.empty() ? "" : "; ") + what + ":";
    for (const auto& d : v) s += " " + d;
  };
  list("devices added", added);
  list("devices removed", removed);
  list("keys rotated", rotated);
  s += endorsed ? " (every change endorsed by another of their devices)"
                : " (NOT endorsed by their devices: the operator made a change)";
  return s;
}

Contact ContactFromLookup(const LookupResult& result) {
  Contact c;
  for (const VerifiedEntry& d : result.lookup.devices) {
    c.devices[d.entry.device] = PinnedDevice{d.entry.identity_key, d.index};
  }
  return c;
}

StatusOr<Contacts> Contacts::Load(const std::filesystem::path& dir) {
  Contacts out(dir);
  auto text = store::ReadFile(dir / kFile, size_t{16} << 20);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return out;
    return Status::IOError(text.status().message());
  }
  json j = json::parse(*text, nullptr, false);
  auto bad = [] { return Status::Corruption("contacts.json: malformed"); };
  if (j.is_discarded() || !j.is_object() || !j.contains("contacts") || !j["contacts"].is_object()) {
    return bad();
  }
  for (const auto& [user, cj] : j["contacts"].items()) {
    if (!cj.is_object()) return bad();
    Contact c;
    for (const auto& [device, dj] : cj.items()) {
      if (!dj.is_object() || !dj.contains("key") || !dj["key"].is_string() ||
          !dj.contains("index") || !dj["index"].is_number_unsigned()) {
        return bad();
      }
      auto key = core::Base64Decode(dj["key"].get<std::string>());
      if (!key.ok() || key->size() != 32) return bad();
      PinnedDevice p;
      std::copy(key->begin(), key->end(), p.identity_key.begin());
      p.index = dj["index"].get<uint64_t>();
      c.devices[device] = p;
    }
    out.contacts_[user] = std::move(c);
  }
  return out;
}

Status Contacts::Save() const {
  json j;
  j["version"] = 1;
  j["contacts"] = json::object();
  for (const auto& [user, c] : contacts_) {
    json cj = json::object();
    for (const auto& [device, p] : c.devices) {
      cj[device] = {{"key", core::Base64Encode(p.identity_key)}, {"index", p.index}};
    }
    j["contacts"][user] = cj;
  }
  std::string text;
  try {
    text = j.dump(2) + "\n";
  } catch (...) {  // invalid UTF-8 in a name cannot happen (entries are validated)
    return Status::Internal("contacts.json: cannot encode");
  }
  return store::WriteFileAtomic(dir_ / kFile, text, 0600);
}

const Contact* Contacts::Find(std::string_view user) const {
  auto it = contacts_.find(std::string(user));
  return it == contacts_.end() ? nullptr : &it->second;
}

ContactCheck Contacts::Check(const LookupResult& result) {
  ContactCheck out;
  Contact now = ContactFromLookup(result);
  auto it = contacts_.find(result.lookup.user);
  if (it == contacts_.end()) {
    out.first_use = true;
    contacts_[result.lookup.user] = std::move(now);
    return out;
  }
  const Contact& pin = it->second;
  uint64_t pinned_upto = 0;
  for (const auto& [device, p] : pin.devices) {
    pinned_upto = std::max(pinned_upto, p.index + 1);
    auto n = now.devices.find(device);
    if (n == now.devices.end()) {
      out.removed.push_back(device);
    } else if (n->second.identity_key != p.identity_key) {
      out.rotated.push_back(device);
    }
  }
  for (const auto& [device, p] : now.devices) {
    if (pin.devices.count(device) == 0) out.added.push_back(device);
  }
  out.changed = !out.added.empty() || !out.removed.empty() || !out.rotated.empty();
  if (out.changed) {
    // Every logged change after the pinned entries must carry an endorsement
    // by another device of the contact; an operator-made change does not.
    for (const BindingEvent& ev : result.history.events) {
      if (ev.index >= pinned_upto && ev.unendorsed) out.endorsed = false;
    }
  }
  return out;
}

void Contacts::Accept(const LookupResult& result) {
  contacts_[result.lookup.user] = ContactFromLookup(result);
}

std::string Fingerprint(std::string_view user, std::vector<std::array<uint8_t, 32>> keys) {
  std::sort(keys.begin(), keys.end());
  core::Bytes key_bytes;
  for (const auto& k : keys) key_bytes.insert(key_bytes.end(), k.begin(), k.end());
  core::Bytes buf = {0, 0};
  buf.insert(buf.end(), key_bytes.begin(), key_bytes.end());
  buf.insert(buf.end(), user.begin(), user.end());
  std::array<uint8_t, 64> h = core::Sha512(buf);
  for (int i = 0; i < kFingerprintIterations; i++) {
    buf.assign(h.begin(), h.end());
    buf.insert(buf.end(), key_bytes.begin(), key_bytes.end());
    h = core::Sha512(buf);
  }
  std::string out;
  for (int chunk = 0; chunk < 6; chunk++) {
    uint64_t v = 0;
    for (int b = 0; b < 5; b++) v = (v << 8) | h[static_cast<size_t>(chunk * 5 + b)];
    std::string digits = std::to_string(v % 100000);
    out += std::string(5 - digits.size(), '0') + digits;
  }
  return out;
}

std::string SafetyNumber(std::string_view user_a, const Contact& a, std::string_view user_b,
                         const Contact& b) {
  auto keys = [](const Contact& c) {
    std::vector<std::array<uint8_t, 32>> k;
    for (const auto& [d, p] : c.devices) k.push_back(p.identity_key);
    return k;
  };
  std::string fa = Fingerprint(user_a, keys(a));
  std::string fb = Fingerprint(user_b, keys(b));
  std::string all = fa < fb ? fa + fb : fb + fa;
  std::string out;
  for (size_t i = 0; i < all.size(); i += 5) {
    if (i > 0) out += ' ';
    out += all.substr(i, 5);
  }
  return out;
}

}  // namespace kt::client
