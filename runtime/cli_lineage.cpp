// `omniva lineage ...`: verify a Stardust log and show lineage, reading the
// database directly (also while a node has it open for writing).

#include "contracts/defaults.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "runtime/cli.hpp"
#include "runtime/cli_client.hpp"
#include "storage/database.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <iostream>
#include <optional>
#include <set>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// Opens the database of data folder `data` for reading; prints why not.
std::shared_ptr<const storage::reader> open_for_reading(const std::string& data,
                                                        bool as_json) {
  auto r = storage::open_reader(storage::database_path(data));
  if (r)
    return *r;
  if (as_json) {
    json::value out{json::object{}};
    out.set("ok", false);
    out.set("code", std::string{contracts::to_string(
                      static_cast<contracts::ec>(r.error().code()))});
    out.set("message", error_text(r.error()));
    std::cout << json::serialize(out) << '\n';
  } else {
    print_error(error_text(r.error()));
  }
  return nullptr;
}

// With `--node`, the lineage commands ask a node's HTTP API instead of
// reading a data folder (a client from `node_client`, cli_client.hpp).
const std::string default_data{defaults::node::data_dir};

/// Prints a packet (as JSON: `contracts::to_json` or the API's answer, which
/// are the same) on one line, indented by `depth`: seq, kind, time, actor,
/// the id's first 16 digits, [subjects], payload. `--data` and `--node`
/// print through it alike.
void print_packet(const json::value& p, int64_t depth) {
  auto s = [&](const char* k) {
    auto* v = p.find(k);
    return v == nullptr ? std::string{}
                        : v->is_string() ? v->as_string() : json::serialize(*v);
  };
  std::cout << std::string(static_cast<size_t>(std::max<int64_t>(depth, 0)) * 2, ' ')
            << s("seq") << "  " << s("kind") << "  " << s("at") << "  "
            << s("actor") << "  " << s("id").substr(0, 16);
  if (auto* subjects = p.find("subjects");
      subjects && subjects->is_array() && !subjects->as_array().empty()) {
    std::cout << "  [";
    bool first = true;
    for (auto& x : subjects->as_array()) {
      std::cout << (first ? "" : " ")
                << (x.is_string() ? x.as_string() : json::serialize(x));
      first = false;
    }
    std::cout << ']';
  }
  std::cout << "  " << s("payload") << '\n';
}

/// The depth of a walked packet (its member `depth`); 0 when missing.
int64_t depth_of(const json::value& p) {
  auto* d = p.find("depth");
  return d ? d->as_int64().value_or(0) : 0;
}

/// Prints what `lineage show` found, given as JSON (the API's answer, or
/// the same built from the database): the packet or the history, then the
/// ancestors or descendants.
void print_lineage(const json::value& doc) {
  if (auto* p = doc.find("packet"))
    print_packet(*p, 0);
  if (auto* h = doc.find("history"); h && h->is_array())
    for (auto& p : h->as_array())
      print_packet(p, 0);
  for (auto key : {"ancestors", "descendants"})
    if (auto* xs = doc.find(key); xs && xs->is_array()) {
      std::cout << key << ":\n";
      for (auto& p : xs->as_array())
        print_packet(p, depth_of(p));
    }
}

/// Reads a witness kept elsewhere (what `omniva lineage witness --json`
/// printed); prints why not.
std::optional<storage::chain_witness> read_outside_witness(const std::string& file) {
  auto doc = json::parse_file(file);
  if (!doc) {
    print_error("invalid_argument: --witness " + file + ": "
                + doc.error.message);
    return std::nullopt;
  }
  auto w = storage::witness_from_json(*doc.doc);
  if (!w) {
    print_error("--witness " + file + ": " + error_text(w.error()));
    return std::nullopt;
  }
  return std::move(*w);
}

