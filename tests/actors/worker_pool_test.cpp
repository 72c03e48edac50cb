#define BOOST_TEST_MODULE actors_worker_pool
#include <boost/test/unit_test.hpp>

// The worker pool on CAF's deterministic scheduler, with a fake executor in
// place of the adapters and a stand-in for Zenith that records what it is
// sent: orders run and their outcomes reach Zenith, workers and the queue
// send heartbeats, orders beyond the free workers wait their turn, an order
// waits while an earlier attempt of its task runs, and attempts are
// stopped; with a fault plan, orders go silent, fail at once or start
// late. One case runs on real threads: a worker beats on its own while its
// executor is silent.

#include "actors/worker_pool.hpp"
#include "contracts/error_code.hpp"
#include "contracts/faults.hpp"
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
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

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
  /// The execution ids it was told to stop, as it ran them.
  std::vector<std::string> saw_stop;
  /// How often it calls the heartbeat during each run.
  int beats_per_run = 0;
};

/// An executor that runs nothing: it records the order (and whether it was
/// to stop), writes a file into the order's output folder when it exists,
/// beats as told, throws for module `explodes@1`, and answers success with
/// ids that are deliberately wrong (the pool must put the order's own ids
/// in).
actors::executor fake_executor(std::shared_ptr<executor_log> log) {
  return [log](const contracts::dispatch_order& order,
               const actors::attempt_control& control) {
    log->ran.push_back(order.execution_id);
    if (control.stop_requested())
      log->saw_stop.push_back(order.execution_id);
    if (std::filesystem::is_directory(order.output_dir))
      std::ofstream{std::filesystem::path{order.output_dir} / "result.json"} << "{}";
    for (int i = 0; i < log->beats_per_run; ++i)
      control();
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

  /// Starts the pool, with the fault plan `faults` (JSON text) if given.
  void start_pool(uint32_t workers, std::string_view faults = {}) {
    actors::worker_pool_config wc;
    wc.spec.name = "default";
    wc.spec.workers = workers;
    wc.run = fake_executor(executor_did);
    wc.heartbeat_interval = beat_every;
    wc.detached_workers = false;
    if (!faults.empty()) {
      auto plan = contracts::check_fault_plan_text(faults);
      BOOST_REQUIRE(plan);
      wc.faults = std::make_shared<const contracts::fault_plan>(*plan.plan);
    }
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
    auto& r = state().running;
    return static_cast<size_t>(
      std::count_if(r.begin(), r.end(), [](auto& x) { return x.has_value(); }));
  }

  /// Sends the pool `cancel` for `execution_id`, as Zenith would.
  void cancel(const std::string& execution_id) {
    caf::send_as(zenith, pool, atom::cancel_v, execution_id);
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

BOOST_AUTO_TEST_CASE(an_order_waits_while_an_earlier_attempt_of_its_task_runs) {
  start_pool(2);
  dispatch(order_for("task-a", 1));
  pool_handles_one(); // task-a/1 goes to a worker
  dispatch(order_for("task-a", 2));
  dispatch(order_for("task-b", 1));
  pool_handles_one();
  pool_handles_one();
  // A worker is free, but task-a/2 waits for task-a/1; task-b/1 passes it.
  BOOST_CHECK_EQUAL(busy_workers(), 2u);
  BOOST_REQUIRE_EQUAL(state().queue.size(), 1u);
  BOOST_CHECK_EQUAL(state().queue.front().first.execution_id, "task-a/2");
  sched.run();
  BOOST_REQUIRE_EQUAL(executor_did->ran.size(), 3u);
  BOOST_CHECK_EQUAL(executor_did->ran.back(), "task-a/2");
  BOOST_CHECK_EQUAL(zenith_got->outcomes.size(), 3u);
  BOOST_CHECK(state().queue.empty());
}

BOOST_AUTO_TEST_CASE(a_cancelled_order_in_the_queue_never_runs) {
  start_pool(1);
  dispatch(order_for("task-a"));
  dispatch(order_for("task-b"));
  pool_handles_one();
  pool_handles_one();
  BOOST_REQUIRE_EQUAL(state().queue.size(), 1u);
  cancel("task-b/1");
  pool_handles_one();
  BOOST_CHECK(state().queue.empty());
  sched.run();
  BOOST_CHECK(executor_did->ran == std::vector<std::string>{"task-a/1"});
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 1u);
  BOOST_CHECK_EQUAL(zenith_got->outcomes.front().execution_id, "task-a/1");
}

BOOST_AUTO_TEST_CASE(a_cancelled_running_attempt_is_stopped_and_its_outputs_removed) {
  auto dir = std::filesystem::temp_directory_path()
             / ("omniva-pool-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  start_pool(1);
  auto order = order_for("task-a");
  order.output_dir = dir.string();
  dispatch(order);
  pool_handles_one(); // handed to the worker, which has not run it yet
  cancel("task-a/1");
  pool_handles_one();
  BOOST_REQUIRE(state().running[0].has_value());
  BOOST_CHECK(state().running[0]->stopping);
  sched.run();
  // The executor was told to stop; whatever it answered, the attempt did
  // not win.
  BOOST_CHECK(executor_did->saw_stop == std::vector<std::string>{"task-a/1"});
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 1u);
  auto& o = zenith_got->outcomes.front();
  BOOST_CHECK_EQUAL(o.execution_id, "task-a/1");
  BOOST_CHECK(!o.ok);
  BOOST_CHECK(o.error_code == contracts::ec::cancelled);
  BOOST_CHECK(o.outputs.empty());
  BOOST_CHECK_MESSAGE(!std::filesystem::exists(dir),
                      "the stopped attempt's folder " << dir << " is still there");
  BOOST_CHECK_EQUAL(busy_workers(), 0u);
  std::error_code err;
  std::filesystem::remove_all(dir, err);
}

BOOST_AUTO_TEST_CASE(a_re_run_waits_until_its_stopped_attempt_ended) {
  start_pool(2);
  dispatch(order_for("task-a", 1));
  pool_handles_one();
  cancel("task-a/1");
  pool_handles_one();
  dispatch(order_for("task-a", 2));
  pool_handles_one();
  BOOST_CHECK_EQUAL(busy_workers(), 1u);
  BOOST_REQUIRE_EQUAL(state().queue.size(), 1u);
  BOOST_CHECK_EQUAL(state().queue.front().first.execution_id, "task-a/2");
  sched.run();
  BOOST_CHECK(executor_did->ran
              == (std::vector<std::string>{"task-a/1", "task-a/2"}));
  // The re-run is not told to stop: the stop was its predecessor's.
  BOOST_CHECK(executor_did->saw_stop == std::vector<std::string>{"task-a/1"});
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 2u);
  BOOST_CHECK(zenith_got->outcomes[0].error_code == contracts::ec::cancelled);
  BOOST_CHECK_EQUAL(zenith_got->outcomes[1].execution_id, "task-a/2");
  BOOST_CHECK(zenith_got->outcomes[1].ok);
}

BOOST_AUTO_TEST_CASE(cancelling_an_attempt_the_pool_does_not_hold_changes_nothing) {
  start_pool(1);
  dispatch(order_for("task-a"));
  pool_handles_one();
  cancel("task-zzz/1");
  pool_handles_one();
  sched.run();
  BOOST_CHECK(executor_did->saw_stop.empty());
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 1u);
  BOOST_CHECK(zenith_got->outcomes.front().ok);
}

