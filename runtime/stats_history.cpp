#include "runtime/stats_history.hpp"

#include <algorithm>
#include <charconv>

namespace omniva::runtime {

namespace {

/// One sample line of Prometheus text: `name{label="value"} number`.
struct sample_line {
  std::string_view name;
  /// The value of the (first) label; empty when there is none.
  std::string_view label;
  uint64_t value = 0;
};

/// Reads a sample line whose value is a non-negative integer; nullopt for
/// comments, blank lines and other values.
std::optional<sample_line> read_line(std::string_view line) {
  if (line.empty() || line.front() == '#')
    return std::nullopt;
  auto space = line.rfind(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  sample_line out;
  auto head = line.substr(0, space);
  auto number = line.substr(space + 1);
  auto [ptr, err] = std::from_chars(number.data(),
                                    number.data() + number.size(), out.value);
  if (err != std::errc{} || ptr != number.data() + number.size())
    return std::nullopt;
  auto brace = head.find('{');
  out.name = head.substr(0, brace);
  if (brace != std::string_view::npos) {
    auto open = head.find('"', brace);
    auto close = open == std::string_view::npos ? open : head.find('"', open + 1);
    if (close == std::string_view::npos)
      return std::nullopt;
    out.label = head.substr(open + 1, close - open - 1);
  }
  return out;
}

double rate(uint64_t now, uint64_t before, double seconds) {
  return seconds > 0 && now > before
           ? static_cast<double>(now - before) / seconds
           : 0.0;
}

size_t index(contracts::task_status s) {
  return static_cast<size_t>(s);
}

} // namespace

stats_counters read_counters(std::string_view text) {
  stats_counters c;
  size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    auto line = text.substr(start, nl == std::string_view::npos
                                     ? std::string_view::npos
                                     : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    auto s = read_line(line);
    if (!s)
      continue;
    if (s->name == "omniva_tasks" || s->name == "omniva_task_status_entries_total") {
      auto status = contracts::task_status_from_string(s->label);
      if (!status)
        continue;
      (s->name == "omniva_tasks" ? c.tasks : c.entries)[index(*status)]
        = s->value;
    } else if (s->name == "omniva_tasks_created_total") {
      c.created = s->value;
    } else if (s->name == "omniva_ready_queue_depth") {
      c.queue_depth = s->value;
    } else if (s->name == "omniva_pool_queued") {
      c.pools[std::string{s->label}].queued = s->value;
    } else if (s->name == "omniva_pool_running") {
      c.pools[std::string{s->label}].running = s->value;
    } else if (s->name == "omniva_pool_free_slots") {
      c.pools[std::string{s->label}].slots_free = s->value;
    }
  }
  return c;
}

uint64_t finished_total(const stats_counters& c) {
  using contracts::task_status;
  uint64_t n = 0;
  for (auto s : {task_status::done, task_status::error, task_status::cancelled,
                 task_status::skipped})
    n += c.entries[index(s)];
  return n;
}

stats_point make_point(stats_counters c, contracts::timestamp at,
                       std::chrono::steady_clock::time_point taken,
                       const stats_point* before) {
  stats_point p{at, taken, std::move(c)};
  if (before != nullptr) {
    auto seconds = std::chrono::duration<double>(taken - before->taken).count();
    p.throughput_per_s = rate(finished_total(p.counters),
                              finished_total(before->counters), seconds);
    p.submitted_per_s = rate(p.counters.created, before->counters.created,
                             seconds);
  }
  return p;
}

json::value to_json(const stats_point& p) {
  using contracts::task_status;
  auto& c = p.counters;
  auto count = [](uint64_t n) { return json::value{static_cast<int64_t>(n)}; };
  json::value tasks{json::object{}};
  for (auto s : contracts::all_task_statuses)
    tasks.set(std::string{contracts::to_string(s)}, count(c.tasks[index(s)]));
  json::value pools{json::object{}};
  for (auto& [name, pool] : c.pools)
    pools.set(name, json::object{{"queued", count(pool.queued)},
                                 {"running", count(pool.running)},
                                 {"slots_free", count(pool.slots_free)}});
  json::value out{json::object{}};
  out.set("at", contracts::format_timestamp(p.at));
  out.set("tasks", std::move(tasks));
  out.set("done_total", count(c.entries[index(task_status::done)]));
  out.set("failed_total", count(c.entries[index(task_status::error)]));
  out.set("finished_total", count(finished_total(c)));
  out.set("submitted_total", count(c.created));
  out.set("throughput_per_s", p.throughput_per_s);
  out.set("submitted_per_s", p.submitted_per_s);
  out.set("queue_depth", count(c.queue_depth));
  out.set("pools", std::move(pools));
  return out;
}

// -- the ring ---------------------------------------------------------------------------

stats_history::stats_history(size_t capacity, std::chrono::milliseconds interval)
  : capacity_(std::max<size_t>(capacity, 1)), interval_(interval) {
}

void stats_history::push(stats_point p) {
  std::lock_guard<std::mutex> guard{mtx_};
  points_.push_back(std::move(p));
  while (points_.size() > capacity_)
    points_.pop_front();
}

std::optional<stats_point> stats_history::last() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (points_.empty())
    return std::nullopt;
  return points_.back();
}

std::vector<stats_point>
stats_history::after(std::optional<contracts::timestamp> since,
                     size_t limit) const {
  std::lock_guard<std::mutex> guard{mtx_};
  // Points are in the order taken; their wall-clock times may not be (the
  // clock may be set back), so each is compared.
  std::vector<const stats_point*> picked;
  for (auto& p : points_)
    if (!since || p.at > *since)
      picked.push_back(&p);
  auto first = picked.size() > limit ? picked.size() - limit : 0;
  std::vector<stats_point> out;
  out.reserve(picked.size() - first);
  for (auto i = first; i < picked.size(); ++i)
    out.push_back(*picked[i]);
  return out;
}

// -- the sampler --------------------------------------------------------------------------

stats_sampler::stats_sampler(std::shared_ptr<stats_history> history,
                             reader read)
  : history_(std::move(history)), read_(std::move(read)) {
}

stats_sampler::~stats_sampler() {
  stop();
}

void stats_sampler::start() {
  if (!thread_.joinable())
    thread_ = std::thread{[this] { run(); }};
}

void stats_sampler::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void stats_sampler::run() {
  auto every = history_->interval();
  std::optional<stats_point> before;
  auto read = [&] {
    auto text = read_();
    if (!text)
      return false;
    auto p = make_point(read_counters(*text),
                        contracts::system_clock{}.now(),
                        std::chrono::steady_clock::now(),
                        before ? &*before : nullptr);
    bool first = !before;
    before = p;
    if (!first)
      history_->push(std::move(p));
    return true;
  };
  read();
  // On a fixed schedule: a slow reading does not shift the later ones.
  auto next = std::chrono::steady_clock::now() + every;
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    if (cv_.wait_until(lock, next, [this] { return stopping_; }))
      break;
    lock.unlock();
    read();
    lock.lock();
    next += every;
    // Behind by more than a whole interval (a stalled machine): go on from
    // now rather than catch up with a burst of readings.
    if (auto now = std::chrono::steady_clock::now(); next < now)
      next = now + every;
  }
}

} // namespace omniva::runtime
