// SPDX-License-Identifier: Apache-2.0
// Test helpers for the log suites: valid entries, integration batches built
// with core::TreeBuilder, and storage factories for the typed contract suites.
#ifndef KT_TESTS_LOG_LOG_TESTING_H_
#define KT_TESTS_LOG_LOG_TESTING_H_

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/entry.h"
#include "core/merkle.h"
#include "log/lmdb_storage.h"
#include "log/memory_storage.h"
#include "log/storage.h"
#include "tests/testing/vectors.h"

namespace kt::testing {

// TestEntry returns a format-valid entry (signatures are not checked by the
// storage or the sequencer): a key set with identity key bytes `key_byte`,
// or a revoke.
inline core::Entry TestEntry(const std::string& user, const std::string& device,
                             uint8_t key_byte = 1, bool revoke = false) {
  core::Entry e;
  e.kind = revoke ? core::EntryKind::kRevoke : core::EntryKind::kKeySet;
  e.user = user;
  e.device = device;
  if (!revoke) {
    e.identity_key.fill(key_byte);
    e.possession_sig.assign(64, key_byte);
  }
  return e;
}

// TestCheckpoint is a stand-in for a signed checkpoint (storage does not
// verify it).
inline std::string TestCheckpoint(uint64_t size, const core::Hash& root) {
  return "test/log\n" + std::to_string(size) + "\n" + core::ToString(root) + "\n";
}

// AppendBatch builds the batch that appends `decoded` (encoded with
// core::EncodeEntry, or `raw` bytes when given) to `tree`, advancing it.
inline log::IntegrationBatch AppendBatch(core::TreeBuilder& tree,
                                         std::vector<core::Entry> decoded,
                                         std::vector<core::Bytes> raw = {}) {
  log::IntegrationBatch b;
  b.first_index = tree.size();
  for (size_t i = 0; i < decoded.size(); ++i) {
    core::Bytes bytes;
    if (raw.empty()) {
      decoded[i].timestamp_ms = 1000 + tree.size();
      auto enc = core::EncodeEntry(decoded[i]);
      KT_CHECK(enc.ok());
      bytes = *enc;
    } else {
      bytes = raw[i];
    }
    tree.AppendEntry(bytes, &b.stored_hashes);
    b.entries.push_back(std::move(bytes));
  }
  b.decoded = std::move(decoded);
  b.root = tree.Root();
  b.checkpoint = TestCheckpoint(tree.size(), b.root);
  return b;
}

// StorageFactory makes fresh storages of one kind; Reopen returns the same
// log (a new LmdbStorage on the same directory; the same MemoryStorage).
struct MemoryStorageFactory {
  std::unique_ptr<log::MemoryStorage> keep;
  log::LogStorage* Make() {
    keep = std::make_unique<log::MemoryStorage>();
    return keep.get();
  }
  log::LogStorage* Reopen() { return keep.get(); }
};

template <uint64_t kUserFlushEntries>
struct LmdbStorageFactoryT {
  std::string dir;
  std::unique_ptr<log::LmdbStorage> keep;
  log::LogStorage* Make() {
    dir = TempDir("lmdb-storage");
    return Reopen();
  }
  log::LogStorage* Reopen() {
    keep.reset();
    log::LmdbStorageOptions options;
    options.user_flush_entries = kUserFlushEntries;
    auto s = log::LmdbStorage::Open(dir, options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    keep = std::move(s).value();
    return keep.get();
  }
};
// LmdbStorageFactory uses the default user flush threshold (the user index
// stays in the overlay in tests); LmdbFlushingStorageFactory flushes it
// every 5 entries, so both paths run the contract suite.
using LmdbStorageFactory = LmdbStorageFactoryT<log::LmdbStorageOptions{}.user_flush_entries>;
using LmdbFlushingStorageFactory = LmdbStorageFactoryT<5>;

}  // namespace kt::testing

#endif  // KT_TESTS_LOG_LOG_TESTING_H_
