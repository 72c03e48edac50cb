#include "contracts/access.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace omniva::contracts {

std::string_view to_string(role x) noexcept {
  switch (x) {
    case role::viewer:
      return "viewer";
    case role::operator_:
      return "operator";
    case role::admin:
      return "admin";
  }
  return "unknown";
}

std::optional<role> role_from_string(std::string_view name) noexcept {
  if (name == "viewer")
    return role::viewer;
  if (name == "operator")
    return role::operator_;
  if (name == "admin")
    return role::admin;
  return std::nullopt;
}

// -- token names and expiry -----------------------------------------------------

std::string token_subject(std::string_view name) {
  std::string out{token_subject_prefix};
  out += name;
  return out;
}

bool is_token_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z')
    return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '.' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

namespace {

/// `text` fit for a message: at most 80 bytes, control bytes and bytes
/// outside ASCII as '?', so that an answer stays short and valid UTF-8.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 80)
    out += "...";
  return out;
}

bool is_sha256_hex(std::string_view x) noexcept {
  if (x.size() != 64)
    return false;
  for (char c : x)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

/// The problems of an expiry given as a timestamp: not RFC 3339, or not
/// after `now`.
void check_expires_at(const std::string& text, timestamp now,
                      const std::string& pointer, std::vector<problem>& out) {
  auto t = parse_timestamp(text);
  if (!t)
    out.push_back({ec::invalid_argument, pointer,
                   "'" + shown(text)
                     + "' is not an RFC 3339 date-time (e.g. "
                       "2027-01-01T00:00:00Z)"});
  else if (*t <= now)
    out.push_back({ec::invalid_argument, pointer,
                   "the expiry " + shown(text)
                     + " is not in the future: such a token would open "
                       "nothing"});
}

} // namespace

std::optional<problem> check_token_name(std::string_view name,
                                        std::string pointer) {
  if (is_token_name(name))
    return std::nullopt;
  return problem{ec::invalid_argument, std::move(pointer),
                 "'" + shown(name)
                   + "' is not a token name: a lowercase letter, then up to "
                     "63 lowercase letters, digits, '_', '.' or '-'"};
}

caf::expected<timestamp> parse_expiry(std::string_view text, timestamp now) {
  using namespace std::chrono;
  auto refuse = [&](std::string why) {
    return make_error(ec::invalid_argument, "'" + shown(text) + "' " + why);
  };
  if (text.empty())
    return refuse("is not an expiry: give a duration (90s, 15m, 12h, 30d) or "
                  "an RFC 3339 date-time");
  if (auto t = parse_timestamp(text)) {
    if (*t <= now)
      return refuse("is not in the future: such a token would open nothing");
    return *t;
  }
  auto unit = text.back();
  auto digits = text.substr(0, text.size() - 1);
  uint64_t n = 0;
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  milliseconds per{0};
  switch (unit) {
    case 's':
      per = seconds{1};
      break;
    case 'm':
      per = minutes{1};
      break;
    case 'h':
      per = hours{1};
      break;
    case 'd':
      per = hours{24};
      break;
    default:
      break;
  }
  if (digits.empty() || err != std::errc{} || end != digits.data() + digits.size()
      || per.count() == 0)
    return refuse("is not an expiry: give a duration (a whole number and s, "
                  "m, h or d: 90s, 15m, 12h, 30d) or an RFC 3339 date-time");
  constexpr uint64_t max_days = 36'525; // 100 years
  constexpr auto day_ms = static_cast<uint64_t>(milliseconds{hours{24}}.count());
  auto per_ms = static_cast<uint64_t>(per.count());
  if (n == 0)
    return refuse("is no time at all: such a token would open nothing");
  if (n > max_days * day_ms / per_ms)
    return refuse("is too far away: at most 100 years (36525d)");
  return now + milliseconds{static_cast<int64_t>(n * per_ms)};
}

// -- token_record ---------------------------------------------------------------

json::value to_json(const token_record& x) {
  json::value out = to_public_json(x);
  out.set("secret_sha256", x.secret_sha256);
  return out;
}

json::value to_public_json(const token_record& x) {
  json::value out{json::object{}};
  out.set("name", x.name);
  out.set("role", to_string(x.role));
  out.set("created_at", x.created_at);
  out.set("created_by", x.created_by);
  out.set("expires_at", x.expires_at ? json::value{*x.expires_at} : json::value{});
  return out;
}

namespace {

/// Reads the members of one JSON object, noting every problem with its
/// pointer under `base`.
struct member_reader {
  const json::value& x;
  std::vector<problem>& problems;
  std::string base;

  std::string at(std::string_view key) const {
    return json::append_pointer(base, key);
  }

  /// The string member `key`: nullopt (a problem noted when `required`)
  /// when missing, null or not a string.
  std::optional<std::string> string(std::string_view key, bool required) {
    auto* v = x.find(key);
    if (v == nullptr || v->is_null()) {
      if (required)
        problems.push_back({ec::missing_field, at(key),
                            "the member '" + std::string{key} + "' is missing"});
      return std::nullopt;
    }
    if (!v->is_string()) {
      problems.push_back({ec::type_mismatch, at(key),
                          "expected a string, got "
                            + std::string{json::to_string(v->type())}});
      return std::nullopt;
    }
    return v->as_string();
  }

