// `omniva schema ...`: validate documents and run the official conformance
// suite (local, no node needed), and the JSON Schemas registered with a node
// (register, list, show, over its HTTP API).

#include "contracts/json.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/schema_catalog.hpp"
#include "contracts/registry_store.hpp"
#include "runtime/cli.hpp"
#include "runtime/cli_client.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

using contracts::compile_result;
using contracts::schema_registry;

/// Maps the base URIs of the official suite to local folders.
schema_registry::loader folder_loader(std::string remotes,
                                      std::string metaschemas) {
  return [remotes = std::move(remotes), metaschemas = std::move(metaschemas)](
           std::string_view uri) -> std::optional<json::value> {
    constexpr std::string_view remote_base = "http://localhost:1234/";
    constexpr std::string_view meta_base
      = "https://json-schema.org/draft/2020-12/";
    std::string path;
    std::string_view rest;
    if (!remotes.empty() && uri.substr(0, remote_base.size()) == remote_base) {
      rest = uri.substr(remote_base.size());
      path = remotes + "/" + std::string{rest};
    } else if (!metaschemas.empty()
               && uri.substr(0, meta_base.size()) == meta_base) {
      rest = uri.substr(meta_base.size());
      path = metaschemas + "/" + std::string{rest} + ".json";
    } else {
      return std::nullopt;
    }
    // A URI never reaches outside the mapped folder.
    if (rest.find("..") != std::string_view::npos)
      return std::nullopt;
    auto doc = json::parse_file(path);
    if (!doc)
      return std::nullopt;
    return std::move(*doc.doc);
  };
}

void print_schema_errors(const std::vector<contracts::schema_error>& errors) {
  for (auto& e : errors)
    std::cerr << "  " << (e.keyword_location.empty() ? "/" : e.keyword_location)
              << ": " << e.message << '\n';
}

// -- omniva schema test-suite -------------------------------------------------

struct case_id {
  std::string file, group, test;
  std::string text() const {
    return file + " | " + group + " | " + test;
  }
};

