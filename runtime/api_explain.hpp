#pragma once

// Explanations over HTTP (docs/http-api.md, "Explanations"; docs/engines.md,
// "HaloLux"): `GET /api/explain/{id}?limit=&cursor=` asks HaloLux
// (actors/halolux.hpp) why a task, an asset or a trace is where it is.
// Viewer role.

#include "actors/interfaces.hpp"
#include "runtime/http_server.hpp"
#include "runtime/node_api.hpp"

namespace omniva::runtime {

/// Installs `GET /api/explain/{id}` on `server`, answered by `halolux`:
/// 200 with the explanation's JSON form (`contracts::to_json`); 404
/// `not_found` for an id that names no task, asset or trace; 400
/// `invalid_filter` (pointer `/limit` or `/cursor`) for a limit outside
/// 1..1000, a cursor HaloLux did not give for this trace (or any cursor for
/// a task or an asset) and an unknown query parameter.
void install_explain_routes(http_server& server, const api_context& ctx,
                            actors::halolux_actor halolux);

} // namespace omniva::runtime
