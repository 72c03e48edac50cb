// `omniva task ...`: create tasks on a node, list, show, cancel and retry
// them, and wait for one to finish.

#include "contracts/defaults.hpp"
#include "runtime/cli_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

int task_create(const arguments& args) {
  po::options_description opts{"options"};
  std::string ref, key, mode;
  std::vector<std::string> inputs, values;
  int32_t priority = 0;
  opts.add_options()
    ("ref", po::value(&ref)->required(), "the module, name@version")
    ("input", po::value(&inputs), "KEY=ASSET_ID (repeatable)")
    ("value", po::value(&values), "KEY=JSON (repeatable)")
    ("priority", po::value(&priority), "higher runs earlier")
    ("idempotency-key", po::value(&key), "a second submission with the same key returns the first task")
    ("mode", po::value(&mode), "mock or real (default real)");
  po::positional_options_description pos;
  pos.add("ref", 1);
  client_options c;
  return client_call(
    args,
    "omniva task create REF --input KEY=ASSET_ID... [--value KEY=JSON]... "
    "[--priority N] [--idempotency-key K] [--mode mock|real] [--json]",
    "Creates a task by assigning assets to the module's inputs. Prints the "
    "task id; a refused task prints every error with its code and pointer.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      json::value body{json::object{}};
      body.set("module_ref", ref);
      json::value mapping{json::object{}};
      for (auto& in : inputs) {
        auto eq = in.find('=');
        if (eq == std::string::npos) {
          print_error("--input must be KEY=ASSET_ID, not '" + in + "'");
          return exit_usage;
        }
        mapping.set(in.substr(0, eq), in.substr(eq + 1));
      }
      body.set("input_mapping", std::move(mapping));
      if (!values.empty()) {
        json::value vals{json::object{}};
        for (auto& v : values) {
          auto eq = v.find('=');
          if (eq == std::string::npos) {
            print_error("--value must be KEY=JSON, not '" + v + "'");
            return exit_usage;
          }
          auto parsed = json::parse(v.substr(eq + 1));
          vals.set(v.substr(0, eq), parsed ? std::move(*parsed.doc)
                                            : json::value{v.substr(eq + 1)});
        }
        body.set("values", std::move(vals));
      }
      if (vm.count("priority"))
        body.set("priority", static_cast<int64_t>(priority));
      if (!key.empty())
        body.set("idempotency_key", key);
      if (!mode.empty())
        body.set("mode", mode);
      auto r = client.request("POST", "/api/tasks", json::serialize(body));
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "task_id");
      return exit_ok;
    });
}

int task_list(const arguments& args) {
  return list_call(
    args,
    "omniva task list [--status S] [--module REF] [--limit N] [--cursor C] "
    "[--json]",
    "Lists tasks, oldest first, a page at a time (--limit, default 100); "
    "when there is more, the last line is the command that prints the next "
    "page. An unknown status is refused (exit 2).",
    "/api/tasks",
    {col("task_id"), col("module_ref"), col("status"), col("attempt"),
     col("priority"),
     column{"error",
            [](const json::value& t) {
              auto* e = t.find("error");
              return e && e->is_object() ? field(*e, "code") : std::string{};
            },
            false}},
    {{"status", "status",
      "PENDING, READY, RUNNING, DONE, ERROR or CANCELLED (exactly so)"},
     {"module", "module_ref", "only the tasks of this module (name@version)"}});
}

/// The statuses of a task, in the order of its life.
const std::vector<std::string>& task_statuses() {
  static const std::vector<std::string> xs{"PENDING", "READY", "RUNNING",
                                           "DONE",    "ERROR", "CANCELLED"};
  return xs;
}

int task_counts(const arguments& args) {
  po::options_description opts{"options"};
  std::string module;
  opts.add_options()("module", po::value(&module),
                     "only the tasks of this module (name@version)");
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva task counts [--module REF] [--json]",
    "Prints how many tasks the node has in each status, and the total.", opts,
    pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      std::map<std::string, std::string> q;
      if (vm.count("module"))
        q["module_ref"] = module;
      auto r = client.request("GET", "/api/tasks/counts" + runtime::encode_query(q));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      // The statuses in the order of a task's life, then what else the node
      // counts, then the total.
      json::array rows;
      auto add = [&](const std::string& status) {
        json::value row{json::object{}};
        row.set("status", status);
        row.set("count", field(*doc, status.c_str()));
        rows.push_back(std::move(row));
      };
      for (auto& s : task_statuses())
        if (doc->find(s) != nullptr)
          add(s);
      for (auto& [key, value] : doc->as_object())
        if (key != "total"
            && std::find(task_statuses().begin(), task_statuses().end(), key)
                 == task_statuses().end())
          add(key);
      if (doc->find("total") != nullptr)
        add("total");
      print_table(json::value{std::move(rows)}, {col("status"), col("count")});
      return exit_ok;
    });
}

int task_show(const arguments& args) {
  return id_call(args, "omniva task show ID [--json]", "Shows a task.",
                 "the task id", "GET", "/api/tasks/", "", nullptr);
}

