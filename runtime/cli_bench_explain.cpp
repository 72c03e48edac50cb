// `omniva bench explain`: HaloLux's explanation latency on a large log, as a
// user meets it (`GET /api/explain/{id}` on a node serving HTTP, sync on)
// and as the pure `halolux::explain` over a reader. Figures go to stdout
// (one JSON document with --json), progress to stderr; nothing asserts on
// time (benchmarks/explain.sh runs it).
//
// Two steps. The fill (not measured): an embedded node with sync off and
// the mock adapter runs tasks until its log holds the packets asked for:
// one trace of many tasks (chains of 5 sharing one trace id), then
// independent tasks and chains of 5 through PENDING assets, half of the
// tasks each. The measure: the node started again on the same folder as a
// user runs it (sync on, HTTP), then explanations of random tasks (first
// time each, then again from HaloLux's cache), of the trace's first page,
// and the same without HTTP.

#include "contracts/halolux.hpp"
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
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

int run_bench_explain(const arguments& args);

namespace {

using namespace bench; // runtime/cli_bench_support.hpp

/// The p99 of a single task's explanation the node should meet (ms).
constexpr double target_p99_ms = 10;
/// What the interface spec allows any one explanation (ms).
constexpr double interface_limit_ms = 2000;
/// Tasks per chain of the fill (each link reads the output of the one
/// before, PENDING when submitted).
constexpr size_t chain_depth = 5;
/// Tasks the fill keeps submitted and unfinished at most: the backlog a
/// node with sync off can work through without holding the whole log's
/// tasks in its queues.
constexpr size_t max_in_flight = 4096;
/// Threads submitting during the fill (one node_session each).
constexpr size_t fill_threads = 16;
/// Workers of the fill node's pool: each attempt holds a worker across two
/// commits (dispatch, result), so one per core would measure that round
/// trip.
constexpr uint32_t fill_workers = 32;
/// The tasks are explained in blocks of this many, each block twice (first
/// time, then from the cache): fewer than HaloLux's 1,024 cache entries,
/// so the second pass finds every answer kept.
constexpr size_t cache_block = 500;
/// Requests of the trace's first page answered from the cache.
constexpr size_t trace_cached_requests = 100;
/// First pages of the trace with limits 100, 99, ...: a new query each,
/// so HaloLux builds each one.
constexpr size_t trace_uncached_requests = 20;
/// How long the fill may see no task finish before it gives up.
constexpr auto quiet_timeout = std::chrono::seconds{120};
/// The file in the data folder describing a finished fill; a later run with
/// `--data` on the same folder measures again without filling.
constexpr std::string_view fill_file = "bench-explain.json";
/// The ids of every task the fill submitted, one a line (the samples are
/// drawn from them).
constexpr std::string_view ids_file = "bench-explain-tasks.txt";








caf::error failure(std::string message) {
  return contracts::make_error(contracts::ec::invalid_argument, std::move(message));
}


/// Packets Zenith committed since the node started.
uint64_t committed_packets(runtime::node& node) {
  return static_cast<uint64_t>(metric(node.metrics(), "omniva_packets_total"));
}

// -- the modules ----------------------------------------------------------------

/// A mock-only module: one VALUE input, one JSON output.
constexpr std::string_view source_module = R"({
  "name": "explain-source",
  "version": 1,
  "description": "Benchmark module: one int in, one JSON document out (mock only).",
  "inputs": [
    {"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}
  ],
  "outputs": [
    {"key": "result", "label": "Result", "contract_type": "ASSET",
     "media_type": "application/json"}
  ],
  "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 30},
  "run": {"command": ["false"]},
  "schema_version": "1.0.0"
})";

/// A mock-only module reading the JSON output of the link before it.
constexpr std::string_view step_module = R"({
  "name": "explain-step",
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


contracts::task_request source_request(uint64_t n, std::string trace_id) {
  contracts::task_request r;
  r.module_ref = "explain-source@1";
  r.values["n"] = std::to_string(n);
  r.trace_id = std::move(trace_id);
  r.mode = contracts::execution_mode::mock;
  return r;
}

contracts::task_request step_request(const std::string& prev, std::string trace_id) {
  contracts::task_request r;
  r.module_ref = "explain-step@1";
  r.input_mapping["prev"] = prev;
  r.trace_id = std::move(trace_id);
  r.mode = contracts::execution_mode::mock;
  return r;
}

// -- the fill -------------------------------------------------------------------

