#pragma once

// The node's statistics over time, for the dashboard's Operations page
// (`GET /api/stats`, runtime/api_stats.cpp): every `stats-interval-ms` a
// sampler thread reads Zenith's counters (the Prometheus text of
// `atom::metrics`: task counts by status and the status changes since
// start, kept as rows are written, never by a scan; queue depth; pools) and
// keeps a point in a ring buffer of the latest `stats-points` points.

#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/status.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace omniva::runtime {

/// One pool at one moment.
struct stats_pool {
  /// READY tasks routed to it, waiting for a slot.
  uint64_t queued = 0;
  /// Slots running an attempt.
  uint64_t running = 0;
  /// Idle slots.
  uint64_t slots_free = 0;
};

/// What one reading of Zenith's counters gives.
struct stats_counters {
  /// Tasks by status (index: the status's value).
  std::array<uint64_t, contracts::all_task_statuses.size()> tasks{};
  /// Since the node started: tasks that entered each status.
  std::array<uint64_t, contracts::all_task_statuses.size()> entries{};
  /// Since the node started: tasks created.
  uint64_t created = 0;
  /// READY tasks waiting for a worker (routed or not).
  uint64_t queue_depth = 0;
  /// By pool name.
  std::map<std::string, stats_pool> pools;
};

/// Reads the counters from Zenith's metrics text (`omniva_tasks{status}`,
/// `omniva_task_status_entries_total{status}`, `omniva_tasks_created_total`,
/// `omniva_ready_queue_depth`, `omniva_pool_queued{pool}`,
/// `omniva_pool_running{pool}`, `omniva_pool_free_slots{pool}`); other lines
/// are passed over.
stats_counters read_counters(std::string_view metrics_text);

/// One sample.
struct stats_point {
  /// When it was taken (wall clock, milliseconds).
  contracts::timestamp at;
  /// When it was taken (steady clock): what the rates are measured by.
  std::chrono::steady_clock::time_point taken;
  stats_counters counters;
  /// Tasks finished (DONE, ERROR, CANCELLED, SKIPPED) per second since the
  /// point before; 0 for a point with none before it.
  double throughput_per_s = 0;
  /// Tasks created per second since the point before.
  double submitted_per_s = 0;
};

/// Tasks that entered a finished status (DONE, ERROR, CANCELLED, SKIPPED).
uint64_t finished_total(const stats_counters& c);

/// The point of `c` read at `at`/`taken`, its rates measured against
/// `before` (none: 0).
stats_point make_point(stats_counters c, contracts::timestamp at,
                       std::chrono::steady_clock::time_point taken,
                       const stats_point* before);

/// A point as `GET /api/stats` answers it: `{"at", "tasks": {"PENDING":
/// n, ...}, "done_total", "failed_total", "finished_total",
/// "submitted_total", "throughput_per_s", "submitted_per_s", "queue_depth",
/// "pools": {name: {"queued", "running", "slots_free"}}}`.
json::value to_json(const stats_point& p);

/// The latest points, oldest first, at most `capacity`. Thread-safe.
class stats_history {
public:
  stats_history(size_t capacity, std::chrono::milliseconds interval);

  /// Adds `p` as the newest point, dropping the oldest beyond capacity.
  void push(stats_point p);

  /// The newest point; nullopt before the first.
  std::optional<stats_point> last() const;

  /// The points taken after `since` (all when nullopt), oldest first; at
  /// most `limit`, the newest ones.
  std::vector<stats_point> after(std::optional<contracts::timestamp> since,
                                 size_t limit) const;

  size_t capacity() const noexcept {
    return capacity_;
  }

  std::chrono::milliseconds interval() const noexcept {
    return interval_;
  }

private:
  const size_t capacity_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mtx_;
  std::deque<stats_point> points_;
};

/// Takes a point every `history->interval()` on a thread of its own, from
/// the metrics text `read` returns (nullopt: no point this time, e.g.
/// Zenith did not answer). The first reading is only the base the first
/// point's rates are measured against.
class stats_sampler {
public:
  using reader = std::function<std::optional<std::string>()>;

  stats_sampler(std::shared_ptr<stats_history> history, reader read);
  ~stats_sampler();

  stats_sampler(const stats_sampler&) = delete;
  stats_sampler& operator=(const stats_sampler&) = delete;

  void start();

  /// Stops the thread and waits for it (before the actor system goes).
  void stop();

private:
  void run();

  std::shared_ptr<stats_history> history_;
  reader read_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace omniva::runtime
