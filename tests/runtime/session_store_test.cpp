#define BOOST_TEST_MODULE session_store
#include <boost/test/unit_test.hpp>

// The dashboard's browser sessions (runtime/session_store.hpp): a session
// stands for a token by name and ends when it is idle too long, past its
// lifetime, or when its token is revoked, rotated or expires; a login code
// opens one session, once, within its lifetime. Tokens are put into the
// token store directly; one manual clock tells both stores the time.

#include "contracts/access.hpp"
#include "runtime/session_store.hpp"
#include "runtime/token_store.hpp"

#include <chrono>
#include <set>
#include <string>

using namespace omniva;
using namespace std::chrono_literals;
using contracts::role;
using runtime::secret_sha256;
using runtime::session_settings;
using runtime::session_store;
using runtime::token_store;

namespace {

bool is_hex(const std::string& x, size_t n) {
  return x.size() == n
         && x.find_first_not_of("0123456789abcdef") == std::string::npos;
}

contracts::ec code_of(const caf::error& e) {
  return static_cast<contracts::ec>(e.code());
}

struct fixture {
  std::shared_ptr<contracts::manual_clock> clock
    = std::make_shared<contracts::manual_clock>(
      contracts::timestamp{std::chrono::milliseconds{1'790'000'000'000}});
  std::shared_ptr<token_store> tokens
    = std::make_shared<token_store>(nullptr, clock);
  session_settings settings;
  std::unique_ptr<session_store> store;

  fixture() {
    settings.idle_timeout = 1h;
    settings.lifetime = 3h;
    settings.code_lifetime = 10min;
    settings.max_sessions = 3;
    make_store();
    put("alice", role::operator_, "secret-a");
    put("bob", role::viewer, "secret-b");
  }

  void make_store() {
    store = std::make_unique<session_store>(tokens, settings, clock);
  }

  void put(std::string name, role r, std::string secret,
           std::optional<contracts::timestamp> expires = std::nullopt) {
    contracts::token_record t;
    t.name = std::move(name);
    t.role = r;
    t.secret_sha256 = secret_sha256(secret);
    t.created_at = contracts::format_timestamp(clock->now());
    t.created_by = "test";
    if (expires)
      t.expires_at = contracts::format_timestamp(*expires);
    tokens->put(t);
  }

