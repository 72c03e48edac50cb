#pragma once

// The records and messages of the data model (DESIGN.md §4) as plain structs.
//
// Each struct has an `inspect` overload (CAF 0.17), so the same value crosses
// an actor boundary or a network link unchanged, equality, and a JSON form
// with the snake_case member names of the design. JSON readers report every
// problem of a document at once, each with a stable code and the JSON pointer
// of the member at fault, and return nullopt when there was any.
//
// JSON values that the runtime passes through without looking inside (an
// asset's value, a task's VALUE inputs, an envelope's payload) are stored as
// compact JSON text, so they serialize with CAF as plain strings; `to_json`
// emits them as real JSON again.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/status.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

namespace detail {

/// Lets a CAF 0.17 inspector, which knows no `std::optional`, save and load
/// an optional member: a presence flag, then the value when present.
template <class T>
struct optional_member {
  std::optional<T>& ref;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_member<T>& x) {
  if constexpr (Inspector::reads_state) {
    return x.ref ? f(true, *x.ref) : f(false);
  } else {
    // Loading inspectors (deserializers) report through caf::error.
    bool present = false;
    if (auto err = f(present))
      return err;
    if (!present) {
      x.ref.reset();
      return {};
    }
    T tmp{};
    if (auto err = f(tmp))
      return err;
    x.ref = std::move(tmp);
    return {};
  }
}

} // namespace detail

// -- schema versions -----------------------------------------------------------

/// The `schema_version` this build writes.
inline constexpr std::string_view current_schema_version = "1.0.0";

/// The only major version this build reads.
inline constexpr uint64_t supported_schema_major = 1;

/// Returns whether `semver` ("MAJOR.MINOR.PATCH", digits only, no leading
/// zeros) has a major version this build reads. When it does not and `why`
/// is not null, stores an `ec::unsupported_schema_version` problem at
/// "/schema_version" in `*why`.
bool supported_schema_version(std::string_view semver, problem* why = nullptr);

// -- enumerations ----------------------------------------------------------------

/// What an asset holds.
enum class asset_kind : uint8_t {
  /// A file under the node's data or allowed roots, with a media type.
  file = 0,
  /// An inline JSON value with a dtype.
  value = 1,
};

/// Returns "FILE" or "VALUE" ("UNKNOWN" outside the enum).
std::string_view to_string(asset_kind x) noexcept;

/// Parses "FILE" or "VALUE".
std::optional<asset_kind> asset_kind_from_string(std::string_view name) noexcept;

/// How a task runs.
enum class execution_mode : uint8_t {
  /// Through the module's adapter (a local process, ...).
  real = 0,
  /// Through the mock adapter: no process, deterministic outputs.
  mock = 1,
};

/// Returns "real" or "mock" ("unknown" outside the enum).
std::string_view to_string(execution_mode x) noexcept;

/// Parses "real" or "mock".
std::optional<execution_mode>
execution_mode_from_string(std::string_view name) noexcept;

/// Returns whether `dtype` is one of the VALUE dtypes of the design: string,
/// text, url, int, float, bool, enum, json.
bool is_value_dtype(std::string_view dtype) noexcept;

// -- asset_record -----------------------------------------------------------------

/// One asset of the ledger: a file or a value, or the promise of one.
struct asset_record {
  /// UUIDv4.
  std::string asset_id;
  /// FILE or VALUE.
  asset_kind kind = asset_kind::file;
  /// FILE only: "type/subtype", e.g. "video/mp4".
  std::string media_type;
  /// VALUE only: string, text, url, int, float, bool, enum or json.
  std::string dtype;
  /// PENDING (promised), AVAILABLE, FAILED or PURGED.
  asset_status status = asset_status::pending;
  /// FILE only: where the content lives; empty until known.
  std::string uri;
  /// VALUE only: the value as compact JSON text; empty until known.
  std::string value_json;
  /// SHA-256 of the content, lowercase hex; empty until known.
  std::string sha256;
  /// Size of the content in bytes, once known.
  std::optional<uint64_t> size;
  /// The task that promised this asset; empty for uploads and values.
  std::string produced_by;
  /// Ids of unfinished tasks that use this asset (it cannot be deleted
  /// while any is left). Not stored in the asset's row: each hold is a row
  /// of its own (`storage::table::holds`, read by `reader::holders`); Zenith
  /// keeps them here in memory and the HTTP API shows them.
  std::vector<std::string> holds;
  /// When the asset was registered or promised (ISO 8601 UTC).
  std::string created_at;
  /// A name for people; may be empty.
  std::string label;
  /// When the retention policy removed its content (ISO 8601 UTC); empty
  /// unless the asset is PURGED. Omitted from the JSON form when empty.
  std::string purged_at;

  friend bool operator==(const asset_record&, const asset_record&) = default;
};

