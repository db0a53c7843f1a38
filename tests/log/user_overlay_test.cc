// SPDX-License-Identifier: Apache-2.0
// UserOverlay (log/user_overlay.h) against std::map as the model: random
// puts (growing and shrinking states), finds and erases, through growth and
// long probe runs, with every remaining record checked after each step.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "log/user_overlay.h"

namespace kt::log {
namespace {

using core::Bytes;

void ExpectSame(const UserOverlay& overlay, const std::map<std::string, Bytes>& model) {
  ASSERT_EQ(overlay.size(), model.size());
  for (const auto& [id, state] : model) {
    const UserOverlay::Record* r = overlay.Find(id);
    ASSERT_NE(r, nullptr) << id;
    EXPECT_EQ(r->id(), id);
    EXPECT_EQ(Bytes(r->state().begin(), r->state().end()), state) << id;
  }
  size_t seen = 0;
  overlay.ForEach([&](const UserOverlay::Record* r) {
    ++seen;
    EXPECT_EQ(model.count(std::string(r->id())), 1u);
  });
  EXPECT_EQ(seen, model.size());
}

TEST(UserOverlayTest, MatchesAMapUnderRandomPutsAndErases) {
  std::mt19937_64 rng(7);
  UserOverlay overlay;
  std::map<std::string, Bytes> model;
  for (int step = 0; step < 20000; ++step) {
    std::string id = "user-" + std::to_string(rng() % 3000);
    if (rng() % 4 == 0) {
      const UserOverlay::Record* r = overlay.Find(id);
      ASSERT_EQ(r != nullptr, model.count(id) == 1) << id;
      if (r != nullptr) {
        overlay.Erase(r);
        model.erase(id);
      }
    } else {
      Bytes state(rng() % 100, static_cast<uint8_t>(step));
      overlay.Put(id, state);
      model[id] = state;
    }
    if (step % 2000 == 0) ExpectSame(overlay, model);
  }
  ExpectSame(overlay, model);
  for (auto it = model.begin(); it != model.end();) {
    overlay.Erase(overlay.Find(it->first));
    it = model.erase(it);
    if (model.size() % 500 == 0) ExpectSame(overlay, model);
  }
  EXPECT_TRUE(overlay.empty());
  EXPECT_EQ(overlay.Find("user-1"), nullptr);
}

TEST(UserOverlayTest, CollidingHomesSurviveErasesInTheMiddleOfARun) {
  // Many keys, few erases at a time: the backward shift must keep every
  // member of a probe run reachable.
  UserOverlay overlay;
  std::map<std::string, Bytes> model;
  for (int i = 0; i < 700; ++i) {  // through a growth of the table
    std::string id(1 + i % 255, static_cast<char>('a' + i % 26));
    id += std::to_string(i);
    if (id.size() > 255) id.resize(255);
    overlay.Put(id, Bytes{static_cast<uint8_t>(i)});
    model[id] = Bytes{static_cast<uint8_t>(i)};
  }
  ExpectSame(overlay, model);
  int k = 0;
  for (auto it = model.begin(); it != model.end(); ++k) {
    if (k % 3 == 0) {
      overlay.Erase(overlay.Find(it->first));
      it = model.erase(it);
    } else {
      ++it;
    }
  }
  ExpectSame(overlay, model);
  UserOverlay other;
  other.swap(overlay);
  EXPECT_TRUE(overlay.empty());
  ExpectSame(other, model);
}

}  // namespace
}  // namespace kt::log
