#pragma once

// Retention over HTTP (docs/http-api.md, "Retention"): `POST /api/gc` runs a
// retention pass now through the janitor (actors/janitor.hpp), or with
// `{"dry_run": true}` shows what one would remove, changing nothing. Admin
// tokens only.

#include "actors/interfaces.hpp"
#include "runtime/http_server.hpp"
#include "runtime/node_api.hpp"

namespace omniva::runtime {

/// Installs `POST /api/gc` on `server`: the pass runs in `janitor`, on
/// behalf of the request's token (`http_request::who`), whose name the
/// records of the pass carry as their `operator`.
void install_retention_routes(http_server& server, const api_context& ctx,
                              actors::janitor_actor janitor);

} // namespace omniva::runtime
