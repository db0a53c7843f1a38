// SPDX-License-Identifier: Apache-2.0
// LogApi handlers: DESIGN.md "Log HTTP API" (tlog-tiles reads, bindings,
// lookup, history, proofs). See api.h.
#include "log/api.h"

#include <zlib.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/encoding.h"
#include "core/entry.h"
#include "core/merkle.h"
#include "core/tile.h"
#include "core/tlog_proof.h"
#include "core/utf8.h"
#include "net/http_status.h"
#include "net/json_writer.h"

namespace kt::log {

namespace {

using nlohmann::json;

ApiResponse JsonResponse(int status, const json& j) {
  ApiResponse r;
  r.status = status;
  r.content_type = kJsonContentType;
  // Every string we put in is valid UTF-8; `replace` keeps dump exception-free.
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Status ValidateUserParam(const std::optional<std::string>& user) {
  if (!user) return Status::InvalidArgument("missing query parameter \"user\"");
  if (user->empty() || user->size() > core::kMaxIdLength) {
    return Status::InvalidArgument("\"user\" must be 1 to 255 bytes");
  }
  if (!core::IsValidUtf8(*user)) return Status::InvalidArgument("\"user\" is not valid UTF-8");
  return Status();
}

StatusOr<uint64_t> ParseParam(const std::optional<std::string>& value, const char* name) {
  if (!value) return Status::InvalidArgument(std::string("missing query parameter \"") + name + "\"");
  auto v = core::ParseDecimal(*value);
  if (!v.ok()) {
    return Status::InvalidArgument(std::string("\"") + name + "\" must be a canonical decimal");
  }
  return *v;
}

// ProofAnswer renders {"<key>": value, "proof": [base64...], "size": size}
// by hand, byte-identical to nlohmann's dump (keys sorted; base64 needs no
// escaping): proofs are the read API's hot path.
ApiResponse ProofAnswer(std::string_view key, uint64_t value, const std::vector<Hash>& hashes,
                        uint64_t size) {
  ApiResponse r;
  r.content_type = kJsonContentType;
  std::string& b = r.body;
  b.reserve(48 + hashes.size() * 47);
  b += "{\"";
  b += key;
  b += "\":";
  b += std::to_string(value);
  b += ",\"proof\":[";
  for (size_t i = 0; i < hashes.size(); i++) {
    if (i > 0) b += ',';
    b += '"';
    b += core::Base64Encode(hashes[i]);
    b += '"';
  }
  b += "],\"size\":";
  b += std::to_string(size);
  b += '}';
  return r;
}


// ProofSize is the tree size a proof request is answered for: the `size`
// parameter, or the latest witnessed size when it is absent. InvalidArgument
// for a malformed size or one beyond the integrated tree.
StatusOr<uint64_t> ProofSize(const std::optional<std::string>& size_param, const TreeState& head) {
  uint64_t size = head.witnessed_size;
  if (size_param) {
    auto s = ParseParam(size_param, "size");
    if (!s.ok()) return s.status();
    size = *s;
  }
  if (size > head.size) {
    return Status::InvalidArgument("size " + std::to_string(size) + " is beyond the tree size " +
                                   std::to_string(head.size));
  }
  return size;
}

}  // namespace

// WitnessedView is the latest witnessed checkpoint and the integrated size.
struct LogApi::WitnessedView {
  uint64_t size = 0;        // witnessed size
  std::string checkpoint;   // witnessed checkpoint (signed note)
  uint64_t tree_size = 0;   // integrated size (>= size)
};

ApiResponse ErrorResponse(const Status& status) {
  ApiResponse r;
  r.status = net::HttpStatusFor(status.code());
  r.content_type = kJsonContentType;
  r.body = net::JsonError(status);
  if (r.status == 503 || r.status == 429) r.headers.emplace_back("Retry-After", "1");
  return r;
}

StoredHashCache::StoredHashCache(core::HashReader& storage)
    : storage_(storage), slots_(new Slot[kSlots]) {}

// Seqlock read (Boehm, "Can seqlocks get along with programming language
// memory models?"): the slot's words count only if seq was even and did not
// change around them.
bool StoredHashCache::Lookup(uint64_t index, Hash* out) const {
  const Slot& slot = slots_[index % kSlots];
  const uint64_t s1 = slot.seq.load(std::memory_order_acquire);
  if (s1 & 1) return false;
  const uint64_t got = slot.index_plus_one.load(std::memory_order_relaxed);
  uint64_t words[4];
  for (size_t k = 0; k < 4; k++) words[k] = slot.words[k].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot.seq.load(std::memory_order_relaxed) != s1 || got != index + 1) return false;
  std::memcpy(out->data(), words, sizeof words);
  return true;
}

void StoredHashCache::Store(uint64_t index, const Hash& hash) {
  Slot& slot = slots_[index % kSlots];
  uint64_t s = slot.seq.load(std::memory_order_relaxed);
  if ((s & 1) || !slot.seq.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel)) {
    return;  // another writer has the slot: skip caching this one
  }
  std::atomic_thread_fence(std::memory_order_release);
  uint64_t words[4];
  std::memcpy(words, hash.data(), sizeof words);
  slot.index_plus_one.store(index + 1, std::memory_order_relaxed);
  for (size_t k = 0; k < 4; k++) slot.words[k].store(words[k], std::memory_order_relaxed);
  slot.seq.store(s + 2, std::memory_order_release);
}

