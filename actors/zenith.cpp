#include "actors/zenith.hpp"
#include "contracts/pipeline.hpp"

#include "contracts/module_registration.hpp"
#include "contracts/paradox.hpp"
#include "contracts/preflight.hpp"
#include "contracts/status.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace omniva::actors {

using contracts::asset_record;
using contracts::asset_status;
using contracts::ec;
using contracts::make_error;
using contracts::task_record;
using contracts::task_status;

std::string zenith_state::error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

std::vector<std::string> zenith_state::subjects_of(const task_record& t) {
  std::vector<std::string> out{t.task_id};
  for (auto& [key, id] : t.outputs)
    out.push_back(id);
  for (auto& [key, id] : t.input_mapping)
    out.push_back(id);
  return out;
}

namespace {

json::value parse_or_null(std::string_view text) {
  auto r = json::parse(text);
  return r ? std::move(*r.doc) : json::value{};
}

/// Reads every row of `t` into `out` through `from_json`; a row that does
/// not parse is corruption.
template <class Record, class FromJson>
caf::error load_rows(const storage::reader& r, storage::table t,
                     std::string_view what, FromJson from_json,
                     std::unordered_map<std::string, Record>& out) {
  auto rows = r.scan(t, "");
  if (!rows)
    return rows.error();
  for (auto& [id, text] : *rows) {
    std::vector<contracts::problem> problems;
    auto record = from_json(parse_or_null(text), problems, "");
    if (!record)
      return make_error(ec::corruption,
                        std::string{what} + " row " + id + " does not parse");
    out[id] = std::move(*record);
  }
  return caf::none;
}

/// Gives each asset of `assets` its holders from the holds table: each hold
/// is a row of its own, `asset \0 task` (the asset rows do not list their
/// holders). In memory an asset's holders are in the order the tasks were
/// created, the order they took their holds.
caf::error recover_holds(const storage::reader& r,
                         const std::unordered_map<std::string, task_record>& tasks,
                         std::unordered_map<std::string, asset_record>& assets) {
  auto rows = r.scan(storage::table::holds, "");
  if (!rows)
    return rows.error();
  std::vector<asset_record*> held;
  for (auto& [key, ignored] : *rows) {
    auto parts = storage::split_hold_key(key);
    auto a = parts ? assets.find(std::string{parts->first}) : assets.end();
    if (a == assets.end()) {
      spdlog::warn("zenith: ignored a hold on an asset that does not exist "
                   "({})",
                   parts ? std::string{parts->first} : std::string{"a damaged key"});
      continue;
    }
    if (a->second.holds.empty())
      held.push_back(&a->second);
    a->second.holds.emplace_back(parts->second);
  }
  auto created = [&](const std::string& task_id) {
    auto t = tasks.find(task_id);
    return t == tasks.end() ? std::string_view{} : std::string_view{t->second.created_at};
  };
  for (auto* a : held)
    std::stable_sort(a->holds.begin(), a->holds.end(),
                     [&](const std::string& x, const std::string& y) {
                       return created(x) < created(y);
                     });
  return caf::none;
}

/// The canonical form of a JSON text (the text itself when it does not
/// parse), so that `1.0` and `1`, or members in another order, compare equal.
std::string canonical_text(const std::string& text) {
  auto r = json::parse(text);
  return r ? json::serialize(*r.doc, json::style::canonical) : text;
}

/// Where request `req` differs from the one that made task `t`: the JSON
/// pointer of the first field that does, or nullopt when it asks for the
/// same work (its values may leave out what the task got by default).
std::optional<std::string> differs_from(const task_record& t,
                                        const contracts::task_request& req,
                                        bool force_mock) {
  if (!req.module_ref.empty() && req.module_ref != t.module_ref)
    return std::string{"/module_ref"};
  if (req.mode != t.mode && !force_mock)
    return std::string{"/mode"};
  for (auto& [key, id] : req.input_mapping) {
    auto i = t.input_mapping.find(key);
    if (i == t.input_mapping.end() || i->second != id)
      return json::append_pointer("/input_mapping", key);
  }
  for (auto& [key, id] : t.input_mapping)
    if (req.input_mapping.count(key) == 0)
      return json::append_pointer("/input_mapping", key);
  for (auto& [key, value] : req.values) {
    auto i = t.values.find(key);
    if (i == t.values.end() || canonical_text(i->second) != canonical_text(value))
      return json::append_pointer("/values", key);
  }
  return std::nullopt;
}

/// The problems of a refused request: those found while reading it
/// (`structural`) first, then those found in the rest of it, each once
/// (pre-flight may repeat the structural ones).
std::vector<contracts::problem>
merge_problems(const std::vector<contracts::problem>& structural,
               std::vector<contracts::problem> found) {
  auto out = structural;
  for (auto& p : found)
    if (std::find(out.begin(), out.end(), p) == out.end())
      out.push_back(std::move(p));
  return out;
}

} // namespace

// -- packets and rows -----------------------------------------------------------

std::string zenith_state::now() {
  return contracts::format_timestamp(clock->now());
}

size_t zenith_state::add_packet(std::string kind,
                                std::vector<std::string> subjects,
                                const std::vector<std::string>& parent_entities,
                                json::value payload,
                                const std::string& trace_id) {
  return add_packet_as(std::move(kind), "zenith", std::move(subjects),
                       parent_entities, std::move(payload), trace_id, false);
}

size_t zenith_state::add_packet_as(std::string kind, std::string actor,
                                   std::vector<std::string> subjects,
                                   const std::vector<std::string>& parent_entities,
                                   json::value payload,
                                   const std::string& trace_id,
                                   bool evidence,
                                   std::vector<size_t> batch_parents) {
  contracts::packet p;
  p.kind = kind;
  p.actor = std::move(actor);
  p.trace_id = trace_id;
  p.at = now();
  if (!requester.empty() && payload.is_object() && !payload.find("operator"))
    payload.set("operator", requester);
  p.payload = json::serialize(payload);
  std::vector<size_t> in_batch = std::move(batch_parents);
  for (auto& entity : parent_entities) {
    if (auto i = batch_last.find(entity); i != batch_last.end()) {
      if (std::find(in_batch.begin(), in_batch.end(), i->second)
          == in_batch.end())
        in_batch.push_back(i->second);
      continue;
    }
    auto j = last_packet.find(entity);
    if (j == last_packet.end()) {
      // Not seen since start, or forgotten: the last packet of its history
      // (one seek). A failed read fails the commit: the packet must not
      // silently lose its parent.
      auto last = parent_lookup ? parent_lookup(entity) : db->read->last_of(entity);
      if (!last) {
        if (!parent_read_error)
          parent_read_error = make_error(
            ec::storage_error, "cannot read the last packet of " + entity
                                 + ": " + error_text(last.error()));
      } else if (!last->empty()) {
        j = last_packet.emplace(entity, std::move(*last)).first;
      }
    }
    if (j != last_packet.end()
        && std::find(p.meta_parents.begin(), p.meta_parents.end(), j->second)
             == p.meta_parents.end())
      p.meta_parents.push_back(j->second);
  }
  // The first subject is the entity the event is about.
  committed_event event{std::move(kind), {}, subjects.front(), 0, p.at,
                        config.on_commit ? p.payload : std::string{}};
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  p.subjects = subjects;
  auto index = batch.add(std::move(p), std::move(in_batch), evidence);
  for (auto& s : subjects)
    batch_last[s] = index;
  batch_events.push_back(std::move(event));
  return index;
}

void zenith_state::put_task(const task_record& t, size_t packet) {
  batch.put(storage::table::tasks, t.task_id,
            json::serialize(contracts::to_json(t)), packet);
  if (!t.run_id.empty()) {
    // A run's task ended (or an operator's retry revived it): its run
    // advances before the batch is sealed.
    auto old = row_status.find(t.task_id);
    bool was_over = old != row_status.end() && contracts::is_terminal(old->second);
    if (contracts::is_terminal(t.status) && !was_over)
      run_ended.emplace_back(t.task_id, -1);
    else if (!contracts::is_terminal(t.status) && was_over)
      run_ended.emplace_back(t.task_id, +1);
  }
  // The counts by status follow the rows (GET /api/stats, /metrics).
  auto index = [](task_status s) { return static_cast<size_t>(s); };
  auto [row, added] = row_status.try_emplace(t.task_id, t.status);
  if (added) {
    ++tasks_created;
  } else if (row->second != t.status) {
    --task_counts[index(row->second)];
    row->second = t.status;
  } else {
    return;
  }
  ++task_counts[index(t.status)];
  ++status_entries[index(t.status)];
}

void zenith_state::put_asset(const asset_record& a, size_t packet) {
  // The row leaves out who holds the asset: each hold is a row of its own
  // (storage::table::holds), written when a task takes it and erased when
  // the task ends, so a new holder does not rewrite the asset's row.
  auto row = contracts::to_json(a);
  row.erase("holds");
  batch.put(storage::table::assets, a.asset_id, json::serialize(row), packet);
}

// -- readiness --------------------------------------------------------------------

void zenith_state::make_ready(task_record& t) {
  t.status = task_status::ready;
  if (auto r = early_routes.find(t.task_id); r != early_routes.end()) {
    auto route = std::move(r->second);
    early_routes.erase(r);
    enqueue(t, route);
    return;
  }
  ask_route(t);
}

void zenith_state::announce_ready(task_record& t, const std::string& woken_by) {
  make_ready(t);
  std::vector<std::string> subjects{t.task_id};
  std::vector<std::string> parents{t.task_id};
  if (!woken_by.empty()) {
    subjects.push_back(woken_by);
    parents.insert(parents.begin(), woken_by);
  }
  auto i = add_packet("task.ready", std::move(subjects), parents,
                      json::object{}, t.trace_id);
  put_task(t, i);
}

void zenith_state::requeue(task_record& t, const std::string& reason,
                           const std::string& not_before) {
  last_beat.erase(t.task_id);
  t.status = task_status::pending;
  t.attempt += 1;
  t.pool.clear();
  t.not_before = not_before;
  t.updated_at = now();
  json::value payload{json::object{}};
  payload.set("attempt", static_cast<int64_t>(t.attempt));
  payload.set("reason", reason);
  if (!not_before.empty())
    payload.set("not_before", not_before);
  auto i = add_packet("task.requeued", {t.task_id}, {t.task_id},
                      std::move(payload), t.trace_id);
  put_task(t, i);
}

void zenith_state::wake_waiting(const std::string& asset_id) {
  auto w = waiting.find(asset_id);
  if (w == waiting.end())
    return;
  auto woken = std::move(w->second);
  waiting.erase(w);
  for (auto& d : woken) {
    auto found = tasks.find(d);
    if (found == tasks.end() || found->second.status != task_status::pending)
      continue;
    auto& dep = found->second;
    if (!dep.cleared || !dep.not_before.empty() || !inputs_available(dep))
      continue; // Paradox's clearance (or a backoff) makes it READY
    dep.updated_at = now();
    announce_ready(dep, asset_id);
  }
}

void zenith_state::unready(const std::string& task_id) {
  if (auto i = queued.find(task_id); i != queued.end()) {
    if (auto q = queues.find(i->second.pool); q != queues.end())
      q->second.erase(i->second.key);
    queued.erase(i);
  }
  routing.erase(task_id);
  early_routes.erase(task_id);
  unroutable.erase(task_id);
}

void zenith_state::release_holds(const task_record& t) {
  for (auto& [key, asset_id] : t.input_mapping) {
    auto a = assets.find(asset_id);
    if (a == assets.end())
      continue;
    auto& holds = a->second.holds;
    holds.erase(std::remove(holds.begin(), holds.end(), t.task_id),
                holds.end());
  }
}

