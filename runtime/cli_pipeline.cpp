// `omniva pipeline ...`, `omniva run ...` and `omniva trigger ...`
// (docs/pipelines.md): register, list and show pipelines and start runs of
// them; show, list, cancel, pause, resume, retry and explain runs; create,
// list and remove the triggers that start runs on a schedule. Each talks to
// a node over its HTTP API (runtime/api_pipelines.cpp).

#include "runtime/cli_client.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <string>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

// -- shared ---------------------------------------------------------------------------

/// `text` as one shell word: as is when it holds only safe characters,
/// else in single quotes (for the "next page" lines).
std::string shell_quoted(const std::string& text) {
  bool safe = !text.empty()
              && text.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_.:@/=+")
                   == std::string::npos;
  if (safe)
    return text;
  std::string out = "'";
  for (char ch : text)
    out += ch == '\'' ? std::string{"'\\''"} : std::string(1, ch);
  return out + "'";
}

/// Reads `--input KEY=ASSET_ID` options into a JSON object; false (with the
/// message printed) for one without '='.
bool read_inputs(const std::vector<std::string>& given, json::value& out) {
  out = json::value{json::object{}};
  for (auto& in : given) {
    auto eq = in.find('=');
    if (eq == std::string::npos || eq == 0) {
      print_error("--input must be KEY=ASSET_ID, not '" + in + "'");
      return false;
    }
    out.set(in.substr(0, eq), in.substr(eq + 1));
  }
  return true;
}

/// Reads `--value KEY=JSON` options into a JSON object (text that is no JSON
/// is taken as a string, as `omniva task create` does); false (with the
/// message printed) for one without '='.
bool read_values(const std::vector<std::string>& given, json::value& out) {
  out = json::value{json::object{}};
  for (auto& v : given) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      print_error("--value must be KEY=JSON, not '" + v + "'");
      return false;
    }
    auto parsed = json::parse(v.substr(eq + 1));
    out.set(v.substr(0, eq), parsed ? std::move(*parsed.doc)
                                    : json::value{v.substr(eq + 1)});
  }
  return true;
}

/// "DONE 3, RUNNING 1" from `{"DONE": 3, "RUNNING": 1, "total": 4}`: the
/// statuses with a count, in the order of a task's life, then any other.
std::string task_counts(const json::value* counts) {
  if (counts == nullptr || !counts->is_object())
    return "";
  static const std::vector<std::string> order{"PENDING", "READY", "RUNNING",
                                              "DONE",    "ERROR", "CANCELLED"};
  std::string out;
  auto add = [&](const std::string& status, const json::value& n) {
    auto count = n.as_int64();
    if (!count || *count == 0)
      return;
    out += (out.empty() ? "" : ", ") + status + " " + std::to_string(*count);
  };
  for (auto& s : order)
    if (auto* n = counts->find(s))
      add(s, *n);
  for (auto& [key, n] : counts->as_object())
    if (key != "total" && std::find(order.begin(), order.end(), key) == order.end())
      add(key, n);
  return out.empty() ? std::string{"none"} : out;
}

/// A JSON array of strings as "a, b"; anything else as JSON.
std::string joined(const json::value* v) {
  if (v == nullptr || v->is_null())
    return "";
  if (!v->is_array())
    return v->is_string() ? v->as_string() : json::serialize(*v);
  std::string out;
  for (auto& x : v->as_array())
    out += (out.empty() ? "" : ", ")
           + (x.is_string() ? x.as_string() : json::serialize(x));
  return out;
}

/// Prints an explanation for people (as `omniva explain` does): the
/// narrative, the reasoning chain with the packet of each statement, what
/// is missing and the completeness.
void print_explanation(const json::value& doc) {
  std::cout << field(doc, "narrative") << "\n";
  if (auto* chain = doc.find("chain"); chain && chain->is_array()
                                       && !chain->as_array().empty()) {
    std::cout << "\nchain:\n";
    size_t n = 0;
    for (auto& step : chain->as_array())
      std::cout << "  " << ++n << ". " << field(step, "statement")
                << "\n     packet " << field(step, "packet_id") << "\n";
  }
  if (auto* missing = doc.find("missing"); missing && missing->is_array()
                                           && !missing->as_array().empty()) {
    std::cout << "\nmissing:\n";
    for (auto& m : missing->as_array())
      std::cout << "  - " << (m.is_string() ? m.as_string() : json::serialize(m))
                << "\n";
  }
  if (auto* c = doc.find("completeness"); c && c->is_number())
    std::cout << "\ncompleteness: "
              << static_cast<int>(std::floor(c->as_double() * 100.0)) << "%\n";
}

