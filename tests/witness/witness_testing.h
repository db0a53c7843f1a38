// SPDX-License-Identifier: Apache-2.0
// Test helpers for the witness suites, integration tests and the load driver:
// a real in-memory log (RFC 6962 tree + Ed25519 signed-note key) that signs
// checkpoints and builds tlog-witness add-checkpoint bodies with real
// consistency proofs. No gtest dependency.
#ifndef KT_TESTS_WITNESS_WITNESS_TESTING_H_
#define KT_TESTS_WITNESS_WITNESS_TESTING_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/checkpoint.h"
#include "core/encoding.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "tests/core/merkle_testing.h"

namespace kt::testing {

// TestLog is a log named `origin` whose leaves are "leaf-<i>". Not thread-safe.
class TestLog {
 public:
  explicit TestLog(const std::string& origin) : origin_(origin), key_(NewKey(origin)) {}
  // A log with a given key whose leaves are "<leaf_prefix><i>" (a different
  // prefix makes a fork of a log that uses the same key).
  TestLog(const std::string& origin, core::SignerKey key, std::string leaf_prefix)
      : origin_(origin), key_(std::move(key)), leaf_prefix_(std::move(leaf_prefix)) {}

  const std::string& origin() const { return origin_; }
  const core::SignerKey& key() const { return key_; }
  std::string vkey() const { return key_.VerifierKeyString(); }
  uint64_t size() const { return tree_.size; }

  // GrowTo appends leaves until the tree has `size` leaves.
  void GrowTo(uint64_t size) {
    while (tree_.size < size) {
      const std::string leaf = leaf_prefix_ + std::to_string(tree_.size);
      tree_.Append(core::RecordHash(core::AsBytes(leaf)));
    }
  }

  core::Hash Root(uint64_t size) {
    GrowTo(size);
    auto root = core::TreeHash(size, tree_);
    KT_CHECK(root.ok());
    return *root;
  }

  core::Checkpoint CheckpointAt(uint64_t size) { return {origin_, size, Root(size), {}}; }

  // Signed returns the checkpoint of `size` signed by this log's key.
  std::string Signed(uint64_t size) { return core::SignCheckpoint(key_, CheckpointAt(size)); }

  std::vector<core::Hash> Proof(uint64_t old_size, uint64_t size) {
    GrowTo(size);
    auto proof = core::ProveTree(size, old_size, tree_);
    KT_CHECK(proof.ok());
    return *proof;
  }

  // Request returns "old <old>\n<proof lines>\n<signed checkpoint>".
  std::string Request(uint64_t old_size, uint64_t size) {
    return RequestWith(old_size, Proof(old_size, size), Signed(size));
  }

  static std::string RequestWith(uint64_t old_size, const std::vector<core::Hash>& proof,
                                 const std::string& signed_note) {
    std::string out = "old " + std::to_string(old_size) + "\n";
    for (const core::Hash& h : proof) out += core::Base64Encode(h) + "\n";
    return out + "\n" + signed_note;
  }

 private:
  static core::SignerKey NewKey(const std::string& origin) {
    auto key = core::GenerateSignerKey(origin, core::kSigTypeEd25519);
    KT_CHECK(key.ok());
    return *key;
  }

  std::string origin_;
  core::SignerKey key_;
  std::string leaf_prefix_ = "leaf-";
  MemoryHashLog tree_;
};

}  // namespace kt::testing

#endif  // KT_TESTS_WITNESS_WITNESS_TESTING_H_
