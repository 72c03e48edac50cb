// Tasks over HTTP: submit (pre-flight runs in Zenith; a refusal answers 422
// with every problem, an idempotency conflict 409), list (a page at a time,
// filtered by status and module, oldest first), count by status and show
// from the database, cancel and re-prioritise through Zenith. The logs of
// an attempt are in api_logs.cpp.

#include "runtime/api_paging.hpp"

#include "contracts/messages.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/status.hpp"

#include <algorithm>
#include <array>
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

/// "PENDING", "READY", ...: the values of the `status` filter.
std::vector<std::string> task_status_names() {
  std::vector<std::string> out;
  for (auto s : contracts::all_task_statuses)
    out.emplace_back(contracts::to_string(s));
  return out;
}

/// Refuses a `module_ref` filter naming no registered module (400
/// `invalid_filter` at `/module_ref`, naming the registered ones when they
/// are few); nullopt when it is registered.
std::optional<http_response> unknown_module(const api_context& ctx,
                                            const std::string& ref) {
  auto found = ctx.reader->get(storage::table::modules, ref);
  if (found)
    return std::nullopt;
  if (code_of(found.error()) != ec::not_found)
    return error_from(found.error());
  // A few refs are read to name them; a long list is left to GET /api/modules.
  constexpr size_t named = 20;
  auto refs = ctx.reader->scan(storage::table::modules, "", named + 1);
  std::string names;
  if (refs) {
    for (size_t i = 0; i < refs->size() && i < named; ++i)
      names += (i == 0 ? "" : ", ") + (*refs)[i].first;
    if (refs->size() > named)
      names += ", … (GET /api/modules lists them all)";
  }
  return filter_error("module_ref",
                      "module_ref '" + printable(ref)
                        + "' names no registered module"
                        + (names.empty() ? std::string{" (none is registered)"}
                                         : ": one of " + names));
}

} // namespace

void install_task_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/tasks", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto request = contracts::task_request_from_json(*body, problems);
    // A request that comes back goes to Zenith even when it carries
    // problems (`task_request::problems`): Zenith answers them together
    // with the pre-flight problems of the rest of it, and counts the
    // refusal. Only a request without a readable module ref stops here.
    if (!request) {
      json::value out{json::object{}};
      out.set("errors", contracts::to_json(problems));
      return r.send(json_response(422, out));
    }
    request->requested_by = operator_of(req);
    ask<contracts::submit_result>(ctx->system, ctx->zenith, r, submitted,
                                  atom::submit_v, *request);
  }, route_options{.new_work = true});
  server.route("GET", "/api/tasks", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/tasks",
                                     {"status", "module_ref", "limit", "cursor"}))
      return r.send(std::move(*bad));
    std::vector<row_filter> filters;
    if (auto i = req.query.find("status"); i != req.query.end()) {
      if (auto bad = not_one_of("status", i->second, task_status_names()))
        return r.send(std::move(*bad));
      filters.push_back({"status", i->second});
    }
    if (auto i = req.query.find("module_ref"); i != req.query.end()) {
      if (auto bad = unknown_module(*ctx, i->second))
        return r.send(std::move(*bad));
      filters.push_back({"module_ref", i->second});
    }
    auto page = read_page_request(req, "tasks", 2, r);
    if (!page)
      return;
    auto found = creation_page(*ctx, storage::table::tasks, "tasks", *page,
                               filters);
    if (!found)
      return r.send(error_from(found.error()));
    r.send(page_response(std::move(found->first), found->second));
  });
  // A literal segment wins over `{id}`: "counts" is never taken for an id.
  server.route("GET", "/api/tasks/counts", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/tasks/counts",
                                     {"module_ref"}))
      return r.send(std::move(*bad));
    auto module = req.query.find("module_ref");
    if (module != req.query.end())
      if (auto bad = unknown_module(*ctx, module->second))
        return r.send(std::move(*bad));
    auto rows = ctx->reader->scan(storage::table::tasks, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    std::array<int64_t, contracts::all_task_statuses.size()> counts{};
    int64_t total = 0;
    constexpr std::array<std::string_view, 2> keys{"status", "module_ref"};
    std::array<std::optional<std::string>, 2> values;
    for (auto& [id, text] : *rows) {
      top_level_strings(text, keys, values);
      if (module != req.query.end() && values[1] != module->second)
        continue;
      ++total;
      if (auto s = contracts::task_status_from_string(values[0].value_or("")))
        ++counts[static_cast<size_t>(*s)];
    }
    json::value out{json::object{}};
    for (auto s : contracts::all_task_statuses)
      out.set(std::string{contracts::to_string(s)},
              counts[static_cast<size_t>(s)]);
    out.set("total", total);
    r.send(json_response(200, out));
  });
  server.route("GET", "/api/tasks/{id}", [ctx](http_request req, responder r) {
    auto& id = req.params["id"];
    auto row = ctx->reader->get(storage::table::tasks, id);
    if (!row)
      return r.send(code_of(row.error()) == ec::not_found
                      ? error_response(404, ec::not_found,
                                       "no task '" + printable(id) + "'")
                      : error_from(row.error()));
    r.send(json_response(200, parse_row(*row)));
  });
  install_task_log_routes(server, ctx);
  server.route("POST", "/api/tasks/{id}/cancel", [ctx](http_request req, responder r) {
    ask<contracts::task_record>(ctx->system, ctx->zenith, r, changed,
                                atom::cancel_v, req.params["id"], operator_of(req));
  });
  server.route("POST", "/api/tasks/{id}/priority", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    // The rule of a task request's `priority` (contracts/messages.cpp):
    // an integer (1.0 is one, 1.5 and 1e-400 are not) within 32 bits.
    auto* p = body->find("priority");
    if (p == nullptr)
      return r.send(error_response(400, ec::missing_field,
                                   "give the new priority, an integer",
                                   "/priority"));
    if (!p->is_integral())
      return r.send(error_response(400, ec::type_mismatch,
                                   "'priority' must be an integer",
                                   "/priority"));
    if (!p->as_int64() || *p->as_int64() < INT32_MIN
        || *p->as_int64() > INT32_MAX)
      return r.send(error_response(
        400, ec::out_of_range,
        "'priority' must lie in [" + std::to_string(INT32_MIN) + ", "
          + std::to_string(INT32_MAX) + "]",
        "/priority"));
    ask<contracts::task_record>(ctx->system, ctx->zenith, r, changed,
                                atom::priority_v, req.params["id"],
                                static_cast<int32_t>(*p->as_int64()),
                                operator_of(req));
  });
}

} // namespace omniva::runtime::api
