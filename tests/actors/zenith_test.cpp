#define BOOST_TEST_MODULE zenith
#include <boost/test/unit_test.hpp>

// Zenith, first as a state (every method called directly, each commit read
// back from the database and the log verified), then as an actor on CAF's
// deterministic scheduler (group commit: what one drained mailbox produced
// lands in one commit).

#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/module_registration.hpp"
#include "storage/verify.hpp"
#include "tests/actors/test_support.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

using namespace omniva;
using namespace omniva::test_support;
using actors::zenith_state;
using contracts::asset_record;
using contracts::asset_status;
using contracts::ec;
using contracts::task_record;
using contracts::task_request;
using contracts::task_status;

namespace {

// -- helpers ------------------------------------------------------------------

bool has_problem(const contracts::submit_result& r, ec code) {
  return std::any_of(r.problems.begin(), r.problems.end(),
                     [&](auto& p) { return p.code == code; });
}

/// A module no pool of the tests can hold (64 CPUs).
const std::string huge_module
  = module_json("huge", "Needs a big machine.", "[]", json_result_output(), 64);

contracts::module_entry entry_of(const std::string& text) {
  auto e = contracts::check_module_text(text, "/modules/x", {});
  BOOST_REQUIRE_MESSAGE(e, "module does not parse: " << why(e));
  return *e;
}

/// A worker's report on the current attempt of `t`, saying nothing yet.
contracts::execution_outcome report_on(const task_record& t) {
  contracts::execution_outcome o;
  o.execution_id = t.task_id + "/" + std::to_string(t.attempt);
  o.task_id = t.task_id;
  o.attempt = t.attempt;
  return o;
}

/// What a worker reports for a successful run of `t`.
contracts::execution_outcome success(const task_record& t) {
  auto o = report_on(t);
  o.ok = true;
  for (auto& [key, id] : t.outputs)
    o.outputs.push_back({key, "/data/outputs/" + t.task_id + "/" + key + ".json",
                         "application/json", std::string(64, 'a'), 17});
  return o;
}

/// What a worker reports for a failed run of `t`.
contracts::execution_outcome failure(const task_record& t) {
  auto o = report_on(t);
  o.ok = false;
  o.error_code = ec::exit_code;
  o.error_message = "the module exited with status 3";
  return o;
}

/// What a worker reports when `t`'s output breaks its schema at
/// "/duration" (a string where the schema wants a number).
contracts::execution_outcome schema_breach(const task_record& t) {
  auto o = report_on(t);
  o.ok = false;
  o.error_code = ec::output_contract_violation;
  o.error_message = "output \"result\" does not satisfy its schema at "
                    "/duration: must be a number";
  o.error_pointer = "/duration";
  return o;
}

/// Reads row `key` of `t` and parses it with `from_json`.
template <class Record, class FromJson>
Record read_row(const storage::reader& r, storage::table t,
                const std::string& key, FromJson from_json) {
  auto text = r.get(t, key);
  BOOST_REQUIRE_MESSAGE(text, "no row " << key << ": " << why(text));
  auto doc = json::parse(*text);
  BOOST_REQUIRE_MESSAGE(doc, "row " << key << " is not JSON");
  std::vector<contracts::problem> problems;
  auto rec = from_json(*doc.doc, problems, "");
  BOOST_REQUIRE_MESSAGE(rec, "row " << key << " does not parse: " << *text);
  return std::move(*rec);
}

// -- the state fixture ----------------------------------------------------------

/// Zenith's state on a fresh database, with `source@1`, `step@1` and
/// `huge@1` enrolled and committed; one pool of two workers.
struct state_fixture : zenith_state_fixture {
  state_fixture() : zenith_state_fixture("omniva-zenith-", 42) {
    open();
    for (auto& text : {step_module(), huge_module})
      BOOST_REQUIRE(st->enroll(entry_of(text)));
    BOOST_REQUIRE(st->enroll(entry_of(source_module())));
    commit();
  }

  /// Drops the state and the database (the node died), then starts again.
  void restart() {
    close();
    open();
  }

  task_record submit(const task_request& req) {
    auto r = st->submit(req);
    BOOST_REQUIRE_MESSAGE(r.ok, "submission refused: "
                                  << (r.problems.empty() ? std::string{"?"}
                                                         : r.problems.front().message));
    return r.task;
  }

  task_record task_row(const std::string& id) {
    return read_row<task_record>(*db->read, storage::table::tasks, id,
                                 contracts::task_record_from_json);
  }

  asset_record asset_row(const std::string& id) {
    return read_row<asset_record>(*db->read, storage::table::assets, id,
                                  contracts::asset_record_from_json);
  }

  /// The kinds of the packets of `id`'s history, the engines' advice and
  /// Zenith's decisions on it left out.
  std::vector<std::string> task_kinds(const std::string& id) {
    auto history = db->read->history(id);
    BOOST_REQUIRE_MESSAGE(history, why(history));
    std::vector<std::string> kinds;
    for (auto& p : *history)
      if (!p.kind.starts_with("advice.") && p.kind != "decision.zenith")
        kinds.push_back(p.kind);
    return kinds;
  }

  /// Requires the history of a task run twice: created, dispatched, (its
  /// attempt lost and failed, when `lost`), requeued, ready, dispatched,
  /// succeeded; `reason` in the packet that says why it ran again (the
  /// requeue, or the lost attempt's failure).
  void check_requeued_history(const std::string& task_id,
                              const std::string& reason, bool lost = false) {
    auto kinds = task_kinds(task_id);
    std::vector<std::string> expected{"task.created", "task.dispatched"};
    if (lost)
      expected.push_back("task.attempt_failed");
    for (auto k : {"task.requeued", "task.ready", "task.dispatched",
                   "task.succeeded"})
      expected.push_back(k);
    BOOST_CHECK_EQUAL_COLLECTIONS(kinds.begin(), kinds.end(), expected.begin(),
                                  expected.end());
    auto history = db->read->history(task_id);
    BOOST_REQUIRE(history);
    for (auto& p : *history)
      if (p.kind == (lost ? "task.attempt_failed" : "task.requeued"))
        BOOST_CHECK_NE(p.payload.find(reason), std::string::npos);
  }

  /// The id of output `result` of `t`.
  static std::string output(const task_record& t) {
    return t.outputs.at("result");
  }

  /// Requires that each of `dependants` ended ERROR `upstream_cancelled`
  /// with a message naming task `cancelled`, its output FAILED.
  void check_upstream_cancelled(const std::vector<task_record>& dependants,
                                const std::string& cancelled) {
    for (auto& t : dependants) {
      auto row = task_row(t.task_id);
      BOOST_CHECK(row.status == task_status::error);
      BOOST_REQUIRE(row.error);
      BOOST_CHECK_EQUAL(row.error->code, "upstream_cancelled");
      BOOST_CHECK_MESSAGE(row.error->message.find(cancelled) != std::string::npos,
                          row.error->message);
      BOOST_CHECK(asset_row(output(t)).status == asset_status::failed);
    }
    BOOST_CHECK(st->waiting.empty());
  }

  /// Dispatches and commits, as the actor's flushes do (what Lattice
  /// routes during the commit is dispatched by the next); returns the
  /// orders.
  std::vector<contracts::dispatch_order> dispatch() {
    std::vector<contracts::dispatch_order> out;
    auto collect = [&](actors::zenith_effects& fx) {
      for (auto& [pool, order] : fx.dispatches) {
        BOOST_CHECK_EQUAL(pool, "default");
        out.push_back(std::move(order));
      }
    };
    st->dispatch_ready();
    auto fx = commit();
    collect(fx);
    for (;;) {
      st->dispatch_ready();
      if (st->batch.empty())
        return out;
      fx = commit();
      collect(fx);
    }
  }

  /// Dispatches and commits; requires exactly one order and returns it.
  contracts::dispatch_order dispatch_one() {
    auto orders = dispatch();
    BOOST_REQUIRE_EQUAL(orders.size(), 1u);
    return std::move(orders[0]);
  }

  /// Dispatches the one READY task, has its worker report `report` on it
  /// and commits; returns its order.
  contracts::dispatch_order
  run_the_one_ready_task(contracts::execution_outcome (*report)(const task_record&)) {
    auto order = dispatch_one();
    st->on_result(report(order.task));
    commit();
    return order;
  }

  /// Runs attempt 2 of `t`, whose attempt 1 (`lost`) was taken for lost:
  /// requires that it is dispatched, that the late success of `lost`
  /// changes nothing, and that its own success makes `t` DONE.
  void run_second_attempt(const task_record& t,
                          const contracts::dispatch_order& lost) {
    auto again = dispatch_one();
    BOOST_CHECK_EQUAL(again.execution_id, t.task_id + "/2");
    st->on_result(success(lost.task));
    BOOST_CHECK(st->batch.empty());
    st->on_result(success(again.task));
    commit();
    BOOST_CHECK(task_row(t.task_id).status == task_status::done);
  }