Status StoredHashCache::ReadHashes(std::span<const uint64_t> indexes, std::vector<Hash>* out) {
  out->resize(indexes.size());
  std::vector<uint64_t> missing;  // in the callers' order
  std::vector<size_t> where;      // their positions in `out`
  for (size_t i = 0; i < indexes.size(); i++) {
    if (!Lookup(indexes[i], &(*out)[i])) {
      missing.push_back(indexes[i]);
      where.push_back(i);
    }
  }
  if (missing.empty()) return Status();
  std::vector<Hash> read;
  KT_RETURN_IF_ERROR(storage_.ReadHashes(missing, &read));
  if (read.size() != missing.size()) return Status::Internal("hash reader returned a wrong count");
  for (size_t k = 0; k < missing.size(); k++) {
    (*out)[where[k]] = read[k];
    Store(missing[k], read[k]);
  }
  return Status();
}

LogApi::LogApi(LogStorage& storage, Sequencer& sequencer, WitnessCollector& collector,
               const OperatorToken* operator_token, LogApiOptions options)
    : storage_(storage),
      hashes_(storage),
      sequencer_(sequencer),
      collector_(collector),
      operator_token_(operator_token),
      options_(options) {}

StatusOr<LogApi::WitnessedView> LogApi::ReadWitnessedView() {
  KT_ASSIGN_OR_RETURN(TreeState head, storage_.ReadTreeState());
  if (head.witnessed_checkpoint.empty()) {
    return Status::Unavailable("no witnessed checkpoint yet");
  }
  return WitnessedView{head.witnessed_size, std::move(head.witnessed_checkpoint), head.size};
}

ApiResponse LogApi::GetCheckpoint() {
  auto view = ReadWitnessedView();
  if (!view.ok()) return ErrorResponse(view.status());
  ApiResponse r;
  r.content_type = kTextContentType;
  r.body = std::move(view->checkpoint);
  r.headers.emplace_back("Cache-Control", kCheckpointCache);
  return r;
}

ApiResponse LogApi::GetTile(std::string_view path, bool accept_gzip) {
  auto tile = core::ParseTilePath(path);
  if (!tile.ok()) return ErrorResponse(Status::InvalidArgument("bad tile path: " + tile.status().message()));
  StatusOr<Bytes> data = tile->is_entry_bundle()
                             ? storage_.ReadEntryBundle(tile->index, tile->width)
                             : storage_.ReadTile(tile->level, tile->index, tile->width);
  if (!data.ok()) return ErrorResponse(data.status());
  ApiResponse r;
  r.content_type = kOctetContentType;
  r.headers.emplace_back("Cache-Control", tile->is_full() ? kImmutableCache : kPartialTileCache);
  std::string_view raw = core::AsStringView(*data);
  if (tile->is_entry_bundle()) {
    r.headers.emplace_back("Vary", "Accept-Encoding");
    if (accept_gzip) {
      r.body = GzipCompress(raw);
      r.headers.emplace_back("Content-Encoding", "gzip");
      return r;
    }
  }
  r.body = std::string(raw);
  return r;
}

ApiResponse LogApi::PostBinding(std::string_view body,
                                const std::optional<std::string>& authorization,
                                const std::function<bool()>& allow_rate) {
  // DESIGN.md error order: 400, 401, 422, 403, 409, 429, 503.
  auto request = ParseBindingRequest(body);
  if (!request.ok()) return ErrorResponse(request.status());
  std::optional<std::string> bearer;
  if (authorization) {
    auto token = ParseBearerToken(*authorization);
    if (!token.ok()) return ErrorResponse(token.status());
    bearer = std::move(token).value();
  }
  auto user = storage_.ReadUser(request->entry.user);
  if (!user.ok()) return ErrorResponse(user.status());
  auto decision = CheckBinding(*request, *user, operator_token_, bearer);
  if (!decision.ok()) return ErrorResponse(decision.status());
  if (allow_rate && !allow_rate()) {
    return ErrorResponse(Status::ResourceExhausted("rate limited"));
  }
  auto result = sequencer_.Submit(MakeSubmission(*request, *decision)).get();
  if (!result.ok()) return ErrorResponse(result.status());
  return AnswerSequenced(*result);
}

