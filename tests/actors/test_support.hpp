#pragma once

// What the actor tests share: a scratch data folder, error checks, module
// contracts to register, Zenith's state on a fresh database (seeded ids, a
// manual clock) and Zenith as an actor on CAF's deterministic scheduler.
// Header-only: each *_test.cpp is its own test binary, and each includes
// this once. Include it after <boost/test/unit_test.hpp>.

#include "actors/eclipse.hpp"
#include "actors/interfaces.hpp"
#include "actors/lattice.hpp"
#include "actors/pantheon.hpp"
#include "actors/paradox.hpp"
#include "actors/zenith.hpp"
#include "contracts/eclipse.hpp"
#include "contracts/error_code.hpp"
#include "contracts/ids.hpp"
#include "contracts/lattice.hpp"
#include "contracts/paradox.hpp"
#include "contracts/type_ids.hpp"
#include "storage/database.hpp"
#include "storage/testing/committer_door.hpp"
#include "storage/verify.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace omniva::test_support {

// -- files and errors ---------------------------------------------------------------

/// A fresh folder under the system's temporary folder, removed afterwards.
struct temp_dir {
  std::filesystem::path path;

  /// Creates `<tmp>/<prefix><random number>`.
  explicit temp_dir(std::string_view prefix = "omniva-test-") {
    std::random_device rd;
    path = std::filesystem::temp_directory_path()
           / (std::string{prefix} + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }

  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// An error as the CLI and the logs print it; "no error" for none.
inline std::string text_of(const caf::error& e) {
  if (!e)
    return "no error";
  return contracts::render_error(e.code(), e.category(), e.context());
}

/// Why `x` holds no value ("" when it does): Boost.Test evaluates a
/// message's operands even when the assertion holds.
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : text_of(x.error());
}

/// Whether `e` is our error `code`.
inline bool is(const caf::error& e, contracts::ec code) {
  return e && e.category() == contracts::error_category
         && e.code() == static_cast<uint8_t>(code);
}

// -- module contracts ------------------------------------------------------------------

/// A module contract (module.json) `<name>@1` with the given `inputs` and
/// `outputs` (JSON arrays), `cpu` cores and the command `true`.
inline std::string module_json(std::string_view name,
                               std::string_view description,
                               std::string_view inputs, std::string_view outputs,
                               int cpu = 1) {
  return R"({"name": ")" + std::string{name}
         + R"(", "version": 1, "description": ")" + std::string{description}
         + R"(", "inputs": )" + std::string{inputs}
         + R"(, "outputs": )" + std::string{outputs}
         + R"(, "resources": {"cpu": )" + std::to_string(cpu)
         + R"(, "memory_gb": 0.25, "gpu": false, "timeout_s": 30},
    "run": {"command": ["true"]}, "schema_version": "1.0.0"})";
}

/// An `outputs` array of one JSON asset `result` (promising schema
/// `schema_ref` unless "").
inline std::string json_result_output(std::string_view schema_ref = {}) {
  return R"([{"key": "result", "label": "Result", "contract_type": "ASSET",
              "media_type": "application/json")"
         + (schema_ref.empty()
              ? std::string{}
              : R"(, "schema": ")" + std::string{schema_ref} + "\"")
         + "}]";
}

// -- the chain modules -------------------------------------------------------------------

/// `source@1`: one VALUE input `n` (an int) makes one JSON output `result`.
inline std::string source_module(std::string_view description = "Makes a JSON document.") {
  return module_json("source", description,
                     R"([{"key": "n", "label": "N", "contract_type": "VALUE",
                          "dtype": "int"}])",
                     json_result_output());
}

/// `step@1`: reads a JSON asset `prev` and makes one JSON output `result`,
/// one link of a chain.
inline std::string step_module() {
  return module_json("step", "One link of a chain.",
                     R"([{"key": "prev", "label": "Previous", "contract_type": "ASSET",
                          "constraints": {"media_types": ["application/json"]}}])",
                     json_result_output());
}

/// A request of `source@1` with `n`.
inline contracts::task_request source_request(int n = 1) {
  contracts::task_request r;
  r.module_ref = "source@1";
  r.values["n"] = std::to_string(n);
  return r;
}

/// A request of `step@1` reading asset `prev`.
inline contracts::task_request step_request(const std::string& prev) {
  contracts::task_request r;
  r.module_ref = "step@1";
  r.input_mapping["prev"] = prev;
  return r;
}

// -- Zenith's state ---------------------------------------------------------------------

