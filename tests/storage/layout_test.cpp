#define BOOST_TEST_MODULE layout
#include <boost/test/unit_test.hpp>

// The database's layout beyond the log: holds as rows of their own (written
// and erased one key at a time, justified by the holding task, checked by
// verify), the migration of a database whose asset rows still list their
// holders, and the bound on the live write-ahead log. Damage is done with
// the RocksDB API itself.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "storage/database.hpp"
#include "storage/testing/committer_door.hpp"
#include "storage/verify.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace omniva;
using namespace omniva::storage;
using contracts::ec;
using contracts::packet;

namespace {

/// A fresh data folder, removed afterwards; the database is `db()`.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path()
           / ("omniva-layout-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string db() const {
    return (path / "db").string();
  }
};

std::string text_of(const caf::error& e) {
  return e ? contracts::render_error(e.code(), e.category(), e.context())
           : std::string{"no error"};
}

template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : text_of(x.error());
}

bool is(const caf::error& err, ec code) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(code);
}

packet make(std::string kind, std::vector<std::string> subjects) {
  packet p;
  p.kind = std::move(kind);
  p.actor = "test";
  p.trace_id = "11111111-1111-4111-8111-111111111111";
  p.subjects = std::move(subjects);
  p.at = "2026-11-21T05:30:27.077Z";
  p.payload = "{}";
  return p;
}

writable_database open(const std::string& path, database_options o = {}) {
  auto db = storage::testing::committer_door::open(path, o);
  BOOST_REQUIRE_MESSAGE(db, "open failed: " << why(db));
  return std::move(*db);
}

void commit(writable_database& db, commit_batch& b) {
  auto r = db.write.commit(b);
  BOOST_REQUIRE_MESSAGE(r, "commit failed: " << why(r));
}

const std::string asset = "asset-1";
const std::string task = "task-1";

/// Commits the creation of `task` holding `asset` (the asset registered
/// first), the way Zenith writes it.
void create_holder(writable_database& db) {
  commit_batch b;
  auto i = b.add(make("asset.registered", {asset}));
  b.put(table::assets, asset, R"({"asset_id":"asset-1"})", i);
  auto j = b.add(make("task.created", {task, asset}));
  b.put(table::tasks, task, R"({"status":"READY"})", j);
  b.put(table::holds, hold_key(asset, task), "", j);
  commit(db, b);
}

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

  void put(std::string_view family, const std::string& key,
           const std::string& value) {
    auto s = db->Put({}, (*this)[family], key, value);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  void erase(std::string_view family, const std::string& key) {
    auto s = db->Delete({}, (*this)[family], key);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  /// Drops family `name` (as in a database made before it existed).
  void drop(std::string_view name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) {
        auto s = db->DropColumnFamily(handles[i]);
        BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
        db->DestroyColumnFamilyHandle(handles[i]);
        handles.erase(handles.begin() + static_cast<std::ptrdiff_t>(i));
        names.erase(names.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
    BOOST_FAIL("no column family " << name);
  }
};

verify_report verify_database(const std::string& path) {
  auto db = open(path);
  return verify(*db.read);
}

/// The bytes of the write-ahead logs (`*.log`) in database folder `path`.
uint64_t live_log_bytes(const std::string& path) {
  uint64_t bytes = 0;
  std::error_code err;
  for (auto& entry : std::filesystem::directory_iterator{path, err}) {
    std::error_code gone;
    if (entry.path().extension() == ".log")
      bytes += entry.file_size(gone);
  }
  return bytes;
}

} // namespace

// -- hold keys ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_hold_key_is_the_asset_a_zero_byte_and_the_task) {
  auto key = hold_key("a-1", "t-1");
  BOOST_CHECK_EQUAL(key, std::string("a-1\0t-1", 7));
  auto parts = split_hold_key(key);
  BOOST_REQUIRE(parts);
  BOOST_CHECK_EQUAL(parts->first, "a-1");
  BOOST_CHECK_EQUAL(parts->second, "t-1");
  for (auto bad : {std::string{"a-1"}, std::string("\0t-1", 4),
                   std::string("a-1\0", 4), std::string("a\0b\0c", 5)})
    BOOST_CHECK(!split_hold_key(bad));
  BOOST_CHECK_EQUAL(justifying_subject(table::holds, key), "t-1");
  BOOST_CHECK_EQUAL(justifying_subject(table::tasks, "t-1"), "t-1");
  BOOST_CHECK_EQUAL(describe_row(table::holds, key),
                    "hold of task 't-1' on asset 'a-1'");
  BOOST_CHECK_EQUAL(describe_row(table::policies, "p@1"), "policy 'p@1'");
}

