#define BOOST_TEST_MODULE zenith_limits
#include <boost/test/unit_test.hpp>

// Zenith's limits as a state (actors/zenith_limits.cpp, docs/policies.md),
// driven without an actor system the way zenith_test and zenith_runs_test
// drive it: a database in a temporary folder, a manual clock, submit /
// dispatch_ready / on_result / on_due / on_heartbeat and a commit after each
// step, with the engines answered by their pure logic. Covered: a task held
// by a named budget until `limits(set)` raises it; the reservation in the
// dispatch packet and its settlement (the reported cost, capped; the
// contract's estimate without one; a failed attempt's `budget.settled`);
// a quota that admits six uploads of 1600 units in a 10000-unit window and
// the rest in the next; `quota_exceeded`; two attempts contending for
// overlapping write prefixes; a lease renewed by heartbeats, then expired
// (`lease.expired`, the attempt fails `lease_lost`); a restart that charges
// what dead attempts reserved and releases their leases; and a held reason
// recorded once. Every commit is read back and the log verified (every row
// justified by a packet), and the spend in each budget row is added up
// again from its lineage.

#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/limits.hpp"
#include "contracts/module_registration.hpp"
#include "storage/verify.hpp"
#include "tests/actors/test_support.hpp"
#include "tests/test_print.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using contracts::ec;
using contracts::task_record;
using contracts::task_request;
using contracts::task_status;

namespace {

// -- modules and policies ----------------------------------------------------------

/// The start of the fixture's clock: 2026-09-21T14:13:20Z.
constexpr int64_t start_ms = 1'790'000'000'000;
constexpr int64_t day_ms = 24 * 3600 * 1000;

/// `text` (a module.json object) with `extra` members added at its end.
std::string with_members(const std::string& text, const std::string& extra) {
  auto end = text.rfind('}');
  return text.substr(0, end) + ", " + extra + "}";
}

/// `<name>@1`: a VALUE `n` (an int, so that each task differs and Paradox
/// takes none for a duplicate) makes one JSON `result`; `extra` adds cost,
/// writes, predicates or a policy.
std::string limited_module(const std::string& name, const std::string& extra) {
  return with_members(
    module_json(name, "A module with limits.",
                R"([{"key": "n", "label": "N", "contract_type": "VALUE",
                     "dtype": "int"}])",
                json_result_output()),
    extra);
}

/// $0.25 a run, charged to the named budget `team`.
const std::string paid_module = limited_module(
  "paid", R"("cost": {"usd_micro_per_run": 250000},
             "predicates": {"admission": [
               {"id": "budget.available@1", "args": {"budget": "team"}}]})");

/// $0.001 a second (30 s at most: a reservation of $0.03), charged to `team`.
const std::string metered_module = limited_module(
  "metered", R"("cost": {"usd_micro_per_second": 1000},
                "predicates": {"admission": [
                  {"id": "budget.available@1", "args": {"budget": "team"}}]})");

/// An upload: 1600 units of quota `yt`.
const std::string uploader_module = limited_module(
  "uploader", R"("predicates": {"admission": [
                   {"id": "quota.available@1",
                    "args": {"quota": "yt", "units": 1600}}]})");

/// More units than a window of `yt` has.
const std::string hog_module = limited_module(
  "hog", R"("predicates": {"admission": [
              {"id": "quota.available@1",
               "args": {"quota": "yt", "units": 20000}}]})");

/// Writes /publish/youtube/ under `leasing@1`.
const std::string publisher_module = limited_module(
  "publisher", R"("policy": "leasing@1",
                  "writes": [{"prefix": "/publish/youtube/"}])");

/// Writes /publish/ (which holds /publish/youtube/) under `leasing@1`.
const std::string archiver_module = limited_module(
  "archiver", R"("policy": "leasing@1", "writes": [{"prefix": "/publish/"}])");

/// One attempt; leases on the writes, 60 s without a heartbeat.
contracts::policy_entry leasing_policy() {
  contracts::policy_entry p;
  p.ref = "leasing@1";
  p.description = "Leases its writes for a minute.";
  p.max_attempts = 1;
  p.lease_ttl_s = 60;
  p.path_leases = true;
  return p;
}

contracts::module_entry entry_of(const std::string& text) {
  auto e = contracts::check_module_text(text, "/modules/x", {});
  BOOST_REQUIRE_MESSAGE(e, "module does not parse: " << why(e));
  return *e;
}

task_request request(const std::string& module, int n) {
  task_request r;
  r.module_ref = module + "@1";
  r.values["n"] = std::to_string(n);
  return r;
}

// -- outcomes --------------------------------------------------------------------

/// A worker's report on the attempt of `t` (a dispatch order's task).
contracts::execution_outcome report_on(const task_record& t) {
  contracts::execution_outcome o;
  o.execution_id = t.task_id + "/" + std::to_string(t.attempt);
  o.task_id = t.task_id;
  o.attempt = t.attempt;
  return o;
}

/// A success that cost `cost` (-1: not reported).
contracts::execution_outcome success(const task_record& t, int64_t cost) {
  auto o = report_on(t);
  o.ok = true;
  o.cost_usd_micro = cost;
  for (auto& [key, id] : t.outputs)
    o.outputs.push_back({key, "/data/outputs/" + t.task_id + "/" + key + ".json",
                         "application/json", std::string(64, 'a'), 17});
  return o;
}

