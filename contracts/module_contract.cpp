#include "contracts/module_contract.hpp"

#include "contracts/ecma_regex.hpp"
#include "contracts/enum_names.hpp"
#include "contracts/json_format.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/pipeline.hpp"       // asset_list_media_type
#include "contracts/registry_store.hpp" // is_registry_ref
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

namespace omniva::contracts {

namespace {

/// The schema engine's message for a value where the schema is `false`.
constexpr std::string_view false_schema_message
  = "no value is allowed here (the schema is false)";

/// At most this many compiled patterns stay cached.
constexpr size_t max_pattern_cache = 256;

/// Compiles ECMA-262 `pattern` (cached), the dialect of JSON Schema's
/// `pattern`; nullptr with `*why` set (a phrase following "the pattern") when
/// it is malformed or RE2 cannot run it.
std::shared_ptr<const ecma_regex> compile_pattern(std::string_view pattern,
                                                  std::string* why) {
  static std::mutex mtx;
  static std::map<std::string, std::shared_ptr<const ecma_regex>, std::less<>>
    cache;
  {
    std::lock_guard guard{mtx};
    if (auto i = cache.find(pattern); i != cache.end())
      return i->second;
  }
  std::string error;
  auto compiled = ecma_regex::compile(pattern, error);
  if (!compiled) {
    if (why)
      *why = std::move(error);
    return nullptr;
  }
  auto re = std::make_shared<const ecma_regex>(std::move(*compiled));
  std::lock_guard guard{mtx};
  if (cache.size() >= max_pattern_cache)
    cache.clear();
  cache.emplace(std::string{pattern}, re);
  return re;
}

/// The length of UTF-8 `text` in code points (JSON Schema's notion).
size_t code_points(std::string_view text) noexcept {
  return static_cast<size_t>(
    std::count_if(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

bool is_lower_alpha(char c) noexcept {
  return c >= 'a' && c <= 'z';
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) noexcept {
  return is_lower_alpha(c) || (c >= 'A' && c <= 'Z') || is_digit(c);
}

/// A module name: lowercase letters, digits, '-', '_', '.'; a letter first.
bool is_module_name(std::string_view s) noexcept {
  if (s.empty() || !is_lower_alpha(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_lower_alpha(c) || is_digit(c) || c == '-' || c == '_'
           || c == '.';
  });
}

/// A schema id: a name (letters, digits, '.', '_', '-'; a letter first),
/// optionally "@" and a positive version: "media.metadata@1", "ClipCandidate".
bool is_schema_id(std::string_view s) noexcept {
  auto at = s.find('@');
  auto name = s.substr(0, at);
  if (name.empty() || !is_alnum(name.front()) || is_digit(name.front()))
    return false;
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return is_alnum(c) || c == '.' || c == '_' || c == '-';
      }))
    return false;
  if (at == std::string_view::npos)
    return true;
  auto version = s.substr(at + 1);
  return !version.empty() && version.front() != '0'
         && std::all_of(version.begin(), version.end(), is_digit);
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string number_text(double x) {
  std::string out;
  json::append_number(out, x);
  return out;
}

/// "a string", "an integer", ... for messages about a JSON value.
std::string describe_type(const json::value& x) {
  switch (x.type()) {
    case json::kind::null:
      return "null";
    case json::kind::boolean:
      return "a boolean";
    case json::kind::integer:
    case json::kind::unsigned_integer:
      return "an integer";
    case json::kind::number:
      return x.is_integral() ? "an integer" : "a number with a fraction";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

/// What a dtype expects, for messages.
std::string_view expectation(value_dtype d) noexcept {
  switch (d) {
    case value_dtype::string:
      return "a string";
    case value_dtype::text:
      return "text (a string)";
    case value_dtype::url:
      return "a URL (a string)";
    case value_dtype::integer:
      return "an integer";
    case value_dtype::floating:
      return "a number";
    case value_dtype::boolean:
      return "a boolean";
    default:
      return "a value";
  }
}

/// Unescapes the last reference token of a JSON pointer.
std::string last_token(std::string_view pointer) {
  auto slash = pointer.rfind('/');
  auto token = slash == std::string_view::npos ? pointer
                                               : pointer.substr(slash + 1);
  std::string out;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out += token[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

/// Parses stored compact JSON text (always valid: we wrote it).
json::value parse_stored(const std::string& text) {
  auto parsed = json::parse(text);
  return parsed ? std::move(*parsed.doc) : json::value{text};
}

/// Checks one module.json document and builds the contract on the way.
class contract_checker {
public:
  contract_checker(const json::value& doc, const contract_options& options,
                   std::vector<problem>& problems)
    : doc_(doc), options_(options), problems_(problems) {
  }

  module_contract run() {
    module_contract c;
    if (auto* v = doc_.find("name"); v && v->is_string()) {
      c.name = v->as_string();
      if (!is_module_name(c.name))
        report(ec::invalid_ref, "/name",
               "the name '" + c.name
                 + "' is not valid: use lowercase letters, digits, '-', '_' "
                   "and '.', starting with a letter");
    }
    if (auto* v = doc_.find("version"); v && v->is_integral()) {
      auto version = v->as_int64();
      if (!version || *version < 1)
        report(ec::invalid_ref, "/version",
               "the version must be a positive integer, not "
                 + json::serialize(*v));
      else
        c.version = *version;
    }
    if (auto* v = doc_.find("description"); v && v->is_string())
      c.description = v->as_string();
    if (auto* v = doc_.find("schema_version"); v && v->is_string())
      c.schema_version = v->as_string();
    if (auto* xs = doc_.find("inputs"); xs && xs->is_array())
      for (size_t i = 0; i < xs->as_array().size(); ++i)
        if (auto& x = xs->as_array()[i]; x.is_object())
          c.inputs.push_back(input(x, json::append_pointer("/inputs", i)));
    if (auto* xs = doc_.find("outputs"); xs && xs->is_array())
      for (size_t i = 0; i < xs->as_array().size(); ++i)
        if (auto& x = xs->as_array()[i]; x.is_object())
          c.outputs.push_back(output(x, json::append_pointer("/outputs", i)));
    if (auto* r = doc_.find("resources"); r && r->is_object()) {
      if (auto* v = r->find("cpu"); v && v->is_number())
        c.resources.cpu = v->as_double();
      if (auto* v = r->find("memory_gb"); v && v->is_number())
        c.resources.memory_gb = v->as_double();
      if (auto* v = r->find("gpu"); v && v->is_bool())
        c.resources.gpu = v->as_bool();
      if (auto* v = r->find("timeout_s"); v && v->as_int64())
        c.resources.timeout_s = *v->as_int64();
    }
    if (auto* r = doc_.find("run"); r && r->is_object())
      if (auto* cmd = r->find("command"); cmd && cmd->is_array()) {
        for (auto& arg : cmd->as_array())
          if (arg.is_string())
            c.run.command.push_back(arg.as_string());
        auto& args = cmd->as_array();
        if (args.empty())
          report(ec::empty_command, "/run/command",
                 "run.command must name the program to run (argv[0])");
        else if (args[0].is_string() && trim(args[0].as_string()).empty())
          report(ec::empty_command, "/run/command/0",
                 "run.command starts with an empty program name");
      }
    if (auto* s = doc_.find("secrets"); s && s->is_object()) {
      auto names = [](const json::value* xs, std::vector<std::string>& out) {
        if (xs && xs->is_array())
          for (auto& x : xs->as_array())
            if (x.is_string())
              out.push_back(x.as_string());
      };
      names(s->find("required"), c.secrets.required);
      names(s->find("optional"), c.secrets.optional);
    }
    if (auto* v = doc_.find("policy"); v && v->is_string()) {
      c.policy = v->as_string();
      if (!is_registry_ref(c.policy))
        report(ec::invalid_ref, "/policy",
               "'" + c.policy
                 + "' is not a policy ref: a name (letters, digits, '.', "
                   "'_', '-'; a letter first), '@' and a positive version, "
                   "e.g. \"default@1\"");
    }
    if (auto* v = doc_.find("duplicates"))
      duplicates(*v, c);
    if (auto* v = doc_.find("cost"); v && v->is_object())
      cost(*v, c);
    if (auto* xs = doc_.find("writes"); xs && xs->is_array())
      writes(*xs, c);
    // Last: their arguments name the inputs, outputs, cost and writes.
    if (auto* v = doc_.find("predicates"))
      c.predicates = read_predicates(*v, c, options_.resolve_predicate,
                                     options_.resolve_schema, problems_);
    return c;
  }

private:
  void report(ec code, std::string pointer, std::string message) {
    problems_.push_back({code, std::move(pointer), std::move(message)});
  }

  /// Reads `constraints.schema` (or an output's `schema`) at `at`.
  void schema(const json::value& v, const std::string& at, std::string& ref,
              std::string& inline_json) {
    if (v.is_string()) {
      auto& id = v.as_string();
      if (!is_schema_id(id)) {
        report(ec::invalid_ref, at,
               "'" + id
                 + "' is not a schema id (a name such as \"media.metadata@1\" "
                   "or \"ClipCandidate\")");
        return;
      }
      if (options_.resolve_schema) {
        bool unresolved = false;
        resolve_spec_schema(id, "", options_.resolve_schema, &unresolved);
        if (unresolved)
          report(ec::invalid_ref, at, "no schema '" + id + "' is registered");
      }
      ref = id;
    } else if (v.is_object() || v.is_bool()) {
      auto compiled = schema_catalog::shipped().compile_inline(v);
      for (auto& e : compiled.errors)
        report(ec::invalid_schema, at + e.keyword_location,
               "the inline schema is not valid: " + e.message);
      if (compiled)
        inline_json = json::serialize(v);
    }
  }

  /// Reads what every input and output begins with: `key` (unique among
  /// the `kind`s: `keys` maps each key seen to where it was), `label` and
  /// `description`. The meta-schema has reported wrong types already.
  template <class Spec>
  void spec_header(const json::value& x, const std::string& at, std::string_view kind,
                   std::map<std::string, std::string>& keys, Spec& s) {
    if (auto* v = x.find("key"); v && v->is_string()) {
      s.key = v->as_string();
      if (auto [i, fresh] = keys.emplace(s.key, at); !fresh)
        report(ec::duplicate_key, at + "/key",
               "the " + std::string{kind} + " key '" + s.key + "' is already used by "
                 + i->second);
    }
    if (auto* v = x.find("label"); v && v->is_string())
      s.label = v->as_string();
    if (auto* v = x.find("description"); v && v->is_string())
      s.description = v->as_string();
  }

  input_spec input(const json::value& x, const std::string& at) {
    input_spec s;
    spec_header(x, at, "input", input_keys_, s);
    if (auto* v = x.find("required"); v && v->is_bool())
      s.required = v->as_bool();
    std::optional<input_kind> kind;
    if (auto* v = x.find("contract_type"); v && v->is_string())
      kind = input_kind_from_string(v->as_string());
    const json::value* cons = x.find("constraints");
    if (cons && !cons->is_object())
      cons = nullptr;
    auto cons_at = at + "/constraints";
    auto member = [&](std::string_view name) -> const json::value* {
      return cons ? cons->find(name) : nullptr;
    };
    if (!kind)
      return s; // the meta-schema reported it; nothing more to say
    s.contract_type = *kind;
    if (*kind == input_kind::asset) {
      if (auto* xs = member("media_types"); xs && xs->is_array()) {
        auto& types = xs->as_array();
        for (size_t i = 0; i < types.size(); ++i) {
          if (!types[i].is_string())
            continue;
          auto& t = types[i].as_string();
          if (is_valid_media_type(t, true))
            s.media_types.push_back(t);
          else
            report(ec::invalid_media_type,
                   json::append_pointer(cons_at + "/media_types", i),
                   "'" + t + "' is not a media type of the form type/subtype");
        }
      }
      if (auto* v = member("schema"))
        schema(*v, cons_at + "/schema", s.schema_ref, s.schema_json);
      return s;
    }
    // VALUE: dtype next to contract_type or inside constraints.
    auto* outer = x.find("dtype");
    auto* inner = member("dtype");
    if (outer && inner && outer->is_string() && inner->is_string()
        && outer->as_string() != inner->as_string())
      report(ec::invalid_contract, cons_at + "/dtype",
             "dtype is given twice with different values ('"
               + outer->as_string() + "' and '" + inner->as_string() + "')");
    auto* given = outer ? outer : inner;
    bool dtype_known = false;
    if (!given) {
      report(ec::missing_field, at + "/dtype",
             "a VALUE input needs a dtype (string, text, url, int, float, "
             "bool, enum or json)");
    } else if (given->is_string()) {
      if (auto d = value_dtype_from_string(given->as_string())) {
        s.dtype = *d;
        dtype_known = true;
      }
    }
    auto dtype_name = std::string{to_string(s.dtype)};
    bool numeric = s.dtype == value_dtype::integer
                   || s.dtype == value_dtype::floating;
    bool textual = s.dtype == value_dtype::string
                   || s.dtype == value_dtype::text
                   || s.dtype == value_dtype::url;
    // min / max
    for (auto [name, slot] : {std::pair{"min", &s.min}, std::pair{"max", &s.max}}) {
      auto* v = member(name);
      if (!v || !v->is_number())
        continue;
      if (dtype_known && !numeric) {
        report(ec::invalid_contract, cons_at + "/" + name,
               std::string{name} + " applies to int and float inputs, not to "
                 + dtype_name);
        continue;
      }
      *slot = v->as_double();
    }
    if (s.min && s.max && *s.min > *s.max) {
      report(ec::invalid_range, cons_at + "/min",
             "min (" + number_text(*s.min) + ") is greater than max ("
               + number_text(*s.max) + ")");
      s.min.reset();
      s.max.reset();
    }
    // max_length
    if (auto* v = member("max_length"); v && v->is_integral()) {
      auto n = v->as_int64();
      if (dtype_known && !textual)
        report(ec::invalid_contract, cons_at + "/max_length",
               "max_length applies to string, text and url inputs, not to "
                 + dtype_name);
      else if (!n || *n < 0)
        report(ec::invalid_range, cons_at + "/max_length",
               "max_length must not be negative");
      else
        s.max_length = *n;
    }
    // pattern
    if (auto* v = member("pattern"); v && v->is_string()) {
      std::string error;
      if (dtype_known && !textual)
        report(ec::invalid_contract, cons_at + "/pattern",
               "pattern applies to string, text and url inputs, not to "
                 + dtype_name);
      else if (!compile_pattern(v->as_string(), &error))
        report(ec::invalid_pattern, cons_at + "/pattern", "the pattern " + error);
      else
        s.pattern = v->as_string();
    }
    // enum
    if (auto* xs = member("enum"); xs && xs->is_array()) {
      input_spec type_only;
      type_only.contract_type = input_kind::value;
      type_only.dtype = s.dtype;
      auto& values = xs->as_array();
      for (size_t i = 0; i < values.size(); ++i) {
        auto at_i = json::append_pointer(cons_at + "/enum", i);
        if (dtype_known && s.dtype != value_dtype::enumeration
            && s.dtype != value_dtype::json
            && !check_value(type_only, values[i], at_i).empty()) {
          report(ec::invalid_contract, at_i,
                 "the enum value " + json::serialize(values[i]) + " is not "
                   + std::string{expectation(s.dtype)});
          continue;
        }
        s.enum_json.push_back(json::serialize(values[i]));
      }
    } else if (s.dtype == value_dtype::enumeration) {
      report(ec::missing_field, cons_at + "/enum",
             "an enum input needs its allowed values in constraints.enum");
    }
    if (auto* v = member("schema"))
      schema(*v, cons_at + "/schema", s.schema_ref, s.schema_json);
    // default: it must satisfy the input's own dtype and constraints.
    if (auto* d = x.find("default")) {
      s.default_json = json::serialize(*d);
      if (dtype_known) {
        for (auto& p : check_value(s, *d, at + "/default",
                                   options_.resolve_schema)) {
          if (p.code == ec::invalid_ref)
            continue; // the schema id itself was reported above
          report(ec::invalid_default, p.pointer,
                 "the default does not satisfy the input: " + p.message);
        }
      }
    }
    return s;
  }

  /// Reads `cost`: one of its two members (the meta-schema checked types
  /// and ranges).
  void cost(const json::value& v, module_contract& c) {
    auto* run = v.find("usd_micro_per_run");
    auto* second = v.find("usd_micro_per_second");
    if (run && second) {
      report(ec::invalid_contract, "/cost",
             "declare the cost per run or per second, not both");
      return;
    }
    if (!run && !second) {
      report(ec::missing_field, "/cost/usd_micro_per_run",
             "a cost is \"usd_micro_per_run\" or \"usd_micro_per_second\"");
      return;
    }
    auto* amount = run ? run : second;
    auto n = amount->is_integral() ? amount->as_int64() : std::nullopt;
    if (!n || *n < 1 || *n > max_usd_micro)
      return; // the meta-schema reported it
    (run ? c.cost.usd_micro_per_run : c.cost.usd_micro_per_second) = *n;
  }

  /// Reads `writes`: prefixes, each valid and none inside another.
  void writes(const json::value& xs, module_contract& c) {
    for (size_t i = 0; i < xs.as_array().size(); ++i) {
      auto* p = xs.as_array()[i].find("prefix");
      if (!p || !p->is_string())
        continue; // the meta-schema reported it
      auto at = json::append_pointer("/writes", i) + "/prefix";
      auto& prefix = p->as_string();
      if (!is_write_prefix(prefix)) {
        report(ec::invalid_contract, at,
               "'" + prefix
                 + "' is not a write prefix: '/' first, at most 256 characters, "
                   "no empty, '.' or '..' segment");
        continue;
      }
      auto other = std::find_if(c.writes.begin(), c.writes.end(), [&](auto& w) {
        return prefixes_overlap(w, prefix);
      });
      if (other != c.writes.end()) {
        report(ec::invalid_contract, at,
               "'" + prefix + "' overlaps '" + *other
                 + "', declared before it: declare the outer prefix once");
        continue;
      }
      c.writes.push_back(prefix);
    }
  }

  /// Reads `duplicates` (after the inputs: its key names them). The
  /// meta-schema has reported wrong types, unknown members and unknown
  /// modes; what is left are the rules that need the inputs.
  void duplicates(const json::value& v, module_contract& c) {
    if (v.is_string()) {
      if (auto mode = duplicate_mode_from_string(v.as_string()))
        c.duplicates.mode = *mode;
      return;
    }
    if (!v.is_object())
      return;
    if (auto* m = v.find("mode"); m && m->is_string())
      if (auto mode = duplicate_mode_from_string(m->as_string()))
        c.duplicates.mode = *mode;
    auto* key = v.find("key");
    if (!key || !key->is_object())
      return;
    for (auto& [name, pointers] : key->as_object()) {
      auto at = json::append_pointer("/duplicates/key", name);
      auto* input = c.find_input(name);
      if (input == nullptr) {
        std::string declared;
        for (auto& i : c.inputs)
          declared += (declared.empty() ? "" : ", ") + i.key;
        report(ec::invalid_ref, at,
               "the duplicate key names the input '" + name
                 + "', which the contract does not declare (its inputs: "
                 + (declared.empty() ? std::string{"none"} : declared) + ")");
        continue;
      }
      if (!pointers.is_array())
        continue; // the meta-schema reported it
      auto& xs = pointers.as_array();
      if (xs.empty()) {
        report(ec::invalid_contract, at,
               "the input '" + name
                 + "' has no JSON pointers: name at least one (\"\" for the "
                   "whole value), or leave the input out of the key to count "
                   "it whole");
        continue;
      }
      if (input->contract_type == input_kind::asset) {
        report(ec::invalid_contract, at,
               "the input '" + name
                 + "' is a FILE ASSET input, whose content hash counts "
                   "whole: JSON pointers apply only to VALUE inputs (a JSON "
                   "value given inline or as a VALUE asset); leave it out of "
                   "the key");
        continue;
      }
      bool has_parts = input->dtype == value_dtype::json
                       || input->dtype == value_dtype::enumeration;
      std::vector<std::string> accepted;
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].is_string())
          continue; // the meta-schema reported it
        auto& pointer = xs[i].as_string();
        auto at_i = json::append_pointer(at, i);
        if (!json::is_json_pointer(pointer)) {
          report(ec::invalid_contract, at_i,
                 "'" + pointer
                   + "' is not a JSON pointer (RFC 6901): \"\" for the whole "
                     "value, else '/' before each member name or index, with "
                     "'~' written \"~0\" and '/' inside a name \"~1\"");
          continue;
        }
        if (!pointer.empty() && !has_parts && input->dtype != value_dtype::none) {
          report(ec::invalid_contract, at_i,
                 "the input '" + name + "' is a " + std::string{to_string(input->dtype)}
                   + " value, which has no parts: '" + pointer
                   + "' names nothing in it; only json (and enum) inputs take "
                     "pointers other than \"\"");
          continue;
        }
        accepted.push_back(pointer);
      }
      c.duplicates.key[name] = std::move(accepted);
    }
  }

  output_spec output(const json::value& x, const std::string& at) {
    output_spec s;
    spec_header(x, at, "output", output_keys_, s);
    if (auto* v = x.find("media_type"); v && v->is_string()) {
      s.media_type = v->as_string();
      if (!is_valid_media_type(s.media_type, false))
        report(ec::invalid_media_type, at + "/media_type",
               "'" + s.media_type
                 + "' is not a media type of the form type/subtype");
    }
    if (auto* v = x.find("schema"))
      schema(*v, at + "/schema", s.schema_ref, s.schema_json);
    if (auto* v = x.find("many"); v && v->is_bool())
      s.many = v->as_bool();
    if (s.many
        && media_type_essence(s.media_type) == asset_list_media_type)
      report(ec::invalid_contract, at + "/media_type",
             "the many output '" + s.key + "' has the media type of a list ("
               + std::string{asset_list_media_type}
               + "): its files are the list's elements, so give their media "
                 "type");
    return s;
  }

  const json::value& doc_;
  const contract_options& options_;
  std::vector<problem>& problems_;
  /// Input keys seen so far -> where first.
  std::map<std::string, std::string> input_keys_;
  /// Output keys seen so far -> where first.
  std::map<std::string, std::string> output_keys_;
};

/// Makes the meta-schema's "the schema is false" messages say what is wrong:
/// a field that does not belong to the input's contract type.
void explain_false_schemas(const json::value& doc, std::vector<problem>& xs) {
  for (auto& p : xs) {
    if (p.message != false_schema_message)
      continue;
    auto field = last_token(p.pointer);
    std::string kind;
    if (p.pointer.starts_with("/inputs/")) {
      auto rest = std::string_view{p.pointer}.substr(8);
      auto index = std::string{rest.substr(0, rest.find('/'))};
      if (auto* in = json::resolve_pointer(doc, "/inputs/" + index))
        if (auto* ct = in->find("contract_type"); ct && ct->is_string())
          kind = ct->as_string();
    }
    if (kind == "ASSET")
      p.message = "'" + field + "' does not belong in an ASSET input (an "
                  "ASSET input takes constraints.media_types and "
                  "constraints.schema)";
    else if (kind == "VALUE")
      p.message = "'" + field + "' does not belong in a VALUE input";
    else
      p.message = "'" + field + "' is not allowed here";
  }
}

/// The schema of an input, for `check_value` (nullptr: none).
std::shared_ptr<const compiled_schema>
input_schema(const input_spec& input, const schema_resolver& resolve,
             bool* unresolved) {
  return resolve_spec_schema(input.schema_ref, input.schema_json, resolve,
                             unresolved);
}

} // namespace

// -- enumerations ---------------------------------------------------------------

namespace {

constexpr enum_spelling<input_kind> input_kind_names[] = {
  {input_kind::asset, "ASSET"},
  {input_kind::value, "VALUE"},
};

// `none` is not listed: it prints as "" and no text parses to it.
constexpr enum_spelling<value_dtype> dtype_names[] = {
  {value_dtype::string, "string"},  {value_dtype::text, "text"},
  {value_dtype::url, "url"},        {value_dtype::integer, "int"},
  {value_dtype::floating, "float"}, {value_dtype::boolean, "bool"},
  {value_dtype::enumeration, "enum"}, {value_dtype::json, "json"},
};

} // namespace

std::string_view to_string(input_kind x) noexcept {
  return enum_name(x, input_kind_names, "UNKNOWN");
}

std::optional<input_kind> input_kind_from_string(std::string_view name) noexcept {
  return enum_from_name(name, input_kind_names);
}

std::string_view to_string(value_dtype x) noexcept {
  return enum_name(x, dtype_names, "");
}

std::optional<value_dtype> value_dtype_from_string(std::string_view name) noexcept {
  return enum_from_name(name, dtype_names);
}

// -- module_contract ------------------------------------------------------------

std::string module_contract::ref() const {
  return name + "@" + std::to_string(version);
}

std::string module_contract::policy_ref() const {
  return policy.empty() ? std::string{"default@1"} : policy;
}

std::string_view to_string(duplicate_mode x) noexcept {
  switch (x) {
    case duplicate_mode::allow:
      return "allow";
    case duplicate_mode::reuse:
      return "reuse";
    case duplicate_mode::block:
      return "block";
  }
  return "unknown";
}

std::optional<duplicate_mode>
duplicate_mode_from_string(std::string_view name) noexcept {
  if (name == "allow")
    return duplicate_mode::allow;
  if (name == "reuse")
    return duplicate_mode::reuse;
  if (name == "block")
    return duplicate_mode::block;
  return std::nullopt;
}

const input_spec*
module_contract::find_input(std::string_view key) const noexcept {
  for (auto& x : inputs)
    if (x.key == key)
      return &x;
  return nullptr;
}

const output_spec*
module_contract::find_output(std::string_view key) const noexcept {
  for (auto& x : outputs)
    if (x.key == key)
      return &x;
  return nullptr;
}

// -- parsing ----------------------------------------------------------------------

contract_result parse_module_contract(std::string_view text,
                                      const contract_options& options) {
  // A contract names each member once: "last one wins" would run the
  // module with what its author did not mean.
  auto parsed = json::parse(text, json::default_max_depth,
                            json::duplicates::refuse);
  if (!parsed) {
    contract_result result;
    if (parsed.error.duplicate_key)
      result.problems.push_back(
        {ec::duplicate_key, parsed.error.pointer, parsed.error.message});
    else
      result.problems.push_back(
        {ec::invalid_json, "", "the contract is not JSON: " + parsed.error.message});
    return result;
  }
  return parse_module_contract_document(*parsed.doc, options);
}

contract_result parse_module_contract_document(const json::value& doc,
                                               const contract_options& options) {
  contract_result result;
  auto& problems = result.problems;
  auto meta = schema_catalog::shipped().compile("module_contract");
  if (!meta) {
    problems.push_back({ec::invalid_schema, "",
                        "the module contract meta-schema is not available"});
    return result;
  }
  auto verdict = meta.schema->validate(doc);
  problems = schema_problems(verdict.errors, ec::invalid_contract, "",
                             schema_problem_codes::refined);
  explain_false_schemas(doc, problems);
  if (!verdict.valid && problems.empty())
    problems.push_back({ec::invalid_contract, "",
                        "the document is not a module contract"});
  if (!doc.is_object())
    return result;
  auto semantic = check_semantic_rules("module_contract", doc);
  problems.insert(problems.end(), semantic.begin(), semantic.end());
  auto contract = contract_checker{doc, options, problems}.run();
  if (problems.empty())
    result.contract = std::move(contract);
  return result;
}

// -- JSON form --------------------------------------------------------------------

namespace {

/// Writes what every input and output begins with: `key`, then `label` and
/// `description` when given (the counterpart of `spec_header`).
template <class Spec>
json::value spec_header_json(const Spec& x) {
  json::value out{json::object{}};
  out.set("key", x.key);
  if (!x.label.empty())
    out.set("label", x.label);
  if (!x.description.empty())
    out.set("description", x.description);
  return out;
}

/// Writes a spec's schema as member `schema` of `out`: the id it names, else
/// the inline schema, else nothing.
void set_spec_schema(json::value& out, const std::string& ref, const std::string& inline_json) {
  if (!ref.empty())
    out.set("schema", ref);
  else if (!inline_json.empty())
    out.set("schema", parse_stored(inline_json));
}

} // namespace

json::value to_json(const input_spec& x) {
  auto out = spec_header_json(x);
  out.set("contract_type", to_string(x.contract_type));
  out.set("required", x.required);
  if (x.contract_type == input_kind::value && x.dtype != value_dtype::none)
    out.set("dtype", to_string(x.dtype));
  if (x.has_default())
    out.set("default", parse_stored(x.default_json));
  json::value cons{json::object{}};
  if (!x.media_types.empty()) {
    json::array types;
    for (auto& t : x.media_types)
      types.emplace_back(t);
    cons.set("media_types", std::move(types));
  }
  set_spec_schema(cons, x.schema_ref, x.schema_json);
  if (x.min)
    cons.set("min", *x.min);
  if (x.max)
    cons.set("max", *x.max);
  if (!x.enum_json.empty()) {
    json::array values;
    for (auto& v : x.enum_json)
      values.push_back(parse_stored(v));
    cons.set("enum", std::move(values));
  }
  if (!x.pattern.empty())
    cons.set("pattern", x.pattern);
  if (x.max_length)
    cons.set("max_length", *x.max_length);
  if (!cons.as_object().empty())
    out.set("constraints", std::move(cons));
  return out;
}

json::value to_json(const output_spec& x) {
  auto out = spec_header_json(x);
  out.set("contract_type", "ASSET");
  out.set("media_type", x.media_type);
  set_spec_schema(out, x.schema_ref, x.schema_json);
  if (x.many)
    out.set("many", true);
  return out;
}

json::value to_json(const module_contract& x) {
  json::value out{json::object{}};
  out.set("name", x.name);
  out.set("version", x.version);
  out.set("description", x.description);
  json::array inputs;
  for (auto& i : x.inputs)
    inputs.push_back(to_json(i));
  out.set("inputs", std::move(inputs));
  json::array outputs;
  for (auto& o : x.outputs)
    outputs.push_back(to_json(o));
  out.set("outputs", std::move(outputs));
  json::value resources{json::object{}};
  resources.set("cpu", x.resources.cpu);
  resources.set("memory_gb", x.resources.memory_gb);
  resources.set("gpu", x.resources.gpu);
  resources.set("timeout_s", x.resources.timeout_s);
  out.set("resources", std::move(resources));
  json::array command;
  for (auto& arg : x.run.command)
    command.emplace_back(arg);
  json::value run{json::object{}};
  run.set("command", std::move(command));
  out.set("run", std::move(run));
  if (!x.secrets.required.empty() || !x.secrets.optional.empty()) {
    json::value secrets{json::object{}};
    json::array required, optional;
    for (auto& s : x.secrets.required)
      required.emplace_back(s);
    for (auto& s : x.secrets.optional)
      optional.emplace_back(s);
    secrets.set("required", std::move(required));
    secrets.set("optional", std::move(optional));
    out.set("secrets", std::move(secrets));
  }
  out.set("schema_version", x.schema_version);
  if (!x.policy.empty())
    out.set("policy", x.policy);
  if (!x.duplicates.key.empty()) {
    json::value rule{json::object{}};
    rule.set("mode", to_string(x.duplicates.mode));
    json::value key{json::object{}};
    for (auto& [name, pointers] : x.duplicates.key) {
      json::array xs;
      for (auto& p : pointers)
        xs.emplace_back(p);
      key.set(name, std::move(xs));
    }
    rule.set("key", std::move(key));
    out.set("duplicates", std::move(rule));
  } else if (x.duplicates.mode != duplicate_mode::allow) {
    out.set("duplicates", to_string(x.duplicates.mode));
  }
  if (!x.cost.empty())
    out.set("cost", to_json(x.cost));
  if (!x.writes.empty()) {
    json::array xs;
    for (auto& w : x.writes)
      xs.push_back(json::object{{"prefix", json::value{w}}});
    out.set("writes", json::value{std::move(xs)});
  }
  if (!x.predicates.empty())
    out.set("predicates", to_json(x.predicates));
  return out;
}

// -- values -------------------------------------------------------------------------

std::vector<problem> check_value_asset(const std::string& value_json,
                                       const std::string& dtype) {
  auto doc = json::parse(value_json);
  if (!doc)
    return {{ec::invalid_json, "/value", doc.error.message}};
  auto kind = value_dtype_from_string(dtype);
  if (!kind || *kind == value_dtype::none)
    return {{ec::dtype_mismatch, "/dtype",
             "'" + dtype + "' is not a dtype (string, text, url, int, float, "
                           "bool, enum, json)"}};
  input_spec spec;
  spec.key = "value";
  spec.contract_type = input_kind::value;
  spec.dtype = *kind;
  return check_value(spec, *doc.doc, "/value");
}

std::vector<problem> check_value(const input_spec& input, const json::value& x,
                                 std::string_view pointer,
                                 const schema_resolver& resolve) {
  std::vector<problem> out;
  std::string at{pointer};
  auto mismatch = [&] {
    out.push_back({ec::dtype_mismatch, at,
                   "expected " + std::string{expectation(input.dtype)}
                     + " for the " + std::string{to_string(input.dtype)}
                     + " input '" + input.key + "', got " + describe_type(x)});
  };
  switch (input.dtype) {
    case value_dtype::string:
      if (!x.is_string())
        mismatch();
      break;
    case value_dtype::text:
      if (!x.is_string())
        mismatch();
      else if (is_url(x.as_string()))
        out.push_back({ec::kind_mismatch, at,
                       "the input '" + input.key
                         + "' takes text, not a URL"});
      break;
    case value_dtype::url:
      if (!x.is_string())
        mismatch();
      else if (!is_url(x.as_string()))
        out.push_back({ec::kind_mismatch, at,
                       "the input '" + input.key
                         + "' takes a URL (scheme://...), not text"});
      break;
    case value_dtype::integer:
      if (!x.is_integral())
        mismatch();
      else if (!x.as_int64()) // an integer, beyond 64 bits
        out.push_back({ec::out_of_range, at,
                       json::serialize(x) + " is too large for the int input '"
                         + input.key
                         + "': an int is a 64-bit integer, from "
                           "-9223372036854775808 to 9223372036854775807"});
      break;
    case value_dtype::floating:
      if (!x.is_number())
        mismatch();
      break;
    case value_dtype::boolean:
      if (!x.is_bool())
        mismatch();
      break;
    case value_dtype::none:
    case value_dtype::enumeration:
    case value_dtype::json:
      break;
  }
  if (!out.empty())
    return out;
  if (!input.enum_json.empty()) {
    bool found = false;
    std::string allowed;
    for (auto& text : input.enum_json) {
      if (!allowed.empty())
        allowed += ", ";
      allowed += text;
      if (parse_stored(text) == x)
        found = true;
    }
    if (!found)
      out.push_back({ec::not_in_enum, at,
                     json::serialize(x) + " is not one of the allowed values ("
                       + allowed + ")"});
  }
  if (x.is_number()) {
    auto v = x.as_double();
    if (input.min && v < *input.min)
      out.push_back({ec::out_of_range, at,
                     json::serialize(x) + " is less than the minimum "
                       + number_text(*input.min)});
    if (input.max && v > *input.max)
      out.push_back({ec::out_of_range, at,
                     json::serialize(x) + " is greater than the maximum "
                       + number_text(*input.max)});
  }
  if (x.is_string()) {
    auto& s = x.as_string();
    if (input.max_length
        && code_points(s) > static_cast<size_t>(*input.max_length))
      out.push_back({ec::too_long, at,
                     "the text is " + std::to_string(code_points(s))
                       + " characters long, more than the maximum "
                       + std::to_string(*input.max_length)});
    if (!input.pattern.empty())
      if (auto re = compile_pattern(input.pattern, nullptr);
          re && !re->search(s))
        out.push_back({ec::pattern_mismatch, at,
                       "the text does not match the pattern "
                         + input.pattern});
  }
  bool unresolved = false;
  auto schema = input_schema(input, resolve, &unresolved);
  if (unresolved) {
    out.push_back({ec::invalid_ref, at,
                   "the schema '"
                     + (input.schema_ref.empty() ? std::string{"(inline)"}
                                                 : input.schema_ref)
                     + "' that the input '" + input.key
                     + "' requires is not registered"});
  } else if (schema) {
    auto verdict = schema->validate(x);
    auto errors = schema_problems(verdict.errors, ec::schema_violation, at);
    if (!verdict.valid && errors.empty())
      errors.push_back({ec::schema_violation, at,
                        "the value does not satisfy the input's schema"});
    out.insert(out.end(), errors.begin(), errors.end());
    // A shipped schema brings its semantic rules (end_time > start_time).
    if (!input.schema_ref.empty()
        && schema_catalog::shipped().uri(input.schema_ref)) {
      auto rules = check_semantic_rules(input.schema_ref, x, at);
      out.insert(out.end(), rules.begin(), rules.end());
    }
  }
  return out;
}

std::shared_ptr<const compiled_schema>
resolve_spec_schema(std::string_view schema_ref, std::string_view schema_json,
                    const schema_resolver& resolve, bool* unresolved) {
  auto fail = [&]() -> std::shared_ptr<const compiled_schema> {
    if (unresolved)
      *unresolved = true;
    return nullptr;
  };
  auto& catalog = schema_catalog::shipped();
  if (!schema_json.empty()) {
    auto parsed = json::parse(schema_json);
    if (!parsed)
      return fail();
    auto compiled = catalog.compile_inline(*parsed.doc);
    return compiled ? compiled.schema : fail();
  }
  if (schema_ref.empty())
    return nullptr;
  if (resolve)
    if (auto s = resolve(schema_ref))
      return s;
  if (auto s = catalog.find(schema_ref))
    return s;
  return fail();
}

// -- URLs (media types: media_type.hpp) ----------------------------------------------

bool is_url(std::string_view text) noexcept {
  auto colon = text.find(':');
  return colon != std::string_view::npos && colon > 0
         && text.substr(colon, 3) == "://"
         && check_format(string_format::uri, text);
}

} // namespace omniva::contracts
