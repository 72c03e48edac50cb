#pragma once

// Who may do what (docs/operations.md, "Tokens and roles"): the roles of API
// tokens, the stored record of a named token and the change Zenith commits
// for it. Every request to the node carries a named token with one role;
// each route of the HTTP API needs a role at least (a refused role is 403
// `forbidden`, naming the role needed).
//
// A token's secret is never stored nor written into a packet: its row holds
// the SHA-256 of the secret (`secret_sha256`), its packets name the token,
// its role, its expiry and who changed it.

#include "contracts/error_code.hpp"
#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// The role of a token, in increasing power: each role may do everything
/// the ones before it may.
enum class role : uint8_t {
  /// Read only: lists, records, lineage, logs, events, the dashboard.
  viewer = 0,
  /// Also the work: submit, cancel, retry, prioritise, quarantine, approve,
  /// add and delete assets.
  operator_ = 1,
  /// Everything: also tokens, webhooks, registering modules, retention,
  /// backups.
  admin = 2,
};

/// Returns "viewer", "operator" or "admin" ("unknown" outside the enum).
std::string_view to_string(role x) noexcept;

/// Parses "viewer", "operator" or "admin".
std::optional<role> role_from_string(std::string_view name) noexcept;

/// Whether a token of role `have` may use what needs `need`.
constexpr bool allows(role have, role need) noexcept {
  return static_cast<uint8_t>(have) >= static_cast<uint8_t>(need);
}

// -- token names and expiry -----------------------------------------------------

/// The name of the token every node makes at its first start (role admin,
/// its secret in `<data>/token`).
inline constexpr std::string_view bootstrap_token_name = "admin";

/// The prefix of the subject (and the row key) of a token's packets:
/// `token:<name>`.
inline constexpr std::string_view token_subject_prefix = "token:";

/// Returns `token:<name>`: the key of the token's row and the subject of its
/// packets.
std::string token_subject(std::string_view name);

/// Whether `name` is a token name: a lowercase ASCII letter, then up to 63
/// of lowercase letters, digits, `_`, `.` and `-`
/// (`^[a-z][a-z0-9_.-]{0,63}$`).
bool is_token_name(std::string_view name) noexcept;

/// The `invalid_argument` problem at `pointer` for a name that is not a
/// token name (`is_token_name`); nullopt for a good one.
std::optional<problem> check_token_name(std::string_view name,
                                        std::string pointer);

/// Reads when a token expires from what a person gives: a duration from
/// `now` (a positive whole number and a unit: `90s`, `15m`, `12h`, `30d`;
/// at most 100 years) or an RFC 3339 date-time ("2027-01-01T00:00:00Z").
/// Errors: `invalid_argument` for anything else, for a zero duration and
/// for a time not after `now` (a token that would never open anything).
caf::expected<timestamp> parse_expiry(std::string_view text, timestamp now);

// -- token_record ---------------------------------------------------------------

/// A named API token as the node stores it: row `token:<name>` of table
/// `tokens`. Holds the SHA-256 of the secret, never the secret.
struct token_record {
  /// The token's name (`is_token_name`): what the packets its requests
  /// cause name as their operator.
  std::string name;
  /// What the token may do.
  contracts::role role = contracts::role::viewer;
  /// SHA-256 of the secret, 64 lowercase hex digits.
  std::string secret_sha256;
  /// When the token was created (RFC 3339 UTC); a rotation keeps it.
  std::string created_at;
  /// The name of the token that created it ("node" for the first admin).
  std::string created_by;
  /// When it stops opening anything (RFC 3339 UTC); nullopt: never.
  std::optional<std::string> expires_at;

  friend bool operator==(const token_record&, const token_record&) = default;
};

/// @relates token_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_record& x) {
  detail::optional_member<std::string> expires{x.expires_at};
  return f(caf::meta::type_name("token_record"), x.name, x.role,
           x.secret_sha256, x.created_at, x.created_by, expires);
}

/// Returns the row form: `{"name", "role", "secret_sha256", "created_at",
/// "created_by", "expires_at"}` (`expires_at` null for never).
json::value to_json(const token_record& x);

/// Returns what anyone may see of a token (`GET /api/tokens`): the row form
/// without `secret_sha256`.
json::value to_public_json(const token_record& x);

/// Reads the row form, reporting every problem with its pointer (under
/// `base`); nullopt when there was any.
std::optional<token_record>
token_record_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base = "");

// -- token_change -----------------------------------------------------------------

/// What a change does to a token.
enum class token_action : uint8_t {
  /// Makes a new token (`token.created`); the name must be free.
  create = 0,
  /// Removes a token (`token.revoked`): its row goes, its history stays.
  revoke = 1,
  /// Gives a token a new secret, and optionally a new role or expiry
  /// (`token.rotated`): the old secret opens nothing from then on.
  rotate = 2,
};

/// Returns "create", "revoke" or "rotate".
std::string_view to_string(token_action x) noexcept;

/// Parses "create", "revoke" or "rotate".
std::optional<token_action> token_action_from_string(std::string_view name) noexcept;

/// A change to a named token, for Zenith to commit (`atom::token`).
struct token_change {
  /// What to do.
  token_action action = token_action::create;
  /// The token's name.
  std::string name;
  /// Create: the role (required). Rotate: the new role; nullopt keeps it.
  /// Revoke: ignored.
  std::optional<contracts::role> role;
  /// Create and rotate: SHA-256 of the new secret, 64 lowercase hex
  /// digits. Revoke: ignored.
  std::string secret_sha256;
  /// Create: when it expires (RFC 3339), nullopt for never. Rotate: the new
  /// expiry; nullopt keeps the old one. Revoke: ignored.
  std::optional<std::string> expires_at;
  /// The name of the token that asked ("node" for the node's own): the
  /// `operator` of the packet.
  std::string by;

  friend bool operator==(const token_change&, const token_change&) = default;
};

/// @relates token_change
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_change& x) {
  detail::optional_member<contracts::role> r{x.role};
  detail::optional_member<std::string> expires{x.expires_at};
  return f(caf::meta::type_name("token_change"), x.action, x.name, r,
           x.secret_sha256, expires, x.by);
}

/// Returns `{"action", "name", "role"?, "secret_sha256"?, "expires_at"?,
/// "by"}` (empty optional members omitted).
json::value to_json(const token_change& x);

/// Reads the JSON form (see `to_json`); every problem with its pointer.
std::optional<token_change>
token_change_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base = "");

/// Checks a change before Zenith looks at its tokens: a token name, a role
/// on create, a 64-digit lowercase hex `secret_sha256` on create and
/// rotate, an RFC 3339 `expires_at` after `now`, a non-empty `by`. Returns
/// every problem (code `invalid_argument` or `missing_field`, pointers
/// `/name`, `/role`, `/secret_sha256`, `/expires_at`, `/by`).
std::vector<problem> check_token_change(const token_change& x, timestamp now);

} // namespace omniva::contracts