std::optional<contracts::output_spec>
zenith_state::promise_of(std::string_view asset_id) const {
  auto a = assets.find(std::string{asset_id});
  if (a == assets.end() || a->second.produced_by.empty())
    return std::nullopt;
  auto t = tasks.find(a->second.produced_by);
  if (t == tasks.end())
    return std::nullopt;
  auto m = modules.find(t->second.module_ref);
  if (m == modules.end())
    return std::nullopt;
  for (auto& [key, id] : t->second.outputs)
    if (id == asset_id)
      for (auto& out : m->second.contract.outputs)
        if (out.key == key) {
          if (!out.many)
            return out;
          // A `many` output promises a list asset, not one of its files.
          contracts::output_spec list = out;
          list.many = false;
          list.media_type = std::string{contracts::asset_list_media_type};
          list.schema_ref.clear();
          list.schema_json.clear();
          return list;
        }
  return std::nullopt;
}

const contracts::pool_spec*
zenith_state::pool_for(const contracts::module_contract& c) const {
  for (auto& p : config.pools)
    if (contracts::fits(c, p))
      return &p;
  return nullptr;
}

// -- recovery -----------------------------------------------------------------------

caf::error zenith_state::recover() {
  if (auto err = recover_registry())
    return err;
  if (auto err = recover_tokens())
    return err;
  if (auto err = recover_webhooks())
    return err;
  if (auto err = recover_quarantines())
    return err;
  auto& r = *db->read;
  auto rows = r.scan(storage::table::modules, "");
  if (!rows)
    return rows.error();
  for (auto& [ref, text] : *rows) {
    auto entry = contracts::decode_module_row(
      ref, text, contracts::make_predicate_resolver(config.registry));
    if (!entry)
      return entry.error();
    modules[ref] = std::move(*entry);
  }
  if (auto err = load_rows(r, storage::table::assets, "asset",
                           contracts::asset_record_from_json, assets))
    return err;
  if (auto err = load_rows(r, storage::table::tasks, "task",
                           contracts::task_record_from_json, tasks))
    return err;
  for (auto& [id, t] : tasks) {
    row_status.insert_or_assign(id, t.status);
    ++task_counts[static_cast<size_t>(t.status)];
  }
  if (auto err = recover_holds(r, tasks, assets))
    return err;
  for (auto& p : config.pools)
    free_slots[p.name] = p.workers;
  // Rebuild the derived state; re-queue what was RUNNING.
  // In creation order; each task looked up once, not twice per comparison
  // (a restart after 30,000 tasks spent an eighth of its time there).
  std::vector<std::pair<std::string_view, task_record*>> order;
  order.reserve(tasks.size());
  for (auto& [id, t] : tasks)
    order.emplace_back(t.created_at, &t);
  std::sort(order.begin(), order.end(), [](auto& a, auto& b) {
    return a.first < b.first;
  });
  auto horizon = clock->now() - config.idempotency_window;
  for (auto& entry : order) {
    auto& t = *entry.second;
    auto& id = t.task_id;
    if (!t.idempotency_key.empty()) {
      auto created = contracts::parse_timestamp(t.created_at);
      if (created && *created >= horizon) {
        idempotency[t.idempotency_key] = id;
        idempotency_order.emplace_back(*created, t.idempotency_key);
      }
    }
    if (t.status == task_status::running) {
      if (t.error) {
        // Its attempt had failed and Eclipse's plan was not committed yet:
        // ask again.
        contracts::attempt_report rep;
        rep.task_id = id;
        rep.module_ref = t.module_ref;
        rep.pool = t.pool;
        rep.attempt = t.attempt;
        rep.code = t.error->code;
        rep.message = t.error->message;
        rep.transient = t.error->transient;
        rep.lost_attempts = t.lost_attempts;
        rep.policy = policy_of(t);
        awaiting_plan[id] = rep;
        effects.reports.push_back(std::move(rep));
        continue;
      }
      // The node died under this attempt: run it again as a new one.
      requeue(t, "node restarted");
    }
    if (t.status == task_status::pending) {
      bool all = true;
      for (auto& [key, asset_id] : t.input_mapping) {
        auto a = assets.find(asset_id);
        if (a != assets.end() && a->second.status != asset_status::available) {
          all = false;
          waiting[asset_id].push_back(id);
        }
      }
      if (!t.cleared) {
        // Not cleared by Paradox yet (or waiting to reuse an identical
        // task): ask again.
        auto m = modules.find(t.module_ref);
        if (m != modules.end()) {
          auto& contract = m->second.contract;
          contracts::clearance_item item;
          item.task_id = id;
          item.module_ref = t.module_ref;
          item.key = paradox::duplicate_key(
            contract, t.input_mapping, t.values,
            [this](std::string_view a) -> const asset_record* {
              auto i = assets.find(std::string{a});
              return i == assets.end() ? nullptr : &i->second;
            });
          item.mode = contract.duplicates.mode;
          clearing.insert(id);
          effects.clearances.push_back(std::move(item));
        }
      } else if (!t.not_before.empty()) {
        auto when = contracts::parse_timestamp(t.not_before);
        backoffs.emplace(when ? *when : clock->now(), id);
      } else if (all) {
        announce_ready(t);
      }
    } else if (t.status == task_status::ready) {
      make_ready(t);
    }
  }
  if (auto err = recover_runs())
    return err;
  if (auto err = recover_limits())
    return err;
  if (!backoffs.empty())
    next_due.reset(); // the actor schedules the first due once it runs
  if (auto n = remove_superseded_outputs(); n > 0)
    spdlog::info("zenith: removed the outputs of {} attempt(s) that did not "
                 "win (the node died under them or lost their worker)",
                 n);
  return caf::none;
}

size_t zenith_state::remove_superseded_outputs() {
  auto root = std::filesystem::path{config.data_dir} / "outputs";
  std::error_code err;
  if (config.data_dir.empty() || !std::filesystem::is_directory(root, err))
    return 0;
  size_t removed = 0;
  for (auto& task_dir : std::filesystem::directory_iterator{root, err}) {
    auto t = tasks.find(task_dir.path().filename().string());
    if (t == tasks.end())
      continue; // not a task of this node: not ours to remove
    for (auto& attempt_dir : std::filesystem::directory_iterator{task_dir.path(), err}) {
      auto name = attempt_dir.path().filename().string();
      uint32_t n = 0;
      auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
      if (ec != std::errc{} || end != name.data() + name.size()
          || (n >= t->second.attempt
              && t->second.status != task_status::cancelled))
        continue;
      std::error_code gone;
      std::filesystem::remove_all(attempt_dir.path(), gone);
      if (gone)
        spdlog::warn("zenith: cannot remove {}: {}", attempt_dir.path().string(),
                     gone.message());
      else
        ++removed;
    }
  }
  return removed;
}

size_t zenith_state::forget_expired_keys() {
  auto horizon = clock->now() - config.idempotency_window;
  size_t forgotten = 0;
  while (!idempotency_order.empty() && idempotency_order.front().first < horizon) {
    idempotency.erase(idempotency_order.front().second);
    idempotency_order.pop_front();
    ++forgotten;
  }
  return forgotten;
}

// -- submissions --------------------------------------------------------------------

contracts::submit_result zenith_state::submit(const contracts::task_request& req) {
  ++submissions;
  contracts::submit_result result;
  // Every refusal for the request's own problems (a 422) goes through here,
  // once per submission.
  auto refuse = [&](std::vector<contracts::problem> found) {
    ++rejections;
    result.problems = merge_problems(req.problems, std::move(found));
    return result;
  };
  // A request that could not be read whole is refused; it is never taken
  // for the same work as an earlier one (what it would have said is not
  // known).
  if (!req.idempotency_key.empty() && req.problems.empty())
    if (auto i = idempotency.find(req.idempotency_key); i != idempotency.end()) {
      auto& first = tasks[i->second];
      if (auto where = differs_from(first, req, config.force_mock)) {
        // A 409, not a fault of the request itself: counted on its own.
        ++idempotency_conflicts;
        result.problems.push_back(
          {ec::idempotency_conflict, *where,
           "the idempotency key '" + req.idempotency_key + "' names task "
             + first.task_id
             + ", made from a different request: use a new key for new work"});
        return result;
      }
      result.ok = true;
      result.duplicate = true;
      result.task = first;
      return result;
    }
  auto m = modules.find(req.module_ref);
  if (m == modules.end()) {
    // A module_ref that could not be read is already among the problems.
    bool unread = std::any_of(req.problems.begin(), req.problems.end(),
                              [](auto& p) { return p.pointer == "/module_ref"; });
    if (unread)
      return refuse({});
    return refuse({{ec::module_not_found, "/module_ref",
                    "no module " + req.module_ref + " is registered"}});
  }
  auto& contract = m->second.contract;
  const auto* pool = pool_for(contract);
  contracts::asset_view view{
    [this](std::string_view id) -> const asset_record* {
      auto i = assets.find(std::string{id});
      return i == assets.end() ? nullptr : &i->second;
    },
    [this](std::string_view id) { return promise_of(id); }};
  auto checked = contracts::preflight(contract, req, view, preflight_settings);
  if (pool == nullptr)
    checked.problems.push_back(
      {ec::no_capable_pool, "/module_ref",
       "no worker pool has the resources " + req.module_ref + " needs"});
  if (!checked.task || pool == nullptr || !req.problems.empty())
    return refuse(std::move(checked.problems));
  auto& resolved = checked.task->request;
  task_record t;
  t.task_id = ids->next_uuid();
  t.module_ref = contract.ref();
  t.input_mapping = resolved.input_mapping;
  t.values = resolved.values;
  t.priority = resolved.priority;
  t.idempotency_key = resolved.idempotency_key;
  t.trace_id = resolved.trace_id.empty() ? ids->next_uuid() : resolved.trace_id;
  t.mode = config.force_mock ? contracts::execution_mode::mock : resolved.mode;
  t.created_at = t.updated_at = now();
  std::vector<std::string> subjects{t.task_id};
  std::vector<std::string> parents;
  if (run_link) {
    // A run's step: the task follows from the run's decision to create it
    // (the run's last packet in this batch).
    t.run_id = run_link->run_id;
    t.step = run_link->step;
    t.branch = run_link->branch;
    parents.push_back(t.run_id);
  }
  bool all_available = true;
  for (auto& [key, asset_id] : t.input_mapping) {
    subjects.push_back(asset_id);
    parents.push_back(asset_id);
    auto& a = assets[asset_id];
    a.holds.push_back(t.task_id);
    if (a.status != asset_status::available) {
      all_available = false;
      waiting[asset_id].push_back(t.task_id);
    }
  }
  // Paradox clears it before it may become READY; a task whose inputs are
  // all AVAILABLE is routed at the same time, so a clean task needs one
  // more commit only.
  contracts::clearance_item clearance;
  clearance.task_id = t.task_id;
  clearance.module_ref = t.module_ref;
  clearance.key = paradox::duplicate_key(contract, t.input_mapping, t.values,
                                         view.find);
  clearance.mode = contract.duplicates.mode;
  bool indexed = clearance.mode != contracts::duplicate_mode::allow;
  if (indexed)
    subjects.push_back(paradox::duplicate_subject(clearance.key));
  std::vector<asset_record> promised;
  for (auto& out : contract.outputs) {
    asset_record a;
    a.asset_id = ids->next_uuid();
    a.kind = contracts::asset_kind::file;
    // A `many` output promises one list asset, AVAILABLE with the list.
    a.media_type = out.many ? std::string{contracts::asset_list_media_type}
                            : out.media_type;
    a.status = asset_status::pending;
    a.produced_by = t.task_id;
    a.created_at = t.created_at;
    a.label = out.label.empty() ? out.key : out.label;
    t.outputs[out.key] = a.asset_id;
    subjects.push_back(a.asset_id);
    promised.push_back(std::move(a));
  }
  json::value payload{json::object{}};
  if (indexed) {
    payload.set("task_id", t.task_id);
    payload.set("duplicate_key", clearance.key);
  }
  payload.set("module_ref", t.module_ref);
  payload.set("status", std::string{contracts::to_string(t.status)});
  if (!t.run_id.empty()) {
    payload.set("run_id", t.run_id);
    payload.set("step", t.step);
    payload.set("branch", t.branch);
  }
  json::value outputs{json::object{}};
  for (auto& [key, id] : t.outputs)
    outputs.set(key, id);
  payload.set("outputs", std::move(outputs));
  json::value inputs{json::object{}};
  for (auto& [key, id] : t.input_mapping)
    inputs.set(key, id);
  payload.set("inputs", std::move(inputs));
  auto packet = add_packet("task.created", subjects, parents,
                           std::move(payload), t.trace_id);
  put_task(t, packet);
  // Its holds on its inputs: one row each, the inputs' rows unchanged.
  for (auto& [key, asset_id] : t.input_mapping)
    batch.put(storage::table::holds, storage::hold_key(asset_id, t.task_id),
              std::string{}, packet);
  for (auto& a : promised) {
    put_asset(a, packet);
    assets[a.asset_id] = std::move(a);
  }
  if (!t.idempotency_key.empty()) {
    idempotency[t.idempotency_key] = t.task_id;
    idempotency_order.emplace_back(clock->now(), t.idempotency_key);
  }
  clearing.insert(t.task_id);
  effects.clearances.push_back(std::move(clearance));
  if (all_available)
    ask_route(t);
  tasks[t.task_id] = t;
  result.ok = true;
  result.task = std::move(t);
  return result;
}

