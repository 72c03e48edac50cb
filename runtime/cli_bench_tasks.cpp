// `omniva bench tasks`: the task path of an embedded node, end to end (submit,
// pre-flight, commit, dispatch, the mock adapter, result, commit), with sync
// on. Figures go to stdout (one JSON document with --json), progress to
// stderr; nothing asserts on time (benchmarks/tasks.sh runs it).

#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "runtime/cli.hpp"
#include "runtime/cli_bench_support.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "storage/database.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

int run_bench_tasks(const arguments& args);

namespace {

using namespace bench; // runtime/cli_bench_support.hpp
using contracts::task_status;

/// Independent tasks per second the node should sustain (2 cores, sync on).
constexpr double throughput_target = 20'000;
/// The p99 submit-to-done latency at half load, in milliseconds.
constexpr double half_load_p99_target_ms = 50;
/// The restart after the shared-input run must be ready within this.
constexpr double restart_target_seconds = 3;
/// Phase (f): the most the tasks with an admission and a success predicate
/// may be slower than the same tasks without, in percent (issue 17).
constexpr double predicates_slowdown_target_pct = 10;
/// The named budget phase (f)'s module reserves against, and its cap: far
/// above what the phase spends (1 micro-dollar a task).
constexpr std::string_view predicates_budget = "bench";
constexpr int64_t predicates_budget_cap = 1'000'000'000'000;
/// How long any one task may take before the benchmark gives up.
constexpr auto task_timeout = std::chrono::seconds{120};








// -- the modules ------------------------------------------------------------------

/// A mock-only module reading the JSON asset of the link before it: chains.
constexpr std::string_view chain_module = R"({
  "name": "bench-chain",
  "version": 1,
  "description": "Benchmark module: one JSON asset in, one JSON document out (mock only).",
  "inputs": [
    {"key": "prev", "label": "Previous link", "contract_type": "ASSET",
     "constraints": {"media_types": ["application/json"]}}
  ],
  "outputs": [
    {"key": "result", "label": "Result", "contract_type": "ASSET",
     "media_type": "application/json"}
  ],
  "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 30},
  "run": {"command": ["false"]},
  "schema_version": "1.0.0"
})";

/// `bench-value@1` with a declared cost, an admission predicate (the named
/// budget `bench`) and a success predicate (its output exists): phase (f)
/// runs it side by side with `bench-value@1` (docs/policies.md).
constexpr std::string_view predicate_module = R"({
  "name": "bench-value-predicates",
  "version": 1,
  "description": "Benchmark module: bench-value with a cost, an admission and a success predicate (mock only).",
  "inputs": [
    {"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}
  ],
  "outputs": [
    {"key": "result", "label": "Result", "contract_type": "ASSET",
     "media_type": "application/json"}
  ],
  "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 30},
  "run": {"command": ["false"]},
  "cost": {"usd_micro_per_run": 1},
  "predicates": {
    "admission": [{"id": "budget.available@1", "args": {"budget": "bench"}}],
    "success": [{"id": "artifact.exists@1", "args": {"path": "${outputs.result}"}}]
  },
  "schema_version": "1.0.0"
})";

contracts::task_request chain_request(const std::string& prev) {
  contracts::task_request r;
  r.module_ref = "bench-chain@1";
  r.input_mapping["prev"] = prev;
  r.mode = contracts::execution_mode::mock;
  return r;
}

// -- watching tasks finish --------------------------------------------------------

/// Notes when each submitted task finishes, from the events of Zenith's
/// commits (as a client following `GET /api/events` would): a task's time is
/// when the commit that finished it was published. Costs the node one map
/// insertion per finished task, not a row read per poll.
class finish_watcher {
public:
  explicit finish_watcher(runtime::node& n) : node_(n) {
    handle_ = node_.listen(
      [this](const std::vector<contracts::committed_event>& events) {
        on_commit(events);
      });
  }

  ~finish_watcher() {
    node_.unlisten(handle_);
  }

  finish_watcher(const finish_watcher&) = delete;
  finish_watcher& operator=(const finish_watcher&) = delete;

  /// Hands in task `id`, its latency counted from `since`.
  void add(std::string id, steady::time_point since) {
    std::lock_guard<std::mutex> guard{mtx_};
    submitted_.push_back({std::move(id), since});
  }

  /// No more tasks; waits until every task handed in is finished (or none
  /// finished for `task_timeout`), then computes the figures.
  void close() {
    std::unique_lock<std::mutex> lock{mtx_};
    auto all_finished = [&] {
      for (; checked_ < submitted_.size(); ++checked_)
        if (finished_.count(submitted_[checked_].id) == 0)
          return false;
      return true;
    };
    while (!all_finished()) {
      auto seen = finished_.size();
      if (!cv_.wait_for(lock, task_timeout,
                        [&] { return finished_.size() != seen; }))
        break; // no progress for task_timeout
    }
    for (auto& s : submitted_) {
      auto f = finished_.find(s.id);
      if (f == finished_.end()) {
        fail("task " + s.id + " did not finish in time");
        continue;
      }
      last_ = std::max(last_, f->second.at);
      if (f->second.kind != "task.succeeded") {
        auto rec = node_.wait(s.id, std::chrono::milliseconds{0});
        fail("task " + s.id + " ended with " + f->second.kind
             + (rec && rec->error ? ": " + rec->error->message : ""));
        continue;
      }
      latencies_.push_back(ms_between(s.since, f->second.at));
    }
  }

