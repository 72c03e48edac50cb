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

/// Whether `x` holds an integral number below INT64_MIN, which the writer
/// prints as a 19-digit integer literal ("-9223372036875487232") that the
/// reader refuses: finding 1 of docs/fuzzing.md, reported for
/// contracts/json.cpp. The round trip skips such documents until the
/// reader accepts them, so that fuzzing goes on finding other things.
bool has_integral_below_int64(const json::value& x) {
  if (x.is_array()) {
    for (auto& item : x.as_array())
      if (has_integral_below_int64(item))
        return true;
    return false;
  }
  if (x.is_object()) {
    for (auto& [key, member] : x.as_object())
      if (has_integral_below_int64(member))
        return true;
    return false;
  }
  if (x.type() != json::kind::number)
    return false;
  // Every double in this range is integral and has 19 digits.
  auto d = x.as_double();
  return d < -9223372036854775808.0 && d > -1e19;
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
    if (!again && has_integral_below_int64(*parsed.doc))
      return 0;
    if (!again)
      broken("the writer wrote text the reader refuses");
    if (!(*again.doc == *parsed.doc))
      broken("a document read back differs from the one written");
    if (json::serialize(*again.doc, json::style::canonical) != canonical)
      broken("the canonical form is not stable across a round trip");
  }
  return 0;
}
