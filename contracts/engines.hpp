#pragma once

// The messages between Zenith and the advisory engines (docs/engines.md):
// what Zenith asks Paradox, Eclipse, Lattice and HaloLux, and the typed
// advice they answer. Engines never change state: Zenith records each
// advice (`advice.<engine>`), decides, and records `decision.zenith` with
// its evidence in the same commit as the change. Plain structs with
// `inspect`, so they cross a network link unchanged.

#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/registry_messages.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

// -- Paradox: duplicates, before execution -------------------------------------------

/// A new task for Paradox to clear.
struct clearance_item {
  std::string task_id;
  std::string module_ref;
  /// The duplicate key (`paradox::duplicate_key`, 64 hex digits).
  std::string key;
  /// What the module's contract says about duplicates.
  duplicate_mode mode = duplicate_mode::allow;

  friend bool operator==(const clearance_item&, const clearance_item&) = default;
};

/// @relates clearance_item
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clearance_item& x) {
  return f(caf::meta::type_name("clearance_item"), x.task_id, x.module_ref,
           x.key, x.mode);
}

/// Paradox's advice on one new task.
struct clearance_advice {
  std::string task_id;
  /// `clear` (no identical task known), `ignore` (one is known, the
  /// contract allows duplicates), `reuse` or `block` (the contract's mode).
  std::string action;
  /// The earliest identical task known; empty for `clear`.
  std::string duplicate_of;
  /// The task's duplicate key.
  std::string key;

  friend bool operator==(const clearance_advice&, const clearance_advice&) = default;
};

/// @relates clearance_advice
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clearance_advice& x) {
  return f(caf::meta::type_name("clearance_advice"), x.task_id, x.action,
           x.duplicate_of, x.key);
}

/// Paradox's answer to one batch of new tasks, in the batch's order.
struct paradox_advice {
  std::vector<clearance_advice> items;

  friend bool operator==(const paradox_advice&, const paradox_advice&) = default;
};

/// @relates paradox_advice
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, paradox_advice& x) {
  return f(caf::meta::type_name("paradox_advice"), x.items);
}

/// One finding of an audit: the `conflict_resolution` document of the
/// interface spec (module-interfaces.md §4.1).
struct conflict_resolution {
  /// Which check found it: `available_without_producer`,
  /// `two_producers`, `done_with_missing_outputs`, `hold_on_finished_task`,
  /// `time_backwards` (docs/engines.md).
  std::string check;
  /// `low`, `medium`, `high` or `critical`.
  std::string severity;
  /// Paradox's recommendation: `block`, `quarantine` or `ignore`.
  std::string action;
  /// The ids concerned (tasks, assets, traces).
  std::vector<std::string> affected;
  /// Ids of the packets that show it (may be empty when what is missing is
  /// a packet).
  std::vector<std::string> evidence;
  /// One sentence a person understands.
  std::string message;

  friend bool operator==(const conflict_resolution&, const conflict_resolution&) = default;
};

/// @relates conflict_resolution
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conflict_resolution& x) {
  return f(caf::meta::type_name("conflict_resolution"), x.check, x.severity,
           x.action, x.affected, x.evidence, x.message);
}

/// JSON form: the members by name, `schema_version` added.
json::value to_json(const conflict_resolution& x);

/// What one audit found.
struct audit_report {
  /// UUIDv4 of the run (Zenith's `advice.paradox` packet names it).
  std::string audit_id;
  /// When the audit began and ended (ISO 8601 UTC).
  std::string started_at;
  std::string finished_at;
  /// How much it looked at.
  uint64_t tasks_checked = 0;
  uint64_t assets_checked = 0;
  uint64_t packets_checked = 0;
  std::vector<conflict_resolution> findings;
  /// Who asked: an operator's token name, or "schedule".
  std::string requested_by;
  /// Set by Zenith once recorded: the id of its `advice.paradox` packet.
  std::string packet_id;

