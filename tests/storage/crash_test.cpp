#define BOOST_TEST_MODULE crash
#include <boost/test/unit_test.hpp>

// Crash safety of the committer, and verify against damaged databases.
//
// The crash rounds run crash_writer (crash_writer.cpp) as a child process,
// read the commits it acknowledges through a pipe and SIGKILL it at a random
// moment; then they reopen the database and check that every acknowledged
// commit is there, that every batch in the log is whole (all its packets and
// all its rows, never a part), and that verify passes. The delays come from a
// seeded RNG whose seed is printed (set OMNIVA_CRASH_SEED to replay it).
//
// The tamper cases damage a database behind the storage layer's back, with
// the raw RocksDB API (there is no public way to write raw bytes, by design),
// and check that verify notices.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "storage/database.hpp"
#include "storage/testing/committer_door.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#ifndef OMNIVA_CRASH_WRITER
#  error "OMNIVA_CRASH_WRITER must name the crash_writer program"
#endif

using namespace omniva;
using namespace std::chrono_literals;
using contracts::ec;

namespace {

namespace fs = std::filesystem;

// -- the writer's rules, restated (see crash_writer.cpp) -------------------------

uint64_t packets_in_batch(uint64_t n) {
  return 1 + (n * 0x9E3779B97F4A7C15ULL >> 61);
}

std::string trace_of(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

std::string row_key(uint64_t n, uint64_t k) {
  return "row-" + std::to_string(n) + "-" + std::to_string(k);
}

std::string row_value(uint64_t n, uint64_t k) {
  return std::to_string(n) + ":" + std::to_string(k) + ":" + std::to_string(k);
}

// -- helpers -----------------------------------------------------------------------

std::string text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// The error of `x`, rendered; "" when `x` holds a value. (Boost.Test builds
/// a check's message even when the check passes.)
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : text(x.error());
}

/// A fresh folder under the temporary directory, removed on destruction.
struct temp_dir {
  fs::path path;

  temp_dir() {
    auto pattern = (fs::temp_directory_path() / "omniva-crash-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }

  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }

  std::string db() const {
    return (path / "db").string();
  }
};

/// A commit the writer acknowledged: batch `n` is packets [first, last].
struct ack {
  uint64_t n = 0;
  uint64_t first = 0;
  uint64_t last = 0;
};

/// What one run of the writer produced.
struct writer_run {
  std::vector<ack> acks;
  /// The wait status of the child.
  int status = 0;
};

/// Parses the complete lines at the front of `buffer` into `out`, leaving a
/// partial last line in `buffer`.
void take_acks(std::string& buffer, std::vector<ack>& out) {
  size_t pos;
  while ((pos = buffer.find('\n')) != std::string::npos) {
    std::istringstream line{buffer.substr(0, pos)};
    buffer.erase(0, pos + 1);
    ack a;
    std::string rest;
    line >> a.n >> a.first >> a.last;
    BOOST_REQUIRE_MESSAGE(line && !(line >> rest),
                          "malformed acknowledgement: '" << line.str() << "'");
    out.push_back(a);
  }
}

/// Kills and reaps a child that is still running when a check fails.
struct child_guard {
  pid_t pid = -1;
  bool reaped = false;

