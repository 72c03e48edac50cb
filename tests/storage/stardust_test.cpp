#define BOOST_TEST_MODULE stardust
#include <boost/test/unit_test.hpp>

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "storage/database.hpp"
#include "storage/testing/committer_door.hpp"
#include "storage/verify.hpp"
#include "storage/witness.hpp"

#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>

using namespace omniva;
using namespace omniva::storage;
using contracts::ec;
using contracts::packet;

namespace {

/// A fresh database folder, removed afterwards.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path()
           / ("omniva-stardust-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::filesystem::remove_all(path);
  }
  std::string str() const {
    return path.string();
  }
};

packet make(std::string kind, std::vector<std::string> subjects = {},
            std::vector<std::string> parents = {},
            std::string trace = "11111111-1111-4111-8111-111111111111") {
  packet p;
  p.kind = std::move(kind);
  p.actor = "test";
  p.trace_id = std::move(trace);
  p.subjects = std::move(subjects);
  p.meta_parents = std::move(parents);
  p.at = "2026-11-21T05:30:27.077Z";
  p.payload = R"({"n":1})";
  return p;
}

bool is(const caf::error& err, ec code) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(code);
}

struct fixture {
  temp_dir dir;
  writable_database db;
  fixture() : db(open()) {
  }
  writable_database open() {
    auto r = storage::testing::committer_door::open(dir.str());
    BOOST_REQUIRE_MESSAGE(r, "open failed");
    return std::move(*r);
  }
  commit_receipt commit(commit_batch& b) {
    auto r = db.write.commit(b);
    if (!r)
      BOOST_FAIL("commit failed: " << contracts::render_error(
                   r.error().code(), r.error().category(), r.error().context()));
    return *r;
  }
};

} // namespace

// -- the single-committer rule ------------------------------------------------

BOOST_AUTO_TEST_CASE(a_committer_can_be_moved_but_never_copied) {
  static_assert(!std::is_copy_constructible_v<committer>);
  static_assert(!std::is_copy_assignable_v<committer>);
  static_assert(std::is_move_constructible_v<committer>);
  static_assert(!std::is_default_constructible_v<committer>);
  BOOST_TEST(true);
}

/// Whether a `K` can be made in this (non-friend) context.
template <class K>
concept makeable_here = requires { K{}; };

/// Whether `open_database` can be called with `Args...` from here.
template <class... Args>
concept opens_for_writing = requires(Args... args) {
  storage::open_database(args...);
};

BOOST_AUTO_TEST_CASE(only_the_friends_of_the_key_can_open_a_database_for_writing) {
  // The key's constructor is private: only the node bootstrap, a
  // benchmark's scratch database and the test door make keys.
  static_assert(!makeable_here<committer_key>);
  static_assert(!std::is_default_constructible_v<committer_key>);
  // A key is spent where it is made: no copy or move passes it on.
  static_assert(!std::is_copy_constructible_v<committer_key>);
  static_assert(!std::is_move_constructible_v<committer_key>);
  // Without a key there is no overload that opens for writing.
  static_assert(!opens_for_writing<std::string>);
  static_assert(!opens_for_writing<std::string, database_options>);
  // Nor another way to a committer: only `open_database` makes one.
  static_assert(!std::is_constructible_v<committer, std::shared_ptr<db_handle>>);
  BOOST_TEST(true);
}

BOOST_FIXTURE_TEST_CASE(a_second_writer_for_the_same_database_is_refused, fixture) {
  auto second = storage::testing::committer_door::open(dir.str());
  BOOST_REQUIRE(!second);
  BOOST_TEST(is(second.error(), ec::database_locked));
}

BOOST_FIXTURE_TEST_CASE(a_reader_works_beside_the_writer, fixture) {
  commit_batch b;
  b.add(make("task.created", {"t1"}));
  commit(b);
  auto r = open_reader(dir.str());
  BOOST_REQUIRE(r);
  BOOST_TEST(*(*r)->packet_count() == 1u);
  commit_batch c;
  c.add(make("task.started", {"t1"}));
  commit(c);
  BOOST_TEST(*(*r)->packet_count() == 1u);
  BOOST_REQUIRE(!(*r)->refresh());
  BOOST_TEST(*(*r)->packet_count() == 2u);
  BOOST_TEST(verify(**r).ok);
}

BOOST_AUTO_TEST_CASE(opening_a_reader_where_there_is_no_database_fails) {
  temp_dir dir;
  auto r = open_reader((dir.path / "none").string());
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::not_found));
}