  friend bool operator==(const audit_report&, const audit_report&) = default;
};

/// @relates audit_report
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_report& x) {
  return f(caf::meta::type_name("audit_report"), x.audit_id, x.started_at,
           x.finished_at, x.tasks_checked, x.assets_checked,
           x.packets_checked, x.findings, x.requested_by, x.packet_id);
}

/// JSON form (`GET /api/audits`, `omniva audit list --json`).
json::value to_json(const audit_report& x);

// -- Eclipse: failures, retries, quarantine ------------------------------------------

/// One attempt's end as Zenith reports it to Eclipse (successes too: they
/// close breakers and reset failure counts).
struct attempt_report {
  std::string task_id;
  std::string module_ref;
  /// The pool it ran in.
  std::string pool;
  uint32_t attempt = 1;
  bool ok = false;
  /// When it failed: the code (`exit_code`, `timeout`, `signal`,
  /// `lost_worker`, a module's own code from its output manifest, ...).
  std::string code;
  std::string message;
  /// Whether the module or adapter said a retry may help.
  bool transient = false;
  /// Attempts of the task lost with their worker so far, this one included.
  uint32_t lost_attempts = 0;
  /// Whether this attempt was the probe of a half-open breaker.
  bool probe = false;
  /// The policy of the task (for failures; empty ref for successes).
  policy_entry policy;

  friend bool operator==(const attempt_report&, const attempt_report&) = default;
};

/// @relates attempt_report
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_report& x) {
  return f(caf::meta::type_name("attempt_report"), x.task_id, x.module_ref,
           x.pool, x.attempt, x.ok, x.code, x.message, x.transient,
           x.lost_attempts, x.probe, x.policy);
}

/// Eclipse's plan for one failed attempt.
struct retry_plan {
  std::string task_id;
  /// The attempt that failed.
  uint32_t attempt = 1;
  /// `transient` or `deterministic`.
  std::string failure_class;
  /// `retry` (run again as attempt + 1 after `delay_ms`), `fail` (end
  /// ERROR with `code`) or `poison` (end ERROR `poison_task`).
  std::string action;
  /// The code the task ends with (`fail`, `poison`), else the failure's.
  std::string code;
  /// The pause before the retry, jitter included.
  uint32_t delay_ms = 0;
  /// A retry prefers another pool than this one (the one that failed).
  std::string avoid_pool;
  /// Why, in one sentence.
  std::string reason;

  friend bool operator==(const retry_plan&, const retry_plan&) = default;
};

/// @relates retry_plan
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retry_plan& x) {
  return f(caf::meta::type_name("retry_plan"), x.task_id, x.attempt,
           x.failure_class, x.action, x.code, x.delay_ms, x.avoid_pool,
           x.reason);
}

/// A circuit breaker's new state, as Eclipse advises it.
struct breaker_advice {
  /// `module:<name@N>` or `pool:<name>`.
  std::string target;
  /// `open` (quarantine it), `half_open` (let one probe through) or
  /// `closed` (release it: the readiness signal).
  std::string state;
  /// Consecutive failures counted.
  uint32_t failures = 0;
  /// `open`: how long before a probe may go, in ms.
  uint32_t cooldown_ms = 0;
  std::string reason;

  friend bool operator==(const breaker_advice&, const breaker_advice&) = default;
};

/// @relates breaker_advice
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, breaker_advice& x) {
  return f(caf::meta::type_name("breaker_advice"), x.target, x.state,
           x.failures, x.cooldown_ms, x.reason);
}

/// Eclipse's answer to one batch of attempt reports.
struct eclipse_advice {
  /// One per failed attempt of the batch, in its order.
  std::vector<retry_plan> plans;
  /// Breakers whose state changes.
  std::vector<breaker_advice> breakers;

  bool empty() const noexcept {
    return plans.empty() && breakers.empty();
  }

  friend bool operator==(const eclipse_advice&, const eclipse_advice&) = default;
};

