#pragma once

// Zenith: the only actor that commits state. It holds the storage committer,
// keeps the node's state in memory (modules, assets, tasks), runs pre-flight
// on submissions, applies the status state machines, tracks readiness, and
// writes every change as packets plus state rows in one commit per drained
// mailbox (group commit). Replies, dispatches and events leave only after
// the commit that justifies them.

#include "actors/interfaces.hpp"
#include "contracts/defaults.hpp"
#include "contracts/histogram.hpp"
#include "contracts/ids.hpp"
#include "contracts/limits.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/pantheon.hpp"
#include "contracts/preflight.hpp"
#include "contracts/registry_store.hpp"
#include "storage/commit.hpp"
#include "storage/relocation.hpp"

#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace omniva::actors {

using contracts::committed_event;

/// How Zenith runs.
struct zenith_config {
  /// The node's data folder (outputs go to `<data>/outputs/...`).
  std::string data_dir;
  /// The worker pools tasks may be routed to.
  std::vector<contracts::pool_spec> pools;
  /// The control cycle (housekeeping). Default: 30 s.
  std::chrono::milliseconds control_cycle
    = defaults::scheduling::control_cycle;
  /// Run every task through the mock adapter (`omniva serve --mock`).
  /// Default: false.
  bool force_mock = defaults::node::force_mock;
  /// How long a RUNNING attempt may go without a heartbeat from its worker
  /// before the control cycle runs it again as a new attempt (the worker
  /// is taken for lost). Workers beat every few seconds while a module
  /// runs. Default: 60 s.
  std::chrono::milliseconds heartbeat_timeout
    = defaults::scheduling::heartbeat_timeout;
  /// How long an idempotency key is remembered after its task was created
  /// (the control cycle forgets older ones). Default: 24 h.
  std::chrono::milliseconds idempotency_window
    = defaults::scheduling::idempotency_window;
  /// Write commits on a thread of their own (the node does): Zenith seals
  /// a batch, hands it over and goes on with the next while RocksDB fills
  /// its memtables and syncs the log; effects still leave only after the
  /// write. Off: Zenith writes in its flush (deterministic actor tests).
  bool write_thread = false;
  /// The registered schemas and policies, shared with the node's readers
  /// (module checks, adapters, the HTTP API); Zenith fills it at recovery
  /// and after each commit that registers one. Default: a store of its own.
  std::shared_ptr<contracts::registry_store> registry;
  /// Called after each commit with every event it made durable, in log
  /// order; must be cheap and thread-safe (it runs on Zenith's thread).
  std::function<void(const std::vector<committed_event>&)> on_commit;
  /// Where the data folder was before (storage/relocation.hpp): a FILE
  /// input's uri under an earlier location is dispatched as the same path
  /// under `data_dir`. Default: never moved.
  storage::data_relocation relocation;
  /// How often the control cycle has Paradox audit the state and the
  /// lineage (`omniva.audit-interval-ms`); zero: only on demand. Default:
  /// one hour.
  std::chrono::milliseconds audit_interval
    = defaults::scheduling::audit_interval;
  /// Where ids come from; unset: random UUIDs. A simulation seeds them.
  std::function<std::unique_ptr<contracts::id_source>()> make_ids;
  /// The clock of timestamps, backoffs and heartbeat silences; unset: the
  /// system clock (and a steady clock for silences). A simulation gives its
  /// virtual clock.
  std::function<std::unique_ptr<contracts::clock_source>()> make_clock;
};

/// What one flush does after its commit.
struct zenith_effects {
  std::vector<std::function<void()>> replies;
  /// For each request answered in `replies`: answers it with an error
  /// instead, when the commit will never be written (the node stops, or a
  /// write failed), so that no caller waits forever.
  std::vector<std::function<void(const caf::error&)>> aborts;
  std::vector<std::pair<std::string, contracts::dispatch_order>> dispatches;
  /// Attempts to stop, (pool, execution id): those taken for lost and those
  /// of cancelled RUNNING tasks. Their pools stop them (sent before the
  /// dispatches, so a pool holds a task's re-run until its lost attempt
  /// ended).
  std::vector<std::pair<std::string, std::string>> stops;
  /// Entities whose history ended in this commit, with the id of their last
  /// packet: once the commit is written, `last_packet` forgets each whose
  /// entry still names that packet (a later packet would find it in the
  /// log with one seek).
  std::vector<std::pair<std::string, std::string>> forget;
  std::vector<committed_event> events;
  /// New tasks for Paradox to clear (docs/engines.md).
  std::vector<contracts::clearance_item> clearances;
  /// READY tasks (and new tasks whose inputs are all AVAILABLE) for Lattice
  /// to route; the pools are described when the request leaves.
  std::vector<contracts::route_request> routes;
  /// Fan-outs for Pantheon to vote on (`select` by "pantheon").
  std::vector<contracts::pantheon_ballot> ballots;
  /// Attempt ends for Eclipse (failures and successes).
  std::vector<contracts::attempt_report> reports;
  /// Quarantine states Zenith committed, for Eclipse's breakers: (target,
  /// "open" | "half_open" | "closed").
  std::vector<std::pair<std::string, std::string>> breaker_notes;
  /// When the seal of the commit began; none when there was nothing to
  /// write. `omniva_commit_seconds` measures from here to the write being
  /// durable.
  std::optional<std::chrono::steady_clock::time_point> sealed_at;
};

/// What the write thread reported, token -> error (none: written), for the
/// commits whose `written` message Zenith has not handled yet. Filled on the
/// write thread, read on Zenith's: when Zenith stops it drains the thread
/// and answers each request held by a commit in flight by what became of
/// that very commit.
struct write_reports {
  std::mutex mtx;
  std::map<uint64_t, caf::error> done;
  /// token -> when the write thread finished writing it (durable), for
  /// the commit latency: Zenith handles `written` later, behind its
  /// mailbox.
  std::map<uint64_t, std::chrono::steady_clock::time_point> written_at;
};

