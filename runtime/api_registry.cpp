// The registry's nouns over HTTP: modules (list, show, register, rescan),
// JSON Schemas (list, show, register) and retry policies (list, show).
// Registrations go through the registry actor, which checks them and has
// Zenith commit them; reads come from the database (modules) or the
// registry store (schemas, policies).

#include "runtime/api_paging.hpp"

#include "contracts/module_registration.hpp"
#include "contracts/registry_messages.hpp"
#include "contracts/registry_store.hpp"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The module folder `?dir=` names, made canonical; 403 `path_not_allowed`
/// (answered through `r`) when it lies outside the allowed roots.
std::optional<std::string> module_dir(const api_context& ctx,
                                      const std::string& dir, responder& r) {
  std::error_code err;
  auto real = fs::weakly_canonical(dir, err);
  bool inside = false;
  for (auto& root : ctx.allowed_roots) {
    auto rel = real.lexically_relative(fs::weakly_canonical(root, err));
    if (!rel.empty() && *rel.begin() != "..")
      inside = true;
  }
  if (err || !inside) {
    r.send(error_response(403, ec::path_not_allowed,
                          "the module folder " + dir
                            + " is outside the allowed roots",
                          "/dir"));
    return std::nullopt;
  }
  return real.string();
}

void install_module_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/modules", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/modules", {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "modules", 1, r);
    if (!page)
      return;
    // The rows are keyed by ref: in ref order already.
    auto rows = ctx->reader->scan(storage::table::modules, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    std::vector<std::string> refs;
    refs.reserve(rows->size());
    for (auto& row : *rows)
      refs.push_back(row.first);
    auto [chosen, next] = ref_page(refs, "modules", *page);
    json::array out;
    for (auto i : chosen) {
      auto& [ref, text] = (*rows)[i];
      auto row = contracts::read_module_row(text);
      json::value m{json::object{}};
      m.set("ref", ref);
      if (row) {
        auto* c = &row->contract;
        if (auto* d = c->find("description"))
          m.set("description", *d);
        if (auto* in = c->find("inputs"))
          m.set("inputs", *in);
        if (auto* o = c->find("outputs"))
          m.set("outputs", *o);
      }
      out.push_back(std::move(m));
    }
    r.send(page_response(std::move(out), next));
  });
  route_get_one(server, "/api/modules/{ref}", "ref",
                [ctx](const std::string& ref) -> caf::expected<json::value> {
                  auto text = ctx->reader->get(storage::table::modules, ref);
                  if (!text)
                    return code_of(text.error()) == ec::not_found
                             ? contracts::make_error(
                                 ec::not_found,
                                 "no module '" + printable(ref) + "'")
                             : text.error();
                  auto row = contracts::read_module_row(*text);
                  return row ? std::move(row->contract) : json::value{};
                });
  server.route("POST", "/api/modules", [ctx](http_request req, responder r) {
    // A contract as the body; `?dir=` names its folder on the node's
    // machine (under the allowed roots) so that real runs find the program.
    std::string dir;
    if (auto d = query(req, "dir"); !d.empty()) {
      auto checked = module_dir(*ctx, d, r);
      if (!checked)
        return;
      dir = std::move(*checked);
    }
    // The registry checks it against the registered schemas.
    ask<std::string>(ctx->system, ctx->registry, r,
                     [](std::string& ref) {
                       return json_response(201, json::object{{"ref", ref}});
                     },
                     atom::enroll_v, req.body, dir, operator_of(req));
  }, route_options{.role = contracts::role::admin, .new_work = true});
  server.route("POST", "/api/modules/rescan", [ctx](http_request req, responder r) {
    ask<contracts::registry_report>(ctx->system, ctx->registry, r,
                                    [](contracts::registry_report& report) {
                                      return json_response(200,
                                                           to_json(report));
                                    },
                                    atom::rescan_v, operator_of(req));
  }, route_options{.role = contracts::role::admin, .new_work = true});
}

void install_schema_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/schemas", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/schemas", {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "schemas", 1, r);
    if (!page)
      return;
    auto all = ctx->registry_store->schemas();
    std::sort(all.begin(), all.end(),
              [](auto& a, auto& b) { return a.ref < b.ref; });
    std::vector<std::string> refs;
    for (auto& s : all)
      refs.push_back(s.ref);
    auto [chosen, next] = ref_page(refs, "schemas", *page);
    json::array out;
    for (auto i : chosen) {
      auto& s = all[i];
      json::value item{json::object{}};
      item.set("ref", s.ref);
      auto doc = parse_row(s.canonical_json);
      for (auto* key : {"title", "description"})
        if (auto* v = doc.find(key); v && v->is_string())
          item.set(key, *v);
      out.push_back(std::move(item));
    }
    r.send(page_response(std::move(out), next));
  });
  route_get_one(server, "/api/schemas/{ref}", "ref",
                [ctx](const std::string& ref) -> caf::expected<json::value> {
                  auto doc = ctx->registry_store->schema_document(ref);
                  if (!doc)
                    return contracts::make_error(ec::not_found,
                                                 "no schema '" + printable(ref)
                                                   + "' is registered");
                  return std::move(*doc);
                });
  server.route("POST", "/api/schemas", [ctx](http_request req, responder r) {
    // The document is the body; its ref comes with it as ?ref=name@N.
    auto ref = query(req, "ref");
    if (ref.empty())
      return r.send(error_response(400, ec::missing_field,
                                   "give the schema's ref as ?ref=name@N "
                                   "(e.g. media.metadata@1)",
                                   "/ref"));
    if (!contracts::is_registry_ref(ref))
      return r.send(error_response(400, ec::invalid_ref,
                                   "'" + ref
                                     + "' is not a schema ref: a name, '@' "
                                       "and a positive version (e.g. "
                                       "media.metadata@1)",
                                   "/ref"));
    ask<std::string>(ctx->system, ctx->registry, r,
                     [](std::string& registered) {
                       return json_response(201,
                                            json::object{{"ref", registered}});
                     },
                     atom::schema_v, ref, req.body, operator_of(req));
  }, route_options{.role = contracts::role::admin, .new_work = true});
}

void install_policy_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/policies", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/policies", {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "policies", 1, r);
    if (!page)
      return;
    auto all = ctx->registry_store->policies();
    std::sort(all.begin(), all.end(),
              [](auto& a, auto& b) { return a.ref < b.ref; });
    std::vector<std::string> refs;
    for (auto& p : all)
      refs.push_back(p.ref);
    auto [chosen, next] = ref_page(refs, "policies", *page);
    json::array out;
    for (auto i : chosen)
      out.push_back(contracts::to_json(all[i]));
    r.send(page_response(std::move(out), next));
  });
  route_get_one(server, "/api/policies/{ref}", "ref",
                [ctx](const std::string& ref) -> caf::expected<json::value> {
                  auto p = ctx->registry_store->policy(ref);
                  if (!p)
                    return contracts::make_error(ec::not_found,
                                                 "no policy '" + printable(ref)
                                                   + "' is registered");
                  return contracts::to_json(*p);
                });
}

} // namespace

void install_registry_routes(http_server& server, const context_ptr& ctx) {
  install_module_routes(server, ctx);
  install_schema_routes(server, ctx);
  install_policy_routes(server, ctx);
  install_personas_routes(server, ctx);
}

} // namespace omniva::runtime::api
