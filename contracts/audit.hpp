#pragma once

// Paradox's audits as pure functions (docs/engines.md, "Audits"): checks
// over a snapshot of the state tables (tasks, assets, holds) and a digest of
// the lineage log, each finding a `contracts::conflict_resolution`. The
// actor (actors/paradox.hpp) reads the database into these types; the
// checks never read anything themselves, so they are tested with
// hand-built records and packets.
//
// The checks, in the order an audit runs them and lists their findings:
//
// | check | severity | action | affected | evidence |
// | --- | --- | --- | --- | --- |
// | `available_without_producer` | high | quarantine | asset (+ its `produced_by` task) | none (the packet is what is missing) |
// | `two_producers` | critical | block | asset, the tasks claiming it | the producing packets |
// | `done_with_missing_outputs` | high | block | task, its missing outputs | the packet that ended the task, producers of the outputs |
// | `hold_on_finished_task` | medium | ignore | task, asset | the packet that ended the task |
// | `time_backwards` | low | ignore | trace | the two packets, in log order |
//
// Paradox only recommends: Zenith records the findings, nothing changes a
// task because of them.

#include "contracts/engines.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "contracts/packet.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace omniva::audit {

// -- the checks ---------------------------------------------------------------------

/// An AVAILABLE asset that no packet produced: no `asset.registered` names
/// it, and no `task.succeeded` or `task.reused` lists it among its payload's
/// `outputs`. Its content has no provenance: quarantine it.
inline constexpr std::string_view available_without_producer
  = "available_without_producer";

/// An asset produced twice: two producing packets (see
/// `available_without_producer`), or two task rows listing it among their
/// `outputs`. Which content is the asset's cannot be told: block its use.
inline constexpr std::string_view two_producers = "two_producers";

/// A DONE task an output of which is not AVAILABLE: its row is PENDING or
/// FAILED, or missing without an `asset.deleted` for it. PURGED outputs
/// (the retention policy removed their content) and outputs an operator
/// deleted count as accounted for. What reads them would read nothing:
/// block it.
inline constexpr std::string_view done_with_missing_outputs
  = "done_with_missing_outputs";

/// A hold (a row of `storage::table::holds`) of a task that is finished
/// (DONE, ERROR, CANCELLED, SKIPPED) or that no task row names: nothing will
/// release it, and the asset can never be deleted. Harmless for what runs.
inline constexpr std::string_view hold_on_finished_task
  = "hold_on_finished_task";

/// A packet whose `at` is earlier than that of the packet before it in the
/// same trace (the log's order): the clock went backwards (or a packet was
/// written with a wrong time). Informational.
inline constexpr std::string_view time_backwards = "time_backwards";

/// Every check, in the order an audit runs them.
inline constexpr std::array<std::string_view, 5> check_names = {
  available_without_producer, two_producers, done_with_missing_outputs,
  hold_on_finished_task, time_backwards,
};

/// The severity and action of each check (see the table above).
struct check_rating {
  std::string_view check;
  std::string_view severity;
  std::string_view action;
};

/// The rating of every check, in `check_names` order.
inline constexpr std::array<check_rating, 5> check_ratings = {{
  {available_without_producer, "high", "quarantine"},
  {two_producers, "critical", "block"},
  {done_with_missing_outputs, "high", "block"},
  {hold_on_finished_task, "medium", "ignore"},
  {time_backwards, "low", "ignore"},
}};

// -- what an audit looks at ----------------------------------------------------------

/// One row of `storage::table::holds`: task `task_id` holds asset
/// `asset_id`.
struct hold {
  std::string asset_id;
  std::string task_id;

  friend bool operator==(const hold&, const hold&) = default;
};

/// The state tables as an audit read them, in any order.
struct state_snapshot {
  std::vector<contracts::task_record> tasks;
  std::vector<contracts::asset_record> assets;
  std::vector<hold> holds;
};

