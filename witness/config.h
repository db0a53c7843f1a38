// SPDX-License-Identifier: Apache-2.0
// ktwitness command-line flags and the equivalent --config file.
//
// Config file: one setting per line, "<flag name without --> <value>", e.g.
//     # ktwitness configuration
//     listen 127.0.0.1:7380
//     data /var/lib/ktwitness
//     key /etc/ktwitness/witness.key
//     trust-log example.com/log+1a2b3c4d+AeX...
//     trust-log other.example/log+...
//     rate-limit 20
// Blank lines and lines starting with '#' are ignored. Repeatable settings
// (key, trust-log) accumulate from the file and the command line; for the
// others the command line wins over the file.
#ifndef KT_WITNESS_CONFIG_H_
#define KT_WITNESS_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kt::witness {

// ServeConfig is the configuration of `ktwitness serve`.
struct ServeConfig {
  std::string listen_host;  // from --listen HOST:PORT
  int listen_port = 0;      // 0: the kernel picks one (printed at startup)
  std::string data_dir;                  // --data: LMDB environment directory
  std::vector<std::string> key_files;    // --key (repeatable): witness private keys
  std::vector<std::string> trusted_logs; // --trust-log (repeatable): log vkeys
  double rate_limit = 0;                 // --rate-limit: requests/s per origin, 0 = off
  int threads = 64;                      // --threads: HTTP worker threads (one per open connection)
  size_t max_body = 0;                   // --max-body: bytes (0: kMaxRequestSize)
  size_t max_batch = 256;                // --max-batch: requests per group commit
};

// ParseServeArgs parses the arguments after "serve". A --config FILE is read
// (ReadFile) and applied first, then the other flags. InvalidArgument for an
// unknown flag, a missing or bad value, or a missing --listen/--data/--key/
// --trust-log; errors from reading the config file are passed through.
core::StatusOr<ServeConfig> ParseServeArgs(std::span<const std::string> args);

// ApplyConfigText applies a config file's text to *config (see the file
// comment). InvalidArgument naming the line for a bad setting.
core::Status ApplyConfigText(std::string_view text, ServeConfig* config);

// KeygenConfig is the configuration of `ktwitness keygen --name N --out F`.
struct KeygenConfig {
  std::string name;
  std::string out;
};
core::StatusOr<KeygenConfig> ParseKeygenArgs(std::span<const std::string> args);

}  // namespace kt::witness

#endif  // KT_WITNESS_CONFIG_H_
