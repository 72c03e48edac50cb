#define BOOST_TEST_MODULE actors_worker_pool
#include <boost/test/unit_test.hpp>

// The worker pool on CAF's deterministic scheduler, with a fake executor in
// place of the adapters and a stand-in for Zenith that records what it is
// sent: orders run and their outcomes reach Zenith, workers and the queue
// send heartbeats, and orders beyond the free workers wait their turn.

#include "actors/worker_pool.hpp"
#include "contracts/error_code.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/type_ids.hpp"
#include "tests/actors/test_support.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using namespace omniva;
using actors::worker_pool_state;
using test_support::testing_config;

namespace {

using pool_impl = std::remove_pointer_t<
  actors::pool_actor::stateful_pointer<worker_pool_state>>;

constexpr auto beat_every = std::chrono::seconds{5};

/// What Zenith's stand-in was sent, in order of arrival: "beat <id>" for a
/// heartbeat, "result <id>" for an outcome.
struct zenith_log {
  std::vector<std::string> events;
  std::vector<contracts::execution_outcome> outcomes;

  /// The heartbeats for execution `id`.
  size_t beats(const std::string& id) const {
    return static_cast<size_t>(
      std::count(events.begin(), events.end(), "beat " + id));
  }
};

/// Zenith's stand-in. Dynamically typed, so it need not implement Zenith's
/// whole interface: the pool only ever sends it heartbeats and outcomes.
caf::behavior zenith_stand_in(caf::event_based_actor*,
                              std::shared_ptr<zenith_log> log) {
  return {
    [=](atom::heartbeat, const std::string& id) {
      log->events.push_back("beat " + id);
    },
    [=](atom::result, contracts::execution_outcome& o) {
      log->events.push_back("result " + o.execution_id);
      log->outcomes.push_back(std::move(o));
    },
  };
}

/// What the fake executor did, and how it behaves.
struct executor_log {
  /// The execution ids it ran, in order.
  std::vector<std::string> ran;
  /// How often it calls the heartbeat during each run.
  int beats_per_run = 0;
};

/// An executor that runs nothing: it records the order, beats as told,
/// throws for module `explodes@1`, and answers success with ids that are
/// deliberately wrong (the pool must put the order's own ids in).
actors::executor fake_executor(std::shared_ptr<executor_log> log) {
  return [log](const contracts::dispatch_order& order,
               const std::function<void()>& heartbeat) {
    log->ran.push_back(order.execution_id);
    for (int i = 0; i < log->beats_per_run; ++i)
      heartbeat();
    if (order.task.module_ref == "explodes@1")
      throw std::runtime_error("boom");
    contracts::execution_outcome out;
    out.execution_id = "not/the-order";
    out.task_id = "not-the-task";
    out.attempt = 99;
    out.ok = true;
    out.outputs.push_back({"result", "/out/" + order.task.task_id + ".json",
                           "application/json", std::string(64, 'a'), 2});
    return out;
  };
}

/// An order for attempt `attempt` of task `task_id`, running `module_ref`.
contracts::dispatch_order order_for(const std::string& task_id,
                                   uint32_t attempt = 1,
                                   const std::string& module_ref = "source@1") {
  contracts::dispatch_order o;
  o.task.task_id = task_id;
  o.task.attempt = attempt;
  o.task.module_ref = module_ref;
  o.execution_id = task_id + "/" + std::to_string(attempt);
  o.output_dir = "/data/outputs/" + task_id + "/" + std::to_string(attempt);
  return o;
}

/// Zenith's stand-in on the test coordinator; `start_pool` adds a pool of
/// non-detached workers (so that they run on the coordinator too).
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<zenith_log> zenith_got = std::make_shared<zenith_log>();
  std::shared_ptr<executor_log> executor_did = std::make_shared<executor_log>();
  caf::actor zenith;
  actors::pool_actor pool;

