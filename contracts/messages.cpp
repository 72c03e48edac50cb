#include "contracts/messages.hpp"

#include "contracts/enum_names.hpp"
#include "contracts/ids.hpp"
#include "contracts/json_format.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <variant>

namespace omniva::contracts {

namespace {

// -- small checks ----------------------------------------------------------------

bool is_digest(std::string_view text) noexcept {
  return text.size() == 64
         && std::all_of(text.begin(), text.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
}

/// A pointer into a document, as a task error may carry it: non-empty (an
/// absent member says "none") and RFC 6901.
bool is_error_pointer(std::string_view text) noexcept {
  return !text.empty() && check_format(string_format::json_pointer, text);
}

bool is_token_char(char c) noexcept {
  // RFC 6838 restricted-name characters.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '!' || c == '#' || c == '$'
         || c == '&' || c == '-' || c == '^' || c == '_' || c == '.'
         || c == '+';
}

/// "type/subtype", optionally followed by parameters after ";".
bool is_media_type(std::string_view text) noexcept {
  auto essence = text.substr(0, text.find(';'));
  auto slash = essence.find('/');
  if (slash == std::string_view::npos || slash == 0
      || slash + 1 == essence.size())
    return false;
  for (size_t i = 0; i < essence.size(); ++i)
    if (i != slash && !is_token_char(essence[i]))
      return false;
  return true;
}

/// "name@version": a name without "@" or whitespace, a positive integer.
bool is_module_ref(std::string_view text) noexcept {
  auto at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size())
    return false;
  auto name = text.substr(0, at);
  auto version = text.substr(at + 1);
  for (char c : name)
    if (c == '@' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
      return false;
  if (version[0] == '0')
    return false;
  uint32_t parsed = 0;
  auto [end, err] = std::from_chars(version.data(),
                                    version.data() + version.size(), parsed);
  return err == std::errc{} && end == version.data() + version.size();
}

/// Dotted lowercase segments: "task.created", "advice.paradox".
bool is_topic(std::string_view text) noexcept {
  if (text.empty() || text.front() == '.' || text.back() == '.')
    return false;
  char prev = 0;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || (c == '.' && prev != '.');
    if (!ok)
      return false;
    prev = c;
  }
  return true;
}

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

// -- writing ---------------------------------------------------------------------

/// Writes the members of one JSON object: the counterpart of `object_reader`
/// below, so that each `to_json` reads like its `*_from_json`, member for
/// member, with the same notion of an absent member (an empty string, list
/// or map) and of a member kept as JSON text.
class object_writer {
public:
  /// Writes member `key`.
  void put(std::string key, json::value x) {
    out_.set(std::move(key), std::move(x));
  }

  /// Writes a string member whose absence means "none": only when non-empty.
  void optional_string(std::string key, const std::string& x) {
    if (!x.empty())
      put(std::move(key), x);
  }

  /// Writes an object of strings.
  void string_map(std::string key, const std::map<std::string, std::string>& xs) {
    json::object result;
    result.reserve(xs.size());
    for (const auto& [k, v] : xs)
      result.emplace_back(k, json::value{v});
    put(std::move(key), json::value{std::move(result)});
  }

  /// Writes an object of values kept as JSON text; only when non-empty.
  void optional_json_map(std::string key, const std::map<std::string, std::string>& xs) {
    if (xs.empty())
      return;
    json::object result;
    result.reserve(xs.size());
    for (const auto& [k, text] : xs)
      result.emplace_back(k, parse_stored(text));
    put(std::move(key), json::value{std::move(result)});
  }

  /// Writes an array of strings; when `omit_empty`, only when non-empty.
  void string_list(std::string key, const std::vector<std::string>& xs, bool omit_empty) {
    if (omit_empty && xs.empty())
      return;
    json::array result;
    result.reserve(xs.size());
    for (const auto& x : xs)
      result.emplace_back(x);
    put(std::move(key), json::value{std::move(result)});
  }