// -- injected faults -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_silent_fault_drops_the_order_with_no_outcome_and_no_heartbeat) {
  start_pool(1, R"({"rules": [{"module": "flaky@1", "attempts": [1], "fault": "silent"}]})");
  dispatch(order_for("task-a", 1, "flaky@1"));
  pool_handles_one();
  // Dropped at once: it holds no worker and does not wait in the queue.
  BOOST_CHECK_EQUAL(busy_workers(), 0u);
  BOOST_CHECK(state().queue.empty());
  BOOST_CHECK(state().silenced == std::vector<std::string>{"task-a/1"});
  // Two more orders: one runs, one waits in the queue.
  dispatch(order_for("task-b"));
  dispatch(order_for("task-c"));
  pool_handles_one();
  pool_handles_one();
  BOOST_CHECK_EQUAL(busy_workers(), 1u);
  BOOST_REQUIRE_EQUAL(state().queue.size(), 1u);
  // The tick beats for the queued order, never for the silent one.
  sched.advance_time(beat_every);
  pool_handles_one();
  zenith_handles_one();
  BOOST_CHECK_EQUAL(zenith_got->beats("task-c/1"), 1u);
  BOOST_CHECK_EQUAL(zenith_got->beats("task-a/1"), 0u);
  sched.run();
  for (int i = 0; i < 3; ++i) {
    sched.advance_time(beat_every);
    sched.run();
  }
  BOOST_CHECK(executor_did->ran
              == (std::vector<std::string>{"task-b/1", "task-c/1"}));
  BOOST_CHECK_GE(zenith_got->beats("task-b/1"), 1u);
  BOOST_CHECK_EQUAL(zenith_got->beats("task-a/1"), 0u);
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 2u);
  for (auto& o : zenith_got->outcomes)
    BOOST_CHECK_NE(o.execution_id, "task-a/1");
  // Zenith takes it for lost and cancels it: the pool forgets it, still
  // without an outcome; the re-run (attempt 2, not in the rule) runs.
  cancel("task-a/1");
  dispatch(order_for("task-a", 2, "flaky@1"));
  sched.run();
  BOOST_CHECK(state().silenced.empty());
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 3u);
  BOOST_CHECK_EQUAL(zenith_got->outcomes.back().execution_id, "task-a/2");
  BOOST_CHECK(zenith_got->outcomes.back().ok);
  BOOST_CHECK_EQUAL(zenith_got->beats("task-a/1"), 0u);
}

