#include "actors/registry.hpp"

#include "contracts/module_contract.hpp"
#include "contracts/module_registration.hpp"
#include "contracts/pipeline.hpp"

#include <caf/typed_response_promise.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

namespace fs = std::filesystem;

namespace omniva::actors {

using contracts::ec;
using contracts::make_error;
using contracts::registry_item;
using contracts::registry_kind;
using contracts::registry_outcome;

namespace {

/// How long the registry waits for Zenith's answer to one registration.
constexpr auto zenith_timeout = defaults::registry::zenith_timeout;

std::string absolute_path(const fs::path& p) {
  std::error_code err;
  auto abs = fs::absolute(p, err);
  return (err ? p : abs).lexically_normal().string();
}

bool is_dir(const fs::path& p) {
  std::error_code err;
  return fs::is_directory(p, err);
}

bool has_module_json(const fs::path& dir) {
  std::error_code err;
  return fs::is_regular_file(dir / "module.json", err);
}

registry_item refused(registry_kind kind, std::string ref, std::string source,
                      contracts::problem why) {
  return registry_item{kind, std::move(ref), std::move(source),
                       registry_outcome::refused, std::move(why)};
}

contracts::problem problem_of(const caf::error& e) {
  if (auto p = contracts::problem_from_error(e))
    return *p;
  return {ec::storage_error, "", to_string(e)};
}

/// The entries of `dir`, sorted; an unreadable folder gives none.
std::vector<fs::directory_entry> sorted_entries(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code err;
  fs::directory_iterator it{dir, err};
  for (; !err && it != fs::directory_iterator{}; it.increment(err))
    out.push_back(*it);
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.path() < b.path(); });
  return out;
}

/// Adds the `*.json` files of `<dir>/<sub>` (sub = "schemas", "policies",
/// "personas" or "pipelines") as candidates of `kind`; a JSON file not named
/// `<name>@<N>.json` is a problem, other files are left alone (a README).
void scan_ref_files(const fs::path& dir, std::string_view sub,
                    registry_kind kind, registry_scan& out,
                    std::vector<registry_candidate>& found) {
  // A pipeline's name follows the pipelines' rule (contracts/pipeline.hpp).
  auto ref_of = kind == registry_kind::pipeline
                  ? contracts::pipeline_ref_of_file_name
                  : contracts::ref_of_file_name;
  auto example = kind == registry_kind::pipeline   ? "clips@1.json"
                 : kind == registry_kind::personas ? "personas@2.json"
                                                   : "media.metadata@1.json";
  auto folder = dir / sub;
  if (!is_dir(folder))
    return;
  for (auto& entry : sorted_entries(folder)) {
    std::error_code err;
    if (!entry.is_regular_file(err) || entry.path().extension() != ".json")
      continue;
    auto path = absolute_path(entry.path());
    auto ref = ref_of(entry.path().filename().string());
    if (!ref) {
      out.problems.push_back(refused(
        kind, "", path,
        {ec::invalid_ref, "",
         std::string{"the file name is not <name>@<version>.json (e.g. "}
           + example + "): the name of a registry file is its ref"}));
      continue;
    }
    found.push_back({kind, std::move(*ref), std::move(path)});
  }
}

/// Scans module folders `modules` and the plain folders `extra` (whose
/// `schemas/`, `policies/`, `personas/` and `pipelines/` count, but which
/// are no modules).
registry_scan scan(const std::vector<fs::path>& modules,
                   const std::vector<fs::path>& extra) {
  registry_scan out;
  std::vector<registry_candidate> schemas, policies, predicates, personas,
    pipelines;
  std::set<std::string> seen;
  auto folders = extra;
  folders.insert(folders.end(), modules.begin(), modules.end());
  for (auto& f : folders) {
    if (!seen.insert(absolute_path(f)).second)
      continue;
    scan_ref_files(f, "schemas", registry_kind::schema, out, schemas);
    scan_ref_files(f, "policies", registry_kind::policy, out, policies);
    scan_ref_files(f, "predicates", registry_kind::predicate, out, predicates);
    scan_ref_files(f, "personas", registry_kind::personas, out, personas);
    scan_ref_files(f, "pipelines", registry_kind::pipeline, out, pipelines);
  }
  out.candidates = std::move(schemas);
  out.candidates.insert(out.candidates.end(), policies.begin(), policies.end());
  // Predicates before modules: a contract names them.
  out.candidates.insert(out.candidates.end(), predicates.begin(), predicates.end());
  // Personas before pipelines: a pipeline's select may name them.
  out.candidates.insert(out.candidates.end(), personas.begin(), personas.end());
  std::set<std::string> seen_modules;
  for (auto& m : modules)
    if (auto path = absolute_path(m); seen_modules.insert(path).second)
      out.candidates.push_back({registry_kind::module, "", path});
  // Last: a pipeline names modules, any folder's.
  out.candidates.insert(out.candidates.end(), pipelines.begin(), pipelines.end());
  return out;
}

