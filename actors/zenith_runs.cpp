// Zenith's run engine (docs/pipelines.md): pipelines registered whole, runs
// whose tasks Zenith creates as data arrives, fan-outs over lists decided
// once (the run's row records each in the commit that creates its tasks),
// fan-ins once every gathered task ended, and triggers that start runs on a
// schedule.
//
// Branches are named by element indices ("2/0"); a step's instance in a
// branch is "<step>#<branch>". What the engine knows beyond the run's row
// is derived from the run's tasks (`task_record::run_id`, `step`,
// `branch`), so recovery rebuilds it and completes whatever a crash
// interrupted, idempotently.

#include "actors/zenith.hpp"
#include "contracts/hex.hpp"
#include "contracts/lattice.hpp"
#include "contracts/packet.hpp"
#include "contracts/pantheon.hpp"
#include "contracts/pipeline.hpp"
#include "contracts/preflight.hpp"
#include "contracts/run.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

namespace omniva::actors {

using contracts::asset_record;
using contracts::asset_status;
using contracts::ec;
using contracts::pipeline_step;
using contracts::run_status;
using contracts::step_kind;
using contracts::step_source;
using contracts::task_record;
using contracts::task_status;

namespace {

size_t depth_of(std::string_view branch) {
  return branch.empty() ? 0 : std::count(branch.begin(), branch.end(), '/') + 1;
}

/// The first `depth` components of `branch`.
std::string prefix_of(const std::string& branch, size_t depth) {
  if (depth == 0)
    return {};
  size_t seen = 0;
  for (size_t i = 0; i < branch.size(); ++i)
    if (branch[i] == '/' && ++seen == depth)
      return branch.substr(0, i);
  return branch;
}

/// Whether `branch` is `prefix` or lies below it.
bool extends(std::string_view branch, std::string_view prefix) {
  if (prefix.empty())
    return true;
  return branch.size() >= prefix.size()
         && branch.substr(0, prefix.size()) == prefix
         && (branch.size() == prefix.size() || branch[prefix.size()] == '/');
}

std::vector<uint32_t> components(std::string_view branch) {
  std::vector<uint32_t> out;
  while (!branch.empty()) {
    auto slash = branch.find('/');
    auto part = branch.substr(0, slash);
    uint32_t n = 0;
    std::from_chars(part.data(), part.data() + part.size(), n);
    out.push_back(n);
    if (slash == std::string_view::npos)
      break;
    branch.remove_prefix(slash + 1);
  }
  return out;
}

std::string child_branch(const std::string& branch, size_t index) {
  return branch.empty() ? std::to_string(index)
                        : branch + "/" + std::to_string(index);
}

std::string instance_key(std::string_view step, std::string_view branch) {
  std::string key{step};
  key += '#';
  key += branch;
  return key;
}

std::pair<std::string, std::string> split_key(const std::string& key) {
  auto hash = key.find('#');
  return {key.substr(0, hash), key.substr(hash + 1)};
}

int64_t to_ms(contracts::timestamp t) {
  return t.time_since_epoch().count();
}

contracts::timestamp from_ms(int64_t ms) {
  return contracts::timestamp{std::chrono::milliseconds{ms}};
}

json::value counts_json(const std::map<std::string, size_t>& counts,
                        size_t total) {
  json::value out{json::object{}};
  for (auto s : contracts::all_task_statuses)
    out.set(std::string{contracts::to_string(s)}, int64_t{0});
  for (auto& [k, n] : counts)
    out.set(k, static_cast<int64_t>(n));
  out.set("total", static_cast<int64_t>(total));
  return out;
}

/// Reads a JSON asset's content: a VALUE's value, a FILE's file.
std::optional<json::value> read_json_asset(const asset_record& a,
                                           const storage::data_relocation& rel) {
  if (a.kind == contracts::asset_kind::value) {
    auto parsed = json::parse(a.value_json);
    if (!parsed)
      return std::nullopt;
    return std::move(*parsed.doc);
  }
  auto parsed = json::parse_file(rel.resolve(a.uri));
  if (!parsed)
    return std::nullopt;
  return std::move(*parsed.doc);
}

/// The steps a collect waits for: the step it gathers and everything that
/// step depends on, at any depth.
std::set<std::string> upstream_of(const contracts::pipeline_spec& p,
                                  const pipeline_step& c) {
  std::set<std::string> out;
  if (!c.collect)
    return out;
  std::vector<std::string> stack{c.collect->step};
  while (!stack.empty()) {
    auto d = stack.back();
    stack.pop_back();
    if (!out.insert(d).second)
      continue;
    if (auto* ds = p.find_step(d))
      stack.insert(stack.end(), ds->depends_on.begin(), ds->depends_on.end());
  }
  return out;
}

/// Whether step `s` depends on step `on`, at any depth.
bool depends_on(const contracts::pipeline_spec& p, const std::string& s,
                const std::string& on) {
  std::vector<std::string> stack{s};
  std::set<std::string> seen;
  while (!stack.empty()) {
    auto d = stack.back();
    stack.pop_back();
    if (!seen.insert(d).second)
      continue;
    if (auto* ds = p.find_step(d))
      for (auto& x : ds->depends_on) {
        if (x == on)
          return true;
        stack.push_back(x);
      }
  }
  return false;
}

bool failed_on_its_own(const task_record& t) {
  if (t.status == task_status::cancelled)
    return true;
  if (t.status != task_status::error)
    return false;
  return !t.error
         || (t.error->code != contracts::to_string(ec::upstream_failed)
             && t.error->code != contracts::to_string(ec::upstream_cancelled));
}

} // namespace

// -- rows and packets ---------------------------------------------------------------

void zenith_state::put_run(const contracts::run_record& r, size_t packet) {
  batch.put(storage::table::runs, r.run_id,
            json::serialize(contracts::to_json(r)), packet);
}

size_t zenith_state::add_run_packet(run_state& r, std::string kind,
                                    json::value payload,
                                    std::vector<std::string> extra_subjects) {
  std::vector<std::string> subjects{r.record.run_id};
  subjects.insert(subjects.end(), extra_subjects.begin(), extra_subjects.end());
  payload.set("run_id", r.record.run_id);
  payload.set("pipeline", r.record.pipeline_ref);
  return add_packet(std::move(kind), std::move(subjects), {r.record.run_id},
                    std::move(payload), r.record.run_id);
}

// -- pipelines ----------------------------------------------------------------------

contracts::pipeline_registration
zenith_state::register_pipeline(const std::string& text) {
  contracts::pipeline_registration out;
  contracts::pipeline_check_options opts;
  opts.find_module = [this](std::string_view ref) -> const contracts::module_contract* {
    auto m = modules.find(std::string{ref});
    return m == modules.end() ? nullptr : &m->second.contract;
  };
  if (config.registry) {
    opts.resolve_schema = contracts::make_schema_resolver(config.registry);
    opts.schema_document = [store = config.registry](std::string_view id) {
      return store->schema_document(id);
    };
  }
  // A select by "pantheon" may name any personas registered here.
  opts.find_personas = [this](std::string_view ref) {
    return personas.count(std::string{ref}) > 0;
  };
  opts.find_policy = [this](std::string_view ref) {
    return policies.count(std::string{ref}) > 0;
  };
  auto checked = contracts::check_pipeline_text(text, opts);
  if (!checked) {
    out.problems = std::move(checked.problems);
    return out;
  }
  auto& p = *checked.pipeline;
  auto ref = p.ref();
  if (auto held = pipelines.find(ref); held != pipelines.end()) {
    if (held->second->document_json != p.document_json) {
      out.problems.push_back({ec::immutable_ref, "/version",
                              "the pipeline " + ref
                                + " is registered with other content: "
                                  "register a new version"});
      return out;
    }
    out.ok = true;
    out.unchanged = true;
    out.pipeline = *held->second;
    return out;
  }
  json::value payload{json::object{}};
  payload.set("ref", ref);
  payload.set("steps", static_cast<int64_t>(p.steps.size()));
  auto packet = add_packet("pipeline.registered", {ref}, {}, std::move(payload),
                           ids->next_uuid());
  batch.put(storage::table::pipelines, ref, p.document_json, packet);
  auto shared = std::make_shared<const contracts::pipeline_spec>(p);
  pipelines[ref] = shared;
  if (config.registry)
    effects.replies.push_back([store = config.registry, shared] {
      if (auto err = store->add_pipeline(*shared))
        spdlog::warn("zenith: the registry store refused pipeline {}",
                     shared->ref());
    });
  out.ok = true;
  out.pipeline = std::move(p);
  return out;
}

// -- personas -------------------------------------------------------------------------

std::map<std::string, zenith_state::personas_slot>
zenith_state::built_in_personas() {
  std::map<std::string, personas_slot> out;
  out[std::string{pantheon::default_personas_ref}] =
    personas_slot{pantheon::default_personas(), pantheon::default_personas_json()};
  return out;
}

contracts::personas_registration
zenith_state::register_personas(const std::string& ref, const std::string& text) {
  contracts::personas_registration out;
  out.ref = ref;
  auto checked = pantheon::check_personas_text(ref, text);
  if (!checked.entry) {
    out.problems = std::move(checked.problems);
    return out;
  }
  if (auto held = personas.find(ref); held != personas.end()) {
    if (held->second.canonical_json != checked.canonical_json) {
      out.problems.push_back(
        {ec::immutable_ref, "/ref",
         ref == pantheon::default_personas_ref
           ? std::string{"personas@1 are built in and cannot be replaced: "
                         "register your personas under another ref "
                         "(personas@2, mine@1)"}
           : "the personas " + ref
               + " are registered with other content: register a new "
                 "version"});
      return out;
    }
    out.ok = true;
    out.unchanged = true;
    out.document_json = held->second.canonical_json;
    return out;
  }
  json::value payload{json::object{}};
  payload.set("ref", ref);
  json::array agents;
  for (auto& a : checked.entry->agents)
    agents.push_back(json::value{a.agent});
  payload.set("agents", json::value{std::move(agents)});
  auto packet = add_packet("personas.registered", {ref}, {}, std::move(payload),
                           ids->next_uuid());
  batch.put(storage::table::personas, ref, checked.canonical_json, packet);
  personas[ref] = personas_slot{*checked.entry, checked.canonical_json};
  if (config.registry)
    effects.replies.push_back(
      [store = config.registry, ref, doc = checked.canonical_json] {
        if (auto err = store->add_personas(ref, doc))
          spdlog::warn("zenith: the registry store refused personas {}", ref);
      });
  out.ok = true;
  out.document_json = std::move(checked.canonical_json);
  return out;
}

// -- starting a run -----------------------------------------------------------------

contracts::run_result zenith_state::start_run(const contracts::run_request& req,
                                             bool check_only) {
  contracts::run_result out;
  auto problems = req.problems;
  auto found = pipelines.find(req.pipeline_ref);
  if (found == pipelines.end()) {
    problems.push_back({ec::not_found, "/pipeline",
                        "no pipeline '" + req.pipeline_ref + "'"});
    out.problems = std::move(problems);
    return out;
  }
  auto pipeline = found->second;
  // The run's inputs are checked as a module's would be: the pipeline's
  // inputs are a contract's inputs.
  contracts::module_contract as_contract;
  as_contract.name = pipeline->name;
  as_contract.version = pipeline->version;
  as_contract.inputs = pipeline->inputs;
  contracts::task_request as_request;
  as_request.module_ref = pipeline->ref();
  as_request.input_mapping = req.inputs;
  as_request.values = req.values;
  contracts::asset_view view{
    [this](std::string_view id) -> const asset_record* {
      auto i = assets.find(std::string{id});
      return i == assets.end() ? nullptr : &i->second;
    },
    [this](std::string_view id) { return promise_of(id); }};
  auto checked = contracts::preflight(as_contract, as_request, view,
                                      preflight_settings);
  for (auto& p : checked.problems) {
    if (p.pointer.rfind("/input_mapping", 0) == 0)
      p.pointer = "/inputs" + p.pointer.substr(14);
    // Pre-flight speaks of a module; here it is the pipeline.
    auto module = "the module " + pipeline->ref();
    if (auto at = p.message.find(module); at != std::string::npos)
      p.message.replace(at, module.size(), "the pipeline " + pipeline->ref());
    problems.push_back(std::move(p));
  }
  if (check_only) {
    out.problems = std::move(problems);
    out.ok = out.problems.empty();
    return out;
  }
  for (size_t i = 0; i < pipeline->steps.size(); ++i) {
    auto& s = pipeline->steps[i];
    auto m = modules.find(s.module_ref);
    if (m == modules.end())
      problems.push_back({ec::module_not_found,
                          "/steps/" + std::to_string(i) + "/module",
                          "no module " + s.module_ref + " is registered"});
    else if (pool_for(m->second.contract) == nullptr)
      problems.push_back({ec::no_capable_pool,
                          "/steps/" + std::to_string(i) + "/module",
                          "no worker pool has the resources " + s.module_ref
                            + " needs"});
  }
  if (!problems.empty() || !checked.task) {
    out.problems = std::move(problems);
    return out;
  }
  auto& resolved = checked.task->request;
  run_state r;
  r.pipeline = pipeline;
  auto& rec = r.record;
  rec.run_id = ids->next_uuid();
  rec.pipeline_ref = pipeline->ref();
  rec.status = run_status::running;
  rec.inputs = resolved.input_mapping;
  rec.values = resolved.values;
  rec.mode = config.force_mock ? contracts::execution_mode::mock : req.mode;
  rec.priority = req.priority;
  rec.trigger_id = req.trigger_id;
  rec.requested_by = requester;
  rec.created_at = rec.updated_at = now();
  auto id = rec.run_id;
  auto [slot, added] = runs.emplace(id, std::move(r));
  run_order.push_back(id);
  auto& run = slot->second;
  json::value payload{json::object{}};
  json::value inputs{json::object{}};
  std::vector<std::string> subjects;
  for (auto& [k, v] : run.record.inputs) {
    inputs.set(k, v);
    subjects.push_back(v);
  }
  payload.set("inputs", std::move(inputs));
  if (!run.record.trigger_id.empty())
    payload.set("trigger_id", run.record.trigger_id);
  payload.set("mode", std::string{contracts::to_string(run.record.mode)});
  payload.set("final_decision_source", "automation");
  auto packet = add_run_packet(run, "run.started", std::move(payload), subjects);
  put_run(run.record, packet);
  open_branch(run, {}, {});
  finish_run_if_done(run);
  out.ok = true;
  out.run = run.record;
  return out;
}

// -- creating the tasks of a branch ---------------------------------------------------

void zenith_state::open_branch(run_state& r, const std::vector<std::string>& scope,
                               const std::string& branch) {
  if (!scope.empty())
    r.branches[scope.back()].insert(branch);
  // Until nothing more can be made: a step that waits on a collect created
  // in this pass is made in the next.
  for (bool progress = true; progress && !contracts::is_final(r.record.status);) {
    progress = false;
    for (auto& s : r.pipeline->steps) {
      if (s.scope == scope && s.kind == step_kind::single
          && r.instances.count(instance_key(s.id, branch)) == 0)
        progress = try_create(r, s, branch, std::nullopt) || progress;
    }
    for (auto& s : r.pipeline->steps) {
      if (s.kind == step_kind::for_each && s.scope.size() == scope.size() + 1
          && std::equal(scope.begin(), scope.end(), s.scope.begin()))
        watch_fan_out(r, s, branch);
    }
    for (auto& s : r.pipeline->steps) {
      if (s.kind == step_kind::collect && s.scope == scope
          && r.instances.count(instance_key(s.id, branch)) == 0) {
        try_collect(r, s, branch);
        progress = progress || r.instances.count(instance_key(s.id, branch)) > 0;
      }
    }
  }
}

bool zenith_state::try_create(run_state& r, const pipeline_step& s,
                              const std::string& branch,
                              std::optional<size_t> decision,
                              const std::string& item_asset) {
  auto key = instance_key(s.id, branch);
  if (r.instances.count(key) > 0)
    return false;
  contracts::task_request req;
  req.module_ref = s.module_ref;
  req.priority = r.record.priority;
  req.mode = r.record.mode;
  req.trace_id = r.record.run_id;
  for (auto& [k, src] : s.inputs) {
    switch (src.kind) {
      case contracts::source_kind::value:
        req.values[k] = src.value_json;
        break;
      case contracts::source_kind::pipeline_input:
        if (auto a = r.record.inputs.find(src.key); a != r.record.inputs.end())
          req.input_mapping[k] = a->second;
        else if (auto v = r.record.values.find(src.key);
                 v != r.record.values.end())
          req.values[k] = v->second;
        break;
      case contracts::source_kind::item:
      case contracts::source_kind::collected:
        if (item_asset.empty())
          return false;
        req.input_mapping[k] = item_asset;
        break;
      case contracts::source_kind::step: {
        auto* from = r.pipeline->find_step(src.step);
        if (from == nullptr)
          return false;
        auto inst = r.instances.find(
          instance_key(src.step, prefix_of(branch, from->scope.size())));
        if (inst == r.instances.end())
          return false; // not created yet: a later pass makes this one
        auto& producer = tasks.at(inst->second);
        if (src.step_input) {
          if (auto a = producer.input_mapping.find(src.key);
              a != producer.input_mapping.end())
            req.input_mapping[k] = a->second;
          else if (auto v = producer.values.find(src.key);
                   v != producer.values.end())
            req.values[k] = v->second;
        } else if (auto o = producer.outputs.find(src.key);
                   o != producer.outputs.end()) {
          req.input_mapping[k] = o->second;
        }
        break;
      }
    }
  }
  // An input that failed or went: this branch of the step will not run (its
  // producer's failure is what the run reports).
  for (auto& [k, id] : req.input_mapping) {
    auto a = assets.find(id);
    if (a == assets.end() || a->second.status == asset_status::failed
        || a->second.status == asset_status::purged)
      return false;
  }
  if (!decision) {
    json::value payload{json::object{}};
    payload.set("engine", "pipeline");
    payload.set("decision", "create");
    payload.set("step", s.id);
    payload.set("branch", branch);
    payload.set("final_decision_source", "automation");
    payload.set("rollback", "an operator may cancel the run (omniva run cancel)");
    payload.set("reason", "the inputs of step " + s.id + " are promised");
    add_packet_as("decision.zenith", "zenith", {r.record.run_id},
                  {r.record.run_id}, std::move(payload), r.record.run_id, true);
  }
  auto created = submit_for_run(req, r.record.run_id, s.id, branch);
  if (!created.ok) {
    // Checked whole at registration, so this is rare (an asset purged
    // meanwhile): the run fails with the first problem.
    auto& first = created.problems.front();
    spdlog::warn("zenith: run {} cannot create step {} in branch '{}': {}",
                 r.record.run_id, s.id, branch, first.message);
    r.record.status = run_status::failed;
    r.record.error = contracts::task_error{std::string{contracts::to_string(first.code)},
                                           "step " + s.id + ": " + first.message,
                                           false, first.pointer};
    r.record.updated_at = r.record.ended_at = now();
    json::value payload{json::object{}};
    payload.set("error", json::object{{"code", r.record.error->code},
                                      {"message", r.record.error->message}});
    put_run(r.record, add_run_packet(r, "run.failed", std::move(payload)));
    // The run cannot go on: what it started stops.
    auto order = r.task_order;
    for (auto& id : order)
      if (!contracts::is_terminal(tasks.at(id).status))
        (void) cancel(id);
    return false;
  }
  auto& t = created.task;
  r.instances[key] = t.task_id;
  r.by_step[s.id].emplace_back(branch, t.task_id);
  r.task_order.push_back(t.task_id);
  ++r.open;
  gate_change(r, s.id, branch, +1);
  return true;
}

contracts::submit_result
zenith_state::submit_for_run(const contracts::task_request& req,
                             const std::string& run_id, const std::string& step,
                             const std::string& branch) {
  run_link_t link{run_id, step, branch};
  run_link = &link;
  auto out = submit(req);
  run_link = nullptr;
  return out;
}

// -- fan-outs -----------------------------------------------------------------------

void zenith_state::watch_fan_out(run_state& r, const pipeline_step& s,
                                 const std::string& branch) {
  auto key = instance_key(s.id, branch);
  if (r.record.fanouts.count(key) > 0 || r.fan_waiting.count(key) > 0)
    return;
  auto& from = s.for_each->from;
  std::string list;
  if (from.kind == contracts::source_kind::pipeline_input) {
    if (auto a = r.record.inputs.find(from.key); a != r.record.inputs.end())
      list = a->second;
  } else if (from.kind == contracts::source_kind::step) {
    auto* producer = r.pipeline->find_step(from.step);
    if (producer == nullptr)
      return;
    auto inst = r.instances.find(
      instance_key(from.step, prefix_of(branch, producer->scope.size())));
    if (inst == r.instances.end())
      return; // its producer is not created yet
    auto& t = tasks.at(inst->second);
    if (auto o = t.outputs.find(from.key); o != t.outputs.end())
      list = o->second;
    else if (auto i = t.input_mapping.find(from.key); i != t.input_mapping.end())
      list = i->second;
  }
  auto a = assets.find(list);
  if (a == assets.end())
    return;
  if (a->second.status == asset_status::available) {
    fan_out(r, s, branch, list);
  } else if (a->second.status == asset_status::pending) {
    r.fan_waiting[key] = list;
    fan_watch[list].push_back(r.record.run_id + "\n" + key);
    // A fan-out to come counts as unfinished work for the collects above.
    gate_change(r, s.id, branch, +1);
  }
}

void zenith_state::fan_out(run_state& r, const pipeline_step& s,
                           const std::string& branch,
                           const std::string& list_asset,
                           const contracts::pantheon_advice* advice) {
  auto key = instance_key(s.id, branch);
  if (r.record.fanouts.count(key) > 0)
    return;
  bool was_waiting = r.fan_waiting.erase(key) > 0;
  if (advice == nullptr && r.vote_waiting.count(key) > 0) {
    if (was_waiting) // the gate is held once, by the vote
      gate_change(r, s.id, branch, -1);
    return; // Pantheon was asked; its advice continues
  }
  if (advice != nullptr)
    was_waiting = r.vote_waiting.erase(key) > 0 || was_waiting;
  auto& spec = *s.for_each;
  auto& list = assets.at(list_asset);
  // The elements: asset ids of a list, or JSON values of an array.
  std::vector<std::string> element_ids;
  std::vector<json::value> element_values;
  std::string problem;
  auto doc = read_json_asset(list, config.relocation);
  if (!doc) {
    problem = "cannot read the list asset " + list_asset;
  } else if (spec.pointer.empty()) {
    auto* ids_v = doc->is_object() ? doc->find("assets") : nullptr;
    if (ids_v == nullptr || !ids_v->is_array())
      problem = "the list asset " + list_asset + " has no \"assets\" array";
    else
      for (auto& e : ids_v->as_array())
        if (e.is_string() && assets.count(e.as_string()) > 0)
          element_ids.push_back(e.as_string());
  } else {
    auto* arr = json::resolve_pointer(*doc, spec.pointer);
    if (arr == nullptr || !arr->is_array())
      problem = "the output " + list_asset + " has no array at "
                + spec.pointer;
    else
      element_values = arr->as_array();
  }
  size_t count = spec.pointer.empty() ? element_ids.size() : element_values.size();
  // `select`: by a score inside each element, kept in their order.
  std::vector<size_t> kept;
  std::vector<std::optional<double>> scores(count);
  for (size_t i = 0; i < count; ++i)
    kept.push_back(i);
  if (spec.select && spec.select->by == "score") {
    for (size_t i = 0; i < count; ++i) {
      std::optional<json::value> element;
      if (spec.pointer.empty()) {
        auto& a = assets.at(element_ids[i]);
        element = read_json_asset(a, config.relocation);
      } else {
        element = element_values[i];
      }
      if (element)
        if (auto* v = json::resolve_pointer(*element, spec.select->pointer);
            v != nullptr && v->is_number())
          scores[i] = v->as_double();
    }
    std::vector<size_t> ranked;
    for (size_t i = 0; i < count; ++i)
      if (scores[i] && (!spec.select->min || *scores[i] >= *spec.select->min))
        ranked.push_back(i);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](size_t a, size_t b) { return *scores[a] > *scores[b]; });
    if (spec.select->top && ranked.size() > static_cast<size_t>(*spec.select->top))
      ranked.resize(static_cast<size_t>(*spec.select->top));
    std::sort(ranked.begin(), ranked.end());
    kept = std::move(ranked);
  }
  // `select` by "pantheon": the personas vote first (a ballot to Pantheon);
  // the kept candidates are promoted: their votes, their Lattice priority
  // and a clip id are written into the elements.
  std::map<size_t, json::value> promoted;
  std::optional<size_t> advice_packet;
  std::string report_asset;
  bool by_pantheon = spec.select && spec.select->by == "pantheon";
  auto personas_ref = !by_pantheon || spec.select->personas.empty()
                        ? std::string{pantheon::default_personas_ref}
                        : spec.select->personas;
  if (by_pantheon && problem.empty() && advice == nullptr
      && personas.count(personas_ref) == 0) {
    // Checked when the pipeline was registered; only a lost row gets here.
    // Like a report that cannot be read, it fails the fan-out: no candidate
    // is kept.
    problem = "the personas " + personas_ref
              + " are not registered on this node: Pantheon cannot vote";
    kept.clear();
  }
  if (by_pantheon && problem.empty()) {
    std::vector<json::value> candidates;
    for (size_t i = 0; i < count; ++i) {
      if (spec.pointer.empty()) {
        auto element = read_json_asset(assets.at(element_ids[i]), config.relocation);
        candidates.push_back(element ? std::move(*element) : json::value{});
      } else {
        candidates.push_back(element_values[i]);
      }
    }
    if (advice == nullptr) {
      contracts::pantheon_ballot ballot;
      ballot.key = r.record.run_id + "\n" + key;
      // The personas named by the select (their document as registered),
      // with their ref: the report names it.
      auto& chosen = personas.at(personas_ref);
      auto registered = json::parse(chosen.canonical_json);
      auto personas_doc = registered ? std::move(*registered.doc)
                                     : pantheon::to_json(chosen.entry);
      personas_doc.set("ref", personas_ref);
      ballot.personas_json = json::serialize(personas_doc, json::style::canonical);
      ballot.candidates_json = json::serialize(json::value{std::move(candidates)},
                                               json::style::canonical);
      ballot.context_json = spec.pointer.empty() || !doc
                              ? std::string{"null"}
                              : json::serialize(*doc, json::style::canonical);
      effects.ballots.push_back(std::move(ballot));
      r.vote_waiting[key] = list_asset;
      // The vote to come counts as unfinished work for the collects above.
      if (!was_waiting)
        gate_change(r, s.id, branch, +1);
      return;
    }
    kept.clear();
    auto parsed = advice->problem.empty() ? json::parse(advice->report_json)
                                          : json::parse_result{};
    auto report = parsed ? pantheon::read_report(*parsed.doc) : std::nullopt;
    if (!report || report->verdicts.size() != count) {
      problem = advice->problem.empty()
                  ? "Pantheon's report does not match the candidates"
                  : "Pantheon could not vote: " + advice->problem;
    } else {
      kept = pantheon::select(*report, spec.select->top, spec.select->min);
      for (auto i : kept) {
        auto promoted_candidate = pantheon::annotate(candidates[i], report->verdicts[i]);
        promoted_candidate.set("clip_id", ids->next_uuid());
        promoted[i] = std::move(promoted_candidate);
      }
      // The report, an asset of its own, and the advice that carries it.
      auto content = json::serialize(*parsed.doc, json::style::pretty) + "\n";
      asset_record a;
      a.asset_id = ids->next_uuid();
      a.status = asset_status::available;
      a.kind = contracts::asset_kind::file;
      a.media_type = "application/json";
      a.sha256 = contracts::to_hex(contracts::sha256(content));
      a.size = content.size();
      a.created_at = now();
      a.label = "pantheon " + s.id + (branch.empty() ? "" : "#" + branch);
      auto dir = std::filesystem::path{config.data_dir} / "runs" / r.record.run_id
                 / "pantheon";
      std::error_code err;
      std::filesystem::create_directories(dir, err);
      auto path = dir / (a.asset_id + ".json");
      std::ofstream f{path, std::ios::binary | std::ios::trunc};
      f << content;
      f.flush();
      if (f) {
        a.uri = path.string();
        report_asset = a.asset_id;
        assets[a.asset_id] = std::move(a);
      } else {
        spdlog::error("zenith: cannot write {}", path.string());
      }
      json::value said{json::object{}};
      said.set("engine", "pantheon");
      said.set("run_id", r.record.run_id);
      said.set("step", s.id);
      said.set("branch", branch);
      said.set("list", list_asset);
      said.set("personas", report->personas_ref);
      if (!report_asset.empty())
        said.set("report_asset", report_asset);
      said.set("report", *parsed.doc);
      std::vector<std::string> said_about{r.record.run_id, list_asset};
      if (!report_asset.empty())
        said_about.push_back(report_asset);
      advice_packet = add_packet_as("advice.pantheon", "pantheon", said_about,
                                    {list_asset}, std::move(said),
                                    r.record.run_id, false);
      if (!report_asset.empty())
        put_asset(assets.at(report_asset), *advice_packet);
    }
  }
  // The decision, with the list as its evidence.
  json::value payload{json::object{}};
  payload.set("engine", "pipeline");
  payload.set("decision", "fan_out");
  payload.set("run_id", r.record.run_id);
  payload.set("step", s.id);
  payload.set("branch", branch);
  payload.set("list", list_asset);
  payload.set("elements", static_cast<int64_t>(count));
  json::array kept_json;
  for (auto i : kept)
    kept_json.push_back(static_cast<int64_t>(i));
  payload.set("kept", json::value{std::move(kept_json)});
  if (spec.select)
    payload.set("select", spec.select->by);
  if (by_pantheon) {
    json::array clip_ids;
    for (auto i : kept)
      if (auto p = promoted.find(i); p != promoted.end())
        if (auto* id = p->second.find("clip_id"))
          clip_ids.push_back(*id);
    payload.set("promoted", json::value{std::move(clip_ids)});
    if (!report_asset.empty())
      payload.set("report_asset", report_asset);
  }
  if (!problem.empty())
    payload.set("problem", problem);
  payload.set("final_decision_source", "automation");
  payload.set("rollback", "an operator may cancel the run (omniva run cancel)");
  payload.set("reason", problem.empty()
                          ? "the list of step " + s.id + " is AVAILABLE"
                          : problem);
  // Each element becomes the kind of asset the step's `item` input takes:
  // a VALUE json asset for a VALUE input (an array element, or a JSON
  // file's content), a FILE for an ASSET input (a list's file itself, or an
  // array element written to a file of the run). Made ones are named by the
  // decision.
  bool want_value = false;
  if (auto m = modules.find(s.module_ref); m != modules.end())
    for (auto& [k, src] : s.inputs)
      if (src.kind == contracts::source_kind::item)
        if (auto* in = m->second.contract.find_input(k))
          want_value = in->contract_type == contracts::input_kind::value;
  std::vector<std::string> subjects{r.record.run_id, list_asset};
  std::vector<std::string> made;
  std::vector<std::string> element_of(kept.size());
  auto at = now();
  auto elements_dir = std::filesystem::path{config.data_dir} / "runs"
                      / r.record.run_id / "elements";
  for (size_t j = 0; j < kept.size(); ++j) {
    auto i = kept[j];
    if (spec.pointer.empty() && !want_value && !by_pantheon) {
      element_of[j] = element_ids[i];
      continue;
    }
    std::string content;
    if (auto p = promoted.find(i); p != promoted.end()) {
      content = json::serialize(p->second);
    } else if (spec.pointer.empty()) {
      auto doc = read_json_asset(assets.at(element_ids[i]), config.relocation);
      if (!doc) {
        spdlog::warn("zenith: run {}: element {} of step {} is not JSON",
                     r.record.run_id, element_ids[i], s.id);
        continue;
      }
      content = json::serialize(*doc);
    } else {
      content = json::serialize(element_values[i]);
    }
    asset_record a;
    a.asset_id = ids->next_uuid();
    a.status = asset_status::available;
    a.sha256 = contracts::to_hex(contracts::sha256(content));
    a.size = content.size();
    a.created_at = at;
    a.label = s.id + "[" + std::to_string(i) + "]";
    if (want_value) {
      a.kind = contracts::asset_kind::value;
      a.dtype = "json";
      a.value_json = std::move(content);
    } else {
      a.kind = contracts::asset_kind::file;
      a.media_type = "application/json";
      std::error_code err;
      std::filesystem::create_directories(elements_dir, err);
      auto path = elements_dir / (a.asset_id + ".json");
      std::ofstream f{path, std::ios::binary | std::ios::trunc};
      f << content;
      f.flush();
      if (!f) {
        spdlog::error("zenith: cannot write {}", path.string());
        continue;
      }
      a.uri = path.string();
    }
    subjects.push_back(a.asset_id);
    made.push_back(a.asset_id);
    element_of[j] = a.asset_id;
    assets[a.asset_id] = std::move(a);
  }
  std::vector<size_t> followed;
  if (advice_packet)
    followed.push_back(*advice_packet);
  auto decision = add_packet_as("decision.zenith", "zenith", subjects,
                                {list_asset, r.record.run_id},
                                std::move(payload), r.record.run_id, true,
                                std::move(followed));
  for (auto& id : made)
    put_asset(assets.at(id), decision);
  r.record.fanouts[key] = static_cast<uint32_t>(kept.size());
  r.record.updated_at = now();
  put_run(r.record, decision);
  // Each element opens a branch; its tasks follow from the decision.
  std::vector<std::string> element_scope = s.scope;
  for (size_t j = 0; j < kept.size(); ++j) {
    auto& element = element_of[j];
    if (element.empty())
      continue; // could not be read or written (logged)
    auto child = child_branch(branch, j);
    r.branches[s.id].insert(child);
    try_create(r, s, child, decision, element);
    // Lattice's priority of a promoted candidate ranks its task in the
    // pool's queue (docs/engines.md, "Pantheon").
    if (auto p = promoted.find(kept[j]); p != promoted.end())
      if (auto t = r.instances.find(instance_key(s.id, child)); t != r.instances.end())
        if (auto* lp = p->second.find("lattice_priority"); lp != nullptr && lp->is_number())
          route_deltas[t->second] = lattice::priority_delta_of(lp->as_double());
    open_branch(r, element_scope, child);
  }
  if (was_waiting)
    gate_change(r, s.id, branch, -1);
}

