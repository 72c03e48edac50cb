#pragma once

// The JSON Schemas shipped with the runtime (contracts/schemas/*.json,
// embedded into the binary at build time): registered, compiled once and
// cached, looked up by name; and the semantic rules that the core data
// structures carry beyond what a schema can say.

#include "contracts/embedded_schemas.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/json_schema.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// The URI prefix of every shipped schema: the file `contracts/schemas/X.json`
/// is the resource `omniva:///schemas/X.json`, so a relative `$ref` between
/// shipped schemas ("ClipCandidate.json" in AnalysisResult) resolves.
inline constexpr std::string_view shipped_schema_base = "omniva:///schemas/";

/// A set of schemas registered under `omniva:///schemas/<file name>` and
/// compiled on first use.
///
/// Thread safety: every member function may be called concurrently. Each
/// schema is compiled at most once (under a lock); the compiled schemas are
/// immutable and shared.
class schema_catalog {
public:
  /// Builds a catalog from files named like "ClipCandidate.json". A file
  /// that is not JSON is left out and reported by `load_errors`.
  explicit schema_catalog(std::span<const embedded_file> files);

  /// Destroys the catalog and its compiled schemas (schemas handed out stay
  /// alive while shared).
  ~schema_catalog();

  /// Not copyable: it owns a lock and a cache.
  schema_catalog(const schema_catalog&) = delete;
  /// Not copyable.
  schema_catalog& operator=(const schema_catalog&) = delete;

  /// The catalog of the schemas embedded in this binary, built on first use.
  static const schema_catalog& shipped();

  /// The registry holding every schema of the catalog; for compiling schemas
  /// that `$ref` shipped ones. Compile against it through `compile_inline`
  /// (which serialises access) when other threads may use the catalog.
  const schema_registry& registry() const noexcept;

  /// The names of the catalog's schemas without ".json", sorted
  /// ("AnalysisResult", "ClipCandidate", ...).
  std::vector<std::string> names() const;

  /// Returns the URI of the schema `name` ("ClipCandidate" or
  /// "ClipCandidate.json"), or nullopt when the catalog has no such schema.
  std::optional<std::string> uri(std::string_view name) const;

  /// Returns the document of the schema `name`, or nullptr when unknown.
  const json::value* document(std::string_view name) const;

  /// Returns the compiled schema `name` (compiled on first use, then
  /// cached); the result is empty (`!result`) with no errors when the name
  /// is unknown, and carries the compile errors when the schema is broken.
  compile_result compile(std::string_view name) const;

  /// Shorthand for `compile(name).schema`: nullptr when unknown or broken.
  std::shared_ptr<const compiled_schema> find(std::string_view name) const;

  /// Compiles a schema that is not part of the catalog (an inline schema of
  /// a module contract). Its base URI is `omniva:///schemas/inline.json`, so
  /// it may `$ref` shipped schemas by file name. Results are cached by the
  /// schema's canonical text (a bounded cache).
  compile_result compile_inline(const json::value& schema) const;

  /// Files that could not be loaded, as "name: reason".
  const std::vector<std::string>& load_errors() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// How `schema_problems` chooses codes.
enum class schema_problem_codes : uint8_t {
  /// Every error gets the one code given.
  uniform,
  /// A missing required property is `missing_field`, a property that is not
  /// allowed is `unknown_field`, everything else the code given.
  refined,
};

/// Turns the errors of a validation into problems with `code`, each pointer
/// being `base_pointer` + the error's instance location. A missing required
/// property is reported at the pointer of the missing property itself
/// (".../version"), not at its parent object. The error of a validation
/// stopped as too complex (`schema_error::too_complex`) is always
/// `schema_too_complex`. Duplicates are dropped.
std::vector<problem>
schema_problems(const std::vector<schema_error>& errors, ec code,
                std::string_view base_pointer,
                schema_problem_codes codes = schema_problem_codes::uniform);

/// Checks the semantic rules of the shipped schema `name` on `doc`, a
/// document that was validated against that schema (the rules skip fields
/// of the wrong type, so they are safe on invalid documents too):
/// - ClipCandidate, and every `clip_candidates[*]` of AnalysisResult:
///   `end_time > start_time` (semantic_violation at ".../end_time");
/// - ScraperJob: `requested_range.since <= requested_range.until`
///   (semantic_violation at "/requested_range/until");
/// - any document with a top-level `schema_version` that is a semantic
///   version whose major this build does not read: unsupported_schema_version
///   at "/schema_version" (one that is not a semantic version is left to the
///   schema).
/// Pointers are prefixed by `base_pointer`.
std::vector<problem> check_semantic_rules(std::string_view name,
                                          const json::value& doc,
                                          std::string_view base_pointer = "");

/// Validates `text` against the shipped schema `name` ("ClipCandidate" or
/// "ClipCandidate.json"), then its semantic rules; returns every problem
/// (empty: valid). Text that is not JSON gives one `invalid_json`; schema
/// failures are `schema_violation`; an unknown name gives `invalid_ref`.
std::vector<problem> validate_core(std::string_view name, std::string_view text);

/// The same for a document already in memory. (A separate name: a string
/// argument would otherwise convert to both `std::string_view` and
/// `json::value`.)
std::vector<problem> validate_core_document(std::string_view name,
                                            const json::value& doc);

} // namespace omniva::contracts
