#include "contracts/run.hpp"

#include "contracts/enum_names.hpp"
#include "contracts/ids.hpp"
#include "contracts/json_format.hpp"
#include "contracts/registry_store.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

namespace omniva::contracts {

namespace {

// -- names -------------------------------------------------------------------------

constexpr enum_spelling<run_status> run_status_names[] = {
  {run_status::running, "RUNNING"},
  {run_status::paused, "PAUSED"},
  {run_status::done, "DONE"},
  {run_status::failed, "FAILED"},
  {run_status::cancelled, "CANCELLED"},
};

constexpr enum_spelling<run_action> run_action_names[] = {
  {run_action::cancel, "cancel"},
  {run_action::pause, "pause"},
  {run_action::resume, "resume"},
  {run_action::retry, "retry"},
};

// -- time --------------------------------------------------------------------------

constexpr int64_t second_ms = 1000;
constexpr int64_t minute_ms = 60 * second_ms;
constexpr int64_t hour_ms = 60 * minute_ms;
constexpr int64_t day_ms = 24 * hour_ms;

/// The instants a timestamp of the project can spell (`format_timestamp`
/// has four-digit years): 0000-01-01T00:00:00.000Z ..
/// 9999-12-31T23:59:59.999Z, in ms since the epoch.
constexpr int64_t earliest_ms = -62167219200000;
constexpr int64_t latest_ms = 253402300799999;

/// How far `next_start` looks for a cron match: five years (and the two
/// leap days they may hold).
constexpr int64_t cron_horizon_ms = (5 * 365 + 2) * day_ms;

/// Rounds towards negative infinity (`a / b` rounds towards zero).
constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::string ms_timestamp(int64_t ms) {
  return format_timestamp(timestamp{std::chrono::milliseconds{ms}});
}

// -- small helpers -----------------------------------------------------------------

std::string quoted(std::string_view text) {
  std::string result;
  json::append_quoted(result, text);
  return result;
}

/// Turns stored JSON text back into a value; text that is not JSON (a
/// broken invariant) comes out as a string rather than disappearing.
json::value parse_stored(const std::string& text) {
  if (auto parsed = json::parse(text); parsed)
    return std::move(*parsed.doc);
  return json::value{text};
}

/// Writes an object of strings (always, `{}` when empty).
json::value string_map(const std::map<std::string, std::string>& xs) {
  json::object result;
  result.reserve(xs.size());
  for (const auto& [k, v] : xs)
    result.emplace_back(k, json::value{v});
  return json::value{std::move(result)};
}

/// Writes an object of values kept as compact JSON text, as JSON.
json::value stored_map(const std::map<std::string, std::string>& xs) {
  json::object result;
  result.reserve(xs.size());
  for (const auto& [k, text] : xs)
    result.emplace_back(k, parse_stored(text));
  return json::value{std::move(result)};
}

/// Spells a positive duration in the largest unit of `parse_every` that
/// divides it: 86400000 -> "1d", 5400000 -> "90m", 1500 -> "1500ms".
std::string every_text(int64_t ms) {
  constexpr std::pair<int64_t, std::string_view> units[] = {
    {day_ms, "d"}, {hour_ms, "h"}, {minute_ms, "m"}, {second_ms, "s"}};
  for (const auto& [size, unit] : units)
    if (ms % size == 0)
      return std::to_string(ms / size) + std::string{unit};
  return std::to_string(ms) + "ms";
}

/// The position of member `key` in object `x` (the object's size when it
/// has none): which of two members came second.
size_t member_index(const json::value& x, std::string_view key) {
  const auto& members = x.as_object();
  auto i = std::find_if(members.begin(), members.end(),
                        [key](const auto& kv) { return kv.first == key; });
  return static_cast<size_t>(i - members.begin());
}

// -- reading -----------------------------------------------------------------------

/// Reads the members of one JSON object, recording every problem it meets:
/// the local counterpart of messages.cpp's reader (same codes, pointers and
/// sentences), which that file keeps to itself.
class member_reader {
public:
  /// Checks that `x` is an object and has no member outside `known`.
  member_reader(const json::value& x, std::string_view base,
                std::vector<problem>& problems,
                std::initializer_list<std::string_view> known,
                std::string_view what)
    : x_(x), base_(base), problems_(problems), first_(problems.size()) {
    if (!x.is_object()) {
      report(ec::type_mismatch, base_,
             std::string{what} + " must be a JSON object, not "
               + std::string{json::to_string(x.type())});
      return;
    }
    for (const auto& [key, val] : x.as_object())
      if (std::find(known.begin(), known.end(), key) == known.end())
        report(ec::unknown_field, at(key),
               "unknown member " + quoted(key) + " in " + std::string{what});
  }