void zenith_state::on_pantheon_advice(const contracts::pantheon_advice& advice) {
  auto nl = advice.key.find('\n');
  if (nl == std::string::npos)
    return;
  auto run = runs.find(advice.key.substr(0, nl));
  if (run == runs.end())
    return;
  auto& r = run->second;
  auto key = advice.key.substr(nl + 1);
  auto waiting = r.vote_waiting.find(key);
  if (waiting == r.vote_waiting.end())
    return; // answered before (a ballot sent again after a restart)
  auto [step, branch] = split_key(key);
  auto* s = r.pipeline->find_step(step);
  if (s == nullptr || contracts::is_final(r.record.status)) {
    r.vote_waiting.erase(waiting);
    if (s != nullptr)
      gate_change(r, step, branch, -1);
    finish_run_if_done(r);
    return;
  }
  auto list = waiting->second;
  fan_out(r, *s, branch, list, &advice);
  finish_run_if_done(r);
}

// -- fan-ins ------------------------------------------------------------------------

void zenith_state::gate_change(run_state& r, const std::string& step,
                               const std::string& branch, int delta) {
  for (auto& c : r.pipeline->steps) {
    if (c.kind != step_kind::collect || !c.collect)
      continue;
    // The collect waits for the gathered step and everything it depends on.
    if (upstream_of(*r.pipeline, c).count(step) == 0)
      continue;
    auto prefix = prefix_of(branch, std::min(depth_of(branch), c.scope.size()));
    auto& n = r.gate[instance_key(c.id, prefix)];
    if (delta > 0) {
      n += static_cast<size_t>(delta);
      continue;
    }
    n = n >= static_cast<size_t>(-delta) ? n - static_cast<size_t>(-delta) : 0;
    if (n > 0)
      continue;
    // Zero: every collect instance below this prefix may gather now.
    if (c.scope.empty()) {
      try_collect(r, c, {});
    } else if (auto b = r.branches.find(c.scope.back()); b != r.branches.end()) {
      std::vector<std::string> candidates;
      for (auto& open : b->second)
        if (depth_of(open) == c.scope.size() && extends(open, prefix))
          candidates.push_back(open);
      for (auto& open : candidates)
        try_collect(r, c, open);
    }
  }
}

