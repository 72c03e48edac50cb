#define BOOST_TEST_MODULE backup
#include <boost/test/unit_test.hpp>

// Checkpoints of a live database (storage/backup.hpp): taken through the
// writer's own handle while it commits, whole commits only, verifiable on
// their own, with a witness naming their last packet; and where the files
// of a data folder that moved are found (storage/relocation.hpp).

#include "contracts/error_code.hpp"
#include "storage/backup.hpp"
#include "storage/database.hpp"
#include "storage/relocation.hpp"
#include "storage/testing/committer_door.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace omniva;
using namespace omniva::storage;
using contracts::ec;
namespace fs = std::filesystem;

namespace {

/// A fresh folder, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("omniva-backup-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string at(const std::string& name) const {
    return (path / name).string();
  }
};

std::string text_of(const caf::error& e) {
  return e ? contracts::render_error(e.code(), e.category(), e.context())
           : std::string{"no error"};
}

/// Why `x` holds no value ("" when it holds one): safe to evaluate either
/// way, as a test message is.
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : text_of(x.error());
}

bool is(const caf::error& err, ec code) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(code);
}

writable_database open(const std::string& path) {
  auto db = storage::testing::committer_door::open(path);
  BOOST_REQUIRE_MESSAGE(db, "open failed: " << why(db));
  return std::move(*db);
}

/// Commits one task: its packet and its row, as Zenith would.
void commit_task(writable_database& db, int n) {
  commit_batch b;
  contracts::packet p;
  p.kind = "task.created";
  p.actor = "test";
  p.trace_id = "11111111-1111-4111-8111-111111111111";
  p.at = "2026-11-21T05:30:27.077Z";
  auto id = "task-" + std::to_string(n);
  p.subjects = {id};
  p.payload = "{}";
  auto i = b.add(std::move(p));
  b.put(table::tasks, id, R"({"status":"READY","n":)" + std::to_string(n) + "}",
        i);
  auto r = db.write.commit(b);
  BOOST_REQUIRE_MESSAGE(r, "commit failed: " << why(r));
}

} // namespace

BOOST_AUTO_TEST_CASE(a_checkpoint_holds_every_commit_made_before_it) {
  temp_dir dir;
  auto db = open(dir.at("db"));
  for (int i = 1; i <= 20; ++i)
    commit_task(db, i);
  auto cp = make_checkpoint(*db.read, dir.at("checkpoint"));
  BOOST_REQUIRE_MESSAGE(cp, why(cp));
  BOOST_CHECK_EQUAL(cp->packets, 20u);
  auto head = db.read->head();
  BOOST_REQUIRE(head);
  BOOST_CHECK_EQUAL(cp->head, *head);
  // Later commits are not in it.
  commit_task(db, 21);
  auto r = open_reader(dir.at("checkpoint"));
  BOOST_REQUIRE_MESSAGE(r, why(r));
  auto report = verify(**r);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.packets, 20u);
  BOOST_CHECK_EQUAL(report.head, cp->head);
  BOOST_CHECK(!(*r)->get(table::tasks, "task-21"));
  BOOST_CHECK((*r)->get(table::tasks, "task-20"));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_has_a_witness_of_its_own_end) {
  temp_dir dir;
  auto db = open(dir.at("db"));
  for (int i = 1; i <= 5; ++i)
    commit_task(db, i);
  auto cp = make_checkpoint(*db.read, dir.at("checkpoint"));
  BOOST_REQUIRE_MESSAGE(cp, why(cp));
  auto w = read_witness(dir.at("checkpoint"));
  BOOST_REQUIRE_MESSAGE(w, why(w));
  BOOST_REQUIRE(w->has_value());
  BOOST_CHECK_EQUAL((*w)->packets, 5u);
  BOOST_CHECK_EQUAL((*w)->head, cp->head);
  // The database is a database of its own: a writer opens it and goes on.
  auto copy = open(dir.at("checkpoint"));
  commit_task(copy, 6);
  auto end = copy.read->packet_count();
  BOOST_REQUIRE(end);
  BOOST_CHECK_EQUAL(*end, 6u);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_taken_while_commits_go_on_holds_whole_commits) {
  temp_dir dir;
  auto db = open(dir.at("db"));
  commit_task(db, 0);
  std::atomic<bool> stop{false};
  std::atomic<int> committed{1};
  std::thread writer{[&] {
    for (int i = 1; !stop.load(); ++i) {
      commit_task(db, i);
      committed.store(i + 1);
    }
  }};
  // Let a few commits go by, then take checkpoints in the middle of them.
  while (committed.load() < 20)
    std::this_thread::yield();
  std::vector<checkpoint_info> taken;
  for (int k = 0; k < 3; ++k) {
    auto before = static_cast<uint64_t>(committed.load());
    auto cp = make_checkpoint(*db.read, dir.at("cp" + std::to_string(k)));
    BOOST_REQUIRE_MESSAGE(cp, why(cp));
    BOOST_CHECK_GE(cp->packets, before);
    taken.push_back(*cp);
  }
  stop = true;
  writer.join();
  for (auto& cp : taken) {
    auto r = open_reader(cp.path);
    BOOST_REQUIRE_MESSAGE(r, why(r));
    auto report = verify(**r);
    BOOST_CHECK_MESSAGE(report.ok, cp.path << ": " << report.reason);
    BOOST_CHECK_EQUAL(report.packets, cp.packets);
    // Every packet's row is there: task-N for each of the packets.
    auto rows = (*r)->scan(table::tasks, "");
    BOOST_REQUIRE(rows);
    BOOST_CHECK_EQUAL(rows->size(), cp.packets);
  }
}