// -- pipeline ---------------------------------------------------------------------------

int pipeline_register(const arguments& args) {
  po::options_description opts{"options"};
  std::string file;
  opts.add_options()("file", po::value(&file)->required(),
                     "the pipeline document (pipelines/<name>@<N>.json)");
  po::positional_options_description pos;
  pos.add("file", 1);
  client_options c;
  return client_call(
    args, "omniva pipeline register FILE [--json]",
    "Registers a pipeline document: the node checks it whole against its "
    "modules (every problem at once, each with its code and pointer) and "
    "registers it as name@version. The same document again changes nothing; "
    "another document under a registered ref is refused (immutable_ref). "
    "Prints the ref; --json: the ref and the pipeline.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      std::string text;
      if (!read_file(file, text))
        return exit_failure;
      auto r = client.request("POST", "/api/pipelines", text);
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc)
        return fail("the node's answer is not JSON");
      print(*doc, c.as_json, "ref");
      return exit_ok;
    });
}

int pipeline_list(const arguments& args) {
  return list_call(
    args, "omniva pipeline list [--limit N] [--cursor C] [--json]",
    "Lists the registered pipelines by ref: their steps and description. A "
    "page at a time (--limit, default 100).",
    "/api/pipelines",
    {col("ref"),
     column{"steps",
            [](const json::value& p) {
              auto* steps = p.find("steps");
              return steps && steps->is_array()
                       ? std::to_string(steps->as_array().size())
                       : std::string{};
            },
            false},
     col("description", true)});
}

int pipeline_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string ref;
  opts.add_options()("ref", po::value(&ref)->required(),
                     "the pipeline, name@version");
  po::positional_options_description pos;
  pos.add("ref", 1);
  client_options c;
  return client_call(
    args, "omniva pipeline show REF [--json]",
    "Shows a pipeline: its inputs, its steps (each with its module, its kind "
    "— single, for_each or collect —, the fan-outs it runs under and the "
    "steps it depends on) and its outputs. --json: the document as "
    "registered with ref and, per step, kind, scope and depends_on.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/pipelines/" + runtime::url_encode(ref));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      std::cout << field(*doc, "ref") << '\n';
      if (auto d = field(*doc, "description"); !d.empty())
        std::cout << d << '\n';
      if (auto* in = doc->find("inputs"); in && in->is_array()
                                          && !in->as_array().empty()) {
        std::cout << "\ninputs:\n";
        print_table(*in, {col("key"), col("contract_type"),
                          column{"accepts",
                                 [](const json::value& i) {
                                   if (auto d = field(i, "dtype"); !d.empty())
                                     return d;
                                   auto* cons = i.find("constraints");
                                   return cons ? joined(cons->find("media_types"))
                                               : std::string{};
                                 },
                                 true},
                          col("label", true)});
      }
      if (auto* steps = doc->find("steps"); steps && steps->is_array()) {
        std::cout << "\nsteps:\n";
        print_table(*steps,
                    {col("id"), col("module"), col("kind"),
                     column{"scope",
                            [](const json::value& s) {
                              return joined(s.find("scope"));
                            },
                            false},
                     column{"depends_on",
                            [](const json::value& s) {
                              return joined(s.find("depends_on"));
                            },
                            true}});
      }
      if (auto* out = doc->find("outputs"); out && out->is_object()
                                            && !out->as_object().empty()) {
        std::cout << "\noutputs:\n";
        for (auto& [key, src] : out->as_object())
          std::cout << "  " << key << " <- " << field(src, "from") << '\n';
      }
      return exit_ok;
    });
}

