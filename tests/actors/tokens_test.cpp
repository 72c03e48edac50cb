#define BOOST_TEST_MODULE tokens
#include <boost/test/unit_test.hpp>

// Zenith's named API tokens (`zenith_state::change_token`): each change is
// a `token.*` packet on subject `token:<name>` with the token's row (put, or
// erased on revoke) in the same commit; packets never carry the secret's
// hash; a name is made once; the last admin that has not expired can be
// neither revoked nor demoted. Every commit is read back and the log
// verified (the fixture's `commit`); one case goes through the actor.

#include "actors/zenith.hpp"
#include "contracts/access.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "tests/actors/test_support.hpp"

#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using contracts::ec;
using contracts::role;
using contracts::token_action;
using contracts::token_change;
using contracts::token_record;

namespace {

/// A SHA-256 in hex, made of `c` (any 64 lowercase hex digits do).
std::string hash_of(char c) {
  return std::string(64, c);
}

token_change create_change(std::string name, role r, char hash,
                    std::optional<std::string> expires = std::nullopt) {
  token_change c;
  c.action = token_action::create;
  c.name = std::move(name);
  c.role = r;
  c.secret_sha256 = hash_of(hash);
  c.expires_at = std::move(expires);
  c.by = "alice";
  return c;
}

token_change revoke_change(std::string name) {
  token_change c;
  c.action = token_action::revoke;
  c.name = std::move(name);
  c.by = "alice";
  return c;
}

token_change rotate_change(std::string name, char hash,
                    std::optional<role> r = std::nullopt,
                    std::optional<std::string> expires = std::nullopt) {
  token_change c;
  c.action = token_action::rotate;
  c.name = std::move(name);
  c.role = r;
  c.secret_sha256 = hash_of(hash);
  c.expires_at = std::move(expires);
  c.by = "alice";
  return c;
}

/// Zenith's state on a fresh database, the clock at 2026-09-21T14:13:20Z.
struct tokens_fixture : zenith_state_fixture {
  tokens_fixture() : zenith_state_fixture("omniva-tokens-", 12) {
    open();
    commit(); // the default policy of a first start
  }

  /// The row of token `name`, parsed; nullopt when there is none.
  std::optional<token_record> row(const std::string& name) {
    auto text = db->read->get(storage::table::tokens, "token:" + name);
    if (!text)
      return std::nullopt;
    auto doc = json::parse(*text);
    BOOST_REQUIRE(doc);
    std::vector<contracts::problem> problems;
    auto t = contracts::token_record_from_json(*doc.doc, problems);
    BOOST_REQUIRE_MESSAGE(t, "the row does not parse: " << *text);
    return t;
  }

  /// The packets of token `name`, in order.
  std::vector<contracts::packet> history(const std::string& name) {
    auto h = db->read->history("token:" + name);
    BOOST_REQUIRE(h);
    return *h;
  }

  /// Applies `c`, requires success, commits; returns the answer.
  token_record apply(const token_change& c) {
    auto t = st->change_token(c);
    BOOST_REQUIRE_MESSAGE(t, "change refused: " << why(t));
    commit();
    return *t;
  }