/// Zenith's state. The methods down to `metrics_text` are the node's rules
/// and are testable without an actor system; those of "the actor's side"
/// send, reply and schedule through `self`, which the behavior sets.
struct zenith_state {
  static constexpr const char* name = "zenith";

  // -- configuration and capabilities
  zenith_config config;
  /// The database: its reader and the one committer.
  std::shared_ptr<storage::writable_database> db;
  std::unique_ptr<contracts::id_source> ids;
  std::unique_ptr<contracts::clock_source> clock;
  /// Measures heartbeat silences; when unset, `clock` does (the state tests'
  /// manual clock). The actor sets a steady clock: setting the wall clock
  /// forward must not make every running attempt look lost.
  std::unique_ptr<contracts::clock_source> span_clock;

  // -- the node's state, as committed
  std::map<std::string, contracts::module_entry> modules;
  std::unordered_map<std::string, contracts::asset_record> assets;
  std::unordered_map<std::string, contracts::task_record> tasks;
  /// idempotency key -> task id, for the keys of tasks created within
  /// `config.idempotency_window`.
  std::unordered_map<std::string, std::string> idempotency;
  /// The keys of `idempotency` with the creation time of their tasks, oldest
  /// first: the control cycle forgets them from the front.
  std::deque<std::pair<contracts::timestamp, std::string>> idempotency_order;
  /// PENDING asset id -> the PENDING tasks waiting for it.
  std::unordered_map<std::string, std::vector<std::string>> waiting;
  /// The place of a READY task in `ready`: (-priority, order of readiness,
  /// task id). The priority is negated in 64 bits: -INT32_MIN does not fit
  /// in 32.
  using ready_key = std::tuple<int64_t, uint64_t, std::string>;
  /// A READY task routed by Lattice, in its pool's queue: (rank, order of
  /// arrival, task id); the lowest rank goes first (priority with ageing).
  using queue_key = std::tuple<int64_t, uint64_t, std::string>;
  /// pool -> the READY tasks routed to it.
  std::map<std::string, std::set<queue_key>> queues;
  /// A queued task: its place, and the directive that put it there.
  struct queued_task {
    std::string pool;
    queue_key key;
    contracts::route_directive route;
  };
  /// task id -> where it is queued.
  std::unordered_map<std::string, queued_task> queued;
  uint64_t queue_order = 0;
  /// Tasks asked of Lattice whose route has not come back yet.
  std::unordered_set<std::string> routing;
  /// Routes that came back for tasks not READY yet (asked together with
  /// their clearance); used once they are.
  std::unordered_map<std::string, contracts::route_directive> early_routes;
  /// READY tasks Lattice found no pool for (every pool that fits is
  /// quarantined): routed again when a quarantine ends.
  std::set<std::string> unroutable;
  /// task id -> the pool its last attempt failed in (a retry prefers
  /// another).
  std::unordered_map<std::string, std::string> avoid_pool;
  /// New tasks sent to Paradox whose advice has not come back yet.
  std::unordered_set<std::string> clearing;
  /// identical task -> the tasks waiting to reuse its outputs.
  std::unordered_map<std::string, std::vector<std::string>> reuse_waiting;
  /// RUNNING tasks whose attempt failed, waiting for Eclipse's plan: the
  /// report sent.
  std::unordered_map<std::string, contracts::attempt_report> awaiting_plan;
  /// Retries waiting out their backoff: when -> task id.
  std::multimap<contracts::timestamp, std::string> backoffs;
  /// Breakers cooling down: when the probe may go -> target.
  std::multimap<contracts::timestamp, std::string> cooldowns;
  /// The earliest `due` scheduled; none when none is.
  std::optional<contracts::timestamp> next_due;
  /// Quarantines in force, by target (`module:<ref>`, `pool:<name>`).
  std::map<std::string, contracts::quarantine_record> quarantines;
  /// task id -> the quarantine target whose probe it is.
  std::unordered_map<std::string, std::string> probe_of;
  /// Modules and pools (as quarantine targets) with a failure reported to
  /// Eclipse and no success since: only their successes are reported.
  std::unordered_set<std::string> failing;
  /// When the last scheduled audit was asked for.
  std::optional<contracts::timestamp> last_audit;
  /// RUNNING task id -> when its worker last gave a sign of life (the
  /// dispatch counts as one). Not committed: a restart re-runs RUNNING
  /// tasks anyway.
  std::unordered_map<std::string, contracts::timestamp> last_beat;
  /// pool name -> free worker slots.
  std::map<std::string, uint32_t> free_slots;
  /// entity (task, asset, module) -> id of its last packet, for the
  /// entities whose history may go on: a task's entry goes once the commit
  /// that ended it is written (see `zenith_effects::forget`).
  std::unordered_map<std::string, std::string> last_packet;
  /// Where a packet finds the id of the last packet of an entity that is not
  /// in `last_packet`: the log (one backward seek). A failed read fails the
  /// commit (`parent_read_error`): a packet never silently loses a parent.
  /// Tests may replace it.
  std::function<caf::expected<std::string>(std::string_view)> parent_lookup;
  /// The first failed parent read since the last seal; the next seal fails
  /// with it.
  caf::error parent_read_error;
  /// Registered schemas: ref -> canonical document (immutability checks).
  std::map<std::string, std::string> schemas;
  /// Registered policies, by ref.
  std::map<std::string, contracts::policy_entry> policies;
  /// Registered predicate entries (not the shipped ones), by ref.
  std::map<std::string, contracts::predicate_entry> predicate_entries;
  /// Named API tokens, by name (rows `token:<name>` of table tokens).
  std::map<std::string, contracts::token_record> tokens;
  /// Webhooks, by id (rows of table webhooks).
  std::map<std::string, contracts::webhook_record> webhooks;
  /// Pre-flight resolves schema ids through `config.registry`.
  contracts::preflight_options preflight_settings;

  // -- pipelines and runs (actors/zenith_runs.cpp, docs/pipelines.md)

