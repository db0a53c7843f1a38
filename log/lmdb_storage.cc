// SPDX-License-Identifier: Apache-2.0
// LmdbStorage: LogStorage on LMDB (see log/lmdb_storage.h, docs/formats.md).
#include "log/lmdb_storage.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/encoding.h"
#include "core/tile.h"

namespace kt::log {

namespace {

using store::AsSpan;
using store::PutMode;
using store::U64Key;

constexpr std::string_view kTreeKey = "tree";
constexpr std::string_view kUsersThroughKey = "users_through";
constexpr size_t kHashSize = 32;

Bytes EncodeHead(uint64_t size, const Hash& root, std::string_view checkpoint) {
  core::Writer w;
  w.U64(size);
  w.Raw(ByteSpan(root));
  w.Raw(checkpoint);
  return w.Take();
}

}  // namespace

StatusOr<std::unique_ptr<LmdbStorage>> LmdbStorage::Open(const std::filesystem::path& dir,
                                                         const LmdbStorageOptions& options) {
  if (options.user_flush_entries == 0) {
    return Status::InvalidArgument("log storage: user_flush_entries must be >= 1");
  }
  KT_ASSIGN_OR_RETURN(std::unique_ptr<store::Env> env, store::Env::Open(dir, options.env));
  Dbs dbs;
  KT_ASSIGN_OR_RETURN(dbs.meta, env->OpenDb("meta"));
  KT_ASSIGN_OR_RETURN(dbs.entries, env->OpenDb("entries"));
  KT_ASSIGN_OR_RETURN(dbs.hashes, env->OpenDb("hashes"));
  KT_ASSIGN_OR_RETURN(dbs.users, env->OpenDb("users"));
  KT_ASSIGN_OR_RETURN(dbs.witnessed, env->OpenDb("witnessed"));
  std::unique_ptr<LmdbStorage> storage(
      new LmdbStorage(std::move(env), dbs, options.user_flush_entries));
  // Cheap consistency checks: the head agrees with the record count and the
  // number of stored hash chunks.
  Status s = storage->env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, storage->ReadHead(txn));
    KT_ASSIGN_OR_RETURN(uint64_t entries, txn.Count(dbs.entries));
    KT_ASSIGN_OR_RETURN(uint64_t chunks, txn.Count(dbs.hashes));
    uint64_t stored = core::StoredHashCount(head.size);
    if (entries != head.size || chunks != (stored + kHashesPerChunk - 1) / kHashesPerChunk) {
      return Status::Corruption("log storage: head size " + std::to_string(head.size) +
                                " disagrees with " + std::to_string(entries) + " entries");
    }
    return Status();
  });
  if (!s.ok()) return s;
  KT_RETURN_IF_ERROR(storage->ReplayUsers());
  return storage;
}

Status LmdbStorage::ReplayUsers() {
  return env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    uint64_t through = 0;
    auto v = txn.Get(dbs_.meta, core::AsBytes(kUsersThroughKey));
    if (v.ok()) {
      KT_ASSIGN_OR_RETURN(through, store::ParseU64Key(*v));
    } else if (v.status().code() != Status::Code::kNotFound) {
      return v.status();
    }
    if (through > head.size) return Status::Corruption("log storage: users_through > size");
    UserMap updated;
    uint64_t next = through;
    Status inner;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.entries, AsSpan(U64Key(through)),
                                   [&](std::string_view key, std::string_view value) {
      auto k = store::ParseU64Key(key);
      auto e = core::DecodeEntry(core::AsBytes(value));
      if (!k.ok() || *k != next || !e.ok()) {
        inner = Status::Corruption("log storage: bad entry while replaying the user index");
        return false;
      }
      auto user = UserBase(txn, updated, e->user);
      if (!user.ok()) {
        inner = user.status();
        return false;
      }
      // A record written by a partly done sliced flush already holds the
      // user's entries up to the freeze: skip those (idempotent replay).
      const std::vector<uint64_t>& history = (*user)->history;
      if (history.empty() || history.back() < next) (*user)->Apply(next, *e);
      ++next;
      return true;
    }));
    KT_RETURN_IF_ERROR(inner);
    if (next != head.size) return Status::Corruption("log storage: missing entries on replay");
    std::unique_lock lock(overlay_mu_);
    overlay_.clear();
    flushing_.clear();
    flush_keys_.clear();
    flush_pos_ = 0;
    for (auto& [user, state] : updated) {
      const UserState& st = state;
      overlay_.Put(user, EncodedUserStateSize(st),
                   [&](uint8_t* out) { EncodeUserStateTo(st, out); });
    }
    overlay_entries_ = head.size - through;
    return Status();
  });
}

