#define BOOST_TEST_MODULE faults
#include <boost/test/unit_test.hpp>

// Fault plans (contracts/faults.hpp): the JSON form read into rules, every
// problem of a bad document reported at once with its pointer, which rule
// matches an order, and the seeded rates: the same seed and execution id
// always draw the same, and a rate holds over many ids.

#include "contracts/faults.hpp"
#include "tests/test_print.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;
using std::chrono::milliseconds;

namespace {

/// The example of the documentation.
constexpr std::string_view example = R"({"seed": 7, "rules": [
  {"module": "flaky@1", "attempts": [1, 2], "fault": "silent"},
  {"module": "*", "rate": 0.05, "fault": "transient"},
  {"pool": "default", "fault": "slow", "delay_ms": 200}]})";

/// An order for attempt `attempt` of task `task_id`, running `module_ref`.
dispatch_order order_for(const std::string& task_id, uint32_t attempt,
                         const std::string& module_ref) {
  dispatch_order o;
  o.task.task_id = task_id;
  o.task.attempt = attempt;
  o.task.module_ref = module_ref;
  o.execution_id = task_id + "/" + std::to_string(attempt);
  return o;
}

/// The problems as "code pointer", in order.
std::vector<std::string> codes_at(const std::vector<problem>& xs) {
  std::vector<std::string> out;
  for (auto& p : xs)
    out.push_back(std::string{to_string(p.code)} + " " + p.pointer);
  return out;
}

/// Reads `text`, which must be a valid plan.
fault_plan plan_of(std::string_view text) {
  auto checked = check_fault_plan_text(text);
  for (auto& p : checked.problems)
    BOOST_TEST_MESSAGE(to_string(p));
  BOOST_REQUIRE(checked);
  return *checked.plan;
}

} // namespace

// -- reading --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_documented_example_reads_into_three_rules) {
  auto plan = plan_of(example);
  BOOST_CHECK_EQUAL(plan.seed, 7u);
  BOOST_REQUIRE_EQUAL(plan.rules.size(), 3u);
  auto& silent = plan.rules[0];
  BOOST_CHECK_EQUAL(silent.module, "flaky@1");
  BOOST_CHECK_EQUAL(silent.pool, "*");
  BOOST_CHECK((silent.attempts == std::vector<uint32_t>{1, 2}));
  BOOST_CHECK_EQUAL(silent.rate, 1.0);
  BOOST_CHECK(silent.fault == fault_kind::silent);
  BOOST_CHECK_EQUAL(silent.code, ec::none);
  auto& transient = plan.rules[1];
  BOOST_CHECK_EQUAL(transient.module, "*");
  BOOST_CHECK(transient.attempts.empty());
  BOOST_CHECK_EQUAL(transient.rate, 0.05);
  BOOST_CHECK(transient.fault == fault_kind::transient);
  BOOST_CHECK_EQUAL(transient.code, ec::io_error); // the default
  auto& slow = plan.rules[2];
  BOOST_CHECK_EQUAL(slow.pool, "default");
  BOOST_CHECK(slow.fault == fault_kind::slow);
  BOOST_CHECK(slow.delay == milliseconds{200});
}

BOOST_AUTO_TEST_CASE(fail_defaults_to_exit_code_and_codes_and_messages_may_be_named) {
  auto plan = plan_of(R"({"rules": [
    {"fault": "fail"},
    {"fault": "fail", "code": "missing_output", "message": "no output"},
    {"fault": "transient", "code": "timeout"}]})");
  BOOST_CHECK_EQUAL(plan.seed, 0u);
  BOOST_CHECK_EQUAL(plan.rules[0].code, ec::exit_code);
  BOOST_CHECK_EQUAL(plan.rules[1].code, ec::missing_output);
  BOOST_CHECK_EQUAL(plan.rules[1].message, "no output");
  BOOST_CHECK_EQUAL(plan.rules[2].code, ec::timeout);
}