  /// Whether nothing was reported since construction.
  bool clean() const noexcept {
    return problems_.size() == first_;
  }

  /// The problems reported since construction.
  std::vector<problem> reported() const {
    return {problems_.begin() + static_cast<ptrdiff_t>(first_), problems_.end()};
  }

  /// The pointer of member `key`.
  std::string at(std::string_view key) const {
    return json::append_pointer(base_, key);
  }

  void report(ec code, std::string pointer, std::string message) {
    problems_.push_back(problem{code, std::move(pointer), std::move(message)});
  }

  void report(problem x) {
    problems_.push_back(std::move(x));
  }

  /// Returns member `key`, or nullptr (reporting `missing_field` when the
  /// member is required).
  const json::value* find(std::string_view key, bool required) {
    if (!x_.is_object())
      return nullptr;
    auto* result = x_.find(key);
    if (result == nullptr && required)
      report(ec::missing_field, at(key),
             "required member " + quoted(key) + " is missing");
    return result;
  }

  /// Returns member `key` when it has the JSON type `Holds` tests, or
  /// nullptr: absent (see `find`) or of another type (`type_mismatch`).
  template <bool (json::value::*Holds)() const noexcept>
  const json::value* typed(std::string_view key, bool required,
                           std::string_view want) {
    auto* x = find(key, required);
    if (x == nullptr || (x->*Holds)())
      return x;
    report(ec::type_mismatch, at(key),
           quoted(key) + " must be " + std::string{want} + ", not "
             + std::string{json::to_string(x->type())});
    return nullptr;
  }

  /// Reads a string member; `type_mismatch` for another type.
  std::optional<std::string> string(std::string_view key, bool required) {
    if (auto* x = typed<&json::value::is_string>(key, required, "a string"))
      return x->as_string();
    return std::nullopt;
  }

  /// Reads a boolean member into `out`.
  void boolean_into(bool& out, std::string_view key, bool required) {
    if (auto* x = typed<&json::value::is_bool>(key, required, "a boolean"))
      out = x->as_bool();
  }

  /// Reads a string member into `out` when `valid` accepts it; `code` with
  /// `expected` when it does not.
  template <class Predicate>
  void string_into(std::string& out, std::string_view key, bool required,
                   Predicate valid, ec code, std::string_view expected) {
    auto text = string(key, required);
    if (!text)
      return;
    if (!valid(*text))
      report(code, at(key),
             quoted(key) + " must be " + std::string{expected} + ", not "
               + quoted(*text));
    else
      out = std::move(*text);
  }

  /// A non-empty string (absent members say "none").
  void plain_string_into(std::string& out, std::string_view key, bool required) {
    string_into(
      out, key, required, [](const std::string& s) { return !s.empty(); },
      ec::invalid_argument, "a non-empty string");
  }

  void uuid_into(std::string& out, std::string_view key, bool required) {
    string_into(
      out, key, required, [](const std::string& s) { return is_uuid(s); },
      ec::invalid_uuid, "a UUID");
  }

  void timestamp_into(std::string& out, std::string_view key, bool required) {
    string_into(
      out, key, required, [](const std::string& s) { return is_timestamp(s); },
      ec::invalid_timestamp, "an RFC 3339 date-time");
  }

  /// A pipeline's registry ref ("clips@1").
  void pipeline_ref_into(std::string& out, std::string_view key, bool required) {
    string_into(
      out, key, required,
      [](const std::string& s) { return is_registry_ref(s); }, ec::invalid_ref,
      "a pipeline ref (name@version)");
  }

