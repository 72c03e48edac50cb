#pragma once

// Every atom of the project, in one place: the verbs that tag messages
// between actors (`self->send(zenith, atom::submit_v, request)`).
//
// In CAF 0.17.6 an atom is `caf::atom_constant<caf::atom("...")>` (at most 10
// characters of [a-z0-9_]) and needs no slot in the type-ID block; they are
// declared with CAF_ADD_ATOM all the same so that moving to CAF 0.18 means
// moving these lines into `type_ids.hpp`'s block.
//
// CAF's own atoms (caf::get_atom, caf::put_atom, caf::ok_atom, caf::tick_atom,
// ...) are used where they fit; these are the verbs CAF does not have.

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

/// Submit work: a task request to Zenith, an execution to a worker pool.
CAF_ADD_ATOM(omniva, omniva::atom, submit, "submit")
/// Cancel a task.
CAF_ADD_ATOM(omniva, omniva::atom, cancel, "cancel")
/// Ask for the status of a task, an asset or an actor.
CAF_ADD_ATOM(omniva, omniva::atom, status, "status")
/// A barrier: answered once everything asked before it is committed.
CAF_ADD_ATOM(omniva, omniva::atom, sync, "sync")
/// The result of an execution, from a worker back to Zenith.
CAF_ADD_ATOM(omniva, omniva::atom, result, "result")
/// Hand a READY task to a worker pool.
CAF_ADD_ATOM(omniva, omniva::atom, dispatch, "dispatch")
/// Advice from an advisor (Paradox, Eclipse, Lattice, ...) to Zenith.
CAF_ADD_ATOM(omniva, omniva::atom, advice, "advice")
/// Propose a state change to Zenith, the only committer.
CAF_ADD_ATOM(omniva, omniva::atom, propose, "propose")
/// Ask HaloLux why a task, asset or trace is what it is.
CAF_ADD_ATOM(omniva, omniva::atom, explain, "explain")
/// A worker's or node's sign of life.
CAF_ADD_ATOM(omniva, omniva::atom, heartbeat, "heartbeat")

// -- the node's actors (actors/interfaces.hpp) --------------------------------
CAF_ADD_ATOM(omniva, omniva::atom, add, "add")
CAF_ADD_ATOM(omniva, omniva::atom, erase, "erase")
CAF_ADD_ATOM(omniva, omniva::atom, priority, "priority")
CAF_ADD_ATOM(omniva, omniva::atom, metrics, "metrics")
CAF_ADD_ATOM(omniva, omniva::atom, flush, "flush")
CAF_ADD_ATOM(omniva, omniva::atom, tick, "tick")
CAF_ADD_ATOM(omniva, omniva::atom, enroll, "enroll")
CAF_ADD_ATOM(omniva, omniva::atom, load, "load")
CAF_ADD_ATOM(omniva, omniva::atom, upload, "upload")
CAF_ADD_ATOM(omniva, omniva::atom, value, "value")
CAF_ADD_ATOM(omniva, omniva::atom, done, "done")
/// A sealed commit was written (Zenith's write thread, back to Zenith).
CAF_ADD_ATOM(omniva, omniva::atom, written, "written")
/// Register a JSON Schema of the registry (to Zenith, to the registry).
CAF_ADD_ATOM(omniva, omniva::atom, schema, "schema")
/// Register a policy of the registry.
CAF_ADD_ATOM(omniva, omniva::atom, policy, "policy")
/// Load the registry's module folders again.
CAF_ADD_ATOM(omniva, omniva::atom, rescan, "rescan")
/// Retention: run a pass (to the janitor), record what it removes (to Zenith).
CAF_ADD_ATOM(omniva, omniva::atom, purge, "purge")
/// Create, revoke or rotate a named API token (to Zenith).
CAF_ADD_ATOM(omniva, omniva::atom, token, "token")
/// Create or remove a webhook (to Zenith).
CAF_ADD_ATOM(omniva, omniva::atom, webhook, "webhook")
/// Clear new tasks (to Paradox).
CAF_ADD_ATOM(omniva, omniva::atom, clear, "clear")
/// Attempt reports (to Eclipse).
CAF_ADD_ATOM(omniva, omniva::atom, report, "report")
/// Route READY tasks (to Lattice).
CAF_ADD_ATOM(omniva, omniva::atom, route, "route")
/// Run an audit (to Zenith, which asks Paradox).
CAF_ADD_ATOM(omniva, omniva::atom, audit, "audit")
/// Add or remove a quarantine (to Zenith); a breaker's new state (to Eclipse).
CAF_ADD_ATOM(omniva, omniva::atom, quarantine, "quarantine")
/// An operator's retry of a failed or cancelled task (to Zenith).
CAF_ADD_ATOM(omniva, omniva::atom, retry, "retry")
/// Internal: a timer of Zenith's came due (a retry's backoff, a cool-down).
CAF_ADD_ATOM(omniva, omniva::atom, due, "due")
// Pipelines: register one; start or change a run; read runs; triggers.
CAF_ADD_ATOM(omniva, omniva::atom, pipeline, "pipeline")
CAF_ADD_ATOM(omniva, omniva::atom, run, "run")
CAF_ADD_ATOM(omniva, omniva::atom, view, "view")
CAF_ADD_ATOM(omniva, omniva::atom, trigger, "trigger")
/// Vote on clip candidates (to Pantheon).
CAF_ADD_ATOM(omniva, omniva::atom, vote, "vote")
/// Register personas `name@N` for Pantheon (to Zenith).
CAF_ADD_ATOM(omniva, omniva::atom, personas, "personas")
/// Read or change budgets, quotas and leases (to Zenith; docs/policies.md).
CAF_ADD_ATOM(omniva, omniva::atom, limits, "limits")
/// Register a predicate entry `name@N` (to Zenith; docs/policies.md).
CAF_ADD_ATOM(omniva, omniva::atom, predicate, "predicate")
