#define BOOST_TEST_MODULE asset_ledger
#include <boost/test/unit_test.hpp>

// The asset ledger on CAF's deterministic scheduler: files under the allowed
// roots are copied into the store, hashed and typed, then recorded through
// Zenith; what it refuses is refused with a code and the pointer of the
// request member at fault, and Zenith never hears of it. Zenith is a stand-in
// here that records what the ledger asks it to add and answers as Zenith
// does (an id, AVAILABLE, a time), so each case sees exactly what the ledger
// sent.

#include "actors/asset_ledger.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/packet.hpp"
#include "storage/asset_store.hpp"
#include "tests/actors/test_support.hpp"
#include "tests/test_print.hpp"

#include <caf/event_based_actor.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace omniva::contracts {

// Lets Boost.Test print kinds in failure messages.
inline std::ostream& boost_test_print_type(std::ostream& os, asset_kind x) {
  return os << to_string(x);
}

} // namespace omniva::contracts

using namespace omniva;
using contracts::asset_kind;
using contracts::asset_record;
using contracts::ec;
using test_support::temp_dir;
using test_support::testing_config;
using test_support::why;

namespace fs = std::filesystem;

namespace {

// -- helpers ------------------------------------------------------------------------

fs::path write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  return path;
}

std::string read(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string hex_sha256(const std::string& bytes) {
  return contracts::to_hex(contracts::sha256(bytes));
}

/// What the stand-in Zenith was asked to add, in order, and for whom.
struct zenith_log {
  std::vector<asset_record> added;
  std::vector<std::string> operators;
};

/// The label that makes the stand-in refuse, as Zenith refuses an asset it
/// cannot record.
constexpr const char* refused_label = "refused by zenith";

/// A stand-in for Zenith's `add` handler: records the asset and answers it
/// with an id, AVAILABLE and a creation time, as Zenith's reply carries them.
caf::behavior recording_zenith(caf::event_based_actor*, std::shared_ptr<zenith_log> log) {
  return {
    [log](atom::add, asset_record& a,
          const std::string& by) -> caf::result<asset_record> {
      log->operators.push_back(by);
      if (a.label == refused_label)
        return contracts::make_error(ec::storage_error, "the commit failed");
      a.asset_id = "00000000-0000-4000-8000-" + std::string(11, '0')
                   + std::to_string(log->added.size() + 1);
      a.status = contracts::asset_status::available;
      a.created_at = "2024-01-01T00:00:00.000Z";
      log->added.push_back(a);
      return a;
    },
  };
}

/// The ledger over a store in `data`, allowing files under `inbox`, and the
/// stand-in Zenith, on the test coordinator.
struct fixture {
  temp_dir data;
  temp_dir inbox;
  temp_dir elsewhere;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  std::shared_ptr<zenith_log> log = std::make_shared<zenith_log>();
  std::shared_ptr<storage::asset_store> store;
  actors::ledger_actor ledger;
  caf::actor zenith;

  fixture()
    : sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys, true) {
    store = std::make_shared<storage::asset_store>(data.path.string());
    zenith = sys.spawn(recording_zenith, log);
    ledger = sys.spawn(actors::asset_ledger, store,
                       std::vector<std::string>{inbox.path.string()},
                       caf::actor_cast<actors::zenith_actor>(zenith));
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(zenith, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Sends `xs` to the ledger, runs everything, and returns its answer.
  template <class... Ts>
  caf::expected<asset_record> ask(Ts... xs) {
    // Every request is made on behalf of the operator "tester".
    auto h = self->request(ledger, caf::infinite, xs..., std::string{"tester"});
    sched.run();
    caf::expected<asset_record> out{asset_record{}};
    h.receive([&](asset_record& a) { out = std::move(a); },
              [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  /// The problem an answer that is an error carries.
  static contracts::problem problem_of(const caf::expected<asset_record>& answer) {
    BOOST_REQUIRE_MESSAGE(!answer, "the ledger accepted what it should refuse");
    auto p = contracts::problem_from_error(answer.error());
    BOOST_REQUIRE(p);
    return *p;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(asset_ledger_tests, fixture)

// -- files on the node's machine -------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_file_under_an_allowed_root_is_stored_hashed_typed_and_recorded) {
  const std::string content = R"({"frames": [1, 2, 3]})" "\n";
  auto file = write(inbox.path / "clips" / "meta.json", content);
  auto answer = ask(atom::add_v, file.string(), std::string{}, std::string{});
  BOOST_REQUIRE_MESSAGE(answer, why(answer));
  // Zenith was asked once, with what the store made of the file, for the
  // operator who asked the ledger.
  BOOST_REQUIRE_EQUAL(log->added.size(), 1u);
  BOOST_CHECK_EQUAL(log->operators.front(), "tester");
  auto& sent = log->added.front();
  BOOST_CHECK_EQUAL(sent.kind, asset_kind::file);
  BOOST_CHECK_EQUAL(sent.sha256, hex_sha256(content));
  BOOST_CHECK_EQUAL(sent.media_type, "application/json");
  BOOST_REQUIRE(sent.size.has_value());
  BOOST_CHECK_EQUAL(*sent.size, content.size());
  BOOST_CHECK_EQUAL(sent.label, "meta.json"); // no label: the file name
  BOOST_CHECK_EQUAL(sent.uri, store->blob_path(sent.sha256));
  BOOST_CHECK_EQUAL(read(sent.uri), content);
  // The answer is Zenith's: the stored record.
  BOOST_CHECK_EQUAL(answer->asset_id, sent.asset_id);
  BOOST_CHECK(answer->status == contracts::asset_status::available);
  // The store holds a copy: editing the user's file changes nothing.
  write(file, "changed");
  BOOST_CHECK_EQUAL(read(sent.uri), content);
}

BOOST_AUTO_TEST_CASE(a_given_media_type_and_label_are_kept) {
  auto file = write(inbox.path / "clip.bin", "\x01\x02\x03");
  auto answer = ask(atom::add_v, file.string(), std::string{"video/mp4"},
                    std::string{"first clip"});
  BOOST_REQUIRE(answer);
  BOOST_CHECK_EQUAL(answer->media_type, "video/mp4");
  BOOST_CHECK_EQUAL(answer->label, "first clip");
}

BOOST_AUTO_TEST_CASE(a_path_outside_the_roots_is_refused_at_path_and_never_recorded) {
  auto file = write(elsewhere.path / "secret.txt", "not yours");
  auto p = problem_of(ask(atom::add_v, file.string(), std::string{}, std::string{}));
  BOOST_CHECK_EQUAL(p.code, ec::path_not_allowed);
  BOOST_CHECK_EQUAL(p.pointer, "/path");
  // A way out of the root through ".." is outside too.
  auto sneaky = (inbox.path / ".." / elsewhere.path.filename() / "secret.txt").string();
  auto q = problem_of(ask(atom::add_v, sneaky, std::string{}, std::string{}));
  BOOST_CHECK_EQUAL(q.code, ec::path_not_allowed);
  BOOST_CHECK_EQUAL(q.pointer, "/path");
  BOOST_CHECK(log->added.empty());
}

BOOST_AUTO_TEST_CASE(a_path_with_a_nul_byte_is_refused_at_path_saying_so) {
  auto path = (inbox.path / "a.txt").string() + std::string{"\0.txt", 5};
  auto p = problem_of(ask(atom::add_v, path, std::string{}, std::string{}));
  BOOST_CHECK_EQUAL(p.code, ec::invalid_argument);
  BOOST_CHECK_EQUAL(p.pointer, "/path");
  BOOST_CHECK_EQUAL(p.message, "a file path must not contain a NUL byte");
  BOOST_CHECK(log->added.empty());
}

BOOST_AUTO_TEST_CASE(the_node_s_token_is_refused_at_path_even_under_a_root) {
  // A ledger whose roots include the data folder, as the default roots do.
  auto token = write(data.path / "token", "0123456789abcdef0123456789abcdef\n");
  auto open = sys.spawn(actors::asset_ledger, store,
                        storage::default_allowed_roots(data.path.string()),
                        caf::actor_cast<actors::zenith_actor>(zenith));
  sched.run();
  auto h = self->request(open, caf::infinite, atom::add_v, token.string(),
                         std::string{}, std::string{}, std::string{"tester"});
  sched.run();
  caf::expected<asset_record> answer{asset_record{}};
  h.receive([&](asset_record& a) { answer = std::move(a); },
            [&](caf::error& e) { answer = std::move(e); });
  auto p = problem_of(answer);
  BOOST_CHECK_EQUAL(p.code, ec::path_not_allowed);
  BOOST_CHECK_EQUAL(p.pointer, "/path");
  BOOST_CHECK(p.message.find("the node's own secret") != std::string::npos);
  BOOST_CHECK(log->added.empty());
  caf::anon_send_exit(open, caf::exit_reason::user_shutdown);
  sched.run();
}

BOOST_AUTO_TEST_CASE(a_relative_or_missing_path_is_refused_at_path) {
  auto relative = problem_of(ask(atom::add_v, std::string{"clips/a.mp4"}, std::string{},
                                 std::string{}));
  BOOST_CHECK_EQUAL(relative.code, ec::invalid_argument);
  BOOST_CHECK_EQUAL(relative.pointer, "/path");
  auto missing = problem_of(ask(atom::add_v, (inbox.path / "nothing.mp4").string(),
                                std::string{}, std::string{}));
  BOOST_CHECK_EQUAL(missing.code, ec::not_found);
  BOOST_CHECK_EQUAL(missing.pointer, "/path");
  BOOST_CHECK(log->added.empty());
}

BOOST_AUTO_TEST_CASE(a_malformed_media_type_is_refused_at_media_type) {
  auto file = write(inbox.path / "a.txt", "text");
  auto p = problem_of(ask(atom::add_v, file.string(), std::string{"mp4"}, std::string{}));
  BOOST_CHECK_EQUAL(p.code, ec::invalid_media_type);
  BOOST_CHECK_EQUAL(p.pointer, "/media_type");
  BOOST_CHECK(log->added.empty());
}

BOOST_AUTO_TEST_CASE(the_same_content_twice_is_one_blob) {
  auto a = ask(atom::add_v, write(inbox.path / "a.txt", "same\n").string(), std::string{},
               std::string{});
  auto b = ask(atom::add_v, write(inbox.path / "b.txt", "same\n").string(), std::string{},
               std::string{});
  BOOST_REQUIRE(a && b);
  BOOST_CHECK_EQUAL(a->uri, b->uri);
  BOOST_CHECK_EQUAL(a->media_type, "text/plain");
  BOOST_CHECK_EQUAL(log->added.size(), 2u); // two assets, one blob
  BOOST_CHECK_NE(a->asset_id, b->asset_id);
}

BOOST_AUTO_TEST_CASE(zenith_refusing_the_record_is_the_answer) {
  auto file = write(inbox.path / "a.txt", "text");
  auto answer = ask(atom::add_v, file.string(), std::string{}, std::string{refused_label});
  BOOST_REQUIRE(!answer);
  BOOST_CHECK_EQUAL(problem_of(answer).code, ec::storage_error);
}

// -- uploads -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_upload_is_moved_into_the_store_and_recorded) {
  auto temp = write(fs::path{store->temp_dir()} / "upload-1", "uploaded bytes");
  auto answer = ask(atom::upload_v, temp.string(), std::string{}, std::string{"up"});
  BOOST_REQUIRE(answer);
  BOOST_CHECK_EQUAL(answer->sha256, hex_sha256("uploaded bytes"));
  BOOST_CHECK_EQUAL(answer->label, "up");
  BOOST_CHECK_EQUAL(read(answer->uri), "uploaded bytes");
  BOOST_CHECK(!fs::exists(temp)); // moved, not copied
}

BOOST_AUTO_TEST_CASE(a_refused_upload_leaves_nothing_behind) {
  auto temp = write(fs::path{store->temp_dir()} / "upload-2", "bytes");
  auto p = problem_of(ask(atom::upload_v, temp.string(), std::string{"not a type"},
                          std::string{}));
  BOOST_CHECK_EQUAL(p.code, ec::invalid_media_type);
  BOOST_CHECK(!fs::exists(temp));
  BOOST_CHECK(log->added.empty());
}

// -- values --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_value_of_its_dtype_is_recorded_compact_and_hashed) {
  auto answer = ask(atom::value_v, std::string{R"({ "level" : 0.5 })"}, std::string{"json"},
                    std::string{"settings"});
  BOOST_REQUIRE(answer);
  BOOST_REQUIRE_EQUAL(log->added.size(), 1u);
  auto& sent = log->added.front();
  BOOST_CHECK_EQUAL(sent.kind, asset_kind::value);
  BOOST_CHECK_EQUAL(sent.dtype, "json");
  BOOST_CHECK_EQUAL(sent.value_json, R"({"level":0.5})");
  BOOST_CHECK_EQUAL(sent.sha256, hex_sha256(R"({"level":0.5})"));
  BOOST_REQUIRE(sent.size.has_value());
  BOOST_CHECK_EQUAL(*sent.size, sent.value_json.size());
  BOOST_CHECK_EQUAL(sent.label, "settings");
  BOOST_CHECK(sent.uri.empty());
}

BOOST_AUTO_TEST_CASE(a_value_that_fails_its_dtype_is_refused_with_every_problem) {
  auto p = problem_of(ask(atom::value_v, std::string{R"("twelve")"}, std::string{"int"},
                          std::string{}));
  BOOST_CHECK_EQUAL(p.code, ec::dtype_mismatch);
  BOOST_CHECK_EQUAL(p.pointer, "/value");
  // The same problems `check_value_asset` finds, one error for all of them.
  auto problems = contracts::check_value_asset(R"("twelve")", "int");
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  BOOST_CHECK_EQUAL(p.message, problems.front().message);
  BOOST_CHECK(log->added.empty());
}

BOOST_AUTO_TEST_CASE(a_url_value_must_be_a_url_and_text_must_not_be_one) {
  auto not_url = problem_of(ask(atom::value_v, std::string{R"("just words")"},
                                std::string{"url"}, std::string{}));
  BOOST_CHECK_EQUAL(not_url.code, ec::kind_mismatch);
  BOOST_CHECK_EQUAL(not_url.pointer, "/value");
  auto url = problem_of(ask(atom::value_v, std::string{R"("https://example.com/a")"},
                            std::string{"text"}, std::string{}));
  BOOST_CHECK_EQUAL(url.code, ec::kind_mismatch);
  BOOST_CHECK(ask(atom::value_v, std::string{R"("https://example.com/a")"},
                  std::string{"url"}, std::string{}));
}

BOOST_AUTO_TEST_CASE(an_unknown_dtype_or_text_that_is_not_json_is_refused) {
  auto dtype = problem_of(ask(atom::value_v, std::string{"1"}, std::string{"number"},
                              std::string{}));
  BOOST_CHECK_EQUAL(dtype.code, ec::dtype_mismatch);
  BOOST_CHECK_EQUAL(dtype.pointer, "/dtype");
  auto json = problem_of(ask(atom::value_v, std::string{"{"}, std::string{"json"},
                             std::string{}));
  BOOST_CHECK_EQUAL(json.code, ec::invalid_json);
  BOOST_CHECK_EQUAL(json.pointer, "/value");
  BOOST_CHECK(log->added.empty());
}

BOOST_AUTO_TEST_SUITE_END()

// -- the state without an actor system ---------------------------------------------------

BOOST_AUTO_TEST_CASE(the_state_prepares_records_without_an_actor_system) {
  temp_dir data, inbox;
  actors::asset_ledger_state st;
  st.store = std::make_shared<storage::asset_store>(data.path.string());
  st.allowed_roots = {inbox.path.string()};
  auto file = write(inbox.path / "n.txt", "42\n");
  auto record = st.add_file(file.string(), "", "");
  BOOST_REQUIRE(record);
  BOOST_CHECK_EQUAL(record->media_type, "text/plain"); // a lone JSON scalar stays text
  BOOST_CHECK(record->asset_id.empty()); // Zenith assigns it
  auto value = st.make_value("true", "bool", "flag");
  BOOST_REQUIRE(value);
  BOOST_CHECK_EQUAL(value->value_json, "true");
}