BOOST_AUTO_TEST_CASE(a_plan_with_no_rules_is_valid_and_a_huge_seed_reads) {
  auto plan = plan_of(R"({"seed": 18446744073709551615, "rules": []})");
  BOOST_CHECK_EQUAL(plan.seed, UINT64_MAX);
  BOOST_CHECK(plan.rules.empty());
}

BOOST_AUTO_TEST_CASE(every_problem_of_a_bad_plan_is_reported_at_once_with_its_pointer) {
  auto checked = check_fault_plan_text(R"({"seed": -1, "extra": 1, "rules": [
    {"module": "flaky", "attempts": [0, "2", 3], "rate": 1.5, "fault": "crash"},
    {"fault": "silent", "delay_ms": 10, "code": "io_error"},
    {"fault": "slow"},
    {"fault": "transient", "code": "no_such_code", "colour": "red"},
    {"pool": "", "attempts": [], "rate": "often"},
    {"fault": "slow", "delay_ms": 86400001},
    "not a rule"]})");
  BOOST_CHECK(!checked);
  std::vector<std::string> want{
    "unknown_field /extra",
    "out_of_range /seed",
    "invalid_ref /rules/0/module",
    "out_of_range /rules/0/attempts/0",
    "type_mismatch /rules/0/attempts/1",
    "out_of_range /rules/0/rate",
    "not_in_enum /rules/0/fault",
    "invalid_argument /rules/1/code",
    "invalid_argument /rules/1/delay_ms",
    "invalid_argument /rules/2/delay_ms",
    "unknown_field /rules/3/colour",
    "not_in_enum /rules/3/code",
    "invalid_argument /rules/4/pool",
    "invalid_range /rules/4/attempts",
    "type_mismatch /rules/4/rate",
    "missing_field /rules/4/fault",
    "out_of_range /rules/5/delay_ms",
    "type_mismatch /rules/6",
  };
  auto got = codes_at(checked.problems);
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), want.begin(), want.end());
  for (auto& p : checked.problems)
    BOOST_CHECK_MESSAGE(!p.message.empty(), to_string(p) << " has no message");
}

BOOST_AUTO_TEST_CASE(a_plan_needs_rules_and_an_object) {
  auto no_rules = check_fault_plan_text(R"({"seed": 1})");
  BOOST_CHECK((codes_at(no_rules.problems)
               == std::vector<std::string>{"missing_field /rules"}));
  auto not_object = check_fault_plan_text("[]");
  BOOST_CHECK((codes_at(not_object.problems)
               == std::vector<std::string>{"type_mismatch "}));
  auto rules_not_array = check_fault_plan_text(R"({"rules": {}})");
  BOOST_CHECK((codes_at(rules_not_array.problems)
               == std::vector<std::string>{"type_mismatch /rules"}));
}

BOOST_AUTO_TEST_CASE(a_text_that_is_not_json_or_repeats_a_member_is_refused) {
  auto broken = check_fault_plan_text("{\"rules\": [");
  BOOST_CHECK((codes_at(broken.problems)
               == std::vector<std::string>{"invalid_json "}));
  auto twice = check_fault_plan_text(
    R"({"rules": [{"fault": "fail", "fault": "silent"}]})");
  BOOST_CHECK((codes_at(twice.problems)
               == std::vector<std::string>{"duplicate_key /rules/0/fault"}));
}

