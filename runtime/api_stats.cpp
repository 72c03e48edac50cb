// `GET /api/stats`: the node's statistics over time for the dashboard's
// Operations page. The points come from the node's sampler
// (runtime/stats_history.hpp: Zenith's counters every stats-interval-ms,
// never a scan of the tasks); `now` is read from Zenith at the request.

#include "runtime/api_paging.hpp"
#include "runtime/stats_history.hpp"

#include "contracts/messages.hpp"

#include <algorithm>
#include <charconv>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// Reads `since`: an RFC 3339 time or milliseconds since 1970. On error
/// answers 400 `invalid_filter` at `/since` through `r`; `ok` tells.
std::optional<contracts::timestamp> read_since(const http_request& req,
                                               responder& r, bool& ok) {
  ok = true;
  auto i = req.query.find("since");
  if (i == req.query.end())
    return std::nullopt;
  auto& text = i->second;
  bool digits = !text.empty()
                && std::all_of(text.begin(), text.end(),
                               [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    int64_t ms = 0;
    auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (err == std::errc{} && ptr == text.data() + text.size())
      return contracts::timestamp{std::chrono::milliseconds{ms}};
  } else if (auto t = contracts::parse_timestamp(text)) {
    return t;
  }
  ok = false;
  r.send(filter_error("since", "since '" + printable(text)
                                 + "' is not a time: an RFC 3339 time "
                                   "(2026-01-02T03:04:05.000Z, as a point's "
                                   "\"at\") or milliseconds since 1970"));
  return std::nullopt;
}

/// Reads `limit`: an integer from 1 to `most` (default `most`). On error
/// answers 400 `invalid_filter` at `/limit` through `r` and returns 0.
size_t read_limit(const http_request& req, size_t most, responder& r) {
  auto i = req.query.find("limit");
  if (i == req.query.end())
    return most;
  auto& text = i->second;
  size_t n = 0;
  bool digits = !text.empty()
                && std::all_of(text.begin(), text.end(),
                               [](char c) { return c >= '0' && c <= '9'; });
  auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (digits && err == std::errc{} && ptr == text.data() + text.size()
      && n >= 1 && n <= most)
    return n;
  r.send(filter_error("limit", "limit '" + printable(text)
                                 + "' is not a number of points: an integer "
                                   "from 1 to "
                                 + std::to_string(most) + " (default "
                                 + std::to_string(most) + ")"));
  return 0;
}

} // namespace

void install_stats_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/stats", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/stats", {"since", "limit"}))
      return r.send(std::move(*bad));
    if (!ctx->stats)
      return r.send(error_response(404, ec::not_found,
                                   "this node samples no statistics"));
    bool ok = true;
    auto since = read_since(req, r, ok);
    if (!ok)
      return;
    auto limit = read_limit(req, ctx->stats->capacity(), r);
    if (limit == 0)
      return;
    auto history = ctx->stats;
    ask<std::string>(
      ctx->system, ctx->zenith, r,
      [history, since, limit](std::string& text) {
        // `now` first: its rates are measured against the newest point.
        auto last = history->last();
        auto now = make_point(read_counters(text),
                              contracts::system_clock{}.now(),
                              std::chrono::steady_clock::now(),
                              last ? &*last : nullptr);
        json::array points;
        for (auto& p : history->after(since, limit))
          points.push_back(to_json(p));
        json::value out{json::object{}};
        out.set("interval_ms",
                static_cast<int64_t>(history->interval().count()));
        out.set("capacity", static_cast<int64_t>(history->capacity()));
        out.set("points", json::value{std::move(points)});
        out.set("now", to_json(now));
        return json_response(200, out);
      },
      atom::metrics_v);
  });
}

} // namespace omniva::runtime::api