// -- dispatch -----------------------------------------------------------------------

void zenith_state::dispatch_ready() {
  // Tasks whose admission can never pass: ended once the queues are walked.
  std::vector<std::pair<std::string, admission>> refused;
  for (auto& [pool_name, queue] : queues) {
    if (queue.empty())
      continue;
    auto slot = free_slots.find(pool_name);
    if (slot == free_slots.end() || slot->second == 0)
      continue;
    // An open quarantine of the pool holds everything queued on it (Lattice
    // routes around it; what was queued before waits or is routed again); a
    // half-open one lets one probe through.
    contracts::quarantine_record* pool_q = nullptr;
    if (auto q = quarantines.find(contracts::pool_target(pool_name));
        q != quarantines.end()) {
      if (q->second.state != "half_open" || !q->second.probe_task.empty())
        continue;
      pool_q = &q->second;
    }
    for (auto it = queue.begin(); it != queue.end() && slot->second > 0;) {
      auto task_id = std::get<2>(*it);
      auto& t = tasks[task_id];
      auto m = modules.find(t.module_ref);
      if (m == modules.end()) {
        ++it;
        continue;
      }
      if (!t.run_id.empty()) {
        // A task of a PAUSED run waits aside until the run resumes.
        auto r = runs.find(t.run_id);
        if (r != runs.end()
            && r->second.record.status == contracts::run_status::paused) {
          it = queue.erase(it);
          auto placed = queued.find(task_id);
          contracts::route_directive route;
          if (placed != queued.end()) {
            route = std::move(placed->second.route);
            queued.erase(placed);
          }
          r->second.parked.emplace_back(task_id, std::move(route));
          continue;
        }
      }
      contracts::quarantine_record* probe = pool_q;
      if (auto q = quarantines.find(contracts::module_target(t.module_ref));
          q != quarantines.end()) {
        if (q->second.state != "half_open" || !q->second.probe_task.empty()) {
          ++it; // the module is quarantined: its tasks wait
          continue;
        }
        probe = &q->second;
      }
      // Admission (docs/policies.md): budgets, quotas, leases and the
      // contract's admission predicates; a task held back waits in its
      // queue, the reason recorded, and the next one may go.
      std::optional<admission> admitted;
      if (needs_admission(t, m->second)) {
        if (auto h = held.find(task_id);
            h != held.end() && h->second.generation == limits_generation) {
          ++it; // held, and nothing it waits on has changed since
          continue;
        }
        admitted = admit(t, m->second);
        if (!admitted->admitted) {
          if (admitted->fatal)
            refused.emplace_back(task_id, std::move(*admitted));
          else
            hold(t, *admitted);
          ++it;
          continue;
        }
      }
      it = queue.erase(it);
      auto placed = queued.find(task_id);
      contracts::route_directive route;
      if (placed != queued.end()) {
        route = std::move(placed->second.route);
        queued.erase(placed);
      }
      --slot->second;
      last_beat[t.task_id] = beat_clock().now();
      t.status = task_status::running;
      t.pool = pool_name;
      t.error.reset(); // the previous attempt's failure is in the lineage
      t.updated_at = now();
      contracts::dispatch_order order;
      order.execution_id = t.task_id + "/" + std::to_string(t.attempt);
      order.contract = m->second.contract;
      order.module_dir = m->second.dir;
      order.output_dir = (std::filesystem::path{config.data_dir} / "outputs"
                          / t.task_id / std::to_string(t.attempt))
                           .string();
      for (auto& [key, asset_id] : t.input_mapping) {
        auto& a = assets[asset_id];
        contracts::dispatched_input in;
        in.key = key;
        in.is_value = a.kind == contracts::asset_kind::value;
        in.path = config.relocation.resolve(a.uri);
        in.media_type = in.is_value ? a.dtype : a.media_type;
        in.value_json = a.value_json;
        in.sha256 = a.sha256;
        order.inputs.push_back(std::move(in));
      }
      for (auto& [key, value] : t.values) {
        contracts::dispatched_input in;
        in.key = key;
        in.is_value = true;
        in.value_json = value;
        order.inputs.push_back(std::move(in));
      }
      order.task = t;
      json::value payload{json::object{}};
      payload.set("pool", pool_name);
      payload.set("attempt", static_cast<int64_t>(t.attempt));
      payload.set("execution_id", order.execution_id);
      if (route.routing_sequence > 0)
        payload.set("routing_sequence",
                    static_cast<int64_t>(route.routing_sequence));
      if (!route.discarded.empty()) {
        json::array discarded;
        for (auto& d : route.discarded)
          discarded.push_back(json::object{{"pool", d.pool},
                                           {"reason", d.reason}});
        payload.set("discarded", json::value{std::move(discarded)});
      }
      if (probe != nullptr) {
        probe->probe_task = t.task_id;
        probe_of[t.task_id] = probe->target;
        payload.set("probe", probe->target);
      }
      // The route Lattice advised (`advice.lattice`, noted under the
      // pseudo-entity route:<task>) is a parent of the dispatch.
      auto route_entity = "route:" + t.task_id;
      std::vector<std::string> parents{t.task_id};
      if (batch_last.count(route_entity) > 0
          || last_packet.count(route_entity) > 0)
        parents.push_back(route_entity);
      std::vector<std::string> subjects{t.task_id};
      if (admitted)
        take(t, *admitted, payload, subjects);
      auto packet = add_packet("task.dispatched", std::move(subjects), parents,
                               std::move(payload), t.trace_id);
      batch_last.erase(route_entity);
      last_packet.erase(route_entity);
      put_task(t, packet);
      if (admitted)
        put_limits(packet);
      effects.dispatches.emplace_back(pool_name, std::move(order));
      if (probe != nullptr && probe == pool_q)
        break; // one probe of the pool at a time
    }
  }
  if (!limit_timers.empty())
    schedule_due(limit_timers.begin()->first); // a window that resets
  for (auto& [task_id, a] : refused) {
    auto found = tasks.find(task_id);
    if (found == tasks.end() || found->second.status != task_status::ready)
      continue;
    held.erase(task_id);
    fail_task(found->second, a.code,
              "admission predicate " + a.predicate + " does not hold: " + a.saw,
              false, 0, false, {});
  }
}

// -- results ------------------------------------------------------------------------

void zenith_state::fail_task(task_record& t, ec code, std::string message,
                             bool transient, size_t cause_packet,
                             bool cause_is_batch_packet,
                             const std::string& pointer) {
  (void) cause_packet;
  (void) cause_is_batch_packet;
  if (auto packet = mark_failed(t, code, std::move(message), transient, pointer))
    end_task(t, *packet, ec::upstream_failed, upstream_reason(t, code));
}

std::optional<size_t>
zenith_state::mark_failed(task_record& t, ec code, std::string message,
                          bool transient, const std::string& pointer) {
  return mark_failed(t, std::string{contracts::to_string(code)},
                     std::move(message), transient, pointer);
}

std::optional<size_t>
zenith_state::mark_failed(task_record& t, const std::string& code,
                          std::string message, bool transient,
                          const std::string& pointer) {
  auto previous = t.status;
  if (auto why = contracts::check_transition(previous, task_status::error)) {
    spdlog::error("zenith: refused to fail task {}: {}", t.task_id, why->message);
    return std::nullopt;
  }
  unready(t.task_id);
  awaiting_plan.erase(t.task_id);
  t.status = task_status::error;
  t.not_before.clear();
  t.error = contracts::task_error{code, message, transient, pointer};
  t.updated_at = now();
  release_holds(t);
  auto subjects = subjects_of(t);
  json::value payload{json::object{}};
  payload.set("code", code);
  payload.set("message", message);
  payload.set("transient", transient);
  if (!pointer.empty())
    payload.set("pointer", pointer);
  std::vector<std::string> parents{t.task_id};
  batch_ended.push_back(t.task_id);
  auto packet = add_packet("task.failed", subjects, parents, std::move(payload),
                    t.trace_id);
  // Tasks waiting to reuse its outputs (Paradox: reuse) run themselves.
  release_reusers(t.task_id);
  return packet;
}

std::string zenith_state::upstream_reason(const task_record& t, ec code,
                                          const std::string& cancelled) {
  auto out = "an input of this task failed: task " + t.task_id + " ("
             + std::string{contracts::to_string(code)} + ")";
  if (code == ec::upstream_cancelled && !cancelled.empty())
    out += " after task " + cancelled + " was cancelled";
  return out;
}

caf::error zenith_state::refuse_finished(const task_record& t,
                                         std::string_view what) {
  return make_error(ec::illegal_transition,
                    "task " + t.task_id + " is "
                      + std::string{contracts::to_string(t.status)}
                      + ": a finished task cannot be " + std::string{what},
                    "/status");
}

