#define BOOST_TEST_MODULE token_store
#include <boost/test/unit_test.hpp>

// The node's token store (runtime/token_store.hpp): a secret opens what
// its token's row says, as loaded, and as refreshed after a rotation or a
// revocation (directly, or from the committed events); an expired token
// opens nothing; the secrets the node makes and the file it writes them
// to. The rows are committed by Zenith's state on a real database.

#include "contracts/access.hpp"
#include "runtime/token_store.hpp"
#include "tests/actors/test_support.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <sys/stat.h>

using namespace omniva;
using namespace omniva::test_support;
using contracts::role;
using contracts::token_action;
using contracts::token_change;
using runtime::secret_sha256;
using runtime::token_store;

namespace {

/// Zenith's state committing token changes, and a store reading them with
/// a manual clock of its own (the same start as Zenith's).
struct store_fixture : zenith_state_fixture {
  std::shared_ptr<contracts::manual_clock> clock;
  std::unique_ptr<token_store> store;

  store_fixture() : zenith_state_fixture("omniva-token-store-", 7) {
    open();
    clock = std::make_shared<contracts::manual_clock>(
      contracts::timestamp{std::chrono::milliseconds{1'790'000'000'000}});
    store = std::make_unique<token_store>(db->read, clock);
  }

  /// Commits change `c` of token `name` with the hash of `secret`.
  void change(token_action action, std::string name, std::string secret,
              std::optional<role> r = std::nullopt,
              std::optional<std::string> expires = std::nullopt) {
    token_change c;
    c.action = action;
    c.name = std::move(name);
    c.role = r;
    if (action != token_action::revoke)
      c.secret_sha256 = secret_sha256(secret);
    c.expires_at = std::move(expires);
    c.by = "test";
    auto t = st->change_token(c);
    BOOST_REQUIRE_MESSAGE(t, "refused: " << why(t));
    commit();
  }

  /// The name of whom `secret` opens for; "" for nobody.
  std::string who(std::string_view secret) {
    auto p = store->authenticate(secret);
    return p ? p->name + "/" + std::string{to_string(p->role)} : std::string{};
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(token_store_suite, store_fixture)

BOOST_AUTO_TEST_CASE(a_loaded_secret_opens_its_token_and_nothing_else_does) {
  change(token_action::create, "admin", "s-admin", role::admin);
  change(token_action::create, "ci", "s-ci", role::operator_);
  BOOST_CHECK_EQUAL(who("s-ci"), ""); // not loaded yet
  BOOST_REQUIRE(!store->load());
  BOOST_CHECK_EQUAL(store->size(), 2u);
  BOOST_CHECK_EQUAL(who("s-admin"), "admin/admin");
  BOOST_CHECK_EQUAL(who("s-ci"), "ci/operator");
  BOOST_CHECK_EQUAL(who("s-c"), "");
  BOOST_CHECK_EQUAL(who(""), "");
  // The hash is not a secret that opens anything.
  BOOST_CHECK_EQUAL(who(secret_sha256("s-ci")), "");
}

BOOST_AUTO_TEST_CASE(an_expired_token_opens_nothing) {
  change(token_action::create, "short", "s-short", role::viewer,
         "2026-09-21T15:13:20.000Z");
  BOOST_REQUIRE(!store->load());
  BOOST_CHECK_EQUAL(who("s-short"), "short/viewer");
  clock->advance(std::chrono::minutes{59});
  BOOST_CHECK_EQUAL(who("s-short"), "short/viewer");
  clock->advance(std::chrono::minutes{1});
  BOOST_CHECK_EQUAL(who("s-short"), "");
}

BOOST_AUTO_TEST_CASE(a_refresh_follows_a_rotation_and_a_revocation) {
  change(token_action::create, "admin", "s-admin", role::admin);
  change(token_action::create, "ci", "s-old", role::viewer);
  BOOST_REQUIRE(!store->load());
  change(token_action::rotate, "ci", "s-new", role::operator_);
  BOOST_CHECK_EQUAL(who("s-old"), "ci/viewer"); // until refreshed
  BOOST_REQUIRE(!store->refresh("ci"));
  BOOST_CHECK_EQUAL(who("s-old"), "");
  BOOST_CHECK_EQUAL(who("s-new"), "ci/operator");
  change(token_action::revoke, "ci", "");
  BOOST_REQUIRE(!store->refresh("ci"));
  BOOST_CHECK_EQUAL(who("s-new"), "");
  BOOST_CHECK_EQUAL(store->size(), 1u);
  // A refresh of a token that never existed changes nothing.
  BOOST_REQUIRE(!store->refresh("ghost"));
  BOOST_CHECK_EQUAL(who("s-admin"), "admin/admin");
}

BOOST_AUTO_TEST_CASE(committed_token_events_refresh_their_tokens) {
  change(token_action::create, "admin", "s-admin", role::admin);
  BOOST_REQUIRE(!store->load());
  change(token_action::create, "ci", "s-ci", role::viewer);
  // Not a token event, or a subject that is no token: nothing is read.
  store->on_events({{"task.created", "", "token:ci", 1, "", ""},
                    {"token.created", "", "ci", 2, "", ""}});
  BOOST_CHECK_EQUAL(who("s-ci"), "");
  store->on_events({{"token.created", "", "token:ci", 3, "", ""}});
  BOOST_CHECK_EQUAL(who("s-ci"), "ci/viewer");
  change(token_action::revoke, "ci", "");
  store->on_events({{"token.revoked", "", "token:ci", 4, "", ""}});
  BOOST_CHECK_EQUAL(who("s-ci"), "");
}

BOOST_AUTO_TEST_CASE(the_authenticator_asks_the_store) {
  change(token_action::create, "admin", "s-admin", role::admin);
  auto shared = std::make_shared<token_store>(db->read, clock);
  BOOST_REQUIRE(!shared->load());
  auto auth = token_store::authenticator(shared);
  auto p = auth("s-admin");
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->name, "admin");
  BOOST_CHECK(p->role == role::admin);
  BOOST_CHECK(!auth("s-other"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(secrets_are_omv_and_64_hex_digits_and_differ) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto s = runtime::make_token_secret();
    BOOST_REQUIRE(s);
    BOOST_REQUIRE_EQUAL(s->size(), 68u);
    BOOST_CHECK_EQUAL(s->substr(0, 4), "omv_");
    BOOST_CHECK(s->find_first_not_of("0123456789abcdef", 4) == std::string::npos);
    seen.insert(*s);
  }
  BOOST_CHECK_EQUAL(seen.size(), 100u);
}

BOOST_AUTO_TEST_CASE(the_secret_file_is_replaced_whole_with_mode_0600) {
  temp_dir dir{"omniva-token-file-"};
  auto path = (dir.path / "token").string();
  {
    std::ofstream old{path};
    old << "an old secret\n";
  }
  ::chmod(path.c_str(), 0644);
  BOOST_REQUIRE(!runtime::write_secret_file(path, "omv_new"));
  std::ifstream in{path};
  std::string line, rest;
  std::getline(in, line);
  BOOST_CHECK_EQUAL(line, "omv_new");
  BOOST_CHECK(!std::getline(in, rest));
  struct stat st {};
  BOOST_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  BOOST_CHECK(!std::filesystem::exists(path + ".tmp"));
  // A folder that does not exist: an error, nothing written.
  BOOST_CHECK(runtime::write_secret_file((dir.path / "no" / "token").string(), "x"));
}
