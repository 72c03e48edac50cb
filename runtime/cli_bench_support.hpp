#pragma once

// What the `omniva bench ...` commands share (cli_bench_tasks.cpp,
// cli_bench_explain.cpp): time spans, quantiles and their JSON, the
// process's peak memory, reading a metric off the node's Prometheus text,
// and writing benchmark modules to disk.

#include "contracts/json.hpp"

#include <caf/error.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::cli::bench {

using steady = std::chrono::steady_clock;

double ms_between(steady::time_point a, steady::time_point b);

double seconds_between(steady::time_point a, steady::time_point b);

/// `x` rounded to `digits` decimals.
double rounded(double x, int digits);

/// The q-quantile of sorted `xs` (nearest rank); 0 for none.
double quantile(const std::vector<double>& xs, double q);

/// Latency figures of samples in ms, rounded to `digits` decimals:
/// `{"samples", "p50_ms", "p90_ms", "p99_ms", "max_ms"}`.
json::value latency_json(std::vector<double> ms, int digits = 2);

/// The process's peak resident memory in MiB.
double peak_rss_mb();

/// An error as the CLI prints it.
std::string error_text(const caf::error& err);

/// The value of an unlabelled sample in Prometheus text; 0 when absent.
double metric(const std::string& text, std::string_view name);

/// Writes each `{name, module.json text}` to `root/<name>/module.json`;
/// returns the module folders in order.
std::vector<std::string>
write_modules(const std::filesystem::path& root,
              const std::vector<std::pair<std::string_view, std::string_view>>& modules);

} // namespace omniva::cli::bench
