// `GET /api/pools` (docs/http-api.md, "Pools"): the node's worker pools
// as configured (`api_context::pools`: workers and the resources of one
// slot), their live figures as Zenith counts them (its metrics text:
// `omniva_pool_free_slots`, `omniva_pool_queued`; running is the workers
// less the free slots) and their health from table `quarantines` (row
// `pool:<name>`): "ok"; "quarantined" (an operator's); "breaker_open" or
// "breaker_half_open" (Eclipse's breaker, `by` "eclipse"). Every pool is
// "local" (the cluster issue adds remote ones).

#include "runtime/api_paging.hpp"

#include "contracts/engines.hpp"

#include <map>
#include <string_view>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The samples `family{pool="<name>"} <value>` of Prometheus text, by pool.
std::map<std::string, uint64_t> per_pool(std::string_view text,
                                         std::string_view family) {
  std::map<std::string, uint64_t> out;
  std::string prefix = std::string{family} + "{pool=\"";
  while (!text.empty()) {
    auto eol = text.find('\n');
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{}
                                         : text.substr(eol + 1);
    if (!line.starts_with(prefix))
      continue;
    line.remove_prefix(prefix.size());
    auto close = line.find("\"} ");
    if (close == std::string_view::npos)
      continue;
    auto name = std::string{line.substr(0, close)};
    auto value = line.substr(close + 3);
    uint64_t n = 0;
    bool ok = !value.empty();
    for (char c : value) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (ok)
      out[name] = n;
  }
  return out;
}

/// The health of a pool under quarantine `q` (null: none).
std::string health_of(const json::value& q) {
  if (q.is_null())
    return "ok";
  auto* by = q.find("by");
  auto* state = q.find("state");
  bool breaker = by && by->is_string() && by->as_string() == "eclipse";
  if (!breaker)
    return "quarantined";
  if (state && state->is_string() && state->as_string() == "half_open")
    return "breaker_half_open";
  return "breaker_open";
}

} // namespace

void install_pool_routes(http_server& server, const context_ptr& ctx) {
  server.route("GET", "/api/pools", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/pools", {}))
      return r.send(std::move(*bad));
    ask<std::string>(
      ctx->system, ctx->zenith, r,
      [ctx](std::string& text) {
        auto free = per_pool(text, "omniva_pool_free_slots");
        auto queued = per_pool(text, "omniva_pool_queued");
        json::array items;
        for (auto& p : ctx->pools) {
          json::value quarantine;
          auto row = ctx->reader->get(storage::table::quarantines,
                                      contracts::pool_target(p.name));
          if (row) {
            std::vector<contracts::problem> problems;
            auto q = contracts::quarantine_record_from_json(parse_row(*row),
                                                            problems);
            if (!q)
              return error_response(500, ec::corruption,
                                    "the quarantine row of pool "
                                      + printable(p.name)
                                      + " does not parse");
            quarantine = contracts::to_json(*q);
          } else if (code_of(row.error()) != ec::not_found) {
            return error_from(row.error());
          }
          auto f = free.find(p.name);
          uint64_t slots_free = f == free.end() ? 0 : f->second;
          uint64_t workers = p.workers;
          auto q = queued.find(p.name);
          json::value resources{json::object{}};
          resources.set("cpu", p.cpu);
          resources.set("memory_gb", p.memory_gb);
          resources.set("gpu", p.gpu);
          json::value item{json::object{}};
          item.set("name", p.name);
          item.set("workers", workers);
          item.set("slots_total", workers);
          item.set("slots_free", slots_free);
          item.set("running", workers > slots_free ? workers - slots_free
                                                   : uint64_t{0});
          // (null: Zenith did not count it)
          item.set("queued", q == queued.end() ? json::value{}
                                               : json::value{q->second});
          item.set("resources", std::move(resources));
          item.set("health", health_of(quarantine));
          item.set("quarantine", std::move(quarantine));
          item.set("location", "local");
          items.push_back(std::move(item));
        }
        json::value out{json::object{}};
        out.set("items", std::move(items));
        return json_response(200, out);
      },
      atom::metrics_v);
  });
}

} // namespace omniva::runtime::api