void zenith_state::end_task(const task_record& t, size_t packet, ec code,
                            const std::string& why) {
  // Depth first, in the order a recursion would take, but on a stack of our
  // own: a chain thousands of tasks deep must not overflow the thread's.
  struct level {
    /// The PENDING tasks that waited on the ended task's outputs.
    std::vector<std::string> dependants;
    /// The next of them to fail.
    size_t next = 0;
    /// The packet that ended the task: the cause of its dependants' end.
    size_t packet = 0;
    /// What their errors say.
    std::string why;
  };
  auto settle = [this](const task_record& ended, size_t cause, std::string reason) {
    level l{{}, 0, cause, std::move(reason)};
    put_task(ended, cause);
    // Its holds on its inputs go (released in memory by release_holds).
    for (auto& [key, id] : ended.input_mapping)
      batch.erase(storage::table::holds, storage::hold_key(id, ended.task_id),
                  cause);
    for (auto& [key, id] : ended.outputs) {
      auto& a = assets[id];
      if (a.status == asset_status::pending) {
        a.status = asset_status::failed;
        put_asset(a, cause);
        batch_ended.push_back(id);
      }
      if (auto w = waiting.find(id); w != waiting.end()) {
        l.dependants.insert(l.dependants.end(), w->second.begin(),
                            w->second.end());
        waiting.erase(w);
      }
    }
    return l;
  };
  std::vector<level> stack;
  stack.push_back(settle(t, packet, why));
  while (!stack.empty()) {
    auto& top = stack.back();
    if (top.next == top.dependants.size()) {
      stack.pop_back();
      continue;
    }
    auto& dep = tasks[top.dependants[top.next++]];
    if (dep.status != task_status::pending)
      continue;
    // The cause travels down: what waited on a cancelled task's outputs,
    // at any depth, ends upstream_cancelled, naming that task.
    auto failed = mark_failed(dep, code, top.why, false, {});
    if (!failed)
      continue;
    // `top` is not used past this point: the push may move it.
    stack.push_back(settle(dep, *failed, upstream_reason(dep, code, t.task_id)));
  }
}

void zenith_state::on_result(const contracts::execution_outcome& o) {
  auto i = tasks.find(o.task_id);
  if (i == tasks.end() || i->second.status != task_status::running
      || i->second.attempt != o.attempt) {
    spdlog::info("zenith: ignored a result for {} (not a running attempt)",
                 o.execution_id);
    if (i != tasks.end() && i->second.status == task_status::cancelled
        && !config.data_dir.empty()) {
      // The attempt may have ended before its pool got the stop (then the
      // pool kept its outputs): a cancelled task has no winning attempt,
      // nothing of it may stay. Usually gone already: a stat.
      auto folder = std::filesystem::path{config.data_dir} / "outputs"
                    / o.task_id / std::to_string(o.attempt);
      std::error_code err;
      std::filesystem::remove_all(folder, err);
      if (err)
        spdlog::warn("zenith: cannot remove {}: {}", folder.string(),
                     err.message());
    }
    return;
  }
  auto& t = i->second;
  if (awaiting_plan.count(t.task_id) > 0) {
    spdlog::info("zenith: ignored a second result for {}", o.execution_id);
    return;
  }
  last_beat.erase(t.task_id);
  if (auto slot = free_slots.find(t.pool); slot != free_slots.end())
    ++slot->second;
  if (!o.ok) {
    settle_alone(t, o.cost_usd_micro, false, "the attempt failed");
    auto code = o.error_code == ec::none ? ec::exit_code : o.error_code;
    attempt_failed(t,
                   o.module_error_code.empty()
                     ? std::string{contracts::to_string(code)}
                     : o.module_error_code,
                   o.error_message, o.transient, o.error_pointer, false);
    return;
  }
  // Every promised output must be among the produced ones (a `many`
  // output may have produced no file).
  const auto* contract = modules.count(t.module_ref) > 0
                           ? &modules.at(t.module_ref).contract
                           : nullptr;
  for (auto& [key, id] : t.outputs) {
    if (contract != nullptr)
      if (auto* spec = contract->find_output(key); spec && spec->many)
        continue;
    auto found = std::find_if(o.outputs.begin(), o.outputs.end(),
                              [&](auto& p) { return p.key == key; });
    if (found == o.outputs.end()) {
      settle_alone(t, o.cost_usd_micro, false, "the attempt failed");
      attempt_failed(t, std::string{contracts::to_string(ec::missing_output)},
                     "the run produced no output '" + key + "'", false, {},
                     false);
      return;
    }
  }
  {
    // Eclipse hears of a success only where it counts: a breaker's probe,
    // or a module or pool with failures since its last success (a success
    // resets their counts). Reporting every success would cost a message
    // entry per task for nothing.
    auto probe = probe_of.find(t.task_id);
    bool counted = failing.erase(contracts::module_target(t.module_ref)) > 0;
    counted = failing.erase(contracts::pool_target(t.pool)) > 0 || counted;
    if (probe != probe_of.end() || counted) {
      contracts::attempt_report rep;
      rep.task_id = t.task_id;
      rep.module_ref = t.module_ref;
      rep.pool = t.pool;
      rep.attempt = t.attempt;
      rep.ok = true;
      if (probe != probe_of.end()) {
        rep.probe = true;
        probe_of.erase(probe);
      }
      effects.reports.push_back(std::move(rep));
    }
  }
  avoid_pool.erase(t.task_id);
  t.status = task_status::done;
  t.error.reset();
  t.updated_at = now();
  release_holds(t);
  batch_ended.push_back(t.task_id);
  std::vector<std::string> subjects{t.task_id};
  json::value outputs{json::object{}};
  settle_outputs(t, o, subjects, outputs);
  for (auto& [key, id] : t.input_mapping)
    subjects.push_back(id);
  json::value payload{json::object{}};
  payload.set("outputs", std::move(outputs));
  payload.set("metrics", parse_or_null(o.metrics_json));
  if (!o.predicates_json.empty())
    payload.set("predicates", parse_or_null(o.predicates_json));
  auto settled = settle(t, o.cost_usd_micro, false, "the attempt succeeded",
                        subjects);
  if (!settled.is_null())
    payload.set("settled", std::move(settled));
  auto packet = add_packet("task.succeeded", subjects, {t.task_id},
                           std::move(payload), t.trace_id);
  put_task(t, packet);
  put_limits(packet);
  // Its holds on its inputs go (released in memory by release_holds).
  for (auto& [key, id] : t.input_mapping)
    batch.erase(storage::table::holds, storage::hold_key(id, t.task_id),
                packet);
  auto task_id = t.task_id;
  // Each file of a `many` output is a packet of its own, a child of the
  // success (a scrape's video and its metadata record: two per video).
  for (auto& id : settled_elements) {
    auto& a = assets[id];
    json::value said{json::object{}};
    said.set("task_id", task_id);
    auto bracket = a.label.find('[');
    said.set("output", a.label.substr(0, bracket));
    int64_t index = 0;
    if (bracket != std::string::npos
        && std::from_chars(a.label.data() + bracket + 1,
                           a.label.data() + a.label.size(), index).ec == std::errc{})
      said.set("index", index);
    said.set("media_type", a.media_type);
    said.set("sha256", a.sha256);
    if (a.size)
      said.set("size", *a.size);
    auto produced = add_packet_as("asset.produced", "zenith", {id}, {},
                                  std::move(said), t.trace_id, false, {packet});
    put_asset(a, produced);
  }
  settled_elements.clear();
  for (auto& [key, id] : t.outputs) {
    put_asset(assets[id], packet);
    wake_waiting(id);
  }
  // Tasks that waited to reuse this one's outputs (Paradox: reuse) take
  // them now.
  if (auto w = reuse_waiting.find(task_id); w != reuse_waiting.end()) {
    auto reusers = std::move(w->second);
    reuse_waiting.erase(w);
    for (auto& r : reusers) {
      auto found = tasks.find(r);
      if (found != tasks.end() && found->second.status == task_status::pending
          && !found->second.cleared)
        bind_reuse(found->second, tasks.at(task_id));
    }
  }
}

// -- operator actions ---------------------------------------------------------------

void zenith_state::on_heartbeat(const std::string& execution_id) {
  auto slash = execution_id.rfind('/');
  if (slash == std::string::npos)
    return;
  auto i = tasks.find(execution_id.substr(0, slash));
  if (i == tasks.end() || i->second.status != task_status::running
      || std::to_string(i->second.attempt) != execution_id.substr(slash + 1))
    return;
  last_beat[i->first] = beat_clock().now();
  // A sign of life renews the attempt's leases.
  if (auto r = reservations.find(i->first);
      r != reservations.end() && !r->second.leases.empty()) {
    auto now_ms = clock->now().time_since_epoch().count();
    for (auto& subject : r->second.leases)
      if (auto l = leases.find(subject);
          l != leases.end() && l->second.task_id == i->first)
        l->second.expires_ms = now_ms + l->second.ttl_ms;
  }
}

size_t zenith_state::check_heartbeats() {
  auto now = beat_clock().now();
  std::vector<std::string> lost;
  for (auto& [id, beat] : last_beat)
    if (now - beat > config.heartbeat_timeout)
      lost.push_back(id);
  std::sort(lost.begin(), lost.end()); // one order for every run
  for (auto& id : lost) {
    auto found = tasks.find(id);
    if (found == tasks.end() || found->second.status != task_status::running) {
      last_beat.erase(id);
      continue;
    }
    auto& t = found->second;
    auto silent = std::chrono::duration_cast<std::chrono::seconds>(
                    now - last_beat[id])
                    .count();
    spdlog::warn("zenith: no heartbeat for {} s from the worker running {}/{}: "
                 "the attempt is lost",
                 silent, id, t.attempt);
    // The worker is taken for lost: its slot counts as free again, and its
    // pool stops what may still run there before any re-run starts. Only
    // this attempt, which was running there, is charged for the loss;
    // Eclipse plans what follows (a retry, or poison_task).
    if (auto slot = free_slots.find(t.pool); slot != free_slots.end())
      ++slot->second;
    effects.stops.emplace_back(t.pool, id + "/" + std::to_string(t.attempt));
    last_beat.erase(id);
    settle_alone(t, -1, true, "its worker was lost");
    t.lost_attempts += 1;
    attempt_failed(t, std::string{contracts::to_string(ec::lost_worker)},
                   "no heartbeat from its worker in pool " + t.pool + " for "
                     + std::to_string(silent) + " s",
                   true, {}, true);
  }
  return lost.size();
}

caf::expected<task_record> zenith_state::cancel(const std::string& task_id) {
  auto i = tasks.find(task_id);
  if (i == tasks.end())
    return make_error(ec::not_found, "no task " + task_id);
  auto& t = i->second;
  if (contracts::is_terminal(t.status))
    return refuse_finished(t, "cancelled");
  if (auto why = contracts::check_transition(t.status, task_status::cancelled))
    return make_error(ec::illegal_transition, why->message, why->pointer);
  unready(t.task_id);
  for (auto& [key, id] : t.input_mapping)
    if (auto w = waiting.find(id); w != waiting.end())
      w->second.erase(std::remove(w->second.begin(), w->second.end(), task_id),
                      w->second.end());
  json::value payload{json::object{}};
  clearing.erase(task_id);
  bool attempt_over = awaiting_plan.erase(task_id) > 0;
  if (auto p = probe_of.find(task_id); p != probe_of.end()) {
    // A breaker's probe that will not report: another may go.
    if (auto q = quarantines.find(p->second); q != quarantines.end())
      q->second.probe_task.clear();
    probe_of.erase(p);
  }
  if (t.status == task_status::running && !attempt_over) {
    // Its pool stops the attempt once the cancellation is durable (the
    // stops leave before the dispatches). Its slot counts as free now, as
    // for a lost attempt: the pool queues an order while the stopping
    // worker finishes. Whatever the attempt reports later is ignored: it
    // is no longer the current attempt of a RUNNING task.
    auto execution_id = t.task_id + "/" + std::to_string(t.attempt);
    last_beat.erase(t.task_id);
    if (auto slot = free_slots.find(t.pool); slot != free_slots.end())
      ++slot->second;
    effects.stops.emplace_back(t.pool, execution_id);
    payload.set("stopped", execution_id);
    settle_alone(t, -1, true, "the task was cancelled while it ran");
  }
  held.erase(task_id);
  t.status = task_status::cancelled;
  t.not_before.clear();
  t.updated_at = now();
  release_holds(t);
  batch_ended.push_back(t.task_id);
  auto subjects = subjects_of(t);
  auto packet = add_packet("task.cancelled", subjects, {t.task_id},
                           std::move(payload), t.trace_id);
  release_reusers(t.task_id);
  // Its outputs were all promised (PENDING): they fail, and what waited on
  // them ends upstream_cancelled.
  end_task(t, packet, ec::upstream_cancelled,
           "an input of this task was cancelled: task " + task_id);
  return t;
}

