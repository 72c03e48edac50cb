#pragma once

// The retention policy (docs/operations.md, "Retention and garbage
// collection"): what of a node's disk may go, and when, as pure functions,
// and the plan of one pass as a message.
//
// A pass (actors/janitor.hpp) reads the database and the data folder and
// plans, with `plan_task_folder` and `plan_blob`:
// - the folders of attempts that did not win (`<data>/outputs/<task>/<n>/`,
//   every attempt but the task's last: for a DONE task the one that
//   succeeded), once their task finished `attempts_after` ago;
// - the whole folder of a task (outputs and logs) once it finished
//   `outputs_after` ago, when no unfinished task holds one of its outputs;
//   its AVAILABLE FILE outputs become PURGED;
// - the blobs of the content-addressed store that no asset row references
//   (PURGED rows aside), once `blob_grace` old.
// Zenith records what goes, checking each item again (`atom::purge`), and
// only then are the files removed. An item an earlier pass recorded but
// did not remove (the node stopped in between) is removed without a new
// record: every removal is recorded once, and nothing is removed
// unrecorded. The lineage log itself is never rewritten.

#include "contracts/defaults.hpp"
#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"

#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace omniva::contracts {

// -- the policy -----------------------------------------------------------------

/// What a node keeps, and how often it looks.
struct retention_policy {
  /// How long after its task finished the folder of an attempt that did not
  /// win is kept. Default: 7 days.
  std::chrono::milliseconds attempts_after
    = defaults::retention::attempts_after;
  /// How long after its task finished a task's whole folder is kept (while
  /// no unfinished task holds one of its outputs). Default: 365 days.
  std::chrono::milliseconds outputs_after
    = defaults::retention::outputs_after;
  /// How old an unreferenced blob must be before it goes. Default: 1 h.
  std::chrono::milliseconds blob_grace = defaults::retention::blob_grace;
  /// How often the node runs a pass on its own; 0: never. Default: 1 h.
  std::chrono::milliseconds interval = defaults::retention::interval;

  friend bool operator==(const retention_policy&,
                         const retention_policy&) = default;
};

/// Reads a duration: a non-negative decimal number (fractions allowed),
/// then a unit, `s`, `m`, `h` or `d` ("90s", "1.5h", "0.5d"); a bare number
/// counts in `bare_unit` (days for the `*-days` options, seconds for the
/// others). Rounded to milliseconds. nullopt for anything else: empty, a
/// sign, another unit, more than 100 years.
std::optional<std::chrono::milliseconds>
parse_duration(std::string_view text, std::chrono::milliseconds bare_unit);

/// A duration for people, in the largest unit that keeps it exact to a
/// tenth: "7d", "365d", "1h", "1.5h", "90s", "0.25s", "0s".
std::string format_duration(std::chrono::milliseconds d);

// -- the plan -------------------------------------------------------------------

/// The packet kinds of a pass: one task's files removed (subject the task).
inline constexpr std::string_view files_removed_kind = "task.files_removed";
/// An asset's content removed; the asset is PURGED (subject the asset).
inline constexpr std::string_view asset_purged_kind = "asset.purged";
/// A blob removed (subject `blob_subject(sha256)`).
inline constexpr std::string_view blob_removed_kind = "blob.removed";
/// The summary of a pass that recorded something (subject `gc_subject`).
inline constexpr std::string_view gc_completed_kind = "gc.completed";
/// The subject of every pass's summary: its history lists the passes.
inline constexpr std::string_view gc_subject = "gc";
/// Who a pass the node ran on its own names as its operator.
inline constexpr std::string_view retention_operator = "retention";

/// The subject of the packets about blob `sha256`: "blob:<sha256>".
std::string blob_subject(std::string_view sha256);

/// One task's files that a pass removes.
struct purge_task {
  /// The task (UUID).
  std::string task_id;
  /// The attempt folders that go (`outputs/<task>/<n>/`), ascending; for a
  /// whole folder, the attempt folders it holds.
  std::vector<uint32_t> attempts;
  /// Whether the task's whole folder `outputs/<task>/` goes.
  bool whole = false;
  /// The bytes of the files that go.
  uint64_t bytes = 0;
  /// The output assets that become PURGED (a whole folder only): its
  /// AVAILABLE FILE outputs.
  std::vector<std::string> assets;
  /// Why it goes, one sentence for people (and the record).
  std::string reason;
  /// Whether an earlier pass recorded this removal and the files were still
  /// there (the node stopped in between): they go without a new record.
  bool recorded = false;

  friend bool operator==(const purge_task&, const purge_task&) = default;
};

/// @relates purge_task
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, purge_task& x) {
  return f(caf::meta::type_name("purge_task"), x.task_id, x.attempts, x.whole,
           x.bytes, x.assets, x.reason, x.recorded);
}

/// One blob that a pass removes.
struct purge_blob {
  /// Its SHA-256 (its name in the store), 64 lowercase hex digits.
  std::string sha256;
  /// Its size.
  uint64_t bytes = 0;
  /// Why it goes.
  std::string reason;
  /// As `purge_task::recorded`.
  bool recorded = false;

  friend bool operator==(const purge_blob&, const purge_blob&) = default;
};

/// @relates purge_blob
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, purge_blob& x) {
  return f(caf::meta::type_name("purge_blob"), x.sha256, x.bytes, x.reason,
           x.recorded);
}

