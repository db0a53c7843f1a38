// SPDX-License-Identifier: Apache-2.0
// MailboxStore: the server's per-device mailbox of X3DH initial messages
// (docs/x3dh.md "Server API", "Mailbox") in its own LMDB environment.
// Bounded per device (messages and bytes), deduplicated by x3dh::MessageId,
// listed oldest first, deleted by id. Each call is atomic (one LMDB txn,
// possibly shared with concurrent writers).
#ifndef KT_X3DH_MAILBOX_STORE_H_
#define KT_X3DH_MAILBOX_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "store/group_commit.h"
#include "store/lmdb.h"

namespace kt::x3dh {

inline constexpr uint64_t kMailboxMaxMessages = 1'000;
inline constexpr uint64_t kMailboxMaxBytes = uint64_t{16} << 20;  // 16 MiB
inline constexpr size_t kMailboxMaxFetch = 1'000;

struct MailboxOptions {
  store::EnvOptions env;
  uint64_t max_messages = kMailboxMaxMessages;  // per device
  uint64_t max_bytes = kMailboxMaxBytes;        // per device, sum of message sizes
};

// StoreOutcome is what Store did.
enum class StoreOutcome : uint8_t {
  kStored,     // new message kept
  kDuplicate,  // a message with this id is already in the mailbox (nothing written)
  kFull,       // the mailbox holds max_messages or the message would pass max_bytes
};

// MailboxMessage is one stored message.
struct MailboxMessage {
  core::Hash id{};          // x3dh::MessageId of `message`
  core::Bytes message;      // x3dh::EncodeInitialMessage bytes
  uint64_t received = 0;    // unix seconds when stored

  bool operator==(const MailboxMessage&) const = default;
};

// MailboxUsage is one device's mailbox size.
struct MailboxUsage {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// MailboxStore is thread-safe. Concurrent Store and Delete calls share
// write transactions (store::GroupCommitter, one durable commit per batch).
class MailboxStore {
 public:
  // Open opens (creating) the store in `dir`. IOError on failure.
  static core::StatusOr<std::unique_ptr<MailboxStore>> Open(const std::filesystem::path& dir,
                                                            MailboxOptions options = {});
  ~MailboxStore();

  // Store adds `message` (whose MessageId the caller computed as `id`) to the
  // mailbox of user/device in one write transaction. A duplicate id is not
  // stored twice (kDuplicate, also when the mailbox is full). Non-OK only on
  // storage failure.
  core::StatusOr<StoreOutcome> Store(std::string_view user, std::string_view device,
                                     const core::Hash& id, core::ByteSpan message,
                                     uint64_t received);

  // List returns up to `limit` messages of the mailbox, oldest first.
  core::StatusOr<std::vector<MailboxMessage>> List(std::string_view user, std::string_view device,
                                                   size_t limit);

  // Delete removes the message with `id`; returns whether it was there
  // (deleting is idempotent).
  core::StatusOr<bool> Delete(std::string_view user, std::string_view device, const core::Hash& id);

  // Usage returns the mailbox's size (zero for an unknown device).
  core::StatusOr<MailboxUsage> Usage(std::string_view user, std::string_view device);

 private:
  struct Dbs {
    store::Dbi meta;  // DeviceStoreKey -> uint64 messages || uint64 bytes || uint64 next_seq
    store::Dbi msgs;  // DeviceStoreKey || uint64 seq -> id[32] || uint64 received || message
    store::Dbi ids;   // DeviceStoreKey || id[32] -> uint64 seq
  };
  MailboxStore(std::unique_ptr<store::Env> env, Dbs dbs, MailboxOptions options);
  // Write runs fn in a write txn shared with concurrent writers (group
  // commit); fn may run more than once.
  core::Status Write(const std::function<core::Status(store::Txn&)>& fn);

  std::unique_ptr<store::Env> env_;
  std::unique_ptr<store::GroupCommitter> committer_;  // destroyed before env_
  Dbs dbs_;
  MailboxOptions options_;
};

}  // namespace kt::x3dh

#endif  // KT_X3DH_MAILBOX_STORE_H_
