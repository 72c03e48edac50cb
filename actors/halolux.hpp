#pragma once

// HaloLux: explanations of tasks, assets and traces from the lineage alone
// (docs/engines.md, "HaloLux"). The logic is pure (contracts/halolux.hpp);
// the actor binds it to the database (storage::reader) and keeps a cache.
//
// An explanation is built from the log as it is when the request arrives:
// every read is bounded by the log's length then, so packets committed
// while it is built do not mix in. A cached explanation is answered again
// while nothing it read has changed: the last packet of every subject it
// read (the task, its inputs, the tasks it names, the quarantine targets)
// and of the trace it pages are still the same. A new packet of a trace
// touches the subjects it names (or the trace itself, for a trace's page),
// so it invalidates what was explained from them; each check is one seek.
// HaloLux never writes.

#include "actors/interfaces.hpp"
#include "contracts/halolux.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace omniva::actors {

/// How HaloLux runs.
struct halolux_config {
  /// Explanations kept; the least recently used goes first. 0: none are
  /// kept. Default: 1024.
  size_t cache_entries = 1024;
};

/// HaloLux's state; the methods are testable without an actor system.
struct halolux_state {
  static constexpr const char* name = "halolux";

  /// An explanation kept, and what it was built from.
  struct cached {
    contracts::explanation answer;
    /// The subjects it read, each with the seq of its last packet then.
    std::vector<std::pair<std::string, uint64_t>> subjects;
    /// The traces it paged, each with the seq of its last packet then.
    std::vector<std::pair<std::string, uint64_t>> traces;
    /// When it was last answered (the state's `uses` then).
    uint64_t used = 0;
  };

  /// How HaloLux runs.
  halolux_config config;
  /// The database, read only.
  std::shared_ptr<const storage::reader> reader;
  /// Explanations kept, by query (id, limit and cursor).
  std::map<std::string, cached> cache;
  /// Requests answered (the clock of `cached::used`).
  uint64_t uses = 0;
  /// Requests answered from the cache, and built.
  uint64_t hits = 0;
  uint64_t misses = 0;

  /// Explains `q` (contracts/halolux.hpp, `halolux::explain`), from the
  /// cache when nothing it read has changed. Errors: those of
  /// `halolux::explain` and of the reader.
  caf::expected<contracts::explanation> explain(const contracts::explain_query& q);

private:
  /// Whether `c` still holds: the last packet of every subject and trace it
  /// read is the same. A read error counts as changed.
  bool still_holds(const cached& c) const;

  /// Drops the least recently used entries until one more fits.
  void make_room();
};

/// HaloLux's behavior. Spawn it detached: an explanation blocks on the
/// database.
halolux_actor::behavior_type
halolux(halolux_actor::stateful_pointer<halolux_state> self,
        std::shared_ptr<const storage::reader> reader, halolux_config config);

} // namespace omniva::actors
