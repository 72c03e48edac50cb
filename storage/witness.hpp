#pragma once

// The chain witness: a durable record, outside RocksDB, of how long the log
// was when a write last reached the disk. RocksDB's recovery rolls a
// database back to whatever its write-ahead log still holds: a deleted log,
// or one cut short, comes back as a shorter (or empty) log that verifies as
// intact. The witness cannot be rolled back with it, so a log shorter than
// its witness, or one whose packet at the witness's count is not the
// witness's head, is loss, and `verify` reports it.
//
// After each write that synced the log, the committer hands the new end of
// the log to a thread of its own (`witness_keeper`), which records the
// newest it was handed, at most once per interval (`database_options::
// witness_interval_ms`, default 10 ms); for a database that does not sync,
// the committer syncs the log and records the witness once, when it closes.
// So the witness is never ahead of what is durable, only behind it: by the
// writes of the last interval (and one fdatasync) while the committer runs,
// by nothing once it has closed. Ahead means loss. Why not after every
// write, inline: each record is an fdatasync beside the log's own, and
// commit_bench at group size 1 went from 0.9-1.0 of raw RocksDB to about 0.6
// inline, about 0.75 on the keeper's thread with no interval.
//
// The file is `<database folder>/omniva-witness`, 8 KiB: two slots of 4 KiB,
// each one line `omniva-witness 1 packets=<N> head=<id or -> check=<16 hex>`
// padded with zero bytes, where `check` is the start of the SHA-256 of the
// line before ` check=`. Writes alternate between the slots and each ends
// with fdatasync, so a torn write damages only the slot being written and
// the other still holds the witness before it; the witness is the valid slot
// with the most packets. The file is created once, through a temporary file,
// fsync, rename and an fsync of the folder.

#include "contracts/json.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace omniva::storage {

/// What the witness says: the log held at least `packets` packets, the last
/// of them `head`.
struct chain_witness {
  /// Packets known durable.
  uint64_t packets = 0;
  /// The id of packet `packets` ("" when `packets` is 0).
  std::string head;

  friend bool operator==(const chain_witness&, const chain_witness&) = default;
};

/// The witness file of the database in folder `database_path`.
std::string witness_path(const std::string& database_path);

/// Reads the witness of the database in folder `database_path`: nullopt
/// when it has none (a database that no synced write of this format has
/// reached, or whose witness was removed). Errors: `corruption` (the file
/// is damaged: no valid slot, wrong size), `storage_error` (it cannot be
/// read).
caf::expected<std::optional<chain_witness>>
read_witness(const std::string& database_path);

/// What witness `w` says of a log holding `packets` packets whose packet
/// number `w.packets` has id `id_at_witness` ("" when it has no such
/// packet): "" when they agree (the log is as long as the witness or longer,
/// with the witness's head in its place), otherwise why packets were lost,
/// in a sentence saying how many.
std::string describe_loss(const chain_witness& w, uint64_t packets,
                          const std::string& id_at_witness);

/// `{"packets": N, "head": "<id>"}`, as `omniva lineage witness` prints it.
json::value to_json(const chain_witness& x);

/// The inverse of `to_json`, for a witness kept elsewhere (`omniva lineage
/// verify --witness FILE`). Errors: `invalid_argument`, naming the member.
caf::expected<chain_witness> witness_from_json(const json::value& x);

/// Writes the witness of one database, synchronously: the file operations
/// of `witness_keeper`. Not thread-safe.
class witness_writer {
public:
  /// For the database in folder `database_path`; reads its witness, if any
  /// (`current`). Errors as for `read_witness`.
  static caf::expected<witness_writer> open(const std::string& database_path);

  witness_writer(witness_writer&&) noexcept;
  witness_writer& operator=(witness_writer&&) noexcept;
  witness_writer(const witness_writer&) = delete;
  witness_writer& operator=(const witness_writer&) = delete;
  ~witness_writer();

  /// The witness as last read or stored (nullopt: none yet).
  const std::optional<chain_witness>& current() const noexcept {
    return current_;
  }

  /// Durably records `w` (creating the file on first use). Call it only
  /// once the log up to `w.packets` is synced. Errors: `storage_error`,
  /// with the path and the system's reason.
  caf::error store(const chain_witness& w);

private:
  witness_writer() = default;

  std::string dir_;
  std::string path_;
  /// The open file (-1 until the first store creates or opens it).
  int fd_ = -1;
  /// The slot the next store writes (never the one holding `current_`).
  int next_slot_ = 0;
  std::optional<chain_witness> current_;
};

/// Keeps the witness of one database current on a thread of its own: the
/// committer `post`s the end of the log after each write that synced it and
/// goes on; the keeper records the newest it was posted, at most once per
/// `interval` (each record is an fdatasync beside the log's own). Thread-safe.
class witness_keeper {
public:
  /// Starts the thread; `writer` holds the witness read at open. `interval`
  /// 0 records after every post (coalescing what arrives while it writes).
  witness_keeper(witness_writer writer, std::chrono::milliseconds interval);

  /// Records what is still posted, then stops the thread.
  ~witness_keeper();

  witness_keeper(const witness_keeper&) = delete;
  witness_keeper& operator=(const witness_keeper&) = delete;

  /// Asks for `w` to be recorded (when it is newer than what is): call it
  /// only once the log up to `w.packets` is synced. Never blocks on I/O.
  void post(chain_witness w);

  /// Waits until everything posted so far is recorded. Returns the error
  /// of the first store that failed, if any (then nothing more is
  /// recorded).
  caf::error flush();

  /// Whether a store failed (cheap; for the committer's write path).
  bool failed() const noexcept;

  /// The error of the first store that failed (none while none did).
  caf::error error() const;

  /// The newest witness recorded (or read at open); nullopt for none.
  std::optional<chain_witness> recorded() const;

private:
  void run();

  witness_writer writer_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  /// The newest posted and not yet being recorded.
  std::optional<chain_witness> pending_;
  /// Whether the thread is recording one now.
  bool busy_ = false;
  bool stopping_ = false;
  /// Callers of `flush` waiting: the thread does not wait out the interval.
  int flushing_ = 0;
  std::atomic<bool> failed_{false};
  caf::error error_;
  std::optional<chain_witness> recorded_;
  std::thread thread_;
};

} // namespace omniva::storage
