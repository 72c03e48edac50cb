#pragma once

// One child process, run to its end: a process spec in, a process outcome
// out. The local adapter runs modules with it; anything else that must run
// a program under the same guarantees can too. Nothing here knows about
// modules, manifests or outcomes of tasks.
//
// The guarantees:
// - no shell: `argv` is executed as given (argv[0] with a '/' relative to
//   `cwd`, without one searched on the `PATH` of the child's environment);
// - the environment is exactly `env`: nothing of the parent's;
// - the working directory is `cwd`; stdin is /dev/null; stdout and stderr go
//   to the two log files (created or truncated, mode 0600: a module's logs
//   may hold what only the node's user may read);
// - no descriptor of the parent leaks in, even one another thread opened
//   without close-on-exec;
// - default signal dispositions, an empty signal mask, no core dumps, and
//   the address-space and file-size limits of the spec, if any;
// - when the spec has a `before_exec` hook, the program starts only after
//   the hook returned true in the parent: the child waits for it between
//   fork and exec, so whatever the hook records about the process exists
//   before the program runs;
// - the process leads a process group of its own. When it ends, whatever it
//   left in its group is killed; when it outlives `timeout`, the group gets
//   SIGTERM, then after `kill_grace` SIGKILL, and likewise as soon as the
//   spec's `stop` flag turns true; when the parent dies (even by SIGKILL),
//   the process gets SIGKILL (PR_SET_PDEATHSIG: strictly, when the thread
//   that started it exits). A process that leaves its group (setsid)
//   escapes the group kills, and the parent-death signal covers the
//   process itself only: runtime/leftovers.hpp finds what is left.
//
// Why fork/exec by hand and not Boost.Process (Boost 1.74, v1): between
// fork and exec the child must set its process group, arm the parent-death
// signal and re-check its parent, reset every signal disposition and the
// mask, set rlimits, mark every other descriptor close-on-exec (one
// close_range call), enter `cwd`, wait until the parent recorded it, and
// report which of those steps failed, all with async-signal-safe calls only (the node is multi-threaded). In
// 1.74, Boost.Process's `start_dir` ignores chdir's result (the program
// would run in the parent's directory), its executor assigns a std::string
// in the child when execve fails and `limit_handles` walks /dev/fd with
// opendir (both allocate after fork), `wait_for` installs a process-wide
// SIGCHLD handler and waits with sigtimedwait (racy between concurrent
// workers), and `child` reaps without rusage (we need wait4's) and kills
// its pid on destruction unless detached. What it would still offer, the
// PATH search, is twenty lines here.

#include "contracts/defaults.hpp"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime {

/// What to run and under which limits.
struct process_spec {
  /// The program and its arguments; argv[0] names the program (see the file
  /// comment for how it is found).
  std::vector<std::string> argv;
  /// The whole environment of the child, name -> value. Its `PATH` is also
  /// where a program named without a '/' is searched.
  std::map<std::string, std::string> env;
  /// The working directory of the child (absolute).
  std::string cwd;
  /// The child's address-space limit (RLIMIT_AS) in bytes; 0: none.
  uint64_t address_space_limit = 0;
  /// The largest file the child, and every process it starts, may write or
  /// extend (RLIMIT_FSIZE, soft and hard), in bytes; the two log files
  /// count too. A write beyond it raises SIGXFSZ, which kills the writer
  /// unless it handles the signal (then the write fails with EFBIG).
  /// 0: none.
  uint64_t file_size_limit = 0;
  /// How long the process may run before its group is killed; nullopt:
  /// no limit.
  std::optional<std::chrono::milliseconds> timeout;
  /// How long the group has between SIGTERM and SIGKILL after a timeout.
  /// Default: `defaults::adapter::kill_grace` (2 s).
  std::chrono::milliseconds kill_grace = defaults::adapter::kill_grace;
  /// Where the child's stdout goes (created or truncated, mode 0600).
  std::string stdout_path;
  /// Where the child's stderr goes (created or truncated, mode 0600).
  std::string stderr_path;
  /// When set, read while the process runs, at least every
  /// `defaults::adapter::stop_check_interval`: once it is true, the group
  /// is ended as after a timeout (SIGTERM, `kill_grace`, SIGKILL) and the
  /// status is `stopped`. Must outlive the run. Default: none.
  const std::atomic<bool>* stop = nullptr;
  /// Called in the parent after the fork, once the child exists and leads
  /// its process group (its pid is the group's id), before the program
  /// starts: the child waits for the hook's answer. True lets the program
  /// start; false ends the child before exec (`not_started`, failure
  /// `record`). For recording the process durably before it can do
  /// anything (runtime/leftovers.hpp). Default: none (no wait).
  std::function<bool(pid_t)> before_exec;
  /// Called from the calling thread at least every `heartbeat_interval`
  /// while the process runs (a sign of life for whoever waits on the
  /// caller); may be empty.
  std::function<void()> heartbeat;
  /// See `heartbeat`. Default: `defaults::scheduling::heartbeat_interval`
  /// (5 s).
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
};

