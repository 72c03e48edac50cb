// Pipelines, runs and triggers over HTTP (docs/pipelines.md, "HTTP API").
// Every change goes through Zenith: a registration (`atom::pipeline`, the
// document's text), a run's start and an operator's action on it
// (`atom::run`), a trigger's creation and removal (`atom::trigger`). Runs are
// read from Zenith too (`atom::view`: it holds their tasks' progress and
// answers the JSON text the API shows); pipelines from the registry store
// Zenith fills. A run is explained by HaloLux's logic as the trace it is
// (the run id is the trace id of every packet it causes).

#include "runtime/api_paging.hpp"

#include "contracts/engines.hpp"
#include "contracts/halolux.hpp"
#include "contracts/pipeline.hpp"
#include "contracts/registry_store.hpp"
#include "contracts/run.hpp"

#include <algorithm>
#include <charconv>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

// -- answers ------------------------------------------------------------------------

/// `{"errors": [...]}` with `status`: the refusal of a registration or of a
/// run request (the shape of `POST /api/tasks`'s 422).
http_response every_problem(unsigned status,
                            const std::vector<contracts::problem>& problems) {
  json::value out{json::object{}};
  out.set("errors", contracts::to_json(problems));
  return json_response(status, out);
}

/// `{"error": first, "errors": [...]}` with `status`: a refusal whose first
/// problem names the answer's code (409 `immutable_ref`), still listing all.
http_response first_and_every(unsigned status,
                              const std::vector<contracts::problem>& problems) {
  auto out = contracts::to_json(problems.front());
  json::value doc{json::object{}};
  doc.set("error", std::move(out));
  doc.set("errors", contracts::to_json(problems));
  return json_response(status, doc);
}

/// Zenith's answer to a registration: 201 `{"ref", "pipeline"}` (200 when
/// the same document was registered before), 409 `immutable_ref` when the
/// ref is held with other content, 422 with every problem otherwise.
http_response registered(contracts::pipeline_registration& res) {
  if (!res.ok) {
    if (res.problems.empty())
      return error_response(500, ec::storage_error,
                            "Zenith refused the pipeline without a reason");
    if (res.problems.front().code == ec::immutable_ref)
      return first_and_every(409, res.problems);
    return every_problem(422, res.problems);
  }
  json::value out{json::object{}};
  out.set("ref", res.pipeline.ref());
  out.set("pipeline", contracts::to_json(res.pipeline));
  return json_response(res.unchanged ? 200 : 201, out);
}

/// Answers `rec` through `r` with `status` as `GET /api/runs/{id}` shows it
/// (asked of Zenith from `self`), or its row form (`contracts::to_json`)
/// when Zenith cannot show it.
void send_run(caf::event_based_actor* self, const actors::zenith_actor& zenith,
              responder r, unsigned status, contracts::run_record rec) {
  self
    ->request(zenith, defaults::http::actor_timeout, atom::view_v, rec.run_id)
    .then([r, status](std::string& text) mutable {
            r.send(json_text(status, std::move(text)));
          },
          [r, status, rec](caf::error&) mutable {
            r.send(json_response(status, contracts::to_json(rec)));
          });
}

/// The refusal of a run request: 404 `not_found` when its pipeline is not
/// registered, else 422 with every problem.
http_response run_refused(const std::vector<contracts::problem>& problems) {
  if (problems.empty())
    return error_response(500, ec::storage_error,
                          "Zenith refused the run without a reason");
  for (auto& p : problems)
    if (p.code == ec::not_found && p.pointer == "/pipeline")
      return error_response(404, ec::not_found, p.message, p.pointer);
  return every_problem(422, problems);
}

/// A trigger's answer.
http_response trigger_answer(unsigned status, contracts::trigger_record& t) {
  return json_response(status, contracts::to_json(t));
}

// -- requests -----------------------------------------------------------------------

