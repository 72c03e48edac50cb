#pragma once

// Operator overrides over HTTP (docs/http-api.md, "Quarantines"; docs/
// engines.md, "Eclipse"): the reading of a quarantine request, apart from
// the routes (runtime/api_quarantines.cpp) so that it is tested without a
// node. The routes themselves are installed by `api::install_quarantine_routes`
// (runtime/api_routes.hpp).

#include "contracts/engines.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <cstddef>
#include <optional>
#include <vector>

namespace omniva::runtime {

/// The longest `reason` an operator may give a quarantine, in bytes: it is
/// copied into the `operator.override` packet and every list of quarantines.
inline constexpr size_t max_quarantine_reason_bytes = 1024;

/// Reads the body of `POST /api/quarantines`: a JSON object naming the
/// target once, as `"target": "module:<name@N>" | "pool:<name>"`, or as
/// `"module": "<name@N>"` or `"pool": "<name>"`, and an optional `"reason"`
/// (a string up to `max_quarantine_reason_bytes`; null is none).
///
/// Returns the change to ask Zenith for (`add` true, `by` left empty: the
/// route sets the operator), or nullopt with every problem appended to
/// `problems`, each with the JSON pointer of its member: `type_mismatch`
/// (a body that is not an object, at ""; a member that is not a string),
/// `unknown_field` (`/<member>`), `missing_field` (`/target`, when none of
/// the three names a target), `invalid_argument` (a second way of naming
/// the target, at its member; a target that `contracts::is_quarantine_target`
/// refuses, at the member that gave it; a reason too long, `/reason`).
std::optional<contracts::quarantine_change>
quarantine_request_from_json(const json::value& body,
                             std::vector<contracts::problem>& problems);

} // namespace omniva::runtime
