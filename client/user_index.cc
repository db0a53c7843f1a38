// SPDX-License-Identifier: Apache-2.0
// Flat user-id interning for the auditor.
#include "client/user_index.h"

#include <algorithm>
#include <functional>

#include "core/status.h"

namespace kt::client {

namespace {
constexpr size_t kMaxTagHomeSlots = size_t{1} << 32;  // Home from the tag alone up to here
}  // namespace

uint64_t UserIndex::HashOf(std::string_view user) { return std::hash<std::string_view>{}(user); }

size_t UserIndex::Home(uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  // The tag (high half) picks the slot; above 2^32 slots the low half adds
  // the missing bits.
  return static_cast<size_t>((hash >> 32) | (hash << 32)) & mask;
}

std::string_view UserIndex::Name(uint32_t id) const {
  KT_CHECK(id < offsets_.size());
  const uint64_t at = offsets_[id];
  const char* p = blocks_[at / kBlock].get() + at % kBlock;
  return std::string_view(p + 1, static_cast<uint8_t>(p[0]));
}

std::pair<uint32_t, bool> UserIndex::Intern(std::string_view user, uint64_t hash) {
  KT_CHECK(user.size() <= 255);
  if (2 * (offsets_.size() + 1) > slots_.size()) Grow();
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  const size_t mask = slots_.size() - 1;
  for (size_t i = Home(hash);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.id1 == 0) {
      const uint32_t id = static_cast<uint32_t>(offsets_.size());
      KT_CHECK(id != UINT32_MAX);
      if (used_ + 1 + user.size() > kBlock) {
        blocks_.push_back(std::make_unique<char[]>(kBlock));
        used_ = 0;
      }
      char* p = blocks_.back().get() + used_;
      p[0] = static_cast<char>(user.size());
      std::copy(user.begin(), user.end(), p + 1);
      offsets_.push_back((blocks_.size() - 1) * kBlock + used_);
      used_ += 1 + user.size();
      s = Slot{tag, id + 1};
      return {id, true};
    }
    if (s.tag == tag && Name(s.id1 - 1) == user) return {s.id1 - 1, false};
  }
}

void UserIndex::PrefetchSlot(uint64_t hash) const {
  if (!slots_.empty()) __builtin_prefetch(&slots_[Home(hash)]);
}

uint32_t UserIndex::Candidate(uint64_t hash) const {
  if (slots_.empty()) return kNoCandidate;
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  const size_t mask = slots_.size() - 1;
  for (size_t i = Home(hash), n = 0; n < slots_.size(); i = (i + 1) & mask, n++) {
    const Slot& s = slots_[i];
    if (s.id1 == 0) return kNoCandidate;
    if (s.tag == tag) {
      __builtin_prefetch(&offsets_[s.id1 - 1]);
      return s.id1 - 1;
    }
  }
  return kNoCandidate;
}

void UserIndex::PrefetchName(uint32_t id) const {
  const uint64_t at = offsets_[id];
  __builtin_prefetch(blocks_[at / kBlock].get() + at % kBlock);
}

void UserIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : 2 * old.size(), Slot{});
  const size_t mask = slots_.size() - 1;
  const bool from_tag = slots_.size() <= kMaxTagHomeSlots;
  for (const Slot& s : old) {
    if (s.id1 == 0) continue;
    size_t i = from_tag ? static_cast<size_t>(s.tag) & mask : Home(HashOf(Name(s.id1 - 1)));
    while (slots_[i].id1 != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

size_t UserIndex::MemoryBytes() const {
  return slots_.capacity() * sizeof(Slot) + offsets_.capacity() * sizeof(uint64_t) +
         blocks_.size() * kBlock;
}

}  // namespace kt::client
