// `omniva serve`: runs a node until SIGINT or SIGTERM. Reads the
// configuration file (CAF's format, config/omniva.conf) strictly, lets flags
// override it, and with `--demo` submits a small pipeline on sample input and
// runs clips@1 on a video channel it makes and serves locally.
// Every default comes from contracts/defaults.hpp (through node_options).

#include "contracts/defaults.hpp"
#include "contracts/error_code.hpp"
#include "contracts/faults.hpp"
#include "contracts/json.hpp"
#include "contracts/node_log.hpp"
#include "contracts/retention.hpp"
#include "runtime/child_process.hpp"
#include "runtime/cli.hpp"
#include "runtime/disk_guard.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include <unistd.h>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

/// The host a browser reaches a node listening on `host` at: a wildcard
/// address is this machine's loopback address; IPv6 goes in brackets.
std::string browser_host(const std::string& host) {
  if (host.empty() || host == "0.0.0.0")
    return "127.0.0.1";
  if (host == "::" || host == "[::]")
    return "[::1]";
  if (host.find(':') != std::string::npos && host.front() != '[')
    return "[" + host + "]";
  return host;
}

// -- configuration file (CAF's INI format) -------------------------------------

/// The `[omniva]` options of a configuration file (config/omniva.conf).
struct node_file_config : caf::actor_system_config {
  node_file_config() {
    opt_group{custom_options_, "omniva"}
      .add<std::string>("data", "the data folder")
      .add<std::string>("http", "HOST:PORT of the HTTP API")
      .add<std::vector<std::string>>("modules", "module folders")
      .add<std::vector<std::string>>("pools", "worker pools, name:workers:cpu:memory_gb[:gpu]")
      .add<std::vector<std::string>>("allowed-roots", "folders assets may be registered from")
      .add<bool>("mock", "run every task through the mock adapter")
      .add<bool>("sync", "fsync every commit")
      .add<size_t>("control-cycle-ms", "Zenith's control cycle in milliseconds")
      .add<size_t>("heartbeat-interval-ms", "how often a busy worker sends a heartbeat")
      .add<size_t>("heartbeat-timeout-ms", "silence after which a RUNNING attempt is run again")
      .add<size_t>("idempotency-window-s", "how long an idempotency key is remembered")
      .add<size_t>("audit-interval-ms", "how often Paradox audits the state and the lineage (0: only on demand)")
      .add<size_t>("breaker-threshold", "consecutive failures that quarantine a module or pool (Eclipse)")
      .add<size_t>("breaker-cooldown-ms", "how long a quarantine by a breaker waits before one probe")
      .add<size_t>("poison-after", "attempts lost with their worker after which a task is poison")
      .add<size_t>("ageing-ms", "waiting this long counts one priority level more (Lattice)")
      .add<size_t>("sse-keep-alive-ms", "quiet time after which an event stream gets a comment")
      .add<size_t>("webhook-retry-initial-ms", "pause after a webhook delivery's first failure")
      .add<size_t>("webhook-retry-max-ms", "longest pause between two tries of a webhook delivery")
      .add<size_t>("webhook-timeout-ms", "how long a webhook delivery may go without progress")
      .add<std::string>("disk-reserve", "free space kept on the data folder's disk: below it new work is refused (e.g. 1GiB, 512MiB, 0)")
      .add<size_t>("disk-check-interval-ms", "how often the free space of the data folder is read")
      .add<size_t>("stats-interval-ms", "how often the node samples its counters for GET /api/stats (the dashboard's charts)")
      .add<size_t>("stats-points", "how many of the latest samples GET /api/stats keeps")
      .add<std::string>("retention-attempts-days", "how long the folders of attempts that did not win are kept after their task finished (days, or 12h, 30m, 90s)")
      .add<std::string>("retention-outputs-days", "how long a finished task's folder is kept while nothing holds its outputs (days, or a duration)")
      .add<std::string>("retention-blob-grace", "how old a blob no asset references must be before it goes (seconds, or 1h, 30m, 1d)")
      .add<std::string>("retention-interval", "how often the node runs a retention pass (seconds, or 1h, 30m; 0: never)")
      .add<std::string>("log-format", "the node's log on stderr: text or json (JSON lines)");
  }

  /// The `[omniva]` options.
  const caf::config_option_set& omniva_options() const noexcept {
    return custom_options_;
  }
};