int pipeline_run(const arguments& args) {
  po::options_description opts{"options"};
  std::string ref;
  std::vector<std::string> inputs, values;
  int32_t priority = 0;
  opts.add_options()
    ("ref", po::value(&ref)->required(), "the pipeline, name@version")
    ("input", po::value(&inputs), "KEY=ASSET_ID: an ASSET input of the pipeline (repeatable)")
    ("value", po::value(&values), "KEY=JSON: a VALUE input of the pipeline (repeatable)")
    ("mock", "run its tasks with the mock adapter (no module program runs)")
    ("priority", po::value(&priority), "the priority of its tasks (higher runs earlier)");
  po::positional_options_description pos;
  pos.add("ref", 1);
  client_options c;
  return client_call(
    args,
    "omniva pipeline run REF [--input KEY=ASSET_ID]... [--value KEY=JSON]... "
    "[--mock] [--priority N] [--json]",
    "Starts a run of a pipeline: the node checks the inputs like a task's "
    "(every problem at once) and creates the run's first tasks; the others "
    "follow as data arrives. Prints the run id (the trace id of everything "
    "it causes); --json: the run.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      json::value body{json::object{}};
      json::value in, vals;
      if (!read_inputs(inputs, in) || !read_values(values, vals))
        return exit_usage;
      body.set("inputs", std::move(in));
      body.set("values", std::move(vals));
      if (vm.count("mock"))
        body.set("mode", "mock");
      if (vm.count("priority"))
        body.set("priority", static_cast<int64_t>(priority));
      auto r = client.request("POST",
                              "/api/pipelines/" + runtime::url_encode(ref) + "/runs",
                              json::serialize(body));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc)
        return fail("the node's answer is not JSON");
      print(*doc, c.as_json, "run_id");
      return exit_ok;
    });
}

// -- run --------------------------------------------------------------------------------

/// Prints a run for people: its fields, its steps (tasks per status and
/// fan-outs), its outputs and the elements that did not succeed.
void print_run(const json::value& run) {
  json::value head{json::object{}};
  for (auto* key : {"run_id", "pipeline", "status", "mode", "priority",
                    "trigger_id", "requested_by", "created_at", "updated_at",
                    "ended_at"})
    if (auto* v = run.find(key); v && !v->is_null())
      head.set(key, *v);
  if (auto* e = run.find("error"); e && e->is_object())
    head.set("error", field(*e, "code") + ": " + field(*e, "message"));
  head.set("tasks", task_counts(run.find("tasks")));
  print_fields(head);
  if (auto* steps = run.find("steps"); steps && steps->is_array()) {
    std::cout << "\nsteps:\n";
    print_table(*steps,
                {col("id"), col("module"), col("kind"),
                 column{"tasks",
                        [](const json::value& s) {
                          return task_counts(s.find("tasks"));
                        },
                        false},
                 column{"fanouts",
                        [](const json::value& s) {
                          // Elements kept per branch: "root: 3", "2: 1".
                          auto* f = s.find("fanouts");
                          if (f == nullptr || !f->is_object())
                            return std::string{};
                          std::string out;
                          for (auto& [branch, n] : f->as_object())
                            out += (out.empty() ? "" : ", ")
                                   + (branch.empty() ? std::string{"root"} : branch)
                                   + ": "
                                   + (n.is_string() ? n.as_string()
                                                    : json::serialize(n));
                          return out;
                        },
                        true}});
  }
  if (auto* out = run.find("outputs"); out && out->is_object()
                                       && !out->as_object().empty()) {
    std::cout << "\noutputs:\n";
    for (auto& [key, v] : out->as_object())
      std::cout << "  " << key << "  " << joined(&v) << '\n';
  }
  if (auto* missing = run.find("missing"); missing && missing->is_array()
                                           && !missing->as_array().empty()) {
    std::cout << "\nmissing:\n";
    for (auto& m : missing->as_array()) {
      auto branch = field(m, "branch");
      std::cout << "  " << field(m, "step") << " ["
                << (branch.empty() ? std::string{"root"} : branch) << "] task "
                << field(m, "task_id") << "  " << field(m, "code") << ": "
                << field(m, "message") << '\n';
    }
  }
  if (auto* t = run.find("tasks_truncated"); t && t->is_bool() && t->as_bool())
    std::cout << "\n(more than 1,000 tasks: --json lists the first 1,000)\n";
}

int run_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  opts.add_options()("id", po::value(&id)->required(), "the run id");
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva run show RUN [--json]",
    "Shows a run: its status, its steps (tasks per status, fan-outs: the "
    "elements kept per branch), its outputs and the elements that did not "
    "succeed. --json: the run with its task ids.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/runs/" + runtime::url_encode(id));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json)
        print(*doc, true, nullptr);
      else
        print_run(*doc);
      return exit_ok;
    });
}

