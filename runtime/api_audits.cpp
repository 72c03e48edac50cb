// Audits over HTTP (docs/http-api.md, "Audits"; docs/engines.md, "Audits"):
// `POST /api/audits` runs one now (operator role): Zenith asks Paradox,
// records the findings as an `advice.paradox` packet (subject `audits`) and
// answers the report with that packet's id. `GET /api/audits` lists the
// recorded audits, newest first, from the history of the subject `audits`
// (viewer role), a page at a time.

#include "runtime/api_paging.hpp"

#include "contracts/audit.hpp"

#include <charconv>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The sequence number a cursor of the audit list holds (the last audit of
/// the page before); nullopt when it is not one.
std::optional<uint64_t> cursor_seq(const std::string& field) {
  uint64_t seq = 0;
  auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), seq);
  if (err != std::errc{} || end != field.data() + field.size())
    return std::nullopt;
  return seq;
}

} // namespace

void install_audit_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/audits", [ctx](http_request req, responder r) {
    // No parameters: an empty body or an empty object.
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto body = body_json(req, r);
      if (!body)
        return;
      if (!body->is_object())
        return r.send(error_response(400, ec::type_mismatch,
                                     "the body must be empty or {}"));
      if (!body->as_object().empty()) {
        auto& key = body->as_object().front().first;
        return r.send(error_response(400, ec::unknown_field,
                                     "unknown member '" + printable(key)
                                       + "': an audit takes no parameters",
                                     json::append_pointer("", key)));
      }
    }
    ask<contracts::audit_report>(
      ctx->system, ctx->zenith, std::move(r),
      [](contracts::audit_report& report) {
        return json_response(200, contracts::to_json(report));
      },
      atom::audit_v, operator_of(req));
  });
  server.route("GET", "/api/audits", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/audits", {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "audits", 1, r);
    if (!page)
      return;
    std::optional<uint64_t> before;
    if (!page->after.empty()) {
      before = cursor_seq(page->after.front());
      if (!before)
        return r.send(filter_error("cursor", "the cursor is not one of this "
                                             "list's: use a next_cursor of "
                                             "GET /api/audits"));
    }
    // Every record, oldest first (an audit an hour is under 9000 a year);
    // the page is taken from the end.
    auto history = ctx->reader->history(audit::audits_subject);
    if (!history)
      return r.send(error_from(history.error()));
    json::array items;
    std::string next;
    uint64_t last_seq = 0;
    for (auto p = history->rbegin(); p != history->rend(); ++p) {
      if (before && p->seq >= *before)
        continue;
      auto report = audit::audit_from_packet(*p);
      if (!report)
        continue; // another advice naming the subject
      if (items.size() == page->limit) {
        // One more exists: the cursor holds the page's last audit.
        std::string field = std::to_string(last_seq);
        next = encode_cursor("audits", std::span<const std::string>{&field, 1});
        break;
      }
      items.push_back(contracts::to_json(*report));
      last_seq = p->seq;
    }
    r.send(page_response(std::move(items), next));
  });
}

} // namespace omniva::runtime::api