/// How a process run ended.
enum class process_status {
  /// It exited by itself: `exit_code` tells how.
  exited,
  /// A signal ended it (not one sent for a timeout): `signal` tells which.
  signaled,
  /// It outlived its timeout; its group was killed.
  timed_out,
  /// The spec's `stop` flag turned true while it ran; its group was killed
  /// as after a timeout.
  stopped,
  /// The program never ran: `failure` and `error_number` tell why.
  not_started,
  /// It ran, but its exit status could not be collected (something else in
  /// the process reaped it): `error_number` tells why, `timed_out` whether
  /// the timeout had passed.
  lost,
};

/// Returns the name of `x` ("exited", "timed_out", ...).
std::string_view to_string(process_status x) noexcept;

/// The step at which starting the program failed.
enum class start_failure {
  /// It did not fail.
  none,
  /// `argv` is empty or argv[0] is.
  no_program,
  /// argv[0] has no '/' and no executable of that name is on the PATH.
  not_found,
  /// A log file could not be opened (in the parent).
  log_files,
  /// The pipe that reports the child's failures could not be made.
  pipe,
  /// fork failed (out of processes or memory).
  fork,
  /// The child could not lead its own process group.
  setpgid,
  /// The child could not redirect stdin, stdout or stderr.
  redirect,
  /// The child could not enter `cwd`.
  chdir,
  /// The child could not set its resource limits.
  limits,
  /// execve failed (no such file, not executable, ...).
  exec,
  /// The spec's `before_exec` hook answered false, or the channel the child
  /// waits on for it could not be made.
  record,
};

/// Returns the name of `x` ("not_found", "chdir", ...).
std::string_view to_string(start_failure x) noexcept;

/// What became of a process run.
struct process_outcome {
  /// How it ended.
  process_status status = process_status::not_started;
  /// `exited`: the exit status (0-255).
  int exit_code = -1;
  /// `signaled`: the signal number.
  int signal = 0;
  /// Whether the timeout passed and the group was killed (`timed_out`, and
  /// possibly `lost`).
  bool timed_out = false;
  /// Whether the stop flag ended the run and the group was killed
  /// (`stopped`, and possibly `lost`).
  bool stopped = false;
  /// `not_started`: the step that failed.
  start_failure failure = start_failure::none;
  /// `not_started`, `lost`: the errno of the failing call (0 for
  /// `not_found`, `no_program` and a `record` hook that answered false).
  int error_number = 0;
  /// The child's pid, which is also its process group's id; 0 when there
  /// was no fork.
  pid_t pid = 0;
  /// The program as executed: argv[0] resolved against `cwd` or the PATH;
  /// empty when it was not found.
  std::string program;
  /// From just before the fork to the reaping.
  std::chrono::milliseconds duration{0};
  /// The child's peak resident set size, KiB (wait4's rusage).
  int64_t max_rss_kb = 0;
  /// CPU time the child spent in user mode.
  std::chrono::milliseconds user_cpu{0};
  /// CPU time the child spent in the kernel.
  std::chrono::milliseconds system_cpu{0};

  /// Returns whether the program ran (any status but `not_started`): the
  /// log files exist and the rusage fields hold (unless `lost`).
  bool started() const noexcept {
    return status != process_status::not_started;
  }
};

/// Runs `spec` to its end and returns what became of it. Blocking; never
/// throws for anything the child does. Thread-safe: concurrent runs are
/// independent (each gets its own process group). The caller must not reap
/// children with waitpid(-1) nor ignore SIGCHLD, or the outcome is `lost`.
process_outcome run_child_process(const process_spec& spec);

/// Returns "SIGSEGV" for SIGSEGV, "signal 99" for a number without a name.
std::string signal_name(int signal);

} // namespace omniva::runtime
