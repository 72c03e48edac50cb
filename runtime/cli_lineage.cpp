// `omniva lineage ...`: verify a Stardust log and show lineage, reading the
// database directly (also while a node has it open for writing); export
// packets as NDJSON and verify such an export offline
// (contracts/lineage_export.hpp).

#include "contracts/defaults.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/lineage_export.hpp"
#include "runtime/cli.hpp"
#include "runtime/cli_client.hpp"
#include "storage/database.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>

#include <fcntl.h>
#include <unistd.h>

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

/// `omniva lineage verify --file FILE`: checks an export offline (no node,
/// no database): every line's id against its content, and the chain.
int verify_export_file(const std::string& file, bool as_json) {
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return fail("io_error: cannot read " + file + ": " + std::strerror(errno));
  contracts::export_checker checker;
  std::optional<contracts::export_problem> problem;
  std::string line;
  while (!problem && std::getline(in, line))
    problem = checker.add(line);
  if (!problem && in.bad())
    return fail("io_error: cannot read " + file + ": " + std::strerror(errno));
  json::value out{json::object{}};
  out.set("ok", !problem);
  out.set("file", file);
  if (problem) {
    out.set("packets", static_cast<int64_t>(checker.lines() - 1));
    out.set("line", static_cast<int64_t>(problem->line));
    out.set("seq", static_cast<int64_t>(problem->seq));
    out.set("code", std::string{contracts::to_string(problem->code)});
    out.set("reason", problem->reason);
  } else {
    out.set("packets", static_cast<int64_t>(checker.lines()));
    out.set("first_seq", static_cast<int64_t>(checker.first_seq()));
    out.set("last_seq", static_cast<int64_t>(checker.last_seq()));
    out.set("first_prev", checker.first_prev());
    out.set("last_id", checker.last_id());
  }
  if (as_json) {
    std::cout << json::serialize(out) << '\n';
  } else if (problem) {
    std::cout << "BROKEN at line " << problem->line << " ("
              << contracts::to_string(problem->code) << "): " << problem->reason
              << '\n';
  } else if (checker.lines() == 0) {
    std::cout << "ok: 0 packets (an empty export)\n";
  } else {
    std::cout << "ok: " << checker.lines() << " packets, seq "
              << checker.first_seq() << " to " << checker.last_seq()
              << ", every id matches its packet and the chain is whole\n"
              << "first prev: "
              << (checker.first_prev().empty() ? "(none: the log's start)"
                                               : checker.first_prev())
              << '\n'
              << "last id: " << checker.last_id() << '\n';
  }
  return problem ? exit_failure : exit_ok;
}

int run_verify(const arguments& args) {
  po::options_description opts{"options"};
  std::string data = default_data, node, token, witness_file, export_file;
  opts.add_options()
    ("data", po::value(&data), "the node's data folder (default var/omniva)")
    ("node", po::value(&node), "ask a node's HTTP API instead (URL)")
    ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
    ("witness", po::value(&witness_file),
     "also compare the log with a witness kept elsewhere: a file holding "
     "what 'omniva lineage witness --json' printed (with --data only)")
    ("file", po::value(&export_file),
     "check an export instead ('omniva lineage export' wrote it), offline: "
     "no node, no database")
    ("json", "print machine output");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva lineage verify [--data DIR | --node URL | --file EXPORT] "
        "[--witness FILE] [--json]",
        "Verifies the Stardust log of a data folder: recomputes every packet "
        "id, checks the hash chain, the sequence, every index entry, the "
        "chain head, every state row against the digest its last packet "
        "recorded, and the log against its chain witness (a log shorter than "
        "its witness lost packets). Reads one consistent view, so it works "
        "while a node writes the database. With --file, checks a lineage "
        "export offline instead: recomputes every line's id from its "
        "content and checks the seq and prev chain, naming the first bad "
        "line. Exits 0 when the database (or export) is intact, 1 at the "
        "first break.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  if (!export_file.empty()) {
    if (!node.empty() || vm.count("data") || !witness_file.empty()) {
      print_error("--file checks an export on its own: give no --data, "
                  "--node or --witness with it");
      return exit_usage;
    }
    return verify_export_file(export_file, as_json);
  }
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


