#pragma once

// The stable error codes of Omniva Engine, their CAF error category, and the
// `problem`: one reported error with its code, the JSON pointer of the field
// at fault and a sentence a person understands.
//
// The CLI, the HTTP API and the logs all speak these codes by name
// (`to_string(ec)`), so a name never changes once released and a numeric
// value is never reused: new codes are appended at the end of the enum.

#include "contracts/json.hpp"

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// Every stable error code of the project. The numeric values travel inside
/// `caf::error` (category `error_category`) and must never change.
enum class ec : uint8_t {
  /// No error.
  none = 0,

  // -- documents and files ---------------------------------------------------

  /// A text is not JSON (RFC 8259).
  invalid_json = 1,
  /// A JSON Schema is not well formed (bad keyword value, unresolvable $ref).
  invalid_schema = 2,
  /// A document does not satisfy the JSON Schema it must satisfy.
  schema_violation = 3,
  /// Reading or writing a file or socket failed.
  io_error = 4,
  /// An argument or option is malformed (CLI flag, query parameter, topic).
  invalid_argument = 5,
  /// A message carries a `schema_version` whose major version this reader
  /// does not know, or one that is not a semantic version.
  unsupported_schema_version = 6,
  /// A status change that the state machine does not allow (a bug, refused).
  illegal_transition = 7,

  // -- module contracts ------------------------------------------------------

  /// A module contract is wrong in a way no more specific code describes.
  invalid_contract = 8,
  /// Two inputs or outputs of a contract share a key, or a JSON object in a
  /// request names the same member twice.
  duplicate_key = 9,
  /// A constraint range is empty or inverted (`min` > `max`, negative length).
  invalid_range = 10,
  /// A VALUE input's `default` does not satisfy its own dtype and constraints.
  invalid_default = 11,
  /// A media type is not of the form `type/subtype`.
  invalid_media_type = 12,
  /// A contract's `run.command` has no program.
  empty_command = 13,
  /// A reference is malformed or does not resolve (a module ref that is not
  /// `name@version`, a schema id that is not registered).
  invalid_ref = 14,
  /// No module is registered under the requested `name@version`.
  module_not_found = 15,

  // -- pre-flight: a task request against a contract -------------------------

  /// A required input of the contract is neither mapped nor given a value.
  missing_input = 16,
  /// The request names an input key the contract does not declare.
  unknown_input = 17,
  /// An input maps to an asset id the ledger does not know.
  asset_not_found = 18,
  /// An input maps to an asset that is FAILED and will never be available.
  asset_failed = 19,
  /// An asset's kind (FILE or VALUE) does not fit the input's contract type.
  kind_mismatch = 20,
  /// A FILE asset's media type is not among the input's accepted media types.
  media_type_mismatch = 21,
  /// A value does not have the input's dtype (a string for an `int`, ...).
  dtype_mismatch = 22,
  /// A number lies outside the input's `min`/`max`.
  out_of_range = 23,
  /// A value is not one of the allowed values of an enumeration.
  not_in_enum = 24,
  /// A string does not match the input's `pattern`.
  pattern_mismatch = 25,
  /// A string is longer than the input's `max_length`.
  too_long = 26,
  /// A `pattern` is not a regular expression the engine accepts (RE2 syntax).
  invalid_pattern = 27,
  /// A value is well typed but violates a rule of meaning (for example a
  /// JSON value that does not satisfy the input's `schema`).
  semantic_violation = 28,

  // -- message decoding ------------------------------------------------------

  /// A required member of a message is absent.
  missing_field = 29,
  /// A message has a member its schema does not declare.
  unknown_field = 30,
  /// A member has the wrong JSON type (a string where a number belongs, ...).
  type_mismatch = 31,
  /// An identifier that must be a UUID is not one.
  invalid_uuid = 32,
  /// A timestamp is not an RFC 3339 date-time.
  invalid_timestamp = 33,
  /// A digest (checksum, packet id) is not 64 lowercase hexadecimal digits.
  invalid_digest = 34,

  // -- storage and lineage ---------------------------------------------------

  /// The storage engine failed (I/O error, disk full, ...); the message says
  /// what it reported.
  storage_error = 35,
  /// Stored data is damaged: a checksum, a packet id or the hash chain does
  /// not match what was written.
  corruption = 36,
  /// The database is open for writing elsewhere (another process or handle).
  database_locked = 37,
  /// A packet names a parent packet that does not exist.
  unknown_parent = 38,
  /// A state change is not justified by a packet in the same commit.
  unjustified_state = 39,
  /// The thing asked for (packet, task, asset, row) does not exist.
  not_found = 40,

