#include "contracts/audit.hpp"

#include "contracts/ids.hpp"
#include "contracts/status.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace omniva::audit {

using contracts::asset_record;
using contracts::asset_status;
using contracts::conflict_resolution;
using contracts::task_record;
using contracts::task_status;

namespace {

/// Whether packets of `kind` end a task (its row becomes final).
bool ends_a_task(std::string_view kind) noexcept {
  return kind == "task.succeeded" || kind == "task.failed"
         || kind == "task.cancelled" || kind == "task.skipped"
         || kind == "task.reused";
}

/// The asset ids a `task.succeeded` / `task.reused` payload lists among its
/// `outputs` (`{key: {asset_id, sha256}}`), in member order.
std::vector<std::string> output_ids(const json::value& payload) {
  std::vector<std::string> out;
  auto* outputs = payload.find("outputs");
  if (outputs == nullptr || !outputs->is_object())
    return out;
  for (auto& [key, v] : outputs->as_object()) {
    auto* id = v.find("asset_id");
    if (id != nullptr && id->is_string())
      out.push_back(id->as_string());
  }
  return out;
}

/// A finding of `check` with its rating.
conflict_resolution finding(std::string_view check,
                            std::vector<std::string> affected,
                            std::vector<std::string> evidence,
                            std::string message) {
  conflict_resolution c;
  c.check = std::string{check};
  for (auto& r : check_ratings)
    if (r.check == check) {
      c.severity = std::string{r.severity};
      c.action = std::string{r.action};
    }
  c.affected = std::move(affected);
  c.evidence = std::move(evidence);
  c.message = std::move(message);
  return c;
}

/// Sorts one check's findings: by affected ids, then evidence, then message.
void sort_findings(std::vector<conflict_resolution>& xs) {
  std::sort(xs.begin(), xs.end(), [](const auto& x, const auto& y) {
    return std::tie(x.affected, x.evidence, x.message)
           < std::tie(y.affected, y.evidence, y.message);
  });
}

/// Appends `id` to `xs` unless empty or there already.
void add_unique(std::vector<std::string>& xs, const std::string& id) {
  if (!id.empty() && std::find(xs.begin(), xs.end(), id) == xs.end())
    xs.push_back(id);
}

/// "PENDING", "FAILED", ... of an asset, for messages.
std::string status_text(asset_status s) {
  return std::string{contracts::to_string(s)};
}

const std::vector<std::string> no_ids;

} // namespace

// -- lineage_digest ---------------------------------------------------------------------

void lineage_digest::add(const contracts::packet& p) {
  ++packets_;
  json::value payload{json::object{}};
  if (auto parsed = json::parse(p.payload); parsed && parsed.doc->is_object())
    payload = std::move(*parsed.doc);
  if (p.kind == "asset.registered") {
    for (auto& s : p.subjects)
      add_unique(producers_[s], p.id);
  } else if (p.kind == "asset.deleted") {
    for (auto& s : p.subjects)
      deleted_[s] = p.id;
  }
  if (ends_a_task(p.kind)) {
    std::vector<std::string> outputs;
    if (p.kind == "task.succeeded" || p.kind == "task.reused") {
      outputs = output_ids(payload);
      for (auto& id : outputs)
        add_unique(producers_[id], p.id);
    }
    // The task is among the subjects, with its inputs and outputs (and, for
    // task.reused, the task it took from): every subject but the outputs
    // and that task maps to this packet; only task ids are looked up.
    std::string reused_from;
    if (auto* r = payload.find("reused_from"); r && r->is_string())
      reused_from = r->as_string();
    for (auto& s : p.subjects)
      if (s != reused_from
          && std::find(outputs.begin(), outputs.end(), s) == outputs.end())
        ended_[s] = p.id;
  }
  if (!p.trace_id.empty()) {
    auto at = contracts::parse_timestamp(p.at);
    if (at) {
      auto ms = at->time_since_epoch().count();
      auto [i, fresh] = traces_.try_emplace(p.trace_id);
      if (!fresh && ms < i->second.at_ms)
        steps_.push_back(time_step{p.trace_id, i->second.packet, i->second.at,
                                   p.id, p.at});
      i->second = trace_last{ms, p.at, p.id};
    }
  }
}

