// The machinery of the command-line nouns that talk to a node over HTTP
// (runtime/cli_client.hpp).

#include "runtime/cli_client.hpp"

#include "contracts/defaults.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

/// Where the token of the process's node client came from ("--token",
/// "$OMNIVA_TOKEN", "var/omniva/token"); "" when none was found.
std::string token_source;

/// Where the token was looked for, with why each place gave none, when none
/// was found ("--token (not given), ...").
std::string token_search;

/// How to give a token, for the messages of a refused or missing one.
constexpr const char* token_hint
  = "give the node's token with --token TOKEN or OMNIVA_TOKEN=TOKEN, or the "
    "node's data folder (it holds the token) with --data DIR";

} // namespace

runtime::http_client node_client(const std::string& url, std::string token,
                                 const std::string& data) {
  token_source.clear();
  token_search.clear();
  if (!token.empty()) {
    token_source = "--token";
    return runtime::http_client{url, token};
  }
  const char* env = std::getenv("OMNIVA_TOKEN");
  if (env != nullptr && *env != '\0') {
    token_source = "$OMNIVA_TOKEN";
    return runtime::http_client{url, env};
  }
  auto path = (fs::path{data.empty() ? std::string{defaults::node::data_dir}
                                     : data}
               / "token")
                .string();
  std::string why;
  std::error_code err;
  if (!fs::exists(path, err)) {
    why = "no such file";
  } else {
    std::ifstream in{path};
    if (!in)
      why = "cannot be read";
    else if (!std::getline(in, token) || token.empty())
      why = "empty";
  }
  if (why.empty()) {
    token_source = path;
  } else {
    token.clear();
    token_search = std::string{"--token (not given), $OMNIVA_TOKEN ("}
                   + (env == nullptr ? "not set" : "empty") + ") and " + path
                   + " (" + why + ")";
  }
  return runtime::http_client{url, token};
}

void client_options::add_to(po::options_description& opts) {
  static const auto node_help = "the node's URL (default $OMNIVA_NODE or "
                                + std::string{defaults::node::url} + ")";
  static const auto data_help = "the node's data folder, to read its token "
                                "(default "
                                + std::string{defaults::node::data_dir} + ")";
  opts.add_options()
    ("node", po::value(&node), node_help.c_str())
    ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
    ("data", po::value(&data), data_help.c_str())
    ("json", "print the full record as JSON");
}

runtime::http_client client_options::connect(const po::variables_map& vm) {
  as_json = vm.count("json") > 0;
  if (node.empty())
    node = std::getenv("OMNIVA_NODE") ? std::getenv("OMNIVA_NODE")
                                      : std::string{defaults::node::url};
  return node_client(node, token, data);
}

namespace {

/// What the CLI adds to an `outcome_unknown` answer (HTTP 503).
constexpr const char* outcome_unknown_hint
  = "omniva: the request may or may not have taken effect: check (omniva "
    "task list, omniva task show <id>) before retrying, or retry with the "
    "same --idempotency-key\n";

/// The `error.code` of an API error answer; "" when it is none.
std::string error_code_of(const runtime::http_result& r) {
  auto doc = r.json();
  auto* err = doc ? doc->find("error") : nullptr;
  auto* code = err ? err->find("code") : nullptr;
  return code && code->is_string() ? code->as_string() : std::string{};
}

} // namespace

int report(const runtime::http_result& r) {
  auto doc = r.json();
  if (!r.error.empty())
    return fail(r.error);
  if (r.status == 401) {
    if (!token_search.empty())
      return fail("no API token found: looked at " + token_search + "; "
                  + token_hint);
    if (!token_source.empty())
      return fail("the node refused the token from " + token_source + " ("
                  + r.reason() + "); " + token_hint);
  }
  if (doc)
    if (auto* errors = doc->find("errors"); errors && errors->is_array()) {
      bool unknown = false;
      std::cerr << "omniva: refused with " << errors->as_array().size()
                << " error(s):\n";
      for (auto& e : errors->as_array()) {
        auto s = [&](const char* k) {
          auto* v = e.find(k);
          return v && v->is_string() ? v->as_string() : std::string{};
        };
        std::cerr << "  " << s("code") << " " << s("pointer") << ": "
                  << s("message") << '\n';
        unknown = unknown || s("code") == "outcome_unknown";
      }
      if (unknown)
        std::cerr << outcome_unknown_hint;
      return exit_failure;
    }
  auto rc = fail(r.reason());
  if (r.status == 503)
    std::cerr << outcome_unknown_hint;
  // A filter the node does not know is a wrong command line.
  if (r.status == 400 && error_code_of(r) == "invalid_filter")
    return exit_usage;
  return rc;
}

int print_change(const runtime::http_result& r, bool as_json,
                 std::string_view verb, const char* key) {
  if (!r.ok())
    return report(r);
  auto doc = r.json();
  if (!doc)
    return fail("the node's answer is not JSON");
  if (as_json)
    print(*doc, true, nullptr);
  else
    std::cout << verb << ' ' << field(*doc, key) << '\n';
  return exit_ok;
}

