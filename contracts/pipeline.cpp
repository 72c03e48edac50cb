#include "contracts/pipeline.hpp"

#include "contracts/pantheon.hpp"

#include "contracts/enum_names.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/media_type.hpp"
#include "contracts/predicate.hpp"
#include "contracts/registry_store.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

namespace omniva::contracts {

// -- enumerations ---------------------------------------------------------------

namespace {

constexpr enum_spelling<source_kind> source_kind_names[] = {
  {source_kind::pipeline_input, "pipeline_input"},
  {source_kind::step, "step"},
  {source_kind::value, "value"},
  {source_kind::item, "item"},
  {source_kind::collected, "collected"},
};

constexpr enum_spelling<step_kind> step_kind_names[] = {
  {step_kind::single, "single"},
  {step_kind::for_each, "for_each"},
  {step_kind::collect, "collect"},
};

} // namespace

std::string_view to_string(source_kind x) noexcept {
  return enum_name(x, source_kind_names, "unknown");
}

std::string_view to_string(step_kind x) noexcept {
  return enum_name(x, step_kind_names, "unknown");
}

// -- pipeline_spec ----------------------------------------------------------------

std::string pipeline_spec::ref() const {
  return name + "@" + std::to_string(version);
}

const pipeline_step*
pipeline_spec::find_step(std::string_view id) const noexcept {
  for (auto& s : steps)
    if (s.id == id)
      return &s;
  return nullptr;
}

namespace {

// -- small helpers ----------------------------------------------------------------

/// Whether an output is a list (`"many": true`). Written against the member
/// when `output_spec` has it, so this file compiles before and after it.
template <class Output>
bool is_many(const Output& o) noexcept {
  if constexpr (requires { o.many; })
    return o.many;
  else
    return false;
}

bool is_lower_alpha(char c) noexcept {
  return c >= 'a' && c <= 'z';
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// A step id: ^[a-z][a-z0-9_-]{0,63}$.
bool is_step_id_syntax(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64 || !is_lower_alpha(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_lower_alpha(c) || is_digit(c) || c == '_' || c == '-';
  });
}

/// The words a `from` gives a meaning of their own.
bool is_reserved_step_id(std::string_view s) noexcept {
  return s == "inputs" || s == "item" || s == "collected";
}

/// A pipeline name: lowercase letters, digits, '.', '_', '-'; a letter first.
bool is_pipeline_name(std::string_view s) noexcept {
  if (s.empty() || !is_lower_alpha(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_lower_alpha(c) || is_digit(c) || c == '.' || c == '_'
           || c == '-';
  });
}

/// The unescaped reference tokens of a valid pointer.
std::vector<std::string> pointer_tokens(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty())
    return out;
  s.remove_prefix(1);
  for (;;) {
    auto slash = s.find('/');
    auto token = s.substr(0, slash);
    std::string t;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        t += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        t += token[i];
      }
    }
    out.push_back(std::move(t));
    if (slash == std::string_view::npos)
      break;
    s.remove_prefix(slash + 1);
  }
  return out;
}

/// "ClipCandidate.json", "omniva:///schemas/ClipCandidate.json" and
/// "ClipCandidate" all name the schema "ClipCandidate".
std::string schema_name(std::string_view id) {
  if (id.starts_with(shipped_schema_base))
    id.remove_prefix(shipped_schema_base.size());
  if (id.ends_with(".json"))
    id.remove_suffix(5);
  return std::string{id};
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string{s} + "'";
}