  ~child_guard() {
    if (pid > 0 && !reaped) {
      ::kill(pid, SIGKILL);
      int ignored;
      ::waitpid(pid, &ignored, 0);
    }
  }
};

/// Runs crash_writer on `db` from batch `start` and SIGKILLs it `delay` after
/// it starts or, with `after_first_ack`, after its first acknowledgement.
writer_run run_writer(const std::string& db, uint64_t start,
                      std::chrono::milliseconds delay, bool after_first_ack) {
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  std::string program = OMNIVA_CRASH_WRITER;
  std::string dir = db;
  std::string start_arg = std::to_string(start);
  std::vector<char*> argv{program.data(), dir.data(), start_arg.data(), nullptr};
  auto pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec. It dies with us.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(fds[1], STDOUT_FILENO); // the duplicate does not close on exec
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  child_guard guard{pid};
  ::close(fds[1]);
  writer_run run;
  std::string buffer;
  char chunk[4096];
  auto clock = std::chrono::steady_clock::now;
  // Without an acknowledgement in this time, something is wrong.
  auto deadline = clock() + (after_first_ack ? 30000ms : delay);
  bool eof = false;
  while (!eof && clock() < deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock());
    pollfd p{fds[0], POLLIN, 0};
    auto ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    BOOST_REQUIRE(ready >= 0);
    if (ready == 0)
      continue;
    auto got = ::read(fds[0], chunk, sizeof chunk);
    if (got < 0 && errno == EINTR)
      continue;
    BOOST_REQUIRE(got >= 0);
    if (got == 0) {
      eof = true; // the writer ended by itself
      break;
    }
    auto had = run.acks.size();
    buffer.append(chunk, static_cast<size_t>(got));
    take_acks(buffer, run.acks);
    if (after_first_ack && had == 0 && !run.acks.empty())
      deadline = clock() + delay;
  }
  ::kill(pid, SIGKILL);
  // Whatever it acknowledged before dying is still in the pipe.
  while (!eof) {
    auto got = ::read(fds[0], chunk, sizeof chunk);
    if (got < 0 && errno == EINTR)
      continue;
    BOOST_REQUIRE(got >= 0);
    eof = got == 0;
    buffer.append(chunk, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  take_acks(buffer, run.acks);
  BOOST_CHECK_MESSAGE(buffer.empty(),
                      "a partial acknowledgement line: '" << buffer << "'");
  while (::waitpid(pid, &run.status, 0) < 0)
    BOOST_REQUIRE(errno == EINTR);
  guard.reaped = true;
  return run;
}

/// What a check of the log found.
struct log_state {
  /// The highest batch number in the log (0: none).
  uint64_t last_batch = 0;
  /// The sequence number of the next packet.
  uint64_t next_seq = 1;
};

/// Reopens the database and checks it against `acks`: every acknowledged
/// batch is there at its sequence numbers; the log is batches 1, 2, ..., each
/// whole, in order; every packet has its row and every row its packet; the
/// indexes agree; verify passes.
log_state check_database(const std::string& path, const std::vector<ack>& acks) {
  auto db = storage::testing::committer_door::open(path);
  BOOST_REQUIRE_MESSAGE(db, "reopening after the crash: "
                              << why(db));
  auto& r = *db->read;
  log_state state;
  state.next_seq = db->write.next_seq();
  auto packets = state.next_seq - 1;
  // The counters and the whole log.
  auto count = r.packet_count();
  BOOST_REQUIRE_MESSAGE(count, why(count));
  BOOST_CHECK_EQUAL(*count, packets);
  auto report = storage::verify(r);
  BOOST_REQUIRE_MESSAGE(report.ok, "verify: " << report.reason << " (seq "
                                               << report.broken_seq << ")");
  BOOST_CHECK_EQUAL(report.packets, packets);
  BOOST_CHECK_EQUAL(report.head, db->write.head());
  auto log = r.packets(1, packets);
  BOOST_REQUIRE_MESSAGE(log, why(log));
  BOOST_REQUIRE_EQUAL(log->size(), packets);
  // The log, packet by packet: batch n is packets k = 0 .. count(n) - 1.
  auto rows = r.scan(storage::table::tasks, "");
  BOOST_REQUIRE_MESSAGE(rows, why(rows));
  std::map<std::string, std::string> row_of{rows->begin(), rows->end()};
  std::vector<uint64_t> first_seq_of{0}; // index: batch number
  std::vector<std::string> ids;          // of the current batch
  std::string earlier;                   // the packet before the batch
  uint64_t n = 0;
  uint64_t k = 0;
  for (auto& p : *log) {
    auto payload = json::parse(p.payload);
    BOOST_REQUIRE_MESSAGE(payload && payload.doc->is_object(), p.payload);
    auto* batch_member = payload.doc->find("batch");
    auto* k_member = payload.doc->find("k");
    BOOST_REQUIRE(batch_member && batch_member->as_int64());
    BOOST_REQUIRE(k_member && k_member->as_int64());
    auto pn = static_cast<uint64_t>(*batch_member->as_int64());
    auto pk = static_cast<uint64_t>(*k_member->as_int64());
    if (pk == 0) {
      // A new batch starts only when the one before it is whole.
      BOOST_REQUIRE_MESSAGE(n == 0 || k == packets_in_batch(n),
                            "batch " << n << " is half-applied: " << k << " of "
                                     << packets_in_batch(n) << " packets");
      BOOST_REQUIRE_MESSAGE(pn == n + 1, "batch " << pn << " at seq " << p.seq
                                                  << " follows batch " << n);
      n = pn;
      k = 0;
      first_seq_of.push_back(p.seq);
      ids.clear();
      earlier = p.prev;
    }
    BOOST_REQUIRE_MESSAGE(pn == n && pk == k, "seq " << p.seq << " is packet "
                                                     << pk << " of batch " << pn
                                                     << ", expected packet " << k
                                                     << " of batch " << n);
    BOOST_CHECK_EQUAL(p.kind, "test.batch");
    BOOST_CHECK_EQUAL(p.actor, "crash_writer");
    BOOST_CHECK_EQUAL(p.trace_id, trace_of(n));
    BOOST_CHECK(std::find(p.subjects.begin(), p.subjects.end(), row_key(n, k))
                != p.subjects.end());
    std::vector<std::string> parents;
    if ((k == 0 || k == 4) && !earlier.empty())
      parents.push_back(earlier);
    if (k % 2 == 1)
      parents.push_back(ids[k - 1]);
    else if (k % 4 == 2)
      parents.push_back(ids[0]);
    BOOST_CHECK_MESSAGE(p.meta_parents == parents,
                        "the parents of packet " << k << " of batch " << n);
    // Its row, justified by it.
    auto row = row_of.find(row_key(n, k));
    BOOST_REQUIRE_MESSAGE(row != row_of.end(), "packet " << k << " of batch "
                                                         << n << " (seq "
                                                         << p.seq
                                                         << ") has no row");
    BOOST_CHECK_EQUAL(row->second, row_value(n, k));
    ids.push_back(p.id);
    ++k;
  }
  BOOST_REQUIRE_MESSAGE(n == 0 || k == packets_in_batch(n),
                        "the last batch, " << n << ", is half-applied: " << k
                                           << " of " << packets_in_batch(n)
                                           << " packets");
  state.last_batch = n;
  // No row without its packet: one row per packet, and each was found above.
  BOOST_CHECK_EQUAL(row_of.size(), packets);
  // The trace index finds each batch whole.
  for (uint64_t b = 1; b <= state.last_batch; ++b) {
    auto trace = r.by_trace(trace_of(b));
    BOOST_REQUIRE_MESSAGE(trace, why(trace));
    BOOST_REQUIRE_EQUAL(trace->size(), packets_in_batch(b));
    BOOST_CHECK_EQUAL(trace->front().seq, first_seq_of[b]);
  }
  // Every acknowledged commit, where its receipt said.
  for (auto& a : acks) {
    BOOST_REQUIRE_MESSAGE(a.n <= state.last_batch,
                          "acknowledged batch " << a.n << " is lost (the log "
                                                << "ends with batch "
                                                << state.last_batch << ")");
    BOOST_CHECK_EQUAL(first_seq_of[a.n], a.first);
    BOOST_CHECK_EQUAL(a.last, a.first + packets_in_batch(a.n) - 1);
  }
  return state;
}

// -- raw RocksDB access, for tampering ---------------------------------------------

/// The database opened with the RocksDB API itself, every column family.
struct raw_db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;

  explicit raw_db(const std::string& path) {
    rocksdb::Options options;
    auto s = rocksdb::DB::ListColumnFamilies(options, path, &names);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (auto& name : names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions{});
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(options, path, families, &handles, &raw);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
    db.reset(raw);
  }

  ~raw_db() {
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h);
    db->Close();
  }

