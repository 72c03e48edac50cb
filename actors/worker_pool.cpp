// The worker pool: hands orders to free workers (holding an order while an
// earlier attempt of its task runs), stops attempts on request, injects the
// faults of its fault plan; each worker runs one attempt with a heartbeat
// ticker beside it and reports the outcome.

#include "actors/worker_pool.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

namespace omniva::actors {

namespace {

/// Sends Zenith a heartbeat for the attempt its worker runs, every interval,
/// from a thread of its own: the attempt is alive in every phase, whatever
/// the executor does. One per worker for the worker's life (a thread per
/// attempt cost a third of the node's throughput with fast modules):
/// `start` names the attempt, `stop` ends its beats (none leaves after
/// `stop` returns: beats are sent under the lock).
class heartbeat_ticker {
public:
  explicit heartbeat_ticker(std::chrono::milliseconds every)
    : every_(every), thread_([this] { run(); }) {
  }

  heartbeat_ticker(const heartbeat_ticker&) = delete;
  heartbeat_ticker& operator=(const heartbeat_ticker&) = delete;

  ~heartbeat_ticker() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  /// Beats for `execution_id` to `to` every interval from now on.
  void start(zenith_actor to, std::string execution_id) {
    std::lock_guard<std::mutex> guard{mtx_};
    to_ = std::move(to);
    id_ = std::move(execution_id);
    ++generation_;
    wake_.notify_all();
  }

  /// No more beats until the next `start`.
  void stop() {
    std::lock_guard<std::mutex> guard{mtx_};
    to_ = nullptr;
    id_.clear();
    ++generation_;
    wake_.notify_all();
  }

private:
  void run() {
    std::unique_lock<std::mutex> guard{mtx_};
    while (!quit_) {
      auto generation = generation_;
      bool changed = wake_.wait_for(guard, every_, [&] {
        return quit_ || generation_ != generation;
      });
      if (!changed && to_)
        caf::anon_send(to_, atom::heartbeat_v, id_); // thread-safe
    }
  }