void zenith_state::try_collect(run_state& r, const pipeline_step& s,
                               const std::string& branch) {
  if (contracts::is_final(r.record.status))
    return;
  auto key = instance_key(s.id, branch);
  if (r.instances.count(key) > 0)
    return;
  if (!s.scope.empty()) {
    auto b = r.branches.find(s.scope.back());
    if (b == r.branches.end() || b->second.count(branch) == 0)
      return;
  }
  for (size_t d = 0; d <= depth_of(branch); ++d)
    if (auto g = r.gate.find(instance_key(s.id, prefix_of(branch, d)));
        g != r.gate.end() && g->second > 0)
      return;
  auto& from = *s.collect;
  // Every other input of the collect must be there (created in this
  // branch or above).
  for (auto& [k, src] : s.inputs) {
    if (src.kind != contracts::source_kind::step)
      continue;
    auto* producer = r.pipeline->find_step(src.step);
    if (producer == nullptr
        || r.instances.count(instance_key(
             src.step, prefix_of(branch, producer->scope.size())))
             == 0)
      return;
  }
  // What it gathers, in element order.
  std::vector<std::pair<std::vector<uint32_t>, std::string>> found;
  if (auto g = r.by_step.find(from.step); g != r.by_step.end())
    for (auto& [b, id] : g->second)
      if (depth_of(b) > depth_of(branch) && extends(b, branch)
          && r.superseded.count(id) == 0)
        found.emplace_back(components(b), id);
  std::sort(found.begin(), found.end());
  json::array gathered;
  json::array missing;
  for (auto& [parts, id] : found) {
    auto& t = tasks.at(id);
    if (t.status == task_status::done) {
      if (auto o = t.outputs.find(from.key); o != t.outputs.end())
        gathered.push_back(o->second);
      continue;
    }
    json::value m{json::object{}};
    m.set("task_id", id);
    m.set("branch", t.branch);
    m.set("code", t.error ? t.error->code
                          : std::string{contracts::to_string(t.status)});
    missing.push_back(std::move(m));
  }
  bool none_succeeded = gathered.empty() && !found.empty();
  json::value doc{json::object{}};
  auto n_gathered = gathered.size();
  auto n_missing = missing.size();
  doc.set("assets", json::value{std::move(gathered)});
  doc.set("missing", json::value{std::move(missing)});
  auto text = json::serialize(doc);
  asset_record a;
  a.asset_id = ids->next_uuid();
  a.kind = contracts::asset_kind::file;
  a.media_type = std::string{contracts::asset_list_media_type};
  a.status = asset_status::available;
  a.sha256 = contracts::to_hex(contracts::sha256(text));
  a.size = text.size();
  a.created_at = now();
  a.label = s.id + " collected";
  auto dir = std::filesystem::path{config.data_dir} / "runs" / r.record.run_id;
  std::error_code err;
  std::filesystem::create_directories(dir, err);
  auto file_branch = branch;
  std::replace(file_branch.begin(), file_branch.end(), '/', '.');
  auto path = dir / (s.id + "#" + file_branch + "." + a.asset_id + ".json");
  {
    std::ofstream f{path, std::ios::binary | std::ios::trunc};
    f << text;
    f.flush();
    if (!f)
      spdlog::error("zenith: cannot write {}", path.string());
  }
  a.uri = path.string();
  json::value payload{json::object{}};
  payload.set("engine", "pipeline");
  payload.set("decision", "collect");
  payload.set("step", s.id);
  payload.set("branch", branch);
  payload.set("gathered", static_cast<int64_t>(n_gathered));
  payload.set("missing", static_cast<int64_t>(n_missing));
  payload.set("collected", a.asset_id);
  payload.set("final_decision_source", "automation");
  payload.set("rollback", "an operator may retry the run (omniva run retry)");
  payload.set("reason", "every task of step " + from.step + " under it ended");
  auto id = a.asset_id;
  assets[id] = a;
  auto decision = add_packet_as("decision.zenith", "zenith",
                                {r.record.run_id, id}, {r.record.run_id},
                                std::move(payload), r.record.run_id, true);
  put_asset(assets.at(id), decision);
  if (!try_create(r, s, branch, decision, id))
    return;
  if (none_succeeded) {
    auto& t = tasks.at(r.instances.at(key));
    fail_task(t, ec::upstream_failed,
              "every element of step " + from.step + " failed", false, decision,
              true);
  }
  // What follows from the collect in its branch is made now.
  open_branch(r, s.scope, branch);
}

