#include "runtime/cli.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace omniva::cli {

// Pipelines, runs and triggers (runtime/cli_pipeline.cpp).
int run_pipeline(const arguments& args);
int run_run(const arguments& args);
int run_trigger(const arguments& args);
// Pantheon's personas (runtime/cli_personas.cpp).
int run_personas(const arguments& args);

namespace {

struct noun {
  std::string_view name;
  std::string_view summary;
  int (*run)(const arguments& args);
};

const std::vector<noun>& nouns() {
  static const std::vector<noun> xs{
    {"serve", "run a node: lineage store, Zenith, worker pools, HTTP API",
     run_serve},
    {"module",
     "register and list the modules of a node; write one and run it "
     "without a node",
     run_module},
    {"asset", "add, list and delete the assets of a node", run_asset},
    {"task", "create, list, cancel and wait for the tasks of a node", run_task},
    {"policy", "list and show the retry policies of a node", run_policy},
    {"budget", "create, change and list budgets; what a run spent",
     run_budget},
    {"quota", "create, change and list quotas (units per window)", run_quota},
    {"predicate", "list and show the admission and success predicates",
     run_predicate},
    {"pipeline", "register, list and show pipelines; start a run of one",
     run_pipeline},
    {"run", "show, list, cancel, pause, resume, retry and explain runs",
     run_run},
    {"trigger", "start runs of a pipeline on a schedule (create, list, rm)",
     run_trigger},
    {"personas", "register, list and show the personas Pantheon votes with",
     run_personas},
    {"token", "create, list, revoke and rotate a node's API tokens",
     run_token},
    {"webhook", "send a node's committed events to URLs (create, list, rm)",
     run_webhook},
    {"quarantine", "keep tasks off a module or a pool (add, rm, list)",
     run_quarantine},
    {"schema", "validate documents with JSON Schema 2020-12; a node's schemas",
     run_schema},
    {"contract", "check module contracts and pre-flight task requests",
     run_contract},
    {"bench", "measure tasks through an embedded node", run_bench},
    {"simulate",
     "a deterministic, seeded simulation of a node with faults (virtual time)",
     run_simulate},
    {"lineage", "verify the lineage log and show where things came from",
     run_lineage},
    {"explain", "why a task, an asset or a trace is where it is (HaloLux)",
     run_explain},
    {"gc", "remove what the retention policy lets go (or --dry-run: show it)",
     run_gc},
    {"audit", "audit a node's state and lineage now; list the audits",
     run_audit},
    {"backup", "have a running node write a backup of its data folder",
     run_backup},
    {"restore", "restore a backup into a new data folder (no node)",
     run_restore},
  };
  return xs;
}

void print_main_help() {
  std::cout << "omniva — a contract-first, lineage-tracked actor runtime\n\n"
               "usage: omniva <command> <verb> [options]\n"
               "       omniva --help | --version\n\n"
               "commands:\n";
  for (auto& n : nouns())
    std::cout << "  " << n.name
              << std::string(12 - std::min<size_t>(n.name.size(), 11), ' ')
              << n.summary << '\n';
  std::cout << "\nRun 'omniva <command> --help' for the verbs of a command.\n";
}

} // namespace

void print_error(std::string_view message) {
  std::cerr << "omniva: " << message << '\n';
}

int fail(const std::string& message) {
  print_error(message);
  return exit_failure;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    print_error("cannot read " + path);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  out = std::move(buf).str();
  return true;
}

int dispatch(std::string_view noun_name, std::string_view summary,
             const std::vector<verb>& verbs, const arguments& args) {
  auto help = [&](std::ostream& out) {
    out << "usage: omniva " << noun_name << " <verb> [options]\n\n"
        << summary << "\n\nverbs:\n";
    for (auto& v : verbs)
      out << "  " << v.name
          << std::string(14 - std::min<size_t>(v.name.size(), 13), ' ')
          << v.summary << '\n';
    out << "\nRun 'omniva " << noun_name << " <verb> --help' for details.\n";
  };
  if (args.empty()) {
    print_error(std::string{"missing verb for '"} + std::string{noun_name}
                + "' (see 'omniva " + std::string{noun_name} + " --help')");
    return exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    help(std::cout);
    return exit_ok;
  }
  for (auto& v : verbs)
    if (args[0] == v.name)
      return v.run(arguments{args.begin() + 1, args.end()});
  print_error("unknown verb '" + args[0] + "' for '" + std::string{noun_name}
              + "' (see 'omniva " + std::string{noun_name} + " --help')");
  return exit_usage;
}

std::optional<int>
parse_options(std::string_view usage, std::string_view summary,
              po::options_description& options,
              const po::positional_options_description& positional,
              const arguments& args, po::variables_map& vm) {
  options.add_options()("help,h", "print this help");
  try {
    po::store(po::command_line_parser(args)
                .options(options)
                .positional(positional)
                .style(po::command_line_style::unix_style
                       & ~po::command_line_style::allow_guessing)
                .run(),
              vm);
    if (vm.count("help")) {
      std::cout << "usage: " << usage << "\n\n" << summary << "\n\n"
                << options << '\n';
      return exit_ok;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    print_error(std::string{e.what()} + " (see '"
                + std::string{usage.substr(0, usage.find(" ["))}
                + " --help')");
    return exit_usage;
  }
  return std::nullopt;
}

int main(int argc, char** argv) {
  arguments args{argv + 1, argv + argc};
  if (args.empty()) {
    print_main_help();
    return exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_main_help();
    return exit_ok;
  }
  if (args[0] == "--version") {
    std::cout << "omniva " << OMNIVA_VERSION << '\n';
    return exit_ok;
  }
  for (auto& n : nouns())
    if (args[0] == n.name)
      return n.run(arguments{args.begin() + 1, args.end()});
  if (!args[0].empty() && args[0][0] == '-')
    print_error("unknown option '" + args[0] + "' (see 'omniva --help')");
  else
    print_error("unknown command '" + args[0] + "' (see 'omniva --help')");
  return exit_usage;
}

} // namespace omniva::cli
