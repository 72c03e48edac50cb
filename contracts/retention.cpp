#include "contracts/retention.hpp"

#include "contracts/status.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace omniva::contracts {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds one_second{1000};
constexpr milliseconds one_minute{60 * 1000};
constexpr milliseconds one_hour{60 * 60 * 1000};
constexpr milliseconds one_day{24 * 60 * 60 * 1000};

/// The longest duration `parse_duration` reads: 100 years.
constexpr double max_duration_ms = 100.0 * 365.0 * 24 * 3600 * 1000;

/// `x` with at most `decimals` decimals, trailing zeros (and point) cut.
std::string trimmed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  std::string out{buf};
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0')
      out.pop_back();
    if (out.back() == '.')
      out.pop_back();
  }
  return out;
}

/// An age for people, to a tenth of its unit: "400.2d", "3h", "12.5s".
std::string approximate(milliseconds d) {
  auto ms = static_cast<double>(std::max<int64_t>(d.count(), 0));
  for (auto [unit, name] : {std::pair{one_day, "d"}, std::pair{one_hour, "h"},
                            std::pair{one_minute, "m"}})
    if (d >= unit)
      return trimmed(ms / static_cast<double>(unit.count()), 1) + name;
  return trimmed(ms / 1000.0, 1) + "s";
}

/// "1", "1 and 2", "1, 2 and 3".
std::string list_numbers(const std::vector<uint32_t>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += i + 1 == xs.size() ? " and " : ", ";
    out += std::to_string(xs[i]);
  }
  return out;
}

bool is_hex64(std::string_view s) {
  return s.size() == 64
         && std::all_of(s.begin(), s.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
}

constexpr std::string_view recorded_reason
  = "recorded by an earlier pass, which stopped before the files went";

} // namespace

// -- durations --------------------------------------------------------------------

std::optional<milliseconds> parse_duration(std::string_view text,
                                           milliseconds bare_unit) {
  if (text.empty() || !(text.front() >= '0' && text.front() <= '9'))
    return std::nullopt;
  size_t end = 0;
  bool point = false;
  while (end < text.size()
         && ((text[end] >= '0' && text[end] <= '9') || (text[end] == '.' && !point))) {
    point = point || text[end] == '.';
    ++end;
  }
  if (text[end - 1] == '.')
    return std::nullopt;
  double number = 0;
  auto [ptr, err] = std::from_chars(text.data(), text.data() + end, number);
  if (err != std::errc{} || ptr != text.data() + end)
    return std::nullopt;
  auto unit_text = text.substr(end);
  milliseconds unit = bare_unit;
  if (unit_text == "s")
    unit = one_second;
  else if (unit_text == "m")
    unit = one_minute;
  else if (unit_text == "h")
    unit = one_hour;
  else if (unit_text == "d")
    unit = one_day;
  else if (!unit_text.empty())
    return std::nullopt;
  auto ms = number * static_cast<double>(unit.count());
  if (!std::isfinite(ms) || ms > max_duration_ms)
    return std::nullopt;
  return milliseconds{static_cast<int64_t>(std::llround(ms))};
}

std::string format_duration(milliseconds d) {
  if (d.count() <= 0)
    return "0s";
  for (auto [unit, name] : {std::pair{one_day, "d"}, std::pair{one_hour, "h"},
                            std::pair{one_minute, "m"}})
    if (d >= unit && d.count() % (unit.count() / 10) == 0)
      return trimmed(static_cast<double>(d.count())
                       / static_cast<double>(unit.count()),
                     1)
             + name;
  return trimmed(static_cast<double>(d.count()) / 1000.0, 3) + "s";
}

// -- the plan -----------------------------------------------------------------------

std::string blob_subject(std::string_view sha256) {
  std::string out{"blob:"};
  out += sha256;
  return out;
}

purge_totals totals(const purge_plan& x) {
  purge_totals out;
  for (auto& t : x.tasks) {
    ++out.tasks;
    if (t.whole)
      ++out.folders;
    out.attempts += t.attempts.size();
    out.assets += t.assets.size();
    out.bytes += t.bytes;
  }
  for (auto& b : x.blobs) {
    ++out.blobs;
    out.bytes += b.bytes;
  }
  return out;
}

json::value to_json(const purge_plan& x) {
  json::value out{json::object{}};
  out.set("dry_run", x.dry_run);
  out.set("operator", x.by);
  out.set("at", x.at);
  if (!x.trace_id.empty())
    out.set("trace_id", x.trace_id);
  json::array tasks;
  for (auto& t : x.tasks) {
    json::array attempts;
    for (auto n : t.attempts)
      attempts.emplace_back(static_cast<int64_t>(n));
    json::array assets;
    for (auto& a : t.assets)
      assets.emplace_back(a);
    tasks.emplace_back(json::object{{"task_id", t.task_id},
                                    {"attempts", std::move(attempts)},
                                    {"whole", t.whole},
                                    {"bytes", t.bytes},
                                    {"assets", std::move(assets)},
                                    {"reason", t.reason},
                                    {"recorded_earlier", t.recorded}});
  }
  out.set("tasks", std::move(tasks));
  json::array blobs;
  for (auto& b : x.blobs)
    blobs.emplace_back(json::object{{"sha256", b.sha256},
                                    {"bytes", b.bytes},
                                    {"reason", b.reason},
                                    {"recorded_earlier", b.recorded}});
  out.set("blobs", std::move(blobs));
  out.set("skipped", x.skipped);
  out.set("failed", x.failed);
  auto n = totals(x);
  out.set("totals", json::object{{"tasks", n.tasks},
                                 {"folders", n.folders},
                                 {"attempts", n.attempts},
                                 {"assets", n.assets},
                                 {"blobs", n.blobs},
                                 {"bytes", n.bytes}});
  return out;
}

