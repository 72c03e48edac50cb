#pragma once

// The `omniva` command line: `omniva <noun> <verb> [options]`.
//
// Every command has `--help`, prints a one-line reason and exits non-zero on
// failure, and prints machine output with `--json`. Exit codes: 0 success,
// 1 the command ran and the answer is "no" (invalid document, rejected task,
// failed check), 2 usage error (unknown command or flag, missing argument,
// and a list filter the node refuses: 400 `invalid_filter`).
//
// Each noun lives in one file, runtime/cli_<noun>.cpp (`omniva serve` in
// cli_serve.cpp); the nouns that talk to a node over HTTP share
// runtime/cli_client.hpp.

#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::cli {

/// The command succeeded.
constexpr int exit_ok = 0;
/// The command ran and the answer is negative, or an input was bad.
constexpr int exit_failure = 1;
/// The command line itself is wrong (also when the node refuses one of its
/// list filters as unknown: 400 `invalid_filter`).
constexpr int exit_usage = 2;

/// The arguments after the command words, e.g. for `omniva schema validate
/// a.json --ndjson b` the list `a.json --ndjson b`.
using arguments = std::vector<std::string>;

/// One verb of a noun: its name, a one-line summary and its entry point.
struct verb {
  std::string_view name;
  std::string_view summary;
  int (*run)(const arguments& args);
};

/// Dispatches `args` (starting with the verb) to one of `verbs` of `noun`;
/// handles `--help` and unknown verbs.
int dispatch(std::string_view noun, std::string_view summary,
             const std::vector<verb>& verbs, const arguments& args);

/// Parses `args` for `usage` ("omniva schema validate SCHEMA [options]").
/// Returns an exit code when the command must stop (help printed: 0; error
/// printed: 2), nullopt when the command should go on with `vm` filled.
std::optional<int>
parse_options(std::string_view usage, std::string_view summary,
              boost::program_options::options_description& options,
              const boost::program_options::positional_options_description& positional,
              const arguments& args, boost::program_options::variables_map& vm);

/// Prints "omniva: <message>" on stderr.
void print_error(std::string_view message);

/// Reads a whole file into `out`; false (with a message printed) on failure.
bool read_file(const std::string& path, std::string& out);

/// Prints "omniva: <message>" on stderr and returns `exit_failure`.
int fail(const std::string& message);

/// `omniva schema ...`
int run_schema(const arguments& args);
/// `omniva contract ...`
int run_contract(const arguments& args);
/// `omniva bench ...`
int run_bench(const arguments& args);
/// `omniva lineage ...`
int run_lineage(const arguments& args);
/// `omniva serve`
int run_serve(const arguments& args);
/// `omniva module ...`
int run_module(const arguments& args);
/// `omniva asset ...`
int run_asset(const arguments& args);
/// `omniva task ...`
int run_task(const arguments& args);
/// `omniva policy ...`
int run_policy(const arguments& args);
int run_budget(const arguments& args);
int run_quota(const arguments& args);
int run_predicate(const arguments& args);

/// `omniva gc [--dry-run]` (cli_gc.cpp)
int run_gc(const arguments& args);
/// `omniva audit run|list` (cli_audit.cpp)
int run_audit(const arguments& args);
/// `omniva backup --to DIR` (cli_backup.cpp)
int run_backup(const arguments& args);
/// `omniva restore --from DIR --data NEWDIR` (cli_backup.cpp)
int run_restore(const arguments& args);
/// `omniva webhook ...`
int run_webhook(const arguments& args);
/// `omniva token ...` (cli_token.cpp)
int run_token(const arguments& args);
/// `omniva quarantine ...` (cli_quarantine.cpp)
int run_quarantine(const arguments& args);

/// `omniva explain ID` (cli_explain.cpp)
int run_explain(const arguments& args);

/// `omniva simulate --tasks N ...` (cli_simulate.cpp)
int run_simulate(const arguments& args);

/// The whole command line.
int main(int argc, char** argv);

} // namespace omniva::cli
