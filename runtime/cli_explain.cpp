// `omniva explain ID [--json] [--limit N] [--cursor C]`: HaloLux's
// explanation of a task, an asset or a trace (`GET /api/explain/{id}`,
// docs/engines.md "HaloLux"). For people: the narrative, then each
// statement of the reasoning chain with the packet that shows it, the
// evidence that is missing and the completeness; for a trace with more
// tasks, the command that prints the next page. With --json, the node's
// answer as is: subject, subject_kind, narrative, chain, missing,
// completeness (and next_cursor).

#include "runtime/cli_client.hpp"

#include <cmath>
#include <iostream>
#include <map>
#include <string>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// `text` as one shell word: as is when it holds only safe characters,
/// else in single quotes.
std::string shell_quoted(const std::string& text) {
  bool safe = !text.empty()
              && text.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_.:@/=+")
                   == std::string::npos;
  if (safe)
    return text;
  std::string out = "'";
  for (char ch : text)
    out += ch == '\'' ? std::string{"'\\''"} : std::string(1, ch);
  return out + "'";
}

/// Prints an explanation for people.
void print_explanation(const json::value& doc) {
  std::cout << field(doc, "narrative") << "\n";
  if (auto* chain = doc.find("chain"); chain && chain->is_array()
                                       && !chain->as_array().empty()) {
    std::cout << "\nchain:\n";
    size_t n = 0;
    for (auto& step : chain->as_array())
      std::cout << "  " << ++n << ". " << field(step, "statement")
                << "\n     packet " << field(step, "packet_id") << "\n";
  }
  if (auto* missing = doc.find("missing"); missing && missing->is_array()
                                           && !missing->as_array().empty()) {
    std::cout << "\nmissing:\n";
    for (auto& m : missing->as_array())
      std::cout << "  - " << (m.is_string() ? m.as_string() : json::serialize(m))
                << "\n";
  }
  if (auto* c = doc.find("completeness"); c && c->is_number())
    std::cout << "\ncompleteness: "
              << static_cast<int>(std::floor(c->as_double() * 100.0)) << "%\n";
}

} // namespace

int run_explain(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  int64_t limit = 0;
  std::string cursor;
  opts.add_options()
    ("id", po::value(&id)->required(), "the task, asset or trace to explain")
    ("limit", po::value(&limit),
     "a trace: at most this many tasks per page (1 to 1000, default 100)")
    ("cursor", po::value(&cursor),
     "a trace: the page after the one that printed this cursor");
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva explain ID [--json] [--limit N] [--cursor C]",
    "Explains from the lineage alone why a task, an asset or a trace is "
    "where it is: who submitted what and when, what Paradox, Lattice and "
    "Eclipse advised and Zenith decided, why it waited, each attempt and "
    "its failure, the operators' actions. Every statement names the packet "
    "that shows it; evidence the lineage should hold and does not is listed "
    "as missing. A trace is explained a page of tasks at a time.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      std::map<std::string, std::string> q;
      if (vm.count("limit"))
        q["limit"] = std::to_string(limit);
      if (vm.count("cursor"))
        q["cursor"] = cursor;
      auto r = client.request("GET", "/api/explain/" + runtime::url_encode(id)
                                       + runtime::encode_query(q));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      print_explanation(*doc);
      if (auto next = field(*doc, "next_cursor"); !next.empty()) {
        std::string line = "\nnext page: omniva explain " + shell_quoted(id);
        if (vm.count("limit"))
          line += " --limit " + std::to_string(limit);
        // Never the token: it would stay on the screen.
        if (vm.count("node"))
          line += " --node " + shell_quoted(c.node);
        if (vm.count("data"))
          line += " --data " + shell_quoted(c.data);
        std::cout << line << " --cursor " << shell_quoted(next) << '\n';
      }
      return exit_ok;
    });
}

} // namespace omniva::cli