/// What one pass removes (or, in a dry run, would remove): what the janitor
/// asks Zenith to record, what Zenith answers it accepted, and what the
/// janitor reports it removed.
struct purge_plan {
  /// Whether nothing changes: the plan is only shown.
  bool dry_run = false;
  /// Who asked for the pass: a token's name, or `retention_operator` for
  /// the node's own passes. The records name it as their `operator`.
  std::string by;
  /// When the plan was made (ISO 8601 UTC).
  std::string at;
  /// The trace of the packets that recorded the pass; empty when nothing
  /// new was recorded (a dry run, or nothing to do).
  std::string trace_id;
  /// The task folders (and attempt folders) that go.
  std::vector<purge_task> tasks;
  /// The blobs that go.
  std::vector<purge_blob> blobs;
  /// The items Zenith refused when it checked them again (an output taken
  /// by a new task meanwhile, a blob registered again): left alone.
  uint64_t skipped = 0;
  /// The items whose files could not be removed after they were recorded
  /// (logged; the next pass tries again).
  uint64_t failed = 0;

  friend bool operator==(const purge_plan&, const purge_plan&) = default;
};

/// @relates purge_plan
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, purge_plan& x) {
  return f(caf::meta::type_name("purge_plan"), x.dry_run, x.by, x.at,
           x.trace_id, x.tasks, x.blobs, x.skipped, x.failed);
}

/// The counts of a plan.
struct purge_totals {
  /// Task items (whole folders and attempt folders).
  uint64_t tasks = 0;
  /// Whole task folders among them.
  uint64_t folders = 0;
  /// Attempt folders that go (those inside whole folders included).
  uint64_t attempts = 0;
  /// Assets that become PURGED.
  uint64_t assets = 0;
  /// Blobs.
  uint64_t blobs = 0;
  /// Bytes of all of it.
  uint64_t bytes = 0;
};

/// Counts `x`.
purge_totals totals(const purge_plan& x);

/// Whether `x` has no item.
inline bool empty(const purge_plan& x) noexcept {
  return x.tasks.empty() && x.blobs.empty();
}

/// The JSON form: `{"dry_run", "operator", "at", "trace_id"?, "tasks":
/// [{"task_id", "attempts", "whole", "bytes", "assets", "reason",
/// "recorded_earlier"}], "blobs": [{"sha256", "bytes", "reason",
/// "recorded_earlier"}], "skipped", "failed", "totals": {"tasks",
/// "folders", "attempts", "assets", "blobs", "bytes"}}`.
json::value to_json(const purge_plan& x);

// -- planning ---------------------------------------------------------------------

/// What earlier passes recorded of one task's files: the union of its
/// `task.files_removed` packets.
struct recorded_removals {
  /// The attempt folders recorded as removed.
  std::vector<uint32_t> attempts;
  /// Whether its whole folder was recorded as removed.
  bool whole = false;
};

/// Adds what the payload of a `task.files_removed` packet (JSON text) says
/// to `out`; a payload that does not read adds nothing.
void note_recorded_removal(std::string_view payload_json,
                           recorded_removals& out);

/// One task's folder `<data>/outputs/<task>/` as a pass found it.
struct task_folder {
  /// The task, as stored.
  task_record task;
  /// Its attempt folders: attempt number -> bytes of their files.
  std::map<uint32_t, uint64_t> attempts;
  /// The bytes of anything else in the folder.
  uint64_t other_bytes = 0;
  /// Its output assets as stored, with their holders (`holds`); an output
  /// that no longer exists (deleted) is left out.
  std::vector<asset_record> outputs;
  /// What earlier passes recorded of it.
  recorded_removals recorded;
};

/// What a pass removes of one task's folder at `now`: nothing while the
/// task is unfinished (or its finish time does not read); else, its whole
/// folder once it finished `outputs_after` ago and none of its outputs is
/// held; else, once it finished `attempts_after` ago, the attempt folders
/// other than its last attempt's. Items an earlier pass recorded come
/// separately, marked `recorded` (at most one of those and one new item).
std::vector<purge_task> plan_task_folder(const task_folder& folder,
                                         const retention_policy& policy,
                                         timestamp now);

/// Adds to `out` the blobs (SHA-256 hex) asset `a` references: none for a
/// PURGED asset; else its `sha256` and the blob its `uri` names (a path
/// `.../blobs/sha256/ab/<64 hex>`). Matching by content, not only by path,
/// keeps a blob whose asset rows name a moved data folder.
void add_blob_references(const asset_record& a,
                         std::unordered_set<std::string>& out);

/// One blob of the store as a pass found it.
struct blob_file {
  /// Its name, 64 lowercase hex digits.
  std::string sha256;
  /// Its size.
  uint64_t bytes = 0;
  /// When it was last written.
  timestamp modified;
  /// When the last `blob.removed` packet for this content was recorded, if
  /// one was.
  std::optional<timestamp> removal_recorded;
};

/// What a pass does with blob `b` at `now`: nothing while an asset in
/// `referenced` (see `add_blob_references`) names it; a recorded item when
/// an earlier pass recorded its removal after it was written; a new item
/// once it is `blob_grace` old; else nothing.
std::optional<purge_blob>
plan_blob(const blob_file& b, const std::unordered_set<std::string>& referenced,
          const retention_policy& policy, timestamp now);

} // namespace omniva::contracts
