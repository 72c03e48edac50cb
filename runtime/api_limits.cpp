// Budgets, quotas, leases and predicates over HTTP (docs/http-api.md,
// "Policies"). Zenith holds the live limits and records every change; the
// spend of a budget or a run is also read back from the lineage (the
// packets that reserved, charged and settled it), which is what a budget's
// page shows over time.

#include "runtime/api_limits.hpp"

#include "runtime/api_paging.hpp"
#include "runtime/api_routes.hpp"

#include "contracts/atoms.hpp"
#include "contracts/ids.hpp"
#include "contracts/limits.hpp"
#include "contracts/predicate.hpp"
#include "contracts/registry_store.hpp"

#include <algorithm>

namespace omniva::runtime {

using contracts::ec;

namespace {

int64_t int_member(const json::value* x, std::string_view key) {
  if (x == nullptr || !x->is_object())
    return 0;
  auto* v = x->find(key);
  return v != nullptr && v->is_integral() ? v->as_int64().value_or(0) : 0;
}

bool names(const json::value* scopes, std::string_view subject) {
  if (scopes == nullptr || !scopes->is_array())
    return false;
  for (auto& s : scopes->as_array())
    if (s.is_string() && s.as_string() == subject)
      return true;
  return false;
}

int64_t ms_of(const std::string& at) {
  auto t = contracts::parse_timestamp(at);
  return t ? t->time_since_epoch().count() : 0;
}

} // namespace

caf::expected<limits_history>
limits_from_lineage(const storage::reader& reader, const std::string& subject,
                    int64_t window_start_ms, size_t max_points) {
  auto packets = reader.history(subject);
  if (!packets)
    return packets.error();
  limits_history out;
  bool quota = subject.starts_with("quota:");
  auto name = subject.substr(subject.find(':') + 1);
  for (auto& p : *packets) {
    auto parsed = json::parse(p.payload);
    if (!parsed || !parsed.doc->is_object())
      continue;
    auto& payload = *parsed.doc;
    auto at_ms = ms_of(p.at);
    bool in_window = at_ms >= window_start_ms;
    bool changed = false;
    if (quota) {
      if (p.kind != "task.dispatched")
        continue;
      auto* adm = payload.find("admission");
      auto* qs = adm != nullptr && adm->is_object() ? adm->find("quotas") : nullptr;
      if (qs == nullptr || !qs->is_array())
        continue;
      for (auto& q : qs->as_array()) {
        auto* n = q.is_object() ? q.find("quota") : nullptr;
        if (n != nullptr && n->is_string() && n->as_string() == name && in_window) {
          out.used_units += int_member(&q, "units");
          changed = true;
        }
      }
    } else if (p.kind == "task.dispatched") {
      auto* adm = payload.find("admission");
      if (adm != nullptr && adm->is_object() && names(adm->find("scopes"), subject)) {
        out.reserved_usd_micro += int_member(adm, "reserved_usd_micro");
        changed = true;
      }
    } else if (p.kind == "task.succeeded" || p.kind == "budget.settled") {
      // A settlement: an attempt's (its scopes name the subject) or the
      // restart's, of the subject alone.
      auto* settled = p.kind == "task.succeeded" ? payload.find("settled") : &payload;
      if (settled == nullptr || !settled->is_object())
        continue;
      auto* scopes = settled->find("scopes");
      if (scopes != nullptr ? !names(scopes, subject)
                            : (p.subjects.size() != 1 || p.subjects[0] != subject))
        continue;
      out.reserved_usd_micro -= int_member(settled, "reserved_usd_micro");
      if (in_window)
        out.spent_usd_micro += int_member(settled, "charged_usd_micro");
      changed = true;
    }
    if (changed) {
      json::value point{json::object{}};
      point.set("at", p.at);
      point.set("seq", static_cast<int64_t>(p.seq));
      if (quota) {
        point.set("used_units", out.used_units);
      } else {
        point.set("spent_usd_micro", out.spent_usd_micro);
        point.set("reserved_usd_micro", out.reserved_usd_micro);
      }
      out.series.push_back(std::move(point));
      ++out.events;
    }
  }
  if (out.series.size() > max_points)
    out.series.erase(out.series.begin(),
                     out.series.end() - static_cast<ptrdiff_t>(max_points));
  return out;
}

namespace api {

namespace {

/// Asks Zenith `r` and answers with its JSON text (`status` on success).
void ask_limits(const context_ptr& ctx, responder r, contracts::limits_request q,
                unsigned status) {
  ask<std::string>(ctx->system, ctx->zenith, std::move(r),
                   [status](std::string& text) { return json_text(status, std::move(text)); },
                   atom::limits_v, std::move(q));
}

/// Shows one budget or quota with the spend the lineage gives.
void show_with_lineage(const context_ptr& ctx, responder r, std::string subject) {
  contracts::limits_request q;
  q.op = "show";
  q.subject = subject;
  ask<std::string>(
    ctx->system, ctx->zenith, std::move(r),
    [ctx, subject](std::string& text) {
      auto parsed = json::parse(text);
      if (!parsed || !parsed.doc->is_object())
        return error_response(500, ec::corruption, "Zenith's answer does not parse");
      auto view = std::move(*parsed.doc);
      auto start = view.find("window_start_ms");
      auto from = start != nullptr && start->is_integral()
                    ? start->as_int64().value_or(0)
                    : int64_t{0};
      auto lineage = limits_from_lineage(*ctx->reader, subject, from);
      if (!lineage)
        return error_from(lineage.error());
      json::value l{json::object{}};
      if (subject.starts_with("quota:")) {
        l.set("used_units", lineage->used_units);
      } else {
        l.set("spent_usd_micro", lineage->spent_usd_micro);
        l.set("reserved_usd_micro", lineage->reserved_usd_micro);
      }
      l.set("events", static_cast<int64_t>(lineage->events));
      l.set("series", json::value{std::move(lineage->series)});
      view.set("lineage", std::move(l));
      return json_response(200, view);
    },
    atom::limits_v, std::move(q));
}

/// `POST /api/<kind>s` and `PUT /api/<kind>s/{name}`.
void change(const context_ptr& ctx, const http_request& req, responder r,
            std::string_view kind, std::string_view name, bool create) {
  auto body = body_json(req, r);
  if (!body)
    return;
  std::vector<contracts::problem> problems;
  auto q = contracts::limits_request_from_json(*body, kind, name, create, problems);
  if (!q)
    return r.send(refused(problems));
  q->by = operator_of(req);
  ask_limits(ctx, std::move(r), std::move(*q), create ? 201 : 200);
}

/// The list of one kind out of Zenith's whole list.
void list(const context_ptr& ctx, responder r, std::vector<std::string> members) {
  contracts::limits_request q;
  q.op = "list";
  ask<std::string>(
    ctx->system, ctx->zenith, std::move(r),
    [members](std::string& text) {
      auto parsed = json::parse(text);
      if (!parsed || !parsed.doc->is_object())
        return error_response(500, ec::corruption, "Zenith's answer does not parse");
      json::array items;
      for (auto& m : members)
        if (auto* xs = parsed.doc->find(m); xs != nullptr && xs->is_array())
          for (auto& x : xs->as_array())
            items.push_back(x);
      return page_response(std::move(items), "");
    },
    atom::limits_v, std::move(q));
}

bool valid_name(const context_ptr&, const std::string& name, responder& r,
                std::string_view kind) {
  if (contracts::is_policy_name(name))
    return true;
  r.send(error_response(400, ec::invalid_argument,
                        "'" + printable(name) + "' is not a " + std::string{kind}
                          + " name: lowercase letters, digits, '.', '_' and '-', "
                            "a letter first, at most 64 characters"));
  return false;
}

json::value predicate_view(const contracts::predicate_entry& e) {
  auto out = contracts::to_json(e);
  json::array phases;
  for (auto phase : {contracts::predicate_phase::admission,
                     contracts::predicate_phase::success})
    if (contracts::allowed_at(e.kind, phase))
      phases.push_back(std::string{contracts::to_string(phase)});
  out.set("phases", json::value{std::move(phases)});
  out.set("args_schema", contracts::predicate_args_schema(e.kind));
  return out;
}

} // namespace

void install_limits_routes(http_server& server, const context_ptr& ctx) {
  for (std::string kind : {"budget", "quota"}) {
    auto plural = "/api/" + kind + "s";
    server.route("GET", plural, [ctx, kind](http_request, responder r) {
      list(ctx, std::move(r),
           kind == "budget" ? std::vector<std::string>{"budgets", "runs"}
                            : std::vector<std::string>{"quotas"});
    });
    server.route("POST", plural, [ctx, kind](http_request req, responder r) {
      change(ctx, req, std::move(r), kind, "", true);
    });
    server.route("GET", plural + "/{name}", [ctx, kind](http_request req, responder r) {
      auto name = req.params["name"];
      if (!valid_name(ctx, name, r, kind))
        return;
      show_with_lineage(ctx, std::move(r), kind + ":" + name);
    });
    server.route("PUT", plural + "/{name}", [ctx, kind](http_request req, responder r) {
      auto name = req.params["name"];
      if (!valid_name(ctx, name, r, kind))
        return;
      change(ctx, req, std::move(r), kind, name, false);
    });
  }
  server.route("GET", "/api/runs/{id}/spend", [ctx](http_request req, responder r) {
    auto id = req.params["id"];
    if (!contracts::is_uuid(id))
      return r.send(error_response(400, ec::invalid_argument,
                                   "'" + printable(id) + "' is not a run id"));
    show_with_lineage(ctx, std::move(r), "run:" + id);
  });
  server.route("GET", "/api/leases", [ctx](http_request, responder r) {
    list(ctx, std::move(r), {"leases"});
  });
  server.route("GET", "/api/predicates", [ctx](http_request, responder r) {
    json::array items;
    for (auto& e : contracts::shipped_predicates())
      items.push_back(predicate_view(e));
    if (ctx->registry_store)
      for (auto& e : ctx->registry_store->predicates())
        items.push_back(predicate_view(e));
    r.send(page_response(std::move(items), ""));
  });
  route_get_one(server, "/api/predicates/{ref}", "ref",
                [ctx](const std::string& ref) -> caf::expected<json::value> {
                  if (ctx->registry_store)
                    if (auto e = ctx->registry_store->predicate(ref))
                      return predicate_view(*e);
                  for (auto& e : contracts::shipped_predicates())
                    if (e.ref == ref)
                      return predicate_view(e);
                  return contracts::make_error(ec::not_found,
                                               "no predicate " + printable(ref));
                });
}

} // namespace api

} // namespace omniva::runtime
