// SPDX-License-Identifier: Apache-2.0
// UserIndex: dense ids for the distinct user ids of a log, for an auditor
// that keeps per-user state for millions of users (audit.h). An open-
// addressing table of 8-byte slots (load 1/4 to 1/2) over blocks of
// length-prefixed names: about 70 bytes per user for 28-byte names, with no
// allocation per user.
#ifndef KT_CLIENT_USER_INDEX_H_
#define KT_CLIENT_USER_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kt::client {

// UserIndex maps user ids to 0, 1, 2, ... in order of first Intern. Ids are
// at most 255 bytes (the entry format's bound; a bug otherwise). Not
// thread-safe (HashOf is). The hash is not keyed: a log that registers users
// whose names collide can slow an audit down (linear probing), not change
// its outcome: names are always compared in full.
//
// At millions of users each lookup is a few random DRAM accesses (slot,
// name offset, name). A caller that knows the next lookups can hide them:
// PrefetchSlot for each, then Candidate + PrefetchName, then Intern (each a
// pass over a batch). The prefetch calls are hints: they change nothing.
class UserIndex {
 public:
  // HashOf is the hash Intern uses; it may be computed on another thread.
  static uint64_t HashOf(std::string_view user);

  // Intern returns the id of `user` and whether it was new. `hash` must be
  // HashOf(user) (a wrong hash makes a second id for a known user).
  std::pair<uint32_t, bool> Intern(std::string_view user, uint64_t hash);
  std::pair<uint32_t, bool> Intern(std::string_view user) { return Intern(user, HashOf(user)); }
  std::string_view Name(uint32_t id) const;
  size_t size() const { return offsets_.size(); }
  // MemoryBytes is the memory the index holds (capacity, not size).
  size_t MemoryBytes() const;

  // PrefetchSlot starts loading the slot where a lookup of `hash` begins.
  void PrefetchSlot(uint64_t hash) const;
  // Candidate is the id of the first user on `hash`'s probe path whose slot
  // tag matches (likely the user, as the name is not compared), or
  // kNoCandidate; it starts loading that user's name offset.
  static constexpr uint32_t kNoCandidate = UINT32_MAX;
  uint32_t Candidate(uint64_t hash) const;
  // PrefetchName starts loading the name of `id` (< size()).
  void PrefetchName(uint32_t id) const;

 private:
  struct Slot {
    uint32_t tag = 0;    // the hash's high 32 bits
    uint32_t id1 = 0;    // id + 1; 0 = empty
  };
  // Home is the first slot of a probe: from the tag's bits (so Grow need not
  // rehash the names) while the table has at most 2^32 slots.
  size_t Home(uint64_t hash) const;
  void Grow();
  std::vector<Slot> slots_;
  // Names live in blocks of kBlock bytes (no doubling of one big buffer):
  // offsets_[id] = block * kBlock + position of u8 length || name.
  static constexpr size_t kBlock = size_t{1} << 20;
  std::vector<uint64_t> offsets_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = kBlock;  // bytes used in the last block
};

}  // namespace kt::client

#endif  // KT_CLIENT_USER_INDEX_H_
