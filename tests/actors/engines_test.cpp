#define BOOST_TEST_MODULE engines
#include <boost/test/unit_test.hpp>

// Eclipse and Lattice as actors (actors/eclipse.hpp, actors/lattice.hpp) on
// CAF's deterministic scheduler: they answer what their pure logic says and
// keep their state (breakers, routing sequence) from one message to the
// next. No Zenith: the test sends what Zenith would.

#include "actors/eclipse.hpp"
#include "actors/lattice.hpp"
#include "tests/actors/test_support.hpp"

#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using namespace std::chrono_literals;

namespace {

/// An actor system on the test coordinator and a scoped actor to ask with.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;

  fixture()
    : sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys, true) {
  }

  /// Sends `xs` to `dest`, runs the scheduler and returns the answer.
  template <class Answer, class Handle, class... Ts>
  Answer ask(const Handle& dest, Ts... xs) {
    auto h = self->request(dest, caf::infinite, std::move(xs)...);
    sched.run();
    Answer out;
    h.receive([&](Answer& x) { out = std::move(x); },
              [](caf::error& e) { BOOST_FAIL(text_of(e)); });
    return out;
  }

  /// The state of a stateful actor `dest` of state type `State`.
  template <class State, class Handle>
  State& state_of(const Handle& dest) {
    auto* ptr = caf::actor_cast<caf::abstract_actor*>(dest);
    return dynamic_cast<caf::stateful_actor<State, typename Handle::base>&>(*ptr)
      .state;
  }
};

contracts::attempt_report failure(std::string task, std::string code) {
  contracts::attempt_report r;
  r.task_id = std::move(task);
  r.module_ref = "m@1";
  r.pool = "p1";
  r.code = std::move(code);
  r.policy.ref = "default@1";
  r.policy.max_attempts = 2;
  r.policy.backoff_ms = {500};
  r.policy.jitter_pct = 0;
  return r;
}

contracts::attempt_report success(std::string task, bool probe = false) {
  contracts::attempt_report r;
  r.task_id = std::move(task);
  r.module_ref = "m@1";
  r.pool = "p1";
  r.ok = true;
  r.probe = probe;
  return r;
}

eclipse::settings eclipse_settings() {
  eclipse::settings s;
  s.breaker_threshold = 2;
  s.cooldown = 1s;
  s.seed = 1;
  return s;
}

contracts::pool_view pool(std::string name, uint32_t free) {
  contracts::pool_view p;
  p.spec.name = std::move(name);
  p.spec.workers = 2;
  p.spec.cpu = 4;
  p.spec.memory_gb = 8;
  p.free = free;
  return p;
}

contracts::route_request ready(std::string id) {
  contracts::route_request t;
  t.task_id = std::move(id);
  t.module_ref = "m@1";
  return t;
}

using reports = std::vector<contracts::attempt_report>;

const std::string module_m = contracts::module_target("m@1");

} // namespace

BOOST_FIXTURE_TEST_SUITE(engines, fixture)

// -- Eclipse ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eclipse_plans_and_opens_breakers_across_messages) {
  auto e = sys.spawn(actors::eclipse, eclipse_settings());
  auto first = ask<contracts::eclipse_advice>(e, atom::report_v,
                                              reports{failure("a", "timeout")});
  BOOST_REQUIRE_EQUAL(first.plans.size(), 1u);
  BOOST_CHECK_EQUAL(first.plans[0].action, "retry");
  BOOST_CHECK_EQUAL(first.plans[0].delay_ms, 500u);
  BOOST_CHECK(first.breakers.empty());
  // The second failure of the module, in another message, opens it.
  auto second = ask<contracts::eclipse_advice>(e, atom::report_v,
                                               reports{failure("b", "exit_code")});
  BOOST_REQUIRE_EQUAL(second.plans.size(), 1u);
  BOOST_CHECK_EQUAL(second.plans[0].action, "fail");
  BOOST_REQUIRE_EQUAL(second.breakers.size(), 1u);
  BOOST_CHECK_EQUAL(second.breakers[0].target, module_m);
  BOOST_CHECK_EQUAL(second.breakers[0].state, "open");
  BOOST_CHECK_EQUAL(second.breakers[0].cooldown_ms, 1000u);
  BOOST_CHECK(state_of<actors::eclipse_state>(e).breakers.is_open(module_m));
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  sched.run();
}

BOOST_AUTO_TEST_CASE(eclipse_follows_the_quarantines_zenith_commits) {
  auto e = sys.spawn(actors::eclipse, eclipse_settings());
  auto& st = state_of<actors::eclipse_state>(e);
  // An operator's quarantine: a success does not release it.
  caf::anon_send(e, atom::quarantine_v, module_m, std::string{"open"});
  sched.run();
  BOOST_CHECK(st.breakers.is_open(module_m));
  auto none = ask<contracts::eclipse_advice>(e, atom::report_v,
                                             reports{success("a")});
  BOOST_CHECK(none.empty());
  BOOST_CHECK(st.breakers.is_open(module_m));
  // The cool-down passed: the probe's success closes it.
  caf::anon_send(e, atom::quarantine_v, module_m, std::string{"half_open"});
  sched.run();
  auto closed = ask<contracts::eclipse_advice>(e, atom::report_v,
                                               reports{success("b", true)});
  BOOST_REQUIRE_EQUAL(closed.breakers.size(), 1u);
  BOOST_CHECK_EQUAL(closed.breakers[0].state, "closed");
  BOOST_CHECK_EQUAL(closed.breakers[0].reason, "probe succeeded: ready again");
  BOOST_CHECK(!st.breakers.is_open(module_m));
  // An operator's release forgets the count.
  ask<contracts::eclipse_advice>(e, atom::report_v,
                                 reports{failure("c", "exit_code")});
  BOOST_CHECK_EQUAL(st.breakers.failures(module_m), 1u);
  caf::anon_send(e, atom::quarantine_v, module_m, std::string{"closed"});
  sched.run();
  BOOST_CHECK_EQUAL(st.breakers.failures(module_m), 0u);
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  sched.run();
}

// -- Lattice ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(lattice_routes_and_numbers_across_batches) {
  lattice::settings s;
  s.ageing = 1s;
  auto l = sys.spawn(actors::lattice, s);
  contracts::route_batch batch{{ready("t1"), ready("t2")},
                               {pool("a", 1), pool("b", 1)}};
  batch.tasks[1].priority = 2;
  batch.tasks[1].ready_at_ms = 10'000;
  auto x = ask<contracts::lattice_advice>(l, atom::route_v, batch);
  BOOST_REQUIRE_EQUAL(x.routes.size(), 2u);
  BOOST_CHECK_EQUAL(x.routes[0].pool, "a");
  BOOST_CHECK_EQUAL(x.routes[1].pool, "b"); // a has t1 queued
  BOOST_CHECK_EQUAL(x.routes[1].rank, 8'000);
  BOOST_CHECK_EQUAL(x.routes[0].routing_sequence, 1u);
  BOOST_CHECK_EQUAL(x.routes[1].routing_sequence, 2u);
  auto y = ask<contracts::lattice_advice>(l, atom::route_v, batch);
  BOOST_CHECK_EQUAL(y.routes[0].routing_sequence, 3u);
  BOOST_CHECK_EQUAL(state_of<actors::lattice_state>(l).router.next_sequence(), 5u);
  caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  sched.run();
}

BOOST_AUTO_TEST_SUITE_END()
