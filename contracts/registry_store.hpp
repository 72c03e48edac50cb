#pragma once

// The registry's schemas and policies (DESIGN.md §4, §6).
//
// - A **schema** `name@N` ("media.metadata@1") is a JSON Schema 2020-12
//   document that contracts name by id (an input's `constraints.schema`, an
//   output's `schema`). Registered schemas may `$ref` the shipped ones by
//   file name ("ClipCandidate.json").
// - A **policy** `name@N` says how a failed task is retried: at most
//   `max_attempts` attempts, with the pauses `backoff_ms` (each drawn within
//   ±`jitter_pct`%), retrying the codes in `retry_on` too although they are
//   deterministic. `default@1` (3 attempts; 1 s, 5 s, 15 s; jitter 10%) is
//   always present.
// - **Personas** `name@N` are the sets of personas Pantheon's votes use
//   (docs/engines.md, "Pantheon"); the built-in `personas@1` is always
//   present. The store holds each document as registered.
//
// A ref is immutable: the same ref with other content is refused
// (`immutable_ref`) by Zenith, which commits every registration. The
// `registry_store` holds what was committed, for every thread that resolves
// schema ids: module checks, pre-flight, adapters, the HTTP API.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/pipeline.hpp"
#include "contracts/registry_messages.hpp"

#include <caf/error.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::contracts {

class compiled_schema;

/// The ref of the policy every node has.
inline constexpr std::string_view default_policy_ref = "default@1";

/// Returns `default@1`: 3 attempts, pauses of 1 s, 5 s and 15 s, the
/// default jitter (10%), no extra codes to retry.
policy_entry default_policy();

/// Whether `ref` is a registry ref: a name (letters, digits, '.', '_', '-';
/// a letter first) "@" a positive version without leading zeros
/// ("media.metadata@1").
bool is_registry_ref(std::string_view ref) noexcept;

/// Returns the ref a file name stands for ("media.metadata@1.json" ->
/// "media.metadata@1"), or nullopt when the name is not `<ref>.json`.
std::optional<std::string> ref_of_file_name(std::string_view file_name);

// -- schemas ----------------------------------------------------------------------

/// Either a schema ready for registration or every problem.
struct schema_check {
  /// Set when the schema may be registered under the ref.
  std::optional<schema_entry> entry;
  /// The compiled schema (set with `entry`).
  std::shared_ptr<const compiled_schema> compiled;
  /// Every problem; empty when `entry` is set.
  std::vector<problem> problems;

  explicit operator bool() const noexcept {
    return entry.has_value();
  }
};

/// Checks `doc` for registration as schema `ref`. Problems:
/// - `invalid_ref` (""): `ref` is not `name@version`;
/// - `invalid_schema` (the keyword's pointer in `doc`): `doc` is not an
///   object or a boolean, or does not compile (a `$ref` that resolves
///   neither inside it nor to a shipped schema, a bad `pattern`, ...).
/// Pure; thread-safe.
schema_check check_schema_document(std::string_view ref, const json::value& doc);

/// The same for a text; one `invalid_json` ("") when it is not JSON.
schema_check check_schema_text(std::string_view ref, std::string_view text);

// -- policies ---------------------------------------------------------------------

/// Either a policy ready for registration or every problem.
struct policy_check {
  /// Set when the policy may be registered under the ref.
  std::optional<policy_entry> entry;
  /// Every problem; empty when `entry` is set.
  std::vector<problem> problems;

  explicit operator bool() const noexcept {
    return entry.has_value();
  }
};

/// Checks `doc` (the JSON form below, validated against the shipped schema
/// `policy`) for registration as policy `ref`. Problems: `invalid_ref` (""
/// for `ref`, "/ref" for a `ref` member naming another one);
/// `missing_field`, `unknown_field` and `schema_violation` (out of range,
/// wrong type) with the pointer of the field. Pure; thread-safe.
policy_check check_policy_document(std::string_view ref, const json::value& doc);

/// The same for a text; one `invalid_json` ("") when it is not JSON.
policy_check check_policy_text(std::string_view ref, std::string_view text);

/// Checks an entry that crossed actors against the same rules; empty when it
/// is acceptable. Problems are `schema_violation` at "/retry/max_attempts",
/// "/retry/backoff_ms[/i]", "/retry/retry_on[/i]" (more than 100 codes, a
/// code that is not snake_case, a code listed twice), "/retry/jitter_pct"
/// (above 100), and `invalid_ref` at "/ref".
std::vector<problem> check_policy_entry(const policy_entry& x);

