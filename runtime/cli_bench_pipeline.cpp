// `omniva bench pipeline`: a pipeline run fanning out to many mock tasks,
// through a node that serves HTTP, against independent tasks on a node with
// the same settings in the same invocation (docs/benchmarks.md, "pipeline").
// Figures go to stdout (one JSON document with --json), progress to stderr;
// nothing asserts on time (benchmarks/pipeline.sh runs it).

#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "runtime/cli.hpp"
#include "runtime/cli_bench_support.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

int run_bench_pipeline(const arguments& args);

namespace {

using namespace bench; // runtime/cli_bench_support.hpp
using wall = std::chrono::system_clock;

/// The run's element tasks per second, as a share of the independent
/// tasks per second measured beside it, that the run should reach.
constexpr double target_ratio = 0.8;
/// How long the benchmark waits without any task finishing before it
/// gives up.
constexpr auto quiet_timeout = std::chrono::seconds{120};

// -- the modules and the pipeline ----------------------------------------------------

/// The run's first step: a list of JSON documents (`many`; the mock
/// adapter writes OMNIVA_MOCK_MANY of them).
constexpr std::string_view source_module = R"({
  "name": "bench-source",
  "version": 1,
  "description": "Benchmark module: a list of JSON documents (mock only).",
  "inputs": [
    {"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}
  ],
  "outputs": [
    {"key": "items", "label": "Items", "contract_type": "ASSET",
     "media_type": "application/json", "many": true}
  ],
  "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 120},
  "run": {"command": ["false"]},
  "schema_version": "1.0.0"
})";

/// The step run once per element: one JSON asset in, one JSON document out
/// (the shape of `bench tasks`' chain links).
constexpr std::string_view element_module = R"({
  "name": "bench-element",
  "version": 1,
  "description": "Benchmark module: one JSON asset in, one JSON document out (mock only).",
  "inputs": [
    {"key": "item", "label": "Item", "contract_type": "ASSET",
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

/// The fan-in: the list of every element's result in, one JSON document out.
constexpr std::string_view gather_module = R"({
  "name": "bench-gather",
  "version": 1,
  "description": "Benchmark module: a list of assets in, one JSON document out (mock only).",
  "inputs": [
    {"key": "items", "label": "Items", "contract_type": "ASSET",
     "constraints": {"media_types": ["application/vnd.omniva.asset-list+json"]}}
  ],
  "outputs": [
    {"key": "report", "label": "Report", "contract_type": "ASSET",
     "media_type": "application/json"}
  ],
  "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 120},
  "run": {"command": ["false"]},
  "schema_version": "1.0.0"
})";

/// The pipeline's ref.
constexpr std::string_view pipeline_ref = "bench-fanout@1";

/// source -> for_each element (-> collect gather): the document.
std::string pipeline_document(size_t elements, bool collect) {
  auto step = [](std::string_view id, std::string_view module) {
    json::value s{json::object{}};
    s.set("id", id);
    s.set("module", module);
    return s;
  };
  auto from = [](std::string_view what) {
    return json::value{json::object{{"from", json::value{what}}}};
  };
  json::array steps;
  auto source = step("source", "bench-source@1");
  source.set("inputs",
             json::object{{"n", json::object{{"value", static_cast<int64_t>(elements)}}}});
  steps.push_back(std::move(source));
  auto element = step("element", "bench-element@1");
  element.set("for_each", from("source.items"));
  element.set("inputs", json::object{{"item", from("item")}});
  steps.push_back(std::move(element));
  json::value outputs{json::object{}};
  if (collect) {
    auto gather = step("gather", "bench-gather@1");
    gather.set("collect", from("element.result"));
    gather.set("inputs", json::object{{"items", from("collected")}});
    steps.push_back(std::move(gather));
    outputs.set("report", from("gather.report"));
  } else {
    outputs.set("results", from("element.result"));
  }
  json::value doc{json::object{}};
  doc.set("name", "bench-fanout");
  doc.set("version", int64_t{1});
  doc.set("schema_version", "1.0.0");
  doc.set("description",
          "Benchmark pipeline: one list, one mock task per element"
          + std::string{collect ? ", gathered" : ""});
  doc.set("steps", json::value{std::move(steps)});
  doc.set("outputs", std::move(outputs));
  return json::serialize(doc);
}