int run_test_suite(const arguments& args) {
  po::options_description opts{"options"};
  std::string dir, remotes, metaschemas, known_failures_path;
  opts.add_options()
    ("dir", po::value(&dir)->required(), "folder of the suite's test files")
    ("remotes", po::value(&remotes),
     "folder served as http://localhost:1234/")
    ("metaschemas", po::value(&metaschemas),
     "folder holding the 2020-12 meta-schemas (schema.json, meta/*.json)")
    ("format-assertion", "make `format` assert (default: annotation only)")
    ("known-failures", po::value(&known_failures_path),
     "file listing cases expected to fail, one 'file | group | test' a line")
    ("quiet,q", "print only the summary line");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva schema test-suite DIR [--remotes DIR] [--metaschemas DIR] "
        "[--format-assertion] [--known-failures FILE]",
        "Runs every test file of the official JSON-Schema-Test-Suite format "
        "in DIR (recursively), prints each failing case and ends with 'N "
        "passed, M failed'. Exits 0 only if every failure is on the known-"
        "failures list and nothing on that list passed.",
        opts, pos, args, vm))
    return *rc;
  std::set<std::string> known;
  if (!known_failures_path.empty()) {
    std::ifstream in{known_failures_path};
    if (!in) {
      print_error("cannot read " + known_failures_path);
      return exit_failure;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#')
        known.insert(line);
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    print_error("not a folder: " + dir);
    return exit_failure;
  }
  std::vector<fs::path> files;
  for (auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  schema_registry registry;
  registry.set_loader(folder_loader(remotes, metaschemas));
  contracts::schema_options options;
  options.format_assertion = vm.count("format-assertion") > 0;
  bool quiet = vm.count("quiet") > 0;
  size_t passed = 0, failed = 0;
  std::vector<std::string> unexpected, fixed;
  for (auto& path : files) {
    auto doc = json::parse_file(path.string());
    auto rel = fs::relative(path, dir).string();
    if (!doc || !doc.doc->is_array()) {
      print_error(rel + ": not a test file: "
                  + (doc ? "expected an array of groups" : doc.error.message));
      return exit_failure;
    }
    for (auto& group : doc.doc->as_array()) {
      auto* schema = group.find("schema");
      auto* tests = group.find("tests");
      auto* gdesc = group.find("description");
      if (schema == nullptr || tests == nullptr || !tests->is_array()) {
        print_error(rel + ": a group lacks 'schema' or 'tests'");
        return exit_failure;
      }
      std::string gname = gdesc && gdesc->is_string() ? gdesc->as_string() : "";
      auto compiled = contracts::compile_schema(*schema, registry, options);
      for (auto& test : tests->as_array()) {
        auto* desc = test.find("description");
        auto* data = test.find("data");
        auto* valid = test.find("valid");
        case_id id{rel, gname, desc && desc->is_string() ? desc->as_string() : ""};
        std::string why;
        bool ok = false;
        if (data == nullptr || valid == nullptr || !valid->is_bool()) {
          why = "malformed test case";
        } else if (!compiled) {
          why = "schema rejected: "
                + (compiled.errors.empty() ? std::string{"?"}
                                           : compiled.errors.front().keyword_location
                                               + ": "
                                               + compiled.errors.front().message);
        } else {
          auto flag = compiled.schema->validate(*data, contracts::output::flag);
          auto basic = compiled.schema->validate(*data, contracts::output::basic);
          if (flag.valid != basic.valid)
            why = "flag and basic output disagree";
          else if (basic.valid == basic.errors.empty()
                   && flag.valid == valid->as_bool())
            ok = true;
          else if (flag.valid != valid->as_bool())
            why = std::string{"expected "} + (valid->as_bool() ? "valid" : "invalid")
                  + ", got " + (flag.valid ? "valid" : "invalid");
          else
            why = "errors reported for a valid document or none for an invalid one";
        }
        auto is_known = known.count(id.text()) > 0;
        if (ok) {
          ++passed;
          if (is_known)
            fixed.push_back(id.text());
        } else {
          ++failed;
          if (!is_known)
            unexpected.push_back(id.text());
          if (!quiet)
            std::cout << "FAIL " << id.text() << ": " << why << '\n';
        }
      }
    }
  }
  for (auto& f : fixed)
    std::cout << "FIXED (remove from the known-failures list) " << f << '\n';
  if (!unexpected.empty() && !known_failures_path.empty())
    std::cout << unexpected.size()
              << " failure(s) not on the known-failures list\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  return unexpected.empty() && fixed.empty() ? exit_ok : exit_failure;
}

// -- omniva schema validate ---------------------------------------------------

/// Loads SCHEMA: a file, or the name of a shipped schema.
compile_result load_schema(const std::string& name, schema_registry& registry,
                           bool& is_core) {
  std::error_code ec;
  is_core = false;
  if (fs::is_regular_file(name, ec)) {
    auto doc = json::parse_file(name);
    if (!doc)
      return {nullptr, {{"", "", doc.error.message}}};
    auto base = "file://" + fs::absolute(name).lexically_normal().string();
    // Relative `$ref`s may name files in the schema's folder, compared by
    // path components (a string prefix let /x/a/ load /x/ab/y.json).
    registry.set_loader(contracts::folder_file_loader(
      fs::absolute(name).parent_path().lexically_normal()));
    contracts::schema_options options;
    options.base_uri = base;
    return contracts::compile_schema(*doc.doc, registry, options);
  }
  auto& catalog = contracts::schema_catalog::shipped();
  if (catalog.uri(name)) {
    is_core = true;
    return catalog.compile(name);
  }
  std::string shipped;
  for (auto& n : catalog.names())
    shipped += (shipped.empty() ? "" : ", ") + n;
  return {nullptr, {{"", "", "no such file or shipped schema: " + name
                               + " (shipped: " + shipped + ")"}}};
}

int run_validate(const arguments& args) {
  po::options_description opts{"options"};
  std::string schema_name, ndjson;
  std::vector<std::string> documents;
  opts.add_options()
    ("schema", po::value(&schema_name)->required(),
     "schema file, or a shipped schema name (e.g. ClipCandidate)")
    ("document", po::value(&documents), "document files to validate")
    ("ndjson", po::value(&ndjson),
     "validate one document per line of FILE and print the counts")
    ("errors", "with --ndjson: print the errors of each invalid line")
    ("schema-only", "shipped schemas: skip the semantic rules (JSON Schema "
                    "alone, as other validators do)")
    ("json", "print machine output");
  po::positional_options_description pos;
  pos.add("schema", 1).add("document", -1);
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva schema validate SCHEMA [FILE...] [--ndjson FILE] [--json]",
        "Validates JSON documents against a JSON Schema 2020-12 file or a "
        "shipped schema (formats asserted; the semantic rules of shipped "
        "schemas applied). Exits 0 when every document is valid, 1 "
        "otherwise.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  if (documents.empty() && ndjson.empty()) {
    print_error("nothing to validate: give document files or --ndjson FILE");
    return exit_usage;
  }
  schema_registry registry;
  bool is_core = false;
  auto compiled = load_schema(schema_name, registry, is_core);
  if (!compiled) {
    if (as_json) {
      json::value out;
      out.set("ok", false);
      json::array errs;
      for (auto& e : compiled.errors) {
        json::value x;
        x.set("code", "invalid_schema");
        x.set("pointer", e.keyword_location);
        x.set("message", e.message);
        errs.push_back(std::move(x));
      }
      out.set("errors", std::move(errs));
      std::cout << json::serialize(out) << '\n';
    } else {
      print_error("the schema " + schema_name + " is not usable:");
      print_schema_errors(compiled.errors);
    }
    return exit_failure;
  }
  bool semantic = is_core && vm.count("schema-only") == 0;
  auto check = [&](std::string_view text, contracts::output mode) {
    auto r = compiled.schema->validate_text(text, mode);
    if (semantic && r.valid) {
      // The rules a schema cannot say (end_time > start_time, ...).
      auto doc = json::parse(text);
      for (auto& p : contracts::check_semantic_rules(schema_name, *doc.doc)) {
        r.valid = false;
        r.errors.push_back({p.pointer, "", p.message});
      }
    }
    return r;
  };
  if (!ndjson.empty()) {
    std::string text;
    if (!read_file(ndjson, text))
      return exit_failure;
    bool show = vm.count("errors") > 0;
    size_t docs = 0, valid = 0, invalid = 0, not_json = 0, line_no = 0;
    auto mode = show ? contracts::output::basic : contracts::output::flag;
    auto start = std::chrono::steady_clock::now();
    size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find('\n', pos);
      if (end == std::string::npos)
        end = text.size();
      std::string_view line{text.data() + pos, end - pos};
      pos = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos)
        continue;
      ++docs;
      auto r = check(line, mode);
      if (r.parse_error)
        ++not_json;
      else if (r.valid)
        ++valid;
      else
        ++invalid;
      if (show && !r.valid) {
        std::cout << "line " << line_no << ": "
                  << (r.parse_error ? *r.parse_error : "invalid") << '\n';
        for (auto& e : r.errors)
          std::cout << "  " << (e.instance_location.empty() ? "/" : e.instance_location)
                    << " (" << e.keyword_location << "): " << e.message << '\n';
      }
    }
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                              - start)
                  .count();
    auto rate = secs > 0 ? static_cast<double>(docs) / secs : 0.0;
    if (as_json) {
      json::value out;
      out.set("schema", schema_name);
      out.set("documents", static_cast<int64_t>(docs));
      out.set("valid", static_cast<int64_t>(valid));
      out.set("invalid", static_cast<int64_t>(invalid));
      out.set("not_json", static_cast<int64_t>(not_json));
      out.set("bytes", static_cast<int64_t>(text.size()));
      out.set("seconds", secs);
      out.set("documents_per_second", rate);
      std::cout << json::serialize(out) << '\n';
    } else {
      std::cout << docs << " documents: " << valid << " valid, " << invalid
                << " invalid, " << not_json << " not JSON (" << secs
                << " s, " << static_cast<uint64_t>(rate) << " documents/s)\n";
    }
    return valid == docs ? exit_ok : exit_failure;
  }
  bool all_valid = true;
  json::array results;
  for (auto& path : documents) {
    std::string text;
    if (!read_file(path, text))
      return exit_failure;
    auto r = check(text, contracts::output::basic);
    all_valid = all_valid && r.valid;
    if (as_json) {
      json::value x;
      x.set("document", path);
      x.set("valid", r.valid);
      json::array errs;
      if (r.parse_error) {
        json::value e;
        e.set("code", "invalid_json");
        e.set("pointer", "");
        e.set("message", *r.parse_error);
        errs.push_back(std::move(e));
      }
      for (auto& e : r.errors) {
        json::value y;
        y.set("code", "schema_violation");
        y.set("pointer", e.instance_location);
        y.set("keyword_location", e.keyword_location);
        y.set("message", e.message);
        errs.push_back(std::move(y));
      }
      if (!r.valid)
        x.set("errors", std::move(errs));
      results.push_back(std::move(x));
    } else if (r.valid) {
      std::cout << path << ": valid\n";
    } else {
      std::cout << path << ": invalid\n";
      if (r.parse_error)
        std::cout << "  " << *r.parse_error << '\n';
      for (auto& e : r.errors)
        std::cout << "  " << (e.instance_location.empty() ? "/" : e.instance_location)
                  << " (" << e.keyword_location << "): " << e.message << '\n';
    }
  }
  if (as_json)
    std::cout << json::serialize(json::value{std::move(results)}) << '\n';
  return all_valid ? exit_ok : exit_failure;
}

// -- omniva schema register|list|show (a node's schemas) ---------------------

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
  return list_call(args, "omniva schema list [--limit N] [--cursor C] [--json]",
                   "Lists the JSON Schemas registered with the node, a page at "
                   "a time (--limit, default 100); when there is more, the "
                   "last line is the command that prints the next page.",
                   "/api/schemas", {col("ref"), col("title", true)});
}

int schema_show(const arguments& args) {
  return id_call(args, "omniva schema show REF [--json]",
                 "Shows a JSON Schema registered with the node.", "name@version",
                 "GET", "/api/schemas/", "", nullptr);
}

} // namespace

int run_schema(const arguments& args) {
  static const std::vector<verb> verbs{
    {"validate", "validate documents against a schema", run_validate},
    {"test-suite", "run the official JSON Schema conformance suite",
     run_test_suite},
    {"register", "register a schema with a node (name@N)", schema_register},
    {"list", "list the schemas registered with a node", schema_list},
    {"show", "show a schema registered with a node", schema_show},
  };
  return dispatch("schema",
                  "JSON Schema draft 2020-12: validation and conformance "
                  "(local); the schemas registered with a node (register, "
                  "list, show).",
                  verbs, args);
}

} // namespace omniva::cli
