#include "runtime/node_metrics.hpp"

#include "contracts/json.hpp"
#include "contracts/node_log.hpp"

#include <chrono>
#include <string_view>

namespace omniva::runtime {

namespace {

/// Seconds from `from` to `to`; 0 when the clock went backwards.
double seconds(contracts::timestamp from, contracts::timestamp to) {
  auto d = std::chrono::duration<double>(to - from).count();
  return d > 0 ? d : 0;
}

/// The payload as JSON; null when it does not parse.
json::value payload_of(const contracts::committed_event& e) {
  auto r = json::parse(e.payload);
  return r ? std::move(*r.doc) : json::value{};
}

/// The string member `key` of `v`; "" when there is none.
std::string text(const json::value& v, std::string_view key) {
  auto* x = v.find(key);
  return x != nullptr && x->is_string() ? x->as_string() : std::string{};
}

/// The member `key` of `v` when it is a number.
std::optional<double> number(const json::value& v, std::string_view key) {
  auto* x = v.find(key);
  if (x == nullptr)
    return std::nullopt;
  if (x->is_number())
    return x->as_double();
  return std::nullopt;
}

} // namespace

// -- histograms ---------------------------------------------------------------------

node_metrics::node_metrics()
  : duration_("omniva_task_duration_seconds",
              "Time from a task's creation to its end (DONE, ERROR or "
              "CANCELLED), by module and final status.",
              std::vector<std::string>{"module", "status"}),
    run_("omniva_task_run_seconds",
         "Run time of an attempt that ended (succeeded or failed), by module.",
         "module"),
    queue_wait_("omniva_task_queue_wait_seconds",
                "Time a task waited READY before it was dispatched, by "
                "module.",
                "module") {
}

void node_metrics::observe(const std::vector<contracts::committed_event>& events) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& e : events)
    observe_one(e);
}

void node_metrics::observe_one(const contracts::committed_event& e) {
  std::string_view kind = e.kind;
  if (kind == "decision.zenith") {
    // Zenith made tasks READY on Paradox's clearance (or retries at once on
    // Eclipse's plan): their queue wait starts here.
    auto at = contracts::parse_timestamp(e.at);
    if (!at)
      return;
    auto payload = payload_of(e);
    auto* decisions = payload.find("decisions");
    if (decisions == nullptr || !decisions->is_array())
      return;
    for (auto& d : decisions->as_array()) {
      auto what = text(d, "decision");
      auto delay = number(d, "delay_ms");
      if (what != "ready" && !(what == "retry" && delay && *delay == 0))
        continue;
      if (auto i = tasks_.find(text(d, "task_id")); i != tasks_.end())
        i->second.ready = *at;
    }
    return;
  }
  if (!kind.starts_with("task."))
    return;
  auto at = contracts::parse_timestamp(e.at);
  if (!at)
    return;
  if (kind == "task.created") {
    auto payload = payload_of(e);
    task_times t{text(payload, "module_ref"), *at, std::nullopt, std::nullopt};
    if (text(payload, "status") == "READY")
      t.ready = *at;
    tasks_.insert_or_assign(e.subject, std::move(t));
    return;
  }
  auto i = tasks_.find(e.subject);
  if (i == tasks_.end())
    return; // created before the node started
  auto& t = i->second;
  if (kind == "task.ready") {
    t.ready = *at;
  } else if (kind == "task.dispatched") {
    if (t.ready)
      queue_wait_.observe(t.module, seconds(*t.ready, *at));
    t.ready.reset();
    t.dispatched = *at;
  } else if (kind == "task.attempt_failed") {
    // The attempt ended: its run time counts now (a retry runs anew).
    if (t.dispatched)
      run_.observe(t.module, seconds(*t.dispatched, *at));
    t.dispatched.reset();
  } else if (kind == "task.requeued") {
    // The attempt was lost (no heartbeat, a restart): no run time to tell.
    t.dispatched.reset();
  } else if (kind == "task.succeeded" || kind == "task.failed"
             || kind == "task.cancelled" || kind == "task.skipped"
             || kind == "task.reused") {
    std::string status = kind == "task.succeeded" || kind == "task.reused"
                           ? "DONE"
                         : kind == "task.failed"  ? "ERROR"
                         : kind == "task.skipped" ? "SKIPPED"
                                                  : "CANCELLED";
    if (status != "CANCELLED" && t.dispatched) {
      // The outcome's own measure when it has one (the module's process
      // time), else the time between the packets.
      auto payload = payload_of(e);
      auto* metrics = payload.find("metrics");
      auto ms = metrics != nullptr ? number(*metrics, "duration_ms")
                                   : std::nullopt;
      run_.observe(t.module, ms ? *ms / 1000.0 : seconds(*t.dispatched, *at));
    }
    duration_.observe_labels({t.module, status}, seconds(t.created, *at));
    tasks_.erase(i);
  }
}

