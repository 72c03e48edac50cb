#define BOOST_TEST_MODULE eclipse
#include <boost/test/unit_test.hpp>

// Eclipse's pure logic (contracts/eclipse.hpp): whose failure it is,
// whether it is worth a retry, the pause before one, the plan for each
// failed attempt and the circuit breakers.

#include "contracts/eclipse.hpp"

#include <set>
#include <string>
#include <vector>

using namespace omniva::contracts;
using namespace omniva::eclipse;
using namespace std::chrono_literals;

namespace {

/// A policy of `max` attempts with `steps` pauses and `jitter` percent.
policy_entry policy(uint32_t max, std::vector<uint32_t> steps = {},
                    uint32_t jitter = 0) {
  policy_entry p;
  p.ref = "patient@1";
  p.max_attempts = max;
  p.backoff_ms = std::move(steps);
  p.jitter_pct = jitter;
  return p;
}

/// A failed attempt of task `task` of module "m@1" in pool "p1".
attempt_report failure(std::string code, uint32_t attempt = 1,
                       std::string task = "t1") {
  attempt_report r;
  r.task_id = std::move(task);
  r.module_ref = "m@1";
  r.pool = "p1";
  r.attempt = attempt;
  r.ok = false;
  r.code = std::move(code);
  r.policy = policy(3, {1000, 5000});
  if (r.code == "lost_worker")
    r.lost_attempts = 1;
  return r;
}

attempt_report success(std::string task = "t1") {
  attempt_report r;
  r.task_id = std::move(task);
  r.module_ref = "m@1";
  r.pool = "p1";
  r.ok = true;
  return r;
}

settings small(uint32_t threshold = 3) {
  settings s;
  s.breaker_threshold = threshold;
  s.cooldown = 2500ms;
  s.poison_after = 3;
  s.seed = 42;
  return s;
}

const std::string module_m = module_target("m@1");
const std::string pool_p1 = pool_target("p1");

} // namespace

// -- classification -----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(classification)

BOOST_AUTO_TEST_CASE(transient_and_deterministic_codes) {
  struct row {
    const char* code;
    bool transient;
  };
  for (auto [code, transient] : std::vector<row>{
         {"timeout", true},
         {"signal", true},
         {"lost_worker", true},
         {"spawn_failed", true},
         {"io_error", true},
         {"exit_code", false},
         {"missing_output", false},
         {"missing_manifest", false},
         {"output_contract_violation", false},
         {"bad_credentials", false},
       }) {
    BOOST_TEST_CONTEXT(code) {
      BOOST_CHECK_EQUAL(is_transient(failure(code)), transient);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_report_marked_transient_is_transient) {
  auto r = failure("rate_limited");
  BOOST_CHECK(!is_transient(r));
  r.transient = true;
  BOOST_CHECK(is_transient(r));
}

BOOST_AUTO_TEST_CASE(retry_on_makes_a_code_transient) {
  auto r = failure("exit_code");
  r.policy.retry_on = {"exit_code"};
  BOOST_CHECK(is_transient(r));
  r.code = "missing_output";
  BOOST_CHECK(!is_transient(r));
}

BOOST_AUTO_TEST_CASE(blame_by_code) {
  BOOST_CHECK(blame_of("lost_worker") == blame::pool);
  BOOST_CHECK(blame_of("spawn_failed") == blame::pool);
  BOOST_CHECK(blame_of("signal") == blame::pool);
  BOOST_CHECK(blame_of("timeout") == blame::module);
  BOOST_CHECK(blame_of("exit_code") == blame::module);
  BOOST_CHECK(blame_of("io_error") == blame::module);
  BOOST_CHECK(blame_of("rate_limited") == blame::module);
}

BOOST_AUTO_TEST_SUITE_END()

// -- backoff --------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(without_jitter_the_steps_exactly) {
  auto p = policy(5, {100, 2000, 30000});
  BOOST_CHECK_EQUAL(backoff_ms(p, 1, 7, "t"), 100u);
  BOOST_CHECK_EQUAL(backoff_ms(p, 2, 7, "t"), 2000u);
  BOOST_CHECK_EQUAL(backoff_ms(p, 3, 7, "t"), 30000u);
  // The last step stands for the later retries.
  BOOST_CHECK_EQUAL(backoff_ms(p, 4, 7, "t"), 30000u);
  BOOST_CHECK_EQUAL(backoff_ms(p, 99, 7, "t"), 30000u);
}

BOOST_AUTO_TEST_CASE(no_steps_no_pause) {
  BOOST_CHECK_EQUAL(backoff_ms(policy(3, {}, 50), 1, 7, "t"), 0u);
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_its_band_and_varies) {
  auto p = policy(5, {1000}, 10);
  std::set<uint32_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto d = backoff_ms(p, 1, 7, "task-" + std::to_string(i));
    BOOST_CHECK_GE(d, 900u);
    BOOST_CHECK_LE(d, 1100u);
    seen.insert(d);
  }
  // Not lock-step: the pauses spread over the band.
  BOOST_CHECK_GT(seen.size(), 50u);
  BOOST_CHECK_LT(*seen.begin(), 950u);
  BOOST_CHECK_GT(*seen.rbegin(), 1050u);
}

