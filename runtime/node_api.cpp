// The node's HTTP API: what every route shares (error answers, asking an
// actor, reading a row, the GET-by-ref route), and `install_routes`, which
// has each noun's file install its routes (runtime/api_*.cpp).

#include "runtime/node_api.hpp"

#include "contracts/module_registration.hpp"
#include "runtime/api_routes.hpp"

namespace omniva::runtime {

using contracts::ec;

// -- modules ----------------------------------------------------------------------

caf::expected<contracts::module_entry>
parse_module_entry(const std::string& text, const std::string& dir) {
  return contracts::check_module_text(text, dir, {});
}

// -- errors -----------------------------------------------------------------------

unsigned http_status(ec code) noexcept {
  switch (code) {
    case ec::not_found:
    case ec::module_not_found:
      return 404;
    case ec::asset_in_use:
    case ec::immutable_ref:
    case ec::idempotency_conflict:
    case ec::illegal_transition:
    case ec::database_locked:
    case ec::run_not_active:
    case ec::already_exists:
      return 409;
    case ec::path_not_allowed:
    case ec::forbidden:
      return 403;
    case ec::asset_purged:
      return 410;
    case ec::insufficient_storage:
      return 507;
    case ec::unauthorized:
      return 401;
    case ec::too_large:
      return 413;
    case ec::outcome_unknown:
      return 503;
    case ec::storage_error:
    case ec::corruption:
    case ec::io_error:
      return 500;
    default:
      return 400;
  }
}

// -- what the routes share ------------------------------------------------------------

namespace api {

route_options admin_only() {
  route_options o;
  o.role = contracts::role::admin;
  return o;
}

std::string operator_of(const http_request& req) {
  return req.who.name.empty() ? std::string{"anonymous"} : req.who.name;
}

ec code_of(const caf::error& e) {
  if (e.category() == contracts::error_category)
    return static_cast<ec>(e.code());
  return ec::storage_error;
}

http_response json_text(unsigned status, std::string text) {
  http_response out;
  out.status = status;
  out.body = std::move(text);
  return out;
}

http_response refused(const std::vector<contracts::problem>& problems) {
  auto& first = problems.front();
  json::value error{json::object{}};
  error.set("code", std::string{contracts::to_string(first.code)});
  error.set("message", first.message);
  error.set("pointer", first.pointer);
  json::value out{json::object{}};
  out.set("error", std::move(error));
  out.set("errors", contracts::to_json(problems));
  return json_response(400, out);
}

http_response error_from(const caf::error& e,
                         const std::string& fallback_pointer) {
  auto code = code_of(e);
  auto p = contracts::problem_from_error(e);
  auto message = p && !p->message.empty()
                   ? p->message
                   : contracts::render_error(e.code(), e.category(), e.context());
  auto pointer = p && !p->pointer.empty() ? p->pointer : fallback_pointer;
  return error_response(http_status(code), code, message, pointer);
}

void route_get_one(http_server& server, const std::string& pattern,
                   std::string param, find_one find) {
  server.route("GET", pattern,
               [param = std::move(param), find = std::move(find)](
                 http_request req, responder r) {
                 auto found = find(req.params[param]);
                 if (!found)
                   return r.send(error_from(found.error()));
                 r.send(json_response(200, *found));
               });
}

caf::expected<json::value> read_row(const api_context& ctx, storage::table t,
                                    const std::string& key) {
  auto row = ctx.reader->get(t, key);
  if (!row)
    return row.error();
  return parse_row(*row);
}

std::optional<json::value> body_json(const http_request& req, responder& r) {
  // A member named twice is refused: "the last one wins" would act on
  // something other than what the client may have meant.
  auto doc = json::parse(req.body, json::default_max_depth,
                         json::duplicates::refuse);
  if (!doc) {
    if (doc.error.duplicate_key)
      r.send(error_response(400, ec::duplicate_key, doc.error.message,
                            doc.error.pointer));
    else
      r.send(error_response(400, ec::invalid_json, doc.error.message));
    return std::nullopt;
  }
  return std::move(*doc.doc);
}

json::value parse_row(const std::string& text) {
  auto doc = json::parse(text);
  return doc ? std::move(*doc.doc) : json::value{};
}

std::string query(const http_request& req, const std::string& key,
                  std::string fallback) {
  auto i = req.query.find(key);
  return i == req.query.end() ? fallback : i->second;
}

bool passes(const json::value& row, std::string_view key,
            const std::string& wanted,
            bool (*match)(std::string_view wanted, std::string_view have)) {
  if (wanted.empty())
    return true;
  auto* member = row.find(key);
  return member && member->is_string() && match(wanted, member->as_string());
}

} // namespace api

// -- routes -----------------------------------------------------------------------

void install_routes(http_server& server, const api_context& ctx) {
  auto shared = std::make_shared<const api_context>(ctx);
  // Registration order only decides the order of the methods a 405 lists
  // for one path, and no two nouns share a path.
  api::install_event_routes(server, shared);
  api::install_registry_routes(server, shared);
  api::install_asset_routes(server, shared);
  api::install_task_routes(server, shared);
  api::install_lineage_routes(server, shared);
  api::install_token_routes(server, shared);
  api::install_backup_routes(server, shared);
  api::install_asset_content_routes(server, shared);
  api::install_webhook_routes(server, shared);
  api::install_audit_routes(server, shared);
  api::install_quarantine_routes(server, shared);
  api::install_limits_routes(server, shared);
  api::install_pipeline_routes(server, shared);
  api::install_session_routes(server, shared);
  api::install_pool_routes(server, shared);
  api::install_stats_routes(server, shared);
  // Last: the dashboard's files answer every GET no route above took.
  api::install_static_routes(server, shared);
}

} // namespace omniva::runtime
