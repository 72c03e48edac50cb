#pragma once

// A Prometheus histogram (cumulative buckets, sum and count), and a family of
// them by one label (per module). Rendered in the text exposition format:
//
//   # HELP omniva_task_run_seconds Run time of an attempt, by module.
//   # TYPE omniva_task_run_seconds histogram
//   omniva_task_run_seconds_bucket{module="slow@1",le="0.005"} 0
//   ...
//   omniva_task_run_seconds_bucket{module="slow@1",le="+Inf"} 3
//   omniva_task_run_seconds_sum{module="slow@1"} 4.5
//   omniva_task_run_seconds_count{module="slow@1"} 3
//
// Not thread safe: one owner observes and renders (or guards it).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// Upper bounds (seconds) for latencies from a millisecond to ten minutes.
inline constexpr double default_latency_buckets[] = {
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
  1,     2.5,    5,     10,   30,    60,   120, 300,  600};

/// One histogram.
class histogram {
public:
  explicit histogram(std::span<const double> bounds = default_latency_buckets);

  /// Counts one observation of `x` (seconds; negative counts as 0).
  void observe(double x) noexcept;

  uint64_t count() const noexcept {
    return count_;
  }

  double sum() const noexcept {
    return sum_;
  }

  /// Appends the bucket, sum and count lines of `name` (no HELP or TYPE);
  /// `labels` ("module=\"x\"", already escaped) go first in each line's
  /// label set, may be empty.
  void render(std::string& out, std::string_view name,
              std::string_view labels = {}) const;

private:
  std::vector<double> bounds_;
  /// Observations per bucket (not cumulative); the last is +Inf.
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

/// Histograms by the values of one label or more (a module; a module and a
/// status).
class histogram_family {
public:
  /// A family by one label.
  histogram_family(std::string name, std::string help, std::string label,
                   std::span<const double> bounds = default_latency_buckets);

  /// A family by the labels `labels`, in the order they are rendered.
  histogram_family(std::string name, std::string help,
                   std::vector<std::string> labels,
                   std::span<const double> bounds = default_latency_buckets);

  /// Counts `x` in the histogram of `label_value` (a family by one label).
  void observe(const std::string& label_value, double x);

  /// Counts `x` in the histogram of `label_values`, one per label, in the
  /// labels' order (missing values are "", extra ones ignored).
  /// (Not an overload of `observe`: a brace list of two string literals
  /// would also make a std::string, from an iterator pair.)
  void observe_labels(std::vector<std::string> label_values, double x);

  /// The histogram of `label_values`; nullptr when nothing was observed
  /// there.
  const histogram* find(const std::vector<std::string>& label_values) const;

  /// Appends HELP, TYPE and every histogram's lines (by label values, in
  /// order); a family with nothing observed writes HELP and TYPE only.
  void render(std::string& out) const;

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  std::map<std::vector<std::string>, histogram> by_label_;
};

/// Escapes a label value for the exposition format (`\`, `"`, newline).
std::string escape_label_value(std::string_view x);

} // namespace omniva::contracts
