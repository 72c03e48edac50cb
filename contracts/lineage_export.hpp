#pragma once

// A lineage export: packets as NDJSON, one line per packet, in sequence
// order (`GET /api/lineage/export`, `omniva lineage export`), checkable
// offline with nothing but SHA-256 (`omniva lineage verify --file`).
//
// A line is the packet's canonical form (contracts/packet.hpp: the bytes
// its id was computed from) with the member `"id":"<64 hex>"` added at its
// place in the sorted order, right after `at`:
//
//   {"_meta_parents":[...],"actor":"zenith","at":"...","id":"<id>",
//    "kind":"task.created","payload":{...},"prev":"<id of seq-1>",
//    "schema_version":"1.0.0","seq":7,"subjects":[...],"trace_id":"..."}
//
// So the line is canonical JSON itself, and a verifier in any language:
// 1. takes the line's `id`, deletes the first occurrence of
//    `"id":"<that id>",` from the line's bytes (the members before it hold
//    no object, so it is the packet's own), and checks that the SHA-256 (hex)
//    of what is left equals `id`;
// 2. checks that each line's `seq` is the one before plus 1, and its `prev`
//    the id of the line before (the first line's `prev` is "" at seq 1; for
//    an export from a later seq it is the id of packet seq-1 on the node).
// A changed byte fails step 1 on its line; a deleted, added or reordered
// line fails step 2 on the line after it. A log cut short at its end looks
// intact: compare the last id with the node's head or a chain witness.

#include "contracts/error_code.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omniva::contracts {

/// The export line of the packet stored as `canonical` (its canonical form)
/// with id `id_hex`: `canonical` with `"id":"<id_hex>",` added before
/// `"kind"`. Nullopt when `canonical` is not a packet's canonical form (no
/// top-level `"kind"` member after `at`).
std::optional<std::string> export_line(std::string_view id_hex,
                                       std::string_view canonical);

/// What is wrong with a line of an export.
struct export_problem {
  /// The line's number, from 1.
  uint64_t line = 0;
  /// The packet's seq as the line gives it (0 when it cannot be read).
  uint64_t seq = 0;
  /// `invalid_json` (not a packet line), `corruption` (the id does not
  /// match the content, or the chain breaks).
  ec code = ec::none;
  /// One sentence: what is wrong.
  std::string reason;
};

/// Checks an export line by line (see the file comment), in bounded memory.
class export_checker {
public:
  /// Checks the next line (without its line break); returns its problem,
  /// nullopt when it is sound. After a problem the checker goes on from
  /// that line as if it were sound.
  std::optional<export_problem> add(std::string_view line);

  /// The lines checked so far.
  uint64_t lines() const noexcept {
    return lines_;
  }

  /// The seq of the first line (0 before one was read).
  uint64_t first_seq() const noexcept {
    return first_seq_;
  }

  /// The `prev` of the first line: "" when the export starts at seq 1,
  /// else the id of the packet before it, to compare with the node.
  const std::string& first_prev() const noexcept {
    return first_prev_;
  }

  /// The seq of the last line.
  uint64_t last_seq() const noexcept {
    return last_seq_;
  }

  /// The id of the last line: compare it with the node's head or a witness.
  const std::string& last_id() const noexcept {
    return last_id_;
  }

private:
  uint64_t lines_ = 0;
  uint64_t first_seq_ = 0;
  std::string first_prev_;
  uint64_t last_seq_ = 0;
  std::string last_id_;
};

} // namespace omniva::contracts