// -- the runs advance ---------------------------------------------------------------

void zenith_state::advance_runs() {
  while (!run_ended.empty()) {
    auto ended = std::move(run_ended);
    run_ended.clear();
    std::set<std::string> touched;
    for (auto& [task_id, delta] : ended) {
      auto ti = tasks.find(task_id);
      if (ti == tasks.end())
        continue;
      auto& t = ti->second;
      auto ri = runs.find(t.run_id);
      if (ri == runs.end())
        continue;
      auto& r = ri->second;
      touched.insert(t.run_id);
      if (r.superseded.count(task_id) > 0)
        continue;
      if (delta > 0) {
        ++r.open;
        gate_change(r, t.step, t.branch, +1);
        continue;
      }
      if (r.open > 0)
        --r.open;
      // Fan-outs waiting on its outputs: now, or never.
      for (auto& [k, asset_id] : t.outputs) {
        auto w = fan_watch.find(asset_id);
        if (w == fan_watch.end())
          continue;
        auto waiters = std::move(w->second);
        fan_watch.erase(w);
        for (auto& entry : waiters) {
          auto nl = entry.find('\n');
          auto wr = runs.find(entry.substr(0, nl));
          if (wr == runs.end())
            continue;
          auto [step, branch] = split_key(entry.substr(nl + 1));
          auto* s = wr->second.pipeline->find_step(step);
          if (s == nullptr || wr->second.fan_waiting.count(entry.substr(nl + 1)) == 0)
            continue;
          if (t.status == task_status::done
              && !contracts::is_final(wr->second.record.status)) {
            fan_out(wr->second, *s, branch, asset_id);
          } else {
            wr->second.fan_waiting.erase(entry.substr(nl + 1));
            gate_change(wr->second, step, branch, -1);
          }
        }
      }
      gate_change(r, t.step, t.branch, -1);
    }
    for (auto& id : touched)
      if (auto ri = runs.find(id); ri != runs.end())
        finish_run_if_done(ri->second);
  }
}

