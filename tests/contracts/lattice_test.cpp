#define BOOST_TEST_MODULE lattice
#include <boost/test/unit_test.hpp>

// Lattice's pure logic (contracts/lattice.hpp): which pool a READY task
// goes to, why the others were not chosen, its rank in the pool's queue,
// and the routing sequence.

#include "contracts/lattice.hpp"

#include <string>
#include <vector>

using namespace omniva::contracts;
using namespace omniva::lattice;
using namespace std::chrono_literals;

namespace {

/// A pool `name` of `workers` slots of `cpu` cores and `mem` GiB.
pool_view pool(std::string name, uint32_t workers, uint32_t free,
               uint32_t queued = 0, double cpu = 4, double mem = 8,
               bool gpu = false, std::string quarantine = "") {
  pool_view p;
  p.spec.name = std::move(name);
  p.spec.workers = workers;
  p.spec.cpu = cpu;
  p.spec.memory_gb = mem;
  p.spec.gpu = gpu;
  p.free = free;
  p.queued = queued;
  p.quarantine = std::move(quarantine);
  return p;
}

route_request task(std::string id, double cpu = 1, double mem = 1,
                   bool gpu = false) {
  route_request t;
  t.task_id = std::move(id);
  t.module_ref = "m@1";
  t.resources.cpu = cpu;
  t.resources.memory_gb = mem;
  t.resources.gpu = gpu;
  return t;
}

/// The reason `pool` was discarded, "" when it was not.
std::string reason(const route_directive& d, const std::string& pool) {
  for (auto& x : d.discarded)
    if (x.pool == pool)
      return x.reason;
  return "";
}

const settings defaults{};

} // namespace

BOOST_AUTO_TEST_SUITE(ranks)