std::string join(const std::vector<std::string>& xs, std::string_view none) {
  if (xs.empty())
    return std::string{none};
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

/// A scope, for messages: "the root branch", "the branches of analyze >
/// edit".
std::string scope_text(const std::vector<std::string>& scope) {
  if (scope.empty())
    return "the root branch";
  std::string out;
  for (auto& s : scope)
    out += (out.empty() ? "" : " > ") + s;
  return "the branches of " + out;
}

bool is_prefix(const std::vector<std::string>& a,
               const std::vector<std::string>& b) noexcept {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

/// The types a schema node declares (`type`), nullopt when it declares none.
std::optional<std::vector<std::string>> declared_types(const json::value& n) {
  auto* t = n.find("type");
  if (!t)
    return std::nullopt;
  std::vector<std::string> out;
  if (t->is_string())
    out.push_back(t->as_string());
  else if (t->is_array())
    for (auto& x : t->as_array())
      if (x.is_string())
        out.push_back(x.as_string());
  return out;
}

bool declares(const std::vector<std::string>& types, std::string_view t) {
  return std::find(types.begin(), types.end(), t) != types.end();
}

/// Whether one of `a` and one of `b` match (either may be a family such as
/// "video/*").
bool media_types_overlap(const std::vector<std::string>& a,
                         const std::vector<std::string>& b) noexcept {
  for (auto& x : a)
    for (auto& y : b)
      if (media_type_matches(x, y) || media_type_matches(y, x))
        return true;
  return false;
}

// -- schemas along a mapping -------------------------------------------------------

/// Which schema a producer or an input names: a schema by name (a registry
/// id or a shipped schema), else an inline schema by its canonical text;
/// both empty: none (or not known).
struct schema_identity {
  std::string name;
  std::string canonical;

  bool empty() const noexcept {
    return name.empty() && canonical.empty();
  }

  std::string text() const {
    return name.empty() ? "an inline schema" : in_quotes(name);
  }
};

/// A place inside a schema document: for following pointers through
/// `properties` and `items`.
struct schema_place {
  /// The document `$ref`s with a fragment only resolve in.
  const json::value* root = nullptr;
  /// The schema at this place.
  const json::value* node = nullptr;
  /// The name of `root` when it is a named schema; "" for an inline one.
  std::string name;
};

/// Where following a pointer through a schema led.
enum class walk_result : uint8_t {
  /// To a schema (in `schema_place`).
  found,
  /// Nowhere: the schema says no value can be there.
  nowhere,
  /// The schema does not say (open objects, `$ref`s it cannot follow).
  unknown,
};

// -- what a source gives ------------------------------------------------------------

/// What a source gives a module input: a file (an asset of a media type),
/// a value of a dtype, or something the check cannot know (a module that is
/// not registered, an input with problems of its own).
struct flow {
  enum class shape : uint8_t { unknown, asset, value };
  enum class origin : uint8_t { literal, pipeline_input, output, element };

  shape form = shape::unknown;
  origin from = origin::output;
  /// asset: the media types it may have (one for an output); empty: not
  /// known.
  std::vector<std::string> media_types;
  /// asset: a list asset (`asset_list_media_type`).
  bool list = false;
  /// asset: an element of an array inside a JSON asset, a VALUE asset of
  /// dtype json (it also feeds VALUE json inputs).
  bool value_asset = false;
  /// value: its dtype (`none`: not known).
  value_dtype dtype = value_dtype::none;
  /// The schema it satisfies (asset: a JSON asset's; value: the value's).
  schema_identity schema;
  /// literal: the value.
  const json::value* literal = nullptr;
  /// A phrase for messages ("the output 'videos' of step 'scrape'").
  std::string what;

  bool is_json_asset() const {
    return form == shape::asset && !list && !media_types.empty()
           && std::all_of(media_types.begin(), media_types.end(),
                          [](const std::string& t) {
                            return is_json_media_type(t);
                          });
  }
};

/// How a reference is used: which sources it may name.
enum class ref_use : uint8_t {
  /// A step input: anything.
  step_input,
  /// `for_each.from`: a step output or a pipeline input.
  for_each_from,
  /// `collect.from`: a step output.
  collect_from,
  /// A run output: a step output.
  run_output,
};

/// A resolved `from`.
struct resolved {
  step_source source;
  flow given;
  /// The step referenced, when `source.kind` is `step`.
  std::optional<size_t> step;
  /// The output referenced (nullptr: not an output, or not known).
  const output_spec* output = nullptr;
  /// The pipeline input referenced (nullptr: not one, or one with problems).
  const input_spec* pipeline_input = nullptr;
};

/// What the check knows about a step once it checked it.
struct step_info {
  /// The registered module, or nullptr.
  const module_contract* module = nullptr;
  /// The step's `id` as given (may be invalid).
  std::string id;
  /// What each mapped module input took.
  std::map<std::string, flow> input_flows;
  /// The keys mapped (whether or not their source resolved).
  std::set<std::string> mapped;
  /// The step's scope.
  std::vector<std::string> scope;
};

/// A reference of a step and the scope it lies in.
struct scoped_ref {
  std::vector<std::string> scope;
  std::string pointer;
  std::string text;
};

/// Checks one pipeline document and builds the pipeline on the way.
class pipeline_checker {
public:
  pipeline_checker(const json::value& doc, const pipeline_check_options& opts,
                   std::vector<problem>& problems)
    : doc_(doc), opts_(opts), problems_(problems) {
  }

  pipeline_spec run() {
    pipeline_spec p;
    if (auto* v = doc_.find("name"); v && v->is_string())
      p.name = v->as_string();
    if (auto* v = doc_.find("version"); v && v->is_integral())
      p.version = v->as_int64().value_or(0);
    if (auto* v = doc_.find("schema_version"); v && v->is_string())
      p.schema_version = v->as_string();
    if (auto* v = doc_.find("description"); v && v->is_string())
      p.description = v->as_string();
    if (auto* v = doc_.find("policy"); v && v->is_string()) {
      p.policy = v->as_string();
      bool known = opts_.find_policy ? opts_.find_policy(p.policy)
                                     : p.policy == default_policy_ref;
      if (!known)
        report(ec::invalid_ref, "/policy",
               "no policy " + p.policy + " is registered");
    }
    if (auto* v = doc_.find("budget"); v && v->is_string()) {
      p.budget = v->as_string();
      if (!is_policy_name(p.budget))
        report(ec::invalid_argument, "/budget",
               "a budget name is lowercase letters, digits, '.', '_' and '-', "
               "a letter first, at most 64 characters");
    }
    if (auto* xs = doc_.find("inputs"); xs && xs->is_array())
      inputs(*xs, p);
    if (auto* xs = doc_.find("steps"); xs && xs->is_array()) {
      auto& steps = xs->as_array();
      // Every id first: a reference to a later step is unreachable, not
      // unresolved.
      for (size_t i = 0; i < steps.size(); ++i)
        if (auto* id = steps[i].find("id"); id && id->is_string())
          ids_.emplace(id->as_string(), i);
      infos_.reserve(steps.size());
      for (size_t i = 0; i < steps.size(); ++i)
        p.steps.push_back(step(steps[i], i));
    }
    if (auto* xs = doc_.find("outputs"); xs && xs->is_object())
      for (auto& [key, x] : xs->as_object()) {
        auto* from = x.find("from");
        if (!from || !from->is_string())
          continue; // the meta-schema reported it
        auto at = json::append_pointer(json::append_pointer("/outputs", key),
                                       "from");
        auto r = resolve(from->as_string(), infos_.size(), at,
                         ref_use::run_output, nullptr, nullptr);
        if (r)
          p.outputs.emplace(key, r->source);
      }
    return p;
  }

private:
  void report(ec code, std::string pointer, std::string message) {
    problems_.push_back({code, std::move(pointer), std::move(message)});
  }

  // -- pipeline inputs --------------------------------------------------------------

  /// Checks each input by the module contract's rules (a contract holding
  /// that input alone), so dtypes, constraints and defaults are read and
  /// refused exactly as a module's are.
  void inputs(const json::value& xs, pipeline_spec& p) {
    auto& items = xs.as_array();
    std::map<std::string, std::string> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      auto at = json::append_pointer("/inputs", i);
      json::value pseudo{json::object{}};
      pseudo.set("name", "pipeline-inputs");
      pseudo.set("version", 1);
      pseudo.set("description", "");
      pseudo.set("inputs", json::array{items[i]});
      pseudo.set("outputs", json::array{});
      pseudo.set("resources", json::object{});
      json::value run{json::object{}};
      run.set("command", json::array{json::value{"pipeline"}});
      pseudo.set("run", std::move(run));
      pseudo.set("schema_version", "1.0.0");
      auto checked = parse_module_contract_document(
        pseudo, contract_options{opts_.resolve_schema});
      for (auto& x : checked.problems) {
        std::string_view ptr = x.pointer;
        if (!ptr.starts_with("/inputs/0"))
          continue; // about the wrapper, not the input
        auto rest = ptr.substr(9);
        if (!rest.empty() && rest.front() != '/')
          continue;
        report(x.code, at + std::string{rest}, x.message);
      }
      std::string key;
      if (auto* k = items[i].find("key"); k && k->is_string())
        key = k->as_string();
      if (key.empty())
        continue;
      if (auto [j, fresh] = seen.emplace(key, at); !fresh) {
        report(ec::duplicate_key, at + "/key",
               "the input key " + in_quotes(key) + " is already used by "
                 + j->second);
        continue;
      }
      declared_inputs_.insert(key);
      if (checked.contract && checked.contract->inputs.size() == 1)
        p.inputs.push_back(checked.contract->inputs.front());
    }
    for (auto& in : p.inputs)
      pipeline_inputs_.emplace(in.key, &in);
  }

  // -- schemas ------------------------------------------------------------------------

  /// The document of the schema `id`: the registry's, else a shipped one;
  /// nullptr when neither knows it.
  const json::value* named_document(std::string_view id) {
    auto name = schema_name(id);
    if (auto i = named_.find(name); i != named_.end())
      return i->second;
    const json::value* out = nullptr;
    if (opts_.schema_document)
      if (auto d = opts_.schema_document(id)) {
        store_.push_back(std::move(*d));
        out = &store_.back();
      }
    if (!out)
      out = schema_catalog::shipped().document(name);
    named_.emplace(name, out);
    return out;
  }

  /// Where the schema of a spec (`schema_ref` or `schema_json`) begins;
  /// nullopt when it names none or one the check cannot read.
  std::optional<schema_place> place_of(const std::string& ref,
                                       const std::string& inline_json) {
    if (!ref.empty()) {
      auto* d = named_document(ref);
      if (!d)
        return std::nullopt;
      return schema_place{d, d, schema_name(ref)};
    }
    if (!inline_json.empty()) {
      auto parsed = json::parse(inline_json);
      if (!parsed)
        return std::nullopt;
      store_.push_back(std::move(*parsed.doc));
      return schema_place{&store_.back(), &store_.back(), ""};
    }
    return std::nullopt;
  }

  /// Follows `$ref`s until a schema without one; false when one cannot be
  /// followed (another document the check does not know, an anchor, a
  /// cycle).
  bool deref(schema_place& at) {
    for (int hops = 0; hops < 32; ++hops) {
      if (!at.node->is_object())
        return true;
      auto* r = at.node->find("$ref");
      if (!r || !r->is_string())
        return true;
      std::string_view target = r->as_string();
      auto hash = target.find('#');
      auto doc_part = target.substr(0, hash);
      auto fragment = hash == std::string_view::npos ? std::string_view{}
                                                     : target.substr(hash + 1);
      if (!doc_part.empty()) {
        auto* d = named_document(schema_name(doc_part));
        if (!d)
          return false;
        at.root = d;
        at.name = schema_name(doc_part);
      }
      if (fragment.empty()) {
        at.node = at.root;
      } else {
        auto* n = json::resolve_pointer(*at.root, fragment);
        if (!n)
          return false;
        at.node = n;
      }
    }
    return false;
  }

  /// Goes one token down from `at` (already dereferenced).
  walk_result child(schema_place& at, const std::string& token) {
    auto& n = *at.node;
    if (n.is_bool())
      return n.as_bool() ? walk_result::unknown : walk_result::nowhere;
    if (!n.is_object())
      return walk_result::unknown;
    bool index = !token.empty()
                 && std::all_of(token.begin(), token.end(), is_digit);
    if (auto* props = n.find("properties"); props && props->is_object())
      if (auto* c = props->find(token)) {
        at.node = c;
        return walk_result::found;
      }
    if (index) {
      auto i = static_cast<size_t>(std::stoull(token.substr(0, 18)));
      if (auto* pre = n.find("prefixItems");
          pre && pre->is_array() && i < pre->as_array().size()) {
        at.node = &pre->as_array()[i];
        return walk_result::found;
      }
      if (auto* items = n.find("items"); items && !items->is_null()) {
        at.node = items;
        return walk_result::found;
      }
    }
    if (auto* all = n.find("allOf"); all && all->is_array())
      for (auto& branch : all->as_array()) {
        schema_place sub = at;
        sub.node = &branch;
        if (walk(sub, {token}) == walk_result::found) {
          at = sub;
          return walk_result::found;
        }
      }
    auto types = declared_types(n);
    if (!index) {
      if (types && !declares(*types, "object"))
        return walk_result::nowhere;
      if (auto* ap = n.find("additionalProperties")) {
        if (ap->is_bool() && !ap->as_bool() && !n.find("patternProperties"))
          return walk_result::nowhere;
        if (ap->is_object()) {
          at.node = ap;
          return walk_result::found;
        }
      }
      return walk_result::unknown;
    }
    if (types && !declares(*types, "array") && !declares(*types, "object"))
      return walk_result::nowhere;
    return walk_result::unknown;
  }

  /// Follows `tokens` from `at`; on `found`, `at` is the (dereferenced)
  /// schema there.
  walk_result walk(schema_place& at, const std::vector<std::string>& tokens) {
    for (auto& token : tokens) {
      if (!deref(at))
        return walk_result::unknown;
      if (auto r = child(at, token); r != walk_result::found)
        return r;
    }
    return deref(at) ? walk_result::found : walk_result::unknown;
  }

  /// Which schema is at `at`: its name when it is a named document whole,
  /// else its canonical text.
  schema_identity identity_of(schema_place at) {
    if (!deref(at))
      return {};
    if (at.node == at.root && !at.name.empty())
      return {at.name, ""};
    return {"", json::serialize(*at.node, json::style::canonical)};
  }

  /// The identity of a spec's schema.
  schema_identity identity_of(const std::string& ref,
                              const std::string& inline_json) {
    if (!ref.empty())
      return {schema_name(ref), ""};
    if (!inline_json.empty())
      if (auto parsed = json::parse(inline_json))
        return {"", json::serialize(*parsed.doc, json::style::canonical)};
    return {};
  }

  /// Whether two schemas are known to differ.
  bool schemas_differ(const schema_identity& a, const schema_identity& b) {
    if (a.empty() || b.empty())
      return false;
    if (!a.name.empty() && !b.name.empty())
      return a.name != b.name;
    if (a.name.empty() && b.name.empty())
      return a.canonical != b.canonical;
    auto& named = a.name.empty() ? b : a;
    auto& inline_one = a.name.empty() ? a : b;
    auto* d = named_document(named.name);
    if (!d)
      return false; // cannot tell
    return json::serialize(*d, json::style::canonical) != inline_one.canonical;
  }

  // -- flows --------------------------------------------------------------------------

  flow output_flow(const output_spec& o, const std::string& step_id) {
    flow f;
    f.form = flow::shape::asset;
    f.from = flow::origin::output;
    f.what = "the output " + in_quotes(o.key) + " of step " + in_quotes(step_id);
    if (is_many(o)) {
      f.list = true;
      f.media_types = {std::string{asset_list_media_type}};
      f.what += " (a list of " + o.media_type + " files)";
    } else {
      f.media_types = {o.media_type};
      f.schema = identity_of(o.schema_ref, o.schema_json);
      f.what += " (" + o.media_type + ")";
    }
    return f;
  }

  flow pipeline_input_flow(const input_spec& in) {
    flow f;
    f.from = flow::origin::pipeline_input;
    f.schema = identity_of(in.schema_ref, in.schema_json);
    if (in.contract_type == input_kind::asset) {
      f.form = flow::shape::asset;
      f.media_types = in.media_types;
      f.list = in.media_types.size() == 1
               && media_type_essence(in.media_types.front())
                    == asset_list_media_type;
      f.what = "the pipeline ASSET input " + in_quotes(in.key) + " ("
               + join(in.media_types, "any media type") + ")";
    } else {
      f.form = flow::shape::value;
      f.dtype = in.dtype;
      f.what = "the pipeline VALUE input " + in_quotes(in.key) + " ("
               + std::string{to_string(in.dtype)} + ")";
    }
    return f;
  }

  /// What a module input of an earlier step took, for `STEP.KEY` naming
  /// that input: the flow of its source (a literal: a value of the input's
  /// dtype), or its default.
  flow taken_flow(const step_info& info, const std::string& key) {
    flow f;
    if (auto i = info.input_flows.find(key); i != info.input_flows.end())
      f = i->second;
    const input_spec* in = info.module ? info.module->find_input(key)
                                       : nullptr;
    if (in && (f.from == flow::origin::literal || !info.mapped.contains(key))) {
      f = flow{};
      if (in->contract_type == input_kind::value) {
        f.form = flow::shape::value;
        f.from = flow::origin::output;
        f.dtype = in->dtype;
        f.schema = identity_of(in->schema_ref, in->schema_json);
      }
    }
    f.literal = nullptr;
    f.what = "the input " + in_quotes(key) + " of step " + in_quotes(info.id);
    return f;
  }

  // -- references -----------------------------------------------------------------

  /// Resolves `text` (a `from`) of step `i` (`infos_.size()` for a run
  /// output), reporting at `at` what does not resolve; nullopt then.
  /// `element` / `collected`: what `item` / `collected` give in this step
  /// (nullptr: the step has no `for_each` / `collect`).
  std::optional<resolved> resolve(const std::string& text, size_t i,
                                  const std::string& at, ref_use use,
                                  const flow* element, const flow* collected) {
    auto unresolved = [&](std::string why) -> std::optional<resolved> {
      report(ec::unresolved_reference, at, std::move(why));
      return std::nullopt;
    };
    auto only_outputs = [&]() -> std::string {
      switch (use) {
        case ref_use::for_each_from:
          return "for_each.from takes a step's output (\"STEP.OUTPUT\") or "
                 "a pipeline input (\"inputs.K\")";
        case ref_use::collect_from:
          return "collect.from takes a step's output (\"STEP.OUTPUT\")";
        case ref_use::run_output:
          return "a run output takes a step's output (\"STEP.OUTPUT\")";
        default:
          return "";
      }
    };
    resolved r;
    if (text == "item" || text == "collected") {
      bool item = text == "item";
      if (use != ref_use::step_input)
        return unresolved(in_quotes(text) + " is not allowed here: "
                          + only_outputs());
      if (item && !element)
        return unresolved("'item' is the element of a for_each; this step "
                          "has no for_each");
      if (!item && !collected)
        return unresolved("'collected' is the list a collect gathers; this "
                          "step has no collect");
      r.source.kind = item ? source_kind::item : source_kind::collected;
      r.given = item ? *element : *collected;
      return r;
    }
    if (text.starts_with("inputs.")) {
      auto key = text.substr(7);
      if (use == ref_use::collect_from || use == ref_use::run_output)
        return unresolved(in_quotes(text) + " is a pipeline input: "
                          + only_outputs());
      if (!declared_inputs_.contains(key))
        return unresolved("the pipeline has no input " + in_quotes(key)
                          + " (its inputs: "
                          + join(std::vector<std::string>(
                                   declared_inputs_.begin(),
                                   declared_inputs_.end()),
                                 "none")
                          + ")");
      r.source.kind = source_kind::pipeline_input;
      r.source.key = key;
      if (auto j = pipeline_inputs_.find(key); j != pipeline_inputs_.end()) {
        r.pipeline_input = j->second;
        r.given = pipeline_input_flow(*j->second);
      }
      return r;
    }
    auto dot = text.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == text.size())
      return unresolved(in_quotes(text)
                        + " is not a reference: use \"inputs.K\", "
                          "\"STEP.KEY\", \"item\" or \"collected\"");
    auto id = text.substr(0, dot);
    auto key = text.substr(dot + 1);
    auto j = ids_.find(id);
    if (j == ids_.end())
      return unresolved("the pipeline has no step " + in_quotes(id));
    if (j->second >= i) {
      if (unreachable_.emplace(i, j->second).second)
        report(ec::unreachable_step, json::append_pointer("/steps", i),
               j->second == i
                 ? "the step takes " + in_quotes(text)
                     + " from itself: a step only takes earlier steps"
                 : "the step takes " + in_quotes(text) + " from step "
                     + in_quotes(id)
                     + ", which comes after it (steps are listed in "
                       "creation order: a step only takes earlier steps)");
      return std::nullopt;
    }
    auto& info = infos_[j->second];
    r.source.kind = source_kind::step;
    r.source.step = id;
    r.source.key = key;
    r.step = j->second;
    if (!info.module) {
      // The module is not registered (reported at its step): resolve as
      // best we can, check nothing more.
      r.source.step_input = info.mapped.contains(key);
      if (r.source.step_input && use != ref_use::step_input)
        return unresolved(in_quotes(text) + " names an input of step "
                          + in_quotes(id) + ": " + only_outputs());
      if (r.source.step_input)
        r.given = taken_flow(info, key);
      return r;
    }
    if (auto* o = info.module->find_output(key)) {
      r.output = o;
      r.given = output_flow(*o, id);
      return r;
    }
    auto* in = info.module->find_input(key);
    if (in && (info.mapped.contains(key) || in->has_default())) {
      if (use != ref_use::step_input)
        return unresolved(in_quotes(text) + " names the input " + in_quotes(key)
                          + " of step " + in_quotes(id) + ": " + only_outputs());
      r.source.step_input = true;
      r.given = taken_flow(info, key);
      return r;
    }
    std::vector<std::string> outputs;
    for (auto& o : info.module->outputs)
      outputs.push_back(o.key);
    if (in)
      return unresolved("step " + in_quotes(id) + " takes nothing for its input "
                        + in_quotes(key) + " (not mapped, no default)");
    return unresolved("step " + in_quotes(id) + " (" + info.module->ref()
                      + ") has no output or input " + in_quotes(key)
                      + " (its outputs: " + join(outputs, "none") + ")");
  }

  // -- mappings -----------------------------------------------------------------------

  /// Checks that what `p` gives suits the module input `in`, mapped at `at`.
  void check_mapping(const flow& p, const input_spec& in,
                     const std::string& at) {
    auto input = "the " + std::string{to_string(in.contract_type)} + " input "
                 + in_quotes(in.key);
    auto check_schema = [&] {
      auto wanted = identity_of(in.schema_ref, in.schema_json);
      if (schemas_differ(p.schema, wanted))
        report(ec::schema_mismatch, at,
               p.what + " follows the schema " + p.schema.text() + ", but "
                 + input + " requires " + wanted.text());
    };
    if (p.form == flow::shape::unknown)
      return;
    if (in.contract_type == input_kind::asset) {
      if (p.form == flow::shape::value) {
        report(ec::kind_mismatch, at,
               input + " takes a file, not "
                 + (p.from == flow::origin::literal ? std::string{"a literal value"}
                                                   : p.what));
        return;
      }
      if (p.list) {
        if (!media_type_accepted(in.media_types, asset_list_media_type))
          report(ec::media_type_mismatch, at,
                 p.what + " is a list asset (" + std::string{asset_list_media_type}
                   + "), but " + input + " takes "
                   + join(in.media_types, "") + " files: fan out with "
                   "for_each, or give it to an input that takes a list");
        return;
      }
      if (!p.media_types.empty()
          && !media_types_overlap(in.media_types, p.media_types)) {
        report(ec::media_type_mismatch, at,
               p.what + " is not among the media types " + input
                 + " takes (" + join(in.media_types, "") + ")");
        return;
      }
      check_schema();
      return;
    }
    // A VALUE input.
    if (p.form == flow::shape::value) {
      if (p.from == flow::origin::literal) {
        if (p.literal)
          for (auto& x : check_value(in, *p.literal, at + "/value",
                                     opts_.resolve_schema))
            problems_.push_back(std::move(x));
        return;
      }
      if (p.dtype != value_dtype::none && p.dtype != in.dtype) {
        report(ec::dtype_mismatch, at,
               p.what + " is of dtype " + std::string{to_string(p.dtype)}
                 + ", but " + input + " takes "
                 + std::string{to_string(in.dtype)});
        return;
      }
      check_schema();
      return;
    }
    // A file given to a VALUE input.
    if (p.from == flow::origin::pipeline_input || p.list) {
      report(ec::kind_mismatch, at,
             input + " takes a value, not " + p.what);
      return;
    }
    if (p.value_asset) {
      if (in.dtype != value_dtype::json) {
        report(ec::dtype_mismatch, at,
               p.what + " is a JSON value (dtype json), but " + input
                 + " takes " + std::string{to_string(in.dtype)});
        return;
      }
      check_schema();
      return;
    }
    if (p.media_types.empty())
      return; // a list element of unknown type
    if (in.dtype != value_dtype::json || !p.is_json_asset()) {
      report(ec::kind_mismatch, at,
             input + " (" + std::string{to_string(in.dtype)}
               + ") takes a value; only a json input takes a file, and only "
                 "a JSON one, not "
               + p.what);
      return;
    }
    check_schema();
  }

  // -- steps --------------------------------------------------------------------------

  /// The element a `for_each` gives, with its schema when known; reports
  /// what is wrong with `from`, `pointer` and `select`.
  flow for_each(const json::value& fe, size_t i, const std::string& at,
                pipeline_step& st, std::vector<scoped_ref>& refs,
                std::set<size_t>& deps) {
    flow element; // unknown unless found
    std::optional<schema_place> element_schema;
    bool element_known_not_json = false;
    for_each_spec spec;
    auto from_at = at + "/from";
    auto pointer_at = at + "/pointer";
    auto* from = fe.find("from");
    std::optional<resolved> r;
    if (from && from->is_string()) {
      r = resolve(from->as_string(), i, from_at, ref_use::for_each_from,
                  nullptr, nullptr);
      if (r) {
        spec.from = r->source;
        add_ref(*r, from_at, from->as_string(), refs, deps);
      }
    }
    auto* ptr = fe.find("pointer");
    bool has_pointer = ptr && ptr->is_string();
    if (has_pointer)
      spec.pointer = ptr->as_string();
    if (has_pointer && (spec.pointer.empty() || !json::is_json_pointer(spec.pointer))) {
      report(ec::invalid_pointer, pointer_at,
             spec.pointer.empty()
               ? std::string{"an empty pointer: name the array inside the "
                             "JSON output (\"/clip_candidates\"), or leave "
                             "pointer out to fan out over a list asset"}
               : in_quotes(spec.pointer)
                   + " is not a JSON pointer (RFC 6901): '/' before each "
                     "member name or index, '~' written \"~0\" and '/' "
                     "inside a name \"~1\"");
    } else if (r && r->given.form != flow::shape::unknown) {
      auto& g = r->given;
      if (has_pointer) {
        if (!r->output || is_many(*r->output) || !g.is_json_asset()) {
          report(ec::invalid_pointer, pointer_at,
                 "a pointer fans out over an array inside a JSON output, but "
                   + g.what + " is not one");
        } else {
          element.form = flow::shape::asset;
          element.from = flow::origin::element;
          element.value_asset = true;
          element.media_types = {"application/json"};
          element.what = "an element of " + in_quotes(spec.pointer) + " in "
                         + g.what;
          if (auto place = place_of(r->output->schema_ref,
                                    r->output->schema_json)) {
            auto schema_text = g.schema.text();
            switch (walk(*place, pointer_tokens(spec.pointer))) {
              case walk_result::nowhere:
                report(ec::invalid_pointer, pointer_at,
                       "the schema " + schema_text + " of " + g.what
                         + " has nothing at " + in_quotes(spec.pointer));
                break;
              case walk_result::unknown:
                break;
              case walk_result::found: {
                auto types = declared_types(*place->node);
                auto* items = place->node->is_object()
                                ? place->node->find("items")
                                : nullptr;
                if (types && !declares(*types, "array")) {
                  report(ec::invalid_pointer, pointer_at,
                         "in the schema " + schema_text + " of " + g.what
                           + ", " + in_quotes(spec.pointer)
                           + " is not an array (" + join(*types, "") + ")");
                } else if (items && !items->is_null()) {
                  schema_place e = *place;
                  e.node = items;
                  element.schema = identity_of(e);
                  if (deref(e))
                    element_schema = e;
                }
                break;
              }
            }
          }
        }
      } else if (g.list) {
        element.form = flow::shape::asset;
        element.from = flow::origin::element;
        if (r->output) {
          element.media_types = {r->output->media_type};
          element.schema = identity_of(r->output->schema_ref,
                                       r->output->schema_json);
          element.what = "an element of " + g.what;
          element_schema = place_of(r->output->schema_ref,
                                    r->output->schema_json);
          element_known_not_json = !is_json_media_type(r->output->media_type);
        } else {
          element.what = "an element of " + g.what;
        }
      } else {
        report(ec::invalid_pointer, pointer_at,
               g.is_json_asset()
                 ? g.what + " is one JSON file, not a list: give the pointer "
                            "of the array inside it to fan out over"
                 : "for_each needs a list (a many output, or a pipeline "
                   "input of media type "
                     + std::string{asset_list_media_type} + ") or a JSON "
                     "output with a pointer, but " + g.what + " is neither");
      }
    }
    if (auto* sel = fe.find("select"); sel && sel->is_object())
      spec.select = select(*sel, at + "/select", element_schema,
                           element_known_not_json);
    st.for_each = std::move(spec);
    return element;
  }

  select_spec select(const json::value& sel, const std::string& at,
                     std::optional<schema_place> element_schema,
                     bool element_known_not_json) {
    select_spec s;
    if (auto* by = sel.find("by"); by && by->is_string()) {
      s.by = by->as_string();
      if (s.by != "score" && s.by != "pantheon")
        report(ec::invalid_argument, at + "/by",
               "select by " + in_quotes(s.by)
                 + " is not available: \"score\" (the number at pointer in "
                   "each element) or \"pantheon\" (persona votes)");
    }
    if (s.by == "pantheon") {
      select_by_pantheon(sel, at, element_schema, element_known_not_json, s);
      return s;
    }
    for (auto* only : {"min_consensus", "personas"})
      if (sel.find(only) != nullptr)
        report(ec::invalid_argument, json::append_pointer(at, only),
               std::string{only} + " is a member of select by \"pantheon\"");
    auto* ptr = sel.find("pointer");
    if (ptr && ptr->is_string()) {
      s.pointer = ptr->as_string();
      if (!json::is_json_pointer(s.pointer)) {
        report(ec::invalid_pointer, at + "/pointer",
               in_quotes(s.pointer) + " is not a JSON pointer (RFC 6901)");
      } else if (element_known_not_json) {
        report(ec::invalid_pointer, at + "/pointer",
               "the elements are not JSON: a score is read at a pointer "
               "inside a JSON element");
      } else if (element_schema) {
        auto place = *element_schema;
        switch (walk(place, pointer_tokens(s.pointer))) {
          case walk_result::nowhere:
            report(ec::invalid_pointer, at + "/pointer",
                   "the elements' schema has nothing at "
                     + in_quotes(s.pointer));
            break;
          case walk_result::found:
            if (auto types = declared_types(*place.node);
                types && !declares(*types, "number")
                && !declares(*types, "integer"))
              report(ec::invalid_pointer, at + "/pointer",
                     "in the elements' schema, " + in_quotes(s.pointer)
                       + " is not a number (" + join(*types, "") + ")");
            break;
          case walk_result::unknown:
            break;
        }
      }
    } else if (s.by == "score") {
      report(ec::invalid_argument, at + "/pointer",
             "select by score needs pointer: the RFC 6901 pointer of the "
             "number inside each element");
    }
    if (auto* top = sel.find("top"); top && top->is_integral()) {
      auto n = top->as_int64();
      if (!n || *n < 1)
        report(ec::invalid_argument, at + "/top",
               "top keeps at most that many elements: at least 1, not "
                 + json::serialize(*top));
      else
        s.top = *n;
    }
    if (auto* min = sel.find("min"); min && min->is_number())
      s.min = min->as_double();
    if (auto* o = sel.find("options"); o && o->is_object())
      s.options_json = json::serialize(*o);
    return s;
  }

  /// `select: {"by": "pantheon", "top"?, "min_consensus"?, "personas"?}`:
  /// Pantheon's personas vote on ClipCandidate elements (docs/engines.md).
  void select_by_pantheon(const json::value& sel, const std::string& at,
                          const std::optional<schema_place>& element_schema,
                          bool element_known_not_json, select_spec& s) {
    if (element_known_not_json)
      report(ec::invalid_argument, at + "/by",
             "Pantheon votes on JSON elements (ClipCandidate objects); these "
             "elements are not JSON");
    else if (element_schema && element_schema->name != "ClipCandidate"
             && element_schema->name != "ClipCandidate.json")
      report(ec::schema_mismatch, at + "/by",
             "Pantheon votes on ClipCandidate elements; these are "
               + (element_schema->name.empty() ? std::string{"of an inline schema"}
                                               : in_quotes(element_schema->name)));
    for (auto* other : {"pointer", "min", "options"})
      if (sel.find(other) != nullptr)
        report(ec::invalid_argument, json::append_pointer(at, other),
               std::string{other} + " is not a member of select by \"pantheon\" "
               "(top, min_consensus, personas)");
    if (auto* top = sel.find("top"); top && top->is_integral()) {
      auto n = top->as_int64();
      if (!n || *n < 1)
        report(ec::invalid_argument, at + "/top",
               "top keeps at most that many candidates: at least 1, not "
                 + json::serialize(*top));
      else
        s.top = *n;
    }
    if (auto* m = sel.find("min_consensus"); m != nullptr) {
      if (!m->is_number() || m->as_double() < 0 || m->as_double() > 1)
        report(ec::invalid_argument, at + "/min_consensus",
               "min_consensus is a number in [0, 1]");
      else
        s.min = m->as_double();
    }
    s.personas = std::string{pantheon::default_personas_ref};
    if (auto* p = sel.find("personas"); p != nullptr && p->is_string()) {
      // personas@1 is built in; another ref must be registered
      // (`personas@N`, docs/engines.md "Pantheon").
      auto& ref = p->as_string();
      bool known = ref == pantheon::default_personas_ref
                   || (opts_.find_personas && opts_.find_personas(ref));
      if (!known)
        report(ec::invalid_ref, at + "/personas",
               "no personas " + in_quotes(ref)
                 + " are registered (personas@1 is built in; register "
                   "others as personas/<name>@<N>.json or POST "
                   "/api/personas)");
      else
        s.personas = ref;
    }
  }

  /// Records a resolved reference's scope and the step it depends on.
  void add_ref(const resolved& r, const std::string& at,
               const std::string& text, std::vector<scoped_ref>& refs,
               std::set<size_t>& deps) {
    if (r.source.kind == source_kind::item
        || r.source.kind == source_kind::collected)
      return;
    std::vector<std::string> scope;
    if (r.step) {
      scope = infos_[*r.step].scope;
      deps.insert(*r.step);
    }
    refs.push_back({std::move(scope), at, text});
  }

  /// The deepest of `refs`' scopes; every other must be a prefix of it.
  std::vector<std::string> deepest_scope(const std::vector<scoped_ref>& refs) {
    const scoped_ref* deepest = nullptr;
    for (auto& r : refs)
      if (!deepest || r.scope.size() > deepest->scope.size())
        deepest = &r;
    if (!deepest)
      return {};
    for (auto& r : refs)
      if (!is_prefix(r.scope, deepest->scope))
        report(ec::scope_mismatch, r.pointer,
               in_quotes(r.text) + " runs in " + scope_text(r.scope) + ", but "
                 + in_quotes(deepest->text) + " in " + scope_text(deepest->scope)
                 + ": a step's references must lie in one chain of nested "
                   "branches, not in sibling branches");
    return deepest->scope;
  }

  pipeline_step step(const json::value& x, size_t i) {
    auto at = json::append_pointer("/steps", i);
    pipeline_step st;
    infos_.emplace_back();
    // infos_[i] is filled at the end; references only look at earlier ones.
    step_info info;
    if (auto* v = x.find("id"); v && v->is_string()) {
      st.id = v->as_string();
      if (!is_step_id_syntax(st.id))
        report(ec::invalid_argument, at + "/id",
               "the step id " + in_quotes(st.id)
                 + " is not valid: lowercase letters, digits, '_' and '-', a "
                   "letter first, at most 64 characters");
      else if (is_reserved_step_id(st.id))
        report(ec::invalid_argument, at + "/id",
               "the step id " + in_quotes(st.id)
                 + " is reserved: \"inputs\", \"item\" and \"collected\" "
                   "have a meaning of their own in a reference");
      else if (auto j = ids_.find(st.id); j != ids_.end() && j->second != i)
        report(ec::duplicate_key, at + "/id",
               "the step id " + in_quotes(st.id) + " is already used by /steps/"
                 + std::to_string(j->second));
    }
    info.id = st.id;
    if (auto* v = x.find("module"); v && v->is_string()) {
      st.module_ref = v->as_string();
      info.module = opts_.find_module ? opts_.find_module(st.module_ref)
                                      : nullptr;
      if (!info.module)
        report(ec::module_not_found, at + "/module",
               "no module " + in_quotes(st.module_ref) + " is registered");
    }
    auto* fe = x.find("for_each");
    auto* co = x.find("collect");
    if (fe && !fe->is_object())
      fe = nullptr;
    if (co && !co->is_object())
      co = nullptr;
    if (fe && co) {
      report(ec::invalid_argument, at + "/collect",
             "a step either fans out (for_each) or fans in (collect), not "
             "both");
      co = nullptr;
    }
    st.kind = fe ? step_kind::for_each
                 : co ? step_kind::collect : step_kind::single;
    std::vector<scoped_ref> refs;
    std::set<size_t> deps;
    std::optional<flow> element;
    if (fe)
      element = for_each(*fe, i, at + "/for_each", st, refs, deps);
    std::optional<flow> collected;
    std::optional<std::vector<std::string>> collected_scope;
    std::string collect_at = at + "/collect/from";
    std::string collect_text;
    if (co) {
      flow c;
      if (auto* from = co->find("from"); from && from->is_string()) {
        collect_text = from->as_string();
        if (auto r = resolve(collect_text, i, collect_at,
                             ref_use::collect_from, nullptr, nullptr)) {
          st.collect = r->source;
          if (r->step) {
            deps.insert(*r->step);
            collected_scope = infos_[*r->step].scope;
          }
          c.form = flow::shape::asset;
          c.from = flow::origin::output;
          c.list = true;
          c.media_types = {std::string{asset_list_media_type}};
          c.what = "the list collected from " + in_quotes(collect_text);
        }
      }
      collected = std::move(c);
    }
    // The inputs.
    if (auto* xs = x.find("inputs"); xs && xs->is_object()) {
      for (auto& [key, src] : xs->as_object()) {
        auto key_at = json::append_pointer(at + "/inputs", key);
        info.mapped.insert(key);
        if (!src.is_object())
          continue; // the meta-schema reported it
        auto* from = src.find("from");
        auto* value = src.find("value");
        if (from && value) {
          report(ec::invalid_contract, key_at,
                 "a source is either {\"from\": ...} or {\"value\": ...}, "
                 "not both");
          continue;
        }
        if (!from && !value) {
          report(ec::missing_field, key_at + "/from",
                 "a source needs \"from\" (\"inputs.K\", \"STEP.KEY\", "
                 "\"item\", \"collected\") or \"value\"");
          continue;
        }
        const input_spec* in = info.module ? info.module->find_input(key)
                                           : nullptr;
        if (info.module && !in)
          report(ec::unknown_input, key_at,
                 "the module " + info.module->ref() + " has no input "
                   + in_quotes(key));
        flow given;
        if (value) {
          step_source s;
          s.kind = source_kind::value;
          s.value_json = json::serialize(*value);
          st.inputs.emplace(key, std::move(s));
          given.form = flow::shape::value;
          given.from = flow::origin::literal;
          given.literal = value;
          given.what = "the literal " + json::serialize(*value);
        } else {
          if (!from->is_string())
            continue; // the meta-schema reported it
          auto r = resolve(from->as_string(), i, key_at + "/from",
                           ref_use::step_input,
                           element ? &*element : nullptr,
                           collected ? &*collected : nullptr);
          if (!r)
            continue;
          add_ref(*r, key_at + "/from", from->as_string(), refs, deps);
          st.inputs.emplace(key, r->source);
          given = r->given;
        }
        if (in)
          check_mapping(given, *in, key_at);
        info.input_flows.emplace(key, std::move(given));
      }
    }
    if (info.module)
      for (auto& in : info.module->inputs)
        if (in.must_be_given() && !info.mapped.contains(in.key))
          report(ec::missing_input,
                 json::append_pointer(at + "/inputs", in.key),
                 "the module " + info.module->ref() + " requires its input "
                   + in_quotes(in.key) + ", which the step does not map");
    // The scope.
    auto deepest = deepest_scope(refs);
    st.scope = deepest;
    if (st.kind == step_kind::for_each) {
      // A fan-out runs in the branch its list lies in: an input from a
      // branch below the list's would make it a cross product of sibling
      // fan-outs, which is refused.
      auto list = std::find_if(refs.begin(), refs.end(), [](auto& r) {
        return r.pointer.ends_with("/for_each/from");
      });
      if (list != refs.end())
        for (auto& r : refs)
          if (r.scope.size() > list->scope.size())
            report(ec::scope_mismatch, r.pointer,
                   in_quotes(r.text) + " runs in " + scope_text(r.scope)
                     + ", below the list it fans out over ("
                     + in_quotes(list->text) + ", in "
                     + scope_text(list->scope)
                     + "): a for_each step runs in its list's branch");
      st.scope.push_back(st.id);
    }
    if (collected_scope && !(is_prefix(deepest, *collected_scope)
                             && collected_scope->size() > deepest.size()))
      report(ec::scope_mismatch, collect_at,
             "collect gathers " + in_quotes(collect_text) + ", which runs in "
               + scope_text(*collected_scope)
               + ": it must lie in a branch below the collecting step's ("
               + scope_text(deepest) + ")");
    for (auto j : deps)
      st.depends_on.push_back(infos_[j].id);
    std::sort(st.depends_on.begin(), st.depends_on.end());
    st.depends_on.erase(std::unique(st.depends_on.begin(), st.depends_on.end()),
                        st.depends_on.end());
    info.scope = st.scope;
    infos_[i] = std::move(info);
    return st;
  }

  const json::value& doc_;
  const pipeline_check_options& opts_;
  std::vector<problem>& problems_;
  /// Every input key declared (valid or not).
  std::set<std::string> declared_inputs_;
  /// The valid pipeline inputs by key (pointing into the spec).
  std::map<std::string, const input_spec*> pipeline_inputs_;
  /// Step id -> the index of its first step.
  std::map<std::string, size_t> ids_;
  /// The steps checked so far.
  std::vector<step_info> infos_;
  /// (step, later step) pairs reported unreachable.
  std::set<std::pair<size_t, size_t>> unreachable_;
  /// Schema documents by name (nullptr: not known).
  std::map<std::string, const json::value*> named_;
  /// Documents the check read (stable addresses).
  std::deque<json::value> store_;
};

} // namespace

