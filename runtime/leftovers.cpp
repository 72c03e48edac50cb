// What is left of attempts: the records of attempt processes, the markers
// in their environments, and the sweep that kills what carries them.

#include "runtime/leftovers.hpp"

#include "contracts/hex.hpp"
#include "contracts/json.hpp"
#include "contracts/packet.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>

namespace fs = std::filesystem;

namespace omniva::runtime {

namespace {

using clock_type = std::chrono::steady_clock;

/// The most of a process's environment read: a marker sits in the block the
/// process was started with, and a block this large is not a module's.
constexpr size_t max_environ_bytes = size_t{16} << 20;

/// How long a sweep pauses between two looks at /proc.
constexpr auto sweep_pause = std::chrono::milliseconds{20};

// -- /proc ------------------------------------------------------------------------

/// Reads the file at `path` (at most `limit` bytes); nullopt when it cannot
/// be opened or read.
std::optional<std::string> read_file(const std::string& path, size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  std::string out;
  char buf[8192];
  while (out.size() < limit) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

/// Every pid in /proc, but the caller's.
std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  auto* dir = ::opendir("/proc");
  if (!dir)
    return out;
  auto self = ::getpid();
  while (auto* e = ::readdir(dir)) {
    pid_t pid = 0;
    auto* end = e->d_name + std::strlen(e->d_name);
    auto [ptr, ec] = std::from_chars(e->d_name, end, pid);
    if (ec == std::errc{} && ptr == end && pid > 0 && pid != self)
      out.push_back(pid);
  }
  ::closedir(dir);
  return out;
}

/// The value of the attempt marker in the environment of `pid`; nullopt
/// when it carries none or cannot be read (gone, another user's, a kernel
/// thread).
std::optional<std::string> marker_of(pid_t pid) {
  auto block = read_file("/proc/" + std::to_string(pid) + "/environ",
                         max_environ_bytes);
  if (!block)
    return std::nullopt;
  std::string prefix{attempt_marker_name};
  prefix += '=';
  std::string_view rest{*block};
  while (!rest.empty()) {
    auto nul = rest.find('\0');
    auto entry = rest.substr(0, nul);
    if (entry.starts_with(prefix))
      return std::string{entry.substr(prefix.size())};
    if (nul == std::string_view::npos)
      break;
    rest.remove_prefix(nul + 1);
  }
  return std::nullopt;
}

// -- killing ------------------------------------------------------------------------

/// A process being killed, pinned by a pidfd (when the kernel has them):
/// its pid cannot name another process while the pidfd is open.
struct victim {
  process_info info;
  std::string marker;
  int pidfd = -1;
};

/// Returns whether `v` is gone (exited: a zombie counts).
bool gone(const victim& v) {
  if (v.pidfd >= 0) {
    pollfd pfd{v.pidfd, POLLIN, 0};
    return ::poll(&pfd, 1, 0) > 0;
  }
  auto now = read_process_info(v.info.pid);
  return !now || now->start_time != v.info.start_time || now->state == 'Z';
}

/// Pins `info` and sends it SIGKILL, unless it is no longer that very
/// process; returns the pinned victim, or nullopt when there was nothing
/// left to kill.
std::optional<victim> kill_process(const process_info& info, std::string marker) {
  victim v{info, std::move(marker),
           static_cast<int>(::syscall(SYS_pidfd_open, info.pid, 0))};
  if (v.pidfd < 0 && errno == ESRCH)
    return std::nullopt;
  // Pinned (or not, without pidfds): is it still the process we looked at?
  auto now = read_process_info(info.pid);
  if (!now || now->start_time != info.start_time || now->state == 'Z') {
    if (v.pidfd >= 0)
      ::close(v.pidfd);
    return std::nullopt;
  }
  if (v.pidfd < 0
      || ::syscall(SYS_pidfd_send_signal, v.pidfd, SIGKILL, nullptr, 0) != 0)
    ::kill(info.pid, SIGKILL);
  return v;
}

/// Kills processes as a predicate picks them, looking again until a look
/// finds nothing new or the deadline passes, then waits until they are
/// gone (up to the deadline).
class sweep {
public:
  /// Picks a process: returns whether to kill it, with its marker (if any).
  using picker
    = std::function<bool(const process_info&, const std::optional<std::string>&)>;

