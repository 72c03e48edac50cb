#pragma once

// The write capability. A `commit_batch` collects packets and the state rows
// they justify; the `committer` writes a batch as one atomic RocksDB
// WriteBatch (packets first, then their index entries, then the state rows,
// then the chain head), with one fsync. Group commit is natural: add many
// proposals to one batch, commit once. Each packet records the digest of
// every row it justifies (payload member `_rows`, hashed with the packet), so
// `verify` can tell a row that is not the one its packet wrote. After each
// write that synced the log the committer updates the chain witness
// (storage/witness.hpp), so a log that RocksDB recovers shorter is found.
//
// When a write fails, what the caller is told depends on whether the commit
// may be in the log (see `committer::write` and `write_queue`):
// `outcome_unknown` for a commit that was handed to RocksDB (it may be
// durable: a client must check before it retries), `storage_error` for a
// commit known not written (the committer refused it after an earlier
// failure).
//
// Only `open_database` makes a committer, and only for a caller holding a
// `committer_key`, which four places alone can make (DESIGN.md §1.4: only
// the code that spawns Zenith creates the write capability, a compile-time
// fact). Anyone else who writes `committer_key{}` gets "private within this
// context" from the compiler. Readers never include this header: the read
// API is storage/reader.hpp, storage/table.hpp and storage/database.hpp.

#include "contracts/packet.hpp"
#include "storage/reader.hpp"
#include "storage/table.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <chrono>
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
/// A simulation's database (runtime/simulation.cpp).
struct simulation_database;
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

/// The writer of the chain witness and its thread (storage/witness.hpp).
class witness_writer;
class witness_keeper;

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
  /// A simulation's database (runtime/simulation.cpp, `omniva simulate`):
  /// opened as the node opens its own, its committer given to the
  /// simulation's Zenith.
  friend struct runtime::simulation_database;
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
  /// How often, at most, the chain witness (storage/witness.hpp) records
  /// the end of the synced log, in milliseconds; 0 after every synced write.
  /// Each record is an fdatasync beside the log's own: recorded after every
  /// write, it cost commit_bench a fifth of its commits at group size 1.
  /// The witness lags the log by at most this much (plus one fdatasync)
  /// while the node runs, and by nothing once the committer closed; loss of
  /// commits younger than that is not detected. Default: 10.
  uint32_t witness_interval_ms = 10;
};

/// A database open for writing (defined below, after `committer`).
struct writable_database;

