#pragma once

// The module contract (`module.json`, DESIGN.md §4): what a module takes,
// what it promises, what it needs to run. Parsing checks the document
// against the meta-schema `contracts/schemas/module_contract.json`, then the
// rules a schema cannot express, and reports every problem at once with a
// stable code and the JSON pointer of the field at fault.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/media_type.hpp" // is_valid_media_type, media_type_matches
#include "contracts/messages.hpp"
#include "contracts/predicate.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

class compiled_schema;

// -- enumerations ---------------------------------------------------------------

/// How an input reaches a module (`contract_type` in module.json).
enum class input_kind : uint8_t {
  /// An asset of the ledger: a FILE with one of the accepted media types.
  asset = 0,
  /// A parameter: given inline in the request's `values`, or as a VALUE
  /// asset in its `input_mapping`.
  value = 1,
};

/// Returns "ASSET" or "VALUE" ("UNKNOWN" outside the enum).
std::string_view to_string(input_kind x) noexcept;

/// Parses "ASSET" or "VALUE".
std::optional<input_kind> input_kind_from_string(std::string_view name) noexcept;

/// The type of a VALUE input (`dtype` in module.json). The kinds are strict
/// (model-contract-spec.md): a `url` input refuses text, a `text` input
/// refuses a URL, and neither takes a file.
enum class value_dtype : uint8_t {
  /// Not set (ASSET inputs).
  none = 0,
  /// Any JSON string.
  string = 1,
  /// A JSON string that is prose, not a URL.
  text = 2,
  /// A JSON string holding an absolute URL ("scheme://...").
  url = 3,
  /// A JSON integral number within int64 ("int").
  integer = 4,
  /// Any JSON number ("float").
  floating = 5,
  /// A JSON boolean ("bool").
  boolean = 6,
  /// One of the values listed in the `enum` constraint ("enum").
  enumeration = 7,
  /// Any JSON value, optionally checked against `schema` ("json").
  json = 8,
};

/// Returns the module.json spelling: "string", "text", "url", "int",
/// "float", "bool", "enum", "json"; "" for `none`.
std::string_view to_string(value_dtype x) noexcept;

/// Parses a module.json dtype; nullopt for anything else (and for "").
std::optional<value_dtype> value_dtype_from_string(std::string_view name) noexcept;

// -- the contract -----------------------------------------------------------------

/// One input of a module.
struct input_spec {
  /// Unique among the inputs; the key of `input_mapping` / `values`.
  std::string key;
  /// A name for people (forms, reports); may be empty.
  std::string label;
  /// A longer explanation; may be empty.
  std::string description;
  /// ASSET or VALUE.
  input_kind contract_type = input_kind::asset;
  /// Whether a request must provide the input (a VALUE input with a
  /// `default` never has to).
  bool required = true;
  /// ASSET: the accepted media types ("video/mp4"; "video/*" accepts any
  /// video). Never empty for a valid ASSET input.
  std::vector<std::string> media_types;
  /// The id of a registry schema the input must satisfy (ASSET: a JSON
  /// asset, e.g. "media.metadata@1" or a shipped schema "ClipCandidate";
  /// VALUE: the value); empty for none.
  std::string schema_ref;
  /// An inline JSON Schema the value must satisfy, as compact JSON text;
  /// empty for none. At most one of `schema_ref` and `schema_json` is set.
  std::string schema_json;
  /// VALUE: the dtype; `none` for ASSET inputs.
  value_dtype dtype = value_dtype::none;
  /// VALUE int/float: the smallest allowed value.
  std::optional<double> min;
  /// VALUE int/float: the largest allowed value.
  std::optional<double> max;
  /// VALUE: the allowed values, each as compact JSON text; empty: any.
  std::vector<std::string> enum_json;
  /// VALUE string/text/url: an ECMA-262 pattern the string must contain a
  /// match of, read and run exactly as JSON Schema's `pattern` is
  /// (contracts/ecma_regex.hpp; unanchored); empty for none.
  std::string pattern;
  /// VALUE string/text/url: the maximal length in Unicode code points.
  std::optional<int64_t> max_length;
  /// VALUE: the value used when the request gives none, as compact JSON
  /// text; empty for none.
  std::string default_json;

  /// Whether the input carries a default.
  bool has_default() const noexcept {
    return !default_json.empty();
  }

  /// Whether a request must provide the input: required and no default.
  bool must_be_given() const noexcept {
    return required && !has_default();
  }