  std::chrono::milliseconds every_;
  std::mutex mtx_;
  std::condition_variable wake_;
  bool quit_ = false;
  /// Changes with every start and stop: a wait that sees it change begins
  /// a new interval.
  uint64_t generation_ = 0;
  zenith_actor to_;
  std::string id_;
  std::thread thread_; // last: starts once the rest is built
};

/// Turns the outcome of a stopped attempt into `cancelled` and removes the
/// attempt's output folder: it did not win, nothing of it may be used.
void discard_stopped(const contracts::dispatch_order& order,
                     contracts::execution_outcome& outcome) {
  if (!order.output_dir.empty()) {
    std::error_code err;
    std::filesystem::remove_all(order.output_dir, err);
    if (err)
      spdlog::warn("worker_pool: cannot remove the output folder {} of the "
                   "stopped attempt {}: {}",
                   order.output_dir, order.execution_id, err.message());
  }
  outcome.outputs.clear();
  if (outcome.ok || outcome.error_code != contracts::ec::cancelled) {
    outcome.ok = false;
    outcome.error_code = contracts::ec::cancelled;
    outcome.error_message = "the attempt was stopped; its outputs were removed";
    outcome.transient = false;
  }
}

/// One worker: runs an attempt, reports to Zenith, tells the pool it is free.
caf::behavior worker(caf::event_based_actor* self, executor run, uint32_t index,
                     pool_actor pool, std::shared_ptr<worker_slot> slot,
                     std::chrono::milliseconds heartbeat_interval) {
  auto ticker = std::make_shared<heartbeat_ticker>(heartbeat_interval);
  return {
    [=](atom::dispatch, const contracts::dispatch_order& order,
        const caf::actor& zenith) {
      contracts::execution_outcome outcome;
      auto to = caf::actor_cast<zenith_actor>(zenith);
      // Sent from this worker's own thread, inside its handler: allowed.
      auto heartbeat = [self, to, id = order.execution_id] {
        self->send(to, atom::heartbeat_v, id);
      };
      heartbeat(); // it runs now: the wait in the pool's queue is over
      {
        ticker->start(to, order.execution_id);
        // Stops the beats on every way out of this block.
        struct stops_beats {
          heartbeat_ticker& t;
          ~stops_beats() {
            t.stop();
          }
        } stop_beats_at_the_end{*ticker};
        try {
          outcome = run(order, attempt_control{heartbeat, slot->stop});
        } catch (const std::exception& e) {
          // An adapter bug must not take the node down: the attempt fails.
          outcome.ok = false;
          outcome.error_code = contracts::ec::spawn_failed;
          outcome.error_message = std::string{"the adapter failed: "} + e.what();
        }
      } // the ticker stops before the outcome leaves
      if (slot->stop.load())
        discard_stopped(order, outcome);
      outcome.execution_id = order.execution_id;
      outcome.task_id = order.task.task_id;
      outcome.attempt = order.task.attempt;
      self->send(to, atom::result_v, std::move(outcome));
      self->send(pool, atom::done_v, index);
    },
  };
}

/// Hands queued orders to free workers, oldest first, passing over an order
/// whose task still has an attempt on a worker.
void start_next(pool_actor::stateful_pointer<worker_pool_state> self) {
  auto& st = self->state;
  auto next_free = [&st] {
    auto i = std::find_if(st.running.begin(), st.running.end(),
                          [](auto& r) { return !r.has_value(); });
    return static_cast<size_t>(i - st.running.begin());
  };
  for (auto q = st.queue.begin(); q != st.queue.end();) {
    auto i = next_free();
    if (i == st.running.size())
      return;
    if (runs_task(st, q->first.task.task_id)) {
      ++q; // held until the earlier attempt ended
      continue;
    }
    auto [order, zenith] = std::move(*q);
    q = st.queue.erase(q);
    st.running[i] = running_attempt{order.execution_id, order.task.task_id,
                                    zenith};
    st.slots[i]->stop = false; // the worker is done with its last attempt
    if (auto d = st.delays.find(order.execution_id); d != st.delays.end()) {
      // An injected `slow` fault: the worker gets the order later; the
      // pool's tick beats for it meanwhile.
      auto delay = d->second;
      st.delays.erase(d);
      st.running[i]->starts_at = self->clock().now() + delay;
      caf::delayed_anon_send(st.workers[i], delay, atom::dispatch_v,
                             std::move(order),
                             caf::actor_cast<caf::actor>(zenith));
      continue;
    }
    caf::anon_send(st.workers[i], atom::dispatch_v, std::move(order),
                   caf::actor_cast<caf::actor>(zenith));
  }
}

/// Whether an attempt on a worker waits for its delayed start at `now`.
bool waits_to_start(const std::optional<running_attempt>& r,
                    caf::actor_clock::time_point now) {
  return r && r->starts_at && *r->starts_at > now;
}

/// Schedules the pool's heartbeat tick when something waits for a worker
/// (or for its delayed start) and none is scheduled.
void keep_ticking(pool_actor::stateful_pointer<worker_pool_state> self) {
  auto& st = self->state;
  auto now = self->clock().now();
  bool waiting = !st.queue.empty()
                 || std::any_of(st.running.begin(), st.running.end(),
                                [&](auto& r) { return waits_to_start(r, now); });
  if (waiting && !st.ticking) {
    st.ticking = true;
    self->delayed_send(self, st.heartbeat_interval, atom::tick_v);
  }
}

/// Applies an injected fault to `order` as it arrives (see the header).
/// Returns whether the order is done with (silent, transient, fail); a
/// slow order goes on into the queue with its delay noted.
bool inject(pool_actor::stateful_pointer<worker_pool_state> self,
            const contracts::dispatch_order& order, const zenith_actor& zenith,
            const contracts::injected_fault& fault) {
  auto& st = self->state;
  spdlog::warn("worker_pool {}: attempt {} of {}: {}", st.spec.name,
               order.execution_id, order.task.module_ref, fault.message);
  switch (fault.kind) {
    case contracts::fault_kind::silent:
      st.silenced.push_back(order.execution_id);
      return true;
    case contracts::fault_kind::transient:
    case contracts::fault_kind::fail: {
      contracts::execution_outcome out;
      out.execution_id = order.execution_id;
      out.task_id = order.task.task_id;
      out.attempt = order.task.attempt;
      out.ok = false;
      out.error_code = fault.code;
      out.error_message = fault.message;
      out.transient = fault.transient;
      self->send(zenith, atom::result_v, std::move(out));
      return true;
    }
    case contracts::fault_kind::slow:
      st.delays[order.execution_id] = fault.delay;
      return false;
  }
  return false;
}

/// Stops attempt `execution_id`: drops it from the queue, or tells its
/// worker to stop it.
void stop_attempt(pool_actor::stateful_pointer<worker_pool_state> self,
                  const std::string& execution_id) {
  auto& st = self->state;
  if (auto s = std::find(st.silenced.begin(), st.silenced.end(), execution_id);
      s != st.silenced.end()) {
    st.silenced.erase(s);
    spdlog::info("worker_pool {}: forgot the silenced attempt {}", st.spec.name,
                 execution_id);
    return;
  }
  auto queued = std::find_if(st.queue.begin(), st.queue.end(), [&](auto& q) {
    return q.first.execution_id == execution_id;
  });
  if (queued != st.queue.end()) {
    st.queue.erase(queued);
    st.delays.erase(execution_id);
    spdlog::info("worker_pool {}: dropped the queued attempt {}", st.spec.name,
                 execution_id);
    return;
  }
  for (size_t i = 0; i < st.running.size(); ++i) {
    auto& r = st.running[i];
    if (!r || r->execution_id != execution_id || r->stopping)
      continue;
    r->stopping = true;
    st.slots[i]->stop = true;
    spdlog::info("worker_pool {}: stopping the attempt {} on worker {}",
                 st.spec.name, execution_id, i);
  }
}

} // namespace

bool runs_task(const worker_pool_state& st, const std::string& task_id) {
  return std::any_of(st.running.begin(), st.running.end(), [&](auto& r) {
    return r && r->task_id == task_id;
  });
}

pool_actor::behavior_type
worker_pool(pool_actor::stateful_pointer<worker_pool_state> self,
            worker_pool_config config) {
  auto& st = self->state;
  st.spec = std::move(config.spec);
  st.heartbeat_interval = config.heartbeat_interval;
  st.faults = std::move(config.faults);
  auto me = caf::actor_cast<pool_actor>(self);
  for (uint32_t i = 0; i < st.spec.workers; ++i) {
    auto slot = std::make_shared<worker_slot>();
    st.workers.push_back(
      config.detached_workers
        ? self->spawn<caf::detached + caf::linked>(worker, config.run, i, me,
                                                   slot, config.heartbeat_interval)
        : self->spawn<caf::linked>(worker, config.run, i, me, slot,
                                   config.heartbeat_interval));
    st.slots.push_back(std::move(slot));
    st.running.emplace_back();
  }
  spdlog::info("worker_pool {}: {} workers ({} cpu, {} GB{})", st.spec.name,
               st.spec.workers, st.spec.cpu, st.spec.memory_gb,
               st.spec.gpu ? ", gpu" : "");
  return {
    [=](atom::dispatch, contracts::dispatch_order& order) {
      auto zenith = caf::actor_cast<zenith_actor>(self->current_sender());
      auto& st = self->state;
      if (st.faults)
        if (auto fault = contracts::decide(*st.faults, order, st.spec.name))
          if (inject(self, order, zenith, *fault))
            return;
      st.queue.emplace_back(std::move(order), zenith);
      start_next(self);
      keep_ticking(self);
    },
    [=](atom::cancel, const std::string& execution_id) {
      stop_attempt(self, execution_id);
    },
    [=](atom::tick) {
      auto& st = self->state;
      for (auto& [order, zenith] : st.queue)
        self->send(zenith, atom::heartbeat_v, order.execution_id);
      // Attempts slowed by an injected fault are alive while they wait.
      auto now = self->clock().now();
      for (auto& r : st.running)
        if (waits_to_start(r, now))
          self->send(r->zenith, atom::heartbeat_v, r->execution_id);
      st.ticking = false;
      keep_ticking(self);
    },
    [=](atom::done, uint32_t index) {
      if (index < self->state.running.size())
        self->state.running[index].reset();
      start_next(self);
      keep_ticking(self);
    },
  };
}

} // namespace omniva::actors
