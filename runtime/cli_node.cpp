// `omniva serve` and the commands that talk to a node over its HTTP API:
// `omniva module ...`, `omniva asset ...`, `omniva task ...`, `omniva policy
// ...` and the node verbs of `omniva schema` (register, list, show).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/registry_store.hpp"
#include "runtime/cli.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <thread>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

// -- configuration file (CAF's INI format) -------------------------------------

/// The `[omniva]` options of a configuration file (config/omniva.conf).
struct node_file_config : caf::actor_system_config {
  node_file_config() {
    opt_group{custom_options_, "omniva"}
      .add<std::string>("data", "the data folder")
      .add<std::string>("http", "HOST:PORT of the HTTP API")
      .add<std::vector<std::string>>("modules", "module folders")
      .add<std::vector<std::string>>("pools", "worker pools, name:workers:cpu:memory_gb[:gpu]")
      .add<std::vector<std::string>>("allowed-roots", "folders assets may be registered from")
      .add<bool>("mock", "run every task through the mock adapter")
      .add<bool>("sync", "fsync every commit")
      .add<size_t>("control-cycle-ms", "Zenith's control cycle in milliseconds")
      .add<size_t>("heartbeat-interval-ms", "how often a busy worker sends a heartbeat")
      .add<size_t>("heartbeat-timeout-ms", "silence after which a RUNNING attempt is run again")
      .add<size_t>("sse-keep-alive-ms", "quiet time after which an event stream gets a comment");
  }

  /// The `[omniva]` options.
  const caf::config_option_set& omniva_options() const noexcept {
    return custom_options_;
  }
};

/// CAF's reader skips what it cannot parse without a word; a node must not
/// start on a configuration it half understood. Checks that every line is a
/// `[group]`, a comment or `key=value`, that every `[omniva]` key is known,
/// and that each value parsed (CAF dropped it otherwise). Returns the first
/// problem.
std::optional<std::string> check_config_text(const std::string& text,
                                             node_file_config& cfg) {
  caf::settings parsed;
  std::istringstream in{text};
  if (auto err = caf::actor_system_config::parse_config(in, cfg.omniva_options(),
                                                        parsed))
    return cfg.render(err);
  std::istringstream lines{text};
  std::string line, group;
  size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == ';' || line[first] == '#')
      continue;
    auto where = "line " + std::to_string(number) + ": ";
    if (line[first] == '[') {
      auto close = line.find(']', first);
      if (close == std::string::npos)
        return where + "a group header needs a closing ']'";
      group = line.substr(first + 1, close - first - 1);
      continue;
    }
    auto eq = line.find('=', first);
    if (eq == std::string::npos)
      return where + "expected key=value, not '" + line + "'";
    auto key = line.substr(first, eq - first);
    key.erase(key.find_last_not_of(" \t") + 1);
    if (group.empty())
      return where + "'" + key + "' stands outside a group: put it under [omniva]";
    if (group != "omniva")
      continue; // CAF's own groups (scheduler, logger, ...) are CAF's business
    if (cfg.omniva_options().qualified_name_lookup("omniva." + key) == nullptr)
      return where + "unknown option omniva." + key;
    auto omniva = parsed.find("omniva");
    if (omniva == parsed.end()
        || !caf::holds_alternative<caf::settings>(omniva->second)
        || caf::get<caf::settings>(omniva->second).count(key) == 0)
      return where + "the value of omniva." + key + " is not valid: '" + line
             + "'";
  }
  return std::nullopt;
}

int fail(const std::string& message) {
  print_error(message);
  return exit_failure;
}

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int) {
  stop_requested = true;
}