  /// After `close`: the latencies, in ms, of the tasks that ended DONE.
  const std::vector<double>& latencies_ms() const {
    return latencies_;
  }

  /// After `close`: when the last task was seen finished.
  steady::time_point last_finish() const {
    return last_;
  }

  /// Successes whose `task.succeeded` payload carries a budget settlement
  /// (`"settled"`) and the success predicates' verdicts (`"predicates"`):
  /// what phase (f) checks its predicate runs by (counted for every phase,
  /// so that both sides of a comparison pay the same two searches).
  size_t settled_with_verdicts() const {
    return settled_with_verdicts_;
  }

  /// After `close`: tasks that did not end DONE (or timed out), and why the
  /// first one did.
  size_t failures() const {
    return failures_;
  }
  const std::string& first_failure() const {
    return first_failure_;
  }

private:
  struct submission {
    std::string id;
    steady::time_point since;
  };

  struct finish {
    steady::time_point at;
    std::string kind;
  };

  void on_commit(const std::vector<contracts::committed_event>& events) {
    auto now = steady::now();
    bool any = false;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& e : events)
      if (e.kind == "task.succeeded" || e.kind == "task.failed"
          || e.kind == "task.cancelled") {
        finished_.emplace(e.subject, finish{now, e.kind});
        if (e.kind == "task.succeeded"
            && e.payload.find("\"settled\"") != std::string::npos
            && e.payload.find("\"predicates\"") != std::string::npos)
          ++settled_with_verdicts_;
        any = true;
      }
    if (any)
      cv_.notify_all();
  }

  void fail(const std::string& why) {
    if (failures_++ == 0)
      first_failure_ = why;
  }

  runtime::node& node_;
  uint64_t handle_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<submission> submitted_;
  size_t checked_ = 0;
  std::unordered_map<std::string, finish> finished_;
  std::vector<double> latencies_;
  steady::time_point last_{};
  size_t failures_ = 0;
  size_t settled_with_verdicts_ = 0;
  std::string first_failure_;
};

/// Runs `body(thread_index)` on `n` threads and joins them.
template <class F>
void on_threads(size_t n, F body) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i)
    threads.emplace_back([&body, i] { body(i); });
  for (auto& t : threads)
    t.join();
}

/// The first refusal of a phase (submissions are all expected to pass).
struct refusals {
  std::atomic<size_t> count{0};
  std::mutex mtx;
  std::string first;

  void add(const contracts::submit_result& r) {
    if (count++ == 0) {
      std::lock_guard<std::mutex> guard{mtx};
      first = r.problems.empty() ? "refused without a reason"
                                 : std::string{contracts::to_string(
                                     r.problems.front().code)}
                                     + ": " + r.problems.front().message;
    }
  }
};

// -- the phases ---------------------------------------------------------------------

struct phase_figures {
  /// Zenith's commits, packets and sealing and writing time during the
  /// phase, and the CPU time the process (node and clients) used.
  commit_counters used;
  size_t tasks = 0;
  double seconds = 0;
  double submit_seconds = 0;
  std::vector<double> latencies_ms;
  size_t failures = 0;
  std::string first_failure;
  /// Successes that settled a reservation and carry predicate verdicts.
  size_t settled_with_verdicts = 0;
};

/// After a phase's submissions (from `start`): waits for every task, then
/// the phase's figures, counters measured from `before`.
phase_figures finish_phase(runtime::node& node, finish_watcher& watcher,
                           const commit_counters& before,
                           steady::time_point start, size_t tasks) {
  phase_figures fig;
  fig.submit_seconds = seconds_between(start, steady::now());
  watcher.close();
  fig.tasks = tasks;
  fig.seconds = seconds_between(start, watcher.last_finish());
  fig.latencies_ms = watcher.latencies_ms();
  fig.failures = watcher.failures();
  fig.first_failure = watcher.first_failure();
  fig.settled_with_verdicts = watcher.settled_with_verdicts();
  fig.used = commit_counters::of(node) - before;
  return fig;
}

/// (a) `n` independent tasks submitted as fast as `threads` threads can:
/// mock requests of `module_ref` (a module shaped like `bench-value@1`),
/// with the values `first` .. `first + n - 1`.
phase_figures independent(runtime::node& node, size_t n, size_t threads,
                          refusals& refused,
                          const std::string& module_ref = "bench-value@1",
                          uint64_t first = 0) {
  auto counters_before = commit_counters::of(node);
  finish_watcher watcher{node};
  std::atomic<uint64_t> next{0};
  auto start = steady::now();
  on_threads(threads, [&](size_t) {
    auto session = node.session();
    for (auto i = next++; i < n; i = next++) {
      auto req = value_request(first + i);
      req.module_ref = module_ref;
      auto submitted = steady::now();
      auto r = session.submit(req);
      if (!r.ok) {
        refused.add(r);
        continue;
      }
      watcher.add(r.task.task_id, submitted);
    }
  });
  return finish_phase(node, watcher, counters_before, start, n);
}

/// (b) `chains` chains of `depth` tasks, each link waiting on the previous
/// link's output (a PENDING asset when submitted). Latency: from the chain's
/// first submission to its last link DONE.
phase_figures chains(runtime::node& node, size_t chains, size_t depth,
                     size_t threads, refusals& refused) {
  auto counters_before = commit_counters::of(node);
  finish_watcher watcher{node};
  std::atomic<uint64_t> next{0};
  auto start = steady::now();
  on_threads(std::min(threads, chains), [&](size_t) {
    auto session = node.session();
    for (auto c = next++; c < chains; c = next++) {
      auto began = steady::now();
      auto r = session.submit(value_request(1'000'000 + c));
      for (size_t link = 1; r.ok && link < depth; ++link)
        r = session.submit(chain_request(r.task.outputs.at("result")));
      if (!r.ok) {
        refused.add(r);
        continue;
      }
      watcher.add(r.task.task_id, began);
    }
  });
  return finish_phase(node, watcher, counters_before, start, chains * depth);
}

