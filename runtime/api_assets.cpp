// Assets over HTTP: list (a page at a time, oldest first, filtered by status
// and media type) and show from the database; add a file by its path on the node, upload one, add a VALUE,
// through the asset ledger (which hashes and stores the file, then has
// Zenith commit the record); delete through Zenith.

#include "runtime/api_paging.hpp"

#include "contracts/media_type.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/status.hpp"

#include <algorithm>
#include <array>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The answer to an added asset: 201 with its record.
http_response created(contracts::asset_record& a) {
  return json_response(201, contracts::to_json(a));
}

/// The request member an error of `POST /api/assets/path` is about, for an
/// error that names none. The ledger's own errors name their member already
/// (`asset_ledger_state::add_file`); what still arrives without one is
/// Zenith's answer to the `add` the ledger delegates (`invalid_argument` for
/// an asset id that exists or a batch the commit refuses), answered at
/// "/path" since before the ledger named members: dropping this would
/// change those answers.
std::string path_error_field(ec code) {
  switch (code) {
    case ec::path_not_allowed:
    case ec::not_found:
    case ec::invalid_argument:
      return "/path";
    case ec::invalid_media_type:
      return "/media_type";
    default:
      return "";
  }
}

/// Gives the asset record `row` of `id` its `holds`: the unfinished tasks
/// holding it, oldest first, as the record had them when they were part of
/// its row (they are rows of their own now, `storage::table::holds`, so
/// that a new holder does not rewrite the asset's row); and its `holders`:
/// every unfinished task that keeps it from being deleted, as a refused
/// `DELETE` (409 `asset_in_use`, Zenith's `erase_asset`) names them: the
/// holds, then the task that promised it while it is PENDING. Errors: the
/// reader's.
caf::error add_holds(const api_context& ctx, const std::string& id,
                     json::value& row) {
  if (!row.is_object())
    return caf::none;
  auto holders = ctx.reader->holders(id);
  if (!holders)
    return holders.error();
  // By the holders' creation, then id: a hold is taken when its task is made.
  std::vector<std::pair<std::string, std::string>> order;
  constexpr std::array<std::string_view, 1> keys{"created_at"};
  std::array<std::optional<std::string>, 1> created;
  for (auto& task : *holders) {
    auto text = ctx.reader->get(storage::table::tasks, task);
    created[0].reset();
    if (text)
      top_level_strings(*text, keys, created);
    else if (code_of(text.error()) != ec::not_found)
      return text.error();
    order.emplace_back(created[0].value_or(""), task);
  }
  std::sort(order.begin(), order.end());
  json::array holds;
  for (auto& [at, task] : order)
    holds.emplace_back(task);
  json::array blocking = holds;
  auto* status = row.find("status");
  auto* producer = row.find("produced_by");
  if (status && status->is_string() && status->as_string() == "PENDING"
      && producer && producer->is_string() && !producer->as_string().empty()
      && std::find(blocking.begin(), blocking.end(), *producer) == blocking.end())
    blocking.push_back(*producer);
  row.set("holds", json::value{std::move(holds)});
  row.set("holders", json::value{std::move(blocking)});
  return caf::none;
}

} // namespace