/// The `name@version` a module.json names, when it can be read ("" when
/// not): for reports on contracts that do not parse.
std::string ref_named_by(const std::string& text) {
  auto doc = json::parse(text);
  if (!doc)
    return {};
  auto* name = doc.doc->find("name");
  auto* version = doc.doc->find("version");
  if (!name || !name->is_string() || !version || !version->as_int64())
    return {};
  return name->as_string() + "@" + std::to_string(*version->as_int64());
}

} // namespace

// -- scanning and reading ------------------------------------------------------------

registry_scan scan_module_dirs(const std::vector<std::string>& dirs) {
  std::vector<fs::path> modules, extra;
  std::vector<registry_item> missing;
  for (auto& d : dirs) {
    fs::path dir{d};
    if (!is_dir(dir)) {
      std::error_code err;
      auto why = fs::exists(dir, err) ? "the module folder is a file, not a folder"
                                      : "the module folder does not exist";
      missing.push_back(refused(registry_kind::folder, "", absolute_path(dir),
                                {ec::not_found, "", why}));
      continue;
    }
    if (has_module_json(dir))
      modules.push_back(dir);
    else
      extra.push_back(dir);
    for (auto& entry : sorted_entries(dir)) {
      std::error_code err;
      if (entry.is_directory(err) && has_module_json(entry.path()))
        modules.push_back(entry.path());
    }
  }
  auto out = scan(modules, extra);
  out.problems.insert(out.problems.begin(), missing.begin(), missing.end());
  return out;
}

registry_scan scan_module_folder(const std::string& dir) {
  fs::path p{dir};
  if (!is_dir(p)) {
    registry_scan out;
    out.problems.push_back(refused(registry_kind::folder, "", absolute_path(p),
                                   {ec::not_found, "",
                                    "the module folder does not exist"}));
    return out;
  }
  if (has_module_json(p))
    return scan({p}, {});
  return scan({}, {p});
}

