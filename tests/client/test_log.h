// SPDX-License-Identifier: Apache-2.0
// TestLog: an in-process log for client tests built only from core/ (real
// Ed25519 keys, real RFC 6962 trees, real signed and cosigned checkpoints,
// real tiles and proofs), served through the client's Fetcher interface. It
// is a real data source, not a mock of verification; a `tamper` hook lets a
// test play an adversarial log by rewriting any answer.
#ifndef KT_TESTS_CLIENT_TEST_LOG_H_
#define KT_TESTS_CLIENT_TEST_LOG_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/fetcher.h"
#include "core/checkpoint.h"
#include "core/cosignature.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "core/tile.h"
#include "core/tlog_proof.h"

namespace kt::client::testing {

inline constexpr uint64_t kTestNow = 1'800'000'000;  // fixed clock for tests

// TestKeys are one log key and three witness keys.
struct TestKeys {
  core::SignerKey log;
  std::vector<core::SignerKey> witnesses;
  static TestKeys Make(const std::string& origin = "kt.test/log") {
    TestKeys k{core::GenerateSignerKey(origin, core::kSigTypeEd25519).value(), {}};
    for (int i = 1; i <= 3; i++) {
      k.witnesses.push_back(
          core::GenerateSignerKey("w" + std::to_string(i) + ".test", core::kSigTypeCosignatureV1)
              .value());
    }
    return k;
  }
  // Policy: the log, three witnesses, quorum 2 of 3.
  std::string PolicyText() const {
    std::string p = "log " + log.VerifierKeyString() + "\n";
    for (size_t i = 0; i < witnesses.size(); i++) {
      p += "witness w" + std::to_string(i + 1) + " " + witnesses[i].VerifierKeyString() + "\n";
    }
    p += "group g 2 w1 w2 w3\nquorum g\n";
    return p;
  }
};

// VectorHashReader reads stored hashes from a dense vector.
class VectorHashReader : public core::HashReader {
 public:
  explicit VectorHashReader(const std::vector<core::Hash>& hashes) : hashes_(hashes) {}
  core::Status ReadHashes(std::span<const uint64_t> indexes, std::vector<core::Hash>* out) override {
    out->clear();
    for (uint64_t i : indexes) {
      if (i >= hashes_.size()) return core::Status::NotFound("no stored hash " + std::to_string(i));
      out->push_back(hashes_[i]);
    }
    return core::Status();
  }

 private:
  const std::vector<core::Hash>& hashes_;
};

class TestLog : public Fetcher {
 public:
  explicit TestLog(const TestKeys& keys) : keys_(keys) { Publish(); }

  // Tamper, when set, sees every request and may replace the answer.
  using Tamper = std::function<std::optional<core::StatusOr<std::string>>(
      std::string_view path, const core::StatusOr<std::string>& honest)>;
  Tamper tamper;
  int cosigners = 3;                    // witnesses that cosign Publish()ed checkpoints
  uint64_t cosign_time = kTestNow;      // their timestamp

  uint64_t size() const { return builder_.size(); }
  const std::vector<core::Bytes>& entries() const { return entries_; }

  uint64_t AppendRaw(const core::Bytes& entry) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t index = builder_.size();
    builder_.AppendEntry(entry, &stored_);
    entries_.push_back(entry);
    return index;
  }

  // SetKey appends a key-set entry for (user, device) with identity key
  // `key`, endorsed by each (device, signer) of `endorsers`.
  uint64_t SetKey(const std::string& user, const std::string& device,
                  const core::Ed25519Signer& key,
                  const std::vector<std::pair<std::string, const core::Ed25519Signer*>>& endorsers = {}) {
    core::Entry e = Base(user, device, core::EntryKind::kKeySet);
    e.identity_key = key.public_key();
    auto pop = key.Sign(core::PopMessage(user, device, e.identity_key));
    e.possession_sig.assign(pop.begin(), pop.end());
    Endorse(&e, endorsers);
    return Commit(e);
  }
  uint64_t Revoke(const std::string& user, const std::string& device,
                  const std::vector<std::pair<std::string, const core::Ed25519Signer*>>& endorsers = {}) {
    core::Entry e = Base(user, device, core::EntryKind::kRevoke);
    Endorse(&e, endorsers);
    return Commit(e);
  }

  core::Hash Root(uint64_t size) {
    VectorHashReader r(stored_);
    return core::TreeHash(size, r).value();
  }
  // Sign returns a checkpoint of `size` signed by the log and cosigned by the
  // first `n` witnesses at `time`.
  std::string Sign(uint64_t size, int n, uint64_t time) {
    core::Checkpoint cp{keys_.log.name, size, Root(size), {}};
    std::string note = core::SignCheckpoint(keys_.log, cp);
    std::vector<core::NoteSignature> sigs;
    std::string text = core::FormatCheckpoint(cp);
    for (int i = 0; i < n; i++) sigs.push_back(core::Cosign(keys_.witnesses[i], text, time));
    return core::AddCosignatures(note, sigs).value();
  }
  // Publish makes the current tree the served /checkpoint.
  void Publish() { served_ = Sign(size(), cosigners, cosign_time); }
  void Serve(std::string note) { served_ = std::move(note); }
  const std::string& served() const { return served_; }

  core::StatusOr<std::string> Get(std::string_view path) override {
    core::StatusOr<std::string> honest = Honest(path);
    if (tamper) {
      auto t = tamper(path, honest);
      if (t.has_value()) return *t;
    }
    return honest;
  }

  // ProofFor returns the tlog-proof of entry `index` against the served checkpoint.
  std::string ProofFor(uint64_t index) {
    std::lock_guard<std::mutex> lock(mu_);
    return ProofForLocked(index, ServedSize());
  }