  /// An AVAILABLE JSON file asset, committed.
  asset_record add_json_file() {
    asset_record a;
    a.kind = contracts::asset_kind::file;
    a.media_type = "application/json";
    a.uri = "/data/blobs/input.json";
    a.sha256 = std::string(64, 'b');
    a.size = 2;
    auto added = st->add_asset(a);
    BOOST_REQUIRE_MESSAGE(added, "add_asset failed: " << why(added));
    commit();
    return *added;
  }
};

} // namespace

// -- submissions ------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(zenith_state_tests, state_fixture)

BOOST_AUTO_TEST_CASE(a_task_whose_inputs_are_available_is_ready) {
  // PENDING until Paradox clears it; then READY (its inputs are there).
  auto t = submit(source_request());
  BOOST_CHECK(t.status == task_status::pending);
  BOOST_CHECK(!t.cleared);
  BOOST_CHECK_EQUAL(t.attempt, 1u);
  commit();
  BOOST_CHECK(st->tasks.at(t.task_id).cleared);
  // The row says READY; the promised output is a PENDING asset of the task.
  auto row = task_row(t.task_id);
  BOOST_CHECK(row.status == task_status::ready);
  BOOST_CHECK_EQUAL(row.values.at("n"), "1");
  auto out = asset_row(output(t));
  BOOST_CHECK(out.status == asset_status::pending);
  BOOST_CHECK_EQUAL(out.produced_by, t.task_id);
  BOOST_CHECK_EQUAL(out.media_type, "application/json");
}

BOOST_AUTO_TEST_CASE(a_task_waiting_on_a_pending_asset_is_pending) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  BOOST_CHECK(second.status == task_status::pending);
  commit();
  BOOST_CHECK(task_row(second.task_id).status == task_status::pending);
  BOOST_CHECK(asset_row(output(first)).status == asset_status::pending);
  // The awaited asset is held by the waiting task, durably (wherever the
  // holds are stored, a restart finds them).
  BOOST_CHECK(st->assets.at(output(first)).holds == std::vector{second.task_id});
  restart();
  BOOST_CHECK(st->assets.at(output(first)).holds == std::vector{second.task_id});
}

BOOST_AUTO_TEST_CASE(a_task_on_an_available_asset_is_ready) {
  auto input = add_json_file();
  auto t = submit(step_request(input.asset_id));
  BOOST_CHECK(t.status == task_status::pending);
  commit();
  BOOST_CHECK(task_row(t.task_id).status == task_status::ready);
  BOOST_CHECK(st->assets.at(input.asset_id).holds == std::vector{t.task_id});
  restart();
  BOOST_CHECK(st->assets.at(input.asset_id).holds == std::vector{t.task_id});
}

BOOST_AUTO_TEST_CASE(a_dispatch_walks_up_to_the_input_its_task_was_created_on) {
  // Paradox's and Lattice's advice cite each task's packet before them, so
  // the chain dispatch -> advice -> task.created -> input is unbroken even
  // when the input was AVAILABLE at creation (nothing else links them).
  auto input = add_json_file();
  auto t = submit(step_request(input.asset_id));
  commit();
  BOOST_REQUIRE_EQUAL(dispatch().size(), 1u);
  auto history = db->read->history(t.task_id);
  BOOST_REQUIRE(history);
  auto dispatched = std::find_if(history->begin(), history->end(),
                                 [](auto& p) { return p.kind == "task.dispatched"; });
  BOOST_REQUIRE(dispatched != history->end());
  auto registered = db->read->history(input.asset_id);
  BOOST_REQUIRE(registered && !registered->empty());
  auto up = db->read->ancestors(dispatched->id, 10);
  BOOST_REQUIRE(up);
  std::set<std::string> kinds;
  bool reaches_input = false;
  for (auto& e : *up) {
    kinds.insert(e.packet.kind);
    reaches_input |= e.packet.id == registered->front().id;
  }
  BOOST_CHECK(kinds.count("task.created") == 1);
  BOOST_CHECK(kinds.count("advice.paradox") == 1);
  BOOST_CHECK(kinds.count("advice.lattice") == 1);
  BOOST_CHECK_MESSAGE(reaches_input, "the input's packet is an ancestor of the dispatch");
}

// -- dispatch -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dispatch_ready_runs_ready_tasks_on_free_slots_only) {
  auto a = submit(source_request(1));
  auto b = submit(source_request(2));
  auto c = submit(source_request(3));
  commit();
  // Two workers: the first two READY tasks run, the third waits.
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  BOOST_CHECK_EQUAL(orders[0].execution_id, a.task_id + "/1");
  BOOST_CHECK_EQUAL(orders[1].execution_id, b.task_id + "/1");
  BOOST_CHECK_EQUAL(orders[0].module_dir, "/modules/x");
  BOOST_CHECK_EQUAL(orders[0].contract.ref(), "source@1");
  BOOST_CHECK_EQUAL(orders[0].output_dir,
                    (dir.path / "outputs" / a.task_id / "1").string());
  BOOST_REQUIRE_EQUAL(orders[0].inputs.size(), 1u);
  BOOST_CHECK_EQUAL(orders[0].inputs[0].key, "n");
  BOOST_CHECK(orders[0].inputs[0].is_value);
  BOOST_CHECK_EQUAL(orders[0].inputs[0].value_json, "1");
  BOOST_CHECK(orders[0].task.status == task_status::running);
  auto row = task_row(a.task_id);
  BOOST_CHECK(row.status == task_status::running);
  BOOST_CHECK_EQUAL(row.pool, "default");
  BOOST_CHECK(task_row(b.task_id).status == task_status::running);
  BOOST_CHECK(task_row(c.task_id).status == task_status::ready);
  BOOST_CHECK_EQUAL(st->free_slots.at("default"), 0u);
  // No slot is free: nothing more runs.
  BOOST_CHECK(dispatch().empty());
}

BOOST_AUTO_TEST_CASE(a_higher_priority_runs_first) {
  auto low = submit(source_request(1));
  auto req = source_request(2);
  req.priority = 5;
  auto high = submit(req);
  auto also_low = submit(source_request(3));
  commit();
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  BOOST_CHECK_EQUAL(orders[0].task.task_id, high.task_id);
  BOOST_CHECK_EQUAL(orders[1].task.task_id, low.task_id);
  BOOST_CHECK(task_row(also_low.task_id).status == task_status::ready);
}

BOOST_AUTO_TEST_CASE(the_extreme_priorities_order_like_any_other) {
  // The lowest priority there is runs last and the highest first: negating
  // INT32_MIN in 32 bits would overflow (and sort it first).
  auto lowest = submit([] {
    auto r = source_request(1);
    r.priority = std::numeric_limits<int32_t>::min();
    return r;
  }());
  auto plain = submit(source_request(2));
  auto highest = submit([] {
    auto r = source_request(3);
    r.priority = std::numeric_limits<int32_t>::max();
    return r;
  }());
  commit();
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  BOOST_CHECK_EQUAL(orders[0].task.task_id, highest.task_id);
  BOOST_CHECK_EQUAL(orders[1].task.task_id, plain.task_id);
  BOOST_CHECK(task_row(lowest.task_id).status == task_status::ready);
}

// -- results ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_success_makes_the_task_done_its_outputs_available_and_wakes_dependants) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  commit();
  run_the_one_ready_task(success);
  auto done = task_row(first.task_id);
  BOOST_CHECK(done.status == task_status::done);
  BOOST_CHECK(!done.error);
  auto out = asset_row(output(first));
  BOOST_CHECK(out.status == asset_status::available);
  BOOST_CHECK_EQUAL(out.sha256, std::string(64, 'a'));
  BOOST_CHECK_EQUAL(out.uri, "/data/outputs/" + first.task_id + "/result.json");
  BOOST_CHECK_EQUAL(out.size.value_or(0), 17u);
  // The waiting task is READY now, and the freed slot takes it.
  BOOST_CHECK(task_row(second.task_id).status == task_status::ready);
  BOOST_CHECK_EQUAL(st->free_slots.at("default"), 2u);
  auto next = dispatch();
  BOOST_REQUIRE_EQUAL(next.size(), 1u);
  BOOST_CHECK_EQUAL(next[0].task.task_id, second.task_id);
  BOOST_REQUIRE_EQUAL(next[0].inputs.size(), 1u);
  BOOST_CHECK_EQUAL(next[0].inputs[0].path, out.uri);
  BOOST_CHECK(!next[0].inputs[0].is_value);
}

BOOST_AUTO_TEST_CASE(a_cascade_20000_deep_fails_every_level_without_recursing) {
  // One stack frame per level would overflow the thread's stack long
  // before the end of such a chain.
  constexpr size_t depth = 20'000;
  std::vector<contracts::task_record> chain{submit(source_request())};
  chain.reserve(depth);
  while (chain.size() < depth)
    chain.push_back(submit(step_request(output(chain.back()))));
  commit();
  run_the_one_ready_task(failure);
  BOOST_CHECK_EQUAL(task_row(chain.front().task_id).error->code, "exit_code");
  size_t upstream_failed = 0;
  for (size_t i = 1; i < chain.size(); ++i) {
    auto row = task_row(chain[i].task_id);
    if (row.status == task_status::error && row.error
        && row.error->code == "upstream_failed")
      ++upstream_failed;
  }
  BOOST_CHECK_EQUAL(upstream_failed, depth - 1);
  BOOST_CHECK(asset_row(output(chain.back())).status == asset_status::failed);
  BOOST_CHECK(st->waiting.empty());
}

