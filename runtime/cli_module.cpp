// `omniva module ...`: register a module with a node (its module.json, and
// the folder it runs in), list and show the registered ones, and have the
// node load its module folders again; for module authors, without a node,
// start a module folder (`init`) and run a module once (`run`).

#include "runtime/adapter.hpp"
#include "runtime/cli_client.hpp"
#include "runtime/module_runner.hpp"
#include "runtime/module_template.hpp"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <iostream>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

int module_register(const arguments& args) {
  po::options_description opts{"options"};
  std::string path;
  opts.add_options()("path", po::value(&path)->required(), "module.json, or a module folder");
  po::positional_options_description pos;
  pos.add("path", 1);
  client_options c;
  return client_call(
    args, "omniva module register FILE|DIR [--json]",
    "Registers a module with the node (a folder is registered with the "
    "folder as the module's working directory).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto file = fs::is_directory(path) ? fs::path{path} / "module.json"
                                         : fs::path{path};
      std::string text;
      if (!read_file(file.string(), text))
        return exit_failure;
      auto dir = fs::absolute(file).parent_path().string();
      auto r = client.request("POST", "/api/modules?dir="
                                        + runtime::url_encode(dir),
                              text);
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "ref");
      return exit_ok;
    });
}

/// The keys of the members of `items` (an array of objects), joined with
/// ", ": the inputs or outputs of a contract.
std::string keys_of(const json::value* items) {
  std::string out;
  if (items != nullptr && items->is_array())
    for (auto& x : items->as_array())
      out += (out.empty() ? "" : ", ") + field(x, "key");
  return out;
}

int module_list(const arguments& args) {
  return list_call(
    args, "omniva module list [--limit N] [--cursor C] [--json]",
    "Lists the registered modules, a page at a time (--limit, default 100); "
    "when there is more, the last line is the command that prints the next "
    "page.",
    "/api/modules",
    {col("ref"),
     // A module with many inputs gives way too, so that a row fits.
     column{"inputs", [](const json::value& m) { return keys_of(m.find("inputs")); },
            true},
     column{"outputs",
            [](const json::value& m) { return keys_of(m.find("outputs")); }, false},
     col("description", true)});
}

/// `v` (an object) with the members `order` names first, in that order,
/// then the others in theirs; each member passed through `inner(key,
/// member)`.
json::value reordered(const json::value& v, std::initializer_list<const char*> order,
                      const std::function<json::value(const std::string&,
                                                      const json::value&)>& inner
                      = {}) {
  if (!v.is_object())
    return v;
  json::value out{json::object{}};
  auto put = [&](const std::string& key, const json::value& x) {
    out.set(key, inner ? inner(key, x) : x);
  };
  for (auto* key : order)
    if (auto* x = v.find(key))
      put(key, *x);
  for (auto& [key, x] : v.as_object())
    if (out.find(key) == nullptr)
      put(key, x);
  return out;
}

/// `items` (an array) with each element reordered by `order` (and `inner`).
json::value each_reordered(const json::value& items,
                           std::initializer_list<const char*> order,
                           const std::function<json::value(const std::string&,
                                                           const json::value&)>& inner
                           = {}) {
  if (!items.is_array())
    return items;
  json::array out;
  for (auto& x : items.as_array())
    out.push_back(reordered(x, order, inner));
  return json::value{std::move(out)};
}

/// A contract as the node answers it (members sorted) in module.json's
/// order.
json::value in_contract_order(const json::value& contract) {
  // The order of module.json as docs/contracts.md shows it (and as
  // contracts/module_contract.cpp writes it); the node stores contracts with
  // their members sorted.
  return reordered(
    contract,
    {"name", "version", "description", "inputs", "outputs", "resources", "run",
     "secrets", "schema_version"},
    [](const std::string& key, const json::value& x) -> json::value {
      if (key == "inputs")
        return each_reordered(
          x,
          {"key", "label", "description", "contract_type", "required", "dtype",
           "default", "constraints"},
          [](const std::string& k, const json::value& y) {
            return k == "constraints"
                     ? reordered(y, {"dtype", "media_types", "schema", "min", "max",
                                     "enum", "pattern", "max_length"})
                     : y;
          });
      if (key == "outputs")
        return each_reordered(x, {"key", "label", "description", "contract_type",
                                  "media_type", "schema"});
      if (key == "resources")
        return reordered(x, {"cpu", "memory_gb", "gpu", "timeout_s"});
      if (key == "run")
        return reordered(x, {"command"});
      if (key == "secrets")
        return reordered(x, {"required", "optional"});
      return x;
    });
}