BOOST_AUTO_TEST_CASE(injected_transient_and_deterministic_failures_answer_at_once_without_running) {
  start_pool(1, R"({"rules": [
    {"module": "flaky@1", "fault": "transient"},
    {"module": "broken@1", "fault": "fail", "code": "missing_output",
     "message": "no result.json"}]})");
  dispatch(order_for("task-a", 2, "flaky@1"));
  dispatch(order_for("task-b", 1, "broken@1"));
  pool_handles_one();
  pool_handles_one();
  BOOST_CHECK_EQUAL(busy_workers(), 0u);
  BOOST_CHECK(state().queue.empty());
  sched.run();
  BOOST_CHECK(executor_did->ran.empty());
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 2u);
  auto& transient = zenith_got->outcomes[0];
  BOOST_CHECK_EQUAL(transient.execution_id, "task-a/2");
  BOOST_CHECK_EQUAL(transient.task_id, "task-a");
  BOOST_CHECK_EQUAL(transient.attempt, 2u);
  BOOST_CHECK(!transient.ok);
  BOOST_CHECK(transient.error_code == contracts::ec::io_error);
  BOOST_CHECK(transient.transient);
  BOOST_CHECK_EQUAL(transient.error_message,
                    "injected fault: a transient failure (fault plan rule 1)");
  BOOST_CHECK(transient.outputs.empty());
  auto& failed = zenith_got->outcomes[1];
  BOOST_CHECK_EQUAL(failed.execution_id, "task-b/1");
  BOOST_CHECK(!failed.ok);
  BOOST_CHECK(failed.error_code == contracts::ec::missing_output);
  BOOST_CHECK(!failed.transient);
  BOOST_CHECK_EQUAL(failed.error_message,
                    "injected fault: no result.json (fault plan rule 2)");
  // No heartbeat for either: they never ran.
  BOOST_CHECK_EQUAL(zenith_got->beats("task-a/2"), 0u);
  BOOST_CHECK_EQUAL(zenith_got->beats("task-b/1"), 0u);
  // Orders no rule matches run as usual.
  dispatch(order_for("task-c"));
  sched.run();
  BOOST_CHECK(executor_did->ran == std::vector<std::string>{"task-c/1"});
  BOOST_CHECK(zenith_got->outcomes.back().ok);
}

BOOST_AUTO_TEST_CASE(a_slow_fault_runs_the_order_after_its_delay_and_the_pool_beats_meanwhile) {
  start_pool(1, R"({"rules": [{"module": "slow@1", "fault": "slow", "delay_ms": 12000}]})");
  dispatch(order_for("task-s", 1, "slow@1"));
  dispatch(order_for("task-b"));
  sched.run();
  // The slow order holds the worker but has not run; the other waits.
  BOOST_CHECK(executor_did->ran.empty());
  BOOST_CHECK_EQUAL(busy_workers(), 1u);
  BOOST_REQUIRE(state().running[0].has_value());
  BOOST_CHECK(state().running[0]->starts_at.has_value());
  BOOST_CHECK_EQUAL(state().queue.size(), 1u);
  BOOST_CHECK(zenith_got->events.empty());
  // 5 s and 10 s: the pool beats for both.
  for (size_t n = 1; n <= 2; ++n) {
    sched.advance_time(beat_every);
    sched.run();
    BOOST_CHECK_EQUAL(zenith_got->beats("task-s/1"), n);
    BOOST_CHECK_EQUAL(zenith_got->beats("task-b/1"), n);
    BOOST_CHECK(executor_did->ran.empty());
  }
  // 12 s: the worker gets it and runs it, then the other one.
  sched.advance_time(std::chrono::seconds{2});
  sched.run();
  BOOST_CHECK(executor_did->ran
              == (std::vector<std::string>{"task-s/1", "task-b/1"}));
  BOOST_REQUIRE_EQUAL(zenith_got->outcomes.size(), 2u);
  BOOST_CHECK_EQUAL(zenith_got->outcomes[0].execution_id, "task-s/1");
  BOOST_CHECK(zenith_got->outcomes[0].ok);
  BOOST_CHECK_EQUAL(zenith_got->beats("task-s/1"), 3u); // + the worker's
  // Nothing waits any more: the next tick sends nothing and stops ticking.
  auto events = zenith_got->events.size();
  sched.advance_time(beat_every);
  sched.run();
  BOOST_CHECK_EQUAL(zenith_got->events.size(), events);
  BOOST_CHECK(!state().ticking);
  BOOST_CHECK_EQUAL(busy_workers(), 0u);
}

