// Running a module once without a node: load and check its folder,
// pre-flight a request of local files and values, build the order as Zenith
// does, run it through the node's adapters.

#include "runtime/module_runner.hpp"

#include "actors/registry.hpp"
#include "contracts/ids.hpp"
#include "contracts/media_type.hpp"
#include "contracts/sha256.hpp"
#include "runtime/adapter.hpp"
#include "runtime/execution_files.hpp"
#include "runtime/mock_adapter.hpp"
#include "storage/asset_store.hpp"

#include <cstdlib>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;
using contracts::problem;

namespace {

using clock_type = std::chrono::steady_clock;

/// `problem` of a registry item that was refused, its message naming the
/// file it is about.
problem refusal(const contracts::registry_item& item) {
  auto p = item.error;
  if (!item.source.empty())
    p.message = item.source + ": " + p.message;
  return p;
}

/// The first problem of `e` (its message names `file`).
problem problem_in(const caf::error& e, const std::string& file) {
  auto p = contracts::problem_from_error(e);
  problem out = p ? *p : problem{ec::io_error, "", to_string(e)};
  out.message = file + ": " + out.message;
  return out;
}

/// Reads the schemas of the module's folder and of `dirs` into `store`;
/// every problem goes to `problems`.
void load_schemas(const fs::path& module_dir, const std::vector<std::string>& dirs,
                  contracts::registry_store& store,
                  std::vector<problem>& problems) {
  std::vector<actors::registry_scan> scans;
  scans.push_back(actors::scan_module_folder(module_dir.string()));
  if (!dirs.empty())
    scans.push_back(actors::scan_module_dirs(dirs));
  std::set<std::string> seen;
  for (auto& scan : scans) {
    for (auto& item : scan.problems)
      if (item.kind == contracts::registry_kind::schema
          || item.kind == contracts::registry_kind::folder)
        problems.push_back(refusal(item));
    for (auto& c : scan.candidates) {
      if (c.kind != contracts::registry_kind::schema
          || !seen.insert(c.path).second)
        continue;
      auto text = actors::read_registry_file(c.path);
      if (!text) {
        problems.push_back(problem_in(text.error(), c.path));
        continue;
      }
      auto checked = contracts::check_schema_text(c.ref, *text);
      if (!checked) {
        for (auto& p : checked.problems)
          problems.push_back({p.code, p.pointer, c.path + ": " + p.message});
        continue;
      }
      if (auto e = store.add_schema(*checked.entry))
        problems.push_back(problem_in(e, c.path));
    }
  }
}

/// A FILE asset record for the file at `path` (checked to be a readable
/// regular file), or the problem with it at `at`.
std::optional<contracts::asset_record>
file_asset(const std::string& key, const std::string& path,
           const std::string* media_type, const std::string& at,
           contracts::id_source& ids, std::vector<problem>& problems) {
  auto input = "input '" + key + "'";
  std::error_code err;
  auto status = fs::status(path, err);
  if (err || !fs::exists(status)) {
    problems.push_back({ec::not_found, at,
                        "the file '" + path + "' of " + input + " does not exist"});
    return std::nullopt;
  }
  if (!fs::is_regular_file(status)) {
    problems.push_back({ec::invalid_argument, at,
                        "'" + path + "' (" + input + ") is not a regular file"});
    return std::nullopt;
  }
  if (media_type
      && !contracts::is_valid_media_type(contracts::media_type_essence(*media_type),
                                         false)) {
    problems.push_back({ec::invalid_media_type, at,
                        "'" + *media_type + "' (" + input
                          + ") is not a media type"});
    return std::nullopt;
  }
  auto hashed = contracts::sha256_file(path);
  if (!hashed) {
    problems.push_back({ec::io_error, at,
                        "cannot read the file '" + path + "' of " + input});
    return std::nullopt;
  }
  contracts::asset_record a;
  a.asset_id = ids.next_uuid();
  a.kind = contracts::asset_kind::file;
  a.status = contracts::asset_status::available;
  a.media_type = media_type ? *media_type
                            : storage::asset_store::detect_media_type(path);
  a.uri = absolute_normal(path).string();
  a.sha256 = std::move(hashed->sha256);
  a.size = hashed->size;
  a.label = fs::path{path}.filename().string();
  return a;
}

/// The execution context of a run without a node: the module's schemas,
/// the contract's secrets from this process's environment, `stop`.
execution_context context_for(const loaded_module& module,
                              const std::atomic<bool>* stop) {
  execution_context context;
  auto schemas = module.schemas;
  context.schema_lookup = contracts::make_schema_resolver(schemas);
  context.schema_document_lookup = [schemas](std::string_view id) {
    return schemas->schema_document(id);
  };
  for (auto* names : {&module.contract.secrets.required,
                      &module.contract.secrets.optional})
    for (auto& name : *names)
      if (auto* v = std::getenv(name.c_str()))
        context.secrets[name] = v;
  context.stop = stop;
  return context;
}

} // namespace

