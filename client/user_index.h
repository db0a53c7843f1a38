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
// thread-safe. The hash is not keyed: a log that registers users whose names
// collide can slow an audit down (linear probing), not change its outcome.
class UserIndex {
 public:
  // Intern returns the id of `user` and whether it was new.
  std::pair<uint32_t, bool> Intern(std::string_view user);
  std::string_view Name(uint32_t id) const;
  size_t size() const { return offsets_.size(); }
  // MemoryBytes is the memory the index holds (capacity, not size).
  size_t MemoryBytes() const;

 private:
  struct Slot {
    uint32_t tag = 0;    // high bits of the hash
    uint32_t id1 = 0;    // id + 1; 0 = empty
  };
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