// -- hold rows ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_hold_is_written_and_erased_as_one_key_with_its_task) {
  temp_dir dir;
  auto db = open(dir.db());
  create_holder(db);
  auto holders = db.read->holders(asset);
  BOOST_REQUIRE_MESSAGE(holders, why(holders));
  BOOST_CHECK(*holders == std::vector{task});
  // The creation recorded the hold among the rows it wrote.
  auto created = db.read->history(task);
  BOOST_REQUIRE(created && created->size() == 1);
  auto payload = json::parse(created->front().payload);
  BOOST_REQUIRE(payload);
  auto* holds = payload.doc->find("_rows")->find("holds");
  BOOST_REQUIRE(holds != nullptr);
  auto* digest = holds->find(hold_key(asset, task));
  BOOST_REQUIRE(digest != nullptr && digest->is_string());
  BOOST_CHECK_EQUAL(digest->as_string(), contracts::to_hex(contracts::sha256("")));
  auto report = verify(*db.read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.rows, 3u); // the asset, the task, the hold
  // The task ends: its packet (naming the task only) erases the hold.
  commit_batch b;
  auto i = b.add(make("task.succeeded", {task}));
  b.put(table::tasks, task, R"({"status":"DONE"})", i);
  b.erase(table::holds, hold_key(asset, task), i);
  commit(db, b);
  holders = db.read->holders(asset);
  BOOST_REQUIRE(holders);
  BOOST_CHECK(holders->empty());
  report = verify(*db.read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.rows, 2u);
}

BOOST_AUTO_TEST_CASE(a_hold_is_justified_only_by_a_packet_naming_its_task) {
  temp_dir dir;
  auto db = open(dir.db());
  commit_batch b;
  auto i = b.add(make("asset.touched", {asset}));
  b.put(table::holds, hold_key(asset, task), "", i);
  auto r = db.write.commit(b);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::unjustified_state));
  BOOST_CHECK_MESSAGE(text_of(r.error()).find("hold of task 'task-1' on asset "
                                              "'asset-1'")
                        != std::string::npos,
                      text_of(r.error()));
  commit_batch c;
  auto j = c.add(make("task.created", {task, asset}));
  c.put(table::holds, asset + task, "", j);
  r = db.write.commit(c);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::invalid_argument));
  BOOST_CHECK_EQUAL(*db.read->packet_count(), 0u);
}

BOOST_AUTO_TEST_CASE(holders_of_an_asset_are_its_holds_in_task_order) {
  temp_dir dir;
  auto db = open(dir.db());
  commit_batch b;
  auto i = b.add(make("asset.registered", {"asset-10"}));
  b.put(table::assets, "asset-10", "{}", i);
  for (auto t : {"task-c", "task-a", "task-b"}) {
    auto j = b.add(make("task.created", {t, asset}));
    b.put(table::holds, hold_key(asset, t), "", j);
  }
  auto k = b.add(make("task.created", {"task-d", "asset-10"}));
  b.put(table::holds, hold_key("asset-10", "task-d"), "", k);
  commit(db, b);
  // `asset-1`'s holds are not `asset-10`'s: the zero byte ends the prefix.
  BOOST_CHECK(*db.read->holders(asset)
              == (std::vector<std::string>{"task-a", "task-b", "task-c"}));
  BOOST_CHECK(*db.read->holders("asset-10") == std::vector<std::string>{"task-d"});
  BOOST_CHECK(db.read->holders("asset-2")->empty());
}

