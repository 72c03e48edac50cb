// `omniva contract ...`: check a module contract, pre-flight a task request
// against a contract and a set of assets, offline (no node needed).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/preflight.hpp"
#include "runtime/cli.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

using contracts::problem;

/// Prints problems for people: "code pointer: message", one a line.
void print_problems(std::ostream& out, const std::vector<problem>& xs) {
  for (auto& p : xs)
    out << "  " << contracts::to_string(p.code) << ' '
        << (p.pointer.empty() ? "/" : p.pointer) << ": " << p.message << '\n';
}

/// Prints `{"ok":false,"errors":[...]}` (plus "document" when given).
void print_json_failure(const std::vector<problem>& xs,
                        const std::string& document = {}) {
  json::value out{json::object{}};
  out.set("ok", false);
  if (!document.empty())
    out.set("document", document);
  out.set("errors", contracts::to_json(xs));
  std::cout << json::serialize(out) << '\n';
}

/// Reports that `path` could not be read or parsed: a one-line error for
/// people, the JSON failure with --json. Returns exit_failure.
int fail_document(const std::string& path, const problem& why, bool as_json) {
  if (as_json)
    print_json_failure({why}, path);
  else
    print_error(path + ": " + why.message);
  return exit_failure;
}

/// Reads and parses a JSON file; on failure reports and returns nullopt.
std::optional<json::value> load_json(const std::string& path, bool as_json,
                                     int& rc) {
  std::ifstream in{path, std::ios::binary};
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) {
    rc = fail_document(path, {contracts::ec::io_error, "", "cannot read the file"},
                       as_json);
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  auto parsed = json::parse(buf.str());
  if (!parsed) {
    rc = fail_document(path,
                       {contracts::ec::invalid_json, "",
                        parsed.error.message},
                       as_json);
    return std::nullopt;
  }
  return std::move(*parsed.doc);
}

/// Loads and checks a contract file; on failure reports and returns nullopt.
std::optional<contracts::module_contract>
load_contract(const std::string& path, bool as_json, int& rc) {
  auto doc = load_json(path, as_json, rc);
  if (!doc)
    return std::nullopt;
  auto result = contracts::parse_module_contract_document(*doc);
  if (!result) {
    if (as_json) {
      print_json_failure(result.problems, path);
    } else {
      std::cout << path << ": not a valid module contract ("
                << result.problems.size() << " problem"
                << (result.problems.size() == 1 ? "" : "s") << ")\n";
      print_problems(std::cout, result.problems);
    }
    rc = exit_failure;
    return std::nullopt;
  }
  return std::move(result.contract);
}

// -- omniva contract check ------------------------------------------------------

int run_check(const arguments& args) {
  po::options_description opts{"options"};
  std::string file;
  opts.add_options()
    ("file", po::value(&file)->required(), "the module.json to check")
    ("json", "print machine output");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva contract check FILE [--json]",
        "Checks a module contract (module.json) against the contract "
        "meta-schema and the contract rules, and prints every problem with "
        "its code and JSON pointer. Exits 0 when the contract is valid, 1 "
        "otherwise.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  int rc = exit_failure;
  auto contract = load_contract(file, as_json, rc);
  if (!contract)
    return rc;
  if (as_json) {
    json::value out{json::object{}};
    out.set("ok", true);
    out.set("ref", contract->ref());
    std::cout << json::serialize(out) << '\n';
  } else {
    std::cout << "ok: " << contract->ref() << '\n';
  }
  return exit_ok;
}

// -- omniva contract preflight --------------------------------------------------

