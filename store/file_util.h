// SPDX-License-Identifier: Apache-2.0
// Durable whole-file helpers: atomic replace (write temp, fsync, rename, fsync
// dir) and secret files that must be private to their owner (mode 0600).
#ifndef KT_STORE_FILE_UTIL_H_
#define KT_STORE_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kt::store {

// WriteFileAtomic replaces path with data: it writes a temp file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory, so a
// reader (or a crash) sees the old or the new content, never a mix. The file
// gets exactly `mode` (set with fchmod, so umask does not apply); the temp
// file is 0600 until then. OK, or an error naming the failing call. Not safe
// against concurrent writers of the same path (last rename wins).
core::Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                             mode_t mode = 0644);

// ReadFile returns the whole content of path, or NotFound if it does not
// exist, InvalidArgument if it is larger than max_size bytes (or not a regular
// file), IOError otherwise.
core::StatusOr<std::string> ReadFile(const std::filesystem::path& path,
                                     size_t max_size = size_t{64} << 20);

// ReadSecretFile reads a private key or token file (at most 1 MiB). It refuses
// (PermissionDenied) a file whose mode grants any access to group or others
// (mode & 077 != 0), telling the operator to `chmod 600` it; the check is made
// on the opened descriptor, so it applies to the file actually read.
core::StatusOr<std::string> ReadSecretFile(const std::filesystem::path& path);

// WriteSecretFile atomically writes data with mode 0600. It refuses (Conflict)
// to replace an existing file unless overwrite is true, so a key is never lost
// by accident.
core::Status WriteSecretFile(const std::filesystem::path& path, std::string_view data,
                             bool overwrite = false);

}  // namespace kt::store

#endif  // KT_STORE_FILE_UTIL_H_
