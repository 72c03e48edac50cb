// `omniva module ...`: register a module with a node (its module.json, and
// the folder it runs in), list and show the registered ones, and have the
// node load its module folders again.

#include "runtime/cli_client.hpp"

#include <filesystem>
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

int module_list(const arguments& args) {
  return list_call(args, "omniva module list [--json]",
                   "Lists the registered modules.", "/api/modules",
                   {"ref", "description"});
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
