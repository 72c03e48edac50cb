#include "runtime/simulation.hpp"

#include "actors/eclipse.hpp"
#include "actors/interfaces.hpp"
#include "actors/lattice.hpp"
#include "actors/pantheon.hpp"
#include "actors/paradox.hpp"
#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/faults.hpp"
#include "contracts/hex.hpp"
#include "contracts/ids.hpp"
#include "contracts/module_registration.hpp"
#include "contracts/packet.hpp"
#include "contracts/type_ids.hpp"
#include "storage/commit.hpp"
#include "storage/database.hpp"
#include "storage/verify.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace fs = std::filesystem;

namespace omniva::runtime {

/// Opens a simulation's database for writing, as the node opens its own:
/// `storage::open_database` with a `committer_key` (this struct is the key's
/// friend; it is defined here alone, so no other file can use it). The
/// committer goes to the simulation's Zenith.
struct simulation_database {
  /// Opens (or creates) the database in folder `path` for writing.
  static caf::expected<storage::writable_database>
  open(const std::string& path, const storage::database_options& options) {
    return storage::open_database(storage::committer_key{}, path, options);
  }
};

namespace {

using contracts::ec;
using contracts::make_error;
using steady = std::chrono::steady_clock;

// -- the settings of the simulated node ------------------------------------------------

/// Where the virtual clock starts: 2026-01-01T00:00:00Z.
constexpr int64_t epoch_ms = 1'767'225'600'000;
/// Zenith's control cycle (virtual time).
constexpr auto control_cycle = std::chrono::seconds{5};
/// How long a running attempt may stay silent before it is taken for lost.
constexpr auto heartbeat_timeout = std::chrono::seconds{10};
/// How often a simulated worker beats for its running attempt.
constexpr auto beat_every = std::chrono::seconds{3};
/// An open breaker's cool-down before its probe.
constexpr auto breaker_cooldown = std::chrono::seconds{30};
/// The unit of simulated run times: attempts last 1 .. 12 of them, so many
/// end at the same virtual instant and share a commit.
constexpr auto duration_step = std::chrono::milliseconds{250};
constexpr uint32_t duration_steps = 12;
/// How long a `slow` fault holds an attempt back (longer than the heartbeat
/// timeout: the worker beats meanwhile).
constexpr auto slow_delay = std::chrono::seconds{20};
/// The most tasks a run takes (memory: Zenith keeps every task).
constexpr uint64_t max_tasks = 10'000'000;
/// Who the simulation's requests are made by (the packets' `operator`).
constexpr const char* operator_name = "simulation";

/// Salts of the draws made from the seed (each a stream of its own).
constexpr uint64_t salt_ids = 0x1d5;
constexpr uint64_t salt_faults = 0xfa17;
constexpr uint64_t salt_jobs = 0x70b5;
/// `fault_draw` rule numbers used as salts for the workers' own draws (far
/// beyond any rule of the plan).
constexpr size_t draw_duration = 1'000'001;
constexpr size_t draw_size = 1'000'002;

/// splitmix64's finalizer.
uint64_t mix(uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A seeded stream of draws, the same on every platform (the standard
/// distributions are not).
class draws {
public:
  explicit draws(uint64_t seed) noexcept : state_(seed) {
  }
  uint64_t next() noexcept {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }
  /// Uniform in [0, 1).
  double unit() noexcept {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
  }
  /// Uniform in [0, n); 0 for n == 0.
  uint64_t below(uint64_t n) noexcept {
    return n == 0 ? 0 : next() % n;
  }

private:
  uint64_t state_;
};

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

// -- the modules -------------------------------------------------------------------------

/// The kinds of work the driver submits.
enum class job_kind : uint8_t {
  /// A chain: `sim-source@1`, then `sim-step@1` links reading the output
  /// before them.
  chain,
  /// `sim-doomed@1`: every attempt fails deterministically (its breaker
  /// opens).
  doomed,
  /// `sim-hang@1`: every attempt's worker goes silent (poison after
  /// `poison_after` lost attempts).
  hang,
  /// `sim-flaky@1`: the first two attempts of each task fail transiently
  /// (its breaker opens, a later probe succeeds and closes it).
  flaky,
  /// `sim-dup@1` (`"duplicates": "reuse"`): values repeat, so later tasks
  /// are bound to the outputs of the first.
  dup,
  /// `sim-once@1` (`"duplicates": "block"`): values repeat, so later tasks
  /// end SKIPPED.
  once,
};

/// A module of the simulation: its ref and contract text.
struct sim_module {
  const char* ref;
  std::string text;
};

/// A contract `<name>@1` with one input (VALUE `n`, or the JSON asset
/// `prev`), one JSON output `result`, and `duplicates` when not empty.
std::string module_text(std::string_view name, std::string_view description,
                        bool reads_asset, std::string_view duplicates = {}) {
  std::string input
    = reads_asset
        ? R"({"key": "prev", "label": "Previous", "contract_type": "ASSET",
              "constraints": {"media_types": ["application/json"]}})"
        : R"({"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"})";
  std::string text = R"({"name": ")" + std::string{name}
                     + R"(", "version": 1, "description": ")"
                     + std::string{description} + R"(", "inputs": [)" + input
                     + R"(], "outputs": [{"key": "result", "label": "Result",
      "contract_type": "ASSET", "media_type": "application/json"}],
    "resources": {"cpu": 1, "memory_gb": 0.25, "gpu": false, "timeout_s": 60},
    "run": {"command": ["true"]}, "schema_version": "1.0.0")";
  if (!duplicates.empty())
    text += R"(, "duplicates": ")" + std::string{duplicates} + "\"";
  return text + "}";
}