// -- planning -------------------------------------------------------------------------

void note_recorded_removal(std::string_view payload_json,
                           recorded_removals& out) {
  auto doc = json::parse(payload_json);
  if (!doc || !doc.doc->is_object())
    return;
  if (auto* whole = doc.doc->find("whole"); whole && whole->is_bool()
                                            && whole->as_bool())
    out.whole = true;
  if (auto* attempts = doc.doc->find("attempts"); attempts && attempts->is_array())
    for (auto& n : attempts->as_array()) {
      auto v = n.as_int64();
      if (!v || *v < 1 || *v > UINT32_MAX)
        continue;
      auto attempt = static_cast<uint32_t>(*v);
      if (std::find(out.attempts.begin(), out.attempts.end(), attempt)
          == out.attempts.end())
        out.attempts.push_back(attempt);
    }
}

std::vector<purge_task> plan_task_folder(const task_folder& f,
                                         const retention_policy& policy,
                                         timestamp now) {
  std::vector<purge_task> out;
  auto& t = f.task;
  if (!is_terminal(t.status))
    return out;
  auto finished = parse_timestamp(t.updated_at);
  if (!finished)
    return out;
  auto age = std::chrono::duration_cast<milliseconds>(now - *finished);
  auto all_bytes = f.other_bytes;
  for (auto& [n, bytes] : f.attempts)
    all_bytes += bytes;
  bool held = std::any_of(f.outputs.begin(), f.outputs.end(),
                          [](const asset_record& a) { return !a.holds.empty(); });
  if (age >= policy.outputs_after && !held) {
    purge_task item;
    item.task_id = t.task_id;
    item.whole = true;
    item.bytes = all_bytes;
    for (auto& [n, bytes] : f.attempts)
      item.attempts.push_back(n);
    for (auto& a : f.outputs)
      if (a.status == asset_status::available && a.kind == asset_kind::file)
        item.assets.push_back(a.asset_id);
    if (f.recorded.whole && item.assets.empty()) {
      item.recorded = true;
      item.reason = recorded_reason;
    } else {
      item.reason = "its task finished " + approximate(age)
                    + " ago (task folders are kept "
                    + format_duration(policy.outputs_after)
                    + ") and no unfinished task holds its outputs";
    }
    out.push_back(std::move(item));
    return out;
  }
  if (age < policy.attempts_after)
    return out;
  purge_task earlier, fresh;
  for (auto& [n, bytes] : f.attempts) {
    if (n == t.attempt)
      continue; // the last attempt: for a DONE task, the one that won
    bool recorded = f.recorded.whole
                    || std::find(f.recorded.attempts.begin(),
                                 f.recorded.attempts.end(), n)
                         != f.recorded.attempts.end();
    auto& item = recorded ? earlier : fresh;
    item.attempts.push_back(n);
    item.bytes += bytes;
  }
  if (!earlier.attempts.empty()) {
    earlier.task_id = t.task_id;
    earlier.recorded = true;
    earlier.reason = recorded_reason;
    out.push_back(std::move(earlier));
  }
  if (!fresh.attempts.empty()) {
    fresh.task_id = t.task_id;
    fresh.reason = std::string{fresh.attempts.size() == 1 ? "attempt " : "attempts "}
                   + list_numbers(fresh.attempts)
                   + " did not win; its task finished " + approximate(age)
                   + " ago (such attempts are kept "
                   + format_duration(policy.attempts_after) + ")";
    out.push_back(std::move(fresh));
  }
  return out;
}

void add_blob_references(const asset_record& a,
                         std::unordered_set<std::string>& out) {
  if (a.status == asset_status::purged)
    return;
  if (!a.sha256.empty())
    out.insert(a.sha256);
  constexpr std::string_view store = "/blobs/sha256/";
  if (auto at = a.uri.rfind(store); at != std::string::npos) {
    auto name = std::string_view{a.uri}.substr(a.uri.rfind('/') + 1);
    if (is_hex64(name))
      out.emplace(name);
  }
}

std::optional<purge_blob>
plan_blob(const blob_file& b, const std::unordered_set<std::string>& referenced,
          const retention_policy& policy, timestamp now) {
  if (referenced.count(b.sha256) > 0)
    return std::nullopt;
  purge_blob item;
  item.sha256 = b.sha256;
  item.bytes = b.bytes;
  if (b.removal_recorded && *b.removal_recorded >= b.modified) {
    item.recorded = true;
    item.reason = recorded_reason;
    return item;
  }
  auto age = std::chrono::duration_cast<milliseconds>(now - b.modified);
  if (age < policy.blob_grace)
    return std::nullopt;
  item.reason = "no asset references it; written " + approximate(age)
                + " ago (unreferenced blobs are kept "
                + format_duration(policy.blob_grace) + ")";
  return item;
}

} // namespace omniva::contracts
