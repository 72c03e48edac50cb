// Tasks over HTTP: submit (pre-flight runs in Zenith; a refusal answers 422
// with every problem, an idempotency conflict 409), list (filtered by status
// and module, oldest first) and show from the database, cancel and
// re-prioritise through Zenith.

#include "runtime/api_routes.hpp"

#include "contracts/messages.hpp"
#include "contracts/node_messages.hpp"

#include <algorithm>
#include <climits>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The answer to a submission: 201 with the new task (200 for a duplicate
/// of an earlier request with the same idempotency key), or every problem.
http_response submitted(contracts::submit_result& res) {
  if (!res.ok) {
    json::value out{json::object{}};
    out.set("errors", contracts::to_json(res.problems));
    // A key naming other work conflicts with the first request; every
    // other refusal is the request's own fault.
    bool conflict = !res.problems.empty()
                    && res.problems.front().code == ec::idempotency_conflict;
    return json_response(conflict ? 409 : 422, out);
  }
  auto t = contracts::to_json(res.task);
  t.set("duplicate", res.duplicate);
  return json_response(res.duplicate ? 200 : 201, t);
}

/// The answer to a change of a task: 200 with its record.
http_response changed(contracts::task_record& t) {
  return json_response(200, contracts::to_json(t));
}

} // namespace

void install_task_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/tasks", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto request = contracts::task_request_from_json(*body, problems);
    if (!request) {
      json::value out{json::object{}};
      out.set("errors", contracts::to_json(problems));
      return r.send(json_response(422, out));
    }
    ask<contracts::submit_result>(ctx->system, ctx->zenith, r, submitted,
                                  atom::submit_v, *request);
  });
  server.route("GET", "/api/tasks", [ctx](http_request req, responder r) {
    auto rows = ctx->reader->scan(storage::table::tasks, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    auto status = query(req, "status");
    auto module = query(req, "module_ref");
    json::array out;
    for (auto& [id, text] : *rows) {
      auto row = parse_row(text);
      if (passes(row, "status", status) && passes(row, "module_ref", module))
        out.push_back(std::move(row));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
      auto* x = a.find("created_at");
      auto* y = b.find("created_at");
      return x && y && x->as_string() < y->as_string();
    });
    r.send(json_response(200, json::value{std::move(out)}));
  });
  route_get_one(server, "/api/tasks/{id}", "id", [ctx](const std::string& id) {
    return read_row(*ctx, storage::table::tasks, id);
  });
  server.route("POST", "/api/tasks/{id}/cancel", [ctx](http_request req, responder r) {
    ask<contracts::task_record>(ctx->system, ctx->zenith, r, changed,
                                atom::cancel_v, req.params["id"]);
  });
  server.route("POST", "/api/tasks/{id}/priority", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    auto* p = body->find("priority");
    if (p == nullptr || !p->as_int64() || *p->as_int64() < INT32_MIN
        || *p->as_int64() > INT32_MAX)
      return r.send(error_response(400, ec::invalid_argument,
                                   "priority must be a 32-bit integer",
                                   "/priority"));
    ask<contracts::task_record>(ctx->system, ctx->zenith, r, changed,
                                atom::priority_v, req.params["id"],
                                static_cast<int32_t>(*p->as_int64()));
  });
}

} // namespace omniva::runtime::api