const std::vector<sim_module>& sim_modules() {
  static const std::vector<sim_module> xs{
    {"sim-source@1",
     module_text("sim-source", "Simulation: the first link of a chain.", false)},
    {"sim-step@1",
     module_text("sim-step", "Simulation: a link reading the one before.", true)},
    {"sim-doomed@1",
     module_text("sim-doomed", "Simulation: always fails.", false)},
    {"sim-hang@1",
     module_text("sim-hang", "Simulation: its worker always goes silent.", false)},
    {"sim-flaky@1",
     module_text("sim-flaky", "Simulation: fails its first two attempts.", false)},
    {"sim-dup@1",
     module_text("sim-dup", "Simulation: duplicates reuse the first result.",
                 false, "reuse")},
    {"sim-once@1",
     module_text("sim-once", "Simulation: duplicates are blocked.", false,
                 "block")},
  };
  return xs;
}

const char* module_of(job_kind k) {
  switch (k) {
    case job_kind::chain:
      return "sim-source@1";
    case job_kind::doomed:
      return "sim-doomed@1";
    case job_kind::hang:
      return "sim-hang@1";
    case job_kind::flaky:
      return "sim-flaky@1";
    case job_kind::dup:
      return "sim-dup@1";
    case job_kind::once:
      return "sim-once@1";
  }
  return "sim-source@1";
}

// -- the fault plan and the work ---------------------------------------------------------

/// The faults of a run with fail rate `p`: the special modules' own rules,
/// then, for any module, silent workers (a tenth of `p`), deterministic
/// failures (15 %), transient failures (75 %), and slow attempts (`p`).
contracts::fault_plan make_fault_plan(uint64_t seed, double p) {
  contracts::fault_plan plan;
  plan.seed = mix(seed ^ salt_faults);
  if (p <= 0)
    return plan;
  auto rule = [&](std::string module, contracts::fault_kind kind, double rate,
                  std::string message = {}) -> contracts::fault_rule& {
    contracts::fault_rule r;
    r.module = std::move(module);
    r.fault = kind;
    r.rate = rate;
    r.message = std::move(message);
    plan.rules.push_back(std::move(r));
    return plan.rules.back();
  };
  rule("sim-doomed@1", contracts::fault_kind::fail, 1, "sim-doomed always fails");
  rule("sim-hang@1", contracts::fault_kind::silent, 1);
  rule("sim-flaky@1", contracts::fault_kind::transient, 1,
       "sim-flaky fails its first two attempts")
    .attempts = {1, 2};
  rule("*", contracts::fault_kind::silent, std::min(1.0, p * 0.10));
  rule("*", contracts::fault_kind::fail, std::min(1.0, p * 0.15));
  rule("*", contracts::fault_kind::transient, std::min(1.0, p * 0.75));
  rule("*", contracts::fault_kind::slow, std::min(1.0, p)).delay = slow_delay;
  return plan;
}

/// One unit of work the driver submits: a chain, or one task.
struct job {
  job_kind kind = job_kind::chain;
  /// The value of input `n` of the first task.
  int64_t n = 0;
  /// Tasks in the job (a chain's length; 1 otherwise).
  uint32_t links = 1;
};