caf::expected<task_record> zenith_state::set_priority(const std::string& task_id,
                                                      int32_t priority) {
  auto i = tasks.find(task_id);
  if (i == tasks.end())
    return make_error(ec::not_found, "no task " + task_id);
  auto& t = i->second;
  // Nothing may follow the packet that finished a task.
  if (contracts::is_terminal(t.status))
    return refuse_finished(t, "given another priority");
  // A READY task is routed again: its rank in its pool's queue comes from
  // its priority.
  bool was_ready = t.status == task_status::ready;
  unready(task_id);
  t.priority = priority;
  t.updated_at = now();
  if (was_ready)
    make_ready(t);
  auto packet = add_packet("task.priority_changed", {t.task_id}, {t.task_id},
                           json::object{{"priority", static_cast<int64_t>(priority)}},
                           t.trace_id);
  put_task(t, packet);
  return t;
}

caf::expected<std::string> zenith_state::enroll(const contracts::module_entry& e) {
  auto ref = e.contract.ref();
  if (auto i = modules.find(ref); i != modules.end()) {
    if (i->second.canonical_json == e.canonical_json) {
      if (e.dir.empty() || i->second.dir == e.dir)
        return ref;
      // The same contract found in another folder: its runs start there
      // from now on, after a restart too.
      auto packet = add_packet("module.moved", {ref}, {ref},
                               json::object{{"ref", ref},
                                            {"dir", e.dir},
                                            {"from", i->second.dir}},
                               ids->next_uuid());
      i->second.dir = e.dir;
      batch.put(storage::table::modules, ref,
                contracts::encode_module_row(i->second), packet);
      return ref;
    }
    return make_error(ec::immutable_ref,
                      ref + " is already registered with other content: "
                            "register a new version instead");
  }
  auto packet = add_packet("module.registered", {ref}, {},
                           json::object{{"ref", ref}}, ids->next_uuid());
  batch.put(storage::table::modules, ref, contracts::encode_module_row(e), packet);
  modules[ref] = e;
  return ref;
}

// -- the registry's schemas and policies ----------------------------------------------

caf::error zenith_state::recover_registry() {
  if (!config.registry)
    config.registry = std::make_shared<contracts::registry_store>();
  preflight_settings.resolve_schema
    = contracts::make_schema_resolver(config.registry);
  auto& r = *db->read;
  auto schema_rows = r.scan(storage::table::schemas, "");
  if (!schema_rows)
    return schema_rows.error();
  for (auto& [ref, text] : *schema_rows) {
    auto doc = parse_or_null(text);
    auto* schema = doc.find("schema");
    if (schema == nullptr)
      return make_error(ec::corruption, "schema row " + ref + " has no schema");
    contracts::schema_entry e{ref, json::serialize(*schema, json::style::canonical)};
    // A schema this build cannot compile stays registered (its ref stays
    // taken) but resolves to nothing: contracts naming it are invalid_ref.
    if (auto err = config.registry->add_schema(e))
      spdlog::error("zenith: the registered schema {} is not usable: {}", ref,
                    error_text(err));
    schemas[ref] = std::move(e.canonical_json);
  }
  auto policy_rows = r.scan(storage::table::policies, "");
  if (!policy_rows)
    return policy_rows.error();
  for (auto& [ref, text] : *policy_rows) {
    auto checked = contracts::check_policy_document(ref, parse_or_null(text));
    if (!checked)
      return make_error(ec::corruption, "policy row " + ref + " does not parse");
    if (auto err = config.registry->add_policy(*checked.entry))
      return make_error(ec::corruption, "policy row " + ref + ": "
                                          + error_text(err));
    policies[ref] = std::move(*checked.entry);
  }
  auto predicate_rows = r.scan(storage::table::predicates, "");
  if (!predicate_rows)
    return predicate_rows.error();
  for (auto& [ref, text] : *predicate_rows) {
    auto checked = contracts::check_predicate_document(ref, parse_or_null(text));
    if (!checked.entry)
      return make_error(ec::corruption, "predicate row " + ref + " does not parse");
    if (auto err = config.registry->add_predicate(*checked.entry))
      return make_error(ec::corruption, "predicate row " + ref + ": "
                                          + error_text(err));
    predicate_entries[ref] = std::move(*checked.entry);
  }
  // A first start: the default policy becomes part of the log.
  if (!policies.contains(std::string{contracts::default_policy_ref}))
    if (auto added = register_policy(contracts::default_policy()); !added)
      return added.error();
  return caf::none;
}

caf::expected<std::string>
zenith_state::register_schema(const contracts::schema_entry& e) {
  // The registry checked it; what crossed the wire is checked again (cheap:
  // compiled schemas are cached by their canonical text).
  auto checked = contracts::check_schema_text(e.ref, e.canonical_json);
  if (!checked) {
    auto& p = checked.problems.front();
    return make_error(p.code, p.message, p.pointer);
  }
  auto& entry = *checked.entry;
  if (auto i = schemas.find(entry.ref); i != schemas.end()) {
    if (i->second == entry.canonical_json)
      return entry.ref;
    return make_error(ec::immutable_ref,
                      "the schema " + entry.ref
                        + " is already registered with other content: "
                          "register a new version instead");
  }
  json::value payload{json::object{}};
  payload.set("ref", entry.ref);
  payload.set("sha256",
              contracts::to_hex(contracts::sha256(entry.canonical_json)));
  auto packet = add_packet("schema.registered", {entry.ref}, {},
                           std::move(payload), ids->next_uuid());
  json::value row{json::object{}};
  row.set("schema", parse_or_null(entry.canonical_json));
  batch.put(storage::table::schemas, entry.ref, json::serialize(row), packet);
  schemas[entry.ref] = entry.canonical_json;
  // Readers see it once it is durable: after the commit, before the reply.
  effects.replies.push_back([store = config.registry, entry] {
    if (auto err = store->add_schema(entry))
      spdlog::error("zenith: the store refused the schema {}: {}", entry.ref,
                    error_text(err));
  });
  return entry.ref;
}

caf::expected<std::string>
zenith_state::register_policy(const contracts::policy_entry& e) {
  if (auto problems = contracts::check_policy_entry(e); !problems.empty())
    return make_error(problems.front().code, problems.front().message,
                      problems.front().pointer);
  if (auto i = policies.find(e.ref); i != policies.end()) {
    if (i->second == e)
      return e.ref;
    return make_error(ec::immutable_ref,
                      "the policy " + e.ref
                        + " is already registered with other content: "
                          "register a new version instead");
  }
  auto row = contracts::to_json(e);
  json::value payload = *row.find("retry");
  payload.set("ref", e.ref);
  auto packet = add_packet("policy.registered", {e.ref}, {}, std::move(payload),
                           ids->next_uuid());
  batch.put(storage::table::policies, e.ref, json::serialize(row), packet);
  policies[e.ref] = e;
  effects.replies.push_back([store = config.registry, e] {
    if (auto err = store->add_policy(e))
      spdlog::error("zenith: the store refused the policy {}: {}", e.ref,
                    error_text(err));
  });
  return e.ref;
}

caf::expected<std::string>
zenith_state::register_predicate(const contracts::predicate_entry& e) {
  // The registry checked it; what crossed the wire is checked again.
  auto checked = contracts::check_predicate_document(e.ref, contracts::to_json(e));
  if (!checked.entry) {
    auto& p = checked.problems.front();
    return make_error(p.code, p.message, p.pointer);
  }
  if (auto i = predicate_entries.find(e.ref); i != predicate_entries.end()) {
    if (i->second == *checked.entry)
      return e.ref;
    return make_error(ec::immutable_ref,
                      "the predicate " + e.ref
                        + " is already registered with other content: "
                          "register a new version instead");
  }
  auto row = contracts::to_json(*checked.entry);
  auto packet = add_packet("predicate.registered", {e.ref}, {}, row,
                           ids->next_uuid());
  batch.put(storage::table::predicates, e.ref, json::serialize(row), packet);
  predicate_entries[e.ref] = *checked.entry;
  effects.replies.push_back([store = config.registry, entry = *checked.entry] {
    if (auto err = store->add_predicate(entry))
      spdlog::error("zenith: the store refused the predicate {}: {}", entry.ref,
                    error_text(err));
  });
  return e.ref;
}

// -- named API tokens ---------------------------------------------------------------

namespace {

/// Whether token `t` has expired at `at` (a token without expiry never does).
bool expired(const contracts::token_record& t, contracts::timestamp at) {
  if (!t.expires_at)
    return false;
  auto when = contracts::parse_timestamp(*t.expires_at);
  return !when || *when <= at;
}

} // namespace

caf::error zenith_state::recover_tokens() {
  auto rows = db->read->scan(storage::table::tokens, "");
  if (!rows)
    return rows.error();
  for (auto& [key, text] : *rows) {
    std::vector<contracts::problem> problems;
    auto t = contracts::token_record_from_json(parse_or_null(text), problems);
    if (!t || contracts::token_subject(t->name) != key)
      return make_error(ec::corruption, "token row " + key + " does not parse");
    tokens[t->name] = std::move(*t);
  }
  return caf::none;
}