/// Where an export goes: `<file>.tmp` first, renamed to `file` once whole
/// and on the disk, so `file` is either a whole export or as it was.
class export_target {
public:
  explicit export_target(std::string file)
    : file_(std::move(file)), tmp_(file_ + ".tmp") {
  }

  ~export_target() {
    abandon();
  }

  /// Creates the temporary file; false with `why` set when it cannot.
  bool open(std::string& why) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      why = "cannot create " + tmp_ + ": " + std::strerror(errno);
      return false;
    }
    return true;
  }

  /// Appends `bytes`; false with `why` set when the write fails (a full
  /// disk: ENOSPC).
  bool write(std::string_view bytes, std::string& why) {
    while (!bytes.empty()) {
      auto n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        why = "cannot write " + tmp_ + ": " + std::strerror(errno);
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// Syncs, closes and renames the file into place; false with `why` set.
  bool commit(std::string& why) {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      why = "cannot write " + tmp_ + ": " + std::strerror(errno);
      return false;
    }
    fd_ = -1;
    if (std::rename(tmp_.c_str(), file_.c_str()) != 0) {
      why = "cannot rename " + tmp_ + " to " + file_ + ": "
            + std::strerror(errno);
      return false;
    }
    committed_ = true;
    // The rename itself reaches the disk with the folder's entry.
    auto dir = std::filesystem::path{file_}.parent_path();
    auto dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return true;
  }

  /// Removes the temporary file unless committed.
  void abandon() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
    if (!committed_)
      ::unlink(tmp_.c_str());
    committed_ = true;
  }

private:
  std::string file_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Counts the lines of an export as they pass and remembers the first and
/// the last, for the summary; spots the error line a node ends a failed
/// export with.
class export_tally {
public:
  /// Takes the next bytes (lines may be split anywhere).
  void add(std::string_view bytes) {
    while (!bytes.empty()) {
      auto nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(bytes);
        return;
      }
      partial_.append(bytes.substr(0, nl));
      line(partial_);
      partial_.clear();
      bytes.remove_prefix(nl + 1);
    }
  }

  /// Why the export is not whole: the node's error line, or a last line
  /// without its line break; "" when it is whole.
  std::string problem() const {
    if (!error_.empty())
      return error_;
    if (!partial_.empty())
      return "the export ended in the middle of a line";
    return {};
  }

  /// The lines (packets) seen.
  uint64_t packets = 0;
  /// The seq of the first and the last packet, the id of the last.
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string last_id;

private:
  void line(const std::string& text) {
    if (!error_.empty())
      return;
    auto doc = json::parse(text);
    if (doc && doc.doc->is_object())
      if (auto* e = doc.doc->find("error"); e && e->is_object()) {
        auto code = field(*e, "code");
        error_ = (code.empty() ? std::string{} : code + ": ")
                 + field(*e, "message");
        return;
      }
    auto* seq = doc && doc.doc->is_object() ? doc.doc->find("seq") : nullptr;
    auto* id = doc && doc.doc->is_object() ? doc.doc->find("id") : nullptr;
    if (seq == nullptr || !seq->as_int64() || id == nullptr || !id->is_string()) {
      error_ = "line " + std::to_string(packets + 1)
               + " of the answer is not a packet";
      return;
    }
    ++packets;
    last_seq = static_cast<uint64_t>(*seq->as_int64());
    if (packets == 1)
      first_seq = last_seq;
    last_id = id->as_string();
  }

  std::string partial_;
  std::string error_;
};

