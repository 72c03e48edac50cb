#include "contracts/schema_catalog.hpp"

#include "contracts/messages.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <utility>

namespace omniva::contracts {

namespace {

/// The base URI of schemas compiled by `compile_inline`.
constexpr std::string_view inline_schema_uri = "omniva:///schemas/inline.json";

/// At most this many inline schemas stay compiled; when the cache is full it
/// starts over (contracts are few, so this only bounds hostile input).
constexpr size_t max_inline_cache = 256;

/// "ClipCandidate" and "ClipCandidate.json" both name "ClipCandidate.json".
std::string file_name(std::string_view name) {
  std::string out{name};
  if (!out.ends_with(".json"))
    out += ".json";
  return out;
}

/// An RFC 3339 date-time as nanoseconds since the epoch (UTC), or nullopt
/// when `text` is not one. Only used for ordering two timestamps.
std::optional<__int128> parse_instant(std::string_view s) {
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size())
      return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2),
       hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s.size() < 20
      || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't')
      || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start)
      return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':')
      return std::nullopt;
    offset_minutes = (*oh * 60 + *om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  // Days from civil (H. Hinnant's algorithm).
  int64_t y = *year - (*month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (*month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + *day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second
                    - offset_minutes * 60;
  return static_cast<__int128>(seconds) * 1'000'000'000 + nanos;
}

/// Whether `text` has the shape MAJOR.MINOR.PATCH (digits only); whether
/// the major is one this build reads is `supported_schema_version`'s call.
bool looks_like_semver(std::string_view text) {
  int dots = 0;
  bool digit_before = false;
  for (char c : text) {
    if (c == '.') {
      if (!digit_before)
        return false;
      ++dots;
      digit_before = false;
    } else if (c >= '0' && c <= '9') {
      digit_before = true;
    } else {
      return false;
    }
  }
  return dots == 2 && digit_before;
}

std::string describe_number(double x) {
  std::string out;
  json::append_number(out, x);
  return out;
}

/// `end_time > start_time` on one clip candidate at `pointer`.
void check_clip_times(const json::value& clip, const std::string& pointer,
                      std::vector<problem>& out) {
  auto* start = clip.find("start_time");
  auto* end = clip.find("end_time");
  if (!start || !end || !start->is_number() || !end->is_number())
    return;
  if (!(end->as_double() > start->as_double()))
    out.push_back({ec::semantic_violation,
                   json::append_pointer(pointer, "end_time"),
                   "end_time (" + describe_number(end->as_double())
                     + ") must be greater than start_time ("
                     + describe_number(start->as_double()) + ")"});
}

} // namespace

// -- schema_catalog -----------------------------------------------------------

struct schema_catalog::impl {
  /// Every schema, by file name ("ClipCandidate.json").
  std::map<std::string, json::value, std::less<>> documents;
  /// Holds the documents under their URIs.
  schema_registry registry;
  /// Files that did not load.
  std::vector<std::string> load_errors;
  /// Guards everything below and every compilation (the registry is not
  /// safe for concurrent lookups).
  mutable std::mutex mtx;
  /// Compiled shipped schemas (or their compile errors), by file name.
  mutable std::map<std::string, compile_result, std::less<>> compiled;
  /// Compiled inline schemas, by canonical text.
  mutable std::map<std::string, compile_result, std::less<>> inline_compiled;
};

schema_catalog::schema_catalog(std::span<const embedded_file> files)
  : impl_(std::make_unique<impl>()) {
  for (auto& f : files) {
    auto parsed = json::parse(f.text);
    if (!parsed) {
      impl_->load_errors.push_back(std::string{f.name} + ": "
                                   + parsed.error.message);
      continue;
    }
    std::string uri{shipped_schema_base};
    uri += f.name;
    impl_->registry.add(uri, *parsed.doc);
    impl_->documents.emplace(std::string{f.name}, std::move(*parsed.doc));
  }
}

schema_catalog::~schema_catalog() = default;

const schema_catalog& schema_catalog::shipped() {
  static const schema_catalog instance{embedded_schema_files()};
  return instance;
}

const schema_registry& schema_catalog::registry() const noexcept {
  return impl_->registry;
}

std::vector<std::string> schema_catalog::names() const {
  std::vector<std::string> out;
  for (auto& [name, doc] : impl_->documents)
    out.push_back(name.substr(0, name.size() - 5));
  return out;
}

std::optional<std::string> schema_catalog::uri(std::string_view name) const {
  auto file = file_name(name);
  if (!impl_->documents.contains(file))
    return std::nullopt;
  return std::string{shipped_schema_base} + file;
}

const json::value* schema_catalog::document(std::string_view name) const {
  auto i = impl_->documents.find(file_name(name));
  return i == impl_->documents.end() ? nullptr : &i->second;
}

compile_result schema_catalog::compile(std::string_view name) const {
  auto file = file_name(name);
  if (!impl_->documents.contains(file))
    return {};
  std::lock_guard guard{impl_->mtx};
  if (auto i = impl_->compiled.find(file); i != impl_->compiled.end())
    return i->second;
  schema_options opts;
  opts.format_assertion = true;
  opts.base_uri = std::string{shipped_schema_base} + file;
  auto result = compile_schema_at(opts.base_uri, impl_->registry, opts);
  impl_->compiled.emplace(file, result);
  return result;
}

std::shared_ptr<const compiled_schema>
schema_catalog::find(std::string_view name) const {
  return compile(name).schema;
}

compile_result schema_catalog::compile_inline(const json::value& schema) const {
  auto key = json::serialize(schema, json::style::canonical);
  std::lock_guard guard{impl_->mtx};
  if (auto i = impl_->inline_compiled.find(key);
      i != impl_->inline_compiled.end())
    return i->second;
  schema_options opts;
  opts.format_assertion = true;
  opts.base_uri = std::string{inline_schema_uri};
  auto result = compile_schema(schema, impl_->registry, opts);
  if (impl_->inline_compiled.size() >= max_inline_cache)
    impl_->inline_compiled.clear();
  impl_->inline_compiled.emplace(std::move(key), result);
  return result;
}

const std::vector<std::string>& schema_catalog::load_errors() const noexcept {
  return impl_->load_errors;
}

// -- problems -----------------------------------------------------------------

std::vector<problem> schema_problems(const std::vector<schema_error>& errors,
                                     ec code, std::string_view base_pointer,
                                     schema_problem_codes codes) {
  std::vector<problem> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& e : errors) {
    problem p{code, std::string{base_pointer} + e.instance_location,
              e.message};
    if (e.too_complex) {
      p.code = ec::schema_too_complex;
    } else if (!e.missing_property.empty()) {
      auto& name = e.missing_property;
      p.pointer = json::append_pointer(p.pointer, name);
      p.message = "the required field '" + name + "' is missing";
      if (codes == schema_problem_codes::refined)
        p.code = ec::missing_field;
    } else if (codes == schema_problem_codes::refined
               && e.keyword_location.ends_with("/additionalProperties")) {
      p.code = ec::unknown_field;
    }
    if (seen.emplace(p.pointer, p.message).second)
      out.push_back(std::move(p));
  }
  return out;
}