  /// A run in memory: its row, and what the engine derives from its tasks
  /// (rebuilt from them at recovery).
  struct run_state {
    contracts::run_record record;
    std::shared_ptr<const contracts::pipeline_spec> pipeline;
    /// "<step>#<branch>" -> the task of that step in that branch.
    std::unordered_map<std::string, std::string> instances;
    /// step -> (branch, task id) in creation order.
    std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      by_step;
    /// The run's tasks, in creation order.
    std::vector<std::string> task_order;
    /// Tasks of the run not ended.
    size_t open = 0;
    /// Fan-outs waiting for their list: "<step>#<branch>" -> the list
    /// asset.
    std::map<std::string, std::string> fan_waiting;
    /// Fan-outs waiting for Pantheon's vote (`select` by "pantheon"):
    /// "<step>#<branch>" -> the list asset. Not persisted: after a
    /// restart the fan-out asks again (the vote is deterministic).
    std::map<std::string, std::string> vote_waiting;
    /// Branches opened by each `for_each` step.
    std::map<std::string, std::set<std::string>> branches;
    /// Collect gates: "<collect step>#<branch prefix>" -> tasks (and
    /// waiting fan-outs) upstream of it, not ended, under that prefix.
    std::unordered_map<std::string, size_t> gate;
    /// Tasks of it that a retry replaced (a `collect` that ran again, and
    /// what followed from it): history, not counted any more.
    std::unordered_set<std::string> superseded;
    /// READY tasks held back from dispatch while the run is PAUSED, with
    /// the route they had.
    std::vector<std::pair<std::string, contracts::route_directive>> parked;
  };
  /// Registered pipelines, by ref (published to `config.registry` once
  /// their commit is written).
  std::map<std::string, std::shared_ptr<const contracts::pipeline_spec>>
    pipelines;
  /// The priority deltas of tasks made from promoted clip candidates
  /// (`lattice::priority_delta_of` their `lattice_priority`), given to
  /// Lattice with their first route. In memory: after a restart, or on a
  /// retry, they are routed without it.
  std::unordered_map<std::string, int32_t> route_deltas;
  /// Runs by id.
  std::unordered_map<std::string, run_state> runs;
  /// The element assets a `many` output produced in the result being
  /// applied (their rows follow its `task.succeeded`).
  std::vector<std::string> settled_elements;
  /// task id -> the element assets its `many` outputs produced (files of
  /// its folder that are not its promised outputs: retention purges them
  /// with the folder, and keeps the folder while one is held).
  std::unordered_map<std::string, std::vector<std::string>> elements_of;
  /// Run ids, oldest first (GET /api/runs pages newest first).
  std::vector<std::string> run_order;
  /// List asset id -> the fan-outs ("<run>\n<step>#<branch>") waiting for
  /// it to become AVAILABLE.
  std::unordered_map<std::string, std::vector<std::string>> fan_watch;
  /// Tasks of runs that ended (-1) or were revived by a retry (+1) since
  /// the runs last advanced.
  std::vector<std::pair<std::string, int>> run_ended;
  /// Triggers by id.
  std::map<std::string, contracts::trigger_record> triggers;
  /// Personas Pantheon may vote with, registered as `name@N`
  /// (docs/engines.md, "Pantheon"): the entry, and its document as
  /// registered (canonical JSON, what immutability compares).
  struct personas_slot {
    pantheon::personas entry;
    std::string canonical_json;
  };
  /// Personas by ref (rows of table `personas`); the built-in `personas@1`
  /// is always there, without a row.
  std::map<std::string, personas_slot> personas = built_in_personas();
  /// `personas@1` alone: what a state starts with.
  static std::map<std::string, personas_slot> built_in_personas();

  /// Registers a pipeline document: checked whole against the registered
  /// modules and schemas (`pipeline.registered`, a row in `pipelines`).
  contracts::pipeline_registration register_pipeline(const std::string& text);
  /// Registers personas `ref` from the document `text`
  /// (`pantheon::check_personas_text`: every problem with its pointer):
  /// `personas.registered` (subject the ref) and a row in `personas`. The
  /// same document again is `unchanged`; another under a held ref
  /// (`personas@1` included) is `immutable_ref`.
  contracts::personas_registration register_personas(const std::string& ref,
                                                     const std::string& text);
  /// Starts a run: checks the request against the pipeline's inputs,
  /// writes `run.started` and creates the root branch's tasks. With
  /// `check_only`, only checks (a trigger's inputs): nothing is written.
  contracts::run_result start_run(const contracts::run_request& req,
                                  bool check_only = false);
  /// An operator's cancel, pause, resume or retry of a run.
  caf::expected<contracts::run_record>
  change_run(const contracts::run_change& change);
  /// The run as `GET /api/runs/{id}` shows it.
  caf::expected<std::string> run_view(const std::string& run_id) const;
  /// A page of runs as `GET /api/runs` shows it.
  caf::expected<std::string> run_page(const contracts::run_query& q) const;
  /// Creates or removes a trigger.
  caf::expected<contracts::trigger_record>
  change_trigger(const contracts::trigger_change& change);
  /// Starts the runs of the triggers whose start came (one run each, however
  /// many starts were missed) and schedules the next; called by the control
  /// cycle, `due`, and once after recovery.
  void fire_triggers();
  /// Advances the runs whose tasks ended (fan-outs, collects, the runs'
  /// ends); `flush` calls it before it seals.
  void advance_runs();
  /// Marks the outputs of a DONE task AVAILABLE from its outcome: single
  /// outputs as they are, a `many` output as its element assets plus the
  /// list asset listing them. Adds the element ids to `subjects`.
  void settle_outputs(contracts::task_record& t,
                      const contracts::execution_outcome& o,
                      std::vector<std::string>& subjects, json::value& outputs);

  // -- limits: budgets, quotas, leases (actors/zenith_limits.cpp,
  // docs/policies.md)

