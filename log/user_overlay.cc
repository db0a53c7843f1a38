// SPDX-License-Identifier: Apache-2.0
// UserOverlay: open-addressing user id -> encoded state table (see
// log/user_overlay.h).
#include "log/user_overlay.h"

#include <cstring>
#include <new>

#include "core/status.h"
#include "log/linear_probing.h"

namespace kt::log {

namespace {

// kSlack: spare state bytes in a new record, so that the next state of the
// user (one more history index) usually fits in place.
constexpr size_t kSlack = 16;

}  // namespace

uint64_t UserOverlay::Hash(std::string_view user) {
  return std::hash<std::string_view>()(user);
}

size_t UserOverlay::Index(std::string_view user, uint64_t h) const {
  size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (true) {
    const Slot& s = slots_[i];
    if (s.record == nullptr) return i;
    if (s.hash == h && s.record->id() == user) return i;
    i = (i + 1) & mask;
  }
}

const UserOverlay::Record* UserOverlay::Find(std::string_view user) const {
  if (size_ == 0) return nullptr;
  return slots_[Index(user, Hash(user))].record;
}

UserOverlay::Record* UserOverlay::NewRecord(std::string_view user, uint64_t h,
                                            size_t capacity) {
  KT_CHECK(!user.empty() && user.size() <= 255 && capacity <= UINT32_MAX);
  void* mem = ::operator new(sizeof(Record) + user.size() + capacity);
  auto* r = new (mem) Record{h, 0, static_cast<uint32_t>(capacity),
                             static_cast<uint8_t>(user.size())};
  std::memcpy(reinterpret_cast<uint8_t*>(r + 1), user.data(), user.size());
  return r;
}

void UserOverlay::Put(std::string_view user, size_t size, const Encoder& encode) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  uint64_t h = Hash(user);
  Slot& s = slots_[Index(user, h)];
  if (s.record != nullptr && s.record->capacity < size) {
    ::operator delete(s.record);
    s.record = nullptr;
    --size_;
  }
  if (s.record == nullptr) {
    s.hash = h;
    s.record = NewRecord(user, h, size + kSlack);
    ++size_;
  }
  encode(s.record->mutable_state());
  s.record->state_size = static_cast<uint32_t>(size);
}

void UserOverlay::Put(std::string_view user, core::ByteSpan state) {
  Put(user, state.size(), [&](uint8_t* out) {
    if (!state.empty()) std::memcpy(out, state.data(), state.size());
  });
}

void UserOverlay::Erase(const Record* record) {
  KT_CHECK(!slots_.empty());
  size_t mask = slots_.size() - 1;
  size_t i = record->hash & mask;
  while (slots_[i].record != record) {
    KT_CHECK(slots_[i].record != nullptr);  // not in this overlay
    i = (i + 1) & mask;
  }
  ::operator delete(slots_[i].record);
  --size_;
  EraseSlot(slots_, i, [](const Slot& s) { return s.record == nullptr; });
}

void UserOverlay::ForEach(const std::function<void(const Record*)>& fn) const {
  for (const Slot& s : slots_) {
    if (s.record != nullptr) fn(s.record);
  }
}

void UserOverlay::clear() {
  for (Slot& s : slots_) {
    if (s.record != nullptr) ::operator delete(s.record);
  }
  slots_.clear();
  slots_.shrink_to_fit();
  size_ = 0;
}

void UserOverlay::Grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 1024 : 2 * old.size(), Slot());
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.record == nullptr) continue;
    size_t i = s.hash & mask;
    while (slots_[i].record != nullptr) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace kt::log
