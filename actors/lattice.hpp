#pragma once

// Lattice: routing and priority (docs/engines.md, "Lattice"). Zenith sends
// each batch of READY tasks with the pools as it sees them; Lattice answers
// a directive per task (contracts/lattice.hpp does the routing), numbered
// with a `routing_sequence` that grows over the node's run. It advises
// only: Zenith queues and dispatches.

#include "actors/interfaces.hpp"
#include "contracts/lattice.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace omniva::actors {

/// Lattice's state; the methods are testable without an actor system.
struct lattice_state {
  static constexpr const char* name = "lattice";

  /// Routes batches and numbers the directives (ageing from the node's
  /// `omniva.ageing-ms`).
  omniva::lattice::router router;

  /// Routes one batch, in its order.
  contracts::lattice_advice route(const contracts::route_batch& batch);
};

/// Lattice's behavior.
lattice_actor::behavior_type
lattice(lattice_actor::stateful_pointer<lattice_state> self,
        omniva::lattice::settings settings);

} // namespace omniva::actors