// -- committing ---------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(commit_assigns_seq_and_chains_prev, fixture) {
  commit_batch b;
  b.add(make("a"));
  b.add(make("b"));
  auto first = commit(b);
  BOOST_TEST(first.first_seq == 1u);
  BOOST_TEST(first.last_seq == 2u);
  BOOST_TEST(b.empty());
  b.add(make("c"));
  auto second = commit(b);
  BOOST_TEST(second.first_seq == 3u);
  auto p1 = db.read->packet_by_seq(1);
  auto p2 = db.read->packet_by_seq(2);
  auto p3 = db.read->packet_by_seq(3);
  BOOST_REQUIRE(p1 && p2 && p3);
  BOOST_TEST(p1->prev == "");
  BOOST_TEST(p2->prev == p1->id);
  BOOST_TEST(p3->prev == p2->id);
  BOOST_TEST(p1->id == first.ids[0]);
  BOOST_TEST(*contracts::compute_id(*p3) == p3->id);
  BOOST_TEST(db.write.head() == p3->id);
  BOOST_TEST(db.write.next_seq() == 4u);
  BOOST_TEST(*db.read->head() == p3->id);
}

BOOST_AUTO_TEST_CASE(the_chain_continues_after_reopening) {
  temp_dir dir;
  std::string head;
  {
    auto db = storage::testing::committer_door::open(dir.str());
    BOOST_REQUIRE(db);
    commit_batch b;
    b.add(make("a"));
    head = db->write.commit(b)->ids[0];
  }
  auto db = storage::testing::committer_door::open(dir.str());
  BOOST_REQUIRE(db);
  BOOST_TEST(db->write.head() == head);
  BOOST_TEST(db->write.next_seq() == 2u);
  commit_batch b;
  b.add(make("b"));
  BOOST_REQUIRE(db->write.commit(b));
  BOOST_TEST(db->read->packet_by_seq(2)->prev == head);
  BOOST_TEST(verify(*db->read).ok);
}

BOOST_FIXTURE_TEST_CASE(state_rows_are_written_with_their_packet, fixture) {
  commit_batch b;
  auto i = b.add(make("task.created", {"task-1"}));
  b.put(table::tasks, "task-1", R"({"status":"PENDING"})", i);
  commit(b);
  BOOST_TEST(*db.read->get(table::tasks, "task-1") == R"({"status":"PENDING"})");
  auto j = b.add(make("task.deleted", {"task-1"}));
  b.erase(table::tasks, "task-1", j);
  commit(b);
  auto gone = db.read->get(table::tasks, "task-1");
  BOOST_REQUIRE(!gone);
  BOOST_TEST(is(gone.error(), ec::not_found));
}

BOOST_FIXTURE_TEST_CASE(a_missing_row_is_named_by_what_it_is, fixture) {
  // No internal names (family or table) in messages: "no task 'x'".
  auto message = [&](table t, const std::string& key) {
    auto r = db.read->get(t, key);
    BOOST_REQUIRE(!r);
    BOOST_TEST(is(r.error(), ec::not_found));
    return contracts::render_error(r.error().code(), r.error().category(),
                                   r.error().context());
  };
  BOOST_TEST(message(table::tasks, "x") == "not_found: no task 'x'");
  BOOST_TEST(message(table::assets, "x") == "not_found: no asset 'x'");
  BOOST_TEST(message(table::modules, "m@1") == "not_found: no module 'm@1'");
  BOOST_TEST(message(table::schemas, "s@1") == "not_found: no schema 's@1'");
  BOOST_TEST(message(table::policies, "p@1") == "not_found: no policy 'p@1'");
  BOOST_TEST(message(table::holds, hold_key("a", "t"))
             == "not_found: no hold of task 't' on asset 'a'");
}

BOOST_FIXTURE_TEST_CASE(a_state_row_without_a_justifying_packet_is_refused, fixture) {
  commit_batch b;
  b.put(table::assets, "asset-1", "{}", 0);
  auto r = db.write.commit(b);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::unjustified_state));
  BOOST_TEST(db.write.next_seq() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_packet_must_name_the_row_it_justifies, fixture) {
  commit_batch b;
  auto i = b.add(make("asset.registered", {"asset-2"}));
  b.put(table::assets, "asset-1", "{}", i);
  auto r = db.write.commit(b);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::unjustified_state));
  BOOST_TEST(contracts::render_error(r.error().code(), r.error().category(),
                                     r.error().context())
                 .find("the change of the asset 'asset-1' is justified by a "
                       "asset.registered packet that does not name 'asset-1'")
             != std::string::npos);
  // Nothing of the refused batch was written.
  BOOST_TEST(*db.read->packet_count() == 0u);
  BOOST_TEST(!db.read->get(table::assets, "asset-1"));
}

BOOST_FIXTURE_TEST_CASE(an_unknown_parent_is_refused, fixture) {
  commit_batch b;
  b.add(make("task.created", {}, {std::string(64, 'e')}));
  auto r = db.write.commit(b);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::unknown_parent));
  commit_batch c;
  c.add(make("task.created", {}, {"not-an-id"}));
  BOOST_TEST(is(db.write.commit(c).error(), ec::unknown_parent));
  BOOST_TEST(*db.read->packet_count() == 0u);
}