  /// Writes a value kept as JSON text; only when there is one.
  void optional_stored(std::string key, const std::string& text) {
    if (!text.empty())
      put(std::move(key), parse_stored(text));
  }

  /// The object written.
  json::value done() && {
    return std::move(out_);
  }

private:
  json::value out_{json::object{}};
};

// -- reading ---------------------------------------------------------------------

/// Reads the members of one JSON object, recording every problem it meets.
class object_reader {
public:
  /// Checks that `x` is an object and has no member outside `known`.
  object_reader(const json::value& x, std::string_view base,
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

  /// The pointer of member `key`.
  std::string at(std::string_view key) const {
    return json::append_pointer(base_, key);
  }

  void report(ec code, std::string pointer, std::string message) {
    problems_.push_back(problem{code, std::move(pointer), std::move(message)});
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

  /// Returns member `key` when it has the JSON type that `Holds` tests
  /// (`&json::value::is_object`, ...), or nullptr: absent (see `find`) or of
  /// another type, reported as `type_mismatch` ("must be `want`, not ...").
  template <bool (json::value::*Holds)() const noexcept>
  const json::value* typed(std::string_view key, bool required,
                           std::string_view want) {
    auto* x = find(key, required);
    if (x == nullptr || (x->*Holds)())
      return x;
    report(ec::type_mismatch, at(key), wrong_type(key, want, *x));
    return nullptr;
  }

  /// Reads a string member; reports `type_mismatch` for another type.
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

  /// Reads a string member into `out` and checks it with `valid`, reporting
  /// `code` with `expected` when the check fails.
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

  /// Reads an optional string member into `out` without further checks;
  /// an empty string is an error (absent members say "none").
  void plain_string_into(std::string& out, std::string_view key,
                         bool required) {
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
      out, key, required,
      [](const std::string& s) { return is_timestamp(s); },
      ec::invalid_timestamp, "an RFC 3339 date-time");
  }

  /// Reads an integer member within [lo, hi]; returns whether it stored one.
  template <class Int>
  bool integer_into(Int& out, std::string_view key, bool required, Int lo,
                    Int hi) {
    // `is_integral` holds for numbers only (1.0 is an integer).
    auto* x = typed<&json::value::is_integral>(key, required, "an integer");
    if (x == nullptr)
      return false;
    if constexpr (std::is_unsigned_v<Int>) {
      if (auto* u = std::get_if<uint64_t>(&x->data())) {
        if (*u <= static_cast<uint64_t>(hi)) {
          out = static_cast<Int>(*u);
          return true;
        }
        report_range(key, lo, hi);
        return false;
      }
    }
    auto v = x->as_int64();
    if (!v || *v < static_cast<int64_t>(lo)
        || (*v >= 0 && static_cast<uint64_t>(*v) > static_cast<uint64_t>(hi))) {
      report_range(key, lo, hi);
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
             quoted(key) + " must be one of " + std::string{allowed}
               + " (got " + quoted(*text) + ")");
  }

  /// Reads an object of strings, each checked by `valid`. With `keep_bad`,
  /// a member whose value is wrong is reported and kept all the same (a
  /// string as it is, anything else as compact JSON text), so that what
  /// reads the rest can still speak of its key.
  template <class Predicate>
  void string_map_into(std::map<std::string, std::string>& out,
                       std::string_view key, bool required, Predicate valid,
                       ec code, std::string_view expected,
                       bool keep_bad = false) {
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
      } else if (!valid(v.as_string())) {
        report(code, pointer,
               "member " + quoted(k) + " of " + quoted(key) + " must be "
                 + std::string{expected} + ", not " + quoted(v.as_string()));
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

  /// Reads an object member, stored as compact text.
  void object_text_into(std::string& out, std::string_view key, bool required) {
    if (auto* x = typed<&json::value::is_object>(key, required, "an object"))
      out = json::serialize(*x);
  }

  /// Reads an array of strings, each checked by `valid`.
  template <class Predicate>
  void string_list_into(std::vector<std::string>& out, std::string_view key,
                        bool required, Predicate valid, ec code,
                        std::string_view expected) {
    auto* x = typed<&json::value::is_array>(key, required, "an array");
    if (x == nullptr)
      return;
    auto base = at(key);
    const auto& items = x->as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      auto pointer = json::append_pointer(base, i);
      const auto& item = items[i];
      if (!item.is_string())
        report(ec::type_mismatch, pointer,
               "items of " + quoted(key) + " must be strings, not "
                 + std::string{json::to_string(item.type())});
      else if (!valid(item.as_string()))
        report(code, pointer,
               "items of " + quoted(key) + " must be "
                 + std::string{expected} + ", not "
                 + quoted(item.as_string()));
      else
        out.push_back(item.as_string());
    }
  }

  // The members several records share, one reader each, so that a task and
  // the request it came from read them alike.

  /// Reads a module ref (`name@version`).
  void module_ref_into(std::string& out, std::string_view key, bool required) {
    string_into(
      out, key, required, [](const std::string& s) { return is_module_ref(s); },
      ec::invalid_ref, "a module ref (name@version)");
  }

  /// Reads an object of asset ids (input or output key -> UUID); see
  /// `string_map_into` for `keep_bad`.
  void asset_ids_into(std::map<std::string, std::string>& out, std::string_view key,
                      bool required, bool keep_bad = false) {
    string_map_into(
      out, key, required, [](const std::string& s) { return is_uuid(s); },
      ec::invalid_uuid, "an asset id (UUID)", keep_bad);
  }

  /// Reads a task priority: any 32-bit signed integer.
  void priority_into(int32_t& out, bool required) {
    integer_into<int32_t>(out, "priority", required, std::numeric_limits<int32_t>::min(),
                          std::numeric_limits<int32_t>::max());
  }

  /// Reads an execution mode (`real`, `mock`); absent means `real`.
  void mode_into(execution_mode& out) {
    enum_into(out, "mode", false, execution_mode_from_string, "real, mock");
  }

  /// Reads `schema_version` and checks that this build reads it.
  void schema_version_into(std::string& out, bool required) {
    auto text = string("schema_version", required);
    if (!text)
      return;
    problem why;
    if (!supported_schema_version(*text, &why)) {
      why.pointer = at("schema_version");
      problems_.push_back(std::move(why));
      return;
    }
    out = std::move(*text);
  }

private:
  static std::string wrong_type(std::string_view key, std::string_view want,
                                const json::value& got) {
    return quoted(key) + " must be " + std::string{want} + ", not "
           + std::string{json::to_string(got.type())};
  }

  template <class Int>
  void report_range(std::string_view key, Int lo, Int hi) {
    if (lo == 0 && hi == std::numeric_limits<Int>::max())
      report(ec::out_of_range, at(key), quoted(key) + " must not be negative");
    else
      report(ec::out_of_range, at(key),
             quoted(key) + " must lie in [" + std::to_string(lo) + ", "
               + std::to_string(hi) + "]");
  }

  const json::value& x_;
  std::string base_;
  std::vector<problem>& problems_;
  size_t first_;
};

// -- records ---------------------------------------------------------------------

// Every record reads and writes through these two, so that its `to_json` and
// `*_from_json` state only its members. The member code is a template
// argument, not a std::function: it inlines into each record's function.

/// Writes one record: `write(out)` puts its members in order.
template <class Write>
json::value write_record(Write write) {
  object_writer out;
  write(out);
  return std::move(out).done();
}

/// Reads one record, called `what` in messages: checks that `x` is an
/// object without members outside `members`, lets `read(in, result)` fill a
/// default `T`, and returns it when nothing was reported.
template <class T, class Read>
std::optional<T> read_record(const json::value& x, std::vector<problem>& problems,
                             std::string_view base, std::string_view what,
                             std::initializer_list<std::string_view> members,
                             Read read) {
  object_reader in{x, base, problems, members, what};
  T result;
  read(in, result);
  if (!in.clean())
    return std::nullopt;
  return result;
}

constexpr std::string_view dtype_names[] = {
  "string", "text", "url", "int", "float", "bool", "enum", "json",
};

constexpr enum_spelling<asset_kind> asset_kind_names[] = {
  {asset_kind::file, "FILE"},
  {asset_kind::value, "VALUE"},
};

constexpr enum_spelling<execution_mode> execution_mode_names[] = {
  {execution_mode::real, "real"},
  {execution_mode::mock, "mock"},
};

bool valid_uuid(const std::string& s) {
  return is_uuid(s);
}

} // namespace

// -- schema versions -----------------------------------------------------------

bool supported_schema_version(std::string_view semver, problem* why) {
  auto fail = [&](std::string message) {
    if (why != nullptr)
      *why = problem{ec::unsupported_schema_version, "/schema_version",
                     std::move(message)};
    return false;
  };
  // MAJOR.MINOR.PATCH, each a number without leading zeros.
  std::array<uint64_t, 3> parts{};
  size_t pos = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      if (pos >= semver.size() || semver[pos] != '.')
        return fail(quoted(semver) + " is not a semantic version (MAJOR.MINOR.PATCH)");
      ++pos;
    }
    auto begin = semver.data() + pos;
    auto [end, err] = std::from_chars(begin, semver.data() + semver.size(),
                                      parts[i]);
    if (err != std::errc{} || (*begin == '0' && end - begin > 1))
      return fail(quoted(semver) + " is not a semantic version (MAJOR.MINOR.PATCH)");
    pos = static_cast<size_t>(end - semver.data());
  }
  if (pos != semver.size())
    return fail(quoted(semver) + " is not a semantic version (MAJOR.MINOR.PATCH)");
  if (parts[0] != supported_schema_major)
    return fail("schema_version " + quoted(semver) + " has major version "
                + std::to_string(parts[0]) + "; this build reads major version "
                + std::to_string(supported_schema_major) + " only");
  return true;
}

