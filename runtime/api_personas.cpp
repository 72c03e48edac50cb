// Pantheon's personas over HTTP (docs/engines.md, "Pantheon"; docs/http-api.md,
// "Personas"): `POST /api/personas?ref=name@N` registers a personas document
// through Zenith (`atom::personas`: checked whole, every problem with its
// pointer; a ref is immutable, the built-in `personas@1` included); `GET
// /api/personas` lists them a page at a time and `GET /api/personas/{ref}`
// shows one, both read from the registry store Zenith fills (the built-in
// `personas@1` is always there). The body is the document exactly as a
// `personas/<name>@<N>.json` file of a module folder holds it; the ref comes
// with it in the query, as a schema's does (`POST /api/schemas?ref=`).

#include "runtime/api_paging.hpp"

#include "contracts/pantheon.hpp"
#include "contracts/registry_store.hpp"

#include <algorithm>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The item of a list: `{"ref", "built_in", "description"?, "agents":
/// [names]}`.
json::value summary(const std::string& ref, const std::string& document) {
  json::value out{json::object{}};
  out.set("ref", ref);
  out.set("built_in", ref == pantheon::default_personas_ref);
  auto doc = parse_row(document);
  if (auto* d = doc.find("description"); d && d->is_string())
    out.set("description", *d);
  json::array agents;
  if (auto* a = doc.find("agents"); a && a->is_array())
    for (auto& x : a->as_array())
      if (auto* name = x.find("agent"); name && name->is_string())
        agents.push_back(*name);
  out.set("agents", json::value{std::move(agents)});
  return out;
}

/// One personas entry as `GET /api/personas/{ref}` shows it: `{"ref",
/// "built_in", "document"}`, the document as registered.
json::value shown(const std::string& ref, const std::string& document) {
  json::value out{json::object{}};
  out.set("ref", ref);
  out.set("built_in", ref == pantheon::default_personas_ref);
  out.set("document", parse_row(document));
  return out;
}

/// Zenith's answer to a registration: 201 as `GET /api/personas/{ref}`
/// shows it (200 when the same document was registered before), 409
/// `immutable_ref` when the ref is held with other content (`error` the
/// first problem, `errors` all), 400 `invalid_ref` for a bad ref, 400
/// `invalid_json` for text that is no JSON, else 422 with every problem
/// of the document, each with its pointer.
http_response registered(contracts::personas_registration& res) {
  if (res.ok)
    return json_response(res.unchanged ? 200 : 201,
                         shown(res.ref, res.document_json));
  if (res.problems.empty())
    return error_response(500, ec::storage_error,
                          "Zenith refused the personas without a reason");
  auto& first = res.problems.front();
  unsigned status = 422;
  if (first.code == ec::immutable_ref)
    status = 409;
  else if (first.code == ec::invalid_ref || first.code == ec::invalid_json
           || first.code == ec::duplicate_key)
    status = 400;
  json::value doc{json::object{}};
  if (status != 422)
    doc.set("error", contracts::to_json(first));
  doc.set("errors", contracts::to_json(res.problems));
  return json_response(status, doc);
}

} // namespace

void install_personas_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/personas", [ctx](http_request req, responder r) {
    auto ref = query(req, "ref");
    if (ref.empty())
      return r.send(error_response(400, ec::missing_field,
                                   "give the personas' ref as ?ref=name@N "
                                   "(e.g. personas@2); personas@1 is built in",
                                   "/ref"));
    if (!contracts::is_registry_ref(ref))
      return r.send(error_response(400, ec::invalid_ref,
                                   "'" + printable(ref)
                                     + "' is not a personas ref: a name, '@' "
                                       "and a positive version (e.g. "
                                       "personas@2)",
                                   "/ref"));
    // A body that is no JSON, or names a member twice, is refused as every
    // body is; Zenith checks the document and registers it.
    if (!body_json(req, r))
      return;
    ask<contracts::personas_registration>(ctx->system, ctx->zenith, r,
                                          registered, atom::personas_v, ref,
                                          req.body, operator_of(req));
  }, route_options{.new_work = true});
  server.route("GET", "/api/personas", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/personas", {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "personas", 1, r);
    if (!page)
      return;
    auto all = ctx->registry_store->all_personas(); // by ref
    std::vector<std::string> refs;
    refs.reserve(all.size());
    for (auto& [ref, doc] : all)
      refs.push_back(ref);
    auto [chosen, next] = ref_page(refs, "personas", *page);
    json::array items;
    for (auto i : chosen)
      items.push_back(summary(all[i].first, all[i].second));
    r.send(page_response(std::move(items), next));
  });
  route_get_one(server, "/api/personas/{ref}", "ref",
                [ctx](const std::string& ref) -> caf::expected<json::value> {
                  auto doc = ctx->registry_store->personas(ref);
                  if (!doc)
                    return contracts::make_error(
                      ec::not_found, "no personas '" + printable(ref)
                                       + "' are registered (personas@1 is "
                                         "built in)");
                  return shown(ref, *doc);
                });
}

} // namespace omniva::runtime::api