  /// Reads an integer member within [lo, hi]; returns whether it stored one.
  /// A number with a fraction or a non-number is `type_mismatch`, an
  /// integer outside the range `out_of_range`.
  template <class Int>
  bool integer_into(Int& out, std::string_view key, bool required, Int lo,
                    Int hi) {
    auto* x = typed<&json::value::is_integral>(key, required, "an integer");
    if (x == nullptr)
      return false;
    if constexpr (std::is_unsigned_v<Int>) {
      if (auto* u = std::get_if<uint64_t>(&x->data())) {
        if (*u <= static_cast<uint64_t>(hi)) {
          out = static_cast<Int>(*u);
          return true;
        }
        report_range(at(key), quoted(key), lo, hi);
        return false;
      }
    }
    auto v = x->as_int64();
    if (!v || *v < static_cast<int64_t>(lo)
        || (*v >= 0 && static_cast<uint64_t>(*v) > static_cast<uint64_t>(hi))) {
      report_range(at(key), quoted(key), lo, hi);
      return false;
    }
    out = static_cast<Int>(*v);
    return true;
  }

  /// Reads an enumeration member spelled as a string.
  template <class Enum, class Parse>
  void enum_into(Enum& out, std::string_view key, bool required, Parse parse,
                 std::string_view allowed) {
    auto text = string(key, required);
    if (!text)
      return;
    if (auto parsed = parse(*text))
      out = *parsed;
    else
      report(ec::not_in_enum, at(key),
             quoted(key) + " must be one of " + std::string{allowed} + " (got "
               + quoted(*text) + ")");
  }

  /// Reads an execution mode (`real`, `mock`); absent means `real`.
  void mode_into(execution_mode& out) {
    enum_into(out, "mode", false, execution_mode_from_string, "real, mock");
  }

  /// Reads an object of asset ids (key -> UUID). With `keep_bad`, a member
  /// whose value is wrong is reported and kept all the same (a string as
  /// it is, anything else as compact JSON), so that what checks the rest
  /// can still speak of its key.
  void asset_ids_into(std::map<std::string, std::string>& out,
                      std::string_view key, bool required, bool keep_bad) {
    auto* x = typed<&json::value::is_object>(key, required, "an object");
    if (x == nullptr)
      return;
    auto base = at(key);
    for (const auto& [k, v] : x->as_object()) {
      auto pointer = json::append_pointer(base, k);
      if (!v.is_string()) {
        report(ec::type_mismatch, pointer,
               "member " + quoted(k) + " of " + quoted(key)
                 + " must be a string, not "
                 + std::string{json::to_string(v.type())});
        if (keep_bad)
          out[k] = json::serialize(v);
      } else if (!is_uuid(v.as_string())) {
        report(ec::invalid_uuid, pointer,
               "member " + quoted(k) + " of " + quoted(key)
                 + " must be an asset id (UUID), not " + quoted(v.as_string()));
        if (keep_bad)
          out[k] = v.as_string();
      } else {
        out[k] = v.as_string();
      }
    }
  }

  /// Reads an object of arbitrary JSON values, stored as compact text.
  void json_map_into(std::map<std::string, std::string>& out,
                     std::string_view key, bool required) {
    if (auto* x = typed<&json::value::is_object>(key, required, "an object"))
      for (const auto& [k, v] : x->as_object())
        out[k] = json::serialize(v);
  }

  /// Reads an object of counts (key -> integer in [0, 2^32 - 1]).
  void count_map_into(std::map<std::string, uint32_t>& out, std::string_view key,
                      bool required) {
    auto* x = typed<&json::value::is_object>(key, required, "an object");
    if (x == nullptr)
      return;
    auto base = at(key);
    constexpr auto hi = std::numeric_limits<uint32_t>::max();
    for (const auto& [k, v] : x->as_object()) {
      auto pointer = json::append_pointer(base, k);
      auto what = "member " + quoted(k) + " of " + quoted(key);
      if (!v.is_integral()) {
        report(ec::type_mismatch, pointer,
               what + " must be an integer, not "
                 + std::string{json::to_string(v.type())});
        continue;
      }
      auto n = v.as_int64();
      if (!n || *n < 0 || *n > static_cast<int64_t>(hi)) {
        report_range(pointer, what, uint32_t{0}, hi);
        continue;
      }
      out[k] = static_cast<uint32_t>(*n);
    }
  }

private:
  template <class Int>
  void report_range(std::string pointer, const std::string& what, Int lo,
                    Int hi) {
    report(ec::out_of_range, std::move(pointer),
           what + " must lie in [" + std::to_string(lo) + ", "
             + std::to_string(hi) + "]");
  }

