// Fuzz target: the JSON reader (contracts/json.hpp), docs/fuzzing.md.
//
// Any text is read without crashing, hanging or leaking. What the reader
// accepts, the writer writes back in every style as text the reader accepts
// again, as the same document: the node stores what it prints (canonical
// contracts, rows) and reads it back after a restart.

#include "contracts/json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace json = omniva::json;

namespace {

/// Stops the run with `what` (libFuzzer keeps the input as a crash).
[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_json: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  (void) json::widen_big_integers(text);
  auto parsed = json::parse(text);
  if (!parsed) {
    if (parsed.error.message.empty())
      broken("a refused text has no reason");
    return 0;
  }
  auto canonical = json::serialize(*parsed.doc, json::style::canonical);
  for (auto s : {json::style::compact, json::style::pretty,
                 json::style::canonical}) {
    auto again = json::parse(json::serialize(*parsed.doc, s));
    if (!again)
      broken("the writer wrote text the reader refuses");
    if (!(*again.doc == *parsed.doc))
      broken("a document read back differs from the one written");
    if (json::serialize(*again.doc, json::style::canonical) != canonical)
      broken("the canonical form is not stable across a round trip");
  }
  return 0;
}
