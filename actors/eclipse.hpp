#pragma once

// Eclipse: failures, retries and circuit breakers (docs/engines.md,
// "Eclipse"). Zenith reports every attempt's end; Eclipse answers retry
// plans and breaker changes (contracts/eclipse.hpp does the judging) and
// follows the quarantines Zenith commits. It advises only: Zenith decides.

#include "actors/interfaces.hpp"
#include "contracts/eclipse.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <vector>

namespace omniva::actors {

/// Eclipse's state; the methods are testable without an actor system.
struct eclipse_state {
  static constexpr const char* name = "eclipse";

  /// How Eclipse judges (thresholds, cool-down, poison limit, seed).
  omniva::eclipse::settings settings;
  /// The circuit breakers, per module ref and per pool (built from
  /// `settings`).
  omniva::eclipse::breakers breakers;

  /// Advises on a batch of attempt reports: a plan per failure, in order,
  /// and the breakers whose state changes.
  contracts::eclipse_advice report(const std::vector<contracts::attempt_report>& reports);

  /// Follows a quarantine's state as Zenith committed it: `half_open` lets
  /// the next probe decide, `closed` forgets the target, `open` (an
  /// operator's, or a breaker's own) holds it open whatever succeeds until
  /// it is released. Another state is ignored (logged).
  void quarantine(const std::string& target, const std::string& state);
};

/// Eclipse's behavior.
eclipse_actor::behavior_type
eclipse(eclipse_actor::stateful_pointer<eclipse_state> self,
        omniva::eclipse::settings settings);

} // namespace omniva::actors