  std::string open(const std::string& name) {
    auto s = store->create(name);
    BOOST_REQUIRE(s);
    return s->id;
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(a_session_stands_for_its_token, fixture) {
  auto s = store->create("alice");
  BOOST_REQUIRE(s);
  BOOST_TEST(is_hex(s->id, 64));
  BOOST_TEST(s->info.who.name == "alice");
  BOOST_TEST((s->info.who.role == role::operator_));
  BOOST_TEST((s->info.ends_at == clock->now() + 3h));
  BOOST_TEST((s->info.expires_at == clock->now() + 1h));
  auto r = store->resolve(s->id);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->who.name == "alice");
  // Ids differ; an unknown or empty one opens nothing.
  std::set<std::string> ids{s->id};
  for (int i = 0; i < 2; ++i)
    ids.insert(open("bob"));
  BOOST_TEST(ids.size() == 3u);
  BOOST_TEST(!store->resolve(""));
  BOOST_TEST(!store->resolve(std::string(64, '0')));
  // The store keeps no id, only hashes: a prefix or a case change misses.
  auto upper = s->id;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(c));
  BOOST_TEST(!store->resolve(upper));
  BOOST_TEST(!store->resolve(s->id.substr(0, 63)));
  BOOST_TEST(!!store->resolve(s->id));
}

BOOST_FIXTURE_TEST_CASE(an_unknown_or_expired_token_opens_no_session, fixture) {
  auto s = store->create("carol");
  BOOST_REQUIRE(!s);
  BOOST_TEST((code_of(s.error()) == contracts::ec::unauthorized));
  put("brief", role::viewer, "secret-c", clock->now() + 30min);
  BOOST_REQUIRE(store->create("brief"));
  // The token's expiry bounds the session's.
  BOOST_TEST((store->create("brief")->info.ends_at == clock->now() + 30min));
  // Only the secret the client gave: another hash is refused.
  BOOST_TEST(!store->create("alice", secret_sha256("secret-b")));
  BOOST_TEST(!!store->create("alice", secret_sha256("secret-a")));
  clock->advance(30min);
  BOOST_TEST(!store->create("brief"));
}

BOOST_FIXTURE_TEST_CASE(idle_sessions_end_and_use_keeps_them_alive_up_to_the_lifetime,
                        fixture) {
  auto used = open("alice");
  auto idle = open("bob");
  for (int i = 0; i < 5; ++i) {
    clock->advance(50min);
    auto r = store->resolve(used);
    if (i < 3) {
      BOOST_REQUIRE_MESSAGE(r, "after " << (i + 1) * 50 << " min");
      // Each use moves the idle end, bounded by the lifetime.
      auto expected = std::min(clock->now() + 1h,
                               clock->now() - std::chrono::minutes{50 * (i + 1)} + 3h);
      BOOST_TEST((r->expires_at == expected));
    } else {
      // 200 minutes after the login: past the 3 h lifetime.
      BOOST_TEST(!r);
    }
  }
  BOOST_TEST(!store->resolve(idle)); // unused for 4 h 10 min
  auto s = open("bob");
  clock->advance(1h - 1ms);
  BOOST_TEST(!!store->resolve(s));
  clock->advance(1h);
  BOOST_TEST(!store->resolve(s));
}

BOOST_FIXTURE_TEST_CASE(revoking_rotating_or_expiry_of_the_token_ends_its_sessions,
                        fixture) {
  auto a = open("alice");
  auto b = open("bob");
  tokens->remove("alice");
  BOOST_TEST(!store->resolve(a));
  // A new token of the same name does not revive it.
  put("alice", role::operator_, "secret-a2");
  BOOST_TEST(!store->resolve(a));
  BOOST_TEST(!!store->resolve(b));
  // A rotation (a new secret) ends it; a role change by rotation shows.
  put("bob", role::admin, "secret-b2");
  BOOST_TEST(!store->resolve(b));
  auto b2 = open("bob");
  BOOST_TEST((store->resolve(b2)->who.role == role::admin));
  put("bob", role::admin, "secret-b2", clock->now() + 10min);
  BOOST_TEST(!!store->resolve(b2)); // the same secret, an expiry now
  clock->advance(10min);
  BOOST_TEST(!store->resolve(b2));
}

BOOST_FIXTURE_TEST_CASE(ending_a_session, fixture) {
  auto a = open("alice");
  auto a2 = open("alice");
  BOOST_TEST(store->end(a));
  BOOST_TEST(!store->end(a));
  BOOST_TEST(!store->end(""));
  BOOST_TEST(!store->resolve(a));
  BOOST_TEST(!!store->resolve(a2));
}

BOOST_FIXTURE_TEST_CASE(the_least_recently_used_session_goes_beyond_the_cap, fixture) {
  auto s1 = open("alice");
  clock->advance(1s);
  auto s2 = open("alice");
  clock->advance(1s);
  auto s3 = open("alice");
  clock->advance(1s);
  BOOST_REQUIRE(store->resolve(s1)); // s2 is now the least recently used
  auto s4 = open("bob");
  BOOST_TEST(store->size() == 3u);
  BOOST_TEST(!store->resolve(s2));
  for (auto& s : {s1, s3, s4})
    BOOST_TEST(!!store->resolve(s));
}

BOOST_FIXTURE_TEST_CASE(a_login_code_opens_one_session_once, fixture) {
  auto code = store->make_login_code("alice");
  BOOST_REQUIRE(code);
  BOOST_TEST(is_hex(*code, 32));
  BOOST_TEST(*code != *store->make_login_code("alice"));
  auto s = store->redeem(*code);
  BOOST_REQUIRE(s);
  BOOST_TEST(s->info.who.name == "alice");
  BOOST_TEST(!!store->resolve(s->id));
  auto again = store->redeem(*code);
  BOOST_REQUIRE(!again);
  BOOST_TEST((code_of(again.error()) == contracts::ec::unauthorized));
  BOOST_TEST(!store->redeem(""));
  BOOST_TEST(!store->redeem(std::string(32, '0')));
  BOOST_TEST(!store->make_login_code("carol"));
}

BOOST_FIXTURE_TEST_CASE(a_login_code_expires_and_follows_its_token, fixture) {
  auto late = *store->make_login_code("alice");
  clock->advance(10min - 1ms);
  auto in_time = *store->make_login_code("alice");
  BOOST_TEST(!!store->redeem(*store->make_login_code("alice")));
  clock->advance(1ms);
  BOOST_TEST(!store->redeem(late)); // 10 minutes old
  BOOST_TEST(!!store->redeem(in_time));
  auto rotated = *store->make_login_code("bob");
  put("bob", role::viewer, "secret-b2");
  BOOST_TEST(!store->redeem(rotated));
  auto revoked = *store->make_login_code("alice");
  tokens->remove("alice");
  BOOST_TEST(!store->redeem(revoked));
}

BOOST_FIXTURE_TEST_CASE(the_authenticator_answers_the_sessions_principal, fixture) {
  auto shared = std::make_shared<session_store>(tokens, settings, clock);
  auto auth = session_store::authenticator(shared);
  auto s = shared->create("bob");
  BOOST_REQUIRE(s);
  auto who = auth(s->id);
  BOOST_REQUIRE(who);
  BOOST_TEST(who->name == "bob");
  BOOST_TEST((who->role == role::viewer));
  BOOST_TEST(!auth("nope"));
}

BOOST_AUTO_TEST_CASE(the_server_reads_the_session_cookie_among_others) {
  using runtime::cookie_value;
  BOOST_TEST(cookie_value("omniva_session=abc", "omniva_session") == "abc");
  BOOST_TEST(cookie_value("theme=dark; omniva_session=abc; x=1", "omniva_session")
             == "abc");
  // Fields joined by the server (", "), quoted values, spaces.
  BOOST_TEST(cookie_value("theme=dark, omniva_session=\"abc\"", "omniva_session")
             == "abc");
  BOOST_TEST(cookie_value("  omniva_session = abc ;", "omniva_session") == "abc");
  // Another cookie whose name merely contains it does not count.
  BOOST_TEST(cookie_value("xomniva_session=abc; omniva_session_2=d",
                          "omniva_session")
             == "");
  BOOST_TEST(cookie_value("", "omniva_session") == "");
  BOOST_TEST(cookie_value("omniva_session", "omniva_session") == "");
}
