// SPDX-License-Identifier: Apache-2.0
// Exporter: writes the tlog-tiles read API (c2sp.org/tlog-tiles) as static
// files under a web root — `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
// `tile/entries/<N>[.p/<W>]` — so that nginx or a CDN can serve reads for any
// number of readers (`ktlog export`, and `ktlog serve --export-dir`).
#ifndef KT_LOG_EXPORTER_H_
#define KT_LOG_EXPORTER_H_

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

#include "core/status.h"
#include "log/storage.h"

namespace kt::log {

// Exporter is thread-safe (exports are serialised). `storage` must outlive it.
class Exporter {
 public:
  Exporter(LogStorage& storage, std::filesystem::path root);

  // Export makes the web root serve the witnessed checkpoint `checkpoint` of
  // tree size `size`: it writes every hash tile and entry bundle of that
  // tree that the previous Export of this object did not write (all of them
  // on the first call, skipping full tiles already on disk, which never
  // change), each atomically, and then `checkpoint`, so a reader never sees a
  // checkpoint whose tiles are missing. A size not above the last exported
  // one only rewrites nothing. IOError on a write failure.
  Status Export(const std::string& checkpoint, uint64_t size);

  uint64_t exported_size() const;

 private:
  Status WriteFile(const std::string& path, const Bytes& data, bool immutable);
  Status ExportRange(uint64_t old_size, uint64_t size);

  LogStorage& storage_;
  std::filesystem::path root_;
  mutable std::mutex mu_;
  bool first_ = true;
  uint64_t exported_size_ = 0;
};

}  // namespace kt::log

#endif  // KT_LOG_EXPORTER_H_