// -- the events of the commits ---------------------------------------------------

/// One committed event as the benchmark keeps it: what it is, when its
/// commit was published (steady and wall clock) and which commit it was.
struct seen_event {
  std::string kind;
  std::string subject;
  /// The packet's own time (RFC 3339, milliseconds): when Zenith made it.
  std::string packet_at;
  /// Kept for task.created, decision.zenith and run.* only.
  std::string payload;
  steady::time_point published;
  wall::time_point published_wall;
  /// The commit's number, counted from the listener's start.
  uint64_t commit = 0;
};

/// Keeps the events of Zenith's commits that the figures need (as a client
/// following `GET /api/events` would see them, timed when each commit was
/// published): task ends always; task creations, decisions and run events
/// with their payload when `with_payloads`. Costs the node a copy per kept
/// event, on Zenith's thread.
class event_log {
public:
  event_log(runtime::node& n, bool with_payloads)
      : node_(n), with_payloads_(with_payloads) {
    handle_ = node_.listen(
      [this](const std::vector<contracts::committed_event>& events) {
        on_commit(events);
      });
  }

  ~event_log() {
    node_.unlisten(handle_);
  }

  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  /// Waits until `done(events)` holds, checked after each commit that kept
  /// an event; false when no task ended (and `done` still fails) for
  /// `quiet_timeout`.
  template <class Predicate>
  bool wait_until(Predicate done) {
    std::unique_lock<std::mutex> lock{mtx_};
    while (!done(events_)) {
      auto ends = ends_;
      if (!cv_.wait_for(lock, quiet_timeout, [&] {
            return ends_ != ends || done(events_);
          }))
        return false;
    }
    return true;
  }

  /// The events kept so far (call once the phase is over).
  std::vector<seen_event> take() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::move(events_);
  }

private:
  static bool is_end(std::string_view kind) {
    return kind == "task.succeeded" || kind == "task.failed"
           || kind == "task.cancelled";
  }

  void on_commit(const std::vector<contracts::committed_event>& events) {
    auto now = steady::now();
    auto now_wall = wall::now();
    std::lock_guard<std::mutex> guard{mtx_};
    auto commit = commits_++;
    bool any = false;
    for (auto& e : events) {
      bool end = is_end(e.kind);
      bool detail = with_payloads_
                    && (e.kind == "task.created" || e.kind == "decision.zenith"
                        || e.kind.starts_with("run."));
      if (!end && !detail)
        continue;
      events_.push_back({e.kind, e.subject, e.at, detail ? e.payload : std::string{},
                         now, now_wall, commit});
      ends_ += end ? 1 : 0;
      any = true;
    }
    if (any)
      cv_.notify_all();
  }

  runtime::node& node_;
  bool with_payloads_;
  uint64_t handle_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<seen_event> events_;
  uint64_t commits_ = 0;
  uint64_t ends_ = 0;
};

// -- counters ---------------------------------------------------------------------

/// What the node did over `seconds`, per task of `tasks`.
json::value counters_json(const commit_counters& used, double seconds,
                          size_t tasks) {
  json::value out{json::object{}};
  out.set("commits", static_cast<uint64_t>(used.commits));
  out.set("packets", static_cast<uint64_t>(used.packets));
  out.set("packets_per_commit",
          rounded(used.commits > 0 ? used.packets / used.commits : 0.0, 1));
  out.set("cpu_cores_used", rounded(seconds > 0 ? used.cpu / seconds : 0.0, 2));
  // Shares of the time Zenith spent sealing and the write thread writing.
  out.set("seal_busy", rounded(seconds > 0 ? used.seal / seconds : 0.0, 2));
  out.set("write_busy", rounded(seconds > 0 ? used.write / seconds : 0.0, 2));
  out.set("cpu_us_per_task",
          rounded(tasks > 0 ? used.cpu * 1e6 / static_cast<double>(tasks) : 0.0, 1));
  return out;
}

// -- the node -----------------------------------------------------------------------

// -- (a) independent tasks ------------------------------------------------------------

struct independent_figures {
  size_t tasks = 0;
  double seconds = 0;
  commit_counters used;
};

