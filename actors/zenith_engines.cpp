// Zenith and the advisory engines (docs/engines.md): what Zenith asks
// Paradox, Lattice and Eclipse, and how it records their advice, decides,
// and commits. Part of zenith_state (actors/zenith.hpp); the rest of Zenith
// is in actors/zenith.cpp.

#include "actors/zenith.hpp"

#include "contracts/registry_store.hpp"
#include "contracts/status.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

namespace omniva::actors {

using contracts::asset_record;
using contracts::asset_status;
using contracts::ec;
using contracts::make_error;
using contracts::task_record;
using contracts::task_status;

namespace {

int64_t epoch_ms(contracts::timestamp t) {
  return t.time_since_epoch().count();
}

bool ended_unsuccessfully(task_status s) {
  return s == task_status::error || s == task_status::cancelled
         || s == task_status::skipped;
}

json::value decision_entry(const std::string& task_id, std::string decision) {
  json::value d{json::object{}};
  d.set("task_id", task_id);
  d.set("decision", std::move(decision));
  return d;
}

/// What Eclipse (or an operator) should do if carrying out a decision of
/// kind `decision` fails: the `rollback` of decision.zenith, by kind.
std::string_view rollback_for(std::string_view decision) {
  if (decision == "ready" || decision == "wait" || decision == "run")
    return "if it cannot run, Eclipse plans from its failure";
  if (decision == "reuse")
    return "if its outputs cannot be bound, the task runs itself";
  if (decision == "reuse_wait")
    return "if the identical task does not succeed, this one runs itself";
  if (decision == "skip")
    return "an operator may run it anyway: omniva task retry";
  if (decision == "retry")
    return "if the retry cannot start or fails, Eclipse plans again from that "
           "failure";
  if (decision == "fail" || decision == "poison")
    return "none automatic: an operator may retry it (omniva task retry)";
  if (decision == "quarantine")
    return "release it with omniva quarantine rm, or the probe after the "
           "cool-down closes it";
  if (decision == "release")
    return "if it fails again the breaker counts from zero and opens at the "
           "threshold";
  if (decision == "probe")
    return "if the probe fails the quarantine opens again";
  return "none";
}

/// The `rollback` member of a decision over `decisions` (each with a
/// `decision`): the rollback of each kind present, once, by kind.
json::value rollbacks(const json::array& decisions) {
  json::value out{json::object{}};
  for (auto& d : decisions)
    if (auto* kind = d.find("decision"); kind != nullptr && kind->is_string()
                                         && out.find(kind->as_string()) == nullptr)
      out.set(kind->as_string(), std::string{rollback_for(kind->as_string())});
  return out;
}

} // namespace

// -- small parts ------------------------------------------------------------------------

std::string zenith_state::batch_trace(const std::vector<std::string>& task_ids) {
  std::string trace;
  for (auto& id : task_ids) {
    auto t = tasks.find(id);
    if (t == tasks.end())
      continue;
    if (trace.empty())
      trace = t->second.trace_id;
    else if (trace != t->second.trace_id)
      return ids->next_uuid();
  }
  return trace.empty() ? ids->next_uuid() : trace;
}

bool zenith_state::inputs_available(const task_record& t) const {
  return std::all_of(t.input_mapping.begin(), t.input_mapping.end(),
                     [this](auto& kv) {
                       auto a = assets.find(kv.second);
                       return a != assets.end()
                              && a->second.status == asset_status::available;
                     });
}

contracts::policy_entry zenith_state::policy_of(const task_record& t) const {
  auto m = modules.find(t.module_ref);
  auto ref = m == modules.end() ? std::string{contracts::default_policy_ref}
                                : m->second.contract.policy_ref();
  if (auto p = policies.find(ref); p != policies.end())
    return p->second;
  if (auto p = policies.find(std::string{contracts::default_policy_ref});
      p != policies.end())
    return p->second;
  return contracts::default_policy();
}

void zenith_state::ask_route(const task_record& t) {
  auto m = modules.find(t.module_ref);
  if (m == modules.end() || !routing.insert(t.task_id).second)
    return;
  contracts::route_request r;
  r.task_id = t.task_id;
  r.module_ref = t.module_ref;
  r.resources = m->second.contract.resources;
  r.priority = t.priority;
  if (auto d = route_deltas.find(t.task_id); d != route_deltas.end()) {
    r.priority_delta = d->second;
    route_deltas.erase(d);
  }
  r.ready_at_ms = epoch_ms(clock->now());
  if (auto a = avoid_pool.find(t.task_id); a != avoid_pool.end())
    r.avoid_pool = a->second;
  effects.routes.push_back(std::move(r));
}

void zenith_state::enqueue(task_record& t, const contracts::route_directive& d) {
  unroutable.erase(t.task_id);
  if (d.pool.empty() || free_slots.count(d.pool) == 0) {
    // No pool may take it now (every one that fits is quarantined): it
    // waits, and is routed again when a quarantine ends.
    unroutable.insert(t.task_id);
    return;
  }
  queue_key key{d.rank, queue_order++, t.task_id};
  queues[d.pool].insert(key);
  queued[t.task_id] = queued_task{d.pool, key, d};
}

std::vector<contracts::pool_view> zenith_state::pool_views() const {
  std::vector<contracts::pool_view> out;
  out.reserve(config.pools.size());
  for (auto& p : config.pools) {
    contracts::pool_view v;
    v.spec = p;
    if (auto f = free_slots.find(p.name); f != free_slots.end())
      v.free = f->second;
    if (auto q = queues.find(p.name); q != queues.end())
      v.queued = static_cast<uint32_t>(q->second.size());
    if (auto q = quarantines.find(contracts::pool_target(p.name));
        q != quarantines.end())
      v.quarantine = q->second.state;
    out.push_back(std::move(v));
  }
  return out;
}

void zenith_state::put_quarantine(const contracts::quarantine_record& q,
                                  size_t packet) {
  batch.put(storage::table::quarantines, q.target,
            json::serialize(contracts::to_json(q)), packet);
}

caf::error zenith_state::recover_quarantines() {
  auto rows = db->read->scan(storage::table::quarantines, "");
  if (!rows)
    return rows.error();
  for (auto& [target, text] : *rows) {
    auto doc = json::parse(text);
    std::vector<contracts::problem> problems;
    auto q = doc ? contracts::quarantine_record_from_json(*doc.doc, problems)
                 : std::nullopt;
    if (!q)
      return make_error(ec::corruption,
                        "the quarantine row '" + target + "' does not read");
    if (q->state == "half_open")
      q->probe_task.clear(); // its probe died with the node: another goes
    if (q->state == "open" && !q->probe_at.empty())
      if (auto when = contracts::parse_timestamp(q->probe_at))
        cooldowns.emplace(*when, q->target);
    // Eclipse starts with empty breakers: tell it what holds.
    effects.breaker_notes.emplace_back(q->target, q->state);
    quarantines[q->target] = std::move(*q);
  }
  return caf::none;
}

void zenith_state::reroute_pool(const std::string& pool) {
  auto q = queues.find(pool);
  if (q == queues.end())
    return;
  auto held = std::move(q->second);
  q->second.clear();
  for (auto& key : held) {
    auto id = std::get<2>(key);
    queued.erase(id);
    if (auto t = tasks.find(id); t != tasks.end()
                                 && t->second.status == task_status::ready)
      ask_route(t->second);
  }
}

void zenith_state::reroute_unroutable() {
  auto held = std::move(unroutable);
  unroutable.clear();
  for (auto& id : held)
    if (auto t = tasks.find(id); t != tasks.end()
                                 && t->second.status == task_status::ready)
      ask_route(t->second);
}

void zenith_state::schedule_due(contracts::timestamp when) {
  if (next_due && *next_due <= when)
    return;
  next_due = when;
  if (self == nullptr)
    return; // the state tests call on_due themselves
  auto delay = when - clock->now();
  if (delay.count() < 0)
    delay = delay.zero();
  self->delayed_send(self, std::chrono::milliseconds{delay.count()},
                     atom::due_v);
}

// -- Paradox --------------------------------------------------------------------------------

void zenith_state::on_paradox_advice(const contracts::paradox_advice& a) {
  std::vector<const contracts::clearance_advice*> items;
  std::vector<std::string> ids;
  for (auto& item : a.items) {
    if (clearing.erase(item.task_id) == 0)
      continue; // ended (cancelled) while Paradox looked, or not asked
    auto t = tasks.find(item.task_id);
    if (t == tasks.end() || t->second.status != task_status::pending
        || t->second.cleared)
      continue;
    items.push_back(&item);
    ids.push_back(item.task_id);
  }
  if (items.empty())
    return;
  auto trace = batch_trace(ids);
  json::array advised;
  advised.reserve(items.size());
  for (auto* item : items) {
    json::value x{json::object{}};
    x.set("task_id", item->task_id);
    x.set("action", item->action);
    if (!item->duplicate_of.empty()) {
      x.set("duplicate_of", item->duplicate_of);
      x.set("key", item->key);
    }
    advised.push_back(std::move(x));
  }
  json::value advice_payload{json::object{}};
  advice_payload.set("advice", "clearance");
  advice_payload.set("items", json::value{std::move(advised)});
  // Parents: each task's packet so far (its `task.created`), so that a
  // walk up from a dispatch reaches the inputs the task was created on.
  auto advice = add_packet_as("advice.paradox", "paradox", ids, ids,
                              std::move(advice_payload), trace, false);
  // Decide, then record the decision, then carry it out (the rows are
  // justified by the decision, which names every task).
  struct verdict {
    task_record* t;
    std::string decision;
    const task_record* other = nullptr;
  };
  std::vector<verdict> verdicts;
  json::array decisions;
  for (auto* item : items) {
    auto& t = tasks[item->task_id];
    verdict v{&t, {}, nullptr};
    auto other = tasks.find(item->duplicate_of);
    bool other_failed = other == tasks.end()
                        || ended_unsuccessfully(other->second.status);
    if (item->action == "reuse" && !other_failed) {
      v.other = &other->second;
      bool outputs_there = std::all_of(
        other->second.outputs.begin(), other->second.outputs.end(),
        [this](auto& kv) {
          auto x = assets.find(kv.second);
          return x != assets.end() && x->second.status == asset_status::available;
        });
      if (other->second.status == task_status::done && !outputs_there) {
        v.decision = "run"; // its outputs were purged or deleted
        v.other = nullptr;
      } else {
        v.decision = other->second.status == task_status::done ? "reuse"
                                                               : "reuse_wait";
      }
    } else if (item->action == "block" && !other_failed) {
      v.decision = "skip";
      v.other = &other->second;
    } else if (item->action == "reuse" || item->action == "block") {
      v.decision = "run"; // the identical task did not succeed
    } else {
      v.decision = inputs_available(t) ? "ready" : "wait";
    }
    auto entry = decision_entry(t.task_id, v.decision);
    if (v.other != nullptr)
      entry.set(v.decision == "skip" ? "duplicate_of" : "reused_from",
                v.other->task_id);
    else if (v.decision == "run")
      entry.set("duplicate_of", item->duplicate_of);
    decisions.push_back(std::move(entry));
    verdicts.push_back(std::move(v));
  }
  json::value payload{json::object{}};
  payload.set("engine", "paradox");
  payload.set("rollback", rollbacks(decisions));
  payload.set("decisions", json::value{std::move(decisions)});
  auto decision = add_packet_as("decision.zenith", "zenith", ids, {},
                                std::move(payload), trace, true, {advice});
  for (auto& v : verdicts) {
    auto& t = *v.t;
    t.updated_at = now();
    if (v.decision == "reuse") {
      bind_reuse(t, *v.other);
    } else if (v.decision == "reuse_wait") {
      reuse_waiting[v.other->task_id].push_back(t.task_id);
    } else if (v.decision == "skip") {
      skip_task(t, v.other->task_id);
    } else {
      t.cleared = true;
      if (inputs_available(t))
        make_ready(t);
      put_task(t, decision);
    }
  }
}

void zenith_state::bind_reuse(task_record& t, const task_record& from) {
  unready(t.task_id);
  t.status = task_status::done;
  t.cleared = true;
  t.reused_from = from.task_id;
  t.error.reset();
  t.updated_at = now();
  release_holds(t);
  batch_ended.push_back(t.task_id);
  auto subjects = subjects_of(t);
  subjects.push_back(from.task_id);
  json::value outputs{json::object{}};
  for (auto& [key, id] : t.outputs) {
    auto src = from.outputs.find(key);
    if (src == from.outputs.end())
      continue;
    auto& s = assets[src->second];
    auto& a = assets[id];
    a.status = asset_status::available;
    a.uri = s.uri;
    a.value_json = s.value_json;
    a.sha256 = s.sha256;
    a.size = s.size;
    a.media_type = s.media_type;
    outputs.set(key, json::object{{"asset_id", id}, {"sha256", s.sha256},
                                  {"from", s.asset_id}});
  }
  json::value payload{json::object{}};
  payload.set("reused_from", from.task_id);
  payload.set("outputs", std::move(outputs));
  auto packet = add_packet("task.reused", subjects, {t.task_id, from.task_id},
                           std::move(payload), t.trace_id);
  put_task(t, packet);
  for (auto& [key, id] : t.input_mapping)
    batch.erase(storage::table::holds, storage::hold_key(id, t.task_id),
                packet);
  for (auto& [key, id] : t.outputs) {
    put_asset(assets[id], packet);
    wake_waiting(id);
  }
}

void zenith_state::skip_task(task_record& t, const std::string& of) {
  unready(t.task_id);
  t.status = task_status::skipped;
  t.cleared = true;
  t.duplicate_of = of;
  t.error = contracts::task_error{
    std::string{contracts::to_string(ec::duplicate_blocked)},
    "identical to task " + of + ", and its module blocks duplicates", false,
    {}};
  t.updated_at = now();
  release_holds(t);
  batch_ended.push_back(t.task_id);
  auto packet = add_packet(
    "task.skipped", subjects_of(t), {t.task_id},
    json::object{{"duplicate_of", of},
                 {"code", std::string{contracts::to_string(ec::duplicate_blocked)}}},
    t.trace_id);
  release_reusers(t.task_id);
  end_task(t, packet, ec::upstream_failed,
           upstream_reason(t, ec::duplicate_blocked));
}

void zenith_state::release_reusers(const std::string& id) {
  auto w = reuse_waiting.find(id);
  if (w == reuse_waiting.end())
    return;
  auto reusers = std::move(w->second);
  reuse_waiting.erase(w);
  std::vector<std::string> live;
  json::array decisions;
  for (auto& r : reusers) {
    auto t = tasks.find(r);
    if (t == tasks.end() || t->second.status != task_status::pending
        || t->second.cleared)
      continue;
    live.push_back(r);
    auto entry = decision_entry(r, "run");
    entry.set("duplicate_of", id);
    decisions.push_back(std::move(entry));
  }
  if (live.empty())
    return;
  auto parents = live;
  parents.push_back(id);
  json::value payload{json::object{}};
  payload.set("engine", "paradox");
  payload.set("rollback", rollbacks(decisions));
  payload.set("decisions", json::value{std::move(decisions)});
  payload.set("reason", "the identical task " + id
                          + " did not succeed: these run themselves");
  auto packet = add_packet_as("decision.zenith", "zenith", live, parents,
                              std::move(payload), batch_trace(live), true);
  for (auto& r : live) {
    auto& t = tasks[r];
    t.cleared = true;
    t.updated_at = now();
    if (inputs_available(t))
      make_ready(t);
    put_task(t, packet);
  }
}

// -- Lattice ---------------------------------------------------------------------------------

void zenith_state::on_lattice_advice(const contracts::lattice_advice& a) {
  std::vector<const contracts::route_directive*> items;
  std::vector<std::string> ids;
  for (auto& d : a.routes) {
    if (routing.erase(d.task_id) == 0)
      continue; // ended, or routed again since
    auto t = tasks.find(d.task_id);
    if (t == tasks.end())
      continue;
    auto s = t->second.status;
    if ((s == task_status::ready && queued.count(d.task_id) == 0)
        || s == task_status::pending) {
      items.push_back(&d);
      ids.push_back(d.task_id);
    }
  }
  if (items.empty())
    return;
  json::array routes;
  routes.reserve(items.size());
  for (auto* d : items) {
    json::value x{json::object{}};
    x.set("task_id", d->task_id);
    x.set("pool", d->pool);
    x.set("score", d->score);
    x.set("rank", d->rank);
    x.set("routing_sequence", static_cast<int64_t>(d->routing_sequence));
    if (!d->discarded.empty()) {
      json::array discarded;
      for (auto& r : d->discarded)
        discarded.push_back(json::object{
          {"pool", r.pool}, {"reason", r.reason}, {"score", r.score}});
      x.set("discarded", json::value{std::move(discarded)});
    }
    routes.push_back(std::move(x));
  }
  auto advice = add_packet_as("advice.lattice", "lattice", ids, ids,
                              json::object{{"routes", json::value{std::move(routes)}}},
                              batch_trace(ids), false);
  for (auto* d : items) {
    // The dispatch cites this advice (see dispatch_ready).
    batch_last["route:" + d->task_id] = advice;
    auto& t = tasks[d->task_id];
    if (t.status == task_status::ready)
      enqueue(t, *d);
    else
      early_routes[d->task_id] = *d; // cleared later: used then
  }
}

// -- Eclipse ---------------------------------------------------------------------------------

void zenith_state::attempt_failed(task_record& t, std::string code,
                                  std::string message, bool transient,
                                  std::string pointer, bool lost) {
  t.error = contracts::task_error{code, message, transient, pointer};
  t.updated_at = now();
  json::value payload{json::object{}};
  payload.set("attempt", static_cast<int64_t>(t.attempt));
  payload.set("code", code);
  payload.set("message", message);
  payload.set("transient", transient);
  if (!pointer.empty())
    payload.set("pointer", pointer);
  if (lost)
    payload.set("lost", true);
  auto packet = add_packet("task.attempt_failed", {t.task_id}, {t.task_id},
                           std::move(payload), t.trace_id);
  put_task(t, packet);
  contracts::attempt_report rep;
  rep.task_id = t.task_id;
  rep.module_ref = t.module_ref;
  rep.pool = t.pool;
  rep.attempt = t.attempt;
  rep.code = std::move(code);
  rep.message = std::move(message);
  rep.transient = transient;
  rep.lost_attempts = t.lost_attempts;
  rep.policy = policy_of(t);
  if (auto p = probe_of.find(t.task_id); p != probe_of.end()) {
    rep.probe = true;
    probe_of.erase(p);
  }
  avoid_pool[t.task_id] = t.pool;
  failing.insert(contracts::module_target(rep.module_ref));
  failing.insert(contracts::pool_target(rep.pool));
  awaiting_plan[t.task_id] = rep;
  effects.reports.push_back(std::move(rep));
}

void zenith_state::on_eclipse_advice(const contracts::eclipse_advice& a) {
  std::vector<const contracts::retry_plan*> plans;
  for (auto& p : a.plans) {
    auto w = awaiting_plan.find(p.task_id);
    if (w == awaiting_plan.end() || w->second.attempt != p.attempt)
      continue; // cancelled meanwhile, or a plan for an older attempt
    plans.push_back(&p);
  }
  std::vector<const contracts::breaker_advice*> breakers;
  for (auto& b : a.breakers) {
    auto q = quarantines.find(b.target);
    bool operators = q != quarantines.end() && q->second.by != "eclipse";
    if (!operators && contracts::is_quarantine_target(b.target))
      breakers.push_back(&b); // an operator's quarantine is theirs to end
  }
  if (plans.empty() && breakers.empty())
    return;
  std::vector<std::string> subjects;
  std::vector<std::string> task_ids;
  for (auto* p : plans) {
    subjects.push_back(p->task_id);
    task_ids.push_back(p->task_id);
  }
  for (auto* b : breakers)
    if (std::find(subjects.begin(), subjects.end(), b->target) == subjects.end())
      subjects.push_back(b->target);
  auto trace = batch_trace(task_ids);
  json::array plan_docs;
  for (auto* p : plans) {
    json::value x{json::object{}};
    x.set("task_id", p->task_id);
    x.set("attempt", static_cast<int64_t>(p->attempt));
    x.set("failure_class", p->failure_class);
    x.set("action", p->action);
    x.set("code", p->code);
    x.set("delay_ms", static_cast<int64_t>(p->delay_ms));
    if (!p->avoid_pool.empty())
      x.set("avoid_pool", p->avoid_pool);
    x.set("reason", p->reason);
    plan_docs.push_back(std::move(x));
  }
  json::array breaker_docs;
  for (auto* b : breakers)
    breaker_docs.push_back(json::object{
      {"target", b->target},
      {"state", b->state},
      {"failures", static_cast<int64_t>(b->failures)},
      {"cooldown_ms", static_cast<int64_t>(b->cooldown_ms)},
      {"reason", b->reason}});
  // The advice cites the failed attempts it plans for (the tasks' last
  // packets: their task.attempt_failed).
  auto advice = add_packet_as(
    "advice.eclipse", "eclipse", subjects, task_ids,
    json::object{{"plans", json::value{std::move(plan_docs)}},
                 {"breakers", json::value{std::move(breaker_docs)}}},
    trace, false);
  json::array decisions;
  for (auto* p : plans) {
    auto entry = decision_entry(p->task_id, p->action);
    entry.set("attempt", static_cast<int64_t>(p->attempt));
    if (p->action == "retry")
      entry.set("delay_ms", static_cast<int64_t>(p->delay_ms));
    decisions.push_back(std::move(entry));
  }
  for (auto* b : breakers) {
    json::value d{json::object{}};
    d.set("target", b->target);
    d.set("decision", b->state == "open"     ? "quarantine"
                      : b->state == "closed" ? "release"
                                             : "probe");
    decisions.push_back(std::move(d));
  }
  json::value payload{json::object{}};
  payload.set("engine", "eclipse");
  payload.set("rollback", rollbacks(decisions));
  payload.set("decisions", json::value{std::move(decisions)});
  auto decision = add_packet_as("decision.zenith", "zenith", subjects, {},
                                std::move(payload), trace, true, {advice});
  auto at = clock->now();
  for (auto* p : plans) {
    auto& t = tasks[p->task_id];
    awaiting_plan.erase(t.task_id);
    if (p->action == "retry") {
      std::string not_before;
      if (p->delay_ms > 0)
        not_before = contracts::format_timestamp(
          at + std::chrono::milliseconds{p->delay_ms});
      requeue(t, p->reason, not_before);
      t.cleared = true;
      if (not_before.empty()) {
        // Its inputs were AVAILABLE when it ran, and held since.
        make_ready(t);
        put_task(t, decision);
      } else {
        auto when = at + std::chrono::milliseconds{p->delay_ms};
        backoffs.emplace(when, t.task_id);
        schedule_due(when);
      }
      continue;
    }
    auto code = p->action == "poison"
                  ? std::string{contracts::to_string(ec::poison_task)}
                  : p->code;
    auto message = p->action == "poison" || !t.error ? p->reason
                                                     : t.error->message;
    bool transient = p->action != "poison" && t.error && t.error->transient;
    auto pointer = t.error && p->action != "poison" ? t.error->pointer
                                                    : std::string{};
    avoid_pool.erase(t.task_id);
    if (auto packet = mark_failed(t, code, message, transient, pointer))
      end_task(t, *packet, ec::upstream_failed,
               "an input of this task failed: task " + t.task_id + " ("
                 + code + ")");
  }
  for (auto* b : breakers) {
    if (b->state == "open") {
      contracts::quarantine_record q;
      q.target = b->target;
      q.state = "open";
      q.by = "eclipse";
      q.reason = b->reason;
      q.since = contracts::format_timestamp(at);
      q.failures = b->failures;
      auto when = at + std::chrono::milliseconds{b->cooldown_ms};
      q.probe_at = contracts::format_timestamp(when);
      put_quarantine(q, decision);
      quarantines[q.target] = q;
      cooldowns.emplace(when, q.target);
      schedule_due(when);
      spdlog::warn("zenith: quarantined {} on Eclipse's advice: {}", q.target,
                   q.reason);
      if (q.target.starts_with("pool:"))
        reroute_pool(q.target.substr(5));
    } else if (b->state == "closed") {
      if (quarantines.erase(b->target) > 0) {
        batch.erase(storage::table::quarantines, b->target, decision);
        spdlog::info("zenith: released {} (Eclipse: {})", b->target, b->reason);
        reroute_unroutable();
      }
    }
  }
}

void zenith_state::on_due() {
  auto at = clock->now();
  next_due.reset();
  fire_triggers();
  expire_leases();
  while (!backoffs.empty() && backoffs.begin()->first <= at) {
    auto id = backoffs.begin()->second;
    backoffs.erase(backoffs.begin());
    auto found = tasks.find(id);
    if (found == tasks.end() || found->second.status != task_status::pending
        || !found->second.cleared || found->second.not_before.empty())
      continue;
    auto& t = found->second;
    auto until = contracts::parse_timestamp(t.not_before);
    if (until && *until > at) {
      backoffs.emplace(*until, id); // retried again since, with a later time
      continue;
    }
    t.not_before.clear();
    t.updated_at = now();
    if (!inputs_available(t)) {
      put_task(t, add_packet("task.ready", {t.task_id}, {t.task_id},
                             json::object{{"reason", "backoff over"},
                                          {"waiting", true}},
                             t.trace_id));
      continue;
    }
    make_ready(t);
    auto packet = add_packet("task.ready", {t.task_id}, {t.task_id},
                             json::object{{"reason", "backoff over"}},
                             t.trace_id);
    put_task(t, packet);
  }
  while (!cooldowns.empty() && cooldowns.begin()->first <= at) {
    auto target = cooldowns.begin()->second;
    cooldowns.erase(cooldowns.begin());
    auto q = quarantines.find(target);
    if (q == quarantines.end() || q->second.state != "open"
        || q->second.by != "eclipse")
      continue;
    auto until = contracts::parse_timestamp(q->second.probe_at);
    if (until && *until > at)
      continue;
    q->second.state = "half_open";
    q->second.probe_task.clear();
    json::value d{json::object{}};
    d.set("target", target);
    d.set("decision", "probe");
    json::array decisions;
    decisions.push_back(std::move(d));
    json::value payload{json::object{}};
    payload.set("engine", "eclipse");
    payload.set("rollback", rollbacks(decisions));
    payload.set("decisions", json::value{std::move(decisions)});
    payload.set("reason", "the cool-down is over: one probe may go");
    auto packet = add_packet_as("decision.zenith", "zenith", {target},
                                {target}, std::move(payload),
                                ids->next_uuid(), true);
    put_quarantine(q->second, packet);
    effects.breaker_notes.emplace_back(target, "half_open");
    if (target.starts_with("pool:"))
      reroute_unroutable();
  }
  if (!backoffs.empty())
    schedule_due(backoffs.begin()->first);
  if (!cooldowns.empty())
    schedule_due(cooldowns.begin()->first);
}

// -- operators --------------------------------------------------------------------------------

caf::expected<contracts::quarantine_record>
zenith_state::change_quarantine(const contracts::quarantine_change& c) {
  if (!contracts::is_quarantine_target(c.target))
    return make_error(ec::invalid_argument,
                      "'" + c.target
                        + "' is not a quarantine target: module:<name@N> or "
                          "pool:<name>",
                      "/target");
  bool is_pool = c.target.starts_with("pool:");
  auto name = c.target.substr(is_pool ? 5 : 7);
  auto trace = ids->next_uuid();
  if (c.add) {
    if (is_pool ? free_slots.count(name) == 0 : modules.count(name) == 0)
      return make_error(ec::not_found,
                        is_pool ? "no pool " + name + " in this node"
                                : "no module " + name + " is registered",
                        "/target");
    contracts::quarantine_record q;
    if (auto old = quarantines.find(c.target); old != quarantines.end())
      q.failures = old->second.failures;
    q.target = c.target;
    q.state = "open";
    q.by = requester.empty() ? std::string{"operator"} : requester;
    q.reason = c.reason.empty() ? std::string{"quarantined by an operator"}
                                : c.reason;
    q.since = now();
    json::value payload{json::object{}};
    payload.set("action", "quarantine.add");
    payload.set("target", c.target);
    payload.set("reason", q.reason);
    auto packet = add_packet("operator.override", {c.target}, {c.target},
                             std::move(payload), trace);
    put_quarantine(q, packet);
    quarantines[c.target] = q;
    effects.breaker_notes.emplace_back(c.target, "open");
    if (is_pool)
      reroute_pool(name);
    return q;
  }
  auto found = quarantines.find(c.target);
  if (found == quarantines.end())
    return make_error(ec::not_found, "'" + c.target + "' is not quarantined",
                      "/target");
  auto removed = found->second;
  json::value payload{json::object{}};
  payload.set("action", "quarantine.remove");
  payload.set("target", c.target);
  if (!c.reason.empty())
    payload.set("reason", c.reason);
  auto packet = add_packet("operator.override", {c.target}, {c.target},
                           std::move(payload), trace);
  batch.erase(storage::table::quarantines, c.target, packet);
  quarantines.erase(found);
  effects.breaker_notes.emplace_back(c.target, "closed");
  reroute_unroutable();
  return removed;
}

caf::expected<task_record> zenith_state::retry(const std::string& task_id) {
  auto found = tasks.find(task_id);
  if (found == tasks.end())
    return make_error(ec::not_found, "no task " + task_id);
  auto& t = found->second;
  if (t.status != task_status::error && t.status != task_status::cancelled)
    return make_error(ec::illegal_transition,
                      "task " + task_id + " is "
                        + std::string{contracts::to_string(t.status)}
                        + ": only an ERROR or CANCELLED task can be retried",
                      "/status");
  for (auto& [key, asset_id] : t.input_mapping) {
    auto a = assets.find(asset_id);
    if (a == assets.end())
      return make_error(ec::illegal_transition,
                        "input '" + key + "' (asset " + asset_id
                          + ") is gone: the task cannot run again",
                        "/input_mapping/" + key);
    if (a->second.status == asset_status::failed)
      return make_error(ec::illegal_transition,
                        "input '" + key + "' (asset " + asset_id
                          + ") is FAILED: retry task " + a->second.produced_by
                          + ", which produces it",
                        "/input_mapping/" + key);
    if (a->second.status == asset_status::purged)
      return make_error(ec::illegal_transition,
                        "input '" + key + "' (asset " + asset_id
                          + ") was PURGED by retention: the task cannot run "
                            "again",
                        "/input_mapping/" + key);
  }
  add_packet("operator.override", {task_id}, {task_id},
             json::object{{"action", "task.retry"}, {"target", task_id}},
             t.trace_id);
  // What ended only because of a task: by its inputs, the ERROR tasks whose
  // error is upstream_failed or upstream_cancelled.
  std::unordered_map<std::string, std::vector<std::string>> consumers;
  for (auto& [id, x] : tasks)
    if (x.status == task_status::error && x.error
        && (x.error->code == contracts::to_string(ec::upstream_failed)
            || x.error->code == contracts::to_string(ec::upstream_cancelled)))
      for (auto& [key, in] : x.input_mapping)
        consumers[in].push_back(id);
  auto revive = [&](task_record& x, const std::string& because) {
    x.status = task_status::pending;
    x.attempt += 1;
    x.error.reset();
    x.not_before.clear();
    x.pool.clear();
    x.cleared = true;
    x.updated_at = now();
    if (because.empty())
      x.lost_attempts = 0; // an operator's fresh start
    json::value payload{json::object{}};
    payload.set("attempt", static_cast<int64_t>(x.attempt));
    if (!because.empty())
      payload.set("because", because);
    auto packet = add_packet(because.empty() ? "task.retried" : "task.revived",
                             subjects_of(x), {x.task_id}, std::move(payload),
                             x.trace_id);
    for (auto& [key, in] : x.input_mapping) {
      auto& a = assets[in];
      a.holds.push_back(x.task_id);
      batch.put(storage::table::holds, storage::hold_key(in, x.task_id),
                std::string{}, packet);
      if (a.status != asset_status::available)
        waiting[in].push_back(x.task_id);
    }
    for (auto& [key, out] : x.outputs) {
      auto& a = assets[out];
      if (a.status == asset_status::failed) {
        a.status = asset_status::pending;
        put_asset(a, packet);
      }
    }
    if (inputs_available(x))
      make_ready(x);
    put_task(x, packet);
  };
  revive(t, {});
  // Then, breadth first, what waited on its outputs.
  std::vector<std::string> frontier{task_id};
  std::unordered_set<std::string> seen{task_id};
  while (!frontier.empty()) {
    auto id = frontier.back();
    frontier.pop_back();
    for (auto& [key, out] : tasks[id].outputs) {
      auto c = consumers.find(out);
      if (c == consumers.end())
        continue;
      for (auto& dep_id : c->second) {
        if (!seen.insert(dep_id).second)
          continue;
        auto& dep = tasks[dep_id];
        if (dep.status != task_status::error)
          continue;
        // Only what ended because of this chain: every other input usable.
        bool usable = std::all_of(
          dep.input_mapping.begin(), dep.input_mapping.end(), [&](auto& kv) {
            auto a = assets.find(kv.second);
            return a != assets.end()
                   && (a->second.status == asset_status::available
                       || a->second.status == asset_status::pending);
          });
        if (!usable)
          continue;
        revive(dep, task_id); // `because`: the task the operator retried
        frontier.push_back(dep_id);
      }
    }
  }
  return tasks[task_id];
}

caf::expected<contracts::audit_report>
zenith_state::record_audit(contracts::audit_report report) {
  std::vector<std::string> subjects{"audits"};
  constexpr size_t max_subjects = 100; // a packet names at most this many
  for (auto& f : report.findings)
    for (auto& id : f.affected)
      if (subjects.size() < max_subjects
          && std::find(subjects.begin(), subjects.end(), id) == subjects.end()
          && id.find('\0') == std::string::npos)
        subjects.push_back(id);
  json::array findings;
  for (auto& f : report.findings)
    findings.push_back(contracts::to_json(f));
  json::value payload{json::object{}};
  payload.set("advice", "audit");
  payload.set("audit_id", report.audit_id);
  payload.set("requested_by", report.requested_by);
  payload.set("started_at", report.started_at);
  payload.set("finished_at", report.finished_at);
  payload.set("tasks_checked", static_cast<int64_t>(report.tasks_checked));
  payload.set("assets_checked", static_cast<int64_t>(report.assets_checked));
  payload.set("packets_checked", static_cast<int64_t>(report.packets_checked));
  payload.set("findings", json::value{std::move(findings)});
  auto packet = add_packet_as("advice.paradox", "paradox", subjects, {},
                              std::move(payload), ids->next_uuid(), false);
  // Its id is known once sealed: the reply reads it under this name.
  batch_last["audit:" + report.audit_id] = packet;
  return report;
}

// -- the actor's side ------------------------------------------------------------------------

void zenith_state::ask_engines(zenith_effects& fx) {
  if (self == nullptr)
    return; // the state tests play the engines
  if (!fx.clearances.empty() && engines.paradox)
    self
      ->request(engines.paradox, caf::infinite, atom::clear_v,
                std::move(fx.clearances))
      .then(
        [this](contracts::paradox_advice& a) {
          on_paradox_advice(a);
          schedule_flush();
        },
        [](caf::error& err) {
          spdlog::critical("zenith: Paradox did not clear a batch: {}",
                           error_text(err));
        });
  if (!fx.routes.empty() && engines.lattice) {
    contracts::route_batch b;
    b.tasks = std::move(fx.routes);
    b.pools = pool_views();
    self->request(engines.lattice, caf::infinite, atom::route_v, std::move(b))
      .then(
        [this](contracts::lattice_advice& a) {
          on_lattice_advice(a);
          schedule_flush();
        },
        [](caf::error& err) {
          spdlog::critical("zenith: Lattice did not route a batch: {}",
                           error_text(err));
        });
  }
  if (!fx.ballots.empty()) {
    if (!engines.pantheon)
      spdlog::critical("zenith: this node runs no Pantheon: {} fan-out(s) "
                       "selecting by \"pantheon\" wait", fx.ballots.size());
    for (auto& ballot : fx.ballots)
      if (engines.pantheon)
        self
          ->request(engines.pantheon, caf::infinite, atom::vote_v,
                    std::move(ballot))
          .then(
            [this](contracts::pantheon_advice& a) {
              on_pantheon_advice(a);
              schedule_flush();
            },
            [](caf::error& err) {
              spdlog::critical("zenith: Pantheon did not vote: {}",
                               error_text(err));
            });
    fx.ballots.clear();
  }
  if (!fx.reports.empty() && engines.eclipse)
    self
      ->request(engines.eclipse, caf::infinite, atom::report_v,
                std::move(fx.reports))
      .then(
        [this](contracts::eclipse_advice& a) {
          if (a.empty())
            return;
          on_eclipse_advice(a);
          schedule_flush();
        },
        [](caf::error& err) {
          spdlog::critical("zenith: Eclipse did not answer a report: {}",
                           error_text(err));
        });
  if (engines.eclipse)
    for (auto& [target, state] : fx.breaker_notes)
      self->send(engines.eclipse, atom::quarantine_v, target, state);
}

caf::result<contracts::audit_report>
zenith_state::handle_audit(const std::string& by) {
  if (!engines.paradox)
    return make_error(ec::storage_error, "this node runs no Paradox");
  auto promise = self->make_response_promise<contracts::audit_report>();
  self->request(engines.paradox, caf::infinite, atom::audit_v, by)
    .then(
      [this, promise, by](contracts::audit_report& r) mutable {
        auto recorded = on_behalf_of(by, [&] { return record_audit(std::move(r)); });
        if (!recorded) {
          promise.deliver(recorded.error());
          return;
        }
        effects.replies.push_back(
          [this, promise, value = std::move(*recorded)]() mutable {
            auto name = "audit:" + value.audit_id;
            if (auto i = last_packet.find(name); i != last_packet.end()) {
              value.packet_id = i->second;
              last_packet.erase(i);
            }
            promise.deliver(value);
          });
        effects.aborts.push_back(
          [promise](const caf::error& err) mutable { promise.deliver(err); });
        schedule_flush();
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

} // namespace omniva::actors
