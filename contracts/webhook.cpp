#include "contracts/webhook.hpp"

#include "contracts/ids.hpp"
#include "contracts/uri.hpp"

#include <algorithm>
#include <cctype>

namespace omniva::contracts {

namespace {

std::string quoted(std::string_view text) {
  std::string result;
  json::append_quoted(result, text);
  return result;
}

/// Whether every byte of `text` is printable ASCII (no space, no control).
bool printable_ascii(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c > ' ' && c < 0x7f;
  });
}

/// `text` for a message: quoted, cut after 200 bytes.
std::string echo(std::string_view text) {
  if (text.size() > 200)
    return quoted(std::string{text.substr(0, 200)} + "...");
  return quoted(text);
}

/// "`<noun>.*`" patterns: the nouns of the known kinds, each once.
std::vector<std::string_view> known_nouns() {
  std::vector<std::string_view> out;
  for (auto kind : known_event_kinds) {
    auto noun = kind.substr(0, kind.find('.'));
    if (std::find(out.begin(), out.end(), noun) == out.end())
      out.push_back(noun);
  }
  return out;
}

/// The known kinds as one line for a message.
std::string known_list() {
  std::string out;
  for (auto kind : known_event_kinds)
    out += (out.empty() ? "" : ", ") + std::string{kind};
  return out;
}

/// What `url` is, or why not.
struct url_parts {
  std::string authority;
  std::string target;
};

std::optional<url_parts> parse_url(std::string_view url, std::string& why) {
  if (url.empty()) {
    why = "the webhook URL is empty: give an http:// URL";
    return std::nullopt;
  }
  if (url.size() > max_webhook_url_bytes) {
    why = "the webhook URL is longer than "
          + std::to_string(max_webhook_url_bytes) + " bytes";
    return std::nullopt;
  }
  if (!printable_ascii(url)) {
    why = "the webhook URL holds a space, a control character or a byte "
          "outside ASCII (percent-encode them)";
    return std::nullopt;
  }
  auto ref = uri_reference::parse(url);
  std::string scheme = ref.scheme.value_or("");
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "https") {
    why = echo(url)
          + " is an https:// URL: the node delivers webhooks over plain "
            "http:// only (let a proxy next to the receiver add TLS)";
    return std::nullopt;
  }
  if (scheme != "http" || !ref.authority) {
    why = echo(url) + " is not an http:// URL (http://host[:port][/path])";
    return std::nullopt;
  }
  if (ref.fragment) {
    why = echo(url) + " has a fragment ('#...'): a webhook URL has none";
    return std::nullopt;
  }
  auto authority = uri_authority::parse(*ref.authority);
  if (!authority) {
    why = echo(url) + " has a malformed host";
    return std::nullopt;
  }
  if (authority->userinfo) {
    why = echo(url) + " holds a user name ('user@'): a webhook URL has none "
                      "(the signature authenticates the node)";
    return std::nullopt;
  }
  if (authority->host.empty()) {
    why = echo(url) + " has no host";
    return std::nullopt;
  }
  if (authority->port) {
    auto& port = *authority->port;
    unsigned value = 0;
    bool digits = !port.empty() && port.size() <= 5
                  && std::all_of(port.begin(), port.end(),
                                 [](char c) { return c >= '0' && c <= '9'; });
    if (digits)
      value = static_cast<unsigned>(std::stoul(port));
    if (!digits || value == 0 || value > 65535) {
      why = echo(url) + " has a port outside 1..65535";
      return std::nullopt;
    }
  }
  url_parts out;
  out.authority = *ref.authority;
  out.target = ref.path.empty() ? "/" : ref.path;
  if (out.target.front() != '/')
    out.target.insert(out.target.begin(), '/');
  if (ref.query)
    out.target += "?" + *ref.query;
  return out;
}

} // namespace

std::string_view to_string(webhook_op x) noexcept {
  switch (x) {
    case webhook_op::create:
      return "create";
    case webhook_op::remove:
      return "remove";
  }
  return "unknown";
}

bool event_kind_matches(std::string_view pattern, std::string_view kind) noexcept {
  if (pattern == "*")
    return true;
  if (pattern.size() >= 2 && pattern.ends_with(".*"))
    return kind.size() > pattern.size() - 1
           && kind.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == kind;
}

bool webhook_wants(const webhook_record& w, std::string_view kind) noexcept {
  return std::any_of(w.events.begin(), w.events.end(), [&](auto& pattern) {
    return event_kind_matches(pattern, kind);
  });
}

bool is_known_event_pattern(std::string_view pattern) noexcept {
  if (pattern == "*")
    return true;
  if (pattern.ends_with(".*")) {
    auto noun = pattern.substr(0, pattern.size() - 2);
    auto nouns = known_nouns();
    return std::find(nouns.begin(), nouns.end(), noun) != nouns.end();
  }
  return std::find(std::begin(known_event_kinds), std::end(known_event_kinds),
                   pattern)
         != std::end(known_event_kinds);
}

std::vector<problem> check_webhook_url(std::string_view url,
                                       const std::string& pointer) {
  std::string why;
  if (parse_url(url, why))
    return {};
  return {problem{ec::invalid_argument, pointer, std::move(why)}};
}