/// `n` independent tasks submitted from `threads` threads (one session
/// each), as `bench tasks` (a) does: tasks/s from the first submission to
/// the publication of the last task's end.
caf::expected<independent_figures> independent(runtime::node& node, size_t n,
                                               size_t threads) {
  independent_figures fig;
  auto before = commit_counters::of(node);
  event_log log{node, false};
  std::mutex mtx;
  std::unordered_set<std::string> submitted;
  std::atomic<uint64_t> next{0};
  std::atomic<size_t> refused{0};
  std::string first_refusal;
  auto start = steady::now();
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      auto session = node.session();
      std::vector<std::string> mine;
      for (auto i = next++; i < n; i = next++) {
        auto r = session.submit(value_request(i));
        if (r.ok) {
          mine.push_back(r.task.task_id);
        } else if (refused++ == 0) {
          std::lock_guard<std::mutex> guard{mtx};
          first_refusal = r.problems.empty() ? "refused without a reason"
                                             : r.problems.front().message;
        }
      }
      std::lock_guard<std::mutex> guard{mtx};
      submitted.insert(mine.begin(), mine.end());
    });
  for (auto& t : pool)
    t.join();
  if (refused > 0)
    return contracts::make_error(contracts::ec::invalid_argument,
                                 std::to_string(refused.load())
                                   + " independent tasks refused, the first: "
                                   + first_refusal);
  size_t checked = 0;
  std::unordered_set<std::string> ended;
  steady::time_point last{};
  size_t failed = 0;
  bool all = log.wait_until([&](const std::vector<seen_event>& events) {
    for (; checked < events.size(); ++checked) {
      auto& e = events[checked];
      if (submitted.count(e.subject) == 0 || !ended.insert(e.subject).second)
        continue;
      last = std::max(last, e.published);
      failed += e.kind == "task.succeeded" ? 0 : 1;
    }
    return ended.size() == submitted.size();
  });
  fig.used = commit_counters::of(node) - before;
  if (!all)
    return contracts::make_error(contracts::ec::timeout,
                                 std::to_string(submitted.size() - ended.size())
                                   + " independent tasks did not end in time");
  if (failed > 0)
    return contracts::make_error(contracts::ec::invalid_argument,
                                 std::to_string(failed)
                                   + " independent tasks did not end DONE");
  fig.tasks = n;
  fig.seconds = seconds_between(start, last);
  return fig;
}

// -- (b) the run ------------------------------------------------------------------------

/// The milliseconds of an RFC 3339 time, or nullopt.
std::optional<wall::time_point> packet_time(const std::string& at) {
  auto t = contracts::parse_timestamp(at);
  if (!t)
    return std::nullopt;
  return wall::time_point{std::chrono::duration_cast<wall::duration>(
    t->time_since_epoch())};
}

