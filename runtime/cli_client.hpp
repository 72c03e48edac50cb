#pragma once

// What the command-line nouns that talk to a node over its HTTP API share
// (`omniva module|asset|task|policy ...`, the node verbs of `omniva schema`
// and `omniva lineage --node`): the connection options, the node's token,
// printing answers and refusals, and the shape of a one-id command.

#include "contracts/json.hpp"
#include "runtime/cli.hpp"
#include "runtime/http_client.hpp"

#include <functional>
#include <string>
#include <vector>

namespace omniva::cli {

/// A client of the node at `url` with the API token: `token` when given,
/// else `$OMNIVA_TOKEN`, else the first line of `<data>/token` ("" for the
/// default data folder).
runtime::http_client node_client(const std::string& url, std::string token,
                                 const std::string& data);

/// The options every client command takes: `--node`, `--token`, `--data`
/// (to read the token) and `--json`.
struct client_options {
  /// The node's URL; "" for `$OMNIVA_NODE` or `defaults::node::url`.
  std::string node;
  /// The API token; "" to look it up (see `node_client`).
  std::string token;
  /// The node's data folder, to read its token from.
  std::string data;
  /// Whether `--json` asked for the full record as JSON.
  bool as_json = false;

  /// Adds the options to `opts`.
  void add_to(boost::program_options::options_description& opts);

  /// Reads `--json` from `vm` and returns a client of the node.
  runtime::http_client connect(const boost::program_options::variables_map& vm);
};

/// Prints why a call failed (every error of a refused request, with its
/// code and pointer) and returns `exit_failure`.
int report(const runtime::http_result& r);

/// Prints an answer: all of it as JSON (`as_json` compact, or pretty when
/// `id_key` is null), else only its member `id_key`.
void print(const json::value& v, bool as_json, const char* id_key);

/// The member `key` of `v` as text: a string as is, anything else as JSON,
/// "" when missing.
std::string field(const json::value& v, const char* key);

/// Prints the rows of a JSON array as a tab-separated table of `keys`.
void print_table(const json::value& rows, std::vector<const char*> keys);

/// Runs a client command: parses `args` for `usage` with `opts`, `pos` and
/// the client options `c`, connects and runs `body`. Returns the exit code.
int client_call(const arguments& args, std::string usage, std::string summary,
                boost::program_options::options_description& opts,
                const boost::program_options::positional_options_description& pos,
                client_options& c,
                const std::function<int(runtime::http_client&,
                                        const boost::program_options::variables_map&)>&
                  body);

/// A filter of a list command: option `--<option>` (help text `help`)
/// becomes query parameter `key` when given.
struct list_filter {
  /// The option's name.
  const char* option;
  /// The query parameter it sets.
  const char* key;
  /// The option's help text.
  const char* help;
};

/// A list command: `GET <path>` with a query parameter for each filter
/// given, printed as a table of `columns` (with --json: the rows as JSON).
int list_call(const arguments& args, const char* usage, const char* summary,
              const std::string& path, std::vector<const char*> columns,
              const std::vector<list_filter>& filters = {});

/// A command taking one id: `METHOD <prefix><id><suffix>`, then prints the
/// answer (its `print_key` member for people, or all of it).
int id_call(const arguments& args, const char* usage, const char* summary,
            const char* what, const char* method, std::string prefix,
            std::string suffix, const char* print_key);

} // namespace omniva::cli
