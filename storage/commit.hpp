#pragma once

// The write capability. A `commit_batch` collects packets and the state rows
// they justify; the `committer` writes a batch as one atomic RocksDB
// WriteBatch (packets first, then their index entries, then the state rows,
// then the chain head), with one fsync. Group commit is natural: add many
// proposals to one batch, commit once.
//
// Only `open_database` makes a committer, and only for a caller holding a
// `committer_key`, which three places alone can make (DESIGN.md §1.4: only
// the code that spawns Zenith creates the write capability, a compile-time
// fact). Anyone else who writes `committer_key{}` gets "private within this
// context" from the compiler. Readers never include this header: the read
// API is storage/reader.hpp, storage/table.hpp and storage/database.hpp.

#include "contracts/packet.hpp"
#include "storage/reader.hpp"
#include "storage/table.hpp"

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

// The holders of the key, by name only: storage/ knows nothing else of them.
namespace omniva::runtime {
/// The node bootstrap (runtime/node.hpp).
class node;
} // namespace omniva::runtime
namespace omniva::bench {
/// A benchmark's scratch database (benchmarks/commit_bench.cpp).
struct scratch_database;
} // namespace omniva::bench
namespace omniva::storage::testing {
/// The test fixtures' door (storage/testing/committer_door.hpp).
struct committer_door;
} // namespace omniva::storage::testing

namespace omniva::storage {

/// The open RocksDB instance (storage/db_handle.hpp, internal).
struct db_handle;

/// The right to open a database for writing: `open_database` takes one, and
/// only the friends below can make one. It cannot be copied, moved or kept:
/// it is made in the call that spends it (`open_database(committer_key{},
/// path)`), so a holder cannot pass the right on by handing out a key.
class committer_key {
public:
  /// Not copyable (nor, therefore, movable): a key is never passed on.
  committer_key(const committer_key&) = delete;
  /// Not assignable.
  committer_key& operator=(const committer_key&) = delete;

private:
  /// Private: only the friends make keys.
  committer_key() = default;

  /// The node bootstrap (`runtime::node::start`, runtime/node.cpp): opens
  /// the node's database and hands the committer to Zenith, which it spawns.
  friend class runtime::node;
  /// A benchmark's scratch database (benchmarks/commit_bench.cpp), opened
  /// as the node opens its own.
  friend struct bench::scratch_database;
  /// Test fixtures (storage/testing/committer_door.hpp, test targets only).
  friend struct testing::committer_door;
};

/// How a database is opened for writing.
struct database_options {
  /// Whether every commit waits for its write-ahead log to reach the disk
  /// (fsync). Default: true. Without it a machine crash may lose the last
  /// commits (a process crash loses nothing either way).
  bool sync = true;
  /// Whether `open_database` creates a missing database. Default: true.
  bool create_if_missing = true;
};

/// A database open for writing (defined below, after `committer`).
struct writable_database;

/// Opens (or creates) the database in folder `path` for writing: its one
/// read handle and its one committer. A second open of the same database
/// fails with `database_locked`, in this process or another (RocksDB's lock
/// file); other processes read it through `open_reader`. Errors:
/// `database_locked`, `storage_error`, `corruption`.
caf::expected<writable_database>
open_database(committer_key key, const std::string& path,
              const database_options& options = {});

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

/// The only way to write a database: move-only, made by `open_database`
/// alone (for a holder of a `committer_key`). One owner (Zenith) commits, or
/// seals on its thread while one other thread writes what it sealed
/// (`seal`, then `write`).
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
  // Only `open_database`, which asks for a key, makes a committer.
  friend caf::expected<writable_database>
  open_database(committer_key key, const std::string& path,
                const database_options& options);

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

/// A database open for writing: its one read handle and its one committer.
struct writable_database {
  /// The read handle; safe to use from any thread while the committer writes.
  std::shared_ptr<const reader> read;
  /// The only way to write.
  committer write;
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
