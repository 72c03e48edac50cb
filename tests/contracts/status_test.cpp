#define BOOST_TEST_MODULE status
#include <boost/test/unit_test.hpp>

#include "contracts/status.hpp"
#include "tests/test_print.hpp"

#include <string>

using namespace omniva::contracts;

namespace {

// The task state machine of DESIGN.md §4 (with RUNNING -> CANCELLED, which
// issue 11 added: a running task can be cancelled) and of docs/engines.md
// (SKIPPED, reuse, operator retries and revivals) and of docs/policies.md
// (READY -> ERROR: an admission that can never pass), written out
// independently of the table under test: expected_task[from][to], states in
// the order PENDING, READY, RUNNING, DONE, ERROR, CANCELLED, SKIPPED.
constexpr size_t task_count = 7;

constexpr bool expected_task[task_count][task_count] = {
  //            PEND   READY  RUN    DONE   ERROR  CANC   SKIP
  /* PENDING */ {false, true, false, true, true, true, true},
  /* READY   */ {true, false, true, false, true, true, false},
  /* RUNNING */ {true, false, false, true, true, true, false},
  /* DONE    */ {false, false, false, false, false, false, false},
  /* ERROR   */ {true, false, false, false, false, false, false},
  /* CANC    */ {true, false, false, false, false, false, false},
  /* SKIPPED */ {false, false, false, false, false, false, false},
};

constexpr task_status task_order[task_count] = {
  task_status::pending, task_status::ready,     task_status::running,
  task_status::done,    task_status::error,     task_status::cancelled,
  task_status::skipped,
};

// Assets: PENDING, AVAILABLE, FAILED, PURGED (issue 12: retention removes
// the content of an AVAILABLE asset; docs/engines.md: retrying the task that
// promised a FAILED asset promises it again).
constexpr size_t asset_count = 4;

constexpr bool expected_asset[asset_count][asset_count] = {
  //              PEND   AVAIL  FAILED PURGED
  /* PENDING   */ {false, true, true, false},
  /* AVAILABLE */ {false, false, false, true},
  /* FAILED    */ {true, false, false, false},
  /* PURGED    */ {false, false, false, false},
};

constexpr asset_status asset_order[asset_count] = {
  asset_status::pending, asset_status::available, asset_status::failed,
  asset_status::purged,
};

/// How many transitions the expected table allows.
template <size_t N>
size_t allowed(const bool (&table)[N][N]) {
  size_t n = 0;
  for (auto& row : table)
    for (bool x : row)
      n += x ? 1 : 0;
  return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(task)

BOOST_AUTO_TEST_CASE(the_order_under_test_is_every_status) {
  BOOST_REQUIRE_EQUAL(all_task_statuses.size(), task_count);
  for (size_t i = 0; i < task_count; ++i)
    BOOST_TEST(static_cast<int>(all_task_statuses[i])
               == static_cast<int>(task_order[i]));
}

BOOST_AUTO_TEST_CASE(every_pair_of_states_matches_the_design) {
  for (size_t i = 0; i < task_count; ++i)
    for (size_t j = 0; j < task_count; ++j)
      BOOST_CHECK_MESSAGE(can_transition(task_order[i], task_order[j])
                            == expected_task[i][j],
                          to_string(task_order[i])
                            << " -> " << to_string(task_order[j])
                            << " should be "
                            << (expected_task[i][j] ? "allowed" : "refused"));
}

BOOST_AUTO_TEST_CASE(the_table_lists_each_allowed_change_once) {
  BOOST_TEST(task_transitions.size() == allowed(expected_task));
  for (size_t i = 0; i < task_transitions.size(); ++i) {
    BOOST_CHECK_MESSAGE(!task_transitions[i].cause.empty(),
                        "transition " << i << " has no cause");
    for (size_t j = 0; j < i; ++j)
      BOOST_CHECK_MESSAGE(task_transitions[i].from != task_transitions[j].from
                            || task_transitions[i].to != task_transitions[j].to,
                          "transitions " << j << " and " << i << " are the same");
  }
}

BOOST_AUTO_TEST_CASE(check_transition_agrees_with_can_transition_for_every_pair) {
  for (size_t i = 0; i < task_count; ++i)
    for (size_t j = 0; j < task_count; ++j) {
      auto why = check_transition(task_order[i], task_order[j]);
      BOOST_CHECK_EQUAL(why.has_value(), !expected_task[i][j]);
      if (why)
        BOOST_CHECK(why->code == ec::illegal_transition);
    }
}

BOOST_AUTO_TEST_CASE(an_illegal_transition_names_both_states) {
  auto why = check_transition(task_status::running, task_status::ready);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->code == ec::illegal_transition);
  BOOST_TEST(why->pointer == "/status");
  BOOST_TEST(why->message
             == "task status cannot change from RUNNING to READY");
}

BOOST_AUTO_TEST_CASE(no_state_transitions_to_itself) {
  for (auto s : all_task_statuses)
    BOOST_CHECK_MESSAGE(!can_transition(s, s), to_string(s));
}

BOOST_AUTO_TEST_CASE(done_error_cancelled_and_skipped_are_the_terminal_states) {
  BOOST_TEST(!is_terminal(task_status::pending));
  BOOST_TEST(!is_terminal(task_status::ready));
  BOOST_TEST(!is_terminal(task_status::running));
  BOOST_TEST(is_terminal(task_status::done));
  BOOST_TEST(is_terminal(task_status::error));
  BOOST_TEST(is_terminal(task_status::cancelled));
  BOOST_TEST(is_terminal(task_status::skipped));
}

BOOST_AUTO_TEST_CASE(only_an_operator_retry_leaves_a_terminal_state) {
  // Terminal means final for the node's own work: the only ways out are
  // the retries (and revivals) back to PENDING, from ERROR and CANCELLED.
  for (auto& t : task_transitions)
    if (is_terminal(t.from)) {
      BOOST_CHECK_MESSAGE(t.to == task_status::pending,
                          to_string(t.from) << " -> " << to_string(t.to));
      BOOST_CHECK_MESSAGE(t.from == task_status::error
                            || t.from == task_status::cancelled,
                          to_string(t.from) << " is left");
    }
  for (auto s : all_task_statuses) {
    BOOST_TEST(!can_transition(task_status::done, s));
    BOOST_TEST(!can_transition(task_status::skipped, s));
  }
}

BOOST_AUTO_TEST_CASE(paradox_ends_a_pending_task_without_running_it) {
  // block: SKIPPED; reuse: DONE with an identical task's outputs.
  BOOST_TEST(can_transition(task_status::pending, task_status::skipped));
  BOOST_TEST(can_transition(task_status::pending, task_status::done));
  // Neither once it was dispatched.
  BOOST_TEST(!can_transition(task_status::ready, task_status::skipped));
  BOOST_TEST(!can_transition(task_status::running, task_status::skipped));
  BOOST_TEST(!can_transition(task_status::ready, task_status::done));
}

BOOST_AUTO_TEST_CASE(a_retried_task_goes_back_to_pending_never_further) {
  for (auto from : {task_status::error, task_status::cancelled}) {
    BOOST_TEST(can_transition(from, task_status::pending));
    BOOST_TEST(!can_transition(from, task_status::ready));
    BOOST_TEST(!can_transition(from, task_status::running));
    BOOST_TEST(!can_transition(from, task_status::done));
  }
  // A READY task whose input is promised again waits for it once more.
  BOOST_TEST(can_transition(task_status::ready, task_status::pending));
}

BOOST_AUTO_TEST_CASE(names_are_uppercase_and_round_trip) {
  const char* names[task_count] = {"PENDING", "READY",     "RUNNING", "DONE",
                                   "ERROR",   "CANCELLED", "SKIPPED"};
  for (size_t i = 0; i < task_count; ++i) {
    BOOST_TEST(to_string(task_order[i]) == names[i]);
    auto parsed = task_status_from_string(names[i]);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(task_order[i]));
  }
}

