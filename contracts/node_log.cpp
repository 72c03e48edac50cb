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
    line.set("event", std::string{event});
    for (auto& [key, value] : fields)
      line.set(std::string{key}, value);
    return json::serialize(line);
  }
  std::string out = at;
  out += ' ';
  out += to_string(lvl);
  out += ' ';
  out += event;
  for (auto& [key, value] : fields) {
    out += ' ';
    out += key;
    out += '=';
    if (value.is_string() && bare(value.as_string()))
      out += value.as_string();
    else
      out += json::serialize(value);
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