int run_list(const arguments& args) {
  return list_call(
    args,
    "omniva run list [--pipeline REF] [--status S] [--limit N] [--cursor C] "
    "[--json]",
    "Lists runs, newest first, a page at a time (--limit, default 100); when "
    "there is more, the last line is the command that prints the next page. "
    "An unknown status or pipeline is refused (exit 2).",
    "/api/runs",
    {col("run_id"), col("pipeline"), col("status"), col("created_at"),
     column{"tasks",
            [](const json::value& r) { return task_counts(r.find("tasks")); },
            true}},
    {{"pipeline", "pipeline", "only the runs of this pipeline (name@version)"},
     {"status", "status",
      "RUNNING, PAUSED, DONE, FAILED or CANCELLED (exactly so)"}});
}

int run_cancel(const arguments& args) {
  return id_call(args, "omniva run cancel RUN [--json]",
                 "Cancels a run: every task of it that has not finished is "
                 "cancelled and no new one is created. Prints its new status; "
                 "a run that ended: run_not_active.",
                 "the run id", "POST", "/api/runs/", "/cancel", "status");
}

int run_pause(const arguments& args) {
  return id_call(args, "omniva run pause RUN [--json]",
                 "Pauses a running run: none of its tasks is dispatched "
                 "(created ones wait READY) until it is resumed. Prints its "
                 "new status; a run that is not RUNNING: run_not_active.",
                 "the run id", "POST", "/api/runs/", "/pause", "status");
}

int run_resume(const arguments& args) {
  return id_call(args, "omniva run resume RUN [--json]",
                 "Resumes a paused run. Prints its new status; a run that is "
                 "not PAUSED: run_not_active.",
                 "the run id", "POST", "/api/runs/", "/resume", "status");
}

int run_retry(const arguments& args) {
  return id_call(args, "omniva run retry RUN [--json]",
                 "Runs again the tasks of a run that failed on their own (and, "
                 "through them, what waited on them), and a collect step "
                 "whose elements failed once they ended again. A run FAILED, "
                 "or DONE with missing elements, is RUNNING again. Prints its "
                 "new status; another run: run_not_active.",
                 "the run id", "POST", "/api/runs/", "/retry", "status");
}

int explain_run(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  int64_t limit = 0;
  std::string cursor;
  opts.add_options()
    ("id", po::value(&id)->required(), "the run id")
    ("limit", po::value(&limit),
     "at most this many of its tasks per page (1 to 1000, default 100)")
    ("cursor", po::value(&cursor),
     "the page after the one that printed this cursor");
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva run explain RUN [--json] [--limit N] [--cursor C]",
    "Explains a run from the lineage alone (HaloLux): its packets, the "
    "fan-outs Zenith decided and the tasks it created, each statement with "
    "the packet that shows it, a page of its tasks at a time.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      std::map<std::string, std::string> q;
      if (vm.count("limit"))
        q["limit"] = std::to_string(limit);
      if (vm.count("cursor"))
        q["cursor"] = cursor;
      auto r = client.request("GET", "/api/runs/" + runtime::url_encode(id)
                                       + "/explain" + runtime::encode_query(q));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      print_explanation(*doc);
      if (auto next = field(*doc, "next_cursor"); !next.empty()) {
        std::string line = "\nnext page: omniva run explain " + shell_quoted(id);
        if (vm.count("limit"))
          line += " --limit " + std::to_string(limit);
        // Never the token: it would stay on the screen.
        if (vm.count("node"))
          line += " --node " + shell_quoted(c.node);
        if (vm.count("data"))
          line += " --data " + shell_quoted(c.data);
        std::cout << line << " --cursor " << shell_quoted(next) << '\n';
      }
      return exit_ok;
    });
}

// -- trigger ----------------------------------------------------------------------------

