// Lineage over HTTP, read straight from the database: `GET
// /api/lineage/verify` checks the Stardust log (chain, indexes, rows, the
// witness), `GET /api/lineage/witness` gives the chain witness to keep
// elsewhere, `GET /api/lineage/{id}` shows a packet (64 hex digits) or the
// history of a task, asset or module, with its ancestors or descendants on
// request.

#include "runtime/api_paging.hpp"

#include "contracts/packet.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <charconv>
#include <set>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

json::value packet_list(const std::vector<contracts::packet>& xs) {
  json::array out;
  for (auto& p : xs)
    out.push_back(contracts::to_json(p));
  return json::value{std::move(out)};
}

json::value entries_list(const std::vector<storage::lineage_entry>& xs) {
  json::array out;
  for (auto& e : xs) {
    auto v = contracts::to_json(e.packet);
    v.set("depth", static_cast<int64_t>(e.depth));
    out.push_back(std::move(v));
  }
  return json::value{std::move(out)};
}

/// `GET /api/lineage/{id}?direction=up|down&depth=N`.
http_response show_lineage(const api_context& ctx, http_request& req) {
  if (auto bad = unknown_parameter(req, "GET /api/lineage/{id}",
                                   {"direction", "depth"}))
    return std::move(*bad);
  auto id = req.params["id"];
  auto direction = query(req, "direction");
  static const std::vector<std::string> directions{"up", "down"};
  if (req.query.count("direction") != 0)
    if (auto bad = not_one_of("direction", direction, directions))
      return std::move(*bad);
  uint32_t depth = defaults::client::lineage_depth;
  if (auto d = query(req, "depth"); !d.empty()) {
    auto [ptr, err] = std::from_chars(d.data(), d.data() + d.size(), depth);
    if (err != std::errc{} || ptr != d.data() + d.size())
      return error_response(400, ec::invalid_argument,
                            "depth must be a non-negative integer", "/depth");
  }
  json::value out{json::object{}};
  out.set("id", id);
  std::vector<contracts::packet> start;
  if (contracts::digest_from_hex(id)) {
    auto p = ctx.reader->packet_by_id(id);
    if (!p)
      return error_from(p.error());
    out.set("packet", contracts::to_json(*p));
    start.push_back(std::move(*p));
  } else {
    auto h = ctx.reader->history(id);
    if (!h)
      return error_from(h.error());
    if (h->empty())
      return error_response(404, ec::not_found,
                            "nothing in the lineage log names '"
                              + printable(id) + "'");
    out.set("history", packet_list(*h));
    start = std::move(*h);
  }
  if (direction == "up" || direction == "down") {
    std::vector<storage::lineage_entry> all;
    std::set<std::string> seen;
    for (auto& p : start)
      seen.insert(p.id);
    for (auto& p : start) {
      auto more = direction == "up" ? ctx.reader->ancestors(p.id, depth)
                                    : ctx.reader->descendants(p.id, depth);
      if (!more)
        return error_from(more.error());
      for (auto& e : *more)
        if (seen.insert(e.packet.id).second)
          all.push_back(std::move(e));
    }
    out.set(direction == "up" ? "ancestors" : "descendants", entries_list(all));
  }
  return json_response(200, out);
}

} // namespace

void install_lineage_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/lineage/verify", [ctx](http_request, responder r) {
    // The report, broken or not, is the answer: always 200.
    r.send(json_response(200, storage::to_json(storage::verify(*ctx->reader))));
  });
  server.route("GET", "/api/lineage/witness", [ctx](http_request, responder r) {
    auto w = ctx->reader->witness();
    if (!w)
      return r.send(error_from(w.error()));
    if (!*w)
      return r.send(error_response(404, ec::not_found,
                                   "the database has no chain witness yet (no "
                                   "write has synced its log)"));
    r.send(json_response(200, storage::to_json(**w)));
  });
  server.route("GET", "/api/lineage/{id}", [ctx](http_request req, responder r) {
    r.send(show_lineage(*ctx, req));
  });
}

} // namespace omniva::runtime::api
