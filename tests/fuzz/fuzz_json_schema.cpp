// Fuzz target: the JSON Schema compiler and validator
// (contracts/json_schema.hpp), docs/fuzzing.md.
//
// Input: a schema's JSON text, a NUL byte, an instance's text (no NUL: the
// whole input is the schema, validated against `null`). Schemas may `$ref`
// the shipped schemas by file name. Any schema compiles or is refused
// without crashing or hanging; a compiled one validates any text, in both
// output modes, with the same verdict unless a mode was stopped as too
// complex, and `basic` output reports errors exactly when the instance is
// invalid.

#include "contracts/json.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/schema_catalog.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace json = omniva::json;
using namespace omniva::contracts;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_json_schema: %s\n", what);
  std::abort();
}

/// Lends the shipped schemas to `$ref`s: "ClipCandidate.json" resolves
/// against the base URI below.
std::optional<json::value> shipped_document(std::string_view uri) {
  if (uri.substr(0, shipped_schema_base.size()) != shipped_schema_base)
    return std::nullopt;
  auto* doc = schema_catalog::shipped().document(uri.substr(shipped_schema_base.size()));
  if (doc == nullptr)
    return std::nullopt;
  return *doc;
}

void check(const compiled_schema& schema, std::string_view instance) {
  auto flag = schema.validate_text(instance, output::flag);
  auto basic = schema.validate_text(instance, output::basic);
  if (flag.parse_error.has_value() != basic.parse_error.has_value())
    broken("the modes disagree on whether the instance is JSON");
  if (basic.parse_error)
    return;
  if (basic.too_complex) {
    if (basic.valid || basic.errors.size() != 1 || !basic.errors[0].too_complex)
      broken("a stopped validation must be invalid with one error");
    return;
  }
  if (basic.valid != basic.errors.empty())
    broken("basic output has errors for a valid instance or none for an invalid one");
  if (!flag.too_complex && flag.valid != basic.valid)
    broken("flag and basic output disagree");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto nul = input.find('\0');
  auto schema_text = input.substr(0, nul);
  std::string_view instance
    = nul == std::string_view::npos ? std::string_view{"null"} : input.substr(nul + 1);
  auto schema = json::parse(schema_text);
  if (!schema)
    return 0;
  schema_registry registry;
  registry.set_loader(shipped_document);
  for (bool formats : {true, false}) {
    schema_options options;
    options.format_assertion = formats;
    options.base_uri = std::string{shipped_schema_base} + "fuzz.json";
    auto compiled = compile_schema(*schema.doc, registry, options);
    if (!compiled) {
      if (compiled.errors.empty())
        broken("a refused schema has no error");
      return 0;
    }
    check(*compiled.schema, instance);
    if (auto doc = json::parse(instance)) {
      auto r = compiled.schema->validate(*doc.doc, output::basic);
      if (!r.too_complex && r.valid != r.errors.empty())
        broken("validate(value) reports errors inconsistently");
    }
  }
  return 0;
}