StatusOr<LmdbStorage::Head> LmdbStorage::ReadHead(const store::Txn& txn) const {
  Head head;
  head.root = core::EmptyRoot();
  auto v = txn.Get(dbs_.meta, core::AsBytes(kTreeKey));
  if (!v.ok()) {
    if (v.status().code() == Status::Code::kNotFound) return head;
    return v.status();
  }
  core::Reader r(core::AsBytes(*v));
  ByteSpan root, rest;
  if (!r.U64(&head.size) || !r.Raw(kHashSize, &root) || !r.Raw(r.remaining(), &rest) ||
      rest.empty()) {
    return Status::Corruption("log storage: bad tree head");
  }
  std::copy(root.begin(), root.end(), head.root.begin());
  head.checkpoint = core::ToString(rest);
  return head;
}

StatusOr<TreeState> LmdbStorage::ReadTreeState() {
  TreeState state;
  Status s = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    state.size = head.size;
    state.root = head.root;
    state.checkpoint = std::move(head.checkpoint);
    auto last = txn.Last(dbs_.witnessed);
    if (!last.ok()) {
      return last.status().code() == Status::Code::kNotFound ? Status() : last.status();
    }
    KT_ASSIGN_OR_RETURN(state.witnessed_size, store::ParseU64Key(last->first));
    state.witnessed_checkpoint = std::move(last->second);
    return Status();
  });
  if (!s.ok()) return s;
  return state;
}

Status LmdbStorage::ReadHashesIn(const store::Txn& txn, uint64_t size,
                                 std::span<const uint64_t> indexes,
                                 std::vector<Hash>* out) const {
  uint64_t count = core::StoredHashCount(size);
  out->resize(indexes.size());
  uint64_t cached_chunk = UINT64_MAX;
  std::string_view chunk;
  for (size_t i = 0; i < indexes.size(); ++i) {
    uint64_t index = indexes[i];
    if (index >= count) {
      return Status::NotFound("stored hash " + std::to_string(index) + " is beyond the tree");
    }
    uint64_t c = index / kHashesPerChunk;
    if (c != cached_chunk) {
      auto v = txn.Get(dbs_.hashes, AsSpan(U64Key(c)));
      if (!v.ok()) return Status::Corruption("log storage: missing hash chunk");
      chunk = *v;
      cached_chunk = c;
    }
    size_t off = static_cast<size_t>(index % kHashesPerChunk) * kHashSize;
    if (chunk.size() < off + kHashSize) return Status::Corruption("log storage: short hash chunk");
    std::memcpy((*out)[i].data(), chunk.data() + off, kHashSize);
  }
  return Status();
}

Status LmdbStorage::ReadHashes(std::span<const uint64_t> stored_indexes,
                               std::vector<Hash>* out) {
  return env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    return ReadHashesIn(txn, head.size, stored_indexes, out);
  });
}

StatusOr<Bytes> LmdbStorage::ReadTile(int level, uint64_t index, uint64_t width) {
  Bytes data;
  Status s = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    KT_RETURN_IF_ERROR(CheckTileRequest(level, index, width, head.size));
    std::vector<uint64_t> indexes(width);
    for (uint64_t i = 0; i < width; ++i) {
      indexes[i] = core::StoredHashIndex(level * core::kTileHeight, index * core::kTileWidth + i);
    }
    std::vector<Hash> hashes;
    KT_RETURN_IF_ERROR(ReadHashesIn(txn, head.size, indexes, &hashes));
    data.resize(hashes.size() * kHashSize);
    for (size_t i = 0; i < hashes.size(); ++i) {
      std::memcpy(data.data() + i * kHashSize, hashes[i].data(), kHashSize);
    }
    return Status();
  });
  if (!s.ok()) return s;
  return data;
}

