#include "contracts/predicate.hpp"

#include "contracts/ecma_regex.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/registry_store.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace omniva::contracts {

namespace {

constexpr std::array<std::string_view, 7> kind_names{
  "budget.available",      "quota.available", "lease.free",   "artifact.exists",
  "artifact.schema",       "artifact.size_between", "value.matches",
};

/// The largest JSON file a predicate reads (64 MiB): beyond it the
/// predicate fails, saying so, instead of holding the file in memory.
constexpr uintmax_t max_json_bytes = uintmax_t{64} << 20;

/// The largest byte count an argument may name (2^53: exact in a double).
constexpr int64_t max_bytes_arg = int64_t{1} << 53;

/// The most units a quota may take at once, or hold per window.
constexpr int64_t max_units = 1'000'000'000'000;

/// What an argument holds.
enum class arg_type : uint8_t {
  /// An integer in [min, max].
  integer,
  /// A number.
  number,
  /// A budget's or quota's name.
  name,
  /// A write prefix.
  prefix,
  /// A `${inputs.K}` / `${outputs.K}` reference.
  ref,
  /// A JSON pointer.
  pointer,
  /// An ECMA-262 pattern.
  pattern,
  /// A schema id or an inline schema.
  schema,
  /// Any JSON value.
  any,
  /// A non-empty array.
  array,
};

struct arg_spec {
  std::string_view name;
  arg_type type;
  bool required = false;
  int64_t min = 0;
  int64_t max = 0;
  std::string_view doc;
};

/// The arguments of each kind.
const std::vector<arg_spec>& args_of(predicate_kind kind) {
  static const std::vector<arg_spec> budget{
    {"required_usd_micro", arg_type::integer, false, 0, max_usd_micro,
     "micro-dollars the task needs; default: the contract's cost (per run, or "
     "per second times timeout_s)"},
    {"budget", arg_type::name, false, 0, 0,
     "a named budget that caps the task too (omniva budget create)"}};
  static const std::vector<arg_spec> quota{
    {"quota", arg_type::name, true, 0, 0, "the quota's name (omniva quota create)"},
    {"units", arg_type::integer, true, 1, max_units, "units one run spends"}};
  static const std::vector<arg_spec> lease{
    {"prefix", arg_type::prefix, false, 0, 0,
     "one of the contract's write prefixes; default: all of them"}};
  static const std::vector<arg_spec> exists{
    {"path", arg_type::ref, true, 0, 0, "${inputs.KEY} or ${outputs.KEY}"}};
  static const std::vector<arg_spec> schema{
    {"path", arg_type::ref, true, 0, 0, "${inputs.KEY} or ${outputs.KEY}"},
    {"schema", arg_type::schema, true, 0, 0, "a schema id or an inline JSON Schema"}};
  static const std::vector<arg_spec> size{
    {"path", arg_type::ref, true, 0, 0, "${inputs.KEY} or ${outputs.KEY}"},
    {"min_bytes", arg_type::integer, false, 0, max_bytes_arg, "the fewest bytes"},
    {"max_bytes", arg_type::integer, false, 0, max_bytes_arg, "the most bytes"}};
  static const std::vector<arg_spec> matches{
    {"path", arg_type::ref, true, 0, 0,
     "${inputs.KEY} (a JSON asset or json VALUE) or ${outputs.KEY} (a JSON file)"},
    {"pointer", arg_type::pointer, true, 0, 0, "RFC 6901 pointer into the JSON"},
    {"equals", arg_type::any, false, 0, 0, "the value must equal this"},
    {"in", arg_type::array, false, 0, 0, "the value must equal one of these"},
    {"min", arg_type::number, false, 0, 0, "the value is a number >= min"},
    {"max", arg_type::number, false, 0, 0, "the value is a number <= max"},
    {"pattern", arg_type::pattern, false, 0, 0,
     "the value is a string the ECMA-262 pattern finds a match in"}};
  switch (kind) {
    case predicate_kind::budget_available:
      return budget;
    case predicate_kind::quota_available:
      return quota;
    case predicate_kind::lease_free:
      return lease;
    case predicate_kind::artifact_exists:
      return exists;
    case predicate_kind::artifact_schema:
      return schema;
    case predicate_kind::artifact_size_between:
      return size;
    case predicate_kind::value_matches:
      return matches;
  }
  return exists;
}

const arg_spec* find_arg(predicate_kind kind, std::string_view name) {
  for (auto& a : args_of(kind))
    if (a.name == name)
      return &a;
  return nullptr;
}

std::string arg_names(predicate_kind kind) {
  std::string out;
  for (auto& a : args_of(kind))
    out += (out.empty() ? "" : ", ") + std::string{a.name};
  return out;
}

bool is_file_kind(predicate_kind k) noexcept {
  return k == predicate_kind::artifact_exists || k == predicate_kind::artifact_schema
         || k == predicate_kind::artifact_size_between
         || k == predicate_kind::value_matches;
}

/// Checks one argument's type and range (not what it refers to); reports
/// at `at`. Returns whether it is acceptable.
bool check_arg_value(const arg_spec& spec, const json::value& v, const std::string& at,
                     std::vector<problem>& problems) {
  auto bad = [&](std::string what) {
    problems.push_back({ec::schema_violation, at,
                        "'" + std::string{spec.name} + "' must be " + std::move(what)
                          + ", not " + json::serialize(v)});
    return false;
  };
  switch (spec.type) {
    case arg_type::integer: {
      auto n = v.is_integral() ? v.as_int64() : std::nullopt;
      if (!n)
        return bad("an integer");
      if (*n < spec.min || *n > spec.max)
        return bad("an integer in " + std::to_string(spec.min) + " .. "
                   + std::to_string(spec.max));
      return true;
    }
    case arg_type::number:
      return v.is_number() ? true : bad("a number");
    case arg_type::name:
      if (!v.is_string() || !is_policy_name(v.as_string()))
        return bad("a name (lowercase letters, digits, '.', '_', '-', a letter first, "
                   "at most 64 characters)");
      return true;
    case arg_type::prefix:
      if (!v.is_string() || !is_write_prefix(v.as_string()))
        return bad("a write prefix ('/' first, no '.' or '..' segment)");
      return true;
    case arg_type::ref:
      if (!v.is_string())
        return bad("a reference, \"${inputs.KEY}\" or \"${outputs.KEY}\"");
      if (!parse_predicate_ref(v.as_string())) {
        problems.push_back({ec::invalid_ref, at,
                            "'" + v.as_string()
                              + "' is not a reference: write \"${inputs.KEY}\" or "
                                "\"${outputs.KEY}\" naming one of the contract's "
                                "inputs or outputs"});
        return false;
      }
      return true;
    case arg_type::pointer:
      if (!v.is_string())
        return bad("a JSON pointer (a string)");
      if (!json::is_json_pointer(v.as_string())) {
        problems.push_back({ec::invalid_pointer, at,
                            "'" + v.as_string()
                              + "' is not a JSON pointer (RFC 6901): \"\" for the "
                                "whole document, else '/' before each member name or "
                                "index"});
        return false;
      }
      return true;
    case arg_type::pattern: {
      if (!v.is_string())
        return bad("an ECMA-262 pattern (a string)");
      std::string why;
      if (!ecma_regex::compile(v.as_string(), why)) {
        problems.push_back({ec::invalid_pattern, at, "the pattern " + why});
        return false;
      }
      return true;
    }
    case arg_type::schema:
      if (!v.is_string() && !v.is_object() && !v.is_bool())
        return bad("a schema id or an inline JSON Schema");
      return true;
    case arg_type::any:
      return true;
    case arg_type::array:
      if (!v.is_array() || v.as_array().empty())
        return bad("a non-empty array");
      return true;
  }
  return true;
}

/// Overlays `over` on `base` (both objects).
json::value merge_args(const json::value& base, const json::value& over) {
  json::value out = base.is_object() ? base : json::value{json::object{}};
  if (over.is_object())
    for (auto& [k, v] : over.as_object())
      out.set(k, v);
  return out;
}

json::value parse_or_empty(const std::string& text) {
  auto doc = json::parse(text);
  if (!doc || !doc.doc->is_object())
    return json::value{json::object{}};
  return std::move(*doc.doc);
}

/// Checks the schema argument of `artifact.schema`.
void check_schema_arg(const json::value& v, const std::string& at,
                      const predicate_schema_resolver& resolve,
                      std::vector<problem>& problems) {
  if (v.is_string()) {
    auto& id = v.as_string();
    bool found = (resolve && resolve(id)) || schema_catalog::shipped().find(id);
    if (!found)
      problems.push_back({ec::invalid_ref, at,
                          "no schema '" + id
                            + "' is registered or shipped (name a schema id such "
                              "as \"media.metadata@1\" or \"ClipCandidate\", or "
                              "give the schema inline)"});
    return;
  }
  auto compiled = schema_catalog::shipped().compile_inline(v);
  for (auto& e : compiled.errors)
    problems.push_back({ec::invalid_schema, at + e.keyword_location,
                        "the inline schema is not valid: " + e.message});
}

/// Checks what a reference argument refers to, in contract `c`.
void check_ref_target(predicate_kind kind, predicate_phase phase, const predicate_ref& r,
                      const module_contract& c, const std::string& at,
                      std::vector<problem>& problems) {
  if (r.output) {
    if (!c.find_output(r.key)) {
      std::string declared;
      for (auto& o : c.outputs)
        declared += (declared.empty() ? "" : ", ") + o.key;
      problems.push_back({ec::invalid_ref, at,
                          "the contract has no output '" + r.key + "' (its outputs: "
                            + (declared.empty() ? std::string{"none"} : declared) + ")"});
      return;
    }
    if (phase == predicate_phase::admission)
      problems.push_back({ec::invalid_contract, at,
                          "an admission predicate runs before the task does: it may "
                          "name inputs only, not the output '"
                            + r.key + "'"});
    return;
  }
  auto* in = c.find_input(r.key);
  if (!in) {
    std::string declared;
    for (auto& i : c.inputs)
      declared += (declared.empty() ? "" : ", ") + i.key;
    problems.push_back({ec::invalid_ref, at,
                        "the contract has no input '" + r.key + "' (its inputs: "
                          + (declared.empty() ? std::string{"none"} : declared) + ")"});
    return;
  }
  if (in->contract_type == input_kind::asset)
    return;
  if (kind == predicate_kind::value_matches && in->dtype == value_dtype::json)
    return;
  problems.push_back({ec::invalid_contract, at,
                      "the input '" + r.key + "' is a VALUE ("
                        + std::string{to_string(in->dtype)}
                        + "), not a file: " + std::string{to_string(kind)}
                        + " looks at an ASSET input or an output"
                        + (kind == predicate_kind::value_matches
                             ? " (or a json VALUE input)"
                             : "")});
}

/// Checks the merged arguments of one use of `kind`; reports under `at`
/// (the use's pointer). `c` is null for a registry entry's defaults (no
/// contract: required arguments and references are not checked).
void check_args(predicate_kind kind, predicate_phase phase, const json::value& args,
                const module_contract* c, const std::string& at,
                const predicate_schema_resolver& resolve_schema,
                std::vector<problem>& problems) {
  auto args_at = at + "/args";
  if (!args.is_object())
    return;
  for (auto& [name, v] : args.as_object()) {
    auto arg_at = json::append_pointer(args_at, name);
    auto* spec = find_arg(kind, name);
    if (!spec) {
      problems.push_back({ec::unknown_field, arg_at,
                          std::string{to_string(kind)} + " takes no argument '" + name
                            + "' (it takes: " + arg_names(kind) + ")"});
      continue;
    }
    if (!check_arg_value(*spec, v, arg_at, problems))
      continue;
    if (spec->type == arg_type::schema)
      check_schema_arg(v, arg_at, resolve_schema, problems);
    if (spec->type == arg_type::ref && c)
      check_ref_target(kind, phase, *parse_predicate_ref(v.as_string()), *c, arg_at,
                       problems);
  }
  if (!c)
    return;
  for (auto& spec : args_of(kind))
    if (spec.required && !args.find(spec.name))
      problems.push_back({ec::missing_field, json::append_pointer(args_at, spec.name),
                          std::string{to_string(kind)} + " needs the argument '"
                            + std::string{spec.name} + "' (" + std::string{spec.doc}
                            + ")"});
  auto int_arg = [&](std::string_view name) -> std::optional<int64_t> {
    auto* v = args.find(name);
    return v && v->is_integral() ? v->as_int64() : std::nullopt;
  };
  switch (kind) {
    case predicate_kind::budget_available:
      if (!args.find("required_usd_micro") && c->cost.empty())
        problems.push_back({ec::invalid_contract, args_at,
                            "budget.available has nothing to require: give "
                            "'required_usd_micro', or declare the contract's cost "
                            "(\"cost\": {\"usd_micro_per_run\": N} or "
                            "{\"usd_micro_per_second\": N})"});
      break;
    case predicate_kind::lease_free:
      if (c->writes.empty()) {
        problems.push_back({ec::invalid_contract, at + "/id",
                            "lease.free guards the contract's write prefixes, and it "
                            "declares none (\"writes\": [{\"prefix\": \"/...\"}])"});
      } else if (auto* p = args.find("prefix"); p && p->is_string()
                 && std::find(c->writes.begin(), c->writes.end(), p->as_string())
                      == c->writes.end()) {
        problems.push_back({ec::invalid_contract, args_at + "/prefix",
                            "'" + p->as_string()
                              + "' is not one of the contract's write prefixes"});
      }
      break;
    case predicate_kind::artifact_size_between: {
      auto lo = int_arg("min_bytes");
      auto hi = int_arg("max_bytes");
      if (!args.find("min_bytes") && !args.find("max_bytes"))
        problems.push_back({ec::invalid_contract, args_at,
                            "artifact.size_between needs 'min_bytes', 'max_bytes' "
                            "or both"});
      else if (lo && hi && *lo > *hi)
        problems.push_back({ec::invalid_contract, args_at + "/min_bytes",
                            "min_bytes " + std::to_string(*lo) + " is above max_bytes "
                              + std::to_string(*hi)});
      break;
    }
    case predicate_kind::value_matches: {
      bool any_test = false;
      for (auto name : {"equals", "in", "min", "max", "pattern"})
        any_test |= args.find(name) != nullptr;
      if (!any_test)
        problems.push_back({ec::invalid_contract, args_at,
                            "value.matches needs a test: 'equals', 'in', 'min', "
                            "'max' or 'pattern'"});
      auto* lo = args.find("min");
      auto* hi = args.find("max");
      if (lo && hi && lo->is_number() && hi->is_number()
          && lo->as_double() > hi->as_double())
        problems.push_back({ec::invalid_contract, args_at + "/min",
                            "min is above max"});
      break;
    }
    default:
      break;
  }
}

std::string_view file_name_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// Reads a JSON file of at most `max_json_bytes`; sets `why` when it
/// cannot.
std::optional<json::value> read_json(const std::string& path, std::string& why) {
  std::error_code err;
  auto size = std::filesystem::file_size(path, err);
  if (err) {
    why = std::string{file_name_of(path)} + " cannot be read: " + err.message();
    return std::nullopt;
  }
  if (size > max_json_bytes) {
    why = std::string{file_name_of(path)} + " is " + std::to_string(size)
          + " bytes, more than a predicate reads (64 MiB)";
    return std::nullopt;
  }
  auto doc = json::parse_file(path);
  if (!doc) {
    why = std::string{file_name_of(path)} + " is not JSON: " + doc.error.message;
    return std::nullopt;
  }
  return std::move(*doc.doc);
}

/// A JSON value shortened for a sentence.
std::string shown(const json::value& v) {
  auto text = json::serialize(v);
  if (text.size() > 80)
    text = text.substr(0, 77) + "...";
  return text;
}

/// value.matches on one document.
predicate_outcome match_value(const json::value& args, const json::value& doc,
                              const std::string& where) {
  auto& pointer = args.find("pointer")->as_string();
  auto* v = json::resolve_pointer(doc, pointer);
  if (!v)
    return {false, where + " has nothing at '" + pointer + "'"};
  auto at = where + " has " + shown(*v) + " at '" + pointer + "'";
  if (auto* eq = args.find("equals"); eq && !(*v == *eq))
    return {false, at + ", not " + shown(*eq)};
  if (auto* in = args.find("in"); in && in->is_array()) {
    auto& xs = in->as_array();
    if (std::none_of(xs.begin(), xs.end(), [&](auto& x) { return x == *v; }))
      return {false, at + ", none of " + shown(*in)};
  }
  auto* lo = args.find("min");
  auto* hi = args.find("max");
  if ((lo || hi) && !v->is_number())
    return {false, at + ", not a number"};
  if (lo && v->as_double() < lo->as_double())
    return {false, at + ", below min " + shown(*lo)};
  if (hi && v->as_double() > hi->as_double())
    return {false, at + ", above max " + shown(*hi)};
  if (auto* p = args.find("pattern"); p && p->is_string()) {
    if (!v->is_string())
      return {false, at + ", not a string"};
    std::string why;
    auto re = ecma_regex::compile(p->as_string(), why);
    if (!re)
      return {false, "the pattern " + why};
    if (!re->search(v->as_string()))
      return {false, at + ", which the pattern " + shown(*p) + " does not find"};
  }
  return {true, at};
}

} // namespace

