#pragma once

// What a node learns from its own committed events (contracts::
// committed_event, handed out by the event hub after each commit):
//
// - `node_metrics`: the histograms `GET /metrics` adds to Zenith's counters
//   (docs/operations.md): submit-to-done, run time and queue wait by module;
// - `log_committed_events`: the node's log lines (contracts/node_log.hpp) of
//   failed and re-queued attempts and of operator actions.
//
// Both run on Zenith's thread under the hub's lock (event_hub::listen): they
// read only the events, parse only the payloads they need, and never call
// back into the node.

#include "contracts/histogram.hpp"
#include "contracts/ids.hpp"
#include "contracts/node_messages.hpp"

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace omniva::runtime {

/// The histograms of task timing, computed from committed events:
///
/// - `omniva_task_duration_seconds{module,status}`: from `task.created` to
///   the packet that finished the task (`task.succeeded`: DONE,
///   `task.failed`: ERROR, `task.cancelled`: CANCELLED);
/// - `omniva_task_run_seconds{module}`: an attempt's run time, the
///   `metrics.duration_ms` its outcome reported (in `task.succeeded`, and in
///   `task.failed` when the payload has it), else from `task.dispatched` to
///   the packet that ended the attempt;
/// - `omniva_task_queue_wait_seconds{module}`: from the moment a task became
///   READY (`task.created` with status READY, or `task.ready`) to its
///   `task.dispatched`.
///
/// Times are the packets' `at` (milliseconds). A task is remembered from its
/// `task.created` to the packet that finishes it, then forgotten: memory
/// grows with the unfinished tasks only. Tasks created before the node
/// started (recovered ones) are not counted. Thread-safe.
class node_metrics {
public:
  node_metrics();

  /// Counts what `events` (one commit's, in order) say.
  void observe(const std::vector<contracts::committed_event>& events);

  /// The histograms in Prometheus text (HELP, TYPE and samples of each).
  std::string render() const;

  /// The number of tasks remembered (created, not finished).
  size_t tasks_in_memory() const;

private:
  /// What is remembered of an unfinished task.
  struct task_times {
    std::string module;
    contracts::timestamp created;
    /// When it last became READY; nullopt once dispatched.
    std::optional<contracts::timestamp> ready;
    /// When its current attempt was dispatched; nullopt before.
    std::optional<contracts::timestamp> dispatched;
  };

  /// Counts one event; under `mutex_`.
  void observe_one(const contracts::committed_event& e);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, task_times> tasks_;
  contracts::histogram_family duration_;
  contracts::histogram_family run_;
  contracts::histogram_family queue_wait_;
};

/// Writes the node's log lines (contracts/node_log.hpp) for `events` (one
/// commit's): `task.failed` (warn: task, code, message, pointer when the
/// payload has one), `task.requeued` (warn: task, attempt, reason), and the
/// operator actions (info): `operator.cancel` (task), `operator.priority`
/// (task, priority), `operator.asset_delete` (asset),
/// `operator.module_register` (module), `operator.module_move` (module, dir,
/// from), `operator.schema_register` (schema), `operator.policy_register`
/// (policy). Other kinds (task creation, dispatch, success, asset
/// registration: the data plane) write nothing.
void log_committed_events(const std::vector<contracts::committed_event>& events);

} // namespace omniva::runtime
