#pragma once

// Pantheon: persona votes on clip candidates (docs/engines.md, "Pantheon").
// Zenith sends a ballot (the candidates of one fan-out, the personas, the
// analysis they came from); Pantheon answers the report
// (contracts/pantheon.hpp does the voting). Pure and deterministic: the
// same ballot always gets the same report. It advises only: Zenith records
// the report (`advice.pantheon`) and decides which candidates to promote.

#include "actors/interfaces.hpp"
#include "contracts/pantheon.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace omniva::actors {

/// Pantheon's behavior.
pantheon_actor::behavior_type pantheon(pantheon_actor::pointer self);

} // namespace omniva::actors
