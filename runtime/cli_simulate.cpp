// `omniva simulate --tasks N [--depth D] [--fail-rate P] [--seed S]
// [--data DIR] [--json]`: a deterministic simulation of an embedded node
// (runtime/simulation.hpp, docs/engines.md "Deterministic simulation").
// A progress bar on stderr when it is a terminal; at the end a summary, or
// with --json one document (`head`, `retries`, `verify`, ...). Exit 0 when
// every task finished and the log verifies, 1 otherwise.

#include "runtime/cli.hpp"
#include "runtime/cli_client.hpp"
#include "runtime/simulation.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

using steady = std::chrono::steady_clock;

/// Draws the progress bar on stderr, at most every 100 ms.
class progress_bar {
public:
  void update(const runtime::simulation_progress& p) {
    auto now = steady::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds{100}
        && p.finished < p.tasks)
      return;
    last_ = now;
    drawn_ = true;
    auto share = p.tasks > 0 ? static_cast<double>(p.finished)
                                 / static_cast<double>(p.tasks)
                             : 1.0;
    share = std::clamp(share, 0.0, 1.0);
    std::ostringstream tail;
    tail << ' ' << static_cast<int>(std::floor(share * 100)) << "% "
         << p.finished << '/' << p.tasks << " tasks, "
         << static_cast<uint64_t>(p.simulated_seconds) << " s simulated";
    auto columns = terminal_columns(STDERR_FILENO);
    auto text = tail.str();
    size_t width = columns > text.size() + 12 ? std::min<size_t>(40, columns - text.size() - 12)
                                              : 0;
    std::string bar;
    if (width > 0) {
      auto filled = static_cast<size_t>(share * static_cast<double>(width));
      bar = "[" + std::string(filled, '#') + std::string(width - filled, '.')
            + "]";
    }
    std::cerr << "\r\033[K" << "simulate " << bar << text << std::flush;
  }

  /// Clears the line.
  void finish() {
    if (drawn_)
      std::cerr << "\r\033[K" << std::flush;
  }

private:
  bool drawn_ = false;
  steady::time_point last_;
};

std::string fixed(double x, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << x;
  return out.str();
}

void print_summary(const runtime::simulation_result& r) {
  auto row = [](std::string_view name, const std::string& value) {
    std::cout << "  " << name
              << std::string(20 - std::min<size_t>(name.size(), 19), ' ')
              << value << '\n';
  };
  auto n = [](uint64_t x) { return std::to_string(x); };
  std::cout << "simulation: seed " << r.seed << ", " << r.tasks
            << " tasks, depth " << r.depth << ", fail rate "
            << fixed(r.fail_rate, 3) << '\n';
  row("done", n(r.done) + " (" + n(r.reused) + " reused)");
  row("failed", n(r.failed) + " (" + n(r.upstream_failed) + " upstream)");
  row("skipped", n(r.skipped));
  if (r.rejected > 0)
    row("rejected", n(r.rejected) + " (the first: " + r.first_error + ")");
  if (r.unfinished > 0)
    row("unfinished", n(r.unfinished));
  row("retries", n(r.retries));
  row("attempt failures", n(r.attempt_failures) + " (" + n(r.lost_workers)
                            + " lost workers)");
  row("poison tasks", n(r.poison));
  row("quarantines", "opened " + n(r.quarantines_opened) + ", closed "
                       + n(r.quarantines_closed) + " (" + n(r.probes)
                       + " probes)");
  row("duplicates", n(r.duplicates));
  row("tasks per second", fixed(r.tasks_per_second(), 1));
  row("simulated", fixed(r.simulated_seconds, 1) + " s in "
                     + fixed(r.real_seconds, 2) + " s real ("
                     + fixed(r.sim_per_real(), 1) + " simulated s per s)");
  row("packets", n(r.packets));
  row("lineage head", r.head);
  row("verify", r.verify_ok ? std::string{"ok"} : "FAILED: " + r.verify_reason);
  if (r.stalled)
    row("stalled", "nothing moved for an hour of virtual time");
  if (!r.data_dir.empty())
    row("data", r.data_dir);
}

} // namespace

int run_simulate(const arguments& args) {
  po::options_description opts{"options"};
  runtime::simulation_options o;
  std::string data;
  opts.add_options()
    ("tasks", po::value(&o.tasks)->required(), "tasks to submit in all")
    ("depth", po::value(&o.depth)->default_value(o.depth),
     "the length of the chains (1 to 64)")
    ("fail-rate", po::value(&o.fail_rate)->default_value(0.0, "0"),
     "the share of attempts that go wrong, in [0, 1] (0: no faults)")
    ("seed", po::value(&o.seed)->default_value(o.seed),
     "seeds ids, clock, jitter, run times, faults and the mix of tasks")
    ("data", po::value(&data),
     "keep the database in this folder (default: a temporary one, removed)")
    ("json", "print the summary as one JSON document");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva simulate --tasks N [--depth D] [--fail-rate P] [--seed S] "
        "[--data DIR] [--json]",
        "Runs an embedded node with simulated workers on a deterministic "
        "scheduler and a virtual clock: Zenith, Paradox, Eclipse and Lattice "
        "as a node runs them, two pools of 50 simulated workers that produce "
        "no files, and seeded faults (transient and deterministic failures, "
        "slow attempts, silent workers, a module that always fails, one that "
        "fails its first attempts, duplicate submissions). Backoffs, "
        "cool-downs and heartbeat silences cost no real time. The same "
        "options and seed give the same lineage head. Prints done, failed, "
        "retries, poison tasks, quarantines opened and closed, duplicates, "
        "tasks per second, simulated seconds per real second, the lineage "
        "head and whether the log verifies. Exit 0 when every task finished "
        "and the log verifies, 1 otherwise.",
        opts, pos, args, vm))
    return *rc;
  o.data_dir = data;
  bool as_json = vm.count("json") > 0;
  // Zenith logs through spdlog, whose default logger writes to stdout:
  // keep stdout for the summary, and the breakers the faults open quiet.
  auto logger = std::make_shared<spdlog::logger>(
    "omniva-simulate", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(spdlog::level::err);
  spdlog::set_default_logger(logger);
  progress_bar bar;
  std::function<void(const runtime::simulation_progress&)> on_progress;
  if (is_terminal(STDERR_FILENO))
    on_progress = [&bar](const runtime::simulation_progress& p) { bar.update(p); };
  auto r = runtime::run_simulation(o, on_progress);
  bar.finish();
  if (!r) {
    auto& err = r.error();
    print_error(contracts::render_error(err.code(), err.category(), err.context()));
    return err.category() == contracts::error_category
               && err.code() == static_cast<uint8_t>(contracts::ec::invalid_argument)
             ? exit_usage
             : exit_failure;
  }
  if (as_json)
    std::cout << json::serialize(runtime::to_json(*r)) << '\n';
  else
    print_summary(*r);
  return r->verify_ok && !r->stalled && r->unfinished == 0 ? exit_ok
                                                            : exit_failure;
}

} // namespace omniva::cli
