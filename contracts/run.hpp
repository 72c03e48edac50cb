#pragma once

// Runs and triggers of pipelines (docs/pipelines.md).
//
// A run is one execution of a pipeline: Zenith creates its tasks as data
// arrives (single steps with their branch, `for_each` steps when their list
// becomes AVAILABLE, `collect` steps once what they gather ended), each
// creation a `decision.zenith` with its evidence. The run's id is also the
// trace id of every packet it causes. Each task of a run names it
// (`task_record::run_id`, `step`, `branch`), so a run's progress is its
// tasks; the run's own row holds what cannot be derived from them (its
// status, the fan-outs decided).
//
// A trigger starts runs of a pipeline on a schedule (`every` or `cron`).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"

#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

// -- runs -------------------------------------------------------------------------

/// Where a run is.
enum class run_status : uint8_t {
  /// Tasks are being created and run.
  running = 0,
  /// No new task of it is dispatched (created ones wait READY).
  paused = 1,
  /// Every task ended and the run's outputs exist; elements that failed are
  /// listed as missing.
  done = 2,
  /// A step outside a fan-out failed, or every element of one did.
  failed = 3,
  /// An operator cancelled it: its unfinished tasks were cancelled.
  cancelled = 4,
};

/// "RUNNING", "PAUSED", "DONE", "FAILED", "CANCELLED".
std::string_view to_string(run_status x) noexcept;
/// Parses the names of `to_string`.
std::optional<run_status> run_status_from_string(std::string_view name) noexcept;
/// DONE, FAILED or CANCELLED.
bool is_final(run_status x) noexcept;

/// What a client asks to start a run.
struct run_request {
  /// "name@N" of the pipeline.
  std::string pipeline_ref;
  /// ASSET inputs of the pipeline: key -> asset id.
  std::map<std::string, std::string> inputs;
  /// VALUE inputs: key -> compact JSON text.
  std::map<std::string, std::string> values;
  /// How its tasks run.
  execution_mode mode = execution_mode::real;
  /// The priority of its tasks.
  int32_t priority = 0;
  /// The trigger that started it; "" for a person.
  std::string trigger_id;
  /// Problems found while reading the request (refused with them and every
  /// problem Zenith finds, all at once). Not part of the JSON form.
  std::vector<problem> problems;
  /// The API token's name (the packets' `operator`); never read from JSON.
  std::string requested_by;

  friend bool operator==(const run_request&, const run_request&) = default;
};

/// @relates run_request
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_request& x) {
  return f(caf::meta::type_name("run_request"), x.pipeline_ref, x.inputs,
           x.values, x.mode, x.priority, x.trigger_id, x.problems,
           x.requested_by);
}

/// Reads `{"inputs": {...}, "values": {...}, "mode"?, "priority"?}` (the
/// pipeline ref comes from the URL, or `pipeline` in the body); problems
/// with their pointers. nullopt when the body is not an object.
std::optional<run_request>
run_request_from_json(const json::value& x, std::vector<problem>& problems);

/// One run, as its row holds it.
struct run_record {
  /// UUIDv4; also the trace id of its packets.
  std::string run_id;
  std::string pipeline_ref;
  run_status status = run_status::running;
  std::map<std::string, std::string> inputs;
  std::map<std::string, std::string> values;
  execution_mode mode = execution_mode::real;
  int32_t priority = 0;
  /// The trigger that started it; "" for a person.
  std::string trigger_id;
  /// Who started it (operator).
  std::string requested_by;
  /// ISO 8601 UTC.
  std::string created_at;
  std::string updated_at;
  /// When it reached DONE, FAILED or CANCELLED; "" before.
  std::string ended_at;
  /// The fan-outs decided: "<step>#<branch>" (the branch the `for_each`
  /// step's list was found in) -> how many elements it kept. A fan-out is
  /// decided once: its key here says so, even across a restart.
  std::map<std::string, uint32_t> fanouts;
  /// FAILED: why (code and message of the first failure that ended it).
  std::optional<task_error> error;

  friend bool operator==(const run_record&, const run_record&) = default;
};

/// @relates run_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_record& x) {
  detail::optional_member<task_error> error{x.error};
  return f(caf::meta::type_name("run_record"), x.run_id, x.pipeline_ref,
           x.status, x.inputs, x.values, x.mode, x.priority, x.trigger_id,
           x.requested_by, x.created_at, x.updated_at, x.ended_at, x.fanouts,
           error);
}

/// The row form (and the base of the API's): every member; `values` as
/// JSON; empty optional members omitted.
json::value to_json(const run_record& x);
/// Reads the row form.
std::optional<run_record> run_record_from_json(const json::value& x,
                                               std::vector<problem>& problems);

/// What an operator does to a run.
enum class run_action : uint8_t {
  cancel = 0,
  pause = 1,
  resume = 2,
  retry = 3,
};

/// "cancel", "pause", "resume", "retry".
std::string_view to_string(run_action x) noexcept;
std::optional<run_action> run_action_from_string(std::string_view name) noexcept;

/// An operator's action on a run.
struct run_change {
  std::string run_id;
  run_action action = run_action::cancel;
  std::string requested_by;

