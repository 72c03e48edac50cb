#pragma once

// The map of the node: every typed actor and every handler, one line each.
// Only Zenith commits state; the others read, do blocking work off Zenith's
// thread, and propose.

#include "contracts/access.hpp"
#include "contracts/atoms.hpp"
#include "contracts/engines.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/pipeline.hpp"
#include "contracts/run.hpp"
#include "contracts/registry_messages.hpp"
#include "contracts/retention.hpp"
#include "contracts/type_ids.hpp"
#include "contracts/webhook.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace omniva::actors {

/// Zenith: the only actor that commits state (it owns the storage::committer).
///
/// A request made on someone's behalf names them: the last `std::string` of
/// cancel, priority, enroll, schema, policy, add and erase (and
/// `task_request::requested_by` of a submit) is the operator, the name of
/// the API token that asked ("node" for the node's own work). Every packet
/// the request causes carries it as the payload member `operator`.
using zenith_actor = caf::typed_actor<
  // Pre-flights a task request and creates the task, or answers every problem.
  caf::replies_to<atom::submit, contracts::task_request>::with<contracts::submit_result>,
  // A worker's report on one attempt (the adapters' outcome as is); a second
  // report for it is ignored.
  caf::reacts_to<atom::result, contracts::execution_outcome>,
  // A worker's sign of life while it runs an attempt (its execution id).
  caf::reacts_to<atom::heartbeat, std::string>,
  // Cancels a PENDING, READY or RUNNING task (a running attempt is stopped
  // through its pool); what waited on it ends ERROR upstream_cancelled. A
  // finished task: illegal_transition, nothing written.
  caf::replies_to<atom::cancel, std::string, std::string>::with<contracts::task_record>,
  // Sets a task's priority; a finished task: illegal_transition.
  caf::replies_to<atom::priority, std::string, int32_t, std::string>::with<contracts::task_record>,
  // Registers a module (immutable per ref); answers its ref.
  caf::replies_to<atom::enroll, contracts::module_entry, std::string>::with<std::string>,
  // Registers a JSON Schema (immutable per ref); answers its ref once readers see it.
  caf::replies_to<atom::schema, contracts::schema_entry, std::string>::with<std::string>,
  // Registers a policy (immutable per ref); answers its ref once readers see it.
  caf::replies_to<atom::policy, contracts::policy_entry, std::string>::with<std::string>,
  // Registers a predicate entry (immutable per ref); answers its ref once
  // readers see it.
  caf::replies_to<atom::predicate, contracts::predicate_entry, std::string>::with<std::string>,
  // Creates, revokes or rotates a named API token (`token.*` packets, row
  // `token:<name>`); answers the token's record (the revoked one for a revoke).
  caf::replies_to<atom::token, contracts::token_change>::with<contracts::token_record>,
  // Creates or removes a webhook (`webhook.created` / `webhook.removed`, its
  // row by id); answers its record (the removed one for a remove).
  caf::replies_to<atom::webhook, contracts::webhook_change>::with<contracts::webhook_record>,
  // Records an asset whose file work the ledger did; answers the stored record.
  caf::replies_to<atom::add, contracts::asset_record, std::string>::with<contracts::asset_record>,
  // Deletes an asset unless an unfinished task holds it; answers its id.
  caf::replies_to<atom::erase, std::string, std::string>::with<std::string>,
  // Records what a retention pass removes, each item checked again (task
  // finished, outputs not held, not purged yet, blob unreferenced): its
  // packets, the outputs PURGED; answers the items it recorded (the files
  // go only after this answer).
  caf::replies_to<atom::purge, contracts::purge_plan>::with<contracts::purge_plan>,
  // Adds or removes a quarantine (an operator's, `operator.override`);
  // answers the record (the removed one for a remove).
  caf::replies_to<atom::quarantine, contracts::quarantine_change>::with<contracts::quarantine_record>,
  // An operator's retry of an ERROR or CANCELLED task (task, operator): a
  // new attempt; what ended only because of it waits on it again.
  caf::replies_to<atom::retry, std::string, std::string>::with<contracts::task_record>,
  // Runs an audit now (the operator): Paradox audits, Zenith records the
  // findings (`advice.paradox`); answers the report.
  caf::replies_to<atom::audit, std::string>::with<contracts::audit_report>,
  // Prometheus text of Zenith's counters.
  caf::replies_to<atom::metrics>::with<std::string>,
  // Checks a pipeline document (text, operator) against the registered
  // modules and registers it (`pipeline.registered`); answers it or every
  // problem.
  caf::replies_to<atom::pipeline, std::string, std::string>::with<contracts::pipeline_registration>,
  // Checks personas for Pantheon (ref, document text, operator) and
  // registers them (`personas.registered`); answers them or every problem.
  caf::replies_to<atom::personas, std::string, std::string, std::string>::with<contracts::personas_registration>,
  // Starts a run of a pipeline (`run.started`, its root tasks); answers
  // the run or every problem.
  caf::replies_to<atom::run, contracts::run_request>::with<contracts::run_result>,
  // An operator's cancel, pause, resume or retry of a run; answers it.
  caf::replies_to<atom::run, contracts::run_change>::with<contracts::run_record>,
  // The run `id` as `GET /api/runs/{id}` shows it (JSON text); not_found.
  caf::replies_to<atom::view, std::string>::with<std::string>,
  // A page of runs as `GET /api/runs` shows it (JSON text).
  caf::replies_to<atom::view, contracts::run_query>::with<std::string>,
  // Creates or removes a trigger; answers it (the removed one).
  caf::replies_to<atom::trigger, contracts::trigger_change>::with<contracts::trigger_record>,
  // Every trigger, by id.
  caf::replies_to<atom::trigger>::with<std::vector<contracts::trigger_record>>,
  // Lists, shows, creates or changes budgets and quotas (`budget.created`,
  // `budget.changed`, `quota.*`); answers JSON text as the API shows it.
  caf::replies_to<atom::limits, contracts::limits_request>::with<std::string>,
  // A barrier: once everything asked before it is committed, answers how
  // many commits Zenith had made when asked (the node opens its API after
  // the recovery's commit).
  caf::replies_to<atom::sync>::with<uint64_t>,
  // Internal: commit what the drained mailbox produced (group commit).
  caf::reacts_to<atom::flush>,
  // Internal: the write thread wrote sealed commit N (or failed to).
  caf::reacts_to<atom::written, uint64_t, caf::error>,
  // Internal: the control cycle (housekeeping).
  caf::reacts_to<atom::tick>,
  // Internal: a timer came due (a retry's backoff, a breaker's cool-down).
  caf::reacts_to<atom::due>>;