void print(const json::value& v, bool as_json, const char* id_key) {
  if (as_json || id_key == nullptr) {
    std::cout << json::serialize(v, as_json ? json::style::compact
                                            : json::style::pretty)
              << '\n';
    return;
  }
  if (auto* id = v.find(id_key); id && id->is_string())
    std::cout << id->as_string() << '\n';
}

std::string field(const json::value& v, const char* key) {
  auto* x = v.find(key);
  if (x == nullptr || x->is_null())
    return "";
  return x->is_string() ? x->as_string() : json::serialize(*x);
}

bool is_terminal(int fd) {
  return ::isatty(fd) == 1;
}

size_t terminal_columns(int fd) {
  struct winsize ws{};
  if (is_terminal(fd) && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    char* end = nullptr;
    auto n = std::strtoul(c, &end, 10);
    if (end != c && *end == '\0' && n > 0 && n < 10000)
      return n;
  }
  return 120;
}

namespace {

/// Decodes the UTF-8 character at `text[i]`, advancing `i`; an invalid byte
/// is one character of its own (U+FFFD).
char32_t next_char(std::string_view text, size_t& i) {
  auto b = static_cast<unsigned char>(text[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3
                        : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t c = n == 1 ? b : b & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    auto x = static_cast<unsigned char>(text[i + k]);
    if ((x & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    c = (c << 6) | (x & 0x3F);
  }
  i += n;
  return c;
}

/// The columns one character takes.
size_t char_width(char32_t c) {
  if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF)
      || (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF)
      || (c >= 0xFE20 && c <= 0xFE2F) || (c >= 0x200B && c <= 0x200F))
    return 0;
  if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E)
      || (c >= 0x3041 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3)
      || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F)
      || (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6)
      || (c >= 0x1F300 && c <= 0x1F64F) || (c >= 0x1F900 && c <= 0x1F9FF)
      || (c >= 0x20000 && c <= 0x3FFFD))
    return 2;
  return 1;
}

/// `text` with control characters (line breaks, tabs, escape sequences a
/// hostile record could carry to the terminal) as spaces.
std::string one_line(std::string_view text) {
  std::string out{text};
  for (auto& ch : out) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F)
      ch = ' ';
  }
  return out;
}

/// Quotes `word` for a POSIX shell when it needs it.
std::string shell_word(const std::string& word) {
  bool plain = !word.empty()
               && word.find_first_not_of(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789@%+=:,./_-")
                    == std::string::npos;
  if (plain)
    return word;
  std::string out = "'";
  for (auto c : word)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

} // namespace

size_t display_width(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();)
    width += char_width(next_char(text, i));
  return width;
}

std::string cut_to_width(std::string_view text, size_t width) {
  if (display_width(text) <= width)
    return std::string{text};
  if (width == 0)
    return "";
  // Room for the ellipsis, one column.
  size_t used = 0, i = 0;
  while (i < text.size()) {
    size_t j = i;
    auto w = char_width(next_char(text, j));
    if (used + w > width - 1)
      break;
    used += w;
    i = j;
  }
  return std::string{text.substr(0, i)} + "\u2026";
}

std::string human_size(uint64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  // 1023.96 KiB prints as 1.0 MiB, not as 1024.0 KiB.
  while (value >= 1024 - 0.05 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

column col(const char* key, bool cut) {
  return column{key, [key](const json::value& row) { return field(row, key); },
                cut};
}

column size_col(const char* key) {
  return column{key,
                [key](const json::value& row) {
                  auto* v = row.find(key);
                  auto n = v ? v->as_int64() : std::nullopt;
                  return n && *n >= 0 ? human_size(static_cast<uint64_t>(*n))
                                      : std::string{};
                },
                false};
}

void print_table(const json::value& rows, const std::vector<column>& columns) {
  if (!rows.is_array() || columns.empty())
    return;
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (auto& c : columns)
    widths.push_back(display_width(c.heading));
  for (auto& row : rows.as_array()) {
    auto& line = cells.emplace_back();
    for (size_t i = 0; i < columns.size(); ++i) {
      line.push_back(one_line(columns[i].cell(row)));
      widths[i] = std::max(widths[i], display_width(line.back()));
    }
  }
  // Too wide for the terminal: the cut columns give way, the widest first,
  // none below 16 columns (or its heading).
  constexpr size_t gap = 2, least = 16;
  size_t total = 0;
  for (auto w : widths)
    total += w;
  total += gap * (columns.size() - 1);
  auto room = terminal_columns(STDOUT_FILENO);
  while (total > room) {
    size_t widest = columns.size();
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i].cut
          && widths[i] > std::max(least, display_width(columns[i].heading))
          && (widest == columns.size() || widths[i] > widths[widest]))
        widest = i;
    if (widest == columns.size())
      break;
    auto floor = std::max(least, display_width(columns[widest].heading));
    auto shrink = std::min(total - room, widths[widest] - floor);
    widths[widest] -= shrink;
    total -= shrink;
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      auto text = columns[i].cut ? cut_to_width(line[i], widths[i]) : line[i];
      out += text;
      if (i + 1 < line.size())
        out += std::string(widths[i] - display_width(text) + gap, ' ');
    }
    // No spaces at the end of a line.
    out.erase(out.find_last_not_of(' ') + 1);
    std::cout << out << '\n';
  };
  std::vector<std::string> headings;
  for (auto& c : columns)
    headings.push_back(c.heading);
  print_line(headings);
  for (auto& line : cells)
    print_line(line);
}

