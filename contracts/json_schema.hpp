#pragma once

// A JSON Schema draft 2020-12 validator: a schema is compiled once into a
// graph of nodes (all `$ref`s resolved, patterns compiled with RE2), then
// validates many documents. Nothing is fetched over a network: external
// references resolve through a `schema_registry` the caller fills.

#include "contracts/json.hpp"

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
/// that is not well formed yields all its errors.
compile_result compile_schema(const json::value& schema,
                              const schema_registry& registry,
                              const schema_options& options = {});

/// Compiles the document registered at `uri` (for schemas that live in a
/// registry, such as the runtime's shipped schemas).
compile_result compile_schema_at(std::string_view uri,
                                 const schema_registry& registry,
                                 const schema_options& options = {});

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