void install_asset_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/assets", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/assets",
                                     {"status", "media_type", "limit", "cursor"}))
      return r.send(std::move(*bad));
    std::vector<row_filter> filters;
    if (auto i = req.query.find("status"); i != req.query.end()) {
      std::vector<std::string> names;
      for (auto st : contracts::all_asset_statuses)
        names.emplace_back(contracts::to_string(st));
      if (auto bad = not_one_of("status", i->second, names))
        return r.send(std::move(*bad));
      filters.push_back({"status", i->second});
    }
    if (auto i = req.query.find("media_type"); i != req.query.end()) {
      if (!contracts::is_valid_media_type(i->second, true))
        return r.send(filter_error(
          "media_type", "media_type '" + printable(i->second)
                          + "' is not a media type: type/subtype, the "
                            "subtype may be * (video/mp4, video/*)"));
      filters.push_back({"media_type", i->second,
                         [](std::string_view pattern, std::string_view have) {
                           return contracts::media_type_matches(pattern, have);
                         }});
    }
    auto page = read_page_request(req, "assets", 2, r);
    if (!page)
      return;
    auto found = creation_page(*ctx, storage::table::assets, "assets", *page,
                               filters);
    if (!found)
      return r.send(error_from(found.error()));
    for (auto& item : found->first)
      if (auto* id = item.find("asset_id"); id && id->is_string())
        if (auto err = add_holds(*ctx, id->as_string(), item))
          return r.send(error_from(err));
    r.send(page_response(std::move(found->first), found->second));
  });
  server.route("GET", "/api/assets/{id}", [ctx](http_request req, responder r) {
    auto& id = req.params["id"];
    auto row = ctx->reader->get(storage::table::assets, id);
    if (!row)
      return r.send(code_of(row.error()) == ec::not_found
                      ? error_response(404, ec::not_found,
                                       "no asset '" + printable(id) + "'")
                      : error_from(row.error()));
    auto doc = parse_row(*row);
    if (auto err = add_holds(*ctx, id, doc))
      return r.send(error_from(err));
    r.send(json_response(200, doc));
  });
  server.route("POST", "/api/assets/path", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    auto* path = body->find("path");
    if (path == nullptr || !path->is_string())
      return r.send(error_response(400, ec::missing_field,
                                   "give the file's path on the node", "/path"));
    auto str = [&](const char* key) {
      auto* v = body->find(key);
      return v && v->is_string() ? v->as_string() : std::string{};
    };
    ask_or<contracts::asset_record>(
      ctx->system, ctx->ledger, r, created,
      [](const caf::error& e) {
        return error_from(e, path_error_field(code_of(e)));
      },
      atom::add_v, path->as_string(), str("media_type"), str("label"),
      operator_of(req));
  }, route_options{.new_work = true});
  // Refused below the disk reserve before a byte of the body is stored.
  server.route("POST", "/api/assets/upload",
               [ctx](http_request req, responder r) {
    if (req.body_file.empty())
      return r.send(error_response(400, ec::invalid_argument,
                                   "the upload has no body"));
    ask<contracts::asset_record>(ctx->system, ctx->ledger, r, created,
                                 atom::upload_v, req.body_file,
                                 query(req, "media_type"),
                                 query(req, "label", query(req, "filename")),
                                 operator_of(req));
  }, route_options{.new_work = true,
                   .max_body = defaults::http::max_upload_bytes,
                   .upload = true});
  server.route("POST", "/api/assets/value", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    auto* value = body->find("value");
    auto* dtype = body->find("dtype");
    if (value == nullptr)
      return r.send(error_response(400, ec::missing_field, "give the value",
                                   "/value"));
    if (dtype == nullptr || !dtype->is_string())
      return r.send(error_response(400, ec::missing_field,
                                   "give the value's dtype", "/dtype"));
    auto* label = body->find("label");
    ask<contracts::asset_record>(
      ctx->system, ctx->ledger, r, created, atom::value_v,
      json::serialize(*value), dtype->as_string(),
      label && label->is_string() ? label->as_string() : std::string{},
      operator_of(req));
  }, route_options{.new_work = true});
  server.route("DELETE", "/api/assets/{id}", [ctx](http_request req, responder r) {
    auto id = req.params["id"];
    ask_or<std::string>(
      ctx->system, ctx->zenith, r,
      [](std::string& erased) {
        return json_response(200, json::object{{"deleted", erased}});
      },
      [ctx, id](const caf::error& e) {
        auto answer = error_from(e);
        if (code_of(e) != ec::asset_in_use)
          return answer;
        // The refusal names its holders in words; a client (the dashboard)
        // gets them as ids too: `error.holders`, as the record has them.
        auto text = ctx->reader->get(storage::table::assets, id);
        if (!text)
          return answer;
        auto row = json::parse(*text);
        auto body = json::parse(answer.body);
        if (!row || !body || add_holds(*ctx, id, *row.doc))
          return answer;
        auto* holders = row.doc->find("holders");
        auto* error = body.doc->find("error");
        if (holders == nullptr || error == nullptr)
          return answer;
        error->set("holders", *holders);
        return json_response(answer.status, *body.doc);
      },
      atom::erase_v, id, operator_of(req));
  });
}

} // namespace omniva::runtime::api