  const json::value& x_;
  std::string base_;
  std::vector<problem>& problems_;
  size_t first_;
};

// -- cron --------------------------------------------------------------------------

/// One field of a cron expression.
struct cron_field {
  std::string_view name;
  int lo;
  int hi;
};

constexpr cron_field cron_fields[] = {
  {"minute", 0, 59},      {"hour", 0, 23},         {"day-of-month", 1, 31},
  {"month", 1, 12},       {"day-of-week", 0, 7},
};

/// A parsed cron expression: per field, a bit per value it matches.
struct cron_schedule {
  /// minute, hour, day-of-month, month, day-of-week (bit 0 Sunday; a 7 of
  /// the expression is folded into bit 0).
  std::array<uint64_t, 5> sets{};
  /// Whether the day-of-month / day-of-week field starts with `*`: only
  /// when neither does is a day matched by either (crontab(5)).
  bool dom_star = false;
  bool dow_star = false;

  bool has(size_t field, int value) const noexcept {
    return (sets[field] >> value) & 1u;
  }

  /// Whether the day `day` (1-31) of a month, a `weekday` (0 Sunday), is
  /// one of the schedule's.
  bool day_matches(int day, int weekday) const noexcept {
    bool dom = has(2, day);
    bool dow = has(4, weekday);
    return dom_star || dow_star ? dom && dow : dom || dow;
  }
};

/// Reads a number of field `f` ("07" too); a sentence in `why` when it is
/// not one or lies outside the field's range.
std::optional<int> cron_number(std::string_view text, const cron_field& f,
                               std::string& why) {
  int value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || err != std::errc{} || end != text.data() + text.size()
      || text.front() == '-' || text.front() == '+') {
    why = quoted(text) + " is not a number";
    return std::nullopt;
  }
  if (value < f.lo || value > f.hi) {
    why = std::to_string(value) + " lies outside " + std::to_string(f.lo) + "-"
          + std::to_string(f.hi);
    return std::nullopt;
  }
  return value;
}

/// Reads one element of a list: `*`, `*/n`, `a`, `a-b`, `a-b/n`, adding
/// its values to `set`.
bool cron_element(std::string_view text, const cron_field& f, uint64_t& set,
                  std::string& why) {
  if (text.empty()) {
    why = "a list has an empty element";
    return false;
  }
  auto slash = text.find('/');
  auto range = text.substr(0, slash);
  int step = 1;
  if (slash != std::string_view::npos) {
    auto step_text = text.substr(slash + 1);
    int value = 0;
    auto [end, err] = std::from_chars(step_text.data(),
                                      step_text.data() + step_text.size(), value);
    int span = f.hi - f.lo + 1;
    if (step_text.empty() || err != std::errc{}
        || end != step_text.data() + step_text.size() || value < 1
        || value > span) {
      why = "the step " + quoted(step_text) + " must be a number in 1-"
            + std::to_string(span);
      return false;
    }
    step = value;
  }
  int first = f.lo;
  int last = f.hi;
  if (range != "*") {
    auto dash = range.find('-');
    if (dash == std::string_view::npos && slash != std::string_view::npos) {
      why = "a step applies to `*` or a range a-b, not to " + quoted(range);
      return false;
    }
    auto a = cron_number(range.substr(0, dash), f, why);
    if (!a)
      return false;
    first = last = *a;
    if (dash != std::string_view::npos) {
      auto b = cron_number(range.substr(dash + 1), f, why);
      if (!b)
        return false;
      if (*b < *a) {
        why = "the range " + quoted(range) + " runs backwards";
        return false;
      }
      last = *b;
    }
  }
  for (int v = first; v <= last; v += step)
    set |= uint64_t{1} << v;
  return true;
}

/// Parses a 5-field expression into `out`; a sentence naming the bad
/// field in `why` when it is not one.
bool parse_cron(std::string_view expr, cron_schedule& out, std::string& why) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (pos < expr.size()) {
    while (pos < expr.size() && blank(expr[pos]))
      ++pos;
    auto start = pos;
    while (pos < expr.size() && !blank(expr[pos]))
      ++pos;
    if (pos > start)
      fields.push_back(expr.substr(start, pos - start));
  }
  if (fields.size() != 5) {
    why = "a cron expression has 5 fields (minute hour day-of-month month "
          "day-of-week), not "
          + std::to_string(fields.size());
    return false;
  }
  for (size_t i = 0; i < 5; ++i) {
    const auto& f = cron_fields[i];
    auto text = fields[i];
    uint64_t set = 0;
    size_t begin = 0;
    while (true) {
      auto comma = text.find(',', begin);
      auto element = text.substr(begin, comma == std::string_view::npos
                                          ? std::string_view::npos
                                          : comma - begin);
      std::string element_why;
      if (!cron_element(element, f, set, element_why)) {
        why = "the " + std::string{f.name} + " field " + quoted(text)
              + " is not valid: " + element_why;
        return false;
      }
      if (comma == std::string_view::npos)
        break;
      begin = comma + 1;
    }
    out.sets[i] = set;
  }
  // Day of week 7 is Sunday, as 0 is.
  if (out.sets[4] & (uint64_t{1} << 7))
    out.sets[4] = (out.sets[4] | 1u) & ~(uint64_t{1} << 7);
  out.dom_star = fields[2].front() == '*';
  out.dow_star = fields[4].front() == '*';
  return true;
}

