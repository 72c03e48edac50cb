// One child process: find the program, prepare everything the child needs
// before fork (after fork only async-signal-safe calls are allowed in a
// multi-threaded process), set the child up, let the parent's hook record
// it, exec, then wait for it with heartbeats and stop checks, kill its
// group, and reap it with its resource use.

#include "runtime/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;

namespace omniva::runtime {

namespace {

using clock_type = std::chrono::steady_clock;

// -- descriptors -----------------------------------------------------------------

/// Closes a descriptor on scope exit.
struct fd_guard {
  int fd = -1;
  fd_guard() = default;
  explicit fd_guard(int x) : fd(x) {
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    close_now();
  }
  void close_now() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

/// Returns `fd` moved to a number >= 3 (close-on-exec), so that the child's
/// dup2 onto 0, 1 and 2 can never clobber it; -1 on failure.
int lift_fd(int fd) {
  if (fd < 0 || fd >= 3)
    return fd;
  int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return lifted;
}

// -- finding the program ------------------------------------------------------------

/// Finds `name` as the child would: with a '/', relative to `cwd`; without,
/// along `path_var`. Empty when there is no executable file.
std::string find_program(const std::string& name, const std::string& cwd,
                         std::string_view path_var) {
  if (name.find('/') != std::string::npos) {
    fs::path p{name};
    if (p.is_relative())
      p = fs::path{cwd} / p;
    return p.string(); // exec reports what is wrong with it
  }
  auto executable = [](const fs::path& p) {
    std::error_code err;
    return fs::is_regular_file(p, err) && ::access(p.c_str(), X_OK) == 0;
  };
  std::string_view rest = path_var;
  while (true) {
    auto colon = rest.find(':');
    auto dir = rest.substr(0, colon);
    if (!dir.empty()) {
      auto candidate = fs::path{std::string{dir}} / name;
      if (executable(candidate))
        return candidate.string();
    }
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  return {};
}

// -- the child's side -------------------------------------------------------------

/// What the child writes into the error pipe when it cannot exec.
struct child_failure {
  int stage;
  int error;
};

/// Everything the child touches, built before fork.
struct exec_plan {
  std::string program;
  std::vector<std::string> args;
  std::vector<char*> argv;
  std::vector<std::string> env;
  std::vector<char*> envp;
  std::string cwd;
  uint64_t address_space = 0;
  uint64_t file_size = 0;
  /// The largest descriptor number to mark close-on-exec when the kernel
  /// has no close_range.
  int max_fd = 65536;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int status_fd = -1;
  /// The child's end of the channel on which the parent lets it exec (after
  /// its `before_exec` hook), and the parent's end, which the child closes;
  /// -1 when the spec has no hook.
  int go_fd = -1;
  int go_parent_fd = -1;
  /// The pid of the process that forks, read before the fork: the child's
  /// parent as long as it lives. Not 1 in general: a node may itself be
  /// PID 1 (a container's entry point).
  pid_t parent = -1;
};

/// Builds the argv and envp arrays of `plan` (pointers into its strings).
void build_arrays(exec_plan& plan) {
  for (auto& a : plan.args)
    plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env)
    plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  struct rlimit nofile {};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  plan.max_fd = nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur > 65536
                  ? 65536
                  : static_cast<int>(nofile.rlim_cur);
}

/// Reports the failing step to the parent and exits. Async-signal-safe.
[[noreturn]] void die(const exec_plan& plan, start_failure stage) {
  child_failure f{static_cast<int>(stage), errno};
  [[maybe_unused]] auto n = ::write(plan.status_fd, &f, sizeof f);
  ::_exit(127);
}

/// The child between fork and exec: async-signal-safe calls only.
[[noreturn]] void become_program(const exec_plan& plan) {
  if (::setpgid(0, 0) != 0)
    die(plan, start_failure::setpgid);
  // If the parent dies (even by SIGKILL), the child dies with it instead of
  // running on beside whatever the parent's restart starts. The parent may
  // have died before the signal was armed: then we have been re-parented
  // (to PID 1 or a subreaper), and our parent is no longer the one that
  // forked us. Comparing with 1 instead would fail every module of a node
  // that is PID 1 itself.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != plan.parent)
    ::_exit(127);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, &dfl, nullptr); // fails harmlessly for KILL, STOP, ...
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.stdout_fd, 1) < 0
      || ::dup2(plan.stderr_fd, 2) < 0)
    die(plan, start_failure::redirect);
  // Descriptors another thread opened without O_CLOEXEC must not leak.
  if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0)
    for (int fd = 3; fd < plan.max_fd; ++fd)
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (::chdir(plan.cwd.c_str()) != 0)
    die(plan, start_failure::chdir);
  struct rlimit no_core {0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0)
    die(plan, start_failure::limits);
  if (plan.address_space > 0) {
    auto limit = static_cast<rlim_t>(plan.address_space);
    struct rlimit as {limit, limit};
    if (::setrlimit(RLIMIT_AS, &as) != 0)
      die(plan, start_failure::limits);
  }
  if (plan.file_size > 0) {
    auto limit = static_cast<rlim_t>(plan.file_size);
    struct rlimit fsize {limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0)
      die(plan, start_failure::limits);
  }
  if (plan.go_fd >= 0) {
    // The program starts only once the parent recorded this process. No
    // byte (the parent refused, or died): the program never runs.
    ::close(plan.go_parent_fd);
    char go = 0;
    ssize_t got;
    do
      got = ::read(plan.go_fd, &go, 1);
    while (got < 0 && errno == EINTR);
    if (got != 1) {
      errno = 0;
      die(plan, start_failure::record);
    }
  }
  ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
  die(plan, start_failure::exec);
}

