// `omniva policy ...`: the retry policies registered with a node.

#include "runtime/cli_client.hpp"

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

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

} // namespace

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

} // namespace omniva::cli