const std::vector<predicate_kind>& all_predicate_kinds() {
  static const std::vector<predicate_kind> kinds{
    predicate_kind::budget_available,     predicate_kind::quota_available,
    predicate_kind::lease_free,           predicate_kind::artifact_exists,
    predicate_kind::artifact_schema,      predicate_kind::artifact_size_between,
    predicate_kind::value_matches,
  };
  return kinds;
}

std::string_view to_string(predicate_kind x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < kind_names.size() ? kind_names[i] : std::string_view{"unknown"};
}

std::optional<predicate_kind> predicate_kind_from_string(std::string_view name) noexcept {
  for (size_t i = 0; i < kind_names.size(); ++i)
    if (kind_names[i] == name)
      return static_cast<predicate_kind>(i);
  return std::nullopt;
}

std::string_view to_string(predicate_phase x) noexcept {
  return x == predicate_phase::admission ? "admission" : "success";
}

bool allowed_at(predicate_kind kind, predicate_phase phase) noexcept {
  return phase == predicate_phase::admission || is_file_kind(kind);
}

const std::vector<predicate_entry>& shipped_predicates() {
  static const std::vector<predicate_entry> entries = [] {
    std::vector<predicate_entry> out;
    for (auto k : all_predicate_kinds())
      out.push_back({std::string{to_string(k)} + "@1",
                     "the shipped " + std::string{to_string(k)} + " predicate", k,
                     "{}"});
    return out;
  }();
  return entries;
}

