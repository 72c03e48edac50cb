#pragma once

// The task and asset status state machines (DESIGN.md §4), written as tables.
//
// A transition that is not in its table is a bug and is refused with
// `ec::illegal_transition`, never applied. Zenith checks every status change
// it commits against these tables.

#include "contracts/error_code.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace omniva::contracts {

// -- task status --------------------------------------------------------------

/// The life cycle of a task. Printed in UPPERCASE ("PENDING").
enum class task_status : uint8_t {
  /// Created; waits for its inputs to become AVAILABLE and for Paradox.
  pending = 0,
  /// Inputs AVAILABLE and cleared; waits for a worker.
  ready = 1,
  /// Dispatched to a worker.
  running = 2,
  /// Finished; its outputs are AVAILABLE. Terminal.
  done = 3,
  /// Failed for good (or an upstream task failed). Terminal.
  error = 4,
  /// Cancelled by an operator, before it ran or while it ran (the attempt
  /// is stopped, its late outcome ignored). Terminal.
  cancelled = 5,
  /// Not run: Paradox found an identical task and the module's contract
  /// says `"duplicates": "block"` (`duplicate_of` names it); its promised
  /// outputs failed with `duplicate_blocked`. Terminal.
  skipped = 6,
};

/// Every task status, in numeric order.
inline constexpr std::array<task_status, 7> all_task_statuses = {
  task_status::pending, task_status::ready, task_status::running,
  task_status::done,    task_status::error, task_status::cancelled,
  task_status::skipped,
};

/// One allowed task status change and why it happens.
struct task_transition {
  task_status from;
  task_status to;
  /// What causes it, in a few words.
  std::string_view cause;
};

/// Every allowed task status change; anything else is illegal. DONE,
/// ERROR, CANCELLED and SKIPPED are final for the node's own work; only an
/// operator's `task retry` (and the revival of what ended only because of
/// the retried task) leaves ERROR or CANCELLED.
inline constexpr std::array<task_transition, 15> task_transitions = {{
  {task_status::pending, task_status::ready,
   "inputs available and cleared by Paradox"},
  {task_status::ready, task_status::running, "dispatched to a worker"},
  {task_status::running, task_status::done, "succeeded"},
  {task_status::running, task_status::error, "failed for good"},
  {task_status::running, task_status::pending,
   "retry approved by Zenith (attempt + 1)"},
  {task_status::pending, task_status::error,
   "an upstream task failed or was cancelled"},
  {task_status::pending, task_status::cancelled, "cancelled"},
  {task_status::ready, task_status::cancelled, "cancelled"},
  {task_status::running, task_status::cancelled,
   "cancelled while it ran (its attempt is stopped)"},
  {task_status::pending, task_status::skipped,
   "blocked by Paradox as a duplicate"},
  {task_status::pending, task_status::done,
   "an identical task's outputs reused (Paradox, duplicates: reuse)"},
  {task_status::error, task_status::pending,
   "retried by an operator, or revived because the task it waited on was "
   "retried (attempt + 1)"},
  {task_status::cancelled, task_status::pending,
   "retried by an operator, or revived because the task it waited on was "
   "retried (attempt + 1)"},
  {task_status::ready, task_status::pending,
   "a retried task's inputs are promised again"},
  {task_status::ready, task_status::error,
   "its admission can never pass (quota_exceeded, admission_failed)"},
}};

/// Returns "PENDING", "READY", ...; "UNKNOWN" for a value outside the enum.
std::string_view to_string(task_status x) noexcept;

/// Parses the UPPERCASE name; nullopt for anything else.
std::optional<task_status> task_status_from_string(std::string_view name) noexcept;

/// Returns whether the table allows `from -> to`.
constexpr bool can_transition(task_status from, task_status to) noexcept {
  for (const auto& t : task_transitions)
    if (t.from == from && t.to == to)
      return true;
  return false;
}

/// Returns whether `x` is a final status of the node's own work: DONE,
/// ERROR, CANCELLED or SKIPPED (an operator's retry may still leave ERROR
/// and CANCELLED).
constexpr bool is_terminal(task_status x) noexcept {
  return x == task_status::done || x == task_status::error
         || x == task_status::cancelled || x == task_status::skipped;
}

/// Returns nullopt when `from -> to` is allowed, else an
/// `ec::illegal_transition` problem at "/status" naming both states.
std::optional<problem> check_transition(task_status from, task_status to);

// -- asset status -------------------------------------------------------------

/// The life cycle of an asset. Printed in UPPERCASE ("AVAILABLE").
enum class asset_status : uint8_t {
  /// Promised by a task that has not finished yet.
  pending = 0,
  /// Its content exists and may be read.
  available = 1,
  /// The task that promised it failed; it will never exist. Terminal.
  failed = 2,
  /// Its content existed and was removed by the retention policy (its row
  /// and its lineage stay): it cannot be read or used as an input any
  /// more. Terminal.
  purged = 3,
};

/// Every asset status, in numeric order.
inline constexpr std::array<asset_status, 4> all_asset_statuses = {
  asset_status::pending, asset_status::available, asset_status::failed,
  asset_status::purged,
};

/// One allowed asset status change and why it happens.
struct asset_transition {
  asset_status from;
  asset_status to;
  /// What causes it, in a few words.
  std::string_view cause;
};

/// Every allowed asset status change; anything else is illegal.
inline constexpr std::array<asset_transition, 4> asset_transitions = {{
  {asset_status::pending, asset_status::available,
   "the producing task succeeded"},
  {asset_status::pending, asset_status::failed, "the producing task failed"},
  {asset_status::available, asset_status::purged,
   "retention removed its content"},
  {asset_status::failed, asset_status::pending,
   "its producing task is retried (promised again)"},
}};

/// Returns "PENDING", "AVAILABLE", "FAILED", "PURGED"; "UNKNOWN" outside the
/// enum.
std::string_view to_string(asset_status x) noexcept;

/// Parses the UPPERCASE name; nullopt for anything else.
std::optional<asset_status>
asset_status_from_string(std::string_view name) noexcept;

/// Returns whether the table allows `from -> to`.
constexpr bool can_transition(asset_status from, asset_status to) noexcept {
  for (const auto& t : asset_transitions)
    if (t.from == from && t.to == to)
      return true;
  return false;
}

/// Returns whether `x` is final for the node's own work: FAILED or PURGED
/// (an operator's retry of the producing task promises a FAILED asset
/// again).
constexpr bool is_terminal(asset_status x) noexcept {
  return x == asset_status::failed || x == asset_status::purged;
}

/// Returns nullopt when `from -> to` is allowed, else an
/// `ec::illegal_transition` problem at "/status" naming both states.
std::optional<problem> check_transition(asset_status from, asset_status to);

} // namespace omniva::contracts
