// SPDX-License-Identifier: Apache-2.0
// ktwitness flags and config file parsing (see config.h).
#include "witness/config.h"

#include <set>
#include <utility>

#include "core/encoding.h"
#include "net/server_options.h"
#include "store/file_util.h"

namespace kt::witness {
namespace {

using core::Status;
using core::StatusOr;

Status Bad(const std::string& why) { return Status::InvalidArgument(why); }

StatusOr<uint64_t> ParseNumber(std::string_view flag, std::string_view value, uint64_t max) {
  auto n = core::ParseDecimal(value);
  if (!n.ok() || *n > max) return Bad("--" + std::string(flag) + " needs a number up to " + std::to_string(max));
  return *n;
}

// Set applies one setting to *c (lists append, scalars replace).
Status Set(std::string_view flag, std::string_view value, ServeConfig* c) {
  if (flag == "listen") {
    KT_ASSIGN_OR_RETURN(auto hp, net::ParseListenAddress(value));
    c->listen_host = std::move(hp.first);
    c->listen_port = hp.second;
    return Status();
  }
  if (flag == "data") {
    if (value.empty()) return Bad("--data needs a directory");
    c->data_dir = std::string(value);
    return Status();
  }
  if (flag == "key") {
    if (value.empty()) return Bad("--key needs a file");
    c->key_files.emplace_back(value);
    return Status();
  }
  if (flag == "trust-log") {
    if (value.empty()) return Bad("--trust-log needs a vkey");
    c->trusted_logs.emplace_back(value);
    return Status();
  }
  if (flag == "rate-limit") {
    KT_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(flag, value, 1000000000));
    c->rate_limit = static_cast<double>(n);
    return Status();
  }
  if (flag == "threads") {
    KT_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(flag, value, 1024));
    if (n == 0) return Bad("--threads must be at least 1");
    c->threads = static_cast<int>(n);
    return Status();
  }
  if (flag == "max-body") {
    KT_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(flag, value, uint64_t{1} << 30));
    c->max_body = static_cast<size_t>(n);
    return Status();
  }
  if (flag == "max-batch") {
    KT_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(flag, value, 100000));
    if (n == 0) return Bad("--max-batch must be at least 1");
    c->max_batch = static_cast<size_t>(n);
    return Status();
  }
  return Bad("unknown setting --" + std::string(flag));
}

bool IsRepeatable(std::string_view flag) { return flag == "key" || flag == "trust-log"; }

// FlagPairs turns "--name value" / "--name=value" arguments into pairs.
StatusOr<std::vector<std::pair<std::string, std::string>>> FlagPairs(
    std::span<const std::string> args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.substr(0, 2) != "--" || a.size() == 2) return Bad("unexpected argument " + std::string(a));
    a.remove_prefix(2);
    const size_t eq = a.find('=');
    if (eq != std::string_view::npos) {
      out.emplace_back(std::string(a.substr(0, eq)), std::string(a.substr(eq + 1)));
      continue;
    }
    if (i + 1 >= args.size()) return Bad("--" + std::string(a) + " needs a value");
    out.emplace_back(std::string(a), args[++i]);
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Status ApplyConfigText(std::string_view text, ServeConfig* config) {
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const size_t sp = line.find_first_of(" \t");
    const std::string_view flag = line.substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? "" : Trim(line.substr(sp));
    Status s = Set(flag, value, config);
    if (!s.ok()) return s.Annotate("config line " + std::to_string(line_no));
  }
  return Status();
}

StatusOr<ServeConfig> ParseServeArgs(std::span<const std::string> args) {
  KT_ASSIGN_OR_RETURN(auto pairs, FlagPairs(args));
  ServeConfig from_flags;
  std::set<std::string> given;
  std::string config_file;
  for (const auto& [flag, value] : pairs) {
    if (flag == "config") {
      if (!config_file.empty()) return Bad("--config given twice");
      config_file = value;
      continue;
    }
    if (!IsRepeatable(flag) && !given.insert(flag).second) return Bad("--" + flag + " given twice");
    KT_RETURN_IF_ERROR(Set(flag, value, &from_flags));
  }
  ServeConfig c;
  if (!config_file.empty()) {
    KT_ASSIGN_OR_RETURN(std::string text, store::ReadFile(config_file, size_t{1} << 20));
    KT_RETURN_IF_ERROR(ApplyConfigText(text, &c));
  }
  // Command-line scalars win; lists accumulate.
  for (const auto& [flag, value] : pairs) {
    if (flag == "config" || IsRepeatable(flag)) continue;
    KT_RETURN_IF_ERROR(Set(flag, value, &c));
  }
  c.key_files.insert(c.key_files.end(), from_flags.key_files.begin(), from_flags.key_files.end());
  c.trusted_logs.insert(c.trusted_logs.end(), from_flags.trusted_logs.begin(),
                        from_flags.trusted_logs.end());
  if (c.listen_host.empty()) return Bad("--listen HOST:PORT is required");
  if (c.data_dir.empty()) return Bad("--data DIR is required");
  if (c.key_files.empty()) return Bad("at least one --key FILE is required");
  if (c.trusted_logs.empty()) return Bad("at least one --trust-log VKEY is required");
  return c;
}

StatusOr<KeygenConfig> ParseKeygenArgs(std::span<const std::string> args) {
  KT_ASSIGN_OR_RETURN(auto pairs, FlagPairs(args));
  KeygenConfig c;
  for (const auto& [flag, value] : pairs) {
    if (flag == "name") {
      c.name = value;
    } else if (flag == "out") {
      c.out = value;
    } else {
      return Bad("unknown flag --" + flag);
    }
  }
  if (c.name.empty() || c.out.empty()) return Bad("keygen needs --name NAME --out KEYFILE");
  return c;
}

}  // namespace kt::witness