BOOST_AUTO_TEST_CASE(a_plan_file_reads_and_a_missing_one_is_an_io_error) {
  auto path = std::filesystem::temp_directory_path()
              / ("omniva-faults-" + std::to_string(::getpid()) + ".json");
  std::ofstream{path} << example;
  auto loaded = load_fault_plan(path.string());
  BOOST_REQUIRE(loaded);
  BOOST_CHECK(*loaded.plan == plan_of(example));
  std::filesystem::remove(path);
  auto missing = load_fault_plan(path.string());
  BOOST_REQUIRE_EQUAL(missing.problems.size(), 1u);
  BOOST_CHECK_EQUAL(missing.problems.front().code, ec::io_error);
  BOOST_CHECK_NE(missing.problems.front().message.find(path.string()),
                 std::string::npos);
  auto folder = load_fault_plan(path.parent_path().string());
  BOOST_REQUIRE_EQUAL(folder.problems.size(), 1u);
  BOOST_CHECK_EQUAL(folder.problems.front().code, ec::io_error);
}

BOOST_AUTO_TEST_CASE(the_json_form_reads_back_as_the_same_plan) {
  auto plan = plan_of(R"({"seed": 99, "rules": [
    {"module": "flaky@1", "pool": "gpu", "attempts": [2], "rate": 0.25,
     "fault": "fail", "code": "signal", "message": "crashed"},
    {"fault": "silent"},
    {"fault": "slow", "delay_ms": 0}]})");
  auto again = check_fault_plan(to_json(plan));
  BOOST_REQUIRE(again);
  BOOST_CHECK(*again.plan == plan);
}

BOOST_AUTO_TEST_CASE(describe_names_the_seed_and_each_rule) {
  BOOST_CHECK_EQUAL(describe(plan_of(example)),
                    "seed 7, 3 rules: silent for module flaky@1 attempts 1,2; "
                    "transient (io_error) for any module at rate 0.05; "
                    "slow 200 ms for any module in pool default");
}

// -- matching -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_rule_matches_by_module_pool_and_attempt) {
  auto plan = plan_of(R"({"rules": [
    {"module": "flaky@1", "pool": "default", "attempts": [1, 3], "fault": "silent"}]})");
  auto& rule = plan.rules.front();
  BOOST_CHECK(matches(rule, order_for("t", 1, "flaky@1"), "default"));
  BOOST_CHECK(matches(rule, order_for("t", 3, "flaky@1"), "default"));
  BOOST_CHECK(!matches(rule, order_for("t", 2, "flaky@1"), "default"));
  BOOST_CHECK(!matches(rule, order_for("t", 1, "flaky@2"), "default"));
  BOOST_CHECK(!matches(rule, order_for("t", 1, "flaky@1"), "gpu"));
  fault_rule any;
  BOOST_CHECK(matches(any, order_for("t", 7, "whatever@9"), "gpu"));
}

BOOST_AUTO_TEST_CASE(the_first_matching_rule_decides) {
  auto plan = plan_of(R"({"rules": [
    {"module": "flaky@1", "attempts": [1], "fault": "silent"},
    {"module": "flaky@1", "fault": "transient", "message": "disk hiccup"},
    {"module": "broken@1", "fault": "fail"},
    {"pool": "slow-pool", "fault": "slow", "delay_ms": 250}]})");
  auto first = decide(plan, order_for("t", 1, "flaky@1"), "default");
  BOOST_REQUIRE(first);
  BOOST_CHECK(first->kind == fault_kind::silent);
  BOOST_CHECK_EQUAL(first->rule, 0u);
  BOOST_CHECK(first->transient);
  auto second = decide(plan, order_for("t", 2, "flaky@1"), "default");
  BOOST_REQUIRE(second);
  BOOST_CHECK(second->kind == fault_kind::transient);
  BOOST_CHECK_EQUAL(second->code, ec::io_error);
  BOOST_CHECK(second->transient);
  BOOST_CHECK_EQUAL(second->message,
                    "injected fault: disk hiccup (fault plan rule 2)");
  auto failed = decide(plan, order_for("u", 1, "broken@1"), "default");
  BOOST_REQUIRE(failed);
  BOOST_CHECK(failed->kind == fault_kind::fail);
  BOOST_CHECK_EQUAL(failed->code, ec::exit_code);
  BOOST_CHECK(!failed->transient);
  BOOST_CHECK_EQUAL(failed->message,
                    "injected fault: a deterministic failure (fault plan rule 3)");
  auto slow = decide(plan, order_for("v", 1, "ok@1"), "slow-pool");
  BOOST_REQUIRE(slow);
  BOOST_CHECK(slow->kind == fault_kind::slow);
  BOOST_CHECK(slow->delay == milliseconds{250});
  BOOST_CHECK(!decide(plan, order_for("v", 1, "ok@1"), "default"));
}

