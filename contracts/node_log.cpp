#include "contracts/node_log.hpp"

#include "contracts/ids.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace omniva::node_log {

namespace {

std::atomic<format> the_format{format::text};

std::mutex sink_mtx;

std::function<void(std::string_view)>& the_sink() {
  static std::function<void(std::string_view)> sink;
  return sink;
}

/// Whether a text value can be written bare (`key=value`).
bool bare(std::string_view s) {
  if (s.empty())
    return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == '"' || c == '=' || c == 0x7f)
      return false;
  return true;
}

/// The length of the well-formed UTF-8 sequence at the start of `s`, 0 for
/// none (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF).
size_t utf8_sequence(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto c = b(0);
  if (c < 0x80)
    return 1;
  size_t n = c >= 0xC2 && c <= 0xDF   ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (n == 0 || s.size() < n)
    return 0;
  for (size_t i = 1; i < n; ++i)
    if ((b(i) & 0xC0) != 0x80)
      return 0;
  if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)
      || (c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F))
    return 0;
  return n;
}

/// `v` with every string (member names too) made valid UTF-8.
json::value sanitized(const json::value& v) {
  if (v.is_string())
    return json::value{valid_utf8(v.as_string())};
  if (v.is_array()) {
    json::array out;
    for (auto& x : v.as_array())
      out.push_back(sanitized(x));
    return json::value{std::move(out)};
  }
  if (v.is_object()) {
    json::object out;
    for (auto& [key, x] : v.as_object())
      out.emplace_back(valid_utf8(key), sanitized(x));
    return json::value{std::move(out)};
  }
  return v;
}

std::string timestamp() {
  return contracts::format_timestamp(
    std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now()));
}

std::string render(level lvl, std::string_view event,
                   std::span<const field> fields) {
  auto at = timestamp();
  if (the_format.load(std::memory_order_relaxed) == format::json) {
    json::value line{json::object{}};
    line.set("at", at);
    line.set("level", std::string{to_string(lvl)});
    line.set("event", valid_utf8(event));
    for (auto& [key, value] : fields)
      line.set(valid_utf8(key), sanitized(value));
    return json::serialize(line);
  }
  std::string out = at;
  out += ' ';
  out += to_string(lvl);
  out += ' ';
  out += valid_utf8(event);
  for (auto& [key, value] : fields) {
    out += ' ';
    out += valid_utf8(key);
    out += '=';
    auto clean = sanitized(value);
    if (clean.is_string() && bare(clean.as_string()))
      out += clean.as_string();
    else
      out += json::serialize(clean);
  }
  return out;
}

void emit(std::string line) {
  std::lock_guard<std::mutex> guard{sink_mtx};
  if (auto& sink = the_sink()) {
    sink(line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    auto n = utf8_sequence(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
      s.remove_prefix(1);
      continue;
    }
    out.append(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

std::string_view to_string(level x) noexcept {
  switch (x) {
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

std::optional<format> format_from_string(std::string_view name) noexcept {
  if (name == "text")
    return format::text;
  if (name == "json")
    return format::json;
  return std::nullopt;
}

void set_format(format f) noexcept {
  the_format.store(f, std::memory_order_relaxed);
}

format current_format() noexcept {
  return the_format.load(std::memory_order_relaxed);
}

void set_sink(std::function<void(std::string_view line)> sink) {
  std::lock_guard<std::mutex> guard{sink_mtx};
  the_sink() = std::move(sink);
}

void write(level lvl, std::string_view event,
           std::initializer_list<field> fields) {
  emit(render(lvl, event, {fields.begin(), fields.size()}));
}

void write(level lvl, std::string_view event, const std::vector<field>& fields) {
  emit(render(lvl, event, fields));
}

} // namespace omniva::node_log
