// SPDX-License-Identifier: Apache-2.0
// A tiny thread-safe Prometheus metrics registry: counters, gauges and
// fixed-bucket histograms, rendered in the Prometheus text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Usage: look a series up once (registration takes a mutex) and keep the
// reference; updates are lock-free atomics.
//   Counter& served = registry.GetCounter("kt_http_requests_total", "Requests served.",
//                                         {{"endpoint", "add"}, {"code", "200"}});
//   served.Inc();
#ifndef KT_NET_METRICS_H_
#define KT_NET_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kt::net {

// Labels are (name, value) pairs in the order they are rendered. Names must be
// [a-zA-Z_][a-zA-Z0-9_]*; values are escaped on output.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Counter is a monotonically increasing integer. Thread-safe, lock-free.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Gauge is a value that may go up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Histogram counts observations into fixed upper bounds (le) plus +Inf, with
// their sum and count. Thread-safe, lock-free; a concurrent Render may see an
// observation in the count but not yet in its bucket (as in the official
// clients), never a torn number.
class Histogram {
 public:
  // bounds must be strictly increasing and finite.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // BucketCount is the non-cumulative count of bucket i (i == bounds().size()
  // is the +Inf bucket).
  uint64_t BucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// DefaultLatencyBuckets are upper bounds in seconds from 0.5 ms to 10 s,
// finer between 5 and 100 ms.
std::vector<double> DefaultLatencyBuckets();

// Registry owns metric families. Get* returns the series for (name, labels),
// creating it on first use; the reference stays valid for the Registry's
// lifetime. Thread-safe. Using one name with two types, or an invalid name,
// is a bug (KT_CHECK). A histogram's buckets are fixed by its first Get.
class Registry {
 public:
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          const Labels& labels = {},
                          const std::vector<double>& bounds = DefaultLatencyBuckets());

  // Render returns every family in text format 0.0.4, families sorted by name
  // and series by their label text, each family preceded by # HELP and # TYPE.
  // Serve it with Content-Type kPrometheusContentType.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;  // histograms only
    // Key: rendered label text, e.g. `a="1",b="2"` (empty for no labels).
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Type type);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

inline constexpr const char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// FormatMetricValue renders a sample value as Prometheus expects: the shortest
// decimal that round-trips, "+Inf", "-Inf" or "NaN".
std::string FormatMetricValue(double v);

}  // namespace kt::net

#endif  // KT_NET_METRICS_H_