BOOST_AUTO_TEST_CASE(jitter_is_determined_by_seed_task_and_retry) {
  auto p = policy(5, {10000}, 50);
  for (int i = 0; i < 20; ++i) {
    auto task = "task-" + std::to_string(i);
    BOOST_CHECK_EQUAL(backoff_ms(p, 2, 7, task), backoff_ms(p, 2, 7, task));
  }
  auto differs = [&](auto f) {
    for (int i = 0; i < 20; ++i)
      if (f("task-" + std::to_string(i)))
        return true;
    return false;
  };
  BOOST_CHECK(differs([&](const std::string& t) {
    return backoff_ms(p, 2, 7, t) != backoff_ms(p, 2, 8, t);
  }));
  BOOST_CHECK(differs([&](const std::string& t) {
    return backoff_ms(p, 2, 7, t) != backoff_ms(p, 3, 7, t);
  }));
}

BOOST_AUTO_TEST_CASE(full_jitter_never_overflows) {
  auto p = policy(5, {86'400'000}, 100);
  auto d = backoff_ms(p, 1, 1, "t");
  BOOST_CHECK_LE(d, 172'800'000u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- plans ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(plans)

BOOST_AUTO_TEST_CASE(a_transient_failure_with_attempts_left_is_retried) {
  auto r = failure("timeout", 1);
  auto p = plan(r, small());
  BOOST_CHECK_EQUAL(p.task_id, "t1");
  BOOST_CHECK_EQUAL(p.attempt, 1u);
  BOOST_CHECK_EQUAL(p.action, "retry");
  BOOST_CHECK_EQUAL(p.failure_class, "transient");
  BOOST_CHECK_EQUAL(p.code, "timeout");
  BOOST_CHECK_EQUAL(p.delay_ms, backoff_ms(r.policy, 1, 42, "t1"));
  BOOST_CHECK_EQUAL(p.avoid_pool, "p1");
  BOOST_CHECK(!p.reason.empty());
  // The second failure waits the second step.
  auto p2 = plan(failure("timeout", 2), small());
  BOOST_CHECK_EQUAL(p2.action, "retry");
  BOOST_CHECK_EQUAL(p2.delay_ms, 5000u);
}

BOOST_AUTO_TEST_CASE(a_deterministic_failure_fails_at_once) {
  auto p = plan(failure("exit_code", 1), small());
  BOOST_CHECK_EQUAL(p.action, "fail");
  BOOST_CHECK_EQUAL(p.failure_class, "deterministic");
  BOOST_CHECK_EQUAL(p.code, "exit_code");
  BOOST_CHECK_EQUAL(p.delay_ms, 0u);
  BOOST_CHECK_EQUAL(p.avoid_pool, "");
  BOOST_CHECK_NE(p.reason.find("deterministic"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_transient_failure_out_of_attempts_fails) {
  auto p = plan(failure("timeout", 3), small());
  BOOST_CHECK_EQUAL(p.action, "fail");
  BOOST_CHECK_EQUAL(p.failure_class, "transient");
  BOOST_CHECK_EQUAL(p.code, "timeout");
  BOOST_CHECK_NE(p.reason.find("all 3 attempts"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_lost_worker_below_the_limit_is_retried) {
  auto r = failure("lost_worker", 2);
  r.lost_attempts = 2;
  BOOST_CHECK_EQUAL(plan(r, small()).action, "retry");
}

BOOST_AUTO_TEST_CASE(poison_beats_max_attempts) {
  auto r = failure("lost_worker", 3);
  r.lost_attempts = 3;
  // Attempt 3 of 3: out of attempts, but the third lost one is poison.
  auto p = plan(r, small());
  BOOST_CHECK_EQUAL(p.action, "poison");
  BOOST_CHECK_EQUAL(p.code, "poison_task");
  BOOST_CHECK_EQUAL(p.delay_ms, 0u);
  // With attempts left, too.
  r.policy.max_attempts = 10;
  BOOST_CHECK_EQUAL(plan(r, small()).action, "poison");
}

BOOST_AUTO_TEST_CASE(only_a_lost_attempt_makes_poison) {
  auto r = failure("timeout", 3);
  r.lost_attempts = 5; // earlier ones were lost, this one timed out
  BOOST_CHECK_EQUAL(plan(r, small()).action, "fail");
}

BOOST_AUTO_TEST_CASE(plans_are_deterministic) {
  auto r = failure("io_error", 1);
  r.policy.jitter_pct = 30;
  BOOST_CHECK(plan(r, small()) == plan(r, small()));
}

BOOST_AUTO_TEST_SUITE_END()

// -- breakers ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(circuit_breakers)

BOOST_AUTO_TEST_CASE(a_module_opens_at_the_threshold) {
  breakers b{small(3)};
  BOOST_CHECK(b.observe(failure("exit_code")).empty());
  BOOST_CHECK(b.observe(failure("exit_code")).empty());
  BOOST_CHECK_EQUAL(b.failures(module_m), 2u);
  auto out = b.observe(failure("exit_code"));
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].target, module_m);
  BOOST_CHECK_EQUAL(out[0].state, "open");
  BOOST_CHECK_EQUAL(out[0].failures, 3u);
  BOOST_CHECK_EQUAL(out[0].cooldown_ms, 2500u);
  BOOST_CHECK(!out[0].reason.empty());
  BOOST_CHECK(b.is_open(module_m));
  BOOST_CHECK(!b.is_open(pool_p1));
  BOOST_CHECK_EQUAL(b.failures(pool_p1), 0u);
  // Further failures of an open breaker change nothing.
  BOOST_CHECK(b.observe(failure("exit_code")).empty());
}

BOOST_AUTO_TEST_CASE(pool_failures_count_against_the_pool) {
  breakers b{small(2)};
  BOOST_CHECK(b.observe(failure("lost_worker")).empty());
  auto out = b.observe(failure("signal"));
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].target, pool_p1);
  BOOST_CHECK_EQUAL(out[0].state, "open");
  BOOST_CHECK_EQUAL(b.failures(module_m), 0u);
  BOOST_CHECK(!b.is_open(module_m));
}

BOOST_AUTO_TEST_CASE(a_success_resets_the_counts) {
  breakers b{small(3)};
  b.observe(failure("exit_code"));
  b.observe(failure("exit_code"));
  b.observe(failure("spawn_failed"));
  BOOST_CHECK_EQUAL(b.failures(module_m), 2u);
  BOOST_CHECK_EQUAL(b.failures(pool_p1), 1u);
  BOOST_CHECK(b.observe(success()).empty());
  BOOST_CHECK_EQUAL(b.failures(module_m), 0u);
  BOOST_CHECK_EQUAL(b.failures(pool_p1), 0u);
  // Consecutive: two more do not open it.
  b.observe(failure("exit_code"));
  BOOST_CHECK(b.observe(failure("exit_code")).empty());
}

BOOST_AUTO_TEST_CASE(a_probe_success_closes_the_breaker) {
  breakers b{small(2)};
  b.observe(failure("exit_code"));
  b.observe(failure("exit_code"));
  BOOST_REQUIRE(b.is_open(module_m));
  b.probing(module_m);
  BOOST_CHECK(b.is_open(module_m));
  auto probe = success();
  probe.probe = true;
  auto out = b.observe(probe);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].target, module_m);
  BOOST_CHECK_EQUAL(out[0].state, "closed");
  BOOST_CHECK_EQUAL(out[0].reason, "probe succeeded: ready again");
  BOOST_CHECK(!b.is_open(module_m));
  BOOST_CHECK_EQUAL(b.failures(module_m), 0u);
}