/// Reads a page size: an integer from 1 to `max`; nullopt otherwise.
std::optional<uint32_t> page_size(const std::string& text, uint32_t max) {
  bool digits = !text.empty() && text.size() <= 9
                && std::all_of(text.begin(), text.end(),
                               [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    return std::nullopt;
  uint32_t n = 0;
  auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (err != std::errc{} || ptr != text.data() + text.size() || n < 1 || n > max)
    return std::nullopt;
  return n;
}

/// The 400 `invalid_filter` answer to a bad `limit`.
http_response bad_limit(const std::string& text, uint32_t max,
                        std::string_view counted) {
  return filter_error("limit", "limit '" + printable(text)
                                 + "' is not a page size: an integer from 1 to "
                                 + std::to_string(max) + " ("
                                 + std::string{counted} + ")");
}

/// "RUNNING", "PAUSED", ...: the values of the runs' `status` filter.
std::vector<std::string> run_status_names() {
  std::vector<std::string> out;
  for (auto s : {contracts::run_status::running, contracts::run_status::paused,
                 contracts::run_status::done, contracts::run_status::failed,
                 contracts::run_status::cancelled})
    out.emplace_back(contracts::to_string(s));
  return out;
}

/// The 404 answer for a pipeline ref the registry does not hold.
http_response no_pipeline(const std::string& ref) {
  return error_response(404, ec::not_found,
                        "no pipeline '" + printable(ref) + "' is registered");
}

// -- explaining a run ------------------------------------------------------------------

/// HaloLux's explanation of the trace `q.id` (a run's id) from the database
/// as it is now. HaloLux takes an id that packets name as their subject for
/// a task or an asset and refuses anything else; the run's own packets
/// (`run.started`, ...) name its id, so its history is left out here, and
/// the id is explained as what it also is: the trace of every packet the run
/// caused, a page of its tasks at a time. Every other read goes to the
/// database, bounded by the log's length when the explanation began (as the
/// HaloLux actor reads).
caf::expected<contracts::explanation>
explain_run(const storage::reader& reader, const contracts::explain_query& q) {
  auto horizon = reader.packet_count();
  if (!horizon)
    return horizon.error();
  auto h = *horizon;
  halolux::lineage_source src;
  src.history = [&reader, h, run = q.id](std::string_view subject, uint64_t first,
                                         uint64_t last, size_t limit)
    -> caf::expected<std::vector<contracts::packet>> {
    if (subject == run)
      return std::vector<contracts::packet>{};
    return reader.history(subject, first, std::min(last, h), limit);
  };
  src.last_seq = [&reader, h](std::string_view subject, uint64_t at_most) {
    return reader.last_seq_of(subject, std::min(at_most, h));
  };
  src.at = [&reader, h](uint64_t seq) -> caf::expected<contracts::packet> {
    if (seq > h)
      return contracts::make_error(ec::not_found,
                                   "no packet at seq " + std::to_string(seq));
    return reader.packet_by_seq(seq);
  };
  src.trace = [&reader, h](std::string_view trace, uint64_t first,
                           uint64_t last, size_t limit) {
    return reader.by_trace(trace, first, std::min(last, h), limit);
  };
  return halolux::explain(q, src);
}

// -- the routes --------------------------------------------------------------------------

void install_pipeline_document_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/pipelines", [ctx](http_request req, responder r) {
    // A body that is no JSON, or names a member twice, is refused as every
    // body is; Zenith checks the document (against its modules) and
    // registers it.
    if (!body_json(req, r))
      return;
    ask<contracts::pipeline_registration>(ctx->system, ctx->zenith, r,
                                          registered, atom::pipeline_v,
                                          req.body, operator_of(req));
  }, route_options{.new_work = true});
  server.route("GET", "/api/pipelines", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/pipelines",
                                     {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "pipelines", 1, r);
    if (!page)
      return;
    auto all = ctx->registry_store->pipelines();
    std::sort(all.begin(), all.end(),
              [](auto& a, auto& b) { return a->ref() < b->ref(); });
    std::vector<std::string> refs;
    refs.reserve(all.size());
    for (auto& p : all)
      refs.push_back(p->ref());
    auto [chosen, next] = ref_page(refs, "pipelines", *page);
    json::array items;
    for (auto i : chosen)
      items.push_back(contracts::to_json(*all[i]));
    r.send(page_response(std::move(items), next));
  });
  route_get_one(server, "/api/pipelines/{ref}", "ref",
                [ctx](const std::string& ref) -> caf::expected<json::value> {
                  auto p = ctx->registry_store->pipeline(ref);
                  if (!p)
                    return contracts::make_error(ec::not_found,
                                                 "no pipeline '" + printable(ref)
                                                   + "' is registered");
                  return contracts::to_json(*p);
                });
}

