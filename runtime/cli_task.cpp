// `omniva task ...`: create tasks on a node, list, show and cancel them,
// and wait for one to finish.

#include "contracts/defaults.hpp"
#include "runtime/cli_client.hpp"

#include <chrono>
#include <iostream>
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
  return list_call(args, "omniva task list [--status S] [--json]", "Lists tasks.",
                   "/api/tasks",
                   {"task_id", "module_ref", "status", "attempt", "priority"},
                   {{"status", "status",
                     "PENDING, READY, RUNNING, DONE, ERROR or CANCELLED"}});
}

int task_show(const arguments& args) {
  return id_call(args, "omniva task show ID [--json]", "Shows a task.",
                 "the task id", "GET", "/api/tasks/", "", nullptr);
}

int task_cancel(const arguments& args) {
  return id_call(args, "omniva task cancel ID [--json]",
                 "Cancels a PENDING or READY task.", "the task id", "POST",
                 "/api/tasks/", "/cancel", "status");
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
    "ERROR or CANCELLED (or the timeout passed).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto deadline = std::chrono::steady_clock::now()
                      + std::chrono::milliseconds{static_cast<int64_t>(timeout * 1000)};
      while (true) {
        auto r = client.request("GET", "/api/tasks/" + id);
        if (!r.ok())
          return report(r);
        auto t = *r.json();
        auto status = field(t, "status");
        if (status == "DONE" || status == "ERROR" || status == "CANCELLED") {
          if (c.as_json)
            print(t, true, nullptr);
          else {
            std::cout << status;
            if (auto* e = t.find("error"))
              std::cout << " " << field(*e, "code") << ": " << field(*e, "message");
            std::cout << '\n';
          }
          return status == "DONE" ? exit_ok : exit_failure;
        }
        if (std::chrono::steady_clock::now() >= deadline)
          return fail("task " + id + " is still " + status + " after "
                      + std::to_string(timeout) + " s");
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
    });
}

} // namespace

int run_task(const arguments& args) {
  static const std::vector<verb> verbs{
    {"create", "create a task by assigning assets", task_create},
    {"list", "list tasks", task_list},
    {"show", "show a task", task_show},
    {"cancel", "cancel a PENDING or READY task", task_cancel},
    {"wait", "wait until a task is finished", task_wait},
  };
  return dispatch("task", "Tasks of a node.", verbs, args);
}

} // namespace omniva::cli