  // -- the node ----------------------------------------------------------------

  /// A registry ref (`name@version`) is immutable: the same ref with other
  /// content is refused.
  immutable_ref = 41,
  /// An asset is held by an unfinished task and cannot be deleted.
  asset_in_use = 42,
  /// No configured worker pool has the resources a module's contract needs.
  no_capable_pool = 43,
  /// A path is outside the node's allowed roots (or escapes them through
  /// `..` or a symlink).
  path_not_allowed = 44,
  /// The request lacks a valid bearer token.
  unauthorized = 45,
  /// A module process exited with a non-zero status.
  exit_code = 46,
  /// A module process was killed by a signal (it crashed).
  signal = 47,
  /// A module ran longer than its contract's `timeout_s` and was killed.
  timeout = 48,
  /// A module finished without writing `output_manifest.json`, or wrote one
  /// that is not valid.
  missing_manifest = 49,
  /// A declared output is missing from the manifest or from the disk.
  missing_output = 50,
  /// An output breaks its contract (media type, schema).
  output_contract_violation = 51,
  /// A task cannot run because an input it waited for failed.
  upstream_failed = 52,
  /// The task was cancelled.
  cancelled = 53,
  /// A module process could not be started (no such program, not
  /// executable).
  spawn_failed = 54,
  /// A request body is larger than the node accepts.
  too_large = 55,
  /// An idempotency key already names a task made from a different request.
  idempotency_conflict = 56,
  /// A module's output (a JSON output, a log, a file it wrote) is larger
  /// than the node accepts (see docs/operations.md for the limits).
  output_too_large = 57,
  /// The request may or may not have taken effect (the write of its commit
  /// failed after it may have reached the log): check before retrying.
  outcome_unknown = 58,
  /// Validating against a schema needed more work than the node allows (a
  /// `$ref` cycle that consumes no input, or a schema too large to evaluate).
  schema_too_complex = 59,
  /// A task cannot run because an input it waited for was cancelled.
  upstream_cancelled = 60,
  /// A list filter (a status, a module ref, a limit, a cursor) has a value
  /// the list does not know; the message names the allowed values.
  invalid_filter = 61,
  /// The request's token is valid but its role does not allow the request;
  /// the message names the role needed (HTTP 403).
  forbidden = 62,
  /// The node's data folder has less free space than its reserve: it takes
  /// no new work until space returns (HTTP 507).
  insufficient_storage = 63,
  /// The asset's content was removed by the retention policy (its row and
  /// its lineage stay, status PURGED): it cannot be read or used as an
  /// input.
  asset_purged = 64,
  /// Paradox found an identical task and the module's contract says
  /// `"duplicates": "block"`: the task ended SKIPPED and its promised
  /// outputs failed with this code (docs/engines.md).
  duplicate_blocked = 65,
  /// The task's attempts were lost with their worker too often (the node's
  /// `omniva.poison-after`, default 3): it is not run again (Eclipse).
  poison_task = 66,
  /// An attempt's worker went silent (no heartbeat within the node's
  /// timeout) or vanished: the attempt is taken for lost (transient).
  lost_worker = 67,
  /// The module or pool is quarantined by a circuit breaker or an operator:
  /// nothing is dispatched to it until it is released (docs/engines.md).
  quarantined = 68,

  // -- pipelines (docs/pipelines.md) -----------------------------------------

  /// A pipeline reference (`{"from": ...}`) names no pipeline input, no
  /// step, no output or input of that step, or `item` / `collected` where
  /// the step has no `for_each` / `collect`.
  unresolved_reference = 69,
  /// A step nothing leads to: it takes no pipeline input, no value-only
  /// inputs, and no output of a reachable step (a cycle's steps too).
  unreachable_step = 70,
  /// A JSON pointer that is malformed, or points where the producer's
  /// schema has no array (`for_each.pointer`, `select.pointer`).
  invalid_pointer = 71,
  /// A mapping joins an output to an input whose schema does not accept
  /// what the output's schema promises.
  schema_mismatch = 72,
  /// A step's references lie in fan-out branches that do not nest (two
  /// sibling `for_each` steps), or a `collect` gathers a step of its own
  /// branch.
  scope_mismatch = 73,
  /// A run cannot take the action in its status (resume a run that is not
  /// PAUSED, ...), or a run's step cannot go on.
  run_not_active = 74,

  // -- policies (docs/policies.md) -------------------------------------------