int trigger_create(const arguments& args) {
  po::options_description opts{"options"};
  std::string pipeline, every, cron;
  std::vector<std::string> inputs, values;
  opts.add_options()
    ("pipeline", po::value(&pipeline)->required(), "the pipeline, name@version")
    ("every", po::value(&every), "start a run this often: a number and ms, s, m, h or d (30s, 1d)")
    ("cron", po::value(&cron), "start a run when this cron expression matches (5 fields, UTC)")
    ("input", po::value(&inputs), "KEY=ASSET_ID: an ASSET input of the runs (repeatable)")
    ("value", po::value(&values), "KEY=JSON: a VALUE input of the runs (repeatable)")
    ("mock", "run the runs' tasks with the mock adapter");
  po::positional_options_description pos;
  pos.add("pipeline", 1);
  client_options c;
  return client_call(
    args,
    "omniva trigger create PIPELINE (--every 1d | --cron \"0 6 * * *\") "
    "[--value KEY=JSON]... [--input KEY=ASSET_ID]... [--mock] [--json]",
    "Creates a trigger: it starts runs of the pipeline on a schedule, every "
    "interval or when a cron expression (minute hour day-of-month month "
    "day-of-week, UTC; *, lists, ranges, steps) matches. A start missed while "
    "the node was down runs once at restart. Prints the trigger id; --json: "
    "the trigger.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      if (vm.count("every") == vm.count("cron")) {
        print_error("give the schedule as --every INTERVAL or --cron "
                    "EXPRESSION, one of them (see 'omniva trigger create "
                    "--help')");
        return exit_usage;
      }
      json::value body{json::object{}};
      body.set("pipeline", pipeline);
      if (vm.count("every"))
        body.set("every", every);
      else
        body.set("cron", cron);
      json::value in, vals;
      if (!read_inputs(inputs, in) || !read_values(values, vals))
        return exit_usage;
      body.set("inputs", std::move(in));
      body.set("values", std::move(vals));
      if (vm.count("mock"))
        body.set("mode", "mock");
      auto r = client.request("POST", "/api/triggers", json::serialize(body));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc)
        return fail("the node's answer is not JSON");
      print(*doc, c.as_json, "trigger_id");
      return exit_ok;
    });
}

int trigger_list(const arguments& args) {
  return list_call(
    args, "omniva trigger list [--limit N] [--cursor C] [--json]",
    "Lists the triggers by id: the pipeline each starts, its schedule, its "
    "next start and the last run it started.",
    "/api/triggers",
    {col("trigger_id"), col("pipeline"),
     column{"schedule",
            [](const json::value& t) {
              if (auto every = field(t, "every"); !every.empty())
                return "every " + every;
              return "cron " + field(t, "cron");
            },
            false},
     col("mode"), col("next_start"), col("last_run_id")});
}

int trigger_rm(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  opts.add_options()("id", po::value(&id)->required(), "the trigger id");
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva trigger rm ID [--json]",
    "Removes a trigger: it starts no more runs (runs it started go on). "
    "Prints 'removed ID'; --json: the trigger removed. None: exit 1, "
    "not_found.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("DELETE", "/api/triggers/" + runtime::url_encode(id));
      return print_change(r, c.as_json, "removed", "trigger_id");
    });
}

} // namespace

int run_pipeline(const arguments& args) {
  static const std::vector<verb> verbs{
    {"register", "register a pipeline document", pipeline_register},
    {"list", "list the registered pipelines", pipeline_list},
    {"show", "show a pipeline: its inputs, steps and outputs", pipeline_show},
    {"run", "start a run of a pipeline", pipeline_run},
  };
  return dispatch("pipeline",
                  "Pipelines of a node: steps of modules, fanning out over "
                  "lists known only at run time (docs/pipelines.md).",
                  verbs, args);
}

int run_run(const arguments& args) {
  static const std::vector<verb> verbs{
    {"show", "show a run: status, steps, outputs, missing elements", run_show},
    {"list", "list runs, newest first (a page at a time)", run_list},
    {"cancel", "cancel a run and its unfinished tasks", run_cancel},
    {"pause", "stop dispatching a run's tasks", run_pause},
    {"resume", "dispatch a paused run's tasks again", run_resume},
    {"retry", "run a run's failed tasks again", run_retry},
    {"explain", "explain a run from its packets (HaloLux)", explain_run},
  };
  return dispatch("run", "Runs of pipelines on a node (docs/pipelines.md).",
                  verbs, args);
}

int run_trigger(const arguments& args) {
  static const std::vector<verb> verbs{
    {"create", "start runs of a pipeline on a schedule", trigger_create},
    {"list", "list the triggers", trigger_list},
    {"rm", "remove a trigger", trigger_rm},
  };
  return dispatch("trigger",
                  "Triggers of a node: runs of a pipeline started every "
                  "interval or on a cron schedule (docs/pipelines.md).",
                  verbs, args);
}

} // namespace omniva::cli
