#pragma once

// A deterministic simulation of a node (`omniva simulate`, docs/engines.md
// "Deterministic simulation"): Zenith, Paradox, Eclipse and Lattice, as the
// node runs them, on CAF's deterministic scheduler (`test_coordinator`) in
// one thread, with simulated worker pools and a virtual clock. Workers
// produce no files; they report outcomes after a virtual duration, and a
// seeded fault plan (contracts/faults.hpp) makes attempts fail, go silent or
// run late. Backoffs, cool-downs and heartbeat silences cost no real time:
// when nothing is left to run, the clock jumps to the next timer.
//
// The seed decides everything: ids, timestamps, jitter, durations, faults,
// the mix of tasks and their order. The same options give the same lineage,
// byte for byte, hence the same head.

#include "contracts/json.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace omniva::runtime {

/// What a simulation runs.
struct simulation_options {
  /// Tasks to submit in all (chains, special tasks and duplicates). 1 ..
  /// 10,000,000. Default: 1000.
  uint64_t tasks = 1000;
  /// The length of the chains (each link reads its predecessor's output).
  /// 1 .. 64. Default: 3.
  uint32_t depth = 3;
  /// The share of attempts that go wrong, in [0, 1]: transient failures,
  /// deterministic failures, silent workers; as many again run late. Above
  /// 0 (and with at least 100 tasks) the mix also holds a burst of tasks of
  /// a module that always fails (its breaker opens), a burst of a module
  /// that fails its first two attempts (its breaker opens and, after a
  /// probe, closes), a task whose worker always goes silent (poison) and
  /// blocked duplicates. 0: no faults, every task ends DONE. Default: 0.
  double fail_rate = 0;
  /// Seeds everything. Default: 1.
  uint64_t seed = 1;
  /// The data folder to keep the database in (created when missing; must
  /// hold no database yet). Empty: a temporary folder, removed at the end.
  std::string data_dir;
  /// Simulated pools ("sim-a", "sim-b", ...). 1 .. 8. Default: 2.
  uint32_t pools = 2;
  /// Worker slots per pool. 1 .. 1000. Default: 50.
  uint32_t workers = 50;
  /// At most this many tasks submitted and not finished at once (the
  /// driver submits more as tasks finish). Default: 1000.
  uint64_t window = 1000;
  /// Virtual time with no task finishing and none submitted after which
  /// the run is declared stalled and stops. Default: one hour.
  std::chrono::milliseconds stall_after = std::chrono::hours{1};
};

/// How far a simulation got (for a progress bar).
struct simulation_progress {
  /// Tasks finished (DONE, ERROR, SKIPPED, CANCELLED, or refused).
  uint64_t finished = 0;
  /// Tasks submitted so far.
  uint64_t submitted = 0;
  /// Tasks to submit in all.
  uint64_t tasks = 0;
  /// Virtual seconds since the start.
  double simulated_seconds = 0;
};

/// What a simulation did. Counts come from the events of the commits.
struct simulation_result {
  uint64_t seed = 0;
  uint64_t tasks = 0;
  uint32_t depth = 0;
  double fail_rate = 0;
  /// Tasks that ended DONE (ran, or bound to an identical task's outputs).
  uint64_t done = 0;
  /// Of `done`: bound by `reuse` to an identical task's outputs.
  uint64_t reused = 0;
  /// Tasks that ended ERROR (their own failure, poison or in cascade).
  uint64_t failed = 0;
  /// Of `failed`: because an input failed (`upstream_failed`).
  uint64_t upstream_failed = 0;
  /// Tasks that ended SKIPPED (blocked duplicates).
  uint64_t skipped = 0;
  /// Submissions Zenith refused (pre-flight); 0 unless something is wrong.
  uint64_t rejected = 0;
  /// Tasks still unfinished at the end (0 unless the run stalled).
  uint64_t unfinished = 0;
  /// Attempts run again (`task.requeued`).
  uint64_t retries = 0;
  /// Attempts that failed (`task.attempt_failed`), lost ones included.
  uint64_t attempt_failures = 0;
  /// Of `attempt_failures`: the worker went silent (taken for lost).
  uint64_t lost_workers = 0;
  /// Tasks that ended ERROR `poison_task`.
  uint64_t poison = 0;
  /// Quarantines that came into force on Eclipse's advice (a breaker that
  /// opened; a failed probe keeping it open does not count again).
  uint64_t quarantines_opened = 0;
  /// Quarantines released after a successful probe.
  uint64_t quarantines_closed = 0;
  /// Probes let through half-open breakers.
  uint64_t probes = 0;
  /// New tasks Paradox found identical to an earlier one (advice other
  /// than `clear`).
  uint64_t duplicates = 0;
  /// Packets in the log at the end (as `verify` counted them).
  uint64_t packets = 0;
  /// Virtual seconds from the start to the last task's end.
  double simulated_seconds = 0;
  /// Real seconds the run took (verify not included).
  double real_seconds = 0;
  /// Real seconds `verify` took.
  double verify_seconds = 0;
  /// The id of the last packet of the log.
  std::string head;
  /// Whether the log verifies (storage::verify), and why not.
  bool verify_ok = false;
  std::string verify_reason;
  /// Whether the run stopped because nothing moved for
  /// `simulation_options::stall_after` of virtual time.
  bool stalled = false;
  /// The data folder, when kept (`simulation_options::data_dir`).
  std::string data_dir;
  /// The first submission Zenith refused, or request that failed, in a
  /// sentence; empty when none did.
  std::string first_error;

  /// Finished tasks per real second.
  double tasks_per_second() const;
  /// Virtual seconds per real second.
  double sim_per_real() const;
};

/// Runs a simulation; `progress` (optional) is called from the calling
/// thread between steps of the virtual clock, often: throttle there.
/// Errors: `invalid_argument` for options out of range or a data folder
/// that holds a database; the database's (`database_locked`,
/// `storage_error`, ...) when it cannot be opened; `storage_error` when
/// the actors cannot be started (Zenith fails to recover) or a module
/// cannot be registered.
caf::expected<simulation_result>
run_simulation(const simulation_options& options,
               const std::function<void(const simulation_progress&)>& progress = {});

/// The JSON form (`omniva simulate --json`): `seed`, `tasks`, `depth`,
/// `fail_rate`, `done`, `reused`, `failed`, `upstream_failed`, `skipped`,
/// `rejected`, `unfinished`, `retries`, `attempt_failures`,
/// `lost_workers`, `poison`, `quarantines_opened`, `quarantines_closed`,
/// `probes`, `duplicates`, `packets`, `tasks_per_second`,
/// `simulated_seconds`, `real_seconds`, `verify_seconds`, `sim_per_real`,
/// `head`, `verify` ("ok" or the reason), `stalled`, `error` when a
/// submission was refused (`first_error`), and `data` when the folder was
/// kept.
json::value to_json(const simulation_result& x);

} // namespace omniva::runtime