  rocksdb::ColumnFamilyHandle* operator[](std::string_view name) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name)
        return handles[i];
    BOOST_FAIL("no column family " << name);
    return nullptr;
  }
};

/// The stored key of packet `seq`: 8 bytes, big-endian.
std::string seq_key(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8)
    key[static_cast<size_t>(i)] = static_cast<char>(seq & 0xFF);
  return key;
}

/// Commits `batches` batches of two packets (and their rows) to a new
/// database at `path`; a payload carries `pad` bytes of noise.
void fill_database(const std::string& path, uint64_t batches, size_t pad = 0) {
  // Durability does not matter here: nothing crashes.
  auto db = storage::testing::committer_door::open(path, {.sync = false});
  BOOST_REQUIRE_MESSAGE(db, why(db));
  std::minstd_rand noise{42};
  for (uint64_t n = 1; n <= batches; ++n) {
    storage::commit_batch batch;
    for (uint64_t k = 0; k < 2; ++k) {
      contracts::packet p;
      p.kind = "test.tamper";
      p.actor = "crash_test";
      p.trace_id = trace_of(n);
      p.subjects = {row_key(n, k)};
      p.at = "2026-11-21T05:30:27.077Z";
      std::string padding;
      for (size_t i = 0; i < pad; ++i)
        padding += static_cast<char>('a' + noise() % 26);
      p.payload = "{\"batch\":" + std::to_string(n) + ",\"k\":"
                  + std::to_string(k) + ",\"pad\":\"" + padding + "\"}";
      auto index = batch.add(std::move(p), k == 0 ? std::vector<size_t>{}
                                                  : std::vector<size_t>{0});
      batch.put(storage::table::tasks, row_key(n, k), row_value(n, k), index);
    }
    auto receipt = db->write.commit(batch);
    BOOST_REQUIRE_MESSAGE(receipt, why(receipt));
  }
  auto report = storage::verify(*db->read);
  BOOST_REQUIRE_MESSAGE(report.ok, "before tampering: " << report.reason);
  BOOST_REQUIRE_EQUAL(report.packets, 2 * batches);
}

