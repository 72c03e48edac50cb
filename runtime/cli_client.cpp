// The machinery of the command-line nouns that talk to a node over HTTP
// (runtime/cli_client.hpp).

#include "runtime/cli_client.hpp"

#include "contracts/defaults.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

runtime::http_client node_client(const std::string& url, std::string token,
                                 const std::string& data) {
  if (token.empty() && std::getenv("OMNIVA_TOKEN"))
    token = std::getenv("OMNIVA_TOKEN");
  if (token.empty()) {
    std::ifstream in{fs::path{data.empty() ? std::string{defaults::node::data_dir}
                                           : data}
                     / "token"};
    std::getline(in, token);
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

} // namespace

int report(const runtime::http_result& r) {
  auto doc = r.json();
  if (!r.error.empty())
    return fail(r.error);
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
  return rc;
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
  if (x == nullptr)
    return "";
  return x->is_string() ? x->as_string() : json::serialize(*x);
}

void print_table(const json::value& rows, std::vector<const char*> keys) {
  if (!rows.is_array())
    return;
  for (auto* k : keys)
    std::cout << k << '\t';
  std::cout << '\n';
  for (auto& row : rows.as_array()) {
    for (auto* k : keys)
      std::cout << field(row, k) << '\t';
    std::cout << '\n';
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
              const std::string& path, std::vector<const char*> columns,
              const std::vector<list_filter>& filters) {
  po::options_description opts{"options"};
  std::vector<std::string> values(filters.size());
  for (size_t i = 0; i < filters.size(); ++i)
    opts.add_options()(filters[i].option, po::value(&values[i]), filters[i].help);
  po::positional_options_description pos;
  client_options c;
  return client_call(args, usage, summary, opts, pos, c,
                     [&](runtime::http_client& client, const po::variables_map&) {
                       std::map<std::string, std::string> q;
                       for (size_t i = 0; i < filters.size(); ++i)
                         if (!values[i].empty())
                           q[filters[i].key] = values[i];
                       auto r = client.request("GET",
                                               path + runtime::encode_query(q));
                       if (!r.ok())
                         return report(r);
                       if (c.as_json)
                         print(*r.json(), true, nullptr);
                       else
                         print_table(*r.json(), columns);
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
                       print(*r.json(), c.as_json, print_key);
                       return exit_ok;
                     });
}

} // namespace omniva::cli