/// @relates asset_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, asset_record& x) {
  detail::optional_member<uint64_t> size{x.size};
  return f(caf::meta::type_name("asset_record"), x.asset_id, x.kind,
           x.media_type, x.dtype, x.status, x.uri, x.value_json, x.sha256,
           size, x.produced_by, x.holds, x.created_at, x.label, x.purged_at);
}

/// Returns the JSON form; empty optional members are omitted, `value` is
/// emitted as JSON (as a string should `value_json` not be JSON).
json::value to_json(const asset_record& x);

/// Reads the JSON form. Beyond types and formats it checks that members
/// belong to the asset's kind (`kind_mismatch`) and that an AVAILABLE asset
/// says where its content is (`uri` or `value`). `base` is the pointer of
/// `x` inside a larger document.
std::optional<asset_record>
asset_record_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base = "");

// -- task_record ------------------------------------------------------------------

/// Why a task failed, as the adapter or Zenith reported it.
struct task_error {
  /// A stable snake_case code: one of `ec`'s names or an adapter's own
  /// (`network_timeout`, `bad_command`, ...).
  std::string code;
  /// One sentence a person understands.
  std::string message;
  /// Whether retrying may help (a timeout) or not (a bad command).
  bool transient = false;
  /// Where in an output document the module broke its contract: the RFC
  /// 6901 JSON pointer of the offending value, as the worker reported it
  /// (`execution_outcome::error_pointer`, for `output_contract_violation`
  /// by an output schema). Empty when the error points at no value inside
  /// a document, or at a whole document.
  std::string pointer;

  friend bool operator==(const task_error&, const task_error&) = default;
};

/// @relates task_error
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_error& x) {
  return f(caf::meta::type_name("task_error"), x.code, x.message,
           x.transient, x.pointer);
}

/// One task: a module run over assets, and its life cycle.
struct task_record {
  /// UUIDv4.
  std::string task_id;
  /// "name@version" of the module.
  std::string module_ref;
  /// ASSET inputs: contract input key -> asset id.
  std::map<std::string, std::string> input_mapping;
  /// VALUE inputs given inline or filled from defaults: key -> compact JSON
  /// text.
  std::map<std::string, std::string> values;
  /// Promised outputs created with the task: output key -> asset id.
  std::map<std::string, std::string> outputs;
  /// Where the task is in its life cycle.
  task_status status = task_status::pending;
  /// 1 for the first run; + 1 for every approved retry.
  uint32_t attempt = 1;
  /// Higher runs earlier.
  int32_t priority = 0;
  /// The client's key for deduplicating submissions; may be empty.
  std::string idempotency_key;
  /// UUIDv4 linking every packet of the workflow.
  std::string trace_id;
  /// The worker pool Lattice routed the task to; empty until routed.
  std::string pool;
  /// Why the last attempt failed, if it did.
  std::optional<task_error> error;
  /// How the task runs: through its module (`real`) or the mock adapter.
  execution_mode mode = execution_mode::real;
  /// ISO 8601 UTC.
  std::string created_at;
  /// ISO 8601 UTC, the last status change.
  std::string updated_at;
  /// Whether Paradox's clearance was decided (Zenith makes a task READY only
  /// once it is, and its inputs are AVAILABLE). Omitted when false.
  bool cleared = false;
  /// SKIPPED: the identical task Paradox found (`duplicates: block`).
  std::string duplicate_of;
  /// DONE without running: the identical task whose outputs it took
  /// (`duplicates: reuse`).
  std::string reused_from;
  /// Attempts lost with their worker (a heartbeat gap); at the node's
  /// `poison-after` the task ends ERROR `poison_task`. Omitted when 0.
  uint32_t lost_attempts = 0;
  /// PENDING after a retry: not READY before this time (Eclipse's backoff,
  /// ISO 8601 UTC); empty when it may run at once.
  std::string not_before;
  /// The pipeline run that created it (docs/pipelines.md); empty for a
  /// task made by hand. With it: the run's `step` and the `branch` (the
  /// element indices from the outermost fan-out down, "2/0"; "" for the
  /// run's root).
  std::string run_id;
  std::string step;
  std::string branch;

  friend bool operator==(const task_record&, const task_record&) = default;
};

/// @relates task_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_record& x) {
  detail::optional_member<task_error> error{x.error};
  return f(caf::meta::type_name("task_record"), x.task_id, x.module_ref,
           x.input_mapping, x.values, x.outputs, x.status, x.attempt,
           x.priority, x.idempotency_key, x.trace_id, x.pool, error, x.mode,
           x.created_at, x.updated_at, x.cleared, x.duplicate_of,
           x.reused_from, x.lost_attempts, x.not_before, x.run_id, x.step,
           x.branch);
}