void zenith_state::finish_run_if_done(run_state& r) {
  if (contracts::is_final(r.record.status) || r.open > 0
      || !r.fan_waiting.empty() || !r.vote_waiting.empty())
    return;
  std::optional<contracts::task_error> why;
  for (auto& id : r.task_order) {
    if (r.superseded.count(id) > 0)
      continue;
    auto& t = tasks.at(id);
    if (t.status == task_status::done)
      continue;
    auto* s = r.pipeline->find_step(t.step);
    if (s != nullptr && s->scope.empty()) {
      why = t.error ? *t.error
                    : contracts::task_error{std::string{contracts::to_string(ec::cancelled)},
                                            "step " + t.step + " ended "
                                              + std::string{contracts::to_string(t.status)},
                                            false, {}};
      why->message = "step " + t.step + ": " + why->message;
      break;
    }
  }
  if (!why) {
    // A fan-out none of whose elements succeeded fails the run too.
    for (auto& [key, kept] : r.record.fanouts) {
      if (kept == 0)
        continue;
      auto [step, branch] = split_key(key);
      auto g = r.by_step.find(step);
      bool any = false;
      if (g != r.by_step.end())
        for (auto& [b, id] : g->second)
          if (depth_of(b) == depth_of(branch) + 1 && extends(b, branch)
              && r.superseded.count(id) == 0
              && tasks.at(id).status == task_status::done)
            any = true;
      if (!any) {
        why = contracts::task_error{std::string{contracts::to_string(ec::upstream_failed)},
                                    "every element of step " + step
                                      + (branch.empty() ? "" : " in branch " + branch)
                                      + " failed",
                                    false, {}};
        break;
      }
    }
  }
  r.record.status = why ? run_status::failed : run_status::done;
  r.record.error = why;
  r.record.updated_at = r.record.ended_at = now();
  std::map<std::string, size_t> counts;
  size_t missing = 0;
  for (auto& id : r.task_order) {
    if (r.superseded.count(id) > 0)
      continue;
    auto& t = tasks.at(id);
    ++counts[std::string{contracts::to_string(t.status)}];
    if (t.status != task_status::done)
      ++missing;
  }
  json::value payload{json::object{}};
  payload.set("tasks", counts_json(counts, r.task_order.size() - r.superseded.size()));
  payload.set("missing", static_cast<int64_t>(missing));
  if (why) {
    payload.set("error", json::object{{"code", why->code},
                                      {"message", why->message}});
  }
  payload.set("final_decision_source", "automation");
  auto packet = add_run_packet(r, why ? "run.failed" : "run.done",
                               std::move(payload));
  put_run(r.record, packet);
}