// -- the parent's side ------------------------------------------------------------

/// Reads the child's report from the error pipe: nullopt when the pipe
/// closed without one (exec succeeded: the pipe is close-on-exec).
std::optional<child_failure> read_failure(int fd) {
  child_failure failure{};
  ssize_t got;
  do
    got = ::read(fd, &failure, sizeof failure);
  while (got < 0 && errno == EINTR);
  if (got <= 0)
    return std::nullopt;
  return failure;
}

/// How a wait for a process ended.
enum class wait_end {
  /// The process exited (it is not reaped).
  exited,
  /// The deadline passed.
  deadline,
  /// The stop flag turned true.
  stopped,
};

/// Waits until process `pid` has exited (without reaping it), `until`
/// passes or `*stop` turns true. Uses a pidfd when the kernel has them,
/// else polls. Calls `beat` (when set) at least every `every`.
wait_end wait_exit(pid_t pid, int pidfd,
                   std::optional<clock_type::time_point> until,
                   const std::function<void()>& beat = {},
                   std::chrono::milliseconds every
                   = defaults::scheduling::heartbeat_interval,
                   const std::atomic<bool>* stop = nullptr) {
  auto next_beat = clock_type::now() + every;
  auto maybe_beat = [&] {
    if (beat && clock_type::now() >= next_beat) {
      beat();
      next_beat = clock_type::now() + every;
    }
  };
  auto ms_until = [](clock_type::time_point t) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  t - clock_type::now())
                  .count();
    return static_cast<int>(std::clamp<int64_t>(left + 1, 0, 60'000));
  };
  auto cap_at = [](int timeout_ms, int cap) {
    return timeout_ms < 0 ? cap : std::min(timeout_ms, cap);
  };
  auto stop_every = static_cast<int>(defaults::adapter::stop_check_interval.count());
  while (true) {
    if (stop && stop->load())
      return wait_end::stopped;
    if (pidfd >= 0) {
      int timeout_ms = until ? ms_until(*until) : -1;
      if (beat)
        timeout_ms = cap_at(timeout_ms, ms_until(next_beat));
      if (stop)
        timeout_ms = cap_at(timeout_ms, stop_every);
      pollfd pfd{pidfd, POLLIN, 0};
      int n = ::poll(&pfd, 1, timeout_ms);
      if (n > 0)
        return wait_end::exited;
      if (n < 0 && errno != EINTR)
        pidfd = -1; // fall back to polling
    } else {
      siginfo_t info{};
      int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info,
                        WEXITED | WNOHANG | WNOWAIT);
      if ((rc == 0 && info.si_pid == pid) || (rc != 0 && errno == ECHILD))
        return wait_end::exited;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    maybe_beat();
    if (until && clock_type::now() >= *until)
      return wait_end::deadline;
  }
}

