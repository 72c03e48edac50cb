// Operator overrides over HTTP (docs/http-api.md, "Quarantines"), each an
// `operator.override` packet Zenith records: quarantining a module or a pool
// (nothing is dispatched to it until it is removed), removing a quarantine
// (an operator's or a breaker's), and retrying a task that ended ERROR or
// CANCELLED. The list reads table `quarantines` (keyed by target, so in
// target order) through the node's reader; every change goes through Zenith.

#include "runtime/api_quarantines.hpp"

#include "runtime/api_paging.hpp"

#include "contracts/messages.hpp"

namespace omniva::runtime {

using contracts::ec;

// -- the request ------------------------------------------------------------------

namespace {

/// What a quarantine target member is called in messages, and what turns
/// its value into a target.
struct target_member {
  std::string_view name;
  std::string_view prefix;
  /// The form a valid value has, for the message refusing another.
  std::string_view form;
};

constexpr target_member target_members[] = {
  {"target", "", "a quarantine target: module:<name@N> or pool:<name>"},
  {"module", "module:",
   "a module ref: name@N (a name of letters, digits, '.', '_' and '-', a "
   "letter first; a version from 1)"},
  {"pool", "pool:",
   "a pool name: 1 to 128 letters, digits, '-', '_' and '.'"},
};

const target_member* find_target_member(std::string_view key) {
  for (auto& m : target_members)
    if (m.name == key)
      return &m;
  return nullptr;
}

} // namespace

std::optional<contracts::quarantine_change>
quarantine_request_from_json(const json::value& body,
                             std::vector<contracts::problem>& problems) {
  auto first = problems.size();
  if (!body.is_object()) {
    problems.push_back({ec::type_mismatch, "",
                        "the body must be a JSON object: {\"module\": "
                        "\"name@N\"} or {\"pool\": \"name\"} (or {\"target\": "
                        "\"module:name@N\"}), with an optional \"reason\""});
    return std::nullopt;
  }
  contracts::quarantine_change out;
  out.add = true;
  // The member that named the target first (even with a value of the
  // wrong type: then the target is not missing, only malformed).
  const target_member* named_by = nullptr;
  for (auto& [key, value] : body.as_object()) {
    auto at = json::append_pointer("", key);
    if (key == "reason") {
      if (value.is_null())
        continue;
      if (!value.is_string())
        problems.push_back({ec::type_mismatch, at,
                            "'reason' must be a string"});
      else if (value.as_string().size() > max_quarantine_reason_bytes)
        problems.push_back({ec::invalid_argument, at,
                            "'reason' must be at most "
                              + std::to_string(max_quarantine_reason_bytes)
                              + " bytes; it has "
                              + std::to_string(value.as_string().size())});
      else
        out.reason = value.as_string();
      continue;
    }
    auto* member = find_target_member(key);
    if (member == nullptr) {
      problems.push_back({ec::unknown_field, at,
                          "the member '" + api::printable(key)
                            + "' is not known here; known: target, module, "
                              "pool, reason"});
      continue;
    }
    if (named_by != nullptr) {
      problems.push_back({ec::invalid_argument, at,
                          "name the target once: '" + std::string{member->name}
                            + "' and '" + std::string{named_by->name}
                            + "' both name one"});
      continue;
    }
    named_by = member;
    if (!value.is_string()) {
      problems.push_back({ec::type_mismatch, at,
                          "'" + std::string{member->name}
                            + "' must be a string: "
                            + std::string{member->form}});
      continue;
    }
    auto target = std::string{member->prefix} + value.as_string();
    if (!contracts::is_quarantine_target(target)) {
      problems.push_back({ec::invalid_argument, at,
                          "'" + api::printable(value.as_string())
                            + "' is not " + std::string{member->form}});
      continue;
    }
    out.target = std::move(target);
  }
  if (named_by == nullptr)
    problems.push_back({ec::missing_field, "/target",
                        "give the target: {\"module\": \"name@N\"}, "
                        "{\"pool\": \"name\"} or {\"target\": "
                        "\"module:name@N\" | \"pool:name\"}"});
  if (problems.size() > first)
    return std::nullopt;
  return out;
}

// -- the routes -------------------------------------------------------------------

namespace api {

namespace {


} // namespace

void install_quarantine_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/quarantines", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/quarantines",
                                     {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "quarantines", 1, r);
    if (!page)
      return;
    // Keyed by target: in target order already.
    auto rows = ctx->reader->scan(storage::table::quarantines, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    std::vector<std::string> targets;
    targets.reserve(rows->size());
    for (auto& row : *rows)
      targets.push_back(row.first);
    auto [chosen, next] = ref_page(targets, "quarantines", *page);
    json::array items;
    for (auto i : chosen) {
      auto& [key, text] = (*rows)[i];
      std::vector<contracts::problem> problems;
      auto q = contracts::quarantine_record_from_json(parse_row(text), problems);
      if (!q)
        return r.send(error_response(500, ec::corruption,
                                     "the quarantine row " + printable(key)
                                       + " does not parse"));
      items.push_back(contracts::to_json(*q));
    }
    r.send(page_response(std::move(items), next));
  });
  server.route("POST", "/api/quarantines", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto change = quarantine_request_from_json(*body, problems);
    if (!change)
      return r.send(refused(problems));
    change->by = operator_of(req);
    ask<contracts::quarantine_record>(
      ctx->system, ctx->zenith, r,
      [](contracts::quarantine_record& q) {
        return json_response(201, contracts::to_json(q));
      },
      atom::quarantine_v, *change);
  });
  server.route("DELETE", "/api/quarantines/{target}", [ctx](http_request req,
                                                            responder r) {
    auto target = req.params["target"];
    if (!contracts::is_quarantine_target(target))
      return r.send(error_response(400, ec::invalid_argument,
                                   "'" + printable(target)
                                     + "' is not a quarantine target: "
                                       "module:<name@N> or pool:<name>"));
    contracts::quarantine_change change;
    change.add = false;
    change.target = target;
    change.by = operator_of(req);
    ask_or<contracts::quarantine_record>(
      ctx->system, ctx->zenith, r,
      [](contracts::quarantine_record& q) {
        return json_response(200, contracts::to_json(q));
      },
      [target](const caf::error& e) {
        if (code_of(e) == ec::not_found)
          return error_response(404, ec::not_found,
                                "no quarantine '" + printable(target) + "'");
        return error_from(e);
      },
      atom::quarantine_v, change);
  });
  server.route("POST", "/api/tasks/{id}/retry", [ctx](http_request req,
                                                      responder r) {
    ask<contracts::task_record>(
      ctx->system, ctx->zenith, r,
      [](contracts::task_record& t) {
        return json_response(200, contracts::to_json(t));
      },
      atom::retry_v, req.params["id"], operator_of(req));
  });
}

} // namespace api

} // namespace omniva::runtime