StatusOr<Bytes> LmdbStorage::ReadEntryBundle(uint64_t index, uint64_t width) {
  core::Writer w;
  Status s = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    KT_RETURN_IF_ERROR(CheckTileRequest(0, index, width, head.size));
    uint64_t first = index * core::kTileWidth;
    uint64_t seen = 0;
    Status inner;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.entries, AsSpan(U64Key(first)),
                                   [&](std::string_view key, std::string_view value) {
      auto k = store::ParseU64Key(key);
      if (!k.ok() || *k != first + seen || value.size() > core::kMaxEntrySize) {
        inner = Status::Corruption("log storage: entries out of sequence");
        return false;
      }
      w.Vec16(core::AsBytes(value));
      return ++seen < width;
    }));
    if (!inner.ok()) return inner;
    if (seen != width) return Status::Corruption("log storage: missing entries");
    return Status();
  });
  if (!s.ok()) return s;
  return w.Take();
}

StatusOr<Bytes> LmdbStorage::ReadEntry(uint64_t index) {
  Bytes entry;
  Status s = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(std::string_view v, txn.Get(dbs_.entries, AsSpan(U64Key(index))));
    entry.assign(v.begin(), v.end());
    return Status();
  });
  if (!s.ok()) return s;
  return entry;
}

StatusOr<UserState> LmdbStorage::ReadUser(std::string_view user) {
  UserState state;
  if (user.empty()) return state;  // LMDB keys must be non-empty; no such user
  {
    // A user absent from the overlay has its latest state in the database
    // (a flush only moves states from the overlay to the database after
    // they are committed).
    std::shared_lock lock(overlay_mu_);
    if (const UserOverlay::Record* found = FindOverlay(user)) return DecodeUserState(found->state());
  }
  Status s = env_->View([&](const store::Txn& txn) -> Status {
    auto v = txn.Get(dbs_.users, core::AsBytes(user));
    if (!v.ok()) {
      return v.status().code() == Status::Code::kNotFound ? Status() : v.status();
    }
    KT_ASSIGN_OR_RETURN(state, DecodeUserState(core::AsBytes(*v)));
    return Status();
  });
  if (!s.ok()) return s;
  return state;
}

Status LmdbStorage::ReadUsers(std::span<const std::string_view> users,
                              std::vector<UserState>* out) {
  out->assign(users.size(), UserState());
  std::vector<size_t> missing;  // positions not in the overlay
  {
    // Overlay first, then the database (see ReadUser for why that order).
    std::shared_lock lock(overlay_mu_);
    for (size_t i = 0; i < users.size(); ++i) {
      if (users[i].empty()) continue;
      if (const UserOverlay::Record* state = FindOverlay(users[i])) {
        KT_ASSIGN_OR_RETURN((*out)[i], DecodeUserState(state->state()));
      } else {
        missing.push_back(i);
      }
    }
  }
  if (missing.empty()) return Status();
  return env_->View([&](const store::Txn& txn) -> Status {
    for (size_t i : missing) {
      auto v = txn.Get(dbs_.users, core::AsBytes(users[i]));
      if (!v.ok()) {
        if (v.status().code() == Status::Code::kNotFound) continue;
        return v.status();
      }
      KT_ASSIGN_OR_RETURN((*out)[i], DecodeUserState(core::AsBytes(*v)));
    }
    return Status();
  });
}

StatusOr<WitnessedCheckpoint> LmdbStorage::ReadWitnessed(uint64_t min_size) {
  WitnessedCheckpoint found;
  bool have = false;
  Status s = env_->View([&](const store::Txn& txn) -> Status {
    Status inner;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.witnessed, AsSpan(U64Key(min_size)),
                                   [&](std::string_view key, std::string_view value) {
      auto k = store::ParseU64Key(key);
      if (!k.ok()) {
        inner = k.status();
        return false;
      }
      found = WitnessedCheckpoint{*k, std::string(value)};
      have = true;
      return false;
    }));
    return inner;
  });
  if (!s.ok()) return s;
  if (!have) return Status::NotFound("no witnessed checkpoint that large");
  return found;
}