BOOST_AUTO_TEST_CASE(a_checkpoint_is_refused_into_a_folder_that_exists) {
  temp_dir dir;
  auto db = open(dir.at("db"));
  commit_task(db, 1);
  fs::create_directories(dir.at("there"));
  auto cp = make_checkpoint(*db.read, dir.at("there"));
  BOOST_REQUIRE(!cp);
  BOOST_CHECK_MESSAGE(is(cp.error(), ec::storage_error), why(cp));
  auto relative = make_checkpoint(*db.read, "relative/cp");
  BOOST_REQUIRE(!relative);
  BOOST_CHECK(is(relative.error(), ec::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_is_taken_through_the_writer_not_a_reader) {
  temp_dir dir;
  auto db = open(dir.at("db"));
  commit_task(db, 1);
  auto secondary = open_reader(dir.at("db"));
  BOOST_REQUIRE(secondary);
  auto cp = make_checkpoint(**secondary, dir.at("cp"));
  BOOST_REQUIRE(!cp);
  BOOST_CHECK_MESSAGE(is(cp.error(), ec::invalid_argument), why(cp));
  BOOST_CHECK(!fs::exists(dir.at("cp")));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_an_empty_log_is_empty) {
  temp_dir dir;
  auto db = open(dir.at("db"));
  auto cp = make_checkpoint(*db.read, dir.at("cp"));
  BOOST_REQUIRE_MESSAGE(cp, why(cp));
  BOOST_CHECK_EQUAL(cp->packets, 0u);
  BOOST_CHECK_EQUAL(cp->head, "");
}

// -- relocation ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(paths_under_an_earlier_location_resolve_under_the_folder) {
  data_relocation r{"/new/data", {"/old/data", "/older/place"}};
  BOOST_CHECK_EQUAL(r.resolve("/old/data/blobs/sha256/ab/abc"),
                    "/new/data/blobs/sha256/ab/abc");
  BOOST_CHECK_EQUAL(r.resolve("/older/place/outputs/t/1/x.json"),
                    "/new/data/outputs/t/1/x.json");
  BOOST_CHECK_EQUAL(r.relative("/old/data/blobs/sha256/ab/abc"),
                    "blobs/sha256/ab/abc");
  BOOST_CHECK_EQUAL(r.relative("/new/data/outputs/t/1/x.json"),
                    "outputs/t/1/x.json");
}

BOOST_AUTO_TEST_CASE(other_paths_are_left_as_they_are) {
  data_relocation r{"/new/data", {"/old/data"}};
  // Whole components: /old/data2 is not inside /old/data.
  BOOST_CHECK_EQUAL(r.resolve("/old/data2/blobs/x"), "/old/data2/blobs/x");
  BOOST_CHECK_EQUAL(r.resolve("/new/data/blobs/x"), "/new/data/blobs/x");
  BOOST_CHECK_EQUAL(r.resolve("/elsewhere/file"), "/elsewhere/file");
  BOOST_CHECK_EQUAL(r.relative("/elsewhere/file"), "");
  BOOST_CHECK_EQUAL(r.relative("/old/data"), "");
  data_relocation never{"/data", {}};
  BOOST_CHECK(!never.moved());
  BOOST_CHECK_EQUAL(never.resolve("/old/data/x"), "/old/data/x");
}

BOOST_AUTO_TEST_CASE(a_node_start_records_the_folder_once_per_move) {
  temp_dir dir;
  auto a = dir.at("a");
  fs::create_directories(a);
  auto first = record_origin(a);
  BOOST_REQUIRE_MESSAGE(first, why(first));
  BOOST_CHECK(!first->moved());
  BOOST_REQUIRE(record_origin(a)); // a restart changes nothing
  auto lines = read_origin(a);
  BOOST_REQUIRE(lines);
  BOOST_CHECK_EQUAL(lines->size(), 1u);
  // Moved: the old place becomes an earlier location.
  auto b = dir.at("b");
  fs::rename(a, b);
  auto moved = record_origin(b);
  BOOST_REQUIRE_MESSAGE(moved, why(moved));
  BOOST_REQUIRE_EQUAL(moved->earlier.size(), 1u);
  BOOST_CHECK_EQUAL(moved->earlier[0], a);
  BOOST_CHECK_EQUAL(moved->resolve(a + "/blobs/x"), b + "/blobs/x");
  auto again = read_origin(b);
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(again->size(), 2u);
}

BOOST_AUTO_TEST_CASE(an_origin_file_with_a_relative_line_is_refused) {
  temp_dir dir;
  std::ofstream{dir.at("origin")} << "/fine\nnot/absolute\n";
  auto r = relocation_of(dir.path.string());
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::corruption));
}
