// Lineage over HTTP, read straight from the database: `GET
// /api/lineage/verify` checks the Stardust log (chain, indexes, rows, the
// witness), `GET /api/lineage/witness` gives the chain witness to keep
// elsewhere, `GET /api/lineage/{id}` shows a packet (64 hex digits) or the
// history of a task, asset or module, with its ancestors or descendants on
// request. `GET /api/lineage/export?since=SEQ` streams the packets from SEQ
// to the end of the log as NDJSON (contracts/lineage_export.hpp).

#include "runtime/api_paging.hpp"

#include "contracts/lineage_export.hpp"
#include "contracts/packet.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <caf/event_based_actor.hpp>

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

/// The most packets of a history `GET /api/lineage/{id}?limit=N` answers.
constexpr uint32_t max_history_limit = 10000;

/// `GET /api/lineage/{id}?direction=up|down&depth=N&limit=N`.
http_response show_lineage(const api_context& ctx, http_request& req) {
  if (auto bad = unknown_parameter(req, "GET /api/lineage/{id}",
                                   {"direction", "depth", "limit"}))
    return std::move(*bad);
  // `limit`: the history's first N packets only (a popular asset's history
  // is every task that took it), with `"truncated": true` when there is more.
  size_t limit = SIZE_MAX;
  if (req.query.count("limit") != 0) {
    auto l = query(req, "limit");
    uint32_t n = 0;
    auto [ptr, err] = std::from_chars(l.data(), l.data() + l.size(), n);
    if (err != std::errc{} || ptr != l.data() + l.size() || l.empty() || n == 0
        || n > max_history_limit)
      return error_response(400, ec::invalid_filter,
                            "limit must be an integer from 1 to "
                              + std::to_string(max_history_limit),
                            "/limit");
    limit = n;
  }
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
    auto h = ctx.reader->history(id, limit == SIZE_MAX ? limit : limit + 1);
    if (!h)
      return error_from(h.error());
    if (h->empty())
      return error_response(404, ec::not_found,
                            "nothing in the lineage log names '"
                              + printable(id) + "'");
    if (h->size() > limit) {
      h->resize(limit);
      out.set("truncated", true);
    }
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

/// The media type of an export: one JSON document a line.
constexpr std::string_view ndjson = "application/x-ndjson";

/// An export writes at most this many bytes of lines per chunk.
constexpr size_t export_chunk_bytes = size_t{256} << 10;

/// An export waits while more than this many bytes wait for the client.
constexpr size_t export_backlog = size_t{1} << 20;

/// How long an export waits for a slow client before it looks again.
constexpr auto export_pause = std::chrono::milliseconds{20};

/// The line that ends an export the node could not finish (a read failed):
/// not a packet, so a verifier stops on it, and the CLI says why.
std::string export_error_line(const caf::error& e) {
  json::value inner{json::object{}};
  inner.set("code", std::string{to_string(code_of(e))});
  inner.set("message", "the export stopped: "
                         + contracts::render_error(e.code(), e.category(),
                                                   e.context()));
  return json::serialize(json::object{{"error", std::move(inner)}}) + "\n";
}

/// Streams the export lines of packets `first..last` to `out`, a chunk at a
/// time and no faster than the client reads, then ends the body. Runs as an
/// actor of the node, so that the node's stop waits for it (it ends once
/// the stream closes, also when the server closes it).
void start_export(const context_ptr& ctx, std::shared_ptr<text_stream> out,
                  uint64_t first, uint64_t last) {
  auto reader = ctx->reader;
  ctx->system.spawn(
    [reader, out, last](caf::event_based_actor* self,
                        uint64_t from) -> caf::behavior {
      // `next`: the first seq not yet written.
      self->send(self, from);
      return {[=](uint64_t next) {
        if (out->closed())
          return self->quit();
        if (out->backlog() > export_backlog) {
          self->delayed_send(self, export_pause, next);
          return;
        }
        std::string chunk;
        caf::error failure;
        auto err = reader->for_each(
          next, [&](uint64_t seq, std::string_view id, std::string_view canonical) {
            if (seq > last || chunk.size() >= export_chunk_bytes)
              return false;
            if (seq != next) {
              failure = contracts::make_error(
                ec::corruption, "the log has no packet " + std::to_string(next)
                                  + " (the next is " + std::to_string(seq) + ")");
              return false;
            }
            auto line = contracts::export_line(
              contracts::to_hex(std::span<const uint8_t>{
                reinterpret_cast<const uint8_t*>(id.data()), id.size()}),
              canonical);
            if (!line) {
              failure = contracts::make_error(
                ec::corruption, "packet " + std::to_string(seq)
                                  + " is not in canonical form");
              return false;
            }
            chunk += *line;
            chunk += '\n';
            ++next;
            return true;
          });
        if (!err && !failure && next <= last && chunk.empty())
          failure = contracts::make_error(
            ec::corruption, "the log ends before packet " + std::to_string(next)
                              + " (it held " + std::to_string(last) + ")");
        out->write(std::move(chunk));
        if (err || failure) {
          out->write(export_error_line(err ? err : failure));
          out->close();
          return self->quit();
        }
        if (next > last) {
          out->close();
          return self->quit();
        }
        self->send(self, next);
      }};
    },
    first);
}

/// `GET /api/lineage/export?since=SEQ`: the packets from SEQ (default 1)
/// to the log's end as it is when the request arrives.
void export_lineage(const context_ptr& ctx, http_request& req, responder& r) {
  if (auto bad = unknown_parameter(req, "GET /api/lineage/export", {"since"}))
    return r.send(std::move(*bad));
  uint64_t since = 1;
  if (req.query.count("since") != 0) {
    auto s = query(req, "since");
    auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), since);
    if (err != std::errc{} || ptr != s.data() + s.size() || s.empty()
        || since == 0)
      return r.send(error_response(400, ec::invalid_argument,
                                   "since must be the seq of a packet: a "
                                   "positive integer (1 exports the whole log)",
                                   "/since"));
  }
  auto count = ctx->reader->packet_count();
  if (!count)
    return r.send(error_from(count.error()));
  auto out = r.start_text_stream(std::string{ndjson});
  if (since > *count) {
    out->close(); // nothing from there on yet: an empty export
    return;
  }
  start_export(ctx, std::move(out), since, *count);
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
  server.route("GET", "/api/lineage/export", [ctx](http_request req, responder r) {
    export_lineage(ctx, req, r);
  });
  server.route("GET", "/api/lineage/{id}", [ctx](http_request req, responder r) {
    r.send(show_lineage(*ctx, req));
  });
}

} // namespace omniva::runtime::api