/// Creates sample input files and submits a small pipeline (`--demo`).
void run_demo(runtime::node& n) {
  auto dir = fs::path{n.options().data_dir} / "samples";
  std::error_code err;
  fs::create_directories(dir, err);
  auto sample = dir / "interview.txt";
  {
    std::ofstream out{sample};
    out << "Omniva Engine demo sample.\nA short interview transcript: the "
           "guest talks about contracts, lineage and pipelines.\n";
  }
  runtime::http_client client{"http://127.0.0.1:" + std::to_string(n.port()),
                              n.token()};
  json::value body{json::object{}};
  body.set("path", sample.string());
  body.set("media_type", "text/plain");
  body.set("label", "interview.txt");
  auto added = client.request("POST", "/api/assets/path", json::serialize(body));
  auto asset = added.json();
  if (!added.ok() || !asset || !asset->find("asset_id")) {
    spdlog::warn("demo: could not add the sample asset: {}", added.reason());
    return;
  }
  auto asset_id = asset->find("asset_id")->as_string();
  json::value probe{json::object{}};
  probe.set("module_ref", "media-probe@1");
  probe.set("input_mapping", json::object{{"source", asset_id}});
  auto first = client.request("POST", "/api/tasks", json::serialize(probe));
  auto t1 = first.json();
  if (!first.ok() || !t1) {
    spdlog::warn("demo: media-probe@1 was refused: {}", first.body);
    return;
  }
  auto metadata = t1->find("outputs")->find("metadata")->as_string();
  json::value sum{json::object{}};
  sum.set("module_ref", "summarize@1");
  sum.set("input_mapping", json::object{{"metadata", metadata}});
  sum.set("trace_id", t1->find("trace_id")->as_string());
  auto second = client.request("POST", "/api/tasks", json::serialize(sum));
  auto t2 = second.json();
  if (!second.ok() || !t2) {
    spdlog::warn("demo: summarize@1 was refused: {}", second.body);
    return;
  }
  std::cout << "demo: asset " << asset_id << " -> task "
            << t1->find("task_id")->as_string() << " (media-probe@1) -> task "
            << t2->find("task_id")->as_string()
            << " (summarize@1, waiting on the PENDING asset " << metadata
            << ")" << std::endl;
}

int run_serve(const arguments& args) {
  po::options_description opts{"options"};
  std::string data, http, config_file;
  std::vector<std::string> modules, pools, roots;
  opts.add_options()
    ("data", po::value(&data), "data folder (default var/omniva)")
    ("http", po::value(&http), "HOST:PORT of the HTTP API (default 127.0.0.1:8080; port 0 picks one)")
    ("modules", po::value(&modules), "a folder of modules (repeatable; default ./modules if present)")
    ("pool", po::value(&pools), "a worker pool name:workers:cpu:memory_gb[:gpu] (repeatable)")
    ("allowed-root", po::value(&roots), "a folder assets may be registered from by path (repeatable)")
    ("config", po::value(&config_file), "a configuration file (see config/omniva.conf)")
    ("mock", "run every task through the mock adapter")
    ("demo", "register the example modules, add a sample asset and submit a small pipeline");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva serve [--data DIR] [--http HOST:PORT] [--modules DIR]... "
        "[--config FILE] [--mock] [--demo]",
        "Runs a node: the lineage database, Zenith, the worker pools and the "
        "HTTP API. Prints where it listens; stops on SIGINT or SIGTERM.",
        opts, pos, args, vm))
    return *rc;
  // Logs go to stderr: stdout carries the one line saying where the node
  // listens (scripts read it).
  spdlog::set_default_logger(spdlog::stderr_color_mt("omniva"));
  runtime::node_options o;
  if (!config_file.empty()) {
    node_file_config cfg;
    std::string text;
    if (!read_file(config_file, text))
      return exit_failure;
    if (auto problem = check_config_text(text, cfg))
      return fail(config_file + ": " + *problem);
    std::istringstream ini{text};
    if (auto err = cfg.parse(node_file_config::string_list{}, ini))
      return fail(config_file + ": " + cfg.render(err));
    o.data_dir = caf::get_or(cfg, "omniva.data", o.data_dir);
    if (auto h = caf::get_if<std::string>(&cfg, "omniva.http"))
      http = http.empty() ? *h : http;
    if (auto m = caf::get_if<std::vector<std::string>>(&cfg, "omniva.modules"))
      if (modules.empty())
        modules = *m;
    if (auto p = caf::get_if<std::vector<std::string>>(&cfg, "omniva.pools"))
      if (pools.empty())
        pools = *p;
    if (auto r = caf::get_if<std::vector<std::string>>(&cfg, "omniva.allowed-roots"))
      if (roots.empty())
        roots = *r;
    o.force_mock = caf::get_or(cfg, "omniva.mock", false);
    o.sync = caf::get_or(cfg, "omniva.sync", true);
    o.control_cycle = std::chrono::milliseconds{
      caf::get_or(cfg, "omniva.control-cycle-ms", size_t{30000})};
    o.heartbeat_interval = std::chrono::milliseconds{
      caf::get_or(cfg, "omniva.heartbeat-interval-ms", size_t{5000})};
    o.heartbeat_timeout = std::chrono::milliseconds{
      caf::get_or(cfg, "omniva.heartbeat-timeout-ms", size_t{60000})};
    o.sse_keep_alive = std::chrono::milliseconds{
      caf::get_or(cfg, "omniva.sse-keep-alive-ms", size_t{15000})};
  }
  if (o.sse_keep_alive.count() <= 0) {
    print_error("omniva.sse-keep-alive-ms must be positive");
    return exit_usage;
  }
  if (o.heartbeat_interval.count() <= 0
      || o.heartbeat_timeout <= o.heartbeat_interval) {
    print_error("omniva.heartbeat-timeout-ms must be longer than "
                "omniva.heartbeat-interval-ms, which must be positive");
    return exit_usage;
  }
  if (!data.empty())
    o.data_dir = data;
  if (!http.empty() && !runtime::parse_endpoint(http, o.http_host, o.http_port)) {
    print_error("--http must be HOST:PORT, not '" + http + "'");
    return exit_usage;
  }
  for (auto& p : pools) {
    auto spec = contracts::parse_pool_spec(p);
    if (!spec) {
      print_error("--pool must be name:workers:cpu:memory_gb[:gpu], not '" + p + "'");
      return exit_usage;
    }
    o.pools.push_back(*spec);
  }
  if (modules.empty() && fs::is_directory("modules"))
    modules.push_back("modules");
  o.module_dirs = modules;
  o.allowed_roots = roots;
  if (vm.count("mock"))
    o.force_mock = true;
  auto n = runtime::node::start(o);
  if (!n)
    return fail(contracts::render_error(n.error().code(), n.error().category(),
                                        n.error().context()));
  auto& node = **n;
  std::cout << "omniva: node listening on http://" << o.http_host << ":"
            << node.port() << " (data " << node.options().data_dir
            << ", token in " << node.options().data_dir << "/token"
            << (node.options().force_mock ? ", mock adapter" : "") << ")"
            << std::endl;
  if (vm.count("demo"))
    run_demo(node);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  while (!stop_requested)
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  std::cout << "omniva: stopping" << std::endl;
  node.stop();
  return exit_ok;
}