// -- operators ------------------------------------------------------------------------

caf::expected<contracts::run_record>
zenith_state::change_run(const contracts::run_change& c) {
  auto ri = runs.find(c.run_id);
  if (ri == runs.end())
    return contracts::make_error(ec::not_found, "no run '" + c.run_id + "'");
  auto& r = ri->second;
  auto status = r.record.status;
  auto refuse = [&](std::string why) {
    return contracts::make_error(ec::run_not_active,
                                 "run " + c.run_id + " is "
                                   + std::string{contracts::to_string(status)}
                                   + ": " + why);
  };
  json::value payload{json::object{}};
  switch (c.action) {
    case contracts::run_action::cancel: {
      if (contracts::is_final(status))
        return refuse("it cannot be cancelled");
      r.record.status = run_status::cancelled;
      r.record.updated_at = r.record.ended_at = now();
      auto packet = add_run_packet(r, "run.cancelled", std::move(payload));
      put_run(r.record, packet);
      r.fan_waiting.clear();
      auto order = r.task_order;
      for (auto& id : order)
        if (!contracts::is_terminal(tasks.at(id).status))
          (void) cancel(id);
      r.parked.clear();
      return r.record;
    }
    case contracts::run_action::pause: {
      if (status != run_status::running)
        return refuse("only a RUNNING run can be paused");
      r.record.status = run_status::paused;
      r.record.updated_at = now();
      put_run(r.record, add_run_packet(r, "run.paused", std::move(payload)));
      return r.record;
    }
    case contracts::run_action::resume: {
      if (status != run_status::paused)
        return refuse("only a PAUSED run can be resumed");
      r.record.status = run_status::running;
      r.record.updated_at = now();
      put_run(r.record, add_run_packet(r, "run.resumed", std::move(payload)));
      auto parked = std::move(r.parked);
      r.parked.clear();
      for (auto& [id, route] : parked) {
        auto& t = tasks.at(id);
        if (t.status == task_status::ready)
          enqueue(t, route);
      }
      finish_run_if_done(r);
      return r.record;
    }
    case contracts::run_action::retry: {
      if (status != run_status::failed && status != run_status::done)
        return refuse("only a FAILED run, or a DONE one with missing "
                      "elements, can be retried");
      std::vector<std::string> again;
      for (auto& id : r.task_order) {
        if (r.superseded.count(id) > 0)
          continue;
        auto& t = tasks.at(id);
        auto* s = r.pipeline->find_step(t.step);
        if (s != nullptr && s->kind == step_kind::collect)
          continue; // gathers again below, once what it waits for ended
        if (failed_on_its_own(t))
          again.push_back(id);
      }
      // A collect that gathered a task retried now gathers again once it
      // ended again: it, and what followed from it in its branch, are
      // replaced (their tasks stay in the run's history).
      std::vector<std::string> replaced;
      for (auto& c : r.pipeline->steps) {
        if (c.kind != step_kind::collect)
          continue;
        auto up = upstream_of(*r.pipeline, c);
        auto g = r.by_step.find(c.id);
        if (g == r.by_step.end())
          continue;
        for (auto& [cb, cid] : g->second) {
          if (r.superseded.count(cid) > 0)
            continue;
          auto& ct = tasks.at(cid);
          bool gathered_failure
            = ct.status == task_status::error && ct.error
              && ct.error->code == contracts::to_string(ec::upstream_failed);
          bool gathered_retried
            = std::any_of(again.begin(), again.end(), [&](auto& id) {
                auto& t = tasks.at(id);
                return up.count(t.step) > 0 && extends(t.branch, cb);
              });
          if (!gathered_failure && !gathered_retried)
            continue;
          replaced.push_back(cid);
          for (auto& other : r.task_order) {
            auto& o = tasks.at(other);
            if (other != cid && r.superseded.count(other) == 0
                && extends(o.branch, cb)
                && depends_on(*r.pipeline, o.step, c.id))
              replaced.push_back(other);
          }
        }
      }
      if (again.empty() && replaced.empty())
        return refuse("nothing of it failed");
      r.record.status = run_status::running;
      r.record.error.reset();
      r.record.ended_at.clear();
      r.record.updated_at = now();
      payload.set("tasks", static_cast<int64_t>(again.size()));
      payload.set("replaced", static_cast<int64_t>(replaced.size()));
      put_run(r.record, add_run_packet(r, "run.retried", std::move(payload)));
      for (auto& id : again) {
        auto retried = retry(id);
        if (!retried)
          spdlog::info("zenith: run {} could not retry task {}: {}",
                       c.run_id, id, error_text(retried.error()));
      }
      // The revived tasks count as unfinished again (the gates of the
      // collects above them close) before anything is re-opened.
      advance_runs();
      for (auto& d : replaced) {
        if (!r.superseded.insert(d).second)
          continue;
        auto& dt = tasks.at(d);
        r.instances.erase(instance_key(dt.step, dt.branch));
        if (!contracts::is_terminal(dt.status)) {
          // No longer counted; it stops.
          if (r.open > 0)
            --r.open;
          gate_change(r, dt.step, dt.branch, -1);
          (void) cancel(d);
        }
      }
      // Re-open what may go on: fan-outs whose list is promised again,
      // collects to gather again.
      open_branch(r, {}, {});
      for (auto& [step, opened] : r.branches) {
        auto* s = r.pipeline->find_step(step);
        if (s == nullptr)
          continue;
        auto copy = opened;
        for (auto& b : copy)
          open_branch(r, s->scope, b);
      }
      return r.record;
    }
  }
  return contracts::make_error(ec::invalid_argument, "unknown action");
}

// -- reads ----------------------------------------------------------------------------

namespace {

json::value run_summary(const contracts::run_record& rec,
                        const std::map<std::string, size_t>& counts,
                        size_t total) {
  json::value out = contracts::to_json(rec);
  out.set("pipeline", rec.pipeline_ref);
  out.set("tasks", counts_json(counts, total));
  return out;
}

} // namespace

caf::expected<std::string>
zenith_state::run_view(const std::string& run_id) const {
  auto ri = runs.find(run_id);
  if (ri == runs.end())
    return contracts::make_error(ec::not_found, "no run '" + run_id + "'");
  auto& r = ri->second;
  std::map<std::string, size_t> counts;
  std::map<std::string, std::map<std::string, size_t>> step_counts;
  std::map<std::string, size_t> step_total;
  json::array missing;
  json::array listed;
  size_t total = 0;
  for (auto& id : r.task_order) {
    if (r.superseded.count(id) > 0)
      continue;
    auto& t = tasks.at(id);
    auto status = std::string{contracts::to_string(t.status)};
    ++counts[status];
    ++total;
    ++step_counts[t.step][status];
    ++step_total[t.step];
    if (contracts::is_terminal(t.status) && t.status != task_status::done) {
      json::value m{json::object{}};
      m.set("step", t.step);
      m.set("branch", t.branch);
      m.set("task_id", id);
      m.set("code", t.error ? t.error->code : status);
      m.set("message", t.error ? t.error->message : status);
      missing.push_back(std::move(m));
    }
    if (listed.size() < 1000) {
      json::value e{json::object{}};
      e.set("task_id", id);
      e.set("step", t.step);
      e.set("branch", t.branch);
      e.set("status", status);
      listed.push_back(std::move(e));
    }
  }
  auto out = run_summary(r.record, counts, total);
  json::array steps;
  for (auto& s : r.pipeline->steps) {
    json::value e{json::object{}};
    e.set("id", s.id);
    e.set("module", s.module_ref);
    e.set("kind", std::string{contracts::to_string(s.kind)});
    json::array scope;
    for (auto& x : s.scope)
      scope.push_back(x);
    e.set("scope", json::value{std::move(scope)});
    e.set("branches", static_cast<int64_t>(step_total[s.id]));
    e.set("tasks", counts_json(step_counts[s.id], step_total[s.id]));
    json::value fanouts{json::object{}};
    for (auto& [key, kept] : r.record.fanouts) {
      auto [step, branch] = split_key(key);
      if (step == s.id)
        fanouts.set(branch, static_cast<int64_t>(kept));
    }
    e.set("fanouts", std::move(fanouts));
    steps.push_back(std::move(e));
  }
  out.set("steps", json::value{std::move(steps)});
  // The run's outputs: a step's asset, or its branches' assets in order.
  json::value outputs{json::object{}};
  for (auto& [key, src] : r.pipeline->outputs) {
    auto* s = r.pipeline->find_step(src.step);
    auto g = r.by_step.find(src.step);
    if (s == nullptr)
      continue;
    std::vector<std::pair<std::vector<uint32_t>, std::string>> done;
    static const std::vector<std::pair<std::string, std::string>> none;
    for (auto& [b, id] : g == r.by_step.end() ? none : g->second) {
      if (r.superseded.count(id) > 0)
        continue;
      auto& t = tasks.at(id);
      if (t.status != task_status::done)
        continue;
      if (auto o = t.outputs.find(src.key); o != t.outputs.end())
        done.emplace_back(components(b), o->second);
    }
    std::sort(done.begin(), done.end());
    if (s->scope.empty()) {
      if (!done.empty())
        outputs.set(key, done.front().second);
      continue;
    }
    // A fanned-out step's list: once none of its tasks can come or change
    // any more (the run ended, or every task of the step ended and no
    // fan-out of it waits).
    bool settled = contracts::is_final(r.record.status);
    if (!settled) {
      settled = std::none_of(r.fan_waiting.begin(), r.fan_waiting.end(),
                             [&](auto& kv) {
                               return split_key(kv.first).first == src.step;
                             });
      if (g != r.by_step.end())
        for (auto& [b, id] : g->second)
          if (r.superseded.count(id) == 0
              && !contracts::is_terminal(tasks.at(id).status))
            settled = false;
    }
    if (!settled)
      continue;
    json::array list;
    for (auto& [b, id] : done)
      list.push_back(id);
    outputs.set(key, json::value{std::move(list)});
  }
  out.set("outputs", std::move(outputs));
  out.set("missing", json::value{std::move(missing)});
  out.set("task_ids", json::value{std::move(listed)});
  if (total > 1000)
    out.set("tasks_truncated", true);
  return json::serialize(out);
}