/// CAF's reader skips what it cannot parse without a word; a node must not
/// start on a configuration it half understood. Checks that every line is a
/// `[group]`, a comment or `key=value`, that every `[omniva]` key is known,
/// and that each value parsed (CAF dropped it otherwise). Returns the first
/// problem.
std::optional<std::string> check_config_text(const std::string& text,
                                             node_file_config& cfg) {
  caf::settings parsed;
  std::istringstream in{text};
  if (auto err = caf::actor_system_config::parse_config(in, cfg.omniva_options(),
                                                        parsed))
    return cfg.render(err);
  std::istringstream lines{text};
  std::string line, group;
  size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == ';' || line[first] == '#')
      continue;
    auto where = "line " + std::to_string(number) + ": ";
    if (line[first] == '[') {
      auto close = line.find(']', first);
      if (close == std::string::npos)
        return where + "a group header needs a closing ']'";
      group = line.substr(first + 1, close - first - 1);
      continue;
    }
    auto eq = line.find('=', first);
    if (eq == std::string::npos)
      return where + "expected key=value, not '" + line + "'";
    auto key = line.substr(first, eq - first);
    key.erase(key.find_last_not_of(" \t") + 1);
    if (group.empty())
      return where + "'" + key + "' stands outside a group: put it under [omniva]";
    if (group != "omniva")
      continue; // CAF's own groups (scheduler, logger, ...) are CAF's business
    if (cfg.omniva_options().qualified_name_lookup("omniva." + key) == nullptr)
      return where + "unknown option omniva." + key;
    auto omniva = parsed.find("omniva");
    if (omniva == parsed.end()
        || !caf::holds_alternative<caf::settings>(omniva->second)
        || caf::get<caf::settings>(omniva->second).count(key) == 0)
      return where + "the value of omniva." + key + " is not valid: '" + line
             + "'";
  }
  return std::nullopt;
}

/// Hands spdlog's lines (the messages of the node's parts: registry,
/// asset store, Zenith) to the node's log as `log` lines (`{"event":"log",
/// "message":...}` with `--log-format json`), so that stderr has one format.
class node_log_sink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    using node_log::level;
    auto lvl = msg.level >= spdlog::level::err    ? level::error
               : msg.level == spdlog::level::warn ? level::warn
                                                  : level::info;
    node_log::write(lvl, "log",
                    {{"message", json::value{std::string{msg.payload.data(),
                                                         msg.payload.size()}}}});
  }

  void flush_() override {
  }
};

/// Reads a duration for `--disk-check-interval`: "250ms", "2s" or a
/// number of milliseconds; nullopt for anything else or zero.
std::optional<std::chrono::milliseconds> parse_interval(std::string_view text) {
  uint64_t n = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (err != std::errc{} || end == text.data() || n == 0)
    return std::nullopt;
  std::string_view unit{end, static_cast<size_t>(text.data() + text.size() - end)};
  if (unit.empty() || unit == "ms")
    return std::chrono::milliseconds{n};
  if (unit == "s" && n <= UINT64_MAX / 1000)
    return std::chrono::milliseconds{n * 1000};
  return std::nullopt;
}

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int) {
  stop_requested = true;
}

/// The demo's first part: a sample text file and a two-step pipeline
/// (media-probe@1 -> summarize@1), submitted at every start. Cheap (two
/// small tasks) and what the README's tour builds on.
void run_sample_demo(runtime::node& n) {
  auto dir = fs::path{n.options().data_dir} / "samples";
  std::error_code err;
  fs::create_directories(dir, err);
  auto sample = dir / "interview.txt";
  {
    std::ofstream out{sample};
    out << "Omniva Engine demo sample.\nA short interview transcript: the "
           "guest talks about contracts, lineage and pipelines.\n";
  }
  runtime::http_client client{"http://127.0.0.1:" + std::to_string(n.port()),
                              n.token()};
  json::value body{json::object{}};
  body.set("path", sample.string());
  body.set("media_type", "text/plain");
  body.set("label", "interview.txt");
  auto added = client.request("POST", "/api/assets/path", json::serialize(body));
  auto asset = added.json();
  if (!added.ok() || !asset || !asset->find("asset_id")) {
    spdlog::warn("demo: could not add the sample asset: {}", added.reason());
    return;
  }
  auto asset_id = asset->find("asset_id")->as_string();
  json::value probe{json::object{}};
  probe.set("module_ref", "media-probe@1");
  probe.set("input_mapping", json::object{{"source", asset_id}});
  auto first = client.request("POST", "/api/tasks", json::serialize(probe));
  auto t1 = first.json();
  if (!first.ok() || !t1) {
    spdlog::warn("demo: media-probe@1 was refused: {}", first.body);
    return;
  }
  auto metadata = t1->find("outputs")->find("metadata")->as_string();
  json::value sum{json::object{}};
  sum.set("module_ref", "summarize@1");
  sum.set("input_mapping", json::object{{"metadata", metadata}});
  sum.set("trace_id", t1->find("trace_id")->as_string());
  auto second = client.request("POST", "/api/tasks", json::serialize(sum));
  auto t2 = second.json();
  if (!second.ok() || !t2) {
    spdlog::warn("demo: summarize@1 was refused: {}", second.body);
    return;
  }
  std::cout << "demo: asset " << asset_id << " -> task "
            << t1->find("task_id")->as_string() << " (media-probe@1) -> task "
            << t2->find("task_id")->as_string()
            << " (summarize@1, waiting on the PENDING asset " << metadata
            << ")" << std::endl;
}

