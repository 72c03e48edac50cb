#pragma once

// A worker pool: a fixed number of workers, each running one attempt at a
// time through an adapter. Workers are detached actors (own threads): a
// module's process blocks its worker, never CAF's scheduler. While it runs
// one, a worker sends Zenith heartbeats; Zenith runs again, as a new attempt,
// what a silent worker held.

#include "actors/interfaces.hpp"

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <vector>

namespace omniva::actors {

/// Runs one attempt to its end (blocking) and describes what happened,
/// calling `heartbeat` every few seconds while a module runs (the worker's
/// sign of life to Zenith). The runtime provides it: adapters live in
/// runtime/.
using executor = std::function<contracts::execution_outcome(
  const contracts::dispatch_order&, const std::function<void()>& heartbeat)>;

/// The pool's state.
struct worker_pool_state {
  static constexpr const char* name = "worker_pool";
  /// The pool's configuration.
  contracts::pool_spec spec;
  /// Every worker; `busy[i]` tells whether worker i runs an attempt.
  std::vector<caf::actor> workers;
  std::vector<bool> busy;
  /// Orders waiting for a free worker (Zenith only dispatches to free slots,
  /// so this stays short), with the Zenith that sent each.
  std::deque<std::pair<contracts::dispatch_order, zenith_actor>> queue;
  /// How often the orders in `queue` are reported alive to Zenith (they
  /// wait for a worker, which beats once it runs them).
  std::chrono::milliseconds heartbeat_interval{5000};
  /// Whether a heartbeat tick is scheduled.
  bool ticking = false;
};

/// The pool's behavior: spawns `spec.workers` workers running `run`, each
/// beating every `heartbeat_interval` while it runs an attempt.
pool_actor::behavior_type
worker_pool(pool_actor::stateful_pointer<worker_pool_state> self,
            contracts::pool_spec spec, executor run,
            std::chrono::milliseconds heartbeat_interval);

} // namespace omniva::actors
