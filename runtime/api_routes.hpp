#pragma once

// Inside the node's HTTP API (runtime/node_api.hpp is its face): what the
// route files share. Each noun installs its routes from a file of its own
// (api_tasks.cpp, api_assets.cpp, api_registry.cpp, api_lineage.cpp,
// api_events.cpp); `install_routes` (node_api.cpp) calls them all. Only
// those files include this header.

#include "contracts/defaults.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "runtime/http_server.hpp"
#include "runtime/node_api.hpp"
#include "storage/table.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace omniva::runtime::api {

/// What every route holds: the context `install_routes` was given, shared
/// by the routes' handlers for as long as the server lives.
using context_ptr = std::shared_ptr<const api_context>;

// -- installers, one per noun -------------------------------------------------------

/// `POST/GET /api/tasks`, `GET /api/tasks/counts`, `GET /api/tasks/{id}`,
/// cancel, priority and the logs of an attempt.
void install_task_routes(http_server& server, const context_ptr& ctx);

/// `GET /api/tasks/{id}/attempts/{n}/logs` (api_logs.cpp): an attempt's
/// stdout or stderr, whole or followed. Installed by `install_task_routes`.
void install_task_log_routes(http_server& server, const context_ptr& ctx);

/// `GET /api/assets[/{id}]`, adding by path, upload and value, `DELETE`.
void install_asset_routes(http_server& server, const context_ptr& ctx);

/// The registry's nouns: modules (list, show, register, rescan), schemas
/// (list, show, register), policies (list, show) and Pantheon's personas
/// (`install_personas_routes`).
void install_registry_routes(http_server& server, const context_ptr& ctx);

/// Pantheon's personas (api_personas.cpp, docs/engines.md "Pantheon"):
/// `POST /api/personas?ref=name@N`, `GET /api/personas`, `GET
/// /api/personas/{ref}`. Installed by `install_registry_routes`.
void install_personas_routes(http_server& server, const context_ptr& ctx);

/// `GET /api/lineage/verify` and `GET /api/lineage/{id}`.
void install_lineage_routes(http_server& server, const context_ptr& ctx);

/// Watching the node: `GET /api/health`, `GET /api/events`, `GET /metrics`.
void install_event_routes(http_server& server, const context_ptr& ctx);

/// `GET /api/assets/{id}/content` (api_asset_content.cpp): a FILE asset's
/// bytes (found where the data folder is now), a VALUE's JSON.
void install_asset_content_routes(http_server& server, const context_ptr& ctx);

/// `POST /api/backup` and `GET /api/backup` (api_backup.cpp): a backup of
/// the data folder, made on a thread of its own (admin role).
void install_backup_routes(http_server& server, const context_ptr& ctx);

/// Webhooks (api_webhooks.cpp, admin only): `POST/GET /api/webhooks`,
/// `GET/DELETE /api/webhooks/{id}`.
void install_webhook_routes(http_server& server, const context_ptr& ctx);

/// Named API tokens (api_tokens.cpp, admin only): `POST/GET /api/tokens`,
/// `DELETE /api/tokens/{name}`, `POST /api/tokens/{name}/rotate`.
void install_token_routes(http_server& server, const context_ptr& ctx);

/// Operator overrides (api_quarantines.cpp): `GET/POST /api/quarantines`,
/// `DELETE /api/quarantines/{target}` and `POST /api/tasks/{id}/retry`.
void install_quarantine_routes(http_server& server, const context_ptr& ctx);

/// Policies' limits (api_limits.cpp, docs/policies.md): `GET/POST
/// /api/budgets`, `GET/PUT /api/budgets/{name}`, the same for quotas, `GET
/// /api/runs/{id}/spend`, `GET /api/leases`, `GET /api/predicates[/{ref}]`.
void install_limits_routes(http_server& server, const context_ptr& ctx);

/// Audits (api_audits.cpp): `POST /api/audits` runs one through Zenith
/// (operator role), `GET /api/audits` lists the recorded ones, newest first.
void install_audit_routes(http_server& server, const context_ptr& ctx);

/// Browser sessions (api_session.cpp): `POST /api/session` exchanges a
/// token or a one-time login code for an HttpOnly session cookie,
/// `GET /api/session` names its token and role, `DELETE` ends it.
void install_session_routes(http_server& server, const context_ptr& ctx);

/// Pipelines, runs and triggers (api_pipelines.cpp, docs/pipelines.md):
/// `POST/GET /api/pipelines`, `GET /api/pipelines/{ref}`, `POST
/// /api/pipelines/{ref}/runs`, `GET /api/runs[/{id}]`, `POST
/// /api/runs/{id}/cancel|pause|resume|retry`, `GET /api/runs/{id}/explain`,
/// `POST/GET /api/triggers`, `DELETE /api/triggers/{id}`.
void install_pipeline_routes(http_server& server, const context_ptr& ctx);