caf::expected<contracts::token_record>
zenith_state::change_token(const contracts::token_change& c) {
  using contracts::role;
  using contracts::token_action;
  auto at = clock->now();
  if (auto problems = contracts::check_token_change(c, at); !problems.empty())
    return make_error(problems, ec::invalid_argument);
  auto key = contracts::token_subject(c.name);
  auto found = tokens.find(c.name);
  // Admins that still open something, `name` left out: a change that would
  // leave none is refused (nobody could manage tokens any more).
  auto other_live_admins = [&](const std::string& name) {
    size_t n = 0;
    for (auto& [other, t] : tokens)
      if (other != name && t.role == role::admin && !expired(t, at))
        ++n;
    return n;
  };
  auto hash_taken = [&](const std::string& hash) {
    for (auto& [other, t] : tokens)
      if (other != c.name && t.secret_sha256 == hash)
        return true;
    return false;
  };
  auto expiry = [](const std::optional<std::string>& e) {
    return e ? json::value{*e} : json::value{};
  };
  json::value payload{json::object{}};
  payload.set("name", c.name);
  if (c.action == token_action::create) {
    if (found != tokens.end())
      return make_error(ec::immutable_ref,
                        "the token '" + c.name
                          + "' exists: rotate it for a new secret, or revoke "
                            "it before making it again",
                        "/name");
    if (hash_taken(c.secret_sha256))
      return make_error(ec::invalid_argument,
                        "another token has this secret", "/secret_sha256");
    contracts::token_record t{c.name, *c.role, c.secret_sha256, now(), c.by,
                              c.expires_at};
    payload.set("role", to_string(t.role));
    payload.set("expires_at", expiry(t.expires_at));
    payload.set("operator", c.by);
    auto packet = add_packet("token.created", {key}, {key}, std::move(payload),
                             ids->next_uuid());
    batch.put(storage::table::tokens, key,
              json::serialize(contracts::to_json(t)), packet);
    tokens[c.name] = t;
    return t;
  }
  if (found == tokens.end())
    return make_error(ec::not_found, "no token '" + c.name + "'", "/name");
  auto t = found->second;
  bool last_admin = t.role == role::admin && !expired(t, at)
                    && other_live_admins(c.name) == 0;
  if (c.action == token_action::revoke) {
    if (last_admin)
      return make_error(ec::illegal_transition,
                        "'" + c.name
                          + "' is the last admin token: create another admin "
                            "token before revoking it",
                        "/name");
    payload.set("role", to_string(t.role));
    payload.set("operator", c.by);
    auto packet = add_packet("token.revoked", {key}, {key}, std::move(payload),
                             ids->next_uuid());
    batch.erase(storage::table::tokens, key, packet);
    tokens.erase(found);
    return t;
  }
  auto new_role = c.role.value_or(t.role);
  if (last_admin && new_role != role::admin)
    return make_error(ec::illegal_transition,
                      "'" + c.name
                        + "' is the last admin token: create another admin "
                          "token before giving it the role '"
                        + std::string{to_string(new_role)} + "'",
                      "/role");
  if (hash_taken(c.secret_sha256))
    return make_error(ec::invalid_argument, "another token has this secret",
                      "/secret_sha256");
  auto new_expiry = c.expires_at ? c.expires_at : t.expires_at;
  if (!c.expires_at && expired(t, at))
    return make_error(ec::invalid_argument,
                      "the token '" + c.name + "' expired at "
                        + t.expires_at.value_or("?")
                        + ": give it a new expiry with its new secret",
                      "/expires_at");
  payload.set("role", to_string(new_role));
  if (new_role != t.role)
    payload.set("previous_role", to_string(t.role));
  payload.set("expires_at", expiry(new_expiry));
  payload.set("operator", c.by);
  t.role = new_role;
  t.secret_sha256 = c.secret_sha256;
  t.expires_at = new_expiry;
  auto packet = add_packet("token.rotated", {key}, {key}, std::move(payload),
                           ids->next_uuid());
  batch.put(storage::table::tokens, key, json::serialize(contracts::to_json(t)),
            packet);
  found->second = t;
  return t;
}

// -- webhooks -----------------------------------------------------------------------

caf::error zenith_state::recover_webhooks() {
  auto rows = db->read->scan(storage::table::webhooks, "");
  if (!rows)
    return rows.error();
  for (auto& [id, text] : *rows) {
    auto w = contracts::webhook_record_from_json(parse_or_null(text));
    if (!w || w->id != id)
      return make_error(ec::corruption, "webhook row " + id + " does not parse");
    webhooks[id] = std::move(*w);
  }
  return caf::none;
}

caf::expected<contracts::webhook_record>
zenith_state::change_webhook(const contracts::webhook_change& c) {
  auto& id = c.record.id;
  auto payload_of = [&c](const contracts::webhook_record& w) {
    json::value payload{json::object{}};
    payload.set("url", w.url);
    json::array events;
    for (auto& e : w.events)
      events.emplace_back(e);
    payload.set("events", std::move(events));
    if (!c.by.empty())
      payload.set("operator", c.by);
    return payload;
  };
  if (c.op == contracts::webhook_op::remove) {
    auto found = webhooks.find(id);
    if (found == webhooks.end())
      return make_error(ec::not_found, "no webhook '" + id + "'");
    auto w = found->second;
    auto packet = add_packet("webhook.removed", {id}, {id}, payload_of(w),
                             ids->next_uuid());
    batch.erase(storage::table::webhooks, id, packet);
    batch_ended.push_back(id);
    webhooks.erase(found);
    return w;
  }
  if (auto problems = contracts::check_webhook_record(c.record);
      !problems.empty())
    return make_error(problems, ec::invalid_argument);
  if (webhooks.contains(id))
    return make_error(ec::invalid_argument, "the webhook " + id + " exists",
                      "/id");
  auto w = c.record;
  w.created_at = now();
  w.created_by = c.by;
  auto packet = add_packet("webhook.created", {id}, {}, payload_of(w),
                           ids->next_uuid());
  batch.put(storage::table::webhooks, id,
            json::serialize(contracts::to_json(w)), packet);
  webhooks[id] = w;
  return w;
}

caf::expected<asset_record> zenith_state::add_asset(asset_record a) {
  if (a.asset_id.empty())
    a.asset_id = ids->next_uuid();
  if (assets.count(a.asset_id) > 0)
    return make_error(ec::invalid_argument, "asset " + a.asset_id + " exists");
  a.status = asset_status::available;
  a.holds.clear();
  a.produced_by.clear();
  if (a.created_at.empty())
    a.created_at = now();
  json::value payload{json::object{}};
  payload.set("kind", std::string{contracts::to_string(a.kind)});
  if (!a.media_type.empty())
    payload.set("media_type", a.media_type);
  if (!a.dtype.empty())
    payload.set("dtype", a.dtype);
  if (!a.sha256.empty())
    payload.set("sha256", a.sha256);
  auto packet = add_packet("asset.registered", {a.asset_id}, {},
                           std::move(payload), ids->next_uuid());
  put_asset(a, packet);
  assets[a.asset_id] = a;
  return a;
}

caf::expected<std::string> zenith_state::erase_asset(const std::string& id) {
  auto i = assets.find(id);
  if (i == assets.end())
    return make_error(ec::not_found, "no asset " + id);
  auto& a = i->second;
  std::vector<std::string> holders = a.holds;
  if (!a.produced_by.empty() && a.status == asset_status::pending)
    holders.push_back(a.produced_by);
  if (!holders.empty()) {
    std::string list;
    for (auto& h : holders)
      list += (list.empty() ? "" : ", ") + h;
    return make_error(ec::asset_in_use,
                      "asset " + id + " is held by unfinished tasks: " + list);
  }
  auto packet = add_packet("asset.deleted", {id}, {id}, json::object{},
                           ids->next_uuid());
  batch.erase(storage::table::assets, id, packet);
  batch_ended.push_back(id);
  assets.erase(i);
  return id;
}

// -- retention ------------------------------------------------------------------------

caf::expected<contracts::purge_plan>
zenith_state::purge(const contracts::purge_plan& plan) {
  if (plan.dry_run)
    return make_error(ec::invalid_argument, "a dry run records nothing");
  contracts::purge_plan out;
  out.by = plan.by;
  out.at = plan.at;
  out.skipped = plan.skipped;
  auto trace = ids->next_uuid();
  auto by = plan.by.empty() ? std::string{contracts::retention_operator} : plan.by;
  for (auto& item : plan.tasks) {
    auto i = tasks.find(item.task_id);
    if (item.recorded || i == tasks.end() || !contracts::is_terminal(i->second.status)) {
      ++out.skipped;
      continue;
    }
    auto& t = i->second;
    auto accepted = item;
    accepted.assets.clear();
    if (item.whole) {
      // Its promised outputs and the elements of its `many` outputs.
      std::vector<std::string> files;
      for (auto& [key, id] : t.outputs)
        files.push_back(id);
      if (auto e = elements_of.find(t.task_id); e != elements_of.end())
        files.insert(files.end(), e->second.begin(), e->second.end());
      bool held = std::any_of(files.begin(), files.end(), [&](auto& id) {
        auto a = assets.find(id);
        return a != assets.end() && !a->second.holds.empty();
      });
      if (held) {
        ++out.skipped;
        continue;
      }
      for (auto& id : files)
        if (auto a = assets.find(id);
            a != assets.end() && a->second.kind == contracts::asset_kind::file
            && contracts::can_transition(a->second.status, asset_status::purged))
          accepted.assets.push_back(id);
    } else {
      // The last attempt stays: for a DONE task it is the one that won.
      std::erase(accepted.attempts, t.attempt);
      if (accepted.attempts.empty()) {
        ++out.skipped;
        continue;
      }
    }
    json::array attempts;
    for (auto n : accepted.attempts)
      attempts.emplace_back(static_cast<int64_t>(n));
    json::value payload{json::object{}};
    payload.set("attempts", std::move(attempts));
    payload.set("whole", accepted.whole);
    payload.set("bytes", accepted.bytes);
    payload.set("reason", accepted.reason);
    payload.set("operator", by);
    add_packet(std::string{contracts::files_removed_kind}, {t.task_id},
               {t.task_id}, std::move(payload), trace);
    batch_ended.push_back(t.task_id);
    for (auto& id : accepted.assets) {
      auto& a = assets[id];
      a.status = asset_status::purged;
      a.purged_at = now();
      json::value why{json::object{}};
      why.set("task_id", t.task_id);
      why.set("bytes", a.size.value_or(0));
      why.set("reason", "retention removed its content: " + accepted.reason);
      why.set("operator", by);
      auto packet = add_packet(std::string{contracts::asset_purged_kind}, {id},
                               {id, t.task_id}, std::move(why), trace);
      put_asset(a, packet);
      batch_ended.push_back(id);
    }
    out.tasks.push_back(std::move(accepted));
  }
  if (!plan.blobs.empty()) {
    std::unordered_set<std::string> referenced;
    for (auto& [id, a] : assets)
      contracts::add_blob_references(a, referenced);
    for (auto& blob : plan.blobs) {
      if (blob.recorded || referenced.count(blob.sha256) > 0) {
        ++out.skipped;
        continue;
      }
      auto subject = contracts::blob_subject(blob.sha256);
      json::value payload{json::object{}};
      payload.set("sha256", blob.sha256);
      payload.set("bytes", blob.bytes);
      payload.set("reason", blob.reason);
      payload.set("operator", by);
      add_packet(std::string{contracts::blob_removed_kind}, {subject}, {subject},
                 std::move(payload), trace);
      batch_ended.push_back(subject);
      out.blobs.push_back(blob);
    }
  }
  if (contracts::empty(out))
    return out;
  auto n = contracts::totals(out);
  json::value summary{json::object{}};
  summary.set("tasks", n.tasks);
  summary.set("folders", n.folders);
  summary.set("attempts", n.attempts);
  summary.set("assets", n.assets);
  summary.set("blobs", n.blobs);
  summary.set("bytes", n.bytes);
  summary.set("skipped", out.skipped);
  summary.set("operator", by);
  std::string gc{contracts::gc_subject};
  add_packet(std::string{contracts::gc_completed_kind}, {gc}, {gc},
             std::move(summary), trace);
  batch_ended.push_back(gc);
  out.trace_id = trace;
  return out;
}

// -- commit ---------------------------------------------------------------------------

