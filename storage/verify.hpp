#pragma once

// Verifying a log: every packet's id recomputed from its bytes, the `prev`
// chain, the sequence without gaps, every index entry against its packet, the
// chain head and counters in `meta`. Streaming, in bounded memory.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "storage/reader.hpp"

#include <cstdint>
#include <string>

namespace omniva::storage {

/// The outcome of `verify`.
struct verify_report {
  /// Whether the log is intact.
  bool ok = false;
  /// Packets checked (all of them when ok).
  uint64_t packets = 0;
  /// The id of the last packet.
  std::string head;
  /// When not ok: the first sequence number found broken (0 when the fault
  /// is not tied to one packet, e.g. a stray index entry), what kind of
  /// fault (`corruption`, `storage_error`) and why, in a sentence.
  uint64_t broken_seq = 0;
  contracts::ec code = contracts::ec::none;
  std::string reason;
};

/// Verifies the database behind `r`.
verify_report verify(const reader& r);

/// The report as `omniva lineage verify --json` and `GET
/// /api/lineage/verify` print it: `{"ok","packets","head"}`, or
/// `{"ok","packets","broken_seq","code","reason"}` when the log is broken.
json::value to_json(const verify_report& x);

} // namespace omniva::storage