/// Returns `start + timeout`, or the clock's last time point when the sum
/// would not fit (a timeout of centuries means none).
clock_type::time_point deadline_of(clock_type::time_point start,
                                   std::chrono::milliseconds timeout) {
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::time_point::max() - start);
  return timeout >= room ? clock_type::time_point::max() : start + timeout;
}

/// Waits for the process to end (beating, up to the timeout, until
/// stopped), then kills what is left of its group; returns how the wait
/// ended.
wait_end wait_and_end_group(pid_t pid, const process_spec& spec,
                            clock_type::time_point start) {
  fd_guard pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
  std::optional<clock_type::time_point> until;
  if (spec.timeout)
    until = deadline_of(start, *spec.timeout);
  auto end = wait_exit(pid, pidfd.fd, until, spec.heartbeat,
                       spec.heartbeat_interval, spec.stop);
  if (end != wait_end::exited) {
    // The whole group: a program's own children must not outlive it.
    ::killpg(pid, SIGTERM);
    wait_exit(pid, pidfd.fd, clock_type::now() + spec.kill_grace);
    ::killpg(pid, SIGKILL);
    wait_exit(pid, pidfd.fd, std::nullopt);
  } else {
    // The main process is done (and not yet reaped, so the group id cannot
    // have been reused): whatever it left behind goes too.
    ::killpg(pid, SIGKILL);
  }
  return end;
}