/// Paradox: conflicts and duplicates, before execution (docs/engines.md).
/// Advises only; reads the database, never writes.
using paradox_actor = caf::typed_actor<
  // Clears a batch of new tasks: one advice per task, in order.
  caf::replies_to<atom::clear, std::vector<contracts::clearance_item>>::with<contracts::paradox_advice>,
  // Audits the state and the lineage (who asked); answers the findings.
  caf::replies_to<atom::audit, std::string>::with<contracts::audit_report>>;

/// Eclipse: failures, retries, circuit breakers (docs/engines.md).
using eclipse_actor = caf::typed_actor<
  // Attempt reports (failures and successes): retry plans and breaker
  // changes.
  caf::replies_to<atom::report, std::vector<contracts::attempt_report>>::with<contracts::eclipse_advice>,
  // A quarantine's state as Zenith committed it (target, "open",
  // "half_open" or "closed"): a breaker follows an operator's action and
  // the cool-downs Zenith let pass.
  caf::reacts_to<atom::quarantine, std::string, std::string>>;

/// Lattice: routing and priority (docs/engines.md).
using lattice_actor = caf::typed_actor<
  // Routes a batch of READY tasks over the pools as Zenith sees them.
  caf::replies_to<atom::route, contracts::route_batch>::with<contracts::lattice_advice>>;