// -- the clips demo ---------------------------------------------------------------

/// Debian's interpreter: the one with python3-opencv, which the demo
/// channel's media (tests/content/media.py) need.
constexpr const char* demo_python = "/usr/bin/python3";

/// The source tree's root: the parent of the dashboard's `web/` the build
/// names (`OMNIVA_WEB_DIR`), else the current folder (`make run` runs there).
fs::path demo_source_root() {
#ifdef OMNIVA_WEB_DIR
  fs::path web{OMNIVA_WEB_DIR};
  if (fs::is_regular_file(web.parent_path() / "scripts" / "demo-channel.py"))
    return web.parent_path();
#endif
  return fs::current_path();
}

/// The node's own environment, name -> value (the channel's server runs with
/// it: PATH finds ffmpeg and yt-dlp as in the user's shell).
std::map<std::string, std::string> demo_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && eq > 0)
      env.emplace(std::string{kv.substr(0, eq)}, std::string{kv.substr(eq + 1)});
  }
  return env;
}

/// The first whole line of `path` (without its '\n'), or nullopt while
/// there is none.
std::optional<std::string> first_line(const fs::path& path) {
  std::ifstream in{path};
  std::string line;
  if (in && std::getline(in, line) && !in.eof())
    return line;
  return std::nullopt;
}

/// The clips part of the demo (`--demo`): `scripts/demo-channel.py`, a child
/// process of the node, makes a small video channel in `<data>/demo-channel`
/// at first start (3 videos of 10 s with speech; ffmpeg and espeak-ng, nothing
/// downloaded) and serves it on 127.0.0.1; once it serves, a `clips@1` run is
/// started on it, once per data folder (`<data>/demo-channel/run.json`
/// remembers it). Its own thread waits on the child; destroying this object
/// (when the node stops) stops the server (SIGTERM to its process group, then
/// SIGKILL after the kill grace) and joins the thread. The child also gets
/// SIGKILL if the node dies (PR_SET_PDEATHSIG, armed by run_child_process).
class clips_demo {
public:
  explicit clips_demo(runtime::node& n) : node_{n} {
    folder_ = fs::absolute(fs::path{n.options().data_dir}) / "demo-channel";
    thread_ = std::thread{[this] { run(); }};
  }

  clips_demo(const clips_demo&) = delete;
  clips_demo& operator=(const clips_demo&) = delete;

  ~clips_demo() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

private:
  /// Where a browser reaches the node's dashboard (with the trailing '/').
  std::string dashboard() const {
    return "http://" + browser_host(node_.options().http_host) + ":"
           + std::to_string(node_.port()) + "/";
  }

  /// Prints one line of the demo's story on stdout.
  static void say(const std::string& line) {
    std::cout << "demo: " << line << std::endl;
  }

  void run() {
    auto root = demo_source_root();
    auto script = root / "scripts" / "demo-channel.py";
    if (!fs::is_regular_file(script)) {
      spdlog::warn("demo: no clips demo: {} is missing (run the node from "
                   "the source tree)", script.string());
      return;
    }
    if (::access(demo_python, X_OK) != 0) {
      spdlog::warn("demo: no clips demo: {} (Debian's python3 with "
                   "python3-opencv) is missing; run scripts/install-deps.sh "
                   "as root. The node runs on.", demo_python);
      return;
    }
    std::error_code err;
    fs::create_directories(folder_, err);
    if (err) {
      spdlog::warn("demo: no clips demo: cannot make {}: {}", folder_.string(),
                   err.message());
      return;
    }
    if (!fs::exists(folder_ / "channel.json"))
      say("first start: making a small video channel in " + folder_.string()
          + " (3 videos of 10 s with speech: ffmpeg, espeak-ng; about 15 s), "
            "then running clips@1 on it");
    out_ = folder_ / "server.out";
    log_ = folder_ / "server.log";
    runtime::process_spec spec;
    spec.argv = {demo_python, script.string(), "--folder", folder_.string()};
    spec.env = demo_environment();
    spec.cwd = root.string();
    spec.stdout_path = out_.string();
    spec.stderr_path = log_.string();
    spec.stop = &stop_;
    spec.heartbeat = [this] { on_heartbeat(); };
    spec.heartbeat_interval = std::chrono::milliseconds{250};
    auto outcome = runtime::run_child_process(spec);
    if (!answered_)
      on_heartbeat(); // it may have answered and ended between two beats
    if (stop_)
      return;
    if (!outcome.started()) {
      spdlog::warn("demo: no clips demo: the channel's server did not start "
                   "({}, errno {})", runtime::to_string(outcome.failure),
                   outcome.error_number);
    } else if (!answered_) {
      spdlog::warn("demo: no clips demo: the channel's server ended ({} {}) "
                   "before it served; see {}", runtime::to_string(outcome.status),
                   outcome.exit_code, log_.string());
    } else if (serving_) {
      spdlog::warn("demo: the demo channel's server ended ({} {}); see {}",
                   runtime::to_string(outcome.status), outcome.exit_code,
                   log_.string());
    }
  }