  /// Applies `c`, requires refusal with `code`, and that nothing was
  /// written; returns the error's problem.
  contracts::problem refuse(const token_change& c, ec code) {
    auto packets = db->read->packet_count();
    auto t = st->change_token(c);
    BOOST_REQUIRE_MESSAGE(!t, "the change was accepted");
    BOOST_CHECK_MESSAGE(is(t.error(), code), "got " << text_of(t.error()));
    BOOST_CHECK(st->batch.empty());
    commit();
    BOOST_CHECK_EQUAL(*db->read->packet_count(), *packets);
    auto p = contracts::problem_from_error(t.error());
    BOOST_REQUIRE(p);
    return *p;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(zenith_tokens, tokens_fixture)

BOOST_AUTO_TEST_CASE(a_created_token_is_a_row_and_a_packet_without_its_hash) {
  auto t = apply(create_change("ci-bot", role::operator_, 'a', "2030-01-01T00:00:00.000Z"));
  BOOST_CHECK_EQUAL(t.name, "ci-bot");
  BOOST_CHECK(t.role == role::operator_);
  BOOST_CHECK_EQUAL(t.created_by, "alice");
  BOOST_CHECK_EQUAL(t.created_at, "2026-09-21T14:13:20.000Z");
  auto r = row("ci-bot");
  BOOST_REQUIRE(r);
  BOOST_CHECK(*r == t);
  BOOST_CHECK_EQUAL(r->secret_sha256, hash_of('a'));
  auto h = history("ci-bot");
  BOOST_REQUIRE_EQUAL(h.size(), 1u);
  BOOST_CHECK_EQUAL(h[0].kind, "token.created");
  auto payload = json::parse(h[0].payload);
  BOOST_REQUIRE(payload);
  BOOST_CHECK_EQUAL(payload.doc->find("name")->as_string(), "ci-bot");
  BOOST_CHECK_EQUAL(payload.doc->find("role")->as_string(), "operator");
  BOOST_CHECK_EQUAL(payload.doc->find("operator")->as_string(), "alice");
  BOOST_CHECK_EQUAL(payload.doc->find("expires_at")->as_string(),
                    "2030-01-01T00:00:00.000Z");
  BOOST_CHECK(h[0].payload.find(hash_of('a')) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(creating_a_name_that_exists_is_immutable_ref) {
  apply(create_change("ci", role::viewer, 'a'));
  auto p = refuse(create_change("ci", role::admin, 'b'), ec::immutable_ref);
  BOOST_CHECK_EQUAL(p.pointer, "/name");
  BOOST_CHECK(row("ci")->role == role::viewer);
}

BOOST_AUTO_TEST_CASE(a_bad_change_is_refused_with_its_pointer) {
  BOOST_CHECK_EQUAL(refuse(create_change("CI", role::viewer, 'a'), ec::invalid_argument).pointer,
                    "/name");
  BOOST_CHECK_EQUAL(refuse(create_change("", role::viewer, 'a'), ec::invalid_argument).pointer,
                    "/name");
  BOOST_CHECK_EQUAL(refuse(create_change(std::string(65, 'a'), role::viewer, 'a'),
                           ec::invalid_argument).pointer,
                    "/name");
  auto no_role = create_change("ci", role::viewer, 'a');
  no_role.role.reset();
  BOOST_CHECK_EQUAL(refuse(no_role, ec::missing_field).pointer, "/role");
  BOOST_CHECK_EQUAL(refuse(create_change("ci", role::viewer, 'A'), ec::invalid_argument).pointer,
                    "/secret_sha256");
  BOOST_CHECK_EQUAL(refuse(create_change("ci", role::viewer, 'a', "2020-01-01T00:00:00Z"),
                           ec::invalid_argument).pointer,
                    "/expires_at");
  BOOST_CHECK_EQUAL(refuse(create_change("ci", role::viewer, 'a', "tomorrow"),
                           ec::invalid_argument).pointer,
                    "/expires_at");
  auto nobody = create_change("ci", role::viewer, 'a');
  nobody.by.clear();
  BOOST_CHECK_EQUAL(refuse(nobody, ec::missing_field).pointer, "/by");
  BOOST_CHECK(!row("ci"));
}

BOOST_AUTO_TEST_CASE(a_secret_another_token_has_is_refused) {
  apply(create_change("one", role::viewer, 'a'));
  BOOST_CHECK_EQUAL(refuse(create_change("two", role::viewer, 'a'), ec::invalid_argument).pointer,
                    "/secret_sha256");
  apply(create_change("two", role::viewer, 'b'));
  refuse(rotate_change("two", 'a'), ec::invalid_argument);
}

BOOST_AUTO_TEST_CASE(revoking_removes_the_row_and_keeps_the_history) {
  apply(create_change("admin", role::admin, 'a'));
  apply(create_change("ci", role::operator_, 'b'));
  auto t = apply(revoke_change("ci"));
  BOOST_CHECK_EQUAL(t.name, "ci");
  BOOST_CHECK(!row("ci"));
  auto h = history("ci");
  BOOST_REQUIRE_EQUAL(h.size(), 2u);
  BOOST_CHECK_EQUAL(h[1].kind, "token.revoked");
  // The revocation follows the creation in the lineage.
  BOOST_REQUIRE_EQUAL(h[1].meta_parents.size(), 1u);
  BOOST_CHECK_EQUAL(h[1].meta_parents[0], h[0].id);
  // The name is free again.
  apply(create_change("ci", role::viewer, 'c'));
  BOOST_CHECK_EQUAL(history("ci").size(), 3u);
}

BOOST_AUTO_TEST_CASE(revoking_or_rotating_an_unknown_token_is_not_found) {
  refuse(revoke_change("ghost"), ec::not_found);
  refuse(rotate_change("ghost", 'a'), ec::not_found);
}

BOOST_AUTO_TEST_CASE(rotating_changes_the_hash_and_keeps_the_rest) {
  apply(create_change("admin", role::admin, 'a'));
  auto before = apply(create_change("ci", role::viewer, 'b', "2030-01-01T00:00:00.000Z"));
  auto after = apply(rotate_change("ci", 'c', role::operator_));
  BOOST_CHECK_EQUAL(after.secret_sha256, hash_of('c'));
  BOOST_CHECK(after.role == role::operator_);
  BOOST_CHECK_EQUAL(after.created_at, before.created_at);
  BOOST_CHECK_EQUAL(after.created_by, before.created_by);
  BOOST_CHECK(after.expires_at == before.expires_at);
  BOOST_CHECK(*row("ci") == after);
  auto h = history("ci");
  BOOST_REQUIRE_EQUAL(h.size(), 2u);
  BOOST_CHECK_EQUAL(h[1].kind, "token.rotated");
  auto payload = json::parse(h[1].payload);
  BOOST_CHECK_EQUAL(payload.doc->find("role")->as_string(), "operator");
  BOOST_CHECK_EQUAL(payload.doc->find("previous_role")->as_string(), "viewer");
  BOOST_CHECK(h[1].payload.find(hash_of('c')) == std::string::npos);
  BOOST_CHECK(h[1].payload.find(hash_of('b')) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_last_admin_can_be_neither_revoked_nor_demoted) {
  apply(create_change("admin", role::admin, 'a'));
  auto p = refuse(revoke_change("admin"), ec::illegal_transition);
  BOOST_CHECK(p.message.find("last admin") != std::string::npos);
  refuse(rotate_change("admin", 'b', role::operator_), ec::illegal_transition);
  // Its secret may change all the same.
  apply(rotate_change("admin", 'b'));
  // With a second admin, either may go.
  apply(create_change("root", role::admin, 'c'));
  apply(rotate_change("admin", 'd', role::viewer));
  refuse(revoke_change("root"), ec::illegal_transition);
  apply(revoke_change("admin"));
}

BOOST_AUTO_TEST_CASE(an_expired_admin_does_not_count_as_another_admin) {
  apply(create_change("admin", role::admin, 'a'));
  apply(create_change("old", role::admin, 'b', "2026-09-22T00:00:00Z"));
  apply(revoke_change("admin")); // "old" is still valid
  apply(create_change("admin", role::admin, 'c'));
  auto& clock = dynamic_cast<contracts::manual_clock&>(*st->clock);
  clock.advance(std::chrono::hours{48});
  refuse(revoke_change("admin"), ec::illegal_transition);
  // An expired token is rotated with a new expiry, or not at all.
  BOOST_CHECK_EQUAL(refuse(rotate_change("old", 'd'), ec::invalid_argument).pointer,
                    "/expires_at");
  apply(rotate_change("old", 'd', std::nullopt, "2027-01-01T00:00:00Z"));
  apply(revoke_change("admin"));
}

BOOST_AUTO_TEST_CASE(tokens_survive_a_restart) {
  apply(create_change("ci", role::operator_, 'a'));
  close();
  open();
  BOOST_REQUIRE_EQUAL(st->tokens.count("ci"), 1u);
  BOOST_CHECK(st->tokens["ci"].role == role::operator_);
  refuse(create_change("ci", role::viewer, 'b'), ec::immutable_ref);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_actor_answers_a_token_change_once_it_is_committed) {
  zenith_actor_fixture f{"omniva-tokens-actor-"};
  f.spawn_zenith({});
  f.sched.run();
  auto c = create_change("ci", role::operator_, 'e');
  std::optional<token_record> answer;
  auto h = f.self->request(f.zenith, caf::infinite, atom::token_v, c);
  f.sched.run();
  h.receive([&](token_record& t) { answer = t; },
            [&](caf::error& e) { BOOST_FAIL("refused: " << text_of(e)); });
  BOOST_REQUIRE(answer);
  BOOST_CHECK_EQUAL(answer->name, "ci");
  BOOST_CHECK(answer->role == role::operator_);
  BOOST_CHECK(f.db->read->get(storage::table::tokens, "token:ci"));
}
