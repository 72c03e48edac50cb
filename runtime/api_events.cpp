// Watching a node over HTTP: the event hub behind `GET /api/events` (one
// Server-Sent Event per committed packet, SSE comments while quiet), and the
// routes `GET /api/health`, `GET /api/events` and `GET /metrics`.

#include "runtime/api_routes.hpp"

#include <algorithm>

namespace omniva::runtime {

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
      json::value data{json::object{}};
      data.set("kind", e.kind);
      data.set("id", e.packet_id);
      data.set("subject", e.subject);
      auto text = json::serialize(data);
      for (auto& s : streams_)
        s->send(e.kind, text);
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

void install_event_routes(http_server& server, const context_ptr& ctx) {
  server.route_public("GET", "/api/health", [](http_request, responder r) {
    r.send(json_response(200, json::object{{"ok", true}}));
  });
  server.route("GET", "/api/events", [ctx](http_request, responder r) {
    ctx->events->add(r.start_stream());
  });
  server.route("GET", "/metrics", [ctx](http_request, responder r) {
    ask<std::string>(ctx->system, ctx->zenith, r,
                     [](std::string& text) {
                       http_response resp;
                       resp.content_type = "text/plain; version=0.0.4";
                       resp.body = std::move(text);
                       return resp;
                     },
                     atom::metrics_v);
  });
}

} // namespace api

} // namespace omniva::runtime