int module_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string ref;
  opts.add_options()("ref", po::value(&ref)->required(), "name@version");
  po::positional_options_description pos;
  pos.add("ref", 1);
  client_options c;
  return client_call(
    args, "omniva module show REF [--json]",
    "Shows a module's contract, in module.json's order (name and version "
    "first).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/modules/" + runtime::url_encode(ref));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc)
        return fail("the node's answer is not JSON");
      print(in_contract_order(*doc), c.as_json, nullptr);
      return exit_ok;
    });
}

int module_rescan(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva module rescan [--json]",
    "Has the node load its module folders again (--modules): new schemas, "
    "policies and modules are registered, the rest is reported unchanged or "
    "refused. Exits 1 when anything was refused.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("POST", "/api/modules/rescan");
      if (!r.ok())
        return report(r);
      auto doc = *r.json();
      if (c.as_json) {
        print(doc, true, nullptr);
      } else if (auto* items = doc.find("items"); items && items->is_array()) {
        for (auto& item : items->as_array()) {
          std::cout << field(item, "outcome") << '\t' << field(item, "kind")
                    << '\t' << field(item, "ref") << '\t' << field(item, "source");
          if (auto* e = item.find("error"))
            std::cout << '\t' << field(*e, "code") << ' ' << field(*e, "pointer")
                      << ": " << field(*e, "message");
          std::cout << '\n';
        }
        std::cout << field(doc, "registered") << " registered, "
                  << field(doc, "unchanged") << " unchanged, "
                  << field(doc, "refused") << " refused\n";
      }
      auto* refused = doc.find("refused");
      return refused && refused->as_int64() && *refused->as_int64() > 0
               ? exit_failure
               : exit_ok;
    });
}

// -- for module authors: init and run, without a node ---------------------------

/// Prints problems for people, one a line: "  code pointer: message" (the
/// pointer left out when it is the root).
void print_problems(std::ostream& out, const std::vector<contracts::problem>& xs) {
  for (auto& p : xs) {
    out << "  " << contracts::to_string(p.code);
    if (!p.pointer.empty())
      out << ' ' << p.pointer;
    out << ": " << p.message << '\n';
  }
}

/// Reports problems that stop a command: `{"ok": false, "errors": [...]}`
/// (plus `stage`) on stdout with --json, else "omniva: <what> (N
/// problems):" and the problems on stderr. Returns `rc`.
int refuse(const std::vector<contracts::problem>& xs, bool as_json,
           const std::string& stage, const std::string& what, int rc) {
  if (as_json) {
    json::value out{json::object{}};
    out.set("ok", false);
    out.set("stage", stage);
    out.set("errors", contracts::to_json(xs));
    std::cout << json::serialize(out) << '\n';
  } else {
    std::cerr << "omniva: " << what << " (" << xs.size() << " problem"
              << (xs.size() == 1 ? "" : "s") << "):\n";
    print_problems(std::cerr, xs);
  }
  return rc;
}

int module_init(const arguments& args) {
  po::options_description opts{"options"};
  std::string name, lang = "python", parent = ".";
  opts.add_options()
    ("name", po::value(&name)->required(), "the module's name (its folder's too)")
    ("lang", po::value(&lang), "python (default) or shell")
    ("dir", po::value(&parent), "where the module's folder goes (default: here)")
    ("json", "print machine output");
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva module init NAME [--lang python|shell] [--dir PARENT] [--json]",
        "Writes a working module folder PARENT/NAME: module.json (a text file "
        "and an int in, a JSON report out, with its schema), the program "
        "(main.py, or main.sh with --lang shell), a sample input "
        "(sample/text.txt) and a README. It passes 'omniva contract check' "
        "and runs with 'omniva module run' as it is. The folder must not "
        "exist or be empty (exit 1); a NAME the contract refuses exits 2.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  auto language = runtime::module_language_from_string(lang);
  if (!language) {
    print_error("--lang must be python or shell, not '" + lang + "'");
    return exit_usage;
  }
  auto t = runtime::make_module_template(name, *language);
  if (!t)
    return refuse(t.problems, as_json, "name",
                  "'" + name + "' cannot name a module", exit_usage);
  auto dir = fs::path{parent} / name;
  if (auto why = runtime::write_module_template(t, dir))
    return refuse({*why}, as_json, "folder",
                  "cannot write the module " + t.ref, exit_failure);
  if (as_json) {
    json::value out{json::object{}};
    out.set("ok", true);
    out.set("ref", t.ref);
    out.set("dir", fs::absolute(dir).lexically_normal().string());
    json::value files{json::array{}};
    for (auto& f : t.files)
      files.push_back(f.path);
    out.set("files", std::move(files));
    std::cout << json::serialize(out) << '\n';
    return exit_ok;
  }
  auto shown = dir.lexically_normal().string();
  std::cout << "created " << t.ref << " in " << shown << "/:";
  for (auto& f : t.files)
    std::cout << ' ' << f.path;
  std::cout << "\nnext:\n  omniva contract check " << shown
            << "/module.json\n  omniva module run " << shown << " --input text="
            << shown << "/sample/text.txt\n";
  return exit_ok;
}