// -- clients --------------------------------------------------------------------

/// The common options of every client command.
struct client_options {
  std::string node;
  std::string token;
  std::string data;
  bool as_json = false;

  void add_to(po::options_description& opts) {
    opts.add_options()
      ("node", po::value(&node), "the node's URL (default $OMNIVA_NODE or http://127.0.0.1:8080)")
      ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
      ("data", po::value(&data), "the node's data folder, to read its token (default var/omniva)")
      ("json", "print the full record as JSON");
  }

  std::optional<runtime::http_client> connect(const po::variables_map& vm) {
    as_json = vm.count("json") > 0;
    if (node.empty())
      node = std::getenv("OMNIVA_NODE") ? std::getenv("OMNIVA_NODE")
                                        : "http://127.0.0.1:8080";
    if (token.empty() && std::getenv("OMNIVA_TOKEN"))
      token = std::getenv("OMNIVA_TOKEN");
    if (token.empty()) {
      std::ifstream in{fs::path{data.empty() ? "var/omniva" : data} / "token"};
      std::getline(in, token);
    }
    return runtime::http_client{node, token};
  }
};

/// Prints why a call failed (every error of a rejected task) and returns 1.
int report(const runtime::http_result& r) {
  auto doc = r.json();
  if (!r.error.empty())
    return fail(r.error);
  if (doc)
    if (auto* errors = doc->find("errors"); errors && errors->is_array()) {
      std::cerr << "omniva: refused with " << errors->as_array().size()
                << " error(s):\n";
      for (auto& e : errors->as_array()) {
        auto s = [&](const char* k) {
          auto* v = e.find(k);
          return v && v->is_string() ? v->as_string() : std::string{};
        };
        std::cerr << "  " << s("code") << " " << s("pointer") << ": "
                  << s("message") << '\n';
      }
      return exit_failure;
    }
  return fail(r.reason());
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
  return body(*client, vm);
}

/// A command taking one id: `METHOD <prefix><id><suffix>`, then prints the
/// answer (its `print_key` member for people, or all of it).
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

// omniva module ...

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

int module_list(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  client_options c;
  return client_call(args, "omniva module list [--json]",
                     "Lists the registered modules.", opts, pos, c,
                     [&](runtime::http_client& client, const po::variables_map&) {
                       auto r = client.request("GET", "/api/modules");
                       if (!r.ok())
                         return report(r);
                       if (c.as_json)
                         print(*r.json(), true, nullptr);
                       else
                         print_table(*r.json(), {"ref", "description"});
                       return exit_ok;
                     });
}

