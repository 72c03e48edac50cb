// `omniva policy ...`: the retry policies registered with a node.

#include "contracts/registry_messages.hpp"
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

/// The codes a policy's `retry` rule retries besides the transient ones,
/// comma-separated; "" when it lists none (the JSON form omits them then).
std::string retry_on_text(const json::value& retry) {
  std::string out;
  if (auto* codes = retry.find("retry_on"); codes && codes->is_array())
    for (auto& code : codes->as_array())
      out += (out.empty() ? "" : ",") + (code.is_string() ? code.as_string()
                                                          : json::serialize(code));
  return out;
}

/// The jitter of a policy's `retry` rule in percent; the default (10) when
/// the JSON form omits it.
std::string jitter_text(const json::value& retry) {
  if (auto* j = retry.find("jitter_pct"); j && !j->is_null())
    return json::serialize(*j);
  return std::to_string(contracts::policy_entry{}.jitter_pct);
}

/// A column of what a policy's `retry` rule says through `text`.
column retry_text_col(const char* heading,
                      std::string (*text)(const json::value& retry)) {
  return column{heading,
                [text](const json::value& p) {
                  auto* retry = p.find("retry");
                  return retry ? text(*retry) : std::string{};
                },
                false};
}

int policy_list(const arguments& args) {
  return list_call(args, "omniva policy list [--limit N] [--cursor C] [--json]",
                   "Lists the registered policies: how failed tasks are "
                   "retried (retry_on: codes retried besides the transient "
                   "failures; jitter_pct: the spread of each pause). A page "
                   "at a time (--limit, default 100); when there is more, the "
                   "last line is the command that prints the next page.",
                   "/api/policies",
                   {col("ref"), retry_col("max_attempts"), retry_col("backoff_ms"),
                    retry_text_col("retry_on", retry_on_text),
                    retry_text_col("jitter_pct", jitter_text),
                    col("description", true)});
}

int policy_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string ref;
  opts.add_options()("ref", po::value(&ref)->required(), "name@version");
  po::positional_options_description pos;
  pos.add("ref", 1);
  client_options c;
  return client_call(
    args, "omniva policy show REF [--json]",
    "Shows a policy: its retry rule a field a line (max_attempts, backoff_ms, "
    "retry_on, jitter_pct; defaults spelled out). --json: the policy as the "
    "node stores it (retry_on and jitter_pct omitted when they are the "
    "defaults).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/policies/" + runtime::url_encode(ref));
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
      shown.set("ref", field(*doc, "ref"));
      if (auto text = field(*doc, "description"); !text.empty())
        shown.set("description", text);
      json::value none{json::object{}};
      auto* retry = doc->find("retry");
      if (retry == nullptr || !retry->is_object())
        retry = &none;
      shown.set("max_attempts", field(*retry, "max_attempts"));
      shown.set("backoff_ms", field(*retry, "backoff_ms"));
      auto codes = retry_on_text(*retry);
      shown.set("retry_on", codes.empty() ? "none (transient failures only)"
                                          : codes);
      shown.set("jitter_pct", jitter_text(*retry));
      print_fields(shown);
      return exit_ok;
    });
}

} // namespace

int run_policy(const arguments& args) {
  static const std::vector<verb> verbs{
    {"list", "list the registered policies", policy_list},
    {"show", "show a policy", policy_show},
  };
  return dispatch("policy",
                  "Policies registered with a node (default@1: 3 attempts, "
                  "pauses of 1 s, 5 s, 15 s, jitter 10%).",
                  verbs, args);
}

} // namespace omniva::cli