std::vector<problem> check_webhook_events(std::span<const std::string> events,
                                          const std::string& pointer) {
  std::vector<problem> out;
  if (events.empty()) {
    out.push_back({ec::missing_field, pointer,
                   "name at least one event kind (e.g. task.failed, or "
                   "task.* for every task event)"});
    return out;
  }
  if (events.size() > max_webhook_events)
    out.push_back({ec::too_long, pointer,
                   "a webhook names at most "
                     + std::to_string(max_webhook_events) + " event kinds"});
  for (size_t i = 0; i < events.size(); ++i) {
    auto at = json::append_pointer(pointer, i);
    auto& e = events[i];
    if (!is_known_event_pattern(e)) {
      std::string nouns;
      for (auto n : known_nouns())
        nouns += (nouns.empty() ? "" : ", ") + std::string{n} + ".*";
      out.push_back({ec::invalid_argument, at,
                     echo(e) + " is not an event kind this node writes; "
                               "known kinds: " + known_list()
                       + "; patterns: " + nouns + ", *"});
      continue;
    }
    if (std::find(events.begin(), events.begin() + static_cast<ptrdiff_t>(i), e)
        != events.begin() + static_cast<ptrdiff_t>(i))
      out.push_back({ec::duplicate_key, at, echo(e) + " is named twice"});
  }
  return out;
}

std::vector<problem> check_webhook_record(const webhook_record& x) {
  std::vector<problem> out;
  if (!is_uuid(x.id))
    out.push_back({ec::invalid_uuid, "/id", "a webhook's id must be a UUID"});
  for (auto& p : check_webhook_url(x.url))
    out.push_back(std::move(p));
  for (auto& p : check_webhook_events(x.events))
    out.push_back(std::move(p));
  return out;
}

std::optional<webhook_request>
webhook_request_from_json(const json::value& x, std::vector<problem>& problems) {
  auto first = problems.size();
  if (!x.is_object()) {
    problems.push_back({ec::type_mismatch, "",
                        "a webhook request must be an object {\"url\", "
                        "\"events\", \"secret\"?}, not "
                          + std::string{json::to_string(x.type())}});
    return std::nullopt;
  }
  for (auto& [key, value] : x.as_object())
    if (key != "url" && key != "events" && key != "secret")
      problems.push_back({ec::unknown_field, json::append_pointer("", key),
                          quoted(key)
                            + " is not a member of a webhook request (url, "
                              "events, secret)"});
  webhook_request out;
  if (auto* url = x.find("url"); url == nullptr) {
    problems.push_back({ec::missing_field, "/url",
                        "\"url\" is required: where the events are POSTed"});
  } else if (!url->is_string()) {
    problems.push_back({ec::type_mismatch, "/url",
                        "\"url\" must be a string, not "
                          + std::string{json::to_string(url->type())}});
  } else {
    out.url = url->as_string();
    for (auto& p : check_webhook_url(out.url))
      problems.push_back(std::move(p));
  }
  if (auto* events = x.find("events"); events == nullptr) {
    problems.push_back({ec::missing_field, "/events",
                        "\"events\" is required: the event kinds to send "
                        "(e.g. [\"task.failed\"])"});
  } else if (!events->is_array()) {
    problems.push_back({ec::type_mismatch, "/events",
                        "\"events\" must be an array of strings, not "
                          + std::string{json::to_string(events->type())}});
  } else {
    bool typed = true;
    auto& items = events->as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        typed = false;
        problems.push_back({ec::type_mismatch, json::append_pointer("/events", i),
                            "an event kind must be a string, not "
                              + std::string{json::to_string(items[i].type())}});
        continue;
      }
      out.events.push_back(items[i].as_string());
    }
    if (typed)
      for (auto& p : check_webhook_events(out.events))
        problems.push_back(std::move(p));
  }
  if (auto* secret = x.find("secret")) {
    if (!secret->is_string()) {
      problems.push_back({ec::type_mismatch, "/secret",
                          "\"secret\" must be a string, not "
                            + std::string{json::to_string(secret->type())}});
    } else if (secret->as_string().size() < min_webhook_secret_bytes
               || secret->as_string().size() > max_webhook_secret_bytes) {
      problems.push_back({ec::invalid_argument, "/secret",
                          "a webhook secret has "
                            + std::to_string(min_webhook_secret_bytes) + " to "
                            + std::to_string(max_webhook_secret_bytes)
                            + " bytes, not "
                            + std::to_string(secret->as_string().size())});
    } else {
      out.secret = secret->as_string();
    }
  }
  if (problems.size() != first)
    return std::nullopt;
  return out;
}

json::value to_json(const webhook_record& x) {
  json::value out{json::object{}};
  out.set("id", x.id);
  out.set("url", x.url);
  json::array events;
  for (auto& e : x.events)
    events.emplace_back(e);
  out.set("events", std::move(events));
  out.set("created_at", x.created_at);
  if (!x.created_by.empty())
    out.set("created_by", x.created_by);
  return out;
}

std::optional<webhook_record> webhook_record_from_json(const json::value& x) {
  if (!x.is_object())
    return std::nullopt;
  auto text = [&](const char* key, bool required,
                  std::string& into) -> bool {
    auto* v = x.find(key);
    if (v == nullptr)
      return !required;
    if (!v->is_string())
      return false;
    into = v->as_string();
    return true;
  };
  webhook_record out;
  if (!text("id", true, out.id) || !text("url", true, out.url)
      || !text("created_at", true, out.created_at)
      || !text("created_by", false, out.created_by))
    return std::nullopt;
  auto* events = x.find("events");
  if (events == nullptr || !events->is_array())
    return std::nullopt;
  for (auto& e : events->as_array()) {
    if (!e.is_string())
      return std::nullopt;
    out.events.push_back(e.as_string());
  }
  return out;
}

std::optional<webhook_target> split_webhook_url(std::string_view url) {
  std::string why;
  auto parts = parse_url(url, why);
  if (!parts)
    return std::nullopt;
  return webhook_target{"http://" + parts->authority, std::move(parts->target)};
}

} // namespace omniva::contracts
