// SPDX-License-Identifier: Apache-2.0
// Tests for the Prometheus registry: exact text format 0.0.4 output.
#include "net/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace kt::net {
namespace {

TEST(MetricsTest, RendersExactText) {
  Registry r;
  Counter& ok = r.GetCounter("kt_requests_total", "Requests served.", {{"code", "200"}});
  Counter& bad = r.GetCounter("kt_requests_total", "Requests served.", {{"code", "400"}});
  ok.Inc();
  ok.Inc(2);
  bad.Inc();
  r.GetGauge("kt_tree_size", "Entries in the log.").Set(1234);
  r.GetGauge("kt_ratio", "A \\ weird\nhelp.").Set(0.25);
  Histogram& h = r.GetHistogram("kt_latency_seconds", "Latency.", {{"op", "add"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP kt_latency_seconds Latency.\n"
            "# TYPE kt_latency_seconds histogram\n"
            "kt_latency_seconds_bucket{op=\"add\",le=\"0.1\"} 2\n"
            "kt_latency_seconds_bucket{op=\"add\",le=\"1\"} 3\n"
            "kt_latency_seconds_bucket{op=\"add\",le=\"+Inf\"} 4\n"
            "kt_latency_seconds_sum{op=\"add\"} 7.65\n"
            "kt_latency_seconds_count{op=\"add\"} 4\n"
            "# HELP kt_ratio A \\\\ weird\\nhelp.\n"
            "# TYPE kt_ratio gauge\n"
            "kt_ratio 0.25\n"
            "# HELP kt_requests_total Requests served.\n"
            "# TYPE kt_requests_total counter\n"
            "kt_requests_total{code=\"200\"} 3\n"
            "kt_requests_total{code=\"400\"} 1\n"
            "# HELP kt_tree_size Entries in the log.\n"
            "# TYPE kt_tree_size gauge\n"
            "kt_tree_size 1234\n");
}

TEST(MetricsTest, SameSeriesIsSameObject) {
  Registry r;
  Counter& a = r.GetCounter("c_total", "h", {{"k", "v"}});
  Counter& b = r.GetCounter("c_total", "h", {{"k", "v"}});
  Counter& c = r.GetCounter("c_total", "h", {{"k", "w"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(MetricsTest, EscapesLabelValues) {
  Registry r;
  r.GetCounter("c_total", "h", {{"path", "a\"b\\c\nd"}, {"x", ""}}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP c_total h\n# TYPE c_total counter\n"
            "c_total{path=\"a\\\"b\\\\c\\nd\",x=\"\"} 1\n");
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
}

TEST(MetricsTest, DefaultBucketsRender) {
  Registry r;
  r.GetHistogram("h_seconds", "h").Observe(0.003);
  std::string text = r.Render();
  EXPECT_NE(text.find("h_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"10\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  Counter& c = r.GetCounter("n_total", "h");
  Gauge& g = r.GetGauge("g", "h");
  Histogram& h = r.GetHistogram("l_seconds", "h", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        g.Add(1);
        h.Observe(2);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 40000u);
  EXPECT_EQ(g.Value(), 40000);
  EXPECT_EQ(h.Count(), 40000u);
  EXPECT_EQ(h.BucketCount(1), 40000u);
  EXPECT_EQ(h.Sum(), 80000);
}

TEST(MetricsDeathTest, TypeMismatchIsABug) {
  Registry r;
  r.GetCounter("x_total", "h");
  EXPECT_DEATH(r.GetGauge("x_total", "h"), "KT_CHECK");
  EXPECT_DEATH(r.GetCounter("bad-name", "h"), "KT_CHECK");
}

}  // namespace
}  // namespace kt::net