caf::expected<std::pair<storage::sealed_commit, zenith_effects>>
zenith_state::seal() {
  std::pair<storage::sealed_commit, zenith_effects> out;
  auto fail = [this](caf::error err) {
    // Nothing of the batch is written: its requests stay in `effects`, and
    // the caller's stop_on answers them.
    batch.clear();
    batch_last.clear();
    batch_events.clear();
    batch_ended.clear();
    limits_dirty.clear();
    parent_read_error = caf::error{};
    return err;
  };
  if (parent_read_error)
    return fail(parent_read_error);
  write_limits();
  out.second = std::move(effects);
  effects = {};
  if (batch.empty()) {
    batch_last.clear();
    batch_events.clear();
    batch_ended.clear();
    return out;
  }
  auto packets = batch.packets();
  auto start = std::chrono::steady_clock::now();
  out.second.sealed_at = start;
  auto sealed = db->write.seal(batch);
  seal_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now()
                                                - start)
                    .count();
  if (!sealed) {
    effects = std::move(out.second);
    return fail(sealed.error());
  }
  ++commits;
  committed_packets += packets;
  largest_batch = std::max<uint64_t>(largest_batch, packets);
  auto& ids = sealed->receipt().ids;
  for (auto& [entity, index] : batch_last)
    last_packet[entity] = ids[index];
  for (auto& entity : batch_ended)
    if (auto i = batch_last.find(entity); i != batch_last.end())
      out.second.forget.emplace_back(entity, ids[i->second]);
  batch_ended.clear();
  if (config.on_commit) {
    auto first_seq = sealed->receipt().first_seq;
    for (size_t i = 0; i < ids.size(); ++i) {
      batch_events[i].packet_id = ids[i];
      batch_events[i].seq = first_seq + i;
    }
    out.second.events = std::move(batch_events);
  }
  batch_last.clear();
  batch_events.clear();
  out.first = std::move(*sealed);
  return out;
}

caf::expected<zenith_effects> zenith_state::commit() {
  advance_runs();
  auto sealed = seal();
  if (!sealed)
    return sealed.error();
  if (auto err = db->write.write(sealed->first)) {
    // Its requests are answered with the write's error by stop_on.
    effects = std::move(sealed->second);
    return err;
  }
  note_durable(sealed->second, std::chrono::steady_clock::now());
  return std::move(sealed->second);
}

void zenith_state::note_durable(const zenith_effects& fx,
                                std::chrono::steady_clock::time_point when) {
  if (fx.sealed_at)
    commit_latency.observe(
      std::chrono::duration<double>(when - *fx.sealed_at).count());
}

std::string zenith_state::metrics_text() const {
  std::string out;
  auto family = [&](std::string_view name, std::string_view type,
                    std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  };
  auto sample = [&](std::string_view name, std::string_view labels,
                    const std::string& value) {
    out += name;
    out += labels;
    out += ' ';
    out += value;
    out += '\n';
  };
  auto single = [&](std::string_view name, std::string_view type,
                    std::string_view help, const std::string& value) {
    family(name, type, help);
    sample(name, "", value);
  };
  // Counted as the rows are written (`put_task`), not by a scan.
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_status;
  for (auto s : contracts::all_task_statuses)
    by_status[std::string{contracts::to_string(s)}]
      = {task_counts[static_cast<size_t>(s)],
         status_entries[static_cast<size_t>(s)]};
  family("omniva_tasks", "gauge", "Tasks by status.");
  for (auto& [s, n] : by_status)
    sample("omniva_tasks", "{status=\"" + s + "\"}", std::to_string(n.first));
  family("omniva_task_status_entries_total", "counter",
         "Tasks that entered each status since the node started (a new task "
         "counts in its first status).");
  for (auto& [s, n] : by_status)
    sample("omniva_task_status_entries_total", "{status=\"" + s + "\"}",
           std::to_string(n.second));
  single("omniva_tasks_created_total", "counter",
         "Tasks created since the node started.",
         std::to_string(tasks_created));
  {
    // Pipeline runs by status (docs/pipelines.md), every status present.
    std::map<std::string, size_t> by_run_status;
    for (auto s : {contracts::run_status::running, contracts::run_status::paused,
                   contracts::run_status::done, contracts::run_status::failed,
                   contracts::run_status::cancelled})
      by_run_status[std::string{contracts::to_string(s)}] = 0;
    for (auto& [id, r] : runs)
      ++by_run_status[std::string{contracts::to_string(r.record.status)}];
    family("omniva_runs", "gauge", "Pipeline runs by status.");
    for (auto& [s, n] : by_run_status)
      sample("omniva_runs", "{status=\"" + s + "\"}", std::to_string(n));
    single("omniva_pipelines", "gauge", "Registered pipelines.",
           std::to_string(pipelines.size()));
    single("omniva_triggers", "gauge", "Triggers.",
           std::to_string(triggers.size()));
  }
  single("omniva_commits_total", "counter",
         "Commits (each one WriteBatch, one fsync).", std::to_string(commits));
  family("omniva_commit_seconds", "histogram",
         "Per commit: from the start of its seal to its write being durable.");
  commit_latency.render(out, "omniva_commit_seconds");
  single("omniva_packets_total", "counter", "Packets committed.",
         std::to_string(committed_packets));
  single("omniva_batch_packets_max", "gauge", "The largest commit, in packets.",
         std::to_string(largest_batch));
  single("omniva_batch_packets_mean", "gauge", "Packets per commit.",
         std::to_string(commits == 0 ? 0.0
                                     : static_cast<double>(committed_packets)
                                         / static_cast<double>(commits)));
  if (writer)
    single("omniva_commit_write_seconds_total", "counter",
           "Time the write thread spent writing commits (memtables, log, "
           "sync).",
           std::to_string(writer->write_seconds()));
  single("omniva_commit_seal_seconds_total", "counter",
         "Time Zenith spent sealing commits (checks, hashing, the batch).",
         std::to_string(seal_seconds));
  single("omniva_submissions_total", "counter", "Task submissions.",
         std::to_string(submissions));
  single("omniva_rejections_total", "counter",
         "Task submissions refused for their own problems (422: unreadable "
         "members, unknown module, pre-flight, no capable pool), once each.",
         std::to_string(rejections));
  single("omniva_idempotency_conflicts_total", "counter",
         "Task submissions refused because their idempotency key names a task "
         "made from other work (409).",
         std::to_string(idempotency_conflicts));
  single("omniva_ready_queue_depth", "gauge",
         "READY tasks waiting for a worker.",
         std::to_string(queued.size() + unroutable.size()));
  single("omniva_idempotency_keys", "gauge",
         "Idempotency keys remembered (those of the window).",
         std::to_string(idempotency.size()));
  single("omniva_last_packet_entries", "gauge",
         "Entities whose last packet Zenith keeps in memory.",
         std::to_string(last_packet.size()));
  family("omniva_pool_free_slots", "gauge", "Idle worker slots per pool.");
  for (auto& [pool, n] : free_slots)
    sample("omniva_pool_free_slots", "{pool=\"" + pool + "\"}",
           std::to_string(n));
  family("omniva_pool_queued", "gauge",
         "READY tasks routed to a pool, waiting for one of its slots.");
  for (auto& [pool, n] : free_slots) {
    auto q = queues.find(pool);
    sample("omniva_pool_queued", "{pool=\"" + pool + "\"}",
           std::to_string(q == queues.end() ? 0 : q->second.size()));
  }
  family("omniva_pool_running", "gauge",
         "Worker slots of a pool running an attempt.");
  for (auto& p : config.pools) {
    auto f = free_slots.find(p.name);
    uint32_t free = f == free_slots.end() ? 0 : f->second;
    sample("omniva_pool_running", "{pool=\"" + p.name + "\"}",
           std::to_string(p.workers > free ? p.workers - free : 0));
  }
  return out;
}

// -- the actor's side --------------------------------------------------------------------

void zenith_state::schedule_flush() {
  // Group commit: the first change after a flush schedules the next flush
  // behind everything already in the mailbox.
  if (!flush_pending) {
    flush_pending = true;
    self->send(self, atom::flush_v);
  }
}

void zenith_state::start_write_thread() {
  caf::weak_actor_ptr weak = self->ctrl();
  writer = std::make_unique<storage::write_queue>(
    db->write, [weak, reports = reports](uint64_t token, caf::error err) {
      auto written = std::chrono::steady_clock::now();
      {
        std::lock_guard<std::mutex> guard{reports->mtx};
        reports->done.emplace(token, err);
        reports->written_at.emplace(token, written);
      }
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<zenith_actor>(strong), atom::written_v,
                       token, std::move(err));
    });
}

size_t zenith_state::drop_stale_dispatches(zenith_effects& fx) const {
  auto stale = [this](const std::pair<std::string, contracts::dispatch_order>& d) {
    auto t = tasks.find(d.second.task.task_id);
    bool current = t != tasks.end() && t->second.status == task_status::running
                   && t->second.attempt == d.second.task.attempt
                   && awaiting_plan.count(t->first) == 0;
    if (!current)
      spdlog::info("zenith: not sending {}: the attempt was re-queued or ended "
                   "while its commit was written",
                   d.second.execution_id);
    return !current;
  };
  auto before = fx.dispatches.size();
  std::erase_if(fx.dispatches, stale);
  return before - fx.dispatches.size();
}

void zenith_state::run_effects(zenith_effects& fx) {
  for (auto& [entity, packet] : fx.forget)
    if (auto i = last_packet.find(entity);
        i != last_packet.end() && i->second == packet)
      last_packet.erase(i);
  for (auto& reply : fx.replies)
    reply();
  // Stop lost attempts first: a pool holds a task's re-run until the lost
  // attempt of it ended.
  for (auto& [pool, execution_id] : fx.stops)
    if (auto p = pool_actors.find(pool); p != pool_actors.end())
      self->send(p->second, atom::cancel_v, execution_id);
  drop_stale_dispatches(fx);
  for (auto& [pool, order] : fx.dispatches) {
    // The silence of an attempt counts from when its order leaves, not
    // from when its commit was sealed.
    if (auto b = last_beat.find(order.task.task_id); b != last_beat.end())
      b->second = beat_clock().now();
    auto p = pool_actors.find(pool);
    if (p != pool_actors.end())
      self->send(p->second, atom::dispatch_v, std::move(order));
  }
  if (config.on_commit && !fx.events.empty())
    config.on_commit(fx.events);
  ask_engines(fx);
}

void zenith_state::settle_in_flight() {
  if (!writer)
    return;
  writer.reset(); // writes (or refuses) what it holds, then stops
  std::map<uint64_t, caf::error> done;
  std::map<uint64_t, std::chrono::steady_clock::time_point> written_at;
  {
    std::lock_guard<std::mutex> guard{reports->mtx};
    done.swap(reports->done);
    written_at.swap(reports->written_at);
  }
  for (auto& [token, fx] : in_flight) {
    auto report = done.find(token);
    if (report == done.end()) {
      // Every commit handed over is reported before the thread stops; a
      // missing report is a bug, and its outcome is not known.
      for (auto& f : fx.aborts)
        f(make_error(ec::outcome_unknown,
                     "the node stopped while this change was being written: "
                     "it may or may not be committed"));
      continue;
    }
    if (report->second) {
      for (auto& f : fx.aborts)
        f(report->second);
      continue;
    }
    // Written: its requests get their values, its events go out. Its
    // dispatches do not: the node stops, and a restart runs them again.
    if (auto w = written_at.find(token); w != written_at.end())
      note_durable(fx, w->second);
    fx.dispatches.clear();
    fx.stops.clear();
    run_effects(fx);
  }
  in_flight.clear();
}

void zenith_state::abort_pending(const caf::error& err) {
  for (auto& f : effects.aborts)
    f(err);
  effects = {};
}

void zenith_state::stop_on(const caf::error& err) {
  // A failed commit leaves memory ahead of the disk: stop; a restart
  // recovers from the last commit. Every request that waited gets exactly
  // one answer: what the write thread held is written or refused first.
  spdlog::critical("zenith: commit failed, stopping the node (a restart "
                   "recovers from the last commit): {}",
                   error_text(err));
  settle_in_flight();
  abort_pending(make_error(ec::storage_error,
                           "this change was not committed (the node stopped "
                           "on a failed commit: "
                           + error_text(err) + ")"));
  self->quit(err);
}