// -- enumerations ----------------------------------------------------------------

std::string_view to_string(asset_kind x) noexcept {
  return enum_name(x, asset_kind_names, "UNKNOWN");
}

std::optional<asset_kind> asset_kind_from_string(std::string_view name) noexcept {
  return enum_from_name(name, asset_kind_names);
}

bool is_value_dtype(std::string_view dtype) noexcept {
  return std::find(std::begin(dtype_names), std::end(dtype_names), dtype)
         != std::end(dtype_names);
}

std::string_view to_string(execution_mode x) noexcept {
  return enum_name(x, execution_mode_names, "unknown");
}

std::optional<execution_mode>
execution_mode_from_string(std::string_view name) noexcept {
  return enum_from_name(name, execution_mode_names);
}

// -- asset_record -----------------------------------------------------------------

std::optional<asset_record>
asset_record_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base) {
  return read_record<asset_record>(x, problems, base, "an asset",
    {"asset_id", "kind", "media_type", "dtype", "status", "uri", "value",
     "sha256", "size", "produced_by", "holds", "created_at", "label",
     "purged_at"},
    [](object_reader& in, asset_record& result) {
      in.uuid_into(result.asset_id, "asset_id", true);
      std::optional<asset_kind> kind;
      in.enum_into(kind, "kind", true, asset_kind_from_string, "FILE, VALUE");
      in.enum_into(result.status, "status", true, asset_status_from_string,
                   "PENDING, AVAILABLE, FAILED, PURGED");
      // Members that belong to one kind only.
      auto file_only = {"media_type", "uri"};
      auto value_only = {"dtype", "value"};
      if (kind) {
        result.kind = *kind;
        auto foreign = *kind == asset_kind::file ? value_only : file_only;
        for (auto key : foreign)
          if (in.find(key, false) != nullptr)
            in.report(ec::kind_mismatch, in.at(key),
                      quoted(key) + " does not belong to a "
                        + std::string{to_string(*kind)} + " asset");
      }
      bool is_file = kind == asset_kind::file;
      bool is_value = kind == asset_kind::value;
      if (!is_value)
        in.string_into(
          result.media_type, "media_type", is_file,
          [](const std::string& s) { return is_media_type(s); },
          ec::invalid_media_type, "a media type (type/subtype)");
      if (!is_file) {
        in.string_into(
          result.dtype, "dtype", is_value,
          [](const std::string& s) { return is_value_dtype(s); },
          ec::not_in_enum,
          "one of string, text, url, int, float, bool, enum, json");
        if (auto* v = in.find("value", false))
          result.value_json = json::serialize(*v);
      }
      if (!is_value)
        in.plain_string_into(result.uri, "uri", false);
      bool available = result.status == asset_status::available;
      if (available && is_file && in.find("uri", false) == nullptr)
        in.report(ec::missing_field, in.at("uri"),
                  "an AVAILABLE FILE asset must say where it is (\"uri\")");
      if (available && is_value && in.find("value", false) == nullptr)
        in.report(ec::missing_field, in.at("value"),
                  "an AVAILABLE VALUE asset must carry its \"value\"");
      in.string_into(
        result.sha256, "sha256", false,
        [](const std::string& s) { return is_digest(s); }, ec::invalid_digest,
        "64 lowercase hexadecimal digits");
      uint64_t size = 0;
      if (in.integer_into<uint64_t>(size, "size", false, 0,
                                    std::numeric_limits<uint64_t>::max()))
        result.size = size;
      in.uuid_into(result.produced_by, "produced_by", false);
      in.string_list_into(result.holds, "holds", false, valid_uuid,
                          ec::invalid_uuid, "task ids (UUIDs)");
      in.timestamp_into(result.created_at, "created_at", true);
      in.plain_string_into(result.label, "label", false);
      in.timestamp_into(result.purged_at, "purged_at", false);
    });
}