/// The work of a run, in submission order: duplicates spread over the run;
/// with faults, bursts of doomed and flaky tasks in its first half, silent
/// ones, blocked duplicates; chains fill the rest, `depth` long (the last
/// one shorter when the count asks).
std::vector<job> plan_jobs(const simulation_options& o) {
  draws d{mix(o.seed ^ salt_jobs)};
  auto clamp = [](uint64_t x, uint64_t lo, uint64_t hi) {
    return std::min(std::max(x, lo), hi);
  };
  uint64_t n = o.tasks;
  bool faults = o.fail_rate > 0 && n >= 100;
  uint64_t doomed = faults ? clamp(n / 1000, 6, 20) : 0;
  uint64_t flaky = faults ? clamp(n / 1000, 6, 20) : 0;
  uint64_t hang = faults ? clamp(n / 20000, 1, 5) : 0;
  uint64_t once = faults ? clamp(n / 100, 4, 200) : 0;
  uint64_t dup = n >= 20 ? n / 20 : 0;
  uint64_t chain_tasks = n - doomed - flaky - hang - once - dup;
  // (position in [0, 1), insertion order, job)
  std::vector<std::tuple<double, uint64_t, job>> placed;
  uint64_t order = 0;
  int64_t next_n = 0;
  uint64_t chains = (chain_tasks + o.depth - 1) / o.depth;
  for (uint64_t i = 0, left = chain_tasks; i < chains; ++i) {
    auto links = static_cast<uint32_t>(std::min<uint64_t>(o.depth, left));
    left -= links;
    placed.emplace_back(static_cast<double>(i) / static_cast<double>(chains),
                        order++, job{job_kind::chain, next_n++, links});
  }
  auto burst = [&](job_kind kind, uint64_t count) {
    double at = 0.05 + 0.45 * d.unit();
    for (uint64_t i = 0; i < count; ++i)
      placed.emplace_back(at, order++, job{kind, next_n++, 1});
  };
  burst(job_kind::doomed, doomed);
  burst(job_kind::flaky, flaky);
  for (uint64_t i = 0; i < hang; ++i)
    placed.emplace_back(0.8 * d.unit(), order++, job{job_kind::hang, next_n++, 1});
  auto repeated = [&](job_kind kind, uint64_t count) {
    auto values = std::max<uint64_t>(1, count / 2);
    for (uint64_t i = 0; i < count; ++i)
      placed.emplace_back(d.unit(), order++,
                          job{kind, static_cast<int64_t>(d.below(values)), 1});
  };
  repeated(job_kind::dup, dup);
  repeated(job_kind::once, once);
  std::sort(placed.begin(), placed.end(), [](auto& a, auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a))
           < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<job> jobs;
  jobs.reserve(placed.size());
  for (auto& p : placed)
    jobs.push_back(std::get<2>(p));
  return jobs;
}

// -- what the run counts -----------------------------------------------------------------

/// What the driver and the commits tell the run loop (one thread: the
/// scheduler's, which is the caller's).
struct sim_shared {
  std::vector<job> jobs;
  /// The next job to submit.
  size_t next_job = 0;
  /// Tasks of the jobs started (a chain counts whole when it starts).
  uint64_t submitted = 0;
  /// Tasks that ended (any way), and submissions refused (with the links
  /// they kept from being submitted).
  uint64_t finished = 0;
  uint64_t rejected = 0;
  /// Modules Zenith registered.
  size_t enrolled = 0;
  /// The first error a request met.
  std::string first_error;
  simulation_result counts;
  /// Quarantine targets Eclipse's breakers hold open now.
  std::set<std::string> open_targets;

  void note_error(std::string what) {
    if (first_error.empty())
      first_error = std::move(what);
  }

  /// Counts what one commit made durable.
  void on_commit(const std::vector<contracts::committed_event>& events);
};

/// The payload of `e` parsed; nullopt when it is not JSON (never, from Zenith).
std::optional<json::value> payload_of(const contracts::committed_event& e) {
  auto parsed = json::parse(e.payload);
  if (!parsed)
    return std::nullopt;
  return std::move(parsed.doc);
}

std::string string_member(const json::value& v, const char* key) {
  auto* x = v.find(key);
  return x != nullptr && x->is_string() ? x->as_string() : std::string{};
}