int task_cancel(const arguments& args) {
  return id_call(args, "omniva task cancel ID [--json]",
                 "Cancels a task that has not finished (a running one is "
                 "stopped). Tasks waiting on its outputs end ERROR "
                 "(upstream_cancelled). Prints the task's new status.",
                 "the task id", "POST", "/api/tasks/", "/cancel", "status");
}

int task_retry(const arguments& args) {
  return id_call(args, "omniva task retry ID [--json]",
                 "Runs a task that ended ERROR or CANCELLED again, as a new "
                 "attempt; the tasks that ended only because of it "
                 "(upstream_failed, upstream_cancelled) wait on it again. "
                 "Prints the task's new status. A task that did not end so: "
                 "illegal_transition.",
                 "the task id", "POST", "/api/tasks/", "/retry", "status");
}

bool is_finished(const std::string& status) {
  return status == "DONE" || status == "ERROR" || status == "CANCELLED";
}

/// The status a task event announces; "" for events that change none.
std::string status_of_event(const std::string& kind) {
  static const std::map<std::string, std::string> xs{
    {"task.created", ""},           {"task.ready", "READY"},
    {"task.requeued", "PENDING"},   {"task.dispatched", "RUNNING"},
    {"task.succeeded", "DONE"},     {"task.failed", "ERROR"},
    {"task.cancelled", "CANCELLED"}};
  auto i = xs.find(kind);
  return i == xs.end() ? std::string{} : i->second;
}

/// Prints a task's status changes on a terminal as they happen
/// ("12:00:02 RUNNING (attempt 1)"), each once and in order: an event that
/// arrives after a later state was seen is not printed.
class status_printer {
public:
  /// Prints `status` of attempt `attempt` unless it is not newer than what
  /// was printed; `task` (the record) gives a failure's code and message.
  void show(const std::string& status, int64_t attempt, const json::value& task) {
    std::pair<int64_t, int> key{attempt, rank(status)};
    if (key <= last_)
      return;
    last_ = key;
    auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm local{};
    localtime_r(&now, &local);
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", &local);
    std::cout << clock << ' ' << status;
    if (status == "RUNNING")
      std::cout << " (attempt " << attempt << ')';
    if (is_finished(status))
      if (auto* e = task.find("error"); e && e->is_object())
        std::cout << ' ' << field(*e, "code") << ": " << field(*e, "message");
    std::cout << std::endl;
  }

private:
  static int rank(const std::string& status) {
    if (status == "PENDING")
      return 0;
    if (status == "READY")
      return 1;
    if (status == "RUNNING")
      return 2;
    return 3;
  }

  std::pair<int64_t, int> last_{-1, -1};
};

/// The `event` and `data` fields of one Server-Sent Event (the text
/// between two blank lines); data lines are joined with line breaks.
std::pair<std::string, std::string> read_event(std::string_view frame) {
  std::string kind, data;
  bool first = true;
  while (!frame.empty()) {
    auto eol = frame.find('\n');
    auto line = frame.substr(0, eol);
    frame.remove_prefix(eol == std::string_view::npos ? frame.size() : eol + 1);
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    auto colon = line.find(':');
    auto name = line.substr(0, colon);
    auto value = colon == std::string_view::npos ? std::string_view{}
                                                 : line.substr(colon + 1);
    if (value.starts_with(' '))
      value.remove_prefix(1);
    if (name == "event") {
      kind = value;
    } else if (name == "data") {
      if (!first)
        data += '\n';
      data += value;
      first = false;
    }
  }
  return {kind, data};
}

int64_t attempt_of(const json::value& task) {
  auto* a = task.find("attempt");
  auto n = a ? a->as_int64() : std::nullopt;
  return n.value_or(0);
}

