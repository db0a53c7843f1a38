// SPDX-License-Identifier: Apache-2.0
// Command-line configuration of `ktlog` (LOG_ISSUE "Command line"): flag
// parsing for the keygen, serve and export subcommands, with defaults and
// bounds. Pure: no file is read here.
#ifndef KT_LOG_CONFIG_H_
#define KT_LOG_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kt::log {

struct KeygenConfig {
  std::string origin;
  std::string out;
};

struct ServeConfig {
  std::string listen;  // host:port
  std::string data;
  std::string key;
  std::string origin;
  std::optional<std::string> witness_policy;
  std::optional<std::string> operator_token_file;
  std::optional<std::string> export_dir;
  std::chrono::milliseconds batch_interval{100};
  size_t batch_max = 4096;
  std::chrono::milliseconds witness_timeout{5000};
  double rate_limit = 0;  // requests/s per client; 0 = off
  size_t max_pool = 65536;
  size_t http_threads = 64;
};

struct ExportConfig {
  std::string data;
  std::string out;
};

// Parse*Args parse the arguments after the subcommand: "--name value" or
// "--name=value" for each flag. InvalidArgument (with the usage problem) for
// an unknown or repeated flag, a missing value, a missing required flag, or
// a number that is not canonical decimal or out of bounds.
core::StatusOr<KeygenConfig> ParseKeygenArgs(const std::vector<std::string>& args);
core::StatusOr<ServeConfig> ParseServeArgs(const std::vector<std::string>& args);
core::StatusOr<ExportConfig> ParseExportArgs(const std::vector<std::string>& args);

// kUsage is the ktlog usage text.
extern const char kUsage[];

}  // namespace kt::log

#endif  // KT_LOG_CONFIG_H_
