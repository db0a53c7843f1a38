// SPDX-License-Identifier: Apache-2.0
// Prometheus text format 0.0.4 registry; see net/metrics.h.
#include "net/metrics.h"

#include <charconv>
#include <cmath>

#include "core/status.h"

namespace kt::net {
namespace {

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Escape for label values: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Escape for HELP text: backslash and newline.
std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelText(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    KT_CHECK(ValidName(k, false) && k.rfind("__", 0) != 0);
    if (!out.empty()) out += ',';
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  return out;
}

// Series renders `name{labels,extra} value\n`, omitting empty braces.
void AppendSample(std::string& out, std::string_view name, const std::string& labels,
                  const std::string& extra, const std::string& value) {
  out += name;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void AtomicAdd(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  KT_CHECK(ec == std::errc());
  return std::string(buf, end);
}

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    KT_CHECK(std::isfinite(bounds_[i]));
    KT_CHECK(i == 0 || bounds_[i - 1] < bounds_[i]);
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;  // le: v <= bound
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<double> DefaultLatencyBuckets() {
  // Finer between 5 and 100 ms, where batch commits and time to integrate
  // fall, so quantiles interpolated from the buckets are within a few ms.
  return {0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03,
          0.04,   0.05,  0.075,  0.1,   0.25,   0.5,  1,      2.5,   5,    10};
}

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, Type type) {
  KT_CHECK(ValidName(name, true));
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help), {}, {}, {}, {}})
             .first;
  }
  KT_CHECK(it->second.type == type);
  return it->second;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kCounter).counters[LabelText(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kGauge).gauges[LabelText(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help,
                                  const Labels& labels, const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [k, v] : labels) KT_CHECK(k != "le");
  Family& f = FamilyFor(name, help, Type::kHistogram);
  if (f.histograms.empty()) f.bounds = bounds;
  auto& slot = f.histograms[LabelText(labels)];
  if (!slot) slot = std::make_unique<Histogram>(f.bounds);
  return *slot;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + EscapeHelp(f.help) + "\n";
    out += "# TYPE " + name + " " + kTypeNames[static_cast<int>(f.type)] + "\n";
    for (const auto& [labels, c] : f.counters) {
      AppendSample(out, name, labels, "", std::to_string(c->Value()));
    }
    for (const auto& [labels, g] : f.gauges) {
      AppendSample(out, name, labels, "", FormatMetricValue(g->Value()));
    }
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= h->bounds().size(); ++i) {
        cumulative += h->BucketCount(i);
        std::string le = i < h->bounds().size() ? FormatMetricValue(h->bounds()[i]) : "+Inf";
        AppendSample(out, name + "_bucket", labels, "le=\"" + le + "\"",
                     std::to_string(cumulative));
      }
      AppendSample(out, name + "_sum", labels, "", FormatMetricValue(h->Sum()));
      // _count equals the +Inf bucket even while observations race Render.
      AppendSample(out, name + "_count", labels, "", std::to_string(cumulative));
    }
  }
  return out;
}

}  // namespace kt::net