void sim_shared::on_commit(const std::vector<contracts::committed_event>& events) {
  auto& c = counts;
  for (auto& e : events) {
    const auto& k = e.kind;
    if (k == "task.succeeded") {
      ++c.done;
      ++finished;
    } else if (k == "task.reused") {
      ++c.done;
      ++c.reused;
      ++finished;
    } else if (k == "task.skipped") {
      ++c.skipped;
      ++finished;
    } else if (k == "task.cancelled") {
      ++finished;
    } else if (k == "task.failed") {
      ++c.failed;
      ++finished;
      if (auto p = payload_of(e)) {
        auto code = string_member(*p, "code");
        if (code == "poison_task")
          ++c.poison;
        else if (code == "upstream_failed")
          ++c.upstream_failed;
      }
    } else if (k == "task.requeued") {
      ++c.retries;
    } else if (k == "task.attempt_failed") {
      ++c.attempt_failures;
      if (auto p = payload_of(e))
        if (auto* lost = p->find("lost"); lost && lost->is_bool() && lost->as_bool())
          ++c.lost_workers;
    } else if (k == "advice.paradox") {
      auto p = payload_of(e);
      if (!p || string_member(*p, "advice") != "clearance")
        continue;
      if (auto* items = p->find("items"); items && items->is_array())
        for (auto& item : items->as_array())
          if (string_member(item, "action") != "clear")
            ++c.duplicates;
    } else if (k == "decision.zenith") {
      auto p = payload_of(e);
      if (!p || string_member(*p, "engine") != "eclipse")
        continue;
      auto* decisions = p->find("decisions");
      if (!decisions || !decisions->is_array())
        continue;
      for (auto& d : decisions->as_array()) {
        auto decision = string_member(d, "decision");
        auto target = string_member(d, "target");
        if (decision == "quarantine" && open_targets.insert(target).second)
          ++c.quarantines_opened;
        else if (decision == "release" && open_targets.erase(target) > 0)
          ++c.quarantines_closed;
        else if (decision == "probe")
          ++c.probes;
      }
    }
  }
}

// -- the virtual clock -------------------------------------------------------------------

/// Zenith's clock: the test coordinator's, from `epoch_ms` on.
class virtual_clock final : public contracts::clock_source {
public:
  using time_point = caf::detail::test_actor_clock::time_point;

  virtual_clock(const caf::detail::test_actor_clock& clock, time_point origin)
    : clock_(clock), origin_(origin) {
  }

  contracts::timestamp now() override {
    return contracts::timestamp{std::chrono::milliseconds{epoch_ms}}
           + std::chrono::duration_cast<std::chrono::milliseconds>(
             clock_.current_time - origin_);
  }

private:
  const caf::detail::test_actor_clock& clock_;
  time_point origin_;
};

// -- the simulated worker pools ------------------------------------------------------------

/// What every simulated pool shares.
struct sim_world {
  /// The seeded faults.
  contracts::fault_plan plan;
  /// Seeds run times and output sizes.
  uint64_t seed = 0;
};

/// A simulated pool: runs nothing; each attempt ends after a seeded virtual
/// run time with the outcome its fault (if any) decides, and produces no
/// files (Zenith records the outputs' paths and digests without reading
/// them).
struct sim_pool_state {
  static constexpr const char* name = "sim-pool";

  /// One attempt the pool holds.
  struct attempt {
    contracts::dispatch_order order;
    /// What goes wrong with it (none: it succeeds).
    std::optional<contracts::injected_fault> fault;
    /// The virtual run time, for the outcome's metrics.
    std::chrono::milliseconds duration{0};
  };

  /// The pool's name.
  std::string pool;
  std::shared_ptr<const sim_world> world;
  /// Where outcomes and heartbeats go (the sender of the orders).
  actors::zenith_actor zenith;
  /// Attempts by run number (the `done` message names it), in order.
  std::map<uint32_t, attempt> running;
  /// execution id -> run number.
  std::unordered_map<std::string, uint32_t> by_execution;
  uint32_t next_run = 0;
  /// Whether a `tick` is scheduled.
  bool ticking = false;

  /// Whether any attempt needs heartbeats (all but the silent ones).
  bool beating() const {
    return std::any_of(running.begin(), running.end(), [](auto& r) {
      return !r.second.fault
             || r.second.fault->kind != contracts::fault_kind::silent;
    });
  }

