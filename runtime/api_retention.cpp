// `POST /api/gc` (runtime/api_retention.hpp): a retention pass on demand.
// The body is empty or `{"dry_run": bool}`; the answer is the pass's plan
// in the JSON form of contracts/retention.hpp: what went (or would go),
// item by item, and the totals.

#include "runtime/api_retention.hpp"

#include "contracts/retention.hpp"
#include "runtime/api_paging.hpp"

namespace omniva::runtime {

using contracts::ec;

void install_retention_routes(http_server& server, const api_context& ctx,
                              actors::janitor_actor janitor) {
  auto admin = api::admin_only();
  auto& system = ctx.system;
  server.route(
    "POST", "/api/gc",
    [&system, janitor](http_request req, responder r) {
      bool dry_run = false;
      if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
        auto body = api::body_json(req, r);
        if (!body)
          return;
        if (!body->is_object())
          return r.send(error_response(400, ec::type_mismatch,
                                       "the body must be a JSON object: "
                                       "{\"dry_run\": true} or {}"));
        for (auto& [key, value] : body->as_object()) {
          auto at = json::append_pointer("", key);
          if (key != "dry_run")
            return r.send(error_response(400, ec::unknown_field,
                                         "unknown member '" + api::printable(key)
                                           + "': the body takes only dry_run",
                                         at));
          if (!value.is_bool())
            return r.send(error_response(400, ec::type_mismatch,
                                         "dry_run must be true or false", at));
          dry_run = value.as_bool();
        }
      }
      api::ask<contracts::purge_plan>(
        system, janitor, std::move(r),
        [](contracts::purge_plan& plan) {
          return json_response(200, contracts::to_json(plan));
        },
        atom::purge_v, dry_run, api::operator_of(req));
    },
    admin);
}

} // namespace omniva::runtime