  explicit sweep(clock_type::time_point deadline) : deadline_(deadline) {
  }

  sweep(const sweep&) = delete;
  sweep& operator=(const sweep&) = delete;

  ~sweep() {
    for (auto& v : victims_)
      if (v.pidfd >= 0)
        ::close(v.pidfd);
  }

  /// Looks at /proc until nothing new is picked (or the deadline), killing
  /// what `pick` picks; `after_look` runs after each look (the group kills
  /// that catch what forked meanwhile).
  void run(const picker& pick, const std::function<void()>& after_look = {}) {
    while (true) {
      auto killed = look(pick);
      if (after_look)
        after_look();
      if (killed == 0 || clock_type::now() >= deadline_)
        break;
      std::this_thread::sleep_for(sweep_pause);
    }
    while (clock_type::now() < deadline_
           && std::any_of(victims_.begin(), victims_.end(),
                          [](const victim& v) { return !gone(v); }))
      std::this_thread::sleep_for(sweep_pause);
  }

  /// Everything killed, in the order found.
  const std::vector<victim>& victims() const noexcept {
    return victims_;
  }

private:
  /// One look at /proc; returns how many processes it killed.
  size_t look(const picker& pick) {
    size_t n = 0;
    for (auto pid : all_pids()) {
      auto info = read_process_info(pid);
      if (!info || info->state == 'Z' || known(*info))
        continue;
      auto marker = marker_of(pid);
      if (!pick(*info, marker))
        continue;
      if (auto v = kill_process(*info, marker.value_or(""))) {
        victims_.push_back(std::move(*v));
        ++n;
      }
    }
    return n;
  }

  /// Whether `info` was killed already (and is still dying).
  bool known(const process_info& info) const {
    return std::any_of(victims_.begin(), victims_.end(), [&](const victim& v) {
      return v.info.pid == info.pid && v.info.start_time == info.start_time;
    });
  }

  clock_type::time_point deadline_;
  std::vector<victim> victims_;
};

// -- records ------------------------------------------------------------------------

/// Writes `content` to `path` and fsyncs it; false (errno set) on failure.
bool write_synced(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  const char* at = content.data();
  size_t left = content.size();
  while (left > 0) {
    auto n = ::write(fd, at, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int error = n < 0 ? errno : EIO;
      ::close(fd);
      errno = error;
      return false;
    }
    at += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    errno = error;
    return false;
  }
  return ::close(fd) == 0;
}

/// Fsyncs the folder `dir` (a rename or a new entry in it becomes durable).
bool sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

/// Reads a record file; nullopt when it is not a record.
std::optional<attempt_record> read_record(const fs::path& path) {
  auto text = read_file(path.string(), 64 * 1024);
  if (!text)
    return std::nullopt;
  auto parsed = json::parse(*text);
  if (!parsed || !parsed.doc->is_object())
    return std::nullopt;
  auto* group = parsed.doc->find("group");
  auto* start = parsed.doc->find("start_time");
  auto* marker = parsed.doc->find("marker");
  if (!group || !start || !marker || !marker->is_string())
    return std::nullopt;
  auto g = group->as_int64();
  auto s = start->as_int64();
  if (!g || !s || *g <= 0 || *g > INT32_MAX || *s < 0)
    return std::nullopt;
  return attempt_record{static_cast<pid_t>(*g), static_cast<uint64_t>(*s),
                        marker->as_string()};
}

/// A record file of the records folder, read.
struct found_record {
  fs::path path;
  attempt_record record;
  /// The recorded leader, pinned, when it still runs with the recorded
  /// start time: its group is the attempt's.
  int leader_pidfd = -1;
  bool leader_alive = false;
};

/// Reads every record of `dir`; removes the files that are no record
/// (temporary files of a write the node did not finish: their process
/// never ran its program) and counts them in `unreadable`.
std::vector<found_record> read_records(const std::string& dir, size_t& unreadable) {
  std::vector<found_record> out;
  std::error_code err;
  for (auto& entry : fs::directory_iterator{dir, err}) {
    auto name = entry.path().filename().string();
    if (name.ends_with(".json") && !name.starts_with(".")) {
      if (auto r = read_record(entry.path())) {
        out.push_back(found_record{entry.path(), std::move(*r)});
        continue;
      }
    }
    ++unreadable;
    std::error_code ignored;
    fs::remove(entry.path(), ignored);
  }
  return out;
}

/// Pins the leader of `r` when it still runs with the recorded start time.
void pin_leader(found_record& r) {
  auto info = read_process_info(r.record.group);
  if (!info || info->start_time != r.record.start_time || info->state == 'Z')
    return;
  r.leader_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, r.record.group, 0));
  auto again = read_process_info(r.record.group);
  r.leader_alive = again && again->start_time == r.record.start_time
                   && again->state != 'Z';
  if (!r.leader_alive && r.leader_pidfd >= 0) {
    ::close(r.leader_pidfd);
    r.leader_pidfd = -1;
  }
}

