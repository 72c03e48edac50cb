#include "runtime/disk_guard.hpp"

#include "contracts/error_code.hpp"
#include "contracts/node_log.hpp"

#include <sys/statvfs.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

namespace omniva::runtime {

using contracts::ec;

caf::expected<disk_space> read_disk_space(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0)
    return contracts::make_error(ec::io_error,
                                 "cannot read the free space of " + path + ": "
                                   + std::strerror(errno));
  disk_space out;
  auto unit = static_cast<uint64_t>(st.f_frsize != 0 ? st.f_frsize
                                                     : st.f_bsize);
  out.free_bytes = static_cast<uint64_t>(st.f_bavail) * unit;
  out.total_bytes = static_cast<uint64_t>(st.f_blocks) * unit;
  return out;
}

namespace {

/// Lowercase ASCII.
std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

} // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text) {
  uint64_t number = 0;
  auto* first = text.data();
  auto* last = text.data() + text.size();
  auto [end, err] = std::from_chars(first, last, number);
  if (err != std::errc{} || end == first)
    return std::nullopt;
  std::string_view rest{end, static_cast<size_t>(last - end)};
  if (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  struct unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr std::array<unit, 10> units{{
    {"", 1},
    {"b", 1},
    {"kib", uint64_t{1} << 10},
    {"mib", uint64_t{1} << 20},
    {"gib", uint64_t{1} << 30},
    {"tib", uint64_t{1} << 40},
    {"kb", 1000},
    {"mb", 1000 * 1000},
    {"gb", 1000 * 1000 * 1000},
    {"tb", uint64_t{1000} * 1000 * 1000 * 1000},
  }};
  auto name = lower(rest);
  for (auto& u : units)
    if (name == u.name) {
      if (number > std::numeric_limits<uint64_t>::max() / u.factor)
        return std::nullopt;
      return number * u.factor;
    }
  return std::nullopt;
}

std::string format_byte_size(uint64_t bytes) {
  static constexpr std::array<const char*, 6> names{"KiB", "MiB", "GiB",
                                                    "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  auto value = static_cast<double>(bytes);
  size_t i = 0;
  value /= 1024;
  while (value >= 1024 && i + 1 < names.size()) {
    value /= 1024;
    ++i;
  }
  // One decimal, without a trailing ".0".
  auto tenths = static_cast<uint64_t>(value * 10 + 0.5);
  auto out = std::to_string(tenths / 10);
  if (tenths % 10 != 0)
    out += "." + std::to_string(tenths % 10);
  return out + " " + names[i];
}

disk_guard::disk_guard(disk_guard_options options)
  : options_(std::move(options)) {
  if (!options_.probe)
    options_.probe = read_disk_space;
  if (options_.check_interval.count() <= 0)
    options_.check_interval = defaults::node::disk_check_interval;
  status_.folder = options_.folder;
  status_.reserve_bytes = options_.reserve;
  check();
}

disk_guard::~disk_guard() {
  stop();
}

void disk_guard::start() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (thread_.joinable() || stopping_)
    return;
  thread_ = std::thread{[this] { run(); }};
}

void disk_guard::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void disk_guard::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    if (cv_.wait_for(lock, options_.check_interval, [this] { return stopping_; }))
      return;
    lock.unlock();
    check();
    lock.lock();
  }
}

disk_status disk_guard::check() {
  // The system call runs outside the lock: a slow file system (a hung
  // network mount) must not stall `status()`.
  auto space = options_.probe(options_.folder);
  disk_status now;
  bool went_low = false;
  bool came_back = false;
  bool failed_first = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!space) {
      auto why = contracts::render_error(space.error().code(),
                                         space.error().category(),
                                         space.error().context());
      failed_first = status_.error.empty();
      status_.error = std::move(why);
    } else {
      status_.error.clear();
      status_.free_bytes = space->free_bytes;
      status_.total_bytes = space->total_bytes;
      auto low = space->free_bytes < options_.reserve;
      went_low = low && !status_.low;
      came_back = !low && status_.low;
      status_.low = low;
    }
    now = status_;
  }
  using node_log::level;
  auto fields = [&now] {
    return std::vector<node_log::field>{
      {"free_bytes", json::value{static_cast<int64_t>(now.free_bytes)}},
      {"reserve_bytes", json::value{static_cast<int64_t>(now.reserve_bytes)}},
      {"data", json::value{now.folder}}};
  };
  if (went_low) {
    auto f = fields();
    f.emplace_back("message",
                   json::value{"free space below the reserve: new work is "
                               "refused (507 insufficient_storage) until "
                               "space returns"});
    node_log::write(level::warn, "disk.low", f);
  } else if (came_back) {
    auto f = fields();
    f.emplace_back("message", json::value{"free space is back above the "
                                          "reserve: new work is accepted"});
    node_log::write(level::info, "disk.ok", f);
  } else if (failed_first) {
    node_log::write(level::warn, "disk.unreadable",
                    {{"data", json::value{now.folder}},
                     {"message", json::value{now.error}}});
  }
  return now;
}

disk_status disk_guard::status() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return status_;
}

std::string disk_guard::refusal_message(const disk_status& s) {
  return "The node takes no new work: the file system of its data folder "
         + s.folder + " has " + format_byte_size(s.free_bytes) + " ("
         + std::to_string(s.free_bytes) + " bytes) free, below its reserve of "
         + format_byte_size(s.reserve_bytes) + " ("
         + std::to_string(s.reserve_bytes)
         + " bytes). Running tasks go on. Free space on that file system "
           "(remove what the node does not need, e.g. with 'omniva gc', or "
           "grow the disk) and the node accepts work again within seconds; "
           "or lower the reserve (--disk-reserve).";
}

std::optional<http_response> disk_guard::refusal() {
  if (options_.reserve == 0)
    return std::nullopt;
  auto s = check();
  if (!s.low)
    return std::nullopt;
  return error_response(507, ec::insufficient_storage, refusal_message(s));
}

} // namespace omniva::runtime
