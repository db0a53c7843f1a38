// SPDX-License-Identifier: Apache-2.0
// Deletion from an open-addressing hash table with linear probing over a
// power-of-two number of slots (Knuth, TAOCP vol. 3, §6.4 Algorithm R), as
// used by the sequencer's in-flight user table and the LMDB user overlay.
#ifndef KT_LOG_LINEAR_PROBING_H_
#define KT_LOG_LINEAR_PROBING_H_

#include <cstddef>
#include <vector>

namespace kt::log {

// EraseSlot empties slot `i` by backward shift: each later member of the
// probe run moves into the hole unless its home slot (hash & mask) lies
// cyclically in (hole, its position]. No tombstones are left, so lookups
// stay as short as the table's load allows. `Slot` has a `hash` member and
// a default value that is empty; `is_empty(slot)` tells an empty slot.
template <typename Slot, typename IsEmpty>
void EraseSlot(std::vector<Slot>& slots, size_t i, IsEmpty is_empty) {
  const size_t mask = slots.size() - 1;
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (is_empty(slots[j])) break;
    const size_t home = slots[j].hash & mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots[i] = slots[j];
    i = j;
  }
  slots[i] = Slot();
}

}  // namespace kt::log

#endif  // KT_LOG_LINEAR_PROBING_H_