  /// Named budgets ("budget:<name>") and the spend of runs whose policy
  /// caps them ("run:<run id>"), by subject.
  std::map<std::string, contracts::budget_record> budgets;
  /// Quotas, by subject ("quota:<name>").
  std::map<std::string, contracts::quota_record> quotas;
  /// Leases held, by subject ("lease:<prefix>"); a heartbeat of the
  /// holding attempt extends `expires_ms` in memory (the row keeps the
  /// expiry it was taken with).
  std::map<std::string, contracts::lease_record> leases;
  /// What a dispatched attempt holds until it is settled. Not committed:
  /// the budget rows carry the sums, and a restart settles every
  /// reservation at its worst case (the attempt may have spent it).
  struct reservation {
    uint32_t attempt = 0;
    int64_t usd_micro = 0;
    /// The budget subjects charged ("budget:x", "run:<id>").
    std::vector<std::string> scopes;
    /// The lease subjects held.
    std::vector<std::string> leases;
    /// The contract's cost (to estimate what the module did not report).
    contracts::cost_spec cost;
    contracts::timestamp dispatched_at;
  };
  /// RUNNING task id -> what its attempt holds.
  std::unordered_map<std::string, reservation> reservations;
  /// READY task id -> why admission holds it back (code and predicate), as
  /// last recorded in a `task.held` packet, and `limits_generation` then;
  /// erased when it is dispatched.
  struct held_reason {
    std::string reason;
    uint64_t generation = 0;
  };
  std::unordered_map<std::string, held_reason> held;
  /// Counts the changes of the limits (a row written, a window or lease
  /// timer come due): a held task is admitted again only when it moved on,
  /// so a queue of held tasks costs nothing while nothing changes.
  uint64_t limits_generation = 0;
  /// (when, subject): a window that resets or a lease that may expire.
  std::set<std::pair<contracts::timestamp, std::string>> limit_timers;
  /// Limits changed since the last `put_limits`.
  std::set<std::string> limits_touched;
  /// Limits whose rows changed in this batch -> the last packet that
  /// changed each: the rows are built once, when the batch is sealed
  /// (`write_limits`), however many packets of it changed them.
  std::map<std::string, size_t> limits_dirty;

  /// What admission decided for a task.
  struct admission {
    bool admitted = true;
    /// Not admitted and never will be (inputs that fail a predicate, more
    /// units than a quota window has): the task ends ERROR.
    bool fatal = false;
    contracts::ec code = contracts::ec::none;
    /// The predicate that decided (its id), or the limit ("budget:x").
    std::string predicate;
    /// What it saw, one sentence.
    std::string saw;
    /// When admitted: what the attempt takes.
    reservation taken;
    /// When admitted: the quotas charged, (subject, units).
    std::vector<std::pair<std::string, int64_t>> quota_units;
    /// The verdicts of its admission predicates (for the dispatch packet).
    json::array verdicts;
  };

  /// Whether dispatching `t` involves the limits at all (cost, admission
  /// predicates, write prefixes, a capped or budgeted run): the fast path
  /// of most tasks.
  bool needs_admission(const contracts::task_record& t,
                       const contracts::module_entry& m) const;

  /// Evaluates the admission of `t` now.
  admission admit(const contracts::task_record& t, const contracts::module_entry& m);

  /// Records why `t` is held back (`task.held`) unless that reason was the
  /// last recorded.
  void hold(contracts::task_record& t, const admission& a);

  /// Takes what `a` admitted for `t`'s attempt (reservation, quota units,
  /// leases) in memory; adds its subjects and the dispatch packet's
  /// `admission` member. The caller puts the rows with the packet
  /// (`put_limits`).
  void take(contracts::task_record& t, admission& a, json::value& payload,
            std::vector<std::string>& subjects);

  /// Settles the reservation of `t`'s attempt with the cost the module
  /// reported (-1: the contract's estimate; `worst_case`: the whole
  /// reservation, for an attempt that was lost or stopped) and releases its
  /// leases, in memory. Returns the `settled` member of the packet that
  /// records it and adds the subjects; null when the attempt held nothing.
  json::value settle(const contracts::task_record& t, int64_t reported,
                     bool worst_case, std::string_view why,
                     std::vector<std::string>& subjects);

  /// Settles in a `budget.settled` packet of its own (an attempt that
  /// failed, was lost, stopped or cancelled).
  void settle_alone(const contracts::task_record& t, int64_t reported,
                    bool worst_case, std::string_view why);

  /// Records that the limits changed since the last call are justified by
  /// `packet` (their rows are written at seal).
  void put_limits(size_t packet);

  /// Puts the row of each limit changed in this batch (or erases it),
  /// justified by the last packet that changed it; called by `seal`.
  void write_limits();

  /// Expires the leases whose time is up: `lease.expired`, and their
  /// attempts fail with `lease_lost` (transient) and are stopped.
  void expire_leases();

  /// Moves a budget's or quota's window on when it is over (in memory).
  void roll_window(contracts::budget_record& b, int64_t now_ms) const;
  void roll_window(contracts::quota_record& q, int64_t now_ms) const;

  /// The budget subjects a task of `m` in run `run_id` is charged to, with
  /// the named budget of its `budget.available` predicate.
  std::vector<std::string> scopes_of(const contracts::task_record& t,
                                     const contracts::module_entry& m) const;

  /// Loads budgets, quotas and leases; settles the reservations a restart
  /// ended and releases their leases (`budget.settled`, `lease.released`).
  caf::error recover_limits();

  /// Answers a limits request (list, show, create, set) as JSON text.
  caf::expected<std::string> limits(const contracts::limits_request& r);

  /// The run's spend record, made when a capped run's first task is
  /// dispatched.
  contracts::budget_record* run_budget(const std::string& run_id);

  // -- the commit being assembled
  storage::commit_batch batch;
  /// entity -> index (in `batch`) of its last packet in this batch.
  std::unordered_map<std::string, size_t> batch_last;
  /// Packet index -> its event (kind and entity; the id comes with the
  /// commit), in batch order.
  std::vector<committed_event> batch_events;
  /// Entities whose history ended in this batch (finished tasks, failed
  /// promises, deleted assets); see `zenith_effects::forget`.
  std::vector<std::string> batch_ended;
  zenith_effects effects;