void zenith_state::flush() {
  advance_runs();
  dispatch_ready();
  if (!config.write_thread) {
    auto fx = commit();
    if (!fx)
      stop_on(fx.error());
    else
      run_effects(*fx);
    return;
  }
  auto sealed = seal();
  if (!sealed) {
    stop_on(sealed.error());
    return;
  }
  if (sealed->first.empty() && in_flight.empty()) {
    run_effects(sealed->second); // nothing to write and nothing before it
    return;
  }
  auto token = next_token++;
  in_flight.emplace_back(token, std::move(sealed->second));
  writer->push(token, std::move(sealed->first));
}

void zenith_state::on_flush() {
  flush_pending = false;
  if (config.write_thread
      && in_flight.size() >= defaults::scheduling::max_commits_in_flight) {
    // The write thread has a commit under way and the next one queued:
    // this batch grows until the first is written.
    flush_after_write = true;
    return;
  }
  flush();
}

void zenith_state::on_written(uint64_t token, const caf::error& err) {
  // When it became durable (the write thread noted it); now if not noted.
  auto written = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> guard{reports->mtx};
    reports->done.erase(token);
    if (auto w = reports->written_at.find(token);
        w != reports->written_at.end()) {
      written = w->second;
      reports->written_at.erase(w);
    }
  }
  if (err) {
    // Its requests are answered with the write's error (outcome_unknown when
    // the commit may be durable), those behind it with what became of
    // theirs.
    if (!in_flight.empty() && in_flight.front().first == token) {
      for (auto& f : in_flight.front().second.aborts)
        f(err);
      in_flight.pop_front();
    }
    stop_on(err);
    return;
  }
  if (in_flight.empty() || in_flight.front().first != token) {
    spdlog::critical("zenith: write {} reported out of order", token);
    stop_on(contracts::make_error(ec::storage_error,
                                  "commits written out of order"));
    return;
  }
  auto done = std::move(in_flight.front().second);
  in_flight.pop_front();
  note_durable(done, written);
  run_effects(done);
  if (flush_after_write) {
    flush_after_write = false;
    flush();
  }
}

void zenith_state::on_tick() {
  // Housekeeping: run again what lost its worker, dispatch anything that
  // became runnable.
  check_heartbeats();
  forget_expired_keys();
  fire_triggers();
  // Paradox's scheduled audit: asked for here, recorded when it answers.
  if (config.audit_interval.count() > 0 && engines.paradox) {
    auto at = clock->now();
    if (!last_audit)
      last_audit = at; // the first audit one interval after the start
    else if (at - *last_audit >= config.audit_interval) {
      last_audit = at;
      self->request(engines.paradox, caf::infinite, atom::audit_v,
                    std::string{"schedule"})
        .then(
          [this](contracts::audit_report& r) {
            auto recorded = record_audit(std::move(r));
            if (!recorded) {
              spdlog::error("zenith: cannot record an audit: {}",
                            error_text(recorded.error()));
              return;
            }
            effects.replies.push_back([this, name = "audit:" + recorded->audit_id] {
              last_packet.erase(name);
            });
            schedule_flush();
          },
          [](caf::error& err) {
            spdlog::error("zenith: the scheduled audit failed: {}",
                          error_text(err));
          });
    }
  }
  schedule_flush();
  self->delayed_send(self, config.control_cycle, atom::tick_v);
}

void zenith_state::on_exit(const caf::exit_msg& msg) {
  // Stopping (node::stop): the write thread writes what it holds; those
  // commits take effect as usual, and what was not sealed is answered with
  // an error.
  settle_in_flight();
  abort_pending(contracts::make_error(ec::storage_error,
                                      "the node stopped before this change "
                                      "was committed"));
  self->quit(msg.reason);
}

template <class T>
caf::result<T> zenith_state::after_commit(caf::expected<T> r) {
  if (!r)
    return r.error();
  auto promise = self->make_response_promise<T>();
  effects.replies.push_back(
    [promise, value = std::move(*r)]() mutable { promise.deliver(value); });
  effects.aborts.push_back(
    [promise](const caf::error& err) mutable { promise.deliver(err); });
  schedule_flush();
  return promise;
}

caf::result<contracts::submit_result>
zenith_state::handle_submit(const contracts::task_request& req) {
  auto r = submit(req);
  bool conflict = !r.ok && r.problems.size() == 1
                  && r.problems.front().code == ec::idempotency_conflict;
  if (!r.ok && !conflict)
    return r; // nothing to commit: answer at once
  // A duplicate, or a conflict, is answered behind the commits in flight,
  // one of which may be the one that creates the task its key names (which
  // does not exist until it is written).
  return after_commit(caf::expected<contracts::submit_result>{std::move(r)});
}

void zenith_state::handle_result(const contracts::execution_outcome& outcome) {
  on_result(outcome);
  schedule_flush();
}

// -- the behavior ------------------------------------------------------------------------

zenith_actor::behavior_type
zenith(zenith_actor::stateful_pointer<zenith_state> self, zenith_config config,
       std::shared_ptr<storage::writable_database> db,
       std::map<std::string, pool_actor> pools, engine_set engines) {
  auto& st = self->state;
  st.self = self;
  st.config = std::move(config);
  st.db = std::move(db);
  st.pool_actors = std::move(pools);
  st.engines = std::move(engines);
  if (!st.engines.paradox || !st.engines.eclipse || !st.engines.lattice)
    spdlog::critical("zenith: started without its engines: new tasks will "
                     "wait for advice that never comes");
  if (st.config.make_ids)
    st.ids = st.config.make_ids();
  else
    st.ids = std::make_unique<contracts::random_id_source>();
  if (st.config.make_clock) {
    st.clock = st.config.make_clock();
  } else {
    st.clock = std::make_unique<contracts::system_clock>();
    st.span_clock = std::make_unique<contracts::steady_clock_source>();
  }
  if (auto err = st.recover()) {
    spdlog::critical("zenith: cannot recover the node's state: {}",
                     zenith_state::error_text(err));
    self->quit(err);
  }
  st.schedule_flush();
  self->delayed_send(self, st.config.control_cycle, atom::tick_v);
  if (!st.backoffs.empty())
    st.schedule_due(st.backoffs.begin()->first);
  if (!st.cooldowns.empty())
    st.schedule_due(st.cooldowns.begin()->first);
  if (st.config.write_thread)
    st.start_write_thread();
  self->set_exit_handler(
    [self](caf::exit_msg& msg) { self->state.on_exit(msg); });
  return {
    [self](atom::submit, const contracts::task_request& req) {
      return self->state.on_behalf_of(req.requested_by, [&] {
        return self->state.handle_submit(req);
      });
    },
    [self](atom::result, const contracts::execution_outcome& o) {
      self->state.handle_result(o);
    },
    [self](atom::heartbeat, const std::string& execution_id) {
      self->state.on_heartbeat(execution_id);
    },
    [self](atom::cancel, const std::string& id, const std::string& by) {
      auto& st = self->state;
      return st.after_commit(st.on_behalf_of(by, [&] { return st.cancel(id); }));
    },
    [self](atom::priority, const std::string& id, int32_t p,
           const std::string& by) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(by, [&] { return st.set_priority(id, p); }));
    },
    [self](atom::enroll, const contracts::module_entry& e,
           const std::string& by) {
      auto& st = self->state;
      return st.after_commit(st.on_behalf_of(by, [&] { return st.enroll(e); }));
    },
    [self](atom::schema, const contracts::schema_entry& e,
           const std::string& by) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(by, [&] { return st.register_schema(e); }));
    },
    [self](atom::policy, const contracts::policy_entry& p,
           const std::string& by) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(by, [&] { return st.register_policy(p); }));
    },
    [self](atom::predicate, const contracts::predicate_entry& p,
           const std::string& by) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(by, [&] { return st.register_predicate(p); }));
    },
    [self](atom::token, const contracts::token_change& c) {
      return self->state.after_commit(self->state.change_token(c));
    },
    [self](atom::webhook, const contracts::webhook_change& c) {
      return self->state.after_commit(self->state.change_webhook(c));
    },
    [self](atom::add, const contracts::asset_record& a,
           const std::string& by) {
      auto& st = self->state;
      return st.after_commit(st.on_behalf_of(by, [&] { return st.add_asset(a); }));
    },
    [self](atom::erase, const std::string& id, const std::string& by) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(by, [&] { return st.erase_asset(id); }));
    },
    [self](atom::purge, const contracts::purge_plan& plan) {
      return self->state.after_commit(self->state.purge(plan));
    },
    [self](atom::quarantine, const contracts::quarantine_change& c) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(c.by, [&] { return st.change_quarantine(c); }));
    },
    [self](atom::retry, const std::string& id, const std::string& by) {
      auto& st = self->state;
      return st.after_commit(st.on_behalf_of(by, [&] { return st.retry(id); }));
    },
    [self](atom::audit, const std::string& by) {
      return self->state.handle_audit(by);
    },
    [self](atom::metrics) { return self->state.metrics_text(); },
    [self](atom::pipeline, const std::string& text, const std::string& by)
      -> caf::result<contracts::pipeline_registration> {
      auto& st = self->state;
      auto r = st.on_behalf_of(by, [&] { return st.register_pipeline(text); });
      if (!r.ok || r.unchanged)
        return r;
      return st.after_commit(
        caf::expected<contracts::pipeline_registration>{std::move(r)});
    },
    [self](atom::personas, const std::string& ref, const std::string& text,
           const std::string& by) -> caf::result<contracts::personas_registration> {
      auto& st = self->state;
      auto r = st.on_behalf_of(by, [&] { return st.register_personas(ref, text); });
      if (!r.ok || r.unchanged)
        return r;
      return st.after_commit(
        caf::expected<contracts::personas_registration>{std::move(r)});
    },
    [self](atom::run, const contracts::run_request& req)
      -> caf::result<contracts::run_result> {
      auto& st = self->state;
      auto r = st.on_behalf_of(req.requested_by,
                               [&] { return st.start_run(req); });
      if (!r.ok)
        return r;
      return st.after_commit(caf::expected<contracts::run_result>{std::move(r)});
    },
    [self](atom::run, const contracts::run_change& c) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(c.requested_by, [&] { return st.change_run(c); }));
    },
    [self](atom::view, const std::string& run_id) {
      // Behind the commits in flight: a run just started is visible.
      return self->state.after_commit(self->state.run_view(run_id));
    },
    [self](atom::view, const contracts::run_query& q) {
      return self->state.after_commit(self->state.run_page(q));
    },
    [self](atom::trigger, const contracts::trigger_change& c) {
      auto& st = self->state;
      return st.after_commit(
        st.on_behalf_of(c.requested_by, [&] { return st.change_trigger(c); }));
    },
    [self](atom::limits, const contracts::limits_request& r) {
      auto& st = self->state;
      return st.after_commit(st.on_behalf_of(r.by, [&] { return st.limits(r); }));
    },
    [self](atom::trigger) {
      std::vector<contracts::trigger_record> out;
      for (auto& [id, t] : self->state.triggers)
        out.push_back(t);
      return out;
    },
    [self](atom::sync) {
      return self->state.after_commit(
        caf::expected<uint64_t>{self->state.commits});
    },
    [self](atom::flush) { self->state.on_flush(); },
    [self](atom::written, uint64_t token, const caf::error& err) {
      self->state.on_written(token, err);
    },
    [self](atom::tick) { self->state.on_tick(); },
    [self](atom::due) {
      self->state.on_due();
      self->state.schedule_flush();
    },
  };
}

} // namespace omniva::actors
