// Zenith's limits (docs/policies.md): admission of READY tasks against
// budgets, quotas and leases and their contracts' admission predicates; the
// reservation taken at dispatch and settled with what the attempt cost;
// leases on write prefixes, renewed by heartbeats and expired when they are
// not; and the budgets and quotas operators create and change. Every change
// is a row of table `limits` written with the packet that justifies it.

#include "actors/zenith.hpp"

#include "contracts/predicate.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace omniva::actors {

using contracts::budget_record;
using contracts::ec;
using contracts::lease_record;
using contracts::predicate_kind;
using contracts::quota_record;
using contracts::task_record;
using contracts::task_status;

namespace {

int64_t to_ms(contracts::timestamp t) noexcept {
  return t.time_since_epoch().count();
}

contracts::timestamp from_ms(int64_t ms) noexcept {
  return contracts::timestamp{std::chrono::milliseconds{ms}};
}

std::string usd(int64_t micro) {
  // $1.25 for 1250000; a fraction of a cent keeps its digits.
  auto whole = micro / 1'000'000;
  auto frac = micro % 1'000'000;
  auto text = "$" + std::to_string(whole);
  if (frac == 0)
    return text;
  auto digits = std::to_string(frac);
  digits.insert(0, 6 - digits.size(), '0');
  while (digits.size() > 2 && digits.back() == '0')
    digits.pop_back();
  return text + "." + digits;
}

bool is_state_kind(predicate_kind k) noexcept {
  return k == predicate_kind::budget_available
         || k == predicate_kind::quota_available || k == predicate_kind::lease_free;
}

json::value args_of(const contracts::predicate_use& use) {
  auto parsed = json::parse(use.merged_args_json);
  return parsed && parsed.doc->is_object() ? std::move(*parsed.doc)
                                           : json::value{json::object{}};
}

std::string string_arg(const json::value& args, std::string_view key) {
  auto* v = args.find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string{};
}

std::optional<int64_t> int_arg(const json::value& args, std::string_view key) {
  auto* v = args.find(key);
  return v != nullptr && v->is_integral() ? v->as_int64() : std::nullopt;
}

} // namespace

// -- windows ------------------------------------------------------------------------

void zenith_state::roll_window(budget_record& b, int64_t now_ms) const {
  if (b.window_ms <= 0)
    return;
  auto start = contracts::window_start(now_ms, b.window_ms);
  if (start != b.window_start_ms) {
    b.window_start_ms = start;
    b.spent_usd_micro = 0; // a new window; reservations carry over
  }
}

void zenith_state::roll_window(quota_record& q, int64_t now_ms) const {
  auto start = contracts::window_start(now_ms, q.window_ms);
  if (start != q.window_start_ms) {
    q.window_start_ms = start;
    q.used_units = 0;
  }
}

// -- admission ----------------------------------------------------------------------

bool zenith_state::needs_admission(const task_record&,
                                   const contracts::module_entry& m) const {
  auto& c = m.contract;
  return !c.cost.empty() || !c.predicates.admission.empty() || !c.writes.empty();
}

