#pragma once

// Running a module once without a node (`omniva module run`): the module's
// folder loaded and checked as the registry checks it, a request made of
// local files and values pre-flighted as Zenith pre-flights one, the
// execution built as Zenith builds a dispatch order, and the attempt run
// through the node's own adapters (the local adapter, or the mock adapter
// for `mode` mock), which check the outputs against the contract exactly as
// they do on a node.
//
// What differs from a node, on purpose: nothing is committed (no lineage,
// no assets); an ASSET input is the file itself, read where it lies (a node
// reads its copy in the blob store); the attempt is neither recorded nor
// marked (runtime/leftovers.hpp: there is no data folder), so what the
// module starts and leaves behind is not reaped; schemas come from the
// module's folder (`schemas/`) and from the folders the caller names, not
// from a registry.
//
// Plain C++: no actors. `run_module_once` blocks while the module runs.

#include "contracts/error_code.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/preflight.hpp"
#include "contracts/registry_store.hpp"
#include "runtime/local_adapter.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace omniva::runtime {

/// A module folder, loaded and checked, ready to run.
struct loaded_module {
  /// The contract, checked with its schema ids resolved.
  contracts::module_contract contract;
  /// The folder of module.json, absolute: the module's working directory.
  std::string dir;
  /// The module.json that was read, absolute.
  std::string file;
  /// The schemas of the module's folder and of the extra folders: what the
  /// contract's schema ids resolve to (besides the shipped schemas).
  std::shared_ptr<contracts::registry_store> schemas;
};

/// Either a module ready to run or every problem found loading it.
struct module_load_result {
  /// Set when the module may run.
  std::optional<loaded_module> module;
  /// Every problem: of a schema file (the message names the file, the
  /// pointer points into it) and of the contract (pointers into
  /// module.json); empty when `module` is set.
  std::vector<contracts::problem> problems;
  /// The module.json read (or meant to be), absolute.
  std::string file;

  explicit operator bool() const noexcept {
    return module.has_value();
  }
};

/// Loads the module at `path` (its folder, or its module.json) as a node
/// registers it: every schema of its folder's `schemas/` and of each folder
/// in `schema_dirs` (read as `omniva serve --modules` reads its folders:
/// `schemas/` of the folder and of each module folder in it) checked and
/// held, then the contract checked with its schema ids resolved against
/// them and the shipped schemas. Problems: `not_found` (no such folder or
/// module.json), `io_error`, `too_large` (over 1 MiB, as the registry
/// reads), a schema file's problems (`invalid_schema`, `invalid_json`,
/// `invalid_ref` for a file not named `<name>@<N>.json`, `immutable_ref`
/// for two files of one ref with different content) and every problem of
/// `contracts::parse_module_contract`. Never throws for anything on disk.
module_load_result load_module(const std::string& path,
                               const std::vector<std::string>& schema_dirs = {});

/// What one run is given: the files and values of a request.
struct run_inputs {
  /// ASSET inputs: key -> path of a local file, in the order given (a key
  /// given twice is a problem).
  std::vector<std::pair<std::string, std::string>> files;
  /// VALUE inputs: key -> the value as JSON text, in the order given.
  std::vector<std::pair<std::string, std::string>> values;
  /// The media type of an input's file, by key, instead of the detected
  /// one (as `omniva asset add --media-type`). Default: detected as the
  /// node's asset store detects it.
  std::map<std::string, std::string> media_types;
  /// `real` runs the module's program (local adapter); `mock` fabricates
  /// outputs (mock adapter). Default: real.
  contracts::execution_mode mode = contracts::execution_mode::real;
};

/// A request that passed pre-flight, turned into the order an adapter runs.
struct planned_run {
  /// The task as pre-flight resolved it (defaults applied); its
  /// `input_mapping` names the made-up asset ids of `assets`.
  contracts::resolved_task task;
  /// The asset records made for the input files (AVAILABLE FILE assets,
  /// `uri` the file's absolute path, hashed, media type detected or given).
  std::vector<contracts::asset_record> assets;
  /// The order: execution id `<task id>/1`, the module's folder as working
  /// directory, the files and values as inputs, `output_dir` the
  /// execution's folder.
  contracts::dispatch_order order;
};

/// Either the planned run or every problem of the request.
struct plan_result {
  /// Set when the request may run.
  std::optional<planned_run> run;
  /// Every problem, pointers into the request as a node reports them
  /// (`/input_mapping/<key>` for files, `/values/<key>` for values); empty
  /// when `run` is set.
  std::vector<contracts::problem> problems;

  explicit operator bool() const noexcept {
    return run.has_value();
  }
};

/// Pre-flights `inputs` against `module`'s contract, all problems at once:
/// first what is wrong with the files and values themselves —
/// `duplicate_key` (a key given twice), `not_found` (no such file),
/// `invalid_argument` (not a regular file), `io_error` (unreadable),
/// `invalid_media_type` (a given media type that is not one), `invalid_json`
/// (a value that is not JSON) — then every finding of `contracts::preflight`
/// (`missing_input`, `unknown_input`, `media_type_mismatch`,
/// `dtype_mismatch`, `out_of_range`, ...). On success the order runs in
/// `output_dir` (made absolute; not created here).
plan_result plan_run(const loaded_module& module, const run_inputs& inputs,
                     const std::string& output_dir);

/// How a run ended.
struct run_report {
  /// The adapter's outcome (runtime::to_json renders its envelope).
  contracts::execution_outcome outcome;
  /// How long the attempt took: the adapter's `duration_ms` when it
  /// measured one, else the wall-clock time of the whole call.
  std::chrono::milliseconds duration{0};
};

/// Runs `run.order` once through the local adapter (with `options`), or
/// through the mock adapter when the order's mode is mock, with the
/// module's schemas for the output checks, the contract's secrets taken
/// from this process's environment, and `stop` (may be null) as the
/// attempt's stop flag: when it turns true the module's process group is
/// killed and the outcome is `cancelled`. Blocks. Never throws for
/// anything the module does.
run_report run_module_once(const loaded_module& module, const planned_run& run,
                           const std::atomic<bool>* stop = nullptr,
                           local_adapter_options options = {});

} // namespace omniva::runtime
