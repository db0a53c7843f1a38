// SPDX-License-Identifier: Apache-2.0
// MailboxStore over LMDB (x3dh/mailbox_store.h; layout in docs/x3dh.md
// "Server storage").
#include "x3dh/mailbox_store.h"

#include <algorithm>
#include <optional>

#include "core/encoding.h"
#include "x3dh/prekey_store.h"

namespace kt::x3dh {
namespace {

using core::Status;
using core::StatusOr;

struct Meta {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t next_seq = 0;
};

core::Bytes EncodeMeta(const Meta& m) {
  core::Writer w;
  w.U64(m.messages);
  w.U64(m.bytes);
  w.U64(m.next_seq);
  return w.Take();
}

StatusOr<Meta> ReadMeta(const store::Txn& txn, store::Dbi dbi, const core::Hash& dev) {
  auto v = txn.Get(dbi, dev);
  if (!v.ok()) {
    if (v.status().code() == Status::Code::kNotFound) return Meta{};
    return v.status();
  }
  Meta m;
  core::Reader r(core::AsBytes(*v));
  if (!r.U64(&m.messages) || !r.U64(&m.bytes) || !r.U64(&m.next_seq) || !r.empty()) {
    return Status::Corruption("mailbox: bad meta record");
  }
  return m;
}

core::Bytes Key(const core::Hash& dev, core::ByteSpan suffix) {
  core::Writer w;
  w.Raw(dev);
  w.Raw(suffix);
  return w.Take();
}

core::Bytes SeqKey(const core::Hash& dev, uint64_t seq) {
  return Key(dev, store::AsSpan(store::U64Key(seq)));
}

// StatusOr<optional<T>> for Get: nullopt when the key is absent.
StatusOr<std::optional<std::string_view>> Find(const store::Txn& txn, store::Dbi dbi,
                                               core::ByteSpan key) {
  auto v = txn.Get(dbi, key);
  if (v.ok()) return std::optional<std::string_view>(*v);
  if (v.status().code() == Status::Code::kNotFound) return std::optional<std::string_view>();
  return v.status();
}

constexpr size_t kMsgHeaderSize = 32 + 8;  // id || received

}  // namespace

StatusOr<std::unique_ptr<MailboxStore>> MailboxStore::Open(const std::filesystem::path& dir,
                                                           MailboxOptions options) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<store::Env> env, store::Env::Open(dir, options.env));
  Dbs dbs;
  KT_ASSIGN_OR_RETURN(dbs.meta, env->OpenDb("meta"));
  KT_ASSIGN_OR_RETURN(dbs.msgs, env->OpenDb("msgs"));
  KT_ASSIGN_OR_RETURN(dbs.ids, env->OpenDb("ids"));
  return std::unique_ptr<MailboxStore>(new MailboxStore(std::move(env), dbs, options));
}

MailboxStore::MailboxStore(std::unique_ptr<store::Env> env, Dbs dbs, MailboxOptions options)
    : env_(std::move(env)),
      committer_(std::make_unique<store::GroupCommitter>(env_.get())),
      dbs_(dbs),
      options_(options) {}

MailboxStore::~MailboxStore() = default;

Status MailboxStore::Write(const std::function<Status(store::Txn&)>& fn) {
  return committer_->Run([&fn](store::Txn& txn, Status*) { return fn(txn); });
}

StatusOr<StoreOutcome> MailboxStore::Store(std::string_view user, std::string_view device,
                                           const core::Hash& id, core::ByteSpan message,
                                           uint64_t received) {
  const core::Hash dev = DeviceStoreKey(user, device);
  StoreOutcome outcome = StoreOutcome::kStored;
  Status st = Write([&](store::Txn& txn) -> Status {
    outcome = StoreOutcome::kStored;
    core::Bytes id_key = Key(dev, id);
    KT_ASSIGN_OR_RETURN(auto existing, Find(txn, dbs_.ids, id_key));
    if (existing) {
      outcome = StoreOutcome::kDuplicate;
      return Status();
    }
    KT_ASSIGN_OR_RETURN(Meta meta, ReadMeta(txn, dbs_.meta, dev));
    if (meta.messages >= options_.max_messages ||
        meta.bytes + message.size() > options_.max_bytes) {
      outcome = StoreOutcome::kFull;
      return Status();
    }
    uint64_t seq = meta.next_seq++;
    core::Writer value;
    value.Raw(id);
    value.U64(received);
    value.Raw(message);
    KT_RETURN_IF_ERROR(txn.Put(dbs_.msgs, SeqKey(dev, seq), value.bytes(), store::PutMode::kNoOverwrite));
    KT_RETURN_IF_ERROR(txn.Put(dbs_.ids, id_key, store::AsSpan(store::U64Key(seq)),
                               store::PutMode::kNoOverwrite));
    meta.messages++;
    meta.bytes += message.size();
    return txn.Put(dbs_.meta, dev, EncodeMeta(meta));
  });
  if (!st.ok()) return st.Annotate("mailbox store");
  return outcome;
}