/// Set by SIGINT or SIGTERM while `module run` runs a module: the module's
/// process group is then killed and the outcome is `cancelled`.
std::atomic<bool> run_stop{false};

extern "C" void on_run_stop_signal(int) {
  run_stop.store(true);
}

/// Splits "KEY=REST" (`option` names the flag in the error); nullopt, with
/// the error printed, when there is no '=' or no key.
std::optional<std::pair<std::string, std::string>>
key_and_rest(const std::string& arg, const char* option, const char* form) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    print_error(std::string{"--"} + option + " must be " + form + ", not '" + arg
                + "'");
    return std::nullopt;
  }
  return std::pair{arg.substr(0, eq), arg.substr(eq + 1)};
}

/// Makes the folder a run works in: `keep` (created when missing; it must
/// be empty), else a new folder under $TMPDIR (or /tmp). Empty, with the
/// error printed, on failure.
std::string execution_folder(const std::string& keep) {
  std::error_code err;
  if (!keep.empty()) {
    if (fs::exists(keep, err)
        && (!fs::is_directory(keep, err) || !fs::is_empty(keep, err))) {
      print_error("--keep: '" + keep
                  + "' exists and is not an empty folder: give a new or empty "
                    "one (a run never mixes its files with others)");
      return {};
    }
    fs::create_directories(keep, err);
    if (err) {
      print_error("--keep: cannot create '" + keep + "': " + err.message());
      return {};
    }
    return fs::absolute(keep).lexically_normal().string();
  }
  auto* tmp = std::getenv("TMPDIR");
  auto pattern = (fs::path{tmp && *tmp ? tmp : "/tmp"} / "omniva-run-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    print_error("cannot create a temporary folder in "
                + fs::path{pattern}.parent_path().string() + ": "
                + std::strerror(errno));
    return {};
  }
  return pattern;
}

/// Prints how a run ended, for people.
void print_outcome(const runtime::loaded_module& m,
                   const runtime::planned_run& plan,
                   const runtime::run_report& r, bool kept) {
  auto& o = r.outcome;
  std::cout << (o.ok ? "DONE " : "ERROR ") << m.contract.ref() << " ("
            << contracts::to_string(plan.order.task.mode) << ", "
            << r.duration.count() << " ms)\n";
  if (!o.ok) {
    std::cout << "  " << contracts::to_string(o.error_code);
    if (!o.error_pointer.empty())
      std::cout << ' ' << o.error_pointer;
    std::cout << ": " << o.error_message << '\n';
  }
  for (auto& out : o.outputs) {
    std::cout << "  " << out.key << "  " << out.media_type << "  "
              << human_size(out.size) << "  ";
    if (kept)
      std::cout << out.path << '\n';
    else
      std::cout << "sha256 " << out.sha256 << '\n';
  }
  if (kept) {
    if (!o.stdout_path.empty() || !o.stderr_path.empty())
      std::cout << "  logs  " << o.stdout_path
                << (o.stdout_path.empty() ? "" : "  ") << o.stderr_path << '\n';
    std::cout << "kept in " << plan.order.output_dir << '\n';
  } else {
    std::cout << "the execution folder was removed; --keep DIR keeps the "
                 "outputs and logs\n";
  }
}

