#include "actors/worker_pool.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

#include <spdlog/spdlog.h>

namespace omniva::actors {

namespace {

/// One worker: runs an attempt, reports to Zenith, tells the pool it is free.
caf::behavior worker(caf::event_based_actor* self, executor run, uint32_t index,
                     pool_actor pool) {
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
      try {
        outcome = run(order, heartbeat);
      } catch (const std::exception& e) {
        // An adapter bug must not take the node down: the attempt fails.
        outcome.ok = false;
        outcome.error_code = contracts::ec::spawn_failed;
        outcome.error_message = std::string{"the adapter failed: "} + e.what();
      }
      outcome.execution_id = order.execution_id;
      outcome.task_id = order.task.task_id;
      outcome.attempt = order.task.attempt;
      self->send(to, atom::result_v, std::move(outcome));
      self->send(pool, atom::done_v, index);
    },
  };
}

void start_next(pool_actor::stateful_pointer<worker_pool_state> self) {
  auto& st = self->state;
  for (uint32_t i = 0; i < st.workers.size() && !st.queue.empty(); ++i) {
    if (st.busy[i])
      continue;
    auto [order, zenith] = std::move(st.queue.front());
    st.queue.pop_front();
    st.busy[i] = true;
    caf::anon_send(st.workers[i], atom::dispatch_v, std::move(order),
                   caf::actor_cast<caf::actor>(zenith));
  }
}

} // namespace

pool_actor::behavior_type
worker_pool(pool_actor::stateful_pointer<worker_pool_state> self,
            worker_pool_config config) {
  auto& st = self->state;
  st.spec = std::move(config.spec);
  st.heartbeat_interval = config.heartbeat_interval;
  auto me = caf::actor_cast<pool_actor>(self);
  for (uint32_t i = 0; i < st.spec.workers; ++i) {
    st.workers.push_back(
      config.detached_workers
        ? self->spawn<caf::detached + caf::linked>(worker, config.run, i, me)
        : self->spawn<caf::linked>(worker, config.run, i, me));
    st.busy.push_back(false);
  }
  spdlog::info("worker_pool {}: {} workers ({} cpu, {} GB{})", st.spec.name,
               st.spec.workers, st.spec.cpu, st.spec.memory_gb,
               st.spec.gpu ? ", gpu" : "");
  return {
    [=](atom::dispatch, contracts::dispatch_order& order) {
      auto zenith = caf::actor_cast<zenith_actor>(self->current_sender());
      self->state.queue.emplace_back(std::move(order), zenith);
      start_next(self);
      if (!self->state.queue.empty() && !self->state.ticking) {
        self->state.ticking = true;
        self->delayed_send(self, self->state.heartbeat_interval, atom::tick_v);
      }
    },
    [=](atom::tick) {
      auto& st = self->state;
      for (auto& [order, zenith] : st.queue)
        self->send(zenith, atom::heartbeat_v, order.execution_id);
      st.ticking = !st.queue.empty();
      if (st.ticking)
        self->delayed_send(self, st.heartbeat_interval, atom::tick_v);
    },
    [=](atom::done, uint32_t index) {
      if (index < self->state.busy.size())
        self->state.busy[index] = false;
      start_next(self);
    },
  };
}

} // namespace omniva::actors