  // -- counters for /metrics
  uint64_t commits = 0;
  uint64_t committed_packets = 0;
  uint64_t largest_batch = 0;
  double seal_seconds = 0;
  uint64_t submissions = 0;
  /// Submissions refused for their own problems (answered 422): structural
  /// ones found while reading the request, an unknown module, pre-flight,
  /// no capable pool. Each refused submission counts once.
  uint64_t rejections = 0;
  /// Submissions refused because their idempotency key names a task made
  /// from other work (answered 409): not counted in `rejections`.
  uint64_t idempotency_conflicts = 0;
  /// Per commit: from the start of its seal to its write being durable.
  contracts::histogram commit_latency;
  /// The status of each task's row as last loaded or written (`put_task`):
  /// what `task_counts` counts, so that counting needs no scan.
  std::unordered_map<std::string, contracts::task_status> row_status;
  /// Tasks by the status of their row (index: the status's value).
  std::array<uint64_t, contracts::all_task_statuses.size()> task_counts{};
  /// Since Zenith started: rows written with a status their task did not
  /// have before (a new task counts in its first status), by that status.
  std::array<uint64_t, contracts::all_task_statuses.size()> status_entries{};
  /// Since Zenith started: tasks created (their first row written).
  uint64_t tasks_created = 0;

  /// Loads the committed state and re-queues what was RUNNING as a new
  /// attempt (the node died under it). Fails on a storage error.
  caf::error recover();

  /// Pre-flights `req` and, when it passes, creates the task with its
  /// promised outputs (PENDING assets) and holds on its inputs. A request
  /// carrying `problems` (found while reading it) is refused with them
  /// first, then every problem Zenith finds in the rest of it (each once);
  /// it is never taken for a duplicate.
  contracts::submit_result submit(const contracts::task_request& req);
  /// `submit` for a run's step: the task names the run, step and branch,
  /// and its `task.created` follows from the run's last packet (the
  /// decision that created it).
  contracts::submit_result submit_for_run(const contracts::task_request& req,
                                          const std::string& run_id,
                                          const std::string& step,
                                          const std::string& branch);

  /// Applies a worker's report; ignored unless it is the current attempt of
  /// a RUNNING task. The report of an attempt of a CANCELLED task, whatever
  /// it says, changes nothing; the output folder of that attempt is removed
  /// (its pool normally did already).
  void on_result(const contracts::execution_outcome& outcome);

  /// The clock heartbeat silences are measured with.
  contracts::clock_source& beat_clock() const {
    return span_clock ? *span_clock : *clock;
  }

  /// Notes a worker's heartbeat for an attempt (`task_id/attempt`);
  /// ignored unless it is the current attempt of a RUNNING task.
  void on_heartbeat(const std::string& execution_id);

  /// The control cycle's heartbeat check: every RUNNING attempt silent for
  /// longer than `config.heartbeat_timeout` is run again as a new attempt
  /// (`task.requeued`); a late result of the lost one is ignored. Returns
  /// how many were requeued.
  size_t check_heartbeats();

  /// Forgets the idempotency keys of tasks created before the window
  /// (`config.idempotency_window`); returns how many.
  size_t forget_expired_keys();

  /// Removes the output folders of attempts that did not win
  /// (`<data>/outputs/<task>/<n>/` for an n below the task's attempt: a
  /// node that died, or a worker taken for lost, left them; every attempt
  /// of a CANCELLED task). Called by `recover`, before any new attempt
  /// runs; returns how many went.
  size_t remove_superseded_outputs();

  /// Drops from `fx` the dispatches whose attempt is no longer the current
  /// one of a RUNNING task (re-queued, failed or cancelled while its commit
  /// was being written): a run is never sent after it was re-queued.
  /// Returns how many were dropped.
  size_t drop_stale_dispatches(zenith_effects& fx) const;

  /// Cancels a PENDING, READY or RUNNING task (`task.cancelled`): its
  /// promised outputs fail, every task waiting on them ends ERROR
  /// (`upstream_cancelled`, in cascade). A RUNNING task's attempt is
  /// stopped through its pool once the cancellation is committed (its slot
  /// counts as free at once); its late outcome is ignored. A finished task
  /// is `illegal_transition` and nothing is written.
  caf::expected<contracts::task_record> cancel(const std::string& task_id);

  /// Sets a task's priority (`task.priority_changed`); a finished task is
  /// `illegal_transition` and nothing is written.
  caf::expected<contracts::task_record> set_priority(const std::string& task_id,
                                                     int32_t priority);

  /// Registers a module; the same ref with other content is `immutable_ref`.
  caf::expected<std::string> enroll(const contracts::module_entry& entry);

  /// Registers a JSON Schema (`schema.registered`, a row in `schemas`);
  /// the same ref with other content is `immutable_ref`, the same content
  /// again changes nothing. The store sees it once the commit is done.
  caf::expected<std::string> register_schema(const contracts::schema_entry& entry);

  /// Registers a policy (`policy.registered`, a row in `policies`), under
  /// the same rules.
  caf::expected<std::string> register_policy(const contracts::policy_entry& entry);

  /// Registers a predicate entry `name@N` (`predicate.registered`, row of
  /// table `predicates`); immutable per ref, a shipped ref is invalid_ref.
  caf::expected<std::string>
  register_predicate(const contracts::predicate_entry& entry);

  /// Creates, revokes or rotates a named API token (`token.created`,
  /// `token.revoked`, `token.rotated`, subject `token:<name>`; the payload
  /// names the token, its role and expiry and `operator`, never the secret
  /// nor its hash). Answers the record (for a revoke, the one removed).
  /// Errors: the change's own problems (`check_token_change`); creating a
  /// name that exists is `immutable_ref`; revoking or rotating an unknown
  /// one is `not_found`; revoking or demoting the last admin that has not
  /// expired is `illegal_transition` (nobody could manage tokens any more).
  caf::expected<contracts::token_record>
  change_token(const contracts::token_change& change);

