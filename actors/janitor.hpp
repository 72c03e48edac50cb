#pragma once

// The janitor: the retention passes of a node (contracts/retention.hpp,
// docs/operations.md "Retention and garbage collection"), off Zenith's
// thread. A pass reads the database (storage::reader) and the data folder
// (`<data>/outputs/<task>/<attempt>/`, `<data>/blobs/sha256/ab/<sha>`),
// plans what goes, has Zenith record it (`atom::purge`: Zenith checks each
// item again and commits the packets, PURGED outputs included), and only
// then removes the files Zenith accepted. Items an earlier pass recorded
// whose files are still there (the node stopped between the record and the
// removal) are removed without a new record.
//
// Passes run one at a time: every `policy.interval` on the janitor's own
// timer (never when it is 0), and on request (`POST /api/gc`, `omniva gc`);
// a dry run plans and changes nothing.

#include "actors/interfaces.hpp"
#include "contracts/ids.hpp"
#include "contracts/retention.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace omniva::actors {

/// How the janitor runs.
struct janitor_config {
  /// The node's data folder (absolute).
  std::string data_dir;
  /// What is kept, and how often a pass runs on its own.
  contracts::retention_policy policy;
  /// How long a pass waits for Zenith to record it before it gives up
  /// (nothing is removed then). Default: 2 minutes.
  std::chrono::milliseconds zenith_timeout = std::chrono::minutes{2};
};

/// What one pass found, and what is needed to remove it safely.
struct janitor_pass {
  /// The plan: every item, those recorded earlier marked `recorded`.
  contracts::purge_plan plan;
  /// For each blob of the plan, its modification time when planned (a blob
  /// written again since is kept).
  std::map<std::string, contracts::timestamp> blob_times;
};

/// The janitor's state; the methods are testable without an actor system.
struct janitor_state {
  static constexpr const char* name = "janitor";

  /// How the janitor runs.
  janitor_config config;
  /// The database, read only.
  std::shared_ptr<const storage::reader> reader;
  /// Where the time of a pass comes from. Default: the system clock.
  std::unique_ptr<contracts::clock_source> clock;
  /// Where the passes are recorded.
  zenith_actor zenith;

  /// Plans a pass now (blocks on the disk and the database): the task
  /// folders under `<data>/outputs` (a folder not named after a task of
  /// this node is not ours and is left alone) and the blobs of the store.
  /// Errors: the reader's.
  caf::expected<janitor_pass> plan(bool dry_run, const std::string& by);

  /// Removes the files of `accepted` (what Zenith recorded) and of the
  /// items of `pass` an earlier pass recorded; answers what went, with
  /// `failed` counting the items whose files could not be removed (logged;
  /// recorded already, so the next pass removes them). A blob that an
  /// asset references again, or that was written again since it was
  /// planned, is kept (logged).
  contracts::purge_plan remove(const janitor_pass& pass,
                               contracts::purge_plan accepted);

  /// The items of `pass` that Zenith must record (those not recorded
  /// earlier).
  static contracts::purge_plan to_record(const janitor_pass& pass);
};

/// The janitor's behavior. Spawn it detached: a pass blocks on the disk.
janitor_actor::behavior_type
janitor(janitor_actor::stateful_pointer<janitor_state> self,
        janitor_config config, std::shared_ptr<const storage::reader> reader,
        zenith_actor zenith);

} // namespace omniva::actors