BOOST_AUTO_TEST_CASE(a_failure_fails_outputs_and_dependants_in_cascade) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  auto third = submit(step_request(output(second)));
  commit();
  run_the_one_ready_task(failure);
  auto failed = task_row(first.task_id);
  BOOST_CHECK(failed.status == task_status::error);
  BOOST_REQUIRE(failed.error);
  BOOST_CHECK_EQUAL(failed.error->code, "exit_code");
  BOOST_CHECK(asset_row(output(first)).status == asset_status::failed);
  // Level 1 and level 2 of the cascade.
  for (auto* t : {&second, &third}) {
    auto row = task_row(t->task_id);
    BOOST_CHECK(row.status == task_status::error);
    BOOST_REQUIRE(row.error);
    BOOST_CHECK_EQUAL(row.error->code, "upstream_failed");
    BOOST_CHECK(asset_row(output(*t)).status == asset_status::failed);
  }
  // Nothing is left waiting or holding.
  BOOST_CHECK(st->waiting.empty());
  BOOST_CHECK(asset_row(output(first)).holds.empty());
  BOOST_CHECK(dispatch().empty());
}

BOOST_AUTO_TEST_CASE(an_output_breaking_its_schema_names_the_place_in_the_task_error) {
  auto t = submit(source_request());
  auto dependant = submit(step_request(output(t)));
  commit();
  run_the_one_ready_task(schema_breach);
  // The row says where in the output the module broke its contract.
  auto row = task_row(t.task_id);
  BOOST_CHECK(row.status == task_status::error);
  BOOST_REQUIRE(row.error);
  BOOST_CHECK_EQUAL(row.error->code, "output_contract_violation");
  BOOST_CHECK_EQUAL(row.error->pointer, "/duration");
  BOOST_CHECK(!row.error->transient);
  BOOST_CHECK_EQUAL(row.error->message, schema_breach(t).error_message);
  // So does the task.failed packet, with the same code.
  auto failed_payload = [&](const std::string& task_id) {
    auto history = db->read->history(task_id);
    BOOST_REQUIRE_MESSAGE(history, why(history));
    auto p = std::find_if(history->begin(), history->end(),
                          [](auto& x) { return x.kind == "task.failed"; });
    BOOST_REQUIRE_MESSAGE(p != history->end(), "no task.failed for " << task_id);
    auto doc = json::parse(p->payload);
    BOOST_REQUIRE_MESSAGE(doc, "the payload is not JSON: " << p->payload);
    return std::move(*doc.doc);
  };
  auto payload = failed_payload(t.task_id);
  BOOST_REQUIRE(payload.find("code") && payload.find("pointer"));
  BOOST_CHECK_EQUAL(payload.find("code")->as_string(), "output_contract_violation");
  BOOST_CHECK_EQUAL(payload.find("pointer")->as_string(), "/duration");
  // The task that waited on the output fails for its upstream; the place
  // is in the upstream's output, not in its own, so it names none.
  auto waited = task_row(dependant.task_id);
  BOOST_REQUIRE(waited.error);
  BOOST_CHECK_EQUAL(waited.error->code, "upstream_failed");
  BOOST_CHECK(waited.error->pointer.empty());
  BOOST_CHECK(failed_payload(dependant.task_id).find("pointer") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_second_result_for_the_same_execution_is_ignored) {
  auto t = submit(source_request());
  commit();
  auto order = run_the_one_ready_task(success);
  // The same report again, and a contradicting one: neither changes anything.
  st->on_result(success(order.task));
  st->on_result(failure(order.task));
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK_EQUAL(st->free_slots.at("default"), 2u);
  commit();
  BOOST_CHECK(task_row(t.task_id).status == task_status::done);
  BOOST_CHECK(asset_row(output(t)).status == asset_status::available);
}

BOOST_AUTO_TEST_CASE(a_result_naming_another_attempt_is_ignored) {
  auto t = submit(source_request());
  commit();
  auto order = dispatch_one();
  auto stale = success(order.task);
  stale.attempt = 7;
  st->on_result(stale);
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(st->tasks.at(t.task_id).status == task_status::running);
}

BOOST_AUTO_TEST_CASE(a_success_without_a_promised_output_is_missing_output) {
  auto t = submit(source_request());
  commit();
  auto order = dispatch_one();
  auto o = success(order.task);
  o.outputs.clear();
  st->on_result(o);
  commit();
  auto row = task_row(t.task_id);
  BOOST_CHECK(row.status == task_status::error);
  BOOST_REQUIRE(row.error);
  BOOST_CHECK_EQUAL(row.error->code, "missing_output");
  BOOST_CHECK(asset_row(output(t)).status == asset_status::failed);
}

// -- operator actions -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(cancelling_a_ready_task_fails_its_outputs_and_its_dependants) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  auto third = submit(step_request(output(second)));
  commit();
  auto cancelled = st->cancel(first.task_id);
  BOOST_REQUIRE_MESSAGE(cancelled, why(cancelled));
  BOOST_CHECK(cancelled->status == task_status::cancelled);
  auto fx = commit();
  BOOST_CHECK(fx.stops.empty()); // nothing ran
  BOOST_CHECK(task_row(first.task_id).status == task_status::cancelled);
  BOOST_CHECK(asset_row(output(first)).status == asset_status::failed);
  // What waited on it, at every depth, ends upstream_cancelled (not
  // upstream_failed), naming the cancelled task.
  check_upstream_cancelled({second, third}, first.task_id);
  // The cancelled task is off the READY queue.
  BOOST_CHECK(dispatch().empty());
}

BOOST_AUTO_TEST_CASE(cancelling_a_running_task_stops_its_attempt_and_ignores_its_late_outcome) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  auto third = submit(step_request(output(second)));
  commit();
  auto order = dispatch_one();
  BOOST_CHECK_EQUAL(st->free_slots.at("default"), 1u);
  // The attempt wrote part of its outputs before the cancel.
  std::filesystem::create_directories(order.output_dir);
  { std::ofstream{std::filesystem::path{order.output_dir} / "result.json"} << "{}"; }
  auto cancelled = st->cancel(first.task_id);
  BOOST_REQUIRE_MESSAGE(cancelled, why(cancelled));
  BOOST_CHECK(cancelled->status == task_status::cancelled);
  // Its slot counts as free at once; no heartbeat is awaited any more.
  BOOST_CHECK_EQUAL(st->free_slots.at("default"), 2u);
  BOOST_CHECK_EQUAL(st->last_beat.count(first.task_id), 0u);
  // Once committed, its pool is told to stop the attempt.
  auto fx = commit();
  BOOST_REQUIRE_EQUAL(fx.stops.size(), 1u);
  BOOST_CHECK_EQUAL(fx.stops[0].first, "default");
  BOOST_CHECK_EQUAL(fx.stops[0].second, order.execution_id);
  BOOST_CHECK(task_row(first.task_id).status == task_status::cancelled);
  BOOST_CHECK(asset_row(output(first)).status == asset_status::failed);
  check_upstream_cancelled({second, third}, first.task_id);
  // The attempt's late outcome, a success or a failure, changes nothing,
  // and nothing of it stays on disk.
  st->on_result(success(order.task));
  st->on_result(failure(order.task));
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(!std::filesystem::exists(order.output_dir));
  BOOST_CHECK_EQUAL(st->free_slots.at("default"), 2u);
  BOOST_CHECK(st->tasks.at(first.task_id).status == task_status::cancelled);
  BOOST_CHECK(task_row(first.task_id).status == task_status::cancelled);
  auto out = asset_row(output(first));
  BOOST_CHECK(out.status == asset_status::failed);
  BOOST_CHECK(out.uri.empty());
  BOOST_CHECK(out.sha256.empty());
  auto kinds = task_kinds(first.task_id);
  std::vector<std::string> expected{"task.created", "task.dispatched",
                                    "task.cancelled"};
  BOOST_CHECK_EQUAL_COLLECTIONS(kinds.begin(), kinds.end(), expected.begin(),
                                expected.end());
  auto history = db->read->history(first.task_id);
  BOOST_REQUIRE(history);
  BOOST_CHECK_NE(history->back().payload.find(order.execution_id),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_run_cancelled_before_its_order_left_is_not_sent) {
  // The dispatch's commit is still being written when the cancel comes:
  // its order must not leave, and the pool is told to stop it anyway.
  auto t = submit(source_request());
  commit();
  st->dispatch_ready();
  auto sealed = st->seal();
  BOOST_REQUIRE(sealed);
  BOOST_REQUIRE_EQUAL(sealed->second.dispatches.size(), 1u);
  BOOST_REQUIRE(!st->db->write.write(sealed->first));
  BOOST_REQUIRE(st->cancel(t.task_id));
  BOOST_CHECK_EQUAL(st->drop_stale_dispatches(sealed->second), 1u);
  auto fx = commit();
  BOOST_REQUIRE_EQUAL(fx.stops.size(), 1u);
  BOOST_CHECK_EQUAL(fx.stops[0].second, t.task_id + "/1");
}

