#define BOOST_TEST_MODULE simulation
#include <boost/test/unit_test.hpp>

// `omniva simulate` (runtime/simulation.hpp): an embedded node on CAF's
// deterministic scheduler with simulated workers, seeded faults and a
// virtual clock. The same seed gives the same lineage, another seed
// another one; without faults every task is done; with them attempts are
// retried, a silent task turns poison, breakers open and close, duplicates
// are reused and blocked, and the log verifies. 300 tasks a run: each
// takes a fraction of a second.

#include "contracts/json.hpp"
#include "runtime/simulation.hpp"
#include "storage/database.hpp"
#include "storage/verify.hpp"
#include "tests/test_print.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <random>
#include <string>

using namespace omniva;
using contracts::ec;
using runtime::simulation_options;
using runtime::simulation_result;

namespace {

/// A run of 300 tasks with `seed` and `fail_rate` (depth 3).
simulation_options small(uint64_t seed, double fail_rate) {
  simulation_options o;
  o.tasks = 300;
  o.seed = seed;
  o.fail_rate = fail_rate;
  return o;
}

/// Runs `o`; fails the case when the run cannot start.
simulation_result run(const simulation_options& o) {
  auto r = runtime::run_simulation(o);
  BOOST_REQUIRE_MESSAGE(r, "the simulation did not run: "
                             << (r ? std::string{}
                                   : contracts::render_error(r.error().code(),
                                                             r.error().category(),
                                                             r.error().context())));
  return *r;
}

/// The JSON form without the figures that measure real time.
std::string counts_of(const simulation_result& r) {
  auto doc = runtime::to_json(r);
  for (auto key : {"real_seconds", "verify_seconds", "tasks_per_second",
                   "sim_per_real"})
    doc.erase(key);
  return json::serialize(doc);
}

/// The error code of a refused run.
ec code_of(const caf::expected<simulation_result>& r) {
  BOOST_REQUIRE(!r);
  BOOST_REQUIRE(r.error().category() == contracts::error_category);
  return static_cast<ec>(r.error().code());
}

/// A fresh folder under the system's temporary folder, removed afterwards.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path()
           / ("omniva-simulation-test-" + std::to_string(rd()));
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

/// Zenith warns of every lost worker and quarantine the faults cause: on
/// purpose here, so errors only.
struct quiet_logs {
  quiet_logs() {
    spdlog::set_level(spdlog::level::err);
  }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(quiet_logs);

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_head_and_the_same_counts) {
  auto a = run(small(11, 0.05));
  auto b = run(small(11, 0.05));
  BOOST_REQUIRE_EQUAL(a.head.size(), 64u);
  BOOST_CHECK_EQUAL(a.head, b.head);
  BOOST_CHECK_EQUAL(counts_of(a), counts_of(b));
  BOOST_CHECK_EQUAL(a.simulated_seconds, b.simulated_seconds);
}

BOOST_AUTO_TEST_CASE(another_seed_gives_another_head) {
  auto a = run(small(11, 0.05));
  auto b = run(small(12, 0.05));
  BOOST_CHECK_NE(a.head, b.head);
  auto c = run(small(11, 0));
  auto d = run(small(12, 0));
  BOOST_CHECK_NE(c.head, d.head);
}

BOOST_AUTO_TEST_CASE(without_faults_every_task_is_done_and_the_log_verifies) {
  auto r = run(small(5, 0));
  BOOST_CHECK_EQUAL(r.tasks, 300u);
  BOOST_CHECK_EQUAL(r.done, 300u);
  BOOST_CHECK_EQUAL(r.failed, 0u);
  BOOST_CHECK_EQUAL(r.skipped, 0u);
  BOOST_CHECK_EQUAL(r.rejected, 0u);
  BOOST_CHECK_EQUAL(r.unfinished, 0u);
  BOOST_CHECK_EQUAL(r.retries, 0u);
  BOOST_CHECK_EQUAL(r.attempt_failures, 0u);
  BOOST_CHECK_EQUAL(r.poison, 0u);
  BOOST_CHECK_EQUAL(r.quarantines_opened, 0u);
  // Repeated values of the `reuse` module: bound to the first one's
  // outputs, DONE without running.
  BOOST_CHECK_GT(r.reused, 0u);
  BOOST_CHECK_EQUAL(r.duplicates, r.reused);
  BOOST_CHECK(!r.stalled);
  BOOST_CHECK_MESSAGE(r.verify_ok, "verify: " << r.verify_reason);
  // Submissions, advice, dispatches and ends: several packets per task.
  BOOST_CHECK_GT(r.packets, 3 * r.tasks);
}

BOOST_AUTO_TEST_CASE(faults_are_retried_poisoned_quarantined_and_counted) {
  auto r = run(small(3, 0.05));
  BOOST_CHECK_EQUAL(r.done + r.failed + r.skipped, r.tasks);
  BOOST_CHECK_EQUAL(r.unfinished, 0u);
  BOOST_CHECK(!r.stalled);
  BOOST_CHECK_GT(r.retries, 0u);
  BOOST_CHECK_GE(r.attempt_failures, r.retries);
  // sim-hang@1's worker never answers: lost three times, then poison.
  BOOST_CHECK_GE(r.poison, 1u);
  BOOST_CHECK_GE(r.lost_workers, 3u);
  // sim-doomed@1 opens its breaker for good; sim-flaky@1's opens, and a
  // probe after the cool-down (30 s of virtual time) closes it.
  BOOST_CHECK_GE(r.quarantines_opened, 2u);
  BOOST_CHECK_GE(r.quarantines_closed, 1u);
  BOOST_CHECK_GE(r.probes, 1u);
  BOOST_CHECK_GT(r.simulated_seconds, 30.0);
  // Duplicates: reused (DONE) and blocked (SKIPPED).
  BOOST_CHECK_GT(r.duplicates, 0u);
  BOOST_CHECK_GT(r.reused, 0u);
  BOOST_CHECK_GT(r.skipped, 0u);
  BOOST_CHECK_GT(r.failed, r.poison);
  BOOST_CHECK_MESSAGE(r.verify_ok, "verify: " << r.verify_reason);
}

BOOST_AUTO_TEST_CASE(progress_is_reported_up_to_the_last_task) {
  runtime::simulation_progress last;
  size_t calls = 0;
  auto r = runtime::run_simulation(small(2, 0.05),
                                   [&](const runtime::simulation_progress& p) {
                                     BOOST_CHECK_GE(p.finished, last.finished);
                                     BOOST_CHECK_GE(p.simulated_seconds,
                                                    last.simulated_seconds);
                                     last = p;
                                     ++calls;
                                   });
  BOOST_REQUIRE(r);
  BOOST_CHECK_GT(calls, 1u);
  BOOST_CHECK_EQUAL(last.tasks, 300u);
  BOOST_CHECK_EQUAL(last.finished, 300u);
  BOOST_CHECK_EQUAL(last.submitted, 300u);
  BOOST_CHECK_EQUAL(last.simulated_seconds, r->simulated_seconds);
}

BOOST_AUTO_TEST_CASE(a_kept_data_folder_holds_the_verified_log) {
  temp_dir dir;
  auto o = small(9, 0.05);
  o.data_dir = dir.path.string();
  auto r = run(o);
  BOOST_CHECK_EQUAL(r.data_dir, dir.path.string());
  auto reader = storage::open_reader(storage::database_path(dir.path.string()));
  BOOST_REQUIRE(reader);
  auto head = (*reader)->head();
  BOOST_REQUIRE(head);
  BOOST_CHECK_EQUAL(*head, r.head);
  auto report = storage::verify(**reader);
  BOOST_CHECK_MESSAGE(report.ok, "verify: " << report.reason);
  BOOST_CHECK_EQUAL(report.packets, r.packets);
  // Where the head came from: the same run in a temporary folder.
  BOOST_CHECK_EQUAL(run(small(9, 0.05)).head, r.head);
  // A second run would continue an old log: refused.
  BOOST_CHECK_EQUAL(code_of(runtime::run_simulation(o)), ec::invalid_argument);
}

BOOST_AUTO_TEST_CASE(options_out_of_range_are_refused) {
  auto o = small(1, 0);
  o.tasks = 0;
  BOOST_CHECK_EQUAL(code_of(runtime::run_simulation(o)), ec::invalid_argument);
  o = small(1, 0);
  o.depth = 0;
  BOOST_CHECK_EQUAL(code_of(runtime::run_simulation(o)), ec::invalid_argument);
  o = small(1, 1.5);
  BOOST_CHECK_EQUAL(code_of(runtime::run_simulation(o)), ec::invalid_argument);
  o = small(1, 0);
  o.workers = 0;
  BOOST_CHECK_EQUAL(code_of(runtime::run_simulation(o)), ec::invalid_argument);
}

BOOST_AUTO_TEST_CASE(chains_of_one_and_few_tasks_run_too) {
  auto o = small(4, 0.2);
  o.depth = 1;
  o.tasks = 40; // below 100: no special modules, the faults only
  auto r = run(o);
  BOOST_CHECK_EQUAL(r.done + r.failed + r.skipped, 40u);
  BOOST_CHECK_EQUAL(r.upstream_failed, 0u); // no chains, no cascade
  BOOST_CHECK_MESSAGE(r.verify_ok, "verify: " << r.verify_reason);
  o.tasks = 1;
  o.depth = 5;
  auto one = run(o);
  BOOST_CHECK_EQUAL(one.done + one.failed, 1u);
}
