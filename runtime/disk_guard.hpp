#pragma once

// The disk reserve: a node watches the free space of its data folder and,
// below a reserve, takes no new work (507 `insufficient_storage`) until
// space returns, so that a filling disk stops the intake while what runs
// finishes and commits (docs/operations.md, "Disk space and the reserve").
//
// The guard reads the free space (statvfs: the blocks an unprivileged
// process may still use) on a thread of its own every check interval, and
// again right before each piece of new work is admitted. It writes one
// `disk.low` line (warn) to the node's log when the space goes below the
// reserve and one `disk.ok` line (info) when it is back.

#include "runtime/http_server.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace omniva::runtime {

/// The space of a file system, as an unprivileged process sees it.
struct disk_space {
  /// Bytes still available to unprivileged processes (`f_bavail *
  /// f_frsize`).
  uint64_t free_bytes = 0;
  /// The file system's size (`f_blocks * f_frsize`).
  uint64_t total_bytes = 0;
};

/// Reads the space of the file system holding `path`. Errors: `io_error`
/// (statvfs failed: the folder is gone, ...), naming the path and why.
caf::expected<disk_space> read_disk_space(const std::string& path);

/// Reads a size: a non-negative integer number of bytes, optionally
/// followed by a unit (`B`, `KiB`, `MiB`, `GiB`, `TiB`, binary; `KB`, `MB`,
/// `GB`, `TB`, decimal; case-insensitive, a space before the unit allowed):
/// "1GiB", "512MiB", "0", "1048576". Nullopt for anything else (fractions,
/// a negative number, an unknown unit, more than 2^64-1 bytes).
std::optional<uint64_t> parse_byte_size(std::string_view text);

/// A size for people: "1 GiB", "12.5 MiB", "512 B".
std::string format_byte_size(uint64_t bytes);

/// How a disk guard watches.
struct disk_guard_options {
  /// The folder whose file system is watched (the data folder).
  std::string folder;
  /// Below this many free bytes, new work is refused; 0: never. Default:
  /// `defaults::node::disk_reserve` (1 GiB).
  uint64_t reserve = defaults::node::disk_reserve;
  /// How often the guard's thread reads the free space. Default:
  /// `defaults::node::disk_check_interval` (2 s).
  std::chrono::milliseconds check_interval
    = defaults::node::disk_check_interval;
  /// Reads the space (default: `read_disk_space`); tests give a fake.
  std::function<caf::expected<disk_space>(const std::string&)> probe;
};

/// What the guard saw at its last reading.
struct disk_status {
  /// The watched folder.
  std::string folder;
  /// Free bytes at the last reading that succeeded.
  uint64_t free_bytes = 0;
  /// The file system's size at that reading.
  uint64_t total_bytes = 0;
  /// The reserve.
  uint64_t reserve_bytes = 0;
  /// Whether the free space is below the reserve (new work is refused).
  bool low = false;
  /// Why the last reading failed ("" when it succeeded). A failed reading
  /// leaves `low` as it was: the guard refuses nothing on a guess.
  std::string error;
};

/// Watches the free space of a folder against a reserve. Thread-safe.
class disk_guard {
public:
  /// Reads the space once (so `status()` is current from the start); does
  /// not start the thread.
  explicit disk_guard(disk_guard_options options);

  /// Stops the thread.
  ~disk_guard();

  disk_guard(const disk_guard&) = delete;
  disk_guard& operator=(const disk_guard&) = delete;

  /// Starts the thread that reads the space every check interval. Once.
  void start();

  /// Stops and joins the thread. Idempotent.
  void stop();

  /// Reads the space now, logs a change of state (`disk.low`, `disk.ok`)
  /// and returns the status.
  disk_status check();

  /// The status of the last reading (no system call).
  disk_status status() const;

  /// For the HTTP server's work gate: reads the space now and returns the
  /// 507 `insufficient_storage` answer when it is below the reserve,
  /// nullopt otherwise.
  std::optional<http_response> refusal();

  /// The message of a refusal for `s`: the free space, the reserve, the
  /// folder, and what to do.
  static std::string refusal_message(const disk_status& s);

private:
  /// The thread's loop.
  void run();

  disk_guard_options options_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  disk_status status_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace omniva::runtime
