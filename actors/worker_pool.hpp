#pragma once

// A worker pool: a fixed number of workers, each running one attempt at a
// time through the executor the runtime gives it (the adapters live in
// runtime/). In the node, workers are detached actors (own threads): a
// module's process blocks its worker, never CAF's scheduler.
//
// What a pool promises:
// - An order goes to a free worker at once; when every worker is busy it
//   waits in the pool's queue, first come first served, until one is done.
//   (Zenith dispatches only to free slots, so the queue stays short.)
// - A worker sends the Zenith that sent the order a heartbeat (the order's
//   execution id) the moment it starts the order, and again whenever the
//   executor calls its heartbeat (the adapters do at least every
//   `heartbeat_interval` while a module runs). While an order waits in the
//   queue, the pool sends that heartbeat every `heartbeat_interval`
//   instead. Zenith runs again, as a new attempt, what a silent worker held.
// - The outcome goes to that Zenith with the order's execution id, task id
//   and attempt, whatever the executor filled in; an executor that throws
//   is a `spawn_failed` outcome ("the adapter failed: ..."), never a dead
//   worker. Then the worker is free again.

#include "actors/interfaces.hpp"
#include "contracts/defaults.hpp"

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

/// How a pool is set up.
struct worker_pool_config {
  /// The pool's name, its number of workers and the resources of a slot.
  contracts::pool_spec spec;
  /// What each worker runs an order with. Required.
  executor run;
  /// How often the pool reports the orders waiting in its queue alive to
  /// Zenith. Default: `defaults::scheduling::heartbeat_interval` (5 s).
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
  /// Whether each worker is a detached actor with a thread of its own (the
  /// node's pools). Off only in deterministic tests, where the workers run
  /// on CAF's test coordinator like every other actor. Default: true.
  bool detached_workers = true;
};

/// The pool's state.
struct worker_pool_state {
  /// The actor's name in CAF's logs.
  static constexpr const char* name = "worker_pool";
  /// The pool's configuration.
  contracts::pool_spec spec;
  /// Every worker; `busy[i]` tells whether worker i runs an attempt.
  std::vector<caf::actor> workers;
  /// See `workers`.
  std::vector<bool> busy;
  /// Orders waiting for a free worker, oldest first, with the Zenith that
  /// sent each.
  std::deque<std::pair<contracts::dispatch_order, zenith_actor>> queue;
  /// How often the orders in `queue` are reported alive to Zenith (they
  /// wait for a worker, which beats once it runs them).
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
  /// Whether a heartbeat tick is scheduled.
  bool ticking = false;
};

/// The pool's behavior: spawns `config.spec.workers` workers running
/// `config.run` and hands them orders as the file comment says.
pool_actor::behavior_type
worker_pool(pool_actor::stateful_pointer<worker_pool_state> self,
            worker_pool_config config);

} // namespace omniva::actors
