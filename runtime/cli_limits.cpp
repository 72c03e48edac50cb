// `omniva budget ...`, `omniva quota ...` and `omniva predicate ...`: the
// limits policies put on tasks (docs/policies.md).

#include "contracts/limits.hpp"
#include "runtime/cli_client.hpp"

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// What `budget` and `quota` share: their noun, route and the amount a
/// window holds.
struct limit_kind {
  const char* noun;
  /// "/api/budgets".
  const char* path;
  /// The amount's option ("max-usd-micro") and member ("max_usd_micro").
  const char* option;
  const char* member;
  const char* amount_help;
};

constexpr limit_kind budget_kind{"budget", "/api/budgets", "max-usd-micro",
                                 "max_usd_micro",
                                 "the cap, in millionths of a US dollar "
                                 "(1000000 = $1)"};
constexpr limit_kind quota_kind{"quota", "/api/quotas", "units", "units",
                                "the units one window has (10000)"};

/// `create` and `set`: POST or PUT the members given.
int change(const arguments& args, const limit_kind& k, bool create) {
  po::options_description opts{"options"};
  std::string name, window, description;
  int64_t amount = -1;
  opts.add_options()("name", po::value(&name)->required(), "its name")(
    k.option, po::value(&amount), k.amount_help)(
    "window", po::value(&window),
    std::string{k.noun} == std::string{"budget"}
      ? "the cap holds per window: 30s, 15m, 12h, 1d (none: for all time)"
      : "the length of a window: 30s, 15m, 12h, 1d")(
    "description", po::value(&description), "for people");
  po::positional_options_description pos;
  pos.add("name", 1);
  client_options c;
  auto usage = std::string{"omniva "} + k.noun + (create ? " create" : " set")
               + " NAME " + (create ? "" : "[") + "--" + k.option + " N"
               + (create ? "" : "]")
               + (std::string{k.noun} == std::string{"quota"} && create
                    ? " --window W"
                    : " [--window W]")
               + " [--description TEXT] [--json]";
  auto summary = create ? std::string{"Creates a "} + k.noun
                            + " (recorded as a " + k.noun
                            + ".created packet). Prints 'created NAME'; --json: "
                              "the "
                            + k.noun + "."
                        : std::string{"Changes a "} + k.noun
                            + ": the members given (recorded as a " + k.noun
                            + ".changed packet with what it was before); "
                              "tasks it held back are admitted as soon as "
                              "they fit. Prints 'changed NAME'; --json: the "
                            + k.noun + ".";
  return client_call(
    args, usage, summary, opts, pos, c,
    [&](runtime::http_client& client, const po::variables_map& vm) {
      json::value body{json::object{}};
      if (create)
        body.set("name", name);
      if (vm.count(k.option))
        body.set(k.member, amount);
      if (vm.count("window"))
        body.set("window", window == "none" ? json::value{} : json::value{window});
      if (vm.count("description"))
        body.set("description", description);
      auto r = create ? client.request("POST", k.path, json::serialize(body))
                      : client.request("PUT",
                                       std::string{k.path} + "/"
                                         + runtime::url_encode(name),
                                       json::serialize(body));
      return print_change(r, c.as_json, create ? "created" : "changed", "name");
    });
}

/// `show`: one budget or quota a field a line, with what the lineage says
/// it used (`GET <path>`).
int show(const arguments& args, const char* usage, const char* summary,
         const std::function<std::string(const std::string&)>& path_of,
         const char* what) {
  po::options_description opts{"options"};
  std::string name;
  opts.add_options()("name", po::value(&name)->required(), what);
  po::positional_options_description pos;
  pos.add("name", 1);
  client_options c;
  return client_call(
    args, usage, summary, opts, pos, c,
    [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", path_of(name));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      json::value shown{json::object{}};
      for (auto& [key, v] : doc->as_object()) {
        if (key == "lineage" || key.ends_with("_ms"))
          continue;
        shown.set(key, v.is_string() ? v : json::value{json::serialize(v)});
      }
      if (auto* l = doc->find("lineage"); l != nullptr && l->is_object()) {
        for (auto* m : {"spent_usd_micro", "reserved_usd_micro", "used_units",
                        "events"})
          if (auto* v = l->find(m))
            shown.set(std::string{"lineage "} + m, json::serialize(*v));
      }
      print_fields(shown);
      return exit_ok;
    });
}

