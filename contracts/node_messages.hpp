#pragma once

// The messages of the node's actors beyond the records of messages.hpp:
// what Zenith sends a worker pool, what a worker reports back, and Zenith's
// answers. Plain structs with `inspect`, so they cross a network link
// unchanged.

#include "contracts/error_code.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace omniva::contracts {

/// A worker pool from configuration: where modules may run.
struct pool_spec {
  std::string name;
  /// Tasks the pool runs at once.
  uint32_t workers = 1;
  /// Resources of one worker slot: a module fits when its contract asks for
  /// no more.
  double cpu = 1;
  double memory_gb = 1;
  bool gpu = false;

  friend bool operator==(const pool_spec&, const pool_spec&) = default;
};

/// @relates pool_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_spec& x) {
  return f(caf::meta::type_name("pool_spec"), x.name, x.workers, x.cpu,
           x.memory_gb, x.gpu);
}

/// Returns whether a module with `contract` may run in `pool`.
bool fits(const module_contract& contract, const pool_spec& pool) noexcept;

/// Parses "name:workers:cpu:memory_gb[:gpu]" ("default:2:4:8", "gpu:1:8:32:gpu").
std::optional<pool_spec> parse_pool_spec(std::string_view text);

// -- the worker boundary ------------------------------------------------------------
//
// `dispatch_order` and `execution_outcome` are the whole contract between
// Zenith and a worker, wherever the worker runs: the order says what to run
// and on what, the outcome what came of it (the envelope of DESIGN.md §7).
// Adapters (runtime/adapter.hpp) take the order and answer the outcome;
// nothing is copied into another shape on the way. Both are plain data
// with `inspect`, so they cross a network link unchanged; what only makes
// sense on the worker's machine (schema lookups, the heartbeat callback,
// secret values) travels beside them in the adapter's local context.

/// One input of a dispatched task, resolved for a worker: a file (ASSET) or
/// a value (VALUE).
struct dispatched_input {
  /// The contract's input key.
  std::string key;
  /// Whether this is a VALUE input (its JSON in `value_json`), else an
  /// ASSET (a file at `path`).
  bool is_value = false;
  /// ASSET: the absolute path of the file. VALUE: the asset's URI when the
  /// value is a registered asset, else empty; informational only (the
  /// local adapter gives the module its own copy of the value under
  /// `<output_dir>/inputs/`).
  std::string path;
  /// ASSET: the asset's media type. VALUE: its dtype when the value is a
  /// registered asset, else empty.
  std::string media_type;
  /// VALUE: the value as compact JSON text. Unused for ASSET inputs.
  std::string value_json;
  /// ASSET: the file's SHA-256 (64 lowercase hex digits) as the asset
  /// ledger recorded it; the mock adapter hashes the file when it is empty.
  std::string sha256;

  friend bool operator==(const dispatched_input&, const dispatched_input&) = default;
};

/// @relates dispatched_input
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatched_input& x) {
  return f(caf::meta::type_name("dispatched_input"), x.key, x.is_value,
           x.path, x.media_type, x.value_json, x.sha256);
}

/// Zenith's order to run one attempt of a task.
struct dispatch_order {
  /// "<task_id>/<attempt>": a second outcome for it is ignored, so retries
  /// never duplicate effects.
  std::string execution_id;
  /// The task as Zenith dispatched it: `task_id`, `attempt` (from 1) and
  /// `mode` (`real` runs the module, `mock` the mock adapter) matter to a
  /// worker.
  task_record task;
  /// The module's contract: what to run and what it promises.
  module_contract contract;
  /// The folder of the module's `module.json`: the working directory.
  std::string module_dir;
  /// The inputs, resolved (ASSET paths, VALUE values).
  std::vector<dispatched_input> inputs;
  /// `<data>/outputs/<task_id>/<attempt>/`; created by the adapter.
  std::string output_dir;

  friend bool operator==(const dispatch_order&, const dispatch_order&) = default;
};

/// @relates dispatch_order
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatch_order& x) {
  return f(caf::meta::type_name("dispatch_order"), x.execution_id, x.task,
           x.contract, x.module_dir, x.inputs, x.output_dir);
}

/// One output a run produced: an asset Zenith marks AVAILABLE.
struct produced_output {
  /// The contract's output key.
  std::string key;
  /// Absolute path, symbolic links resolved, inside the output directory.
  std::string path;
  /// The file's media type (as the module declared it or as detected).
  std::string media_type;
  /// SHA-256 of the content, 64 lowercase hex digits.
  std::string sha256;
  /// Size in bytes.
  uint64_t size = 0;

  friend bool operator==(const produced_output&, const produced_output&) = default;
};

/// @relates produced_output
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, produced_output& x) {
  return f(caf::meta::type_name("produced_output"), x.key, x.path,
           x.media_type, x.sha256, x.size);
}