/// `GET /api/pools` (api_pools.cpp): the local worker pools, their slots
/// and health.
void install_pool_routes(http_server& server, const context_ptr& ctx);

/// `GET /api/stats` (api_stats.cpp): throughput and queue depths over time,
/// sampled by the node, for the dashboard's charts.
void install_stats_routes(http_server& server, const context_ptr& ctx);

/// The dashboard (api_static.cpp): the files of `ctx->web_dir` at `/` and
/// its libraries at `/vendor/<package>/...`. Installed last.
void install_static_routes(http_server& server, const context_ptr& ctx);

// -- answers ------------------------------------------------------------------------

/// The code of an error: ours, or `storage_error` for any other category.
contracts::ec code_of(const caf::error& e);

/// The HTTP answer for an error: its code, message and pointer, or
/// `fallback_pointer` when the error came without one (the ledger names the
/// field of its own refusals, but Zenith's answer to a record the ledger
/// passes on names none).
http_response error_from(const caf::error& e,
                         const std::string& fallback_pointer = {});

/// A JSON text Zenith answered (a run, a page of runs, a budget) as the
/// body of a response with `status`.
http_response json_text(unsigned status, std::string text);

/// The 400 answer to a body with `problems` (at least one): the first as
/// `error`, every one in `errors`, so that a client fixes them all at once.
http_response refused(const std::vector<contracts::problem>& problems);

/// Asks `handle` and answers through `r`: `on_ok` builds the response from
/// the answer, `on_error` the one for an error (also a timeout after
/// `defaults::http::actor_timeout`).
template <class Result, class Handle, class OnOk, class OnError, class... Ts>
void ask_or(caf::actor_system& sys, Handle handle, responder r, OnOk on_ok,
            OnError on_error, Ts... xs) {
  // (The unused argument works around CAF 0.17.6 dereferencing a null
  // tuple pointer for argument-less function actors, which UBSan reports.)
  sys.spawn([=](caf::event_based_actor* self, int) mutable {
    self->request(handle, defaults::http::actor_timeout, xs...)
      .then([=](Result& x) mutable { r.send(on_ok(x)); },
            [=](caf::error& e) mutable { r.send(on_error(e)); });
  }, 0);
}

/// `ask_or`, errors answered by `error_from`.
template <class Result, class Handle, class OnOk, class... Ts>
void ask(caf::actor_system& sys, Handle handle, responder r, OnOk on_ok,
         Ts... xs) {
  ask_or<Result>(sys, handle, std::move(r), std::move(on_ok),
                 [](const caf::error& e) { return error_from(e); }, xs...);
}

/// Finds the one item a GET-by-ref route names: its JSON, or the error to
/// answer with (`not_found` for an unknown ref becomes 404).
using find_one = std::function<caf::expected<json::value>(const std::string&)>;

/// Adds `GET <pattern>`, whose path parameter `param` names one item:
/// answers 200 with what `find` returns for it, or `error_from` its error.
void route_get_one(http_server& server, const std::string& pattern,
                   std::string param, find_one find);

/// The row `key` of state table `t`, parsed. Errors: the reader's
/// (`not_found` for a missing key).
caf::expected<json::value> read_row(const api_context& ctx, storage::table t,
                                    const std::string& key);

// -- requests -----------------------------------------------------------------------

/// The options of a route only admin tokens may use.
route_options admin_only();

/// The operator a request acts for, as the packets it causes name it: its
/// token's name; "anonymous" when the server checks no tokens.
std::string operator_of(const http_request& req);

/// The request's body as JSON; on a parse error answers 400 `invalid_json`
/// through `r` and returns nullopt.
std::optional<json::value> body_json(const http_request& req, responder& r);

/// A stored row (JSON text) as a value; null for text that does not parse.
json::value parse_row(const std::string& text);

/// The query parameter `key`, or `fallback` when the request has none.
std::string query(const http_request& req, const std::string& key,
                  std::string fallback = {});

/// Whether `row` passes a list filter on its string member `key`: an empty
/// filter passes every row; otherwise the member must exist and `match` it
/// (default: equal to `wanted`).
bool passes(const json::value& row, std::string_view key,
            const std::string& wanted,
            bool (*match)(std::string_view wanted, std::string_view have)
            = [](std::string_view x, std::string_view y) { return x == y; });

} // namespace omniva::runtime::api