// -- seeded rates ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_draw_depends_on_seed_rule_and_execution_id_alone) {
  auto d = fault_draw(7, 1, "task-a/1");
  BOOST_CHECK_GE(d, 0.0);
  BOOST_CHECK_LT(d, 1.0);
  BOOST_CHECK_EQUAL(fault_draw(7, 1, "task-a/1"), d);
  BOOST_CHECK_NE(fault_draw(8, 1, "task-a/1"), d);
  BOOST_CHECK_NE(fault_draw(7, 2, "task-a/1"), d);
  BOOST_CHECK_NE(fault_draw(7, 1, "task-a/2"), d);
}

BOOST_AUTO_TEST_CASE(a_rate_injects_the_same_faults_for_the_same_seed_and_about_its_share) {
  auto plan = plan_of(R"({"seed": 7, "rules": [{"rate": 0.2, "fault": "transient"}]})");
  auto other = plan;
  other.seed = 8;
  std::set<std::string> hit, hit_again, hit_other;
  constexpr int n = 10000;
  for (int i = 0; i < n; ++i) {
    auto o = order_for("task-" + std::to_string(i), 1, "m@1");
    if (decide(plan, o, "default"))
      hit.insert(o.execution_id);
    if (decide(plan, o, "default"))
      hit_again.insert(o.execution_id);
    if (decide(other, o, "default"))
      hit_other.insert(o.execution_id);
  }
  // The same run injects the same faults; another seed others.
  BOOST_CHECK(hit == hit_again);
  BOOST_CHECK(hit != hit_other);
  // About a fifth (the bound is many standard deviations wide: 40).
  BOOST_CHECK_GT(hit.size(), 1800u);
  BOOST_CHECK_LT(hit.size(), 2200u);
  BOOST_CHECK_GT(hit_other.size(), 1800u);
  BOOST_CHECK_LT(hit_other.size(), 2200u);
}

BOOST_AUTO_TEST_CASE(rates_of_zero_and_one_never_and_always_apply) {
  auto plan = plan_of(R"({"rules": [{"module": "never@1", "rate": 0, "fault": "fail"},
                                    {"module": "always@1", "rate": 1, "fault": "fail"}]})");
  for (int i = 0; i < 1000; ++i) {
    auto id = "t" + std::to_string(i);
    BOOST_CHECK(!decide(plan, order_for(id, 1, "never@1"), "default"));
    BOOST_CHECK(decide(plan, order_for(id, 1, "always@1"), "default"));
  }
}

BOOST_AUTO_TEST_CASE(a_rule_skipped_by_its_rate_lets_the_next_rule_decide) {
  auto plan = plan_of(R"({"seed": 3, "rules": [
    {"rate": 0.5, "fault": "silent"},
    {"fault": "fail"}]})");
  int silent = 0, failed = 0;
  for (int i = 0; i < 1000; ++i) {
    auto o = order_for("t" + std::to_string(i), 1, "m@1");
    auto f = decide(plan, o, "default");
    BOOST_REQUIRE(f);
    bool drawn = fault_draw(3, 0, o.execution_id) < 0.5;
    BOOST_CHECK(f->kind == (drawn ? fault_kind::silent : fault_kind::fail));
    (f->kind == fault_kind::silent ? silent : failed)++;
  }
  BOOST_CHECK_GT(silent, 400);
  BOOST_CHECK_GT(failed, 400);
}
