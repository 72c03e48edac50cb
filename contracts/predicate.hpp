#pragma once

// Predicates (docs/policies.md): checks a contract names to be made before
// a task runs (`predicates.admission`) and after an attempt succeeded
// (`predicates.success`).
//
// A predicate is a registry entry `name@N` of one of a closed set of kinds;
// every kind ships as `<kind>@1`, and `predicates/<name>@<N>.json` files
// add entries of a kind with default arguments. A contract names an entry
// by id, with arguments that complete (and override) the entry's; the
// merged arguments are checked against the kind when the contract is
// registered, every problem at once. Arguments that name a file are
// references, `${inputs.KEY}` or `${outputs.KEY}`.
//
// This file holds what is pure: the kinds and their arguments, the checks,
// and the evaluation of the kinds that look at files. Budgets, quotas and
// leases are Zenith's state; it evaluates their kinds (actors/zenith.hpp).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

class compiled_schema;
struct module_contract;

/// Resolves a schema id to a compiled schema (module_contract.hpp's
/// `schema_resolver`, declared again here to keep this header light).
using predicate_schema_resolver
  = std::function<std::shared_ptr<const compiled_schema>(std::string_view id)>;

/// The closed set of predicate kinds.
enum class predicate_kind : uint8_t {
  /// Admission: the task's cost fits every budget that caps it (the run's
  /// policy, a named budget). Args: `required_usd_micro` (integer >= 0;
  /// default: the contract's `cost`), `budget` (a budget's name).
  budget_available = 0,
  /// Admission: `units` of the quota `quota` are left in its window. Args:
  /// `quota` (name, required), `units` (integer >= 1, required).
  quota_available = 1,
  /// Admission: no other attempt holds a lease on the contract's write
  /// prefixes (or on `prefix`, one of them).
  lease_free = 2,
  /// The file a reference names exists (every file of a `many` output).
  /// Args: `path` (reference, required).
  artifact_exists = 3,
  /// The file is JSON valid against `schema` (a schema id or an inline
  /// schema). Args: `path`, `schema` (both required).
  artifact_schema = 4,
  /// The file's size lies in [`min_bytes`, `max_bytes`] (either may be
  /// left out, not both). Args: `path` (required), `min_bytes`,
  /// `max_bytes`.
  artifact_size_between = 5,
  /// The value at `pointer` in the JSON file (or JSON VALUE input) `path`
  /// names satisfies every test given: `equals` (any JSON), `in` (an array
  /// of JSON values), `min`/`max` (numbers), `pattern` (ECMA-262, on a
  /// string). Args: `path`, `pointer` (both required), at least one test.
  value_matches = 6,
};

/// Every kind, in numeric order.
const std::vector<predicate_kind>& all_predicate_kinds();

/// Returns "budget.available", "quota.available", "lease.free",
/// "artifact.exists", "artifact.schema", "artifact.size_between" or
/// "value.matches" ("unknown" outside the enum).
std::string_view to_string(predicate_kind x) noexcept;

/// Parses a kind's name.
std::optional<predicate_kind> predicate_kind_from_string(std::string_view name) noexcept;

/// When a contract checks a predicate.
enum class predicate_phase : uint8_t {
  /// READY, before dispatch; a failing admission leaves the task waiting.
  admission = 0,
  /// After a successful attempt, before its outputs are promoted; a failing
  /// one fails the attempt (`success_predicate_failed`).
  success = 1,
};

/// Returns "admission" or "success".
std::string_view to_string(predicate_phase x) noexcept;

/// Whether `kind` may be named under `phase`: budget, quota and lease only
/// for admission; the file kinds under both (for admission they may name
/// inputs only: no output exists yet).
bool allowed_at(predicate_kind kind, predicate_phase phase) noexcept;

/// A predicate of the registry.
struct predicate_entry {
  /// `name@N`; the shipped ones are `<kind>@1`.
  std::string ref;
  /// For people.
  std::string description;
  predicate_kind kind = predicate_kind::artifact_exists;
  /// Default arguments, canonical JSON of an object ("{}" for none).
  std::string args_json = "{}";

  friend bool operator==(const predicate_entry&, const predicate_entry&) = default;
};