  friend bool operator==(const input_spec&, const input_spec&) = default;
};

/// @relates input_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, input_spec& x) {
  detail::optional_member<double> min{x.min};
  detail::optional_member<double> max{x.max};
  detail::optional_member<int64_t> max_length{x.max_length};
  return f(caf::meta::type_name("input_spec"), x.key, x.label, x.description,
           x.contract_type, x.required, x.media_types, x.schema_ref,
           x.schema_json, x.dtype, min, max, x.enum_json, x.pattern,
           max_length, x.default_json);
}

/// One output of a module: always an ASSET (a file the module writes).
struct output_spec {
  /// Unique among the outputs; the key of the task's `outputs`.
  std::string key;
  /// A name for people; may be empty.
  std::string label;
  /// A longer explanation; may be empty.
  std::string description;
  /// The media type of the file ("application/zip").
  std::string media_type;
  /// The id of a registry schema a JSON output satisfies; empty for none.
  std::string schema_ref;
  /// An inline JSON Schema (compact JSON text); empty for none.
  std::string schema_json;
  /// `"many": true`: the module writes any number of files for the output
  /// (zero included), each of `media_type` and satisfying the schema,
  /// listed in order under `"paths"` in its output manifest; its promise is
  /// one list asset (`asset_list_media_type`, contracts/pipeline.hpp) that
  /// becomes AVAILABLE listing the produced assets (docs/pipelines.md).
  /// Default: false, one file.
  bool many = false;

  friend bool operator==(const output_spec&, const output_spec&) = default;
};

/// @relates output_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, output_spec& x) {
  return f(caf::meta::type_name("output_spec"), x.key, x.label,
           x.description, x.media_type, x.schema_ref, x.schema_json, x.many);
}

/// The longest wall-clock limit a contract may ask for, in seconds: one
/// year (the meta-schema's `maximum` for `resources.timeout_s`). Deadlines
/// are computed on a nanosecond clock; the bound keeps them far from
/// overflowing.
inline constexpr int64_t max_timeout_s = 31'536'000;

/// What a module needs to run; the scheduler places it accordingly.
struct resource_spec {
  /// CPU cores. Default: 1.
  double cpu = 1;
  /// Memory in GiB. Default: 1.
  double memory_gb = 1;
  /// Whether it needs a GPU. Default: false.
  bool gpu = false;
  /// Wall-clock limit of one attempt in seconds, from 1 to `max_timeout_s`.
  /// Default: 3600.
  int64_t timeout_s = 3600;

  friend bool operator==(const resource_spec&, const resource_spec&) = default;
};

/// @relates resource_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_spec& x) {
  return f(caf::meta::type_name("resource_spec"), x.cpu, x.memory_gb, x.gpu,
           x.timeout_s);
}

/// How to start the module.
struct run_spec {
  /// argv, run without a shell; the runtime appends `--manifest <path>`.
  std::vector<std::string> command;

  friend bool operator==(const run_spec&, const run_spec&) = default;
};

/// @relates run_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_spec& x) {
  return f(caf::meta::type_name("run_spec"), x.command);
}

/// The secrets a module reads from its environment, by name only.
struct secrets_spec {
  /// The module refuses to run without these.
  std::vector<std::string> required;
  /// Passed when present.
  std::vector<std::string> optional;

  friend bool operator==(const secrets_spec&, const secrets_spec&) = default;
};

/// @relates secrets_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, secrets_spec& x) {
  return f(caf::meta::type_name("secrets_spec"), x.required, x.optional);
}

/// What Paradox does with a task identical to an earlier one (the same
/// module ref, the same content in its ASSET inputs, the same values).
enum class duplicate_mode : uint8_t {
  /// It runs; the advice (`ignore`, naming the earlier task) is recorded.
  allow = 0,
  /// It does not run: once the earlier task is DONE its outputs are bound
  /// to the new task's promises and the task is DONE (`reused_from`); if
  /// the earlier task fails, the new one runs itself.
  reuse = 1,
  /// It ends SKIPPED (`duplicate_of`); its promised outputs fail with
  /// `duplicate_blocked`.
  block = 2,
};

/// Returns "allow", "reuse" or "block" ("unknown" outside the enum).
std::string_view to_string(duplicate_mode x) noexcept;

/// Parses "allow", "reuse" or "block".
std::optional<duplicate_mode>
duplicate_mode_from_string(std::string_view name) noexcept;