/// Prints an accepted task for people.
void print_task(const contracts::module_contract& contract,
                const contracts::resolved_task& task) {
  auto& r = task.request;
  std::cout << "ok: the request may run " << contract.ref() << '\n';
  for (auto& input : contract.inputs) {
    std::cout << "  " << input.key << " ("
              << contracts::to_string(input.contract_type) << "): ";
    if (auto i = r.input_mapping.find(input.key); i != r.input_mapping.end()) {
      std::cout << "asset " << i->second;
      if (std::find(task.pending_assets.begin(), task.pending_assets.end(),
                    i->second)
          != task.pending_assets.end())
        std::cout << " (PENDING: the task waits for it)";
    } else if (auto v = r.values.find(input.key); v != r.values.end()) {
      std::cout << v->second;
      if (std::find(task.defaults_applied.begin(), task.defaults_applied.end(),
                    input.key)
          != task.defaults_applied.end())
        std::cout << " (default)";
    } else {
      std::cout << "not given (optional)";
    }
    std::cout << '\n';
  }
}

int run_preflight(const arguments& args) {
  po::options_description opts{"options"};
  std::string contract_path, request_path, assets_path;
  opts.add_options()
    ("contract", po::value(&contract_path)->required(),
     "the module's contract (module.json)")
    ("request", po::value(&request_path)->required(),
     "the task request (JSON)")
    ("assets", po::value(&assets_path),
     "the assets the request may map: a JSON array of asset records (a "
     "PENDING record's media_type is what its producer promised)")
    ("json", "print machine output");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva contract preflight --contract FILE --request FILE "
        "[--assets FILE] [--json]",
        "Checks a task request against a module contract and the assets it "
        "maps, as the runtime does before it creates a task, and prints "
        "either the resolved task (defaults applied) or every problem. "
        "Exits 0 when the request is accepted, 1 otherwise.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  int rc = exit_failure;
  auto contract = load_contract(contract_path, as_json, rc);
  if (!contract)
    return rc;
  auto request_doc = load_json(request_path, as_json, rc);
  if (!request_doc)
    return rc;
  std::vector<problem> problems;
  auto request = contracts::task_request_from_json(*request_doc, problems);
  contracts::asset_table table;
  std::vector<problem> asset_problems;
  if (!assets_path.empty()) {
    auto assets_doc = load_json(assets_path, as_json, rc);
    if (!assets_doc)
      return rc;
    if (!assets_doc->is_array()) {
      return fail_document(assets_path,
                           {contracts::ec::type_mismatch, "",
                            "expected a JSON array of asset records"},
                           as_json);
    }
    auto& xs = assets_doc->as_array();
    for (size_t i = 0; i < xs.size(); ++i)
      if (auto x = contracts::asset_record_from_json(
            xs[i], asset_problems, json::append_pointer("", i)))
        table.add(std::move(*x));
    if (!asset_problems.empty()) {
      if (as_json) {
        print_json_failure(asset_problems, assets_path);
      } else {
        std::cout << assets_path << ": invalid asset records\n";
        print_problems(std::cout, asset_problems);
      }
      return exit_failure;
    }
  }
  std::optional<contracts::preflight_result> result;
  if (request) {
    result = contracts::preflight(*contract, *request, table.view());
    if (!*result)
      problems = result->problems;
  }
  if (!problems.empty()) {
    if (as_json) {
      print_json_failure(problems, request_path);
    } else {
      std::cout << "rejected: " << problems.size() << " problem"
                << (problems.size() == 1 ? "" : "s") << " in " << request_path
                << '\n';
      print_problems(std::cout, problems);
    }
    return exit_failure;
  }
  if (as_json) {
    json::value out{json::object{}};
    out.set("ok", true);
    out.set("task", contracts::to_json(*result->task));
    std::cout << json::serialize(out) << '\n';
  } else {
    print_task(*contract, *result->task);
  }
  return exit_ok;
}

} // namespace

int run_contract(const arguments& args) {
  static const std::vector<verb> verbs{
    {"check", "check a module contract (module.json) and list every problem",
     run_check},
    {"preflight",
     "check a task request against a contract and assets (pre-flight)",
     run_preflight},
  };
  return dispatch("contract",
                  "Module contracts: check a module.json, pre-flight a task "
                  "request offline.",
                  verbs, args);
}

} // namespace omniva::cli