  /// The outcome of attempt `a` once its run time is over.
  contracts::execution_outcome outcome_of(const attempt& a) const {
    contracts::execution_outcome o;
    o.execution_id = a.order.execution_id;
    o.task_id = a.order.task.task_id;
    o.attempt = a.order.task.attempt;
    o.metrics_json = R"({"mode":"simulated","duration_ms":)"
                     + std::to_string(a.duration.count()) + "}";
    if (a.fault && (a.fault->kind == contracts::fault_kind::transient
                    || a.fault->kind == contracts::fault_kind::fail)) {
      o.ok = false;
      o.error_code = a.fault->code;
      o.error_message = a.fault->message;
      o.transient = a.fault->transient;
      return o;
    }
    o.ok = true;
    for (auto& out : a.order.contract.outputs) {
      contracts::produced_output p;
      p.key = out.key;
      p.path = "/simulated/outputs/" + o.task_id + "/"
               + std::to_string(o.attempt) + "/" + out.key + ".json";
      p.media_type = out.media_type;
      p.sha256 = contracts::to_hex(contracts::sha256(o.execution_id + "\n" + out.key));
      p.size = 64
               + static_cast<uint64_t>(
                 4096 * contracts::fault_draw(world->seed, draw_size,
                                              o.execution_id + "/" + out.key));
      o.outputs.push_back(std::move(p));
    }
    return o;
  }
};

void keep_beating(actors::pool_actor::stateful_pointer<sim_pool_state> self) {
  auto& st = self->state;
  if (st.ticking || !st.beating())
    return;
  st.ticking = true;
  self->delayed_send(self, beat_every, atom::tick_v);
}

actors::pool_actor::behavior_type
sim_pool(actors::pool_actor::stateful_pointer<sim_pool_state> self,
         std::string pool, std::shared_ptr<const sim_world> world) {
  self->state.pool = std::move(pool);
  self->state.world = std::move(world);
  return {
    [=](atom::dispatch, contracts::dispatch_order& order) {
      auto& st = self->state;
      if (!st.zenith)
        st.zenith = caf::actor_cast<actors::zenith_actor>(self->current_sender());
      sim_pool_state::attempt a;
      a.fault = contracts::decide(st.world->plan, order, st.pool);
      auto steps = 1
                   + static_cast<uint32_t>(
                     duration_steps
                     * contracts::fault_draw(st.world->seed, draw_duration,
                                             order.execution_id));
      a.duration = duration_step * std::min(steps, duration_steps);
      auto run = st.next_run++;
      st.by_execution[order.execution_id] = run;
      bool silent = a.fault && a.fault->kind == contracts::fault_kind::silent;
      if (!silent) {
        auto delay = a.duration;
        if (a.fault && a.fault->kind == contracts::fault_kind::slow)
          delay += a.fault->delay;
        self->delayed_send(self, delay, atom::done_v, run);
      }
      a.order = std::move(order);
      st.running.emplace(run, std::move(a));
      keep_beating(self);
    },
    [=](atom::cancel, const std::string& execution_id) {
      // A lost (silent) attempt Zenith gave up on, or a cancelled one: it
      // goes without an outcome.
      auto& st = self->state;
      auto i = st.by_execution.find(execution_id);
      if (i == st.by_execution.end())
        return;
      st.running.erase(i->second);
      st.by_execution.erase(i);
    },
    [=](atom::done, uint32_t run) {
      auto& st = self->state;
      auto i = st.running.find(run);
      if (i == st.running.end())
        return; // stopped meanwhile
      auto outcome = st.outcome_of(i->second);
      st.by_execution.erase(i->second.order.execution_id);
      st.running.erase(i);
      self->send(st.zenith, atom::result_v, std::move(outcome));
    },
    [=](atom::tick) {
      auto& st = self->state;
      st.ticking = false;
      for (auto& [run, a] : st.running)
        if (!a.fault || a.fault->kind != contracts::fault_kind::silent)
          self->send(st.zenith, atom::heartbeat_v, a.order.execution_id);
      keep_beating(self);
    },
  };
}

// -- the driver ----------------------------------------------------------------------------

/// The driver: registers the modules, then submits jobs when asked (`submit`
/// with a budget of tasks), each chain's next link as soon as Zenith
/// answered the one before (its promised output is the next one's input).
struct driver_state {
  static constexpr const char* name = "sim-driver";
  /// Creates the tasks and registers the modules.
  actors::zenith_actor zenith;
  /// The work to submit, and what the run loop reads.
  std::shared_ptr<sim_shared> shared;
};

using driver_pointer = caf::stateful_actor<driver_state>*;

