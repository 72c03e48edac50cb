#pragma once

// The local adapter: runs a module as a child process on this machine and
// checks what it wrote (DESIGN.md §7).

#include "contracts/defaults.hpp"
#include "runtime/adapter.hpp"
#include "runtime/leftovers.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
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
  /// The largest JSON output read (to parse it and check its schema), in
  /// bytes; a larger one is `output_too_large`. Default:
  /// `defaults::adapter::max_json_output_bytes` (64 MiB).
  size_t max_json_output_bytes = defaults::adapter::max_json_output_bytes;
  /// The largest file a module and what it starts may write, its logs
  /// included (RLIMIT_FSIZE), in bytes; 0: none. Default:
  /// `defaults::adapter::max_file_bytes` (16 GiB).
  uint64_t max_file_bytes = defaults::adapter::max_file_bytes;
  /// Where the process of each attempt is recorded before its program
  /// starts, and the key of the marker its processes carry
  /// (runtime/leftovers.hpp). A node sets `attempt_records_for(<data>)`.
  /// Default: none (neither recorded nor marked).
  attempt_records attempts;
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
/// the output folder), `LANG` (the node's, else C.UTF-8), the attempt's
/// marker `OMNIVA_ATTEMPT` (when `attempts` is set) and the contract's
/// secrets that the context carries, nothing else; no file larger than
/// `max_file_bytes`; the contract's `timeout_s` (at least 1 s), after which
/// the whole group is killed, as it is when the context's stop flag turns
/// true. With `attempts` set, the process is recorded before the program
/// starts, and when the attempt ends, its group and every process carrying
/// its marker (one that left the group) are killed and the record removed;
/// when the node dies, the module's own process dies with it and
/// `reap_leftovers` finds the rest at the next start. The logs are mode
/// 0600 and keep no secret: a log that cannot be redacted is withheld
/// (removed).
///
/// Outcomes: `spawn_failed` (no program, not found, not executable, a
/// required secret missing), `exit_code` and `signal` (with the last lines
/// of stderr; a SIGKILL is transient: usually the OOM killer), `timeout`
/// (transient), `cancelled` (stopped), `output_too_large` (a file beyond
/// `max_file_bytes`: killed by SIGXFSZ; a JSON output beyond
/// `max_json_output_bytes`), `io_error` (an input file missing, the output
/// folder or the logs not writable, the process not recordable), and the
/// output checks of execution_files.hpp. Metrics: `mode` "real",
/// `duration_ms`, `max_rss_kb`, `user_cpu_ms`, `system_cpu_ms`, and
/// `exit_code`, or `signal` and `signal_name`, or `timed_out`, or
/// `stopped`; `stdout_log`/`stderr_log` "withheld" (or "unredacted" when it
/// could not even be removed) for a log that could not be redacted, whose
/// path the outcome then leaves out.
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