  friend bool operator==(const run_change&, const run_change&) = default;
};

/// @relates run_change
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_change& x) {
  return f(caf::meta::type_name("run_change"), x.run_id, x.action,
           x.requested_by);
}

/// What Zenith answers for a run request: the run, or every problem.
struct run_result {
  bool ok = false;
  run_record run;
  std::vector<problem> problems;

  friend bool operator==(const run_result&, const run_result&) = default;
};

/// @relates run_result
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_result& x) {
  return f(caf::meta::type_name("run_result"), x.ok, x.run, x.problems);
}

/// A page of runs: newest first.
struct run_query {
  /// Only this pipeline's runs; "" for all.
  std::string pipeline_ref;
  /// Only runs in this status ("RUNNING", ...); "" for all.
  std::string status;
  /// At most this many (1..1000).
  uint32_t limit = 100;
  /// The `next_cursor` of the previous page; "" for the first.
  std::string cursor;

  friend bool operator==(const run_query&, const run_query&) = default;
};

/// @relates run_query
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_query& x) {
  return f(caf::meta::type_name("run_query"), x.pipeline_ref, x.status,
           x.limit, x.cursor);
}

// -- triggers ---------------------------------------------------------------------

/// A schedule: every N milliseconds, or a cron expression (5 fields,
/// UTC): minute hour day-of-month month day-of-week, with `*`, lists,
/// ranges and steps.
struct schedule_spec {
  /// Positive when the schedule is `every`; 0 for cron.
  int64_t every_ms = 0;
  /// The cron expression as given; "" for `every`.
  std::string cron;

  friend bool operator==(const schedule_spec&, const schedule_spec&) = default;
};

/// @relates schedule_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schedule_spec& x) {
  return f(caf::meta::type_name("schedule_spec"), x.every_ms, x.cron);
}

/// Reads a duration "500ms", "30s", "5m", "2h", "1d" (a positive integer
/// and a unit); nullopt when it is not one.
std::optional<int64_t> parse_every(std::string_view text);

/// Checks a cron expression; a problem (`invalid_argument`, at `pointer`)
/// when it is not a valid 5-field expression.
std::optional<problem> check_cron(std::string_view expr, std::string_view pointer);

/// The first start strictly after `after` (milliseconds since the epoch,
/// UTC): for `every`, `anchor + k * every_ms` for the smallest k >= 0 with a
/// result > after; for cron, the next matching minute. nullopt when a cron
/// expression never matches within five years (Feb 30), or the schedule is
/// invalid.
std::optional<int64_t> next_start(const schedule_spec& s, int64_t anchor_ms,
                                  int64_t after_ms);

/// A trigger: starts runs of a pipeline on a schedule.
struct trigger_record {
  /// UUIDv4.
  std::string trigger_id;
  std::string pipeline_ref;
  schedule_spec schedule;
  /// The runs' inputs and values.
  std::map<std::string, std::string> inputs;
  std::map<std::string, std::string> values;
  execution_mode mode = execution_mode::real;
  /// ISO 8601 UTC.
  std::string created_at;
  std::string created_by;
  /// When the schedule counts from (ms since the epoch): the creation.
  int64_t anchor_ms = 0;
  /// The next start (ms since the epoch).
  int64_t next_ms = 0;
  /// The last start that ran (ms), 0 for none; and the run it started.
  int64_t last_ms = 0;
  std::string last_run_id;

  friend bool operator==(const trigger_record&, const trigger_record&) = default;
};

/// @relates trigger_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trigger_record& x) {
  return f(caf::meta::type_name("trigger_record"), x.trigger_id,
           x.pipeline_ref, x.schedule, x.inputs, x.values, x.mode,
           x.created_at, x.created_by, x.anchor_ms, x.next_ms, x.last_ms,
           x.last_run_id);
}

/// The row and API form: `trigger_id`, `pipeline`, `every` (as given in ms,
/// also `every_ms`) or `cron`, `inputs`, `values` (JSON), `mode`,
/// `created_at`, `created_by`, `next_start` / `last_start` (ISO 8601) plus
/// the `*_ms` members, `last_run_id`.
json::value to_json(const trigger_record& x);
std::optional<trigger_record>
trigger_record_from_json(const json::value& x, std::vector<problem>& problems);

/// Reads a create request: `{"pipeline", "every": "1d" | "cron": "0 6 * *
/// *", "inputs"?, "values"?, "mode"?}` (exactly one of every and cron);
/// problems with pointers. nullopt when there is any.
std::optional<trigger_record>
trigger_request_from_json(const json::value& x, std::vector<problem>& problems);

/// Create or remove.
enum class trigger_op : uint8_t { create = 0, remove = 1 };

/// A trigger to create (a full record; Zenith sets id, times) or remove
/// (`record.trigger_id` only).
struct trigger_change {
  trigger_op op = trigger_op::create;
  trigger_record record;
  std::string requested_by;

  friend bool operator==(const trigger_change&, const trigger_change&) = default;
};

/// @relates trigger_change
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trigger_change& x) {
  return f(caf::meta::type_name("trigger_change"), x.op, x.record,
           x.requested_by);
}

} // namespace omniva::contracts
