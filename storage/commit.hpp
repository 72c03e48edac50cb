#pragma once

// Writing: a `commit_batch` collects packets and the state rows they justify;
// the `committer` writes a batch as one atomic RocksDB WriteBatch (packets
// first, then their index entries, then the state rows, then the chain head),
// with one fsync. Group commit is natural: add many proposals to one batch,
// commit once.

#include "contracts/packet.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
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
  policies,
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

/// A batch the committer checked and sealed (packet ids, sequence numbers
/// and the chain assigned) but has not written yet. Move-only.
class sealed_commit {
public:
  sealed_commit();
  sealed_commit(sealed_commit&&) noexcept;
  sealed_commit& operator=(sealed_commit&&) noexcept;
  ~sealed_commit();

  /// What the commit writes once written.
  const commit_receipt& receipt() const noexcept;

  /// Whether it writes nothing (sealed from an empty batch).
  bool empty() const noexcept;

private:
  friend class committer;
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The only way to write a database: move-only, created by `open_database`
/// alone. One owner (Zenith) commits, or seals on its thread while one other
/// thread writes what it sealed (`seal`, then `write`).
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

  /// The first half of `commit`: checks `batch` as `commit` does and seals
  /// it (clearing it), without writing. The next seal chains on this one,
  /// and a later batch may name its packets as parents, so sealed commits
  /// must be written in the order they were sealed, each once, by `write`.
  /// After a failed write nothing more can be sealed or written
  /// (`storage_error`): memory would be ahead of the disk; reopen.
  caf::expected<sealed_commit> seal(commit_batch& batch);

  /// The second half of `commit`: writes `c` atomically and durably (when
  /// the database syncs). May run on another thread than `seal`, one
  /// thread at a time. `sync = false` leaves the log unsynced even on a
  /// database that syncs: only for a commit followed at once by a synced
  /// one, which makes both durable (the log is one sequence).
  caf::error write(sealed_commit& c, bool sync = true);

  /// The sequence number the next packet will get.
  uint64_t next_seq() const noexcept;

  /// The id of the last packet ("" for an empty log).
  const std::string& head() const noexcept;

  /// Whether a write failed (then nothing more is sealed or written).
  bool failed() const noexcept;

private:
  // Only `open_database` (through this type, defined in database.cpp) makes
  // a committer, and only from a `db_handle`, which nothing outside storage/
  // can build.
  friend struct committer_factory;

  explicit committer(std::shared_ptr<db_handle> db);

  /// Forgets the ids of the last `n` packets sealed (a commit whose write
  /// failed); see `recent_`.
  void forget_recent(size_t n);

  std::shared_ptr<db_handle> db_;
  uint64_t next_seq_ = 1;
  std::string head_;
  /// Raw ids of the packets sealed last, oldest first, and the same as a
  /// set: a parent among them needs no read of the index (and a parent
  /// sealed but not yet written could not be read there).
  std::deque<std::pair<uint64_t, std::string>> recent_order_; // (seq, raw id)
  std::unordered_set<std::string> recent_;
  /// The last sequence number written (by `write`, on the writer thread):
  /// only ids written may leave `recent_`, since a parent sealed but not yet
  /// written cannot be found in the index.
  std::unique_ptr<std::atomic<uint64_t>> written_seq_
    = std::make_unique<std::atomic<uint64_t>>(0);
  /// Set by a failed `write`; then `seal` and `write` refuse. (Behind a
  /// pointer: the committer moves, an atomic does not.)
  std::unique_ptr<std::atomic<bool>> broken_ = std::make_unique<std::atomic<bool>>(false);
};

/// Writes sealed commits on its own thread, in the order they were pushed,
/// so that the thread that seals (Zenith) goes on with the next batch while
/// RocksDB fills its memtables and syncs the log. Commits queued together
/// share one sync of the log. Calls `done` on its thread after each write,
/// in order, with the commit's token and the error, if any; a commit is
/// reported only once it is durable.
class write_queue {
public:
  using done_fn = std::function<void(uint64_t token, caf::error err)>;

  /// `c` must outlive the queue.
  write_queue(committer& c, done_fn done);

  /// Writes what is still queued, then stops the thread.
  ~write_queue();

  write_queue(const write_queue&) = delete;
  write_queue& operator=(const write_queue&) = delete;

  /// Queues `c` for writing.
  void push(uint64_t token, sealed_commit c);

  /// Time spent writing so far, in seconds (thread-safe).
  double write_seconds() const noexcept;

private:
  void run();

  committer& committer_;
  done_fn done_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, sealed_commit>> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> write_ns_{0};
  std::thread thread_;
};

} // namespace omniva::storage