StatusOr<std::vector<MailboxMessage>> MailboxStore::List(std::string_view user,
                                                         std::string_view device, size_t limit) {
  const core::Hash dev = DeviceStoreKey(user, device);
  std::vector<MailboxMessage> out;
  Status st = env_->View([&](const store::Txn& txn) -> Status {
    bool corrupt = false;
    KT_RETURN_IF_ERROR(txn.ForEach(dbs_.msgs, dev, [&](std::string_view k, std::string_view v) {
      if (out.size() >= limit || k.substr(0, dev.size()) != core::AsStringView(dev)) {
        return false;
      }
      if (v.size() < kMsgHeaderSize) {
        corrupt = true;
        return false;
      }
      MailboxMessage m;
      core::Reader r(core::AsBytes(v));
      core::ByteSpan idb;
      (void)r.Raw(32, &idb);
      std::copy(idb.begin(), idb.end(), m.id.begin());
      (void)r.U64(&m.received);
      core::ByteSpan rest = core::AsBytes(v).subspan(kMsgHeaderSize);
      m.message.assign(rest.begin(), rest.end());
      out.push_back(std::move(m));
      return true;
    }));
    if (corrupt) return Status::Corruption("mailbox: bad message record");
    return Status();
  });
  if (!st.ok()) return st;
  return out;
}

StatusOr<bool> MailboxStore::Delete(std::string_view user, std::string_view device,
                                    const core::Hash& id) {
  const core::Hash dev = DeviceStoreKey(user, device);
  bool deleted = false;
  Status st = Write([&](store::Txn& txn) -> Status {
    deleted = false;
    core::Bytes id_key = Key(dev, id);
    KT_ASSIGN_OR_RETURN(auto seq_value, Find(txn, dbs_.ids, id_key));
    if (!seq_value) return Status();
    KT_ASSIGN_OR_RETURN(uint64_t seq, store::ParseU64Key(*seq_value));
    core::Bytes msg_key = SeqKey(dev, seq);
    KT_ASSIGN_OR_RETURN(auto msg, Find(txn, dbs_.msgs, msg_key));
    if (!msg || msg->size() < kMsgHeaderSize) return Status::Corruption("mailbox: dangling id");
    uint64_t size = msg->size() - kMsgHeaderSize;
    KT_ASSIGN_OR_RETURN(Meta meta, ReadMeta(txn, dbs_.meta, dev));
    if (meta.messages == 0 || meta.bytes < size) return Status::Corruption("mailbox: bad counts");
    meta.messages--;
    meta.bytes -= size;
    KT_RETURN_IF_ERROR(txn.Del(dbs_.msgs, msg_key));
    KT_RETURN_IF_ERROR(txn.Del(dbs_.ids, id_key));
    KT_RETURN_IF_ERROR(txn.Put(dbs_.meta, dev, EncodeMeta(meta)));
    deleted = true;
    return Status();
  });
  if (!st.ok()) return st.Annotate("mailbox delete");
  return deleted;
}

StatusOr<MailboxUsage> MailboxStore::Usage(std::string_view user, std::string_view device) {
  const core::Hash dev = DeviceStoreKey(user, device);
  MailboxUsage usage;
  Status st = env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(Meta meta, ReadMeta(txn, dbs_.meta, dev));
    usage.messages = meta.messages;
    usage.bytes = meta.bytes;
    return Status();
  });
  if (!st.ok()) return st;
  return usage;
}

}  // namespace kt::x3dh