int run_export(const arguments& args) {
  po::options_description opts{"options"};
  std::string data = default_data, node, token, to, since_text;
  opts.add_options()
    ("to", po::value(&to)->required(), "the file to write (replaced whole, or not at all)")
    ("since", po::value(&since_text), "the seq of the first packet (default 1: the whole log)")
    ("data", po::value(&data), "the node's data folder (default var/omniva)")
    ("node", po::value(&node), "ask a node's HTTP API instead (URL)")
    ("token", po::value(&token), "the API token (default $OMNIVA_TOKEN or <data>/token)")
    ("json", "print machine output");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_options(
        "omniva lineage export --to FILE [--since SEQ] [--data DIR | --node "
        "URL] [--json]",
        "Writes the Stardust packets from seq SEQ to the end of the log as "
        "NDJSON, one packet a line: its canonical form with its id, so that "
        "'omniva lineage verify --file FILE' (or any SHA-256 tool) checks "
        "it offline. Writes FILE.tmp, then renames it to FILE. Prints how "
        "many packets it wrote and the last seq.",
        opts, pos, args, vm))
    return *rc;
  bool as_json = vm.count("json") > 0;
  uint64_t since = 1;
  if (!since_text.empty()) {
    auto [ptr, err] = std::from_chars(
      since_text.data(), since_text.data() + since_text.size(), since);
    if (err != std::errc{} || ptr != since_text.data() + since_text.size()
        || since == 0) {
      print_error("--since must be the seq of a packet (a positive integer), "
                  "not '" + since_text + "'");
      return exit_usage;
    }
  }
  export_target target{to};
  std::string why;
  if (!target.open(why))
    return fail("io_error: " + why);
  export_tally tally;
  if (!node.empty()) {
    auto client = node_client(node, token, data);
    bool write_failed = false;
    auto r = client.stream(
      "GET", "/api/lineage/export?since=" + std::to_string(since),
      [&](std::string_view piece) {
        tally.add(piece);
        if (!target.write(piece, why)) {
          write_failed = true;
          return false;
        }
        return true;
      },
      defaults::http::client_timeout);
    if (write_failed)
      return fail("io_error: " + why);
    if (!r.ok())
      return report(r);
  } else {
    auto reader = open_for_reading(data, as_json);
    if (!reader)
      return exit_failure;
    auto count = reader->packet_count();
    if (!count)
      return fail(error_text(count.error()));
    std::string chunk;
    bool write_failed = false;
    auto err = reader->for_each(
      since, [&](uint64_t seq, std::string_view id, std::string_view canonical) {
        if (seq > *count)
          return false;
        auto line = contracts::export_line(
          contracts::to_hex(std::span<const uint8_t>{
            reinterpret_cast<const uint8_t*>(id.data()), id.size()}),
          canonical);
        if (!line) {
          tally.add("{\"error\":{\"code\":\"corruption\",\"message\":"
                    "\"packet " + std::to_string(seq)
                    + " is not in canonical form\"}}\n");
          return false;
        }
        *line += '\n';
        tally.add(*line);
        chunk += *line;
        if (chunk.size() >= (size_t{256} << 10)) {
          if (!target.write(chunk, why)) {
            write_failed = true;
            return false;
          }
          chunk.clear();
        }
        return true;
      });
    if (err)
      return fail(error_text(err));
    if (write_failed || (tally.problem().empty() && !target.write(chunk, why)))
      return fail("io_error: " + why);
  }
  if (auto problem = tally.problem(); !problem.empty())
    return fail("the export is incomplete (" + to + " left as it was): "
                + problem);
  if (!target.commit(why))
    return fail("io_error: " + why);
  if (as_json) {
    json::value out{json::object{}};
    out.set("file", to);
    out.set("packets", static_cast<int64_t>(tally.packets));
    out.set("first_seq", static_cast<int64_t>(tally.first_seq));
    out.set("last_seq", static_cast<int64_t>(tally.last_seq));
    out.set("last_id", tally.last_id);
    std::cout << json::serialize(out) << '\n';
  } else if (tally.packets == 0) {
    std::cout << "exported 0 packets to " << to << " (the log holds none from seq "
              << since << " on)\n";
  } else {
    std::cout << "exported " << tally.packets << " packets (seq "
              << tally.first_seq << " to " << tally.last_seq << ") to " << to
              << "\nlast seq: " << tally.last_seq << "\nlast id: "
              << tally.last_id << '\n';
  }
  return exit_ok;
}

} // namespace

int run_lineage(const arguments& args) {
  static const std::vector<verb> verbs{
    {"verify", "verify the hash chain, indexes, rows and witness of a Stardust log", run_verify},
    {"show", "show a packet, or the history of a task or asset", run_show},
    {"witness", "print the chain witness, to keep it elsewhere", run_witness},
    {"export", "write packets as NDJSON, verifiable offline", run_export},
  };
  return dispatch("lineage", "Stardust, the append-only lineage log.", verbs,
                  args);
}

} // namespace omniva::cli