/// The contract's `duplicates` member: a mode alone (`"reuse"`) or
/// `{"mode": "reuse", "key": {"job": ["/platform", "/target_url"]}}`.
struct duplicate_rule {
  /// Default: allow.
  duplicate_mode mode = duplicate_mode::allow;
  /// Input key -> the JSON pointers (RFC 6901) of the parts of that input
  /// that make the duplicate key (a JSON value or a JSON asset's content);
  /// an input not named here counts whole. Empty: every input whole.
  std::map<std::string, std::vector<std::string>> key;

  friend bool operator==(const duplicate_rule&, const duplicate_rule&) = default;
};

/// @relates duplicate_rule
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, duplicate_rule& x) {
  return f(caf::meta::type_name("duplicate_rule"), x.mode, x.key);
}

/// A module's contract: the only thing the runtime knows about a module.
struct module_contract {
  /// Lowercase letters, digits, '-', '_', '.'; starts with a letter.
  std::string name;
  /// Positive; `name@version` is immutable once registered.
  int64_t version = 0;
  /// What the module does, for people.
  std::string description;
  /// The inputs, keys unique.
  std::vector<input_spec> inputs;
  /// The outputs, keys unique.
  std::vector<output_spec> outputs;
  /// What it needs to run.
  resource_spec resources;
  /// How to start it.
  run_spec run;
  /// The secret names it reads.
  secrets_spec secrets;
  /// Semantic version of the contract format ("1.0.0").
  std::string schema_version;
  /// The registry policy its failed attempts are retried by ("name@N");
  /// empty: `default@1`.
  std::string policy;
  /// What Paradox does with a duplicate of one of its tasks.
  duplicate_rule duplicates;
  /// What one run costs (docs/policies.md); empty: nothing declared.
  cost_spec cost;
  /// Write prefixes outside its attempt folder (`"writes": [{"prefix":
  /// "/publish/"}]`), leased per attempt when its policy enables path
  /// leases.
  std::vector<std::string> writes;
  /// Its admission and success predicates (docs/policies.md).
  predicate_spec predicates;

  /// Returns the policy ref its tasks follow (`policy`, else "default@1").
  std::string policy_ref() const;

  /// Returns "name@version", the registry reference.
  std::string ref() const;

  /// Returns the input `key`, or nullptr.
  const input_spec* find_input(std::string_view key) const noexcept;

  /// Returns the output `key`, or nullptr.
  const output_spec* find_output(std::string_view key) const noexcept;

  friend bool operator==(const module_contract&, const module_contract&)
    = default;
};

/// @relates module_contract
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, module_contract& x) {
  return f(caf::meta::type_name("module_contract"), x.name, x.version,
           x.description, x.inputs, x.outputs, x.resources, x.run, x.secrets,
           x.schema_version, x.policy, x.duplicates, x.cost, x.writes,
           x.predicates);
}

// -- parsing and checking ---------------------------------------------------------

/// Resolves a schema id ("media.metadata@1") to a compiled schema; nullptr
/// when there is no such schema. Must be safe to call from any thread when
/// the caller shares it.
using schema_resolver
  = std::function<std::shared_ptr<const compiled_schema>(std::string_view id)>;

/// How `parse_module_contract` checks references.
struct contract_options {
  /// When set, every schema id the contract names must resolve, through
  /// this or among the shipped schemas (else `invalid_ref`). When empty,
  /// ids are only checked for syntax: the registry is not known here.
  schema_resolver resolve_schema;
  /// Resolves the predicates the contract names (docs/policies.md); when
  /// empty, only the shipped ones (`<kind>@1`) resolve.
  predicate_resolver resolve_predicate;
};

/// Either a valid contract or every problem of the document.
struct contract_result {
  /// Set when the document is a valid contract.
  std::optional<module_contract> contract;
  /// Every problem; empty when `contract` is set.
  std::vector<problem> problems;

  explicit operator bool() const noexcept {
    return contract.has_value();
  }
};

