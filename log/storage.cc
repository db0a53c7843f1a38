// SPDX-License-Identifier: Apache-2.0
// UserState semantics and its storage encoding (docs/formats.md "users"),
// shared by every LogStorage implementation and by the Sequencer.
#include "log/storage.h"

#include <algorithm>
#include <cstring>

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
// Both directions run once per sequenced entry (the sequencer decodes the
// user's state, the storage encodes the new one), so they write and read
// the buffer directly rather than through core::Writer / core::Reader.
size_t EncodedUserStateSize(const UserState& state) {
  KT_CHECK(state.history.size() <= UINT32_MAX && state.devices.size() <= UINT16_MAX);
  size_t size = 4 + 8 * state.history.size() + 2;
  for (const DeviceState& d : state.devices) {
    KT_CHECK(d.device.size() <= UINT8_MAX);
    size += 1 + d.device.size() + 8 + 1 + 32;
  }
  return size;
}

Bytes EncodeUserState(const UserState& state) {
  Bytes out(EncodedUserStateSize(state));
  EncodeUserStateTo(state, out.data());
  return out;
}

void EncodeUserStateTo(const UserState& state, uint8_t* out) {
  uint8_t* p = out;
  uint8_t n32[8];
  core::PutU64BE(n32, state.history.size());
  std::memcpy(p, n32 + 4, 4);
  p += 4;
  for (uint64_t i : state.history) {
    core::PutU64BE(p, i);
    p += 8;
  }
  *p++ = static_cast<uint8_t>(state.devices.size() >> 8);
  *p++ = static_cast<uint8_t>(state.devices.size());
  for (const DeviceState& d : state.devices) {
    *p++ = static_cast<uint8_t>(d.device.size());
    std::memcpy(p, d.device.data(), d.device.size());
    p += d.device.size();
    core::PutU64BE(p, d.latest_index);
    p += 8;
    *p++ = d.revoked ? 1 : 0;
    std::memcpy(p, d.identity_key.data(), 32);
    p += 32;
  }
}

StatusOr<UserState> DecodeUserState(ByteSpan data) {
  const uint8_t* p = data.data();
  size_t left = data.size();
  UserState state;
  if (left < 4) return Status::Corruption("user state: bad history count");
  uint32_t count = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  p += 4;
  left -= 4;
  if (count > left / 8) return Status::Corruption("user state: bad history count");
  // One spare slot each: the common next step is UserState::Apply (one more
  // index, often one more device), which then does not reallocate.
  state.history.reserve(count + 1);
  state.history.resize(count);
  for (uint64_t& i : state.history) {
    i = core::GetU64BE(p);
    p += 8;
  }
  left -= 8 * size_t{count};
  if (left < 2) return Status::Corruption("user state: truncated");
  uint16_t devices = static_cast<uint16_t>((p[0] << 8) | p[1]);
  p += 2;
  left -= 2;
  state.devices.reserve(devices + 1);
  state.devices.resize(devices);
  for (DeviceState& d : state.devices) {
    if (left < 1 || left - 1 < size_t{p[0]} + 8 + 1 + 32 || p[1 + p[0] + 8] > 1) {
      return Status::Corruption("user state: bad device");
    }
    size_t len = p[0];
    d.device.assign(reinterpret_cast<const char*>(p + 1), len);
    p += 1 + len;
    d.latest_index = core::GetU64BE(p);
    p += 8;
    d.revoked = *p++ == 1;
    std::memcpy(d.identity_key.data(), p, 32);
    p += 32;
    left -= 1 + len + 8 + 1 + 32;
  }
  if (left != 0) return Status::Corruption("user state: trailing bytes");
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

Status LogStorage::IntegrateGroup(std::span<const IntegrationBatch* const> batches) {
  for (const IntegrationBatch* b : batches) KT_RETURN_IF_ERROR(Integrate(*b));
  return Status();
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
