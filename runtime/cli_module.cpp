// `omniva module ...`: register a module with a node (its module.json, and
// the folder it runs in), list and show the registered ones, and have the
// node load its module folders again.

#include "runtime/cli_client.hpp"

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
     column{"inputs", [](const json::value& m) { return keys_of(m.find("inputs")); },
            false},
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

} // namespace

int run_module(const arguments& args) {
  static const std::vector<verb> verbs{
    {"register", "register a module (module.json or its folder)", module_register},
    {"list", "list the registered modules", module_list},
    {"show", "show a module's contract", module_show},
    {"rescan", "load the node's module folders again", module_rescan},
  };
  return dispatch("module", "Modules registered with a node.", verbs, args);
}

} // namespace omniva::cli
