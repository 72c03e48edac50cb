// `omniva policy ...`: the retry policies registered with a node.

#include "runtime/cli_client.hpp"

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// A column showing member `key` of a policy's `retry` rule.
column retry_col(const char* key) {
  return column{key,
                [key](const json::value& p) {
                  auto* retry = p.find("retry");
                  return retry ? field(*retry, key) : std::string{};
                },
                false};
}

int policy_list(const arguments& args) {
  return list_call(args, "omniva policy list [--limit N] [--cursor C] [--json]",
                   "Lists the registered policies: how failed tasks are "
                   "retried. A page at a time (--limit, default 100); when "
                   "there is more, the last line is the command that prints "
                   "the next page.",
                   "/api/policies",
                   {col("ref"), retry_col("max_attempts"), retry_col("backoff_ms"),
                    col("description", true)});
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