/// @relates predicate_entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, predicate_entry& x) {
  return f(caf::meta::type_name("predicate_entry"), x.ref, x.description, x.kind,
           x.args_json);
}

/// The entries every node has: one per kind, `<kind>@1`, no defaults.
const std::vector<predicate_entry>& shipped_predicates();

/// The shipped entry `ref`, or nullptr.
const predicate_entry* find_shipped_predicate(std::string_view ref) noexcept;

/// Resolves a predicate id to its entry (shipped or registered); nullopt
/// when there is none.
using predicate_resolver
  = std::function<std::optional<predicate_entry>(std::string_view ref)>;

/// One predicate a contract names.
struct predicate_use {
  /// The entry's ref ("artifact.exists@1").
  std::string id;
  /// The entry's kind (resolved when the contract was checked).
  predicate_kind kind = predicate_kind::artifact_exists;
  /// The arguments as written in the contract (canonical JSON object).
  std::string args_json = "{}";
  /// The entry's defaults overlaid by `args_json`: what is evaluated.
  std::string merged_args_json = "{}";

  friend bool operator==(const predicate_use&, const predicate_use&) = default;
};

/// @relates predicate_use
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, predicate_use& x) {
  return f(caf::meta::type_name("predicate_use"), x.id, x.kind, x.args_json,
           x.merged_args_json);
}

/// A contract's `predicates`.
struct predicate_spec {
  std::vector<predicate_use> admission;
  std::vector<predicate_use> success;

  bool empty() const noexcept {
    return admission.empty() && success.empty();
  }

  friend bool operator==(const predicate_spec&, const predicate_spec&) = default;
};

/// @relates predicate_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, predicate_spec& x) {
  return f(caf::meta::type_name("predicate_spec"), x.admission, x.success);
}

/// A contract's `cost`: what one run costs, in millionths of a US dollar,
/// declared once per run or per second of the attempt's wall time.
struct cost_spec {
  /// Per run; 0 with `usd_micro_per_second` set.
  int64_t usd_micro_per_run = 0;
  /// Per second; 0 with `usd_micro_per_run` set.
  int64_t usd_micro_per_second = 0;

  bool empty() const noexcept {
    return usd_micro_per_run == 0 && usd_micro_per_second == 0;
  }

  /// The most one attempt can cost when it runs at most `timeout_s`
  /// seconds: what a reservation takes.
  int64_t worst_case(int64_t timeout_s) const noexcept;

  friend bool operator==(const cost_spec&, const cost_spec&) = default;
};

/// @relates cost_spec
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cost_spec& x) {
  return f(caf::meta::type_name("cost_spec"), x.usd_micro_per_run,
           x.usd_micro_per_second);
}

/// The largest amount anywhere (10^15 micro-dollars: a billion dollars).
inline constexpr int64_t max_usd_micro = 1'000'000'000'000'000;

/// A `${inputs.KEY}` or `${outputs.KEY}` reference.
struct predicate_ref {
  /// True for `outputs`.
  bool output = false;
  std::string key;
};

/// Parses a reference; nullopt when `text` is not one.
std::optional<predicate_ref> parse_predicate_ref(std::string_view text);

/// Checks the uses under `predicates` (`doc`, at "/predicates") of contract
/// `c` (its inputs, outputs, cost and writes already read), resolving ids
/// through `resolve` (else only shipped ids resolve and others are only
/// checked for syntax: the registry is not known). Reports into `problems`,
/// every one at once:
/// - `invalid_ref` (".../id"): not `name@N`, or an id nothing resolves;
///   (".../args/path"): a reference to an input or output the contract does
///   not declare, or that is not a reference;
/// - `invalid_contract` (".../id"): a kind that does not belong to the
///   phase; (".../args/..."): a reference of the wrong kind (a file kind on
///   a VALUE input, an output in admission), `budget.available` with
///   nothing to require (no `cost`, no `required_usd_micro`), `lease.free`
///   on a contract without `writes` or naming a prefix it does not
///   declare, `min_bytes` above `max_bytes`, `value.matches` without a
///   test;
/// - `missing_field` / `unknown_field` (".../args/NAME"): a required
///   argument left out, an argument the kind does not take;
/// - `schema_violation` (".../args/NAME"): an argument of the wrong type or
///   range; `invalid_pointer`: `pointer` is not RFC 6901; `invalid_pattern`
///   for a `pattern` RE2 cannot run; `invalid_schema` / `invalid_ref` for
///   `artifact.schema`'s `schema`.
/// Returns the uses read (those with problems included, for more checks).
predicate_spec read_predicates(const json::value& doc, const module_contract& c,
                               const predicate_resolver& resolve,
                               const predicate_schema_resolver& resolve_schema,
                               std::vector<problem>& problems);