storage::verify_report verify_database(const std::string& path) {
  auto db = storage::testing::committer_door::open(path);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  return storage::verify(*db->read);
}

/// Verifies through a reader, as `omniva lineage verify --data` does (a
/// node's open refuses a database that lost packets).
storage::verify_report verify_by_reader(const std::string& path) {
  auto r = storage::open_reader(path);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  return storage::verify(**r);
}

/// The files of `dir` whose names match `pred`.
template <class Pred>
std::vector<fs::path> files(const std::string& dir, Pred pred) {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator{dir})
    if (pred(e.path().filename().string()))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

/// The write-ahead logs of a database (`<number>.log`).
std::vector<fs::path> wal_files(const std::string& dir) {
  return files(dir, [](const std::string& name) {
    return name.size() > 4 && name.substr(name.size() - 4) == ".log";
  });
}

bool is(const caf::error& err, ec code) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(code);
}

uint64_t seed() {
  if (auto* given = std::getenv("OMNIVA_CRASH_SEED"))
    return std::stoull(given);
  return std::random_device{}();
}

} // namespace

BOOST_AUTO_TEST_SUITE(sigkill)

BOOST_AUTO_TEST_CASE(acknowledged_commits_survive_and_no_batch_is_half_applied) {
  constexpr int rounds = 10;
  auto s = seed();
  // Printed always, so a failure in a CI log can be replayed.
  std::cerr << "crash test: seed " << s
            << " (OMNIVA_CRASH_SEED=" << s << " replays the delays)\n";
  BOOST_TEST_CONTEXT("seed " << s) {
    std::mt19937_64 rng{s};
    std::uniform_int_distribution<int> delay_ms{5, 200};
    temp_dir dir;
    std::vector<ack> acks;
    log_state state;
    for (int round = 1; round <= rounds; ++round) {
      auto delay = std::chrono::milliseconds{delay_ms(rng)};
      // Odd rounds count the delay from the child's start, so some kills hit
      // the open (and recovery) of the database; even ones from its first
      // commit, so every one of those rounds kills a stream of commits.
      bool after_first_ack = round % 2 == 0;
      BOOST_TEST_CONTEXT("round " << round << ", kill " << delay.count()
                                  << " ms after the "
                                  << (after_first_ack ? "first commit"
                                                      : "start")) {
        // Numbering continues after the last batch in the log, which may be
        // one the killed writer committed but did not acknowledge.
        auto start = state.last_batch + 1;
        auto run = run_writer(dir.db(), start, delay, after_first_ack);
        BOOST_REQUIRE_MESSAGE(WIFSIGNALED(run.status)
                                && WTERMSIG(run.status) == SIGKILL,
                              "the writer ended by itself (wait status "
                                << run.status << ")");
        if (after_first_ack)
          BOOST_REQUIRE(!run.acks.empty());
        // The acknowledgements of one run: consecutive batches and packets,
        // from where the log ended.
        auto expected_n = start;
        auto expected_first = state.next_seq;
        for (auto& a : run.acks) {
          BOOST_REQUIRE_EQUAL(a.n, expected_n);
          BOOST_REQUIRE_EQUAL(a.first, expected_first);
          BOOST_REQUIRE_EQUAL(a.last, a.first + packets_in_batch(a.n) - 1);
          expected_n = a.n + 1;
          expected_first = a.last + 1;
        }
        acks.insert(acks.end(), run.acks.begin(), run.acks.end());
        auto before = state;
        state = check_database(dir.db(), acks);
        // The log only grows, and holds at least what was acknowledged.
        BOOST_CHECK_GE(state.last_batch, before.last_batch);
        BOOST_CHECK_GE(state.last_batch, expected_n - 1);
      }
    }
    BOOST_TEST_MESSAGE(acks.size() << " commits acknowledged, "
                                   << state.last_batch << " batches and "
                                   << state.next_seq - 1 << " packets in the log");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tampering)

BOOST_AUTO_TEST_CASE(verify_reports_a_packet_whose_bytes_were_altered) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  constexpr uint64_t victim = 6; // packet 0 of batch 3
  {
    raw_db raw{dir.db()};
    std::string value;
    auto s = raw.db->Get({}, raw["stardust"], seq_key(victim), &value);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
    // 32 id bytes, then the canonical JSON; change the batch number's digit.
    auto at = value.find("\"batch\":3,", 32);
    BOOST_REQUIRE(at != std::string::npos);
    value[at + std::string_view{"\"batch\":"}.size()] = '4';
    s = raw.db->Put({}, raw["stardust"], seq_key(victim), value);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.broken_seq, victim);
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(verify_reports_a_missing_trace_index_entry) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  constexpr uint64_t victim = 7; // packet 1 of batch 4
  {
    raw_db raw{dir.db()};
    auto key = trace_of(4) + '\0' + seq_key(victim);
    std::string ignored;
    auto s = raw.db->Get({}, raw["stardust_trace"], key, &ignored);
    BOOST_REQUIRE_MESSAGE(s.ok(), "the entry to delete: " << s.ToString());
    s = raw.db->Delete({}, raw["stardust_trace"], key);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.broken_seq, victim);
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(verify_reports_a_damaged_table_file_without_crashing) {
  temp_dir dir;
  fill_database(dir.db(), 500, 400);
  {
    // Into table files: the log must not be left in the memtable and WAL.
    raw_db raw{dir.db()};
    rocksdb::FlushOptions wait;
    wait.wait = true;
    auto s = raw.db->Flush(wait, raw.handles);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  // The largest table file holds the packets; damage its middle (data
  // blocks; the index and footer are at the end).
  fs::path largest;
  uintmax_t largest_size = 0;
  for (auto& entry : fs::directory_iterator{dir.db()})
    if (entry.path().extension() == ".sst" && entry.file_size() > largest_size) {
      largest = entry.path();
      largest_size = entry.file_size();
    }
  BOOST_REQUIRE_MESSAGE(largest_size > 64 * 1024,
                        "no large table file (" << largest_size << " bytes)");
  {
    std::fstream file{largest, std::ios::in | std::ios::out | std::ios::binary};
    BOOST_REQUIRE(file);
    auto middle = static_cast<std::streamoff>(largest_size / 2);
    std::string bytes(64, '\0');
    file.seekg(middle);
    file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    for (auto& c : bytes)
      c = static_cast<char>(~c);
    file.seekp(middle);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    BOOST_REQUIRE(file);
  }
  auto db = storage::testing::committer_door::open(dir.db());
  if (!db) {
    // Refusing to open a damaged database is a detection too.
    auto code = static_cast<ec>(db.error().code());
    BOOST_CHECK_MESSAGE(code == ec::corruption || code == ec::storage_error,
                        why(db));
    return;
  }
  auto report = storage::verify(*db->read);
  BOOST_CHECK(!report.ok);
  BOOST_CHECK_MESSAGE(report.code == ec::corruption
                        || report.code == ec::storage_error,
                      "code " << contracts::to_string(report.code));
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rows)

BOOST_AUTO_TEST_CASE(verify_reports_a_row_whose_bytes_were_changed) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  {
    raw_db raw{dir.db()};
    auto s = raw.db->Put({}, raw["tasks"], row_key(3, 1), "3:1:9");
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.row, "tasks/" + row_key(3, 1));
  BOOST_CHECK_NE(report.reason.find(row_key(3, 1)), std::string::npos);
  BOOST_CHECK_EQUAL(storage::to_json(report).find("row")->as_string(),
                    "tasks/" + row_key(3, 1));
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(verify_reports_a_row_put_back_to_an_older_value) {
  temp_dir dir;
  {
    auto db = storage::testing::committer_door::open(dir.db());
    BOOST_REQUIRE_MESSAGE(db, why(db));
    for (auto value : {"first", "second"}) {
      storage::commit_batch b;
      contracts::packet p;
      p.kind = "test.row";
      p.actor = "crash_test";
      p.trace_id = trace_of(1);
      p.subjects = {"task-1"};
      p.at = "2026-11-21T05:30:27.077Z";
      auto i = b.add(std::move(p));
      b.put(storage::table::tasks, "task-1", value, i);
      BOOST_REQUIRE(db->write.commit(b));
    }
  }
  {
    raw_db raw{dir.db()};
    auto s = raw.db->Put({}, raw["tasks"], "task-1", "first");
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK_EQUAL(report.row, "tasks/task-1");
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(verify_reports_a_deleted_row) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  {
    raw_db raw{dir.db()};
    auto s = raw.db->Delete({}, raw["tasks"], row_key(2, 0));
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.row, "tasks/" + row_key(2, 0));
  BOOST_CHECK_NE(report.reason.find("missing"), std::string::npos);
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(verify_reports_a_row_no_packet_justifies) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  {
    raw_db raw{dir.db()};
    auto s = raw.db->Put({}, raw["assets"], "asset-from-nowhere", "{}");
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.row, "assets/asset-from-nowhere");
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(rows_of_a_database_made_before_row_digests_are_counted_unchecked) {
  temp_dir dir;
  fill_database(dir.db(), 3);
  {
    // As a database made before packets recorded rows: no marker, no
    // `_rows` in any packet (the packets are rewritten without it, with
    // their ids, the chain, the id index and the head made anew).
    raw_db raw{dir.db()};
    auto s = raw.db->Delete({}, raw["meta"], "rows_recorded_from");
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
    std::string prev;
    std::string head_raw;
    for (uint64_t seq = 1; seq <= 6; ++seq) {
      std::string value;
      s = raw.db->Get({}, raw["stardust"], seq_key(seq), &value);
      BOOST_REQUIRE(s.ok());
      auto p = contracts::packet_from_canonical(std::string_view{value}.substr(32));
      BOOST_REQUIRE(p);
      auto payload = json::parse(p->payload);
      payload.doc->erase("_rows");
      p->payload = json::serialize(*payload.doc);
      p->prev = prev;
      // The parent inside the batch (packet 1 of each batch) changed id too.
      if (!p->meta_parents.empty())
        p->meta_parents = {prev};
      auto canonical = contracts::canonical_form(*p);
      auto d = contracts::sha256(*canonical);
      std::string raw_id{reinterpret_cast<const char*>(d.data()), d.size()};
      s = raw.db->Delete({}, raw["stardust_id"], value.substr(0, 32));
      BOOST_REQUIRE(s.ok());
      s = raw.db->Put({}, raw["stardust"], seq_key(seq), raw_id + *canonical);
      BOOST_REQUIRE(s.ok());
      s = raw.db->Put({}, raw["stardust_id"], raw_id, seq_key(seq));
      BOOST_REQUIRE(s.ok());
      prev = contracts::to_hex(d);
      head_raw = raw_id;
    }
    // The child index: drop it and rebuild it from the packets.
    std::unique_ptr<rocksdb::Iterator> it{raw.db->NewIterator({}, raw["stardust_child"])};
    std::vector<std::string> stale;
    for (it->SeekToFirst(); it->Valid(); it->Next())
      stale.push_back(it->key().ToString());
    it.reset();
    for (auto& key : stale)
      BOOST_REQUIRE(raw.db->Delete({}, raw["stardust_child"], key).ok());
    for (uint64_t seq = 1; seq <= 6; ++seq) {
      std::string value;
      BOOST_REQUIRE(raw.db->Get({}, raw["stardust"], seq_key(seq), &value).ok());
      auto p = contracts::packet_from_canonical(std::string_view{value}.substr(32));
      for (auto& parent : p->meta_parents) {
        auto parent_raw = contracts::digest_from_hex(parent);
        std::string key{reinterpret_cast<const char*>(parent_raw->data()), 32};
        key += value.substr(0, 32);
        BOOST_REQUIRE(raw.db->Put({}, raw["stardust_child"], key, "").ok());
      }
    }
    BOOST_REQUIRE(raw.db->Put({}, raw["meta"], "head", head_raw).ok());
  }
  // The witness named the old head: this database is another one now.
  fs::remove(storage::witness_path(dir.db()));
  auto report = verify_by_reader(dir.db());
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.rows, 0u);
  BOOST_CHECK_EQUAL(report.rows_unchecked, 6u);
  // A node that opens it records rows from its next packet on; the old rows
  // stay readable and unchecked.
  {
    auto db = storage::testing::committer_door::open(dir.db());
    BOOST_REQUIRE_MESSAGE(db, why(db));
    storage::commit_batch b;
    contracts::packet p;
    p.kind = "test.row";
    p.actor = "crash_test";
    p.trace_id = trace_of(9);
    p.subjects = {row_key(1, 0)};
    p.at = "2026-11-21T05:30:27.077Z";
    auto i = b.add(std::move(p));
    b.put(storage::table::tasks, row_key(1, 0), "new", i);
    BOOST_REQUIRE(db->write.commit(b));
    report = storage::verify(*db->read);
  }
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.rows, 1u);
  BOOST_CHECK_EQUAL(report.rows_unchecked, 5u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(damage)

BOOST_AUTO_TEST_CASE(a_column_family_the_manifest_lost_is_corruption_not_an_abort) {
  // `truncate -s -1` of the MANIFEST of a fresh database loses the record
  // that creates its last family; a reader once handed RocksDB a null
  // handle for it and aborted.
  temp_dir dir;
  fill_database(dir.db(), 5);
  auto manifests = files(dir.db(), [](const std::string& name) {
    return name.rfind("MANIFEST-", 0) == 0;
  });
  BOOST_REQUIRE_EQUAL(manifests.size(), 1u);
  fs::resize_file(manifests[0], fs::file_size(manifests[0]) - 1);
  auto r = storage::open_reader(dir.db());
  BOOST_REQUIRE_MESSAGE(!r, "a reader opened a database that lost a family");
  BOOST_CHECK_MESSAGE(is(r.error(), ec::corruption), why(r));
  BOOST_CHECK_NE(why(r).find("column family"), std::string::npos);
  BOOST_TEST_MESSAGE("open_reader: " << why(r));
  // A node does not create the family anew over the data that needed it.
  auto db = storage::testing::committer_door::open(dir.db());
  BOOST_REQUIRE(!db);
  BOOST_CHECK_MESSAGE(is(db.error(), ec::corruption), why(db));
}

BOOST_AUTO_TEST_CASE(deleting_the_write_ahead_log_is_reported_as_loss) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  auto wals = wal_files(dir.db());
  BOOST_REQUIRE_EQUAL(wals.size(), 1u);
  fs::remove(wals[0]);
  auto report = verify_by_reader(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.packets, 0u);
  BOOST_CHECK_EQUAL(report.missing, 10u);
  BOOST_CHECK_EQUAL(report.broken_seq, 1u);
  BOOST_CHECK_NE(report.reason.find("lost 10 packets"), std::string::npos);
  BOOST_TEST_MESSAGE("verify: " << report.reason);
  // A node does not start on it, which would write over the evidence.
  auto db = storage::testing::committer_door::open(dir.db());
  BOOST_REQUIRE(!db);
  BOOST_CHECK_MESSAGE(is(db.error(), ec::corruption), why(db));
}

BOOST_AUTO_TEST_CASE(cutting_the_tail_of_the_write_ahead_log_is_reported_as_loss) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  auto wals = wal_files(dir.db());
  BOOST_REQUIRE_EQUAL(wals.size(), 1u);
  fs::resize_file(wals[0], fs::file_size(wals[0]) - 7);
  auto report = verify_by_reader(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  // The last commit (two packets) is gone.
  BOOST_CHECK_EQUAL(report.packets, 8u);
  BOOST_CHECK_EQUAL(report.missing, 2u);
  BOOST_TEST_MESSAGE("verify: " << report.reason);
  auto db = storage::testing::committer_door::open(dir.db());
  BOOST_REQUIRE(!db);
  BOOST_CHECK_MESSAGE(is(db.error(), ec::corruption), why(db));
}

BOOST_AUTO_TEST_CASE(last_of_an_index_entry_naming_a_missing_packet_is_corruption) {
  temp_dir dir;
  fill_database(dir.db(), 5);
  {
    raw_db raw{dir.db()};
    auto s = raw.db->Delete({}, raw["stardust"], seq_key(6)); // row-3-1's
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  auto r = storage::open_reader(dir.db());
  BOOST_REQUIRE_MESSAGE(r, why(r));
  auto last = (*r)->last_of(row_key(3, 1));
  BOOST_REQUIRE_MESSAGE(!last, "last_of gave '" << (last ? *last : "") << "'");
  BOOST_CHECK_MESSAGE(is(last.error(), ec::corruption), why(last));
  // A subject nobody names is "", not an error.
  auto nobody = (*r)->last_of("nobody");
  BOOST_REQUIRE(nobody);
  BOOST_CHECK(nobody->empty());
}

BOOST_AUTO_TEST_SUITE_END()
