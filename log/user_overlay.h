// SPDX-License-Identifier: Apache-2.0
// UserOverlay: LmdbStorage's in-memory user index overlay (log/lmdb_storage.h):
// user id -> encoded UserState (docs/formats.md "users"). An open-addressing
// table (linear probing, backward-shift deletion) of 16-byte slots, each the
// id's 64-bit hash and a pointer to one allocation holding the id and the
// state together: a lookup touches the slot array and that one record, and
// an update of a user whose new state fits in place allocates nothing.
#ifndef KT_LOG_USER_OVERLAY_H_
#define KT_LOG_USER_OVERLAY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace kt::log {

// UserOverlay is not thread-safe (LmdbStorage guards it with its locks).
class UserOverlay {
 public:
  // Record is one user's entry: its id and encoded state. A pointer to it
  // stays valid until the record is erased, the user's state outgrows it
  // (Put), or the overlay is cleared or destroyed.
  struct Record {
    uint64_t hash;
    uint32_t state_size;
    uint32_t capacity;  // bytes available for the state
    uint8_t id_size;
    std::string_view id() const {
      return {reinterpret_cast<const char*>(this + 1), id_size};
    }
    core::ByteSpan state() const {
      return {reinterpret_cast<const uint8_t*>(this + 1) + id_size, state_size};
    }
    uint8_t* mutable_state() { return reinterpret_cast<uint8_t*>(this + 1) + id_size; }
  };
  // Encoder writes exactly the announced number of state bytes to `out`.
  using Encoder = std::function<void(uint8_t* out)>;

  UserOverlay() = default;
  ~UserOverlay() { clear(); }
  UserOverlay(const UserOverlay&) = delete;
  UserOverlay& operator=(const UserOverlay&) = delete;

  // Find returns the user's record or nullptr.
  const Record* Find(std::string_view user) const;
  // Put sets the user's state to the `size` bytes `encode` writes, adding
  // the user if new. Requires 1 <= user.size() <= 255 (KT_CHECK).
  void Put(std::string_view user, size_t size, const Encoder& encode);
  void Put(std::string_view user, core::ByteSpan state);
  // Erase removes a record returned by Find or ForEach (KT_CHECK if absent).
  void Erase(const Record* record);
  // ForEach calls fn(const Record*) for every record, in no useful order.
  void ForEach(const std::function<void(const Record*)>& fn) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear();
  void swap(UserOverlay& o) noexcept {
    slots_.swap(o.slots_);
    std::swap(size_, o.size_);
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    Record* record = nullptr;  // null: empty
  };
  static uint64_t Hash(std::string_view user);
  // Index returns the slot holding `user` (hash h) or the empty slot where
  // it would go. Requires a non-empty slots_ with at least one empty slot.
  size_t Index(std::string_view user, uint64_t h) const;
  void Grow();
  static Record* NewRecord(std::string_view user, uint64_t h, size_t capacity);

  // slots_: size 0 or a power of two, at most half full (a miss, the common
  // lookup, probes ~2.5 slots on average with linear probing).
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace kt::log

#endif  // KT_LOG_USER_OVERLAY_H_
