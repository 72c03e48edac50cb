// Watching a node over HTTP: the event hub behind `GET /api/events` (one
// Server-Sent Event per committed packet, its sequence number as the event's
// id, SSE comments while quiet; a client that reconnects with
// `Last-Event-ID` first gets what it missed, read from the log), and the
// routes `GET /api/health`, `GET /api/events` and `GET /metrics` (Zenith's
// counters and the node's histograms, runtime/node_metrics.hpp).

#include "runtime/api_routes.hpp"
#include "runtime/disk_guard.hpp"
#include "runtime/node_metrics.hpp"

#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <charconv>

namespace omniva::runtime {

namespace {

/// The `data:` of an event: `{"kind","id","subject","seq","at"}`.
std::string event_data(const std::string& kind, const std::string& id,
                       const std::string& subject, uint64_t seq,
                       const std::string& at) {
  json::value data{json::object{}};
  data.set("kind", kind);
  data.set("id", id);
  data.set("subject", subject);
  data.set("seq", static_cast<int64_t>(seq));
  data.set("at", at);
  return json::serialize(data);
}

} // namespace

// -- the event hub ------------------------------------------------------------------

void event_hub::prune() {
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](auto& s) { return s->closed(); }),
                 streams_.end());
}

void event_hub::publish(const std::vector<contracts::committed_event>& events) {
  std::lock_guard<std::mutex> guard{mtx_};
  prune();
  if (!streams_.empty()) {
    for (auto& e : events) {
      auto text = event_data(e.kind, e.packet_id, e.subject, e.seq, e.at);
      for (auto& s : streams_)
        s->send(e.kind, text, e.seq);
    }
  }
  for (auto& [handle, f] : listeners_)
    f(events);
  ++generation_;
  cv_.notify_all();
}

uint64_t event_hub::listen(listener f) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.emplace_back(++next_listener_, std::move(f));
  return next_listener_;
}

void event_hub::unlisten(uint64_t handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [&](auto& l) { return l.first == handle; }),
                   listeners_.end());
}

void event_hub::add(std::shared_ptr<event_stream> stream) {
  std::lock_guard<std::mutex> guard{mtx_};
  streams_.push_back(std::move(stream));
}

void event_hub::keep_alive(std::chrono::milliseconds period) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (keep_alive_.joinable() || closing_ || period.count() <= 0)
    return;
  keep_alive_ = std::thread{[this, period] {
    std::unique_lock<std::mutex> lock{mtx_};
    while (!closing_) {
      auto seen = generation_;
      // Wakes on every publish; a comment goes out only after a quiet period.
      if (cv_.wait_for(lock, period,
                       [&] { return closing_ || generation_ != seen; }))
        continue;
      prune();
      for (auto& s : streams_)
        s->comment("keep-alive");
    }
  }};
}

void event_hub::close_all() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    closing_ = true;
    for (auto& s : streams_)
      s->close();
    streams_.clear();
    ++generation_;
    cv_.notify_all();
  }
  if (keep_alive_.joinable())
    keep_alive_.join();
}

event_hub::~event_hub() {
  close_all();
}

void event_hub::wait_for_change(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mtx_};
  auto seen = generation_;
  cv_.wait_for(lock, timeout, [&] { return generation_ != seen; });
}

// -- routes ---------------------------------------------------------------------------