// -- checking -------------------------------------------------------------------------

pipeline_result check_pipeline_text(std::string_view text,
                                    const pipeline_check_options& opts) {
  auto parsed = json::parse(text, json::default_max_depth,
                            json::duplicates::refuse);
  if (!parsed) {
    pipeline_result result;
    if (parsed.error.duplicate_key)
      result.problems.push_back(
        {ec::duplicate_key, parsed.error.pointer, parsed.error.message});
    else
      result.problems.push_back(
        {ec::invalid_json, "",
         "the pipeline is not JSON: " + parsed.error.message});
    return result;
  }
  return check_pipeline_document(*parsed.doc, opts);
}

pipeline_result check_pipeline_document(const json::value& doc,
                                        const pipeline_check_options& opts) {
  pipeline_result result;
  auto& problems = result.problems;
  auto meta = schema_catalog::shipped().compile("pipeline");
  if (!meta) {
    problems.push_back({ec::invalid_schema, "",
                        "the pipeline meta-schema is not available"});
    return result;
  }
  auto verdict = meta.schema->validate(doc);
  problems = schema_problems(verdict.errors, ec::invalid_contract, "",
                             schema_problem_codes::refined);
  if (!verdict.valid && problems.empty())
    problems.push_back({ec::invalid_contract, "",
                        "the document is not a pipeline"});
  if (!doc.is_object())
    return result;
  // Each input is checked by the module contract's rules below, which
  // report what the meta-schema says about it (the same definition).
  if (auto* xs = doc.find("inputs"); xs && xs->is_array())
    std::erase_if(problems, [](const problem& p) {
      return p.pointer.starts_with("/inputs/");
    });
  auto semantic = check_semantic_rules("pipeline", doc);
  problems.insert(problems.end(), semantic.begin(), semantic.end());
  auto spec = pipeline_checker{doc, opts, problems}.run();
  if (problems.empty()) {
    spec.document_json = json::serialize(doc);
    result.pipeline = std::move(spec);
  }
  return result;
}