BOOST_AUTO_TEST_CASE(a_restart_removes_the_outputs_of_a_cancelled_attempt) {
  auto t = submit(source_request());
  commit();
  auto order = dispatch_one();
  std::filesystem::create_directories(order.output_dir);
  { std::ofstream{std::filesystem::path{order.output_dir} / "result.json"} << "{}"; }
  BOOST_REQUIRE(st->cancel(t.task_id));
  commit();
  // The node died before the attempt ended (or before its pool cleaned up).
  restart();
  BOOST_CHECK(!std::filesystem::exists(order.output_dir));
  BOOST_CHECK(st->tasks.at(t.task_id).status == task_status::cancelled);
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(a_failure_still_cascades_upstream_failed_at_every_depth) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  auto third = submit(step_request(output(second)));
  commit();
  run_the_one_ready_task(failure);
  for (auto* t : {&second, &third}) {
    auto row = task_row(t->task_id);
    BOOST_REQUIRE(row.error);
    BOOST_CHECK_EQUAL(row.error->code, "upstream_failed");
    BOOST_CHECK_EQUAL(row.error->message.find("cancelled"), std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(every_operator_action_on_a_finished_task_is_refused_and_writes_nothing) {
  // One task of each finished status.
  auto done = submit(source_request(1));
  auto failed = submit(source_request(2));
  auto cancelled = submit(source_request(3));
  commit();
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  st->on_result(success(orders[0].task));
  st->on_result(failure(orders[1].task));
  BOOST_REQUIRE(st->cancel(cancelled.task_id));
  commit();
  std::vector<std::pair<std::string, task_status>> finished{
    {done.task_id, task_status::done},
    {failed.task_id, task_status::error},
    {cancelled.task_id, task_status::cancelled}};
  for (auto& [id, status] : finished) {
    BOOST_TEST_CONTEXT("a " << contracts::to_string(status) << " task") {
      BOOST_REQUIRE(task_row(id).status == status);
      auto before = st->tasks.at(id);
      auto history = db->read->history(id);
      BOOST_REQUIRE(history);
      auto packets = history->size();
      auto refused_cancel = st->cancel(id);
      BOOST_REQUIRE(!refused_cancel);
      BOOST_CHECK_MESSAGE(is(refused_cancel.error(), ec::illegal_transition),
                          why(refused_cancel));
      BOOST_CHECK_NE(why(refused_cancel).find(contracts::to_string(status)),
                     std::string::npos);
      auto refused_priority = st->set_priority(id, 9);
      BOOST_REQUIRE(!refused_priority);
      BOOST_CHECK_MESSAGE(is(refused_priority.error(), ec::illegal_transition),
                          why(refused_priority));
      // Nothing changed in memory, nothing is to be written.
      BOOST_CHECK(st->batch.empty());
      BOOST_CHECK(st->effects.stops.empty());
      BOOST_CHECK(st->tasks.at(id) == before);
      commit();
      BOOST_CHECK(task_row(id) == before);
      auto after = db->read->history(id);
      BOOST_REQUIRE(after);
      BOOST_CHECK_EQUAL(after->size(), packets);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_priority_of_an_unfinished_task_still_changes) {
  auto t = submit(source_request());
  commit();
  auto changed = st->set_priority(t.task_id, 7);
  BOOST_REQUIRE_MESSAGE(changed, why(changed));
  BOOST_CHECK_EQUAL(changed->priority, 7);
  commit();
  BOOST_CHECK_EQUAL(task_row(t.task_id).priority, 7);
  // RUNNING is not finished either.
  dispatch_one();
  BOOST_REQUIRE(st->set_priority(t.task_id, 8));
  commit();
  BOOST_CHECK_EQUAL(task_row(t.task_id).priority, 8);
}

BOOST_AUTO_TEST_CASE(cancelling_a_pending_task_releases_its_inputs) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  commit();
  auto cancelled = st->cancel(second.task_id);
  BOOST_REQUIRE_MESSAGE(cancelled, why(cancelled));
  commit();
  BOOST_CHECK(task_row(second.task_id).status == task_status::cancelled);
  BOOST_CHECK(st->assets.at(output(first)).holds.empty());
  BOOST_CHECK(task_row(first.task_id).status == task_status::ready);
  restart(); // released durably
  BOOST_CHECK(st->assets.at(output(first)).holds.empty());
}

BOOST_AUTO_TEST_CASE(cancelling_a_done_task_is_an_illegal_transition) {
  auto t = submit(source_request());
  commit();
  run_the_one_ready_task(success);
  auto refused = st->cancel(t.task_id);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK_MESSAGE(is(refused.error(), ec::illegal_transition),
                      why(refused));
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(task_row(t.task_id).status == task_status::done);
}

BOOST_AUTO_TEST_CASE(cancelling_an_unknown_task_is_not_found) {
  auto refused = st->cancel("00000000-0000-4000-8000-000000000000");
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), ec::not_found));
}

BOOST_AUTO_TEST_CASE(the_same_idempotency_key_returns_the_first_task) {
  auto req = source_request(1);
  req.idempotency_key = "nightly-2026-11-21";
  auto first = submit(req);
  commit();
  // The same request again (its value written another way): the first task.
  req.values["n"] = "1.0";
  auto again = st->submit(req);
  BOOST_REQUIRE(again.ok);
  BOOST_CHECK(again.duplicate);
  BOOST_CHECK_EQUAL(again.task.task_id, first.task_id);
  BOOST_CHECK_EQUAL(again.task.values.at("n"), "1");
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK_EQUAL(st->tasks.size(), 1u);
  // Other content under the same key is a conflict, not silently the
  // first task.
  req.values["n"] = "2";
  auto conflict = st->submit(req);
  BOOST_CHECK(!conflict.ok);
  BOOST_REQUIRE_EQUAL(conflict.problems.size(), 1u);
  BOOST_CHECK(conflict.problems[0].code == ec::idempotency_conflict);
  BOOST_CHECK_EQUAL(conflict.problems[0].pointer, "/values/n");
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK_EQUAL(st->tasks.size(), 1u);
}

BOOST_AUTO_TEST_CASE(the_idempotency_key_survives_a_restart) {
  auto req = source_request(1);
  req.idempotency_key = "k";
  auto first = submit(req);
  commit();
  restart();
  auto again = st->submit(req);
  BOOST_REQUIRE(again.ok);
  BOOST_CHECK(again.duplicate);
  BOOST_CHECK_EQUAL(again.task.task_id, first.task_id);
}

// -- refusals -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_module_no_pool_can_hold_is_no_capable_pool) {
  task_request req;
  req.module_ref = "huge@1";
  auto r = st->submit(req);
  BOOST_CHECK(!r.ok);
  BOOST_CHECK(has_problem(r, ec::no_capable_pool));
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(st->tasks.empty());
  BOOST_CHECK_EQUAL(st->rejections, 1u);
}

