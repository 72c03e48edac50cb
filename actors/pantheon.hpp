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

#include <cstddef>

namespace omniva::actors {

/// How Pantheon votes.
struct pantheon_settings {
  /// A ballot whose candidates and analysis together are longer than this
  /// (JSON text) is not voted on: the advice says why, and the fan-out
  /// keeps no candidate. 64 MiB, the largest JSON output a module may
  /// write (`max_json_output_bytes`).
  size_t max_ballot_bytes = size_t{64} << 20;
};

/// Pantheon's behavior.
pantheon_actor::behavior_type pantheon(pantheon_actor::pointer self,
                                       pantheon_settings settings);

} // namespace omniva::actors
