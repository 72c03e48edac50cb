#include "runtime/node_api.hpp"

#include "actors/registry.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/type_ids.hpp"
#include "storage/verify.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;
using contracts::make_error;

// -- events ---------------------------------------------------------------------

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

// -- modules ----------------------------------------------------------------------

caf::expected<contracts::module_entry>
parse_module_entry(const std::string& text, const std::string& dir) {
  return actors::check_module_text(text, dir, {});
}

// -- errors -----------------------------------------------------------------------

unsigned http_status(ec code) noexcept {
  switch (code) {
    case ec::not_found:
    case ec::module_not_found:
      return 404;
    case ec::asset_in_use:
    case ec::immutable_ref:
    case ec::idempotency_conflict:
    case ec::illegal_transition:
    case ec::database_locked:
      return 409;
    case ec::path_not_allowed:
      return 403;
    case ec::unauthorized:
      return 401;
    case ec::too_large:
      return 413;
    case ec::storage_error:
    case ec::corruption:
    case ec::io_error:
      return 500;
    default:
      return 400;
  }
}

namespace {

ec code_of(const caf::error& e) {
  if (e.category() == contracts::error_category)
    return static_cast<ec>(e.code());
  return ec::storage_error;
}

/// The HTTP answer for an error: its code, message and pointer, or
/// `fallback_pointer` when the error came without one (the ledger's errors
/// name no field of the request).
http_response error_from(const caf::error& e,
                         const std::string& fallback_pointer = {}) {
  auto code = code_of(e);
  auto p = contracts::problem_from_error(e);
  auto message = p && !p->message.empty()
                   ? p->message
                   : contracts::render_error(e.code(), e.category(), e.context());
  auto pointer = p && !p->pointer.empty() ? p->pointer : fallback_pointer;
  return error_response(http_status(code), code, message, pointer);
}

/// Asks `handle` and answers through `r`: `on_ok` builds the response,
/// `on_error` the one for an error.
template <class Result, class Handle, class OnOk, class OnError, class... Ts>
void ask_or(caf::actor_system& sys, Handle handle, responder r, OnOk on_ok,
            OnError on_error, Ts... xs) {
  // (The unused argument works around CAF 0.17.6 dereferencing a null
  // tuple pointer for argument-less function actors, which UBSan reports.)
  sys.spawn([=](caf::event_based_actor* self, int) mutable {
    self->request(handle, std::chrono::seconds{120}, xs...)
      .then([=](Result& x) mutable { r.send(on_ok(x)); },
            [=](caf::error& e) mutable { r.send(on_error(e)); });
  }, 0);
}

/// `ask_or`, errors answered by `error_from`.
template <class Result, class Handle, class OnOk, class... Ts>
void ask(caf::actor_system& sys, Handle handle, responder r, OnOk on_ok,
         Ts... xs) {
  ask_or<Result>(sys, handle, std::move(r), std::move(on_ok),
                 [](const caf::error& e) { return error_from(e); }, xs...);
}

std::optional<json::value> body_json(const http_request& req, responder& r) {
  auto doc = json::parse(req.body);
  if (!doc) {
    r.send(error_response(400, ec::invalid_json, doc.error.message));
    return std::nullopt;
  }
  return std::move(*doc.doc);
}

json::value parse_row(const std::string& text) {
  auto doc = json::parse(text);
  return doc ? std::move(*doc.doc) : json::value{};
}

/// Whether `row` passes a list filter on its string member `key`: an empty
/// filter passes every row; otherwise the member must exist and `match` it.
bool passes(const json::value& row, std::string_view key,
            const std::string& wanted,
            bool (*match)(std::string_view wanted, std::string_view have)
            = [](std::string_view x, std::string_view y) { return x == y; }) {
  if (wanted.empty())
    return true;
  auto* member = row.find(key);
  return member && member->is_string() && match(wanted, member->as_string());
}

std::string query(const http_request& req, const std::string& key,
                  std::string fallback = {}) {
  auto i = req.query.find(key);
  return i == req.query.end() ? fallback : i->second;
}

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

} // namespace

// -- routes -----------------------------------------------------------------------