caf::expected<std::string>
zenith_state::run_page(const contracts::run_query& q) const {
  size_t start = run_order.size();
  if (!q.cursor.empty()) {
    size_t c = 0;
    auto [end, err] = std::from_chars(q.cursor.data(),
                                      q.cursor.data() + q.cursor.size(), c);
    if (err != std::errc{} || end != q.cursor.data() + q.cursor.size()
        || c > run_order.size())
      return contracts::make_error(ec::invalid_argument,
                                   "the cursor is not one this node gave",
                                   "/cursor");
    start = c;
  }
  std::optional<run_status> wanted;
  if (!q.status.empty()) {
    wanted = contracts::run_status_from_string(q.status);
    if (!wanted)
      return contracts::make_error(ec::invalid_filter,
                                   "status must be RUNNING, PAUSED, DONE, "
                                   "FAILED or CANCELLED",
                                   "/status");
  }
  auto limit = std::clamp<uint32_t>(q.limit, 1, 1000);
  json::array items;
  size_t i = start;
  for (; i > 0 && items.size() < limit; --i) {
    auto& r = runs.at(run_order[i - 1]);
    if (!q.pipeline_ref.empty() && r.record.pipeline_ref != q.pipeline_ref)
      continue;
    if (wanted && r.record.status != *wanted)
      continue;
    std::map<std::string, size_t> counts;
    size_t total = 0;
    for (auto& id : r.task_order) {
      if (r.superseded.count(id) > 0)
        continue;
      ++counts[std::string{contracts::to_string(tasks.at(id).status)}];
      ++total;
    }
    items.push_back(run_summary(r.record, counts, total));
  }
  json::value out{json::object{}};
  out.set("items", json::value{std::move(items)});
  if (i > 0)
    out.set("next_cursor", std::to_string(i));
  else
    out.set("next_cursor", nullptr);
  return json::serialize(out);
}

// -- triggers -----------------------------------------------------------------------

caf::expected<contracts::trigger_record>
zenith_state::change_trigger(const contracts::trigger_change& c) {
  if (c.op == contracts::trigger_op::remove) {
    auto t = triggers.find(c.record.trigger_id);
    if (t == triggers.end())
      return contracts::make_error(ec::not_found,
                                   "no trigger '" + c.record.trigger_id + "'");
    auto removed = t->second;
    json::value payload{json::object{}};
    payload.set("pipeline", removed.pipeline_ref);
    auto packet = add_packet("trigger.removed", {removed.trigger_id},
                             {removed.trigger_id}, std::move(payload),
                             ids->next_uuid());
    batch.erase(storage::table::triggers, removed.trigger_id, packet);
    triggers.erase(t);
    return removed;
  }
  auto rec = c.record;
  if (pipelines.count(rec.pipeline_ref) == 0)
    return contracts::make_error(ec::not_found,
                                 "no pipeline '" + rec.pipeline_ref + "'",
                                 "/pipeline");
  if (rec.schedule.every_ms <= 0 && rec.schedule.cron.empty())
    return contracts::make_error(ec::missing_field,
                                 "a trigger needs every or cron", "/every");
  if (!rec.schedule.cron.empty())
    if (auto bad = contracts::check_cron(rec.schedule.cron, "/cron"))
      return contracts::make_error(bad->code, bad->message, bad->pointer);
  {
    // Its runs' inputs are checked now, not when it first fires.
    contracts::run_request req;
    req.pipeline_ref = rec.pipeline_ref;
    req.inputs = rec.inputs;
    req.values = rec.values;
    auto checked = start_run(req, true);
    if (!checked.problems.empty()) {
      auto& first = checked.problems.front();
      std::string all;
      for (auto& p : checked.problems)
        all += (all.empty() ? "" : "; ") + p.pointer + ": " + p.message;
      return contracts::make_error(first.code, all, first.pointer);
    }
  }
  auto at = to_ms(clock->now());
  rec.trigger_id = ids->next_uuid();
  rec.created_at = now();
  rec.created_by = requester;
  rec.anchor_ms = at;
  auto next = contracts::next_start(rec.schedule, at, at);
  if (!next)
    return contracts::make_error(ec::invalid_argument,
                                 "the schedule never starts a run", "/cron");
  rec.next_ms = *next;
  rec.last_ms = 0;
  rec.last_run_id.clear();
  json::value payload{json::object{}};
  payload.set("pipeline", rec.pipeline_ref);
  payload.set("next_start", contracts::format_timestamp(from_ms(rec.next_ms)));
  auto packet = add_packet("trigger.created", {rec.trigger_id}, {},
                           std::move(payload), ids->next_uuid());
  batch.put(storage::table::triggers, rec.trigger_id,
            json::serialize(contracts::to_json(rec)), packet);
  triggers[rec.trigger_id] = rec;
  schedule_due(from_ms(rec.next_ms));
  return rec;
}

void zenith_state::fire_triggers() {
  if (triggers.empty())
    return;
  auto at = to_ms(clock->now());
  std::optional<int64_t> earliest;
  for (auto& [id, t] : triggers) {
    if (t.next_ms <= at) {
      contracts::run_request req;
      req.pipeline_ref = t.pipeline_ref;
      req.inputs = t.inputs;
      req.values = t.values;
      req.mode = t.mode;
      req.trigger_id = id;
      auto missed = t.next_ms;
      auto started = on_behalf_of(t.created_by.empty() ? "node" : t.created_by,
                                  [&] { return start_run(req); });
      json::value payload{json::object{}};
      payload.set("pipeline", t.pipeline_ref);
      payload.set("slot", contracts::format_timestamp(from_ms(missed)));
      std::vector<std::string> subjects{id};
      if (started.ok) {
        payload.set("run_id", started.run.run_id);
        subjects.push_back(started.run.run_id);
        t.last_run_id = started.run.run_id;
      } else {
        json::array problems;
        for (auto& p : started.problems)
          problems.push_back(json::object{
            {"code", std::string{contracts::to_string(p.code)}},
            {"pointer", p.pointer},
            {"message", p.message}});
        payload.set("problems", json::value{std::move(problems)});
      }
      t.last_ms = at;
      // However many starts were missed, one run; the schedule goes on
      // from now.
      auto next = contracts::next_start(t.schedule, t.anchor_ms, at);
      t.next_ms = next ? *next : std::numeric_limits<int64_t>::max();
      payload.set("next_start", contracts::format_timestamp(from_ms(
                                  std::min<int64_t>(t.next_ms, 253402300799000))));
      auto packet = add_packet("trigger.fired", subjects, {id},
                               std::move(payload),
                               started.ok ? started.run.run_id : ids->next_uuid());
      batch.put(storage::table::triggers, id,
                json::serialize(contracts::to_json(t)), packet);
    }
    if (!earliest || t.next_ms < *earliest)
      earliest = t.next_ms;
  }
  if (earliest && *earliest < std::numeric_limits<int64_t>::max())
    schedule_due(from_ms(*earliest));
}

// -- outputs of a DONE task -----------------------------------------------------------