/// A transient failure (a timeout, which a policy may retry) that cost
/// `cost` (-1: not reported).
contracts::execution_outcome failure(const task_record& t, int64_t cost) {
  auto o = report_on(t);
  o.ok = false;
  o.cost_usd_micro = cost;
  o.error_code = ec::timeout;
  o.error_message = "the module ran out of time";
  o.transient = true;
  return o;
}

json::value parse_text(const std::string& text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "not JSON: " << text);
  return std::move(*parsed.doc);
}

/// Member `key` of `x`, required.
json::value member(const json::value& x, std::string_view key) {
  auto* v = x.find(key);
  BOOST_REQUIRE_MESSAGE(v != nullptr, "no member " << key << " in "
                                                   << json::serialize(x));
  return *v;
}

/// Member `key` of `x`, required to be an array.
json::array array_member(const json::value& x, std::string_view key) {
  auto v = member(x, key);
  BOOST_REQUIRE_MESSAGE(v.is_array(), key << " is not an array");
  return v.as_array();
}

/// Member `key` of `x` as an integer (-1 when missing or not one).
int64_t integer(const json::value& x, std::string_view key) {
  auto* v = x.find(key);
  return v != nullptr && v->as_int64() ? *v->as_int64() : -1;
}

/// Member `key` of `x` as text ("" when missing or not text).
std::string text_of_member(const json::value& x, std::string_view key) {
  auto* v = x.find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string{};
}

/// Whether the array member `key` of `x` holds the string `s`.
bool lists(const json::value& x, std::string_view key, const std::string& s) {
  auto* v = x.find(key);
  if (v == nullptr || !v->is_array())
    return false;
  return std::any_of(v->as_array().begin(), v->as_array().end(),
                     [&](auto& e) { return e.is_string() && e.as_string() == s; });
}

// -- the fixture --------------------------------------------------------------------

/// Zenith's state on a fresh database with the modules above enrolled and
/// `leasing@1` registered; one pool of `workers` slots.
struct fixture : zenith_state_fixture {
  explicit fixture(uint32_t workers = 2)
    : zenith_state_fixture("omniva-limits-", 17) {
    start(workers, 0, seed);
    BOOST_REQUIRE(st->register_policy(leasing_policy()));
    for (auto& text : {paid_module, metered_module, uploader_module, hog_module,
                       publisher_module, archiver_module})
      BOOST_REQUIRE(st->enroll(entry_of(text)));
    commit();
  }

  /// Opens the database and recovers a state from it, as `open` does, with
  /// `workers` slots, the clock `later_ms` after the fixture's start and
  /// ids seeded with `id_seed` (a restart takes another seed: a new state
  /// must not make the ids the first one made).
  void start(uint32_t workers, int64_t later_ms, uint64_t id_seed) {
    db = open_test_database(dir.path);
    st = std::make_unique<actors::zenith_state>();
    st->config.data_dir = dir.path.string();
    st->config.pools = {test_pool(workers)};
    st->db = db;
    st->ids = std::make_unique<contracts::seeded_id_source>(id_seed);
    st->clock = std::make_unique<contracts::manual_clock>(
      contracts::timestamp{std::chrono::milliseconds{start_ms + later_ms}});
    auto err = st->recover();
    BOOST_REQUIRE_MESSAGE(!err, "recover failed: " << text_of(err));
  }

  contracts::manual_clock& clock() {
    return static_cast<contracts::manual_clock&>(*st->clock);
  }

  /// The clock's time in Unix ms.
  int64_t now_ms() {
    return st->clock->now().time_since_epoch().count();
  }

  task_record submit(const task_request& req) {
    auto r = st->submit(req);
    BOOST_REQUIRE_MESSAGE(r.ok, "submission refused: "
                                  << (r.problems.empty() ? std::string{"?"}
                                                         : r.problems.front().message));
    return r.task;
  }

  /// Submits `count` tasks of `module` (n = first, first + 1, ...) and
  /// commits (they are cleared and routed: READY in the pool's queue).
  std::vector<task_record> submit_many(const std::string& module, int count,
                                       int first = 1) {
    std::vector<task_record> out;
    for (int i = 0; i < count; ++i)
      out.push_back(submit(request(module, first + i)));
    commit();
    return out;
  }

  /// What the dispatches of the last `dispatch` asked the pools to stop.
  std::vector<std::pair<std::string, std::string>> stops;

  /// Dispatches and commits until nothing moves, as the actor's flushes
  /// do; returns the orders.
  std::vector<contracts::dispatch_order> dispatch() {
    std::vector<contracts::dispatch_order> out;
    for (;;) {
      st->dispatch_ready();
      if (st->batch.empty())
        return out;
      auto fx = commit();
      for (auto& [pool, order] : fx.dispatches)
        out.push_back(std::move(order));
      for (auto& s : fx.stops)
        stops.push_back(s);
    }
  }

  /// Reports `o` and commits (with the engines' answers); keeps the stops.
  void report(const contracts::execution_outcome& o) {
    st->on_result(o);
    auto fx = commit();
    for (auto& s : fx.stops)
      stops.push_back(s);
  }

  /// Runs the control cycle's timers at the current time and commits.
  void due() {
    st->on_due();
    auto fx = commit();
    for (auto& s : fx.stops)
      stops.push_back(s);
  }

  /// Creates or changes (`op`) budget `name` through `limits`, commits.
  json::value budget(const std::string& op, const std::string& name,
                     int64_t max_usd_micro, int64_t window_ms = -1) {
    contracts::limits_request r;
    r.op = op;
    r.subject = "budget:" + name;
    r.max_usd_micro = max_usd_micro;
    r.window_ms = window_ms;
    r.by = "test";
    auto answer = st->limits(r);
    BOOST_REQUIRE_MESSAGE(answer, op << " budget " << name << ": " << why(answer));
    commit();
    return parse_text(*answer);
  }