/// Counts the fill's tasks from the events of Zenith's commits, and holds
/// submitters back while `max_in_flight` tasks are unfinished.
class fill_tracker {
public:
  explicit fill_tracker(runtime::node& n) : node_(n) {
    handle_ = node_.listen(
      [this](const std::vector<contracts::committed_event>& events) {
        on_commit(events);
      });
  }

  ~fill_tracker() {
    node_.unlisten(handle_);
  }

  fill_tracker(const fill_tracker&) = delete;
  fill_tracker& operator=(const fill_tracker&) = delete;

  /// Waits until `n` more tasks fit in flight, then counts them submitted.
  void reserve(size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] { return submitted_ - ended_ + n <= max_in_flight; });
    submitted_ += n;
  }

  /// Takes back `n` reserved tasks that were not submitted after all.
  void release(size_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    submitted_ -= n;
    cv_.notify_all();
  }

  /// Waits until every submitted task ended; false when none ended for
  /// `quiet_timeout` before that.
  bool drain() {
    std::unique_lock<std::mutex> lock{mtx_};
    while (ended_ < submitted_) {
      auto seen = ended_;
      if (!cv_.wait_for(lock, quiet_timeout, [&] { return ended_ != seen; }))
        return false;
    }
    return true;
  }

  /// Tasks that ended other than DONE, and the first of them.
  size_t failed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return failed_;
  }
  std::string first_failed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return first_failed_;
  }

  size_t ended() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return ended_;
  }

private:
  void on_commit(const std::vector<contracts::committed_event>& events) {
    size_t ended = 0;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& e : events) {
      bool done = e.kind == "task.succeeded" || e.kind == "task.reused";
      bool not_done = e.kind == "task.failed" || e.kind == "task.cancelled"
                      || e.kind == "task.skipped";
      if (not_done && failed_++ == 0)
        first_failed_ = e.subject + " (" + e.kind + ")";
      if (done || not_done)
        ++ended;
    }
    if (ended > 0) {
      ended_ += ended;
      cv_.notify_all();
    }
  }

  runtime::node& node_;
  uint64_t handle_ = 0;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  size_t submitted_ = 0;
  size_t ended_ = 0;
  size_t failed_ = 0;
  std::string first_failed_;
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

/// What the fill made (also the contents of `fill_file`).
struct fill_figures {
  uint64_t packets = 0;
  uint64_t tasks = 0;
  std::string trace_id;
  uint64_t trace_tasks = 0;
  double seconds = 0;
  /// The ids of every task submitted.
  std::vector<std::string> task_ids;
};

/// The submissions of the fill, from many threads: chains and independent
/// tasks, each task's id recorded.
class submitter {
public:
  explicit submitter(fill_tracker& tracker) : tracker_(tracker) {
  }

  /// A chain of `depth` tasks (the first takes value `n`, each next link
  /// the output of the one before) in trace `trace_id` ("": a trace of its
  /// own, the first link's). Returns the first link's trace, or an error.
  caf::expected<std::string> chain(runtime::node_session& s, uint64_t n,
                                   size_t depth, std::string trace_id) {
    tracker_.reserve(depth);
    auto r = s.submit(source_request(n, trace_id));
    size_t submitted = 0;
    for (;;) {
      if (!r.ok) {
        tracker_.release(depth - submitted);
        return refused(r);
      }
      ++submitted;
      record(r.task.task_id);
      if (trace_id.empty())
        trace_id = r.task.trace_id;
      if (submitted == depth)
        return trace_id;
      r = s.submit(step_request(r.task.outputs.at("result"), trace_id));
    }
  }

  /// One task of its own trace.
  caf::error single(runtime::node_session& s, uint64_t n) {
    tracker_.reserve(1);
    auto r = s.submit(source_request(n, ""));
    if (!r.ok) {
      tracker_.release(1);
      return refused(r);
    }
    record(r.task.task_id);
    return caf::none;
  }

  /// Moves the ids recorded so far out.
  std::vector<std::string> take_ids() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::move(ids_);
  }

private:
  void record(std::string id) {
    std::lock_guard<std::mutex> guard{mtx_};
    ids_.push_back(std::move(id));
  }

  static caf::error refused(const contracts::submit_result& r) {
    return failure(r.problems.empty()
                     ? std::string{"a submission was refused without a reason"}
                     : "a submission was refused: "
                         + std::string{contracts::to_string(r.problems.front().code)}
                         + ": " + r.problems.front().message);
  }

  fill_tracker& tracker_;
  std::mutex mtx_;
  std::vector<std::string> ids_;
};