/// Returns the JSON form; `values`, `idempotency_key`, `pool`, `error`, the
/// error's `pointer`, `cleared`, `duplicate_of`, `reused_from`,
/// `lost_attempts` and `not_before` are omitted when empty (false, 0).
json::value to_json(const task_record& x);

/// Reads the JSON form; see `asset_record_from_json`.
std::optional<task_record>
task_record_from_json(const json::value& x, std::vector<problem>& problems,
                      std::string_view base = "");

// -- task_request -----------------------------------------------------------------

/// What a client submits to run a module. Pre-flight checks it against the
/// module's contract; this type only knows its shape.
struct task_request {
  /// "name@version" of the module (JSON also accepts the alias `module_id`).
  std::string module_ref;
  /// ASSET inputs: contract input key -> asset id.
  std::map<std::string, std::string> input_mapping;
  /// VALUE inputs: key -> compact JSON text.
  std::map<std::string, std::string> values;
  /// Higher runs earlier.
  int32_t priority = 0;
  /// Resubmitting with the same key returns the first task; may be empty.
  std::string idempotency_key;
  /// Joins an existing trace; empty lets Zenith start a new one.
  std::string trace_id;
  /// Real or mock execution.
  execution_mode mode = execution_mode::real;
  /// Semantic version of the message format.
  std::string schema_version{current_schema_version};
  /// Problems found while reading the request (a member of the wrong type,
  /// a malformed asset id): the request is refused with them and with the
  /// pre-flight problems of the rest of it, all at once. Not part of the
  /// JSON form.
  std::vector<problem> problems;
  /// Who submits it: the name of the API token that asked (the packets it
  /// causes name it as their `operator`); "" for none. Set by the node from
  /// the request's token, never read from the JSON form.
  std::string requested_by;

  friend bool operator==(const task_request&, const task_request&) = default;
};

/// @relates task_request
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_request& x) {
  return f(caf::meta::type_name("task_request"), x.module_ref,
           x.input_mapping, x.values, x.priority, x.idempotency_key,
           x.trace_id, x.mode, x.schema_version, x.problems, x.requested_by);
}

/// Returns the JSON form, e.g. `{"module_ref":"face-detect@1",
/// "input_mapping":{"source_video":"<uuid>"},"values":{"confidence_threshold":
/// 0.7},"priority":0,"mode":"real","schema_version":"1.0.0"}`; `values`,
/// `idempotency_key` and `trace_id` are omitted when empty.
json::value to_json(const task_request& x);

/// Reads the JSON form. Only the module ref is required; `input_mapping`
/// and `values` default to empty, `priority` to 0, `mode` to "real" and
/// `schema_version` to `current_schema_version`.
///
/// Unlike the other readers, it returns the request whenever its module ref
/// can be read, even when other members are wrong, so that the request is
/// refused with its pre-flight problems too, all at once (`preflight`
/// reports `problems` first). What it reads wrongly is appended to
/// `problems` (pointers below `base`) and, when it returns a request, also
/// kept in the request's `problems` (pointers relative to the request). The
/// rest holds what could be read: a member of the wrong type keeps its
/// default; an `input_mapping` member whose asset id is bad keeps its key
/// (with the bad text, or the JSON text of a non-string), so that
/// pre-flight still reports an unknown key. nullopt (refused here) when the
/// document is not an object or its module ref is missing or malformed.
std::optional<task_request>
task_request_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base = "");

// -- envelope ---------------------------------------------------------------------

/// The wrapper of every event on the bus: who it belongs to (trace), what
/// caused it (parent packets), what it is (topic) and its payload.
struct envelope {
  /// UUIDv4 of the workflow.
  std::string trace_id;
  /// Ids of the Stardust packets that produced this message (SHA-256 hex);
  /// `_meta_parents` in JSON.
  std::vector<std::string> meta_parents;
  /// Semantic version of the message format.
  std::string schema_version{current_schema_version};
  /// Dotted, hierarchical kind of event: "task.created".
  std::string topic;
  /// The payload, a JSON object as compact JSON text.
  std::string payload_json;

  friend bool operator==(const envelope&, const envelope&) = default;
};

/// @relates envelope
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return f(caf::meta::type_name("envelope"), x.trace_id, x.meta_parents,
           x.schema_version, x.topic, x.payload_json);
}

/// Returns the JSON form; `_meta_parents` is always present, an empty
/// `payload_json` is written as `{}`.
json::value to_json(const envelope& x);

/// Reads the JSON form; rejects a `schema_version` of an unknown major
/// version with `ec::unsupported_schema_version`. `_meta_parents` may be
/// absent (a root event); `payload` must be an object.
std::optional<envelope>
envelope_from_json(const json::value& x, std::vector<problem>& problems,
                   std::string_view base = "");

} // namespace omniva::contracts
