#pragma once

// The messages of the node's actors beyond the records of messages.hpp:
// what Zenith sends a worker pool, what a worker reports back, and Zenith's
// answers. Plain structs with `inspect`, so they cross a network link
// unchanged.

#include "contracts/error_code.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace omniva::contracts {

/// A worker pool from configuration: where modules may run.
struct pool_spec {
  std::string name;
  /// Tasks the pool runs at once.
  uint32_t workers = 1;
  /// Resources of one worker slot: a module fits when its contract asks for
  /// no more.
  double cpu = 1;
  double memory_gb = 1;
  bool gpu = false;

  friend bool operator==(const pool_spec&, const pool_spec&) = default;
};

/// @relates pool_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_spec& x) {
  return f(caf::meta::type_name("pool_spec"), x.name, x.workers, x.cpu,
           x.memory_gb, x.gpu);
}

/// Returns whether a module with `contract` may run in `pool`.
bool fits(const module_contract& contract, const pool_spec& pool) noexcept;

/// Parses "name:workers:cpu:memory_gb[:gpu]" ("default:2:4:8", "gpu:1:8:32:gpu").
std::optional<pool_spec> parse_pool_spec(std::string_view text);

/// One input of a dispatched task, resolved for a worker.
struct dispatched_input {
  std::string key;
  /// A VALUE input (its JSON in `value_json`) or an ASSET (a file at `path`).
  bool is_value = false;
  std::string path;
  std::string media_type;
  std::string value_json;
  std::string sha256;

  friend bool operator==(const dispatched_input&, const dispatched_input&) = default;
};

/// @relates dispatched_input
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatched_input& x) {
  return f(caf::meta::type_name("dispatched_input"), x.key, x.is_value,
           x.path, x.media_type, x.value_json, x.sha256);
}

/// Zenith's order to run one attempt of a task.
struct dispatch_order {
  /// "<task_id>/<attempt>": a second result for it is ignored.
  std::string execution_id;
  task_record task;
  module_contract contract;
  /// The folder of the module's `module.json`: the working directory.
  std::string module_dir;
  std::vector<dispatched_input> inputs;
  /// `<data>/outputs/<task_id>/<attempt>/`.
  std::string output_dir;

  friend bool operator==(const dispatch_order&, const dispatch_order&) = default;
};

/// @relates dispatch_order
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dispatch_order& x) {
  return f(caf::meta::type_name("dispatch_order"), x.execution_id, x.task,
           x.contract, x.module_dir, x.inputs, x.output_dir);
}

/// One output a run produced.
struct produced_output {
  std::string key;
  std::string path;
  std::string media_type;
  std::string sha256;
  uint64_t size = 0;

  friend bool operator==(const produced_output&, const produced_output&) = default;
};

/// @relates produced_output
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, produced_output& x) {
  return f(caf::meta::type_name("produced_output"), x.key, x.path,
           x.media_type, x.sha256, x.size);
}

/// What a worker reports after running one attempt.
struct execution_outcome {
  std::string execution_id;
  std::string task_id;
  uint32_t attempt = 0;
  bool ok = false;
  std::vector<produced_output> outputs;
  /// Why it failed (`exit_code`, `signal`, `timeout`, ...), when not ok.
  ec error_code = ec::none;
  std::string error_message;
  bool transient = false;
  /// Duration, exit status, ... as compact JSON.
  std::string metrics_json = "{}";
  std::string stdout_path;
  std::string stderr_path;

  friend bool operator==(const execution_outcome&, const execution_outcome&) = default;
};

/// @relates execution_outcome
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, execution_outcome& x) {
  return f(caf::meta::type_name("execution_outcome"), x.execution_id,
           x.task_id, x.attempt, x.ok, x.outputs, x.error_code,
           x.error_message, x.transient, x.metrics_json, x.stdout_path,
           x.stderr_path);
}

/// Zenith's answer to a submission: the task, or every problem.
struct submit_result {
  bool ok = false;
  /// The idempotency key matched an earlier submission: `task` is that one.
  bool duplicate = false;
  task_record task;
  std::vector<problem> problems;

  friend bool operator==(const submit_result&, const submit_result&) = default;
};

/// @relates submit_result
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_result& x) {
  return f(caf::meta::type_name("submit_result"), x.ok, x.duplicate, x.task,
           x.problems);
}

/// A module as the registry found it: its contract, where it lives, and the
/// exact text it was registered with (immutability is checked on it).
struct module_entry {
  module_contract contract;
  std::string dir;
  std::string canonical_json;

  friend bool operator==(const module_entry&, const module_entry&) = default;
};

/// @relates module_entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, module_entry& x) {
  return f(caf::meta::type_name("module_entry"), x.contract, x.dir,
           x.canonical_json);
}

/// One event a commit made durable (what `GET /api/events` streams).
struct committed_event {
  /// The packet's kind ("task.created", ...).
  std::string kind;
  /// The packet's id.
  std::string packet_id;
  /// The entity the event is about (a task id, asset id or module ref).
  std::string subject;
};

} // namespace omniva::contracts
