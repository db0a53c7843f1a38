// SPDX-License-Identifier: Apache-2.0
// Contacts: trust on first use of a contact's device keys, pinned locally in
// the state directory (contacts.json, replaced atomically), key change
// detection against later verified lookups, and the safety number two users
// compare out of band (docs/client.md "Safety numbers").
#ifndef KT_CLIENT_CONTACTS_H_
#define KT_CLIENT_CONTACTS_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "client/lookup.h"
#include "core/status.h"

namespace kt::client {

// PinnedDevice is a device key accepted for a contact.
struct PinnedDevice {
  std::array<uint8_t, 32> identity_key{};
  uint64_t index = 0;  // the entry that set it
  bool operator==(const PinnedDevice&) const = default;
};

// Contact is a pinned user: device name -> key.
struct Contact {
  std::map<std::string, PinnedDevice> devices;
  bool operator==(const Contact&) const = default;
};

// ContactCheck compares a verified lookup with the pin.
struct ContactCheck {
  bool first_use = false;  // nothing was pinned: the lookup is now pinned
  bool changed = false;    // the keys differ from the pin (not pinned)
  std::vector<std::string> added, removed, rotated;  // device names
  // endorsed: every logged change since the pin was endorsed by another of
  // the contact's devices (false when the operator made any of them).
  bool endorsed = true;
  // Describe is a human summary ("" when unchanged).
  std::string Describe() const;
};

// Contacts is the pin store. Not thread-safe.
class Contacts {
 public:
  // Load reads dir/contacts.json (empty when absent). Corruption for a bad
  // file, IOError otherwise.
  static core::StatusOr<Contacts> Load(const std::filesystem::path& dir);

  // Check compares `result` with the user's pin. On first use it pins the
  // lookup (Save() persists it). A change is reported, not pinned.
  ContactCheck Check(const LookupResult& result);
  // Accept pins the lookup's devices, replacing the old pin.
  void Accept(const LookupResult& result);

  // Save writes contacts.json atomically. IOError on failure.
  core::Status Save() const;

  const Contact* Find(std::string_view user) const;
  const std::map<std::string, Contact>& all() const { return contacts_; }

 private:
  explicit Contacts(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  std::map<std::string, Contact> contacts_;
};

// ContactFromLookup is the pin a lookup yields.
Contact ContactFromLookup(const LookupResult& result);

// Fingerprint is one side's 30 digits: SHA-512 iterated 5200 times over
// 0x0000 || identity keys (sorted) || user, as Signal's numeric fingerprint;
// the first 30 bytes as six 5-byte big-endian chunks, each mod 100000.
std::string Fingerprint(std::string_view user, std::vector<std::array<uint8_t, 32>> keys);

// SafetyNumber is the 60-digit number both sides compute: the two
// fingerprints, the smaller first, in groups of five digits.
std::string SafetyNumber(std::string_view user_a, const Contact& a, std::string_view user_b,
                         const Contact& b);

}  // namespace kt::client

#endif  // KT_CLIENT_CONTACTS_H_
