#pragma once

// Reading the log and the state tables. A reader is safe to use from any
// number of threads, also while the committer writes; every read sees whole
// commits only. Each call reads the database as it is at that moment;
// `verify` (storage/verify.hpp) reads everything it checks through one
// consistent view.

#include "contracts/packet.hpp"
#include "storage/table.hpp"
#include "storage/witness.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::storage {

struct db_handle;

/// A packet found by a lineage walk, with its distance from the start.
struct lineage_entry {
  contracts::packet packet;
  /// 1 for a direct parent (or child), 2 for theirs, ...
  uint32_t depth = 0;
};

/// Read access to a database.
class reader {
public:
  explicit reader(std::shared_ptr<db_handle> db);
  ~reader();

  /// The packet with `id` (64 hex digits). Errors: `not_found`,
  /// `invalid_digest`, `storage_error`, `corruption`.
  caf::expected<contracts::packet> packet_by_id(std::string_view id) const;

  /// The packet at `seq`. Errors as for `packet_by_id`.
  caf::expected<contracts::packet> packet_by_seq(uint64_t seq) const;

  /// The packets with `first <= seq <= last`, in order, at most `limit`.
  caf::expected<std::vector<contracts::packet>>
  packets(uint64_t first, uint64_t last, size_t limit = SIZE_MAX) const;

  /// Calls `f` for every packet from `first` on, in order, until `f` returns
  /// false; bounded memory. The packet's stored bytes are passed too.
  caf::error for_each(uint64_t first,
                      const std::function<bool(uint64_t seq, std::string_view id_bytes,
                                               std::string_view canonical)>& f) const;

  /// The packets of workflow `trace_id`, in order, at most `limit`.
  caf::expected<std::vector<contracts::packet>>
  by_trace(std::string_view trace_id, size_t limit = SIZE_MAX) const;

  /// Every packet that touched `subject` (a task, asset or module id), in
  /// order: its history.
  caf::expected<std::vector<contracts::packet>>
  history(std::string_view subject, size_t limit = SIZE_MAX) const;

  /// The packets of workflow `trace_id` with `first <= seq <= last`, in
  /// order, at most `limit`: one seek to `first`, so a page of a long trace
  /// costs its own packets only (HaloLux's trace pages).
  caf::expected<std::vector<contracts::packet>>
  by_trace(std::string_view trace_id, uint64_t first, uint64_t last,
           size_t limit) const;

  /// The packets naming `subject` with `first <= seq <= last`, in order, at
  /// most `limit`: a stretch of a long history (what happened to a
  /// quarantine target while a task waited) without reading the rest.
  caf::expected<std::vector<contracts::packet>>
  history(std::string_view subject, uint64_t first, uint64_t last,
          size_t limit) const;

  /// The seq of the last packet naming `subject` with `seq <= at_most`; 0
  /// when there is none. One backward seek in the subject index, no packet
  /// read (HaloLux's cache checks and "what was the state at seq N").
  /// Errors: `corruption` (a damaged index key), `storage_error`.
  caf::expected<uint64_t> last_seq_of(std::string_view subject,
                                      uint64_t at_most = UINT64_MAX) const;

  /// The seq of the last packet of workflow `trace_id`; 0 when it has
  /// none. One backward seek in the trace index, no packet read. Errors as
  /// for `last_seq_of`.
  caf::expected<uint64_t> last_seq_of_trace(std::string_view trace_id) const;

  /// The id of the last packet that touched `subject`: one backward seek,
  /// whatever the length of the history. "" means exactly that no packet
  /// names `subject`; a read that fails is an error, never "": `corruption`
  /// (a damaged index entry, or one naming a packet the log lacks),
  /// `storage_error` (RocksDB could not read). A caller that links a new
  /// packet to this one must fail rather than go on without the parent.
  caf::expected<std::string> last_of(std::string_view subject) const;

  /// The ids of the packets that name `id` as a parent.
  caf::expected<std::vector<std::string>> children(std::string_view id) const;

  /// The ancestors of packet `id` (parents, their parents, ...) up to
  /// `max_depth` levels, each once, nearest first.
  caf::expected<std::vector<lineage_entry>>
  ancestors(std::string_view id, uint32_t max_depth) const;

  /// The descendants of packet `id` up to `max_depth` levels, each once,
  /// nearest first.
  caf::expected<std::vector<lineage_entry>>
  descendants(std::string_view id, uint32_t max_depth) const;

  /// Row `key` of `t`. Errors: `not_found` ("no task 'x'"; also for a table
  /// a database made before it existed lacks: `policies`, `holds`),
  /// `storage_error`.
  caf::expected<std::string> get(table t, std::string_view key) const;

  /// The unfinished tasks holding asset `asset_id` (the rows of
  /// `table::holds` under it), in task id order; empty when none does (or
  /// the asset does not exist). On a database no node has opened since
  /// holds became rows of their own, the holders its asset row lists.
  /// Errors: `storage_error`, `corruption`.
  caf::expected<std::vector<std::string>>
  holders(std::string_view asset_id) const;

  /// The rows of `t` whose key starts with `prefix`, in key order, at most
  /// `limit`.
  caf::expected<std::vector<std::pair<std::string, std::string>>>
  scan(table t, std::string_view prefix, size_t limit = SIZE_MAX) const;

  /// The id of the last packet ("" for an empty log), from `meta`.
  caf::expected<std::string> head() const;

  /// The number of packets, from `meta`.
  caf::expected<uint64_t> packet_count() const;

  /// The chain witness of the database (storage/witness.hpp): nullopt when
  /// it has none. Errors as for `read_witness`.
  caf::expected<std::optional<chain_witness>> witness() const;

  /// For a secondary reader (`open_reader`): catches up with the commits
  /// the writing process made since (waiting for a `verify` under way). A
  /// no-op for the primary's reader.
  caf::error refresh() const;

  /// The handle, for storage/ internals (verify) and the raw RocksDB replay
  /// of benchmarks/commit_bench (raw_replay.cpp).
  const std::shared_ptr<db_handle>& handle() const noexcept {
    return db_;
  }

private:
  caf::expected<std::vector<lineage_entry>>
  walk(std::string_view id, uint32_t max_depth, bool up) const;

  std::shared_ptr<db_handle> db_;
};

/// The entity stored packet `p` is about, as the live event named it: its
/// one subject, or for a `task.*` packet naming several (the task, its
/// inputs and outputs; a stored packet keeps its subjects sorted) the task:
/// the subject whose row the packet recorded in `tasks` (no read, most of
/// the time), else the one subject with a task row. "" for no subject.
std::string event_subject(const contracts::packet& p, const reader& r);

} // namespace omniva::storage