const predicate_entry* find_shipped_predicate(std::string_view ref) noexcept {
  for (auto& e : shipped_predicates())
    if (e.ref == ref)
      return &e;
  return nullptr;
}

int64_t cost_spec::worst_case(int64_t timeout_s) const noexcept {
  if (usd_micro_per_run > 0)
    return usd_micro_per_run;
  if (usd_micro_per_second <= 0 || timeout_s <= 0)
    return 0;
  if (usd_micro_per_second > max_usd_micro / timeout_s)
    return max_usd_micro;
  return usd_micro_per_second * timeout_s;
}

std::optional<predicate_ref> parse_predicate_ref(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 2) != "${" || text.back() != '}')
    return std::nullopt;
  auto inner = text.substr(2, text.size() - 3);
  predicate_ref out;
  if (inner.starts_with("inputs.")) {
    inner.remove_prefix(7);
  } else if (inner.starts_with("outputs.")) {
    out.output = true;
    inner.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  if (inner.empty() || inner.size() > 128)
    return std::nullopt;
  for (auto ch : inner)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-'))
      return std::nullopt;
  out.key = std::string{inner};
  return out;
}

bool is_policy_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64 || name.front() < 'a' || name.front() > 'z')
    return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.'
           || ch == '_' || ch == '-';
  });
}