/// The pool the tests route to: "default", `workers` slots of 4 CPUs and
/// 8 GB.
inline contracts::pool_spec test_pool(uint32_t workers) {
  contracts::pool_spec p;
  p.name = "default";
  p.workers = workers;
  p.cpu = 4;
  p.memory_gb = 8;
  return p;
}

/// Opens (or creates) the database of data folder `dir` for writing,
/// through the tests' door to the committer.
inline std::shared_ptr<storage::writable_database>
open_test_database(const std::filesystem::path& dir) {
  auto opened = storage::testing::committer_door::open(
    storage::database_path(dir.string()));
  BOOST_REQUIRE_MESSAGE(opened, "open failed: " << why(opened));
  return std::make_shared<storage::writable_database>(std::move(*opened));
}

/// Zenith's state on a database in a fresh folder, driven by calling its
/// methods: ids seeded with `seed`, a manual clock, one pool of two workers.
struct zenith_state_fixture {
  /// The data folder.
  temp_dir dir;
  /// The database, open while the state lives.
  std::shared_ptr<storage::writable_database> db;
  /// The state under test.
  std::unique_ptr<actors::zenith_state> st;
  /// The seed of the state's ids: the same ids on every run.
  uint64_t seed;

  /// A folder named `<prefix>...`; call `open` to start.
  zenith_state_fixture(std::string_view prefix, uint64_t id_seed)
    : dir(prefix), seed(id_seed) {
  }

  /// Opens the database and recovers a new state from it.
  void open() {
    db = open_test_database(dir.path);
    st = std::make_unique<actors::zenith_state>();
    st->config.data_dir = dir.path.string();
    st->config.pools = {test_pool(2)};
    st->db = db;
    st->ids = std::make_unique<contracts::seeded_id_source>(seed);
    st->clock = std::make_unique<contracts::manual_clock>(
      contracts::timestamp{std::chrono::milliseconds{1'790'000'000'000}});
    auto err = st->recover();
    BOOST_REQUIRE_MESSAGE(!err, "recover failed: " << text_of(err));
  }

  /// Drops the state and the database (the node died).
  void close() {
    st.reset();
    db.reset();
  }

  /// The engines, played in the test's thread by their pure logic (the
  /// actors do the same with it): what a commit asks of them is answered
  /// before `commit` returns.
  paradox::duplicate_index paradox_index;
  eclipse::settings eclipse_settings;
  eclipse::breakers breakers{eclipse_settings};
  lattice::router router;
  /// Whether `commit` plays the engines (on by default).
  bool play_engines = true;

  /// Commits once, requires success and a log that verifies; returns the
  /// effects, engine requests included (nobody answers them).
  actors::zenith_effects commit_once() {
    auto fx = st->commit();
    BOOST_REQUIRE_MESSAGE(fx, "commit failed: " << why(fx));
    auto report = storage::verify(*db->read);
    BOOST_REQUIRE_MESSAGE(report.ok, "the log does not verify: " << report.reason);
    return std::move(*fx);
  }

  /// Answers what `fx` asks of the engines (by their pure logic) into the
  /// state; returns whether it asked anything.
  bool answer_engines(actors::zenith_effects& fx) {
    bool asked = false;
    if (!fx.clearances.empty()) {
      asked = true;
      st->on_paradox_advice(paradox_index.advise(fx.clearances));
      fx.clearances.clear();
    }
    if (!fx.routes.empty()) {
      asked = true;
      contracts::route_batch b;
      b.tasks = std::move(fx.routes);
      b.pools = st->pool_views();
      fx.routes.clear();
      st->on_lattice_advice(router.advise(b));
    }
    if (!fx.ballots.empty()) {
      asked = true;
      auto ballots = std::move(fx.ballots);
      fx.ballots.clear();
      for (auto& b : ballots)
        st->on_pantheon_advice(contracts::advise(b));
    }
    if (!fx.reports.empty()) {
      asked = true;
      auto advice = eclipse::advise(fx.reports, breakers, eclipse_settings);
      fx.reports.clear();
      if (!advice.empty())
        st->on_eclipse_advice(advice);
    }
    for (auto& [target, state] : fx.breaker_notes) {
      if (state == "half_open")
        breakers.probing(target);
      else if (state == "closed")
        breakers.reset(target);
    }
    fx.breaker_notes.clear();
    return asked;
  }