void install_run_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/pipelines/{ref}/runs", [ctx](http_request req,
                                                         responder r) {
    auto ref = req.params["ref"];
    if (!ctx->registry_store->pipeline(ref))
      return r.send(no_pipeline(ref));
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto request = contracts::run_request_from_json(*body, problems);
    if (!request) {
      if (problems.empty())
        problems.push_back({ec::type_mismatch, "",
                            "the body must be a JSON object: {\"inputs\": "
                            "{KEY: asset id}, \"values\": {KEY: JSON}, "
                            "\"mode\"?, \"priority\"?}"});
      return r.send(every_problem(422, problems));
    }
    // The ref is the URL's; a body naming another pipeline is a mistake.
    if (!request->pipeline_ref.empty() && request->pipeline_ref != ref)
      request->problems.push_back(
        {ec::invalid_argument, "/pipeline",
         "the body names pipeline '" + printable(request->pipeline_ref)
           + "' but the URL names '" + printable(ref)
           + "': leave \"pipeline\" out or make them agree"});
    request->pipeline_ref = ref;
    request->requested_by = operator_of(req);
    // Started, the run is answered as GET /api/runs/{id} shows it.
    ctx->system.spawn(
      [zenith = ctx->zenith, r, req = std::move(*request)](
        caf::event_based_actor* self, int) mutable {
        self
          ->request(zenith, defaults::http::actor_timeout, atom::run_v,
                    std::move(req))
          .then(
            [self, zenith, r](contracts::run_result& res) mutable {
              if (!res.ok)
                return r.send(run_refused(res.problems));
              send_run(self, zenith, r, 201, std::move(res.run));
            },
            [r](caf::error& e) mutable { r.send(error_from(e)); });
      },
      0);
  }, route_options{.new_work = true});
  server.route("GET", "/api/runs", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/runs",
                                     {"pipeline", "status", "limit", "cursor"}))
      return r.send(std::move(*bad));
    contracts::run_query q;
    if (auto i = req.query.find("pipeline"); i != req.query.end()) {
      if (!ctx->registry_store->pipeline(i->second))
        return r.send(filter_error(
          "pipeline", "pipeline '" + printable(i->second)
                        + "' names no registered pipeline (GET /api/pipelines "
                          "lists them)"));
      q.pipeline_ref = i->second;
    }
    if (auto i = req.query.find("status"); i != req.query.end()) {
      if (auto bad = not_one_of("status", i->second, run_status_names()))
        return r.send(std::move(*bad));
      q.status = i->second;
    }
    if (auto i = req.query.find("limit"); i != req.query.end()) {
      auto n = page_size(i->second, max_page_limit);
      if (!n)
        return r.send(bad_limit(i->second, max_page_limit,
                                "default " + std::to_string(default_page_limit)
                                  + " runs"));
      q.limit = *n;
    }
    if (auto i = req.query.find("cursor"); i != req.query.end()) {
      if (i->second.empty())
        return r.send(filter_error(
          "cursor", "the cursor is empty: pass the next_cursor of the page "
                    "before unchanged, or none for the first page"));
      q.cursor = i->second;
    }
    ask_or<std::string>(
      ctx->system, ctx->zenith, r,
      [](std::string& text) { return json_text(200, std::move(text)); },
      [](const caf::error& e) {
        // Zenith's word on a filter (a cursor it did not give) is the
        // client's: the lists' invalid_filter.
        auto p = contracts::problem_from_error(e);
        if (p && (p->code == ec::invalid_argument || p->code == ec::invalid_filter)
            && p->pointer.size() > 1)
          return filter_error(p->pointer.substr(1), p->message);
        return error_from(e);
      },
      atom::view_v, q);
  });
  server.route("GET", "/api/runs/{id}", [ctx](http_request req, responder r) {
    ask<std::string>(ctx->system, ctx->zenith, r,
                     [](std::string& text) { return json_text(200, std::move(text)); },
                     atom::view_v, req.params["id"]);
  });
  for (auto action : {contracts::run_action::cancel, contracts::run_action::pause,
                      contracts::run_action::resume, contracts::run_action::retry}) {
    auto path = "/api/runs/{id}/" + std::string{contracts::to_string(action)};
    server.route("POST", path, [ctx, action](http_request req, responder r) {
      contracts::run_change change;
      change.run_id = req.params["id"];
      change.action = action;
      change.requested_by = operator_of(req);
      // Changed, the run is answered as GET /api/runs/{id} shows it.
      ctx->system.spawn(
        [zenith = ctx->zenith, r, change](caf::event_based_actor* self,
                                          int) mutable {
          self
            ->request(zenith, defaults::http::actor_timeout, atom::run_v,
                      change)
            .then(
              [self, zenith, r](contracts::run_record& rec) mutable {
                send_run(self, zenith, r, 200, std::move(rec));
              },
              [r](caf::error& e) mutable { r.send(error_from(e)); });
        },
        0);
    });
  }
  server.route("GET", "/api/runs/{id}/explain", [ctx](http_request req,
                                                      responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/runs/{id}/explain",
                                     {"limit", "cursor"}))
      return r.send(std::move(*bad));
    contracts::explain_query q;
    q.id = req.params["id"];
    if (auto i = req.query.find("limit"); i != req.query.end()) {
      auto n = page_size(i->second, halolux::max_limit);
      if (!n)
        return r.send(bad_limit(i->second, halolux::max_limit,
                                "default "
                                  + std::to_string(halolux::default_limit)
                                  + " tasks of the run"));
      q.limit = *n;
    }
    if (auto i = req.query.find("cursor"); i != req.query.end()) {
      if (i->second.empty())
        return r.send(filter_error(
          "cursor", "the cursor is empty: pass the next_cursor of the page "
                    "before unchanged, or none for the first page"));
      q.cursor = i->second;
    }
    // Only a run is explained here (any other id: GET /api/explain/{id}).
    auto row = ctx->reader->get(storage::table::runs, q.id);
    if (!row)
      return r.send(code_of(row.error()) == ec::not_found
                      ? error_response(404, ec::not_found,
                                       "no run '" + printable(q.id) + "'")
                      : error_from(row.error()));
    // An explanation blocks on the database: on a thread of its own.
    ctx->system.spawn<caf::detached>(
      [reader = ctx->reader, q, r](caf::event_based_actor*, int) mutable {
        auto x = explain_run(*reader, q);
        r.send(x ? json_response(200, contracts::to_json(*x))
                 : error_from(x.error()));
      },
      0);
  });
}

