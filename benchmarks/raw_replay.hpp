#pragma once

// The raw limit of a commit: what plain RocksDB WriteBatch writes of the same
// keys and bytes cost, so benchmarks/commit_bench can tell how much of the
// disk the committer leaves on the table. The one write path that skips the
// committer, so it lives in the benchmark program, never in a library the
// node links: it speaks RocksDB (storage/db_handle.hpp); its header does not.
//
// The equivalence is exact, not estimated: `log_writes` reads back from the
// log the very keys and values `committer::commit` wrote for a range of
// packets (the layout is the one of storage/commit.cpp, listed there), and
// `replay_raw` writes them again, one WriteBatch per commit, into a database
// opened by `storage::open_database` (same column families, same options,
// same `sync`). The committer's extra work (validation, parent lookups,
// canonical form, SHA-256, index keys, row digests, the chain witness's
// thread) is all that differs.

#include "storage/commit.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace omniva::bench {

/// One key-value pair of a raw write group.
struct raw_write {
  /// The column family, by name: "stardust", "stardust_id", "tasks", "meta"...
  std::string family;
  /// The key, bytes as stored.
  std::string key;
  /// The value, bytes as stored.
  std::string value;
};

/// The writes of one commit: one WriteBatch.
using raw_group = std::vector<raw_write>;

/// Returns the log writes `storage::committer::commit` made for the packets
/// with `first <= seq <= last` of `r`, read back and cut into groups of
/// `per_commit` packets (the last group may be shorter), as the committer
/// wrote them when it committed `per_commit` packets at a time: per packet
/// its row in `stardust`, its `stardust_id`, `stardust_child` (one per
/// parent), `stardust_trace` and `stardust_subject` (one per subject)
/// entries; per group, after its packets, the state rows `state_rows` adds
/// for each packet of the group (state rows are not in the log: the caller
/// knows them), then the two `meta` rows (chain head, next sequence number).
/// Errors: `invalid_argument` (empty range, `per_commit` 0), `not_found` (a
/// packet of the range is missing), `corruption`.
caf::expected<std::vector<raw_group>>
log_writes(const storage::reader& r, uint64_t first, uint64_t last,
           size_t per_commit,
           const std::function<void(uint64_t seq, raw_group& out)>& state_rows
           = {});

/// What `replay_raw` did.
struct raw_replay_report {
  /// Wall-clock seconds for all the writes (building each WriteBatch
  /// included, resolving family names excluded).
  double seconds = 0;
  /// Keys written.
  uint64_t keys = 0;
  /// Key and value bytes written.
  uint64_t bytes = 0;
};

/// Writes every group of `groups` into `target`, in order, as one
/// WriteBatch each, straight through RocksDB (the committer of `target` is
/// bypassed and must not be used afterwards: its chain head is stale), with
/// `sync` as `target` was opened with. For benchmarks only: this is the one
/// write path that skips every check. Errors: `invalid_argument` (an unknown
/// family name), `storage_error`.
caf::expected<raw_replay_report>
replay_raw(storage::writable_database& target,
           const std::vector<raw_group>& groups);

} // namespace omniva::bench
