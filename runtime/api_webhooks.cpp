// Webhooks over HTTP (admin only): create, list, show and remove. A webhook
// is committed by Zenith (`webhook.created` / `webhook.removed`, a row of
// table `webhooks`); its secret is a file written before the commit and
// removed after a removal's (runtime/webhooks.hpp); its delivery state is
// read from the file the node's dispatcher keeps.

#include "runtime/api_paging.hpp"
#include "runtime/webhooks.hpp"

#include "contracts/ids.hpp"
#include "contracts/webhook.hpp"

namespace omniva::runtime::api {

using contracts::ec;

namespace {


/// The delivery state of webhook `id` for the API: the state file's, or
/// where delivery will start when there is none yet, with `lag`, the
/// packets in the log after the cursor.
json::value delivery_json(const api_context& ctx, const std::string& id) {
  delivery_state st;
  auto read = read_delivery_state(webhook_state_path(ctx.data_dir, id));
  if (read) {
    st = *read;
  } else if (auto start = webhook_start_seq(*ctx.reader, id)) {
    st.delivered_seq = *start;
  }
  auto out = to_json(st);
  if (!read && code_of(read.error()) != ec::not_found)
    out.set("last_error", "cannot read the delivery state: "
                            + contracts::render_error(read.error().code(),
                                                      read.error().category(),
                                                      read.error().context()));
  if (auto head = ctx.reader->packet_count())
    out.set("lag", *head > st.delivered_seq ? *head - st.delivered_seq
                                            : uint64_t{0});
  return out;
}

/// A webhook row with its delivery state (`delivery`).
json::value with_delivery(const api_context& ctx, json::value row) {
  auto* id = row.find("id");
  if (id != nullptr && id->is_string())
    row.set("delivery", delivery_json(ctx, id->as_string()));
  return row;
}

} // namespace

void install_webhook_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/webhooks", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto request = contracts::webhook_request_from_json(*body, problems);
    if (!request)
      return r.send(refused(problems));
    contracts::webhook_change change;
    change.op = contracts::webhook_op::create;
    change.record.id = contracts::random_id_source{}.next_uuid();
    change.record.url = request->url;
    change.record.events = request->events;
    change.by = operator_of(req);
    // The secret is on disk before the webhook exists: its first delivery
    // finds it. A create that does not commit takes it away again.
    bool generated = !request->secret;
    auto secret = generated ? make_webhook_secret() : *request->secret;
    auto id = change.record.id;
    if (auto err = write_private_file(webhook_secret_path(ctx->data_dir, id),
                                      secret))
      return r.send(error_from(err));
    ask_or<contracts::webhook_record>(
      ctx->system, ctx->zenith, r,
      [generated, secret](contracts::webhook_record& w) {
        auto out = contracts::to_json(w);
        if (generated)
          out.set("secret", secret);
        return json_response(201, out);
      },
      [ctx, id](const caf::error& e) {
        // When the outcome is unknown the webhook may exist: its secret
        // stays (the next start removes it if the create was lost).
        if (code_of(e) != ec::outcome_unknown)
          remove_webhook_files(ctx->data_dir, id);
        return error_from(e);
      },
      atom::webhook_v, change);
  }, admin_only());
  server.route("GET", "/api/webhooks", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/webhooks", {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "webhooks", 2, r);
    if (!page)
      return;
    auto rows = creation_page(*ctx, storage::table::webhooks, "webhooks", *page,
                              {});
    if (!rows)
      return r.send(error_from(rows.error()));
    json::array items;
    for (auto& row : rows->first)
      items.push_back(with_delivery(*ctx, std::move(row)));
    r.send(page_response(std::move(items), rows->second));
  }, admin_only());
  server.route("GET", "/api/webhooks/{id}", [ctx](http_request req, responder r) {
    auto& id = req.params["id"];
    auto row = read_row(*ctx, storage::table::webhooks, id);
    if (!row)
      return r.send(code_of(row.error()) == ec::not_found
                      ? error_response(404, ec::not_found,
                                       "no webhook '" + printable(id) + "'")
                      : error_from(row.error()));
    r.send(json_response(200, with_delivery(*ctx, std::move(*row))));
  }, admin_only());
  server.route("DELETE", "/api/webhooks/{id}", [ctx](http_request req, responder r) {
    auto& id = req.params["id"];
    if (!contracts::is_uuid(id))
      return r.send(error_response(404, ec::not_found,
                                   "no webhook '" + printable(id) + "'"));
    contracts::webhook_change change;
    change.op = contracts::webhook_op::remove;
    change.record.id = id;
    change.by = operator_of(req);
    ask<contracts::webhook_record>(
      ctx->system, ctx->zenith, r,
      [ctx](contracts::webhook_record& w) {
        // Committed: the secret and the state go (the dispatcher removes
        // them again once its delivery thread for it has ended).
        remove_webhook_files(ctx->data_dir, w.id);
        return json_response(200, contracts::to_json(w));
      },
      atom::webhook_v, change);
  }, admin_only());
}

} // namespace omniva::runtime::api