  uint64_t ServedSize() const {
    auto note = core::ParseNote(served_).value();
    return core::ParseCheckpoint(note.text).value().size;
  }

 private:
  core::Entry Base(const std::string& user, const std::string& device, core::EntryKind kind) {
    core::Entry e;
    e.kind = kind;
    e.user = user;
    e.device = device;
    e.timestamp_ms = 1000 * (kTestNow + size());
    auto it = last_.find(user);
    e.prev = it == last_.end() ? 0 : it->second + 1;
    return e;
  }
  void Endorse(core::Entry* e,
               const std::vector<std::pair<std::string, const core::Ed25519Signer*>>& endorsers) {
    for (const auto& [dev, signer] : endorsers) {
      core::Endorsement en;
      en.device = dev;
      en.signature =
          signer->Sign(core::EndorseMessage(e->user, e->device, e->kind, e->identity_key, e->prev));
      e->endorsements.push_back(en);
    }
  }
  uint64_t Commit(const core::Entry& e) {
    uint64_t index = AppendRaw(core::EncodeEntry(e).value());
    last_[e.user] = index;
    return index;
  }

  core::StatusOr<std::string> Honest(std::string_view path) {
    std::lock_guard<std::mutex> lock(mu_);
    if (path == "checkpoint") return served_;
    if (path.starts_with("tile/")) return TileBody(path);
    std::map<std::string, std::string> q;
    std::string_view base = path.substr(0, path.find('?'));
    if (path.find('?') != std::string_view::npos) {
      std::string_view rest = path.substr(path.find('?') + 1);
      while (!rest.empty()) {
        std::string_view kv = rest.substr(0, rest.find('&'));
        rest = kv.size() < rest.size() ? rest.substr(kv.size() + 1) : std::string_view();
        size_t eq = kv.find('=');
        q[std::string(kv.substr(0, eq))] = Decode(kv.substr(eq + 1));
      }
    }
    if (base == "v1/proof/consistency") {
      uint64_t old_size = std::stoull(q["old"]);
      uint64_t new_size = std::stoull(q["size"]);
      if (old_size > new_size || new_size > size()) {
        return core::Status::InvalidArgument("size beyond tree");
      }
      VectorHashReader r(stored_);
      nlohmann::json j;
      j["old"] = old_size;
      j["size"] = new_size;
      j["proof"] = nlohmann::json::array();
      for (const auto& h : core::ProveTree(new_size, old_size, r).value()) {
        j["proof"].push_back(core::Base64Encode(h));
      }
      return j.dump();
    }
    if (base == "v1/lookup" || base == "v1/history") return UserAnswer(q["user"], base == "v1/lookup");
    return core::Status::NotFound("no such path");
  }

  core::StatusOr<std::string> UserAnswer(const std::string& user, bool lookup) {
    uint64_t cp_size = ServedSize();
    std::map<std::string, uint64_t> current;  // device -> latest index
    std::vector<uint64_t> all;
    for (uint64_t i = 0; i < cp_size; i++) {
      core::Entry e = core::DecodeEntry(entries_[i]).value();
      if (e.user != user) continue;
      all.push_back(i);
      if (e.kind == core::EntryKind::kKeySet) {
        current[e.device] = i;
      } else {
        current.erase(e.device);
      }
    }
    if (all.empty()) return core::Status::NotFound("unknown user");
    nlohmann::json j;
    j["user"] = user;
    j["checkpoint"] = served_;
    auto item = [&](uint64_t i) {
      nlohmann::json d;
      d["index"] = i;
      d["entry"] = core::Base64Encode(entries_[i]);
      d["proof"] = ProofForLocked(i, cp_size);
      return d;
    };
    if (lookup) {
      j["devices"] = nlohmann::json::array();
      for (const auto& [dev, i] : current) {
        nlohmann::json d = item(i);
        d["device"] = dev;
        j["devices"].push_back(d);
      }
    } else {
      j["entries"] = nlohmann::json::array();
      for (uint64_t i : all) j["entries"].push_back(item(i));
    }
    return j.dump();
  }

  std::string ProofForLocked(uint64_t index, uint64_t cp_size) {
    VectorHashReader r(stored_);
    core::TlogProof p;
    p.extra = entries_[index];
    p.index = index;
    p.inclusion = core::ProveRecord(cp_size, index, r).value();
    p.checkpoint = served_;
    return core::FormatTlogProof(p);
  }

  core::StatusOr<std::string> TileBody(std::string_view path) {
    auto tile = core::ParseTilePath(path);
    if (!tile.ok()) return tile.status();
    if (tile->is_entry_bundle()) {
      uint64_t first = tile->index * core::kTileWidth;
      if (first + tile->width > entries_.size()) return core::Status::NotFound("no such bundle");
      std::vector<core::Bytes> b(entries_.begin() + static_cast<std::ptrdiff_t>(first),
                                 entries_.begin() + static_cast<std::ptrdiff_t>(first + tile->width));
      return core::ToString(core::EncodeEntryBundle(b).value());
    }
    VectorHashReader r(stored_);
    auto data = core::ReadTileData(*tile, r);
    if (!data.ok()) return core::Status::NotFound("no such tile");
    return core::ToString(*data);
  }

  static std::string Decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }

  TestKeys keys_;
  std::mutex mu_;
  core::TreeBuilder builder_;
  std::vector<core::Hash> stored_;
  std::vector<core::Bytes> entries_;
  std::map<std::string, uint64_t> last_;
  std::string served_;
};

}  // namespace kt::client::testing

#endif  // KT_TESTS_CLIENT_TEST_LOG_H_
