#define BOOST_TEST_MODULE status
#include <boost/test/unit_test.hpp>

#include "contracts/status.hpp"
#include "tests/test_print.hpp"

#include <string>

using namespace omniva::contracts;

namespace {

// The task state machine of DESIGN.md §4 (with RUNNING -> CANCELLED, which
// issue 11 added: a running task can be cancelled), written out independently of the
// table under test: expected_task[from][to], states in the order
// PENDING, READY, RUNNING, DONE, ERROR, CANCELLED.
constexpr bool expected_task[6][6] = {
  //            PEND   READY  RUN    DONE   ERROR  CANC
  /* PENDING */ {false, true, false, false, true, true},
  /* READY   */ {false, false, true, false, false, true},
  /* RUNNING */ {true, false, false, true, true, true},
  /* DONE    */ {false, false, false, false, false, false},
  /* ERROR   */ {false, false, false, false, false, false},
  /* CANC    */ {false, false, false, false, false, false},
};

constexpr task_status task_order[6] = {
  task_status::pending, task_status::ready, task_status::running,
  task_status::done,    task_status::error, task_status::cancelled,
};

// Assets: PENDING, AVAILABLE, FAILED, PURGED (issue 12: retention removes
// the content of an AVAILABLE asset).
constexpr bool expected_asset[4][4] = {
  //              PEND   AVAIL  FAILED PURGED
  /* PENDING   */ {false, true, true, false},
  /* AVAILABLE */ {false, false, false, true},
  /* FAILED    */ {false, false, false, false},
  /* PURGED    */ {false, false, false, false},
};

constexpr asset_status asset_order[4] = {
  asset_status::pending, asset_status::available, asset_status::failed,
  asset_status::purged,
};

} // namespace

BOOST_AUTO_TEST_SUITE(task)

BOOST_AUTO_TEST_CASE(every_pair_of_states_matches_the_design) {
  for (size_t i = 0; i < 6; ++i)
    for (size_t j = 0; j < 6; ++j)
      BOOST_CHECK_MESSAGE(can_transition(task_order[i], task_order[j])
                            == expected_task[i][j],
                          to_string(task_order[i])
                            << " -> " << to_string(task_order[j])
                            << " should be "
                            << (expected_task[i][j] ? "allowed" : "refused"));
}

BOOST_AUTO_TEST_CASE(check_transition_agrees_with_can_transition_for_every_pair) {
  for (size_t i = 0; i < 6; ++i)
    for (size_t j = 0; j < 6; ++j) {
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

BOOST_AUTO_TEST_CASE(done_error_and_cancelled_are_the_terminal_states) {
  BOOST_TEST(!is_terminal(task_status::pending));
  BOOST_TEST(!is_terminal(task_status::ready));
  BOOST_TEST(!is_terminal(task_status::running));
  BOOST_TEST(is_terminal(task_status::done));
  BOOST_TEST(is_terminal(task_status::error));
  BOOST_TEST(is_terminal(task_status::cancelled));
}

BOOST_AUTO_TEST_CASE(names_are_uppercase_and_round_trip) {
  const char* names[6] = {"PENDING", "READY", "RUNNING",
                          "DONE",    "ERROR", "CANCELLED"};
  for (size_t i = 0; i < 6; ++i) {
    BOOST_TEST(to_string(task_order[i]) == names[i]);
    auto parsed = task_status_from_string(names[i]);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(task_order[i]));
  }
}

BOOST_AUTO_TEST_CASE(lowercase_and_unknown_names_are_rejected) {
  BOOST_TEST(!task_status_from_string("pending").has_value());
  BOOST_TEST(!task_status_from_string("SKIPPED").has_value());
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
  BOOST_TEST(task_transitions.size() == 9u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(asset)

BOOST_AUTO_TEST_CASE(every_pair_of_states_matches_the_design) {
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < 4; ++j)
      BOOST_CHECK_MESSAGE(can_transition(asset_order[i], asset_order[j])
                            == expected_asset[i][j],
                          to_string(asset_order[i])
                            << " -> " << to_string(asset_order[j])
                            << " should be "
                            << (expected_asset[i][j] ? "allowed" : "refused"));
}

BOOST_AUTO_TEST_CASE(check_transition_agrees_with_can_transition_for_every_pair) {
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < 4; ++j) {
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

BOOST_AUTO_TEST_CASE(a_purged_asset_never_comes_back) {
  auto why = check_transition(asset_status::purged, asset_status::available);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->message
             == "asset status cannot change from PURGED to AVAILABLE");
}

BOOST_AUTO_TEST_CASE(names_are_uppercase_and_round_trip) {
  const char* names[4] = {"PENDING", "AVAILABLE", "FAILED", "PURGED"};
  for (size_t i = 0; i < 4; ++i) {
    BOOST_TEST(to_string(asset_order[i]) == names[i]);
    auto parsed = asset_status_from_string(names[i]);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(asset_order[i]));
  }
  BOOST_TEST(!asset_status_from_string("available").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