/// The request of link `link` of job `j` (`prev`: the output promised by
/// the link before).
contracts::task_request request_for(const job& j, uint32_t link,
                                    const std::string& prev) {
  contracts::task_request r;
  r.mode = contracts::execution_mode::mock;
  r.requested_by = operator_name;
  if (link == 0) {
    r.module_ref = module_of(j.kind);
    r.values["n"] = std::to_string(j.n);
  } else {
    r.module_ref = "sim-step@1";
    r.input_mapping["prev"] = prev;
  }
  return r;
}

/// Submits link `link` of job `index`, then, once Zenith answered, the next
/// one; a refusal counts the links it kept from being submitted.
void submit_link(driver_pointer self, size_t index, uint32_t link,
                 std::string prev) {
  auto& st = self->state;
  auto j = st.shared->jobs[index];
  auto refused = [self, links = j.links, link](std::string why) {
    auto& sh = *self->state.shared;
    sh.rejected += links - link;
    sh.note_error(std::move(why));
  };
  self
    ->request(st.zenith, caf::infinite, atom::submit_v,
              request_for(j, link, prev))
    .then(
      [self, index, link, j, refused](contracts::submit_result& r) {
        if (!r.ok) {
          std::string why = "a submission was refused";
          if (!r.problems.empty())
            why += ": " + std::string{contracts::to_string(r.problems.front().code)}
                   + " " + r.problems.front().message;
          refused(std::move(why));
          return;
        }
        if (link + 1 >= j.links)
          return;
        auto out = r.task.outputs.find("result");
        if (out == r.task.outputs.end()) {
          refused("a chain link promised no output 'result'");
          return;
        }
        submit_link(self, index, link + 1, out->second);
      },
      [refused](caf::error& err) {
        refused("a submission failed: " + error_text(err));
      });
}

caf::behavior driver(driver_pointer self, actors::zenith_actor zenith,
                     std::shared_ptr<sim_shared> shared) {
  self->state.zenith = std::move(zenith);
  self->state.shared = std::move(shared);
  return {
    [=](atom::enroll) {
      for (auto& m : sim_modules()) {
        auto entry = contracts::check_module_text(
          m.text, "/simulated/modules/" + std::string{m.ref}, {});
        if (!entry) {
          self->state.shared->note_error("module " + std::string{m.ref}
                                         + " does not check: "
                                         + error_text(entry.error()));
          continue;
        }
        self
          ->request(self->state.zenith, caf::infinite, atom::enroll_v,
                    std::move(*entry), std::string{operator_name})
          .then([self](const std::string&) { ++self->state.shared->enrolled; },
                [self](caf::error& err) {
                  self->state.shared->note_error("cannot register a module: "
                                                 + error_text(err));
                });
      }
    },
    [=](atom::submit, uint64_t budget) {
      auto& sh = *self->state.shared;
      while (budget > 0 && sh.next_job < sh.jobs.size()) {
        auto index = sh.next_job++;
        auto links = sh.jobs[index].links;
        sh.submitted += links;
        budget -= std::min<uint64_t>(budget, links);
        submit_link(self, index, 0, {});
      }
    },
  };
}

// -- the run -------------------------------------------------------------------------------