BOOST_AUTO_TEST_CASE(lowercase_and_unknown_names_are_rejected) {
  BOOST_TEST(!task_status_from_string("pending").has_value());
  BOOST_TEST(!task_status_from_string("skipped").has_value());
  BOOST_TEST(!task_status_from_string("SKIP").has_value());
  BOOST_TEST(!task_status_from_string("").has_value());
}

BOOST_AUTO_TEST_CASE(values_outside_the_enum_never_transition) {
  auto bogus = static_cast<task_status>(42);
  BOOST_TEST(to_string(bogus) == "UNKNOWN");
  for (auto s : all_task_statuses) {
    BOOST_TEST(!can_transition(bogus, s));
    BOOST_TEST(!can_transition(s, bogus));
  }
}

BOOST_AUTO_TEST_CASE(the_table_is_usable_at_compile_time) {
  static_assert(can_transition(task_status::running, task_status::pending));
  static_assert(!can_transition(task_status::done, task_status::pending));
  static_assert(is_terminal(task_status::cancelled));
  static_assert(can_transition(task_status::error, task_status::pending));
  static_assert(is_terminal(task_status::skipped));
  BOOST_TEST(task_transitions.size() == 15u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(asset)

BOOST_AUTO_TEST_CASE(every_pair_of_states_matches_the_design) {
  for (size_t i = 0; i < asset_count; ++i)
    for (size_t j = 0; j < asset_count; ++j)
      BOOST_CHECK_MESSAGE(can_transition(asset_order[i], asset_order[j])
                            == expected_asset[i][j],
                          to_string(asset_order[i])
                            << " -> " << to_string(asset_order[j])
                            << " should be "
                            << (expected_asset[i][j] ? "allowed" : "refused"));
}

BOOST_AUTO_TEST_CASE(the_table_lists_each_allowed_change_once) {
  BOOST_TEST(asset_transitions.size() == allowed(expected_asset));
  for (size_t i = 0; i < asset_transitions.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      BOOST_CHECK(asset_transitions[i].from != asset_transitions[j].from
                  || asset_transitions[i].to != asset_transitions[j].to);
}

BOOST_AUTO_TEST_CASE(check_transition_agrees_with_can_transition_for_every_pair) {
  for (size_t i = 0; i < asset_count; ++i)
    for (size_t j = 0; j < asset_count; ++j) {
      auto why = check_transition(asset_order[i], asset_order[j]);
      BOOST_CHECK_EQUAL(why.has_value(), !expected_asset[i][j]);
      if (why)
        BOOST_CHECK(why->code == ec::illegal_transition);
    }
}

BOOST_AUTO_TEST_CASE(an_illegal_transition_names_both_states) {
  auto why = check_transition(asset_status::failed, asset_status::available);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->pointer == "/status");
  BOOST_TEST(why->message
             == "asset status cannot change from FAILED to AVAILABLE");
}

BOOST_AUTO_TEST_CASE(failed_and_purged_are_the_terminal_states) {
  BOOST_TEST(!is_terminal(asset_status::pending));
  BOOST_TEST(!is_terminal(asset_status::available));
  BOOST_TEST(is_terminal(asset_status::failed));
  BOOST_TEST(is_terminal(asset_status::purged));
}

BOOST_AUTO_TEST_CASE(a_failed_asset_is_promised_again_when_its_task_is_retried) {
  // Terminal for the node's own work, yet a retry of the producing task
  // takes FAILED back to PENDING, never straight to AVAILABLE.
  BOOST_TEST(can_transition(asset_status::failed, asset_status::pending));
  BOOST_TEST(!can_transition(asset_status::failed, asset_status::available));
  BOOST_TEST(!can_transition(asset_status::failed, asset_status::purged));
}

BOOST_AUTO_TEST_CASE(a_purged_asset_never_comes_back) {
  auto why = check_transition(asset_status::purged, asset_status::available);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->message
             == "asset status cannot change from PURGED to AVAILABLE");
}

BOOST_AUTO_TEST_CASE(names_are_uppercase_and_round_trip) {
  const char* names[asset_count] = {"PENDING", "AVAILABLE", "FAILED", "PURGED"};
  for (size_t i = 0; i < asset_count; ++i) {
    BOOST_TEST(to_string(asset_order[i]) == names[i]);
    auto parsed = asset_status_from_string(names[i]);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(asset_order[i]));
  }
  BOOST_TEST(!asset_status_from_string("available").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