/// The first minute at or after `from` (a whole minute, ms since the
/// epoch) that `c` matches, up to `limit`.
std::optional<int64_t> next_cron_match(const cron_schedule& c, int64_t from,
                                       int64_t limit) {
  namespace chr = std::chrono;
  auto t = from;
  while (t <= limit) {
    auto day_count = floor_div(t, day_ms);
    auto day_start = day_count * day_ms;
    chr::sys_days day{chr::days{day_count}};
    chr::year_month_day ymd{day};
    auto month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    if (!c.has(3, month)) {
      // The first day of the next month.
      chr::year_month_day next = ymd.year() / ymd.month() / chr::day{1};
      next += chr::months{1};
      t = chr::sys_days{next}.time_since_epoch().count() * day_ms;
      continue;
    }
    // 1970-01-01 was a Thursday (4).
    auto weekday = static_cast<int>(((day_count % 7) + 7 + 4) % 7);
    auto mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
    if (!c.day_matches(mday, weekday)) {
      t = day_start + day_ms;
      continue;
    }
    auto hour = static_cast<int>((t - day_start) / hour_ms);
    auto hour_start = day_start + hour * hour_ms;
    if (!c.has(1, hour)) {
      t = hour_start + hour_ms;
      continue;
    }
    for (auto minute = static_cast<int>((t - hour_start) / minute_ms);
         minute < 60; ++minute)
      if (c.has(0, minute))
        return hour_start + minute * minute_ms;
    t = hour_start + hour_ms;
  }
  return std::nullopt;
}

// -- schedules in JSON -------------------------------------------------------------

/// Reads the schedule of a trigger: `every` ("1d") or `cron`, exactly one;
/// for a record (`stored`), `every_ms` too (the truth; `every`, when
/// present, must agree with it).
void read_schedule(member_reader& in, const json::value& x, schedule_spec& out,
                   bool stored) {
  if (!x.is_object())
    return;
  const auto* every = in.find("every", false);
  const auto* every_ms = stored ? in.find("every_ms", false) : nullptr;
  const auto* cron = in.find("cron", false);
  bool has_every = every != nullptr || every_ms != nullptr;
  if (!has_every && cron == nullptr) {
    in.report(ec::missing_field, in.at(stored ? "every_ms" : "every"),
              "a trigger needs a schedule: \"every\" (such as \"1d\") or "
              "\"cron\" (such as \"0 6 * * *\")");
    return;
  }
  if (has_every && cron != nullptr) {
    auto every_key = every != nullptr ? "every" : "every_ms";
    bool cron_second = member_index(x, "cron") > member_index(x, every_key);
    in.report(ec::invalid_argument, in.at(cron_second ? "cron" : every_key),
              "give either \"every\" or \"cron\", not both");
  }
  std::optional<int64_t> from_text;
  if (auto text = in.string("every", false)) {
    from_text = parse_every(*text);
    if (!from_text)
      in.report(ec::invalid_argument, in.at("every"),
                "\"every\" must be a positive whole number and a unit (ms, s, "
                "m, h, d) such as \"30s\" or \"1d\", not "
                  + quoted(*text));
    else
      out.every_ms = *from_text;
  }
  if (stored) {
    int64_t ms = 0;
    if (in.integer_into<int64_t>(ms, "every_ms", false, 1,
                                 std::numeric_limits<int64_t>::max())) {
      if (from_text && *from_text != ms)
        in.report(ec::invalid_argument, in.at("every"),
                  "\"every\" (" + std::to_string(*from_text)
                    + " ms) disagrees with \"every_ms\" (" + std::to_string(ms)
                    + ")");
      out.every_ms = ms;
    }
  }
  if (auto text = in.string("cron", false)) {
    if (auto why = check_cron(*text, in.at("cron")))
      in.report(std::move(*why));
    else
      out.cron = std::move(*text);
  }
}