/// The data folder of a run: made here, removed at the end unless kept.
struct run_folder {
  fs::path path;
  bool keep = false;
  ~run_folder() {
    if (keep || path.empty())
      return;
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

caf::error check_options(const simulation_options& o) {
  if (o.tasks == 0 || o.tasks > max_tasks)
    return make_error(ec::invalid_argument,
                      "--tasks must be 1 to " + std::to_string(max_tasks),
                      "/tasks");
  if (o.depth == 0 || o.depth > 64)
    return make_error(ec::invalid_argument, "--depth must be 1 to 64", "/depth");
  if (!(o.fail_rate >= 0 && o.fail_rate <= 1))
    return make_error(ec::invalid_argument, "--fail-rate must be in [0, 1]",
                      "/fail_rate");
  if (o.pools == 0 || o.pools > 8)
    return make_error(ec::invalid_argument, "pools must be 1 to 8", "/pools");
  if (o.workers == 0 || o.workers > 1000)
    return make_error(ec::invalid_argument, "workers must be 1 to 1000",
                      "/workers");
  if (o.window == 0)
    return make_error(ec::invalid_argument, "the window must be at least 1",
                      "/window");
  return {};
}

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

double rounded(double x, int digits) {
  auto scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

} // namespace

double simulation_result::tasks_per_second() const {
  auto finished = done + failed + skipped;
  return real_seconds > 0 ? static_cast<double>(finished) / real_seconds : 0;
}

double simulation_result::sim_per_real() const {
  return real_seconds > 0 ? simulated_seconds / real_seconds : 0;
}

caf::expected<simulation_result>
run_simulation(const simulation_options& options,
               const std::function<void(const simulation_progress&)>& progress) {
  if (auto err = check_options(options))
    return err;
  run_folder folder;
  std::error_code fs_err;
  if (!options.data_dir.empty()) {
    folder.path = options.data_dir;
    folder.keep = true;
    fs::create_directories(folder.path, fs_err);
    if (fs_err)
      return make_error(ec::io_error, "cannot create " + options.data_dir + ": "
                                        + fs_err.message());
    if (fs::exists(storage::database_path(options.data_dir), fs_err))
      return make_error(ec::invalid_argument,
                        options.data_dir
                          + " holds a database already: give --data a folder "
                            "without one (a simulation starts from nothing)",
                        "/data");
  } else {
    auto pattern
      = (fs::temp_directory_path(fs_err) / "omniva-simulate-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      return make_error(ec::io_error, "cannot create a temporary folder");
    folder.path = pattern;
  }
  storage::database_options db_opts;
  db_opts.sync = false; // nothing here must survive a machine crash
  auto opened = simulation_database::open(
    storage::database_path(folder.path.string()), db_opts);
  if (!opened)
    return opened.error();
  auto db = std::make_shared<storage::writable_database>(std::move(*opened));

  auto shared = std::make_shared<sim_shared>();
  shared->jobs = plan_jobs(options);
  auto& counts = shared->counts;
  counts.seed = options.seed;
  counts.tasks = options.tasks;
  counts.depth = options.depth;
  counts.fail_rate = options.fail_rate;
  if (folder.keep)
    counts.data_dir = folder.path.string();

  auto started = steady::now();
  {
    // Every actor on CAF's deterministic scheduler, run by this thread.
    caf::actor_system_config cfg;
    contracts::register_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    auto& clock = sched.clock();
    auto origin = clock.current_time;

    auto world = std::make_shared<sim_world>();
    world->plan = make_fault_plan(options.seed, options.fail_rate);
    world->seed = mix(options.seed);
    std::vector<contracts::pool_spec> specs;
    std::map<std::string, actors::pool_actor> pools;
    for (uint32_t i = 0; i < options.pools; ++i) {
      contracts::pool_spec p;
      p.name = std::string{"sim-"} + static_cast<char>('a' + i);
      p.workers = options.workers;
      p.cpu = 1;
      p.memory_gb = 1;
      specs.push_back(p);
      pools.emplace(p.name, sys.spawn(sim_pool, p.name,
                                      std::shared_ptr<const sim_world>{world}));
    }
    // The engines as the node runs them, but on this scheduler (Paradox
    // too: no audits are scheduled, and its duplicate lookups are seeks).
    omniva::eclipse::settings judgement;
    judgement.cooldown = breaker_cooldown;
    judgement.seed = options.seed;
    actors::engine_set engines;
    engines.paradox = sys.spawn(actors::paradox,
                                std::shared_ptr<const storage::reader>{db->read});
    engines.eclipse = sys.spawn(actors::eclipse, judgement);
    engines.lattice = sys.spawn(actors::lattice, omniva::lattice::settings{});
    engines.pantheon = sys.spawn(actors::pantheon, actors::pantheon_settings{});

    actors::zenith_config zc;
    zc.data_dir = folder.path.string();
    zc.pools = specs;
    zc.control_cycle = control_cycle;
    zc.heartbeat_timeout = heartbeat_timeout;
    zc.audit_interval = std::chrono::milliseconds{0};
    zc.write_thread = false;
    zc.make_ids = [seed = options.seed] {
      return std::make_unique<contracts::seeded_id_source>(mix(seed ^ salt_ids));
    };
    zc.make_clock = [&clock, origin] {
      return std::make_unique<virtual_clock>(clock, origin);
    };
    zc.on_commit = [shared](const std::vector<contracts::committed_event>& events) {
      shared->on_commit(events);
    };
    auto zenith = sys.spawn(actors::zenith, std::move(zc), db, pools, engines);
    auto drv = sys.spawn(driver, zenith, shared);

    auto stop_all = [&] {
      caf::anon_send_exit(drv, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(zenith, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.paradox, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.eclipse, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.lattice, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(engines.pantheon, caf::exit_reason::user_shutdown);
      for (auto& [name, pool] : pools)
        caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
      sched.run();
    };

    sched.run(); // Zenith recovers (and registers default@1)
    caf::anon_send(drv, atom::enroll_v);
    sched.run();
    if (shared->enrolled != sim_modules().size()) {
      stop_all();
      return make_error(ec::storage_error,
                        "the simulation cannot start: "
                          + (shared->first_error.empty()
                               ? std::string{"its modules were not registered"}
                               : shared->first_error));
    }

    auto virtual_seconds = [&] {
      return std::chrono::duration<double>(clock.current_time - origin).count();
    };
    auto report = [&] {
      if (progress)
        progress({shared->finished + shared->rejected, shared->submitted,
                  options.tasks, virtual_seconds()});
    };
    uint64_t seen_finished = 0;
    uint64_t seen_submitted = 0;
    auto last_move = clock.current_time;
    for (;;) {
      sched.run();
      auto ended = shared->finished + shared->rejected;
      bool all_started = shared->next_job == shared->jobs.size();
      if (all_started && ended >= shared->submitted)
        break;
      auto in_flight = shared->submitted - std::min(ended, shared->submitted);
      if (!all_started && in_flight < options.window) {
        caf::anon_send(drv, atom::submit_v, options.window - in_flight);
        continue;
      }
      report();
      if (ended != seen_finished || shared->submitted != seen_submitted) {
        seen_finished = ended;
        seen_submitted = shared->submitted;
        last_move = clock.current_time;
      } else if (clock.current_time - last_move > options.stall_after) {
        counts.stalled = true;
        break;
      }
      // Nothing left to run now: on to the next timer, and every other one
      // due at the same instant.
      if (!sched.trigger_timeout()) {
        counts.stalled = true;
        break;
      }
      sched.advance_time(caf::timespan{0});
    }
    counts.simulated_seconds = virtual_seconds();
    report();
    stop_all();
  }
  counts.real_seconds = seconds_since(started);
  counts.rejected = shared->rejected;
  counts.first_error = shared->first_error;
  auto ended = shared->finished + shared->rejected;
  counts.unfinished = options.tasks - std::min<uint64_t>(ended, options.tasks);

  auto verify_started = steady::now();
  auto head = db->read->head();
  if (!head)
    return head.error();
  counts.head = *head;
  auto verified = storage::verify(*db->read);
  counts.packets = verified.packets;
  counts.verify_ok = verified.ok;
  counts.verify_reason = verified.ok ? std::string{} : verified.reason;
  counts.verify_seconds = seconds_since(verify_started);
  db.reset(); // closes the database before the folder may go
  return counts;
}

json::value to_json(const simulation_result& x) {
  json::value out{json::object{}};
  out.set("seed", x.seed);
  out.set("tasks", x.tasks);
  out.set("depth", static_cast<uint64_t>(x.depth));
  out.set("fail_rate", x.fail_rate);
  out.set("done", x.done);
  out.set("reused", x.reused);
  out.set("failed", x.failed);
  out.set("upstream_failed", x.upstream_failed);
  out.set("skipped", x.skipped);
  out.set("rejected", x.rejected);
  out.set("unfinished", x.unfinished);
  out.set("retries", x.retries);
  out.set("attempt_failures", x.attempt_failures);
  out.set("lost_workers", x.lost_workers);
  out.set("poison", x.poison);
  out.set("quarantines_opened", x.quarantines_opened);
  out.set("quarantines_closed", x.quarantines_closed);
  out.set("probes", x.probes);
  out.set("duplicates", x.duplicates);
  out.set("packets", x.packets);
  out.set("tasks_per_second", rounded(x.tasks_per_second(), 1));
  out.set("simulated_seconds", rounded(x.simulated_seconds, 3));
  out.set("real_seconds", rounded(x.real_seconds, 3));
  out.set("verify_seconds", rounded(x.verify_seconds, 3));
  out.set("sim_per_real", rounded(x.sim_per_real(), 1));
  out.set("head", x.head);
  out.set("verify", x.verify_ok ? std::string{"ok"} : x.verify_reason);
  out.set("stalled", x.stalled);
  if (!x.first_error.empty())
    out.set("error", x.first_error);
  if (!x.data_dir.empty())
    out.set("data", x.data_dir);
  return out;
}

} // namespace omniva::runtime