void zenith_state::settle_outputs(task_record& t,
                                  const contracts::execution_outcome& o,
                                  std::vector<std::string>& subjects,
                                  json::value& outputs) {
  const contracts::module_contract* contract = nullptr;
  if (auto m = modules.find(t.module_ref); m != modules.end())
    contract = &m->second.contract;
  std::map<std::string, std::vector<const contracts::produced_output*>> many;
  for (auto& p : o.outputs) {
    auto id = t.outputs.find(p.key);
    if (id == t.outputs.end())
      continue;
    const auto* spec = contract ? contract->find_output(p.key) : nullptr;
    if (spec != nullptr && spec->many) {
      many[p.key].push_back(&p);
      continue;
    }
    auto& a = assets[id->second];
    a.status = asset_status::available;
    a.uri = p.path;
    a.sha256 = p.sha256;
    a.size = p.size;
    if (!p.media_type.empty())
      a.media_type = p.media_type;
    subjects.push_back(a.asset_id);
    outputs.set(p.key, json::object{{"asset_id", a.asset_id},
                                    {"sha256", p.sha256}});
  }
  if (contract == nullptr)
    return;
  // Each `many` output: its files become assets, its promise the list.
  for (auto& spec : contract->outputs) {
    if (!spec.many)
      continue;
    auto id = t.outputs.find(spec.key);
    if (id == t.outputs.end())
      continue;
    json::array listed;
    auto at = now();
    size_t index = 0;
    for (auto* p : many[spec.key]) {
      asset_record e;
      e.asset_id = ids->next_uuid();
      e.kind = contracts::asset_kind::file;
      e.media_type = p->media_type.empty() ? spec.media_type : p->media_type;
      e.status = asset_status::available;
      e.uri = p->path;
      e.sha256 = p->sha256;
      e.size = p->size;
      e.produced_by = t.task_id;
      e.created_at = at;
      e.label = spec.key + "[" + std::to_string(index++) + "]";
      listed.push_back(e.asset_id);
      subjects.push_back(e.asset_id);
      settled_elements.push_back(e.asset_id);
      elements_of[t.task_id].push_back(e.asset_id);
      assets[e.asset_id] = std::move(e);
    }
    auto count = listed.size();
    json::value doc{json::object{}};
    doc.set("assets", json::value{std::move(listed)});
    auto text = json::serialize(doc);
    auto dir = std::filesystem::path{config.data_dir} / "outputs" / t.task_id
               / std::to_string(t.attempt);
    std::error_code err;
    std::filesystem::create_directories(dir, err);
    auto path = dir / (spec.key + ".asset-list.json");
    {
      std::ofstream f{path, std::ios::binary | std::ios::trunc};
      f << text;
      f.flush();
      if (!f)
        spdlog::error("zenith: cannot write {}", path.string());
    }
    auto& a = assets[id->second];
    a.status = asset_status::available;
    a.uri = path.string();
    a.sha256 = contracts::to_hex(contracts::sha256(text));
    a.size = text.size();
    a.media_type = std::string{contracts::asset_list_media_type};
    subjects.push_back(a.asset_id);
    outputs.set(spec.key, json::object{{"asset_id", a.asset_id},
                                       {"sha256", a.sha256},
                                       {"elements", static_cast<int64_t>(count)}});
  }
}

// -- recovery -------------------------------------------------------------------------

caf::error zenith_state::recover_runs() {
  // Personas first: pipelines name them. A database made before the table
  // existed has none (an empty scan).
  auto personas_rows = db->read->scan(storage::table::personas, "");
  if (!personas_rows)
    return personas_rows.error();
  for (auto& [ref, text] : *personas_rows) {
    auto checked = pantheon::check_personas_text(ref, text);
    if (!checked.entry) {
      spdlog::error("zenith: the registered personas {} do not check any "
                    "more ({}); fan-outs voting with them will fail",
                    ref, checked.problems.front().message);
      continue;
    }
    // The row as committed is the document: immutability compares it.
    personas[ref] = personas_slot{std::move(*checked.entry), text};
    if (config.registry)
      (void) config.registry->add_personas(ref, text);
  }
  // Pipelines, checked again against the modules they name.
  auto rows = db->read->scan(storage::table::pipelines, "");
  if (!rows)
    return rows.error();
  contracts::pipeline_check_options opts;
  opts.find_module = [this](std::string_view ref) -> const contracts::module_contract* {
    auto m = modules.find(std::string{ref});
    return m == modules.end() ? nullptr : &m->second.contract;
  };
  if (config.registry) {
    opts.resolve_schema = contracts::make_schema_resolver(config.registry);
    opts.schema_document = [store = config.registry](std::string_view id) {
      return store->schema_document(id);
    };
  }
  // A pipeline was checked against the personas when it was registered;
  // personas it names that are gone now (a lost row) fail only the
  // fan-outs that vote with them, not the whole pipeline.
  std::set<std::string> lost_personas;
  opts.find_personas = [this, &lost_personas](std::string_view ref) {
    if (personas.count(std::string{ref}) == 0)
      lost_personas.emplace(ref);
    return true;
  };
  // Policies are immutable and never removed: one checked at registration
  // is there (a lost row leaves the runs uncapped, said by the run's view).
  opts.find_policy = [](std::string_view) { return true; };
  for (auto& [ref, text] : *rows) {
    lost_personas.clear();
    auto checked = contracts::check_pipeline_text(text, opts);
    for (auto& lost : lost_personas)
      spdlog::error("zenith: the pipeline {} names the personas {}, which are "
                    "not registered any more: its fan-outs voting with them "
                    "will fail",
                    ref, lost);
    if (!checked) {
      spdlog::error("zenith: the registered pipeline {} does not check any "
                    "more ({}); its runs cannot go on",
                    ref, checked.problems.front().message);
      continue;
    }
    auto shared = std::make_shared<const contracts::pipeline_spec>(
      std::move(*checked.pipeline));
    pipelines[ref] = shared;
    if (config.registry)
      (void) config.registry->add_pipeline(*shared);
  }
  // The element assets of `many` outputs, by the task that made them.
  for (auto& [id, a] : assets) {
    if (a.produced_by.empty())
      continue;
    auto t = tasks.find(a.produced_by);
    if (t == tasks.end())
      continue;
    bool promised = std::any_of(t->second.outputs.begin(), t->second.outputs.end(),
                                [&](auto& kv) { return kv.second == id; });
    if (!promised)
      elements_of[a.produced_by].push_back(id);
  }
  // Runs.
  auto run_rows = db->read->scan(storage::table::runs, "");
  if (!run_rows)
    return run_rows.error();
  std::vector<std::pair<std::string, std::string>> order;
  for (auto& [id, text] : *run_rows) {
    auto parsed = json::parse(text);
    std::vector<contracts::problem> problems;
    auto rec = parsed ? contracts::run_record_from_json(*parsed.doc, problems)
                      : std::nullopt;
    if (!rec)
      return contracts::make_error(ec::corruption, "run row " + id
                                                     + " cannot be read");
    auto p = pipelines.find(rec->pipeline_ref);
    if (p == pipelines.end())
      continue;
    run_state r;
    r.pipeline = p->second;
    r.record = std::move(*rec);
    order.emplace_back(r.record.created_at, id);
    runs.emplace(id, std::move(r));
  }
  std::sort(order.begin(), order.end());
  for (auto& [at, id] : order)
    run_order.push_back(id);
  // Each run's tasks, in creation order.
  std::vector<const task_record*> mine;
  for (auto& [id, t] : tasks)
    if (!t.run_id.empty() && runs.count(t.run_id) > 0)
      mine.push_back(&t);
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) {
    return a->created_at != b->created_at ? a->created_at < b->created_at
                                          : a->task_id < b->task_id;
  });
  for (auto* t : mine) {
    auto& r = runs.at(t->run_id);
    auto key = instance_key(t->step, t->branch);
    if (auto old = r.instances.find(key); old != r.instances.end())
      r.superseded.insert(old->second); // a retry replaced it
    r.instances[key] = t->task_id;
    r.by_step[t->step].emplace_back(t->branch, t->task_id);
    r.task_order.push_back(t->task_id);
    if (auto* s = r.pipeline->find_step(t->step);
        s != nullptr && s->kind == step_kind::for_each)
      r.branches[t->step].insert(t->branch);
  }
  for (auto& [id, r] : runs) {
    for (auto& tid : r.task_order) {
      if (r.superseded.count(tid) > 0)
        continue;
      auto& t = tasks.at(tid);
      if (!contracts::is_terminal(t.status)) {
        ++r.open;
        gate_change(r, t.step, t.branch, +1);
      }
    }
  }
  // Go on where the node stopped: what a crash may have left undone is
  // made now (each creation is idempotent).
  for (auto& id : run_order) {
    auto& r = runs.at(id);
    if (contracts::is_final(r.record.status))
      continue;
    open_branch(r, {}, {});
    for (auto& [step, opened] : std::map{r.branches}) {
      auto* s = r.pipeline->find_step(step);
      if (s == nullptr)
        continue;
      for (auto& b : opened)
        open_branch(r, s->scope, b);
    }
    finish_run_if_done(r);
  }
  // Triggers; a start missed while the node was down runs once now.
  auto trigger_rows = db->read->scan(storage::table::triggers, "");
  if (!trigger_rows)
    return trigger_rows.error();
  for (auto& [id, text] : *trigger_rows) {
    auto parsed = json::parse(text);
    std::vector<contracts::problem> problems;
    auto rec = parsed ? contracts::trigger_record_from_json(*parsed.doc, problems)
                      : std::nullopt;
    if (!rec)
      return contracts::make_error(ec::corruption, "trigger row " + id
                                                     + " cannot be read");
    triggers[id] = std::move(*rec);
  }
  fire_triggers();
  return caf::none;
}

} // namespace omniva::actors