/// (c) Independent tasks submitted at a fixed `rate` (open loop) for
/// `seconds`; latency counted from each task's planned submission time, so
/// submitters falling behind count against it.
phase_figures paced(runtime::node& node, double rate, double seconds,
                    size_t threads, refusals& refused) {
  auto counters_before = commit_counters::of(node);
  auto n = static_cast<size_t>(std::max(100.0, rate * seconds));
  finish_watcher watcher{node};
  std::atomic<uint64_t> next{0};
  auto start = steady::now() + std::chrono::milliseconds{10};
  auto period = std::chrono::duration<double>(1.0 / rate);
  on_threads(threads, [&](size_t) {
    auto session = node.session();
    for (auto i = next++; i < n; i = next++) {
      auto planned = start
                     + std::chrono::duration_cast<steady::duration>(
                       period * static_cast<double>(i));
      std::this_thread::sleep_until(planned);
      auto r = session.submit(value_request(2'000'000 + i));
      if (!r.ok) {
        refused.add(r);
        continue;
      }
      watcher.add(r.task.task_id, planned);
    }
  });
  return finish_phase(node, watcher, counters_before, start, n);
}

struct http_figures {
  size_t requests = 0;
  size_t created = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  size_t connections = 0;
  std::string first_error;
};

/// (d) `requests` POST /api/tasks from `clients` threads, one kept-alive
/// connection each.
http_figures http_creation(const runtime::node& node, size_t requests,
                           size_t clients) {
  http_figures fig;
  fig.requests = requests;
  auto base = "http://127.0.0.1:" + std::to_string(node.port());
  std::atomic<uint64_t> next{0};
  std::atomic<size_t> created{0};
  std::atomic<size_t> connections{0};
  std::mutex mtx;
  auto start = steady::now();
  on_threads(clients, [&](size_t) {
    runtime::http_client client{base, node.token()};
    std::vector<double> mine;
    std::string error;
    for (auto i = next++; i < requests; i = next++) {
      auto body = json::serialize(contracts::to_json(value_request(3'000'000 + i)));
      auto t0 = steady::now();
      auto res = client.request("POST", "/api/tasks", std::move(body));
      mine.push_back(ms_between(t0, steady::now()));
      if (res.status == 201)
        ++created;
      else if (error.empty())
        error = res.error.empty() ? "HTTP " + std::to_string(res.status) + ": "
                                      + res.reason()
                                  : res.error;
    }
    connections += client.connections_opened();
    std::lock_guard<std::mutex> guard{mtx};
    fig.latencies_ms.insert(fig.latencies_ms.end(), mine.begin(), mine.end());
    if (fig.first_error.empty())
      fig.first_error = error;
  });
  fig.seconds = seconds_between(start, steady::now());
  fig.created = created;
  fig.connections = connections;
  return fig;
}

// -- wiring ---------------------------------------------------------------------------

/// Bytes this process has caused to be written to the block layer so far
/// (`write_bytes` of /proc/self/io: the log, its flushes and compactions,
/// the witness; not the mock outputs on tmpfs); nullopt where the kernel
/// does not count them.
std::optional<uint64_t> disk_bytes_written() {
  std::ifstream in{"/proc/self/io"};
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == "write_bytes:")
      return value;
  return std::nullopt;
}

/// What a database folder holds on the disk: all its files, and RocksDB's
/// write-ahead logs (`*.log`) among them.
struct folder_usage {
  uint64_t bytes = 0;
  uint64_t wal_files = 0;
  uint64_t wal_bytes = 0;
};

folder_usage usage_of(const fs::path& db) {
  folder_usage out;
  std::error_code err;
  for (auto& entry : fs::directory_iterator{db, err}) {
    std::error_code size_err;
    auto size = entry.is_regular_file(size_err) ? entry.file_size(size_err) : 0;
    if (size_err)
      continue; // deleted meanwhile (a flush retired a log)
    out.bytes += size;
    if (entry.path().extension() == ".log") {
      ++out.wal_files;
      out.wal_bytes += size;
    }
  }
  return out;
}

json::value usage_json(const folder_usage& u) {
  json::value out{json::object{}};
  out.set("bytes", u.bytes);
  out.set("wal_files", u.wal_files);
  out.set("wal_bytes", u.wal_bytes);
  return out;
}

struct shared_input_figures {
  phase_figures tasks;
  /// Bytes written to the disk during the phase (nullopt: not counted).
  std::optional<uint64_t> disk_bytes;
  /// The database folder after the producer of the shared input, at the
  /// end of the phase (node running), after the node stopped and after the
  /// restart.
  folder_usage before, after, stopped, restarted;
  double stop_seconds = 0;
  double restart_seconds = 0;
};