bool is_write_prefix(std::string_view prefix) noexcept {
  if (prefix.empty() || prefix.front() != '/' || prefix.size() > 256)
    return false;
  if (prefix.find('\0') != std::string_view::npos)
    return false;
  auto rest = prefix.substr(1);
  if (rest.empty())
    return true; // "/": everything
  if (rest.back() == '/')
    rest.remove_suffix(1);
  for (;;) {
    auto slash = rest.find('/');
    auto seg = rest.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..")
      return false;
    if (slash == std::string_view::npos)
      return true;
    rest.remove_prefix(slash + 1);
  }
}

bool prefixes_overlap(std::string_view a, std::string_view b) noexcept {
  auto trim = [](std::string_view s) {
    while (s.size() > 1 && s.back() == '/')
      s.remove_suffix(1);
    return s;
  };
  a = trim(a);
  b = trim(b);
  if (a.size() > b.size())
    std::swap(a, b);
  if (!b.starts_with(a))
    return false;
  return a.size() == b.size() || a == "/" || b[a.size()] == '/';
}

predicate_spec read_predicates(const json::value& doc, const module_contract& c,
                               const predicate_resolver& resolve,
                               const predicate_schema_resolver& resolve_schema,
                               std::vector<problem>& problems) {
  predicate_spec out;
  if (!doc.is_object())
    return out; // the meta-schema reported it
  for (auto phase : {predicate_phase::admission, predicate_phase::success}) {
    auto phase_name = to_string(phase);
    auto* uses = doc.find(phase_name);
    if (!uses || !uses->is_array())
      continue;
    auto& into = phase == predicate_phase::admission ? out.admission : out.success;
    for (size_t i = 0; i < uses->as_array().size(); ++i) {
      auto& u = uses->as_array()[i];
      auto at = json::append_pointer(json::append_pointer("/predicates", phase_name), i);
      if (!u.is_object())
        continue;
      auto* id = u.find("id");
      if (!id || !id->is_string())
        continue; // the meta-schema reported it
      predicate_use use;
      use.id = id->as_string();
      if (!is_registry_ref(use.id)) {
        problems.push_back({ec::invalid_ref, at + "/id",
                            "'" + use.id
                              + "' is not a predicate id: a name, '@' and a positive "
                                "version, e.g. \"artifact.exists@1\""});
        continue;
      }
      std::optional<predicate_entry> entry;
      if (resolve)
        entry = resolve(use.id);
      if (!entry)
        if (auto* shipped = find_shipped_predicate(use.id))
          entry = *shipped;
      if (!entry) {
        std::string kinds;
        for (auto& e : shipped_predicates())
          kinds += (kinds.empty() ? "" : ", ") + e.ref;
        problems.push_back({ec::invalid_ref, at + "/id",
                            "no predicate '" + use.id
                              + "' is registered (the shipped ones: " + kinds + ")"});
        continue;
      }
      use.kind = entry->kind;
      if (!allowed_at(use.kind, phase)) {
        problems.push_back({ec::invalid_contract, at + "/id",
                            "'" + use.id + "' (" + std::string{to_string(use.kind)}
                              + ") is an admission predicate: it checks what a task "
                                "may spend or hold before it runs, not what it made"});
        continue;
      }
      json::value args{json::object{}};
      if (auto* a = u.find("args"); a && a->is_object())
        args = *a;
      auto merged = merge_args(parse_or_empty(entry->args_json), args);
      check_args(use.kind, phase, merged, &c, at, resolve_schema, problems);
      use.args_json = json::serialize(args, json::style::canonical);
      use.merged_args_json = json::serialize(merged, json::style::canonical);
      into.push_back(std::move(use));
    }
  }
  return out;
}