std::vector<problem> check_semantic_rules(std::string_view name,
                                          const json::value& doc,
                                          std::string_view base_pointer) {
  std::vector<problem> out;
  if (!doc.is_object())
    return out;
  std::string base{base_pointer};
  auto file = file_name(name);
  if (file == "ClipCandidate.json") {
    check_clip_times(doc, base, out);
  } else if (file == "AnalysisResult.json") {
    if (auto* clips = doc.find("clip_candidates"); clips && clips->is_array()) {
      auto& xs = clips->as_array();
      auto at = json::append_pointer(base, "clip_candidates");
      for (size_t i = 0; i < xs.size(); ++i)
        if (xs[i].is_object())
          check_clip_times(xs[i], json::append_pointer(at, i), out);
    }
  } else if (file == "ScraperJob.json") {
    auto* range = doc.find("requested_range");
    auto* since = range ? range->find("since") : nullptr;
    auto* until = range ? range->find("until") : nullptr;
    if (since && until && since->is_string() && until->is_string()) {
      auto a = parse_instant(since->as_string());
      auto b = parse_instant(until->as_string());
      if (a && b && *a > *b)
        out.push_back({ec::semantic_violation,
                       base + "/requested_range/until",
                       "until (" + until->as_string()
                         + ") must not be earlier than since ("
                         + since->as_string() + ")"});
    }
  }
  // A schema_version that is not MAJOR.MINOR.PATCH is the schema's business.
  if (auto* v = doc.find("schema_version");
      v && v->is_string() && looks_like_semver(v->as_string())) {
    problem why;
    if (!supported_schema_version(v->as_string(), &why)) {
      why.pointer = base + "/schema_version";
      out.push_back(std::move(why));
    }
  }
  return out;
}

std::vector<problem> validate_core_document(std::string_view name,
                                            const json::value& doc) {
  auto& catalog = schema_catalog::shipped();
  auto compiled = catalog.compile(name);
  if (!compiled) {
    if (compiled.errors.empty())
      return {{ec::invalid_ref, "",
               "no shipped schema is named '" + std::string{name} + "'"}};
    return {{ec::invalid_schema, "",
             "the shipped schema '" + std::string{name}
               + "' does not compile: " + compiled.errors.front().message}};
  }
  auto result = compiled.schema->validate(doc);
  auto out = schema_problems(result.errors, ec::schema_violation, "");
  if (!result.valid && out.empty())
    out.push_back({ec::schema_violation, "",
                   "the document does not satisfy " + std::string{name}});
  auto semantic = check_semantic_rules(name, doc);
  out.insert(out.end(), semantic.begin(), semantic.end());
  return out;
}

std::vector<problem> validate_core(std::string_view name,
                                   std::string_view text) {
  auto parsed = json::parse(text);
  if (!parsed)
    return {{ec::invalid_json, "", parsed.error.message}};
  return validate_core_document(name, *parsed.doc);
}

} // namespace omniva::contracts