int task_wait(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  double timeout = defaults::client::task_wait_seconds;
  auto timeout_help = "seconds to wait (default "
                      + std::to_string(static_cast<int64_t>(timeout)) + ")";
  opts.add_options()
    ("id", po::value(&id)->required(), "the task id")
    ("timeout", po::value(&timeout), timeout_help.c_str());
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva task wait ID [--timeout SECONDS] [--json]",
    "Waits until a task is finished: exits 0 when it is DONE, 1 when it is "
    "ERROR or CANCELLED (or the timeout passed). On a terminal (without "
    "--json) it prints each status change as it happens, with the time; "
    "otherwise only the final status.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      using clock = std::chrono::steady_clock;
      // Up to ten years: beyond, the deadline would overflow the clock.
      if (!(timeout >= 0) || timeout > 315'360'000) {
        print_error("--timeout must be a number of seconds from 0 to 315360000 "
                    "(see 'omniva task wait --help')");
        return exit_usage;
      }
      auto deadline = clock::now()
                      + std::chrono::milliseconds{static_cast<int64_t>(timeout * 1000)};
      auto progress = !c.as_json && is_terminal(STDOUT_FILENO);
      status_printer printer;
      std::string status;
      // The end: the final status (unless shown already) and the exit code.
      auto finish = [&](const json::value& t) {
        if (c.as_json) {
          print(t, true, nullptr);
        } else if (!progress) {
          std::cout << status;
          if (auto* e = t.find("error"); e && e->is_object())
            std::cout << " " << field(*e, "code") << ": " << field(*e, "message");
          std::cout << '\n';
        }
        return status == "DONE" ? exit_ok : exit_failure;
      };
      std::optional<int> outcome;
      std::optional<runtime::http_result> refused;
      // Reads the task; shows `shown` (what an event announced) or its
      // status. Returns false when the wait is over.
      auto look = [&](const std::string& shown) {
        auto r = client.request("GET", "/api/tasks/" + runtime::url_encode(id));
        if (!r.ok() || !r.json()) {
          refused = std::move(r);
          return false;
        }
        auto t = *r.json();
        status = field(t, "status");
        if (progress) {
          if (!shown.empty() && shown != status && !is_finished(shown))
            printer.show(shown, attempt_of(t), t);
          printer.show(status, attempt_of(t), t);
        }
        if (is_finished(status)) {
          outcome = finish(t);
          return false;
        }
        return true;
      };
      if (progress) {
        // Follow the node's events about the task; read the task once the
        // stream is open, so that no change falls between the two.
        auto events = node_client(c.node, c.token, c.data);
        std::string frames;
        auto on_event = [&](std::string_view piece) {
          // SSE lines may end in CR LF: kept as LF alone.
          for (auto ch : piece)
            if (ch != '\r')
              frames.push_back(ch);
          for (size_t end; (end = frames.find("\n\n")) != std::string::npos;) {
            auto frame = frames.substr(0, end);
            frames.erase(0, end + 2);
            auto [kind, data] = read_event(frame);
            auto doc = json::parse(data);
            if (!doc || field(*doc.doc, "subject") != id)
              continue;
            if (kind.empty())
              kind = field(*doc.doc, "kind");
            if (!look(status_of_event(kind)))
              return false;
          }
          return clock::now() < deadline;
        };
        events.stream(
          "GET", "/api/events", on_event,
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
          deadline, [&](const runtime::http_result&) { return look(""); });
        if (outcome)
          return *outcome;
        if (refused)
          return report(*refused);
        // The stream ended or failed before the task did: poll.
      }
      while (true) {
        if (!look(""))
          return outcome ? *outcome : report(*refused);
        if (clock::now() >= deadline)
        {
          std::ostringstream waited;
          waited << timeout;
          return fail("task " + id + " is still " + status + " after "
                      + waited.str() + " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
    });
}

int task_logs(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  int64_t attempt = 0;
  opts.add_options()
    ("id", po::value(&id)->required(), "the task id")
    ("attempt", po::value(&attempt), "the attempt, counting from 1 (default: the last one)")
    ("stderr", "the attempt's stderr instead of its stdout")
    ("follow,f", "keep printing what the attempt writes until it ends");
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva task logs ID [--attempt N] [--stderr] [--follow]",
    "Prints what an attempt of a task wrote to its stdout (or --stderr), "
    "byte for byte; by default the task's last attempt. With --follow it "
    "goes on printing what a running attempt writes, as it comes, until the "
    "attempt ends.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      if (c.as_json) {
        print_error("task logs prints the log's bytes: --json does not apply "
                    "(see 'omniva task logs --help')");
        return exit_usage;
      }
      if (!vm.count("attempt")) {
        auto r = client.request("GET", "/api/tasks/" + runtime::url_encode(id));
        if (!r.ok())
          return report(r);
        auto t = r.json();
        attempt = t ? attempt_of(*t) : 0;
        if (attempt < 1)
          return fail("task " + id + " has no attempt yet");
      }
      bool follow = vm.count("follow") > 0;
      std::map<std::string, std::string> q;
      q["stream"] = vm.count("stderr") ? "stderr" : "stdout";
      if (follow)
        q["follow"] = "1";
      // Following, a quiet attempt may write nothing for long: no idle limit
      // worth the name. The node ends the answer when the attempt ends.
      auto idle = follow ? std::chrono::milliseconds{std::chrono::hours{24 * 365}}
                         : runtime::http_client::default_timeout;
      auto r = client.stream(
        "GET",
        "/api/tasks/" + runtime::url_encode(id) + "/attempts/"
          + std::to_string(attempt) + "/logs" + runtime::encode_query(q),
        [](std::string_view piece) {
          std::cout.write(piece.data(), static_cast<std::streamsize>(piece.size()));
          std::cout.flush();
          return bool{std::cout};
        },
        idle);
      if (!r.ok())
        return report(r);
      return exit_ok;
    });
}

} // namespace

int run_task(const arguments& args) {
  static const std::vector<verb> verbs{
    {"create", "create a task by assigning assets", task_create},
    {"list", "list tasks (a page at a time)", task_list},
    {"counts", "count the tasks by status", task_counts},
    {"show", "show a task", task_show},
    {"logs", "print an attempt's stdout or stderr (--follow)", task_logs},
    {"cancel", "cancel a task that has not finished (a running one is stopped)",
     task_cancel},
    {"retry", "run a task that ended ERROR or CANCELLED again", task_retry},
    {"wait", "wait until a task is finished", task_wait},
  };
  return dispatch("task", "Tasks of a node.", verbs, args);
}

} // namespace omniva::cli
