#pragma once

// The local adapter: runs a module as a child process on this machine and
// checks what it wrote (DESIGN.md §7).

#include "contracts/defaults.hpp"
#include "runtime/adapter.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace omniva::runtime {

/// Settings of the local adapter. Defaults suit a node.
struct local_adapter_options {
  /// How long the process group has between SIGTERM and SIGKILL after a
  /// timeout. Default: `defaults::adapter::kill_grace` (2 s).
  std::chrono::milliseconds kill_grace = defaults::adapter::kill_grace;
  /// `PATH` of the child; empty: the node's own `PATH`, or
  /// "/usr/local/bin:/usr/bin:/bin" when it has none. Default: empty.
  std::string path;
  /// How many trailing lines of stderr an `exit_code`/`signal` message
  /// quotes. Default: `defaults::adapter::stderr_tail_lines` (5).
  size_t stderr_tail_lines = defaults::adapter::stderr_tail_lines;
  /// Whether `resources.memory_gb` becomes the child's address-space limit
  /// (RLIMIT_AS). Off by default: runtimes that reserve large virtual
  /// ranges (JVMs, some ML libraries) fail under it. Default: false.
  bool limit_memory = false;
  /// The largest output manifest read, in bytes. Default:
  /// `defaults::adapter::max_manifest_bytes` (1 MiB).
  size_t max_manifest_bytes = defaults::adapter::max_manifest_bytes;
};

/// Runs modules as local child processes (runtime/child_process.hpp), with
/// the files of execution_files.hpp.
///
/// The child: argv = `run.command` + `--manifest <input manifest>` (argv[0]
/// found on the child's PATH unless it contains a '/', then relative to
/// `module_dir`); no shell; working directory `module_dir`; a new process
/// group; stdin /dev/null; stdout/stderr to `stdout.log`/`stderr.log`; no
/// other inherited descriptors; default signal dispositions and an empty
/// signal mask; no core dumps; environment `PATH`, `HOME` (the node's, else
/// the output folder), `LANG` (the node's, else C.UTF-8) and the contract's
/// secrets that the context carries, nothing else; the contract's
/// `timeout_s` (at least 1 s), after which the whole group is killed. When
/// the node exits, whatever is left of the group is killed. A process that
/// leaves its group (setsid) escapes this; containing it needs cgroups.
///
/// Outcomes: `spawn_failed` (no program, not found, not executable, a
/// required secret missing), `exit_code` and `signal` (with the last lines
/// of stderr; a SIGKILL is transient: usually the OOM killer), `timeout`
/// (transient), `io_error` (an input file missing, the output folder or the
/// logs not writable), and the output checks of execution_files.hpp.
/// Metrics: `mode` "real", `duration_ms`, `max_rss_kb`, `user_cpu_ms`,
/// `system_cpu_ms`, and `exit_code`, or `signal` and `signal_name`, or
/// `timed_out`.
class local_adapter : public adapter {
public:
  /// An adapter with `options`.
  explicit local_adapter(local_adapter_options options = {});

  /// Runs the module of `order` as the class comment says; see
  /// `adapter::invoke`.
  contracts::execution_outcome invoke(const contracts::dispatch_order& order,
                                      const execution_context& context) override;

  /// The settings.
  const local_adapter_options& options() const noexcept {
    return options_;
  }

private:
  local_adapter_options options_;
};

} // namespace omniva::runtime
