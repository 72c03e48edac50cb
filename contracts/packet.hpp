#pragma once

// The Stardust packet (DESIGN.md §4): one immutable, hash-addressed event of
// the lineage log, and its canonical form.
//
// A packet's id is the SHA-256 (lowercase hex) of its canonical form without
// the id: the members sorted by name, no insignificant whitespace, numbers in
// their shortest round-trip form, strings with only the escapes JSON requires.
// The same packet always has the same bytes and so the same id; any change of
// any member changes the id. `prev` chains each packet to the one before it,
// so the log is tamper-evident as a whole.

#include "contracts/hex.hpp"
#include "contracts/json.hpp"

#include <caf/meta/type_name.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// A SHA-256 digest.
using digest = std::array<uint8_t, 32>;

/// Returns the SHA-256 of `bytes`.
digest sha256(std::string_view bytes) noexcept;

// `to_hex(d)` (64 lowercase hex digits) comes from contracts/hex.hpp.

/// Parses 64 hex digits; nullopt when `hex` is not exactly that.
std::optional<digest> digest_from_hex(std::string_view hex) noexcept;

/// One event of the lineage log.
struct packet {
  /// SHA-256 hex of the canonical packet without `id` (set by the
  /// committer).
  std::string id;
  /// Position in the log, from 1, without gaps (set by the committer).
  uint64_t seq = 0;
  /// Id of the packet at `seq - 1`; empty for the first packet.
  std::string prev;
  /// What happened, dotted lowercase: "task.created", "asset.registered".
  std::string kind;
  /// The actor (or tool) that recorded it: "zenith", "cli".
  std::string actor;
  /// The workflow this event belongs to (UUID).
  std::string trace_id;
  /// Ids of the packets this event follows from (its lineage parents).
  std::vector<std::string> meta_parents;
  /// Ids of the tasks, assets and modules the event touches, so the history
  /// of each can be read without scanning the log.
  std::vector<std::string> subjects;
  /// When it happened: ISO 8601 UTC with milliseconds.
  std::string at;
  /// Semantic version of the packet format.
  std::string schema_version = "1.0.0";
  /// A lean JSON object (references, never blobs), as compact JSON text.
  std::string payload = "{}";

  friend bool operator==(const packet&, const packet&) = default;
};

/// @relates packet
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, packet& x) {
  return f(caf::meta::type_name("omniva.packet"), x.id, x.seq, x.prev, x.kind,
           x.actor, x.trace_id, x.meta_parents, x.subjects, x.at,
           x.schema_version, x.payload);
}

/// Returns the canonical JSON text of `x` without its id: the bytes that are
/// hashed and stored. Fails (nullopt) only when `payload` is not a JSON
/// object.
std::optional<std::string> canonical_form(const packet& x);

/// Returns the id of `x`: SHA-256 hex of `canonical_form(x)`; nullopt when
/// the payload is not a JSON object.
std::optional<std::string> compute_id(const packet& x);

/// Reads a packet back from its canonical form (the id is not part of it:
/// the caller sets it). Nullopt when `text` is not a packet.
std::optional<packet> packet_from_canonical(std::string_view text);

/// The JSON form of a packet for people and the API (with its id, and
/// `_meta_parents` and `payload` as JSON).
json::value to_json(const packet& x);

} // namespace omniva::contracts