/// A packet whose `at` is earlier than the one before it in its trace.
struct time_step {
  std::string trace_id;
  /// The packet before (earlier in the log, later in time).
  std::string before_packet;
  std::string before_at;
  /// The packet that went back in time.
  std::string packet;
  std::string at;

  friend bool operator==(const time_step&, const time_step&) = default;
};

/// What an audit keeps of the lineage log, fed one packet at a time in
/// log order: memory grows with the assets, tasks and traces named, not
/// with the number of packets.
class lineage_digest {
public:
  /// Takes in the next packet of the log (`seq` order). A payload that is
  /// not JSON counts as empty; an `at` that is not a timestamp is not
  /// compared.
  void add(const contracts::packet& p);

  /// Packets taken in.
  uint64_t packets() const noexcept {
    return packets_;
  }

  /// The ids of the packets that produced asset `asset_id`, in log order:
  /// `asset.registered` naming it as a subject, `task.succeeded` and
  /// `task.reused` listing it in their payload's `outputs` (`{key:
  /// {asset_id, ...}}`). Empty when none did.
  const std::vector<std::string>& producers(std::string_view asset_id) const;

  /// The id of the last packet that ended task `task_id`
  /// (`task.succeeded`, `task.failed`, `task.cancelled`, `task.skipped`,
  /// `task.reused` naming it; not the task a `task.reused` took from); ""
  /// when none did.
  std::string ended_by(std::string_view task_id) const;

  /// The id of the `asset.deleted` packet of `asset_id`; "" when none.
  std::string deleted_by(std::string_view asset_id) const;

  /// Every step back in time within a trace, in log order.
  const std::vector<time_step>& backward_steps() const noexcept {
    return steps_;
  }

private:
  struct trace_last {
    int64_t at_ms = 0;
    std::string at;
    std::string packet;
  };

  uint64_t packets_ = 0;
  std::unordered_map<std::string, std::vector<std::string>> producers_;
  std::unordered_map<std::string, std::string> ended_;
  std::unordered_map<std::string, std::string> deleted_;
  std::unordered_map<std::string, trace_last> traces_;
  std::vector<time_step> steps_;
};

// -- the checks ------------------------------------------------------------------------

/// Each check alone; findings sorted by `affected`, then `evidence`.
std::vector<contracts::conflict_resolution>
check_available_without_producer(const state_snapshot& state,
                                 const lineage_digest& log);
std::vector<contracts::conflict_resolution>
check_two_producers(const state_snapshot& state, const lineage_digest& log);
std::vector<contracts::conflict_resolution>
check_done_with_missing_outputs(const state_snapshot& state,
                                const lineage_digest& log);
std::vector<contracts::conflict_resolution>
check_hold_on_finished_task(const state_snapshot& state,
                            const lineage_digest& log);
std::vector<contracts::conflict_resolution>
check_time_backwards(const lineage_digest& log);

/// Every check in `check_names` order, each one's findings sorted as above:
/// the same snapshot and log always give the same list, whatever the order
/// of the snapshot's rows.
std::vector<contracts::conflict_resolution>
run_checks(const state_snapshot& state, const lineage_digest& log);

// -- the record of an audit ------------------------------------------------------------

/// The subject of every recorded audit: its history lists them all.
inline constexpr std::string_view audits_subject = "audits";

/// The payload of the `advice.paradox` packet that records `report`
/// (docs/engines.md, "Packets"): `advice: "audit"`, then the members of
/// `to_json(report)` but `packet_id` (the packet's own id, unknown before
/// it is sealed).
json::value audit_payload(const contracts::audit_report& report);

/// Reads back a recorded audit from its packet: the report, `packet_id`
/// the packet's id. nullopt when the packet is not an audit's record
/// (another kind, or `advice` is not "audit") or its payload lacks the
/// report's members.
std::optional<contracts::audit_report>
audit_from_packet(const contracts::packet& p);

} // namespace omniva::audit
