// SPDX-License-Identifier: Apache-2.0
// UserState semantics and its storage encoding (docs/formats.md "users"),
// shared by every LogStorage implementation and by the Sequencer.
#include "log/storage.h"

#include <algorithm>

#include "core/encoding.h"
#include "core/tile.h"

namespace kt::log {

namespace {

auto DeviceLowerBound(std::vector<DeviceState>& devices, std::string_view device) {
  return std::lower_bound(devices.begin(), devices.end(), device,
                          [](const DeviceState& d, std::string_view id) { return d.device < id; });
}

}  // namespace

const DeviceState* UserState::FindDevice(std::string_view device) const {
  auto it = std::lower_bound(
      devices.begin(), devices.end(), device,
      [](const DeviceState& d, std::string_view id) { return d.device < id; });
  if (it == devices.end() || it->device != device) return nullptr;
  return &*it;
}

bool UserState::IsCurrentDevice(std::string_view device) const {
  const DeviceState* d = FindDevice(device);
  return d != nullptr && !d->revoked;
}

void UserState::Apply(uint64_t index, const core::Entry& entry) {
  KT_CHECK(history.empty() || history.back() < index);
  history.push_back(index);
  auto it = DeviceLowerBound(devices, entry.device);
  if (it == devices.end() || it->device != entry.device) {
    DeviceState fresh;
    fresh.device = entry.device;
    it = devices.insert(it, std::move(fresh));
  }
  it->latest_index = index;
  if (entry.kind == core::EntryKind::kRevoke) {
    it->revoked = true;
  } else {
    it->revoked = false;
    it->identity_key = entry.identity_key;
  }
}

// Layout: u32 history count, u64 indexes; u16 device count, per device:
// u8-length device id, u64 latest index, u8 revoked (0/1), 32-byte key.
Bytes EncodeUserState(const UserState& state) {
  core::Writer w;
  KT_CHECK(state.history.size() <= UINT32_MAX && state.devices.size() <= UINT16_MAX);
  size_t size = 4 + 8 * state.history.size() + 2;
  for (const DeviceState& d : state.devices) size += 1 + d.device.size() + 8 + 1 + 32;
  w.Reserve(size);
  w.U32(static_cast<uint32_t>(state.history.size()));
  for (uint64_t i : state.history) w.U64(i);
  w.U16(static_cast<uint16_t>(state.devices.size()));
  for (const DeviceState& d : state.devices) {
    w.Vec8(core::AsBytes(d.device));
    w.U64(d.latest_index);
    w.U8(d.revoked ? 1 : 0);
    w.Raw(ByteSpan(d.identity_key));
  }
  return w.Take();
}

StatusOr<UserState> DecodeUserState(ByteSpan data) {
  core::Reader r(data);
  UserState state;
  uint32_t count = 0;
  if (!r.U32(&count) || count > r.remaining() / 8) {
    return Status::Corruption("user state: bad history count");
  }
  // One spare slot each: the common next step is UserState::Apply (one more
  // index, often one more device), which then does not reallocate.
  state.history.reserve(count + 1);
  state.history.resize(count);
  for (uint64_t& i : state.history) {
    if (!r.U64(&i)) return Status::Corruption("user state: truncated history");
  }
  uint16_t devices = 0;
  if (!r.U16(&devices)) return Status::Corruption("user state: truncated");
  state.devices.reserve(devices + 1);
  state.devices.resize(devices);
  for (DeviceState& d : state.devices) {
    ByteSpan id, key;
    uint8_t revoked = 0;
    if (!r.Vec8(&id) || !r.U64(&d.latest_index) || !r.U8(&revoked) || revoked > 1 ||
        !r.Raw(32, &key)) {
      return Status::Corruption("user state: bad device");
    }
    d.device = core::ToString(id);
    d.revoked = revoked == 1;
    std::copy(key.begin(), key.end(), d.identity_key.begin());
  }
  if (!r.empty()) return Status::Corruption("user state: trailing bytes");
  for (size_t i = 1; i < state.history.size(); ++i) {
    if (state.history[i - 1] >= state.history[i]) {
      return Status::Corruption("user state: history not increasing");
    }
  }
  for (size_t i = 1; i < state.devices.size(); ++i) {
    if (state.devices[i - 1].device >= state.devices[i].device) {
      return Status::Corruption("user state: devices not sorted");
    }
  }
  return state;
}

Status LogStorage::ReadUsers(std::span<const std::string_view> users,
                             std::vector<UserState>* out) {
  out->resize(users.size());
  for (size_t i = 0; i < users.size(); ++i) {
    KT_ASSIGN_OR_RETURN((*out)[i], ReadUser(users[i]));
  }
  return Status();
}

Status CheckTileRequest(int level, uint64_t index, uint64_t width, uint64_t tree_size) {
  if (level < 0 || level > core::kMaxTileLevel) {
    return Status::InvalidArgument("tile level out of range");
  }
  if (width == 0 || width > core::kTileWidth) {
    return Status::InvalidArgument("tile width out of range");
  }
  // Nodes at tree level 8L; for L >= 8 no tree of < 2^64 records has one.
  int shift = level * core::kTileHeight;
  uint64_t nodes = shift >= 64 ? 0 : tree_size >> shift;
  uint64_t full_tiles = nodes / core::kTileWidth;
  bool fits = index < full_tiles ||
              (index == full_tiles && width <= nodes % core::kTileWidth);
  if (!fits) return Status::NotFound("tile not in the current tree");
  return Status();
}

Status CheckBatch(const IntegrationBatch& batch, uint64_t tree_size, bool has_checkpoint) {
  if (batch.first_index != tree_size) {
    return Status::Corruption("integrate: batch starts at " + std::to_string(batch.first_index) +
                              " but the tree size is " + std::to_string(tree_size));
  }
  if (batch.entries.empty() && has_checkpoint) {
    return Status::Corruption("integrate: empty batch for a size that has a checkpoint");
  }
  bool needs_decoded = batch.users.empty() || !batch.decoded.empty();
  if (needs_decoded && batch.decoded.size() != batch.entries.size()) {
    return Status::InvalidArgument("integrate: decoded entries do not match entries");
  }
  uint64_t new_size = tree_size + batch.entries.size();
  uint64_t want = core::StoredHashCount(new_size) - core::StoredHashCount(tree_size);
  if (batch.stored_hashes.size() != want) {
    return Status::InvalidArgument("integrate: wrong number of stored hashes");
  }
  if (batch.checkpoint.empty()) return Status::InvalidArgument("integrate: no checkpoint");
  for (const Bytes& e : batch.entries) {
    if (e.empty() || e.size() > core::kMaxEntrySize) {
      return Status::InvalidArgument("integrate: entry size out of range");
    }
  }
  return Status();
}

Status CheckPublish(std::string_view checkpoint, uint64_t size, uint64_t tree_size,
                    uint64_t witnessed_size) {
  if (checkpoint.empty()) return Status::InvalidArgument("publish: empty checkpoint");
  if (size > tree_size) {
    return Status::InvalidArgument("publish: size " + std::to_string(size) +
                                   " is beyond the tree size " + std::to_string(tree_size));
  }
  if (size < witnessed_size) {
    return Status::Conflict("publish: witnessed checkpoint would move back", witnessed_size);
  }
  return Status();
}

}  // namespace kt::log