/// Prints the fill's progress on stderr every second while it lives.
class progress_printer {
public:
  progress_printer(runtime::node& node, fill_tracker& tracker, uint64_t wanted)
    : thread_([this, &node, &tracker, wanted] {
        auto began = steady::now();
        std::unique_lock<std::mutex> lock{mtx_};
        while (!cv_.wait_for(lock, std::chrono::seconds{1}, [&] { return stop_; })) {
          auto secs = seconds_between(began, steady::now());
          auto ended = tracker.ended();
          std::cerr << "\romniva bench explain: filling: " << committed_packets(node)
                    << " of " << wanted << " packets, " << ended << " tasks done ("
                    << static_cast<uint64_t>(static_cast<double>(ended) / secs)
                    << "/s, " << static_cast<uint64_t>(secs) << " s)   "
                    << std::flush;
        }
      }) {
  }

  ~progress_printer() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    std::cerr << '\n';
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

caf::expected<std::unique_ptr<runtime::node>>
start_node(const fs::path& data, bool filling) {
  runtime::node_options opts;
  opts.data_dir = data.string();
  opts.force_mock = true;
  opts.http_port = 0;
  if (filling) {
    // Setup, not measured: no fsync, no HTTP, enough workers.
    opts.sync = false;
    opts.serve_http = false;
    auto pool = runtime::default_pool();
    pool.workers = fill_workers;
    opts.pools.push_back(pool);
  } else {
    // As a user runs it: sync on, HTTP, the default pool.
    opts.sync = true;
    opts.serve_http = true;
  }
  return runtime::node::start(opts);
}

/// Fills the log of a new node in `data` with at least `wanted` packets:
/// first a trace of `trace_tasks` tasks (chains of `chain_depth` in one
/// trace), then rounds of independent tasks and chains (half of the tasks
/// each) sized from the packets per task seen so far, until the log holds
/// enough.
caf::expected<fill_figures> fill(const fs::path& data,
                                 const std::vector<std::string>& module_dirs,
                                 uint64_t wanted, uint64_t trace_tasks) {
  fill_figures fig;
  auto began = steady::now();
  auto node = start_node(data, true);
  if (!node)
    return node.error();
  for (auto& dir : module_dirs)
    if (auto ref = (*node)->register_module_dir(dir); !ref)
      return ref.error();
  caf::error error;
  std::mutex error_mtx;
  auto keep = [&](caf::error err) {
    std::lock_guard<std::mutex> guard{error_mtx};
    if (!error)
      error = std::move(err);
  };
  auto failed = [&] {
    std::lock_guard<std::mutex> guard{error_mtx};
    return static_cast<bool>(error);
  };
  {
    fill_tracker tracker{**node};
    submitter submit{tracker};
    progress_printer progress{**node, tracker, wanted};
    uint64_t value = 0;
    // The trace: its first chain opens it, the rest join it.
    {
      auto session = (*node)->session();
      auto first = std::min<uint64_t>(chain_depth, trace_tasks);
      auto trace = submit.chain(session, value++, first, "");
      if (!trace)
        return trace.error();
      fig.trace_id = *trace;
    }
    std::atomic<uint64_t> next_link{std::min<uint64_t>(chain_depth, trace_tasks)};
    value += trace_tasks;
    on_threads(fill_threads, [&](size_t) {
      auto session = (*node)->session();
      for (;;) {
        auto at = next_link.fetch_add(chain_depth);
        if (at >= trace_tasks || failed())
          return;
        auto depth = std::min<uint64_t>(chain_depth, trace_tasks - at);
        if (auto r = submit.chain(session, at, depth, fig.trace_id); !r)
          return keep(r.error());
      }
    });
    if (error)
      return error;
    fig.trace_tasks = trace_tasks;
    uint64_t tasks = trace_tasks;
    // The rest, in rounds: a round submits the tasks the packets still
    // missing need at the ratio seen so far, then waits for all of them.
    for (;;) {
      if (!tracker.drain())
        return failure("no task of the fill ended for "
                       + std::to_string(quiet_timeout.count()) + " s");
      if (tracker.failed() > 0)
        return failure(std::to_string(tracker.failed())
                       + " tasks of the fill did not end DONE, the first: "
                       + tracker.first_failed());
      auto packets = committed_packets(**node);
      if (packets >= wanted)
        break;
      auto per_task = static_cast<double>(packets) / static_cast<double>(tasks);
      auto round_tasks = static_cast<uint64_t>(
        std::ceil(static_cast<double>(wanted - packets) / per_task));
      // Units of 10 tasks: one chain of 5 and 5 independent tasks.
      std::atomic<uint64_t> next{0};
      auto round_begin = value;
      on_threads(fill_threads, [&](size_t) {
        auto session = (*node)->session();
        for (;;) {
          auto i = next++;
          if (i * 2 * chain_depth >= round_tasks || failed())
            return;
          auto base = round_begin + i * 2 * chain_depth;
          if (auto r = submit.chain(session, base, chain_depth, ""); !r)
            return keep(r.error());
          for (size_t k = 0; k < chain_depth; ++k)
            if (auto err = submit.single(session, base + chain_depth + k))
              return keep(std::move(err));
        }
      });
      if (error)
        return error;
      auto units = (round_tasks + 2 * chain_depth - 1) / (2 * chain_depth);
      value += units * 2 * chain_depth;
      tasks += units * 2 * chain_depth;
    }
    fig.packets = committed_packets(**node);
    fig.tasks = tasks;
    fig.task_ids = submit.take_ids();
  }
  (*node)->stop();
  fig.seconds = seconds_between(began, steady::now());
  return fig;
}

/// Writes `fill_file` and `ids_file` into `folder`.
caf::error save_fill(const fs::path& folder, const fill_figures& fig) {
  json::value doc{json::object{}};
  doc.set("packets", fig.packets);
  doc.set("tasks", fig.tasks);
  doc.set("trace_id", fig.trace_id);
  doc.set("trace_tasks", fig.trace_tasks);
  doc.set("fill_seconds", fig.seconds);
  std::ofstream{folder / fill_file} << json::serialize(doc, json::style::pretty)
                                    << '\n';
  std::ofstream ids{folder / ids_file};
  for (auto& id : fig.task_ids)
    ids << id << '\n';
  if (!ids)
    return contracts::make_error(contracts::ec::io_error,
                                 "cannot write " + (folder / ids_file).string());
  return caf::none;
}

/// Reads back what `save_fill` wrote.
caf::expected<fill_figures> load_fill(const fs::path& folder) {
  auto parsed = json::parse_file((folder / fill_file).string());
  if (!parsed)
    return failure((folder / fill_file).string() + " is not a fill's record");
  auto& doc = *parsed.doc;
  auto number = [&](std::string_view key) {
    auto* v = doc.find(key);
    return v != nullptr && v->is_number() ? v->as_double() : 0.0;
  };
  fill_figures fig;
  fig.packets = static_cast<uint64_t>(number("packets"));
  fig.tasks = static_cast<uint64_t>(number("tasks"));
  fig.trace_tasks = static_cast<uint64_t>(number("trace_tasks"));
  fig.seconds = number("fill_seconds");
  if (auto* t = doc.find("trace_id"); t != nullptr && t->is_string())
    fig.trace_id = t->as_string();
  std::ifstream ids{folder / ids_file};
  for (std::string line; std::getline(ids, line);)
    if (!line.empty())
      fig.task_ids.push_back(std::move(line));
  if (fig.trace_id.empty() || fig.task_ids.empty())
    return failure((folder / fill_file).string() + " or "
                   + (folder / ids_file).string() + " is incomplete");
  return fig;
}

// -- the measure ------------------------------------------------------------------

/// What one answer of `GET /api/explain/{id}` must be: 200, an explanation
/// of `id` as a `kind`, with completeness above 0 and at least one
/// statement. Returns why not, "" when it is.
std::string check_answer(const runtime::http_result& res, const std::string& id,
                         std::string_view kind) {
  if (res.status != 200)
    return "GET /api/explain/" + id + ": " + res.reason();
  auto doc = res.json();
  if (!doc)
    return "GET /api/explain/" + id + ": the answer is not JSON";
  auto* subject = doc->find("subject");
  auto* subject_kind = doc->find("subject_kind");
  auto* completeness = doc->find("completeness");
  auto* chain = doc->find("chain");
  if (subject == nullptr || !subject->is_string() || subject->as_string() != id)
    return "GET /api/explain/" + id + ": the answer explains another subject";
  if (subject_kind == nullptr || !subject_kind->is_string()
      || subject_kind->as_string() != kind)
    return "GET /api/explain/" + id + ": not explained as a " + std::string{kind};
  if (completeness == nullptr || !completeness->is_number()
      || !(completeness->as_double() > 0))
    return "GET /api/explain/" + id + ": completeness is not above 0";
  if (chain == nullptr || !chain->is_array() || chain->as_array().empty())
    return "GET /api/explain/" + id + ": the chain is empty";
  return "";
}

/// The figures of the measure.
struct measure_figures {
  double restart_seconds = 0;
  uint64_t packets = 0;
  std::vector<double> task_cold_ms;
  std::vector<double> task_cached_ms;
  /// The smallest and the mean completeness of the sampled tasks.
  double completeness_min = 1;
  double completeness_sum = 0;
  double trace_first_ms = 0;
  std::vector<double> trace_uncached_ms;
  std::vector<double> trace_cached_ms;
  uint64_t trace_page_statements = 0;
  bool trace_has_next = false;
  std::vector<double> inner_task_ms;
  std::vector<double> inner_trace_ms;
};

/// A lineage source over `r` reading nothing after packet `horizon` (as
/// HaloLux's actor binds it, without the cache's bookkeeping).
halolux::lineage_source source_over(const storage::reader& r, uint64_t horizon) {
  halolux::lineage_source src;
  src.history = [&r, horizon](std::string_view subject, uint64_t first,
                              uint64_t last, size_t limit) {
    return r.history(subject, first, std::min(last, horizon), limit);
  };
  src.last_seq = [&r, horizon](std::string_view subject, uint64_t at_most) {
    return r.last_seq_of(subject, std::min(at_most, horizon));
  };
  src.at = [&r, horizon](uint64_t seq) -> caf::expected<contracts::packet> {
    if (seq > horizon)
      return contracts::make_error(contracts::ec::not_found,
                                   "no packet at seq " + std::to_string(seq));
    return r.packet_by_seq(seq);
  };
  src.trace = [&r, horizon](std::string_view trace, uint64_t first,
                            uint64_t last, size_t limit) {
    return r.by_trace(trace, first, std::min(last, horizon), limit);
  };
  return src;
}

/// (a) to (c): through the HTTP API of `node`, one kept-alive connection.
caf::error measure_http(const runtime::node& node, const std::vector<std::string>& ids,
                        const std::string& trace_id, uint64_t trace_tasks,
                        measure_figures& fig) {
  runtime::http_client client{"http://127.0.0.1:" + std::to_string(node.port()),
                              node.token()};
  auto get = [&](const std::string& target, double& ms) {
    auto t0 = steady::now();
    auto res = client.request("GET", target);
    ms = ms_between(t0, steady::now());
    return res;
  };
  // (a), (b): blocks of tasks, each asked for the first time, then again.
  std::cerr << "omniva bench explain: " << ids.size()
            << " tasks over HTTP, first time and cached..." << std::flush;
  for (size_t block = 0; block < ids.size(); block += cache_block) {
    auto end = std::min(ids.size(), block + cache_block);
    for (auto pass : {0, 1})
      for (auto i = block; i < end; ++i) {
        double ms = 0;
        auto res = get("/api/explain/" + ids[i], ms);
        if (auto why = check_answer(res, ids[i], "task"); !why.empty())
          return failure(why);
        if (pass == 0) {
          fig.task_cold_ms.push_back(ms);
          auto c = res.json()->find("completeness")->as_double();
          fig.completeness_min = std::min(fig.completeness_min, c);
          fig.completeness_sum += c;
        } else {
          fig.task_cached_ms.push_back(ms);
        }
      }
  }
  // (c) the trace's first page: the first request, new queries (limits
  // 100, 99, ...), then the same query again.
  std::cerr << " done\nomniva bench explain: the first page of the trace of "
            << trace_tasks << " tasks..." << std::flush;
  auto page = [&](uint32_t limit, double& ms) -> caf::expected<json::value> {
    auto res = get("/api/explain/" + trace_id + "?limit=" + std::to_string(limit), ms);
    if (auto why = check_answer(res, trace_id, "trace"); !why.empty())
      return failure(why);
    return *res.json();
  };
  auto first = page(halolux::default_limit, fig.trace_first_ms);
  if (!first)
    return first.error();
  fig.trace_page_statements = first->find("chain")->as_array().size();
  if (auto* next = first->find("next_cursor"); next != nullptr && next->is_string())
    fig.trace_has_next = !next->as_string().empty();
  for (size_t i = 1; i <= trace_uncached_requests; ++i) {
    double ms = 0;
    if (auto r = page(halolux::default_limit - static_cast<uint32_t>(i), ms); !r)
      return r.error();
    fig.trace_uncached_ms.push_back(ms);
  }
  for (size_t i = 0; i < trace_cached_requests; ++i) {
    double ms = 0;
    if (auto r = page(halolux::default_limit, ms); !r)
      return r.error();
    fig.trace_cached_ms.push_back(ms);
  }
  std::cerr << " done\n";
  return caf::none;
}

/// Starts the node on `data` as a user runs it and measures.
caf::expected<measure_figures> measure(const fs::path& data,
                                       const std::vector<std::string>& ids,
                                       const std::string& trace_id,
                                       uint64_t trace_tasks) {
  measure_figures fig;
  auto starting = steady::now();
  auto node = start_node(data, false);
  if (!node)
    return node.error();
  fig.restart_seconds = seconds_between(starting, steady::now());
  if (auto err = measure_http(**node, ids, trace_id, trace_tasks, fig))
    return err;
  // (d) the pure explanation over a reader of the same database (a
  // secondary: its block cache is its own, the OS's page cache is shared).
  std::cerr << "omniva bench explain: the same without HTTP..." << std::flush;
  {
    auto reader = storage::open_reader(
      storage::database_path(data.string()));
    if (!reader)
      return reader.error();
    auto count = (*reader)->packet_count();
    if (!count)
      return count.error();
    fig.packets = *count;
    auto src = source_over(**reader, *count);
    for (auto& id : ids) {
      contracts::explain_query q;
      q.id = id;
      auto t0 = steady::now();
      auto x = halolux::explain(q, src);
      fig.inner_task_ms.push_back(ms_between(t0, steady::now()));
      if (!x)
        return x.error();
      if (!(x->completeness > 0))
        return failure("halolux::explain(" + id + "): completeness is not above 0");
    }
    for (size_t i = 0; i < trace_uncached_requests; ++i) {
      contracts::explain_query q;
      q.id = trace_id;
      q.limit = halolux::default_limit;
      auto t0 = steady::now();
      auto x = halolux::explain(q, src);
      fig.inner_trace_ms.push_back(ms_between(t0, steady::now()));
      if (!x)
        return x.error();
    }
  }
  std::cerr << " done\n";
  (*node)->stop();
  return fig;
}

/// `count` distinct ids drawn from `ids` with `seed` (all of them when
/// there are fewer), in the order drawn.
std::vector<std::string> draw(const std::vector<std::string>& ids, size_t count,
                              uint64_t seed) {
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::mt19937_64 rng{seed};
  count = std::min(count, ids.size());
  // A partial Fisher-Yates shuffle: the first `count` places.
  for (size_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<size_t> pick{i, order.size() - 1};
    std::swap(order[i], order[pick(rng)]);
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i)
    out.push_back(ids[order[i]]);
  return out;
}

/// Makes `<data>/outputs` a link into a fresh folder in /dev/shm (replacing
/// the link an earlier run left, whose target is gone), so that the mock
/// adapter's hundreds of thousands of small output files do not go to the
/// disk; returns that folder, or "" when there is no /dev/shm (the outputs
/// then stay in the data folder).
caf::expected<fs::path> outputs_in_memory(const fs::path& data) {
  std::error_code err;
  if (!fs::is_directory("/dev/shm", err))
    return fs::path{};
  auto pattern = std::string{"/dev/shm/omniva-bench-explain-XXXXXX"};
  if (mkdtemp(pattern.data()) == nullptr)
    return fs::path{};
  auto link = data / "outputs";
  fs::create_directories(data, err);
  std::error_code not_there; // symlink_status reports a missing link so
  if (!err && fs::symlink_status(link, not_there).type() == fs::file_type::symlink)
    fs::remove(link, err);
  if (!err)
    fs::create_directory_symlink(pattern, link, err);
  if (err) {
    std::error_code ignored;
    fs::remove(pattern, ignored);
    return contracts::make_error(contracts::ec::io_error,
                                 "cannot link " + link.string() + " to "
                                   + pattern + ": " + err.message());
  }
  return fs::path{pattern};
}

} // namespace