  /// Creates or removes a webhook (`webhook.created` / `webhook.removed`,
  /// subject its id; the payload holds its URL, events and `operator`,
  /// never its secret, which is a file of the data folder). Answers the
  /// record (for a remove, the one removed). Errors: the record's own
  /// problems (`check_webhook_record`, all at once); creating an id that
  /// exists is `invalid_argument`; removing an unknown one is `not_found`.
  caf::expected<contracts::webhook_record>
  change_webhook(const contracts::webhook_change& change);

  /// Records an asset (file work already done by the ledger).
  caf::expected<contracts::asset_record> add_asset(contracts::asset_record rec);

  /// Deletes an asset unless an unfinished task holds it (`asset_in_use`).
  caf::expected<std::string> erase_asset(const std::string& asset_id);

  /// Records what a retention pass removes (contracts/retention.hpp), each
  /// item checked again now: a task item needs its task finished, and for
  /// a whole folder no output held (its AVAILABLE FILE outputs become
  /// PURGED, `asset.purged`); an attempt item never names the task's last
  /// attempt; a blob must be referenced by no asset (PURGED ones aside).
  /// One `task.files_removed` per task item, one `blob.removed` per blob
  /// (subject `blob:<sha256>`), then `gc.completed` (subject `gc`), all on
  /// one new trace and naming the plan's operator; nothing when no item
  /// passes. Answers the items recorded (refused ones and those marked
  /// `recorded` counted in `skipped`). A dry run is `invalid_argument`.
  caf::expected<contracts::purge_plan> purge(const contracts::purge_plan& plan);

  /// Moves READY tasks from their pools' queues to free slots (RUNNING),
  /// adding their packets; passes over quarantined modules and pools (a
  /// half-open one lets one probe through).
  void dispatch_ready();

  // -- the engines' advice (actors/zenith_engines.cpp, docs/engines.md)

  /// Paradox's advice on a batch of new tasks: records `advice.paradox`
  /// and `decision.zenith`, then clears each task still waiting for it
  /// (READY when its inputs are AVAILABLE), binds it to an identical DONE
  /// task's outputs (`reuse`), has it wait for the identical task, or
  /// skips it (`block`).
  void on_paradox_advice(const contracts::paradox_advice& advice);

  /// Pantheon's votes on a fan-out's candidates: records
  /// `advice.pantheon` (the report, also an asset of its own) and fans out
  /// the candidates it keeps, each with its votes, its Lattice priority and
  /// a `clip_id` (promoted).
  void on_pantheon_advice(const contracts::pantheon_advice& advice);

  /// Lattice's routes: records `advice.lattice` and queues each READY task
  /// in its pool (a task not READY yet keeps its route for when it is).
  void on_lattice_advice(const contracts::lattice_advice& advice);

  /// Eclipse's plans and breaker changes: records `advice.eclipse` and
  /// `decision.zenith`, then retries (after the backoff), fails or poisons
  /// each task waiting for a plan, and opens or closes quarantines.
  void on_eclipse_advice(const contracts::eclipse_advice& advice);

  /// An operator adds or removes a quarantine (`operator.override`).
  /// Errors: a malformed target (`invalid_argument`, "/target"); removing
  /// one that is not there (`not_found`).
  caf::expected<contracts::quarantine_record>
  change_quarantine(const contracts::quarantine_change& change);

  /// An operator's retry of an ERROR or CANCELLED task (`operator.override`,
  /// `task.retried`): a new attempt; its outputs are promised again; the
  /// tasks that ended only because of it (`upstream_failed`,
  /// `upstream_cancelled`), in cascade, wait on it again (`task.revived`).
  /// Errors: `not_found`; `illegal_transition` for any other status, or
  /// when an input of it is FAILED, PURGED or gone (retry its producer).
  caf::expected<contracts::task_record> retry(const std::string& task_id);

  /// Records an audit's findings (`advice.paradox`, subjects `audits` and
  /// what the findings name); answers the report with its packet id once
  /// committed.
  caf::expected<contracts::audit_report>
  record_audit(contracts::audit_report report);

  /// Timers that came due: retries whose backoff is over become READY,
  /// breakers whose cool-down is over become half-open (one probe).
  void on_due();

  /// The pools as Lattice is shown them.
  std::vector<contracts::pool_view> pool_views() const;

  /// Commits the batch; on success returns the effects to run. A storage
  /// failure leaves memory ahead of the disk: the caller must stop the node
  /// (a restart recovers from the last commit).
  caf::expected<zenith_effects> commit();

  /// The first half of `commit`: seals the batch (packet ids known, later
  /// batches may name them as parents) and returns it with the effects to
  /// run once it is written. Writes nothing.
  caf::expected<std::pair<storage::sealed_commit, zenith_effects>> seal();

  /// Counts a commit made durable at `when` in `omniva_commit_seconds`
  /// (nothing when `fx` wrote nothing).
  void note_durable(const zenith_effects& fx,
                    std::chrono::steady_clock::time_point when);

  /// Prometheus text of the counters.
  std::string metrics_text() const;

  /// An error as the logs print it.
  static std::string error_text(const caf::error& err);
  /// The subjects of a packet that changes a task's status, outputs and
  /// holds: the task, its promised outputs and its inputs.
  static std::vector<std::string> subjects_of(const contracts::task_record& t);

  // -- the actor's side (needs `self`)

  /// The actor this state belongs to; null while tests drive the state
  /// directly.
  zenith_actor::stateful_pointer<zenith_state> self = nullptr;
  /// The worker pools orders are dispatched to, by name.
  std::map<std::string, pool_actor> pool_actors;
  /// The engines Zenith asks for advice.
  engine_set engines;

  /// Sends the engines what `fx` asks of them; their answers come back as
  /// responses and are committed like any other change.
  void ask_engines(zenith_effects& fx);

