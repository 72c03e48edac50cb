#pragma once

// Writing: a `commit_batch` collects packets and the state rows they justify;
// the `committer` writes a batch as one atomic RocksDB WriteBatch (packets
// first, then their index entries, then the state rows, then the chain head),
// with one fsync. Group commit is natural: add many proposals to one batch,
// commit once.

#include "contracts/packet.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::storage {

struct db_handle;
struct committer_factory;
class reader;

/// The tables of state (one column family each).
enum class table : uint8_t {
  assets,
  tasks,
  modules,
  schemas,
};

/// Returns the column family name of `t` ("assets", ...).
std::string_view to_string(table t) noexcept;

/// Packets and state rows to be written together, atomically.
class commit_batch {
public:
  /// One state change.
  struct state_op {
    table where;
    std::string key;
    /// The new row; nullopt erases the row.
    std::optional<std::string> value;
    /// Index (in this batch) of the packet that justifies the change.
    size_t justified_by;
  };

  /// Adds a packet. `id`, `seq` and `prev` are assigned by the committer.
  /// `batch_parents` are indices of packets added earlier to this batch
  /// whose ids become lineage parents (appended to `meta_parents`) once
  /// known. Returns the packet's index in the batch.
  size_t add(contracts::packet p, std::vector<size_t> batch_parents = {});

  /// Sets row `key` of `t` to `value`, justified by the packet at index
  /// `justified_by`, which must list `key` among its `subjects`.
  void put(table t, std::string key, std::string value, size_t justified_by);

  /// Erases row `key` of `t`, justified as for `put`.
  void erase(table t, std::string key, size_t justified_by);

  /// Moves every packet and state change of `other` to the end of this batch
  /// (group commit: many proposals, one write). Indices of `other` shift by
  /// the number of packets this batch held.
  void append(commit_batch&& other);

  /// Number of packets.
  size_t packets() const noexcept {
    return packets_.size();
  }

  /// Whether the batch holds nothing.
  bool empty() const noexcept {
    return packets_.empty() && ops_.empty();
  }

  /// Removes everything.
  void clear() noexcept;

private:
  friend class committer;
  std::vector<contracts::packet> packets_;
  std::vector<std::vector<size_t>> batch_parents_;
  std::vector<state_op> ops_;
};

/// What a commit wrote.
struct commit_receipt {
  /// Sequence numbers of the batch's packets: [first_seq, last_seq]; both 0
  /// for a batch without packets.
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  /// The ids of the packets, in batch order.
  std::vector<std::string> ids;
};

/// The only way to write a database: move-only, created by `open_database`
/// alone. Not thread-safe: one owner (Zenith) commits.
class committer {
public:
  committer(committer&&) noexcept;
  committer& operator=(committer&&) noexcept;
  committer(const committer&) = delete;
  committer& operator=(const committer&) = delete;
  ~committer();

  /// Writes `batch` atomically and durably (when the database syncs), then
  /// clears it. Refuses, writing nothing, a batch whose packets name parents
  /// that exist neither in the log nor earlier in the batch
  /// (`unknown_parent`), whose state changes are not justified by a packet
  /// of the batch listing the row's key as a subject (`unjustified_state`),
  /// or whose packets are malformed (`invalid_argument`: empty kind, payload
  /// not a JSON object). On a storage failure nothing is applied and the
  /// committer stays usable.
  caf::expected<commit_receipt> commit(commit_batch& batch);

  /// The sequence number the next packet will get.
  uint64_t next_seq() const noexcept;

  /// The id of the last packet ("" for an empty log).
  const std::string& head() const noexcept;

private:
  // Only `open_database` (through this type, defined in database.cpp) makes
  // a committer, and only from a `db_handle`, which nothing outside storage/
  // can build.
  friend struct committer_factory;

  explicit committer(std::shared_ptr<db_handle> db);

  std::shared_ptr<db_handle> db_;
  uint64_t next_seq_ = 1;
  std::string head_;
};

} // namespace omniva::storage
