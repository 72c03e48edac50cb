#pragma once

// HaloLux's pure logic (docs/engines.md, "HaloLux"): explanations of a task,
// an asset or a trace from the lineage alone. Every statement of an
// explanation cites a packet HaloLux read; nothing is inferred that no
// packet shows, and what the lineage should hold but does not is listed
// (`explanation::missing`) and weighed (`explanation::completeness`).
//
// The logic reads through a `lineage_source` (the actor, actors/halolux,
// binds it to a storage::reader; the tests to packets built by hand), so it
// is the same function of the same packets everywhere: deterministic.

#include "contracts/engines.hpp"
#include "contracts/packet.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::halolux {

/// Where an explanation reads the lineage. Each function answers from the
/// same log; a read that fails is an error the explanation passes on,
/// never "nothing there".
struct lineage_source {
  /// The packets naming `subject` with `first <= seq <= last`, in log
  /// order, at most `limit` (storage::reader::history).
  std::function<caf::expected<std::vector<contracts::packet>>(
    std::string_view subject, uint64_t first, uint64_t last, size_t limit)>
    history;
  /// The seq of the last packet naming `subject` with `seq <= at_most`; 0
  /// when there is none (storage::reader::last_seq_of).
  std::function<caf::expected<uint64_t>(std::string_view subject,
                                        uint64_t at_most)>
    last_seq;
  /// The packet at `seq` (storage::reader::packet_by_seq).
  std::function<caf::expected<contracts::packet>(uint64_t seq)> at;
  /// The packets of trace `trace_id` with `first <= seq <= last`, in log
  /// order, at most `limit` (storage::reader::by_trace).
  std::function<caf::expected<std::vector<contracts::packet>>(
    std::string_view trace_id, uint64_t first, uint64_t last, size_t limit)>
    trace;
};

/// Tasks per page of a trace when the query gives none.
inline constexpr uint32_t default_limit = 100;

/// The most tasks one page of a trace may ask for.
inline constexpr uint32_t max_limit = 1000;

/// How far "why it waits" follows a chain of tasks waiting on each other's
/// outputs (a task waits for an input whose producer waits for one, ...).
inline constexpr uint32_t max_wait_depth = 16;

/// The most packets read of one subject's history (an asset taken as input
/// by many tasks has a long one); the narrative says when it stopped.
inline constexpr size_t max_history = 10'000;

/// The most tasks besides the subject an explanation reads the history of
/// (producers of inputs, identical tasks, holders); keeps one explanation
/// bounded whatever the graph.
inline constexpr size_t max_related_tasks = 64;

/// The most packets of a quarantine target (`module:<ref>`, `pool:<name>`)
/// read for one wait.
inline constexpr size_t max_target_packets = 32;

/// Explains `q.id`: a task or an asset (a subject of the lineage), else a
/// trace, one page of its tasks (`q.limit`, 0: `default_limit`; `q.cursor`,
/// the `next_cursor` of the page before). Errors: `not_found` (no packet
/// names the id and no trace has it; or it names something that is neither
/// a task nor an asset: a module, a token), `invalid_filter` with pointer
/// `/limit` (above `max_limit`) or `/cursor` (not a cursor of this trace,
/// or given for a task or an asset), and whatever the source answers.
caf::expected<contracts::explanation> explain(const contracts::explain_query& q,
                                              const lineage_source& src);

/// Whether `history` (the packets naming `id`, in order) is the history of
/// a task ("task") or of an asset ("asset"); "" for anything else. A task
/// is what a `task.created` creates or what the `_rows` of a task packet
/// record as a task row; an asset is an input or output of a
/// `task.created`, or the subject of an `asset.*` packet.
std::string_view subject_kind(std::string_view id,
                              const std::vector<contracts::packet>& history);

/// The id of the task a `task.created` packet creates: its payload's
/// `task_id`, else the one task row its `_rows` record, else its one subject
/// that is neither an input, an output nor a duplicate key; "" when none
/// can be told.
std::string created_task(const contracts::packet& p);

/// The cursor of the page of trace `trace_id` that follows the task created
/// by packet `seq`: opaque text, checked on the way back in.
std::string trace_cursor(std::string_view trace_id, uint64_t seq);

/// The seq a cursor of trace `trace_id` resumes after; nullopt for a cursor
/// `trace_cursor` did not make for this trace.
std::optional<uint64_t> read_trace_cursor(std::string_view trace_id,
                                          std::string_view cursor);

} // namespace omniva::halolux
