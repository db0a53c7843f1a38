// SPDX-License-Identifier: Apache-2.0
// Persisted client state: one atomically replaced file per log origin.
#include "client/state_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/note.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

std::string FormatStateFile(std::string_view signed_note) {
  return std::string(kStateFileHeader) + std::string(signed_note);
}

StatusOr<StoredCheckpoint> ParseStateFile(std::string_view text) {
  if (text.size() > kMaxStateFileSize) return Status::Corruption("state file: too large");
  if (!text.starts_with(kStateFileHeader)) {
    return Status::Corruption("state file: missing kt-client-state/v1 header");
  }
  std::string_view note_text = text.substr(kStateFileHeader.size());
  auto note = core::ParseNote(note_text);
  if (!note.ok()) return Status::Corruption("state file: " + note.status().message());
  auto cp = core::ParseCheckpoint(note->text);
  if (!cp.ok()) return Status::Corruption("state file: " + cp.status().message());
  return StoredCheckpoint{std::string(note_text), std::move(cp).value()};
}

StateLock::~StateLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "checkpoints", ec);
  if (ec) return Status::IOError("state dir " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return Status::IOError("state dir " + dir.string() + ": " + ec.message());
  return std::unique_ptr<StateStore>(new StateStore(dir));
}

std::filesystem::path StateStore::PathFor(std::string_view origin) const {
  return dir_ / "checkpoints" / (core::HexEncode(core::Sha256(core::AsBytes(origin))) + ".state");
}

StatusOr<std::optional<StoredCheckpoint>> StateStore::Load(std::string_view origin) const {
  auto text = store::ReadFile(PathFor(origin), kMaxStateFileSize);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return std::optional<StoredCheckpoint>();
    return Status::IOError(text.status().message());
  }
  KT_ASSIGN_OR_RETURN(StoredCheckpoint sc, ParseStateFile(*text));
  if (sc.checkpoint.origin != origin) {
    return Status::Corruption("state file " + PathFor(origin).string() + " holds origin " +
                              sc.checkpoint.origin);
  }
  return std::optional<StoredCheckpoint>(std::move(sc));
}

Status StateStore::Store(std::string_view signed_note) {
  auto note = core::ParseNote(signed_note);
  if (!note.ok()) return note.status();
  KT_ASSIGN_OR_RETURN(core::Checkpoint cp, core::ParseCheckpoint(note->text));
  return store::WriteFileAtomic(PathFor(cp.origin), FormatStateFile(signed_note), 0600);
}

StatusOr<std::unique_ptr<StateLock>> StateStore::Lock() {
  std::string path = (dir_ / "lock").string();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    close(fd);
    return Status::IOError("flock " + path + ": " + std::strerror(e));
  }
  return std::make_unique<StateLock>(fd);
}

}  // namespace kt::client