BOOST_AUTO_TEST_CASE(an_unknown_module_is_module_not_found) {
  task_request req;
  req.module_ref = "nowhere@3";
  auto r = st->submit(req);
  BOOST_CHECK(!r.ok);
  BOOST_REQUIRE_EQUAL(r.problems.size(), 1u);
  BOOST_CHECK(r.problems[0].code == ec::module_not_found);
  BOOST_CHECK_EQUAL(r.problems[0].pointer, "/module_ref");
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(a_preflight_failure_reports_every_problem_and_creates_nothing) {
  task_request req;
  req.module_ref = "step@1";
  req.input_mapping["prev"] = "00000000-0000-4000-8000-000000000000";
  req.values["extra"] = "1";
  auto r = st->submit(req);
  BOOST_CHECK(!r.ok);
  BOOST_CHECK(has_problem(r, ec::asset_not_found));
  BOOST_CHECK(has_problem(r, ec::unknown_input));
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(a_request_with_problems_is_refused_with_them_first_and_counted_once) {
  // A member that could not be read, and a pre-flight problem in the rest.
  auto req = source_request();
  req.values["extra"] = "1";
  req.problems.push_back({ec::invalid_uuid, "/input_mapping/wrong",
                          "'abc' is not a UUID"});
  auto r = st->submit(req);
  BOOST_CHECK(!r.ok);
  BOOST_REQUIRE_EQUAL(r.problems.size(), 2u);
  BOOST_CHECK(r.problems[0].code == ec::invalid_uuid);
  BOOST_CHECK_EQUAL(r.problems[0].pointer, "/input_mapping/wrong");
  BOOST_CHECK(r.problems[1].code == ec::unknown_input);
  BOOST_CHECK_EQUAL(r.problems[1].pointer, "/values/extra");
  BOOST_CHECK_EQUAL(st->rejections, 1u);
  // Pre-flight repeating a problem found while reading: it is listed once.
  auto repeated = source_request();
  repeated.values["extra"] = "1";
  repeated.problems.push_back(r.problems[1]);
  auto once = st->submit(repeated);
  BOOST_CHECK(!once.ok);
  BOOST_REQUIRE_EQUAL(once.problems.size(), 1u);
  BOOST_CHECK_EQUAL(st->rejections, 2u);
  // The rest of it passes pre-flight: refused all the same.
  auto rest_ok = source_request();
  rest_ok.problems.push_back({ec::type_mismatch, "/priority",
                              "expected an integer"});
  auto refused = st->submit(rest_ok);
  BOOST_CHECK(!refused.ok);
  BOOST_REQUIRE_EQUAL(refused.problems.size(), 1u);
  BOOST_CHECK(refused.problems[0].code == ec::type_mismatch);
  BOOST_CHECK_EQUAL(st->rejections, 3u);
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(st->tasks.empty());
  BOOST_CHECK_EQUAL(st->submissions, 3u);
}

BOOST_AUTO_TEST_CASE(an_unknown_module_with_problems_reports_both_once) {
  task_request req;
  req.module_ref = "nowhere@3";
  req.problems.push_back({ec::type_mismatch, "/priority", "expected an integer"});
  auto r = st->submit(req);
  BOOST_REQUIRE_EQUAL(r.problems.size(), 2u);
  BOOST_CHECK(r.problems[0].code == ec::type_mismatch);
  BOOST_CHECK(r.problems[1].code == ec::module_not_found);
  // A module_ref that could not be read is not "no module '' is registered".
  task_request unread;
  unread.problems.push_back({ec::type_mismatch, "/module_ref", "expected a string"});
  auto u = st->submit(unread);
  BOOST_REQUIRE_EQUAL(u.problems.size(), 1u);
  BOOST_CHECK(u.problems[0].code == ec::type_mismatch);
  BOOST_CHECK_EQUAL(st->rejections, 2u);
}

BOOST_AUTO_TEST_CASE(idempotency_conflicts_are_counted_apart_from_rejections) {
  auto req = source_request(1);
  req.idempotency_key = "k";
  auto first = submit(req);
  commit();
  // Other work under the key: a conflict (409), not a rejection (422).
  auto other = source_request(2);
  other.idempotency_key = "k";
  BOOST_CHECK(has_problem(st->submit(other), ec::idempotency_conflict));
  BOOST_CHECK_EQUAL(st->idempotency_conflicts, 1u);
  BOOST_CHECK_EQUAL(st->rejections, 0u);
  // The first request again, but with a member that could not be read: not
  // a duplicate of the first task, a rejection.
  auto partial = req;
  partial.problems.push_back({ec::type_mismatch, "/priority", "expected an integer"});
  auto r = st->submit(partial);
  BOOST_CHECK(!r.ok);
  BOOST_CHECK(!r.duplicate);
  BOOST_REQUIRE_EQUAL(r.problems.size(), 1u);
  BOOST_CHECK(r.problems[0].code == ec::type_mismatch);
  BOOST_CHECK_EQUAL(st->rejections, 1u);
  BOOST_CHECK_EQUAL(st->idempotency_conflicts, 1u);
  // A duplicate is no refusal at all.
  BOOST_CHECK(st->submit(req).duplicate);
  BOOST_CHECK_EQUAL(st->rejections, 1u);
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(commit_latency_counts_each_commit_until_its_write_is_durable) {
  // The write thread's path: the commit sealed at t0 and written at t0 + 2 s
  // counts 2 s, whenever Zenith gets to handle `written`.
  st->commit_latency = contracts::histogram{}; // forget the fixture's commits
  uint64_t before = 0;
  submit(source_request());
  auto sealed = st->seal();
  BOOST_REQUIRE(sealed);
  BOOST_REQUIRE(sealed->second.sealed_at);
  BOOST_REQUIRE(!st->db->write.write(sealed->first));
  auto t0 = *sealed->second.sealed_at;
  st->in_flight.emplace_back(7, std::move(sealed->second));
  st->reports->written_at.emplace(7, t0 + std::chrono::seconds{2});
  st->on_written(7, caf::error{});
  BOOST_CHECK_EQUAL(st->commit_latency.count(), before + 1);
  BOOST_CHECK_EQUAL(st->commit_latency.sum(), 2.0);
  BOOST_CHECK(st->in_flight.empty());
  BOOST_CHECK(st->reports->written_at.empty());
  // Written in the flush: counted once; nothing to write: not counted.
  submit(source_request(2));
  commit_once();
  BOOST_CHECK_EQUAL(st->commit_latency.count(), before + 2);
  st->effects = {}; // nobody answers for the engines here
  commit_once();
  BOOST_CHECK_EQUAL(st->commit_latency.count(), before + 2);
}

BOOST_AUTO_TEST_CASE(the_same_ref_with_other_content_is_immutable_ref) {
  auto changed = st->enroll(entry_of(source_module("Something else.")));
  BOOST_REQUIRE(!changed);
  BOOST_CHECK_MESSAGE(is(changed.error(), ec::immutable_ref),
                      why(changed));
  // The same content again is fine and writes nothing.
  auto same = st->enroll(entry_of(source_module()));
  BOOST_REQUIRE(same);
  BOOST_CHECK_EQUAL(*same, "source@1");
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(an_enrolled_module_survives_a_restart) {
  restart();
  BOOST_CHECK_EQUAL(st->modules.count("source@1"), 1u);
  BOOST_CHECK_EQUAL(st->modules.at("source@1").dir, "/modules/x");
  // Registering the module folders again at start-up is a no-op...
  auto same = st->enroll(entry_of(source_module()));
  BOOST_REQUIRE_MESSAGE(same, why(same));
  BOOST_CHECK(st->batch.empty());
  // ...while other content under the same ref is refused.
  auto changed = st->enroll(entry_of(source_module("Something else.")));
  BOOST_REQUIRE(!changed);
  BOOST_CHECK(is(changed.error(), ec::immutable_ref));
}

// -- assets ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_asset_held_by_an_unfinished_task_cannot_be_erased) {
  auto input = add_json_file();
  auto t = submit(step_request(input.asset_id));
  commit();
  auto refused = st->erase_asset(input.asset_id);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK_MESSAGE(is(refused.error(), ec::asset_in_use),
                      why(refused));
  // A promise is held by its producer.
  auto promise = st->erase_asset(output(t));
  BOOST_REQUIRE(!promise);
  BOOST_CHECK(is(promise.error(), ec::asset_in_use));
  BOOST_CHECK(st->batch.empty());
  // Once the task is finished (cancelled), the input may go.
  BOOST_REQUIRE(st->cancel(t.task_id));
  commit();
  auto erased = st->erase_asset(input.asset_id);
  BOOST_REQUIRE_MESSAGE(erased, why(erased));
  commit();
  auto row = db->read->get(storage::table::assets, input.asset_id);
  BOOST_REQUIRE(!row);
  BOOST_CHECK(is(row.error(), ec::not_found));
}

// -- recovery -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(recover_requeues_a_running_task_as_a_new_attempt) {
  auto t = submit(source_request());
  auto waiting = submit(step_request(output(t)));
  commit();
  auto order = dispatch_one();
  BOOST_CHECK(task_row(t.task_id).status == task_status::running);
  // The node dies under the attempt.
  restart();
  auto& requeued = st->tasks.at(t.task_id);
  BOOST_CHECK_EQUAL(requeued.attempt, 2u);
  BOOST_CHECK(requeued.status == task_status::ready);
  BOOST_CHECK(st->tasks.at(waiting.task_id).status == task_status::pending);
  commit();
  auto row = task_row(t.task_id);
  BOOST_CHECK_EQUAL(row.attempt, 2u);
  BOOST_CHECK(row.status == task_status::ready);
  BOOST_CHECK(row.pool.empty());
  // The new attempt runs; the report of the lost one is ignored.
  run_second_attempt(t, order);
  BOOST_CHECK(task_row(waiting.task_id).status == task_status::ready);
  // The history of the task tells the story in order.
  check_requeued_history(t.task_id, "node restarted");
}

BOOST_AUTO_TEST_CASE(a_silent_worker_gets_its_attempt_run_again) {
  st->config.heartbeat_timeout = std::chrono::seconds{60};
  auto& clock = static_cast<contracts::manual_clock&>(*st->clock);
  auto t = submit(source_request());
  commit();
  auto order = dispatch_one();
  // Beats keep it alive however long it runs.
  for (int i = 0; i < 5; ++i) {
    clock.advance(std::chrono::seconds{30});
    st->on_heartbeat(order.execution_id);
    BOOST_CHECK_EQUAL(st->check_heartbeats(), 0u);
  }
  // A beat for another attempt or task counts for nothing.
  clock.advance(std::chrono::seconds{45});
  st->on_heartbeat(t.task_id + "/7");
  st->on_heartbeat("not-a-task/1");
  st->on_heartbeat("garbage");
  BOOST_CHECK_EQUAL(st->check_heartbeats(), 0u);
  clock.advance(std::chrono::seconds{16});
  BOOST_CHECK_EQUAL(st->check_heartbeats(), 1u);
  // The attempt is lost; Eclipse plans a retry (a lost worker is
  // transient), after default@1's first pause (1 s, with jitter).
  BOOST_CHECK(st->tasks.at(t.task_id).status == task_status::running);
  BOOST_CHECK_EQUAL(st->awaiting_plan.count(t.task_id), 1u);
  commit();
  auto row = task_row(t.task_id);
  BOOST_CHECK(row.status == task_status::pending);
  BOOST_CHECK_EQUAL(row.attempt, 2u);
  BOOST_CHECK_EQUAL(row.lost_attempts, 1u);
  BOOST_CHECK(!row.not_before.empty());
  clock.advance(std::chrono::seconds{2});
  st->on_due();
  commit();
  BOOST_CHECK(task_row(t.task_id).status == task_status::ready);
  // Its slot counts as free again: the new attempt is dispatched; the lost
  // worker's late report is ignored, the new one counts.
  run_second_attempt(t, order);
  // A finished task is no longer watched.
  clock.advance(std::chrono::hours{1});
  BOOST_CHECK_EQUAL(st->check_heartbeats(), 0u);
  check_requeued_history(t.task_id, "no heartbeat", true);
}

BOOST_AUTO_TEST_CASE(a_run_is_not_sent_after_its_attempt_was_requeued) {
  // The dispatch's commit is sealed and handed to the write thread; before
  // it is written, the control cycle takes the attempt for lost and
  // re-queues it. The order of the old attempt must not leave.
  st->config.heartbeat_timeout = std::chrono::seconds{60};
  auto& clock = static_cast<contracts::manual_clock&>(*st->clock);
  auto t = submit(source_request());
  commit();
  st->dispatch_ready();
  auto sealed = st->seal();
  BOOST_REQUIRE(sealed);
  BOOST_REQUIRE_EQUAL(sealed->second.dispatches.size(), 1u);
  auto current = sealed->second; // the same effects, had nothing happened
  BOOST_CHECK_EQUAL(st->drop_stale_dispatches(current), 0u);
  BOOST_CHECK_EQUAL(current.dispatches.size(), 1u);
  clock.advance(std::chrono::seconds{61});
  BOOST_CHECK_EQUAL(st->check_heartbeats(), 1u);
  BOOST_CHECK_EQUAL(st->awaiting_plan.count(t.task_id), 1u);
  BOOST_CHECK_EQUAL(st->drop_stale_dispatches(sealed->second), 1u);
  BOOST_CHECK(sealed->second.dispatches.empty());
  // The lost attempt's pool is told to stop it.
  auto fx = st->commit();
  BOOST_REQUIRE(fx);
  BOOST_REQUIRE_EQUAL(fx->stops.size(), 1u);
  BOOST_CHECK_EQUAL(fx->stops[0].first, "default");
  BOOST_CHECK_EQUAL(fx->stops[0].second, t.task_id + "/1");
}

BOOST_AUTO_TEST_CASE(a_module_found_in_another_folder_is_run_from_there_after_a_restart) {
  auto moved = entry_of(source_module());
  moved.dir = "/modules/elsewhere";
  auto ref = st->enroll(moved);
  BOOST_REQUIRE(ref);
  BOOST_CHECK_EQUAL(st->modules.at(*ref).dir, "/modules/elsewhere");
  commit();
  auto history = db->read->history(*ref);
  BOOST_REQUIRE(history);
  BOOST_REQUIRE(!history->empty());
  BOOST_CHECK_EQUAL(history->back().kind, "module.moved");
  restart();
  BOOST_CHECK_EQUAL(st->modules.at(*ref).dir, "/modules/elsewhere");
  // The same folder again changes nothing.
  BOOST_REQUIRE(st->enroll(moved));
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(a_failed_read_of_a_parent_fails_the_commit) {
  auto input = add_json_file();
  restart(); // Zenith no longer has the asset's last packet in memory
  st->parent_lookup = [](std::string_view) -> caf::expected<std::string> {
    return contracts::make_error(ec::storage_error, "the disk said no");
  };
  submit(step_request(input.asset_id));
  auto fx = st->commit();
  BOOST_REQUIRE(!fx);
  BOOST_CHECK_MESSAGE(is(fx.error(), ec::storage_error), text_of(fx.error()));
  BOOST_CHECK_NE(text_of(fx.error()).find("the disk said no"), std::string::npos);
  // Nothing of it was written.
  auto history = db->read->history(input.asset_id);
  BOOST_REQUIRE(history);
  BOOST_CHECK_EQUAL(history->size(), 1u);
}

BOOST_AUTO_TEST_CASE(idempotency_keys_are_forgotten_after_the_window) {
  st->config.idempotency_window = std::chrono::hours{24};
  auto& clock = static_cast<contracts::manual_clock&>(*st->clock);
  auto req = source_request();
  req.idempotency_key = "nightly";
  auto first = submit(req);
  commit();
  clock.advance(std::chrono::hours{23});
  BOOST_CHECK_EQUAL(st->forget_expired_keys(), 0u);
  BOOST_CHECK(st->submit(req).duplicate);
  clock.advance(std::chrono::hours{2});
  BOOST_CHECK_EQUAL(st->forget_expired_keys(), 1u);
  BOOST_CHECK(st->idempotency.empty());
  auto again = st->submit(req);
  BOOST_REQUIRE(again.ok);
  BOOST_CHECK(!again.duplicate);
  BOOST_CHECK_NE(again.task.task_id, first.task_id);
  commit();
  // A restart remembers only the keys of the window.
  st->config.idempotency_window = std::chrono::hours{24};
  restart();
  BOOST_CHECK_EQUAL(st->idempotency.size(), 1u);
  BOOST_CHECK_EQUAL(st->idempotency.at("nightly"), again.task.task_id);
}

BOOST_AUTO_TEST_CASE(a_restart_removes_the_outputs_of_attempts_that_did_not_win) {
  auto t = submit(source_request());
  commit();
  auto order = dispatch_one();
  std::filesystem::create_directories(order.output_dir);
  { std::ofstream{std::filesystem::path{order.output_dir} / "half.json"} << "{"; }
  // Another task's folder, and one the node does not know, stay.
  auto other = dir.path / "outputs" / "not-a-task" / "1";
  std::filesystem::create_directories(other);
  restart(); // the node died under attempt 1
  BOOST_CHECK_EQUAL(st->tasks.at(t.task_id).attempt, 2u);
  BOOST_CHECK(!std::filesystem::exists(order.output_dir));
  BOOST_CHECK(std::filesystem::exists(other));
  commit();
  auto again = dispatch_one();
  BOOST_CHECK_EQUAL(again.output_dir,
                    (dir.path / "outputs" / t.task_id / "2").string());
}

BOOST_AUTO_TEST_CASE(recover_restores_ready_and_waiting_tasks) {
  auto first = submit(source_request());
  auto second = submit(step_request(output(first)));
  commit();
  restart();
  BOOST_CHECK(st->tasks.at(first.task_id).status == task_status::ready);
  BOOST_CHECK(st->tasks.at(second.task_id).status == task_status::pending);
  BOOST_CHECK(st->batch.empty()); // nothing to re-write
  run_the_one_ready_task(success);
  // The restored waiting list wakes the dependant.
  BOOST_CHECK(task_row(second.task_id).status == task_status::ready);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the actor on CAF's deterministic scheduler -------------------------------------

namespace {

/// Zenith and a recording pool (8 workers) on the test coordinator: nothing
/// runs unless the test says so.
struct actor_fixture : zenith_actor_fixture {
  actor_fixture() : zenith_actor_fixture("omniva-zenith-") {
    {
      // A first start commits the default policy; begin from a database
      // that has it, so that the counts below are the tests' own commits.
      zenith_state first;
      first.db = db;
      first.ids = std::make_unique<contracts::random_id_source>();
      first.clock = std::make_unique<contracts::system_clock>();
      BOOST_REQUIRE(!first.recover());
      BOOST_REQUIRE(first.commit());
    }
    actors::zenith_config zc;
    zc.pools = {test_pool(8)};
    spawn_zenith(zc);
    // Start-up: recovery and a first (empty) flush.
    sched.run();
    BOOST_REQUIRE_EQUAL(zenith_st().commits, 0u);
    // Enroll the module: one commit.
    auto enrolled = self->request(zenith, caf::infinite, atom::enroll_v,
                                  entry_of(source_module()), std::string{"ops"});
    sched.run();
    enrolled.receive([](std::string& ref) { BOOST_CHECK_EQUAL(ref, "source@1"); },
                     [](caf::error& e) { BOOST_FAIL(text_of(e)); });
    BOOST_REQUIRE_EQUAL(zenith_st().commits, 1u);
  }

  /// Zenith's answer to a metrics request.
  std::string metrics() {
    auto h = self->request(zenith, caf::infinite, atom::metrics_v);
    sched.run();
    std::string out;
    h.receive([&](std::string& text) { out = std::move(text); },
              [](caf::error& e) { BOOST_FAIL(text_of(e)); });
    return out;
  }

  task_record task_row(const std::string& id) {
    return read_row<task_record>(*zenith_st().db->read, storage::table::tasks, id,
                                 contracts::task_record_from_json);
  }
};

bool contains_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(zenith_actor_tests, actor_fixture)

BOOST_AUTO_TEST_CASE(submissions_queued_before_a_flush_land_in_one_commit) {
  constexpr size_t n = 5;
  using handle = decltype(self->request(zenith, caf::infinite, atom::submit_v,
                                        source_request()));
  std::vector<handle> replies;
  for (size_t i = 0; i < n; ++i)
    replies.push_back(self->request(zenith, caf::infinite, atom::submit_v,
                                    source_request(static_cast<int>(i))));
  // Zenith takes the first submission: it creates the task, defers the reply
  // and puts a flush behind the other four in its mailbox.
  sched.run_once();
  BOOST_CHECK_EQUAL(zenith_st().effects.replies.size(), 1u);
  BOOST_CHECK_EQUAL(zenith_st().batch.packets(), 1u);
  // (mailbox().empty(), not size(): size() runs a CAF 0.17 queue path that
  // UBSan flags as a bad downcast.)
  BOOST_CHECK(self->mailbox().empty());
  // The other four join the same batch; still nothing committed or answered.
  for (size_t i = 1; i < n; ++i)
    sched.run_once();
  BOOST_CHECK_EQUAL(zenith_st().effects.replies.size(), n);
  BOOST_CHECK_EQUAL(zenith_st().batch.packets(), n);
  BOOST_CHECK_EQUAL(zenith_st().commits, 1u);
  BOOST_CHECK(self->mailbox().empty());
  // The flush: ONE commit (5 task.created), then the replies leave and
  // Paradox and Lattice are asked about the batch.
  sched.run_once();
  BOOST_CHECK_EQUAL(zenith_st().commits, 2u);
  BOOST_CHECK_EQUAL(zenith_st().largest_batch, n);
  BOOST_CHECK(zenith_st().batch.empty());
  BOOST_CHECK(zenith_st().effects.replies.empty());
  BOOST_CHECK(!self->mailbox().empty());
  // Their advice comes back: ONE more commit (advice.paradox,
  // decision.zenith, advice.lattice, 5 task.dispatched); the pool records
  // the orders.
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), n);
  BOOST_CHECK_EQUAL(zenith_st().commits, 3u);
  BOOST_CHECK_EQUAL(zenith_st().largest_batch, n + 3);
  std::vector<std::string> ids;
  for (auto& h : replies)
    h.receive(
      [&](contracts::submit_result& r) {
        BOOST_CHECK(r.ok);
        ids.push_back(r.task.task_id);
      },
      [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  BOOST_REQUIRE_EQUAL(ids.size(), n);
  for (size_t i = 0; i < n; ++i) {
    BOOST_CHECK_EQUAL((*orders)[i].task.task_id, ids[i]);
    BOOST_CHECK(task_row(ids[i]).status == task_status::running);
  }
  auto text = metrics();
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_commits_total 3"), text);
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_batch_packets_max 8"), text);
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_submissions_total 5"), text);
}

BOOST_AUTO_TEST_CASE(results_reported_together_land_in_one_commit) {
  constexpr size_t n = 4;
  for (size_t i = 0; i < n; ++i)
    self->send(zenith, atom::submit_v, source_request(static_cast<int>(i)));
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), n);
  BOOST_REQUIRE_EQUAL(zenith_st().commits, 3u); // created; cleared and routed
  // Every worker reports before Zenith runs again: one commit (Eclipse's
  // answer on the successes changes nothing and is not recorded).
  for (auto& o : *orders)
    self->send(zenith, atom::result_v, success(o.task));
  sched.run();
  BOOST_CHECK_EQUAL(zenith_st().commits, 4u);
  for (auto& o : *orders)
    BOOST_CHECK(task_row(o.task.task_id).status == task_status::done);
  // A repeated report changes nothing and commits nothing.
  self->send(zenith, atom::result_v, success(orders->front().task));
  sched.run();
  BOOST_CHECK_EQUAL(zenith_st().commits, 4u);
  BOOST_CHECK(contains_line(metrics(), "omniva_tasks{status=\"DONE\"} 4"));
  auto report = storage::verify(*zenith_st().db->read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
}

BOOST_AUTO_TEST_CASE(a_refused_submission_is_answered_at_once_without_a_commit) {
  task_request req;
  req.module_ref = "nowhere@1";
  auto h = self->request(zenith, caf::infinite, atom::submit_v, req);
  sched.run_once();
  BOOST_CHECK(!self->mailbox().empty());
  BOOST_CHECK(zenith_st().effects.replies.empty());
  sched.run();
  h.receive(
    [](contracts::submit_result& r) {
      BOOST_CHECK(!r.ok);
      BOOST_CHECK(has_problem(r, ec::module_not_found));
    },
    [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  BOOST_CHECK_EQUAL(zenith_st().commits, 1u);
}

BOOST_AUTO_TEST_CASE(stopping_answers_a_request_whose_commit_never_comes) {
  // The submission is taken (its reply waits for the flush), then the node
  // stops before the flush runs: the caller gets an error, not silence.
  auto h = self->request(zenith, caf::infinite, atom::submit_v, source_request());
  sched.run_once();
  BOOST_REQUIRE_EQUAL(zenith_st().effects.replies.size(), 1u);
  // Urgent, so that it overtakes the flush already in the mailbox.
  caf::actor_cast<caf::abstract_actor*>(zenith)->enqueue(
    nullptr, caf::make_message_id(caf::message_priority::high),
    caf::make_message(caf::exit_msg{zenith.address(),
                                    caf::exit_reason::user_shutdown}),
    nullptr);
  sched.run();
  bool answered = false;
  h.receive([](contracts::submit_result&) { BOOST_FAIL("a reply without a commit"); },
            [&](caf::error& e) {
              answered = true;
              BOOST_CHECK_EQUAL(e.category(), contracts::error_category);
            });
  BOOST_CHECK(answered);
}

BOOST_AUTO_TEST_CASE(a_duplicate_is_answered_after_the_commit_in_progress) {
  auto req = source_request();
  req.idempotency_key = "once";
  auto first = self->request(zenith, caf::infinite, atom::submit_v, req);
  auto again = self->request(zenith, caf::infinite, atom::submit_v, req);
  sched.run_once(); // the first submission
  sched.run_once(); // the duplicate: held behind the commit of the first
  BOOST_CHECK_EQUAL(zenith_st().effects.replies.size(), 2u);
  sched.run();
  std::string id;
  first.receive([&](contracts::submit_result& r) { id = r.task.task_id; },
                [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  again.receive(
    [&](contracts::submit_result& r) {
      BOOST_CHECK(r.duplicate);
      BOOST_CHECK_EQUAL(r.task.task_id, id);
    },
    [](caf::error& e) { BOOST_FAIL(text_of(e)); });
}

BOOST_AUTO_TEST_CASE(an_idempotency_conflict_is_answered_after_the_commit_in_progress) {
  // The key names a task whose creation is not yet written: the conflict
  // must not name it before it exists.
  auto req = source_request();
  req.idempotency_key = "once";
  auto other = source_request(2);
  other.idempotency_key = "once";
  auto first = self->request(zenith, caf::infinite, atom::submit_v, req);
  auto conflict = self->request(zenith, caf::infinite, atom::submit_v, other);
  sched.run_once(); // the first submission
  sched.run_once(); // the conflict: held behind the commit of the first
  BOOST_CHECK(self->mailbox().empty());
  BOOST_CHECK_EQUAL(zenith_st().effects.replies.size(), 2u);
  sched.run();
  std::string id;
  first.receive([&](contracts::submit_result& r) { id = r.task.task_id; },
                [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  conflict.receive(
    [&](contracts::submit_result& r) {
      BOOST_CHECK(!r.ok);
      BOOST_CHECK(has_problem(r, ec::idempotency_conflict));
      BOOST_CHECK(task_row(id).task_id == id);
    },
    [](caf::error& e) { BOOST_FAIL(text_of(e)); });
}

BOOST_AUTO_TEST_CASE(a_failed_seal_answers_every_request_it_held) {
  // The batch of the submission cannot be sealed (here: a row no packet
  // justifies); Zenith stops, and the caller gets an error, not silence.
  auto h = self->request(zenith, caf::infinite, atom::submit_v, source_request());
  sched.run_once();
  BOOST_REQUIRE_EQUAL(zenith_st().effects.aborts.size(), 1u);
  zenith_st().batch.put(storage::table::tasks, "ghost", "{}", 0);
  sched.run();
  BOOST_REQUIRE(!self->mailbox().empty()); // else the receive below would hang
  bool answered = false;
  h.receive([](contracts::submit_result&) { BOOST_FAIL("a reply without a commit"); },
            [&](caf::error& e) {
              answered = true;
              BOOST_CHECK_MESSAGE(is(e, ec::storage_error), text_of(e));
            });
  BOOST_CHECK(answered);
  zenith = nullptr; // it stopped
}

BOOST_AUTO_TEST_CASE(zenith_forgets_the_last_packets_of_finished_tasks) {
  constexpr size_t n = 6;
  for (size_t i = 0; i < n; ++i)
    self->send(zenith, atom::submit_v, source_request(static_cast<int>(i)));
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), n);
  for (auto& o : *orders)
    BOOST_CHECK(zenith_st().last_packet.count(o.task.task_id) == 1);
  for (auto& o : *orders)
    self->send(zenith, atom::result_v, success(o.task));
  sched.run();
  for (auto& o : *orders) {
    BOOST_CHECK(task_row(o.task.task_id).status == task_status::done);
    BOOST_CHECK(zenith_st().last_packet.count(o.task.task_id) == 0);
  }
  // Nothing may follow the packet that finished a task: an operator action
  // on it is refused and writes nothing.
  auto commits = zenith_st().commits;
  auto h = self->request(zenith, caf::infinite, atom::priority_v,
                         orders->front().task.task_id, int32_t{5},
                         std::string{"ops"});
  sched.run();
  h.receive([](task_record&) { BOOST_FAIL("changed a finished task"); },
            [](caf::error& e) {
              BOOST_CHECK_MESSAGE(is(e, ec::illegal_transition), text_of(e));
            });
  BOOST_CHECK_EQUAL(zenith_st().commits, commits);
  auto report = storage::verify(*zenith_st().db->read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
}

BOOST_AUTO_TEST_CASE(a_packet_about_a_forgotten_entity_finds_its_parent_in_the_log) {
  self->send(zenith, atom::submit_v, source_request());
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), 1u);
  auto& t = orders->front().task;
  self->send(zenith, atom::result_v, failure(t));
  sched.run();
  // The failed promise's history ended: Zenith forgot its last packet.
  auto promise = t.outputs.at("result");
  BOOST_CHECK(zenith_st().last_packet.count(promise) == 0);
  auto h = self->request(zenith, caf::infinite, atom::erase_v, promise,
                         std::string{"ops"});
  sched.run();
  h.receive([](std::string&) {}, [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  auto history = zenith_st().db->read->history(promise);
  BOOST_REQUIRE(history);
  BOOST_REQUIRE_GE(history->size(), 2u);
  auto& last = history->back();
  BOOST_CHECK_EQUAL(last.kind, "asset.deleted");
  BOOST_CHECK(std::find(last.meta_parents.begin(), last.meta_parents.end(),
                        (*history)[history->size() - 2].id)
              != last.meta_parents.end());
  auto report = storage::verify(*zenith_st().db->read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
}

BOOST_AUTO_TEST_CASE(cancelling_a_running_task_stops_its_attempt_after_the_commit) {
  self->send(zenith, atom::submit_v, source_request());
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), 1u);
  auto order = orders->front();
  auto h = self->request(zenith, caf::infinite, atom::cancel_v,
                         order.task.task_id, std::string{"ops"});
  sched.run_once(); // the cancel: recorded, not yet committed
  BOOST_CHECK(stops->empty());
  BOOST_CHECK_EQUAL(zenith_st().effects.stops.size(), 1u);
  sched.run();
  h.receive(
    [](task_record& t) { BOOST_CHECK(t.status == task_status::cancelled); },
    [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  BOOST_REQUIRE_EQUAL(stops->size(), 1u);
  BOOST_CHECK_EQUAL(stops->front(), order.execution_id);
  BOOST_CHECK(task_row(order.task.task_id).status == task_status::cancelled);
  // The cancellation names who asked for it.
  auto history = zenith_st().db->read->history(order.task.task_id);
  BOOST_REQUIRE(history && !history->empty());
  BOOST_CHECK_EQUAL(history->back().kind, "task.cancelled");
  auto payload = json::parse(history->back().payload);
  BOOST_REQUIRE(payload.doc && payload.doc->find("operator"));
  BOOST_CHECK_EQUAL(payload.doc->find("operator")->as_string(), "ops");
  // A request made on nobody's behalf (a worker's report) names no one.
  auto created = json::parse(history->front().payload);
  BOOST_REQUIRE(created.doc);
  BOOST_CHECK(created.doc->find("operator") == nullptr);
  // The pool reports the stopped attempt; a success that raced the stop is
  // dropped just the same.
  auto commits = zenith_st().commits;
  auto stopped = report_on(order.task);
  stopped.error_code = ec::cancelled;
  self->send(zenith, atom::result_v, stopped);
  self->send(zenith, atom::result_v, success(order.task));
  sched.run();
  BOOST_CHECK_EQUAL(zenith_st().commits, commits);
  BOOST_CHECK(task_row(order.task.task_id).status == task_status::cancelled);
}

BOOST_AUTO_TEST_CASE(metrics_count_refusals_conflicts_and_commit_latency) {
  task_request unknown;
  unknown.module_ref = "nowhere@1";
  self->send(zenith, atom::submit_v, unknown);
  auto partial = source_request();
  partial.problems.push_back({ec::type_mismatch, "/priority", "expected an integer"});
  self->send(zenith, atom::submit_v, partial);
  auto keyed = source_request(1);
  keyed.idempotency_key = "k";
  self->send(zenith, atom::submit_v, keyed);
  sched.run();
  auto other = source_request(2);
  other.idempotency_key = "k";
  self->send(zenith, atom::submit_v, other);
  sched.run();
  auto text = metrics();
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_submissions_total 4"), text);
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_rejections_total 2"), text);
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_idempotency_conflicts_total 1"),
                      text);
  // One observation per commit: the enrolment and the task's.
  auto commits = std::to_string(zenith_st().commits);
  BOOST_CHECK_MESSAGE(contains_line(text, "# TYPE omniva_commit_seconds histogram"),
                      text);
  BOOST_CHECK_MESSAGE(contains_line(text, "omniva_commit_seconds_count " + commits),
                      text);
  BOOST_CHECK_MESSAGE(
    contains_line(text, "omniva_commit_seconds_bucket{le=\"+Inf\"} " + commits),
    text);
}

BOOST_AUTO_TEST_CASE(sync_is_answered_once_what_came_before_is_committed) {
  auto submitted = self->request(zenith, caf::infinite, atom::submit_v,
                                 source_request());
  auto barrier = self->request(zenith, caf::infinite, atom::sync_v);
  sched.run_once();
  sched.run_once();
  BOOST_CHECK(self->mailbox().empty());
  sched.run();
  submitted.receive([](contracts::submit_result& r) { BOOST_CHECK(r.ok); },
                    [](caf::error& e) { BOOST_FAIL(text_of(e)); });
  barrier.receive([](uint64_t commits) { BOOST_CHECK_EQUAL(commits, 1u); },
                  [](caf::error& e) { BOOST_FAIL(text_of(e)); });
}

BOOST_AUTO_TEST_CASE(a_lost_attempt_is_stopped_and_run_again) {
  auto beat = std::make_unique<contracts::manual_clock>(
    contracts::timestamp{std::chrono::milliseconds{1'790'000'000'000}});
  auto* clock = beat.get();
  zenith_st().span_clock = std::move(beat);
  auto wall = std::make_unique<contracts::manual_clock>(
    contracts::timestamp{std::chrono::milliseconds{1'790'000'000'000}});
  auto* wall_clock = wall.get();
  zenith_st().clock = std::move(wall);
  self->send(zenith, atom::submit_v, source_request());
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), 1u);
  auto first = orders->front();
  // The worker falls silent past the timeout; the next control cycle
  // tells the pool to stop attempt 1; Eclipse plans a retry after
  // default@1's first pause (1 s with jitter), then attempt 2 goes.
  clock->advance(zenith_st().config.heartbeat_timeout + std::chrono::seconds{1});
  sched.advance_time(zenith_st().config.control_cycle);
  sched.run();
  BOOST_REQUIRE_EQUAL(stops->size(), 1u);
  BOOST_CHECK_EQUAL(stops->front(), first.execution_id);
  BOOST_REQUIRE_EQUAL(orders->size(), 1u);
  wall_clock->advance(std::chrono::seconds{2});
  sched.advance_time(std::chrono::seconds{2});
  sched.run();
  BOOST_REQUIRE_EQUAL(orders->size(), 2u);
  BOOST_CHECK_EQUAL(orders->back().execution_id, first.task.task_id + "/2");
}

BOOST_AUTO_TEST_CASE(an_operator_error_comes_back_as_an_error) {
  auto h = self->request(zenith, caf::infinite, atom::cancel_v,
                         std::string{"00000000-0000-4000-8000-000000000000"},
                         std::string{"ops"});
  sched.run();
  bool got_error = false;
  h.receive([](contracts::task_record&) { BOOST_FAIL("cancelled a ghost"); },
            [&](caf::error& e) {
              got_error = true;
              BOOST_CHECK_MESSAGE(is(e, ec::not_found), text_of(e));
            });
  BOOST_CHECK(got_error);
}

BOOST_AUTO_TEST_SUITE_END()
