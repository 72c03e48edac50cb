#pragma once

// A JSON Schema draft 2020-12 validator: a schema is compiled once into a
// graph of nodes (all `$ref`s resolved, patterns compiled with RE2), then
// validates many documents. Nothing is fetched over a network: external
// references resolve through a `schema_registry` the caller fills.

#include "contracts/json.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace omniva::contracts {

/// One error in the spirit of the specification's "basic" output unit.
struct schema_error {
  /// JSON pointer into the instance ("" is the root).
  std::string instance_location;
  /// JSON pointer of the failing keyword along the evaluation path (through
  /// `$ref`s), e.g. "/properties/age/minimum". For schema (compile) errors,
  /// the pointer of the offending keyword inside its document.
  std::string keyword_location;
  /// One sentence a person understands.
  std::string message;
  /// For `required` and `dependentRequired`: the name of the missing
  /// property (its pointer is `instance_location` + "/" + the escaped name);
  /// empty otherwise.
  std::string missing_property;
  /// Set on the one error of a validation that was stopped because the
  /// schema needs too much work on this instance (see
  /// `validation_result::too_complex`); `schema_problems` gives it the code
  /// `schema_too_complex`.
  bool too_complex = false;
};

/// The outcome of validating one document.
struct validation_result {
  /// Whether the document is valid.
  bool valid = false;
  /// Every error found (empty when valid; may be empty when invalid if only
  /// the verdict was asked for).
  std::vector<schema_error> errors;
  /// Set when the text was not JSON; then `valid` is false and `errors` is
  /// empty.
  std::optional<std::string> parse_error;
  /// Set when the validation was stopped before it could decide: a `$ref` or
  /// `$dynamicRef` re-entered a schema at the same instance location (a
  /// cycle that consumes nothing of the instance), the evaluation nested too
  /// deep, or it used up its budget (`schema_options::max_evaluations`).
  /// Then `valid` is false and `errors` holds exactly one error, marked
  /// `too_complex`, saying which. In `flag` output its locations are empty.
  bool too_complex = false;
};

/// Documents that `$ref` may point to, by absolute URI (without fragment).
/// Filled by the caller: the runtime's schema registry, the conformance test
/// runner (which maps the suite's remote base URI to a folder), a test.
class schema_registry {
public:
  /// Looks up a URI that `add` did not register; returns the document or
  /// nullopt. Called at compile time only, at most once per URI.
  using loader = std::function<std::optional<json::value>(std::string_view)>;

  /// Registers `document` as the resource at `uri` (fragment ignored).
  void add(std::string uri, json::value document);

  /// Installs a fallback for URIs not added explicitly.
  void set_loader(loader f) {
    loader_ = std::move(f);
  }

  /// Returns the document registered at `uri`, loading it if needed; nullptr
  /// when unknown. The pointer stays valid for the registry's lifetime.
  const json::value* find(std::string_view uri) const;

  /// The number of URIs the registry holds an answer for: the documents
  /// added or loaded, and the URIs its loader did not know (each asked
  /// once). A registry without a loader remembers nothing it was asked.
  size_t size() const noexcept;

private:
  mutable std::unordered_map<std::string, std::shared_ptr<json::value>> docs_;
  loader loader_;
};

/// How a schema is compiled.
struct schema_options {
  /// Whether `format` asserts (the runtime's choice: uuids, timestamps and
  /// URIs in messages must be valid) or only annotates (the specification's
  /// default, used for the conformance suite).
  bool format_assertion = true;
  /// The base URI of a root schema without `$id`.
  std::string base_uri = "omniva:///schema.json";
  /// The work one validation may do before it stops with `too_complex`:
  /// `max_evaluations` plus `evaluations_per_byte` for every byte of the
  /// instance's JSON text. One unit is one evaluation of a (sub)schema, one
  /// member or item visited, one `enum` value or `required` name checked.
  /// Ordinary schemas use a few units per byte; a schema whose branches
  /// multiply (`allOf` of two `$ref`s to a schema that does the same, twenty
  /// levels deep) would otherwise run for hours. Default: 1,000,000.
  uint64_t max_evaluations = 1'000'000;
  /// See `max_evaluations`. Default: 64.
  uint64_t evaluations_per_byte = 64;
  /// The most errors one `basic` validation keeps; later ones are dropped
  /// (the verdict is unaffected). Default: 1000.
  size_t max_errors = 1000;
};

class compiled_schema;

/// Either a compiled schema or every reason the schema is not well formed.
struct compile_result {
  std::shared_ptr<const compiled_schema> schema;
  std::vector<schema_error> errors;
  explicit operator bool() const noexcept {
    return schema != nullptr;
  }
};

/// Compiles `schema`. Every `$ref` reachable from it must resolve (within the
/// schema or through `registry`, which must outlive the call only). A schema
/// that is not well formed yields all its errors; among them a schema that
/// recurses without end on every instance (`{"$ref": "#"}`,
/// `{"anyOf": [{"$ref": "#"}, ...]}`: a chain of references, each the first
/// thing its schema evaluates, that leads back to where it started without
/// descending into the instance). Cycles that depend on the instance are
/// stopped while validating (`validation_result::too_complex`).
compile_result compile_schema(const json::value& schema,
                              const schema_registry& registry,
                              const schema_options& options = {});

/// Compiles the document registered at `uri` (for schemas that live in a
/// registry, such as the runtime's shipped schemas).
compile_result compile_schema_at(std::string_view uri,
                                 const schema_registry& registry,
                                 const schema_options& options = {});

/// A loader for schemas that `$ref` files beside them (`omniva schema
/// validate FILE`): loads `file://` URIs naming a JSON file in `folder` or
/// below it. A URI whose path leaves the folder is not loaded, so its `$ref`
/// does not resolve (a schema error): through `..`, into a sibling folder
/// whose name merely begins like the folder's (`/x/ab/` beside `/x/a/`), or
/// through a symlink that leads outside the folder. Containment is decided
/// on path components, lexically and again on the real paths.
schema_registry::loader folder_file_loader(std::filesystem::path folder);

/// How much a validation reports.
enum class output : uint8_t {
  /// Only the verdict (fast: stops at the first failure).
  flag,
  /// The verdict and every error.
  basic,
};

/// A compiled schema: immutable, shareable between threads.
class compiled_schema {
public:
  struct impl;

  explicit compiled_schema(std::unique_ptr<impl> p);
  ~compiled_schema();

  /// Parses `text` and validates it. Thread-safe (one parser per thread).
  validation_result validate_text(std::string_view text,
                                  output mode = output::basic) const;

  /// Validates a document already in memory.
  validation_result validate(const json::value& doc,
                             output mode = output::basic) const;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace omniva::contracts