int module_run(const arguments& args) {
  po::options_description opts{"options"};
  std::string path, mode = "real", keep;
  std::vector<std::string> inputs, values, media_types, schema_dirs;
  opts.add_options()
    ("dir", po::value(&path)->required(), "the module's folder (or its module.json)")
    ("input", po::value(&inputs), "KEY=FILE: a file for an ASSET input (repeatable)")
    ("value", po::value(&values),
     "KEY=JSON: a VALUE input (repeatable); text that is not JSON is taken "
     "as a string, as by 'task create'")
    ("media-type", po::value(&media_types),
     "KEY=TYPE: the media type of an input's file instead of the detected "
     "one (repeatable)")
    ("mode", po::value(&mode), "real (default: run the program) or mock (fabricate the outputs)")
    ("keep", po::value(&keep),
     "run in this folder (new or empty) and keep it: outputs, logs, manifests")
    ("modules", po::value(&schema_dirs),
     "a folder of modules whose schemas the contract may name, as 'omniva "
     "serve --modules' reads it (repeatable)")
    ("json", "print machine output");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva module run DIR [--input KEY=FILE]... [--value KEY=JSON]... "
        "[--media-type KEY=TYPE]... [--mode real|mock] [--keep DIR] "
        "[--modules DIR]... [--json]",
        "Runs a module once without a node, through the node's own adapter: "
        "checks the contract (with the schemas of its folder), pre-flights the "
        "files and values against it, runs the program (or the mock adapter) "
        "in a temporary folder (removed after; --keep DIR keeps it), checks "
        "the outputs as a node does, and prints the outcome and the outputs. "
        "Exits 0 when the module succeeded, 1 when it failed, 2 when it could "
        "not run (the command line, the contract or the request: every "
        "problem with its code and pointer).",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  runtime::run_inputs given;
  auto parsed_mode = contracts::execution_mode_from_string(mode);
  if (!parsed_mode) {
    print_error("--mode must be real or mock, not '" + mode + "'");
    return exit_usage;
  }
  given.mode = *parsed_mode;
  for (auto& arg : inputs) {
    auto kv = key_and_rest(arg, "input", "KEY=FILE");
    if (!kv)
      return exit_usage;
    given.files.push_back(std::move(*kv));
  }
  for (auto& arg : values) {
    auto kv = key_and_rest(arg, "value", "KEY=JSON");
    if (!kv)
      return exit_usage;
    // As `task create` reads it: JSON, or else the text as a string.
    auto doc = json::parse(kv->second);
    given.values.emplace_back(kv->first, doc ? json::serialize(*doc.doc)
                                             : json::serialize(json::value{kv->second}));
  }
  for (auto& arg : media_types) {
    auto kv = key_and_rest(arg, "media-type", "KEY=TYPE");
    if (!kv)
      return exit_usage;
    given.media_types[kv->first] = kv->second;
  }

  auto loaded = runtime::load_module(path, schema_dirs);
  if (!loaded) {
    refuse(loaded.problems, as_json, "contract",
           loaded.file + " is not a module that can run", exit_usage);
    bool schema_missing = std::any_of(
      loaded.problems.begin(), loaded.problems.end(), [](auto& p) {
        return p.code == contracts::ec::invalid_ref
               && p.pointer.ends_with("/schema");
      });
    if (schema_missing && !as_json)
      std::cerr << "hint: without a node, a contract knows the shipped "
                   "schemas, those in its folder's schemas/ and those of each "
                   "--modules DIR\n";
    return exit_usage;
  }
  auto& module = *loaded.module;
  bool kept = !keep.empty();
  std::error_code err;
  bool keep_existed = kept && fs::exists(keep, err);
  auto folder = execution_folder(keep);
  if (folder.empty())
    return exit_usage;
  auto remove_folder = [&] {
    if (!kept)
      fs::remove_all(folder, err);
  };
  auto plan = runtime::plan_run(module, given, folder);
  if (!plan) {
    remove_folder();
    if (kept && !keep_existed) // made for a run that never started
      fs::remove(folder, err);
    return refuse(plan.problems, as_json, "preflight",
                  "the request for " + module.contract.ref() + " is refused",
                  exit_usage);
  }
  run_stop.store(false);
  auto previous_int = std::signal(SIGINT, on_run_stop_signal);
  auto previous_term = std::signal(SIGTERM, on_run_stop_signal);
  auto report = runtime::run_module_once(module, *plan.run, &run_stop);
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  if (as_json) {
    json::value out{json::object{}};
    out.set("ok", report.outcome.ok);
    out.set("module", module.contract.ref());
    out.set("mode", std::string{contracts::to_string(plan.run->order.task.mode)});
    out.set("duration_ms", static_cast<int64_t>(report.duration.count()));
    out.set("kept", kept);
    out.set("execution_dir", plan.run->order.output_dir);
    out.set("task", contracts::to_json(plan.run->task));
    out.set("outcome", runtime::to_json(report.outcome));
    std::cout << json::serialize(out) << '\n';
  } else {
    print_outcome(module, *plan.run, report, kept);
  }
  remove_folder();
  return report.outcome.ok ? exit_ok : exit_failure;
}

} // namespace

int run_module(const arguments& args) {
  static const std::vector<verb> verbs{
    {"register", "register a module (module.json or its folder)", module_register},
    {"list", "list the registered modules", module_list},
    {"show", "show a module's contract", module_show},
    {"rescan", "load the node's module folders again", module_rescan},
    {"init", "write a new, working module folder (no node needed)", module_init},
    {"run", "run a module once, without a node", module_run},
  };
  return dispatch("module",
                  "Modules: those registered with a node, and for module "
                  "authors a new module folder and a run without a node.",
                  verbs, args);
}

} // namespace omniva::cli
