#pragma once

// Webhooks (docs/operations.md, "Webhooks"): a URL that is sent every
// committed event of the kinds it asks for. What one is (`webhook_record`,
// a row of table `webhooks` and the subject of its packets), how it is made
// and removed (`webhook_change`, the message to Zenith), which event kinds
// exist to be asked for, and the checks of a request. Its secret and its
// delivery state are files of the data folder, never part of these records
// (runtime/webhooks.hpp).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// The packet kinds a node writes, which a webhook may ask for (sorted).
/// A kind that is added to the log is added here in the same change, so
/// that webhooks can ask for it; `run.*` kinds come with pipelines.
inline constexpr std::string_view known_event_kinds[] = {
  "advice.eclipse",     "advice.lattice",    "advice.pantheon",
  "advice.paradox",
  "asset.deleted",      "asset.holds_moved", "asset.produced",
  "asset.purged",
  "asset.registered",   "blob.removed",      "decision.zenith",
  "gc.completed",       "module.moved",      "module.registered",
  "operator.override",  "personas.registered", "policy.registered",
  "schema.registered",
  "task.attempt_failed", "task.cancelled",   "task.created",
  "task.dispatched",    "task.failed",       "task.files_removed",
  "task.priority_changed", "task.ready",     "task.requeued",
  "task.retried",       "task.reused",       "task.revived",
  "task.skipped",       "task.succeeded",    "token.created",
  "token.revoked",      "token.rotated",     "webhook.created",
  "webhook.removed",
};

/// The longest URL a webhook may have, in bytes.
inline constexpr size_t max_webhook_url_bytes = 2048;

/// The most event kinds (and patterns) one webhook may name.
inline constexpr size_t max_webhook_events = 100;

/// The shortest and longest secret a webhook may be given, in bytes. A
/// node-made secret is 64 hex digits (32 random bytes).
inline constexpr size_t min_webhook_secret_bytes = 16;
inline constexpr size_t max_webhook_secret_bytes = 1024;

/// A webhook: where committed events go, and which.
struct webhook_record {
  /// UUID; the subject of its packets and the name of its files.
  std::string id;
  /// `http://host[:port][/path][?query]`.
  std::string url;
  /// The event kinds it wants, each a known kind (`known_event_kinds`),
  /// `<noun>.*` (every kind starting with `<noun>.`, for a noun some known
  /// kind has) or `*` (every kind). At least one; no duplicates.
  std::vector<std::string> events;
  /// When it was created (RFC 3339, UTC, milliseconds).
  std::string created_at;
  /// Who created it (the token's name); "" when unknown.
  std::string created_by;

  friend bool operator==(const webhook_record&, const webhook_record&) = default;
};

/// @relates webhook_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_record& x) {
  return f(caf::meta::type_name("webhook_record"), x.id, x.url, x.events,
           x.created_at, x.created_by);
}

/// What a `webhook_change` does.
enum class webhook_op : uint8_t {
  /// Creates the webhook `record` describes.
  create = 0,
  /// Removes the webhook `record.id` names.
  remove = 1,
};

/// Returns "create" or "remove" ("unknown" outside the enum).
std::string_view to_string(webhook_op x) noexcept;

/// A change of the node's webhooks, for Zenith to commit
/// (`webhook.created`, `webhook.removed`).
struct webhook_change {
  /// Create or remove.
  webhook_op op = webhook_op::create;
  /// For `create`: id, url and events (Zenith sets `created_at` and
  /// `created_by`); for `remove`: the id.
  webhook_record record;
  /// Who asks (the token's name): `created_by`, and the `operator` of the
  /// packet. "" when unknown.
  std::string by;

  friend bool operator==(const webhook_change&, const webhook_change&) = default;
};

/// @relates webhook_change
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_change& x) {
  return f(caf::meta::type_name("webhook_change"), x.op, x.record, x.by);
}

/// Whether pattern `pattern` (a kind, `<noun>.*` or `*`) takes `kind`.
bool event_kind_matches(std::string_view pattern, std::string_view kind) noexcept;

/// Whether webhook `w` wants events of kind `kind`.
bool webhook_wants(const webhook_record& w, std::string_view kind) noexcept;

/// Whether `pattern` is something a webhook may ask for: a known kind,
/// `<noun>.*` for a noun of a known kind, or `*`.
bool is_known_event_pattern(std::string_view pattern) noexcept;

/// The problems of `url` as a webhook URL, at pointer `pointer`: not a
/// string of printable ASCII, longer than `max_webhook_url_bytes`, not
/// `http://` with a host (`https://` is refused: the node delivers over
/// plain HTTP), user information, a port outside 1..65535, a fragment.
/// Each `invalid_argument`. Empty when it is fine.
std::vector<problem> check_webhook_url(std::string_view url,
                                       const std::string& pointer = "/url");

/// The problems of `events`: none at all (`missing_field` at `pointer`),
/// more than `max_webhook_events`, and at `<pointer>/<i>` a pattern that is
/// not known (`invalid_argument`, naming the known kinds) or named twice
/// (`duplicate_key`).
std::vector<problem> check_webhook_events(std::span<const std::string> events,
                                          const std::string& pointer = "/events");

/// Every problem of `x` as a webhook to create: its id is a UUID
/// (`invalid_uuid` at /id), its URL and events as above.
std::vector<problem> check_webhook_record(const webhook_record& x);

/// What `POST /api/webhooks` asks for.
struct webhook_request {
  /// The URL.
  std::string url;
  /// The event kinds and patterns.
  std::vector<std::string> events;
  /// The secret the caller chose (`--secret-file`); none: the node makes
  /// one.
  std::optional<std::string> secret;
};

/// Reads a webhook request `{"url", "events": [...], "secret"?}`, checking
/// everything at once: unknown members (`unknown_field`), missing ones
/// (`missing_field`), wrong types (`type_mismatch`), the URL and events
/// (`check_webhook_url`, `check_webhook_events`), a secret shorter than
/// `min_webhook_secret_bytes` or longer than `max_webhook_secret_bytes`
/// (`invalid_argument` at /secret). Nullopt when there is any problem.
std::optional<webhook_request>
webhook_request_from_json(const json::value& x, std::vector<problem>& problems);

/// The JSON form: `{"id","url","events","created_at","created_by"}`
/// (`created_by` omitted when empty). Also the row of table `webhooks`.
json::value to_json(const webhook_record& x);

/// Reads the JSON form back; nullopt when `x` is not one.
std::optional<webhook_record> webhook_record_from_json(const json::value& x);

/// A webhook URL split for an HTTP client: `base` is `http://<authority>`,
/// `target` the path (at least "/") and query.
struct webhook_target {
  /// `http://host[:port]`.
  std::string base;
  /// `/path?query`.
  std::string target;
};

/// Splits a URL `check_webhook_url` accepts; nullopt for one it refuses.
std::optional<webhook_target> split_webhook_url(std::string_view url);

} // namespace omniva::contracts