BOOST_FIXTURE_TEST_CASE(parents_may_be_earlier_packets_of_the_same_batch, fixture) {
  commit_batch b;
  auto a = b.add(make("task.created", {"t"}));
  b.add(make("task.dispatched", {"t"}), {a});
  auto receipt = commit(b);
  auto child = db.read->packet_by_seq(2);
  BOOST_REQUIRE(child);
  BOOST_TEST(child->meta_parents == std::vector<std::string>{receipt.ids[0]});
  commit_batch bad;
  bad.add(make("x"), {0});
  BOOST_TEST(is(db.write.commit(bad).error(), ec::unknown_parent));
}

BOOST_FIXTURE_TEST_CASE(a_malformed_packet_is_refused, fixture) {
  commit_batch b;
  auto p = make("x");
  p.payload = "[1]";
  b.add(p);
  BOOST_TEST(is(db.write.commit(b).error(), ec::invalid_argument));
  commit_batch c;
  c.add(make(""));
  BOOST_TEST(is(db.write.commit(c).error(), ec::invalid_argument));
}

BOOST_FIXTURE_TEST_CASE(group_commit_appends_batches_with_shifted_indices, fixture) {
  commit_batch one;
  auto a = one.add(make("a", {"r1"}));
  one.put(table::tasks, "r1", "1", a);
  commit_batch two;
  auto p = two.add(make("b", {"r2"}));
  two.add(make("c", {"r2"}), {p});
  two.put(table::tasks, "r2", "2", p);
  one.append(std::move(two));
  BOOST_TEST(two.empty());
  auto receipt = commit(one);
  BOOST_TEST(receipt.last_seq == 3u);
  BOOST_TEST(db.read->packet_by_seq(3)->meta_parents
             == std::vector<std::string>{receipt.ids[1]});
  BOOST_TEST(*db.read->get(table::tasks, "r2") == "2");
}

// -- queries ------------------------------------------------------------------