  /// Schedules a `due` for `when` unless one is scheduled earlier.
  void schedule_due(contracts::timestamp when);

  /// `audit`: has Paradox audit, then records the findings.
  caf::result<contracts::audit_report> handle_audit(const std::string& by);
  /// Whether a `flush` is in the mailbox: the first change after a flush
  /// schedules the next one, behind everything already queued (group
  /// commit).
  bool flush_pending = false;
  /// Whether a flush waits for the write thread, which holds
  /// `defaults::scheduling::max_commits_in_flight` commits already; it runs
  /// once the oldest is written, with everything that arrived meanwhile.
  bool flush_after_write = false;

  /// Schedules a flush behind the mailbox unless one is scheduled.
  void schedule_flush();

  /// Starts the write thread, which reports each commit it wrote with
  /// `written`.
  void start_write_thread();

  /// What a commit makes happen once it is durable: the replies, the
  /// dispatches (each attempt's silence counts from here) and the events.
  void run_effects(zenith_effects& fx);

  /// Lets the write thread write (or refuse) what it holds, stops it, and
  /// answers the requests of every commit in flight by what became of that
  /// commit: written, its replies and events; not, the error the write
  /// thread reported for it (`outcome_unknown` when it may be durable).
  /// Dispatches are not sent: the node is stopping.
  void settle_in_flight();

  /// Answers every request of the batch not handed to the write thread
  /// with `err` (its changes will never be written).
  void abort_pending(const caf::error& err);

  /// Stops the actor after a failed seal or commit (memory is ahead of the
  /// disk; a restart recovers from the last commit), answering every
  /// request that waited: exactly one answer each.
  void stop_on(const caf::error& err);

  /// Dispatches what can run and commits: writes here, or seals here and
  /// hands the commit to the write thread.
  void flush();

  /// `flush`: flushes, unless the write thread is full (then the batch grows
  /// until `written`).
  void on_flush();

  /// `written`: runs the effects of the oldest commit in flight, or stops
  /// the node on a write error or a report out of order.
  void on_written(uint64_t token, const caf::error& err);

  /// `tick`: the control cycle; runs again what lost its worker, schedules
  /// a flush and the next tick.
  void on_tick();

  /// The exit handler: the write thread writes what it holds and those
  /// commits take effect; whatever else waits is answered with an error.
  void on_exit(const caf::exit_msg& msg);

  /// Answers a request: an error at once, a value only once the commit
  /// holding its change is durable.
  template <class T>
  caf::result<T> after_commit(caf::expected<T> r);

  /// `submit`: a refusal is answered at once, a task once it is committed.
  caf::result<contracts::submit_result>
  handle_submit(const contracts::task_request& req);

  /// `result`: applies the report and schedules a flush.
  void handle_result(const contracts::execution_outcome& outcome);

  /// The operator of the request being handled (the name of the API token
  /// that asked, "node" for the node's own work); "" outside a request.
  /// `add_packet` names it in the payload (`operator`) of every packet the
  /// request causes.
  std::string requester;
  /// Calls `f` with `requester` set to `by`, then clears it.
  template <class F>
  auto on_behalf_of(const std::string& by, F&& f) {
    requester = by;
    auto result = f();
    requester.clear();
    return result;
  }