/// Reads `key` (ms since the epoch within the years 0000-9999) and, when
/// present, its ISO 8601 twin `text_key`, which must name the same instant.
void instant_into(member_reader& in, int64_t& out, std::string_view key,
                  std::string_view text_key, bool required) {
  bool stored = in.integer_into<int64_t>(out, key, required, earliest_ms,
                                         latest_ms);
  auto text = in.string(text_key, false);
  if (!text)
    return;
  auto parsed = parse_timestamp(*text);
  if (!parsed) {
    in.report(ec::invalid_timestamp, in.at(text_key),
              quoted(text_key) + " must be an RFC 3339 date-time, not "
                + quoted(*text));
  } else if (stored && parsed->time_since_epoch().count() != out) {
    in.report(ec::invalid_argument, in.at(text_key),
              quoted(text_key) + " (" + *text + ") is not " + quoted(key)
                + " (" + ms_timestamp(out) + ")");
  } else if (!required && in.find(key, false) == nullptr) {
    in.report(ec::missing_field, in.at(key),
              quoted(text_key) + " comes with " + quoted(key));
  }
}

} // namespace

// -- run_status, run_action ----------------------------------------------------------

std::string_view to_string(run_status x) noexcept {
  return enum_name(x, run_status_names, "UNKNOWN");
}

std::optional<run_status> run_status_from_string(std::string_view name) noexcept {
  return enum_from_name(name, run_status_names);
}

bool is_final(run_status x) noexcept {
  return x == run_status::done || x == run_status::failed
         || x == run_status::cancelled;
}

std::string_view to_string(run_action x) noexcept {
  return enum_name(x, run_action_names, "unknown");
}

std::optional<run_action> run_action_from_string(std::string_view name) noexcept {
  return enum_from_name(name, run_action_names);
}

// -- run_request -------------------------------------------------------------------

std::optional<run_request>
run_request_from_json(const json::value& x, std::vector<problem>& problems) {
  member_reader in{x, "", problems,
                   {"inputs", "values", "mode", "priority", "pipeline"},
                   "a run request"};
  if (!x.is_object())
    return std::nullopt;
  run_request result;
  in.pipeline_ref_into(result.pipeline_ref, "pipeline", false);
  // Keys with a bad asset id stay, so that Zenith can still say that the
  // pipeline has no such input.
  in.asset_ids_into(result.inputs, "inputs", false, true);
  in.json_map_into(result.values, "values", false);
  in.mode_into(result.mode);
  in.integer_into<int32_t>(result.priority, "priority", false,
                           std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max());
  result.problems = in.reported();
  return result;
}

// -- run_record --------------------------------------------------------------------