/// Kills the group of `r` while its leader is the recorded process (then
/// the group id is the attempt's: a group id is not reused while its
/// group has members).
void kill_group(found_record& r) {
  if (!r.leader_alive)
    return;
  if (r.leader_pidfd >= 0) {
    pollfd pfd{r.leader_pidfd, POLLIN, 0};
    if (::poll(&pfd, 1, 0) > 0) // the leader is gone
      return;
  } else {
    auto info = read_process_info(r.record.group);
    if (!info || info->start_time != r.record.start_time || info->state == 'Z')
      return;
  }
  ::killpg(r.record.group, SIGKILL);
}

leftover_process leftover_of(const victim& v) {
  return leftover_process{v.info.pid, v.info.name, v.info.group, v.marker};
}

} // namespace

// -- records ------------------------------------------------------------------------

attempt_records attempt_records_for(const std::string& data_dir) {
  // Resolved, so that two spellings of one folder (a symbolic link, "..")
  // give one key.
  std::error_code err;
  auto resolved = fs::weakly_canonical(fs::absolute(data_dir, err), err);
  auto dir = (err ? fs::path{data_dir} : resolved).lexically_normal();
  auto text = dir.string();
  while (text.size() > 1 && text.back() == '/')
    text.pop_back();
  attempt_records r;
  r.dir = (fs::path{text} / "attempts").string();
  r.node_key = contracts::to_hex(contracts::sha256(text)).substr(0, 16);
  return r;
}

std::string attempt_marker(const attempt_records& records,
                           std::string_view task_id, uint32_t attempt) {
  std::string out = records.node_key;
  out += '/';
  out.append(task_id);
  out += '/';
  out += std::to_string(attempt);
  return out;
}

std::string write_attempt_record(const attempt_records& records,
                                 const attempt_record& record) {
  std::error_code err;
  if (!fs::is_directory(records.dir, err)) {
    fs::create_directories(records.dir, err);
    if (err) {
      errno = err.value();
      return {};
    }
    sync_dir(fs::path{records.dir}.parent_path().string());
  }
  auto name = std::to_string(record.group) + "-"
              + std::to_string(record.start_time) + ".json";
  auto path = (fs::path{records.dir} / name).string();
  auto tmp = (fs::path{records.dir} / ("." + name + ".tmp")).string();
  json::value doc{json::object{}};
  doc.set("group", int64_t{record.group});
  doc.set("start_time", static_cast<int64_t>(record.start_time));
  doc.set("marker", record.marker);
  if (!write_synced(tmp, json::serialize(doc) + "\n")) {
    int error = errno;
    ::unlink(tmp.c_str());
    errno = error;
    return {};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    errno = error;
    return {};
  }
  if (!sync_dir(records.dir)) {
    int error = errno;
    ::unlink(path.c_str());
    errno = error;
    return {};
  }
  return path;
}