json::value to_json(const asset_record& x) {
  return write_record([&](object_writer& out) {
    out.put("asset_id", x.asset_id);
    out.put("kind", to_string(x.kind));
    out.optional_string("media_type", x.media_type);
    out.optional_string("dtype", x.dtype);
    out.put("status", to_string(x.status));
    out.optional_string("uri", x.uri);
    out.optional_stored("value", x.value_json);
    out.optional_string("sha256", x.sha256);
    if (x.size)
      out.put("size", *x.size);
    out.optional_string("produced_by", x.produced_by);
    out.string_list("holds", x.holds, true);
    out.put("created_at", x.created_at);
    out.optional_string("label", x.label);
    out.optional_string("purged_at", x.purged_at);
  });
}

// -- task_record ------------------------------------------------------------------

namespace {

std::optional<task_error> task_error_from_json(const json::value& x,
                                               std::vector<problem>& problems,
                                               std::string_view base) {
  return read_record<task_error>(x, problems, base, "a task error",
    {"code", "message", "transient", "pointer"},
    [](object_reader& in, task_error& result) {
      in.plain_string_into(result.code, "code", true);
      if (auto message = in.string("message", true))
        result.message = std::move(*message);
      in.boolean_into(result.transient, "transient", false);
      in.string_into(
        result.pointer, "pointer", false,
        [](const std::string& s) { return is_error_pointer(s); },
        ec::invalid_argument, "a JSON pointer (RFC 6901)");
    });
}

} // namespace