/// @relates eclipse_advice
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eclipse_advice& x) {
  return f(caf::meta::type_name("eclipse_advice"), x.plans, x.breakers);
}

/// A quarantine: a module or pool nothing is dispatched to (a row of
/// `storage::table::quarantines`, `GET /api/quarantines`).
struct quarantine_record {
  /// `module:<name@N>` or `pool:<name>`.
  std::string target;
  /// `open` (nothing goes) or `half_open` (one probe may go).
  std::string state = "open";
  /// Who set it: `eclipse` (a breaker) or an operator's token name.
  std::string by;
  std::string reason;
  /// When it was set (ISO 8601 UTC).
  std::string since;
  /// A breaker's: when the probe may go (ISO 8601 UTC); empty for an
  /// operator's quarantine, which stays until removed.
  std::string probe_at;
  /// The task let through as the probe, while half-open.
  std::string probe_task;
  /// Consecutive failures that opened it.
  uint32_t failures = 0;

  friend bool operator==(const quarantine_record&, const quarantine_record&) = default;
};

/// @relates quarantine_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quarantine_record& x) {
  return f(caf::meta::type_name("quarantine_record"), x.target, x.state,
           x.by, x.reason, x.since, x.probe_at, x.probe_task, x.failures);
}

/// JSON form; empty members are omitted.
json::value to_json(const quarantine_record& x);

/// Reads the JSON form (a row); nullopt with problems when malformed.
std::optional<quarantine_record>
quarantine_record_from_json(const json::value& x, std::vector<problem>& problems);

/// Returns the quarantine target of a module (`module:<ref>`) or pool
/// (`pool:<name>`).
std::string module_target(std::string_view module_ref);
std::string pool_target(std::string_view pool);

/// Whether `target` is `module:<name@N>` or `pool:<name>` (a pool name:
/// letters, digits, '-', '_', '.').
bool is_quarantine_target(std::string_view target) noexcept;

/// An operator's quarantine request.
struct quarantine_change {
  /// true: add; false: remove.
  bool add = true;
  std::string target;
  std::string reason;
  /// The operator (the API token's name).
  std::string by;

  friend bool operator==(const quarantine_change&, const quarantine_change&) = default;
};

/// @relates quarantine_change
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quarantine_change& x) {
  return f(caf::meta::type_name("quarantine_change"), x.add, x.target,
           x.reason, x.by);
}

// -- Lattice: routing and priority ----------------------------------------------------

/// A READY task for Lattice to route.
struct route_request {
  std::string task_id;
  std::string module_ref;
  /// What it needs (the contract's resources).
  resource_spec resources;
  /// The task's priority, and a delta from data (a ClipCandidate's
  /// `lattice_priority`; 0 until the content pipeline gives one).
  int32_t priority = 0;
  int32_t priority_delta = 0;
  /// When it became READY, ms since the epoch of Zenith's clock (ageing).
  int64_t ready_at_ms = 0;
  /// A retry prefers another pool than this one (Eclipse's plan).
  std::string avoid_pool;

  friend bool operator==(const route_request&, const route_request&) = default;
};

/// @relates route_request
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_request& x) {
  return f(caf::meta::type_name("route_request"), x.task_id, x.module_ref,
           x.resources, x.priority, x.priority_delta, x.ready_at_ms,
           x.avoid_pool);
}

/// A pool as Zenith sees it when it asks for routes.
struct pool_view {
  pool_spec spec;
  /// Free worker slots now.
  uint32_t free = 0;
  /// Tasks routed to it and waiting for a slot.
  uint32_t queued = 0;
  /// Whether its breaker (or an operator) quarantined it: `open`,
  /// `half_open` or empty.
  std::string quarantine;

  friend bool operator==(const pool_view&, const pool_view&) = default;
};

/// @relates pool_view
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_view& x) {
  return f(caf::meta::type_name("pool_view"), x.spec, x.free, x.queued,
           x.quarantine);
}