  fixture()
    : sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    zenith = sys.spawn(zenith_stand_in, zenith_got);
    sched.run();
  }

  ~fixture() {
    if (pool)
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(zenith, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void start_pool(uint32_t workers) {
    actors::worker_pool_config wc;
    wc.spec.name = "default";
    wc.spec.workers = workers;
    wc.run = fake_executor(executor_did);
    wc.heartbeat_interval = beat_every;
    wc.detached_workers = false;
    pool = sys.spawn(actors::worker_pool, std::move(wc));
    sched.run();
  }

  /// Sends `order` to the pool as Zenith would.
  void dispatch(const contracts::dispatch_order& order) {
    caf::send_as(zenith, pool, atom::dispatch_v, order);
  }

  /// Lets the pool alone handle one message, ahead of any worker.
  void pool_handles_one() {
    BOOST_REQUIRE(sched.prioritize(pool));
    sched.run_once();
  }

  /// Lets Zenith's stand-in alone handle one message, ahead of any worker.
  void zenith_handles_one() {
    BOOST_REQUIRE(sched.prioritize(zenith));
    sched.run_once();
  }

  worker_pool_state& state() {
    auto* ptr = caf::actor_cast<caf::abstract_actor*>(pool);
    return dynamic_cast<pool_impl&>(*ptr).state;
  }

  size_t busy_workers() {
    auto& b = state().busy;
    return static_cast<size_t>(std::count(b.begin(), b.end(), true));
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(worker_pool, fixture)

BOOST_AUTO_TEST_CASE(an_order_runs_and_its_outcome_reaches_zenith) {
  start_pool(1);
  dispatch(order_for("task-a", 2));
  sched.run();
  BOOST_CHECK(executor_did->ran == std::vector<std::string>{"task-a/2"});
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 1u);
  auto& o = zenith_got->outcomes.front();
  // The order's ids, whatever the executor said.
  BOOST_CHECK_EQUAL(o.execution_id, "task-a/2");
  BOOST_CHECK_EQUAL(o.task_id, "task-a");
  BOOST_CHECK_EQUAL(o.attempt, 2u);
  BOOST_CHECK(o.ok);
  BOOST_REQUIRE_EQUAL(o.outputs.size(), 1u);
  BOOST_CHECK_EQUAL(o.outputs.front().path, "/out/task-a.json");
  // The worker is free again.
  BOOST_CHECK_EQUAL(busy_workers(), 0u);
  BOOST_CHECK(state().queue.empty());
}

BOOST_AUTO_TEST_CASE(a_worker_beats_when_it_starts_and_whenever_the_executor_does) {
  start_pool(1);
  executor_did->beats_per_run = 2;
  dispatch(order_for("task-a"));
  sched.run();
  std::vector<std::string> want{"beat task-a/1", "beat task-a/1", "beat task-a/1",
                                "result task-a/1"};
  BOOST_CHECK(zenith_got->events == want);
}

BOOST_AUTO_TEST_CASE(orders_beyond_the_free_workers_wait_in_the_queue_in_order) {
  start_pool(2);
  for (auto* id : {"task-a", "task-b", "task-c"})
    dispatch(order_for(id));
  // The pool takes all three orders before any worker runs: two start, the
  // third waits.
  for (int i = 0; i < 3; ++i)
    pool_handles_one();
  BOOST_CHECK_EQUAL(busy_workers(), 2u);
  BOOST_REQUIRE_EQUAL(state().queue.size(), 1u);
  BOOST_CHECK_EQUAL(state().queue.front().first.execution_id, "task-c/1");
  BOOST_CHECK(state().ticking);
  BOOST_CHECK(executor_did->ran.empty());
  // A heartbeat interval passes: the pool reports the waiting order alive.
  BOOST_CHECK_EQUAL(zenith_got->beats("task-c/1"), 0u);
  sched.advance_time(beat_every);
  pool_handles_one();
  zenith_handles_one();
  BOOST_CHECK_EQUAL(zenith_got->beats("task-c/1"), 1u);
  BOOST_CHECK(executor_did->ran.empty());
  // The workers run; the first to finish takes the waiting order.
  sched.run();
  BOOST_CHECK(executor_did->ran
              == (std::vector<std::string>{"task-a/1", "task-b/1", "task-c/1"}));
  BOOST_CHECK_EQUAL(zenith_got->outcomes.size(), 3u);
  BOOST_CHECK_EQUAL(zenith_got->beats("task-c/1"), 2u); // the queue's, the worker's
  BOOST_CHECK_EQUAL(busy_workers(), 0u);
  BOOST_CHECK(state().queue.empty());
  // With the queue empty, the next tick sends nothing and stops ticking.
  auto events = zenith_got->events.size();
  sched.advance_time(beat_every);
  sched.run();
  BOOST_CHECK_EQUAL(zenith_got->events.size(), events);
  BOOST_CHECK(!state().ticking);
}

BOOST_AUTO_TEST_CASE(a_pool_with_free_workers_queues_nothing_and_does_not_tick) {
  start_pool(2);
  dispatch(order_for("task-a"));
  pool_handles_one();
  BOOST_CHECK_EQUAL(busy_workers(), 1u);
  BOOST_CHECK(state().queue.empty());
  BOOST_CHECK(!state().ticking);
  sched.run();
  BOOST_CHECK_EQUAL(zenith_got->outcomes.size(), 1u);
}

BOOST_AUTO_TEST_CASE(an_executor_that_throws_fails_the_attempt_and_frees_the_worker) {
  start_pool(1);
  dispatch(order_for("task-x", 1, "explodes@1"));
  dispatch(order_for("task-y"));
  sched.run();
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 2u);
  auto& failed = zenith_got->outcomes[0];
  BOOST_CHECK_EQUAL(failed.execution_id, "task-x/1");
  BOOST_CHECK(!failed.ok);
  BOOST_CHECK(failed.error_code == contracts::ec::spawn_failed);
  BOOST_CHECK_EQUAL(failed.error_message, "the adapter failed: boom");
  // The same worker took the next order.
  BOOST_CHECK_EQUAL(zenith_got->outcomes[1].execution_id, "task-y/1");
  BOOST_CHECK(zenith_got->outcomes[1].ok);
}

BOOST_AUTO_TEST_SUITE_END()