Status LmdbStorage::PutHashes(store::Txn& txn, uint64_t first_stored,
                              std::span<const Hash> hashes) const {
  uint64_t pos = first_stored;
  size_t i = 0;
  while (i < hashes.size()) {
    uint64_t c = pos / kHashesPerChunk;
    uint64_t off = pos % kHashesPerChunk;
    Bytes chunk;
    chunk.reserve(kHashesPerChunk * kHashSize);
    if (off != 0) {  // extend the partial last chunk
      KT_ASSIGN_OR_RETURN(std::string_view old, txn.Get(dbs_.hashes, AsSpan(U64Key(c))));
      if (old.size() != off * kHashSize) return Status::Corruption("log storage: bad last chunk");
      chunk.assign(old.begin(), old.end());
    }
    for (; off < kHashesPerChunk && i < hashes.size(); ++off, ++i, ++pos) {
      chunk.insert(chunk.end(), hashes[i].begin(), hashes[i].end());
    }
    // Only the first chunk can already exist (partial); the rest are new and
    // sort after every existing key.
    bool existing = c == first_stored / kHashesPerChunk && first_stored % kHashesPerChunk != 0;
    KT_RETURN_IF_ERROR(txn.Put(dbs_.hashes, AsSpan(U64Key(c)), chunk,
                               existing ? PutMode::kUpsert : PutMode::kAppend));
  }
  return Status();
}

const UserOverlay::Record* LmdbStorage::FindOverlay(std::string_view user) const {
  if (const UserOverlay::Record* r = overlay_.Find(user)) return r;
  return flushing_.Find(user);
}

size_t LmdbStorage::FlushSlice(size_t entries) const {
  // 2 x keys x entries / user_flush_entries per batch finishes the frozen
  // states within half the interval before the next freeze; at least
  // kMinFlushSlice so that small batches still make progress.
  constexpr size_t kMinFlushSlice = 256;
  size_t keys = flush_keys_.size();
  double slice = std::ceil(2.0 * static_cast<double>(keys) * static_cast<double>(entries) /
                           static_cast<double>(user_flush_entries_));
  if (slice >= static_cast<double>(keys)) return keys;
  return std::max(static_cast<size_t>(slice), kMinFlushSlice);
}

StatusOr<UserState*> LmdbStorage::UserBase(const store::Txn& txn, UserMap& updated,
                                           std::string_view user) const {
  auto it = updated.find(user);
  if (it != updated.end()) return &it->second;
  UserState base;
  // Writers hold write_mu_: no concurrent change of the overlay.
  if (const UserOverlay::Record* state = FindOverlay(user)) {
    KT_ASSIGN_OR_RETURN(base, DecodeUserState(state->state()));
  } else {
    if (user.empty()) return Status::InvalidArgument("integrate: entry without user");
    auto v = txn.Get(dbs_.users, core::AsBytes(user));
    if (v.ok()) {
      KT_ASSIGN_OR_RETURN(base, DecodeUserState(core::AsBytes(*v)));
    } else if (v.status().code() != Status::Code::kNotFound) {
      return v.status();
    }
  }
  return &updated.emplace(std::string(user), std::move(base)).first->second;
}

Status LmdbStorage::Integrate(const IntegrationBatch& batch) {
  const IntegrationBatch* one[] = {&batch};
  return IntegrateGroup(one);
}

