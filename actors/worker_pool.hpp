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
// - An order never starts while an earlier attempt of the same task still
//   runs (or is being stopped) in this pool: it waits in the queue until
//   that attempt ended, and orders behind it may pass it.
// - A worker sends the Zenith that sent the order a heartbeat (the order's
//   execution id) the moment it starts the order, then every
//   `heartbeat_interval` from a ticker thread of its own until the executor
//   returned, whatever the executor does meanwhile (runs a module, reads
//   and checks outputs, redacts logs, hashes), and whenever the executor
//   calls its heartbeat. While an order waits in the queue, the pool sends
//   that heartbeat every `heartbeat_interval` instead. Zenith runs again,
//   as a new attempt, what a silent worker held.
// - `cancel` with an execution id stops that attempt: a queued order is
//   dropped (no outcome); a running one is told to stop (`attempt_control`:
//   the local adapter kills the module's group as after a timeout); once
//   it ended, its worker removes its output folder (the attempt did not
//   win) and reports it `cancelled`, whatever the executor answered.
// - The outcome goes to that Zenith with the order's execution id, task id
//   and attempt, whatever the executor filled in; an executor that throws
//   is a `spawn_failed` outcome ("the adapter failed: ..."), never a dead
//   worker. Then the worker is free again.
//
// With a fault plan (contracts/faults.hpp; tests and simulations only),
// each order is checked against it as it arrives; a fault that matches
// replaces the promises above for that order:
// - `silent`: the order is accepted and dropped: it never runs, no outcome
//   and no heartbeat is sent for it (neither by a worker nor by the
//   pool's tick), so Zenith takes it for lost after its heartbeat
//   timeout. It holds no worker: its slot is free at once (Zenith counts
//   it busy until then, so the pool never has fewer free workers than
//   Zenith believes). The pool notes its execution id in `silenced` until
//   Zenith's `cancel` for it (sent when it takes the attempt for lost).
// - `transient` / `fail`: the pool answers at once, without running it,
//   with an outcome `ok = false`, the rule's code, the transient flag and
//   "injected fault: ..." as its message.
// - `slow`: the order runs as usual, but its worker is handed it
//   `delay_ms` later (a delayed message, no thread sleeps); the slot is
//   held meanwhile and the pool's tick beats for it as for a queued
//   order. Stopped during its delay, it ends when the delay is over, as
//   `cancelled` like any stopped attempt.

#include "actors/interfaces.hpp"
#include "contracts/defaults.hpp"
#include "contracts/faults.hpp"

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace omniva::actors {

/// What a worker hands the executor of an attempt: the attempt's heartbeat
/// (call it) and its stop request. Being callable, it also converts to a
/// plain `std::function<void()>` heartbeat.
class attempt_control {
public:
  /// Control with heartbeat `beat` and stop request `stop` (which must
  /// outlive it).
  attempt_control(std::function<void()> beat, const std::atomic<bool>& stop)
    : beat_(std::move(beat)), stop_(&stop) {
  }

  /// Sends Zenith a heartbeat for the attempt now (the worker beats every
  /// heartbeat interval on its own anyway).
  void operator()() const {
    if (beat_)
      beat_();
  }

  /// The stop request: true once the pool was told to stop the attempt.
  /// Adapters poll it (`runtime::execution_context::stop`).
  const std::atomic<bool>& stop() const noexcept {
    return *stop_;
  }

  /// Returns whether the attempt is to stop.
  bool stop_requested() const noexcept {
    return stop_->load();
  }

private:
  std::function<void()> beat_;
  const std::atomic<bool>* stop_;
};

/// Runs one attempt to its end (blocking) and describes what happened; it
/// should end early once `control.stop_requested()`. The runtime provides
/// it: adapters live in runtime/.
using executor = std::function<contracts::execution_outcome(
  const contracts::dispatch_order&, const attempt_control& control)>;

/// How a pool is set up.
struct worker_pool_config {
  /// The pool's name, its number of workers and the resources of a slot.
  contracts::pool_spec spec;
  /// What each worker runs an order with. Required.
  executor run;
  /// How often a worker reports its running attempt, and the pool the
  /// orders waiting in its queue, alive to Zenith. Default:
  /// `defaults::scheduling::heartbeat_interval` (5 s).
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
  /// Whether each worker is a detached actor with a thread of its own (the
  /// node's pools). Off only in deterministic tests, where the workers run
  /// on CAF's test coordinator like every other actor. Default: true.
  bool detached_workers = true;
  /// Faults to inject (contracts/faults.hpp): tests and simulations only.
  /// Default: none.
  std::shared_ptr<const contracts::fault_plan> faults;
};

/// What the pool and one of its workers share: the stop request of the
/// attempt the worker runs (the pool sets it; it clears it when it hands
/// the worker its next order).
struct worker_slot {
  /// Whether the worker's current attempt is to stop.
  std::atomic<bool> stop{false};
};

/// An attempt a worker runs.
struct running_attempt {
  /// Its execution id (`task_id/attempt`).
  std::string execution_id;
  /// Its task.
  std::string task_id;
  /// The Zenith that sent it (the pool's tick beats to it while the
  /// attempt waits for its start, see `starts_at`).
  zenith_actor zenith;
  /// Whether it was told to stop.
  bool stopping = false;
  /// For an attempt slowed by an injected fault: when its worker is handed
  /// it; until then the pool's tick beats for it. nullopt: at once.
  std::optional<caf::actor_clock::time_point> starts_at;
};

/// The pool's state.
struct worker_pool_state {
  /// The actor's name in CAF's logs.
  static constexpr const char* name = "worker_pool";
  /// The pool's configuration.
  contracts::pool_spec spec;
  /// Every worker, and what each shares with the pool.
  std::vector<caf::actor> workers;
  /// See `workers`.
  std::vector<std::shared_ptr<worker_slot>> slots;
  /// What worker i runs; nullopt: it is free.
  std::vector<std::optional<running_attempt>> running;
  /// Orders waiting for a free worker, oldest first, with the Zenith that
  /// sent each.
  std::deque<std::pair<contracts::dispatch_order, zenith_actor>> queue;
  /// How often the orders in `queue` are reported alive to Zenith (they
  /// wait for a worker, which beats once it runs them).
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
  /// Whether a heartbeat tick is scheduled.
  bool ticking = false;
  /// The faults to inject; null: none.
  std::shared_ptr<const contracts::fault_plan> faults;
  /// The execution ids of the orders an injected `silent` fault dropped,
  /// until Zenith cancels them.
  std::vector<std::string> silenced;
  /// The delays of queued orders slowed by an injected `slow` fault, by
  /// execution id (applied when a worker is free for them).
  std::unordered_map<std::string, std::chrono::milliseconds> delays;
};

/// Returns whether an attempt of `task_id` runs (or is stopping) on a
/// worker of the pool.
bool runs_task(const worker_pool_state& st, const std::string& task_id);

/// The pool's behavior: spawns `config.spec.workers` workers running
/// `config.run` and hands them orders as the file comment says.
pool_actor::behavior_type
worker_pool(pool_actor::stateful_pointer<worker_pool_state> self,
            worker_pool_config config);

} // namespace omniva::actors