json::value to_json(const predicate_spec& x) {
  json::value out{json::object{}};
  for (auto phase : {predicate_phase::admission, predicate_phase::success}) {
    auto& uses = phase == predicate_phase::admission ? x.admission : x.success;
    if (uses.empty())
      continue;
    json::array xs;
    for (auto& u : uses) {
      json::value v{json::object{}};
      v.set("id", u.id);
      auto args = parse_or_empty(u.args_json);
      if (!args.as_object().empty())
        v.set("args", std::move(args));
      xs.push_back(std::move(v));
    }
    out.set(std::string{to_string(phase)}, json::value{std::move(xs)});
  }
  return out;
}

json::value to_json(const cost_spec& x) {
  json::value out{json::object{}};
  if (x.usd_micro_per_second > 0)
    out.set("usd_micro_per_second", x.usd_micro_per_second);
  else
    out.set("usd_micro_per_run", x.usd_micro_per_run);
  return out;
}

predicate_check check_predicate_document(std::string_view ref, const json::value& doc) {
  predicate_check out;
  auto& problems = out.problems;
  if (!is_registry_ref(ref))
    problems.push_back({ec::invalid_ref, "",
                        "'" + std::string{ref}
                          + "' is not a predicate ref: a name, '@' and a positive "
                            "version"});
  else if (find_shipped_predicate(ref))
    problems.push_back({ec::invalid_ref, "",
                        "'" + std::string{ref}
                          + "' is a shipped predicate: give yours another name"});
  if (!doc.is_object()) {
    problems.push_back({ec::schema_violation, "", "a predicate is a JSON object"});
    return out;
  }
  predicate_entry e;
  e.ref = std::string{ref};
  std::optional<predicate_kind> kind;
  for (auto& [name, v] : doc.as_object()) {
    auto at = json::append_pointer("", name);
    if (name == "kind") {
      if (!v.is_string())
        problems.push_back({ec::schema_violation, at, "'kind' is a string"});
      else if (!(kind = predicate_kind_from_string(v.as_string()))) {
        std::string kinds;
        for (auto k : all_predicate_kinds())
          kinds += (kinds.empty() ? "" : ", ") + std::string{to_string(k)};
        problems.push_back({ec::invalid_contract, at,
                            "'" + v.as_string() + "' is not a predicate kind (the kinds: "
                              + kinds + ")"});
      }
    } else if (name == "description") {
      if (!v.is_string())
        problems.push_back({ec::schema_violation, at, "'description' is a string"});
      else
        e.description = v.as_string();
    } else if (name == "ref") {
      if (!v.is_string() || v.as_string() != ref)
        problems.push_back({ec::invalid_ref, at,
                            "the predicate names itself " + json::serialize(v)
                              + " but is registered as '" + std::string{ref} + "'"});
    } else if (name == "args") {
      if (!v.is_object())
        problems.push_back({ec::schema_violation, at, "'args' is an object"});
    } else {
      problems.push_back({ec::unknown_field, at,
                          "a predicate has 'kind', 'description', 'args' and 'ref', "
                          "not '" + name + "'"});
    }
  }
  if (!doc.find("kind"))
    problems.push_back({ec::missing_field, "/kind",
                        "a predicate names its kind (\"kind\": \"artifact.exists\", "
                        "...)"});
  auto* args = doc.find("args");
  if (kind && args && args->is_object()) {
    // No contract yet: types and ranges only (the phase does not matter
    // for them).
    std::vector<problem> found;
    check_args(*kind, predicate_phase::admission, *args, nullptr, "", {}, found);
    problems.insert(problems.end(), found.begin(), found.end());
  }
  if (!problems.empty() || !kind)
    return out;
  e.kind = *kind;
  e.args_json = args ? json::serialize(*args, json::style::canonical) : "{}";
  out.entry = std::move(e);
  return out;
}