int module_show(const arguments& args) {
  return id_call(args, "omniva module show REF [--json]",
                 "Shows a module's contract.", "name@version", "GET",
                 "/api/modules/", "", nullptr);
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

// omniva policy ...

int policy_list(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva policy list [--json]",
    "Lists the registered policies: how failed tasks are retried.", opts, pos,
    c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/policies");
      if (!r.ok())
        return report(r);
      auto doc = *r.json();
      if (c.as_json || !doc.is_array()) {
        print(doc, true, nullptr);
        return exit_ok;
      }
      json::array rows;
      for (auto& p : doc.as_array()) {
        json::value row{json::object{}};
        row.set("ref", field(p, "ref"));
        if (auto* retry = p.find("retry")) {
          row.set("max_attempts", field(*retry, "max_attempts"));
          row.set("backoff_ms", field(*retry, "backoff_ms"));
        }
        row.set("description", field(p, "description"));
        rows.push_back(std::move(row));
      }
      print_table(json::value{std::move(rows)},
                  {"ref", "max_attempts", "backoff_ms", "description"});
      return exit_ok;
    });
}

int policy_show(const arguments& args) {
  return id_call(args, "omniva policy show REF [--json]",
                 "Shows a policy: its retry rule (max_attempts, backoff_ms).",
                 "name@version", "GET", "/api/policies/", "", nullptr);
}

// omniva asset ...

int asset_add(const arguments& args) {
  po::options_description opts{"options"};
  std::string path, media_type, label;
  opts.add_options()
    ("path", po::value(&path)->required(), "the file")
    ("media-type", po::value(&media_type), "its media type (default: detected)")
    ("label", po::value(&label), "a label")
    ("server-path", "register a path on the node's machine instead of uploading the bytes");
  po::positional_options_description pos;
  pos.add("path", 1);
  client_options c;
  return client_call(
    args, "omniva asset add PATH [--media-type T] [--label L] [--server-path] [--json]",
    "Adds a FILE asset: uploads the file's bytes (works against a node on "
    "another machine), or with --server-path registers a file on the node's "
    "machine (under its allowed roots). Prints the new asset id.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      runtime::http_result r;
      if (vm.count("server-path")) {
        json::value body{json::object{}};
        body.set("path", fs::absolute(path).string());
        if (!media_type.empty())
          body.set("media_type", media_type);
        if (!label.empty())
          body.set("label", label);
        r = client.request("POST", "/api/assets/path", json::serialize(body));
      } else {
        if (!fs::is_regular_file(path))
          return fail("not a file: " + path);
        std::map<std::string, std::string> q;
        q["filename"] = fs::path{path}.filename().string();
        if (!media_type.empty())
          q["media_type"] = media_type;
        if (!label.empty())
          q["label"] = label;
        r = client.upload_file("/api/assets/upload", path, q);
      }
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "asset_id");
      return exit_ok;
    });
}

int asset_value(const arguments& args) {
  po::options_description opts{"options"};
  std::string value, dtype, label;
  opts.add_options()
    ("value", po::value(&value)->required(), "the value as JSON (a bare word is taken as a string)")
    ("dtype", po::value(&dtype)->required(), "string, text, url, int, float, bool, enum or json")
    ("label", po::value(&label), "a label");
  po::positional_options_description pos;
  pos.add("value", 1);
  client_options c;
  return client_call(
    args, "omniva asset value VALUE --dtype T [--label L] [--json]",
    "Creates a VALUE asset (checked against its dtype). Prints its id.", opts,
    pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto parsed = json::parse(value);
      json::value body{json::object{}};
      body.set("value", parsed ? std::move(*parsed.doc) : json::value{value});
      body.set("dtype", dtype);
      if (!label.empty())
        body.set("label", label);
      auto r = client.request("POST", "/api/assets/value", json::serialize(body));
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "asset_id");
      return exit_ok;
    });
}

int asset_list(const arguments& args) {
  po::options_description opts{"options"};
  std::string status, media_type;
  opts.add_options()
    ("status", po::value(&status), "PENDING, AVAILABLE or FAILED")
    ("media-type", po::value(&media_type), "e.g. video/mp4 or video/*");
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva asset list [--status S] [--media-type T] [--json]",
    "Lists assets.", opts, pos, c,
    [&](runtime::http_client& client, const po::variables_map&) {
      std::map<std::string, std::string> q;
      if (!status.empty())
        q["status"] = status;
      if (!media_type.empty())
        q["media_type"] = media_type;
      auto r = client.request("GET", "/api/assets" + runtime::encode_query(q));
      if (!r.ok())
        return report(r);
      if (c.as_json)
        print(*r.json(), true, nullptr);
      else
        print_table(*r.json(), {"asset_id", "kind", "status", "media_type", "label"});
      return exit_ok;
    });
}

int asset_show(const arguments& args) {
  return id_call(args, "omniva asset show ID [--json]", "Shows an asset.",
                 "the asset id", "GET", "/api/assets/", "", nullptr);
}