  /// Creates quota `name` of `units` per `window_ms`, commits.
  json::value quota(const std::string& name, int64_t units, int64_t window_ms) {
    contracts::limits_request r;
    r.op = "create";
    r.subject = "quota:" + name;
    r.units = units;
    r.window_ms = window_ms;
    r.by = "test";
    auto answer = st->limits(r);
    BOOST_REQUIRE_MESSAGE(answer, "create quota " << name << ": " << why(answer));
    commit();
    return parse_text(*answer);
  }

  /// The packets of `subject`'s history of kind `kind`, in order.
  std::vector<contracts::packet> packets(const std::string& subject,
                                         const std::string& kind) {
    auto history = db->read->history(subject);
    BOOST_REQUIRE_MESSAGE(history, why(history));
    std::vector<contracts::packet> out;
    for (auto& p : *history)
      if (p.kind == kind)
        out.push_back(p);
    return out;
  }

  /// The payload of the only packet of `kind` in `subject`'s history (or of
  /// the last, when `last`).
  json::value payload(const std::string& subject, const std::string& kind,
                      bool last = false) {
    auto found = packets(subject, kind);
    if (last)
      BOOST_REQUIRE_MESSAGE(!found.empty(), "no " << kind << " for " << subject);
    else
      BOOST_REQUIRE_MESSAGE(found.size() == 1, found.size() << " " << kind
                                                            << " for " << subject);
    return parse_text(found.back().payload);
  }

  /// The row of table `limits` under `subject`, parsed; null when none.
  json::value limits_row(const std::string& subject) {
    auto text = db->read->get(storage::table::limits, subject);
    if (!text)
      return json::value{};
    return parse_text(*text);
  }

  task_record task_row(const std::string& id) {
    auto text = db->read->get(storage::table::tasks, id);
    BOOST_REQUIRE_MESSAGE(text, "no row " << id << ": " << why(text));
    std::vector<contracts::problem> problems;
    auto rec = contracts::task_record_from_json(parse_text(*text), problems, "");
    BOOST_REQUIRE_MESSAGE(rec, "row " << id << " does not parse: " << *text);
    return std::move(*rec);
  }

  /// The spend of `subject` added up again from its lineage: what each
  /// settlement charged it (`task.succeeded`'s `settled`, `budget.settled`
  /// for a failure or a restart).
  int64_t lineage_spend(const std::string& subject) {
    auto history = db->read->history(subject);
    BOOST_REQUIRE_MESSAGE(history, why(history));
    int64_t spent = 0;
    for (auto& p : *history) {
      auto body = parse_text(p.payload);
      json::value settled;
      if (p.kind == "task.succeeded" && body.find("settled") != nullptr)
        settled = *body.find("settled");
      else if (p.kind == "budget.settled")
        settled = body;
      else
        continue;
      // A settlement names the budgets it charged (`scopes`); a restart's
      // names its one budget as the packet's subject.
      if (settled.find("scopes") != nullptr && !lists(settled, "scopes", subject))
        continue;
      spent += std::max<int64_t>(0, integer(settled, "charged_usd_micro"));
    }
    return spent;
  }

  /// Requires that the log verifies (every row justified by its packet).
  void require_verified() {
    auto report = storage::verify(*db->read);
    BOOST_REQUIRE_MESSAGE(report.ok, "the log does not verify: " << report.reason);
  }
};

/// Eight slots: eight uploads may go at once, as far as the pool goes.
struct wide_fixture : fixture {
  wide_fixture() : fixture(8) {
  }
};

} // namespace

// -- budgets -------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(budgets, fixture)