namespace {

/// A small pipeline: a -> b -> c, a -> d, and an unrelated e on another trace.
struct pipeline : fixture {
  std::vector<std::string> ids;
  pipeline() {
    commit_batch batch;
    auto a = batch.add(make("asset.registered", {"asset-a"}));
    auto b = batch.add(make("task.created", {"task-b", "asset-a"}), {a});
    batch.add(make("task.succeeded", {"task-b", "asset-c"}), {b});
    batch.add(make("task.created", {"task-d", "asset-a"}), {a});
    batch.add(make("asset.registered", {"asset-e"}, {},
                   "22222222-2222-4222-8222-222222222222"));
    ids = commit(batch).ids;
  }
};

std::vector<std::string> kinds(const std::vector<packet>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(x.kind);
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(packets_by_id_seq_and_range, pipeline) {
  BOOST_TEST(db.read->packet_by_id(ids[2])->kind == "task.succeeded");
  BOOST_TEST(is(db.read->packet_by_id(std::string(64, '0')).error(), ec::not_found));
  BOOST_TEST(is(db.read->packet_by_id("zz").error(), ec::invalid_digest));
  BOOST_TEST(is(db.read->packet_by_seq(99).error(), ec::not_found));
  auto range = db.read->packets(2, 4);
  BOOST_REQUIRE(range);
  BOOST_TEST(range->size() == 3u);
  BOOST_TEST(range->front().seq == 2u);
  BOOST_TEST(db.read->packets(1, 100, 2)->size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(packets_by_trace, pipeline) {
  auto main = db.read->by_trace("11111111-1111-4111-8111-111111111111");
  BOOST_REQUIRE(main);
  BOOST_TEST(main->size() == 4u);
  auto other = db.read->by_trace("22222222-2222-4222-8222-222222222222");
  BOOST_TEST(kinds(*other) == std::vector<std::string>{"asset.registered"});
  BOOST_TEST(db.read->by_trace("nope")->empty());
}

BOOST_FIXTURE_TEST_CASE(history_of_a_task_and_an_asset, pipeline) {
  BOOST_TEST(kinds(*db.read->history("task-b"))
             == (std::vector<std::string>{"task.created", "task.succeeded"}));
  BOOST_TEST(kinds(*db.read->history("asset-a"))
             == (std::vector<std::string>{"asset.registered", "task.created",
                                          "task.created"}));
  BOOST_TEST(db.read->history("asset").value().empty()); // prefixes do not match
}

BOOST_FIXTURE_TEST_CASE(children_ancestors_and_descendants, pipeline) {
  auto kids = db.read->children(ids[0]);
  BOOST_REQUIRE(kids);
  BOOST_TEST(kids->size() == 2u);
  auto up = db.read->ancestors(ids[2], 10);
  BOOST_REQUIRE(up);
  BOOST_REQUIRE_EQUAL(up->size(), 2u);
  BOOST_TEST((*up)[0].packet.id == ids[1]);
  BOOST_TEST((*up)[0].depth == 1u);
  BOOST_TEST((*up)[1].packet.id == ids[0]);
  BOOST_TEST((*up)[1].depth == 2u);
  BOOST_TEST(db.read->ancestors(ids[2], 1)->size() == 1u);
  auto down = db.read->descendants(ids[0], 10);
  BOOST_REQUIRE(down);
  BOOST_TEST(down->size() == 3u);
  BOOST_TEST(db.read->descendants(ids[0], 1)->size() == 2u);
  BOOST_TEST(db.read->descendants(ids[4], 5)->empty());
}

BOOST_FIXTURE_TEST_CASE(state_rows_by_key_and_prefix, fixture) {
  commit_batch b;
  for (auto key : {"job-1", "job-2", "jobs", "other"}) {
    auto i = b.add(make("asset.registered", {key}));
    b.put(table::assets, key, std::string{"v-"} + key, i);
  }
  commit(b);
  auto rows = db.read->scan(table::assets, "job-");
  BOOST_REQUIRE(rows);
  BOOST_REQUIRE_EQUAL(rows->size(), 2u);
  BOOST_TEST((*rows)[0].first == "job-1");
  BOOST_TEST((*rows)[1].second == "v-job-2");
  BOOST_TEST(db.read->scan(table::assets, "")->size() == 4u);
  BOOST_TEST(db.read->scan(table::tasks, "")->empty());
}

// -- verify ---------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(verify_accepts_an_intact_log, pipeline) {
  auto report = verify(*db.read);
  BOOST_TEST(report.ok);
  BOOST_TEST(report.packets == 5u);
  BOOST_TEST(report.head == ids.back());
}

BOOST_FIXTURE_TEST_CASE(verify_accepts_an_empty_log, fixture) {
  auto report = verify(*db.read);
  BOOST_TEST(report.ok);
  BOOST_TEST(report.packets == 0u);
}

BOOST_FIXTURE_TEST_CASE(repeated_subjects_or_parents_and_zero_bytes_are_refused, fixture) {
  commit_batch b;
  b.add(make("x", {"a", "a"}));
  BOOST_TEST(is(db.write.commit(b).error(), ec::invalid_argument));
  commit_batch c;
  auto first = c.add(make("x"));
  c.add(make("y"), {first, first});
  BOOST_TEST(is(db.write.commit(c).error(), ec::invalid_argument));
  commit_batch d;
  d.add(make("x", {std::string("a\0b", 3)}));
  BOOST_TEST(is(db.write.commit(d).error(), ec::invalid_argument));
  BOOST_TEST(*db.read->packet_count() == 0u);
  BOOST_TEST(verify(*db.read).ok);
}

BOOST_FIXTURE_TEST_CASE(last_of_a_subject_is_the_end_of_its_history, pipeline) {
  BOOST_TEST(*db.read->last_of("asset-a") == ids[3]);
  BOOST_TEST(*db.read->last_of("task-b") == ids[2]);
  BOOST_TEST(db.read->last_of("asset")->empty()); // prefixes do not match
  BOOST_TEST(db.read->last_of("nobody")->empty());
}

// -- sealing and writing apart -------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_row_changed_twice_in_one_commit_keeps_its_last_value, fixture) {
  commit_batch b;
  auto i = b.add(make("task.created", {"task-1"}));
  b.put(table::tasks, "task-1", R"({"status":"READY"})", i);
  auto j = b.add(make("task.dispatched", {"task-1"}), {i});
  b.put(table::tasks, "task-1", R"({"status":"RUNNING"})", j);
  commit(b);
  BOOST_TEST(*db.read->get(table::tasks, "task-1") == R"({"status":"RUNNING"})");
  // A put then an erase of the same row erases it; an erase then a put
  // leaves the put.
  auto k = b.add(make("task.deleted", {"task-1", "task-2"}));
  b.put(table::tasks, "task-2", R"({"n":1})", k);
  b.erase(table::tasks, "task-2", k);
  b.erase(table::tasks, "task-1", k);
  b.put(table::tasks, "task-1", R"({"status":"DONE"})", k);
  commit(b);
  BOOST_TEST(!db.read->get(table::tasks, "task-2"));
  BOOST_TEST(*db.read->get(table::tasks, "task-1") == R"({"status":"DONE"})");
  BOOST_TEST(verify(*db.read).ok);
}

BOOST_FIXTURE_TEST_CASE(sealed_commits_chain_before_they_are_written, fixture) {
  commit_batch b;
  b.add(make("a", {"x"}));
  auto first = db.write.seal(b);
  BOOST_REQUIRE(first);
  BOOST_TEST(b.packets() == 0u);
  // Nothing is in the log yet, but the next batch may name the sealed
  // packet as a parent and chains on it.
  auto head_now = db.read->head();
  BOOST_TEST((!head_now || head_now->empty()));
  auto id = first->receipt().ids.at(0);
  b.add(make("b", {"x"}, {id}));
  auto second = db.write.seal(b);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->receipt().first_seq == 2u);
  BOOST_TEST(!db.write.write(*first, false));
  BOOST_TEST(!db.write.write(*second));
  auto p = db.read->packet_by_seq(2);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->prev == id);
  BOOST_TEST(p->meta_parents == std::vector<std::string>{id});
  BOOST_TEST(verify(*db.read).ok);
}

