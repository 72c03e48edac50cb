#pragma once

// Pipelines (docs/pipelines.md): a registry entry `name@N` of steps, each a
// module run whose inputs come from the pipeline's inputs, from earlier
// steps' outputs (or their own inputs) or from literal values. A step may
// fan out (`for_each`: once per element of a list asset, or of an array
// inside a JSON output), filter the elements first (`select`), or fan back
// in (`collect`). A pipeline is checked whole when it is registered: every
// module exists, every mapping joins an output to an input that accepts it,
// every reference resolves, every step is reachable; every problem at once,
// each with a stable code and the JSON pointer of the member at fault.
//
// The checked pipeline also carries what a run needs to know about each
// step (its kind, its scope: the chain of `for_each` steps it runs under,
// the steps it depends on), so that Zenith's run engine never re-derives
// it.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// The media type of a list asset: the promise of a `many` output, and the
/// `collected` input of a `collect` step. Its content is a JSON object
/// `{"assets": ["<asset id>", ...]}` (in order), plus, for `collected`,
/// `"missing": [{"task_id", "branch", "code"}]` for the elements whose task
/// did not succeed.
inline constexpr std::string_view asset_list_media_type
  = "application/vnd.omniva.asset-list+json";

/// Where a step input (or a pipeline output) takes its value from.
enum class source_kind : uint8_t {
  /// `{"from": "inputs.K"}`: the run's input K.
  pipeline_input = 0,
  /// `{"from": "STEP.KEY"}`: output KEY of STEP (or, when STEP has no
  /// such output, its input KEY), in the same branch.
  step = 1,
  /// `{"value": ...}`: a literal JSON value (VALUE inputs only).
  value = 2,
  /// `{"from": "item"}`: the current element of the step's `for_each`.
  item = 3,
  /// `{"from": "collected"}`: the list the step's `collect` gathered.
  collected = 4,
};

/// Returns "pipeline_input", "step", "value", "item" or "collected".
std::string_view to_string(source_kind x) noexcept;

/// One `{"from": ...}` or `{"value": ...}`.
struct step_source {
  source_kind kind = source_kind::value;
  /// `step`: the step id; `pipeline_input`: "" .
  std::string step;
  /// `pipeline_input`: the input key; `step`: the output (or input) key.
  std::string key;
  /// `step` only, set by the check: whether `key` names one of the step's
  /// inputs (the same asset or value that step took) rather than an output.
  bool step_input = false;
  /// `value`: compact JSON text.
  std::string value_json;

  friend bool operator==(const step_source&, const step_source&) = default;
};

/// @relates step_source
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_source& x) {
  return f(caf::meta::type_name("step_source"), x.kind, x.step, x.key,
           x.step_input, x.value_json);
}

/// `select`: which elements a `for_each` keeps, before it fans out.
struct select_spec {
  /// "score": by the number at `pointer` inside each element; otherwise the
  /// name of an engine whose advice ranks the elements ("pantheon").
  std::string by;
  /// "score": the RFC 6901 pointer of the number inside an element.
  std::string pointer;
  /// Keep at most this many, highest first (ties: earlier elements first).
  std::optional<int64_t> top;
  /// Keep only elements scoring at least this.
  std::optional<double> min;
  /// An engine's own settings (compact JSON object text); "" for none.
  std::string options_json;
  /// "pantheon": the personas that vote ("personas@1" unless said);
  /// `min` holds `min_consensus`.
  std::string personas;

  friend bool operator==(const select_spec&, const select_spec&) = default;
};

/// @relates select_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, select_spec& x) {
  detail::optional_member<int64_t> top{x.top};
  detail::optional_member<double> min{x.min};
  return f(caf::meta::type_name("select_spec"), x.by, x.pointer, top, min,
           x.options_json, x.personas);
}

/// `for_each`: the step runs once per element.
struct for_each_spec {
  /// The list: a list asset (a `many` output, or a pipeline input of the
  /// list media type), or a JSON output when `pointer` is set.
  step_source from;
  /// RFC 6901 pointer of an array inside the JSON asset `from`; "" when
  /// `from` is a list asset.
  std::string pointer;
  std::optional<select_spec> select;

  friend bool operator==(const for_each_spec&, const for_each_spec&) = default;
};

/// @relates for_each_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, for_each_spec& x) {
  detail::optional_member<select_spec> select{x.select};
  return f(caf::meta::type_name("for_each_spec"), x.from, x.pointer, select);
}

/// How a step runs.
enum class step_kind : uint8_t {
  /// Once per branch it lies in, created with that branch.
  single = 0,
  /// Once per element of its list (`for_each`).
  for_each = 1,
  /// Once per branch, after every task of the collected step below it
  /// ended (`collect`).
  collect = 2,
};

/// Returns "single", "for_each" or "collect".
std::string_view to_string(step_kind x) noexcept;