/// Parses and checks a module.json text. Problems, all reported at once:
/// - `invalid_json` (the text is not JSON), or alone `duplicate_key` at the
///   pointer of the second member when an object names one member twice
///   (never "the last one wins");
/// - from the meta-schema: `missing_field` (".../version"), `unknown_field`
///   and `invalid_contract` (wrong type, bad enum value, a field that does
///   not belong to the input's contract type);
/// - `missing_field`: a VALUE input without a dtype, an `enum` input
///   without `enum` values;
/// - `duplicate_key` (".../inputs/1/key"): inputs or outputs sharing a key;
/// - `invalid_range` (".../constraints/min"): `min` greater than `max`;
/// - `invalid_default` (".../default"): a default that fails its own dtype
///   or constraints;
/// - `invalid_media_type`: a media type that is not `type/subtype`;
/// - `invalid_contract` (".../media_type"): a `many` output whose media type
///   is the list media type itself (a list of lists is not something a
///   module writes);
/// - `empty_command` ("/run/command"): no program to run;
/// - `invalid_ref` ("/name", "/version", ".../schema"): a malformed
///   `name@version` or schema id, or one that does not resolve;
/// - `invalid_pattern` (".../constraints/pattern"): not an ECMA-262
///   pattern, or one RE2 cannot run (lookaround, backreferences);
/// - `invalid_schema` (".../schema..."): an inline schema does not compile;
/// - `invalid_contract`: a constraint that does not fit the dtype (`min` on
///   a string, `pattern` on an int), an `enum` value of the wrong dtype,
///   `dtype` given twice with different values;
/// - `unsupported_schema_version` ("/schema_version");
/// - `invalid_ref` ("/policy"): a `policy` that is not "name@N" (whether the
///   registry holds it is the registry's check, actors/registry.cpp);
/// - `duplicates` (docs/contracts.md): an unknown mode is `invalid_contract`
///   from the meta-schema ("/duplicates" or "/duplicates/mode"); in its
///   `key`, at "/duplicates/key/<input>": `invalid_ref` for an input the
///   contract does not declare, `invalid_contract` for an empty pointer
///   list or pointers on an ASSET input (a file's content hash counts
///   whole); at ".../<index>": `invalid_contract` for a pointer that is not
///   RFC 6901, or one other than "" on a VALUE input without parts (any
///   dtype but json and enum).
/// `dtype` may sit next to `contract_type` or inside `constraints` (as in
/// the face-detect example of the asset-contracts conversation); the parsed
/// contract has it in `input_spec::dtype` either way.
contract_result parse_module_contract(std::string_view text,
                                      const contract_options& options = {});

/// The same for a document already in memory.
contract_result parse_module_contract_document(const json::value& doc,
                                               const contract_options& options
                                               = {});

/// Returns the normalised JSON form of a contract (`dtype` next to
/// `contract_type`, every resource spelled out; `policy` and `duplicates`
/// omitted when they are the defaults, `duplicates` a mode alone when it
/// has no key; an output's `many` only when true); parsing it gives `x`
/// back.
json::value to_json(const module_contract& x);

/// Returns the JSON form of one input, as inside `to_json(module_contract)`.
json::value to_json(const input_spec& x);

/// Returns the JSON form of one output.
json::value to_json(const output_spec& x);

/// Checks `x` against a VALUE input's dtype and constraints and reports at
/// `pointer`: `dtype_mismatch`, `kind_mismatch` (a non-URL for a `url`
/// input, a URL for a `text` input), `not_in_enum`, `out_of_range` (beyond
/// `min`/`max`, or an integer beyond 64 bits for an `int` input, alone),
/// `too_long`, `pattern_mismatch`, and `schema_violation` (pointer +
/// the schema error's instance location) or `invalid_ref` (a schema id that
/// does not resolve). Empty: `x` is acceptable. Pure; thread-safe.
std::vector<problem> check_value(const input_spec& input, const json::value& x,
                                 std::string_view pointer,
                                 const schema_resolver& resolve = {});

/// Checks a VALUE asset before the ledger records it: `value_json` must be
/// JSON (`invalid_json` at "/value") and `dtype` a dtype (`dtype_mismatch`
/// at "/dtype"), and the value must be of that dtype (`check_value`'s
/// problems at "/value"). Every problem is returned; empty: acceptable.
std::vector<problem> check_value_asset(const std::string& value_json,
                                       const std::string& dtype);

/// Returns the compiled schema an input or output names (`schema_ref`
/// through `resolve`, then among the shipped schemas; or `schema_json`
/// compiled), nullptr when it names none; `*unresolved` is set to true
/// when it names one that cannot be found or compiled.
std::shared_ptr<const compiled_schema>
resolve_spec_schema(std::string_view schema_ref, std::string_view schema_json,
                    const schema_resolver& resolve, bool* unresolved);

/// Returns whether `text` is an absolute URL with an authority
/// ("https://example.com/x"): what a `url` input takes and a `text` input
/// refuses.
bool is_url(std::string_view text) noexcept;

} // namespace omniva::contracts