BOOST_FIXTURE_TEST_CASE(the_write_queue_writes_in_order_and_reports_each, fixture) {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<uint64_t> reported;
  std::vector<std::string> ids;
  {
    write_queue q{db.write, [&](uint64_t token, caf::error err) {
                    BOOST_CHECK(!err);
                    std::lock_guard<std::mutex> guard{mtx};
                    reported.push_back(token);
                    cv.notify_all();
                  }};
    for (uint64_t n = 0; n < 50; ++n) {
      commit_batch b;
      auto i = b.add(make("task.created", {"task-" + std::to_string(n)}));
      b.put(table::tasks, "task-" + std::to_string(n), "{}", i);
      auto sealed = db.write.seal(b);
      BOOST_REQUIRE(sealed);
      ids.push_back(sealed->receipt().ids.at(0));
      q.push(n, std::move(*sealed));
    }
    // An empty commit is reported in its turn too.
    commit_batch empty;
    auto nothing = db.write.seal(empty);
    BOOST_REQUIRE(nothing);
    BOOST_TEST(nothing->empty());
    q.push(50, std::move(*nothing));
    std::unique_lock<std::mutex> lock{mtx};
    BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds{30},
                              [&] { return reported.size() == 51; }));
    BOOST_TEST(q.write_seconds() >= 0.0);
  }
  for (uint64_t n = 0; n <= 50; ++n)
    BOOST_TEST(reported[n] == n);
  BOOST_TEST(*db.read->head() == ids.back());
  BOOST_TEST(static_cast<bool>(db.read->get(table::tasks, "task-49")));
  BOOST_TEST(verify(*db.read).ok);
}

// -- verify beside a committer ---------------------------------------------------

