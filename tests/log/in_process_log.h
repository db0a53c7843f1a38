// SPDX-License-Identifier: Apache-2.0
// Test fixture base: a log node without HTTP — a real MemoryStorage, a
// running Sequencer (5 ms batches), a WitnessCollector without a witness
// policy (every checkpoint published at integration), an operator token and
// the LogApi over them — for the handler tests of log/api and log/prekey_api.
#ifndef KT_TESTS_LOG_IN_PROCESS_LOG_H_
#define KT_TESTS_LOG_IN_PROCESS_LOG_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>

#include "core/keys.h"
#include "core/policy.h"
#include "log/api.h"
#include "log/memory_storage.h"
#include "log/sequencer.h"
#include "log/witness_collector.h"

namespace kt::testing {

inline constexpr char kOrigin[] = "example.org/log";
inline constexpr char kToken[] = "operator-token-0123456789abcdef";

class InProcessLogTest : public ::testing::Test {
 protected:
  // StartLog creates the log key, the policy naming it (quorum none), the
  // sequencer and collector, and log_api_; a failure fails the test.
  // api_options.checkpoints_witnessed also sets the sequencer's (as ktlog
  // does without witnesses to wait for).
  void StartLog(log::LogApiOptions api_options = {}) {
    auto key = core::GenerateSignerKey(kOrigin, core::kSigTypeEd25519);
    ASSERT_TRUE(key.ok());
    log_key_ = *key;
    auto policy = core::ParsePolicy("log " + log_key_->VerifierKeyString() + "\nquorum none\n");
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    policy_ = *policy;
    auto token = log::OperatorToken::FromFileContents(kToken);
    ASSERT_TRUE(token.ok());
    token_ = std::make_unique<log::OperatorToken>(*token);
    log::SequencerOptions options;
    options.batch_interval = std::chrono::milliseconds(5);
    options.checkpoints_witnessed = api_options.checkpoints_witnessed;
    auto seq = log::Sequencer::Create(storage_, log::MakeCheckpointSigner(*log_key_), options);
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    sequencer_ = std::move(seq).value();
    auto wc = log::WitnessCollector::Create(storage_, std::nullopt);
    ASSERT_TRUE(wc.ok());
    collector_ = std::move(wc).value();
    sequencer_->SetOnIntegrated(
        [this](const std::string& cp, uint64_t size) { collector_->OnIntegrated(cp, size); });
    ASSERT_TRUE(collector_->Start().ok());
    sequencer_->Start();
    log_api_ = std::make_unique<log::LogApi>(storage_, *sequencer_, *collector_, token_.get(),
                                             api_options);
  }
  void TearDown() override {
    if (sequencer_) sequencer_->Stop();
    if (collector_) collector_->Stop();
  }

  log::MemoryStorage storage_;
  std::optional<core::SignerKey> log_key_;
  std::optional<core::Policy> policy_;
  std::unique_ptr<log::OperatorToken> token_;
  std::unique_ptr<log::Sequencer> sequencer_;
  std::unique_ptr<log::WitnessCollector> collector_;
  std::unique_ptr<log::LogApi> log_api_;
};

}  // namespace kt::testing

#endif  // KT_TESTS_LOG_IN_PROCESS_LOG_H_