module_load_result load_module(const std::string& path,
                               const std::vector<std::string>& schema_dirs) {
  module_load_result out;
  std::error_code err;
  auto given = absolute_normal(path);
  auto file = fs::is_directory(given, err) ? given / "module.json" : given;
  out.file = file.string();
  auto dir = file.parent_path();
  auto store = std::make_shared<contracts::registry_store>();
  if (!fs::exists(given, err)) {
    out.problems.push_back({ec::not_found, "",
                            "there is no module folder or module.json at '"
                              + given.string() + "'"});
    return out;
  }
  load_schemas(dir, schema_dirs, *store, out.problems);
  auto text = actors::read_registry_file(out.file);
  if (!text) {
    out.problems.push_back(problem_in(text.error(), out.file));
    return out;
  }
  contracts::contract_options options;
  options.resolve_schema = contracts::make_schema_resolver(store);
  auto parsed = contracts::parse_module_contract(*text, options);
  if (!parsed) {
    out.problems.insert(out.problems.end(), parsed.problems.begin(),
                        parsed.problems.end());
    return out;
  }
  if (!out.problems.empty())
    return out;
  out.module = loaded_module{std::move(*parsed.contract), dir.string(),
                             out.file, std::move(store)};
  return out;
}

plan_result plan_run(const loaded_module& module, const run_inputs& inputs,
                     const std::string& output_dir) {
  plan_result out;
  contracts::random_id_source ids;
  contracts::task_request request;
  request.module_ref = module.contract.ref();
  request.mode = inputs.mode;
  contracts::asset_table table;
  std::vector<contracts::asset_record> assets;
  std::vector<problem>& read = request.problems;

  for (auto& [key, path] : inputs.files) {
    auto at = json::append_pointer("/input_mapping", key);
    if (request.input_mapping.contains(key)) {
      read.push_back({ec::duplicate_key, at,
                      "the input '" + key + "' is given twice"});
      continue;
    }
    auto mt = inputs.media_types.find(key);
    auto asset = file_asset(key, path,
                            mt == inputs.media_types.end() ? nullptr : &mt->second,
                            at, ids, read);
    // An input whose file is wrong keeps its key (with an id nothing
    // knows): pre-flight then neither looks it up nor calls it missing.
    request.input_mapping[key] = asset ? asset->asset_id : ids.next_uuid();
    if (asset) {
      table.add(*asset);
      assets.push_back(std::move(*asset));
    }
  }
  for (auto& [key, given] : inputs.media_types)
    if (!request.input_mapping.contains(key))
      read.push_back({ec::unknown_input,
                      json::append_pointer("/input_mapping", key),
                      "a media type is given for '" + key
                        + "', which is given no file"});
  for (auto& [key, text] : inputs.values) {
    auto at = json::append_pointer("/values", key);
    if (request.values.contains(key)) {
      read.push_back({ec::duplicate_key, at,
                      "the input '" + key + "' is given twice"});
      continue;
    }
    auto parsed = json::parse(text);
    if (!parsed) {
      read.push_back({ec::invalid_json, at,
                      "the value of '" + key + "' is not JSON: "
                        + parsed.error.message});
      request.values[key] = "null";
      continue;
    }
    request.values[key] = json::serialize(*parsed.doc);
  }

  auto checked = contracts::preflight(module.contract, request, table.view());
  if (!checked) {
    out.problems = std::move(checked.problems);
    return out;
  }
  planned_run run;
  run.task = std::move(*checked.task);
  run.assets = std::move(assets);
  auto& r = run.task.request;

  // The order as Zenith builds it when it dispatches a task.
  contracts::task_record t;
  t.task_id = ids.next_uuid();
  t.module_ref = r.module_ref;
  t.input_mapping = r.input_mapping;
  t.values = r.values;
  t.status = contracts::task_status::running;
  t.attempt = 1;
  t.mode = r.mode;
  auto& order = run.order;
  order.execution_id = t.task_id + "/1";
  order.contract = module.contract;
  order.module_dir = module.dir;
  order.output_dir = absolute_normal(output_dir).string();
  for (auto& [key, id] : r.input_mapping) {
    for (auto& a : run.assets) {
      if (a.asset_id != id)
        continue;
      contracts::dispatched_input in;
      in.key = key;
      in.path = a.uri;
      in.media_type = a.media_type;
      in.sha256 = a.sha256;
      order.inputs.push_back(std::move(in));
    }
  }
  for (auto& [key, value] : r.values) {
    contracts::dispatched_input in;
    in.key = key;
    in.is_value = true;
    in.value_json = value;
    order.inputs.push_back(std::move(in));
  }
  order.task = std::move(t);
  out.run = std::move(run);
  return out;
}

run_report run_module_once(const loaded_module& module, const planned_run& run,
                           const std::atomic<bool>* stop,
                           local_adapter_options options) {
  auto context = context_for(module, stop);
  auto start = clock_type::now();
  run_report report;
  if (run.order.task.mode == contracts::execution_mode::mock) {
    mock_adapter mock;
    report.outcome = mock.invoke(run.order, context);
  } else {
    local_adapter local{std::move(options)};
    report.outcome = local.invoke(run.order, context);
  }
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - start);
  if (auto metrics = json::parse(report.outcome.metrics_json))
    if (auto* ms = metrics.doc->find("duration_ms"))
      if (auto n = ms->as_int64())
        report.duration = std::chrono::milliseconds{*n};
  return report;
}

} // namespace omniva::runtime