void remove_attempt_record(const std::string& path) {
  if (!path.empty())
    ::unlink(path.c_str());
}

// -- processes ----------------------------------------------------------------------

std::optional<process_info> read_process_info(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text)
    return std::nullopt;
  // "pid (name) state ppid pgrp session ... starttime(22) ...": the name
  // may hold spaces and parentheses, so fields count from the last ')'.
  auto open = text->find('(');
  auto close = text->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return std::nullopt;
  process_info info;
  info.pid = pid;
  info.name = text->substr(open + 1, close - open - 1);
  std::vector<std::string_view> fields; // fields[0] is field 3 (state)
  std::string_view rest{*text};
  rest.remove_prefix(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n'))
      rest.remove_prefix(1);
    auto end = rest.find_first_of(" \n");
    if (!rest.empty())
      fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos)
      break;
    rest.remove_prefix(end);
  }
  if (fields.size() < 20 || fields[0].empty())
    return std::nullopt;
  info.state = fields[0].front();
  auto number = [](std::string_view f, auto& out) {
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return ec == std::errc{} && ptr == f.data() + f.size();
  };
  if (!number(fields[2], info.group) || !number(fields[19], info.start_time))
    return std::nullopt;
  return info;
}

std::vector<pid_t> kill_marked(std::string_view marker,
                               std::chrono::milliseconds wait) {
  sweep s{clock_type::now() + wait};
  s.run([&](const process_info&, const std::optional<std::string>& m) {
    return m && *m == marker;
  });
  std::vector<pid_t> out;
  for (auto& v : s.victims())
    out.push_back(v.info.pid);
  return out;
}

leftover_report reap_leftovers(const attempt_records& records,
                               std::chrono::milliseconds wait) {
  leftover_report report;
  if (!records.enabled())
    return report;
  auto found = read_records(records.dir, report.unreadable_records);
  report.records = found.size();
  std::set<std::string, std::less<>> recorded_markers;
  std::set<pid_t> groups;
  for (auto& r : found) {
    pin_leader(r);
    recorded_markers.insert(r.record.marker);
    if (r.leader_alive)
      groups.insert(r.record.group);
  }
  auto node_prefix = records.node_key + "/";
  sweep s{clock_type::now() + wait};
  s.run(
    [&](const process_info& info, const std::optional<std::string>& marker) {
      if (groups.contains(info.group))
        return true;
      return marker
             && (marker->starts_with(node_prefix)
                 || recorded_markers.contains(*marker));
    },
    [&] {
      for (auto& r : found)
        kill_group(r);
    });
  std::set<pid_t> stuck_groups;
  for (auto& v : s.victims()) {
    if (gone(v)) {
      report.killed.push_back(leftover_of(v));
      spdlog::warn("leftovers: killed process {} ({}) of an earlier attempt "
                   "(group {}, marker '{}')",
                   v.info.pid, v.info.name, v.info.group, v.marker);
    } else {
      report.survivors.push_back(leftover_of(v));
      stuck_groups.insert(v.info.group);
      spdlog::error("leftovers: process {} ({}) of an earlier attempt is "
                    "still there after SIGKILL (stuck in the kernel?)",
                    v.info.pid, v.info.name);
    }
  }
  for (auto& r : found) {
    if (r.leader_pidfd >= 0)
      ::close(r.leader_pidfd);
    if (!stuck_groups.contains(r.record.group))
      remove_attempt_record(r.path.string());
  }
  if (!report.killed.empty() || report.records > 0)
    spdlog::info("leftovers: {} record(s) of earlier attempts, {} process(es) "
                 "killed, {} still there",
                 report.records, report.killed.size(), report.survivors.size());
  return report;
}

} // namespace omniva::runtime