const std::vector<std::string>&
lineage_digest::producers(std::string_view asset_id) const {
  auto i = producers_.find(std::string{asset_id});
  return i == producers_.end() ? no_ids : i->second;
}

std::string lineage_digest::ended_by(std::string_view task_id) const {
  auto i = ended_.find(std::string{task_id});
  return i == ended_.end() ? std::string{} : i->second;
}

std::string lineage_digest::deleted_by(std::string_view asset_id) const {
  auto i = deleted_.find(std::string{asset_id});
  return i == deleted_.end() ? std::string{} : i->second;
}

// -- the checks -------------------------------------------------------------------------

std::vector<conflict_resolution>
check_available_without_producer(const state_snapshot& state,
                                 const lineage_digest& log) {
  std::vector<conflict_resolution> out;
  for (auto& a : state.assets) {
    if (a.status != asset_status::available || !log.producers(a.asset_id).empty())
      continue;
    std::vector<std::string> affected{a.asset_id};
    add_unique(affected, a.produced_by);
    out.push_back(finding(
      available_without_producer, std::move(affected), {},
      "asset " + a.asset_id
        + " is AVAILABLE but no packet produced it (no asset.registered, "
          "task.succeeded or task.reused names it)"));
  }
  sort_findings(out);
  return out;
}

std::vector<conflict_resolution>
check_two_producers(const state_snapshot& state, const lineage_digest& log) {
  // Who claims each asset: the task rows listing it among their outputs and
  // the asset row's `produced_by`.
  std::map<std::string, std::set<std::string>> claims;
  for (auto& t : state.tasks)
    for (auto& [key, id] : t.outputs)
      claims[id].insert(t.task_id);
  for (auto& a : state.assets) {
    auto& c = claims[a.asset_id];
    if (!a.produced_by.empty())
      c.insert(a.produced_by);
  }
  std::vector<conflict_resolution> out;
  for (auto& [asset_id, tasks] : claims) {
    auto& packets = log.producers(asset_id);
    if (packets.size() < 2 && tasks.size() < 2)
      continue;
    std::vector<std::string> affected{asset_id};
    affected.insert(affected.end(), tasks.begin(), tasks.end());
    std::string why = packets.size() >= 2
                        ? std::to_string(packets.size()) + " packets produced it"
                        : std::string{};
    if (tasks.size() >= 2)
      why += (why.empty() ? "" : " and ") + std::to_string(tasks.size())
             + " tasks claim it as their output";
    out.push_back(finding(two_producers, std::move(affected), packets,
                          "asset " + asset_id + " has two producers: " + why));
  }
  sort_findings(out);
  return out;
}

std::vector<conflict_resolution>
check_done_with_missing_outputs(const state_snapshot& state,
                                const lineage_digest& log) {
  std::unordered_map<std::string, const asset_record*> assets;
  for (auto& a : state.assets)
    assets.emplace(a.asset_id, &a);
  std::vector<conflict_resolution> out;
  for (auto& t : state.tasks) {
    if (t.status != task_status::done)
      continue;
    std::vector<std::string> missing;
    std::vector<std::string> evidence;
    add_unique(evidence, log.ended_by(t.task_id));
    std::string what;
    for (auto& [key, id] : t.outputs) {
      auto i = assets.find(id);
      std::string state_text;
      if (i == assets.end()) {
        if (!log.deleted_by(id).empty())
          continue; // an operator deleted it
        state_text = "has no row";
      } else if (i->second->status == asset_status::available
                 || i->second->status == asset_status::purged) {
        continue;
      } else {
        state_text = "is " + status_text(i->second->status);
      }
      missing.push_back(id);
      for (auto& p : log.producers(id))
        add_unique(evidence, p);
      what += (what.empty() ? "" : "; ") + std::string{"output '"} + key
              + "' (asset " + id + ") " + state_text;
    }
    if (missing.empty())
      continue;
    std::sort(missing.begin(), missing.end());
    std::vector<std::string> affected{t.task_id};
    affected.insert(affected.end(), missing.begin(), missing.end());
    out.push_back(finding(done_with_missing_outputs, std::move(affected),
                          std::move(evidence),
                          "task " + t.task_id + " is DONE but " + what));
  }
  sort_findings(out);
  return out;
}