json::value to_json(const run_record& x) {
  json::value out{json::object{}};
  out.set("run_id", x.run_id);
  out.set("pipeline", x.pipeline_ref);
  out.set("status", to_string(x.status));
  out.set("inputs", string_map(x.inputs));
  out.set("values", stored_map(x.values));
  out.set("mode", to_string(x.mode));
  out.set("priority", static_cast<int64_t>(x.priority));
  if (!x.trigger_id.empty())
    out.set("trigger_id", x.trigger_id);
  if (!x.requested_by.empty())
    out.set("requested_by", x.requested_by);
  out.set("created_at", x.created_at);
  out.set("updated_at", x.updated_at);
  if (!x.ended_at.empty())
    out.set("ended_at", x.ended_at);
  json::object fanouts;
  fanouts.reserve(x.fanouts.size());
  for (const auto& [key, n] : x.fanouts)
    fanouts.emplace_back(key, json::value{static_cast<int64_t>(n)});
  out.set("fanouts", json::value{std::move(fanouts)});
  if (x.error) {
    json::value error{json::object{}};
    error.set("code", x.error->code);
    error.set("message", x.error->message);
    error.set("transient", x.error->transient);
    if (!x.error->pointer.empty())
      error.set("pointer", x.error->pointer);
    out.set("error", std::move(error));
  }
  return out;
}

std::optional<run_record> run_record_from_json(const json::value& x,
                                               std::vector<problem>& problems) {
  member_reader in{x, "", problems,
                   {"run_id", "pipeline", "status", "inputs", "values", "mode",
                    "priority", "trigger_id", "requested_by", "created_at",
                    "updated_at", "ended_at", "fanouts", "error"},
                   "a run"};
  run_record result;
  in.uuid_into(result.run_id, "run_id", true);
  in.pipeline_ref_into(result.pipeline_ref, "pipeline", true);
  in.enum_into(result.status, "status", true, run_status_from_string,
               "RUNNING, PAUSED, DONE, FAILED, CANCELLED");
  in.asset_ids_into(result.inputs, "inputs", false, false);
  in.json_map_into(result.values, "values", false);
  in.mode_into(result.mode);
  in.integer_into<int32_t>(result.priority, "priority", false,
                           std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max());
  in.uuid_into(result.trigger_id, "trigger_id", false);
  in.plain_string_into(result.requested_by, "requested_by", false);
  in.timestamp_into(result.created_at, "created_at", true);
  in.timestamp_into(result.updated_at, "updated_at", true);
  in.timestamp_into(result.ended_at, "ended_at", false);
  in.count_map_into(result.fanouts, "fanouts", false);
  if (const auto* error = in.find("error", false)) {
    member_reader err{*error, in.at("error"), problems,
                      {"code", "message", "transient", "pointer"},
                      "a run error"};
    task_error e;
    err.plain_string_into(e.code, "code", true);
    if (auto message = err.string("message", true))
      e.message = std::move(*message);
    err.boolean_into(e.transient, "transient", false);
    err.string_into(
      e.pointer, "pointer", false,
      [](const std::string& s) {
        return !s.empty() && check_format(string_format::json_pointer, s);
      },
      ec::invalid_argument, "a JSON pointer (RFC 6901)");
    result.error = std::move(e);
  }
  if (!in.clean())
    return std::nullopt;
  return result;
}

// -- schedules ---------------------------------------------------------------------

std::optional<int64_t> parse_every(std::string_view text) {
  auto digits = static_cast<size_t>(
    std::find_if(text.begin(), text.end(),
                 [](char c) { return c < '0' || c > '9'; })
    - text.begin());
  if (digits == 0)
    return std::nullopt;
  auto unit = text.substr(digits);
  int64_t size = 0;
  if (unit == "ms")
    size = 1;
  else if (unit == "s")
    size = second_ms;
  else if (unit == "m")
    size = minute_ms;
  else if (unit == "h")
    size = hour_ms;
  else if (unit == "d")
    size = day_ms;
  else
    return std::nullopt;
  int64_t count = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + digits, count);
  if (err != std::errc{} || end != text.data() + digits || count <= 0
      || count > std::numeric_limits<int64_t>::max() / size)
    return std::nullopt;
  return count * size;
}

std::optional<problem> check_cron(std::string_view expr, std::string_view pointer) {
  cron_schedule parsed;
  std::string why;
  if (parse_cron(expr, parsed, why))
    return std::nullopt;
  return problem{ec::invalid_argument, std::string{pointer},
                 quoted(expr) + " is not a cron expression: " + why};
}