int asset_rm(const arguments& args) {
  return id_call(args, "omniva asset rm ID [--json]",
                 "Deletes an asset (refused while an unfinished task holds it).",
                 "the asset id", "DELETE", "/api/assets/", "", "deleted");
}

// omniva task ...

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
  po::options_description opts{"options"};
  std::string status;
  opts.add_options()("status", po::value(&status), "PENDING, READY, RUNNING, DONE, ERROR or CANCELLED");
  po::positional_options_description pos;
  client_options c;
  return client_call(args, "omniva task list [--status S] [--json]",
                     "Lists tasks.", opts, pos, c,
                     [&](runtime::http_client& client, const po::variables_map&) {
                       std::map<std::string, std::string> q;
                       if (!status.empty())
                         q["status"] = status;
                       auto r = client.request("GET", "/api/tasks"
                                                        + runtime::encode_query(q));
                       if (!r.ok())
                         return report(r);
                       if (c.as_json)
                         print(*r.json(), true, nullptr);
                       else
                         print_table(*r.json(), {"task_id", "module_ref", "status",
                                                 "attempt", "priority"});
                       return exit_ok;
                     });
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
  double timeout = 300;
  opts.add_options()
    ("id", po::value(&id)->required(), "the task id")
    ("timeout", po::value(&timeout), "seconds to wait (default 300)");
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

int run_serve_command(const arguments& args) {
  return run_serve(args);
}

int run_module(const arguments& args) {
  static const std::vector<verb> verbs{
    {"register", "register a module (module.json or its folder)", module_register},
    {"list", "list the registered modules", module_list},
    {"show", "show a module's contract", module_show},
    {"rescan", "load the node's module folders again", module_rescan},
  };
  return dispatch("module", "Modules registered with a node.", verbs, args);
}

int run_policy(const arguments& args) {
  static const std::vector<verb> verbs{
    {"list", "list the registered policies", policy_list},
    {"show", "show a policy", policy_show},
  };
  return dispatch("policy",
                  "Policies registered with a node (default@1: 3 attempts, "
                  "pauses of 1 s, 5 s, 15 s).",
                  verbs, args);
}

int schema_register(const arguments& args) {
  po::options_description opts{"options"};
  std::string path, ref;
  opts.add_options()
    ("file", po::value(&path)->required(), "the JSON Schema document")
    ("ref", po::value(&ref), "its ref, name@N (default: the file's name, as in media.metadata@1.json)");
  po::positional_options_description pos;
  pos.add("file", 1);
  client_options c;
  return client_call(
    args, "omniva schema register FILE [--ref name@N] [--json]",
    "Registers a JSON Schema with the node, so that module contracts may name "
    "it. A ref is immutable: the same ref with other content is refused "
    "(immutable_ref); the same content again is accepted. Prints the ref.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      if (ref.empty()) {
        auto named = contracts::ref_of_file_name(fs::path{path}.filename().string());
        if (!named) {
          print_error("give --ref name@N: the file name '"
                      + fs::path{path}.filename().string()
                      + "' is not <name>@<N>.json");
          return exit_usage;
        }
        ref = *named;
      }
      std::string text;
      if (!read_file(path, text))
        return exit_failure;
      auto r = client.request("POST",
                              "/api/schemas?ref=" + runtime::url_encode(ref), text);
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "ref");
      return exit_ok;
    });
}

int schema_list(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  client_options c;
  return client_call(args, "omniva schema list [--json]",
                     "Lists the JSON Schemas registered with the node.", opts,
                     pos, c,
                     [&](runtime::http_client& client, const po::variables_map&) {
                       auto r = client.request("GET", "/api/schemas");
                       if (!r.ok())
                         return report(r);
                       if (c.as_json)
                         print(*r.json(), true, nullptr);
                       else
                         print_table(*r.json(), {"ref", "title"});
                       return exit_ok;
                     });
}

int schema_show(const arguments& args) {
  return id_call(args, "omniva schema show REF [--json]",
                 "Shows a JSON Schema registered with the node.", "name@version",
                 "GET", "/api/schemas/", "", nullptr);
}

int run_asset(const arguments& args) {
  static const std::vector<verb> verbs{
    {"add", "add a file (upload, or --server-path)", asset_add},
    {"value", "create a VALUE asset", asset_value},
    {"list", "list assets (filter by status, media type)", asset_list},
    {"show", "show an asset", asset_show},
    {"rm", "delete an asset", asset_rm},
  };
  return dispatch("asset", "Assets of a node: files and values.", verbs, args);
}

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
