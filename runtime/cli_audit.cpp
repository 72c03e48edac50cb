// `omniva audit ...`: Paradox's audits of a node (docs/engines.md,
// "Audits"): run one now (`POST /api/audits`, operator role) or list the
// recorded ones, newest first (`GET /api/audits`). For people, each audit
// is one line, then one line per finding with, below it, the ids it
// concerns and the packets that show it.

#include "runtime/cli_client.hpp"

#include <iostream>
#include <map>
#include <string>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// `n` and `noun`, with an "s" unless `n` is 1.
std::string count(uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// A count member of `x` (0 when missing).
uint64_t number(const json::value& x, const char* key) {
  auto* v = x.find(key);
  auto n = v ? v->as_int64() : std::nullopt;
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}

/// The strings of array member `key` of `x`, comma-separated.
std::string list_of(const json::value& x, const char* key) {
  std::string out;
  if (auto* v = x.find(key); v && v->is_array())
    for (auto& s : v->as_array())
      if (s.is_string())
        out += (out.empty() ? "" : ", ") + s.as_string();
  return out;
}

/// The findings of an audit (a JSON array; empty when missing).
const json::array& findings_of(const json::value& audit) {
  static const json::array none;
  auto* f = audit.find("findings");
  return f && f->is_array() ? f->as_array() : none;
}

/// Prints one audit for people: a line for the audit, then its findings.
void print_audit(const json::value& a) {
  auto& findings = findings_of(a);
  std::cout << field(a, "finished_at") << "  " << field(a, "audit_id")
            << "  by " << field(a, "requested_by") << ": "
            << (findings.empty() ? std::string{"no findings"}
                                 : count(findings.size(), "finding"))
            << " (" << count(number(a, "tasks_checked"), "task") << ", "
            << count(number(a, "assets_checked"), "asset") << ", "
            << count(number(a, "packets_checked"), "packet") << " checked)\n";
  for (auto& f : findings) {
    std::cout << "  " << field(f, "severity") << "  " << field(f, "check")
              << " (" << field(f, "action") << "): " << field(f, "message")
              << '\n';
    auto affected = list_of(f, "affected");
    auto evidence = list_of(f, "evidence");
    if (!affected.empty())
      std::cout << "    affected: " << affected << '\n';
    if (!evidence.empty())
      std::cout << "    evidence: " << evidence << '\n';
  }
}

int audit_run(const arguments& args) {
  po::options_description opts{"options"};
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva audit run [--json]",
    "Has the node audit its state and lineage now (operator tokens): "
    "Paradox looks for AVAILABLE assets no packet produced, assets with two "
    "producers, DONE tasks whose outputs are not all AVAILABLE, holds of "
    "finished tasks and time going backwards within a trace; Zenith records "
    "the findings in the lineage (an advice.paradox packet). Nothing is "
    "changed because of them. Prints the audit and its findings; exits 1 "
    "when there are any.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("POST", "/api/audits", "{}");
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json)
        print(*doc, true, nullptr);
      else
        print_audit(*doc);
      return findings_of(*doc).empty() ? exit_ok : exit_failure;
    });
}

int audit_list(const arguments& args) {
  po::options_description opts{"options"};
  int64_t limit = 0;
  std::string cursor;
  opts.add_options()
    ("limit", po::value(&limit), "at most this many audits (1 to 1000, default 100)")
    ("cursor", po::value(&cursor), "the page after the one that printed this cursor");
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva audit list [--limit N] [--cursor C] [--json]",
    "Lists the audits the node recorded, newest first: a line for each "
    "(when it ended, its id, who asked, what it checked), then its findings "
    "(severity, check, recommended action, what it found, the ids concerned "
    "and the packets that show it). A page at a time (--limit, default 100).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      std::map<std::string, std::string> q;
      if (vm.count("limit"))
        q["limit"] = std::to_string(limit);
      if (!cursor.empty())
        q["cursor"] = cursor;
      auto r = client.request("GET", "/api/audits" + runtime::encode_query(q));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      auto* items = doc->find("items");
      if (items == nullptr || !items->is_array())
        return fail("the node's answer is not a list");
      if (items->as_array().empty() && cursor.empty())
        std::cout << "no audits recorded yet\n";
      for (auto& a : items->as_array())
        print_audit(a);
      if (auto next = field(*doc, "next_cursor"); !next.empty()) {
        std::cout << "next page: omniva audit list";
        if (vm.count("limit"))
          std::cout << " --limit " << limit;
        std::cout << " --cursor " << next << '\n';
      }
      return exit_ok;
    });
}

} // namespace

int run_audit(const arguments& args) {
  static const std::vector<verb> verbs{
    {"run", "audit the node's state and lineage now", audit_run},
    {"list", "list the recorded audits and their findings", audit_list},
  };
  return dispatch("audit",
                  "Paradox's audits of a node's state and lineage: findings "
                  "are recorded and listed, never acted on by themselves.",
                  verbs, args);
}

} // namespace omniva::cli