json::value to_json(const predicate_entry& x) {
  json::value out{json::object{}};
  out.set("ref", x.ref);
  out.set("kind", std::string{to_string(x.kind)});
  if (!x.description.empty())
    out.set("description", x.description);
  auto args = parse_or_empty(x.args_json);
  if (!args.as_object().empty())
    out.set("args", std::move(args));
  return out;
}

json::value predicate_args_schema(predicate_kind kind) {
  json::value props{json::object{}};
  json::array required;
  for (auto& a : args_of(kind)) {
    json::value p{json::object{}};
    switch (a.type) {
      case arg_type::integer:
        p.set("type", "integer");
        p.set("minimum", a.min);
        p.set("maximum", a.max);
        break;
      case arg_type::number:
        p.set("type", "number");
        break;
      case arg_type::name:
        p.set("type", "string");
        p.set("pattern", "^[a-z][a-z0-9._-]{0,63}$");
        break;
      case arg_type::prefix:
        p.set("type", "string");
        p.set("pattern", "^/");
        break;
      case arg_type::ref:
        p.set("type", "string");
        p.set("pattern", "^\\$\\{(inputs|outputs)\\.[A-Za-z0-9_-]+\\}$");
        break;
      case arg_type::pointer:
        p.set("type", "string");
        p.set("format", "json-pointer");
        break;
      case arg_type::pattern:
        p.set("type", "string");
        p.set("format", "regex");
        break;
      case arg_type::schema:
        p.set("type", json::array{json::value{"string"}, json::value{"object"},
                                  json::value{"boolean"}});
        break;
      case arg_type::any:
        break;
      case arg_type::array:
        p.set("type", "array");
        p.set("minItems", int64_t{1});
        break;
    }
    p.set("description", std::string{a.doc});
    props.set(std::string{a.name}, std::move(p));
    if (a.required)
      required.emplace_back(std::string{a.name});
  }
  json::value out{json::object{}};
  out.set("type", "object");
  out.set("properties", std::move(props));
  if (!required.empty())
    out.set("required", json::value{std::move(required)});
  out.set("additionalProperties", false);
  return out;
}

