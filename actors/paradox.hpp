#pragma once

// Paradox: duplicates before execution, and audits of the state and the
// lineage (docs/engines.md, "Paradox" and "Audits"). It advises only: it
// reads the database (storage::reader) and never writes; Zenith records
// its advice and decides.
//
// - `clear`: each new task's duplicate key goes through the in-memory
//   `paradox::duplicate_index`; a `reuse` or `block` key the index does not
//   hold is looked up in the lineage (the first packet naming the subject
//   `paradox::duplicate_subject(key)`, a `task.created` whose payload names
//   its `task_id`), so a restart keeps finding the first such task.
// - `audit`: reads the tasks, assets and holds tables and the whole log
//   (blocking: spawn Paradox detached) and runs the checks of
//   contracts/audit.hpp.

#include "actors/interfaces.hpp"
#include "contracts/audit.hpp"
#include "contracts/ids.hpp"
#include "contracts/paradox.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::actors {

/// Paradox's state; the methods are testable without an actor system.
struct paradox_state {
  static constexpr const char* name = "paradox";

  /// Duplicate key -> the first task seen with it (since the start, and the
  /// durable ones found in the lineage).
  paradox::duplicate_index index;
  /// The database, read only.
  std::shared_ptr<const storage::reader> reader;
  /// Where audit ids come from. Default: random UUIDv4.
  std::unique_ptr<contracts::id_source> ids;
  /// Where the times of an audit come from. Default: the system clock.
  std::unique_ptr<contracts::clock_source> clock;
  /// How many times an audit reads the state tables again when a commit
  /// landed while it read them (the tables are read one after the other,
  /// not through one view). Default: 5; after that it goes on with the
  /// last reading, whose findings may include a change half seen.
  uint32_t max_state_reads = 5;

  /// The first task of a `reuse` or `block` contract recorded with
  /// duplicate key `key`: the payload member `task_id` of the first packet
  /// naming `paradox::duplicate_subject(key)`. nullopt when none does, or
  /// when the lineage cannot be read (logged).
  std::optional<std::string> durable_first(std::string_view key) const;

  /// Advises on a batch of new tasks, in order (`duplicate_index::advise`
  /// with `durable_first` as the durable lookup).
  contracts::paradox_advice clear(const std::vector<contracts::clearance_item>& items);

  /// Reads the state tables (holds, tasks, assets) as an audit sees them,
  /// and the number of packets in the log when they were read. Errors: the
  /// reader's; `corruption` for a row that does not parse or a malformed
  /// hold key.
  caf::expected<std::pair<audit::state_snapshot, uint64_t>> read_state() const;

  /// Runs an audit now on behalf of `requested_by`: the state tables, then
  /// the log up to the packet the state had when read, through every
  /// check. Blocks on the database. Errors: as `read_state`, and the log's
  /// (`corruption` for a packet that does not parse).
  caf::expected<contracts::audit_report> audit(const std::string& requested_by);
};

/// Paradox's behavior: `paradox_actor` (actors/interfaces.hpp). Spawn it
/// detached: an audit reads the whole log.
paradox_actor::behavior_type
paradox(paradox_actor::stateful_pointer<paradox_state> self,
        std::shared_ptr<const storage::reader> reader);

} // namespace omniva::actors
