// `GET /api/explain/{id}` (runtime/api_explain.hpp): HaloLux's explanation
// of a task, an asset or a trace (one page of its tasks), as
// `{"subject", "subject_kind", "narrative", "chain": [{"statement",
// "packet_id"}], "missing", "completeness", "next_cursor"?}`.

#include "runtime/api_explain.hpp"

#include "contracts/engines.hpp"
#include "contracts/halolux.hpp"
#include "runtime/api_paging.hpp"

#include <algorithm>
#include <charconv>

namespace omniva::runtime {

using contracts::ec;

void install_explain_routes(http_server& server, const api_context& ctx,
                            actors::halolux_actor halolux) {
  auto& system = ctx.system;
  server.route(
    "GET", "/api/explain/{id}",
    [&system, halolux](http_request req, responder r) {
      if (auto bad = api::unknown_parameter(req, "GET /api/explain/{id}",
                                            {"limit", "cursor"}))
        return r.send(std::move(*bad));
      contracts::explain_query q;
      q.id = req.params["id"];
      if (auto i = req.query.find("limit"); i != req.query.end()) {
        auto& text = i->second;
        uint32_t n = 0;
        auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), n);
        bool digits = !text.empty()
                      && std::all_of(text.begin(), text.end(),
                                     [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || err != std::errc{} || ptr != text.data() + text.size()
            || n < 1 || n > halolux::max_limit)
          return r.send(api::filter_error(
            "limit", "limit '" + api::printable(text)
                       + "' is not a page size: an integer from 1 to "
                       + std::to_string(halolux::max_limit) + " (default "
                       + std::to_string(halolux::default_limit)
                       + " tasks of a trace)"));
        q.limit = n;
      }
      if (auto i = req.query.find("cursor"); i != req.query.end()) {
        if (i->second.empty())
          return r.send(api::filter_error(
            "cursor", "the cursor is empty: pass the next_cursor of the page "
                      "before unchanged, or none for the first page"));
        q.cursor = i->second;
      }
      api::ask<contracts::explanation>(
        system, halolux, std::move(r),
        [](contracts::explanation& x) {
          return json_response(200, contracts::to_json(x));
        },
        atom::explain_v, std::move(q));
    });
}

} // namespace omniva::runtime
