// SPDX-License-Identifier: Apache-2.0
// Durable whole-file helpers (POSIX). See store/file_util.h.
#include "store/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace kt::store {
namespace {

using core::Status;
using core::StatusOr;

Status Errno(std::string_view what, const std::filesystem::path& path, int err) {
  std::string m = std::string(what) + "(" + path.string() + "): " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(m);
  if (err == EACCES || err == EPERM) return Status::PermissionDenied(m);
  return Status::IOError(m);
}

// Fd closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Close closes now and reports the error close(2) gives (it can carry a
  // deferred write error).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

std::filesystem::path DirOf(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

Status FsyncDir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open", dir, errno);
  if (::fsync(fd.get()) != 0) return Errno("fsync", dir, errno);
  return Status();
}

// ReadFd reads all of fd (at most max_size bytes) into a string.
StatusOr<std::string> ReadFd(int fd, const std::filesystem::path& path, size_t max_size) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path.string() + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return Status::InvalidArgument(path.string() + " is larger than " + std::to_string(max_size) +
                                   " bytes");
  }
  std::string out;
  std::vector<char> buf(64 * 1024);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path, errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_size) {
      return Status::InvalidArgument(path.string() + " is larger than " +
                                     std::to_string(max_size) + " bytes");
    }
    out.append(buf.data(), static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  std::filesystem::path dir = DirOf(path);
  std::string tmpl = (dir / (path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  // mkstemp creates the file with mode 0600, never following a symlink.
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (fd.get() < 0) return Errno("mkstemp", tmpl, errno);
  std::filesystem::path tmp(name.data());
  auto fail = [&tmp](Status s) {
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd.get(), mode) != 0) return fail(Errno("fchmod", tmp, errno));
  if (Status s = WriteAll(fd.get(), data, tmp); !s.ok()) return fail(s);
  if (::fsync(fd.get()) != 0) return fail(Errno("fsync", tmp, errno));
  if (fd.Close() != 0) return fail(Errno("close", tmp, errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(Errno("rename", path, errno));
  return FsyncDir(dir);
}

StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open", path, errno);
  return ReadFd(fd.get(), path, max_size);
}

StatusOr<std::string> ReadSecretFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno("fstat", path, errno);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied("secret file " + path.string() + " has mode " + mode +
                                    ", which group or others can access; run `chmod 600 " +
                                    path.string() + "`");
  }
  return ReadFd(fd.get(), path, size_t{1} << 20);
}

Status WriteSecretFile(const std::filesystem::path& path, std::string_view data, bool overwrite) {
  if (!overwrite) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      return Status::Conflict("refusing to overwrite existing secret file " + path.string());
    }
    if (errno != ENOENT) return Errno("lstat", path, errno);
  }
  return WriteFileAtomic(path, data, 0600);
}

}  // namespace kt::store
