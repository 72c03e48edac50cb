// Tasks over HTTP: submit (pre-flight runs in Zenith; a refusal answers 422
// with every problem, an idempotency conflict 409), list (a page at a time,
// filtered by status, module and a search `q`, oldest first), count by status and show
// from the database, cancel and re-prioritise through Zenith. The logs of
// an attempt are in api_logs.cpp.

#include "runtime/api_paging.hpp"
#include "runtime/stats_history.hpp"

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

// -- search (`q`) -------------------------------------------------------------------

/// The longest `q`.
constexpr size_t max_search_bytes = 128;

/// The fewest hex digits an id prefix needs (fewer would match too much).
constexpr size_t min_id_prefix_digits = 4;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Whether `q` may be the start of a task or trace id (a UUID): hex digits
/// and dashes only, at least `min_id_prefix_digits` digits.
bool id_like(std::string_view q) {
  size_t digits = 0;
  for (char c : q) {
    c = lower(c);
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
      ++digits;
    else if (c != '-')
      return false;
  }
  return digits >= min_id_prefix_digits;
}

/// A task or trace id starting with `q` (any case).
bool id_prefix(std::string_view q, std::string_view id) {
  if (!id_like(q) || id.size() < q.size())
    return false;
  for (size_t i = 0; i < q.size(); ++i)
    if (lower(q[i]) != lower(id[i]))
      return false;
  return true;
}

/// A module ref holding `q` (any case).
bool ref_contains(std::string_view q, std::string_view ref) {
  if (q.empty() || ref.size() < q.size())
    return false;
  for (size_t i = 0; i + q.size() <= ref.size(); ++i) {
    size_t k = 0;
    while (k < q.size() && lower(q[k]) == lower(ref[i + k]))
      ++k;
    if (k == q.size())
      return true;
  }
  return false;
}

/// Whether a task (its id, module ref and trace id) is found by `q`.
bool found_by(std::string_view q, std::string_view task_id,
              std::string_view module_ref, std::string_view trace_id) {
  return id_prefix(q, task_id) || ref_contains(q, module_ref)
         || id_prefix(q, trace_id);
}

/// Refuses a `q` that none of a task id, module ref or trace id can hold
/// (400 `invalid_filter` at `/q`); nullopt when it is a search.
std::optional<http_response> bad_search(std::string_view q) {
  bool chars = !q.empty() && q.size() <= max_search_bytes
               && std::all_of(q.begin(), q.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                           || (c >= '0' && c <= '9') || c == '-' || c == '_'
                           || c == '.' || c == '@';
                  });
  if (chars)
    return std::nullopt;
  return filter_error(
    "q", "q '" + printable(q)
           + "' is not a search: a task id or trace id (or their first "
           + std::to_string(min_id_prefix_digits)
           + " or more hex digits), or part of a module ref; 1 to "
           + std::to_string(max_search_bytes)
           + " of letters, digits, '-', '_', '.', '@'");
}

/// The `q` filter of a task list: the task's id, module ref or trace id.
row_filter search_filter(const std::string& q) {
  return row_filter{"task_id", q, id_prefix,
                    {{"module_ref", ref_contains}, {"trace_id", id_prefix}}};
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
                                     {"status", "module_ref", "q", "limit",
                                      "cursor"}))
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
    if (auto i = req.query.find("q"); i != req.query.end()) {
      if (auto bad = bad_search(i->second))
        return r.send(std::move(*bad));
      filters.push_back(search_filter(i->second));
    }
    auto page = read_page_request(req, "tasks", 2, r);
    if (!page)
      return;
    // Without filters the board's page reads only its own rows.
    auto found = filters.empty() && ctx->task_order
                   ? index_page(*ctx->task_order, "tasks", *page)
                   : creation_page(*ctx, storage::table::tasks, "tasks",
                                   *page, filters);
    if (!found)
      return r.send(error_from(found.error()));
    r.send(page_response(std::move(found->first), found->second));
  });
  // A literal segment wins over `{id}`: "counts" is never taken for an id.
  server.route("GET", "/api/tasks/counts", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/tasks/counts",
                                     {"module_ref", "q"}))
      return r.send(std::move(*bad));
    auto module = req.query.find("module_ref");
    if (module != req.query.end())
      if (auto bad = unknown_module(*ctx, module->second))
        return r.send(std::move(*bad));
    auto search = req.query.find("q");
    if (search != req.query.end())
      if (auto bad = bad_search(search->second))
        return r.send(std::move(*bad));
    if (module == req.query.end() && search == req.query.end()) {
      // Every task: Zenith's counters, which follow each task row it
      // writes (no scan: the board asks this at every refresh).
      ask<std::string>(ctx->system, ctx->zenith, r,
                       [](std::string& text) {
                         auto counters = read_counters(text);
                         json::value out{json::object{}};
                         int64_t total = 0;
                         for (auto s : contracts::all_task_statuses) {
                           auto n = static_cast<int64_t>(
                             counters.tasks[static_cast<size_t>(s)]);
                           out.set(std::string{contracts::to_string(s)}, n);
                           total += n;
                         }
                         out.set("total", total);
                         return json_response(200, out);
                       },
                       atom::metrics_v);
      return;
    }
    auto rows = ctx->reader->scan(storage::table::tasks, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    std::array<int64_t, contracts::all_task_statuses.size()> counts{};
    int64_t total = 0;
    constexpr std::array<std::string_view, 3> keys{"status", "module_ref",
                                                   "trace_id"};
    std::array<std::optional<std::string>, 3> values;
    for (auto& [id, text] : *rows) {
      top_level_strings(text, keys, values);
      if (module != req.query.end() && values[1] != module->second)
        continue;
      if (search != req.query.end()
          && !found_by(search->second, id, values[1].value_or(""),
                       values[2].value_or("")))
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