BOOST_AUTO_TEST_CASE(a_costly_task_waits_for_its_budget_and_goes_once_it_is_raised) {
  budget("create", "team", 400'000);
  auto tasks = submit_many("paid", 2);
  auto orders = dispatch();
  // $0.25 fits $0.40; a second $0.25 does not: it waits, READY, with the
  // reason recorded.
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  auto& first = orders[0].task;
  auto& second = first.task_id == tasks[0].task_id ? tasks[1] : tasks[0];
  BOOST_CHECK(st->tasks.at(second.task_id).status == task_status::ready);
  BOOST_CHECK(task_row(second.task_id).status == task_status::ready);
  auto held = payload(second.task_id, "task.held");
  BOOST_CHECK_EQUAL(text_of_member(held, "code"), "budget_exhausted");
  BOOST_CHECK_EQUAL(text_of_member(held, "predicate"), "budget.available@1");
  auto saw = text_of_member(held, "saw");
  BOOST_CHECK_MESSAGE(saw.find("budget 'team'") != std::string::npos
                        && saw.find("$0.25 reserved of $0.4") != std::string::npos,
                      saw);
  // The budget's row holds the reservation.
  auto row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 0);
  BOOST_CHECK_EQUAL(integer(row, "available_usd_micro"), 150'000);
  // Nothing changes by asking again.
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK(dispatch().empty());
  // Raised: it goes.
  auto raised = budget("set", "team", 1'000'000);
  BOOST_CHECK_EQUAL(integer(raised, "max_usd_micro"), 1'000'000);
  auto changed = payload("budget:team", "budget.changed");
  BOOST_CHECK_EQUAL(integer(member(changed, "before"), "max_usd_micro"), 400'000);
  auto later = dispatch();
  BOOST_REQUIRE_EQUAL(later.size(), 1u);
  BOOST_CHECK_EQUAL(later[0].task.task_id, second.task_id);
  BOOST_CHECK(st->tasks.at(second.task_id).status == task_status::running);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "reserved_usd_micro"), 500'000);
  // Both settle: the reported cost, never more than the reservation.
  report(success(first, 180'000));
  report(success(later[0].task, 900'000));
  row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 0);
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 430'000);
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 430'000);
  BOOST_CHECK_EQUAL(packets(second.task_id, "task.held").size(), 1u);
  require_verified();
}

BOOST_AUTO_TEST_CASE(the_dispatch_records_the_reservation_and_the_success_its_settlement) {
  budget("create", "team", 1'000'000);
  auto t = submit_many("paid", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  // task.dispatched: what admission took, and the budget as a subject.
  auto dispatched = packets(t.task_id, "task.dispatched");
  BOOST_REQUIRE_EQUAL(dispatched.size(), 1u);
  BOOST_CHECK(std::count(dispatched[0].subjects.begin(),
                         dispatched[0].subjects.end(), "budget:team")
              == 1);
  auto body = parse_text(dispatched[0].payload);
  auto* admission = body.find("admission");
  BOOST_REQUIRE_MESSAGE(admission != nullptr, dispatched[0].payload);
  BOOST_CHECK_EQUAL(integer(*admission, "reserved_usd_micro"), 250'000);
  BOOST_CHECK(lists(*admission, "scopes", "budget:team"));
  auto* verdicts = admission->find("predicates");
  BOOST_REQUIRE(verdicts != nullptr && verdicts->is_array());
  BOOST_REQUIRE_EQUAL(verdicts->as_array().size(), 1u);
  auto& verdict = verdicts->as_array()[0];
  BOOST_CHECK_EQUAL(text_of_member(verdict, "id"), "budget.available@1");
  BOOST_CHECK(verdict.find("passed") != nullptr && verdict.find("passed")->as_bool());
  // task.succeeded: settled with the reported cost.
  report(success(orders[0].task, 180'000));
  auto succeeded = payload(t.task_id, "task.succeeded");
  auto* settled = succeeded.find("settled");
  BOOST_REQUIRE_MESSAGE(settled != nullptr, json::serialize(succeeded));
  BOOST_CHECK_EQUAL(integer(*settled, "reserved_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(*settled, "charged_usd_micro"), 180'000);
  BOOST_CHECK_EQUAL(integer(*settled, "reported_usd_micro"), 180'000);
  BOOST_CHECK(settled->find("over_reservation_usd_micro") == nullptr);
  BOOST_CHECK(lists(*settled, "scopes", "budget:team"));
  BOOST_CHECK_EQUAL(packets("budget:team", "task.succeeded").size(), 1u);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "spent_usd_micro"), 180'000);
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 180'000);
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_cost_above_the_reservation_is_capped_and_the_excess_recorded) {
  budget("create", "team", 1'000'000);
  auto t = submit_many("paid", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  report(success(orders[0].task, 900'000));
  auto settled = member(payload(t.task_id, "task.succeeded"), "settled");
  BOOST_CHECK_EQUAL(integer(settled, "charged_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(settled, "reported_usd_micro"), 900'000);
  BOOST_CHECK_EQUAL(integer(settled, "over_reservation_usd_micro"), 650'000);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "spent_usd_micro"), 250'000);
  require_verified();
}

BOOST_AUTO_TEST_CASE(without_a_reported_cost_the_contract_estimate_is_charged) {
  budget("create", "team", 1'000'000);
  auto paid = submit_many("paid", 1)[0];
  auto metered = submit_many("metered", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  // The per-second cost reserves its worst case: 30 s of $0.001.
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "reserved_usd_micro"),
                    250'000 + 30'000);
  BOOST_CHECK_EQUAL(
    integer(member(payload(metered.task_id, "task.dispatched"), "admission"),
            "reserved_usd_micro"),
    30'000);
  // 2.5 s later both end without reporting a cost: the per-run cost, and
  // the per-second cost for three started seconds.
  clock().advance(std::chrono::milliseconds{2500});
  for (auto& o : orders)
    report(success(o.task, -1));
  auto paid_settled = member(payload(paid.task_id, "task.succeeded"), "settled");
  BOOST_CHECK_EQUAL(integer(paid_settled, "charged_usd_micro"), 250'000);
  BOOST_CHECK(paid_settled.find("reported_usd_micro") == nullptr);
  auto metered_settled = member(payload(metered.task_id, "task.succeeded"), "settled");
  BOOST_CHECK_EQUAL(integer(metered_settled, "reserved_usd_micro"), 30'000);
  BOOST_CHECK_EQUAL(integer(metered_settled, "charged_usd_micro"), 3'000);
  auto row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 253'000);
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 0);
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 253'000);
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_failed_attempt_settles_in_a_budget_settled_packet) {
  budget("create", "team", 1'000'000);
  auto t = submit_many("paid", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  report(failure(orders[0].task, 100'000));
  auto settled = payload(t.task_id, "budget.settled");
  BOOST_CHECK_EQUAL(integer(settled, "attempt"), 1);
  BOOST_CHECK_EQUAL(integer(settled, "reserved_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(settled, "charged_usd_micro"), 100'000);
  BOOST_CHECK(lists(settled, "scopes", "budget:team"));
  BOOST_CHECK_EQUAL(text_of_member(settled, "reason"), "the attempt failed");
  // The packet names the budget too: it is in the budget's history.
  BOOST_CHECK_EQUAL(packets("budget:team", "budget.settled").size(), 1u);
  auto row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 100'000);
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 0);
  // default@1 retries it after a pause: the new attempt reserves again.
  clock().advance(std::chrono::seconds{2});
  due();
  auto again = dispatch();
  BOOST_REQUIRE_EQUAL(again.size(), 1u);
  BOOST_CHECK_EQUAL(again[0].task.attempt, 2u);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "reserved_usd_micro"), 250'000);
  report(success(again[0].task, -1));
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "spent_usd_micro"), 350'000);
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 350'000);
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_budget_that_does_not_exist_holds_its_tasks_until_it_does) {
  auto t = submit_many("paid", 1)[0];
  BOOST_CHECK(dispatch().empty());
  auto held = payload(t.task_id, "task.held");
  BOOST_CHECK_EQUAL(text_of_member(held, "code"), "budget_exhausted");
  BOOST_CHECK_MESSAGE(text_of_member(held, "saw").find("no budget named 'team'")
                        != std::string::npos,
                      text_of_member(held, "saw"));
  budget("create", "team", 250'000);
  BOOST_CHECK_EQUAL(dispatch().size(), 1u);
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_windowed_budget_admits_again_in_its_next_window) {
  // $0.25 a day; the clock stands at 14:13:20 UTC.
  budget("create", "team", 250'000, day_ms);
  auto tasks = submit_many("paid", 2);
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  report(success(orders[0].task, -1));
  BOOST_CHECK(dispatch().empty());
  auto waiting = orders[0].task.task_id == tasks[0].task_id ? tasks[1] : tasks[0];
  auto held = payload(waiting.task_id, "task.held");
  BOOST_CHECK_MESSAGE(text_of_member(held, "saw").find("2026-09-22T00:00:00.000Z")
                        != std::string::npos,
                      text_of_member(held, "saw"));
  // A millisecond before midnight it still waits; at midnight it goes.
  auto midnight = contracts::window_start(now_ms(), day_ms) + day_ms;
  clock().set(contracts::timestamp{std::chrono::milliseconds{midnight - 1}});
  due();
  BOOST_CHECK(dispatch().empty());
  clock().set(contracts::timestamp{std::chrono::milliseconds{midnight}});
  due();
  auto next = dispatch();
  BOOST_REQUIRE_EQUAL(next.size(), 1u);
  BOOST_CHECK_EQUAL(next[0].task.task_id, waiting.task_id);
  auto row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "window_start_ms"), midnight);
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 0);
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(packets(waiting.task_id, "task.held").size(), 1u);
  require_verified();
}

BOOST_AUTO_TEST_SUITE_END()

// -- quotas ---------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(quotas, wide_fixture)

BOOST_AUTO_TEST_CASE(a_quota_admits_six_uploads_a_window_and_the_rest_in_the_next) {
  // The YouTube Data API: 10,000 units a day, 1,600 an upload.
  quota("yt", 10'000, day_ms);
  auto tasks = submit_many("uploader", 8);
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 6u);
  auto row = limits_row("quota:yt");
  BOOST_CHECK_EQUAL(integer(row, "used_units"), 9'600);
  BOOST_CHECK_EQUAL(integer(row, "available_units"), 400);
  // Each dispatch charged its units, in order.
  std::vector<int64_t> used;
  for (auto& o : orders) {
    auto admission = member(payload(o.task.task_id, "task.dispatched"), "admission");
    auto charged = array_member(admission, "quotas");
    BOOST_REQUIRE_EQUAL(charged.size(), 1u);
    BOOST_CHECK_EQUAL(text_of_member(charged[0], "quota"), "yt");
    BOOST_CHECK_EQUAL(integer(charged[0], "units"), 1'600);
    used.push_back(integer(charged[0], "used_units"));
  }
  std::sort(used.begin(), used.end());
  BOOST_CHECK((used == std::vector<int64_t>{1600, 3200, 4800, 6400, 8000, 9600}));
  BOOST_CHECK_EQUAL(packets("quota:yt", "task.dispatched").size(), 6u);
  // The two others wait, each with one reason.
  std::vector<std::string> waiting;
  for (auto& t : tasks)
    if (st->tasks.at(t.task_id).status == task_status::ready)
      waiting.push_back(t.task_id);
  BOOST_REQUIRE_EQUAL(waiting.size(), 2u);
  for (auto& id : waiting) {
    auto held = payload(id, "task.held");
    BOOST_CHECK_EQUAL(text_of_member(held, "code"), "quota_exhausted");
    BOOST_CHECK_EQUAL(text_of_member(held, "predicate"), "quota.available@1");
  }
  // Units are not given back by the attempts' ends.
  for (auto& o : orders)
    report(success(o.task, -1));
  BOOST_CHECK(dispatch().empty());
  BOOST_CHECK_EQUAL(integer(limits_row("quota:yt"), "used_units"), 9'600);
  // Just before the window's end they still wait; at its end they go.
  auto end = contracts::window_start(now_ms(), day_ms) + day_ms;
  clock().set(contracts::timestamp{std::chrono::milliseconds{end - 1}});
  due();
  BOOST_CHECK(dispatch().empty());
  clock().set(contracts::timestamp{std::chrono::milliseconds{end}});
  due();
  auto next = dispatch();
  BOOST_REQUIRE_EQUAL(next.size(), 2u);
  row = limits_row("quota:yt");
  BOOST_CHECK_EQUAL(integer(row, "window_start_ms"), end);
  BOOST_CHECK_EQUAL(integer(row, "used_units"), 3'200);
  for (auto& id : waiting)
    BOOST_CHECK_EQUAL(packets(id, "task.held").size(), 1u);
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_task_needing_more_than_a_window_ends_quota_exceeded) {
  quota("yt", 10'000, day_ms);
  auto hog = submit_many("hog", 1)[0];
  auto upload = submit_many("uploader", 1)[0];
  auto orders = dispatch();
  // The upload goes; the hog ends: waiting cannot help.
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  BOOST_CHECK_EQUAL(orders[0].task.task_id, upload.task_id);
  auto row = task_row(hog.task_id);
  BOOST_CHECK(row.status == task_status::error);
  BOOST_REQUIRE(row.error);
  BOOST_CHECK_EQUAL(row.error->code, "quota_exceeded");
  BOOST_CHECK(!row.error->transient);
  BOOST_CHECK_MESSAGE(row.error->message.find("20000") != std::string::npos,
                      row.error->message);
  BOOST_CHECK(packets(hog.task_id, "task.dispatched").empty());
  BOOST_CHECK(packets(hog.task_id, "task.held").empty());
  BOOST_CHECK_EQUAL(integer(limits_row("quota:yt"), "used_units"), 1'600);
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_quota_that_does_not_exist_holds_uploads_until_it_is_created) {
  auto t = submit_many("uploader", 1)[0];
  BOOST_CHECK(dispatch().empty());
  auto held = payload(t.task_id, "task.held");
  BOOST_CHECK_EQUAL(text_of_member(held, "code"), "quota_exhausted");
  quota("yt", 1'600, 3'600'000);
  BOOST_CHECK_EQUAL(dispatch().size(), 1u);
  BOOST_CHECK_EQUAL(integer(limits_row("quota:yt"), "used_units"), 1'600);
  require_verified();
}

BOOST_AUTO_TEST_SUITE_END()

// -- leases ---------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(leases, fixture)

BOOST_AUTO_TEST_CASE(an_overlapping_prefix_waits_for_the_lease_holder_to_end) {
  auto publisher = submit_many("publisher", 1)[0];
  auto archiver = submit_many("archiver", 1)[0];
  auto orders = dispatch();
  // Two slots, but /publish/ holds /publish/youtube/: one goes.
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  BOOST_CHECK_EQUAL(orders[0].task.task_id, publisher.task_id);
  auto admission = member(payload(publisher.task_id, "task.dispatched"), "admission");
  auto taken = array_member(admission, "leases");
  BOOST_REQUIRE_EQUAL(taken.size(), 1u);
  BOOST_CHECK_EQUAL(text_of_member(taken[0], "prefix"), "/publish/youtube/");
  BOOST_CHECK_EQUAL(text_of_member(taken[0], "expires_at"),
                    contracts::format_timestamp(contracts::timestamp{
                      std::chrono::milliseconds{start_ms + 60'000}}));
  auto lease = limits_row("lease:/publish/youtube/");
  BOOST_CHECK_EQUAL(text_of_member(lease, "task_id"), publisher.task_id);
  BOOST_CHECK_EQUAL(integer(lease, "ttl_ms"), 60'000);
  auto held = payload(archiver.task_id, "task.held");
  BOOST_CHECK_EQUAL(text_of_member(held, "code"), "lease_held");
  BOOST_CHECK_MESSAGE(text_of_member(held, "saw").find(publisher.task_id)
                        != std::string::npos,
                      text_of_member(held, "saw"));
  BOOST_CHECK(dispatch().empty());
  // The holder ends: its lease goes with its settlement; the other goes.
  report(success(orders[0].task, -1));
  auto settled = member(payload(publisher.task_id, "task.succeeded"), "settled");
  BOOST_CHECK(lists(settled, "leases_released", "/publish/youtube/"));
  BOOST_CHECK(limits_row("lease:/publish/youtube/").is_null());
  BOOST_CHECK(st->leases.count("lease:/publish/youtube/") == 0);
  auto next = dispatch();
  BOOST_REQUIRE_EQUAL(next.size(), 1u);
  BOOST_CHECK_EQUAL(next[0].task.task_id, archiver.task_id);
  BOOST_CHECK_EQUAL(text_of_member(limits_row("lease:/publish/"), "task_id"),
                    archiver.task_id);
  BOOST_CHECK_EQUAL(packets(archiver.task_id, "task.held").size(), 1u);
  // The lease's lineage: taken by one dispatch, released by one success.
  BOOST_CHECK_EQUAL(packets("lease:/publish/youtube/", "task.dispatched").size(), 1u);
  BOOST_CHECK_EQUAL(packets("lease:/publish/youtube/", "task.succeeded").size(), 1u);
  require_verified();
}

BOOST_AUTO_TEST_CASE(heartbeats_renew_a_lease_and_its_expiry_fails_the_attempt) {
  auto t = submit_many("publisher", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  auto& order = orders[0];
  const std::string subject = "lease:/publish/youtube/";
  BOOST_CHECK_EQUAL(st->leases.at(subject).expires_ms, start_ms + 60'000);
  // A beat at 30 s extends it to 90 s; at 61 s it has not expired.
  clock().advance(std::chrono::seconds{30});
  st->on_heartbeat(order.execution_id);
  BOOST_CHECK_EQUAL(st->leases.at(subject).expires_ms, start_ms + 90'000);
  // A beat naming another attempt renews nothing.
  st->on_heartbeat(t.task_id + "/9");
  BOOST_CHECK_EQUAL(st->leases.at(subject).expires_ms, start_ms + 90'000);
  clock().advance(std::chrono::seconds{31});
  due();
  BOOST_CHECK(packets(subject, "lease.expired").empty());
  BOOST_CHECK(st->tasks.at(t.task_id).status == task_status::running);
  BOOST_CHECK(stops.empty());
  // No beat since: at 91 s it has.
  clock().advance(std::chrono::seconds{30});
  due();
  auto expired = payload(subject, "lease.expired");
  BOOST_CHECK_EQUAL(text_of_member(expired, "task_id"), t.task_id);
  BOOST_CHECK_EQUAL(text_of_member(expired, "prefix"), "/publish/youtube/");
  BOOST_CHECK_EQUAL(packets(t.task_id, "lease.expired").size(), 1u);
  BOOST_CHECK(limits_row(subject).is_null());
  BOOST_CHECK(st->leases.empty());
  // The attempt is stopped and fails lease_lost (transient); leasing@1
  // allows one attempt, so the task ends with it.
  BOOST_CHECK(std::count(stops.begin(), stops.end(),
                         std::pair<std::string, std::string>{"default",
                                                             order.execution_id})
              == 1);
  auto failed = payload(t.task_id, "task.attempt_failed");
  BOOST_CHECK_EQUAL(text_of_member(failed, "code"), "lease_lost");
  BOOST_CHECK(failed.find("transient") != nullptr && failed.find("transient")->as_bool());
  auto row = task_row(t.task_id);
  BOOST_CHECK(row.status == task_status::error);
  BOOST_REQUIRE(row.error);
  BOOST_CHECK_EQUAL(row.error->code, "lease_lost");
  // Its late success promotes nothing.
  st->on_result(success(order.task, -1));
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(packets(t.task_id, "task.succeeded").empty());
  require_verified();
}

BOOST_AUTO_TEST_SUITE_END()

// -- restarts --------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(restarts, fixture)

BOOST_AUTO_TEST_CASE(a_restart_charges_what_dead_attempts_reserved_and_releases_their_leases) {
  budget("create", "team", 1'000'000);
  auto paid = submit_many("paid", 1)[0];
  auto publisher = submit_many("publisher", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "reserved_usd_micro"), 250'000);
  BOOST_CHECK(!limits_row("lease:/publish/youtube/").is_null());
  // The node dies under both attempts and starts again a minute later.
  close();
  start(2, 60'000, seed + 1);
  BOOST_CHECK(st->leases.empty());
  commit();
  // The reservation was charged whole (the attempt may have spent it).
  auto settled = payload("budget:team", "budget.settled");
  BOOST_CHECK_EQUAL(integer(settled, "reserved_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(settled, "charged_usd_micro"), 250'000);
  BOOST_CHECK_MESSAGE(text_of_member(settled, "reason").find("restarted")
                        != std::string::npos,
                      text_of_member(settled, "reason"));
  auto row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 0);
  BOOST_CHECK_EQUAL(st->budgets.at("budget:team").spent_usd_micro, 250'000);
  // The lease went, in the lineage too.
  auto released = payload("lease:/publish/youtube/", "lease.released");
  BOOST_CHECK_EQUAL(text_of_member(released, "task_id"), publisher.task_id);
  BOOST_CHECK(limits_row("lease:/publish/youtube/").is_null());
  // Both run again as new attempts, taking again what they need.
  auto again = dispatch();
  BOOST_REQUIRE_EQUAL(again.size(), 2u);
  for (auto& o : again)
    BOOST_CHECK_EQUAL(o.task.attempt, 2u);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "reserved_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(
    text_of_member(limits_row("lease:/publish/youtube/"), "task_id"),
    publisher.task_id);
  // The dead attempts' late reports change nothing.
  for (auto& o : orders)
    st->on_result(success(o.task, 1));
  BOOST_CHECK(st->batch.empty());
  for (auto& o : again)
    report(success(o.task, 100'000));
  row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 350'000);
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 0);
  // Spend from the lineage: the restart's charge and the success's.
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 350'000);
  BOOST_CHECK(limits_row("lease:/publish/youtube/").is_null());
  require_verified();
  // A second restart finds nothing reserved: nothing more is charged.
  close();
  start(2, 120'000, seed + 2);
  commit();
  BOOST_CHECK_EQUAL(packets("budget:team", "budget.settled").size(), 1u);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "spent_usd_micro"), 350'000);
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 350'000);
  (void) paid;
  require_verified();
}

BOOST_AUTO_TEST_CASE(budgets_and_quotas_survive_a_restart) {
  budget("create", "team", 700'000, day_ms);
  quota("yt", 10'000, day_ms);
  auto orders = dispatch();
  BOOST_CHECK(orders.empty());
  auto t = submit_many("uploader", 1)[0];
  orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  report(success(orders[0].task, -1));
  auto before_budget = st->budgets.at("budget:team");
  auto before_quota = st->quotas.at("quota:yt");
  close();
  start(2, 1'000, seed + 1);
  commit();
  BOOST_CHECK(st->budgets.at("budget:team") == before_budget);
  BOOST_CHECK(st->quotas.at("quota:yt") == before_quota);
  BOOST_CHECK_EQUAL(st->quotas.at("quota:yt").used_units, 1'600);
  (void) t;
  require_verified();
}

BOOST_AUTO_TEST_SUITE_END()

// -- attempts that end without a report -------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(lost_and_cancelled, fixture)

BOOST_AUTO_TEST_CASE(a_lost_worker_is_charged_its_whole_reservation_and_loses_its_leases) {
  st->config.heartbeat_timeout = std::chrono::seconds{60};
  budget("create", "team", 1'000'000);
  auto paid = submit_many("paid", 1)[0];
  auto publisher = submit_many("publisher", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  // Both workers go silent for longer than the timeout (the lease's 60 s
  // have not passed yet when the heartbeat check runs).
  clock().advance(std::chrono::seconds{59});
  due();
  clock().advance(std::chrono::milliseconds{1'500});
  BOOST_CHECK_EQUAL(st->check_heartbeats(), 2u);
  commit();
  auto settled = payload(paid.task_id, "budget.settled");
  BOOST_CHECK_EQUAL(integer(settled, "charged_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(text_of_member(settled, "reason"), "its worker was lost");
  auto released = payload(publisher.task_id, "budget.settled");
  BOOST_CHECK(lists(released, "leases_released", "/publish/youtube/"));
  BOOST_CHECK(limits_row("lease:/publish/youtube/").is_null());
  BOOST_CHECK(st->leases.empty());
  auto row = limits_row("budget:team");
  BOOST_CHECK_EQUAL(integer(row, "spent_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(row, "reserved_usd_micro"), 0);
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 250'000);
  // No lease is left to expire later.
  clock().advance(std::chrono::minutes{5});
  due();
  BOOST_CHECK(packets("lease:/publish/youtube/", "lease.expired").empty());
  require_verified();
}

BOOST_AUTO_TEST_CASE(a_task_cancelled_while_it_runs_is_charged_its_whole_reservation) {
  budget("create", "team", 1'000'000);
  auto paid = submit_many("paid", 1)[0];
  auto publisher = submit_many("publisher", 1)[0];
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 2u);
  BOOST_REQUIRE(st->cancel(paid.task_id));
  BOOST_REQUIRE(st->cancel(publisher.task_id));
  commit();
  auto settled = payload(paid.task_id, "budget.settled");
  BOOST_CHECK_EQUAL(integer(settled, "charged_usd_micro"), 250'000);
  BOOST_CHECK_MESSAGE(text_of_member(settled, "reason").find("cancelled")
                        != std::string::npos,
                      text_of_member(settled, "reason"));
  BOOST_CHECK(lists(payload(publisher.task_id, "budget.settled"), "leases_released",
                    "/publish/youtube/"));
  BOOST_CHECK(limits_row("lease:/publish/youtube/").is_null());
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "spent_usd_micro"), 250'000);
  BOOST_CHECK_EQUAL(integer(limits_row("budget:team"), "reserved_usd_micro"), 0);
  // Their late reports change nothing.
  for (auto& o : orders)
    st->on_result(success(o.task, 1));
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK_EQUAL(lineage_spend("budget:team"), 250'000);
  require_verified();
}

BOOST_AUTO_TEST_SUITE_END()

// -- held reasons -------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(held_reasons, fixture)

BOOST_AUTO_TEST_CASE(a_held_reason_is_recorded_once_however_often_dispatch_looks) {
  budget("create", "team", 0);
  auto tasks = submit_many("paid", 2);
  for (int i = 0; i < 5; ++i) {
    BOOST_CHECK(dispatch().empty());
    // A change of a limit that does not free it makes no new packet either.
    budget("set", "team", 100'000 + i);
  }
  for (auto& t : tasks) {
    BOOST_CHECK_EQUAL(packets(t.task_id, "task.held").size(), 1u);
    BOOST_CHECK(st->tasks.at(t.task_id).status == task_status::ready);
  }
  budget("set", "team", 500'000);
  BOOST_CHECK_EQUAL(dispatch().size(), 2u);
  for (auto& t : tasks)
    BOOST_CHECK_EQUAL(packets(t.task_id, "task.held").size(), 1u);
  require_verified();
}

BOOST_AUTO_TEST_CASE(operators_create_and_change_budgets_and_quotas_with_packets) {
  auto created = budget("create", "team", 5'000'000, day_ms);
  BOOST_CHECK_EQUAL(text_of_member(created, "window"), "1d");
  auto first = payload("budget:team", "budget.created");
  BOOST_CHECK_EQUAL(integer(member(first, "budget"), "max_usd_micro"), 5'000'000);
  // Created twice: already_exists, nothing written.
  contracts::limits_request again;
  again.op = "create";
  again.subject = "budget:team";
  again.max_usd_micro = 1;
  auto twice = st->limits(again);
  BOOST_CHECK(!twice && is(twice.error(), ec::already_exists));
  BOOST_CHECK(st->batch.empty());
  // Set on a budget that does not exist: not_found.
  again.op = "set";
  again.subject = "budget:nobody";
  auto missing = st->limits(again);
  BOOST_CHECK(!missing && is(missing.error(), ec::not_found));
  // Show and list.
  contracts::limits_request show;
  show.op = "show";
  show.subject = "budget:team";
  auto shown = st->limits(show);
  BOOST_REQUIRE(shown);
  BOOST_CHECK_EQUAL(integer(parse_text(*shown), "max_usd_micro"), 5'000'000);
  quota("yt", 10'000, day_ms);
  contracts::limits_request list;
  list.op = "list";
  auto listed = st->limits(list);
  BOOST_REQUIRE(listed);
  auto all = parse_text(*listed);
  BOOST_CHECK_EQUAL(array_member(all, "budgets").size(), 1u);
  BOOST_CHECK_EQUAL(array_member(all, "quotas").size(), 1u);
  BOOST_CHECK(array_member(all, "leases").empty());
  // A malformed subject is refused.
  show.subject = "budget:Team";
  auto bad = st->limits(show);
  BOOST_CHECK(!bad && is(bad.error(), ec::invalid_argument));
  require_verified();
}

BOOST_AUTO_TEST_SUITE_END()