std::vector<conflict_resolution>
check_hold_on_finished_task(const state_snapshot& state,
                            const lineage_digest& log) {
  std::unordered_map<std::string, const task_record*> tasks;
  for (auto& t : state.tasks)
    tasks.emplace(t.task_id, &t);
  std::vector<conflict_resolution> out;
  for (auto& h : state.holds) {
    auto i = tasks.find(h.task_id);
    std::string message;
    if (i == tasks.end())
      message = "asset " + h.asset_id + " is held by task " + h.task_id
                + ", which does not exist";
    else if (contracts::is_terminal(i->second->status))
      message = "task " + h.task_id + " is "
                + std::string{contracts::to_string(i->second->status)}
                + " but still holds asset " + h.asset_id;
    else
      continue;
    std::vector<std::string> evidence;
    add_unique(evidence, log.ended_by(h.task_id));
    out.push_back(finding(hold_on_finished_task, {h.task_id, h.asset_id},
                          std::move(evidence), std::move(message)));
  }
  sort_findings(out);
  return out;
}

std::vector<conflict_resolution> check_time_backwards(const lineage_digest& log) {
  std::vector<conflict_resolution> out;
  for (auto& s : log.backward_steps())
    out.push_back(finding(time_backwards, {s.trace_id},
                          {s.before_packet, s.packet},
                          "in trace " + s.trace_id + ", packet " + s.packet
                            + " (" + s.at + ") is earlier than the packet "
                            + s.before_packet + " before it (" + s.before_at
                            + ")"));
  sort_findings(out);
  return out;
}

std::vector<conflict_resolution> run_checks(const state_snapshot& state,
                                            const lineage_digest& log) {
  std::vector<conflict_resolution> out;
  auto take = [&out](std::vector<conflict_resolution> xs) {
    std::move(xs.begin(), xs.end(), std::back_inserter(out));
  };
  take(check_available_without_producer(state, log));
  take(check_two_producers(state, log));
  take(check_done_with_missing_outputs(state, log));
  take(check_hold_on_finished_task(state, log));
  take(check_time_backwards(log));
  return out;
}

// -- the record of an audit ---------------------------------------------------------------

json::value audit_payload(const contracts::audit_report& report) {
  json::value out{json::object{}};
  out.set("advice", "audit");
  auto body = contracts::to_json(report);
  for (auto& [key, v] : body.as_object())
    if (key != "packet_id")
      out.set(key, v);
  return out;
}

namespace {

std::string text_of(const json::value& x, std::string_view key) {
  auto* v = x.find(key);
  return v && v->is_string() ? v->as_string() : std::string{};
}

uint64_t count_of(const json::value& x, std::string_view key) {
  auto* v = x.find(key);
  auto n = v ? v->as_int64() : std::nullopt;
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}

std::vector<std::string> strings_of(const json::value& x, std::string_view key) {
  std::vector<std::string> out;
  if (auto* v = x.find(key); v && v->is_array())
    for (auto& s : v->as_array())
      if (s.is_string())
        out.push_back(s.as_string());
  return out;
}

} // namespace

std::optional<contracts::audit_report>
audit_from_packet(const contracts::packet& p) {
  if (p.kind != "advice.paradox")
    return std::nullopt;
  auto parsed = json::parse(p.payload);
  if (!parsed || !parsed.doc->is_object())
    return std::nullopt;
  auto& x = *parsed.doc;
  if (text_of(x, "advice") != "audit")
    return std::nullopt;
  contracts::audit_report r;
  r.audit_id = text_of(x, "audit_id");
  if (r.audit_id.empty())
    return std::nullopt;
  r.started_at = text_of(x, "started_at");
  r.finished_at = text_of(x, "finished_at");
  r.tasks_checked = count_of(x, "tasks_checked");
  r.assets_checked = count_of(x, "assets_checked");
  r.packets_checked = count_of(x, "packets_checked");
  r.requested_by = text_of(x, "requested_by");
  if (auto* fs = x.find("findings"); fs && fs->is_array())
    for (auto& f : fs->as_array()) {
      if (!f.is_object())
        continue;
      conflict_resolution c;
      c.check = text_of(f, "check");
      c.severity = text_of(f, "severity");
      c.action = text_of(f, "action");
      c.affected = strings_of(f, "affected");
      c.evidence = strings_of(f, "evidence");
      c.message = text_of(f, "message");
      r.findings.push_back(std::move(c));
    }
  r.packet_id = p.id;
  return r;
}

} // namespace omniva::audit