/// (e) `n` tasks all reading one shared input (an AVAILABLE asset: the
/// output of one task run first), submitted as fast as `threads` threads
/// can, on a node of their own in `data`; then the node is stopped and
/// started again on the same folder, timed from `node::start` until it
/// answers on HTTP. What grows here with the number of tasks holding the
/// shared input shows in the bytes written per task.
caf::expected<shared_input_figures>
shared_input(const fs::path& data, const std::vector<std::string>& module_dirs,
             size_t n, size_t threads, uint32_t workers,
             size_t scheduler_threads, refusals& refused) {
  shared_input_figures fig;
  auto db = fs::path{storage::database_path(data.string())};
  {
    auto node = start_node(data, module_dirs, false, workers, scheduler_threads);
    if (!node)
      return node.error();
    auto producer = (*node)->submit(value_request(4'000'000));
    if (!producer.ok) {
      refused.add(producer);
      return fig;
    }
    auto done = (*node)->wait(producer.task.task_id, task_timeout);
    if (!done)
      return done.error();
    if (done->status != task_status::done)
      return contracts::make_error(contracts::ec::invalid_argument,
                                   "the producer of the shared input ended "
                                     + std::string{contracts::to_string(
                                       done->status)});
    auto shared = producer.task.outputs.at("result");
    fig.before = usage_of(db);
    auto written_before = disk_bytes_written();
    auto counters_before = commit_counters::of(**node);
    finish_watcher watcher{**node};
    std::atomic<uint64_t> next{0};
    auto began = steady::now();
    on_threads(threads, [&](size_t) {
      auto session = (*node)->session();
      for (auto i = next++; i < n; i = next++) {
        auto submitted = steady::now();
        auto r = session.submit(chain_request(shared));
        if (!r.ok) {
          refused.add(r);
          continue;
        }
        watcher.add(r.task.task_id, submitted);
      }
    });
    fig.tasks = finish_phase(**node, watcher, counters_before, began, n);
    fig.after = usage_of(db);
    if (auto written = disk_bytes_written(); written && written_before)
      fig.disk_bytes = *written - *written_before;
    auto stopping = steady::now();
    (*node)->stop();
    fig.stop_seconds = seconds_between(stopping, steady::now());
  }
  fig.stopped = usage_of(db);
  auto starting = steady::now();
  auto again = start_node(data, {}, true, workers, scheduler_threads);
  if (!again)
    return again.error();
  fig.restart_seconds = seconds_between(starting, steady::now());
  fig.restarted = usage_of(db);
  return fig;
}

struct predicate_figures {
  /// The runs in the order they ran: `true` for the module with predicates.
  std::vector<std::pair<bool, phase_figures>> runs;
  /// Seconds to create the budget (a node serving HTTP, `POST
  /// /api/budgets`, stopped) and start the measured node on its folder.
  double setup_seconds = 0;
};

/// (f) The tasks of (a) with and without an admission and a success
/// predicate, side by side on one node of their own in `data` (the
/// settings of (a): no HTTP). The named budget is made first through `POST
/// /api/budgets` on the same folder served over HTTP (an embedded node has
/// no other way in to Zenith's limits), which is then stopped: the budget
/// comes back with the state. Then `rounds` pairs of `n` tasks, `bench-value`
/// and `bench-value-predicates`, the order of each pair swapped from one to
/// the next (plain first, then predicates first, ...), so that a drift of
/// the machine or of the growing database weighs on both sides alike.
caf::expected<predicate_figures>
predicates_side_by_side(const fs::path& data,
                        const std::vector<std::string>& module_dirs, size_t n,
                        size_t rounds, size_t threads, uint32_t workers,
                        size_t scheduler_threads, refusals& refused) {
  predicate_figures fig;
  auto began = steady::now();
  {
    auto node = start_node(data, module_dirs, true, workers, scheduler_threads);
    if (!node)
      return node.error();
    runtime::http_client client{"http://127.0.0.1:" + std::to_string((*node)->port()),
                                (*node)->token()};
    json::value body{json::object{}};
    body.set("name", std::string{predicates_budget});
    body.set("max_usd_micro", predicates_budget_cap);
    body.set("description", "omniva bench tasks, phase (f)");
    auto res = client.request("POST", "/api/budgets", json::serialize(body));
    if (res.status != 201)
      return contracts::make_error(
        contracts::ec::invalid_argument,
        "POST /api/budgets did not create the budget: "
          + (res.error.empty() ? "HTTP " + std::to_string(res.status) + ": "
                                   + res.body
                               : res.error));
    (*node)->stop();
  }
  auto node = start_node(data, {}, false, workers, scheduler_threads);
  if (!node)
    return node.error();
  fig.setup_seconds = seconds_between(began, steady::now());
  uint64_t first = 5'000'000;
  for (size_t round = 0; round < rounds; ++round) {
    for (size_t k = 0; k < 2; ++k) {
      bool with = (round % 2 == 0) == (k == 1);
      auto f = independent(**node, n, threads, refused,
                           with ? "bench-value-predicates@1" : "bench-value@1",
                           first);
      first += n;
      fig.runs.emplace_back(with, std::move(f));
      if (refused.count > 0)
        return fig;
    }
  }
  return fig;
}

json::value phase_json(const phase_figures& f) {
  json::value out{json::object{}};
  out.set("tasks", static_cast<uint64_t>(f.tasks));
  out.set("seconds", rounded(f.seconds, 3));
  out.set("tasks_per_second",
          rounded(static_cast<double>(f.tasks) / f.seconds, 1));
  out.set("submitted_per_second",
          rounded(static_cast<double>(f.tasks) / f.submit_seconds, 1));
  out.set("commits", static_cast<uint64_t>(f.used.commits));
  out.set("packets_per_commit",
          rounded(f.used.commits > 0 ? f.used.packets / f.used.commits : 0.0, 1));
  out.set("commits_per_second", rounded(f.used.commits / f.seconds, 1));
  out.set("cpu_cores_used", rounded(f.used.cpu / f.seconds, 2));
  // Shares of the phase Zenith spent sealing and the write thread writing.
  out.set("seal_busy", rounded(f.used.seal / f.seconds, 2));
  out.set("write_busy", rounded(f.used.write / f.seconds, 2));
  out.set("cpu_us_per_task",
          rounded(f.used.cpu * 1e6 / static_cast<double>(f.tasks), 1));
  return out;
}

} // namespace