void install_trigger_routes(http_server& server, const context_ptr& ctx) {
  server.route("POST", "/api/triggers", [ctx](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    std::vector<contracts::problem> problems;
    auto record = contracts::trigger_request_from_json(*body, problems);
    // A well-formed ref naming no pipeline is one more problem of the
    // request, reported with the others.
    bool ref_ok = std::none_of(problems.begin(), problems.end(),
                               [](auto& p) { return p.pointer == "/pipeline"; });
    if (auto* p = body->is_object() ? body->find("pipeline") : nullptr;
        ref_ok && p && p->is_string()
        && !ctx->registry_store->pipeline(p->as_string()))
      problems.push_back({ec::not_found, "/pipeline",
                          "no pipeline '" + printable(p->as_string())
                            + "' is registered"});
    if (!record || !problems.empty()) {
      if (problems.empty())
        problems.push_back({ec::type_mismatch, "",
                            "the body must be a JSON object: {\"pipeline\", "
                            "\"every\": \"1d\" | \"cron\": \"0 6 * * *\", "
                            "\"inputs\"?, \"values\"?, \"mode\"?}"});
      return r.send(refused(problems));
    }
    contracts::trigger_change change;
    change.op = contracts::trigger_op::create;
    change.record = std::move(*record);
    change.requested_by = operator_of(req);
    ask_or<contracts::trigger_record>(
      ctx->system, ctx->zenith, r,
      [](contracts::trigger_record& t) { return trigger_answer(201, t); },
      [](const caf::error& e) {
        // Zenith's refusal of the request names the member at fault: a
        // problem of the request like the others (400).
        auto p = contracts::problem_from_error(e);
        if (p && !p->pointer.empty())
          return refused({*p});
        return error_from(e);
      },
      atom::trigger_v, change);
  }, route_options{.new_work = true});
  server.route("GET", "/api/triggers", [ctx](http_request req, responder r) {
    if (auto bad = unknown_parameter(req, "GET /api/triggers",
                                     {"limit", "cursor"}))
      return r.send(std::move(*bad));
    auto page = read_page_request(req, "triggers", 1, r);
    if (!page)
      return;
    ask<std::vector<contracts::trigger_record>>(
      ctx->system, ctx->zenith, r,
      [page = *page](std::vector<contracts::trigger_record>& all) {
        std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
          return a.trigger_id < b.trigger_id;
        });
        std::vector<std::string> ids;
        ids.reserve(all.size());
        for (auto& t : all)
          ids.push_back(t.trigger_id);
        auto [chosen, next] = ref_page(ids, "triggers", page);
        json::array items;
        for (auto i : chosen)
          items.push_back(contracts::to_json(all[i]));
        return page_response(std::move(items), next);
      },
      atom::trigger_v);
  });
  server.route("DELETE", "/api/triggers/{id}", [ctx](http_request req,
                                                     responder r) {
    contracts::trigger_change change;
    change.op = contracts::trigger_op::remove;
    change.record.trigger_id = req.params["id"];
    change.requested_by = operator_of(req);
    ask<contracts::trigger_record>(
      ctx->system, ctx->zenith, r,
      [](contracts::trigger_record& t) { return trigger_answer(200, t); },
      atom::trigger_v, change);
  });
}

} // namespace

void install_pipeline_routes(http_server& server, const context_ptr& ctx) {
  install_pipeline_document_routes(server, ctx);
  install_run_routes(server, ctx);
  install_trigger_routes(server, ctx);
}

} // namespace omniva::runtime::api