std::vector<std::string>
zenith_state::scopes_of(const task_record& t, const contracts::module_entry& m) const {
  std::vector<std::string> out;
  auto add = [&](std::string s) {
    if (std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(std::move(s));
  };
  for (auto& use : m.contract.predicates.admission)
    if (use.kind == predicate_kind::budget_available)
      if (auto name = string_arg(args_of(use), "budget"); !name.empty())
        add("budget:" + name);
  if (!t.run_id.empty()) {
    if (auto r = runs.find(t.run_id); r != runs.end() && r->second.pipeline) {
      auto& p = *r->second.pipeline;
      if (!p.budget.empty())
        add("budget:" + p.budget);
      if (!p.policy.empty())
        if (auto pol = policies.find(p.policy);
            pol != policies.end() && pol->second.budget_max_usd_micro >= 0)
          add("run:" + t.run_id);
    }
  }
  return out;
}

budget_record* zenith_state::run_budget(const std::string& run_id) {
  auto subject = "run:" + run_id;
  if (auto b = budgets.find(subject); b != budgets.end())
    return &b->second;
  auto r = runs.find(run_id);
  if (r == runs.end() || !r->second.pipeline)
    return nullptr;
  auto pol = policies.find(r->second.pipeline->policy);
  if (pol == policies.end())
    return nullptr;
  budget_record b;
  b.subject = subject;
  b.max_usd_micro = pol->second.budget_max_usd_micro;
  b.description = "the cap of policy " + pol->first + " on run " + run_id;
  b.created_at = b.updated_at = now();
  return &budgets.emplace(subject, std::move(b)).first->second;
}

zenith_state::admission zenith_state::admit(const task_record& t,
                                            const contracts::module_entry& m) {
  admission a;
  auto& c = m.contract;
  auto at = clock->now();
  auto now_ms = to_ms(at);
  auto required = c.cost.worst_case(c.resources.timeout_s);
  bool budget_named = false;
  std::vector<std::string> lease_checks;
  bool lease_named = false;
  auto refuse = [&](ec code, std::string predicate, std::string saw,
                    bool fatal = false) {
    a.admitted = false;
    a.fatal = fatal;
    a.code = code;
    a.predicate = std::move(predicate);
    a.saw = std::move(saw);
  };
  auto pass = [&](const std::string& id, std::string saw) {
    a.verdicts.push_back(
      json::object{{"id", id}, {"passed", true}, {"saw", std::move(saw)}});
  };
  // The budgets: every scope must fit the cost.
  auto check_budgets = [&](const std::string& id) -> bool {
    for (auto& scope : a.taken.scopes) {
      budget_record* b = nullptr;
      if (scope.starts_with("run:")) {
        b = run_budget(scope.substr(4));
      } else if (auto i = budgets.find(scope); i != budgets.end()) {
        b = &i->second;
      }
      if (b == nullptr) {
        refuse(ec::budget_exhausted, id,
               "no budget named '" + scope.substr(7)
                 + "' exists (omniva budget create " + scope.substr(7)
                 + " --max-usd-micro N)");
        return false;
      }
      roll_window(*b, now_ms);
      if (b->max_usd_micro >= 0 && b->committed() + required > b->max_usd_micro) {
        auto what = scope.starts_with("run:") ? "run " + scope.substr(4) + "'s cap"
                                              : "budget '" + scope.substr(7) + "'";
        std::string saw = what + " has " + usd(b->spent_usd_micro) + " spent and "
                          + usd(b->reserved_usd_micro) + " reserved of "
                          + usd(b->max_usd_micro) + "; this task needs "
                          + usd(required);
        if (b->window_ms > 0) {
          auto reset = from_ms(b->window_start_ms + b->window_ms);
          saw += " (the window resets at " + contracts::format_timestamp(reset) + ")";
          limit_timers.emplace(reset, scope);
        }
        refuse(ec::budget_exhausted, id, std::move(saw));
        return false;
      }
    }
    return true;
  };
  auto check_leases = [&](const std::string& id,
                          const std::vector<std::string>& prefixes) -> bool {
    for (auto& p : prefixes)
      for (auto& [subject, l] : leases) {
        if (l.task_id == t.task_id || !contracts::prefixes_overlap(l.prefix(), p))
          continue;
        refuse(ec::lease_held, id,
               "'" + p + "'"
                 + (l.prefix() == p ? std::string{" is"}
                                    : " overlaps '" + std::string{l.prefix()} + "',")
                 + " leased by task " + l.task_id + " (attempt "
                 + std::to_string(l.attempt) + ") until "
                 + contracts::format_timestamp(from_ms(l.expires_ms)));
        return false;
      }
    return true;
  };
  a.taken.attempt = t.attempt;
  a.taken.cost = c.cost;
  a.taken.scopes = scopes_of(t, m);
  // What Zenith's state decides, first: it changes, the files do not.
  for (auto& use : c.predicates.admission) {
    if (!is_state_kind(use.kind))
      continue;
    auto args = args_of(use);
    switch (use.kind) {
      case predicate_kind::budget_available: {
        budget_named = true;
        if (auto r = int_arg(args, "required_usd_micro"))
          required = *r;
        if (!check_budgets(use.id))
          return a;
        pass(use.id, a.taken.scopes.empty()
                       ? usd(required) + " fits: no budget caps this task"
                       : usd(required) + " fits every cap");
        break;
      }
      case predicate_kind::quota_available: {
        auto name = string_arg(args, "quota");
        auto units = int_arg(args, "units").value_or(1);
        auto subject = "quota:" + name;
        auto q = quotas.find(subject);
        if (q == quotas.end()) {
          refuse(ec::quota_exhausted, use.id,
                 "no quota named '" + name + "' exists (omniva quota create "
                   + name + " --units N --window 1d)");
          return a;
        }
        roll_window(q->second, now_ms);
        if (units > q->second.units) {
          refuse(ec::quota_exceeded, use.id,
                 "this task needs " + std::to_string(units) + " units of quota '"
                   + name + "', more than the "
                   + std::to_string(q->second.units) + " a window has",
                 true);
          return a;
        }
        // Units already taken by this admission (two uses of one quota).
        int64_t taking = units;
        for (auto& [s, u] : a.quota_units)
          if (s == subject)
            taking += u;
        if (q->second.used_units + taking > q->second.units) {
          auto reset = from_ms(q->second.window_start_ms + q->second.window_ms);
          limit_timers.emplace(reset, subject);
          refuse(ec::quota_exhausted, use.id,
                 "quota '" + name + "' has " + std::to_string(q->second.used_units)
                   + " of " + std::to_string(q->second.units)
                   + " units used in this window; this task needs "
                   + std::to_string(units) + "; the window resets at "
                   + contracts::format_timestamp(reset));
          return a;
        }
        a.quota_units.emplace_back(subject, units);
        pass(use.id, std::to_string(units) + " of the "
                       + std::to_string(q->second.units - q->second.used_units)
                       + " units left of quota '" + name + "'");
        break;
      }
      case predicate_kind::lease_free: {
        lease_named = true;
        auto prefix = string_arg(args, "prefix");
        auto prefixes = prefix.empty() ? c.writes : std::vector<std::string>{prefix};
        if (!check_leases(use.id, prefixes))
          return a;
        pass(use.id, "no other attempt leases an overlapping prefix");
        break;
      }
      default:
        break;
    }
  }
  // What no predicate named but still holds: a run's cap and a pipeline's
  // budget on a task that costs, leases on the prefixes it writes.
  if (!budget_named && required > 0 && !check_budgets("budget"))
    return a;
  // Only a contract that writes outside its folder can lease (policy_of
  // copies the entry: not on the path of every task).
  bool leased = !c.writes.empty() && policy_of(t).path_leases;
  if (!lease_named && leased && !check_leases("lease", c.writes))
    return a;
  // The inputs last: they never change, so a predicate over them that does
  // not hold never will.
  contracts::predicate_subjects subjects
    = [&](const contracts::predicate_ref& ref)
    -> std::optional<contracts::predicate_subject> {
    if (ref.output)
      return std::nullopt;
    contracts::predicate_subject s;
    if (auto v = t.values.find(ref.key); v != t.values.end()) {
      s.value_json = v->second;
      return s;
    }
    auto in = t.input_mapping.find(ref.key);
    if (in == t.input_mapping.end())
      return std::nullopt;
    auto asset = assets.find(in->second);
    if (asset == assets.end())
      return std::nullopt;
    if (asset->second.kind == contracts::asset_kind::value)
      s.value_json = asset->second.value_json;
    else
      s.paths.push_back(config.relocation.resolve(asset->second.uri));
    return s;
  };
  contracts::predicate_schema_resolver resolve;
  if (config.registry)
    resolve = [this](std::string_view id) { return config.registry->find_schema(id); };
  for (auto& use : c.predicates.admission) {
    if (is_state_kind(use.kind))
      continue;
    auto verdict = contracts::evaluate_file_predicate(use, subjects, resolve);
    if (!verdict.passed) {
      refuse(ec::admission_failed, use.id, verdict.saw, true);
      return a;
    }
    pass(use.id, std::move(verdict.saw));
  }
  a.taken.usd_micro = required;
  if (required == 0)
    a.taken.scopes.clear();
  if (leased)
    for (auto& p : c.writes)
      a.taken.leases.push_back("lease:" + p);
  return a;
}

void zenith_state::hold(task_record& t, const admission& a) {
  auto reason = std::string{contracts::to_string(a.code)} + "|" + a.predicate;
  auto [i, fresh] = held.try_emplace(t.task_id, held_reason{reason, 0});
  i->second.generation = limits_generation;
  if (!fresh) {
    if (i->second.reason == reason)
      return;
    i->second.reason = reason;
  }
  json::value payload{json::object{}};
  payload.set("code", std::string{contracts::to_string(a.code)});
  payload.set("predicate", a.predicate);
  payload.set("saw", a.saw);
  auto packet = add_packet("task.held", {t.task_id}, {t.task_id},
                           std::move(payload), t.trace_id);
  put_task(t, packet);
  spdlog::info("zenith: task {} waits: {} ({})", t.task_id, a.saw, a.predicate);
}

void zenith_state::take(task_record& t, admission& a, json::value& payload,
                        std::vector<std::string>& subjects) {
  // An attempt that ended without being settled (it should not happen):
  // settled at its worst case before the next one takes anything.
  if (reservations.count(t.task_id) > 0)
    settle_alone(t, -1, true, "a new attempt was dispatched");
  held.erase(t.task_id);
  auto at = clock->now();
  auto now_ms = to_ms(at);
  auto stamp = t.updated_at.empty() ? now() : t.updated_at; // dispatch's time
  auto& r = a.taken;
  r.dispatched_at = at;
  json::value admission{json::object{}};
  if (r.usd_micro > 0 && !r.scopes.empty()) {
    for (auto& scope : r.scopes) {
      budget_record* b = nullptr;
      if (scope.starts_with("run:"))
        b = run_budget(scope.substr(4));
      else if (auto i = budgets.find(scope); i != budgets.end())
        b = &i->second;
      if (b == nullptr)
        continue;
      roll_window(*b, now_ms);
      b->reserved_usd_micro += r.usd_micro;
      b->updated_at = stamp;
      limits_touched.insert(scope);
      subjects.push_back(scope);
    }
    json::array scopes;
    for (auto& s : r.scopes)
      scopes.push_back(s);
    admission.set("scopes", json::value{std::move(scopes)});
  }
  if (r.usd_micro > 0)
    admission.set("reserved_usd_micro", r.usd_micro);
  if (!a.quota_units.empty()) {
    json::array charged;
    for (auto& [subject, units] : a.quota_units) {
      auto& q = quotas.at(subject);
      roll_window(q, now_ms);
      q.used_units += units;
      q.updated_at = stamp;
      limits_touched.insert(subject);
      subjects.push_back(subject);
      charged.push_back(json::object{{"quota", subject.substr(6)},
                                     {"units", units},
                                     {"used_units", q.used_units}});
    }
    admission.set("quotas", json::value{std::move(charged)});
  }
  if (!r.leases.empty()) {
    auto pol = policy_of(t);
    auto ttl = static_cast<int64_t>(pol.lease_ttl_s) * 1000;
    json::array taken;
    for (auto& subject : r.leases) {
      lease_record l;
      l.subject = subject;
      l.task_id = t.task_id;
      l.attempt = t.attempt;
      l.ttl_ms = ttl;
      l.expires_ms = now_ms + ttl;
      l.taken_at = stamp;
      taken.push_back(json::object{
        {"prefix", std::string{l.prefix()}},
        {"expires_at", contracts::format_timestamp(from_ms(l.expires_ms))}});
      limit_timers.emplace(from_ms(l.expires_ms), subject);
      schedule_due(from_ms(l.expires_ms));
      leases[subject] = std::move(l);
      limits_touched.insert(subject);
      subjects.push_back(subject);
    }
    admission.set("leases", json::value{std::move(taken)});
  }
  if (!a.verdicts.empty())
    admission.set("predicates", json::value{std::move(a.verdicts)});
  if (admission.as_object().empty())
    return;
  payload.set("admission", std::move(admission));
  if (r.usd_micro > 0 || !r.leases.empty())
    reservations[t.task_id] = std::move(r);
}

// -- settlement ---------------------------------------------------------------------

json::value zenith_state::settle(const task_record& t, int64_t reported,
                                 bool worst_case, std::string_view why,
                                 std::vector<std::string>& subjects) {
  auto i = reservations.find(t.task_id);
  if (i == reservations.end())
    return json::value{};
  auto r = std::move(i->second);
  reservations.erase(i);
  auto at = clock->now();
  auto now_ms = to_ms(at);
  auto stamp = now();
  int64_t charged = r.usd_micro;
  if (!worst_case) {
    if (reported >= 0) {
      charged = std::min(reported, r.usd_micro);
    } else if (r.cost.usd_micro_per_run > 0) {
      charged = std::min(r.cost.usd_micro_per_run, r.usd_micro);
    } else if (r.cost.usd_micro_per_second > 0) {
      auto seconds
        = (to_ms(at) - to_ms(r.dispatched_at) + 999) / 1000; // started seconds
      charged = std::min(r.cost.usd_micro_per_second * std::max<int64_t>(seconds, 1),
                         r.usd_micro);
    }
  }
  json::value out{json::object{}};
  out.set("attempt", static_cast<int64_t>(r.attempt));
  out.set("reason", std::string{why});
  if (r.usd_micro > 0) {
    out.set("reserved_usd_micro", r.usd_micro);
    out.set("charged_usd_micro", charged);
    if (reported >= 0)
      out.set("reported_usd_micro", reported);
    if (reported > r.usd_micro)
      out.set("over_reservation_usd_micro", reported - r.usd_micro);
    json::array scopes;
    for (auto& scope : r.scopes) {
      auto b = budgets.find(scope);
      if (b == budgets.end())
        continue;
      roll_window(b->second, now_ms);
      b->second.reserved_usd_micro
        = std::max<int64_t>(0, b->second.reserved_usd_micro - r.usd_micro);
      b->second.spent_usd_micro += charged;
      b->second.updated_at = stamp;
      limits_touched.insert(scope);
      subjects.push_back(scope);
      scopes.push_back(scope);
    }
    out.set("scopes", json::value{std::move(scopes)});
  }
  json::array released;
  for (auto& subject : r.leases) {
    auto l = leases.find(subject);
    if (l == leases.end() || l->second.task_id != t.task_id
        || l->second.attempt != r.attempt)
      continue; // expired (and recorded) already
    released.push_back(std::string{l->second.prefix()});
    leases.erase(l);
    limits_touched.insert(subject);
    subjects.push_back(subject);
  }
  if (!released.empty())
    out.set("leases_released", json::value{std::move(released)});
  return out;
}

void zenith_state::settle_alone(const task_record& t, int64_t reported,
                                bool worst_case, std::string_view why) {
  std::vector<std::string> subjects{t.task_id};
  auto settled = settle(t, reported, worst_case, why, subjects);
  if (settled.is_null())
    return;
  auto packet = add_packet("budget.settled", std::move(subjects), {t.task_id},
                           std::move(settled), t.trace_id);
  put_limits(packet);
}

void zenith_state::put_limits(size_t packet) {
  if (limits_touched.empty())
    return;
  ++limits_generation;
  for (auto& subject : limits_touched)
    limits_dirty[subject] = packet;
  limits_touched.clear();
}

void zenith_state::write_limits() {
  for (auto& [subject, packet] : limits_dirty) {
    if (auto b = budgets.find(subject); b != budgets.end()) {
      batch.put(storage::table::limits, subject,
                json::serialize(contracts::to_json(b->second)), packet);
    } else if (auto q = quotas.find(subject); q != quotas.end()) {
      batch.put(storage::table::limits, subject,
                json::serialize(contracts::to_json(q->second)), packet);
    } else if (auto l = leases.find(subject); l != leases.end()) {
      batch.put(storage::table::limits, subject,
                json::serialize(contracts::to_json(l->second)), packet);
    } else {
      batch.erase(storage::table::limits, subject, packet);
    }
  }
  limits_dirty.clear();
}

// -- leases -------------------------------------------------------------------------

void zenith_state::expire_leases() {
  auto at = clock->now();
  auto now_ms = to_ms(at);
  std::vector<std::string> expired;
  while (!limit_timers.empty() && limit_timers.begin()->first <= at) {
    auto subject = limit_timers.begin()->second;
    limit_timers.erase(limit_timers.begin());
    ++limits_generation; // a window reset: held tasks look again
    if (!subject.starts_with("lease:"))
      continue; // a window reset: the flush's dispatch looks again
    auto l = leases.find(subject);
    if (l == leases.end())
      continue;
    if (l->second.expires_ms > now_ms) {
      // Renewed by a heartbeat since: looked at again then.
      limit_timers.emplace(from_ms(l->second.expires_ms), subject);
      continue;
    }
    expired.push_back(subject);
  }
  for (auto& subject : expired) {
    auto l = leases.find(subject);
    if (l == leases.end())
      continue; // released with another lease of the same attempt
    auto lease = l->second;
    leases.erase(l);
    limits_touched.insert(subject);
    json::value payload{json::object{}};
    payload.set("prefix", std::string{lease.prefix()});
    payload.set("task_id", lease.task_id);
    payload.set("attempt", static_cast<int64_t>(lease.attempt));
    payload.set("ttl_ms", lease.ttl_ms);
    payload.set("expired_at", contracts::format_timestamp(from_ms(lease.expires_ms)));
    auto found = tasks.find(lease.task_id);
    bool running = found != tasks.end()
                   && found->second.status == task_status::running
                   && found->second.attempt == lease.attempt
                   && awaiting_plan.count(lease.task_id) == 0;
    std::string trace = found != tasks.end() ? found->second.trace_id : std::string{};
    auto packet = add_packet("lease.expired", {subject, lease.task_id},
                             {lease.task_id}, std::move(payload), trace);
    put_limits(packet);
    if (!running)
      continue;
    auto& t = found->second;
    spdlog::warn("zenith: the lease of {}/{} on {} expired: the attempt is "
                 "stopped and its outputs are not promoted",
                 t.task_id, t.attempt, lease.prefix());
    // As for a lost worker: its slot is free again and its pool stops it
    // before a retry starts; whatever it reports later is ignored.
    if (auto slot = free_slots.find(t.pool); slot != free_slots.end())
      ++slot->second;
    effects.stops.emplace_back(t.pool, t.task_id + "/" + std::to_string(t.attempt));
    last_beat.erase(t.task_id);
    settle_alone(t, -1, true, "its lease expired");
    attempt_failed(t, std::string{contracts::to_string(ec::lease_lost)},
                   "its lease on " + std::string{lease.prefix()}
                     + " expired: no heartbeat renewed it within "
                     + std::to_string(lease.ttl_ms / 1000) + " s",
                   true, {}, false);
  }
  if (!limit_timers.empty())
    schedule_due(limit_timers.begin()->first);
}

// -- recovery -----------------------------------------------------------------------

caf::error zenith_state::recover_limits() {
  auto rows = db->read->scan(storage::table::limits, "");
  if (!rows)
    return rows.error();
  for (auto& [key, value] : *rows) {
    auto parsed = json::parse(value);
    std::string why = "not JSON";
    bool ok = false;
    if (parsed) {
      if (key.starts_with("budget:") || key.starts_with("run:")) {
        if (auto b = contracts::budget_from_json(*parsed.doc, why)) {
          budgets[key] = std::move(*b);
          ok = true;
        }
      } else if (key.starts_with("quota:")) {
        if (auto q = contracts::quota_from_json(*parsed.doc, why)) {
          quotas[key] = std::move(*q);
          ok = true;
        }
      } else if (key.starts_with("lease:")) {
        if (auto l = contracts::lease_from_json(*parsed.doc, why)) {
          leases[key] = std::move(*l);
          ok = true;
        }
      } else {
        why = "an unknown kind of limit";
      }
    }
    if (!ok)
      return contracts::make_error(ec::corruption,
                                   "the limits row '" + key + "' is damaged: " + why);
  }
  // The attempts that held reservations and leases died with the node (a
  // restart runs them again): what they reserved may have been spent, so it
  // is charged; their leases go.
  auto now_ms = to_ms(clock->now());
  for (auto& [subject, b] : budgets) {
    if (b.reserved_usd_micro == 0)
      continue;
    // Charged in the window it is charged in (the node may have been down
    // past the window's end).
    roll_window(b, now_ms);
    json::value payload{json::object{}};
    payload.set("reason", "the node restarted under the attempts that held it");
    payload.set("reserved_usd_micro", b.reserved_usd_micro);
    payload.set("charged_usd_micro", b.reserved_usd_micro);
    b.spent_usd_micro += b.reserved_usd_micro;
    b.reserved_usd_micro = 0;
    b.updated_at = now();
    limits_touched.insert(subject);
    auto packet = add_packet("budget.settled", {subject}, {subject},
                             std::move(payload), ids->next_uuid());
    put_limits(packet);
  }
  for (auto& [subject, l] : leases) {
    json::value payload{json::object{}};
    payload.set("prefix", std::string{l.prefix()});
    payload.set("task_id", l.task_id);
    payload.set("attempt", static_cast<int64_t>(l.attempt));
    payload.set("reason", "the node restarted under the attempt that held it");
    auto packet = add_packet("lease.released", {subject, l.task_id}, {subject},
                             std::move(payload), ids->next_uuid());
    limits_dirty[subject] = packet; // erased at seal: no lease is held now
  }
  leases.clear();
  return caf::none;
}

// -- the operators' requests --------------------------------------------------------

caf::expected<std::string> zenith_state::limits(const contracts::limits_request& r) {
  auto now_ms = to_ms(clock->now());
  auto lease_view = [&](const lease_record& l) { return contracts::to_json(l); };
  if (r.op == "list") {
    json::array named, runs_spend, quota_list, lease_list;
    for (auto& [subject, b] : budgets) {
      auto copy = b;
      roll_window(copy, now_ms);
      (subject.starts_with("run:") ? runs_spend : named)
        .push_back(contracts::to_json(copy));
    }
    for (auto& [subject, q] : quotas) {
      auto copy = q;
      roll_window(copy, now_ms);
      quota_list.push_back(contracts::to_json(copy));
    }
    for (auto& [subject, l] : leases)
      lease_list.push_back(lease_view(l));
    json::value out{json::object{}};
    out.set("budgets", json::value{std::move(named)});
    out.set("runs", json::value{std::move(runs_spend)});
    out.set("quotas", json::value{std::move(quota_list)});
    out.set("leases", json::value{std::move(lease_list)});
    return json::serialize(out);
  }
  if (!contracts::is_limits_subject(r.subject))
    return contracts::make_error(ec::invalid_argument,
                                 "'" + r.subject + "' names no budget, quota, "
                                 "run or lease");
  bool is_budget = r.subject.starts_with("budget:");
  bool is_quota = r.subject.starts_with("quota:");
  if (r.op == "show") {
    if (auto b = budgets.find(r.subject); b != budgets.end()) {
      auto copy = b->second;
      roll_window(copy, now_ms);
      return json::serialize(contracts::to_json(copy));
    }
    if (auto q = quotas.find(r.subject); q != quotas.end()) {
      auto copy = q->second;
      roll_window(copy, now_ms);
      return json::serialize(contracts::to_json(copy));
    }
    if (auto l = leases.find(r.subject); l != leases.end())
      return json::serialize(lease_view(l->second));
    return contracts::make_error(ec::not_found, "no " + r.subject);
  }
  if ((r.op != "create" && r.op != "set") || !(is_budget || is_quota))
    return contracts::make_error(ec::invalid_argument,
                                 "only budgets and quotas are created or set");
  auto name = r.subject.substr(r.subject.find(':') + 1);
  auto noun = is_budget ? std::string{"budget"} : std::string{"quota"};
  bool exists = is_budget ? budgets.count(r.subject) > 0 : quotas.count(r.subject) > 0;
  if (r.op == "create" && exists)
    return contracts::make_error(ec::already_exists,
                                 "a " + noun + " named '" + name + "' exists: "
                                   "change it with omniva " + noun + " set "
                                   + name,
                                 "/name");
  if (r.op == "set" && !exists)
    return contracts::make_error(ec::not_found, "no " + noun + " named '" + name + "'");
  json::value payload{json::object{}};
  json::value view;
  if (is_budget) {
    if (r.op == "create" && r.max_usd_micro < 0)
      return contracts::make_error(ec::missing_field,
                                   "a new budget needs max_usd_micro",
                                   "/max_usd_micro");
    auto& b = budgets[r.subject];
    auto before = r.op == "set" ? contracts::to_json(b) : json::value{};
    if (r.op == "create") {
      b.subject = r.subject;
      b.created_at = now();
    }
    if (r.max_usd_micro >= 0)
      b.max_usd_micro = r.max_usd_micro;
    if (r.window_ms >= 0 && r.window_ms != b.window_ms) {
      // A new window begins now and counts what was spent so far (erring
      // on the side of the cap) until it resets.
      b.window_ms = r.window_ms;
      b.window_start_ms = contracts::window_start(now_ms, b.window_ms);
    }
    if (r.has_description)
      b.description = r.description;
    b.updated_at = now();
    view = contracts::to_json(b);
    if (r.op == "set")
      payload.set("before", std::move(before));
    payload.set("budget", view);
  } else {
    if (r.op == "create" && (r.units < 1 || r.window_ms < contracts::min_window_ms))
      return contracts::make_error(ec::missing_field,
                                   "a new quota needs units and a window",
                                   r.units < 1 ? "/units" : "/window");
    auto& q = quotas[r.subject];
    auto before = r.op == "set" ? contracts::to_json(q) : json::value{};
    if (r.op == "create") {
      q.subject = r.subject;
      q.created_at = now();
    }
    if (r.units >= 1)
      q.units = r.units;
    if (r.window_ms >= contracts::min_window_ms && r.window_ms != q.window_ms) {
      q.window_ms = r.window_ms;
      q.window_start_ms = 0;
      q.used_units = 0;
    }
    roll_window(q, now_ms);
    if (r.has_description)
      q.description = r.description;
    q.updated_at = now();
    view = contracts::to_json(q);
    if (r.op == "set")
      payload.set("before", std::move(before));
    payload.set("quota", view);
  }
  limits_touched.insert(r.subject);
  auto kind = noun + (r.op == "create" ? ".created" : ".changed");
  auto packet = add_packet(kind, {r.subject}, {r.subject}, std::move(payload),
                           ids->next_uuid());
  put_limits(packet);
  spdlog::info("zenith: {} {}", kind, r.subject);
  return json::serialize(view);
}

} // namespace omniva::actors
