#pragma once

// The state tables of a database, by name: what a reader asks for and what a
// commit writes to. Readers include this header, never storage/commit.hpp
// (the write capability).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace omniva::storage {

/// The tables of state (one column family each, DESIGN.md §5).
enum class table : uint8_t {
  /// Asset records, by asset id.
  assets,
  /// Task records, by task id.
  tasks,
  /// Registered module contracts, by `name@version`.
  modules,
  /// Registered JSON Schemas, by `name@N`.
  schemas,
  /// Registered policies, by `name@N`.
  policies,
  /// Holds: which unfinished task holds which asset (it cannot be deleted
  /// while any is left), one row per pair, by `hold_key(asset, task)`; the
  /// row is empty. A change is justified by a packet naming the task.
  holds,
  /// API tokens, by `token:<name>` (the subject their packets name): the
  /// name, role, SHA-256 of the secret (never the secret), expiry.
  tokens,
  /// Webhooks, by webhook id (a UUID): URL and event kinds. Their secrets
  /// and delivery state live in files of the data folder, not here.
  webhooks,
  /// Quarantines (circuit breakers open, half-open, or set by an operator),
  /// by target: `module:<name@N>` or `pool:<name>` (the subject their
  /// packets name). A row is a `contracts::quarantine_record` in JSON.
  quarantines,
  /// Registered pipelines, by `name@N` (docs/pipelines.md): the document
  /// as registered, compact JSON.
  pipelines,
  /// Pipeline runs, by run id: a `contracts::run_record` in JSON.
  runs,
  /// Triggers, by trigger id: a `contracts::trigger_record` in JSON.
  triggers,
  /// Registered personas of Pantheon, by `name@N` (docs/engines.md,
  /// "Pantheon"): the document as registered, canonical JSON. The built-in
  /// `personas@1` has no row.
  personas,
  /// The policies' live state (docs/policies.md), by subject: named budgets
  /// `budget:<name>` and the spend of capped runs `run:<run id>` (each a
  /// `contracts::budget_record` in JSON), quotas `quota:<name>`
  /// (`contracts::quota_record`), and the leases held on write prefixes
  /// `lease:<prefix>` (`contracts::lease_record`).
  limits,
  /// Registered predicates (docs/policies.md), by `name@N`: the entry as
  /// `contracts::to_json(predicate_entry)` gives it. The shipped `<kind>@1`
  /// have no row.
  predicates,
};

/// Returns the column family name of `t` ("assets", ...).
std::string_view to_string(table t) noexcept;

/// What one row of `t` is, for messages: "task", "asset", "module",
/// "schema", "policy", "hold", ..., "personas".
std::string_view row_noun(table t) noexcept;

/// The key of the hold of `task_id` on `asset_id`: the asset id, a zero
/// byte, the task id (ids never hold a zero byte), so that the holds of an
/// asset are one prefix.
std::string hold_key(std::string_view asset_id, std::string_view task_id);

/// The asset id and task id of a hold key; nullopt when `key` is not one
/// (no zero byte, more than one, or an empty part).
std::optional<std::pair<std::string_view, std::string_view>>
split_hold_key(std::string_view key) noexcept;

/// The subject a packet must name to justify a change of row `key` of `t`:
/// the key itself, except for a hold, which the holding task justifies (its
/// creation takes the hold, its end releases it). Empty for a malformed
/// hold key.
std::string_view justifying_subject(table t, std::string_view key) noexcept;

/// Row `key` of `t` as messages name it: "task 'x'", "hold of task 't' on
/// asset 'a'".
std::string describe_row(table t, std::string_view key);

} // namespace omniva::storage
