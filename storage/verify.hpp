#pragma once

// Verifying a database: every packet's id recomputed from its bytes, the
// `prev` chain, the sequence without gaps, every index entry against its
// packet, the chain head and counters in `meta`, the log against its chain
// witness (storage/witness.hpp: a log shorter than its witness lost
// packets), and every state row against the digest its last packet recorded
// (payload member `_rows`, storage/commit.hpp). Everything is read through
// one consistent view of the database, so a verify beside a committer that
// goes on writing sees one state, never a mix. Streaming, in bounded memory.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "storage/reader.hpp"
#include "storage/witness.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace omniva::storage {

/// The outcome of `verify`.
struct verify_report {
  /// Whether the database is intact.
  bool ok = false;
  /// Packets checked (all of them when ok).
  uint64_t packets = 0;
  /// The id of the last packet.
  std::string head;
  /// State rows checked against the digest their last packet recorded.
  uint64_t rows = 0;
  /// State rows whose last change predates row digests (a database made
  /// before packets recorded them): read, but not checkable.
  uint64_t rows_unchecked = 0;
  /// The witness the log was compared with: the database's own, or the one
  /// given to `verify` (nullopt: none).
  std::optional<chain_witness> witness;
  /// When not ok: the first sequence number found broken (0 when the fault
  /// is not tied to one packet, e.g. a stray index entry or a changed row),
  /// what kind of fault (`corruption`, `storage_error`) and why, in a
  /// sentence.
  uint64_t broken_seq = 0;
  contracts::ec code = contracts::ec::none;
  std::string reason;
  /// For a fault of a state row: the row, `<table>/<key>`.
  std::string row;
  /// For a log shorter than its witness: how many packets are missing.
  uint64_t missing = 0;
};

/// What `verify` compares the log with, besides the database itself.
struct verify_options {
  /// A witness kept elsewhere (`omniva lineage witness` printed it at some
  /// time): the log must hold it too. Checked in addition to the
  /// database's own witness.
  std::optional<chain_witness> outside_witness;
};

/// Verifies the database behind `r`. Reads the witness first, then (for a
/// secondary reader) catches up with the writer, then takes one view and
/// reads everything else through it: a witness is never newer than the view,
/// so a live database never looks as if it lost packets.
verify_report verify(const reader& r, const verify_options& options = {});

/// The report as `omniva lineage verify --json` and `GET
/// /api/lineage/verify` print it: `{"ok","packets","head","rows",
/// "witness"}` (`rows_unchecked` too when not 0; `witness` null when there
/// is none), or `{"ok","packets","broken_seq","code","reason"}` when broken,
/// with `row` for a fault of a state row and `missing` for lost packets.
json::value to_json(const verify_report& x);

} // namespace omniva::storage