Status LmdbStorage::IntegrateGroup(std::span<const IntegrationBatch* const> batches) {
  if (batches.empty()) return Status();
  if (batches.size() > 1) {
    for (const IntegrationBatch* b : batches) {
      if (b->users.empty() || b->entries.empty()) {
        return Status::InvalidArgument("integrate: a group needs non-empty batches with users");
      }
    }
  }
  std::lock_guard write_lock(write_mu_);
  UserMap derived;  // when the batch carries no user states
  // changed: the final state of each user of these batches, in order (a
  // later batch's state of a user supersedes an earlier one); encoded into
  // overlay_ only once the transaction has committed.
  std::vector<std::pair<std::string_view, const UserState*>> changed;
  bool freeze = false;          // freeze the overlay after this write
  size_t flush_end = flush_pos_;  // this write puts flush_keys_[flush_pos_, flush_end)
  uint64_t size = 0;
  uint64_t added = 0;  // entries of all the batches
  Status s = env_->Update([&](store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    changed.clear();
    derived.clear();
    size = head.size;
    added = 0;
    bool has_checkpoint = !head.checkpoint.empty();
    for (const IntegrationBatch* b : batches) {
      const IntegrationBatch& batch = *b;
      KT_RETURN_IF_ERROR(CheckBatch(batch, size, has_checkpoint));
      for (size_t i = 0; i < batch.entries.size(); ++i) {
        KT_RETURN_IF_ERROR(txn.Put(dbs_.entries, AsSpan(U64Key(batch.first_index + i)),
                                   batch.entries[i], PutMode::kAppend));
      }
      KT_RETURN_IF_ERROR(PutHashes(txn, core::StoredHashCount(size), batch.stored_hashes));
      if (!batch.users.empty()) {
        for (const auto& [user, state] : batch.users) {
          if (user.empty()) return Status::InvalidArgument("integrate: entry without user");
          changed.emplace_back(user, state.get());
        }
      } else {
        for (size_t i = 0; i < batch.decoded.size(); ++i) {
          KT_ASSIGN_OR_RETURN(UserState * user, UserBase(txn, derived, batch.decoded[i].user));
          user->Apply(batch.first_index + i, batch.decoded[i]);
        }
        for (auto& [user, state] : derived) changed.emplace_back(user, &state);
      }
      size += batch.entries.size();
      added += batch.entries.size();
      has_checkpoint = true;
      if (batch.witnessed && !batch.entries.empty()) {
        KT_RETURN_IF_ERROR(
            txn.Put(dbs_.witnessed, AsSpan(U64Key(size)), core::AsBytes(batch.checkpoint)));
      }
    }
    const IntegrationBatch& batch = *batches.back();  // the new head
    freeze = added > 0 && overlay_entries_ + added >= user_flush_entries_;
    // The next slice of the frozen states, in key order (B-tree locality);
    // all of the rest when the overlay freezes again now.
    size_t left = flush_keys_.size() - flush_pos_;
    flush_end = flush_pos_ + (freeze ? left : std::min(left, FlushSlice(added)));
    for (size_t k = flush_pos_; k < flush_end; ++k) {
      const UserOverlay::Record* r = flush_keys_[k].record;
      KT_RETURN_IF_ERROR(txn.Put(dbs_.users, core::AsBytes(r->id()), r->state()));
    }
    if (left > 0 && flush_end == flush_keys_.size()) {
      KT_RETURN_IF_ERROR(txn.Put(dbs_.meta, core::AsBytes(kUsersThroughKey),
                                 AsSpan(U64Key(flush_through_))));
    }
    return txn.Put(dbs_.meta, core::AsBytes(kTreeKey),
                   EncodeHead(size, batch.root, batch.checkpoint));
  });
  if (!s.ok()) return s;
  std::unique_lock lock(overlay_mu_);
  for (const auto& [user, state] : changed) {
    const UserState& st = *state;
    overlay_.Put(user, EncodedUserStateSize(st),
                 [&](uint8_t* out) { EncodeUserStateTo(st, out); });
  }
  overlay_entries_ += added;
  // The database now holds the states of this slice: readers find them there.
  for (size_t k = flush_pos_; k < flush_end; ++k) flushing_.Erase(flush_keys_[k].record);
  if (flush_end == flush_keys_.size()) {
    KT_CHECK(flushing_.empty());
    flush_keys_.clear();
    flush_pos_ = 0;
  } else {
    flush_pos_ = flush_end;
  }
  if (freeze) {
    flushing_.swap(overlay_);  // overlay_ is now empty (flushing_ was)
    flush_through_ = size;
    overlay_entries_ = 0;
  }
  lock.unlock();
  if (freeze) {
    // flushing_ no longer changes: list it in key order for the slices.
    flush_keys_.reserve(flushing_.size());
    flushing_.ForEach([&](const UserOverlay::Record* r) {
      FlushKey k{{0, 0}, r};
      uint8_t pad[16] = {};
      std::string_view id = r->id();
      std::memcpy(pad, id.data(), std::min<size_t>(16, id.size()));
      k.prefix[0] = core::GetU64BE(pad);
      k.prefix[1] = core::GetU64BE(pad + 8);
      flush_keys_.push_back(k);
    });
    std::sort(flush_keys_.begin(), flush_keys_.end());
  }
  return Status();
}

Status LmdbStorage::PublishWitnessed(const std::string& checkpoint, uint64_t size) {
  return env_->Update([&](store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Head head, ReadHead(txn));
    uint64_t latest = 0;
    auto last = txn.Last(dbs_.witnessed);
    if (last.ok()) {
      KT_ASSIGN_OR_RETURN(latest, store::ParseU64Key(last->first));
    } else if (last.status().code() != Status::Code::kNotFound) {
      return last.status();
    }
    KT_RETURN_IF_ERROR(CheckPublish(checkpoint, size, head.size, latest));
    return txn.Put(dbs_.witnessed, AsSpan(U64Key(size)), core::AsBytes(checkpoint));
  });
}

}  // namespace kt::log