/// One batch to route.
struct route_batch {
  std::vector<route_request> tasks;
  std::vector<pool_view> pools;

  friend bool operator==(const route_batch&, const route_batch&) = default;
};

/// @relates route_batch
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_batch& x) {
  return f(caf::meta::type_name("route_batch"), x.tasks, x.pools);
}

/// A pool Lattice did not choose, and why.
struct discarded_route {
  std::string pool;
  /// `does_not_fit`, `quarantined`, `avoided` (the pool that just failed),
  /// `lower_score`.
  std::string reason;
  double score = 0;

  friend bool operator==(const discarded_route&, const discarded_route&) = default;
};

/// @relates discarded_route
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, discarded_route& x) {
  return f(caf::meta::type_name("discarded_route"), x.pool, x.reason,
           x.score);
}

/// Lattice's directive for one task.
struct route_directive {
  std::string task_id;
  /// The pool chosen; empty when none fits (the task waits).
  std::string pool;
  double score = 0;
  /// Its place in the pool's queue: lower goes first. Priority with
  /// ageing: `ready_at_ms - (priority + delta) * ageing_ms`, so a task
  /// waiting `ageing_ms` longer counts one priority level more.
  int64_t rank = 0;
  /// Monotonic over every directive Lattice ever gave (per node run).
  uint64_t routing_sequence = 0;
  std::vector<discarded_route> discarded;

  friend bool operator==(const route_directive&, const route_directive&) = default;
};

/// @relates route_directive
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_directive& x) {
  return f(caf::meta::type_name("route_directive"), x.task_id, x.pool,
           x.score, x.rank, x.routing_sequence, x.discarded);
}

/// Lattice's answer to one batch, in its order.
struct lattice_advice {
  std::vector<route_directive> routes;

  friend bool operator==(const lattice_advice&, const lattice_advice&) = default;
};

/// @relates lattice_advice
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lattice_advice& x) {
  return f(caf::meta::type_name("lattice_advice"), x.routes);
}

// -- HaloLux: explanations ----------------------------------------------------------------

/// What to explain: a task, an asset or a trace id; a trace is paged.
struct explain_query {
  std::string id;
  /// Tasks per page of a trace (1 .. 1000; 0: the default, 100).
  uint32_t limit = 0;
  /// The `next_cursor` of the previous page; empty for the first.
  std::string cursor;

  friend bool operator==(const explain_query&, const explain_query&) = default;
};

/// @relates explain_query
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, explain_query& x) {
  return f(caf::meta::type_name("explain_query"), x.id, x.limit, x.cursor);
}

/// One statement of an explanation and the packet that shows it.
struct reasoning_step {
  std::string statement;
  std::string packet_id;

  friend bool operator==(const reasoning_step&, const reasoning_step&) = default;
};

/// @relates reasoning_step
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reasoning_step& x) {
  return f(caf::meta::type_name("reasoning_step"), x.statement, x.packet_id);
}

/// HaloLux's answer.
struct explanation {
  /// The id explained.
  std::string subject;
  /// `task`, `asset` or `trace`.
  std::string subject_kind;
  /// Plain sentences, in order.
  std::string narrative;
  std::vector<reasoning_step> chain;
  /// Evidence that should exist and does not, one sentence each.
  std::vector<std::string> missing;
  /// The share of expected evidence present, in [0, 1].
  double completeness = 0;
  /// A trace: the cursor of the next page, empty on the last.
  std::string next_cursor;

  friend bool operator==(const explanation&, const explanation&) = default;
};

/// @relates explanation
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, explanation& x) {
  return f(caf::meta::type_name("explanation"), x.subject, x.subject_kind,
           x.narrative, x.chain, x.missing, x.completeness, x.next_cursor);
}

/// JSON form: `subject`, `subject_kind`, `narrative`, `chain`
/// [{statement, packet_id}], `missing`, `completeness`, `next_cursor` (when
/// set).
json::value to_json(const explanation& x);

} // namespace omniva::contracts