int run_verify(const arguments& args) {
  po::options_description opts{"options"};
  std::string data = default_data, node, token, witness_file;
  opts.add_options()
    ("data", po::value(&data), "the node's data folder (default var/omniva)")
    ("node", po::value(&node), "ask a node's HTTP API instead (URL)")
    ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
    ("witness", po::value(&witness_file),
     "also compare the log with a witness kept elsewhere: a file holding "
     "what 'omniva lineage witness --json' printed (with --data only)")
    ("json", "print machine output");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva lineage verify [--data DIR | --node URL] [--witness FILE] "
        "[--json]",
        "Verifies the Stardust log of a data folder: recomputes every packet "
        "id, checks the hash chain, the sequence, every index entry, the "
        "chain head, every state row against the digest its last packet "
        "recorded, and the log against its chain witness (a log shorter than "
        "its witness lost packets). Reads one consistent view, so it works "
        "while a node writes the database. Exits 0 when the database is "
        "intact, 1 at the first break.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  if (!witness_file.empty() && !node.empty()) {
    print_error("--witness compares a data folder's log: give --data, not --node");
    return exit_usage;
  }
  storage::verify_options options;
  if (!witness_file.empty()) {
    options.outside_witness = read_outside_witness(witness_file);
    if (!options.outside_witness)
      return exit_failure;
  }
  if (!node.empty()) {
    auto client = node_client(node, token, data);
    auto r = client.request("GET", "/api/lineage/verify");
    auto doc = r.json();
    if (!r.ok())
      return report(r);
    if (!doc)
      return fail("the node's answer is not JSON");
    auto* ok = doc->find("ok");
    bool good = ok && ok->is_bool() && ok->as_bool();
    if (as_json)
      std::cout << json::serialize(*doc) << '\n';
    else if (good)
      std::cout << "ok: " << json::serialize(*doc->find("packets")) << " packets, head "
                << doc->find("head")->as_string() << '\n';
    else
      std::cout << "BROKEN: " << json::serialize(*doc) << '\n';
    return good ? exit_ok : exit_failure;
  }
  auto reader = open_for_reading(data, as_json);
  if (!reader)
    return exit_failure;
  auto report = storage::verify(*reader, options);
  if (as_json) {
    std::cout << json::serialize(storage::to_json(report)) << '\n';
  } else if (report.ok) {
    std::cout << "ok: " << report.packets << " packets, head "
              << (report.head.empty() ? "(empty log)" : report.head) << '\n'
              << "rows: " << report.rows << " checked";
    if (report.rows_unchecked > 0)
      std::cout << ", " << report.rows_unchecked
                << " older than row digests (not checkable)";
    std::cout << '\n' << "witness: ";
    if (report.witness)
      std::cout << report.witness->packets << " packets";
    else
      std::cout << "none";
    std::cout << '\n';
  } else {
    std::cout << "BROKEN at packet " << report.broken_seq << " ("
              << contracts::to_string(report.code) << "): " << report.reason
              << '\n';
  }
  return report.ok ? exit_ok : exit_failure;
}

int run_witness(const arguments& args) {
  po::options_description opts{"options"};
  std::string data = default_data, node, token;
  opts.add_options()
    ("data", po::value(&data), "the node's data folder (default var/omniva)")
    ("node", po::value(&node), "ask a node's HTTP API instead (URL)")
    ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
    ("json", "print machine output");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva lineage witness [--data DIR | --node URL] [--json]",
        "Prints the chain witness of a data folder: how many packets the log "
        "held, and the last one's id, when a write last reached the disk. "
        "Keep the --json output elsewhere (another machine, a ticket) and "
        "give it to 'omniva lineage verify --witness FILE' later: a log that "
        "no longer holds it lost packets. Exits 1 when there is no witness "
        "yet.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  auto show = [&](const json::value& w) {
    if (as_json) {
      std::cout << json::serialize(w) << '\n';
      return;
    }
    std::cout << "packets: " << json::serialize(*w.find("packets")) << '\n'
              << "head: " << w.find("head")->as_string() << '\n';
  };
  if (!node.empty()) {
    auto client = node_client(node, token, data);
    auto r = client.request("GET", "/api/lineage/witness");
    auto doc = r.json();
    if (!r.ok())
      return report(r);
    if (!doc || doc->find("packets") == nullptr || doc->find("head") == nullptr
        || !doc->find("head")->is_string())
      return fail("the node's answer is not a chain witness");
    show(*doc);
    return exit_ok;
  }
  auto w = storage::read_witness(storage::database_path(data));
  if (!w) {
    print_error(error_text(w.error()));
    return exit_failure;
  }
  if (!*w) {
    print_error("not_found: the database in " + data
                + " has no chain witness yet (no write has synced its log)");
    return exit_failure;
  }
  show(storage::to_json(**w));
  return exit_ok;
}