/// Reaps `pid` and fills the status and resource use of `out`.
void reap(pid_t pid, process_outcome& out) {
  int status = 0;
  struct rusage usage {};
  pid_t reaped;
  do
    reaped = ::wait4(pid, &status, 0, &usage);
  while (reaped < 0 && errno == EINTR);
  if (reaped != pid) {
    out.status = process_status::lost;
    out.error_number = errno;
    return;
  }
  auto ms = [](const timeval& tv) {
    return std::chrono::milliseconds{static_cast<int64_t>(tv.tv_sec) * 1000
                                     + tv.tv_usec / 1000};
  };
  out.max_rss_kb = static_cast<int64_t>(usage.ru_maxrss);
  out.user_cpu = ms(usage.ru_utime);
  out.system_cpu = ms(usage.ru_stime);
  if (out.timed_out) {
    out.status = process_status::timed_out;
  } else if (out.stopped) {
    out.status = process_status::stopped;
  } else if (WIFSIGNALED(status)) {
    out.status = process_status::signaled;
    out.signal = WTERMSIG(status);
  } else {
    out.status = process_status::exited;
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
}

/// Opens (creates or truncates) a log file for the child, mode 0600 even
/// when it existed with another; -1 on failure.
int open_log(const std::string& path) {
  constexpr int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = lift_fd(::open(path.c_str(), flags, 0600));
  if (fd >= 0 && ::fchmod(fd, 0600) != 0) {
    int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

/// Gives the spec's `before_exec` hook the child's pid (its group is made
/// here too, so that it exists whatever the child got to) and, when the
/// hook agrees, lets the child exec; returns whether it was let go. The
/// parent's end of the go channel is closed either way: a child that got
/// no byte never runs its program.
bool let_it_exec(pid_t pid, const process_spec& spec, fd_guard& go) {
  ::setpgid(pid, pid); // may fail harmlessly: the child made it first
  bool agreed = spec.before_exec(pid);
  bool sent = false;
  if (agreed) {
    char byte = 1;
    ssize_t n;
    do
      n = ::send(go.fd, &byte, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    sent = n == 1;
  }
  go.close_now();
  return agreed && sent;
}

/// Reaps a child that never ran its program.
void reap_unstarted(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

/// Marks `out` not started at `stage` with `error`.
process_outcome& not_started(process_outcome& out, start_failure stage,
                             int error) {
  out.status = process_status::not_started;
  out.failure = stage;
  out.error_number = error;
  return out;
}

} // namespace

std::string_view to_string(process_status x) noexcept {
  switch (x) {
    case process_status::exited:
      return "exited";
    case process_status::signaled:
      return "signaled";
    case process_status::timed_out:
      return "timed_out";
    case process_status::stopped:
      return "stopped";
    case process_status::not_started:
      return "not_started";
    case process_status::lost:
      return "lost";
  }
  return "unknown";
}

std::string_view to_string(start_failure x) noexcept {
  switch (x) {
    case start_failure::none:
      return "none";
    case start_failure::no_program:
      return "no_program";
    case start_failure::not_found:
      return "not_found";
    case start_failure::log_files:
      return "log_files";
    case start_failure::pipe:
      return "pipe";
    case start_failure::fork:
      return "fork";
    case start_failure::setpgid:
      return "setpgid";
    case start_failure::redirect:
      return "redirect";
    case start_failure::chdir:
      return "chdir";
    case start_failure::limits:
      return "limits";
    case start_failure::exec:
      return "exec";
    case start_failure::record:
      return "record";
  }
  return "unknown";
}

std::string signal_name(int signal) {
  if (auto* abbrev = sigabbrev_np(signal))
    return std::string{"SIG"} + abbrev;
  return "signal " + std::to_string(signal);
}

process_outcome run_child_process(const process_spec& spec) {
  process_outcome out;
  if (spec.argv.empty() || spec.argv.front().empty())
    return not_started(out, start_failure::no_program, 0);
  std::string_view path_var;
  if (auto i = spec.env.find("PATH"); i != spec.env.end())
    path_var = i->second;
  out.program = find_program(spec.argv.front(), spec.cwd, path_var);
  if (out.program.empty())
    return not_started(out, start_failure::not_found, 0);

  exec_plan plan;
  plan.program = out.program;
  plan.args = spec.argv;
  for (auto& [name, value] : spec.env)
    plan.env.push_back(name + "=" + value);
  plan.cwd = spec.cwd;
  plan.address_space = spec.address_space_limit;
  plan.file_size = spec.file_size_limit;
  build_arrays(plan);

  fd_guard out_log{open_log(spec.stdout_path)};
  fd_guard err_log{open_log(spec.stderr_path)};
  fd_guard devnull{lift_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC))};
  if (out_log.fd < 0 || err_log.fd < 0 || devnull.fd < 0)
    return not_started(out, start_failure::log_files, errno);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return not_started(out, start_failure::pipe, errno);
  fd_guard status_read{lift_fd(pipe_fds[0])};
  fd_guard status_write{lift_fd(pipe_fds[1])};
  // The go channel is a socket pair, not a pipe: the parent's send to a
  // child that already died must not raise SIGPIPE in the node.
  fd_guard go_child, go_parent;
  if (spec.before_exec) {
    int go_fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go_fds) != 0)
      return not_started(out, start_failure::record, errno);
    go_child.fd = lift_fd(go_fds[0]);
    go_parent.fd = lift_fd(go_fds[1]);
    if (go_child.fd < 0 || go_parent.fd < 0)
      return not_started(out, start_failure::record, errno);
  }
  plan.stdin_fd = devnull.fd;
  plan.stdout_fd = out_log.fd;
  plan.stderr_fd = err_log.fd;
  plan.status_fd = status_write.fd;
  plan.go_fd = go_child.fd;
  plan.go_parent_fd = go_parent.fd;
  plan.parent = ::getpid();

  auto start = clock_type::now();
  pid_t pid = ::fork();
  if (pid < 0)
    return not_started(out, start_failure::fork, errno);
  if (pid == 0)
    become_program(plan);
  out.pid = pid;

  status_write.close_now();
  go_child.close_now();
  if (spec.before_exec && !let_it_exec(pid, spec, go_parent)) {
    // The child reports `record` (or an earlier failure) and exits.
    auto failure = read_failure(status_read.fd);
    reap_unstarted(pid);
    return not_started(out,
                       failure ? static_cast<start_failure>(failure->stage)
                               : start_failure::record,
                       failure ? failure->error : 0);
  }
  // The pipe closes when exec succeeds (close-on-exec), or carries why the
  // child could not get there.
  if (auto failure = read_failure(status_read.fd)) {
    reap_unstarted(pid);
    return not_started(out, static_cast<start_failure>(failure->stage),
                       failure->error);
  }
  auto end = wait_and_end_group(pid, spec, start);
  out.timed_out = end == wait_end::deadline;
  out.stopped = end == wait_end::stopped;
  reap(pid, out);
  out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - start);
  return out;
}

} // namespace omniva::runtime