int run_bench_tasks(const arguments& args) {
  size_t tasks = 20'000;
  size_t chain_count = 500;
  size_t depth = 10;
  size_t submitters = 64;
  double half_load_seconds = 4;
  size_t http_requests = 10'000;
  size_t http_clients = 8;
  size_t shared_tasks = 10'000;
  size_t predicate_tasks = 3'000;
  size_t predicate_rounds = 4;
  uint32_t workers = 32;
  size_t scheduler_threads = 0;
  std::string data;
  po::options_description opts{"options"};
  opts.add_options()
    ("json", "print one JSON document")
    ("tasks", po::value(&tasks),
     "independent tasks of the throughput run (default: 20000)")
    ("chains", po::value(&chain_count), "chains (default: 500)")
    ("depth", po::value(&depth), "tasks per chain (default: 10)")
    ("submitters", po::value(&submitters),
     "threads submitting through node::submit (default: 64)")
    ("half-load-seconds", po::value(&half_load_seconds),
     "length of the half-load run (default: 4)")
    ("http-requests", po::value(&http_requests),
     "POST /api/tasks requests of the HTTP run (default: 10000; 0 skips it)")
    ("http-clients", po::value(&http_clients),
     "HTTP client threads, one kept-alive connection each (default: 8)")
    ("shared-tasks", po::value(&shared_tasks),
     "tasks of the shared-input run, all reading one asset, followed by a "
     "restart of their node (default: 10000; 0 skips it)")
    ("predicate-tasks", po::value(&predicate_tasks),
     "tasks of each run of the predicates comparison: independent tasks of "
     "a module with a cost, an admission and a success predicate against "
     "the same without, on a node of their own (default: 3000; 0 skips it)")
    ("predicate-rounds", po::value(&predicate_rounds),
     "pairs of runs of the predicates comparison, the order swapped from "
     "one pair to the next (default: 4)")
    ("scheduler-threads", po::value(&scheduler_threads),
     "threads of CAF's scheduler (default: 0, CAF's choice)")
    ("outputs-on-disk",
     "keep the mock outputs in the data folder on the disk (default: in "
     "/dev/shm; the database is on the disk either way)")
    ("workers", po::value(&workers),
     "workers of the pool (default: 32; 0: one per core, as a node has). "
     "Zenith dispatches only to free workers and each attempt costs a worker "
     "two commits (dispatch, result), so one worker per core measures that "
     "round trip rather than throughput")
    ("data", po::value(&data),
     "work in DIR and keep it (default: a temporary folder, removed)");
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva bench tasks [--json] [--tasks N] [--chains N] [--depth N] "
        "[--submitters N] [--half-load-seconds S] [--http-requests N] "
        "[--http-clients N] [--shared-tasks N] [--predicate-tasks N] "
        "[--predicate-rounds N] [--workers N] [--scheduler-threads N] "
        "[--outputs-on-disk] [--data DIR]",
        "Runs an embedded node (mock adapter, sync on, no HTTP; database on "
        "the disk, mock outputs in /dev/shm) with two mock-only modules and "
        "measures: (a) independent tasks submitted as "
        "fast as possible from several threads, until all are DONE "
        "(tasks/s, target 20000); (b) chains of tasks, each link waiting on "
        "the previous link's PENDING output (tasks/s); (c) submit-to-done "
        "latency at full load (run a) and at half load (submissions paced at "
        "half the rate of run a; p99 target 50 ms); (d) task creation "
        "through the HTTP API (POST /api/tasks, kept-alive connections) on a "
        "second node that serves HTTP; (e) tasks all reading one shared input "
        "asset on a third node (bytes written to the disk per task, the "
        "database's size and write-ahead logs), then that node's restart "
        "(seconds from node::start on its data folder until it serves "
        "HTTP); (f) the independent tasks of (a) with a declared cost, an "
        "admission predicate (budget.available@1 on a named budget) and a "
        "success predicate (artifact.exists@1 on the output) against the "
        "same tasks without, alternately on a fourth node (tasks/s of each "
        "and the slowdown, target under 10%).",
        opts, {}, args, vm))
    return *rc;
  if (tasks == 0 || chain_count == 0 || depth == 0 || submitters == 0
      || http_clients == 0 || half_load_seconds <= 0
      || (predicate_tasks > 0 && predicate_rounds == 0)) {
    print_error("--tasks, --chains, --depth, --submitters, --http-clients, "
                "--half-load-seconds and --predicate-rounds must be positive");
    return exit_usage;
  }
  bool json_out = vm.count("json") > 0;
  bool outputs_on_disk = vm.count("outputs-on-disk") > 0;
  // The node logs through spdlog, whose default logger writes to stdout:
  // keep stdout for the figures.
  auto logger = spdlog::stderr_color_mt("omniva-bench");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  work_folder folder;
  std::error_code ec;
  if (!data.empty()) {
    folder.path = data;
    folder.keep = true;
    if (fs::exists(folder.path / "node", ec) || fs::exists(folder.path / "http", ec)
        || fs::exists(folder.path / "shared", ec)
        || fs::exists(folder.path / "predicates", ec)) {
      print_error(data + " holds an earlier run: give --data an empty folder");
      return exit_failure;
    }
  } else {
    auto pattern = (fs::temp_directory_path(ec) / "omniva-bench-tasks-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      print_error("cannot create a temporary folder");
      return exit_failure;
    }
    folder.path = pattern;
  }
  auto module_dirs = bench::write_modules(folder.path / "modules",
                                          {{"bench-value", value_module},
                                           {"bench-chain", chain_module},
                                           {"bench-value-predicates",
                                            predicate_module}});
  if (!outputs_on_disk) {
    auto pattern = std::string{"/dev/shm/omniva-bench-outputs-XXXXXX"};
    if (!fs::is_directory("/dev/shm", ec) || mkdtemp(pattern.data()) == nullptr) {
      print_error("no tmpfs at /dev/shm for the outputs: give --outputs-on-disk");
      return exit_failure;
    }
    folder.outputs = pattern;
    for (auto name : {"node", "http", "shared", "predicates"})
      if (auto err = outputs_in_memory(folder.path / name, folder.outputs)) {
        print_error(error_text(err));
        return exit_failure;
      }
  }
  auto fail = [](const std::string& what, const caf::error& err) {
    print_error(what + ": " + error_text(err));
    return exit_failure;
  };
  auto failed_phase = [](const std::string& what, const phase_figures& f,
                         const refusals& r) -> std::optional<int> {
    if (r.count > 0) {
      print_error(what + ": " + std::to_string(r.count.load())
                  + " submissions refused, the first: " + r.first);
      return exit_failure;
    }
    if (f.failures > 0) {
      print_error(what + ": " + std::to_string(f.failures)
                  + " tasks did not end DONE, the first: " + f.first_failure);
      return exit_failure;
    }
    return std::nullopt;
  };
  phase_figures a, b, c;
  double full_rate = 0;
  double half_rate = 0;
  uint32_t pool_workers = 0;
  {
    auto node = start_node(folder.path / "node", module_dirs, false, workers,
                           scheduler_threads);
    if (!node)
      return fail("starting the node", node.error());
    pool_workers = (*node)->options().pools.front().workers;
    std::cerr << "omniva bench: " << tasks << " independent tasks from "
              << submitters << " threads..." << std::flush;
    refusals refused_a;
    a = independent(**node, tasks, submitters, refused_a);
    if (auto rc = failed_phase("independent tasks", a, refused_a))
      return *rc;
    full_rate = static_cast<double>(a.tasks) / a.seconds;
    std::cerr << ' ' << static_cast<uint64_t>(full_rate) << "/s\n"
              << "omniva bench: " << chain_count << " chains of " << depth
              << "..." << std::flush;
    refusals refused_b;
    b = chains(**node, chain_count, depth, submitters, refused_b);
    if (auto rc = failed_phase("chains", b, refused_b))
      return *rc;
    half_rate = full_rate / 2;
    std::cerr << ' ' << static_cast<uint64_t>(b.tasks / b.seconds) << "/s\n"
              << "omniva bench: half load, " << static_cast<uint64_t>(half_rate)
              << " tasks/s for " << half_load_seconds << " s..." << std::flush;
    refusals refused_c;
    c = paced(**node, half_rate, half_load_seconds, submitters, refused_c);
    if (auto rc = failed_phase("half load", c, refused_c))
      return *rc;
    std::cerr << " done\n";
  }
  http_figures d;
  if (http_requests > 0) {
    auto node = start_node(folder.path / "http", module_dirs, true, workers,
                           scheduler_threads);
    if (!node)
      return fail("starting the HTTP node", node.error());
    std::cerr << "omniva bench: " << http_requests << " POST /api/tasks from "
              << http_clients << " clients..." << std::flush;
    d = http_creation(**node, http_requests, http_clients);
    std::cerr << ' ' << static_cast<uint64_t>(d.created / d.seconds)
              << "/s\n";
    if (d.created != d.requests) {
      print_error("HTTP: " + std::to_string(d.requests - d.created)
                  + " requests did not create a task, the first: "
                  + d.first_error);
      return exit_failure;
    }
  }
  shared_input_figures e;
  if (shared_tasks > 0) {
    std::cerr << "omniva bench: " << shared_tasks
              << " tasks on one shared input, then a restart..." << std::flush;
    refusals refused_e;
    auto shared = shared_input(folder.path / "shared", module_dirs,
                               shared_tasks, submitters, workers,
                               scheduler_threads, refused_e);
    if (!shared)
      return fail("the shared-input run", shared.error());
    e = std::move(*shared);
    if (auto rc = failed_phase("shared input", e.tasks, refused_e))
      return *rc;
    std::cerr << ' ' << static_cast<uint64_t>(e.tasks.tasks / e.tasks.seconds)
              << "/s, restart " << rounded(e.restart_seconds, 2) << " s\n";
  }
  predicate_figures f;
  if (predicate_tasks > 0) {
    std::cerr << "omniva bench: " << predicate_rounds << " x 2 runs of "
              << predicate_tasks
              << " independent tasks, with and without predicates..."
              << std::flush;
    refusals refused_f;
    auto compared = predicates_side_by_side(
      folder.path / "predicates", module_dirs, predicate_tasks,
      predicate_rounds, submitters, workers, scheduler_threads, refused_f);
    if (!compared)
      return fail("the predicates run", compared.error());
    f = std::move(*compared);
    for (auto& [with, run] : f.runs) {
      if (auto rc = failed_phase(with ? "with predicates" : "without predicates",
                                 run, refused_f))
        return *rc;
      // Every task with predicates settled its reservation and carries the
      // success predicate's verdict: the comparison measured what it says.
      if (with && run.settled_with_verdicts != run.tasks) {
        print_error("with predicates: "
                    + std::to_string(run.tasks - run.settled_with_verdicts)
                    + " of " + std::to_string(run.tasks)
                    + " tasks succeeded without a settlement or predicate "
                      "verdicts");
        return exit_failure;
      }
    }
    if (refused_f.count > 0)
      return *failed_phase("predicates", {}, refused_f);
    std::cerr << " done\n";
  }
  // -- report
  std::sort(c.latencies_ms.begin(), c.latencies_ms.end());
  auto half_p99 = quantile(c.latencies_ms, 0.99);
  bool throughput_met = full_rate >= throughput_target;
  bool latency_met = half_p99 < half_load_p99_target_ms;
  json::value out{json::object{}};
  out.set("benchmark", "tasks");
  out.set("what",
          "tasks through an embedded node end to end (pre-flight, commit, "
          "dispatch, mock adapter, result, commit), sync on");
  out.set("sync", true);
  out.set("mode", "mock");
  out.set("outputs", outputs_on_disk ? "disk" : "tmpfs");
  out.set("cores", static_cast<uint64_t>(std::thread::hardware_concurrency()));
  out.set("pool_workers", static_cast<uint64_t>(pool_workers));
  out.set("submitters", static_cast<uint64_t>(submitters));
  auto ja = phase_json(a);
  ja.set("target_tasks_per_second", throughput_target);
  ja.set("meets_target", throughput_met);
  out.set("independent", std::move(ja));
  auto jb = phase_json(b);
  jb.set("chains", static_cast<uint64_t>(chain_count));
  jb.set("depth", static_cast<uint64_t>(depth));
  jb.set("chain_latency", latency_json(b.latencies_ms));
  out.set("chains", std::move(jb));
  json::value lat{json::object{}};
  auto full = latency_json(a.latencies_ms);
  full.set("rate_per_second", rounded(full_rate, 1));
  lat.set("full_load", std::move(full));
  auto half = latency_json(c.latencies_ms);
  half.set("planned_rate_per_second", rounded(half_rate, 1));
  half.set("tasks", static_cast<uint64_t>(c.tasks));
  half.set("achieved_rate_per_second",
           rounded(static_cast<double>(c.tasks) / c.submit_seconds, 1));
  half.set("target_p99_ms", half_load_p99_target_ms);
  half.set("meets_target", latency_met);
  lat.set("half_load", std::move(half));
  out.set("submit_to_done_latency", std::move(lat));
  if (http_requests > 0) {
    json::value h = latency_json(d.latencies_ms);
    h.set("clients", static_cast<uint64_t>(http_clients));
    h.set("requests", static_cast<uint64_t>(d.requests));
    h.set("created", static_cast<uint64_t>(d.created));
    h.set("seconds", rounded(d.seconds, 3));
    h.set("tasks_created_per_second",
          rounded(static_cast<double>(d.created) / d.seconds, 1));
    h.set("connections_opened", static_cast<uint64_t>(d.connections));
    out.set("http", std::move(h));
  }
  if (shared_tasks > 0) {
    auto per_task = [&](double bytes) {
      return rounded(bytes / static_cast<double>(e.tasks.tasks), 1);
    };
    auto js = phase_json(e.tasks);
    if (e.disk_bytes) {
      js.set("disk_bytes_written", *e.disk_bytes);
      js.set("disk_bytes_per_task", per_task(static_cast<double>(*e.disk_bytes)));
    }
    js.set("db_growth_per_task",
           per_task(static_cast<double>(e.after.bytes)
                    - static_cast<double>(e.before.bytes)));
    js.set("db_before", usage_json(e.before));
    js.set("db_after", usage_json(e.after));
    js.set("db_stopped", usage_json(e.stopped));
    js.set("db_restarted", usage_json(e.restarted));
    js.set("stop_seconds", rounded(e.stop_seconds, 3));
    js.set("restart_seconds", rounded(e.restart_seconds, 3));
    js.set("target_restart_seconds", restart_target_seconds);
    js.set("meets_target", e.restart_seconds < restart_target_seconds);
    out.set("shared_input", std::move(js));
  }
  if (predicate_tasks > 0) {
    // Each side's rate over all its runs (tasks over seconds summed), the
    // slowdown of one against the other, and each pair's own.
    struct side {
      double tasks = 0, seconds = 0;
      commit_counters used;
      size_t settled = 0;
    } with, without;
    json::array pairs;
    json::array runs;
    for (size_t i = 0; i < f.runs.size(); ++i) {
      auto& [is_with, run] = f.runs[i];
      auto& s = is_with ? with : without;
      s.tasks += static_cast<double>(run.tasks);
      s.seconds += run.seconds;
      s.used.commits += run.used.commits;
      s.used.packets += run.used.packets;
      s.used.cpu += run.used.cpu;
      s.used.seal += run.used.seal;
      s.used.write += run.used.write;
      s.settled += run.settled_with_verdicts;
      auto rate = static_cast<double>(run.tasks) / run.seconds;
      runs.push_back(json::object{{"predicates", is_with},
                                  {"tasks_per_s", rounded(rate, 1)},
                                  {"cpu_us_per_task",
                                   rounded(run.used.cpu * 1e6
                                             / static_cast<double>(run.tasks),
                                           1)}});
      if (i % 2 == 1) {
        auto& other = f.runs[i - 1].second;
        auto other_rate = static_cast<double>(other.tasks) / other.seconds;
        auto w = is_with ? rate : other_rate;
        auto wo = is_with ? other_rate : rate;
        pairs.push_back(rounded((1 - w / wo) * 100, 1));
      }
    }
    auto side_json = [](const side& s) {
      json::value o{json::object{}};
      o.set("tasks", static_cast<uint64_t>(s.tasks));
      o.set("seconds", rounded(s.seconds, 3));
      o.set("tasks_per_s", rounded(s.tasks / s.seconds, 1));
      o.set("cpu_us_per_task", rounded(s.used.cpu * 1e6 / s.tasks, 1));
      o.set("cpu_cores_used", rounded(s.used.cpu / s.seconds, 2));
      o.set("packets_per_task", rounded(s.used.packets / s.tasks, 2));
      o.set("commits_per_task", rounded(s.used.commits / s.tasks, 3));
      o.set("seal_busy", rounded(s.used.seal / s.seconds, 2));
      o.set("write_busy", rounded(s.used.write / s.seconds, 2));
      return o;
    };
    auto with_rate = with.tasks / with.seconds;
    auto without_rate = without.tasks / without.seconds;
    auto slowdown = (1 - with_rate / without_rate) * 100;
    json::value p{json::object{}};
    p.set("what",
          "independent tasks of a module with a cost (usd_micro_per_run 1), "
          "an admission predicate (budget.available@1 on the named budget "
          "'bench') and a success predicate (artifact.exists@1 on its "
          "output), against the same module without, in alternating runs on "
          "one node");
    p.set("tasks_per_run", static_cast<uint64_t>(predicate_tasks));
    p.set("rounds", static_cast<uint64_t>(predicate_rounds));
    p.set("tasks_per_s", rounded(with_rate, 1));
    p.set("plain_tasks_per_s", rounded(without_rate, 1));
    p.set("slowdown_pct", rounded(slowdown, 1));
    p.set("pairs_slowdown_pct", json::value{std::move(pairs)});
    p.set("target_slowdown_pct", predicates_slowdown_target_pct);
    p.set("meets_target", slowdown < predicates_slowdown_target_pct);
    p.set("with", side_json(with));
    p.set("without", side_json(without));
    p.set("settled_with_verdicts", static_cast<uint64_t>(with.settled));
    p.set("runs", json::value{std::move(runs)});
    p.set("setup_seconds", rounded(f.setup_seconds, 3));
    out.set("predicates", std::move(p));
  }
  out.set("meets_target", throughput_met && latency_met);
  out.set("process_peak_rss_mb", rounded(peak_rss_mb(), 1));
  if (folder.keep)
    out.set("data", fs::absolute(folder.path).string());
  if (json_out) {
    std::cout << json::serialize(out, json::style::pretty) << '\n';
  } else {
    auto num = [](const json::value& v, std::string_view key) {
      return json::serialize(*v.find(key));
    };
    auto& ind = *out.find("independent");
    auto& ch = *out.find("chains");
    auto& fl = *out.find("submit_to_done_latency")->find("full_load");
    auto& hl = *out.find("submit_to_done_latency")->find("half_load");
    std::cout << "independent: " << num(ind, "tasks") << " tasks, "
              << num(ind, "tasks_per_second") << " tasks/s (target "
              << throughput_target << ": "
              << (throughput_met ? "met" : "MISSED") << ")\n"
              << "chains: " << num(ch, "chains") << " x " << num(ch, "depth")
              << ", " << num(ch, "tasks_per_second") << " tasks/s\n"
              << "latency at full load: p50 " << num(fl, "p50_ms") << " ms, p99 "
              << num(fl, "p99_ms") << " ms\n"
              << "latency at half load (" << num(hl, "planned_rate_per_second")
              << "/s): p50 " << num(hl, "p50_ms") << " ms, p99 "
              << num(hl, "p99_ms") << " ms (target < " << half_load_p99_target_ms
              << ": " << (latency_met ? "met" : "MISSED") << ")\n";
    if (auto* h = out.find("http"))
      std::cout << "HTTP: " << num(*h, "tasks_created_per_second")
                << " tasks created/s over " << num(*h, "connections_opened")
                << " connections, p99 " << num(*h, "p99_ms") << " ms\n";
    if (auto* x = out.find("shared_input"))
      std::cout << "shared input: " << num(*x, "tasks") << " tasks, "
                << num(*x, "tasks_per_second") << " tasks/s, "
                << (x->find("disk_bytes_per_task") != nullptr
                      ? num(*x, "disk_bytes_per_task")
                      : std::string{"?"})
                << " bytes written per task; db "
                << num(*x->find("db_after"), "bytes") << " bytes in "
                << num(*x->find("db_after"), "wal_files")
                << " logs; restart " << num(*x, "restart_seconds")
                << " s (target < " << restart_target_seconds << ")\n";
    if (auto* x = out.find("predicates"))
      std::cout << "predicates: " << num(*x, "tasks_per_s")
                << " tasks/s with an admission and a success predicate, "
                << num(*x, "plain_tasks_per_s") << " without: "
                << num(*x, "slowdown_pct") << "% slower (target < "
                << predicates_slowdown_target_pct << ": "
                << (x->find("meets_target")->as_bool()
                      ? "met"
                      : "MISSED")
                << ")\n";
  }
  return exit_ok;
}

} // namespace omniva::cli