  // -- the write thread (when `config.write_thread`); declared last so
  // that it stops, writing what it holds, before anything it writes with
  std::unique_ptr<storage::write_queue> writer;
  /// What the write thread reported and Zenith has not handled yet.
  std::shared_ptr<write_reports> reports = std::make_shared<write_reports>();
  /// Token of the next sealed commit, and the effects of those handed to
  /// the writer and not yet written, oldest first.
  uint64_t next_token = 0;
  std::deque<std::pair<uint64_t, zenith_effects>> in_flight;

private:
  /// Set by `submit_for_run` while it submits: the run, step and branch the
  /// new task belongs to.
  struct run_link_t {
    std::string run_id;
    std::string step;
    std::string branch;
  };
  const run_link_t* run_link = nullptr;
  /// Loads the committed schemas and policies into memory and the store;
  /// registers `default@1` when the database has none (a first start).
  caf::error recover_registry();
  /// Loads the committed tokens into `tokens`.
  caf::error recover_tokens();
  /// Loads the committed webhooks into `webhooks`.
  caf::error recover_webhooks();
  /// Loads the pipelines, runs and triggers, and rebuilds each run's
  /// derived state from its tasks (after the tasks are loaded).
  caf::error recover_runs();
  /// The run engine's steps (actors/zenith_runs.cpp).
  void open_branch(run_state& r, const std::vector<std::string>& scope,
                   const std::string& branch);
  bool try_create(run_state& r, const contracts::pipeline_step& s,
                  const std::string& branch, std::optional<size_t> decision,
                  const std::string& item_asset = {});
  /// Fans step `s` out over `list_asset` in `branch`. A `select` by
  /// "pantheon" first asks Pantheon (a ballot in the effects) and returns;
  /// `on_pantheon_advice` calls it again with the `advice`.
  void fan_out(run_state& r, const contracts::pipeline_step& s,
               const std::string& branch, const std::string& list_asset,
               const contracts::pantheon_advice* advice = nullptr);
  void try_collect(run_state& r, const contracts::pipeline_step& s,
                   const std::string& branch);
  void watch_fan_out(run_state& r, const contracts::pipeline_step& s,
                     const std::string& branch);
  void gate_change(run_state& r, const std::string& step,
                   const std::string& branch, int delta);
  void finish_run_if_done(run_state& r);
  void put_run(const contracts::run_record& r, size_t packet);
  /// Adds a packet about run `r` (subject the run id, its trace).
  size_t add_run_packet(run_state& r, std::string kind, json::value payload,
                        std::vector<std::string> extra_subjects = {});
  std::string now();
  size_t add_packet(std::string kind, std::vector<std::string> subjects,
                    const std::vector<std::string>& parent_entities,
                    json::value payload, const std::string& trace_id);
  /// `add_packet` for an engine's advice or a decision: `actor` names who
  /// gave it; `evidence`: the committer sets the payload's `evidence` to
  /// the packet's parents; `batch_parents`: packets of this batch (by
  /// index) that are parents too (the advice a decision follows).
  size_t add_packet_as(std::string kind, std::string actor,
                       std::vector<std::string> subjects,
                       const std::vector<std::string>& parent_entities,
                       json::value payload, const std::string& trace_id,
                       bool evidence, std::vector<size_t> batch_parents = {});
  /// The trace of a packet covering `task_ids`: theirs when they share
  /// one, else a new one.
  std::string batch_trace(const std::vector<std::string>& task_ids);
  /// Whether every input of `t` is AVAILABLE.
  bool inputs_available(const contracts::task_record& t) const;
  /// Asks Lattice to route `t` (with the effects), once.
  void ask_route(const contracts::task_record& t);
  /// Puts READY `t` in the queue Lattice chose (or `unroutable`).
  void enqueue(contracts::task_record& t, const contracts::route_directive& d);
  /// Records a failed attempt of RUNNING `t` (`task.attempt_failed`) and
  /// asks Eclipse for a plan; `t` stays RUNNING until it comes.
  void attempt_failed(contracts::task_record& t, std::string code,
                      std::string message, bool transient,
                      std::string pointer, bool lost);
  /// Ends PENDING `t` DONE with the outputs of DONE `from` (`task.reused`).
  void bind_reuse(contracts::task_record& t, const contracts::task_record& from);
  /// Ends PENDING `t` SKIPPED as a duplicate of `of` (`task.skipped`).
  void skip_task(contracts::task_record& t, const std::string& of);
  /// The task `id` ended without succeeding: the tasks waiting to reuse its
  /// outputs run themselves (`decision.zenith`).
  void release_reusers(const std::string& id);
  /// Sends the tasks queued on `pool` back to Lattice (it was quarantined).
  void reroute_pool(const std::string& pool);
  /// Sends the unroutable tasks back to Lattice (a quarantine ended).
  void reroute_unroutable();
  /// Writes `q`'s row (justified by `packet`, which names its target).
  void put_quarantine(const contracts::quarantine_record& q, size_t packet);
  /// Loads the committed quarantines (recover).
  caf::error recover_quarantines();
  /// The policy `t`'s module follows.
  contracts::policy_entry policy_of(const contracts::task_record& t) const;
  void put_task(const contracts::task_record& t, size_t packet);
  void put_asset(const contracts::asset_record& a, size_t packet);
  void make_ready(contracts::task_record& t);
  /// Makes `t` READY with its `task.ready` packet and row; `woken_by`: the
  /// asset whose arrival made it runnable, if any (subject and parent too).
  void announce_ready(contracts::task_record& t,
                      const std::string& woken_by = {});
  /// Makes a RUNNING task PENDING again as a new attempt, with a
  /// `task.requeued` packet saying why; readiness is the caller's.
  void requeue(contracts::task_record& t, const std::string& reason,
               const std::string& not_before = {});
  /// Makes READY the tasks that waited for `asset_id` (now AVAILABLE) and
  /// wait for nothing else: cleared, no backoff, every input AVAILABLE.
  void wake_waiting(const std::string& asset_id);
  void unready(const std::string& task_id);
  void release_holds(const contracts::task_record& t);
  /// Fails `t` (ERROR) and its promised outputs, then, in cascade, every
  /// task waiting on them (`upstream_failed`). Adds the packets; a
  /// non-empty `pointer` (where in an output the error is) goes into the
  /// task's error and the `task.failed` payload (not into its dependants':
  /// the place is in `t`'s output, not in theirs).
  void fail_task(contracts::task_record& t, contracts::ec code,
                 std::string message, bool transient, size_t cause_packet,
                 bool cause_is_batch_packet, const std::string& pointer = {});
  /// Marks `t` ERROR with the error given and adds its `task.failed` packet,
  /// without touching what depends on it; answers the packet's index, or
  /// nullopt when `t` may not fail from its status (logged).
  std::optional<size_t> mark_failed(contracts::task_record& t,
                                    contracts::ec code, std::string message,
                                    bool transient, const std::string& pointer);
  /// `mark_failed` with a code given by name (a module's own code, from its
  /// output manifest, is kept as it is).
  std::optional<size_t> mark_failed(contracts::task_record& t,
                                    const std::string& code, std::string message,
                                    bool transient, const std::string& pointer);
  /// What the error of a task says when an input of it failed because `t`
  /// ended with `code`; for `upstream_cancelled`, it names `cancelled`, the
  /// task whose cancellation started the cascade.
  static std::string upstream_reason(const contracts::task_record& t,
                                     contracts::ec code,
                                     const std::string& cancelled = {});
  /// A refusal of operator action `what` ("cancelled", ...) on finished
  /// task `t`: `illegal_transition`, naming its status.
  static caf::error refuse_finished(const contracts::task_record& t,
                                    std::string_view what);
  /// Writes the rows `packet` changed by ending `t` (failed or cancelled):
  /// the task, its inputs (their holds released), its PENDING outputs, now
  /// FAILED; then fails every PENDING task that waited on those outputs
  /// with `code` (`upstream_failed` or `upstream_cancelled`; message `why`),
  /// in cascade, the same code at every depth: depth first, on a stack of
  /// its own, so a chain of any depth ends without recursion.
  void end_task(const contracts::task_record& t, size_t packet,
                contracts::ec code, const std::string& why);
  std::optional<contracts::output_spec> promise_of(std::string_view asset_id) const;
  const contracts::pool_spec* pool_for(const contracts::module_contract& c) const;
};

/// Zenith's behavior.
zenith_actor::behavior_type
zenith(zenith_actor::stateful_pointer<zenith_state> self, zenith_config config,
       std::shared_ptr<storage::writable_database> db,
       std::map<std::string, pool_actor> pools, engine_set engines);

} // namespace omniva::actors