BOOST_AUTO_TEST_CASE(rank_follows_the_formula) {
  BOOST_CHECK_EQUAL(rank(0, 0, 1'000, 10s), 1'000);
  BOOST_CHECK_EQUAL(rank(2, 1, 100'000, 10s), 70'000);
  BOOST_CHECK_EQUAL(rank(-1, 0, 0, 10s), 10'000);
  // Large clocks stay exact (64-bit arithmetic).
  BOOST_CHECK_EQUAL(rank(5, 0, 1'790'000'000'000, 10s), 1'789'999'950'000);
}

BOOST_AUTO_TEST_CASE(higher_priority_goes_first_at_the_same_time) {
  BOOST_CHECK_LT(rank(1, 0, 5'000, 10s), rank(0, 0, 5'000, 10s));
  // The data's delta counts as priority.
  BOOST_CHECK_LT(rank(0, 1, 5'000, 10s), rank(0, 0, 5'000, 10s));
}

BOOST_AUTO_TEST_CASE(an_old_low_priority_task_overtakes) {
  // Task b has 2 levels more, so it is worth 20 s of waiting; a waited 25 s
  // longer and goes first; had it waited 15 s longer, b would.
  BOOST_CHECK_LT(rank(0, 0, 0, 10s), rank(2, 0, 25'000, 10s));
  BOOST_CHECK_GT(rank(0, 0, 0, 10s), rank(2, 0, 15'000, 10s));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(routes)

BOOST_AUTO_TEST_CASE(pools_that_do_not_fit_are_discarded) {
  std::vector<pool_view> pools{pool("small", 4, 4, 0, 1, 2),
                               pool("big", 1, 1, 0, 8, 32),
                               pool("cpu", 4, 4, 0, 8, 32)};
  auto d = route(task("t", 4, 16, true), pools, defaults, 1);
  BOOST_CHECK_EQUAL(d.pool, "");
  BOOST_CHECK_EQUAL(reason(d, "small"), "does_not_fit");
  BOOST_CHECK_EQUAL(reason(d, "cpu"), "does_not_fit"); // no GPU
  pools.push_back(pool("gpu", 1, 1, 0, 8, 32, true));
  d = route(task("t", 4, 16, true), pools, defaults, 2);
  BOOST_CHECK_EQUAL(d.pool, "gpu");
  BOOST_CHECK_EQUAL(d.discarded.size(), 3u);
  // Memory alone is enough to not fit.
  d = route(task("t", 1, 4), {pool("small", 4, 4, 0, 8, 2)}, defaults, 3);
  BOOST_CHECK_EQUAL(d.pool, "");
  BOOST_CHECK_EQUAL(reason(d, "small"), "does_not_fit");
}

BOOST_AUTO_TEST_CASE(open_quarantines_are_discarded) {
  std::vector<pool_view> pools{pool("a", 4, 4, 0, 4, 8, false, "open"),
                               pool("b", 4, 1)};
  auto d = route(task("t"), pools, defaults, 1);
  BOOST_CHECK_EQUAL(d.pool, "b");
  BOOST_CHECK_EQUAL(reason(d, "a"), "quarantined");
  // Nothing else: the task waits.
  d = route(task("t"), {pools[0]}, defaults, 2);
  BOOST_CHECK_EQUAL(d.pool, "");
}

BOOST_AUTO_TEST_CASE(a_half_open_pool_scores_lowest) {
  std::vector<pool_view> pools{pool("a", 4, 4, 0, 4, 8, false, "half_open"),
                               pool("b", 4, 0, 9)};
  auto d = route(task("t"), pools, defaults, 1);
  BOOST_CHECK_EQUAL(d.pool, "b");
  BOOST_CHECK_EQUAL(reason(d, "a"), "lower_score");
  // Alone, it takes the task.
  BOOST_CHECK_EQUAL(route(task("t"), {pools[0]}, defaults, 2).pool, "a");
}

BOOST_AUTO_TEST_CASE(the_pool_to_avoid_is_avoided_while_another_fits) {
  std::vector<pool_view> pools{pool("a", 4, 4), pool("b", 4, 1)};
  auto t = task("t");
  t.avoid_pool = "a";
  auto d = route(t, pools, defaults, 1);
  BOOST_CHECK_EQUAL(d.pool, "b");
  BOOST_CHECK_EQUAL(reason(d, "a"), "avoided");
  // The only pool that fits is taken all the same.
  pools[1] = pool("b", 4, 4, 0, 0.5, 8);
  d = route(t, pools, defaults, 2);
  BOOST_CHECK_EQUAL(d.pool, "a");
  BOOST_CHECK_EQUAL(reason(d, "b"), "does_not_fit");
}

BOOST_AUTO_TEST_CASE(the_best_score_wins) {
  // Free minus queued, relative to the size.
  std::vector<pool_view> pools{pool("a", 4, 1, 0), pool("b", 2, 2, 0),
                               pool("c", 8, 4, 2)};
  auto d = route(task("t"), pools, defaults, 1);
  BOOST_CHECK_EQUAL(d.pool, "b");
  BOOST_CHECK_CLOSE(d.score, 1.0, 1e-9);
  BOOST_CHECK_EQUAL(reason(d, "a"), "lower_score");
  BOOST_CHECK_EQUAL(reason(d, "c"), "lower_score");
  for (auto& x : d.discarded)
    BOOST_CHECK_LT(x.score, d.score);
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_smaller_name) {
  std::vector<pool_view> pools{pool("zeta", 2, 2), pool("alpha", 2, 2),
                               pool("mid", 2, 2)};
  auto d = route(task("t"), pools, defaults, 1);
  BOOST_CHECK_EQUAL(d.pool, "alpha");
  BOOST_CHECK_EQUAL(reason(d, "zeta"), "lower_score");
  BOOST_CHECK_EQUAL(reason(d, "mid"), "lower_score");
}

BOOST_AUTO_TEST_CASE(a_directive_carries_rank_and_sequence) {
  settings s;
  s.ageing = 1s;
  auto t = task("t");
  t.priority = 3;
  t.priority_delta = -1;
  t.ready_at_ms = 50'000;
  auto d = route(t, {pool("a", 1, 1)}, s, 77);
  BOOST_CHECK_EQUAL(d.task_id, "t");
  BOOST_CHECK_EQUAL(d.rank, 48'000);
  BOOST_CHECK_EQUAL(d.routing_sequence, 77u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(the_router)

BOOST_AUTO_TEST_CASE(sequences_grow_across_batches) {
  router r;
  BOOST_CHECK_EQUAL(r.next_sequence(), 1u);
  route_batch b1{{task("a"), task("b")}, {pool("p", 2, 2)}};
  auto x = r.advise(b1);
  BOOST_REQUIRE_EQUAL(x.routes.size(), 2u);
  BOOST_CHECK_EQUAL(x.routes[0].routing_sequence, 1u);
  BOOST_CHECK_EQUAL(x.routes[1].routing_sequence, 2u);
  // A task that waits (no pool) is numbered too.
  route_batch b2{{task("c", 64), task("d")}, {pool("p", 2, 2)}};
  auto y = r.advise(b2);
  BOOST_CHECK_EQUAL(y.routes[0].pool, "");
  BOOST_CHECK_EQUAL(y.routes[0].routing_sequence, 3u);
  BOOST_CHECK_EQUAL(y.routes[1].routing_sequence, 4u);
  BOOST_CHECK_EQUAL(r.next_sequence(), 5u);
}

BOOST_AUTO_TEST_CASE(a_batch_spreads_by_queue_depth) {
  router r;
  route_batch b{{task("t1"), task("t2"), task("t3"), task("t4")},
                {pool("a", 2, 2), pool("b", 2, 2)}};
  auto x = r.advise(b);
  BOOST_REQUIRE_EQUAL(x.routes.size(), 4u);
  // a (tie, name), then b (a has one queued), then a, then b.
  BOOST_CHECK_EQUAL(x.routes[0].pool, "a");
  BOOST_CHECK_EQUAL(x.routes[1].pool, "b");
  BOOST_CHECK_EQUAL(x.routes[2].pool, "a");
  BOOST_CHECK_EQUAL(x.routes[3].pool, "b");
  // Each directive saw the queue the ones before it made.
  BOOST_CHECK_CLOSE(x.routes[0].score, 1.0, 1e-9);
  BOOST_CHECK_CLOSE(x.routes[1].score, 1.0, 1e-9);
  BOOST_CHECK_CLOSE(x.routes[2].score, 0.5, 1e-9);
  // The batch's own pools are not changed for the next batch.
  auto y = r.advise(b);
  BOOST_CHECK_EQUAL(y.routes[0].pool, "a");
  BOOST_CHECK_CLOSE(y.routes[0].score, 1.0, 1e-9);
}

BOOST_AUTO_TEST_CASE(the_router_uses_its_ageing) {
  settings s;
  s.ageing = 2s;
  router r{s};
  auto t = task("t");
  t.priority = 1;
  t.ready_at_ms = 10'000;
  auto x = r.advise({{t}, {pool("p", 1, 1)}});
  BOOST_CHECK_EQUAL(x.routes[0].rank, 8'000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_clip_priority_comes_from_the_consensus_and_ranks_its_task) {
  // Unanimous: the consensus itself; split: discounted by half the dissent.
  BOOST_TEST(clip_priority(0.8, 0) == 0.8);
  BOOST_TEST(clip_priority(0.8, 0.2) == 0.72, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(clip_priority(1.5, -1) == 1.0);
  BOOST_TEST(clip_priority(-0.2, 0.5) == 0.0);
  BOOST_TEST(priority_delta_of(0.72) == 7);
  BOOST_TEST(priority_delta_of(0.04) == 0);
  BOOST_TEST(priority_delta_of(2) == 10);
  // A higher delta ranks earlier in the queue.
  BOOST_TEST(rank(0, priority_delta_of(0.9), 1000, 10s)
             < rank(0, priority_delta_of(0.3), 1000, 10s));
}