/// One step of a pipeline.
struct pipeline_step {
  /// Unique; lowercase letters, digits, '_' and '-', a letter first; not
  /// "inputs", "item" or "collected".
  std::string id;
  /// "name@N" of a registered module.
  std::string module_ref;
  /// Module input key -> where it comes from.
  std::map<std::string, step_source> inputs;
  step_kind kind = step_kind::single;
  /// Set when `kind` is `for_each`.
  std::optional<for_each_spec> for_each;
  /// `collect`: the step output gathered (kind `step`).
  std::optional<step_source> collect;
  /// Set by the check: the `for_each` steps this step runs under, outermost
  /// first; a `for_each` step's own id is last in its scope.
  std::vector<std::string> scope;
  /// Set by the check: the steps whose outputs or inputs it takes
  /// (including through `for_each.from` and `collect`), sorted, unique.
  std::vector<std::string> depends_on;

  friend bool operator==(const pipeline_step&, const pipeline_step&) = default;
};

/// @relates pipeline_step
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pipeline_step& x) {
  detail::optional_member<for_each_spec> for_each{x.for_each};
  detail::optional_member<step_source> collect{x.collect};
  return f(caf::meta::type_name("pipeline_step"), x.id, x.module_ref,
           x.inputs, x.kind, for_each, collect, x.scope, x.depends_on);
}

/// A checked pipeline.
struct pipeline_spec {
  /// Like a module name.
  std::string name;
  /// Positive; `name@version` is immutable once registered.
  int64_t version = 0;
  std::string schema_version;
  std::string description;
  /// The run's inputs, shaped like a module's (ASSET or VALUE, dtype,
  /// media types, constraints, defaults).
  std::vector<input_spec> inputs;
  /// In document order, which the check verified is a valid creation
  /// order (every step after the steps it depends on).
  std::vector<pipeline_step> steps;
  /// Run output key -> a `step` source (an output of a step; a fanned-out
  /// step's output gives the list of every branch's asset).
  std::map<std::string, step_source> outputs;
  /// The policy its runs follow (`name@N`; docs/policies.md): its
  /// `budget.max_usd_micro` caps each run's spend. Empty: none (a run is
  /// uncapped unless a budget caps it).
  std::string policy;
  /// A named budget every task of its runs is charged to, besides the
  /// budgets their contracts name. Empty: none.
  std::string budget;
  /// The document as registered, compact JSON text (what GET shows).
  std::string document_json;

  /// "name@version".
  std::string ref() const;
  /// The step `id`, or nullptr.
  const pipeline_step* find_step(std::string_view id) const noexcept;

  friend bool operator==(const pipeline_spec&, const pipeline_spec&) = default;
};

/// @relates pipeline_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pipeline_spec& x) {
  return f(caf::meta::type_name("pipeline_spec"), x.name, x.version,
           x.schema_version, x.description, x.inputs, x.steps, x.outputs,
           x.policy, x.budget, x.document_json);
}

/// What the check needs from the registry.
struct pipeline_check_options {
  /// The registered module `ref`, or nullptr.
  std::function<const module_contract*(std::string_view ref)> find_module;
  /// Resolves schema ids (registry and shipped schemas); may be empty
  /// (then schema ids are checked for syntax only).
  schema_resolver resolve_schema;
  /// Resolves a schema id to its document (to follow an array's `items`,
  /// compare schemas); may be empty.
  std::function<std::optional<json::value>(std::string_view id)>
    schema_document;
  /// Whether personas `ref` (a `select` by "pantheon" names them) are
  /// registered; may be empty (then only the built-in `personas@1` is
  /// known, and any other ref is `invalid_ref`).
  std::function<bool(std::string_view ref)> find_personas;
  /// Whether policy `ref` (the pipeline's `policy`) is registered; may be
  /// empty (then only `default@1` is known).
  std::function<bool(std::string_view ref)> find_policy;
};

/// Either a checked pipeline or every problem.
struct pipeline_result {
  std::optional<pipeline_spec> pipeline;
  std::vector<problem> problems;
  explicit operator bool() const noexcept {
    return pipeline.has_value();
  }
};

/// Zenith's answer to a registration: the pipeline as registered, or every
/// problem (`immutable_ref` when the ref is held with other content).
struct pipeline_registration {
  bool ok = false;
  /// The same ref with the same content was registered before.
  bool unchanged = false;
  pipeline_spec pipeline;
  std::vector<problem> problems;

  friend bool operator==(const pipeline_registration&,
                         const pipeline_registration&) = default;
};

/// @relates pipeline_registration
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pipeline_registration& x) {
  return f(caf::meta::type_name("pipeline_registration"), x.ok, x.unchanged,
           x.pipeline, x.problems);
}

/// Parses and checks a pipeline document (see docs/pipelines.md for every
/// rule and code). `invalid_json` alone when `text` is not JSON.
pipeline_result check_pipeline_text(std::string_view text,
                                    const pipeline_check_options& opts);

/// The same for a parsed document.
pipeline_result check_pipeline_document(const json::value& doc,
                                        const pipeline_check_options& opts);

/// Returns the registry ref a pipeline file name stands for
/// ("clips@1.json" -> "clips@1"), or nullopt.
std::optional<std::string> pipeline_ref_of_file_name(std::string_view name);

/// The JSON form GET shows: the document as registered, plus `ref` and,
/// per step, `kind`, `scope` and `depends_on`.
json::value to_json(const pipeline_spec& x);

} // namespace omniva::contracts