BOOST_AUTO_TEST_CASE(a_slow_order_cancelled_in_the_queue_forgets_its_delay) {
  start_pool(1, R"({"rules": [{"module": "slow@1", "fault": "slow", "delay_ms": 1000}]})");
  dispatch(order_for("task-a"));
  dispatch(order_for("task-s", 1, "slow@1"));
  pool_handles_one();
  pool_handles_one();
  BOOST_CHECK_EQUAL(state().delays.count("task-s/1"), 1u);
  cancel("task-s/1");
  pool_handles_one();
  BOOST_CHECK(state().queue.empty());
  BOOST_CHECK(state().delays.empty());
  sched.run();
  BOOST_CHECK(executor_did->ran == std::vector<std::string>{"task-a/1"});
}

BOOST_AUTO_TEST_SUITE_END()

// -- on real threads ------------------------------------------------------------------

namespace {

/// What Zenith's stand-in on real threads counted.
struct beat_count {
  std::mutex mtx;
  std::condition_variable changed;
  int beats = 0;
  bool result = false;
  /// The heartbeats that arrived before the outcome.
  int beats_before_result = 0;
};

/// Zenith's stand-in on real threads: counts heartbeats, notes the outcome.
caf::behavior counting_zenith(caf::event_based_actor*,
                              std::shared_ptr<beat_count> count) {
  return {
    [=](atom::heartbeat, const std::string&) {
      std::lock_guard<std::mutex> guard{count->mtx};
      ++count->beats;
      count->changed.notify_all();
    },
    [=](atom::result, const contracts::execution_outcome&) {
      std::lock_guard<std::mutex> guard{count->mtx};
      count->result = true;
      count->beats_before_result = count->beats;
      count->changed.notify_all();
    },
  };
}

} // namespace

BOOST_AUTO_TEST_CASE(a_worker_beats_on_its_own_while_its_executor_is_silent) {
  caf::actor_system_config cfg;
  contracts::register_types(cfg);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto count = std::make_shared<beat_count>();
  auto zenith = sys.spawn(counting_zenith, count);
  actors::worker_pool_config wc;
  wc.spec.name = "default";
  wc.spec.workers = 1;
  wc.heartbeat_interval = std::chrono::milliseconds{20};
  // Like an adapter checking a huge output: blocks, never calls the
  // heartbeat; it returns once two beats beyond the first arrived (or
  // gives up after 10 s, and the check below fails).
  wc.run = [count](const contracts::dispatch_order&, const actors::attempt_control&) {
    std::unique_lock<std::mutex> guard{count->mtx};
    count->changed.wait_for(guard, std::chrono::seconds{10},
                            [&] { return count->beats >= 3; });
    contracts::execution_outcome out;
    out.ok = true;
    return out;
  };
  auto pool = sys.spawn(actors::worker_pool, std::move(wc));
  caf::send_as(zenith, pool, atom::dispatch_v, order_for("task-slow"));
  {
    std::unique_lock<std::mutex> guard{count->mtx};
    count->changed.wait_for(guard, std::chrono::seconds{30},
                            [&] { return count->result; });
    BOOST_REQUIRE(count->result);
    // The one sent as it started, and at least two while it ran.
    BOOST_CHECK_GE(count->beats_before_result, 3);
  }
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(zenith, caf::exit_reason::user_shutdown);
}
