#pragma once

// The dashboard's browser sessions (docs/http-api.md, "Sessions"): a
// session is a random id a browser keeps in an HttpOnly cookie
// (`omniva_session`), standing for a named API token. In memory only: a
// restart of the node ends every session (the browser logs in again).
//
// A session refers to its token by name, never by secret: the store keeps
// the token's name and the SHA-256 of the token's secret at login, and
// each time the session is used asks the token store whether that token
// still exists with that secret and has not expired. Revoking, rotating
// or the expiry of the token thus ends its sessions at their next use.
// The store keeps only the SHA-256 of each session id and login code, so
// a look-up takes the same time whatever the id shares with another.
//
// One-time login codes (`omniva serve` prints one in a link): a code
// stands for a token for 10 minutes and opens one session, once.

#include "contracts/ids.hpp"
#include "runtime/http_server.hpp"
#include "runtime/token_store.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace omniva::runtime {

/// How long sessions and login codes live, and how many the store keeps.
struct session_settings {
  /// A session unused this long ends. Default: 12 h.
  std::chrono::milliseconds idle_timeout = std::chrono::hours{12};
  /// A session ends this long after the login, used or not. Default: 7 d.
  std::chrono::milliseconds lifetime = std::chrono::hours{24 * 7};
  /// A login code not used this long opens nothing. Default: 10 min.
  std::chrono::milliseconds code_lifetime = std::chrono::minutes{10};
  /// The most sessions kept: beyond, the one used least recently ends.
  /// Default: 10,000.
  size_t max_sessions = 10'000;
  /// The most unused login codes kept: beyond, the oldest goes. Default:
  /// 1,000.
  size_t max_codes = 1'000;
};

/// A live session as the API answers it.
struct session_info {
  /// Its token's name and current role.
  principal who;
  /// When it ends unless used before: the idle timeout from its last use,
  /// bounded by its lifetime and its token's expiry.
  contracts::timestamp expires_at;
  /// When it ends at the latest, used or not: its lifetime from the login,
  /// bounded by its token's expiry (a cookie's `Max-Age`).
  contracts::timestamp ends_at;
};

/// A session just made: its id (what the cookie carries) and what it is.
struct new_session {
  std::string id;
  session_info info;
};

/// The browser sessions of a node and its one-time login codes.
/// Thread-safe: the HTTP server's threads use it concurrently.
class session_store {
public:
  /// A store whose sessions stand for tokens of `tokens` (which it keeps
  /// alive), telling the time with `clock` (the wall clock when null).
  explicit session_store(std::shared_ptr<const token_store> tokens,
                         session_settings settings = {},
                         std::shared_ptr<contracts::clock_source> clock = nullptr);

  /// Opens a session for the token named `token_name`; when
  /// `token_sha256` is given, only while that is still the SHA-256 of the
  /// token's secret (the secret a client logged in with was not rotated
  /// away meanwhile). Errors: `unauthorized` when there is no such token,
  /// it has expired or has another secret; `io_error` when the random
  /// generator gives no bytes.
  caf::expected<new_session> create(std::string_view token_name,
                                    std::string_view token_sha256 = {});

  /// Opens a session for the token a one-time login code stands for, and
  /// uses the code up. Errors: `unauthorized` for a code that is unknown,
  /// used, older than `code_lifetime`, or whose token was revoked, rotated
  /// or has expired since; `io_error` as `create`.
  caf::expected<new_session> redeem(std::string_view code);

  /// Makes a one-time login code for the token named `token_name`: 32
  /// lowercase hex digits (16 random bytes), valid once, for
  /// `code_lifetime`. Errors: `unauthorized` when there is no such token or
  /// it has expired; `io_error` as `create`.
  caf::expected<std::string> make_login_code(std::string_view token_name);

  /// The session `id` stands for, after checking its token again; counts
  /// as a use (the idle timeout starts again). nullopt for an id that
  /// opens nothing: unknown, ended, idle too long, past its lifetime, or
  /// its token revoked, rotated or expired (the session is then ended).
  std::optional<session_info> resolve(std::string_view id);

  /// Ends session `id`; false when it was not open.
  bool end(std::string_view id);

  /// How many sessions the store holds (ended ones not yet swept too).
  size_t size() const;

  /// An authenticator for `http_server::set_session_authenticator` that
  /// asks `store` (which it keeps alive).
  static http_session_authenticator
  authenticator(std::shared_ptr<session_store> store);

private:
  /// One session, kept under the SHA-256 of its id.
  struct entry {
    std::string token_name;
    /// The SHA-256 of the token's secret at login: another one (a
    /// rotation) ends the session.
    std::string token_sha256;
    contracts::timestamp created;
    contracts::timestamp last_used;
  };

  /// One login code, kept under the SHA-256 of the code.
  struct code_entry {
    std::string token_name;
    std::string token_sha256;
    contracts::timestamp created;
  };

  /// Makes a session for token `t` as the token store has it now; under
  /// `mtx_`.
  caf::expected<new_session> create_locked(const token_store::named_token& t,
                                           contracts::timestamp now);
  /// What `e` answers at `now`, its token's current state being `who`
  /// with expiry `token_expires`.
  session_info info_of(const entry& e, principal who,
                       std::optional<contracts::timestamp> token_expires) const;
  /// Drops the sessions and codes that have run out; under `mtx_`.
  void sweep_locked(contracts::timestamp now);

  std::shared_ptr<const token_store> tokens_;
  session_settings settings_;
  std::shared_ptr<contracts::clock_source> clock_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> sessions_;
  std::unordered_map<std::string, code_entry> codes_;
};

} // namespace omniva::runtime