namespace {

// BindingAnswer renders POST /v1/bindings' answer {"entry", "index", and
// `field`} by hand, byte-identical to nlohmann's dump (keys sorted) without
// building a DOM on the write path.
ApiResponse BindingAnswer(int status, const SequencedEntry& sequenced, std::string_view field,
                          std::string_view value) {
  ApiResponse r;
  r.status = status;
  r.content_type = kJsonContentType;
  std::string& b = r.body;
  b.reserve(64 + 2 * ((sequenced.entry.size() + 2) / 3 * 4) + value.size() * 11 / 10);
  b += "{\"entry\":\"";
  b += core::Base64Encode(sequenced.entry);
  b += "\",\"index\":";
  b += std::to_string(sequenced.index);
  b += ",\"";
  b += field;
  b += "\":";
  net::AppendJsonString(&b, value);
  b += '}';
  return r;
}

}  // namespace

ApiResponse LogApi::AnswerSequenced(const SequencedEntry& sequenced) {
  auto deadline = std::chrono::steady_clock::now() + options_.witness_timeout;
  if (collector_.WaitWitnessed(sequenced.index + 1, deadline)) {
    auto proof = WitnessedProof(sequenced);
    if (proof.ok()) return BindingAnswer(200, sequenced, "proof", *proof);
  }
  return BindingAnswer(202, sequenced, "status", "pending");
}

StatusOr<std::string> LogApi::WitnessedProof(const SequencedEntry& sequenced) {
  if (options_.checkpoints_witnessed && !sequenced.checkpoint.empty()) {
    // The batch's own commit stored its checkpoint as witnessed, so it is
    // the first witnessed checkpoint that contains the entry.
    return ProofText(sequenced.index, sequenced.entry, sequenced.checkpoint_size,
                     sequenced.checkpoint);
  }
  KT_ASSIGN_OR_RETURN(WitnessedCheckpoint witnessed, storage_.ReadWitnessed(sequenced.index + 1));
  return ProofText(sequenced.index, sequenced.entry, witnessed.size, witnessed.checkpoint);
}

StatusOr<std::string> LogApi::ProofText(uint64_t index, const Bytes& entry, uint64_t size,
                                        const std::string& checkpoint) {
  core::TlogProof proof;
  proof.extra = entry;
  proof.index = index;
  KT_ASSIGN_OR_RETURN(proof.inclusion, core::ProveRecord(size, index, hashes_));
  proof.checkpoint = checkpoint;
  return core::FormatTlogProof(proof);
}

StatusOr<std::vector<std::pair<uint64_t, Bytes>>> LogApi::UserEntriesBefore(
    const UserState& user, uint64_t size) {
  std::vector<std::pair<uint64_t, Bytes>> out;
  for (uint64_t index : user.history) {
    if (index >= size) break;  // history is increasing
    KT_ASSIGN_OR_RETURN(Bytes entry, storage_.ReadEntry(index));
    out.emplace_back(index, std::move(entry));
  }
  return out;
}

StatusOr<WitnessedLookup> LogApi::LookupWitnessed(const std::optional<std::string>& user) {
  KT_RETURN_IF_ERROR(ValidateUserParam(user));
  KT_ASSIGN_OR_RETURN(WitnessedView view, ReadWitnessedView());
  KT_ASSIGN_OR_RETURN(UserState state, storage_.ReadUser(*user));
  KT_ASSIGN_OR_RETURN(auto entries, UserEntriesBefore(state, view.size));
  if (entries.empty()) return Status::NotFound("unknown user");
  // The user's state as of the witnessed checkpoint: replay its entries.
  struct Latest {
    size_t entry = 0;  // into entries
    core::Entry decoded;
  };
  std::map<std::string, Latest> devices;  // ordered by device id
  for (size_t i = 0; i < entries.size(); i++) {
    auto e = core::DecodeEntry(entries[i].second);
    if (!e.ok()) return Status::Corruption("stored entry does not decode");
    std::string device = e->device;
    devices[device] = Latest{i, std::move(e).value()};
  }
  WitnessedLookup out;
  out.checkpoint = view.checkpoint;
  for (auto& [device, latest] : devices) {
    if (latest.decoded.kind == core::EntryKind::kRevoke) continue;
    auto& [index, entry] = entries[latest.entry];
    KT_ASSIGN_OR_RETURN(std::string proof, ProofText(index, entry, view.size, view.checkpoint));
    out.devices.push_back(LoggedDevice{device, index, std::move(entry),
                                       latest.decoded.identity_key, std::move(proof)});
  }
  return out;
}

