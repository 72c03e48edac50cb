#pragma once

// The node's named API tokens in memory, for its HTTP server's
// authenticator (docs/operations.md, "Tokens and roles"): SHA-256 of a
// secret -> the token's name, role and expiry. Loaded from the tokens table
// at start, then kept up to date from the committed `token.*` events (each
// reads its token's row again) and by the token routes after Zenith's
// answer. Checking a request costs one SHA-256 and one hash lookup.

#include "contracts/access.hpp"
#include "contracts/ids.hpp"
#include "contracts/node_messages.hpp"
#include "runtime/http_server.hpp"
#include "storage/reader.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace omniva::runtime {

/// The prefix of every secret the node makes.
inline constexpr std::string_view token_secret_prefix = "omv_";

/// Makes a new token secret: `omv_` and 64 lowercase hex digits of 32 bytes
/// from OpenSSL's random generator (a CSPRNG). Errors: `io_error` when the
/// generator has no entropy to give.
caf::expected<std::string> make_token_secret();

/// The SHA-256 of `secret` as 64 lowercase hex digits: what a token's row
/// holds instead of the secret.
std::string secret_sha256(std::string_view secret);

/// Writes `secret` and a line break to `path` with mode 0600, atomically
/// (a temporary file beside it, synced, then renamed over it). Errors:
/// `io_error`.
caf::error write_secret_file(const std::string& path, std::string_view secret);

/// The tokens a node accepts. Thread-safe: the HTTP server's threads read
/// it while Zenith's thread (the event listener) and the token routes
/// update it.
class token_store {
public:
  /// A store that reads rows through `reader` and tells the time with
  /// `clock` (the wall clock when null). Empty until `load`.
  explicit token_store(std::shared_ptr<const storage::reader> reader,
                       std::shared_ptr<contracts::clock_source> clock = nullptr);

  /// Loads every row of table `tokens`, replacing what the store held.
  /// Errors: the reader's; `corruption` for a row that does not parse.
  caf::error load();

  /// Reads the row of token `name` again: the store then holds what the
  /// row says, or nothing for `name` when there is no row (revoked).
  /// Serialised with every other change, so that whichever refresh runs
  /// last leaves the newest row. Errors: the reader's (the store keeps
  /// what it held for `name`), `corruption`.
  caf::error refresh(std::string_view name);

  /// Refreshes the token of each `token.*` event of a commit (the node's
  /// event hub calls it on Zenith's thread); a failed read is logged.
  void on_events(const std::vector<contracts::committed_event>& events);

  /// Holds `t` (replacing any token of its name and its old secret).
  void put(const contracts::token_record& t);

  /// Forgets token `name`.
  void remove(std::string_view name);

  /// Who `secret` belongs to: nullopt for a secret no token has, or whose
  /// token has expired (checked against the clock at each call).
  std::optional<principal> authenticate(std::string_view secret) const;

  /// What a token named `name` is now, for the browser sessions
  /// (runtime/session_store.hpp) that refer to a token by its name: who it
  /// is and the SHA-256 of its current secret (a rotation changes it), and
  /// its expiry; nullopt when the store holds no token of that name
  /// (revoked, never made) or it has expired.
  struct named_token {
    principal who;
    std::string secret_sha256;
    std::optional<contracts::timestamp> expires;
  };
  std::optional<named_token> find(std::string_view name) const;

  /// An authenticator for `http_server::set_authenticator` that asks
  /// `store` (which it keeps alive).
  static http_authenticator authenticator(std::shared_ptr<const token_store> store);

  /// How many tokens the store holds, expired ones included.
  size_t size() const;

private:
  /// What a request's token turns into.
  struct entry {
    std::string name;
    contracts::role role = contracts::role::viewer;
    std::optional<contracts::timestamp> expires;
  };

  /// `put` with `mtx_` held.
  void put_locked(const contracts::token_record& t);
  /// `remove` with `mtx_` held.
  void remove_locked(std::string_view name);

  std::shared_ptr<const storage::reader> reader_;
  std::shared_ptr<contracts::clock_source> clock_;
  mutable std::shared_mutex mtx_;
  /// SHA-256 of the secret (hex) -> the token.
  std::unordered_map<std::string, entry> by_hash_;
  /// Token name -> SHA-256 of its secret (hex).
  std::unordered_map<std::string, std::string> hash_of_;
};

} // namespace omniva::runtime