std::optional<task_record>
task_record_from_json(const json::value& x, std::vector<problem>& problems,
                      std::string_view base) {
  return read_record<task_record>(x, problems, base, "a task",
    {"task_id", "module_ref", "input_mapping", "values", "outputs", "status",
     "attempt", "priority", "idempotency_key", "trace_id", "pool", "error",
     "mode", "created_at", "updated_at", "cleared", "duplicate_of",
     "reused_from", "lost_attempts", "not_before", "run_id", "step",
     "branch"},
    [&](object_reader& in, task_record& result) {
      in.uuid_into(result.task_id, "task_id", true);
      in.module_ref_into(result.module_ref, "module_ref", true);
      in.asset_ids_into(result.input_mapping, "input_mapping", true);
      in.json_map_into(result.values, "values", false);
      in.asset_ids_into(result.outputs, "outputs", true);
      in.enum_into(result.status, "status", true, task_status_from_string,
                   "PENDING, READY, RUNNING, DONE, ERROR, CANCELLED, SKIPPED");
      in.integer_into<uint32_t>(result.attempt, "attempt", true, 1,
                                std::numeric_limits<uint32_t>::max());
      in.priority_into(result.priority, true);
      in.plain_string_into(result.idempotency_key, "idempotency_key", false);
      in.uuid_into(result.trace_id, "trace_id", true);
      in.plain_string_into(result.pool, "pool", false);
      if (auto* error = in.find("error", false))
        result.error = task_error_from_json(*error, problems, in.at("error"));
      in.mode_into(result.mode);
      in.timestamp_into(result.created_at, "created_at", true);
      in.timestamp_into(result.updated_at, "updated_at", true);
      in.boolean_into(result.cleared, "cleared", false);
      in.uuid_into(result.duplicate_of, "duplicate_of", false);
      in.uuid_into(result.reused_from, "reused_from", false);
      in.integer_into<uint32_t>(result.lost_attempts, "lost_attempts", false,
                                0, std::numeric_limits<uint32_t>::max());
      in.timestamp_into(result.not_before, "not_before", false);
      in.uuid_into(result.run_id, "run_id", false);
      in.plain_string_into(result.step, "step", false);
      // A branch is element indices ("2/0"); "" is the run's root.
      in.string_into(
        result.branch, "branch", false,
        [](const std::string& b) {
          return b.empty()
                 || std::all_of(b.begin(), b.end(), [](char c) {
                      return c == '/' || (c >= '0' && c <= '9');
                    });
        },
        ec::invalid_argument, "element indices such as \"2/0\"");
    });
}