  /// Reads the server's one line once it is there, then starts the run.
  void on_heartbeat() {
    if (answered_ || stop_)
      return;
    auto line = first_line(out_);
    if (!line)
      return;
    answered_ = true;
    auto parsed = json::parse(*line);
    if (!parsed || !parsed.doc->is_object()) {
      spdlog::warn("demo: the channel's server said something else than "
                   "JSON: {}", *line);
      return;
    }
    auto& doc = *parsed.doc;
    if (auto* error = doc.find("error")) {
      std::string what = error->is_string() ? error->as_string() : "error";
      if (what == "missing_tools") {
        std::string missing;
        if (auto* list = doc.find("missing"); list && list->is_array())
          for (auto& m : list->as_array())
            missing += (missing.empty() ? "" : ", ")
                       + (m.is_string() ? m.as_string() : json::serialize(m));
        spdlog::warn("demo: no clips demo: missing media tools: {} (run "
                     "scripts/install-deps.sh as root). The node runs on.",
                     missing);
      } else {
        auto* message = doc.find("message");
        spdlog::warn("demo: no clips demo: {}: {} (see {})", what,
                     message && message->is_string() ? message->as_string() : "",
                     log_.string());
      }
      return;
    }
    auto* url = doc.find("url");
    auto* job = doc.find("job");
    if (!url || !url->is_string() || !job || !job->is_object()) {
      spdlog::warn("demo: the channel's server answered without url and "
                   "job: {}", *line);
      return;
    }
    serving_ = true;
    auto* videos = doc.find("videos");
    auto* seconds = doc.find("input_seconds");
    std::ostringstream what;
    what << "demo channel at " << url->as_string() << " ("
         << (videos ? json::serialize(*videos) : std::string{"?"})
         << " videos, "
         << (seconds ? json::serialize(*seconds) : std::string{"?"})
         << " s of video in " << folder_.string() << ")";
    say(what.str());
    start_run(*job);
  }

  /// Starts the clips@1 run on the channel, unless the data folder already
  /// had one (run.json): then says where it is.
  void start_run(const json::value& job) {
    runtime::http_client client{"http://127.0.0.1:" + std::to_string(node_.port()),
                                node_.token()};
    auto marker = folder_ / "run.json";
    if (auto before = json::parse_file(marker.string());
        before && before.doc->is_object() && before.doc->find("run_id")
        && before.doc->find("run_id")->is_string()) {
      auto id = before.doc->find("run_id")->as_string();
      auto got = client.request("GET", "/api/runs/" + id, "");
      if (got.ok()) {
        auto run = got.json();
        auto* status = run ? run->find("status") : nullptr;
        say("the clips@1 run of the demo channel was started at first start: "
            + id + " (" + (status && status->is_string() ? status->as_string() : "?")
            + "), " + dashboard() + "#/runs/" + id
            + ". Not started again: its scrape (same platform, URL and range) "
              "would be a duplicate, which Paradox blocks anyway; a new data "
              "folder (--data DIR) shows the demo from the start.");
        tell_commands(id);
        return;
      }
      if (got.status != 404) {
        spdlog::warn("demo: could not read the demo run {}: {}", id, got.reason());
        return;
      }
      // The run is unknown to this database (a new db/ beside an old
      // channel): start one.
    }
    json::value body{json::object{}};
    body.set("values", json::object{{"job", job}});
    auto started = client.request("POST", "/api/pipelines/clips@1/runs",
                                  json::serialize(body));
    auto run = started.json();
    auto* id_value = run ? run->find("run_id") : nullptr;
    if (!started.ok() || !id_value || !id_value->is_string()) {
      spdlog::warn("demo: clips@1 was refused: {} (is modules/pipelines/"
                   "clips@1.json registered? the node loads it from "
                   "./modules)", started.reason());
      return;
    }
    auto id = id_value->as_string();
    {
      json::value mark{json::object{}};
      mark.set("run_id", id);
      mark.set("target_url", job.find("target_url")
                               ? *job.find("target_url") : json::value{});
      std::ofstream out{marker};
      out << json::serialize(mark) << '\n';
    }
    say("clips@1 run " + id + " started on the demo channel: its clips appear "
        "within a minute or two at " + dashboard() + "#/runs/" + id
        + " (log in with the link above)");
    tell_commands(id);
  }

