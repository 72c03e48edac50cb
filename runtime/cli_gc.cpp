// `omniva gc [--dry-run] [--json]`: a retention pass on a node now
// (`POST /api/gc`, admin tokens only), or with --dry-run what one would
// remove, changing nothing. Prints each item (a task's whole folder, the
// attempt folders of a task that did not win, a blob), why it goes, and
// the totals.

#include "runtime/cli_client.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// `n` and `noun`, with an "s" unless `n` is 1: "1 blob", "2 blobs".
std::string count(uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// The numbers of `attempts` (a JSON array) as "1, 2".
std::string numbers(const json::value* attempts) {
  std::string out;
  if (attempts && attempts->is_array())
    for (auto& n : attempts->as_array())
      out += (out.empty() ? "" : ", ") + json::serialize(n);
  return out;
}

/// A count member of `totals`.
uint64_t total(const json::value& totals, const char* key) {
  auto* v = totals.find(key);
  auto n = v ? v->as_int64() : std::nullopt;
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}

/// Prints a pass's answer for people; returns the exit code.
int print_pass(const json::value& doc) {
  bool dry = doc.find("dry_run") && doc.find("dry_run")->is_bool()
             && doc.find("dry_run")->as_bool();
  auto bytes_of = [](const json::value& item) {
    auto* b = item.find("bytes");
    auto n = b ? b->as_int64() : std::nullopt;
    return human_size(n && *n > 0 ? static_cast<uint64_t>(*n) : 0);
  };
  auto earlier = [](const json::value& item) {
    auto* r = item.find("recorded_earlier");
    return r && r->is_bool() && r->as_bool();
  };
  if (auto* tasks = doc.find("tasks"); tasks && tasks->is_array())
    for (auto& t : tasks->as_array()) {
      auto* whole = t.find("whole");
      std::string what;
      if (whole && whole->is_bool() && whole->as_bool()) {
        what = "its whole folder";
        if (auto* a = t.find("assets"); a && a->is_array() && !a->as_array().empty())
          what += " (" + count(a->as_array().size(), "asset") + " PURGED)";
      } else {
        what = "attempt folder(s) " + numbers(t.find("attempts"));
      }
      std::cout << "task " << field(t, "task_id") << ": " << what << ", "
                << bytes_of(t) << (earlier(t) ? " (recorded earlier)" : "")
                << "\n  " << field(t, "reason") << '\n';
    }
  if (auto* blobs = doc.find("blobs"); blobs && blobs->is_array())
    for (auto& b : blobs->as_array())
      std::cout << "blob " << field(b, "sha256") << ": " << bytes_of(b)
                << (earlier(b) ? " (recorded earlier)" : "") << "\n  "
                << field(b, "reason") << '\n';
  auto* totals = doc.find("totals");
  json::value none{json::object{}};
  auto& n = totals ? *totals : none;
  auto folders = total(n, "folders");
  auto attempt_items = total(n, "tasks") - folders;
  auto blobs = total(n, "blobs");
  auto assets = total(n, "assets");
  if (folders + attempt_items + blobs == 0) {
    std::cout << (dry ? "nothing would be removed" : "nothing was removed")
              << '\n';
  } else {
    std::vector<std::string> parts;
    if (folders > 0)
      parts.push_back(count(folders, "task folder"));
    if (attempt_items > 0)
      parts.push_back("the attempts that did not win of "
                      + count(attempt_items, "task"));
    if (blobs > 0)
      parts.push_back(count(blobs, "blob"));
    std::string list;
    for (size_t i = 0; i < parts.size(); ++i)
      list += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
    std::cout << (dry ? "would remove " : "removed ") << list << " ("
              << human_size(total(n, "bytes")) << ")";
    if (assets > 0)
      std::cout << "; " << count(assets, "asset")
                << (dry ? " would become PURGED" : " became PURGED");
    std::cout << '\n';
  }
  if (auto skipped = total(doc, "skipped"); skipped > 0)
    std::cout << count(skipped, "item")
              << " left alone: taken or registered again meanwhile\n";
  if (auto failed = total(doc, "failed"); failed > 0) {
    print_error(count(failed, "item")
                + " recorded as removed could not be removed (see the node's "
                  "log); the next pass removes them");
    return exit_failure;
  }
  return exit_ok;
}

} // namespace

int run_gc(const arguments& args) {
  po::options_description opts{"options"};
  opts.add_options()("dry-run", "show what a pass would remove; change nothing");
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva gc [--dry-run] [--json]",
    "Runs a retention pass on the node now (admin tokens only): the folders "
    "of attempts that did not win, the folders of old finished tasks whose "
    "outputs nothing holds (those outputs become PURGED) and blobs no asset "
    "references, as the node's retention policy says (docs/operations.md). "
    "Each removal is recorded in the lineage first. --dry-run shows what "
    "would go and changes nothing.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      json::value body{json::object{}};
      body.set("dry_run", vm.count("dry-run") > 0);
      auto r = client.request("POST", "/api/gc", json::serialize(body));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        auto* failed = doc->find("failed");
        auto n = failed ? failed->as_int64() : std::nullopt;
        return n && *n > 0 ? exit_failure : exit_ok;
      }
      return print_pass(*doc);
    });
}

} // namespace omniva::cli