int run_bench_explain(const arguments& args) {
  uint64_t packets = 1'000'000;
  size_t samples = 2'000;
  uint64_t trace_tasks = 0;
  uint64_t seed = 1;
  std::string data;
  po::options_description opts{"options"};
  opts.add_options()
    ("json", "print one JSON document")
    ("packets", po::value(&packets),
     "packets the log holds at least (default: 1000000)")
    ("samples", po::value(&samples),
     "distinct random tasks explained (default: 2000)")
    ("trace-tasks", po::value(&trace_tasks),
     "tasks of the trace whose first page is explained (default: "
     "packets / 100, at most 10000, at least 5)")
    ("seed", po::value(&seed), "seed of the random draw of tasks (default: 1)")
    ("data", po::value(&data),
     "work in DIR and keep it; a DIR an earlier run filled is measured again "
     "without filling (default: a temporary folder, removed)");
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva bench explain [--json] [--packets N] [--samples N] "
        "[--trace-tasks N] [--seed S] [--data DIR]",
        "Fills the log of an embedded node (mock adapter, sync off, not "
        "measured) with at least N packets: a trace of many tasks (chains of "
        "5), then independent tasks and chains of 5 through PENDING assets. "
        "Then starts the node again on it as a user runs it (sync on, HTTP) "
        "and measures HaloLux's explanations: (a) GET /api/explain/{id} of "
        "random tasks, each the first time, (b) the same again from HaloLux's "
        "cache, (c) the trace's first page (100 tasks), first time and "
        "cached, (d) halolux::explain over a reader, without HTTP. Target: "
        "p99 of (a) under 10 ms; the interface allows 2 s.",
        opts, {}, args, vm))
    return *rc;
  if (packets == 0 || samples == 0) {
    print_error("--packets and --samples must be positive");
    return exit_usage;
  }
  if (vm.count("trace-tasks") == 0)
    trace_tasks = std::clamp<uint64_t>(packets / 100, chain_depth, 10'000);
  if (trace_tasks == 0) {
    print_error("--trace-tasks must be positive");
    return exit_usage;
  }
  bool json_out = vm.count("json") > 0;
  // The node logs through spdlog, whose default logger writes to stdout:
  // keep stdout for the figures.
  auto logger = spdlog::stderr_color_mt("omniva-bench-explain");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  work_folder folder;
  std::error_code ec;
  bool reuse = false;
  if (!data.empty()) {
    folder.path = data;
    folder.keep = true;
    reuse = fs::exists(folder.path / fill_file, ec);
    if (!reuse && fs::exists(folder.path, ec) && !fs::is_empty(folder.path, ec)) {
      print_error(data + " is neither empty nor filled by an earlier run of "
                         "omniva bench explain");
      return exit_failure;
    }
  } else {
    auto pattern = (fs::temp_directory_path(ec) / "omniva-bench-explain-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      print_error("cannot create a temporary folder");
      return exit_failure;
    }
    folder.path = pattern;
  }
  auto node_dir = folder.path / "node";
  auto outputs = outputs_in_memory(node_dir);
  if (!outputs) {
    print_error(error_text(outputs.error()));
    return exit_failure;
  }
  folder.outputs = *outputs;
  fill_figures filled;
  if (reuse) {
    auto loaded = load_fill(folder.path);
    if (!loaded) {
      print_error(error_text(loaded.error()));
      return exit_failure;
    }
    filled = std::move(*loaded);
    if (filled.packets < packets) {
      print_error(data + " holds " + std::to_string(filled.packets)
                  + " packets, fewer than --packets " + std::to_string(packets)
                  + ": give an empty folder");
      return exit_failure;
    }
    std::cerr << "omniva bench explain: measuring the log of " << filled.packets
              << " packets an earlier run filled in " << data << '\n';
  } else {
    auto modules = bench::write_modules(folder.path / "modules",
                                        {{"explain-source", source_module},
                                         {"explain-step", step_module}});
    std::cerr << "omniva bench explain: filling the log with " << packets
              << " packets (a trace of " << trace_tasks
              << " tasks, then independent tasks and chains of " << chain_depth
              << "; sync off)\n";
    auto made = fill(node_dir, modules, packets, trace_tasks);
    if (!made) {
      print_error("the fill: " + error_text(made.error()));
      return exit_failure;
    }
    filled = std::move(*made);
    if (auto err = save_fill(folder.path, filled)) {
      print_error(error_text(err));
      return exit_failure;
    }
  }
  auto ids = draw(filled.task_ids, samples, seed);
  auto measured = measure(node_dir, ids, filled.trace_id, filled.trace_tasks);
  if (!measured) {
    print_error("the measure: " + error_text(measured.error()));
    return exit_failure;
  }
  auto& m = *measured;
  // -- report
  auto cold = latency_json(m.task_cold_ms, 3);
  auto cold_p99 = cold.find("p99_ms")->as_double();
  std::vector<double> all = m.task_cold_ms;
  for (auto* xs : {&m.task_cached_ms, &m.trace_uncached_ms, &m.trace_cached_ms})
    all.insert(all.end(), xs->begin(), xs->end());
  all.push_back(m.trace_first_ms);
  bool within_limit = std::all_of(all.begin(), all.end(),
                                  [](double ms) { return ms < interface_limit_ms; });
  bool met = cold_p99 < target_p99_ms;
  json::value out{json::object{}};
  out.set("benchmark", "explain");
  out.set("what",
          "HaloLux's explanations on a filled log, through HTTP (GET "
          "/api/explain/{id}, one kept-alive connection, node sync on) and "
          "without (halolux::explain over a reader)");
  out.set("cores", static_cast<uint64_t>(std::thread::hardware_concurrency()));
  out.set("packets", m.packets);
  out.set("tasks", filled.tasks);
  out.set("fill_seconds", rounded(filled.seconds, 1));
  out.set("fill_reused", reuse);
  out.set("restart_seconds", rounded(m.restart_seconds, 3));
  json::value http{json::object{}};
  cold.set("target_p99_ms", target_p99_ms);
  cold.set("meets_target", met);
  cold.set("completeness_min", rounded(m.completeness_min, 3));
  cold.set("completeness_mean",
           rounded(m.completeness_sum / static_cast<double>(m.task_cold_ms.size()), 3));
  http.set("task_first_time", std::move(cold));
  http.set("task_cached", latency_json(m.task_cached_ms, 3));
  json::value trace{json::object{}};
  trace.set("trace_tasks", filled.trace_tasks);
  trace.set("limit", static_cast<uint64_t>(halolux::default_limit));
  trace.set("statements", m.trace_page_statements);
  trace.set("has_next_page", m.trace_has_next);
  trace.set("first_request_ms", rounded(m.trace_first_ms, 3));
  trace.set("uncached", latency_json(m.trace_uncached_ms, 3));
  trace.set("cached", latency_json(m.trace_cached_ms, 3));
  http.set("trace_first_page", std::move(trace));
  out.set("http", std::move(http));
  json::value inner{json::object{}};
  inner.set("task", latency_json(m.inner_task_ms, 3));
  inner.set("trace_first_page", latency_json(m.inner_trace_ms, 3));
  out.set("inner", std::move(inner));
  out.set("target_p99_ms", target_p99_ms);
  out.set("meets_target", met);
  out.set("interface_limit_ms", interface_limit_ms);
  out.set("within_interface_limit", within_limit);
  out.set("process_peak_rss_mb", rounded(peak_rss_mb(), 1));
  if (folder.keep)
    out.set("data", fs::absolute(folder.path).string());
  if (json_out) {
    std::cout << json::serialize(out, json::style::pretty) << '\n';
    return exit_ok;
  }
  auto num = [](const json::value& v, std::string_view key) {
    return json::serialize(*v.find(key));
  };
  auto& h = *out.find("http");
  auto& first_time = *h.find("task_first_time");
  auto& cached = *h.find("task_cached");
  auto& page = *h.find("trace_first_page");
  auto& in = *out.find("inner");
  std::cout << "log: " << num(out, "packets") << " packets, " << num(out, "tasks")
            << " tasks (filled in " << num(out, "fill_seconds") << " s"
            << (reuse ? ", an earlier run" : "") << "); restart "
            << num(out, "restart_seconds") << " s\n"
            << "task, first time (HTTP): p50 " << num(first_time, "p50_ms")
            << " ms, p99 " << num(first_time, "p99_ms") << " ms, max "
            << num(first_time, "max_ms") << " ms (target p99 < " << target_p99_ms
            << " ms: " << (met ? "met" : "MISSED") << ")\n"
            << "task, cached (HTTP): p50 " << num(cached, "p50_ms") << " ms, p99 "
            << num(cached, "p99_ms") << " ms\n"
            << "trace of " << num(page, "trace_tasks") << " tasks, first page: "
            << num(page, "first_request_ms") << " ms the first time; uncached p50 "
            << num(*page.find("uncached"), "p50_ms") << " ms; cached p50 "
            << num(*page.find("cached"), "p50_ms") << " ms, p99 "
            << num(*page.find("cached"), "p99_ms") << " ms\n"
            << "without HTTP: task p50 " << num(*in.find("task"), "p50_ms")
            << " ms, p99 " << num(*in.find("task"), "p99_ms")
            << " ms; trace page p50 " << num(*in.find("trace_first_page"), "p50_ms")
            << " ms\n";
  return exit_ok;
}

} // namespace omniva::cli
