// `omniva personas ...` (docs/engines.md, "Pantheon"; docs/cli.md): register,
// list and show the personas Pantheon votes with. Each talks to a node over
// its HTTP API (runtime/api_personas.cpp): `POST /api/personas?ref=name@N`
// with the document as the body, `GET /api/personas[/{ref}]`.

#include "contracts/registry_store.hpp"
#include "runtime/cli_client.hpp"

#include <filesystem>
#include <iostream>
#include <string>

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// A JSON number for people: "0.5", "1".
std::string number_text(const json::value& v) {
  return v.is_string() ? v.as_string() : json::serialize(v);
}

/// "confidence 0.5, faces 0.3": an agent's features and their weights.
std::string features_text(const json::value& agent) {
  auto* f = agent.find("features");
  if (f == nullptr || !f->is_object())
    return "";
  std::string out;
  for (auto& [name, w] : f->as_object())
    out += (out.empty() ? "" : ", ") + name + " " + number_text(w);
  return out;
}

int personas_register(const arguments& args) {
  po::options_description opts{"options"};
  std::string path, ref;
  opts.add_options()
    ("file", po::value(&path)->required(),
     "the personas document ({\"agents\": [{\"agent\", \"weight\"?, "
     "\"features\", \"stance\"?}], \"description\"?})")
    ("ref", po::value(&ref),
     "its ref, name@N (default: the file's name, as in personas@2.json)");
  po::positional_options_description pos;
  pos.add("file", 1);
  client_options c;
  return client_call(
    args, "omniva personas register FILE [--ref name@N] [--json]",
    "Registers personas for Pantheon's votes, so that a pipeline's select "
    "by pantheon may name them (\"personas\": \"name@N\"). The node checks "
    "the document whole (every problem at once, each with its code and "
    "pointer). A ref is immutable: the same document again changes nothing; "
    "another under a registered ref, or under the built-in personas@1, is "
    "refused (immutable_ref). Prints the ref; --json: the personas as "
    "registered.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      if (ref.empty()) {
        auto name = fs::path{path}.filename().string();
        auto named = contracts::ref_of_file_name(name);
        if (!named) {
          print_error("give --ref name@N: the file name '" + name
                      + "' is not <name>@<N>.json");
          return exit_usage;
        }
        ref = *named;
      }
      std::string text;
      if (!read_file(path, text))
        return exit_failure;
      auto r = client.request("POST",
                              "/api/personas?ref=" + runtime::url_encode(ref),
                              text);
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc)
        return fail("the node's answer is not JSON");
      print(*doc, c.as_json, "ref");
      return exit_ok;
    });
}

int personas_list(const arguments& args) {
  return list_call(
    args, "omniva personas list [--limit N] [--cursor C] [--json]",
    "Lists the personas Pantheon may vote with, by ref (personas@1 is built "
    "in): their agents and description. A page at a time (--limit, default "
    "100).",
    "/api/personas",
    {col("ref"), col("built_in"),
     column{"agents",
            [](const json::value& p) {
              auto* a = p.find("agents");
              std::string out;
              if (a != nullptr && a->is_array())
                for (auto& x : a->as_array())
                  out += (out.empty() ? "" : ", ")
                         + (x.is_string() ? x.as_string() : json::serialize(x));
              return out;
            },
            true},
     col("description", true)});
}

int personas_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string ref;
  opts.add_options()("ref", po::value(&ref)->required(),
                     "the personas, name@N (personas@1 is built in)");
  po::positional_options_description pos;
  pos.add("ref", 1);
  client_options c;
  return client_call(
    args, "omniva personas show REF [--json]",
    "Shows personas: each agent with its weight in the consensus, the "
    "features it weighs and its stance. --json: {\"ref\", \"built_in\", "
    "\"document\"}, the document as registered.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/personas/" + runtime::url_encode(ref));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      std::cout << field(*doc, "ref")
                << (field(*doc, "built_in") == "true" ? " (built in)" : "")
                << '\n';
      auto* document = doc->find("document");
      if (document == nullptr || !document->is_object())
        return exit_ok;
      if (auto d = field(*document, "description"); !d.empty())
        std::cout << d << '\n';
      if (auto* agents = document->find("agents"); agents && agents->is_array()) {
        std::cout << "\nagents:\n";
        print_table(*agents,
                    {col("agent"),
                     column{"weight",
                            [](const json::value& a) {
                              auto* w = a.find("weight");
                              return w ? number_text(*w) : std::string{"1"};
                            },
                            false},
                     column{"features", features_text, false},
                     col("stance", true)});
      }
      return exit_ok;
    });
}

} // namespace

int run_personas(const arguments& args) {
  static const std::vector<verb> verbs{
    {"register", "register personas for Pantheon (name@N)", personas_register},
    {"list", "list the personas Pantheon may vote with", personas_list},
    {"show", "show personas: agents, weights, features, stances", personas_show},
  };
  return dispatch("personas",
                  "Pantheon's personas on a node: who votes on clip "
                  "candidates and how (docs/engines.md, \"Pantheon\").",
                  verbs, args);
}

} // namespace omniva::cli