namespace {

/// Commits batches of three packets, each with its task row, the first
/// naming the previous batch's last packet as a parent, until `stop` or
/// `limit` batches.
void commit_until(committer& w, const std::atomic<bool>& stop,
                  std::atomic<uint64_t>& batches, std::string& error,
                  uint64_t limit) {
  std::string earlier = w.head();
  for (uint64_t n = 0; !stop.load() && n < limit; ++n) {
    commit_batch b;
    std::vector<size_t> in_batch;
    for (size_t k = 0; k < 3; ++k) {
      auto task = "task-" + std::to_string(n) + "-" + std::to_string(k);
      auto p = make("task.created", {task, "asset-shared"});
      if (k == 0 && !earlier.empty())
        p.meta_parents.push_back(earlier);
      auto i = b.add(std::move(p), k == 0 ? std::vector<size_t>{}
                                          : std::vector<size_t>{k - 1});
      b.put(table::tasks, task, R"({"n":)" + std::to_string(n) + "}", i);
      b.put(table::assets, "asset-shared", R"({"holds":)" + std::to_string(n) + "}", i);
    }
    auto r = w.commit(b);
    if (!r) {
      error = contracts::render_error(r.error().code(), r.error().category(),
                                      r.error().context());
      return;
    }
    earlier = r->ids.back();
    ++batches;
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(verify_is_ok_while_a_committer_writes_beside_it) {
  // Before verify read one view, the head, the counters and the indexes
  // saw commits the log pass had not: a live database looked corrupt.
  temp_dir dir;
  auto db = storage::testing::committer_door::open(dir.str(), {.sync = false});
  BOOST_REQUIRE(db);
  constexpr uint64_t batches_to_write = 3000;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> batches{0};
  std::string error;
  std::thread writer{[&] {
    commit_until(db->write, stop, batches, error, batches_to_write);
  }};
  while (batches.load() < 5 && error.empty())
    std::this_thread::yield();
  // Verify round after round while the committer writes (each round sees
  // a longer log), at least 20 rounds.
  uint64_t last_packets = 0;
  int rounds = 0;
  int during_writes = 0;
  int broken = 0;
  std::string first_reason;
  while (rounds < 20 || (batches.load() < batches_to_write && error.empty())) {
    bool writing = batches.load() < batches_to_write;
    auto report = verify(*db->read);
    ++rounds;
    if (writing && batches.load() < batches_to_write)
      ++during_writes;
    if (!report.ok && broken++ == 0)
      first_reason = report.reason;
    BOOST_CHECK_GE(report.packets, last_packets);
    last_packets = report.packets;
  }
  stop = true;
  writer.join();
  BOOST_REQUIRE_MESSAGE(error.empty(), error);
  BOOST_TEST_MESSAGE(rounds << " verifies, " << during_writes
                            << " while the committer wrote");
  BOOST_CHECK_MESSAGE(broken == 0, broken << " of " << rounds
                                          << " verifies beside the committer "
                                             "were not ok; the first: "
                                          << first_reason);
  BOOST_CHECK_GT(during_writes, 0);
  auto final_report = verify(*db->read);
  BOOST_CHECK_MESSAGE(final_report.ok, final_report.reason);
  BOOST_CHECK_EQUAL(final_report.packets, db->write.next_seq() - 1);
}

BOOST_FIXTURE_TEST_CASE(verify_by_a_second_process_reader_is_ok_beside_the_committer, fixture) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> batches{0};
  std::string error;
  std::thread writer{[&] { commit_until(db.write, stop, batches, error, 1000); }};
  while (batches.load() < 2 && error.empty())
    std::this_thread::yield();
  auto r = open_reader(dir.str());
  BOOST_REQUIRE(r);
  int broken = 0;
  std::string first_reason;
  for (int round = 0; round < 20; ++round) {
    auto report = verify(**r);
    if (!report.ok && broken++ == 0)
      first_reason = report.reason;
  }
  stop = true;
  writer.join();
  BOOST_REQUIRE_MESSAGE(error.empty(), error);
  BOOST_CHECK_MESSAGE(broken == 0, broken << " of 20 not ok; the first: "
                                          << first_reason);
}

// -- the rows packets record -------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_packet_records_the_digest_of_each_row_it_justifies, fixture) {
  commit_batch b;
  auto i = b.add(make("task.created", {"task-1", "asset-1"}));
  b.put(table::tasks, "task-1", R"({"status":"READY"})", i);
  b.put(table::assets, "asset-1", R"({"holds":1})", i);
  auto j = b.add(make("asset.deleted", {"asset-2"}));
  b.erase(table::assets, "asset-2", j);
  b.add(make("note", {"task-1"}));
  auto ids = commit(b).ids;
  auto rows_of = [&](const std::string& id) {
    auto p = db.read->packet_by_id(id);
    BOOST_REQUIRE(p);
    auto payload = json::parse(p->payload);
    BOOST_REQUIRE(payload);
    BOOST_CHECK(payload.doc->find("n") != nullptr); // the caller's members stay
    auto* rows = payload.doc->find("_rows");
    return rows == nullptr ? json::value{} : *rows;
  };
  auto first = rows_of(ids[0]);
  BOOST_CHECK_EQUAL(first.find("tasks")->find("task-1")->as_string(),
                    contracts::to_hex(contracts::sha256(R"({"status":"READY"})")));
  BOOST_CHECK_EQUAL(first.find("assets")->find("asset-1")->as_string(),
                    contracts::to_hex(contracts::sha256(R"({"holds":1})")));
  BOOST_CHECK(rows_of(ids[1]).find("assets")->find("asset-2")->is_null());
  BOOST_CHECK(rows_of(ids[2]).is_null()); // it justifies no row
  auto report = verify(*db.read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.rows, 2u);
}

BOOST_FIXTURE_TEST_CASE(only_the_written_change_of_a_row_is_recorded, fixture) {
  // The last change of a row in a batch is the one written, even when a
  // later packet changed it before: the log's last record of the row must be
  // the row it holds.
  commit_batch b;
  auto early = b.add(make("a", {"task-1"}));
  auto late = b.add(make("b", {"task-1"}));
  b.put(table::tasks, "task-1", R"({"v":"late"})", late);
  b.put(table::tasks, "task-1", R"({"v":"early"})", early);
  commit(b);
  BOOST_CHECK_EQUAL(*db.read->get(table::tasks, "task-1"), R"({"v":"early"})");
  auto report = verify(*db.read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
  BOOST_CHECK_EQUAL(report.rows, 1u);
}

BOOST_FIXTURE_TEST_CASE(a_payload_may_not_carry_the_committers_rows_member, fixture) {
  for (std::string payload : {R"({"_rows":{}})", R"({"a":1,"\u005frows":{"tasks":{}}})"}) {
    commit_batch b;
    auto p = make("x", {"task-1"});
    p.payload = payload;
    b.add(std::move(p));
    auto r = db.write.commit(b);
    BOOST_REQUIRE(!r);
    BOOST_CHECK(is(r.error(), ec::invalid_argument));
  }
  // A member of that name deeper down is the caller's business.
  commit_batch b;
  auto p = make("x", {"task-1"});
  p.payload = R"({"metrics":{"_rows":3}})";
  b.add(std::move(p));
  commit(b);
  BOOST_CHECK(verify(*db.read).ok);
}

// -- the chain witness ---------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(the_witness_follows_every_synced_write, fixture) {
  auto none = read_witness(dir.str());
  BOOST_REQUIRE(none);
  BOOST_CHECK(!*none);
  for (int n = 0; n < 3; ++n) {
    commit_batch b;
    b.add(make("a", {"x"}));
    b.add(make("b", {"x"}));
    auto receipt = commit(b);
    BOOST_REQUIRE(!db.write.flush_witness());
    auto w = read_witness(dir.str());
    BOOST_REQUIRE(w && *w);
    BOOST_CHECK_EQUAL((*w)->packets, receipt.last_seq);
    BOOST_CHECK_EQUAL((*w)->head, receipt.ids.back());
  }
  auto report = verify(*db.read);
  BOOST_REQUIRE(report.ok);
  BOOST_REQUIRE(report.witness);
  BOOST_CHECK_EQUAL(report.witness->packets, 6u);
  // An unsynced write leaves the witness where it was: behind, never ahead.
  commit_batch b;
  b.add(make("c", {"x"}));
  auto sealed = db.write.seal(b);
  BOOST_REQUIRE(sealed);
  BOOST_REQUIRE(!db.write.write(*sealed, false));
  BOOST_REQUIRE(!db.write.flush_witness());
  BOOST_CHECK_EQUAL((*read_witness(dir.str()))->packets, 6u);
}

BOOST_AUTO_TEST_CASE(an_unsynced_database_gets_its_witness_when_the_committer_closes) {
  temp_dir dir;
  std::string head;
  {
    auto db = storage::testing::committer_door::open(dir.str(), {.sync = false});
    BOOST_REQUIRE(db);
    commit_batch b;
    b.add(make("a", {"x"}));
    head = db->write.commit(b)->ids.back();
    // Nothing synced the log yet: no witness may claim it.
    BOOST_CHECK(!*read_witness(dir.str()));
  }
  auto w = read_witness(dir.str());
  BOOST_REQUIRE(w && *w);
  BOOST_CHECK_EQUAL((*w)->packets, 1u);
  BOOST_CHECK_EQUAL((*w)->head, head);
}

BOOST_FIXTURE_TEST_CASE(a_witness_kept_elsewhere_is_checked_too, fixture) {
  commit_batch b;
  b.add(make("a", {"x"}));
  auto receipt = commit(b);
  verify_options options;
  options.outside_witness = chain_witness{1, receipt.ids.back()};
  BOOST_CHECK(verify(*db.read, options).ok);
  // An outside witness that knew of more packets: the log lost them.
  options.outside_witness = chain_witness{3, receipt.ids.back()};
  auto report = verify(*db.read, options);
  BOOST_CHECK(!report.ok);
  BOOST_CHECK(report.code == ec::corruption);
  BOOST_CHECK_EQUAL(report.missing, 2u);
  BOOST_CHECK_EQUAL(report.broken_seq, 2u);
  // One that names another packet at its count: the log was rewritten.
  options.outside_witness = chain_witness{1, std::string(64, 'a')};
  report = verify(*db.read, options);
  BOOST_CHECK(!report.ok);
  BOOST_CHECK_EQUAL(report.broken_seq, 1u);
  BOOST_TEST_MESSAGE("verify: " << report.reason);
}

BOOST_AUTO_TEST_CASE(a_witness_survives_a_torn_write_of_one_slot) {
  temp_dir dir;
  {
    auto db = storage::testing::committer_door::open(dir.str());
    BOOST_REQUIRE(db);
    for (int n = 0; n < 3; ++n) {
      commit_batch b;
      b.add(make("a", {"x"}));
      BOOST_REQUIRE(db->write.commit(b));
      // One store per commit (the keeper would otherwise skip to the newest).
      BOOST_REQUIRE(!db->write.flush_witness());
    }
  }
  auto path = witness_path(dir.str());
  auto before = read_witness(dir.str());
  BOOST_REQUIRE(before && *before && (*before)->packets == 3u);
  // Tear the slot holding packet 3 (the third store went to slot 0: the file
  // was made with both, the second store wrote slot 1).
  {
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(30);
    f.write("XXXX", 4);
  }
  auto after = read_witness(dir.str());
  BOOST_REQUIRE(after && *after);
  BOOST_CHECK_EQUAL((*after)->packets, 2u); // behind, never wrong
  {
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(4096 + 30);
    f.write("XXXX", 4);
  }
  auto none = read_witness(dir.str());
  BOOST_REQUIRE(!none);
  BOOST_CHECK(is(none.error(), ec::corruption));
}

// -- failed writes ---------------------------------------------------------------------

namespace {

/// The size of the largest file of the database (its write-ahead log, or
/// RocksDB's info LOG, which must stay writable too).
uintmax_t largest_file(const std::string& dir) {
  uintmax_t size = 0;
  for (auto& e : std::filesystem::directory_iterator{dir})
    if (e.is_regular_file())
      size = std::max(size, e.file_size());
  return size;
}

/// Makes writes of this process past `limit` bytes into any file fail
/// (EFBIG), until destroyed.
struct file_size_limit {
  rlimit old{};
  void (*old_handler)(int) = nullptr;
  explicit file_size_limit(rlim_t limit) {
    ::getrlimit(RLIMIT_FSIZE, &old);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit now = old;
    now.rlim_cur = limit;
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &now) == 0);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
};

sealed_commit seal_one(committer& w, const std::string& task, size_t pad) {
  commit_batch b;
  auto p = make("task.created", {task});
  p.payload = R"({"pad":")" + std::string(pad, 'x') + R"("})";
  auto i = b.add(std::move(p));
  b.put(table::tasks, task, "{}", i);
  auto sealed = w.seal(b);
  BOOST_REQUIRE(sealed);
  return std::move(*sealed);
}

} // namespace