  /// Prints the CLI commands that show the run and its clips: this binary
  /// (relative to the current folder when below it), and how to reach a
  /// node that is not the CLI's default (127.0.0.1:8080, var/omniva).
  void tell_commands(const std::string& id) {
    std::error_code err;
    auto exe = fs::read_symlink("/proc/self/exe", err);
    auto rel = err ? fs::path{} : exe.lexically_relative(fs::current_path(err));
    std::string o = exe.empty() ? "omniva"
                    : (!rel.empty() && *rel.begin() != "..") ? rel.string()
                                                             : exe.string();
    auto node_url = "http://127.0.0.1:" + std::to_string(node_.port());
    auto data = fs::path{node_.options().data_dir};
    if (node_.port() != defaults::node::http_port
        || data.lexically_normal() != fs::path{defaults::node::data_dir}.lexically_normal())
      say("  export OMNIVA_NODE=" + node_url + " OMNIVA_TOKEN=$(cat "
          + (data / "token").string() + ")");
    say("  " + o + " run show " + id + "      # steps, tasks, outputs (clips: MP4 asset ids)");
    say("  " + o + " run explain " + id + "   # the run's story from the lineage");
    say("  " + o + " asset list --media-type video/mp4   # the videos and clips");
    say("  " + o + " asset show ASSET_ID   # a clip's record; its uri is the MP4 file");
  }

  runtime::node& node_;
  fs::path folder_, out_, log_;
  std::atomic<bool> stop_{false};
  bool answered_ = false; // only the thread touches these two
  bool serving_ = false;
  std::thread thread_;
};

/// `--demo`: the sample pipeline, and the clips demo on a channel made and
/// served locally (its server is stopped when the returned object goes).
std::unique_ptr<clips_demo> run_demo(runtime::node& n) {
  run_sample_demo(n);
  return std::make_unique<clips_demo>(n);
}

} // namespace

