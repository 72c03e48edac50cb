// `omniva quarantine ...`: an operator's quarantines of modules and pools
// (docs/engines.md, "Eclipse"): add one (nothing is dispatched to the
// module or pool until it is removed), remove one (an operator's or a
// breaker's), list them. Adding and removing need an operator token.

#include "runtime/cli_client.hpp"

#include "contracts/engines.hpp"

#include <iostream>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// The options of `add` and `rm`: what kind of target, and which.
struct target_args {
  std::string kind;
  std::string name;

  void add_to(po::options_description& opts, po::positional_options_description& pos) {
    opts.add_options()
      ("kind", po::value(&kind)->required(), "module or pool")
      ("name", po::value(&name)->required(),
       "the module's ref (name@N) or the pool's name");
    pos.add("kind", 1);
    pos.add("name", 1);
  }

  /// Whether `kind` is one this command knows; prints why not.
  bool known(std::string_view verb) const {
    if (kind == "module" || kind == "pool")
      return true;
    print_error("'" + kind + "' is not a kind of quarantine target: module or "
                "pool (see 'omniva quarantine " + std::string{verb}
                + " --help')");
    return false;
  }

  /// `module:<ref>` or `pool:<name>`.
  std::string target() const {
    return kind == "module" ? contracts::module_target(name)
                            : contracts::pool_target(name);
  }
};

int quarantine_add(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  target_args t;
  t.add_to(opts, pos);
  std::string reason;
  opts.add_options()("reason", po::value(&reason),
                     "why, for the lineage and the list (up to 1024 bytes)");
  client_options c;
  return client_call(
    args, "omniva quarantine add module REF|pool NAME [--reason TEXT] [--json]",
    "Quarantines a module (by its ref, name@N) or a pool: no task is "
    "dispatched to it until 'omniva quarantine rm' removes it (a module's "
    "tasks wait; tasks go to other pools than a quarantined one when one "
    "fits). Recorded as an "
    "operator.override packet naming the token. Prints 'quarantined "
    "TARGET'; --json: the quarantine.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      if (!t.known("add"))
        return exit_usage;
      json::value body{json::object{}};
      body.set(t.kind, t.name);
      if (vm.count("reason"))
        body.set("reason", reason);
      auto r = client.request("POST", "/api/quarantines", json::serialize(body));
      return print_change(r, c.as_json, "quarantined", "target");
    });
}

int quarantine_rm(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  target_args t;
  t.add_to(opts, pos);
  client_options c;
  return client_call(
    args, "omniva quarantine rm module REF|pool NAME [--json]",
    "Removes the quarantine of a module or a pool, an operator's or a "
    "breaker's: tasks are dispatched to it again. Prints 'released TARGET'; "
    "--json: the quarantine removed. None: exit 1, not_found.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      if (!t.known("rm"))
        return exit_usage;
      auto r = client.request("DELETE", "/api/quarantines/"
                                          + runtime::url_encode(t.target()));
      return print_change(r, c.as_json, "released", "target");
    });
}

int quarantine_list(const arguments& args) {
  return list_call(
    args, "omniva quarantine list [--limit N] [--cursor C] [--json]",
    "Lists the quarantined modules and pools by target, as target, state "
    "(open, or half_open while a breaker's probe may go), by (an operator's "
    "token or eclipse), since and reason. A page at a time (--limit, default "
    "100).",
    "/api/quarantines",
    {col("target"), col("state"), col("by"), col("since"), col("reason", true)});
}

} // namespace

int run_quarantine(const arguments& args) {
  static const std::vector<verb> verbs{
    {"add", "quarantine a module or a pool (nothing is dispatched to it)",
     quarantine_add},
    {"rm", "remove a module's or a pool's quarantine", quarantine_rm},
    {"list", "list the quarantined modules and pools", quarantine_list},
  };
  return dispatch("quarantine",
                  "Quarantines of a node: modules and pools no task is "
                  "dispatched to, set by an operator or by a circuit breaker "
                  "(docs/engines.md, \"Eclipse\").",
                  verbs, args);
}

} // namespace omniva::cli
