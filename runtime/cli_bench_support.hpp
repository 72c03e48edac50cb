#pragma once

// What the `omniva bench ...` commands share (cli_bench_tasks.cpp,
// cli_bench_explain.cpp, cli_bench_pipeline.cpp): time spans, quantiles and
// their JSON, the process's peak memory and CPU time, reading metrics off
// the node's Prometheus text, writing benchmark modules to disk, the
// benchmark module of independent tasks, and starting an embedded node as
// `bench tasks` does.

#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "contracts/defaults.hpp"

#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::runtime {
class node;
} // namespace omniva::runtime

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

/// CPU time (user + system) of the whole process so far, in seconds.
double cpu_seconds();

/// Zenith's commit counters and the process's CPU time at one moment.
struct commit_counters {
  double commits = 0;
  double packets = 0;
  double cpu = 0;
  double write = 0;
  double seal = 0;

  commit_counters operator-(const commit_counters& x) const {
    return {commits - x.commits, packets - x.packets, cpu - x.cpu,
            write - x.write, seal - x.seal};
  }

  /// The counters of `node` now.
  static commit_counters of(runtime::node& node);
};

/// The benchmark module of independent tasks, `bench-value@1`: one int in,
/// one JSON document out (mock only).
extern const std::string_view value_module;

/// A mock request of `bench-value@1` with `n`.
contracts::task_request value_request(uint64_t n);

/// The folder a benchmark works in: DIR (kept) or a fresh temporary one;
/// and where its nodes' `outputs` folders really are (removed afterwards).
struct work_folder {
  std::filesystem::path path;
  bool keep = false;
  std::filesystem::path outputs;

  ~work_folder();
};

/// Makes `<data>/outputs` of a node a link into a fresh folder in `memory`
/// (tmpfs): the mock adapter's throwaway files then cost what writing them
/// costs, not what allocating inodes on this machine's disk costs (on an
/// ext4 without journal, churn makes each new inode a scan of recently
/// deleted ones). The database stays on the disk, synced.
caf::error outputs_in_memory(const std::filesystem::path& data,
                             const std::filesystem::path& memory);

/// An embedded node as the benchmarks run one: the mock adapter, sync on, a
/// pool of `workers` (0: the default pool), HTTP on a free port when
/// `serve_http`, `module_dirs` registered.
caf::expected<std::unique_ptr<runtime::node>>
start_node(const std::filesystem::path& data,
           const std::vector<std::string>& module_dirs, bool serve_http,
           uint32_t workers,
           size_t scheduler_threads = defaults::node::scheduler_threads);

} // namespace omniva::cli::bench