ApiResponse LogApi::GetLookup(const std::optional<std::string>& user) {
  auto lookup = LookupWitnessed(user);
  if (!lookup.ok()) return ErrorResponse(lookup.status());
  json list = json::array();
  for (const LoggedDevice& d : lookup->devices) {
    list.push_back({{"device", d.device},
                    {"index", d.index},
                    {"entry", core::Base64Encode(d.entry)},
                    {"proof", d.proof}});
  }
  return JsonResponse(200,
                      {{"user", *user}, {"checkpoint", lookup->checkpoint}, {"devices", list}});
}

ApiResponse LogApi::GetHistory(const std::optional<std::string>& user) {
  Status valid = ValidateUserParam(user);
  if (!valid.ok()) return ErrorResponse(valid);
  auto view = ReadWitnessedView();
  if (!view.ok()) return ErrorResponse(view.status());
  auto state = storage_.ReadUser(*user);
  if (!state.ok()) return ErrorResponse(state.status());
  auto entries = UserEntriesBefore(*state, view->size);
  if (!entries.ok()) return ErrorResponse(entries.status());
  if (entries->empty()) return ErrorResponse(Status::NotFound("unknown user"));
  json list = json::array();
  for (const auto& [index, entry] : *entries) {
    auto proof = ProofText(index, entry, view->size, view->checkpoint);
    if (!proof.ok()) return ErrorResponse(proof.status());
    list.push_back({{"index", index}, {"entry", core::Base64Encode(entry)}, {"proof", *proof}});
  }
  return JsonResponse(200, {{"user", *user}, {"checkpoint", view->checkpoint}, {"entries", list}});
}

StatusOr<uint64_t> LogApi::ResolveProofSize(const std::optional<std::string>& size_param) {
  if (size_param) {
    // The tree only grows: a size within one already integrated needs no
    // read of the head.
    auto s = ParseParam(size_param, "size");
    if (s.ok() && *s <= integrated_size_.load(std::memory_order_relaxed)) return *s;
  }
  KT_ASSIGN_OR_RETURN(TreeState head, storage_.ReadTreeState());
  uint64_t known = integrated_size_.load(std::memory_order_relaxed);
  while (head.size > known &&
         !integrated_size_.compare_exchange_weak(known, head.size, std::memory_order_relaxed)) {
  }
  return ProofSize(size_param, head);
}

ApiResponse LogApi::GetInclusionProof(const std::optional<std::string>& index_param,
                                      const std::optional<std::string>& size_param) {
  auto index = ParseParam(index_param, "index");
  if (!index.ok()) return ErrorResponse(index.status());
  auto proof_size = ResolveProofSize(size_param);
  if (!proof_size.ok()) return ErrorResponse(proof_size.status());
  uint64_t size = *proof_size;
  if (*index >= size) {
    return ErrorResponse(Status::InvalidArgument("index must be less than size"));
  }
  auto proof = core::ProveRecord(size, *index, hashes_);
  if (!proof.ok()) return ErrorResponse(proof.status());
  return ProofAnswer("index", *index, *proof, size);
}

ApiResponse LogApi::GetConsistencyProof(const std::optional<std::string>& old_param,
                                        const std::optional<std::string>& size_param) {
  auto old_size = ParseParam(old_param, "old");
  if (!old_size.ok()) return ErrorResponse(old_size.status());
  auto proof_size = ResolveProofSize(size_param);
  if (!proof_size.ok()) return ErrorResponse(proof_size.status());
  uint64_t size = *proof_size;
  if (*old_size > size) {
    return ErrorResponse(Status::InvalidArgument("old must not exceed size"));
  }
  auto proof = core::ProveTree(size, *old_size, hashes_);
  if (!proof.ok()) return ErrorResponse(proof.status());
  return ProofAnswer("old", *old_size, *proof, size);
}

std::string GzipCompress(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper (RFC 1952) rather than zlib's.
  KT_CHECK(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                        Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  KT_CHECK(rc == Z_STREAM_END);  // the buffer is deflateBound-sized
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace kt::log
