// `omniva backup --to DIR`: has a running node write a backup of its data
// folder (`POST /api/backup`, then `GET /api/backup` until it is done), and
// `omniva restore --from DIR --data NEWDIR`: checks a backup against its
// manifest and restores it into a new data folder, offline (no node), then
// verifies the restored database (runtime/backup.hpp).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "runtime/backup.hpp"
#include "runtime/cli.hpp"
#include "runtime/cli_client.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>
#include <variant>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

/// How often `omniva backup` asks how the backup is doing.
constexpr auto backup_poll_interval = std::chrono::milliseconds{200};

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// The member `key` of `v` as an unsigned number (0 when missing).
uint64_t number(const json::value& v, const char* key) {
  auto* x = v.find(key);
  if (x == nullptr)
    return 0;
  if (auto i = x->as_int64())
    return static_cast<uint64_t>(*i);
  if (auto* u = std::get_if<uint64_t>(&x->data()))
    return *u;
  return 0;
}

/// Prints what a finished backup wrote, for people.
void print_backup(const json::value& result) {
  auto head = field(result, "head");
  std::cout << "backup written to " << field(result, "to") << '\n'
            << "  log       up to packet " << number(result, "last_seq")
            << (head.empty() ? std::string{" (empty log)"}
                             : " (head " + head.substr(0, 16) + ")")
            << '\n'
            << "  files     " << number(result, "files") << " ("
            << human_size(number(result, "bytes")) << "); asset files and logs: "
            << number(result, "linked") << " hard-linked, "
            << number(result, "copied") << " copied\n"
            << "  modules   " << number(result, "modules") << " folder(s)\n";
  if (auto missing = number(result, "missing"); missing > 0)
    std::cout << "  missing   " << missing
              << " file(s) the data folder no longer had (listed in "
                 "manifest.json)\n";
  if (auto external = number(result, "external"); external > 0)
    std::cout << "  external  " << external
              << " asset file(s) outside the data folder, not in the backup "
                 "(listed in manifest.json)\n";
}

} // namespace

int run_backup(const arguments& args) {
  po::options_description opts{"options"};
  std::string to;
  opts.add_options()
    ("to", po::value(&to)->required(),
     "the folder to write (new or empty, outside the data folder, on the "
     "node's machine; a relative path is taken from the current folder)");
  po::positional_options_description pos;
  client_options c;
  return client_call(
    args, "omniva backup --to DIR [--node URL] [--json]",
    "Has the node write a backup of its data folder while it runs: a "
    "consistent checkpoint of its database, the blobs and output files its "
    "assets name, the logs of finished attempts, the folders of its "
    "registered modules, its secrets, and manifest.json with the size and "
    "SHA-256 of every file. Waits until the backup is written and prints "
    "what it holds. Needs an admin token. Restore it with 'omniva restore'.",
    opts, pos, c,
    [&](runtime::http_client& client, const po::variables_map&) -> int {
      std::error_code err;
      auto target = fs::path{to};
      if (!to.empty() && target.is_relative())
        target = fs::absolute(target, err);
      json::value body{json::object{{"to", target.lexically_normal().string()}}};
      auto r = client.request("POST", "/api/backup", json::serialize(body));
      if (!r.ok())
        return report(r);
      auto started = r.json();
      if (!started)
        return fail("the node's answer is not JSON");
      auto id = field(*started, "id");
      bool progress = !c.as_json && is_terminal(STDERR_FILENO);
      std::string last_step;
      while (true) {
        std::this_thread::sleep_for(backup_poll_interval);
        auto s = client.request("GET", "/api/backup");
        if (!s.ok())
          return report(s);
        auto doc = s.json();
        if (!doc)
          return fail("the node's answer is not JSON");
        if (field(*doc, "id") != id)
          return fail("the node no longer reports this backup (it restarted?): "
                      "check " + to);
        auto state = field(*doc, "state");
        if (state == "running") {
          auto step = field(*doc, "step");
          if (progress && step != last_step && !step.empty())
            std::cerr << "backup: " << step << "...\n";
          last_step = step;
          continue;
        }
        if (c.as_json)
          std::cout << json::serialize(*doc) << '\n';
        if (state == "done") {
          if (!c.as_json)
            if (auto* result = doc->find("result"))
              print_backup(*result);
          return exit_ok;
        }
        auto* e = doc->find("error");
        if (!c.as_json)
          print_error("the backup failed: "
                      + (e ? field(*e, "code") + ": " + field(*e, "message")
                           : state));
        return exit_failure;
      }
    });
}

int run_restore(const arguments& args) {
  po::options_description opts{"options"};
  std::string from, data;
  opts.add_options()
    ("from", po::value(&from)->required(), "the backup folder")
    ("data", po::value(&data)->required(),
     "the new data folder (missing or empty)")
    ("json", "print machine output");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva restore --from DIR --data NEWDIR [--json]",
        "Restores a backup made by 'omniva backup' into a new data folder, "
        "with no node running: first checks the manifest against its sum and "
        "every file against the manifest (size and SHA-256; on any mismatch "
        "or missing file it names the file and writes nothing), then copies "
        "the database, blobs, outputs, module folders (to NEWDIR/modules) "
        "and secrets, records where the folder came from (NEWDIR/origin: "
        "asset paths of the old folder resolve in the new one), and verifies "
        "the restored lineage. Exits 0 when the restored database verifies "
        "and holds the log the backup names. Start a node on it with "
        "'omniva serve --data NEWDIR'.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  auto restored = runtime::restore_backup(from, data);
  if (!restored) {
    if (as_json) {
      auto& e = restored.error();
      json::value out{json::object{}};
      out.set("ok", false);
      out.set("code", std::string{contracts::to_string(
                        e.category() == contracts::error_category
                          ? static_cast<contracts::ec>(e.code())
                          : contracts::ec::storage_error)});
      out.set("message", error_text(e));
      std::cout << json::serialize(out) << '\n';
    } else {
      print_error(error_text(restored.error()));
    }
    return exit_failure;
  }
  bool good = restored->verify.ok && restored->log_matches;
  if (as_json) {
    auto out = runtime::to_json(*restored);
    out.set("ok", good);
    std::cout << json::serialize(out) << '\n';
    return good ? exit_ok : exit_failure;
  }
  auto& v = restored->verify;
  std::cout << "restored " << restored->files << " files ("
            << human_size(restored->bytes) << ") into " << restored->data_dir
            << '\n'
            << "  from      the data folder " << restored->source_data_dir << '\n';
  if (v.ok)
    std::cout << "  verify    ok: " << v.packets << " packets, head "
              << (v.head.empty() ? "(empty log)" : v.head) << ", " << v.rows
              << " rows checked\n";
  else
    std::cout << "  verify    BROKEN at packet " << v.broken_seq << " ("
              << contracts::to_string(v.code) << "): " << v.reason << '\n';
  if (v.ok && !restored->log_matches)
    std::cout << "  the restored log is not the one the manifest names\n";
  if (good)
    std::cout << "start it: omniva serve --data " << restored->data_dir << '\n';
  return good ? exit_ok : exit_failure;
}

} // namespace omniva::cli