  /// Commits, with the engines answering until nothing more is asked (so a
  /// submitted task is cleared, routed and dispatched in one call); requires
  /// success and a log that verifies; returns every commit's effects
  /// together.
  actors::zenith_effects commit() {
    auto all = commit_once();
    if (!play_engines)
      return all;
    auto fx = std::move(all);
    all = {};
    for (;;) {
      bool asked = answer_engines(fx);
      auto move_into = [](auto& to, auto& from) {
        for (auto& x : from)
          to.push_back(std::move(x));
      };
      move_into(all.replies, fx.replies);
      move_into(all.aborts, fx.aborts);
      move_into(all.dispatches, fx.dispatches);
      move_into(all.stops, fx.stops);
      move_into(all.forget, fx.forget);
      move_into(all.events, fx.events);
      if (!asked)
        return all;
      fx = commit_once();
    }
  }
};

// -- Zenith, the actor -------------------------------------------------------------------

/// The actor type behind a `zenith_actor` handle, to reach its state.
using zenith_impl = std::remove_pointer_t<
  actors::zenith_actor::stateful_pointer<actors::zenith_state>>;

/// A pool that only records the orders it gets (and the execution ids it is
/// told to stop, if `stops`): the test plays the workers (or ignores them).
inline actors::pool_actor::behavior_type
recording_pool(actors::pool_actor::pointer,
               std::shared_ptr<std::vector<contracts::dispatch_order>> orders,
               std::shared_ptr<std::vector<std::string>> stops = nullptr) {
  return {
    [=](atom::dispatch, const contracts::dispatch_order& o) {
      orders->push_back(o);
    },
    [=](atom::cancel, const std::string& execution_id) {
      if (stops)
        stops->push_back(execution_id);
    },
    [=](atom::done, uint32_t) {},
    [=](atom::tick) {},
  };
}

/// Configures `cfg` for CAF's test coordinator, with our types, quiet.
inline caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  contracts::register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

/// An actor system on CAF's test coordinator (nothing runs unless the test
/// says so), a database in a fresh folder and a recording pool "default";
/// `spawn_zenith` starts Zenith on them.
struct zenith_actor_fixture {
  /// The data folder.
  temp_dir dir;
  /// The actor system's configuration (`testing_config`).
  caf::actor_system_config cfg;
  /// The actor system.
  caf::actor_system sys;
  /// Its scheduler: `run()`, `run_once()`, `advance_time()`.
  caf::scheduler::test_coordinator& sched;
  /// The test's own actor, for requests.
  caf::scoped_actor self;
  /// The database Zenith commits to.
  std::shared_ptr<storage::writable_database> db;
  /// What the pool was sent, in order.
  std::shared_ptr<std::vector<contracts::dispatch_order>> orders
    = std::make_shared<std::vector<contracts::dispatch_order>>();
  /// The execution ids the pool was told to stop, in order.
  std::shared_ptr<std::vector<std::string>> stops
    = std::make_shared<std::vector<std::string>>();
  /// The recording pool "default".
  actors::pool_actor pool;
  /// Zenith, once `spawn_zenith` ran.
  actors::zenith_actor zenith;
  /// Its engines (spawned with it).
  actors::engine_set engines;
  /// How the Eclipse of `spawn_zenith` judges (set before spawning).
  eclipse::settings eclipse_settings;

  /// A folder named `<prefix>...`, its database opened, the pool spawned.
  explicit zenith_actor_fixture(std::string_view prefix)
    : dir(prefix),
      sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys, true),
      db(open_test_database(dir.path)) {
    pool = sys.spawn(recording_pool, orders, stops);
  }

  /// Stops Zenith and the pool (and whatever a test fixture stopped
  /// before), letting them finish what they hold.
  ~zenith_actor_fixture() {
    if (zenith)
      caf::anon_send_exit(zenith, caf::exit_reason::user_shutdown);
    if (engines.paradox) {
      caf::anon_send_exit(engines.paradox, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.eclipse, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.lattice, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.pantheon, caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Spawns Zenith with `zc` (its data folder: `dir`) on the database,
  /// routing to the pool; nothing of it runs yet.
  void spawn_zenith(actors::zenith_config zc) {
    zc.data_dir = dir.path.string();
    engines.paradox = sys.spawn(actors::paradox, db->read);
    engines.eclipse = sys.spawn(actors::eclipse, eclipse_settings);
    engines.lattice = sys.spawn(actors::lattice, lattice::settings{});
    engines.pantheon = sys.spawn(actors::pantheon, actors::pantheon_settings{});
    zenith = sys.spawn(actors::zenith, std::move(zc), db,
                       std::map<std::string, actors::pool_actor>{{"default", pool}},
                       engines);
  }

  /// Zenith's state, to look at between steps of the scheduler.
  actors::zenith_state& zenith_st() {
    auto* ptr = caf::actor_cast<caf::abstract_actor*>(zenith);
    return dynamic_cast<zenith_impl&>(*ptr).state;
  }
};

} // namespace omniva::test_support