std::string node_metrics::render() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::string out;
  duration_.render(out);
  run_.render(out);
  queue_wait_.render(out);
  return out;
}

size_t node_metrics::tasks_in_memory() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return tasks_.size();
}

// -- log lines ----------------------------------------------------------------------

namespace {

/// Writes the info line `event` of an operator's action with `fields`, and
/// the operator (the token's name) when the packet names one.
void operator_line(std::string_view event, std::vector<node_log::field> fields,
                   const contracts::committed_event& e) {
  if (auto who = text(payload_of(e), "operator"); !who.empty())
    fields.emplace_back("operator", json::value{who});
  node_log::write(node_log::level::info, event, fields);
}

} // namespace

void log_committed_events(const std::vector<contracts::committed_event>& events) {
  using node_log::level;
  for (auto& e : events) {
    std::string_view kind = e.kind;
    if (kind == "task.failed") {
      auto payload = payload_of(e);
      std::vector<node_log::field> fields{
        {"task", json::value{e.subject}},
        {"code", json::value{text(payload, "code")}},
        {"message", json::value{text(payload, "message")}}};
      if (auto pointer = text(payload, "pointer"); !pointer.empty())
        fields.emplace_back("pointer", json::value{pointer});
      node_log::write(level::warn, "task.failed", fields);
    } else if (kind == "task.requeued") {
      auto payload = payload_of(e);
      auto* attempt = payload.find("attempt");
      node_log::write(level::warn, "task.requeued",
                      {{"task", json::value{e.subject}},
                       {"attempt", attempt != nullptr ? *attempt : json::value{}},
                       {"reason", json::value{text(payload, "reason")}}});
    } else if (kind == "task.cancelled") {
      operator_line("operator.cancel", {{"task", json::value{e.subject}}}, e);
    } else if (kind == "task.priority_changed") {
      auto payload = payload_of(e);
      auto* priority = payload.find("priority");
      operator_line("operator.priority",
                    {{"task", json::value{e.subject}},
                     {"priority", priority != nullptr ? *priority : json::value{}}},
                    e);
    } else if (kind == "asset.deleted") {
      operator_line("operator.asset_delete", {{"asset", json::value{e.subject}}}, e);
    } else if (kind == "module.registered") {
      operator_line("operator.module_register",
                    {{"module", json::value{e.subject}}}, e);
    } else if (kind == "module.moved") {
      auto payload = payload_of(e);
      operator_line("operator.module_move",
                    {{"module", json::value{e.subject}},
                     {"dir", json::value{text(payload, "dir")}},
                     {"from", json::value{text(payload, "from")}}},
                    e);
    } else if (kind == "schema.registered") {
      operator_line("operator.schema_register",
                    {{"schema", json::value{e.subject}}}, e);
    } else if (kind == "policy.registered") {
      operator_line("operator.policy_register",
                    {{"policy", json::value{e.subject}}}, e);
    } else if (kind == "gc.completed") {
      // A retention pass, on the timer (operator `retention`) or asked for.
      auto payload = payload_of(e);
      std::vector<node_log::field> fields;
      for (auto key : {"tasks", "attempts", "assets", "blobs", "bytes"}) {
        auto* n = payload.find(key);
        fields.emplace_back(key, n != nullptr ? *n : json::value{});
      }
      operator_line("gc.completed", std::move(fields), e);
    } else if (kind == "webhook.created" || kind == "webhook.removed") {
      operator_line(kind == "webhook.created" ? "operator.webhook_create"
                                              : "operator.webhook_remove",
                    {{"webhook", json::value{e.subject}}}, e);
    } else if (kind == "token.created" || kind == "token.revoked"
               || kind == "token.rotated") {
      // The subject is `token:<name>`; the line names the token.
      std::string_view name = e.subject;
      if (name.starts_with("token:"))
        name.remove_prefix(6);
      auto event = kind == "token.created"   ? "operator.token_create"
                   : kind == "token.revoked" ? "operator.token_revoke"
                                             : "operator.token_rotate";
      operator_line(event, {{"token", json::value{std::string{name}}}}, e);
    }
  }
}

} // namespace omniva::runtime