std::optional<std::string> pipeline_ref_of_file_name(std::string_view name) {
  constexpr std::string_view suffix = ".json";
  if (!name.ends_with(suffix))
    return std::nullopt;
  auto ref = name.substr(0, name.size() - suffix.size());
  auto at = ref.find('@');
  if (at == std::string_view::npos || !is_pipeline_name(ref.substr(0, at)))
    return std::nullopt;
  auto version = ref.substr(at + 1);
  if (version.empty() || version.size() > 18 || version.front() == '0'
      || !std::all_of(version.begin(), version.end(), is_digit))
    return std::nullopt;
  return std::string{ref};
}

json::value to_json(const pipeline_spec& x) {
  json::value out{json::object{}};
  if (auto parsed = json::parse(x.document_json);
      parsed && parsed.doc->is_object()) {
    out = std::move(*parsed.doc);
  } else {
    out.set("name", x.name);
    out.set("version", x.version);
    out.set("schema_version", x.schema_version);
  }
  out.set("ref", x.ref());
  auto* steps = out.find("steps");
  if (!steps || !steps->is_array() || steps->as_array().size() != x.steps.size()) {
    json::array xs;
    for (auto& s : x.steps) {
      json::value step{json::object{}};
      step.set("id", s.id);
      step.set("module", s.module_ref);
      xs.push_back(std::move(step));
    }
    steps = &out.set("steps", std::move(xs));
  }
  auto strings = [](const std::vector<std::string>& xs) {
    json::array out;
    for (auto& s : xs)
      out.emplace_back(s);
    return out;
  };
  for (size_t i = 0; i < x.steps.size(); ++i) {
    auto& step = steps->as_array()[i];
    auto& s = x.steps[i];
    step.set("kind", to_string(s.kind));
    step.set("scope", strings(s.scope));
    step.set("depends_on", strings(s.depends_on));
  }
  return out;
}

} // namespace omniva::contracts