BOOST_FIXTURE_TEST_CASE(a_failed_write_is_outcome_unknown_and_what_follows_is_not_written, fixture) {
  // A group of three: the first written without sync, the second fails in
  // the log (a file size limit), the third never reaches RocksDB. A client
  // told `storage_error` for the first two would retry work that may be
  // durable.
  std::mutex mtx;
  std::condition_variable cv;
  bool first_reported = false;
  bool release = false;
  std::map<uint64_t, caf::error> reports;
  std::optional<file_size_limit> limit;
  {
    write_queue q{db.write, [&](uint64_t token, caf::error err) {
                    std::unique_lock<std::mutex> lock{mtx};
                    reports.emplace(token, std::move(err));
                    if (token == 0) {
                      // Hold the writer thread here until the next three
                      // are queued, so that it takes them as one group.
                      first_reported = true;
                      cv.notify_all();
                      cv.wait(lock, [&] { return release; });
                    }
                    cv.notify_all();
                  }};
    // Whatever ends this block (a failed REQUIRE throws), the writer thread
    // is released before the queue's destructor joins it.
    struct releaser {
      std::mutex& mtx;
      std::condition_variable& cv;
      bool& release;
      ~releaser() {
        std::lock_guard<std::mutex> lock{mtx};
        release = true;
        cv.notify_all();
      }
    } releases_the_writer{mtx, cv, release};
    q.push(0, seal_one(db.write, "task-0", 10));
    {
      std::unique_lock<std::mutex> lock{mtx};
      BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds{30},
                                [&] { return first_reported; }));
    }
    auto written = largest_file(dir.str());
    BOOST_REQUIRE_GT(written, 0u);
    auto small = seal_one(db.write, "task-1", 10);
    auto big = seal_one(db.write, "task-2", 256 * 1024);
    auto after = seal_one(db.write, "task-3", 10);
    limit.emplace(written + 64 * 1024);
    q.push(1, std::move(small));
    q.push(2, std::move(big));
    q.push(3, std::move(after));
    {
      std::unique_lock<std::mutex> lock{mtx};
      release = true;
      cv.notify_all();
      BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds{30},
                                [&] { return reports.size() == 4; }));
    }
  }
  limit.reset();
  BOOST_CHECK(!reports[0]);
  BOOST_CHECK_MESSAGE(is(reports[1], ec::outcome_unknown),
                      "written before the failure: " << to_string(reports[1]));
  BOOST_CHECK_MESSAGE(is(reports[2], ec::outcome_unknown),
                      "the failed write: " << to_string(reports[2]));
  BOOST_CHECK_MESSAGE(is(reports[3], ec::storage_error),
                      "never written: " << to_string(reports[3]));
  BOOST_CHECK(db.write.failed());
  BOOST_CHECK(!db.write.failed_reason().empty());
  // Nothing more is sealed.
  commit_batch b;
  b.add(make("x"));
  auto refused = db.write.seal(b);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), ec::storage_error));
}

BOOST_FIXTURE_TEST_CASE(commit_reports_a_failed_write_as_outcome_unknown, fixture) {
  commit_batch first;
  first.add(make("a", {"x"}));
  commit(first);
  auto written = largest_file(dir.str());
  commit_batch b;
  auto p = make("b", {"x"});
  p.payload = R"({"pad":")" + std::string(256 * 1024, 'x') + R"("})";
  b.add(std::move(p));
  caf::expected<commit_receipt> r = caf::error{};
  {
    file_size_limit limit{written + 64 * 1024};
    r = db.write.commit(b);
  }
  BOOST_REQUIRE(!r);
  BOOST_CHECK_MESSAGE(is(r.error(), ec::outcome_unknown), to_string(r.error()));
  BOOST_CHECK(db.write.failed());
}