// -- verify ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(verify_catches_a_hold_row_changed_after_its_packet) {
  temp_dir dir;
  {
    auto db = open(dir.db());
    create_holder(db);
  }
  {
    raw_db raw{dir.db()};
    raw.put("holds", hold_key(asset, task), "x");
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.row, "holds/asset-1/task-1");
  BOOST_CHECK_MESSAGE(report.reason.find("the hold of task 'task-1' on asset "
                                         "'asset-1' is not the one packet 2 "
                                         "recorded")
                        != std::string::npos,
                      report.reason);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_hold_row_no_packet_justifies) {
  // A hold of a task no packet names, one of a task whose packets never
  // wrote it, and one put back after its task released it.
  struct forged {
    std::string key;
    std::string says;
  };
  for (auto& f : {forged{hold_key(asset, "task-9"), "no packet names 'task-9'"},
                  forged{hold_key("asset-2", task), "none of them wrote this row"},
                  forged{hold_key(asset, task), "erased it"}}) {
    temp_dir dir;
    {
      auto db = open(dir.db());
      create_holder(db);
      commit_batch b;
      auto i = b.add(make("task.succeeded", {task}));
      b.erase(table::holds, hold_key(asset, task), i);
      commit(db, b);
    }
    {
      raw_db raw{dir.db()};
      raw.put("holds", f.key, "");
    }
    auto report = verify_database(dir.db());
    BOOST_CHECK(!report.ok);
    BOOST_CHECK(report.code == ec::corruption);
    BOOST_CHECK_MESSAGE(report.reason.find(f.says) != std::string::npos,
                        report.reason);
    BOOST_CHECK_EQUAL(report.row.substr(0, 6), "holds/");
  }
}

BOOST_AUTO_TEST_CASE(verify_catches_a_deleted_hold_row_and_a_damaged_key) {
  temp_dir dir;
  {
    auto db = open(dir.db());
    create_holder(db);
  }
  {
    raw_db raw{dir.db()};
    raw.erase("holds", hold_key(asset, task));
  }
  auto report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK_EQUAL(report.row, "holds/asset-1/task-1");
  BOOST_CHECK_MESSAGE(report.reason.find("is missing") != std::string::npos,
                      report.reason);
  {
    raw_db raw{dir.db()};
    raw.put("holds", hold_key(asset, task), "");
    raw.put("holds", "no-zero-byte", "");
  }
  report = verify_database(dir.db());
  BOOST_CHECK(!report.ok);
  BOOST_CHECK_EQUAL(report.row, "holds/no-zero-byte");
}

// -- the migration of an older layout -----------------------------------------------

BOOST_AUTO_TEST_CASE(an_older_database_has_its_holds_moved_out_of_the_asset_rows) {
  temp_dir dir;
  // As a node before holds were rows wrote it: the asset row lists every
  // task that took a hold, finished ones too (releasing did not always
  // rewrite it); the task rows say which are unfinished.
  const std::string listed
    = R"({"asset_id":"asset-1","kind":"FILE","holds":["task-run","task-done","task-run","task-gone","task-wait"],"status":"AVAILABLE"})";
  {
    auto db = open(dir.db());
    commit_batch b;
    auto i = b.add(make("asset.registered", {asset}));
    b.put(table::assets, asset, R"({"asset_id":"asset-1"})", i);
    b.put(table::assets, "asset-free", R"({"asset_id":"asset-free"})",
          b.add(make("asset.registered", {"asset-free"})));
    for (auto [t, status] : {std::pair{"task-run", "RUNNING"},
                             std::pair{"task-done", "DONE"},
                             std::pair{"task-wait", "PENDING"}}) {
      auto j = b.add(make("task.created", {t, asset}));
      b.put(table::tasks, t, R"({"status":")" + std::string{status} + "\"}", j);
      b.put(table::assets, asset, listed, j);
    }
    commit(db, b);
  }
  {
    raw_db raw{dir.db()};
    raw.drop("holds");
    raw.erase("meta", "holds_in_table");
  }
  {
    // A reader of the old layout finds the holders in the asset row.
    auto reader = open_reader(dir.db());
    BOOST_REQUIRE_MESSAGE(reader, why(reader));
    auto holders = (*reader)->holders(asset);
    BOOST_REQUIRE_MESSAGE(holders, why(holders));
    BOOST_CHECK_EQUAL(holders->size(), 5u);
    BOOST_CHECK((*reader)->holders("asset-nowhere")->empty());
  }
  uint64_t packets = 0;
  {
    auto db = open(dir.db());
    auto row = db.read->get(table::assets, asset);
    BOOST_REQUIRE(row);
    BOOST_CHECK_EQUAL(row->find("holds"), std::string::npos);
    auto doc = json::parse(*row);
    BOOST_REQUIRE(doc);
    BOOST_CHECK_EQUAL(doc.doc->find("status")->as_string(), "AVAILABLE");
    // Only the unfinished holders keep a hold.
    BOOST_CHECK(*db.read->holders(asset)
                == (std::vector<std::string>{"task-run", "task-wait"}));
    BOOST_CHECK_EQUAL(*db.read->get(table::assets, "asset-free"),
                      R"({"asset_id":"asset-free"})");
    auto history = db.read->history(asset);
    BOOST_REQUIRE(history && !history->empty());
    auto& moved = history->back();
    BOOST_CHECK_EQUAL(moved.kind, "asset.holds_moved");
    BOOST_CHECK_EQUAL(moved.actor, "storage");
    BOOST_CHECK_EQUAL(moved.meta_parents.size(), 1u);
    auto payload = json::parse(moved.payload);
    BOOST_REQUIRE(payload);
    BOOST_CHECK_EQUAL(*payload.doc->find("released")->as_int64(), 2);
    auto report = verify(*db.read);
    BOOST_CHECK_MESSAGE(report.ok, report.reason);
    packets = *db.read->packet_count();
  }
  // Moved once: the next open writes nothing.
  auto db = open(dir.db());
  BOOST_CHECK_EQUAL(*db.read->packet_count(), packets);
}