double wall_ms(wall::time_point a, wall::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct run_figures {
  std::string run_id;
  /// The run as GET /api/runs/{id} gave it at the end.
  json::value run;
  std::string end_kind;
  size_t elements_created = 0;
  size_t elements_done = 0;
  size_t run_tasks = 0;
  /// POST .../runs until the run's end was published.
  double run_seconds = 0;
  /// The source task: its creation's publication until its success's.
  double source_seconds = 0;
  /// The list's AVAILABLE packet (the source's task.succeeded) -> the
  /// fan-out's decision.zenith packet -> the last element's task.created
  /// packet (packet times, ms), and the publication of the commit holding
  /// that last creation (wall clock).
  double decision_after_list_ms = 0;
  double last_created_after_decision_ms = 0;
  double fanout_ms = 0;
  /// How many commits published the element tasks' creations, and whether
  /// the list's own commit was the one holding the decision.
  uint64_t creation_commits = 0;
  bool decision_with_list = false;
  /// The list's AVAILABLE packet until the last element's end was
  /// published.
  double elements_seconds = 0;
  /// The last element's end until the run's end was published (the
  /// collect step's task, when there is one).
  double after_elements_seconds = 0;
  /// What the node did from the run's start to the publication of the
  /// fan-out's commit, and over the whole run.
  commit_counters fanout_used;
  commit_counters used;
  /// The most packets one commit held so far (the fan-out's, here).
  double batch_packets_max = 0;
};

/// Registers the pipeline over HTTP, starts a mock run of it and follows
/// the commits until the run ends.
caf::expected<run_figures> pipeline_run(runtime::node& node, size_t elements,
                                        bool collect) {
  auto fail = [](const std::string& what) {
    return contracts::make_error(contracts::ec::invalid_argument, what);
  };
  run_figures fig;
  runtime::http_client client{"http://127.0.0.1:" + std::to_string(node.port()),
                              node.token()};
  auto reg = client.request("POST", "/api/pipelines",
                            pipeline_document(elements, collect));
  if (reg.status != 201 && reg.status != 200)
    return fail("POST /api/pipelines: " + reg.reason() + " " + reg.body);
  auto before = commit_counters::of(node);
  event_log log{node, true};
  auto posted = steady::now();
  auto started = client.request(
    "POST", "/api/pipelines/" + runtime::url_encode(pipeline_ref) + "/runs",
    R"({"inputs": {}, "values": {}, "mode": "mock"})");
  if (started.status != 201)
    return fail("POST /api/pipelines/" + std::string{pipeline_ref}
                + "/runs: " + started.reason() + " " + started.body);
  auto run = started.json();
  auto* id = run ? run->find("run_id") : nullptr;
  if (id == nullptr || !id->is_string())
    return fail("POST .../runs answered without a run_id: " + started.body);
  fig.run_id = id->as_string();
  // The node's counters once the fan-out's commit is published: what the
  // run's first commits (the source task's, the fan-out's) cost.
  size_t scanned = 0;
  bool fanned = log.wait_until([&](const std::vector<seen_event>& events) {
    for (; scanned < events.size(); ++scanned)
      if (events[scanned].kind == "decision.zenith"
          && events[scanned].payload.find("\"fan_out\"") != std::string::npos)
        return true;
    return false;
  });
  if (fanned) {
    auto text = node.metrics();
    fig.fanout_used = commit_counters::of(node) - before;
    fig.batch_packets_max = metric(text, "omniva_batch_packets_max");
  }
  size_t checked = 0;
  bool ended = log.wait_until([&](const std::vector<seen_event>& events) {
    for (; checked < events.size(); ++checked) {
      auto& e = events[checked];
      if (e.subject == fig.run_id
          && (e.kind == "run.done" || e.kind == "run.failed"
              || e.kind == "run.cancelled"))
        return true;
    }
    return false;
  });
  fig.used = commit_counters::of(node) - before;
  if (!ended)
    return fail("the run " + fig.run_id + " did not end: no task ended for "
                + std::to_string(quiet_timeout.count()) + " s");
  auto events = log.take();
  auto got = client.request("GET", "/api/runs/" + runtime::url_encode(fig.run_id));
  if (auto doc = got.json(); got.status == 200 && doc)
    fig.run = std::move(*doc);
  // The run's tasks, by step.
  std::string source_id;
  std::unordered_set<std::string> element_ids;
  std::unordered_set<std::string> run_ids;
  const seen_event* source_created = nullptr;
  const seen_event* last_created = nullptr;
  const seen_event* decision = nullptr;
  const seen_event* list_available = nullptr;
  const seen_event* last_element_end = nullptr;
  const seen_event* run_end = nullptr;
  std::set<uint64_t> creation_commits;
  for (auto& e : events) {
    if (e.kind == "task.created") {
      auto p = json::parse(e.payload);
      if (!p)
        continue;
      auto text = [&](std::string_view key) {
        auto* v = p.doc->find(key);
        return v != nullptr && v->is_string() ? v->as_string() : std::string{};
      };
      if (text("run_id") != fig.run_id)
        continue;
      run_ids.insert(e.subject);
      if (text("step") == "source") {
        source_id = e.subject;
        source_created = &e;
      } else if (text("step") == "element") {
        element_ids.insert(e.subject);
        creation_commits.insert(e.commit);
        last_created = &e;
      }
    } else if (e.kind == "decision.zenith" && decision == nullptr) {
      auto p = json::parse(e.payload);
      auto* what = p ? p.doc->find("decision") : nullptr;
      auto* run_of = p ? p.doc->find("run_id") : nullptr;
      if (what != nullptr && what->is_string() && what->as_string() == "fan_out"
          && run_of != nullptr && run_of->is_string()
          && run_of->as_string() == fig.run_id)
        decision = &e;
    } else if (e.kind == "task.succeeded" || e.kind == "task.failed"
               || e.kind == "task.cancelled") {
      if (!source_id.empty() && e.subject == source_id && list_available == nullptr)
        list_available = &e;
      if (element_ids.count(e.subject) > 0) {
        fig.elements_done += e.kind == "task.succeeded" ? 1 : 0;
        last_element_end = &e;
      }
    } else if (e.subject == fig.run_id
               && (e.kind == "run.done" || e.kind == "run.failed"
                   || e.kind == "run.cancelled")) {
      run_end = &e;
    }
  }
  fig.end_kind = run_end != nullptr ? run_end->kind : "";
  fig.elements_created = element_ids.size();
  fig.run_tasks = run_ids.size();
  if (run_end == nullptr || source_created == nullptr || list_available == nullptr)
    return fail("the run " + fig.run_id + " ended without its source task's "
                "success (" + fig.end_kind + "): " + got.body.substr(0, 2000));
  if (list_available->kind != "task.succeeded")
    return fail("the source task " + source_id + " ended with "
                + list_available->kind);
  if (decision == nullptr || last_created == nullptr || last_element_end == nullptr)
    return fail("the run " + fig.run_id + " made no fan-out ("
                + std::to_string(fig.elements_created) + " element tasks): "
                + got.body.substr(0, 2000));
  fig.run_seconds = seconds_between(posted, run_end->published);
  fig.source_seconds = seconds_between(source_created->published,
                                       list_available->published);
  auto list_at = packet_time(list_available->packet_at);
  auto decision_at = packet_time(decision->packet_at);
  auto created_at = packet_time(last_created->packet_at);
  if (!list_at || !decision_at || !created_at)
    return fail("a packet without a readable time");
  fig.decision_after_list_ms = wall_ms(*list_at, *decision_at);
  fig.last_created_after_decision_ms = wall_ms(*decision_at, *created_at);
  fig.fanout_ms = wall_ms(*list_at, last_created->published_wall);
  fig.creation_commits = creation_commits.size();
  fig.decision_with_list = decision->commit == list_available->commit;
  fig.elements_seconds = wall_ms(*list_at, last_element_end->published_wall) / 1000;
  fig.after_elements_seconds = seconds_between(last_element_end->published,
                                               run_end->published);
  return fig;
}

} // namespace

