// SPDX-License-Identifier: Apache-2.0
// ktlog flag parsing. See config.h.
#include "log/config.h"

#include <map>
#include <set>

#include "core/encoding.h"

namespace kt::log {

const char kUsage[] =
    "usage:\n"
    "  ktlog keygen --origin ORIGIN --out KEYFILE\n"
    "  ktlog serve --listen HOST:PORT --data DIR --key KEYFILE --origin ORIGIN\n"
    "              [--witness-policy FILE] [--operator-token-file FILE] [--export-dir DIR]\n"
    "              [--batch-interval MS] [--batch-max N] [--witness-timeout MS]\n"
    "              [--rate-limit N] [--max-pool N] [--http-threads N]\n"
    "  ktlog export --data DIR --out WEBROOT\n";

namespace {

using core::Status;
using core::StatusOr;
using Flags = std::map<std::string, std::string>;

StatusOr<Flags> ParseFlags(const std::vector<std::string>& args,
                           const std::set<std::string>& known,
                           const std::set<std::string>& required) {
  Flags flags;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) return Status::InvalidArgument("unexpected argument: " + a);
    std::string name = a.substr(2);
    std::string value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= args.size()) return Status::InvalidArgument("--" + name + " needs a value");
      value = args[++i];
    }
    if (!known.contains(name)) return Status::InvalidArgument("unknown flag --" + name);
    if (!flags.emplace(name, value).second) {
      return Status::InvalidArgument("--" + name + " given twice");
    }
  }
  for (const std::string& r : required) {
    if (!flags.contains(r)) return Status::InvalidArgument("missing --" + r);
  }
  return flags;
}

// Number reads flag `name` (if present) as a decimal in [min, max].
Status Number(const Flags& flags, const std::string& name, uint64_t min, uint64_t max,
              uint64_t* out) {
  auto it = flags.find(name);
  if (it == flags.end()) return Status();
  auto v = core::ParseDecimal(it->second);
  if (!v.ok() || *v < min || *v > max) {
    return Status::InvalidArgument("--" + name + " must be a number in " + std::to_string(min) +
                                   ".." + std::to_string(max));
  }
  *out = *v;
  return Status();
}

std::optional<std::string> Optional(const Flags& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

}  // namespace

StatusOr<KeygenConfig> ParseKeygenArgs(const std::vector<std::string>& args) {
  KT_ASSIGN_OR_RETURN(Flags f, ParseFlags(args, {"origin", "out"}, {"origin", "out"}));
  return KeygenConfig{f["origin"], f["out"]};
}

StatusOr<ExportConfig> ParseExportArgs(const std::vector<std::string>& args) {
  KT_ASSIGN_OR_RETURN(Flags f, ParseFlags(args, {"data", "out"}, {"data", "out"}));
  return ExportConfig{f["data"], f["out"]};
}

StatusOr<ServeConfig> ParseServeArgs(const std::vector<std::string>& args) {
  KT_ASSIGN_OR_RETURN(
      Flags f, ParseFlags(args,
                          {"listen", "data", "key", "origin", "witness-policy",
                           "operator-token-file", "export-dir", "batch-interval", "batch-max",
                           "witness-timeout", "rate-limit", "max-pool", "http-threads"},
                          {"listen", "data", "key", "origin"}));
  ServeConfig c;
  c.listen = f["listen"];
  c.data = f["data"];
  c.key = f["key"];
  c.origin = f["origin"];
  c.witness_policy = Optional(f, "witness-policy");
  c.operator_token_file = Optional(f, "operator-token-file");
  c.export_dir = Optional(f, "export-dir");
  uint64_t batch_interval = static_cast<uint64_t>(c.batch_interval.count());
  uint64_t witness_timeout = static_cast<uint64_t>(c.witness_timeout.count());
  uint64_t batch_max = c.batch_max, max_pool = c.max_pool, threads = c.http_threads;
  uint64_t rate = 0;
  KT_RETURN_IF_ERROR(Number(f, "batch-interval", 1, 60000, &batch_interval));
  KT_RETURN_IF_ERROR(Number(f, "batch-max", 1, 1000000, &batch_max));
  KT_RETURN_IF_ERROR(Number(f, "witness-timeout", 0, 600000, &witness_timeout));
  KT_RETURN_IF_ERROR(Number(f, "rate-limit", 0, 10000000, &rate));
  KT_RETURN_IF_ERROR(Number(f, "max-pool", 1, 10000000, &max_pool));
  KT_RETURN_IF_ERROR(Number(f, "http-threads", 1, 4096, &threads));
  c.batch_interval = std::chrono::milliseconds(batch_interval);
  c.witness_timeout = std::chrono::milliseconds(witness_timeout);
  c.batch_max = batch_max;
  c.max_pool = max_pool;
  c.http_threads = threads;
  c.rate_limit = static_cast<double>(rate);
  return c;
}

}  // namespace kt::log