/// Opens (or creates) the database in folder `path` for writing: its one
/// read handle and its one committer. A second open of the same database
/// fails with `database_locked`, in this process or another (RocksDB's lock
/// file); other processes read it through `open_reader`. Refuses, with
/// `corruption` and without changing anything, a database that lacks a
/// column family it must have (its MANIFEST lost the record that creates
/// it), whose `meta` disagrees with the end of its log, or whose log is
/// shorter than its chain witness (storage/witness.hpp) or does not hold the
/// witness's head at the witness's count: packets known durable were lost
/// (restore a backup; or, to go on with what is left, move the witness file
/// away, which `verify` then no longer checks against). Errors:
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

  /// Adds a packet. `id`, `seq` and `prev` are assigned by the committer,
  /// and so is the payload member `_rows` (the digests of the rows the
  /// packet justifies): a payload may not carry one of its own.
  /// `batch_parents` are indices of packets added earlier to this batch
  /// whose ids become lineage parents (appended to `meta_parents`) once
  /// known. Returns the packet's index in the batch.
  ///
  /// `evidence`: the packet is a decision citing its parents; at sealing the
  /// committer sets its payload member `evidence` to the ids of all its
  /// parents (`meta_parents` and those of `batch_parents`), in that order,
  /// so a decision names the advice it followed even when that advice is in
  /// the same batch (whose ids are known only then). The payload must not
  /// carry an `evidence` member of its own then.
  size_t add(contracts::packet p, std::vector<size_t> batch_parents = {},
             bool evidence = false);

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
  /// Per packet: whether its payload gets `evidence` (see `add`).
  std::vector<bool> evidence_;
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
  /// clears it: `seal`, then `write`. Refuses, writing nothing, a batch
  /// whose packets name parents that exist neither in the log nor earlier
  /// in the batch (`unknown_parent`), whose state changes are not justified
  /// by a packet of the batch listing the row's key as a subject
  /// (`unjustified_state`), or whose packets are malformed
  /// (`invalid_argument`: empty kind, payload not a JSON object or carrying
  /// `_rows`). A failed write is `outcome_unknown`, as for `write`, and
  /// leaves the committer failed.
  caf::expected<commit_receipt> commit(commit_batch& batch);

  /// The first half of `commit`: checks `batch` as `commit` does and seals
  /// it (clearing it), without writing. The next seal chains on this one,
  /// and a later batch may name its packets as parents, so sealed commits
  /// must be written in the order they were sealed, each once, by `write`.
  /// After a failed write nothing more can be sealed or written
  /// (`storage_error`): memory would be ahead of the disk; reopen.
  caf::expected<sealed_commit> seal(commit_batch& batch);

  /// The second half of `commit`: writes `c` atomically and durably (when
  /// the database syncs), then, when the write synced the log, posts the new
  /// end of the log to the chain witness's thread (storage/witness.hpp).
  /// May run on another thread than `seal`, one thread at a time.
  /// `sync = false` leaves the log unsynced even on a database that syncs:
  /// only for a commit followed at once by a synced one, which makes both
  /// durable (the log is one sequence).
  ///
  /// Errors, and what they mean for the commit:
  /// - `outcome_unknown`: RocksDB's write failed. The commit was handed to
  ///   RocksDB and may be in the log (a write can fail after its record
  ///   reached the log file, e.g. when the sync fails): it may be durable,
  ///   and a restart may find it. The committer is failed from then on.
  /// - `storage_error`: the committer had failed before (an earlier write,
  ///   or the witness could not be written); `c` was not handed to RocksDB
  ///   and is not written.
  /// A witness that cannot be written fails the committer from then on
  /// (`failed_reason` says why); commits written before are durable and
  /// reported so.
  caf::error write(sealed_commit& c, bool sync = true);

  /// The sequence number the next packet will get.
  uint64_t next_seq() const noexcept;

  /// The id of the last packet ("" for an empty log).
  const std::string& head() const noexcept;

  /// Whether a write failed (then nothing more is sealed or written).
  bool failed() const noexcept;

  /// Why the committer failed ("" while it has not). Thread-safe.
  std::string failed_reason() const;

  /// Waits until the chain witness records every write that synced the log
  /// so far (its thread records them a little after the writes). Returns
  /// the witness's error, if it could not be written. For tests and tools;
  /// closing the committer does it too.
  caf::error flush_witness();

private:
  // Only `open_database`, which asks for a key, makes a committer.
  friend caf::expected<writable_database>
  open_database(committer_key key, const std::string& path,
                const database_options& options);

  committer(std::shared_ptr<db_handle> db, witness_writer witness,
            std::chrono::milliseconds witness_interval);

  /// Marks the committer failed, with `why` (the first reason wins).
  void fail(std::string why);

  /// Whether the committer failed, also because the witness could not be
  /// written (which then fails it).
  bool check_failed();

  /// When the committer closes: flushes the memtables when they hold more
  /// than a few MiB (so the next open has little log to replay); for a
  /// database that does not sync, syncs the log and posts the witness of
  /// what was written (a database that syncs posted it after every write);
  /// then waits for the witness's thread to record it. A failure leaves the
  /// older witness, which is only behind.
  void close_witness() noexcept;

  /// Whether and why the committer failed (behind a pointer: the committer
  /// moves, a mutex does not).
  struct failure {
    std::atomic<bool> failed{false};
    mutable std::mutex mtx;
    std::string reason;
  };

  std::shared_ptr<db_handle> db_;
  /// The chain witness's thread.
  std::unique_ptr<witness_keeper> witness_;
  /// The id of the last packet written (writer thread only).
  std::string written_head_;
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
  /// Set by a failed `write` (or witness); then `seal` and `write` refuse.
  std::unique_ptr<failure> failure_ = std::make_unique<failure>();
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
/// (a group) share one sync of the log. Calls `done` on its thread after
/// each write, in order, with the commit's token and the error, if any; a
/// commit is reported only once it is durable.
///
/// When a write of a group fails, its commits are reported thus:
/// - the commits of the group before the failed one were written (without
///   sync: the sync was to come with the group's last commit) and the
///   failed one was handed to RocksDB: each is `outcome_unknown` (it may be
///   durable; check before retrying);
/// - the commits after the failed one, and every commit of later groups,
///   are refused by the failed committer without being written:
///   `storage_error` (known not written).
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