caf::expected<std::string> read_registry_file(const std::string& path) {
  std::error_code err;
  if (!fs::exists(path, err))
    return make_error(ec::not_found, "there is no file " + path);
  if (!fs::is_regular_file(path, err))
    return make_error(ec::io_error, path + " is not a regular file");
  auto size = fs::file_size(path, err);
  if (err)
    return make_error(ec::io_error, "cannot read " + path);
  if (size > max_registry_file)
    return make_error(ec::too_large, path + " has " + std::to_string(size)
                                       + " bytes; the registry reads at most "
                                       + std::to_string(max_registry_file));
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(ec::io_error, "cannot read " + path);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// -- the state -------------------------------------------------------------------------

caf::expected<contracts::schema_entry>
registry_state::check_schema(const std::string& ref,
                             const std::string& text) const {
  auto checked = contracts::check_schema_text(ref, text);
  if (!checked)
    return make_error(checked.problems, ec::invalid_schema);
  return std::move(*checked.entry);
}

caf::expected<contracts::policy_entry>
registry_state::check_policy(const std::string& ref,
                             const std::string& text) const {
  auto checked = contracts::check_policy_text(ref, text);
  if (!checked)
    return make_error(checked.problems, ec::schema_violation);
  return std::move(*checked.entry);
}

caf::expected<contracts::predicate_entry>
registry_state::check_predicate(const std::string& ref,
                                const std::string& text) const {
  auto doc = json::parse(text);
  if (!doc)
    return contracts::make_error(ec::invalid_json,
                                 "the predicate file is not JSON: " + doc.error.message);
  auto checked = contracts::check_predicate_document(ref, *doc.doc);
  if (!checked)
    return make_error(checked.problems, ec::schema_violation);
  return std::move(*checked.entry);
}

caf::expected<contracts::module_entry>
registry_state::check_module(const std::string& text,
                             const std::string& dir) const {
  auto entry
    = contracts::check_module_text(text, dir, contracts::make_schema_resolver(store),
                                   contracts::make_predicate_resolver(store));
  if (!entry)
    return entry;
  // A contract names its policy as it names schemas: by a ref the registry
  // must hold (the folder's own policies/ are registered before it).
  auto& policy = entry->contract.policy;
  if (!policy.empty() && !store->policy(policy))
    return make_error(ec::invalid_ref,
                      "no policy '" + policy
                        + "' is registered: put policies/" + policy
                        + ".json in a module folder of the node's --modules "
                          "(omniva module rescan loads it), then register the "
                          "module",
                      "/policy");
  return entry;
}

caf::expected<pipeline_file>
registry_state::check_pipeline(const std::string& ref, std::string text) const {
  auto doc = json::parse(text);
  if (doc && doc.doc->is_object()) {
    auto* name = doc.doc->find("name");
    auto* version = doc.doc->find("version");
    if (name && name->is_string() && version && version->as_int64()) {
      auto named = name->as_string() + "@" + std::to_string(*version->as_int64());
      if (named != ref) {
        auto at = ref.find('@');
        bool same_name = ref.substr(0, at) == name->as_string();
        return make_error(ec::invalid_ref,
                          "the document is " + named + " but its file is named "
                            + ref
                            + ".json: the name of a registry file is its ref",
                          same_name ? "/version" : "/name");
      }
    }
  }
  return pipeline_file{ref, std::move(text)};
}

registry_step registry_state::prepare(const registry_candidate& c) const {
  auto ends = [&](std::string ref, const caf::error& e) -> registry_step {
    return refused(c.kind, std::move(ref), c.path, problem_of(e));
  };
  auto unchanged = [&](std::string ref) -> registry_step {
    return registry_item{c.kind, std::move(ref), c.path,
                         registry_outcome::unchanged, {}};
  };
  auto file = c.kind == registry_kind::module
                ? (fs::path{c.path} / "module.json").string()
                : c.path;
  auto text = read_registry_file(file);
  if (!text)
    return ends(c.ref, text.error());
  switch (c.kind) {
    case registry_kind::schema: {
      auto entry = check_schema(c.ref, *text);
      if (!entry)
        return ends(c.ref, entry.error());
      if (auto held = store->schema(c.ref);
          held && held->canonical_json == entry->canonical_json)
        return unchanged(c.ref);
      return std::move(*entry);
    }
    case registry_kind::policy: {
      auto entry = check_policy(c.ref, *text);
      if (!entry)
        return ends(c.ref, entry.error());
      if (auto held = store->policy(c.ref); held && *held == *entry)
        return unchanged(c.ref);
      return std::move(*entry);
    }
    case registry_kind::predicate: {
      auto entry = check_predicate(c.ref, *text);
      if (!entry)
        return ends(c.ref, entry.error());
      if (auto held = store->predicate(c.ref); held && *held == *entry)
        return unchanged(c.ref);
      return std::move(*entry);
    }
    case registry_kind::module: {
      auto entry = check_module(*text, c.path);
      if (!entry)
        return ends(ref_named_by(*text), entry.error());
      auto ref = entry->contract.ref();
      if (reader) {
        // Registered with the same content and folder: nothing to do.
        if (auto stored = reader->get(storage::table::modules, ref))
          if (auto row = contracts::read_module_row(*stored);
              row && row->dir == entry->dir
              && json::serialize(row->contract, json::style::canonical)
                   == entry->canonical_json)
            return unchanged(std::move(ref));
      }
      return std::move(*entry);
    }
    case registry_kind::pipeline: {
      // Zenith checks it against its modules and tells whether it is new.
      auto file = check_pipeline(c.ref, std::move(*text));
      if (!file)
        return ends(c.ref, file.error());
      return std::move(*file);
    }
    case registry_kind::personas:
      // Zenith checks the document and tells whether it is new.
      return personas_file{c.ref, std::move(*text)};
    case registry_kind::folder:
      break;
  }
  return ends(c.ref, make_error(ec::invalid_argument, "not a registry file"));
}

// -- the actor --------------------------------------------------------------------------

namespace {

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

/// One load in progress: what is left to register and what happened so far.
struct load_run {
  std::vector<registry_candidate> todo;
  size_t next = 0;
  contracts::registry_report report;
  /// Called once every candidate is done.
  std::function<void(contracts::registry_report&)> done;
  /// The operator the registrations are made for (see `zenith_actor`).
  std::string by;
};

void log_item(const registry_item& x) {
  // "schema media.metadata@1 from <file>", "folder <path>"
  auto what = std::string{contracts::to_string(x.kind)} + " "
              + (x.ref.empty() ? x.source : x.ref + " from " + x.source);
  switch (x.outcome) {
    case registry_outcome::registered:
      spdlog::info("registry: registered {}", what);
      break;
    case registry_outcome::unchanged:
      spdlog::info("registry: {} is registered already", what);
      break;
    case registry_outcome::refused:
      spdlog::warn("registry: {} not registered: {}", what,
                   contracts::to_string(x.error));
      break;
  }
}

/// The outcome of a document Zenith checked whole (a pipeline, personas):
/// registered, unchanged, or refused with the first of its problems.
void settle(registry_item& item, bool ok, bool unchanged,
            const std::vector<contracts::problem>& problems, std::string_view what) {
  if (ok) {
    if (unchanged)
      item.outcome = registry_outcome::unchanged;
    return;
  }
  item.outcome = registry_outcome::refused;
  item.error = problems.empty()
                 ? contracts::problem{ec::storage_error, "",
                                      "Zenith refused the " + std::string{what}
                                        + " without a reason"}
                 : problems.front();
}

void record(load_run& run, registry_item item) {
  log_item(item);
  run.report.items.push_back(std::move(item));
}

/// Registers the candidates of `run` one after the other: each waits for
/// Zenith's answer to the one before (a module checked after the schemas it
/// names are committed).
void advance(registry_pointer self, std::shared_ptr<load_run> run) {
  while (run->next < run->todo.size()) {
    auto& c = run->todo[run->next++];
    auto step = self->state.prepare(c);
    if (auto* item = std::get_if<registry_item>(&step)) {
      record(*run, std::move(*item));
      continue;
    }
    registry_item pending{c.kind, c.ref, c.path, registry_outcome::registered,
                          {}};
    if (auto* m = std::get_if<contracts::module_entry>(&step))
      pending.ref = m->contract.ref();
    auto on_ok = [self, run, pending](std::string& ref) mutable {
      pending.ref = ref;
      record(*run, std::move(pending));
      advance(self, run);
    };
    auto on_error = [self, run, pending](caf::error& e) mutable {
      pending.outcome = registry_outcome::refused;
      pending.error = problem_of(e);
      record(*run, std::move(pending));
      advance(self, run);
    };
    auto& zenith = self->state.zenith;
    if (auto* p = std::get_if<personas_file>(&step)) {
      // Zenith answers the personas or every problem (the first is the
      // item's error); the same document again is unchanged.
      self->request(zenith, zenith_timeout, atom::personas_v, p->ref,
                    std::move(p->text), run->by)
        .then(
          [self, run, pending](contracts::personas_registration& res) mutable {
            settle(pending, res.ok, res.unchanged, res.problems, "personas");
            record(*run, std::move(pending));
            advance(self, run);
          },
          on_error);
    } else if (auto* p = std::get_if<pipeline_file>(&step)) {
      // Zenith answers the pipeline or every problem (the first is the
      // item's error); the same document again is unchanged.
      self->request(zenith, zenith_timeout, atom::pipeline_v,
                    std::move(p->text), run->by)
        .then(
          [self, run, pending](contracts::pipeline_registration& res) mutable {
            if (res.ok)
              pending.ref = res.pipeline.ref();
            settle(pending, res.ok, res.unchanged, res.problems, "pipeline");
            record(*run, std::move(pending));
            advance(self, run);
          },
          on_error);
    } else if (auto* s = std::get_if<contracts::schema_entry>(&step)) {
      self->request(zenith, zenith_timeout, atom::schema_v, std::move(*s),
                    run->by)
        .then(on_ok, on_error);
    } else if (auto* p = std::get_if<contracts::policy_entry>(&step)) {
      self->request(zenith, zenith_timeout, atom::policy_v, std::move(*p),
                    run->by)
        .then(on_ok, on_error);
    } else if (auto* p = std::get_if<contracts::predicate_entry>(&step)) {
      self->request(zenith, zenith_timeout, atom::predicate_v, std::move(*p),
                    run->by)
        .then(on_ok, on_error);
    } else {
      auto& m = std::get<contracts::module_entry>(step);
      self->request(zenith, zenith_timeout, atom::enroll_v, std::move(m),
                    run->by)
        .then(on_ok, on_error);
    }
    return;
  }
  run->done(run->report);
}

void start(registry_pointer self, registry_scan found, std::string by,
           std::function<void(contracts::registry_report&)> done) {
  auto run = std::make_shared<load_run>();
  run->by = std::move(by);
  for (auto& p : found.problems)
    record(*run, std::move(p));
  run->todo = std::move(found.candidates);
  run->done = std::move(done);
  advance(self, std::move(run));
}

} // namespace

registry_actor::behavior_type
registry(registry_actor::stateful_pointer<registry_state> self,
         registry_config config,
         std::shared_ptr<const contracts::registry_store> store,
         std::shared_ptr<const storage::reader> reader, zenith_actor zenith) {
  auto& st = self->state;
  st.config = std::move(config);
  st.store = std::move(store);
  st.reader = std::move(reader);
  st.zenith = std::move(zenith);
  return {
    [=](atom::rescan,
        const std::string& by) -> caf::result<contracts::registry_report> {
      auto promise = self->make_response_promise<contracts::registry_report>();
      start(self, scan_module_dirs(self->state.config.module_dirs), by,
            [promise](contracts::registry_report& r) mutable {
              promise.deliver(r);
            });
      return promise;
    },
    [=](atom::load, const std::string& dir,
        const std::string& by) -> caf::result<std::string> {
      if (!has_module_json(dir))
        return make_error(ec::not_found, "there is no module.json in " + dir);
      auto promise = self->make_response_promise<std::string>();
      start(self, scan_module_folder(dir), by,
            [promise](contracts::registry_report& r) mutable {
              // The module comes after the folder's schemas and policies,
              // before its pipelines; its outcome is the answer.
              auto m = std::find_if(r.items.rbegin(), r.items.rend(),
                                    [](const registry_item& x) {
                                      return x.kind == registry_kind::module;
                                    });
              if (m == r.items.rend())
                promise.deliver(make_error(
                  ec::not_found, "there is no module.json in the folder"));
              else if (m->outcome == registry_outcome::refused)
                promise.deliver(make_error(m->error.code, m->error.message,
                                           m->error.pointer));
              else
                promise.deliver(m->ref);
            });
      return promise;
    },
    [=](atom::enroll, const std::string& text, const std::string& dir,
        const std::string& by) -> caf::result<std::string> {
      auto entry = self->state.check_module(text, dir);
      if (!entry)
        return entry.error();
      return self->delegate(self->state.zenith, atom::enroll_v,
                            std::move(*entry), by);
    },
    [=](atom::schema, const std::string& ref, const std::string& text,
        const std::string& by) -> caf::result<std::string> {
      auto entry = self->state.check_schema(ref, text);
      if (!entry)
        return entry.error();
      return self->delegate(self->state.zenith, atom::schema_v,
                            std::move(*entry), by);
    },
  };
}

} // namespace omniva::actors