/// Pantheon: persona votes on clip candidates (docs/engines.md).
using pantheon_actor = caf::typed_actor<
  // Votes on the candidates of one fan-out.
  caf::replies_to<atom::vote, contracts::pantheon_ballot>::with<contracts::pantheon_advice>>;

/// HaloLux: explanations from the lineage alone (docs/engines.md).
using halolux_actor = caf::typed_actor<
  // Explains a task, an asset or a trace (paged).
  caf::replies_to<atom::explain, contracts::explain_query>::with<contracts::explanation>>;

/// The engines Zenith asks for advice.
struct engine_set {
  paradox_actor paradox;
  eclipse_actor eclipse;
  lattice_actor lattice;
  /// Asked only by `select: {"by": "pantheon"}` fan-outs; a node without
  /// it leaves such a fan-out waiting (logged).
  pantheon_actor pantheon;
};

/// A worker pool: runs dispatched attempts on its workers, one at a time each.
using pool_actor = caf::typed_actor<
  // Runs one attempt on a free worker (or queues it); heartbeats and the
  // outcome go to the sender, Zenith.
  caf::reacts_to<atom::dispatch, contracts::dispatch_order>,
  // Stops an attempt (its execution id): dropped if queued; if running, its
  // process group is killed, its outputs removed, its outcome `cancelled`.
  caf::reacts_to<atom::cancel, std::string>,
  // Internal: a worker finished and is free again.
  caf::reacts_to<atom::done, uint32_t>,
  // Internal: heartbeats for the orders waiting for a worker.
  caf::reacts_to<atom::tick>>;

/// The asset ledger: file work (copy into the content-addressed store, hash,
/// media type) off Zenith's thread, then Zenith records the asset. The last
/// argument of each request is the operator (see `zenith_actor`).
using ledger_actor = caf::typed_actor<
  // Registers a file on the node's machine (under the allowed roots):
  // path, media type ("" = detect), label.
  caf::replies_to<atom::add, std::string, std::string, std::string, std::string>::with<contracts::asset_record>,
  // Registers an uploaded file (already in the store's tmp folder).
  caf::replies_to<atom::upload, std::string, std::string, std::string, std::string>::with<contracts::asset_record>,
  // Registers a VALUE asset: JSON text, dtype, label.
  caf::replies_to<atom::value, std::string, std::string, std::string, std::string>::with<contracts::asset_record>>;

/// The registry: loads module folders (modules, JSON Schemas, policies),
/// checks what it finds against the registered schemas, has Zenith commit it.
/// The last argument of each request is the operator (see `zenith_actor`).
using registry_actor = caf::typed_actor<
  // Loads every configured folder again; answers what became of each file.
  caf::replies_to<atom::rescan, std::string>::with<contracts::registry_report>,
  // Loads one module folder (its schemas, policies, module.json); answers the module's ref.
  caf::replies_to<atom::load, std::string, std::string>::with<std::string>,
  // Checks a module.json text (and its folder on the node, or "") and has it committed; answers its ref.
  caf::replies_to<atom::enroll, std::string, std::string, std::string>::with<std::string>,
  // Checks a schema document (ref, JSON text) and has it committed; answers its ref.
  caf::replies_to<atom::schema, std::string, std::string, std::string>::with<std::string>>;

/// The janitor: runs the retention passes (contracts/retention.hpp) off
/// Zenith's thread: plans from the database and the data folder, has Zenith
/// record what goes, then removes the files.
using janitor_actor = caf::typed_actor<
  // Runs a pass now: (dry run, operator); answers what went (or would go).
  caf::replies_to<atom::purge, bool, std::string>::with<contracts::purge_plan>,
  // Internal: the pass of the retention interval.
  caf::reacts_to<atom::tick>>;

} // namespace omniva::actors