bool is_packet_id(std::string_view id) {
  return contracts::digest_from_hex(id).has_value();
}

int run_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string data = default_data, id, node, token;
  uint32_t depth = defaults::client::lineage_depth;
  opts.add_options()
    ("id", po::value(&id)->required(), "a packet id, task id or asset id")
    ("data", po::value(&data), "the node's data folder (default var/omniva)")
    ("node", po::value(&node), "ask a node's HTTP API instead (URL)")
    ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
    ("up", "also show ancestors (what it came from)")
    ("down", "also show descendants (what came of it)")
    ("depth", po::value(&depth), "how many levels --up/--down walk (default 10)")
    ("json", "print machine output");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva lineage show ID [--data DIR | --node URL] [--up | --down] "
        "[--depth N] [--json]",
        "Shows a packet, or the history of a task or asset (every packet "
        "that touched it, in order), and with --up or --down its ancestors "
        "or descendants.",
        opts, pos, args, vm))
    return *rc;
  bool up = vm.count("up") > 0;
  bool down = vm.count("down") > 0;
  if (up && down) {
    print_error("give --up or --down, not both");
    return exit_usage;
  }
  bool as_json = vm.count("json") > 0;
  if (!node.empty()) {
    auto client = node_client(node, token, data);
    std::string target = "/api/lineage/" + runtime::url_encode(id);
    if (up || down)
      target += std::string{"?direction="} + (up ? "up" : "down")
                + "&depth=" + std::to_string(depth);
    auto r = client.request("GET", target);
    auto doc = r.json();
    if (!r.ok())
      return report(r);
    if (!doc)
      return fail("the node's answer is not JSON");
    if (as_json)
      std::cout << json::serialize(*doc) << '\n';
    else
      print_lineage(*doc);
    return exit_ok;
  }
  auto reader = open_for_reading(data, as_json);
  if (!reader)
    return exit_failure;
  std::vector<contracts::packet> start;
  if (is_packet_id(id)) {
    auto p = reader->packet_by_id(id);
    if (!p) {
      print_error(error_text(p.error()));
      return exit_failure;
    }
    start.push_back(std::move(*p));
  } else {
    auto history = reader->history(id);
    if (!history) {
      print_error(error_text(history.error()));
      return exit_failure;
    }
    if (history->empty()) {
      print_error("not_found: nothing in the lineage log names '" + id + "'");
      return exit_failure;
    }
    start = std::move(*history);
  }
  std::vector<storage::lineage_entry> walked;
  if (up || down) {
    std::set<std::string> seen;
    for (auto& p : start)
      seen.insert(p.id);
    for (auto& p : start) {
      auto more = up ? reader->ancestors(p.id, depth)
                     : reader->descendants(p.id, depth);
      if (!more) {
        print_error(error_text(more.error()));
        return exit_failure;
      }
      for (auto& e : *more)
        if (seen.insert(e.packet.id).second)
          walked.push_back(std::move(e));
    }
  }
  // The same document the API answers, printed the same way.
  json::value out{json::object{}};
  out.set("id", id);
  json::array packets;
  for (auto& p : start)
    packets.push_back(contracts::to_json(p));
  out.set(is_packet_id(id) ? "packet" : "history",
          is_packet_id(id) ? packets.front() : json::value{std::move(packets)});
  if (up || down) {
    json::array xs;
    for (auto& e : walked) {
      auto v = contracts::to_json(e.packet);
      v.set("depth", static_cast<int64_t>(e.depth));
      xs.push_back(std::move(v));
    }
    out.set(up ? "ancestors" : "descendants", std::move(xs));
  }
  if (as_json)
    std::cout << json::serialize(out) << '\n';
  else
    print_lineage(out);
  return exit_ok;
}

} // namespace

int run_lineage(const arguments& args) {
  static const std::vector<verb> verbs{
    {"verify", "verify the hash chain, indexes, rows and witness of a Stardust log", run_verify},
    {"show", "show a packet, or the history of a task or asset", run_show},
    {"witness", "print the chain witness, to keep it elsewhere", run_witness},
  };
  return dispatch("lineage", "Stardust, the append-only lineage log.", verbs,
                  args);
}

} // namespace omniva::cli