json::value to_json(const task_record& x) {
  return write_record([&](object_writer& out) {
    out.put("task_id", x.task_id);
    out.put("module_ref", x.module_ref);
    out.string_map("input_mapping", x.input_mapping);
    out.optional_json_map("values", x.values);
    out.string_map("outputs", x.outputs);
    out.put("status", to_string(x.status));
    out.put("attempt", static_cast<int64_t>(x.attempt));
    out.put("priority", static_cast<int64_t>(x.priority));
    out.optional_string("idempotency_key", x.idempotency_key);
    out.put("trace_id", x.trace_id);
    out.optional_string("pool", x.pool);
    if (x.error)
      out.put("error", write_record([&](object_writer& error) {
        error.put("code", x.error->code);
        error.put("message", x.error->message);
        error.put("transient", x.error->transient);
        error.optional_string("pointer", x.error->pointer);
      }));
    out.put("mode", to_string(x.mode));
    out.put("created_at", x.created_at);
    out.put("updated_at", x.updated_at);
    if (x.cleared)
      out.put("cleared", true);
    out.optional_string("duplicate_of", x.duplicate_of);
    out.optional_string("reused_from", x.reused_from);
    if (x.lost_attempts > 0)
      out.put("lost_attempts", static_cast<int64_t>(x.lost_attempts));
    out.optional_string("not_before", x.not_before);
    if (!x.run_id.empty()) {
      out.put("run_id", x.run_id);
      out.put("step", x.step);
      out.put("branch", x.branch); // "" is the run's root
    }
  });
}

