// SPDX-License-Identifier: Apache-2.0
// Tests for x3dh/mailbox_store.h: store/list oldest first with limit,
// dedup by id, both bounds (messages and bytes), delete idempotence and
// accounting, per-device isolation, persistence across reopen.
#include "x3dh/mailbox_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "tests/testing/vectors.h"

namespace kt::x3dh {
namespace {

std::unique_ptr<MailboxStore> OpenStore(const std::string& dir, uint64_t max_messages = 1000,
                                        uint64_t max_bytes = kMailboxMaxBytes) {
  MailboxOptions o;
  o.env.no_sync = true;
  o.env.map_size = uint64_t{1} << 30;
  o.max_messages = max_messages;
  o.max_bytes = max_bytes;
  auto s = MailboxStore::Open(dir, o);
  KT_CHECK(s.ok());
  return std::move(s).value();
}

core::Bytes Msg(int i, size_t size = 40) {
  core::Bytes b(size, static_cast<uint8_t>(i));
  b[0] = static_cast<uint8_t>(i >> 8);
  return b;
}

core::Hash Id(const core::Bytes& m) { return core::Sha256(m); }

TEST(MailboxStoreTest, StoreListDelete) {
  auto box = OpenStore(testing::TempDir("mailbox"));
  for (int i = 0; i < 5; ++i) {
    core::Bytes m = Msg(i);
    auto out = box->Store("bob", "phone", Id(m), m, 1000 + i);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, StoreOutcome::kStored);
  }
  auto all = box->List("bob", "phone", 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*all)[i].message, Msg(i));
    EXPECT_EQ((*all)[i].id, Id(Msg(i)));
    EXPECT_EQ((*all)[i].received, 1000u + i);
  }
  auto two = box->List("bob", "phone", 2);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].message, Msg(1));
  EXPECT_TRUE(box->List("bob", "laptop", 100)->empty());

  EXPECT_TRUE(*box->Delete("bob", "phone", Id(Msg(0))));
  EXPECT_FALSE(*box->Delete("bob", "phone", Id(Msg(0))));
  EXPECT_FALSE(*box->Delete("bob", "laptop", Id(Msg(1))));
  auto rest = box->List("bob", "phone", 100);
  ASSERT_EQ(rest->size(), 4u);
  EXPECT_EQ((*rest)[0].message, Msg(1));
  EXPECT_EQ(box->Usage("bob", "phone")->messages, 4u);
  EXPECT_EQ(box->Usage("bob", "phone")->bytes, 4u * 40);
}

TEST(MailboxStoreTest, DuplicateStoredOnce) {
  auto box = OpenStore(testing::TempDir("mailbox"));
  core::Bytes m = Msg(1);
  EXPECT_EQ(*box->Store("u", "d", Id(m), m, 1), StoreOutcome::kStored);
  EXPECT_EQ(*box->Store("u", "d", Id(m), m, 2), StoreOutcome::kDuplicate);
  EXPECT_EQ(box->List("u", "d", 10)->size(), 1u);
  EXPECT_EQ((*box->List("u", "d", 10))[0].received, 1u);
  // Another device's mailbox is separate.
  EXPECT_EQ(*box->Store("u", "d2", Id(m), m, 2), StoreOutcome::kStored);
  // After an ack the same message may be delivered again.
  ASSERT_TRUE(*box->Delete("u", "d", Id(m)));
  EXPECT_EQ(*box->Store("u", "d", Id(m), m, 3), StoreOutcome::kStored);
}

TEST(MailboxStoreTest, MessageBound) {
  auto box = OpenStore(testing::TempDir("mailbox"), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*box->Store("u", "d", Id(Msg(i)), Msg(i), 1), StoreOutcome::kStored);
  }
  EXPECT_EQ(*box->Store("u", "d", Id(Msg(9)), Msg(9), 1), StoreOutcome::kFull);
  // A duplicate of a stored one is still reported as duplicate.
  EXPECT_EQ(*box->Store("u", "d", Id(Msg(0)), Msg(0), 1), StoreOutcome::kDuplicate);
  ASSERT_TRUE(*box->Delete("u", "d", Id(Msg(1))));
  EXPECT_EQ(*box->Store("u", "d", Id(Msg(9)), Msg(9), 1), StoreOutcome::kStored);
  EXPECT_EQ(box->List("u", "d", 10)->back().message, Msg(9));
}

TEST(MailboxStoreTest, ByteBound) {
  auto box = OpenStore(testing::TempDir("mailbox"), 1000, 100);
  EXPECT_EQ(*box->Store("u", "d", Id(Msg(1, 60)), Msg(1, 60), 1), StoreOutcome::kStored);
  EXPECT_EQ(*box->Store("u", "d", Id(Msg(2, 41)), Msg(2, 41), 1), StoreOutcome::kFull);
  EXPECT_EQ(*box->Store("u", "d", Id(Msg(3, 40)), Msg(3, 40), 1), StoreOutcome::kStored);
  EXPECT_EQ(box->Usage("u", "d")->bytes, 100u);
  EXPECT_EQ(*box->Store("u", "d2", Id(Msg(2, 41)), Msg(2, 41), 1), StoreOutcome::kStored);
}

TEST(MailboxStoreTest, LargeMessageAndReopen) {
  std::string dir = testing::TempDir("mailbox");
  core::Bytes big = Msg(7, (size_t{1} << 20) + 100);
  {
    auto box = OpenStore(dir);
    EXPECT_EQ(*box->Store("u", "d", Id(big), big, 5), StoreOutcome::kStored);
  }
  auto box = OpenStore(dir);
  auto list = box->List("u", "d", 1);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].message, big);
  EXPECT_EQ(*box->Store("u", "d", Id(big), big, 6), StoreOutcome::kDuplicate);
}

TEST(MailboxStoreTest, ConcurrentWritersShareCommitsAndDedup) {
  auto box = OpenStore(testing::TempDir("mailbox"));
  std::atomic<int> stored{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        // Each thread stores its own 20 messages and one shared message.
        core::Bytes m = i == 0 ? Msg(999) : Msg(t * 100 + i);
        auto out = box->Store("u", "d", Id(m), m, 1);
        KT_CHECK(out.ok());
        if (*out == StoreOutcome::kStored) stored++;
        if (*out == StoreOutcome::kDuplicate) duplicates++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stored.load(), 8 * 19 + 1);
  EXPECT_EQ(duplicates.load(), 7);
  EXPECT_EQ(box->Usage("u", "d")->messages, 8u * 19 + 1);
  EXPECT_EQ(box->List("u", "d", 1000)->size(), 8u * 19 + 1);
}

}  // namespace
}  // namespace kt::x3dh