  /// A success predicate of the contract does not hold for an attempt's
  /// outputs: the attempt fails (deterministic) and its outputs are not
  /// promoted; the message names the predicate and what it saw.
  success_predicate_failed = 75,
  /// A task needs more units of a quota than one window of it has: it can
  /// never be admitted. (A task that merely waits for the window to reset
  /// does not fail.)
  quota_exceeded = 76,
  /// An attempt's lease on a write prefix expired (no heartbeat renewed it
  /// within the policy's `default_ttl_s`): the attempt fails (transient)
  /// and its outputs are never promoted.
  lease_lost = 77,
  /// An admission predicate over the task's inputs does not hold: the
  /// inputs never change, so the task ends instead of waiting.
  admission_failed = 78,
  /// Why an admitted-to-wait task is held (`task.held`, not a failure): its
  /// cost does not fit a budget or a run's cap now; it is dispatched once
  /// the cap is raised, the budget's window resets or reservations settle.
  budget_exhausted = 79,
  /// Why a task is held: its units do not fit what is left of the quota's
  /// window; it is dispatched once the window resets.
  quota_exhausted = 80,
  /// Why a task is held: another attempt leases a write prefix overlapping
  /// one of its own; it is dispatched once that lease is released.
  lease_held = 81,
  /// A create names a budget or quota that exists (change it instead).
  already_exists = 82,
};

/// The number of codes, `none` included: values are 0 .. ec_count - 1.
inline constexpr size_t ec_count = 83;

/// Every code, `none` included, in numeric order.
std::span<const ec> all_error_codes() noexcept;

/// Returns the stable snake_case name of `code` ("missing_input"); "none"
/// for `ec::none`, "unknown" for a value outside the enum.
std::string_view to_string(ec code) noexcept;

/// Returns the code named `name`, nullopt when there is none.
std::optional<ec> ec_from_string(std::string_view name) noexcept;

// -- CAF integration ---------------------------------------------------------

/// The category of every `caf::error` carrying an `ec`.
inline constexpr caf::atom_value error_category = caf::atom("omniva");

/// Returns a `caf::error` of category `error_category` carrying `code` and
/// no context. Also lets `ec` convert implicitly to `caf::error`.
caf::error make_error(ec code);

/// Returns a `caf::error` carrying `code` and one sentence of context.
caf::error make_error(ec code, std::string context);

/// Returns a `caf::error` carrying `code`, one sentence and the JSON pointer
/// of the field at fault (context: the sentence, then the pointer), so that
/// an answer crossing actors keeps its pointer (`problem_from_error`).
caf::error make_error(ec code, std::string message, std::string pointer);

/// Renders an error of category `error_category`, for
/// `caf::actor_system_config::add_error_category(error_category,
/// render_error)`: "missing_input: <context>".
std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context);

// -- problem -----------------------------------------------------------------

/// One reported problem: what is wrong (a stable code), where (a JSON pointer
/// into the document at fault, "" for the whole document) and a sentence a
/// person understands. Requests are answered with all their problems at once.
struct problem {
  /// What is wrong.
  ec code = ec::none;
  /// RFC 6901 JSON pointer of the offending field; "" is the root.
  std::string pointer;
  /// One sentence, without the code or the pointer.
  std::string message;

  friend bool operator==(const problem&, const problem&) = default;
};

/// @relates problem
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, problem& x) {
  return f(caf::meta::type_name("problem"), x.code, x.pointer, x.message);
}

/// Returns "missing_input at /input_mapping/x: <message>" (the pointer part
/// reads "at the root" for "").
std::string to_string(const problem& x);

/// Returns a `caf::error` carrying `x.code` with "<pointer>: <message>" as
/// context (only the message when the pointer is the root).
caf::error make_error(const problem& x);

/// Returns one error for problems found at once (a contract, a schema, a
/// value): the first problem's code and pointer, and every problem in the
/// message ("<code> <pointer>: <message>; ..."; only the message when there
/// is one problem); `make_error(if_none)` for none. This is how an actor
/// answers a check that found several problems through one `caf::error`.
caf::error make_error(const std::vector<problem>& problems, ec if_none);

/// Reads the problem an error of `error_category` carries: its code, and
/// the message and pointer given to `make_error` (a one-sentence context is
/// the message with the root pointer). nullopt for an error of another
/// category.
std::optional<problem> problem_from_error(const caf::error& x);

/// Returns `{"code": ..., "pointer": ..., "message": ...}`; all three members
/// are always present ("pointer" is "" for the root).
json::value to_json(const problem& x);

/// Returns the problems as a JSON array, in order.
json::value to_json(const std::vector<problem>& xs);

/// Reads a problem written by `to_json`; nullopt when `x` is not an object
/// with a known string `code` and string `pointer` and `message`.
std::optional<problem> problem_from_json(const json::value& x);

} // namespace omniva::contracts
