#pragma once

// What the command-line nouns that talk to a node over its HTTP API share
// (`omniva module|asset|task|policy ...`, the node verbs of `omniva schema`
// and `omniva lineage --node`): the connection options, the node's token,
// printing answers and refusals, tables and sizes for people, lists and
// their pages, and the shape of a one-id command.

#include "contracts/json.hpp"
#include "runtime/cli.hpp"
#include "runtime/http_client.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::cli {

/// A client of the node at `url` with the API token: `token` when given,
/// else `$OMNIVA_TOKEN`, else the first line of `<data>/token`
/// (`var/omniva/token` for ""). Remembers where the token came from, or
/// where it was looked for, so that `report` can say so when the node
/// refuses it (401).
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
/// code and pointer; for a refused token, where it came from or where it
/// was looked for, and how to give one). Returns `exit_usage` for a filter
/// the node does not know (400 `invalid_filter`: a status, a limit, a
/// cursor), `exit_failure` otherwise.
int report(const runtime::http_result& r);

/// Prints the answer of a command that changed one thing: a refusal as
/// `report` does; else the answer as JSON with `as_json`, or the line
/// `<verb> <member key>` ("revoked ci-bot"). Returns the exit code.
int print_change(const runtime::http_result& r, bool as_json,
                 std::string_view verb, const char* key);

/// Prints an answer: all of it as JSON (`as_json` compact, or pretty when
/// `id_key` is null), else only its member `id_key`.
void print(const json::value& v, bool as_json, const char* id_key);

/// The member `key` of `v` as text: a string as is, anything else as JSON,
/// "" when missing.
std::string field(const json::value& v, const char* key);

/// Whether file descriptor `fd` is a terminal.
bool is_terminal(int fd);

/// The width of the terminal on `fd` in columns; else `$COLUMNS`; else 120.
size_t terminal_columns(int fd);

/// How many terminal columns `text` (UTF-8) takes: one per character, none
/// for combining marks, two for wide (East Asian) characters.
size_t display_width(std::string_view text);

/// `text` cut to at most `width` columns, ending in "…" when it was cut;
/// never splits a UTF-8 character.
std::string cut_to_width(std::string_view text, size_t width);

/// A byte count for people, in binary units with one decimal: "512 B",
/// "1.0 KiB", "23.5 GiB".
std::string human_size(uint64_t bytes);

/// A column of a table for people.
struct column {
  /// The heading.
  std::string heading;
  /// The cell of a row.
  std::function<std::string(const json::value& row)> cell;
  /// Whether the column gives way when the table is wider than the
  /// terminal: its cells are cut, ending in "…" (descriptions, labels).
  bool cut = false;
};

/// A column showing member `key` of each row (`field`), headed `key`.
column col(const char* key, bool cut = false);

/// A column showing member `key` of each row, a byte count, as a size
/// (`human_size`); "" when missing.
column size_col(const char* key);

/// Prints `rows` (a JSON array) as a table with aligned columns: the
/// headings, then a line per row; when wider than the terminal, the `cut`
/// columns are cut. Control characters in cells become spaces.
void print_table(const json::value& rows, const std::vector<column>& columns);

/// Tells a member's text for people (a size as "1.5 MiB"); nullopt for the
/// default (`field`).
using field_text = std::function<std::optional<std::string>(
  const std::string& key, const json::value& value)>;

/// Prints the members of `record` (a JSON object) a line each, `key  value`
/// with the values aligned, in the record's order; null members are left
/// out, control characters become spaces.
void print_fields(const json::value& record, const field_text& text = {});

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

/// A list command: `GET <path>` with `limit`, `cursor` and a query
/// parameter for each filter given. The node answers a page, `{"items":
/// [...], "next_cursor": "..." | null}`: with --json printed as answered,
/// else its items as a table of `columns`, and when there is a next page a
/// last line with the command that prints it (`next page: omniva task list
/// --cursor C`). `usage` begins with the command ("omniva task list").
int list_call(const arguments& args, const char* usage, const char* summary,
              const std::string& path, std::vector<column> columns,
              const std::vector<list_filter>& filters = {});

/// A command taking one id: `METHOD <prefix><id><suffix>`, then prints the
/// answer (its `print_key` member for people, or all of it).
int id_call(const arguments& args, const char* usage, const char* summary,
            const char* what, const char* method, std::string prefix,
            std::string suffix, const char* print_key);

} // namespace omniva::cli