/// Returns `{"ref", "description"?, "retry": {"max_attempts", "backoff_ms",
/// "retry_on"?, "jitter_pct"?}}`: `retry_on` is omitted when empty and
/// `jitter_pct` when it is the default 10, so a policy stored before these
/// members existed reads back unchanged; `check_policy_document(x.ref,
/// to_json(x))` gives `x` back.
json::value to_json(const policy_entry& x);

// -- the store ----------------------------------------------------------------------

/// The schemas and policies Zenith committed, shared by every reader.
///
/// Thread safety: every member function may be called concurrently. Readers
/// take an immutable snapshot under a short lock; a write copies the
/// snapshot, changes the copy and publishes it. Entries are never removed.
class registry_store {
public:
  /// A store holding `default@1` only.
  registry_store();

  ~registry_store();

  /// Not copyable: shared through a `std::shared_ptr`.
  registry_store(const registry_store&) = delete;
  /// Not copyable.
  registry_store& operator=(const registry_store&) = delete;

  /// Adds a committed schema (compiling it). The same entry again changes
  /// nothing. Errors: the checks of `check_schema_text` (first problem), or
  /// `immutable_ref` when the ref is held with other content.
  caf::error add_schema(const schema_entry& x);

  /// Adds a committed policy. The same entry again changes nothing. Errors:
  /// the checks of `check_policy_entry`, or `immutable_ref` when the ref is
  /// held with other content.
  caf::error add_policy(const policy_entry& x);

  /// Returns the compiled schema `ref`, or nullptr when there is none.
  std::shared_ptr<const compiled_schema> find_schema(std::string_view ref) const;

  /// Returns the schema `ref`, or nullopt.
  std::optional<schema_entry> schema(std::string_view ref) const;

  /// Returns the document of schema `ref`, or nullopt.
  std::optional<json::value> schema_document(std::string_view ref) const;

  /// Every schema, by ref.
  std::vector<schema_entry> schemas() const;

  /// Returns the policy `ref`, or nullopt.
  std::optional<policy_entry> policy(std::string_view ref) const;

  /// Every policy, by ref.
  std::vector<policy_entry> policies() const;

  /// Adds a committed pipeline (docs/pipelines.md). The same document
  /// again changes nothing; another under the ref is `immutable_ref`.
  caf::error add_pipeline(const pipeline_spec& x);
  /// Returns the pipeline `ref`, or nullptr.
  std::shared_ptr<const pipeline_spec> pipeline(std::string_view ref) const;
  /// Every pipeline, by ref.
  std::vector<std::shared_ptr<const pipeline_spec>> pipelines() const;

  /// Adds committed personas of Pantheon (`name@N`, docs/engines.md
  /// "Pantheon"): `canonical_json` is the document as registered
  /// (`pantheon::check_personas_text`). The same document again changes
  /// nothing; another under the ref is `immutable_ref` (the built-in
  /// `personas@1` is held from the start).
  caf::error add_personas(const std::string& ref,
                          const std::string& canonical_json);
  /// Returns the document of personas `ref` (canonical JSON), or nullopt.
  std::optional<std::string> personas(std::string_view ref) const;
  /// Every personas entry: (ref, canonical document), by ref.
  std::vector<std::pair<std::string, std::string>> all_personas() const;

  /// Adds a committed predicate entry (docs/policies.md). The same entry
  /// again changes nothing; another under the ref is `immutable_ref`, and a
  /// shipped ref is `invalid_ref`.
  caf::error add_predicate(const predicate_entry& x);
  /// Returns the predicate `ref`: a registered one or a shipped `<kind>@1`;
  /// nullopt when there is none.
  std::optional<predicate_entry> predicate(std::string_view ref) const;
  /// The registered predicates (not the shipped ones), by ref.
  std::vector<predicate_entry> predicates() const;

private:
  struct snapshot;
  std::shared_ptr<const snapshot> current() const;

  mutable std::mutex mtx_;
  std::shared_ptr<const snapshot> current_;
};

/// Returns a resolver of schema ids backed by `store` (it shares the store:
/// the resolver may outlive the caller's handle). Ids the store does not
/// hold resolve to nullptr, so `resolve_spec_schema` falls back to the
/// shipped schemas. Thread-safe.
schema_resolver make_schema_resolver(std::shared_ptr<const registry_store> store);

/// Returns a resolver of predicate ids backed by `store` (shared, like
/// `make_schema_resolver`): registered entries and the shipped ones.
predicate_resolver make_predicate_resolver(std::shared_ptr<const registry_store> store);

} // namespace omniva::contracts