/// What a worker reports after running one attempt: the envelope of
/// DESIGN.md §7 (`runtime::to_json` renders it as JSON).
struct execution_outcome {
  /// The order's `execution_id`.
  std::string execution_id;
  /// The order's task id.
  std::string task_id;
  /// The order's attempt.
  uint32_t attempt = 0;
  /// Whether the module ran and every declared output checked out.
  bool ok = false;
  /// When ok: every declared output, in the contract's order; else empty.
  std::vector<produced_output> outputs;
  /// `none` when ok, else why it failed: `spawn_failed`, `exit_code`,
  /// `signal`, `timeout`, `missing_manifest`, `missing_output`,
  /// `output_contract_violation`, `invalid_ref` (an output schema that does
  /// not resolve), `io_error` (the output directory or an input file),
  /// `invalid_argument` (a malformed order).
  ec error_code = ec::none;
  /// One sentence a person understands; never contains a secret value.
  std::string error_message;
  /// For `output_contract_violation` by a schema: the JSON pointer inside
  /// the output document; else empty.
  std::string error_pointer;
  /// Whether a retry may succeed (a timeout, a process killed by SIGKILL,
  /// an I/O error) as opposed to a deterministic failure.
  bool transient = false;
  /// A JSON object as compact text (text keeps the wire format plain; Zenith
  /// puts it into the `task.succeeded` packet as is): `mode` ("real" or
  /// "mock"), `duration_ms`, and for a process `max_rss_kb`, `user_cpu_ms`,
  /// `system_cpu_ms` and `exit_code` or `signal` (+ `signal_name`) or
  /// `timed_out`.
  std::string metrics_json = "{}";
  /// The module's stdout log (empty when there is none).
  std::string stdout_path;
  /// The module's stderr log (empty when there is none).
  std::string stderr_path;
  /// A failure the module reported itself in its output manifest
  /// (`{"error": {"code": "network_timeout", "message": ..., "transient":
  /// true}}`): its own snake_case code, which Eclipse classifies by
  /// `transient` (and a policy's `retry_on`); empty otherwise (the failure's
  /// code is `error_code`'s name).
  std::string module_error_code;
  /// What the attempt cost, in millionths of a US dollar, as the module
  /// reported it in its output manifest (`"cost": {"usd_micro": N}`) or the
  /// mock adapter derived it from the contract; -1: not reported (Zenith
  /// settles with the contract's estimate).
  int64_t cost_usd_micro = -1;
  /// The verdicts of the contract's success predicates, when it has any: a
  /// JSON array as compact text, `[{"id", "passed", "saw"}]`, in the
  /// contract's order (after the first that failed, none); "" when none ran.
  std::string predicates_json;

  friend bool operator==(const execution_outcome&, const execution_outcome&) = default;
};

/// @relates execution_outcome
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_outcome& x) {
  return f(caf::meta::type_name("execution_outcome"), x.execution_id,
           x.task_id, x.attempt, x.ok, x.outputs, x.error_code,
           x.error_message, x.error_pointer, x.transient, x.metrics_json,
           x.stdout_path, x.stderr_path, x.module_error_code,
           x.cost_usd_micro, x.predicates_json);
}

/// Zenith's answer to a submission: the task, or every problem.
struct submit_result {
  bool ok = false;
  /// The idempotency key matched an earlier submission: `task` is that one.
  bool duplicate = false;
  task_record task;
  std::vector<problem> problems;

  friend bool operator==(const submit_result&, const submit_result&) = default;
};

/// @relates submit_result
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_result& x) {
  return f(caf::meta::type_name("submit_result"), x.ok, x.duplicate, x.task,
           x.problems);
}

/// A module as the registry found it: its contract, where it lives, and the
/// exact text it was registered with (immutability is checked on it).
struct module_entry {
  module_contract contract;
  std::string dir;
  std::string canonical_json;

  friend bool operator==(const module_entry&, const module_entry&) = default;
};

/// @relates module_entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, module_entry& x) {
  return f(caf::meta::type_name("module_entry"), x.contract, x.dir,
           x.canonical_json);
}

/// One event a commit made durable (what `GET /api/events` streams).
struct committed_event {
  /// The packet's kind ("task.created", ...).
  std::string kind;
  /// The packet's id.
  std::string packet_id;
  /// The entity the event is about (a task id, asset id or module ref).
  std::string subject;
  /// The packet's sequence number in the log (the SSE `id:`).
  uint64_t seq = 0;
  /// When the packet was made (RFC 3339, UTC).
  std::string at;
  /// The packet's payload (compact JSON text): what the node's log and
  /// metrics read of the event.
  std::string payload;
};

} // namespace omniva::contracts
