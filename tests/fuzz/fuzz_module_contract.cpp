// Fuzz target: the module-contract parser (contracts/module_contract.hpp)
// and the registration check of a module.json text
// (contracts/module_registration.hpp), docs/fuzzing.md.
//
// Any text is accepted or refused with problems, without crashing or
// hanging. An accepted contract's JSON form is accepted again, as the same
// contract; registration accepts exactly what parsing accepts; and the row
// Zenith stores reads back (at start) as the same contract, in canonical
// form.

#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/module_registration.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace json = omniva::json;
using namespace omniva::contracts;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_module_contract: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  auto parsed = parse_module_contract(text);
  if (!parsed) {
    if (parsed.problems.empty())
      broken("a refused contract has no problem");
  } else {
    auto again = parse_module_contract(json::serialize(to_json(*parsed.contract)));
    if (!again)
      broken("the JSON form of an accepted contract is refused");
    if (!(*again.contract == *parsed.contract))
      broken("a contract read back from its JSON form differs");
  }
  auto entry = check_module_text(text, "/nonexistent/fuzz-module", {});
  if (static_cast<bool>(entry) != static_cast<bool>(parsed))
    broken("registration and parsing disagree on a contract");
  if (entry) {
    auto row = encode_module_row(*entry);
    auto decoded = decode_module_row(entry->contract.ref(), row);
    if (!decoded)
      broken("a module row Zenith wrote does not read back");
    // Zenith keeps the row's canonical text, so an inline schema's members
    // may come back in another order: the contracts' canonical JSON forms
    // are what must agree (and what the registry compares).
    if (json::serialize(to_json(decoded->contract), json::style::canonical)
        != json::serialize(to_json(entry->contract), json::style::canonical))
      broken("a module row reads back as another contract");
    if (decoded->canonical_json != entry->canonical_json)
      broken("a module row reads back with another canonical text");
  }
  return 0;
}
