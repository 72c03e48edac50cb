#pragma once

// What is left of attempts: the processes of modules that outlived the node
// that started them, found and killed before the node runs anything new.
//
// A module's own process leads a process group and dies with the node
// (runtime/child_process.hpp), but what it starts does not: a Python module
// that runs ffmpeg leaves ffmpeg writing into the old attempt's folder after
// a SIGKILL of the node, while recovery starts the next attempt. So every
// module process carries a marker in its environment,
//
//   OMNIVA_ATTEMPT=<node key>/<task id>/<attempt>
//
// which everything it starts inherits, and the local adapter records each
// attempt's process durably before the module's program starts: a small
// JSON file `<data>/attempts/<group>-<start time>.json` holding the process
// group id, its leader's start time (/proc/<pid>/stat field 22, clock ticks
// since boot: a recycled pid has another) and the marker. The record goes
// once the attempt ended and its group was killed.
//
// At start, before any attempt runs, the node calls `reap_leftovers`: every
// recorded group whose leader still has the recorded start time is killed,
// and so is every process whose environment (/proc/<pid>/environ) holds
// this node's marker, which also finds a process that left its group
// (setsid). The node key is derived from the data folder, so two nodes on
// one machine never kill each other's work.
//
// What escapes: a process that was started with a cleared or rewritten
// environment (`env -i`, an execve with its own environment) AND left the
// group (setsid, or setpgid into another group) is neither in a recorded
// group nor marked. Containing that needs a cgroup per attempt (docs/
// modules.md says what the node does without one).

#include "contracts/defaults.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime {

/// The environment variable that marks every process of an attempt.
inline constexpr std::string_view attempt_marker_name = "OMNIVA_ATTEMPT";

/// Where a node records the processes of its attempts, and the key that
/// marks them.
struct attempt_records {
  /// The folder of the records (`<data>/attempts`, created on the first
  /// record). Empty: attempts are neither recorded nor marked.
  std::string dir;
  /// Identifies the node among the nodes of a machine: 16 hex digits of the
  /// SHA-256 of its data folder's resolved absolute path.
  std::string node_key;

  /// Returns whether attempts are recorded and marked.
  bool enabled() const noexcept {
    return !dir.empty() && !node_key.empty();
  }
};

/// Returns the records of the node whose data folder is `data_dir`: the
/// folder `<data_dir>/attempts` and the key of `data_dir` made absolute,
/// with symbolic links resolved.
attempt_records attempt_records_for(const std::string& data_dir);

/// Returns the marker of attempt `attempt` of task `task_id`:
/// "<node key>/<task id>/<attempt>".
std::string attempt_marker(const attempt_records& records,
                           std::string_view task_id, uint32_t attempt);

/// One attempt's process, as recorded.
struct attempt_record {
  /// The process group: the id of its leader, the module's process.
  pid_t group = 0;
  /// The leader's start time (/proc/<pid>/stat field 22).
  uint64_t start_time = 0;
  /// The marker in the environment of the attempt's processes.
  std::string marker;
};

/// Writes `record` into `records.dir` durably (a temporary file, fsync,
/// rename, fsync of the folder) and returns the record's path; empty when
/// it could not be written (errno tells why; nothing half-written is
/// left).
std::string write_attempt_record(const attempt_records& records,
                                 const attempt_record& record);

/// Removes the record at `path` (as `write_attempt_record` returned it);
/// an empty path or a missing file is fine.
void remove_attempt_record(const std::string& path);

/// What /proc/<pid>/stat says of a process.
struct process_info {
  /// Its pid.
  pid_t pid = 0;
  /// Its name (the kernel's `comm`, at most 15 bytes).
  std::string name;
  /// Its state letter ('R', 'S', 'D', 'Z' for a zombie, ...).
  char state = '?';
  /// Its process group.
  pid_t group = 0;
  /// When it started, in clock ticks since boot (field 22).
  uint64_t start_time = 0;
};

/// Returns what /proc/<pid>/stat says of `pid`; nullopt when there is no
/// such process or it cannot be read.
std::optional<process_info> read_process_info(pid_t pid);

/// Kills (SIGKILL) every process of this machine whose environment holds
/// `OMNIVA_ATTEMPT=<marker>` exactly, again until none is found, and waits
/// up to `wait` until they are gone; returns the pids killed. What a
/// finished attempt left outside its group (setsid) goes this way.
std::vector<pid_t> kill_marked(std::string_view marker,
                               std::chrono::milliseconds wait
                               = defaults::adapter::leftover_wait);

/// A process found left over from an earlier attempt.
struct leftover_process {
  /// Its pid and name.
  pid_t pid = 0;
  std::string name;
  /// Its process group.
  pid_t group = 0;
  /// The marker in its environment; empty when it carries none (it was
  /// found in a recorded group).
  std::string marker;
};

/// What `reap_leftovers` found and did.
struct leftover_report {
  /// The processes it killed, and that are gone.
  std::vector<leftover_process> killed;
  /// The processes it killed that were still there after the wait (stuck
  /// in the kernel); their records are kept for the next start.
  std::vector<leftover_process> survivors;
  /// How many record files it read (and removed, but for survivors').
  size_t records = 0;
  /// Records that could not be read (removed: they describe a process
  /// that never ran its program).
  size_t unreadable_records = 0;
};

/// Finds what is left of the node's earlier attempts, as the file comment
/// says, kills it (SIGKILL, then looks again until nothing is found, at
/// most `wait` in all), waits until it is gone, removes the records and
/// logs each process killed. Call it before any attempt runs: it kills
/// every process marked for this node. Never kills a process that merely
/// reuses a recorded pid, nor one of another node, nor the caller.
leftover_report reap_leftovers(const attempt_records& records,
                               std::chrono::milliseconds wait
                               = defaults::adapter::leftover_wait);

} // namespace omniva::runtime
