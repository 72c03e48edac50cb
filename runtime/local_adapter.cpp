// The local adapter: prepare the execution folder, run the module as a
// child process, turn how it ended into the outcome, check its outputs.

#include "runtime/local_adapter.hpp"

#include "runtime/child_process.hpp"
#include "runtime/disk_guard.hpp"
#include "runtime/execution_files.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/redaction.hpp"

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;

namespace {

/// The PATH of a child when neither the options nor the node give one.
constexpr const char* default_path = "/usr/local/bin:/usr/bin:/bin";

/// Returns the node's value of environment variable `name`, or `fallback`
/// when it is unset or empty.
std::string node_env(const char* name, const std::string& fallback) {
  auto* value = std::getenv(name);
  return value && *value ? std::string{value} : fallback;
}

/// Returns the child's environment: `PATH`, `HOME`, `LANG` and the
/// contract's secrets that the context carries, nothing else; nullopt with
/// `r` failed when a required secret is missing.
std::optional<std::map<std::string, std::string>>
child_environment(const contracts::dispatch_order& order,
                  const execution_context& context,
                  const local_adapter_options& opts, const fs::path& output_dir,
                  contracts::execution_outcome& r) {
  std::map<std::string, std::string> env;
  env["PATH"] = opts.path.empty() ? node_env("PATH", default_path) : opts.path;
  env["HOME"] = node_env("HOME", output_dir.string());
  env["LANG"] = node_env("LANG", "C.UTF-8");
  if (opts.attempts.enabled())
    env[std::string{attempt_marker_name}] = attempt_marker(
      opts.attempts, order.task.task_id, order.task.attempt);
  auto& secrets = order.contract.secrets;
  for (auto& name : secrets.required) {
    auto i = context.secrets.find(name);
    if (i == context.secrets.end()) {
      fail(r, ec::spawn_failed,
           "the required secret " + in_quotes(name) + " is not set on this node");
      return std::nullopt;
    }
    env[name] = i->second;
  }
  for (auto& name : secrets.optional)
    if (auto i = context.secrets.find(name); i != context.secrets.end())
      env[name] = i->second;
  return env;
}

/// Reads the last `lines` non-empty lines of a text file (at most 8 KiB
/// read), joined by " | ".
std::string tail_lines(const std::string& path, size_t lines) {
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  if (!in || lines == 0)
    return {};
  auto size = static_cast<int64_t>(in.tellg());
  constexpr int64_t window = 8192;
  auto from = std::max<int64_t>(0, size - window);
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (from > 0) { // the first line is probably cut
    auto nl = text.find('\n');
    text.erase(0, nl == std::string::npos ? text.size() : nl + 1);
  }
  std::vector<std::string> all;
  std::istringstream s{text};
  for (std::string line; std::getline(s, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (line.empty())
      continue;
    if (line.size() > 300)
      line = line.substr(0, 300) + "...";
    all.push_back(std::move(line));
  }
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size();
       ++i) {
    if (!out.empty())
      out += " | ";
    out += all[i];
  }
  return out;
}

/// Fails `r` for a process that never ran; `record_error` is why its
/// record could not be written (when that was the failure).
void fail_to_start(const process_outcome& p, const process_spec& spec,
                   int record_error, contracts::execution_outcome& r) {
  auto why = std::string{std::strerror(p.error_number)};
  auto cannot_start = [&](const std::string& what) {
    fail(r, ec::spawn_failed, "cannot start the module: " + what);
  };
  switch (p.failure) {
    case start_failure::none:
    case start_failure::no_program:
      fail(r, ec::spawn_failed, "the contract's run.command has no program");
      return;
    case start_failure::not_found:
      cannot_start("the program " + in_quotes(spec.argv.front())
                   + " was not found on PATH");
      return;
    case start_failure::log_files:
      fail(r, ec::io_error, "cannot open the log files: " + why, true);
      return;
    case start_failure::pipe:
      fail(r, ec::spawn_failed, "cannot create a pipe: " + why, true);
      return;
    case start_failure::fork:
      fail(r, ec::spawn_failed, "cannot fork: " + why, true);
      return;
    case start_failure::chdir:
      cannot_start("cannot enter the module folder " + in_quotes(spec.cwd) + ": "
                   + why);
      return;
    case start_failure::exec:
      cannot_start("cannot execute " + in_quotes(p.program) + ": " + why);
      return;
    case start_failure::record:
      fail(r, ec::io_error,
           "cannot record the module's process before it starts: "
             + std::string{std::strerror(record_error ? record_error
                                                      : p.error_number)},
           true);
      return;
    case start_failure::setpgid:
    case start_failure::redirect:
    case start_failure::limits:
      cannot_start("cannot prepare the child process: " + why);
      return;
  }
}

/// Redacts the log at `path` (named `name` in metrics) of `secrets`; a log
/// that could not be redacted is withheld: `path` is cleared and the
/// metrics say so.
void redact_log(std::string& path, const char* name,
                const std::vector<std::string>& secrets, json::value& metrics) {
  auto result = redact_file(path, secrets);
  if (result != redaction::withheld && result != redaction::failed)
    return;
  metrics.set(std::string{name} + "_log",
              result == redaction::withheld ? "withheld" : "unredacted");
  path.clear();
}

/// Turns how the module's process ended into `r` and `metrics`; returns
/// whether it exited with status 0 (then its outputs are to be checked).
bool judge(const process_outcome& p, const process_spec& spec,
           int record_error, const contracts::dispatch_order& order,
           const execution_context& context, const local_adapter_options& opts,
           contracts::execution_outcome& r, json::value& metrics) {
  if (!p.started()) {
    // The logs exist (or were meant to) once the program was found.
    if (p.failure != start_failure::no_program
        && p.failure != start_failure::not_found) {
      r.stdout_path = spec.stdout_path;
      r.stderr_path = spec.stderr_path;
    }
    fail_to_start(p, spec, record_error, r);
    return false;
  }
  r.stdout_path = spec.stdout_path;
  r.stderr_path = spec.stderr_path;
  // The logs never keep a secret, even one the module printed.
  auto secrets = secret_values(context.secrets);
  redact_log(r.stdout_path, "stdout", secrets, metrics);
  redact_log(r.stderr_path, "stderr", secrets, metrics);
  if (p.status == process_status::lost) {
    if (p.stopped)
      fail(r, ec::cancelled, "the attempt was stopped");
    else
      fail(r, p.timed_out ? ec::timeout : ec::exit_code,
           "cannot collect the module's exit status: "
             + std::string{std::strerror(p.error_number)},
           true);
    return false;
  }
  metrics.set("duration_ms", static_cast<int64_t>(p.duration.count()));
  metrics.set("max_rss_kb", p.max_rss_kb);
  metrics.set("user_cpu_ms", static_cast<int64_t>(p.user_cpu.count()));
  metrics.set("system_cpu_ms", static_cast<int64_t>(p.system_cpu.count()));
  auto tail = [&] {
    auto t = r.stderr_path.empty()
               ? std::string{}
               : tail_lines(r.stderr_path, opts.stderr_tail_lines);
    return t.empty() ? std::string{" (stderr is empty)"}
                     : "; stderr ends with: " + t;
  };
  switch (p.status) {
    case process_status::timed_out:
      metrics.set("timed_out", true);
      fail(r, ec::timeout,
           "the module ran longer than its timeout of "
             + std::to_string(order.contract.resources.timeout_s)
             + " s and its process group was killed",
           true);
      return false;
    case process_status::stopped:
      metrics.set("stopped", true);
      fail(r, ec::cancelled,
           "the attempt was stopped while the module ran (its worker was "
           "told to) and its process group was killed");
      return false;
    case process_status::signaled:
      metrics.set("signal", int64_t{p.signal});
      metrics.set("signal_name", signal_name(p.signal));
      if (p.signal == SIGXFSZ) {
        fail(r, ec::output_too_large,
             "the module tried to write a file larger than "
               + std::to_string(opts.max_file_bytes)
               + " bytes, the most a module may write to one file (its logs "
                 "included), and was killed by SIGXFSZ");
        return false;
      }
      // SIGKILL from outside is usually the kernel's OOM killer: worth a
      // retry.
      fail(r, ec::signal,
           "the module was killed by signal " + std::to_string(p.signal) + " ("
             + signal_name(p.signal) + ")" + tail(),
           p.signal == SIGKILL);
      return false;
    default:
      break;
  }
  metrics.set("exit_code", int64_t{p.exit_code});
  if (p.exit_code != 0) {
    fail(r, ec::exit_code,
         "the module exited with status " + std::to_string(p.exit_code) + tail());
    return false;
  }
  return true;
}

/// Runs the module of `order` in the prepared folder and fills `r` and
/// `metrics` with how the process ended (not the outputs). Returns whether
/// it exited with status 0.
bool run_module(const contracts::dispatch_order& order,
                const execution_context& context,
                const local_adapter_options& opts, const prepared_execution& p,
                contracts::execution_outcome& r, json::value& metrics) {
  auto& contract = order.contract;
  if (contract.run.command.empty() || contract.run.command.front().empty()) {
    fail(r, ec::spawn_failed, "the contract's run.command has no program");
    return false;
  }
  if (context.stop_requested()) {
    fail(r, ec::cancelled, "the attempt was stopped before the module started");
    return false;
  }
  auto env = child_environment(order, context, opts, p.output_dir, r);
  if (!env)
    return false;
  process_spec spec;
  spec.argv = contract.run.command;
  spec.argv.push_back("--manifest");
  spec.argv.push_back(p.input_manifest.string());
  spec.env = std::move(*env);
  spec.cwd = absolute_normal(order.module_dir.empty() ? "." : order.module_dir)
               .string();
  if (opts.limit_memory && contract.resources.memory_gb > 0)
    spec.address_space_limit = static_cast<uint64_t>(
      contract.resources.memory_gb * 1024.0 * 1024.0 * 1024.0);
  // Clamped as well as checked at registration: a contract stored before
  // the bound existed may ask for more.
  spec.timeout = std::chrono::seconds{std::clamp<int64_t>(
    contract.resources.timeout_s, 1, contracts::max_timeout_s)};
  spec.kill_grace = opts.kill_grace;
  spec.stdout_path = (p.output_dir / stdout_log_name).string();
  spec.stderr_path = (p.output_dir / stderr_log_name).string();
  spec.file_size_limit = opts.max_file_bytes;
  spec.heartbeat = context.heartbeat;
  spec.heartbeat_interval = context.heartbeat_interval;
  spec.stop = context.stop;
  if (!opts.attempts.enabled()) {
    auto outcome = run_child_process(spec);
    return judge(outcome, spec, 0, order, context, opts, r, metrics);
  }
  // Recorded before the program starts; once it ended and its group was
  // killed, what carries its marker outside the group goes too.
  auto marker = attempt_marker(opts.attempts, order.task.task_id,
                               order.task.attempt);
  std::string record;
  int record_error = 0;
  spec.before_exec = [&](pid_t pid) {
    errno = 0;
    auto info = read_process_info(pid);
    if (info)
      record = write_attempt_record(opts.attempts,
                                    attempt_record{pid, info->start_time, marker});
    record_error = record.empty() ? (errno ? errno : ESRCH) : 0;
    return !record.empty();
  };
  auto outcome = run_child_process(spec);
  if (outcome.started())
    kill_marked(marker);
  remove_attempt_record(record);
  return judge(outcome, spec, record_error, order, context, opts, r, metrics);
}

/// Below this many free bytes on the output folder's disk, a failed attempt
/// is taken for one the full disk failed.
constexpr uint64_t full_disk_bytes = uint64_t{1} << 20;

/// A failed attempt whose output folder's disk is full (the module, or the
/// node writing its files, met ENOSPC; its stderr log may be empty for the
/// same reason) says so, as `insufficient_storage`, and is transient: a
/// retry after space returns may succeed. A stopped or timed-out attempt
/// keeps its own reason.
void note_full_disk(contracts::execution_outcome& r,
                    const std::string& output_dir) {
  if (r.ok || r.error_code == ec::cancelled || r.error_code == ec::timeout)
    return;
  // The attempt's folder may not exist (its creation failed): the nearest
  // folder above it that does is on the same disk.
  fs::path dir = output_dir;
  std::error_code err;
  while (!dir.empty() && !fs::is_directory(dir, err) && dir.has_parent_path()
         && dir.parent_path() != dir)
    dir = dir.parent_path();
  auto space = read_disk_space(dir.string());
  if (!space || space->free_bytes >= full_disk_bytes)
    return;
  r.error_message = "the disk of the output folder " + in_quotes(dir.string())
                    + " is full (" + format_byte_size(space->free_bytes)
                    + " free): " + r.error_message;
  r.error_code = ec::insufficient_storage;
  r.transient = true;
}

} // namespace