// -- task_request -----------------------------------------------------------------

std::optional<task_request>
task_request_from_json(const json::value& x, std::vector<problem>& problems,
                       std::string_view base) {
  auto first = problems.size();
  object_reader in{x, base, problems,
                   {"module_ref", "module_id", "input_mapping", "values",
                    "priority", "idempotency_key", "trace_id", "mode",
                    "schema_version"},
                   "a task request"};
  task_request result;
  bool has_ref = in.find("module_ref", false) != nullptr;
  bool has_id = in.find("module_id", false) != nullptr;
  if (has_ref || !has_id)
    in.module_ref_into(result.module_ref, "module_ref", true);
  if (has_id) {
    std::string alias;
    in.module_ref_into(alias, "module_id", true);
    if (!has_ref)
      result.module_ref = std::move(alias);
    else if (!alias.empty() && !result.module_ref.empty()
             && alias != result.module_ref)
      in.report(ec::invalid_argument, in.at("module_id"),
                "\"module_id\" is an alias of \"module_ref\" but names "
                "another module; give only one");
  }
  // Keys with a bad asset id stay, so that pre-flight can still say that
  // the module has no such input.
  in.asset_ids_into(result.input_mapping, "input_mapping", false, true);
  in.json_map_into(result.values, "values", false);
  in.priority_into(result.priority, false);
  in.plain_string_into(result.idempotency_key, "idempotency_key", false);
  in.uuid_into(result.trace_id, "trace_id", false);
  in.mode_into(result.mode);
  in.schema_version_into(result.schema_version, false);
  // Without the module nothing else can be checked: refused here.
  if (!x.is_object() || result.module_ref.empty())
    return std::nullopt;
  for (auto i = first; i < problems.size(); ++i) {
    auto p = problems[i];
    p.pointer.erase(0, base.size()); // relative to the request itself
    result.problems.push_back(std::move(p));
  }
  return result;
}

json::value to_json(const task_request& x) {
  return write_record([&](object_writer& out) {
    out.put("module_ref", x.module_ref);
    out.string_map("input_mapping", x.input_mapping);
    out.optional_json_map("values", x.values);
    out.put("priority", static_cast<int64_t>(x.priority));
    out.optional_string("idempotency_key", x.idempotency_key);
    out.optional_string("trace_id", x.trace_id);
    out.put("mode", to_string(x.mode));
    out.put("schema_version", x.schema_version);
  });
}

// -- envelope ---------------------------------------------------------------------

std::optional<envelope>
envelope_from_json(const json::value& x, std::vector<problem>& problems,
                   std::string_view base) {
  return read_record<envelope>(x, problems, base, "an envelope",
    {"trace_id", "_meta_parents", "schema_version", "topic", "payload"},
    [](object_reader& in, envelope& result) {
      in.uuid_into(result.trace_id, "trace_id", true);
      in.string_list_into(
        result.meta_parents, "_meta_parents", false,
        [](const std::string& s) { return is_digest(s); }, ec::invalid_digest,
        "packet ids (64 lowercase hexadecimal digits)");
      in.schema_version_into(result.schema_version, true);
      in.string_into(
        result.topic, "topic", true,
        [](const std::string& s) { return is_topic(s); }, ec::invalid_argument,
        "a dotted lowercase topic such as \"task.created\"");
      in.object_text_into(result.payload_json, "payload", true);
    });
}

json::value to_json(const envelope& x) {
  return write_record([&](object_writer& out) {
    out.put("trace_id", x.trace_id);
    out.string_list("_meta_parents", x.meta_parents, false);
    out.put("schema_version", x.schema_version);
    out.put("topic", x.topic);
    out.put("payload", x.payload_json.empty() ? json::value{json::object{}}
                                              : parse_stored(x.payload_json));
  });
}

} // namespace omniva::contracts
