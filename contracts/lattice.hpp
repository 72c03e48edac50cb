#pragma once

// Lattice's pure logic (docs/engines.md, "Lattice"): which pool a READY
// task goes to and its place in that pool's queue. The actor
// (actors/lattice.hpp) only feeds batches through it.

#include "contracts/engines.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace omniva::lattice {

/// How Lattice routes (node option `omniva.ageing-ms`).
struct settings {
  /// A task waiting this much longer counts one priority level more, so
  /// nothing starves. Default 10 s.
  std::chrono::milliseconds ageing = std::chrono::seconds{10};
};

/// A task's rank in its pool's queue (lower goes first): `ready_at_ms -
/// (priority + delta) * ageing`. Ageing at a constant rate keeps the order
/// of two waiting tasks fixed over time, so the queue never re-sorts.
int64_t rank(int32_t priority, int32_t delta, int64_t ready_at_ms,
             std::chrono::milliseconds ageing) noexcept;

/// A promoted clip candidate's `lattice_priority` from Pantheon's verdict:
/// the consensus, discounted by half the dissent (a split vote ranks below
/// a unanimous one of the same mean), in [0, 1], rounded to 1e-6.
double clip_priority(double consensus, double dissent) noexcept;

/// The priority levels a promoted clip's `lattice_priority` adds to its
/// task's rank: round(10 * priority), so the best clips of a run are edited
/// first (a level is one `ageing` of waiting).
int32_t priority_delta_of(double lattice_priority) noexcept;

/// Routes one task over `pools`: pools its resources do not fit, open
/// quarantines and (when another fits) the pool to avoid are discarded
/// with that reason; the rest are scored by free capacity against queue
/// depth (free slots minus queued tasks, relative to the pool's size; a
/// half-open pool scores lowest) and the best wins, ties broken by name.
/// No pool left: `pool` empty (the task waits; HaloLux says why).
contracts::route_directive route(const contracts::route_request& task,
                                 const std::vector<contracts::pool_view>& pools,
                                 const settings& s, uint64_t routing_sequence);

/// Lattice's router: numbers every directive with a monotonic
/// `routing_sequence`.
class router {
public:
  explicit router(settings s = {}) : settings_(s) {
  }

  /// Routes a batch in order; each task routed counts as queued on its
  /// pool for the tasks after it.
  contracts::lattice_advice advise(const contracts::route_batch& batch);

  /// The sequence number of the next directive.
  uint64_t next_sequence() const noexcept {
    return next_;
  }

private:
  settings settings_;
  uint64_t next_ = 1;
};

} // namespace omniva::lattice