BOOST_AUTO_TEST_CASE(a_probe_failure_opens_it_again) {
  breakers b{small(2)};
  b.observe(failure("exit_code"));
  b.observe(failure("exit_code"));
  b.probing(module_m);
  auto probe = failure("exit_code");
  probe.probe = true;
  auto out = b.observe(probe);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].target, module_m);
  BOOST_CHECK_EQUAL(out[0].state, "open");
  BOOST_CHECK_EQUAL(out[0].failures, 3u);
  BOOST_CHECK_EQUAL(out[0].cooldown_ms, 2500u);
  BOOST_CHECK(b.is_open(module_m));
  // Open again, not half-open: a later probe success needs `probing` first.
  probe = success();
  probe.probe = true;
  BOOST_CHECK(b.observe(probe).empty());
  BOOST_CHECK(b.is_open(module_m));
}

BOOST_AUTO_TEST_CASE(a_probe_failure_blamed_on_the_pool_reopens_the_module) {
  breakers b{small(5)};
  b.probing(module_m);
  auto probe = failure("lost_worker");
  probe.probe = true;
  auto out = b.observe(probe);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].target, module_m);
  BOOST_CHECK_EQUAL(out[0].state, "open");
  BOOST_CHECK_EQUAL(b.failures(pool_p1), 1u);
}