predicate_outcome evaluate_file_predicate(const predicate_use& use,
                                          const predicate_subjects& subjects,
                                          const predicate_schema_resolver& resolve_schema) {
  if (!is_file_kind(use.kind))
    return {false, std::string{to_string(use.kind)} + " is decided by Zenith's state, "
                     "not by files"};
  auto args = parse_or_empty(use.merged_args_json);
  auto* path = args.find("path");
  auto ref = path && path->is_string() ? parse_predicate_ref(path->as_string())
                                       : std::nullopt;
  if (!ref)
    return {false, "the predicate names no file"};
  auto subject = subjects ? subjects(*ref) : std::nullopt;
  auto what = path->as_string();
  if (!subject)
    return {false, what + " stands for nothing in this task"};
  if (subject->value_json) {
    if (use.kind != predicate_kind::value_matches)
      return {false, what + " is a value, not a file"};
    auto doc = json::parse(*subject->value_json);
    if (!doc)
      return {false, what + " is not JSON"};
    return match_value(args, *doc.doc, what);
  }
  if (subject->paths.empty())
    return {false, what + " has no file"};
  std::string seen;
  for (auto& p : subject->paths) {
    auto name = std::string{file_name_of(p)};
    std::error_code err;
    auto status = std::filesystem::status(p, err);
    if (err || !std::filesystem::is_regular_file(status))
      return {false, what + ": " + name + " does not exist"};
    switch (use.kind) {
      case predicate_kind::artifact_exists: {
        auto size = std::filesystem::file_size(p, err);
        seen = name + " exists (" + (err ? std::string{"size unknown"}
                                         : std::to_string(size) + " bytes")
               + ")";
        break;
      }
      case predicate_kind::artifact_size_between: {
        auto size = std::filesystem::file_size(p, err);
        if (err)
          return {false, name + " cannot be read: " + err.message()};
        auto n = static_cast<int64_t>(size);
        auto lo = args.find("min_bytes");
        auto hi = args.find("max_bytes");
        auto text = name + " is " + std::to_string(n) + " bytes";
        if (lo && lo->as_int64() && n < *lo->as_int64())
          return {false, text + ", below min_bytes " + std::to_string(*lo->as_int64())};
        if (hi && hi->as_int64() && n > *hi->as_int64())
          return {false, text + ", above max_bytes " + std::to_string(*hi->as_int64())};
        seen = text;
        break;
      }
      case predicate_kind::artifact_schema: {
        std::string why;
        auto doc = read_json(p, why);
        if (!doc)
          return {false, why};
        auto* s = args.find("schema");
        std::shared_ptr<const compiled_schema> compiled;
        if (s && s->is_string()) {
          if (resolve_schema)
            compiled = resolve_schema(s->as_string());
          if (!compiled)
            compiled = schema_catalog::shipped().find(s->as_string());
        } else if (s) {
          compiled = schema_catalog::shipped().compile_inline(*s).schema;
        }
        if (!compiled)
          return {false, "the schema " + (s ? shown(*s) : std::string{"(none)"})
                           + " does not resolve"};
        auto verdict = compiled->validate(*doc);
        if (!verdict.valid) {
          auto text = name + " does not satisfy the schema";
          if (!verdict.errors.empty())
            text += ": at '" + verdict.errors.front().instance_location + "', "
                    + verdict.errors.front().message;
          return {false, text};
        }
        seen = name + " satisfies the schema";
        break;
      }
      case predicate_kind::value_matches: {
        std::string why;
        auto doc = read_json(p, why);
        if (!doc)
          return {false, why};
        auto r = match_value(args, *doc, name);
        if (!r.passed)
          return r;
        seen = r.saw;
        break;
      }
      default:
        break;
    }
  }
  if (subject->paths.size() > 1)
    seen = std::to_string(subject->paths.size()) + " files pass; the last: " + seen;
  return {true, seen};
}

} // namespace omniva::contracts