  /// Refuses every member outside `known`.
  void only(std::initializer_list<std::string_view> known) {
    for (auto& [key, value] : x.as_object())
      if (std::find(known.begin(), known.end(), key) == known.end())
        problems.push_back({ec::unknown_field, at(key),
                            "the member '" + shown(key) + "' is not known here"});
  }
};

/// Whether `x` is an object; notes the problem when it is not.
bool is_object_at(const json::value& x, std::vector<problem>& problems,
                  std::string_view base, std::string_view what) {
  if (x.is_object())
    return true;
  problems.push_back({ec::type_mismatch, std::string{base},
                      std::string{what} + " must be a JSON object"});
  return false;
}

std::optional<role> role_at(member_reader& in, bool required) {
  auto text = in.string("role", required);
  if (!text)
    return std::nullopt;
  auto r = role_from_string(*text);
  if (!r)
    in.problems.push_back({ec::invalid_argument, in.at("role"),
                           "'" + shown(*text)
                             + "' is not a role: viewer, operator or admin"});
  return r;
}

} // namespace

std::optional<token_record>
token_record_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base) {
  auto before = problems.size();
  if (!is_object_at(x, problems, base, "a token"))
    return std::nullopt;
  member_reader in{x, problems, std::string{base}};
  in.only({"name", "role", "secret_sha256", "created_at", "created_by",
           "expires_at"});
  token_record out;
  if (auto name = in.string("name", true)) {
    if (auto p = check_token_name(*name, in.at("name")))
      problems.push_back(std::move(*p));
    out.name = std::move(*name);
  }
  if (auto r = role_at(in, true))
    out.role = *r;
  if (auto h = in.string("secret_sha256", true)) {
    if (!is_sha256_hex(*h))
      problems.push_back({ec::invalid_argument, in.at("secret_sha256"),
                          "expected 64 lowercase hex digits"});
    out.secret_sha256 = std::move(*h);
  }
  for (auto [key, into] : {std::pair{"created_at", &out.created_at},
                           std::pair{"created_by", &out.created_by}})
    if (auto v = in.string(key, true))
      *into = std::move(*v);
  if (!out.created_at.empty() && !is_timestamp(out.created_at))
    problems.push_back({ec::invalid_argument, in.at("created_at"),
                        "expected an RFC 3339 date-time"});
  if (auto e = in.string("expires_at", false)) {
    if (!is_timestamp(*e))
      problems.push_back({ec::invalid_argument, in.at("expires_at"),
                          "expected an RFC 3339 date-time or null"});
    out.expires_at = std::move(*e);
  }
  if (problems.size() != before)
    return std::nullopt;
  return out;
}

// -- token_change -----------------------------------------------------------------

std::string_view to_string(token_action x) noexcept {
  switch (x) {
    case token_action::create:
      return "create";
    case token_action::revoke:
      return "revoke";
    case token_action::rotate:
      return "rotate";
  }
  return "unknown";
}

std::optional<token_action>
token_action_from_string(std::string_view name) noexcept {
  if (name == "create")
    return token_action::create;
  if (name == "revoke")
    return token_action::revoke;
  if (name == "rotate")
    return token_action::rotate;
  return std::nullopt;
}

json::value to_json(const token_change& x) {
  json::value out{json::object{}};
  out.set("action", to_string(x.action));
  out.set("name", x.name);
  if (x.role)
    out.set("role", to_string(*x.role));
  if (!x.secret_sha256.empty())
    out.set("secret_sha256", x.secret_sha256);
  if (x.expires_at)
    out.set("expires_at", *x.expires_at);
  out.set("by", x.by);
  return out;
}

std::optional<token_change>
token_change_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base) {
  auto before = problems.size();
  if (!is_object_at(x, problems, base, "a token change"))
    return std::nullopt;
  member_reader in{x, problems, std::string{base}};
  in.only({"action", "name", "role", "secret_sha256", "expires_at", "by"});
  token_change out;
  if (auto a = in.string("action", true)) {
    if (auto action = token_action_from_string(*a))
      out.action = *action;
    else
      problems.push_back({ec::invalid_argument, in.at("action"),
                          "'" + shown(*a)
                            + "' is not an action: create, revoke or rotate"});
  }
  if (auto name = in.string("name", true))
    out.name = std::move(*name);
  out.role = role_at(in, false);
  if (auto h = in.string("secret_sha256", false))
    out.secret_sha256 = std::move(*h);
  out.expires_at = in.string("expires_at", false);
  if (auto by = in.string("by", true))
    out.by = std::move(*by);
  if (problems.size() != before)
    return std::nullopt;
  return out;
}

std::vector<problem> check_token_change(const token_change& x, timestamp now) {
  std::vector<problem> out;
  if (auto p = check_token_name(x.name, "/name"))
    out.push_back(std::move(*p));
  if (x.action == token_action::create && !x.role)
    out.push_back({ec::missing_field, "/role",
                   "a new token needs a role: viewer, operator or admin"});
  if (x.action != token_action::revoke && !is_sha256_hex(x.secret_sha256))
    out.push_back({ec::invalid_argument, "/secret_sha256",
                   "expected the SHA-256 of the secret, 64 lowercase hex "
                   "digits"});
  if (x.action != token_action::revoke && x.expires_at)
    check_expires_at(*x.expires_at, now, "/expires_at", out);
  if (x.by.empty())
    out.push_back({ec::missing_field, "/by",
                   "a token change names who asked for it"});
  return out;
}

} // namespace omniva::contracts