/// Returns `{"admission": [{"id", "args"?}], "success": [...]}` (`args`
/// omitted when empty, an empty phase omitted).
json::value to_json(const predicate_spec& x);

/// Returns `{"usd_micro_per_run": N}` or `{"usd_micro_per_second": N}`.
json::value to_json(const cost_spec& x);

// -- predicate entries of the registry ---------------------------------------------

/// Either an entry ready for registration or every problem.
struct predicate_check {
  std::optional<predicate_entry> entry;
  std::vector<problem> problems;

  explicit operator bool() const noexcept {
    return entry.has_value();
  }
};

/// Checks `doc` (`{"kind", "description"?, "args"?, "ref"?}`) for
/// registration as predicate `ref`: `invalid_ref` ("" for `ref`, "/ref" for
/// a `ref` member naming another one, or a ref that is a shipped one);
/// `missing_field` ("/kind"); `invalid_contract` ("/kind") for an unknown
/// kind; `unknown_field`; `schema_violation` for wrong types; and for
/// `args` what `read_predicates` reports for an argument's type and range
/// (references are checked when a contract names the entry).
predicate_check check_predicate_document(std::string_view ref, const json::value& doc);

/// Returns `{"ref", "kind", "description"?, "args"?}`;
/// `check_predicate_document(x.ref, to_json(x))` gives `x` back.
json::value to_json(const predicate_entry& x);

/// The JSON Schema of the arguments of `kind` (a document for people: the
/// checks above are what is enforced), as `omniva predicate show` prints it.
json::value predicate_args_schema(predicate_kind kind);

// -- evaluation of the file kinds -------------------------------------------------

/// What one predicate saw.
struct predicate_outcome {
  /// Whether it holds.
  bool passed = false;
  /// What it saw, one sentence ("clip.mp4 is 0 bytes, below min_bytes
  /// 1000").
  std::string saw;
};

/// The files a reference stands for: one path (a single asset), several (a
/// `many` output: every element), or the JSON text of a VALUE input.
struct predicate_subject {
  std::vector<std::string> paths;
  /// Set for a VALUE input: its JSON text (no file).
  std::optional<std::string> value_json;
};

/// Resolves a reference of the task being checked.
using predicate_subjects
  = std::function<std::optional<predicate_subject>(const predicate_ref& ref)>;

/// Evaluates a use of a file kind (artifact.*, value.matches) with the
/// task's files; `resolve_schema` resolves `artifact.schema`'s schema id
/// (nullptr: shipped schemas only). A kind of Zenith's state (budget,
/// quota, lease) is not evaluated here: `passed` false, `saw` says so.
/// Never throws; an unreadable file is a failed predicate saying why.
predicate_outcome evaluate_file_predicate(const predicate_use& use,
                                          const predicate_subjects& subjects,
                                          const predicate_schema_resolver& resolve_schema);

/// Whether `name` names a budget or a quota: lowercase letters, digits,
/// '.', '_', '-', a letter first, at most 64 characters.
bool is_policy_name(std::string_view name) noexcept;

/// Whether `prefix` is a write prefix a contract may declare: '/' first, at
/// most 256 characters, no empty, "." or ".." segment (a trailing '/'
/// aside), no NUL.
bool is_write_prefix(std::string_view prefix) noexcept;

/// Whether two write prefixes overlap: one is the other or lies inside it
/// (on segment boundaries: "/a/b" is inside "/a", "/ab" is not).
bool prefixes_overlap(std::string_view a, std::string_view b) noexcept;

} // namespace omniva::contracts