void install_routes(http_server& server, const api_context& ctx_in) {
  auto ctx = std::make_shared<api_context>(ctx_in);

  server.route_public("GET", "/api/health", [](http_request, responder r) {
    r.send(json_response(200, json::object{{"ok", true}}));
  });

  // -- modules
  server.route("GET", "/api/modules", [ctx](http_request, responder r) {
    auto rows = ctx->reader->scan(storage::table::modules, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    json::array out;
    for (auto& [ref, text] : *rows) {
      auto row = parse_row(text);
      json::value m{json::object{}};
      m.set("ref", ref);
      if (auto* c = row.find("contract")) {
        if (auto* d = c->find("description"))
          m.set("description", *d);
        if (auto* in = c->find("inputs"))
          m.set("inputs", *in);
        if (auto* o = c->find("outputs"))
          m.set("outputs", *o);
      }
      out.push_back(std::move(m));
    }
    r.send(json_response(200, json::value{std::move(out)}));
  });
  server.route("GET", "/api/modules/{ref}", [ctx](http_request req, responder r) {
    auto row = ctx->reader->get(storage::table::modules, req.params["ref"]);
    if (!row)
      return r.send(error_from(row.error()));
    auto doc = parse_row(*row);
    auto* contract = doc.find("contract");
    r.send(json_response(200, contract ? *contract : json::value{}));
  });
  server.route("POST", "/api/modules", [ctx](http_request req, responder r) {
    // A contract as the body; `?dir=` names its folder on the node's
    // machine (under the allowed roots) so that real runs find the program.
    std::string dir;
    if (auto d = query(req, "dir"); !d.empty()) {
      std::error_code err;
      auto real = fs::weakly_canonical(d, err);
      bool inside = false;
      for (auto& root : ctx->allowed_roots) {
        auto rel = real.lexically_relative(fs::weakly_canonical(root, err));
        if (!rel.empty() && *rel.begin() != "..")
          inside = true;
      }
      if (err || !inside)
        return r.send(error_response(403, ec::path_not_allowed,
                                     "the module folder " + d
                                       + " is outside the allowed roots",
                                     "/dir"));
      dir = real.string();
    }
    // The registry checks it against the registered schemas.
    ask<std::string>(ctx->system, ctx->registry, r,
                     [](std::string& ref) {
                       return json_response(201, json::object{{"ref", ref}});
                     },
                     atom::enroll_v, req.body, dir);
  });
  server.route("POST", "/api/modules/rescan", [ctx](http_request, responder r) {
    ask<contracts::registry_report>(ctx->system, ctx->registry, r,
                                    [](contracts::registry_report& report) {
                                      return json_response(200,
                                                           to_json(report));
                                    },
                                    atom::rescan_v);
  });

  // -- schemas and policies (the registry)
  server.route("GET", "/api/schemas", [ctx](http_request, responder r) {
    json::array out;
    for (auto& s : ctx->registry_store->schemas()) {
      json::value item{json::object{}};
      item.set("ref", s.ref);
      auto doc = parse_row(s.canonical_json);
      for (auto* key : {"title", "description"})
        if (auto* v = doc.find(key); v && v->is_string())
          item.set(key, *v);
      out.push_back(std::move(item));
    }
    r.send(json_response(200, json::value{std::move(out)}));
  });
  server.route("GET", "/api/schemas/{ref}", [ctx](http_request req, responder r) {
    auto& ref = req.params["ref"];
    auto doc = ctx->registry_store->schema_document(ref);
    if (!doc)
      return r.send(error_response(404, ec::not_found,
                                   "no schema " + ref + " is registered"));
    r.send(json_response(200, *doc));
  });
  server.route("POST", "/api/schemas", [ctx](http_request req, responder r) {
    // The document is the body; its ref comes with it as ?ref=name@N.
    auto ref = query(req, "ref");
    if (ref.empty())
      return r.send(error_response(400, ec::missing_field,
                                   "give the schema's ref as ?ref=name@N "
                                   "(e.g. media.metadata@1)",
                                   "/ref"));
    if (!contracts::is_registry_ref(ref))
      return r.send(error_response(400, ec::invalid_ref,
                                   "'" + ref
                                     + "' is not a schema ref: a name, '@' "
                                       "and a positive version (e.g. "
                                       "media.metadata@1)",
                                   "/ref"));
    ask<std::string>(ctx->system, ctx->registry, r,
                     [](std::string& registered) {
                       return json_response(201,
                                            json::object{{"ref", registered}});
                     },
                     atom::schema_v, ref, req.body);
  });
  server.route("GET", "/api/policies", [ctx](http_request, responder r) {
    json::array out;
    for (auto& p : ctx->registry_store->policies())
      out.push_back(contracts::to_json(p));
    r.send(json_response(200, json::value{std::move(out)}));
  });
  server.route("GET", "/api/policies/{ref}", [ctx](http_request req, responder r) {
    auto& ref = req.params["ref"];
    auto p = ctx->registry_store->policy(ref);
    if (!p)
      return r.send(error_response(404, ec::not_found,
                                   "no policy " + ref + " is registered"));
    r.send(json_response(200, contracts::to_json(*p)));
  });

  // -- assets
  auto asset_json = [](const contracts::asset_record& a) {
    return contracts::to_json(a);
  };
  server.route("GET", "/api/assets", [ctx](http_request req, responder r) {
    auto rows = ctx->reader->scan(storage::table::assets, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    auto status = query(req, "status");
    auto media = query(req, "media_type");
    json::array out;
    for (auto& [id, text] : *rows) {
      auto row = parse_row(text);
      if (passes(row, "status", status)
          && passes(row, "media_type", media,
                    [](std::string_view pattern, std::string_view have) {
                      return contracts::media_type_matches(pattern, have);
                    }))
        out.push_back(std::move(row));
    }
    r.send(json_response(200, json::value{std::move(out)}));
  });
  server.route("GET", "/api/assets/{id}", [ctx](http_request req, responder r) {
    auto row = ctx->reader->get(storage::table::assets, req.params["id"]);
    if (!row)
      return r.send(error_from(row.error()));
    r.send(json_response(200, parse_row(*row)));
  });
  server.route("POST", "/api/assets/path",
               [ctx, asset_json](http_request req, responder r) {
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
      ctx->system, ctx->ledger, r,
      [asset_json](contracts::asset_record& a) {
        return json_response(201, asset_json(a));
      },
      [](const caf::error& e) {
        auto field = [](ec code) -> std::string {
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
        };
        return error_from(e, field(code_of(e)));
      },
      atom::add_v, path->as_string(), str("media_type"), str("label"));
  });
  server.route_upload("POST", "/api/assets/upload",
                      [ctx, asset_json](http_request req, responder r) {
    if (req.body_file.empty())
      return r.send(error_response(400, ec::invalid_argument,
                                   "the upload has no body"));
    ask<contracts::asset_record>(
      ctx->system, ctx->ledger, r,
      [asset_json](contracts::asset_record& a) {
        return json_response(201, asset_json(a));
      },
      atom::upload_v, req.body_file, query(req, "media_type"),
      query(req, "label", query(req, "filename")));
  }, uint64_t{4} << 30);
  server.route("POST", "/api/assets/value",
               [ctx, asset_json](http_request req, responder r) {
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
      ctx->system, ctx->ledger, r,
      [asset_json](contracts::asset_record& a) {
        return json_response(201, asset_json(a));
      },
      atom::value_v, json::serialize(*value), dtype->as_string(),
      label && label->is_string() ? label->as_string() : std::string{});
  });
  server.route("DELETE", "/api/assets/{id}", [ctx](http_request req, responder r) {
    ask<std::string>(ctx->system, ctx->zenith, r,
                     [](std::string& id) {
                       return json_response(200, json::object{{"deleted", id}});
                     },
                     atom::erase_v, req.params["id"]);
  });

  // -- tasks
  server.route("POST", "/api/tasks", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto request = contracts::task_request_from_json(*body, problems);
    if (!request) {
      json::value out{json::object{}};
      out.set("errors", contracts::to_json(problems));
      return r.send(json_response(422, out));
    }
    ask<contracts::submit_result>(
      ctx->system, ctx->zenith, r,
      [](contracts::submit_result& res) {
        if (!res.ok) {
          json::value out{json::object{}};
          out.set("errors", contracts::to_json(res.problems));
          // A key naming other work conflicts with the first request; every
          // other refusal is the request's own fault.
          bool conflict = !res.problems.empty()
                          && res.problems.front().code == ec::idempotency_conflict;
          return json_response(conflict ? 409 : 422, out);
        }
        auto t = contracts::to_json(res.task);
        t.set("duplicate", res.duplicate);
        return json_response(res.duplicate ? 200 : 201, t);
      },
      atom::submit_v, *request);
  });
  server.route("GET", "/api/tasks", [ctx](http_request req, responder r) {
    auto rows = ctx->reader->scan(storage::table::tasks, "");
    if (!rows)
      return r.send(error_from(rows.error()));
    auto status = query(req, "status");
    auto module = query(req, "module_ref");
    json::array out;
    for (auto& [id, text] : *rows) {
      auto row = parse_row(text);
      if (passes(row, "status", status) && passes(row, "module_ref", module))
        out.push_back(std::move(row));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
      auto* x = a.find("created_at");
      auto* y = b.find("created_at");
      return x && y && x->as_string() < y->as_string();
    });
    r.send(json_response(200, json::value{std::move(out)}));
  });
  server.route("GET", "/api/tasks/{id}", [ctx](http_request req, responder r) {
    auto row = ctx->reader->get(storage::table::tasks, req.params["id"]);
    if (!row)
      return r.send(error_from(row.error()));
    r.send(json_response(200, parse_row(*row)));
  });
  server.route("POST", "/api/tasks/{id}/cancel", [ctx](http_request req, responder r) {
    ask<contracts::task_record>(ctx->system, ctx->zenith, r,
                                [](contracts::task_record& t) {
                                  return json_response(200, contracts::to_json(t));
                                },
                                atom::cancel_v, req.params["id"]);
  });
  server.route("POST", "/api/tasks/{id}/priority", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    auto* p = body->find("priority");
    if (p == nullptr || !p->as_int64() || *p->as_int64() < INT32_MIN
        || *p->as_int64() > INT32_MAX)
      return r.send(error_response(400, ec::invalid_argument,
                                   "priority must be a 32-bit integer",
                                   "/priority"));
    ask<contracts::task_record>(ctx->system, ctx->zenith, r,
                                [](contracts::task_record& t) {
                                  return json_response(200, contracts::to_json(t));
                                },
                                atom::priority_v, req.params["id"],
                                static_cast<int32_t>(*p->as_int64()));
  });

  // -- lineage
  server.route("GET", "/api/lineage/verify", [ctx](http_request, responder r) {
    auto report = storage::verify(*ctx->reader);
    json::value out{json::object{}};
    out.set("ok", report.ok);
    out.set("packets", report.packets);
    if (report.ok) {
      out.set("head", report.head);
    } else {
      out.set("broken_seq", report.broken_seq);
      out.set("code", std::string{contracts::to_string(report.code)});
      out.set("reason", report.reason);
    }
    r.send(json_response(200, out));
  });
  server.route("GET", "/api/lineage/{id}", [ctx](http_request req, responder r) {
    auto id = req.params["id"];
    auto direction = query(req, "direction");
    uint32_t depth = 10;
    if (auto d = query(req, "depth"); !d.empty()) {
      auto [ptr, err] = std::from_chars(d.data(), d.data() + d.size(), depth);
      if (err != std::errc{} || ptr != d.data() + d.size())
        return r.send(error_response(400, ec::invalid_argument,
                                     "depth must be a non-negative integer",
                                     "/depth"));
    }
    json::value out{json::object{}};
    out.set("id", id);
    std::vector<contracts::packet> start;
    if (contracts::digest_from_hex(id)) {
      auto p = ctx->reader->packet_by_id(id);
      if (!p)
        return r.send(error_from(p.error()));
      out.set("packet", contracts::to_json(*p));
      start.push_back(std::move(*p));
    } else {
      auto h = ctx->reader->history(id);
      if (!h)
        return r.send(error_from(h.error()));
      if (h->empty())
        return r.send(error_response(404, ec::not_found,
                                     "nothing in the lineage log names " + id));
      out.set("history", packet_list(*h));
      start = std::move(*h);
    }
    if (direction == "up" || direction == "down") {
      std::vector<storage::lineage_entry> all;
      std::set<std::string> seen;
      for (auto& p : start)
        seen.insert(p.id);
      for (auto& p : start) {
        auto more = direction == "up" ? ctx->reader->ancestors(p.id, depth)
                                      : ctx->reader->descendants(p.id, depth);
        if (!more)
          return r.send(error_from(more.error()));
        for (auto& e : *more)
          if (seen.insert(e.packet.id).second)
            all.push_back(std::move(e));
      }
      out.set(direction == "up" ? "ancestors" : "descendants", entries_list(all));
    }
    r.send(json_response(200, out));
  });

  // -- events and metrics
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

} // namespace omniva::runtime