BOOST_AUTO_TEST_CASE(a_non_probe_success_does_not_release_an_open_target) {
  breakers b{small(3)};
  b.mark_open(pool_p1); // an operator's quarantine
  BOOST_CHECK(b.observe(success()).empty());
  BOOST_CHECK(b.is_open(pool_p1));
  // Half-open, only the probe decides.
  b.probing(pool_p1);
  BOOST_CHECK(b.observe(success()).empty());
  BOOST_CHECK(b.is_open(pool_p1));
  b.reset(pool_p1);
  BOOST_CHECK(!b.is_open(pool_p1));
}

BOOST_AUTO_TEST_CASE(reset_forgets_the_count) {
  breakers b{small(3)};
  b.observe(failure("exit_code"));
  b.observe(failure("exit_code"));
  b.reset(module_m);
  BOOST_CHECK_EQUAL(b.failures(module_m), 0u);
  BOOST_CHECK(b.observe(failure("exit_code")).empty());
}

BOOST_AUTO_TEST_CASE(advise_plans_failures_and_gathers_breaker_changes) {
  auto s = small(2);
  breakers b{s};
  auto out = advise({failure("exit_code", 1, "a"), success("b"),
                     failure("timeout", 1, "c"), failure("exit_code", 1, "d")},
                    b, s);
  BOOST_REQUIRE_EQUAL(out.plans.size(), 3u);
  BOOST_CHECK_EQUAL(out.plans[0].task_id, "a");
  BOOST_CHECK_EQUAL(out.plans[0].action, "fail");
  BOOST_CHECK_EQUAL(out.plans[1].task_id, "c");
  BOOST_CHECK_EQUAL(out.plans[1].action, "retry");
  BOOST_CHECK_EQUAL(out.plans[2].task_id, "d");
  // The success reset the module's count: timeout and exit_code after it
  // make two, the threshold.
  BOOST_REQUIRE_EQUAL(out.breakers.size(), 1u);
  BOOST_CHECK_EQUAL(out.breakers[0].target, module_m);
  BOOST_CHECK_EQUAL(out.breakers[0].state, "open");
  BOOST_CHECK(advise({success("e")}, b, s).empty());
}

BOOST_AUTO_TEST_SUITE_END()