namespace api {

namespace {

/// How many packets a replay reads at a time.
constexpr size_t replay_page = 256;

/// A replay waits while more than this many bytes wait for the client.
constexpr size_t replay_backlog = size_t{1} << 20;

/// How long a replay waits for a slow client before it looks again.
constexpr auto replay_pause = std::chrono::milliseconds{20};

/// Reads `Last-Event-ID`: nullopt when absent or empty, else the number; an
/// error response for anything but a decimal integer in 0..2^64-1.
std::optional<uint64_t> last_event_id(const http_request& req,
                                      std::optional<http_response>& refusal) {
  auto i = req.headers.find("last-event-id");
  if (i == req.headers.end())
    return std::nullopt;
  std::string_view text = i->second;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  if (text.empty())
    return std::nullopt; // what an EventSource sends before its first id
  uint64_t n = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (err != std::errc{} || end != text.data() + text.size()) {
    refusal = error_response(
      400, contracts::ec::invalid_argument,
      "Last-Event-ID must be the sequence number of an event (a decimal "
      "integer from 0 to 18446744073709551615).");
    return std::nullopt;
  }
  return n;
}

/// Sends `stream` every packet with a sequence number above `after` from
/// the log, page by page and no faster than the client reads, then releases
/// the live events it held (see `event_stream::hold`). Runs as an actor of
/// the node, so that the node's stop waits for it (it ends once the stream
/// closes).
void start_replay(const context_ptr& ctx, std::shared_ptr<event_stream> stream,
                  uint64_t after) {
  auto reader = ctx->reader;
  ctx->system.spawn(
    [reader, stream, after](caf::event_based_actor* self,
                            int) -> caf::behavior {
      // `done`: the events up to it are sent (or were never in the log).
      self->send(self, after);
      return {[=](uint64_t done) {
        if (stream->closed())
          return self->quit();
        if (stream->backlog() > replay_backlog) {
          self->delayed_send(self, replay_pause, done);
          return;
        }
        auto page = reader->packets(done + 1, UINT64_MAX, replay_page);
        if (!page) {
          stream->comment("the log cannot be read: "
                          + contracts::render_error(page.error().code(),
                                                    page.error().category(),
                                                    page.error().context()));
          stream->close();
          return self->quit();
        }
        for (auto& p : *page) {
          stream->replay(p.kind,
                         event_data(p.kind, p.id, storage::event_subject(p, *reader),
                                    p.seq, p.at),
                         p.seq);
          done = p.seq;
        }
        if (page->size() == replay_page || !stream->release(done)) {
          // More in the log (or held events were dropped: read on).
          self->send(self, done);
          return;
        }
        self->quit();
      }};
    },
    0);
}

/// The answer of `GET /api/health`: `{"ok": true}` while all is well;
/// below the disk reserve `ok` is false, `status` says why and `storage`
/// gives the figures (read now, not at the guard's last look).
json::value health(const api_context& ctx) {
  json::value out{json::object{}};
  if (!ctx.disk) {
    out.set("ok", true);
    return out;
  }
  auto s = ctx.disk->check();
  if (!s.low) {
    out.set("ok", true);
    return out;
  }
  json::value storage{json::object{}};
  storage.set("data_dir", s.folder);
  storage.set("free_bytes", static_cast<int64_t>(s.free_bytes));
  storage.set("total_bytes", static_cast<int64_t>(s.total_bytes));
  storage.set("reserve_bytes", static_cast<int64_t>(s.reserve_bytes));
  storage.set("low", true);
  out.set("ok", false);
  out.set("status", "insufficient_storage");
  out.set("message", disk_guard::refusal_message(s));
  out.set("storage", std::move(storage));
  return out;
}

/// The disk gauges of `GET /metrics`, in Prometheus text.
std::string disk_metrics(const disk_guard& disk) {
  auto s = disk.status();
  auto gauge = [](std::string& out, const char* name, const char* help,
                  uint64_t value) {
    out += std::string{"# HELP "} + name + " " + help + "\n";
    out += std::string{"# TYPE "} + name + " gauge\n";
    out += std::string{name} + " " + std::to_string(value) + "\n";
  };
  std::string out;
  gauge(out, "omniva_disk_free_bytes",
        "Free bytes of the data folder's file system (last reading).",
        s.free_bytes);
  gauge(out, "omniva_disk_reserve_bytes",
        "The disk reserve: below it new work is refused.", s.reserve_bytes);
  gauge(out, "omniva_disk_low",
        "1 while the free space is below the reserve (new work refused).",
        s.low ? 1 : 0);
  return out;
}

} // namespace

void install_event_routes(http_server& server, const context_ptr& ctx) {
  // The node's histograms, from the events of every commit from now on.
  auto metrics = std::make_shared<node_metrics>();
  ctx->events->listen(
    [metrics](const std::vector<contracts::committed_event>& events) {
      metrics->observe(events);
    });
  server.route_public("GET", "/api/health", [ctx](http_request, responder r) {
    r.send(json_response(200, health(*ctx)));
  });
  server.route("GET", "/api/events", [ctx](http_request req, responder r) {
    std::optional<http_response> refusal;
    auto after = last_event_id(req, refusal);
    if (refusal)
      return r.send(std::move(*refusal));
    auto stream = r.start_stream();
    if (!after) {
      ctx->events->add(std::move(stream));
      return;
    }
    // Held from before the replay reads the log: every event committed from
    // now on is either read by the replay or held, and the release drops
    // the held ones the replay already sent.
    stream->hold();
    ctx->events->add(stream);
    start_replay(ctx, std::move(stream), *after);
  });
  server.route("GET", "/metrics", [ctx, metrics](http_request, responder r) {
    ask<std::string>(ctx->system, ctx->zenith, r,
                     [ctx, metrics](std::string& text) {
                       http_response resp;
                       resp.content_type = "text/plain; version=0.0.4";
                       resp.body = std::move(text);
                       resp.body += metrics->render();
                       if (ctx->disk)
                         resp.body += disk_metrics(*ctx->disk);
                       return resp;
                     },
                     atom::metrics_v);
  });
}

} // namespace api

} // namespace omniva::runtime