int run_serve(const arguments& args) {
  po::options_description opts{"options"};
  size_t hook_initial_ms = 0, hook_max_ms = 0, hook_timeout_ms = 0;
  size_t stats_interval_ms = 0;
  std::string data, http, config_file, log_format, disk_reserve, disk_interval;
  std::string faults_file, web_dir;
  std::vector<std::string> modules, pools, roots;
  std::string keep_attempts, keep_outputs, blob_grace, retention_interval;
  auto data_help = "data folder (default " + std::string{defaults::node::data_dir}
                   + ")";
  auto http_help = "HOST:PORT of the HTTP API (default "
                   + std::string{defaults::node::http_host} + ":"
                   + std::to_string(defaults::node::http_port)
                   + "; port 0 picks one)";
  auto modules_help = "a folder of modules (repeatable; default ./"
                      + std::string{defaults::node::modules_dir}
                      + " if present)";
  opts.add_options()
    ("data", po::value(&data), data_help.c_str())
    ("http", po::value(&http), http_help.c_str())
    ("modules", po::value(&modules), modules_help.c_str())
    ("pool", po::value(&pools), "a worker pool name:workers:cpu:memory_gb[:gpu] (repeatable)")
    ("allowed-root", po::value(&roots), "a folder assets may be registered from by path (repeatable)")
    ("config", po::value(&config_file), "a configuration file (see config/omniva.conf)")
    ("log-format", po::value(&log_format), "the node's log on stderr: text (default) or json (one JSON object a line, for log shippers)")
    ("webhook-retry-initial-ms", po::value(&hook_initial_ms), "pause after a webhook delivery's first failure, doubled after each further one (default 1000)")
    ("webhook-retry-max-ms", po::value(&hook_max_ms), "longest pause between two tries of a webhook delivery (default 300000)")
    ("webhook-timeout-ms", po::value(&hook_timeout_ms), "how long a webhook delivery may go without progress (default 10000)")
    ("disk-reserve", po::value(&disk_reserve), "free space the data folder's disk keeps: below it new work is refused with 507 (e.g. 1GiB, 512MiB; 0: no reserve; default 1GiB)")
    ("disk-check-interval", po::value(&disk_interval), "how often the free space is read, e.g. 2s or 500ms (default 2s)")
    ("stats-interval-ms", po::value(&stats_interval_ms), "how often the node samples its counters for GET /api/stats, in ms (default 1000)")
    ("retention-attempts-days", po::value(&keep_attempts), "keep the folders of attempts that did not win this long after their task finished: days (7, 0.5) or a duration (12h, 30m, 90s); default 7")
    ("retention-outputs-days", po::value(&keep_outputs), "keep a finished task's folder (outputs, logs) this long while nothing holds its outputs, which then become PURGED: days or a duration; default 365")
    ("retention-blob-grace", po::value(&blob_grace), "remove a blob no asset references once it is this old: seconds or a duration (1h, 30m); default 1h")
    ("retention-interval", po::value(&retention_interval), "run a retention pass this often: seconds or a duration (1h, 30m); 0: never (omniva gc runs one); default 1h")
    ("faults", po::value(&faults_file), "a fault plan (JSON) whose faults the worker pools inject: for tests and simulations only (see docs/operations.md, \"Fault injection\")")
    ("web", po::value(&web_dir), "the dashboard's folder, served at / (default: the source tree's web/; \"none\": no dashboard)")
    ("mock", "run every task through the mock adapter")
    ("demo", "add a sample asset and submit a small pipeline; make a small video channel in <data>/demo-channel at first start, serve it on 127.0.0.1 and run clips@1 on it once");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva serve [--data DIR] [--http HOST:PORT] [--modules DIR]... "
        "[--config FILE] [--log-format text|json] [--disk-reserve SIZE] "
        "[--faults FILE] [--mock] [--demo]",
        "Runs a node: the lineage database, Zenith, the worker pools and the "
        "HTTP API. Prints where it listens; stops on SIGINT or SIGTERM.",
        opts, pos, args, vm))
    return *rc;
  runtime::node_options o;
  if (!config_file.empty()) {
    node_file_config cfg;
    std::string text;
    if (!read_file(config_file, text))
      return exit_failure;
    if (auto problem = check_config_text(text, cfg))
      return fail(config_file + ": " + *problem);
    std::istringstream ini{text};
    if (auto err = cfg.parse(node_file_config::string_list{}, ini))
      return fail(config_file + ": " + cfg.render(err));
    o.data_dir = caf::get_or(cfg, "omniva.data", o.data_dir);
    if (auto h = caf::get_if<std::string>(&cfg, "omniva.http"))
      http = http.empty() ? *h : http;
    if (auto m = caf::get_if<std::vector<std::string>>(&cfg, "omniva.modules"))
      if (modules.empty())
        modules = *m;
    if (auto p = caf::get_if<std::vector<std::string>>(&cfg, "omniva.pools"))
      if (pools.empty())
        pools = *p;
    if (auto r = caf::get_if<std::vector<std::string>>(&cfg, "omniva.allowed-roots"))
      if (roots.empty())
        roots = *r;
    if (auto f = caf::get_if<std::string>(&cfg, "omniva.log-format"))
      if (log_format.empty())
        log_format = *f;
    for (auto [key, flag] : {std::pair{"omniva.retention-attempts-days", &keep_attempts},
                             std::pair{"omniva.retention-outputs-days", &keep_outputs},
                             std::pair{"omniva.retention-blob-grace", &blob_grace},
                             std::pair{"omniva.retention-interval", &retention_interval}})
      if (auto v = caf::get_if<std::string>(&cfg, key))
        if (flag->empty())
          *flag = *v;
    if (auto r = caf::get_if<std::string>(&cfg, "omniva.disk-reserve"))
      if (disk_reserve.empty())
        disk_reserve = *r;
    if (auto i = caf::get_if<size_t>(&cfg, "omniva.disk-check-interval-ms"))
      if (disk_interval.empty())
        disk_interval = std::to_string(*i);
    // An option the file leaves out keeps the node's default (node_options,
    // from contracts/defaults.hpp).
    o.force_mock = caf::get_or(cfg, "omniva.mock", o.force_mock);
    o.sync = caf::get_or(cfg, "omniva.sync", o.sync);
    auto ms = [&cfg](const char* key, std::chrono::milliseconds fallback) {
      return std::chrono::milliseconds{caf::get_or(
        cfg, key, static_cast<size_t>(fallback.count()))};
    };
    o.control_cycle = ms("omniva.control-cycle-ms", o.control_cycle);
    o.heartbeat_interval = ms("omniva.heartbeat-interval-ms",
                              o.heartbeat_interval);
    o.heartbeat_timeout = ms("omniva.heartbeat-timeout-ms",
                             o.heartbeat_timeout);
    o.sse_keep_alive = ms("omniva.sse-keep-alive-ms", o.sse_keep_alive);
    o.audit_interval = ms("omniva.audit-interval-ms", o.audit_interval);
    o.stats_interval = ms("omniva.stats-interval-ms", o.stats_interval);
    o.stats_points = caf::get_or(cfg, "omniva.stats-points", o.stats_points);
    o.eclipse.cooldown = ms("omniva.breaker-cooldown-ms", o.eclipse.cooldown);
    o.eclipse.breaker_threshold = static_cast<uint32_t>(
      caf::get_or(cfg, "omniva.breaker-threshold",
                  static_cast<size_t>(o.eclipse.breaker_threshold)));
    o.eclipse.poison_after = static_cast<uint32_t>(caf::get_or(
      cfg, "omniva.poison-after", static_cast<size_t>(o.eclipse.poison_after)));
    o.lattice.ageing = ms("omniva.ageing-ms", o.lattice.ageing);
    o.webhook_retry_initial = ms("omniva.webhook-retry-initial-ms",
                                 o.webhook_retry_initial);
    o.webhook_retry_max = ms("omniva.webhook-retry-max-ms", o.webhook_retry_max);
    o.webhook_timeout = ms("omniva.webhook-timeout-ms", o.webhook_timeout);
    o.idempotency_window = std::chrono::seconds{caf::get_or(
      cfg, "omniva.idempotency-window-s",
      static_cast<size_t>(std::chrono::duration_cast<std::chrono::seconds>(
                            o.idempotency_window)
                            .count()))};
  }
  auto format = node_log::format_from_string(log_format.empty() ? "text"
                                                                : log_format);
  if (!format) {
    print_error("--log-format must be text or json, not '" + log_format + "'");
    return exit_usage;
  }
  // Logs go to stderr: stdout carries the one line saying where the node
  // listens (scripts read it). spdlog's lines become the node log's, so that
  // stderr has one format (JSON lines, with --log-format json).
  node_log::set_format(*format);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
    "omniva", std::make_shared<node_log_sink>()));
  if (o.sse_keep_alive.count() <= 0) {
    print_error("omniva.sse-keep-alive-ms must be positive");
    return exit_usage;
  }
  if (o.heartbeat_interval.count() <= 0
      || o.heartbeat_timeout <= o.heartbeat_interval) {
    print_error("omniva.heartbeat-timeout-ms must be longer than "
                "omniva.heartbeat-interval-ms, which must be positive");
    return exit_usage;
  }
  if (vm.count("webhook-retry-initial-ms"))
    o.webhook_retry_initial = std::chrono::milliseconds{hook_initial_ms};
  if (vm.count("webhook-retry-max-ms"))
    o.webhook_retry_max = std::chrono::milliseconds{hook_max_ms};
  if (vm.count("webhook-timeout-ms"))
    o.webhook_timeout = std::chrono::milliseconds{hook_timeout_ms};
  if (o.webhook_retry_initial.count() <= 0 || o.webhook_timeout.count() <= 0
      || o.webhook_retry_max < o.webhook_retry_initial) {
    print_error("webhook-retry-initial-ms and webhook-timeout-ms must be "
                "positive, webhook-retry-max-ms at least "
                "webhook-retry-initial-ms");
    return exit_usage;
  }
  if (vm.count("stats-interval-ms"))
    o.stats_interval = std::chrono::milliseconds{stats_interval_ms};
  if (o.stats_interval.count() <= 0 || o.stats_points == 0) {
    print_error("--stats-interval-ms (omniva.stats-interval-ms) and "
                "omniva.stats-points must be positive");
    return exit_usage;
  }
  if (!data.empty())
    o.data_dir = data;
  // Retention (contracts/retention.hpp): days or seconds, or a duration.
  for (auto [name, text, target, unit] :
       {std::tuple{"retention-attempts-days", &keep_attempts,
                   &o.retention.attempts_after, std::chrono::milliseconds{std::chrono::hours{24}}},
        std::tuple{"retention-outputs-days", &keep_outputs,
                   &o.retention.outputs_after, std::chrono::milliseconds{std::chrono::hours{24}}},
        std::tuple{"retention-blob-grace", &blob_grace, &o.retention.blob_grace,
                   std::chrono::milliseconds{std::chrono::seconds{1}}},
        std::tuple{"retention-interval", &retention_interval,
                   &o.retention.interval,
                   std::chrono::milliseconds{std::chrono::seconds{1}}}}) {
    if (text->empty())
      continue;
    auto d = contracts::parse_duration(*text, unit);
    if (!d) {
      print_error(std::string{"--"} + name
                  + " must be a number (fractions allowed) with an optional "
                    "unit s, m, h or d (7, 0.5d, 12h, 90s), not '"
                  + *text + "'");
      return exit_usage;
    }
    *target = *d;
  }
  if (!disk_reserve.empty()) {
    auto bytes = runtime::parse_byte_size(disk_reserve);
    if (!bytes) {
      print_error("--disk-reserve (omniva.disk-reserve) must be a size such "
                  "as 1GiB, 512MiB, 1048576 or 0, not '" + disk_reserve + "'");
      return exit_usage;
    }
    o.disk_reserve = *bytes;
  }
  if (!disk_interval.empty()) {
    auto every = parse_interval(disk_interval);
    if (!every) {
      print_error("--disk-check-interval (omniva.disk-check-interval-ms) must "
                  "be a positive duration such as 2s or 500ms, not '"
                  + disk_interval + "'");
      return exit_usage;
    }
    o.disk_check_interval = *every;
  }
  if (!http.empty() && !runtime::parse_endpoint(http, o.http_host, o.http_port)) {
    print_error("--http must be HOST:PORT, not '" + http + "'");
    return exit_usage;
  }
  for (auto& p : pools) {
    auto spec = contracts::parse_pool_spec(p);
    if (!spec) {
      print_error("--pool must be name:workers:cpu:memory_gb[:gpu], not '" + p + "'");
      return exit_usage;
    }
    o.pools.push_back(*spec);
  }
  if (!faults_file.empty()) {
    // Every problem of the plan at once, before anything starts.
    auto plan = contracts::load_fault_plan(faults_file);
    if (!plan) {
      auto n = plan.problems.size();
      std::cerr << "omniva: " << faults_file << ": not a valid fault plan ("
                << n << (n == 1 ? " problem" : " problems") << "):\n";
      for (auto& p : plan.problems)
        std::cerr << "  " << contracts::to_string(p.code) << ' '
                  << (p.pointer.empty() ? "/" : p.pointer) << ": "
                  << p.message << '\n';
      return exit_failure;
    }
    o.faults = std::make_shared<const contracts::fault_plan>(std::move(*plan.plan));
  }
  if (modules.empty() && fs::is_directory(defaults::node::modules_dir))
    modules.emplace_back(defaults::node::modules_dir);
  o.module_dirs = modules;
  o.allowed_roots = roots;
  if (web_dir == "none")
    o.web_dir.clear();
  else if (!web_dir.empty())
    o.web_dir = web_dir;
  if (vm.count("mock"))
    o.force_mock = true;
  // Before the node starts: a SIGINT or SIGTERM that arrives while it
  // starts (or right after it said where it listens) stops it cleanly
  // instead of killing it.
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  auto n = runtime::node::start(o);
  if (!n)
    return fail(contracts::render_error(n.error().code(), n.error().category(),
                                        n.error().context()));
  auto& node = **n;
  std::cout << "omniva: node listening on http://" << o.http_host << ":"
            << node.port() << " (data " << node.options().data_dir
            << ", token in " << node.options().data_dir << "/token"
            << (node.options().force_mock ? ", mock adapter" : "") << ")"
            << std::endl;
  if (!node.options().web_dir.empty()) {
    // The dashboard and a one-time login link: the code (in the URL's
    // fragment, which the browser never sends) opens one session for the
    // token of <data>/token, within 10 minutes.
    auto base = "http://" + browser_host(o.http_host) + ":"
                + std::to_string(node.port()) + "/";
    std::cout << "omniva: dashboard at " << base;
    if (auto code = node.login_code())
      std::cout << " - one-time login link: " << base << "#login=" << *code;
    std::cout << std::endl;
  }
  node_log::write(node_log::level::info, "node.started",
                  {{"url", json::value{"http://" + o.http_host + ":"
                                       + std::to_string(node.port())}},
                   {"data", json::value{node.options().data_dir}}});
  // The demo's channel server (a child process) stops when `demo` goes,
  // after the node (every return below).
  std::unique_ptr<clips_demo> demo;
  if (vm.count("demo"))
    demo = run_demo(node);
  while (!stop_requested) {
    if (auto why = node.failure()) {
      // Zenith stopped on a failed commit: close the API and exit non-zero,
      // so that a supervisor restarts the node; recovery resumes from the
      // last commit.
      node.stop();
      return fail("Zenith stopped (" + contracts::render_error(why->code(),
                                                               why->category(),
                                                               why->context())
                  + "); the node stopped: restart it to recover from the last "
                    "commit");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  std::cout << "omniva: stopping" << std::endl;
  node_log::write(node_log::level::info, "node.stopping");
  node.stop();
  return exit_ok;
}

} // namespace omniva::cli