int run_bench_pipeline(const arguments& args) {
  size_t elements = 10'000;
  size_t submitters = 64;
  uint32_t workers = 32;
  std::string data;
  po::options_description opts{"options"};
  opts.add_options()
    ("json", "print one JSON document")
    ("elements", po::value(&elements),
     "elements of the list the run fans out over, and independent tasks of "
     "the comparison (default: 10000)")
    ("no-collect", "leave out the collect step after the fan-out")
    ("submitters", po::value(&submitters),
     "threads submitting the independent tasks (default: 64, as bench tasks)")
    ("workers", po::value(&workers),
     "workers of each node's pool (default: 32, as bench tasks; 0: one per "
     "core)")
    ("data", po::value(&data),
     "work in DIR and keep it (default: a temporary folder, removed)");
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva bench pipeline [--json] [--elements N] [--no-collect] "
        "[--submitters N] [--workers N] [--data DIR]",
        "Runs two embedded nodes with the settings of `bench tasks` (mock "
        "adapter, sync on, a pool of 32 workers, database on the disk, mock "
        "outputs in /dev/shm), each serving HTTP: (a) N independent tasks "
        "submitted from 64 threads, as `bench tasks` (a) does (tasks/s); (b) "
        "a pipeline registered and run over HTTP (POST /api/pipelines, POST "
        "/api/pipelines/{ref}/runs, mode mock): a source step whose `many` "
        "output lists N files (OMNIVA_MOCK_MANY=N), a for_each step with one "
        "mock task per element, then a collect step. It reports the fan-out "
        "(from the list's AVAILABLE packet to the publication of the last "
        "element task's creation), the run's element tasks/s (from the list "
        "AVAILABLE to the last element's end) against (a) (target: at least "
        "0.8), and the whole run's time.",
        opts, {}, args, vm))
    return *rc;
  if (elements == 0 || submitters == 0) {
    print_error("--elements and --submitters must be positive");
    return exit_usage;
  }
  bool json_out = vm.count("json") > 0;
  bool collect = vm.count("no-collect") == 0;
  // The mock adapter writes this many files for a `many` output. Set
  // before any node starts (no other thread reads the environment yet).
  setenv("OMNIVA_MOCK_MANY", std::to_string(elements).c_str(), 1);
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
    if (fs::exists(folder.path / "independent", ec)
        || fs::exists(folder.path / "pipeline", ec)) {
      print_error(data + " holds an earlier run: give --data an empty folder");
      return exit_failure;
    }
  } else {
    auto pattern = (fs::temp_directory_path(ec) / "omniva-bench-pipeline-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      print_error("cannot create a temporary folder");
      return exit_failure;
    }
    folder.path = pattern;
  }
  auto module_dirs = bench::write_modules(folder.path / "modules",
                                          {{"bench-value", value_module},
                                           {"bench-source", source_module},
                                           {"bench-element", element_module},
                                           {"bench-gather", gather_module}});
  {
    auto pattern = std::string{"/dev/shm/omniva-bench-outputs-XXXXXX"};
    if (!fs::is_directory("/dev/shm", ec) || mkdtemp(pattern.data()) == nullptr) {
      print_error("no tmpfs at /dev/shm for the outputs");
      return exit_failure;
    }
    folder.outputs = pattern;
    for (auto name : {"independent", "pipeline"})
      if (auto err = outputs_in_memory(folder.path / name, folder.outputs)) {
        print_error(error_text(err));
        return exit_failure;
      }
  }
  auto failed = [](const std::string& what, const caf::error& err) {
    print_error(what + ": " + error_text(err));
    return exit_failure;
  };
  independent_figures a;
  uint32_t pool_workers = 0;
  {
    auto node = start_node(folder.path / "independent", module_dirs, true, workers);
    if (!node)
      return failed("starting the node", node.error());
    pool_workers = (*node)->options().pools.front().workers;
    std::cerr << "omniva bench: " << elements << " independent tasks from "
              << submitters << " threads..." << std::flush;
    auto fig = independent(**node, elements, submitters);
    if (!fig)
      return failed("independent tasks", fig.error());
    a = *fig;
    std::cerr << ' ' << static_cast<uint64_t>(static_cast<double>(a.tasks) / a.seconds)
              << "/s\n";
  }
  run_figures b;
  {
    auto node = start_node(folder.path / "pipeline", module_dirs, true, workers);
    if (!node)
      return failed("starting the pipeline node", node.error());
    std::cerr << "omniva bench: a run fanning out to " << elements
              << " mock tasks" << (collect ? ", then a collect" : "") << "..."
              << std::flush;
    auto fig = pipeline_run(**node, elements, collect);
    if (!fig)
      return failed("the pipeline run", fig.error());
    b = std::move(*fig);
    std::cerr << ' ' << b.end_kind << " in " << rounded(b.run_seconds, 2) << " s\n";
  }
  // -- report
  auto independent_rate = static_cast<double>(a.tasks) / a.seconds;
  auto run_rate = static_cast<double>(b.elements_done) / b.elements_seconds;
  auto ratio = run_rate / independent_rate;
  bool all_done = b.end_kind == "run.done" && b.elements_done == elements
                  && b.elements_created == elements;
  json::value out{json::object{}};
  out.set("bench", "pipeline");
  out.set("what",
          "a mock pipeline run over HTTP fanning out to N tasks, against N "
          "independent tasks on a node with the same settings, sync on");
  out.set("elements", static_cast<uint64_t>(elements));
  out.set("collect", collect);
  out.set("fanout_ms", rounded(b.fanout_ms, 1));
  out.set("run_seconds", rounded(b.run_seconds, 3));
  out.set("run_tasks_per_s", rounded(run_rate, 1));
  out.set("independent_tasks_per_s", rounded(independent_rate, 1));
  out.set("ratio", rounded(ratio, 3));
  out.set("target_ratio", target_ratio);
  out.set("meets_target", all_done && ratio >= target_ratio);
  json::value fan{json::object{}};
  fan.set("decision_after_list_ms", rounded(b.decision_after_list_ms, 1));
  fan.set("last_created_after_decision_ms",
          rounded(b.last_created_after_decision_ms, 1));
  fan.set("last_created_published_after_list_ms", rounded(b.fanout_ms, 1));
  fan.set("decision_in_the_list_commit", b.decision_with_list);
  fan.set("creation_commits", b.creation_commits);
  fan.set("element_tasks_created", static_cast<uint64_t>(b.elements_created));
  // From the run's start to the fan-out's publication (the source task's
  // commits and the fan-out's): Zenith's sealing and the write thread's
  // writing, in seconds.
  json::value until{json::object{}};
  until.set("commits", static_cast<uint64_t>(b.fanout_used.commits));
  until.set("packets", static_cast<uint64_t>(b.fanout_used.packets));
  until.set("seal_seconds", rounded(b.fanout_used.seal, 3));
  until.set("write_seconds", rounded(b.fanout_used.write, 3));
  until.set("cpu_seconds", rounded(b.fanout_used.cpu, 3));
  until.set("largest_commit_packets", static_cast<uint64_t>(b.batch_packets_max));
  fan.set("until_published", std::move(until));
  out.set("fanout", std::move(fan));
  json::value run{json::object{}};
  run.set("run_id", b.run_id);
  run.set("ended_with", b.end_kind);
  run.set("tasks", static_cast<uint64_t>(b.run_tasks));
  run.set("elements_done", static_cast<uint64_t>(b.elements_done));
  run.set("source_seconds", rounded(b.source_seconds, 3));
  run.set("elements_seconds", rounded(b.elements_seconds, 3));
  run.set("after_elements_seconds", rounded(b.after_elements_seconds, 3));
  run.set("whole_run_tasks_per_s",
          rounded(static_cast<double>(b.run_tasks) / b.run_seconds, 1));
  auto used = counters_json(b.used, b.run_seconds, b.run_tasks);
  for (auto& [k, v] : used.as_object())
    run.set(k, v);
  if (auto* status = b.run.find("status"))
    run.set("status", *status);
  if (auto* steps = b.run.find("steps"))
    run.set("steps", *steps);
  out.set("run", std::move(run));
  auto ind = counters_json(a.used, a.seconds, a.tasks);
  ind.set("tasks", static_cast<uint64_t>(a.tasks));
  ind.set("seconds", rounded(a.seconds, 3));
  ind.set("tasks_per_second", rounded(independent_rate, 1));
  out.set("independent", std::move(ind));
  out.set("cores", static_cast<uint64_t>(std::thread::hardware_concurrency()));
  out.set("pool_workers", static_cast<uint64_t>(pool_workers));
  out.set("submitters", static_cast<uint64_t>(submitters));
  out.set("process_peak_rss_mb", rounded(peak_rss_mb(), 1));
  if (folder.keep)
    out.set("data", fs::absolute(folder.path).string());
  if (json_out) {
    std::cout << json::serialize(out, json::style::pretty) << '\n';
  } else {
    std::cout << "run: " << elements << " elements, " << b.end_kind << " in "
              << rounded(b.run_seconds, 2) << " s (source "
              << rounded(b.source_seconds, 2) << " s, elements "
              << rounded(b.elements_seconds, 2) << " s, after them "
              << rounded(b.after_elements_seconds, 2) << " s)\n"
              << "fan-out: " << rounded(b.fanout_ms, 1)
              << " ms from the list AVAILABLE to the last element task "
                 "created (decision "
              << rounded(b.decision_after_list_ms, 1) << " ms after the list, "
              << b.creation_commits << " commit(s))\n"
              << "element tasks: " << rounded(run_rate, 1)
              << " tasks/s; independent tasks: " << rounded(independent_rate, 1)
              << " tasks/s; ratio " << rounded(ratio, 3) << " (target "
              << target_ratio << ": "
              << (all_done && ratio >= target_ratio ? "met" : "MISSED") << ")\n";
  }
  return all_done ? exit_ok : exit_failure;
}

} // namespace omniva::cli