BOOST_AUTO_TEST_CASE(a_new_database_records_that_holds_are_rows_at_once) {
  temp_dir dir;
  {
    auto db = open(dir.db());
  }
  raw_db raw{dir.db()};
  std::string value;
  BOOST_CHECK(raw.db->Get({}, raw["meta"], "holds_in_table", &value).ok());
}

// -- the write-ahead log -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_live_write_ahead_log_stays_bounded) {
  temp_dir dir;
  auto db = open(dir.db(), {.sync = false});
  // A family written once (as the registry's tables are) would keep every
  // log alive until its memtable filled, which it never does.
  commit_batch first;
  auto i = first.add(make("policy.registered", {"p@1"}));
  first.put(table::policies, "p@1", "{}", i);
  commit(db, first);
  // 48 MiB of rows, less than one memtable of any family could hold.
  const std::string row(512 << 10, 'x');
  for (int n = 0; n < 96; ++n) {
    commit_batch b;
    auto key = "task-" + std::to_string(n);
    b.put(table::tasks, key, row, b.add(make("task.created", {key})));
    commit(db, b);
  }
  // The families that pinned the oldest logs are flushed in the background
  // and the logs they held deleted: wait for it (not a timing assertion: a
  // log that is never retired fails after a minute).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes{1};
  while (live_log_bytes(dir.db()) > (40u << 20)
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  BOOST_CHECK_LE(live_log_bytes(dir.db()), 40u << 20);
  BOOST_CHECK_EQUAL(*db.read->get(table::policies, "p@1"), "{}");
}

BOOST_AUTO_TEST_CASE(closing_the_committer_leaves_little_log_to_replay) {
  temp_dir dir;
  {
    auto db = open(dir.db());
    const std::string row(256 << 10, 'x');
    for (int n = 0; n < 32; ++n) { // 8 MiB
      commit_batch b;
      auto key = "task-" + std::to_string(n);
      b.put(table::tasks, key, row, b.add(make("task.created", {key})));
      commit(db, b);
    }
    BOOST_CHECK_GE(live_log_bytes(dir.db()), 8u << 20);
  }
  // Flushed when the committer closed: the next open replays (almost)
  // nothing, and finds every row.
  BOOST_CHECK_LT(live_log_bytes(dir.db()), 1u << 20);
  auto db = open(dir.db());
  BOOST_CHECK_EQUAL(db.read->scan(table::tasks, "")->size(), 32u);
  auto report = verify(*db.read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
}