local_adapter::local_adapter(local_adapter_options options)
  : options_(std::move(options)) {
}

contracts::execution_outcome
local_adapter::invoke(const contracts::dispatch_order& order,
                      const execution_context& context) {
  contracts::execution_outcome r;
  json::value metrics{json::object{}};
  metrics.set("mode", "real");
  auto done = [&] {
    note_full_disk(r, order.output_dir);
    return finish(std::move(r), metrics, order, context);
  };
  try {
    auto p = prepare_execution(order, "real", r);
    if (!p)
      return done();
    for (auto& in : order.inputs) {
      std::error_code err;
      if (!in.is_value && !fs::is_regular_file(in.path, err)) {
        fail(r, ec::io_error,
             "the file of input " + in_quotes(in.key) + " (" + in_quotes(in.path)
               + ") does not exist");
        return done();
      }
    }
    if (run_module(order, context, options_, *p, r, metrics)) {
      output_limits limits;
      limits.max_manifest_bytes = options_.max_manifest_bytes;
      limits.max_json_output_bytes = options_.max_json_output_bytes;
      collect_outputs(order, context, p->output_dir, limits, r);
    } else if (r.error_code == ec::exit_code) {
      // A module that fails may say why in its output manifest (its own
      // code, and whether a retry may help).
      read_reported_error(p->output_dir, options_.max_manifest_bytes, r);
    }
  } catch (const std::exception& e) {
    fail(r, ec::io_error, std::string{"the adapter failed: "} + e.what(), true);
  }
  return done();
}

} // namespace omniva::runtime
