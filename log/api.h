// SPDX-License-Identifier: Apache-2.0
// LogApi: the log node's HTTP API (DESIGN.md "Log HTTP API") as transport-
// free handlers: the tlog-tiles read API (/checkpoint, /tile/...), POST
// /v1/bindings, /v1/lookup, /v1/history and the proof endpoints. Each handler
// turns a request into an ApiResponse (status, content type, headers, body);
// log/http_server.cc maps cpp-httplib requests onto them, so this file and
// its tests need no HTTP library ("HTTP only translates", STYLE.md).
#ifndef KT_LOG_API_H_
#define KT_LOG_API_H_

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "log/binding_rules.h"
#include "log/sequencer.h"
#include "log/storage.h"
#include "log/witness_collector.h"

namespace kt::log {

// ApiResponse is one HTTP answer.
struct ApiResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

inline constexpr char kJsonContentType[] = "application/json";
inline constexpr char kTextContentType[] = "text/plain; charset=utf-8";
inline constexpr char kOctetContentType[] = "application/octet-stream";
// Cache policies (tlog-tiles: full tiles never change; /checkpoint a few s).
inline constexpr char kImmutableCache[] = "public, max-age=31536000, immutable";
inline constexpr char kPartialTileCache[] = "public, max-age=60";
inline constexpr char kCheckpointCache[] = "public, max-age=2";

// ErrorResponse renders a non-OK status as {"error", "code"} with its HTTP
// status (net/http_status), plus Retry-After for 503 and 429.
ApiResponse ErrorResponse(const Status& status);

struct LogApiOptions {
  // witness_timeout: how long POST /v1/bindings waits for a witnessed
  // checkpoint containing the entry before answering 202 (pending).
  std::chrono::milliseconds witness_timeout{5000};
  // checkpoints_witnessed: the sequencer stores every batch's checkpoint as
  // witnessed in the batch's commit (SequencerOptions::checkpoints_witnessed),
  // so a new entry's first witnessed checkpoint is its batch's checkpoint and
  // POST /v1/bindings proves against it without reading storage for it.
  bool checkpoints_witnessed = false;
};

// LoggedDevice is one current (unrevoked) device of a user as of the latest
// witnessed checkpoint: its latest entry and that entry's tlog-proof.
struct LoggedDevice {
  std::string device;
  uint64_t index = 0;                     // index of the device's latest entry
  Bytes entry;                            // its canonical bytes
  std::array<uint8_t, 32> identity_key{};  // the entry's Ed25519 identity key
  std::string proof;                      // tlog-proof against `checkpoint`
};

// WitnessedLookup is what GET /v1/lookup answers for a user.
struct WitnessedLookup {
  std::string checkpoint;             // the latest witnessed checkpoint
  std::vector<LoggedDevice> devices;  // current devices, ordered by device id
};

// StoredHashCache is a core::HashReader over a log's stored hashes that keeps
// recently read ones in a direct-mapped table of kSlots entries. A stored
// hash never changes once written (the tree only grows), so a cached one is
// always current. Thread-safe and lock-free (a reader never waits for a
// thread that may be descheduled: each slot is a seqlock, and a writer that
// finds its slot busy just does not cache); `storage` must outlive it.
class StoredHashCache final : public core::HashReader {
 public:
  static constexpr size_t kSlots = size_t{1} << 13;
  explicit StoredHashCache(core::HashReader& storage);
  Status ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) override;

 private:
  struct Slot {
    std::atomic<uint64_t> seq{0};             // odd while a writer fills the slot
    std::atomic<uint64_t> index_plus_one{0};  // 0: empty
    std::array<std::atomic<uint64_t>, 4> words{};  // the hash
  };
  bool Lookup(uint64_t index, Hash* out) const;
  void Store(uint64_t index, const Hash& hash);

  core::HashReader& storage_;
  std::unique_ptr<Slot[]> slots_;
};

// LogApi is thread-safe; every handler may run concurrently. The storage,
// sequencer, collector and token (if not null) must outlive it.
class LogApi {
 public:
  // operator_token: null = no operator (every bearer token gets 401).
  LogApi(LogStorage& storage, Sequencer& sequencer, WitnessCollector& collector,
         const OperatorToken* operator_token, LogApiOptions options = {});

  // GET /checkpoint: the latest witnessed checkpoint; 503 before the first.
  ApiResponse GetCheckpoint();
  // GET /<path> for path "tile/..." (no leading slash): hash tiles and entry
  // bundles; 400 for a path ParseTilePath rejects, 404 for a tile beyond the
  // tree. Entry bundles are gzipped when accept_gzip.
  ApiResponse GetTile(std::string_view path, bool accept_gzip);
  // POST /v1/bindings. `authorization` is the Authorization header, if any.
  // `allow_rate` is called after every check of DESIGN.md's order that
  // precedes 429 passed; false gives 429.
  ApiResponse PostBinding(std::string_view body, const std::optional<std::string>& authorization,
                          const std::function<bool()>& allow_rate);
  // GET /v1/lookup?user=U and /v1/history?user=U (nullopt = parameter missing).
  ApiResponse GetLookup(const std::optional<std::string>& user);
  // LookupWitnessed is GetLookup's data: the user's current devices as of the
  // latest witnessed checkpoint, each with its tlog-proof. InvalidArgument for
  // a missing or malformed user, Unavailable before the first witnessed
  // checkpoint, NotFound when the user has no entry in it. Also used by the
  // prekey directory (log/prekey_api.h).
  StatusOr<WitnessedLookup> LookupWitnessed(const std::optional<std::string>& user);
  ApiResponse GetHistory(const std::optional<std::string>& user);
  // GET /v1/proof/inclusion?index=I[&size=N], /v1/proof/consistency?old=M[&size=N].
  // Without size: the latest witnessed checkpoint's size.
  ApiResponse GetInclusionProof(const std::optional<std::string>& index,
                                const std::optional<std::string>& size);
  ApiResponse GetConsistencyProof(const std::optional<std::string>& old_size,
                                  const std::optional<std::string>& size);

 private:
  struct WitnessedView;
  StatusOr<WitnessedView> ReadWitnessedView();
  StatusOr<std::vector<std::pair<uint64_t, Bytes>>> UserEntriesBefore(const UserState& user,
                                                                      uint64_t size);
  StatusOr<std::string> ProofText(uint64_t index, const Bytes& entry, uint64_t size,
                                  const std::string& checkpoint);
  ApiResponse AnswerSequenced(const SequencedEntry& sequenced);
  // ResolveProofSize is the tree size a proof request is answered for (the
  // `size` parameter, or the latest witnessed size); InvalidArgument for a
  // malformed size or one beyond the integrated tree.
  StatusOr<uint64_t> ResolveProofSize(const std::optional<std::string>& size_param);
  // WitnessedProof is the tlog-proof of a new entry against the first
  // witnessed checkpoint that contains it (which must exist).
  StatusOr<std::string> WitnessedProof(const SequencedEntry& sequenced);

  LogStorage& storage_;
  StoredHashCache hashes_;  // proofs read the tree's hashes through it
  Sequencer& sequencer_;
  WitnessCollector& collector_;
  const OperatorToken* operator_token_;
  LogApiOptions options_;
  std::atomic<uint64_t> integrated_size_{0};  // a size the tree is known to have reached
};

// GzipCompress returns the gzip (RFC 1952) form of `data`.
std::string GzipCompress(std::string_view data);

}  // namespace kt::log

#endif  // KT_LOG_API_H_