int budget_list(const arguments& args) {
  return list_call(args, "omniva budget list [--json]",
                   "Lists the named budgets and the spend of runs whose "
                   "pipeline's policy caps them: the cap, the window, what is "
                   "spent and reserved by running attempts, what is left.",
                   "/api/budgets",
                   {col("subject"), col("max_usd_micro"), col("window"),
                    col("spent_usd_micro"), col("reserved_usd_micro"),
                    col("available_usd_micro")});
}

int budget_show(const arguments& args) {
  return show(args, "omniva budget show NAME [--json]",
              "Shows a budget: its cap and window, what is spent and "
              "reserved, and the same added up from the lineage (the "
              "dispatches that reserved it and the settlements); --json adds "
              "the spend after each of those packets (lineage.series).",
              [](const std::string& name) {
                return "/api/budgets/" + runtime::url_encode(name);
              },
              "the budget's name");
}

int budget_spend(const arguments& args) {
  return show(args, "omniva budget spend RUN_ID [--json]",
              "Shows what a run whose pipeline names a policy with a budget "
              "has spent against its cap, from Zenith's state and from the "
              "lineage.",
              [](const std::string& id) {
                return "/api/runs/" + runtime::url_encode(id) + "/spend";
              },
              "the run's id");
}

int quota_list(const arguments& args) {
  return list_call(args, "omniva quota list [--json]",
                   "Lists the quotas: units per window, used in the current "
                   "window, left, and when the window resets.",
                   "/api/quotas",
                   {col("name"), col("units"), col("window"), col("used_units"),
                    col("available_units"), col("resets_at")});
}

int quota_show(const arguments& args) {
  return show(args, "omniva quota show NAME [--json]",
              "Shows a quota: units per window, used and left, when the "
              "window resets, and the units the lineage charged in this "
              "window.",
              [](const std::string& name) {
                return "/api/quotas/" + runtime::url_encode(name);
              },
              "the quota's name");
}

int predicate_list(const arguments& args) {
  return list_call(args, "omniva predicate list [--json]",
                   "Lists the predicates a contract may name under "
                   "predicates.admission and predicates.success, with the "
                   "phases each is allowed in.",
                   "/api/predicates",
                   {col("ref"), col("kind"), col("phases"),
                    col("description", true)});
}

int predicate_show(const arguments& args) {
  return id_call(args, "omniva predicate show REF [--json]",
                 "Shows a predicate: its kind, phases, default arguments and "
                 "the JSON Schema of its arguments.",
                 "the predicate's ref (artifact.exists@1)", "GET",
                 "/api/predicates/", "", nullptr);
}

} // namespace

int run_budget(const arguments& args) {
  static const std::vector<verb> verbs{
    {"list", "list the budgets and the spend of capped runs", budget_list},
    {"show", "show a budget and its spend", budget_show},
    {"create", "create a budget",
     [](const arguments& a) { return change(a, budget_kind, true); }},
    {"set", "change a budget's cap, window or description",
     [](const arguments& a) { return change(a, budget_kind, false); }},
    {"spend", "show what a run spent against its policy's cap", budget_spend},
  };
  return dispatch("budget",
                  "Budgets cap what tasks that declare a cost may spend "
                  "(docs/policies.md).",
                  verbs, args);
}

int run_quota(const arguments& args) {
  static const std::vector<verb> verbs{
    {"list", "list the quotas", quota_list},
    {"show", "show a quota", quota_show},
    {"create", "create a quota",
     [](const arguments& a) { return change(a, quota_kind, true); }},
    {"set", "change a quota's units, window or description",
     [](const arguments& a) { return change(a, quota_kind, false); }},
  };
  return dispatch("quota",
                  "Quotas: units per window that quota.available admits tasks "
                  "against (docs/policies.md).",
                  verbs, args);
}

int run_predicate(const arguments& args) {
  static const std::vector<verb> verbs{
    {"list", "list the predicates", predicate_list},
    {"show", "show a predicate and its arguments", predicate_show},
  };
  return dispatch("predicate",
                  "Admission and success predicates contracts may name "
                  "(docs/policies.md).",
                  verbs, args);
}

} // namespace omniva::cli
