// SPDX-License-Identifier: Apache-2.0
// The client's persisted state (DESIGN.md "Trust policy and proofs on the
// client"): per log origin, the largest checkpoint it fully verified. Each
// origin's checkpoint is one file replaced atomically (write temp, fsync,
// rename, fsync dir), so a crash leaves the old or the new checkpoint, never
// a mix. File format (docs/client.md):
//
//   kt-client-state/v1\n
//   <signed checkpoint note, verbatim>
//
// The directory also holds the contacts pins, the monitor and audit
// positions and fork evidence (their own files). A lock file serialises
// read-verify-write cycles of several `kt` processes sharing a directory.
#ifndef KT_CLIENT_STATE_STORE_H_
#define KT_CLIENT_STATE_STORE_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/checkpoint.h"
#include "core/status.h"

namespace kt::client {

inline constexpr std::string_view kStateFileHeader = "kt-client-state/v1\n";
inline constexpr size_t kMaxStateFileSize = size_t{1} << 20;

// StoredCheckpoint is a checkpoint read back from state: its signed note and
// the parsed checkpoint. It was verified before it was stored.
struct StoredCheckpoint {
  std::string note;
  core::Checkpoint checkpoint;
};

// FormatStateFile returns the state file content for a signed note.
std::string FormatStateFile(std::string_view signed_note);

// ParseStateFile parses a state file strictly: the header line, then a signed
// note (core::ParseNote) whose text is a checkpoint (core::ParseCheckpoint).
// Corruption with a reason otherwise. Signatures are not verified here. For
// every accepted text t, FormatStateFile(ParseStateFile(t)->note) == t.
core::StatusOr<StoredCheckpoint> ParseStateFile(std::string_view text);

// StateLock holds an exclusive flock on the state directory's lock file
// until destroyed.
class StateLock {
 public:
  explicit StateLock(int fd) : fd_(fd) {}
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  int fd_;
};

// StateStore is the state directory. Load/Store are safe to call from
// several threads; across processes, hold Lock() around read-verify-write.
class StateStore {
 public:
  // Open creates `dir` (mode 0700) if needed. IOError on failure.
  static core::StatusOr<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir);

  // Load returns the stored checkpoint of `origin`, nullopt when there is
  // none, Corruption for a damaged file, IOError otherwise.
  core::StatusOr<std::optional<StoredCheckpoint>> Load(std::string_view origin) const;

  // Store atomically replaces the stored checkpoint of the note's origin.
  // The caller has fully verified it (LogClient is the only caller).
  // InvalidArgument if the note is not a checkpoint; IOError on failure.
  core::Status Store(std::string_view signed_note);

  // Lock blocks until this process holds the directory's lock. IOError.
  core::StatusOr<std::unique_ptr<StateLock>> Lock();

  const std::filesystem::path& dir() const { return dir_; }
  // PathFor is the state file of `origin`: checkpoints/<hex SHA-256(origin)>.
  std::filesystem::path PathFor(std::string_view origin) const;

 private:
  explicit StateStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_STATE_STORE_H_