std::optional<int64_t> next_start(const schedule_spec& s, int64_t anchor_ms,
                                  int64_t after_ms) {
  bool every = s.every_ms > 0;
  bool cron = !s.cron.empty();
  if (every == cron || s.every_ms < 0)
    return std::nullopt;
  if (every) {
    // Nothing starts before the anchor.
    if (after_ms < anchor_ms)
      return anchor_ms;
    // anchor + k * every for the smallest k with a result > after, in 128
    // bits: far-apart instants must not overflow.
    auto since = static_cast<__int128>(after_ms) - anchor_ms;
    auto k = since / s.every_ms + 1;
    auto result = static_cast<__int128>(anchor_ms) + k * s.every_ms;
    if (result > std::numeric_limits<int64_t>::max())
      return std::nullopt;
    return static_cast<int64_t>(result);
  }
  cron_schedule parsed;
  std::string why;
  if (!parse_cron(s.cron, parsed, why) || after_ms < earliest_ms
      || after_ms > latest_ms)
    return std::nullopt;
  // The next whole minute strictly after `after`.
  auto from = (floor_div(after_ms, minute_ms) + 1) * minute_ms;
  return next_cron_match(parsed, from, after_ms + cron_horizon_ms);
}

// -- trigger_record ----------------------------------------------------------------

json::value to_json(const trigger_record& x) {
  json::value out{json::object{}};
  out.set("trigger_id", x.trigger_id);
  out.set("pipeline", x.pipeline_ref);
  if (x.schedule.every_ms > 0) {
    out.set("every", every_text(x.schedule.every_ms));
    out.set("every_ms", x.schedule.every_ms);
  }
  if (!x.schedule.cron.empty())
    out.set("cron", x.schedule.cron);
  out.set("inputs", string_map(x.inputs));
  out.set("values", stored_map(x.values));
  out.set("mode", to_string(x.mode));
  out.set("created_at", x.created_at);
  if (!x.created_by.empty())
    out.set("created_by", x.created_by);
  out.set("anchor_ms", x.anchor_ms);
  out.set("next_start", ms_timestamp(x.next_ms));
  out.set("next_ms", x.next_ms);
  if (x.last_ms != 0) {
    out.set("last_start", ms_timestamp(x.last_ms));
    out.set("last_ms", x.last_ms);
  }
  if (!x.last_run_id.empty())
    out.set("last_run_id", x.last_run_id);
  return out;
}

std::optional<trigger_record>
trigger_record_from_json(const json::value& x, std::vector<problem>& problems) {
  member_reader in{x, "", problems,
                   {"trigger_id", "pipeline", "every", "every_ms", "cron",
                    "inputs", "values", "mode", "created_at", "created_by",
                    "anchor_ms", "next_start", "next_ms", "last_start",
                    "last_ms", "last_run_id"},
                   "a trigger"};
  trigger_record result;
  in.uuid_into(result.trigger_id, "trigger_id", true);
  in.pipeline_ref_into(result.pipeline_ref, "pipeline", true);
  read_schedule(in, x, result.schedule, true);
  in.asset_ids_into(result.inputs, "inputs", false, false);
  in.json_map_into(result.values, "values", false);
  in.mode_into(result.mode);
  in.timestamp_into(result.created_at, "created_at", true);
  in.plain_string_into(result.created_by, "created_by", false);
  in.integer_into<int64_t>(result.anchor_ms, "anchor_ms", true, earliest_ms,
                           latest_ms);
  instant_into(in, result.next_ms, "next_ms", "next_start", true);
  instant_into(in, result.last_ms, "last_ms", "last_start", false);
  in.uuid_into(result.last_run_id, "last_run_id", false);
  if (!in.clean())
    return std::nullopt;
  return result;
}

std::optional<trigger_record>
trigger_request_from_json(const json::value& x, std::vector<problem>& problems) {
  member_reader in{x, "", problems,
                   {"pipeline", "every", "cron", "inputs", "values", "mode"},
                   "a trigger request"};
  trigger_record result;
  in.pipeline_ref_into(result.pipeline_ref, "pipeline", true);
  read_schedule(in, x, result.schedule, false);
  in.asset_ids_into(result.inputs, "inputs", false, false);
  in.json_map_into(result.values, "values", false);
  in.mode_into(result.mode);
  if (!in.clean())
    return std::nullopt;
  return result;
}

} // namespace omniva::contracts