void print_fields(const json::value& record, const field_text& text) {
  if (!record.is_object())
    return;
  size_t width = 0;
  for (auto& [key, value] : record.as_object())
    width = std::max(width, display_width(key));
  for (auto& [key, value] : record.as_object()) {
    if (value.is_null())
      continue;
    std::optional<std::string> shown;
    if (text)
      shown = text(key, value);
    if (!shown)
      shown = value.is_string() ? value.as_string() : json::serialize(value);
    std::cout << one_line(key) << std::string(width - display_width(key) + 2, ' ')
              << one_line(*shown) << '\n';
  }
}

int client_call(const arguments& args, std::string usage, std::string summary,
                po::options_description& opts,
                const po::positional_options_description& pos,
                client_options& c,
                const std::function<int(runtime::http_client&,
                                        const po::variables_map&)>& body) {
  c.add_to(opts);
  po::variables_map vm;
  if (auto rc = parse_options(usage, summary, opts, pos, args, vm))
    return *rc;
  auto client = c.connect(vm);
  return body(client, vm);
}

int list_call(const arguments& args, const char* usage, const char* summary,
              const std::string& path, std::vector<column> columns,
              const std::vector<list_filter>& filters) {
  po::options_description opts{"options"};
  std::vector<std::string> values(filters.size());
  for (size_t i = 0; i < filters.size(); ++i)
    opts.add_options()(filters[i].option, po::value(&values[i]), filters[i].help);
  int64_t limit = 0;
  std::string cursor;
  opts.add_options()
    ("limit", po::value(&limit), "at most this many items (1 to 1000, default 100)")
    ("cursor", po::value(&cursor), "the page after the one that printed this cursor");
  po::positional_options_description pos;
  client_options c;
  // The command itself, for the next page's line: "omniva task list".
  std::string command{usage};
  if (auto end = command.find(' ', command.find(' ', 7) + 1);
      end != std::string::npos)
    command.resize(end);
  return client_call(args, usage, summary, opts, pos, c,
                     [&](runtime::http_client& client, const po::variables_map& vm) {
                       std::map<std::string, std::string> q;
                       for (size_t i = 0; i < filters.size(); ++i)
                         if (vm.count(filters[i].option))
                           q[filters[i].key] = values[i];
                       if (vm.count("limit"))
                         q["limit"] = std::to_string(limit);
                       if (!cursor.empty())
                         q["cursor"] = cursor;
                       auto r = client.request("GET",
                                               path + runtime::encode_query(q));
                       if (!r.ok())
                         return report(r);
                       auto doc = r.json();
                       if (!doc)
                         return fail("the node's answer is not JSON");
                       if (c.as_json) {
                         print(*doc, true, nullptr);
                         return exit_ok;
                       }
                       // A node from before paging answers the bare array.
                       auto* items = doc->is_array() ? &*doc : doc->find("items");
                       if (items == nullptr || !items->is_array())
                         return fail("the node's answer is not a list");
                       print_table(*items, columns);
                       auto next = field(*doc, "next_cursor");
                       if (!doc->is_array() && !next.empty()) {
                         std::string line = "next page: " + command;
                         for (size_t i = 0; i < filters.size(); ++i)
                           if (vm.count(filters[i].option))
                             line += std::string{" --"} + filters[i].option + " "
                                     + shell_word(values[i]);
                         if (vm.count("limit"))
                           line += " --limit " + std::to_string(limit);
                         // Never the token: it would stay on the screen.
                         if (vm.count("node"))
                           line += " --node " + shell_word(c.node);
                         if (vm.count("data"))
                           line += " --data " + shell_word(c.data);
                         std::cout << line << " --cursor " << shell_word(next)
                                   << '\n';
                       }
                       return exit_ok;
                     });
}

int id_call(const arguments& args, const char* usage, const char* summary,
            const char* what, const char* method, std::string prefix,
            std::string suffix, const char* print_key) {
  po::options_description opts{"options"};
  std::string id;
  opts.add_options()("id", po::value(&id)->required(), what);
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(args, usage, summary, opts, pos, c,
                     [&](runtime::http_client& client, const po::variables_map&) {
                       auto r = client.request(method, prefix
                                                         + runtime::url_encode(id)
                                                         + suffix);
                       if (!r.ok())
                         return report(r);
                       auto doc = r.json();
                       if (!doc)
                         return fail("the node's answer is not JSON");
                       print(*doc, c.as_json, print_key);
                       return exit_ok;
                     });
}

} // namespace omniva::cli
