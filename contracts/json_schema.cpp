#include "contracts/json_schema.hpp"

#include "contracts/ecma_regex.hpp"
#include "contracts/json_format.hpp"
#include "contracts/uri.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <functional>
#include <unordered_set>
#include <utility>

namespace omniva::contracts {

// -- the registry -------------------------------------------------------------

void schema_registry::add(std::string uri, json::value document) {
  docs_[strip_fragment(uri)]
    = std::make_shared<json::value>(std::move(document));
}

size_t schema_registry::size() const noexcept {
  return docs_.size();
}

const json::value* schema_registry::find(std::string_view uri) const {
  auto key = strip_fragment(uri);
  if (auto i = docs_.find(key); i != docs_.end())
    return i->second.get();
  // Without a loader there is nothing to remember: a registry shared by
  // many compilations (the shipped catalog's) must not keep every unknown
  // URI a schema ever named.
  if (!loader_)
    return nullptr;
  std::shared_ptr<json::value> doc;
  if (auto loaded = loader_(key))
    doc = std::make_shared<json::value>(std::move(*loaded));
  auto* result = doc.get();
  docs_.emplace(std::move(key), std::move(doc));
  return result;
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::string_view draft_2020_12 =
  "https://json-schema.org/draft/2020-12/schema";

// -- compiled form ------------------------------------------------------------

/// Instance types as bits, for the `type` keyword.
enum type_bit : uint8_t {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_string = 32,
  t_integer = 64,
};

/// The vocabularies of draft 2020-12 that change what keywords do.
struct vocabularies {
  bool applicator = true;
  bool validation = true;
  bool unevaluated = true;
  bool format_assertion = false;
};

struct node;

/// A schema resource (a document or a subschema with `$id`).
struct resource {
  /// The resource's position among its schema's resources (for the dynamic
  /// scope's membership counts).
  size_t index = 0;
  std::string base_uri;
  /// `$dynamicAnchor`s of this resource by name.
  std::unordered_map<std::string, const node*> dynamic_anchors;
  /// The JSON locations of those anchors, until compiled.
  std::vector<std::pair<std::string, const json::value*>> pending_anchors;
};

struct child {
  /// The path segment from the parent's keyword location, e.g.
  /// "/properties/name".
  std::string path;
  const node* target = nullptr;
  /// For a `$ref` or `$dynamicRef`: whether following it may re-enter a
  /// schema at the same instance location (it lies on a cycle of in-place
  /// applicators), so the evaluator must watch it.
  bool may_cycle = false;
};

struct property_child {
  std::string name;
  child sub;
};

struct pattern_child {
  ecma_regex pattern;
  child sub;
};

struct node {
  /// The node's position among its schema's nodes.
  size_t id = 0;
  const resource* res = nullptr;
  /// Where the schema is, for messages ("uri#/pointer").
  std::string where;
  bool is_bool = false;
  bool bool_value = true;

  // -- validation vocabulary
  uint8_t types = 0;
  std::optional<json::value> const_value;
  std::optional<std::vector<json::value>> enum_values;
  std::optional<double> minimum, maximum, exclusive_minimum,
    exclusive_maximum, multiple_of;
  std::optional<uint64_t> min_length, max_length, min_items, max_items,
    min_contains, max_contains, min_properties, max_properties;
  bool unique_items = false;
  std::optional<ecma_regex> pattern;
  std::vector<std::string> required;
  /// Slots of `required` names that are also `properties`: found during the
  /// one pass over the object's members instead of by lookups.
  std::vector<int> property_required_slot;
  /// The `required` names checked by lookup (not among `properties`, or too
  /// many for the bit mask).
  std::vector<std::string> required_by_lookup;
  /// Bits of the `required` names found in the member pass.
  uint64_t required_mask = 0;
  std::vector<std::pair<std::string, std::vector<std::string>>>
    dependent_required;
  string_format format = string_format::unknown;
  std::string format_name;

  // -- applicators
  std::vector<property_child> properties;
  /// `properties` by name (to their index), used for large `properties`.
  std::unordered_map<std::string_view, size_t> property_index;
  std::vector<pattern_child> pattern_properties;
  std::optional<child> additional_properties, property_names, items,
    contains, not_schema, if_schema, then_schema, else_schema,
    unevaluated_items, unevaluated_properties, ref, dynamic_ref;
  std::vector<child> prefix_items, all_of, any_of, one_of;
  std::vector<property_child> dependent_schemas;
  /// For a `$dynamicRef` whose initial target carries a matching
  /// `$dynamicAnchor`: the anchor name to look up in the dynamic scope.
  std::string dynamic_name;
  /// The budget one evaluation of this node takes before any member or item
  /// is visited: 1, plus every `enum` value, `required` name and dependency
  /// it may check.
  uint64_t cost = 1;

  /// Whether this node evaluates `unevaluated*` and so needs annotations.
  bool needs_annotations() const noexcept {
    return unevaluated_items || unevaluated_properties;
  }
};

// -- annotations collected for unevaluatedProperties / unevaluatedItems --------

struct annotations {
  bool all_properties = false;
  std::vector<std::string_view> properties;
  bool all_items = false;
  size_t item_prefix = 0;
  std::vector<size_t> item_indices;

  void merge(const annotations& other) {
    all_properties |= other.all_properties;
    if (!all_properties)
      properties.insert(properties.end(), other.properties.begin(),
                        other.properties.end());
    all_items |= other.all_items;
    item_prefix = std::max(item_prefix, other.item_prefix);
    if (!all_items)
      item_indices.insert(item_indices.end(), other.item_indices.begin(),
                          other.item_indices.end());
  }

  bool has_property(std::string_view name) const {
    return all_properties
           || std::find(properties.begin(), properties.end(), name)
                != properties.end();
  }

  bool has_item(size_t index) const {
    return all_items || index < item_prefix
           || std::find(item_indices.begin(), item_indices.end(), index)
                != item_indices.end();
  }
};

} // namespace

struct compiled_schema::impl {
  /// Owns every node; addresses are stable.
  std::deque<node> nodes;
  std::deque<resource> resources;
  /// Documents compiled from (the root and every registry document used).
  std::vector<std::shared_ptr<const json::value>> documents;
  const node* root = nullptr;
  bool uses_dynamic_scope = false;
  bool format_assertion = true;
  /// The budget of one validation (see `schema_options`).
  uint64_t max_evaluations = 0;
  uint64_t evaluations_per_byte = 0;
  size_t max_errors = 0;
};

namespace {

// -- compilation --------------------------------------------------------------

bool is_non_negative_integer(const json::value& v) {
  return v.is_integral() && v.as_double() >= 0;
}

class compiler {
public:
  compiler(compiled_schema::impl& out, const schema_registry& registry,
           const schema_options& options)
    : out_(out), registry_(registry), options_(options) {
  }

  const node* compile_root(std::shared_ptr<const json::value> doc,
                           const std::string& uri) {
    out_.documents.push_back(doc);
    index_document(*doc, uri);
    auto* root = node_for(doc.get());
    finish();
    check_endless_cycles();
    mark_cyclic_refs();
    return root;
  }

  const node* compile_uri(std::string_view uri) {
    auto* target = resolve(std::string{uri}, "");
    if (target == nullptr)
      return nullptr;
    auto* root = node_for(target);
    finish();
    check_endless_cycles();
    mark_cyclic_refs();
    return root;
  }

  std::vector<schema_error> errors;

private:
  struct location_info {
    std::string base;
    /// Where the location is, for messages: "" + pointer for the root
    /// document, "uri#pointer" for others.
    std::string where;
    const vocabularies* vocab = nullptr;
    resource* res = nullptr;
  };

  // -- indexing ---------------------------------------------------------------

  resource* resource_for(const std::string& base) {
    auto i = resources_.find(base);
    if (i != resources_.end())
      return i->second;
    auto& r = out_.resources.emplace_back();
    r.index = out_.resources.size() - 1;
    r.base_uri = base;
    resources_.emplace(base, &r);
    return &r;
  }

  const vocabularies* vocab_for(const json::value& doc, const std::string& where) {
    auto* schema = doc.find("$schema");
    if (schema == nullptr || !schema->is_string()
        || strip_fragment(schema->as_string()) == draft_2020_12)
      return &default_vocab_;
    auto* meta = registry_.find(schema->as_string());
    if (meta == nullptr)
      return &default_vocab_; // unknown meta-schema: assume the standard one
    auto* vocab = meta->find("$vocabulary");
    if (vocab == nullptr || !vocab->is_object())
      return &default_vocab_;
    auto& v = vocab_store_.emplace_back();
    v.applicator = v.validation = v.unevaluated = false;
    constexpr std::string_view prefix = "https://json-schema.org/draft/2020-12/vocab/";
    for (auto& [uri, required] : vocab->as_object()) {
      std::string_view name = uri;
      if (name.substr(0, prefix.size()) == prefix) {
        name.remove_prefix(prefix.size());
        if (name == "applicator")
          v.applicator = true;
        else if (name == "validation")
          v.validation = true;
        else if (name == "unevaluated")
          v.unevaluated = true;
        else if (name == "format-assertion")
          v.format_assertion = true;
        continue;
      }
      if (required.is_bool() && required.as_bool())
        errors.push_back({"", where + "/$schema",
                          "the meta-schema requires the unknown vocabulary "
                            + uri});
    }
    return &v;
  }

  /// Walks every subschema position of `doc`, recording bases, `$id`s,
  /// `$anchor`s and `$dynamicAnchor`s.
  void index_document(const json::value& doc, const std::string& uri) {
    auto base = strip_fragment(uri);
    std::string where = uri == options_.base_uri ? "" : base + "#";
    auto* vocab = vocab_for(doc, where);
    resources_by_uri_.emplace(base, &doc);
    index_schema(doc, base, where, vocab, resource_for(base));
  }

  void index_schema(const json::value& v, std::string base, std::string where,
                    const vocabularies* vocab, resource* res) {
    if (!v.is_object()) {
      info_.emplace(&v, location_info{base, where, vocab, res});
      return;
    }
    if (auto* id = v.find("$id"); id != nullptr && id->is_string()) {
      auto resolved = resolve_uri(base, id->as_string());
      base = strip_fragment(resolved);
      res = resource_for(base);
      resources_by_uri_.emplace(base, &v);
    }
    info_.emplace(&v, location_info{base, where, vocab, res});
    if (auto* a = v.find("$anchor"); a != nullptr && a->is_string())
      resources_by_uri_.emplace(base + "#" + a->as_string(), &v);
    if (auto* a = v.find("$dynamicAnchor"); a != nullptr && a->is_string()) {
      resources_by_uri_.emplace(base + "#" + a->as_string(), &v);
      res->pending_anchors.emplace_back(a->as_string(), &v);
    }
    static constexpr std::string_view single[]
      = {"additionalProperties", "propertyNames", "items", "contains", "not",
         "if", "then", "else", "unevaluatedItems", "unevaluatedProperties",
         "contentSchema"};
    static constexpr std::string_view maps[]
      = {"properties", "patternProperties", "$defs", "dependentSchemas",
         "definitions"};
    static constexpr std::string_view lists[]
      = {"allOf", "anyOf", "oneOf", "prefixItems"};
    for (auto& [key, sub] : v.as_object()) {
      auto path = json::append_pointer(where, key);
      if (std::find(std::begin(single), std::end(single), key)
          != std::end(single)) {
        index_schema(sub, base, path, vocab, res);
      } else if (std::find(std::begin(maps), std::end(maps), key)
                 != std::end(maps)) {
        if (sub.is_object())
          for (auto& [name, s] : sub.as_object())
            index_schema(s, base, json::append_pointer(path, name), vocab, res);
      } else if (std::find(std::begin(lists), std::end(lists), key)
                 != std::end(lists)) {
        if (sub.is_array())
          for (size_t i = 0; i < sub.as_array().size(); ++i)
            index_schema(sub.as_array()[i], base,
                         json::append_pointer(path, i), vocab, res);
      }
    }
  }

  /// Finds the JSON location a URI (with fragment) refers to, loading
  /// documents from the registry as needed; nullptr when it does not resolve.
  const json::value* resolve(const std::string& uri, const std::string& where) {
    auto doc_uri = strip_fragment(uri);
    auto hash = uri.find('#');
    std::string fragment
      = hash == std::string::npos ? "" : percent_decode(uri.substr(hash + 1));
    auto i = resources_by_uri_.find(doc_uri);
    const json::value* root = nullptr;
    if (i != resources_by_uri_.end()) {
      root = i->second;
    } else if (auto* doc = registry_.find(doc_uri)) {
      index_document(*doc, doc_uri);
      root = doc;
    } else {
      return nullptr;
    }
    if (fragment.empty())
      return root;
    if (fragment.front() == '/') {
      auto* target = json::resolve_pointer(*root, fragment);
      if (target != nullptr && info_.find(target) == info_.end()) {
        // A location outside the known subschema positions (e.g. inside an
        // unknown keyword): it inherits its resource's base.
        auto& parent = info_.at(root);
        info_.emplace(target,
                      location_info{parent.base,
                                    parent.where + fragment, parent.vocab,
                                    parent.res});
        if (target->is_object())
          index_schema(*target, parent.base, parent.where + fragment,
                       parent.vocab, parent.res);
      }
      return target;
    }
    auto j = resources_by_uri_.find(doc_uri + "#" + fragment);
    return j == resources_by_uri_.end() ? nullptr : j->second;
  }

  // -- compiling --------------------------------------------------------------

  void error(const std::string& where, std::string message) {
    errors.push_back({"", where, std::move(message)});
  }

  /// Returns the node of the schema at `v`, creating it (to be filled by
  /// `finish`) on first use: cycles between schemas become cycles between
  /// nodes.
  const node* node_for(const json::value* v) {
    if (auto i = nodes_.find(v); i != nodes_.end())
      return i->second;
    auto& n = out_.nodes.emplace_back();
    n.id = out_.nodes.size() - 1;
    nodes_.emplace(v, &n);
    todo_.push_back({v, &n});
    return &n;
  }

  /// Compiles every node created so far, then the dynamic anchors of every
  /// resource in use, until nothing new appears.
  void finish() {
    while (!todo_.empty()) {
      while (!todo_.empty()) {
        auto [v, n] = todo_.front();
        todo_.pop_front();
        fill(*v, *n);
      }
      for (auto& r : out_.resources) {
        for (auto& [name, v] : r.pending_anchors)
          r.dynamic_anchors.emplace(name, node_for(v));
        r.pending_anchors.clear();
      }
    }
  }

  // -- cycles that never end ----------------------------------------------------

  /// Whether evaluating `n` may fail, and so stop early, before its in-place
  /// applicators run: any assertion, or any applicator that looks into the
  /// instance's members or items.
  static bool may_stop_before_in_place(const node& n) {
    return n.types != 0 || n.const_value || n.enum_values || n.minimum
           || n.maximum || n.exclusive_minimum || n.exclusive_maximum
           || n.multiple_of || n.min_length || n.max_length || n.min_items
           || n.max_items || n.min_contains || n.max_contains
           || n.min_properties || n.max_properties || n.unique_items
           || n.pattern || !n.required.empty() || !n.dependent_required.empty()
           || n.format != string_format::unknown || !n.properties.empty()
           || !n.pattern_properties.empty() || n.additional_properties
           || n.property_names || n.items || !n.prefix_items.empty()
           || n.contains || !n.dependent_schemas.empty();
  }

  /// The subschema that evaluating `n` certainly evaluates, on the same
  /// instance, whatever the instance and the output mode: the first of its
  /// in-place applicators in the evaluator's order, when nothing before it
  /// can stop the evaluation. nullptr when there is none (a `$dynamicRef`
  /// that the dynamic scope may redirect is not certain).
  static const child* certain_in_place(const node& n) {
    if (n.is_bool || may_stop_before_in_place(n))
      return nullptr;
    if (n.ref)
      return &*n.ref;
    if (n.dynamic_ref)
      return n.dynamic_name.empty() ? &*n.dynamic_ref : nullptr;
    for (auto* list : {&n.all_of, &n.any_of, &n.one_of})
      if (!list->empty())
        return &list->front();
    if (n.not_schema)
      return &*n.not_schema;
    if (n.if_schema)
      return &*n.if_schema;
    return nullptr;
  }

  /// The children `n` evaluates on the instance it is given.
  static std::vector<const child*> in_place_children(const node& n) {
    std::vector<const child*> out;
    for (auto* c : {&n.ref, &n.dynamic_ref, &n.not_schema, &n.if_schema,
                    &n.then_schema, &n.else_schema})
      if (*c)
        out.push_back(&**c);
    for (auto* list : {&n.all_of, &n.any_of, &n.one_of})
      for (auto& c : *list)
        out.push_back(&c);
    for (auto& p : n.dependent_schemas)
      out.push_back(&p.sub);
    return out;
  }

  /// Marks the references that the evaluator must watch for cycles: those
  /// inside a strongly connected component of the in-place graph (Tarjan's
  /// algorithm, without recursion: a schema may chain thousands of nodes).
  /// Every `$dynamicRef` is watched, since the dynamic scope may send it
  /// anywhere.
  void mark_cyclic_refs() {
    constexpr size_t unvisited = SIZE_MAX;
    auto count = out_.nodes.size();
    std::vector<size_t> index(count, unvisited), low(count, 0),
      component(count, unvisited);
    std::vector<bool> on_stack(count, false);
    std::vector<size_t> stack;
    struct frame {
      size_t node;
      std::vector<const child*> edges;
      size_t next = 0;
    };
    std::vector<frame> calls;
    size_t counter = 0, components = 0;
    auto visit = [&](size_t v) {
      index[v] = low[v] = counter++;
      stack.push_back(v);
      on_stack[v] = true;
      calls.push_back({v, in_place_children(out_.nodes[v])});
    };
    for (size_t start = 0; start < count; ++start) {
      if (index[start] != unvisited)
        continue;
      visit(start);
      while (!calls.empty()) {
        auto& f = calls.back();
        if (f.next < f.edges.size()) {
          auto w = f.edges[f.next++]->target->id;
          if (index[w] == unvisited)
            visit(w);
          else if (on_stack[w])
            low[f.node] = std::min(low[f.node], index[w]);
          continue;
        }
        auto v = f.node;
        calls.pop_back();
        if (!calls.empty())
          low[calls.back().node] = std::min(low[calls.back().node], low[v]);
        if (low[v] == index[v]) {
          size_t w;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = false;
            component[w] = components;
          } while (w != v);
          ++components;
        }
      }
    }
    for (auto& n : out_.nodes) {
      if (n.ref)
        n.ref->may_cycle = component[n.id] == component[n.ref->target->id];
      if (n.dynamic_ref)
        n.dynamic_ref->may_cycle = true;
    }
  }

  static std::string schema_text(const node& n) {
    return n.where.find('#') == std::string::npos ? "#" + n.where : n.where;
  }

  /// Refuses the schemas that recurse without end on every instance: a chain
  /// of certain in-place evaluations (see `certain_in_place`) that comes back
  /// to where it started. Each node has at most one such successor, so the
  /// chains form a graph of out-degree one, walked once.
  void check_endless_cycles() {
    enum class mark : uint8_t { unseen, on_path, done };
    std::unordered_map<const node*, mark> marks;
    for (auto& start : out_.nodes) {
      std::vector<const node*> path;
      const node* n = &start;
      while (n != nullptr && marks[n] == mark::unseen) {
        marks[n] = mark::on_path;
        path.push_back(n);
        auto* next = certain_in_place(*n);
        n = next ? next->target : nullptr;
      }
      if (n != nullptr && marks[n] == mark::on_path)
        report_cycle(std::vector<const node*>(
          std::find(path.begin(), path.end(), n), path.end()));
      for (auto* p : path)
        marks[p] = mark::done;
    }
  }

  /// Reports the cycle `nodes` (each certainly evaluating the next, the last
  /// the first) at its first reference keyword.
  void report_cycle(const std::vector<const node*>& nodes) {
    std::string chain;
    for (auto* n : nodes)
      chain += schema_text(*n) + " -> ";
    chain += schema_text(*nodes.front());
    for (auto* n : nodes) {
      auto* c = certain_in_place(*n);
      if (c->path != "/$ref" && c->path != "/$dynamicRef")
        continue;
      auto keyword = c->path.substr(1);
      error(n->where + c->path,
            keyword + " '" + schema_text(*c->target)
              + "' leads back to where it is evaluated without consuming "
                "any of the instance (" + chain
              + "): the schema recurses without end");
      return;
    }
    error(nodes.front()->where,
          "the schema recurses without end (" + chain + ")");
  }

  std::optional<child> sub(const json::value& parent, std::string_view key,
                           const std::string& where) {
    auto* v = parent.find(key);
    if (v == nullptr)
      return std::nullopt;
    auto path = json::append_pointer("", key);
    if (!v->is_object() && !v->is_bool()) {
      error(where + path, std::string{key} + " must be a schema (an object or a boolean)");
      return std::nullopt;
    }
    return child{path, node_for(v)};
  }

  std::vector<child> sub_list(const json::value& parent, std::string_view key,
                              const std::string& where) {
    std::vector<child> result;
    auto* v = parent.find(key);
    if (v == nullptr)
      return result;
    auto path = json::append_pointer("", key);
    if (!v->is_array() || v->as_array().empty()) {
      error(where + path, std::string{key} + " must be a non-empty array of schemas");
      return result;
    }
    for (size_t i = 0; i < v->as_array().size(); ++i) {
      auto& s = v->as_array()[i];
      auto p = json::append_pointer(path, i);
      if (!s.is_object() && !s.is_bool()) {
        error(where + p, std::string{key} + " must hold schemas (objects or booleans)");
        continue;
      }
      result.push_back({p, node_for(&s)});
    }
    return result;
  }

  std::vector<property_child> sub_map(const json::value& parent,
                                      std::string_view key,
                                      const std::string& where) {
    std::vector<property_child> result;
    auto* v = parent.find(key);
    if (v == nullptr)
      return result;
    auto path = json::append_pointer("", key);
    if (!v->is_object()) {
      error(where + path, std::string{key} + " must be an object of schemas");
      return result;
    }
    for (auto& [name, s] : v->as_object()) {
      auto p = json::append_pointer(path, name);
      if (!s.is_object() && !s.is_bool()) {
        error(where + p, std::string{key} + " must hold schemas (objects or booleans)");
        continue;
      }
      result.push_back({name, {p, node_for(&s)}});
    }
    return result;
  }

  std::optional<double> number(const json::value& v, std::string_view key,
                               const std::string& where) {
    auto* x = v.find(key);
    if (x == nullptr)
      return std::nullopt;
    if (!x->is_number()) {
      error(json::append_pointer(where, key), std::string{key} + " must be a number");
      return std::nullopt;
    }
    return x->as_double();
  }

  std::optional<uint64_t> count(const json::value& v, std::string_view key,
                                const std::string& where) {
    auto* x = v.find(key);
    if (x == nullptr)
      return std::nullopt;
    if (!is_non_negative_integer(*x)) {
      error(json::append_pointer(where, key),
            std::string{key} + " must be a non-negative integer");
      return std::nullopt;
    }
    auto d = x->as_double();
    return d >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(d);
  }

  std::optional<std::vector<std::string>>
  string_set(const json::value& v, const std::string& where,
             std::string_view what) {
    if (!v.is_array()) {
      error(where, std::string{what} + " must be an array of strings");
      return std::nullopt;
    }
    std::vector<std::string> result;
    for (size_t i = 0; i < v.as_array().size(); ++i) {
      auto& s = v.as_array()[i];
      if (!s.is_string()) {
        error(json::append_pointer(where, i),
              std::string{what} + " must hold strings only");
        return std::nullopt;
      }
      if (std::find(result.begin(), result.end(), s.as_string())
          != result.end()) {
        error(json::append_pointer(where, i),
              std::string{what} + " must not repeat '" + s.as_string() + "'");
        return std::nullopt;
      }
      result.push_back(s.as_string());
    }
    return result;
  }

  void fill(const json::value& v, node& n) {
    auto found = info_.find(&v);
    if (found == info_.end()) {
      error("", "internal: a subschema was reached that was never indexed");
      return;
    }
    auto& info = found->second;
    auto& where = info.where;
    n.where = where;
    n.res = info.res;
    if (v.is_bool()) {
      n.is_bool = true;
      n.bool_value = v.as_bool();
      return;
    }
    if (!v.is_object()) {
      error(where, "a schema must be an object or a boolean");
      return;
    }
    auto& vocab = *info.vocab;
    // -- core
    for (auto key : {"$id", "$schema", "$anchor", "$dynamicAnchor", "$ref",
                     "$dynamicRef", "$comment"})
      if (auto* x = v.find(key); x != nullptr && !x->is_string())
        error(json::append_pointer(where, key), std::string{key} + " must be a string");
    if (auto* id = v.find("$id"); id != nullptr && id->is_string()) {
      auto ref = uri_reference::parse(id->as_string());
      if (ref.fragment && !ref.fragment->empty())
        error(json::append_pointer(where, "$id"),
              "$id must not have a non-empty fragment");
    }
    for (auto key : {"$anchor", "$dynamicAnchor"})
      if (auto* a = v.find(key); a != nullptr && a->is_string()) {
        auto& s = a->as_string();
        bool ok = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_');
        for (auto c : s)
          ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-'
                      || c == '_' || c == '.');
        if (!ok)
          error(json::append_pointer(where, key),
                std::string{key} + " must be a plain name (letters, digits, '-', '_', '.')");
      }
    if (auto* x = v.find("$vocabulary"); x != nullptr) {
      bool ok = x->is_object();
      if (ok)
        for (auto& [k, b] : x->as_object())
          ok = ok && b.is_bool();
      if (!ok)
        error(json::append_pointer(where, "$vocabulary"),
              "$vocabulary must be an object of booleans");
    }
    if (auto* r = v.find("$ref"); r != nullptr && r->is_string()) {
      auto target_uri = resolve_uri(info.base, r->as_string());
      if (auto* target = resolve(target_uri, where))
        n.ref = child{"/$ref", node_for(target)};
      else
        error(json::append_pointer(where, "$ref"),
              "$ref '" + r->as_string() + "' does not resolve");
    }
    if (auto* r = v.find("$dynamicRef"); r != nullptr && r->is_string()) {
      auto target_uri = resolve_uri(info.base, r->as_string());
      if (auto* target = resolve(target_uri, where)) {
        n.dynamic_ref = child{"/$dynamicRef", node_for(target)};
        auto fragment = uri_fragment(target_uri);
        if (!fragment.empty() && fragment.front() != '/') {
          auto* anchor = target->find("$dynamicAnchor");
          if (anchor != nullptr && anchor->is_string()
              && anchor->as_string() == fragment) {
            n.dynamic_name = fragment;
            out_.uses_dynamic_scope = true;
          }
        }
      } else {
        error(json::append_pointer(where, "$dynamicRef"),
              "$dynamicRef '" + r->as_string() + "' does not resolve");
      }
    }
    // $defs are compiled when referenced; their shape is still checked.
    for (auto key : {"$defs"})
      if (auto* d = v.find(key)) {
        if (!d->is_object())
          error(json::append_pointer(where, key), "$defs must be an object of schemas");
        else
          for (auto& [name, s] : d->as_object())
            if (!s.is_object() && !s.is_bool())
              error(json::append_pointer(json::append_pointer(where, key), name),
                    "$defs must hold schemas (objects or booleans)");
            else
              node_for(&s);
      }
    // -- applicator vocabulary
    if (vocab.applicator) {
      n.all_of = sub_list(v, "allOf", where);
      n.any_of = sub_list(v, "anyOf", where);
      n.one_of = sub_list(v, "oneOf", where);
      n.not_schema = sub(v, "not", where);
      n.if_schema = sub(v, "if", where);
      n.then_schema = sub(v, "then", where);
      n.else_schema = sub(v, "else", where);
      n.prefix_items = sub_list(v, "prefixItems", where);
      n.items = sub(v, "items", where);
      n.contains = sub(v, "contains", where);
      n.properties = sub_map(v, "properties", where);
      for (auto& p : sub_map(v, "patternProperties", where)) {
        std::string why;
        if (auto re = ecma_regex::compile(p.name, why))
          n.pattern_properties.push_back({std::move(*re), std::move(p.sub)});
        else
          error(where + p.sub.path, "patternProperties key '" + p.name + "' " + why);
      }
      n.additional_properties = sub(v, "additionalProperties", where);
      n.property_names = sub(v, "propertyNames", where);
      n.dependent_schemas = sub_map(v, "dependentSchemas", where);
      for (size_t i = 0; i < n.properties.size(); ++i)
        n.property_index.emplace(n.properties[i].name, i);
    }
    if (vocab.unevaluated) {
      n.unevaluated_items = sub(v, "unevaluatedItems", where);
      n.unevaluated_properties = sub(v, "unevaluatedProperties", where);
    }
    // -- validation vocabulary
    if (vocab.validation)
      fill_validation(v, n, where);
    // -- required: which names the member pass can find
    for (auto& p : n.properties) {
      int slot = -1;
      auto i = std::find(n.required.begin(), n.required.end(), p.name);
      if (i != n.required.end() && i - n.required.begin() < 64) {
        slot = static_cast<int>(i - n.required.begin());
        n.required_mask |= uint64_t{1} << slot;
      }
      n.property_required_slot.push_back(slot);
    }
    for (size_t i = 0; i < n.required.size(); ++i)
      if (i >= 64 || (n.required_mask & (uint64_t{1} << i)) == 0)
        n.required_by_lookup.push_back(n.required[i]);
    // -- format
    if (auto* f = v.find("format")) {
      if (!f->is_string()) {
        error(json::append_pointer(where, "format"), "format must be a string");
      } else if (options_.format_assertion || vocab.format_assertion) {
        n.format_name = f->as_string();
        n.format = format_from_name(n.format_name);
      }
    }
    // -- meta-data and content: annotations only, but well formed
    for (auto key : {"title", "description", "contentEncoding",
                     "contentMediaType"})
      if (auto* x = v.find(key); x != nullptr && !x->is_string())
        error(json::append_pointer(where, key), std::string{key} + " must be a string");
    for (auto key : {"deprecated", "readOnly", "writeOnly"})
      if (auto* x = v.find(key); x != nullptr && !x->is_bool())
        error(json::append_pointer(where, key), std::string{key} + " must be a boolean");
    if (auto* x = v.find("examples"); x != nullptr && !x->is_array())
      error(json::append_pointer(where, "examples"), "examples must be an array");
    n.cost = 1 + (n.enum_values ? n.enum_values->size() : 0)
             + n.required.size() + n.dependent_schemas.size();
    for (auto& [name, deps] : n.dependent_required)
      n.cost += 1 + deps.size();
  }

  void fill_validation(const json::value& v, node& n, const std::string& where) {
    if (auto* t = v.find("type")) {
      auto bit = [](const json::value& s) -> uint8_t {
        if (!s.is_string())
          return 0;
        auto& x = s.as_string();
        if (x == "null") return t_null;
        if (x == "boolean") return t_boolean;
        if (x == "object") return t_object;
        if (x == "array") return t_array;
        if (x == "number") return t_number;
        if (x == "string") return t_string;
        if (x == "integer") return t_integer;
        return 0;
      };
      auto path = json::append_pointer(where, "type");
      if (t->is_string()) {
        n.types = bit(*t);
        if (n.types == 0)
          error(path, "type '" + t->as_string() + "' is not a JSON Schema type");
      } else if (t->is_array()) {
        for (size_t i = 0; i < t->as_array().size(); ++i) {
          auto b = bit(t->as_array()[i]);
          if (b == 0 || (n.types & b) != 0)
            error(json::append_pointer(path, i),
                  "type must list distinct JSON Schema type names");
          n.types |= b;
        }
        if (t->as_array().empty())
          error(path, "type must not be an empty array");
      } else {
        error(path, "type must be a string or an array of strings");
      }
    }
    if (auto* c = v.find("const"))
      n.const_value = *c;
    if (auto* e = v.find("enum")) {
      if (!e->is_array())
        error(json::append_pointer(where, "enum"), "enum must be an array");
      else
        n.enum_values = e->as_array();
    }
    n.minimum = number(v, "minimum", where);
    n.maximum = number(v, "maximum", where);
    n.exclusive_minimum = number(v, "exclusiveMinimum", where);
    n.exclusive_maximum = number(v, "exclusiveMaximum", where);
    n.multiple_of = number(v, "multipleOf", where);
    if (n.multiple_of && !(*n.multiple_of > 0)) {
      error(json::append_pointer(where, "multipleOf"), "multipleOf must be greater than 0");
      n.multiple_of.reset();
    }
    n.min_length = count(v, "minLength", where);
    n.max_length = count(v, "maxLength", where);
    n.min_items = count(v, "minItems", where);
    n.max_items = count(v, "maxItems", where);
    n.min_contains = count(v, "minContains", where);
    n.max_contains = count(v, "maxContains", where);
    n.min_properties = count(v, "minProperties", where);
    n.max_properties = count(v, "maxProperties", where);
    if (auto* u = v.find("uniqueItems")) {
      if (!u->is_bool())
        error(json::append_pointer(where, "uniqueItems"), "uniqueItems must be a boolean");
      else
        n.unique_items = u->as_bool();
    }
    if (auto* p = v.find("pattern")) {
      std::string why;
      if (!p->is_string())
        error(json::append_pointer(where, "pattern"), "pattern must be a string");
      else if (auto re = ecma_regex::compile(p->as_string(), why))
        n.pattern = std::move(*re);
      else
        error(json::append_pointer(where, "pattern"),
              "pattern '" + p->as_string() + "' " + why);
    }
    if (auto* r = v.find("required"))
      if (auto xs = string_set(*r, json::append_pointer(where, "required"), "required"))
        n.required = std::move(*xs);
    if (auto* d = v.find("dependentRequired")) {
      auto path = json::append_pointer(where, "dependentRequired");
      if (!d->is_object())
        error(path, "dependentRequired must be an object of string arrays");
      else
        for (auto& [name, xs] : d->as_object())
          if (auto names = string_set(xs, json::append_pointer(path, name),
                                      "dependentRequired"))
            n.dependent_required.emplace_back(name, std::move(*names));
    }
  }

  compiled_schema::impl& out_;
  const schema_registry& registry_;
  const schema_options& options_;
  vocabularies default_vocab_;
  std::deque<vocabularies> vocab_store_;
  std::unordered_map<std::string, resource*> resources_;
  std::unordered_map<std::string, const json::value*> resources_by_uri_;
  std::unordered_map<const json::value*, location_info> info_;
  std::unordered_map<const json::value*, node*> nodes_;
  std::deque<std::pair<const json::value*, node*>> todo_;
};

// -- evaluation ---------------------------------------------------------------

/// Deep equality of an instance and a constant (numbers by value).
bool equals(element a, const json::value& b) {
  switch (a.type()) {
    case element_type::NULL_VALUE:
      return b.is_null();
    case element_type::BOOL:
      return b.is_bool() && bool(a) == b.as_bool();
    case element_type::STRING:
      return b.is_string() && std::string_view(a) == b.as_string();
    case element_type::INT64:
      if (b.type() == json::kind::integer)
        return int64_t(a) == std::get<int64_t>(b.data());
      return b.is_number() && double(int64_t(a)) == b.as_double();
    case element_type::UINT64:
      if (b.type() == json::kind::unsigned_integer)
        return uint64_t(a) == std::get<uint64_t>(b.data());
      return b.is_number() && double(uint64_t(a)) == b.as_double();
    case element_type::DOUBLE:
      return b.is_number() && double(a) == b.as_double();
    case element_type::ARRAY: {
      if (!b.is_array())
        return false;
      auto arr = simdjson::dom::array(a);
      auto& ys = b.as_array();
      if (arr.size() != ys.size())
        return false;
      size_t i = 0;
      for (auto x : arr)
        if (!equals(x, ys[i++]))
          return false;
      return true;
    }
    case element_type::OBJECT: {
      if (!b.is_object())
        return false;
      auto obj = simdjson::dom::object(a);
      if (obj.size() != b.as_object().size())
        return false;
      for (auto field : obj) {
        auto* other = b.find(field.key);
        if (other == nullptr || !equals(field.value, *other))
          return false;
      }
      return true;
    }
  }
  return false;
}

double number_of(element e) {
  switch (e.type()) {
    case element_type::INT64:
      return static_cast<double>(int64_t(e));
    case element_type::UINT64:
      return static_cast<double>(uint64_t(e));
    default:
      return double(e);
  }
}

bool is_number(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64
         || t == element_type::DOUBLE;
}

/// Deep equality of two instances (numbers by value).
bool equals(element a, element b) {
  auto ta = a.type();
  auto tb = b.type();
  if (is_number(ta) && is_number(tb)) {
    if (ta == element_type::INT64 && tb == element_type::INT64)
      return int64_t(a) == int64_t(b);
    if (ta == element_type::UINT64 && tb == element_type::UINT64)
      return uint64_t(a) == uint64_t(b);
    return number_of(a) == number_of(b);
  }
  if (ta != tb)
    return false;
  switch (ta) {
    case element_type::NULL_VALUE:
      return true;
    case element_type::BOOL:
      return bool(a) == bool(b);
    case element_type::STRING:
      return std::string_view(a) == std::string_view(b);
    case element_type::ARRAY: {
      auto x = simdjson::dom::array(a);
      auto y = simdjson::dom::array(b);
      if (x.size() != y.size())
        return false;
      auto i = x.begin();
      auto j = y.begin();
      for (; i != x.end(); ++i, ++j)
        if (!equals(*i, *j))
          return false;
      return true;
    }
    case element_type::OBJECT: {
      auto x = simdjson::dom::object(a);
      auto y = simdjson::dom::object(b);
      if (x.size() != y.size())
        return false;
      for (auto field : x) {
        element other;
        if (y.at_key(field.key).get(other) != simdjson::SUCCESS
            || !equals(field.value, other))
          return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/// A hash consistent with `equals(element, element)`.
size_t hash_of(element e) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return 0x9e3779b97f4a7c15ULL;
    case element_type::BOOL:
      return bool(e) ? 1 : 2;
    case element_type::STRING:
      return std::hash<std::string_view>{}(std::string_view(e));
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      auto d = number_of(e);
      return d == 0 ? 3 : std::hash<double>{}(d);
    }
    case element_type::ARRAY: {
      size_t h = 5;
      for (auto x : simdjson::dom::array(e))
        h = h * 31 + hash_of(x);
      return h;
    }
    case element_type::OBJECT: {
      size_t h = 7;
      for (auto field : simdjson::dom::object(e))
        h ^= std::hash<std::string_view>{}(field.key) * 17 + hash_of(field.value);
      return h;
    }
  }
  return 0;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (auto c : s)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string_view type_name(element e) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return "null";
    case element_type::BOOL:
      return "boolean";
    case element_type::STRING:
      return "string";
    case element_type::INT64:
    case element_type::UINT64:
      return "integer";
    case element_type::DOUBLE: {
      auto d = double(e);
      return std::trunc(d) == d ? "integer" : "number";
    }
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
  }
  return "unknown";
}

std::string types_text(uint8_t types) {
  std::string out;
  static constexpr std::pair<uint8_t, std::string_view> names[]
    = {{t_null, "null"},     {t_boolean, "boolean"}, {t_object, "object"},
       {t_array, "array"},   {t_number, "number"},   {t_string, "string"},
       {t_integer, "integer"}};
  for (auto& [bit, name] : names)
    if (types & bit) {
      if (!out.empty())
        out += " or ";
      out += name;
    }
  return out;
}

std::string number_text(double d) {
  std::string out;
  json::append_number(out, d);
  return out;
}

/// The JSON text of `v` for a message, cut after about 200 bytes (at a
/// character boundary) so that a huge `const` or `enum` cannot make every
/// error huge.
std::string json_excerpt(const json::value& v) {
  constexpr size_t limit = 200;
  auto text = json::serialize(v);
  if (text.size() <= limit)
    return text;
  auto cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  text.resize(cut);
  return text + "...";
}

/// `a * b + c`, or UINT64_MAX when that overflows.
uint64_t saturating_budget(uint64_t c, uint64_t a, uint64_t b) {
  uint64_t product = 0;
  uint64_t sum = 0;
  if (__builtin_mul_overflow(a, b, &product)
      || __builtin_add_overflow(product, c, &sum))
    return UINT64_MAX;
  return sum;
}

/// The state of one validation.
class evaluator {
public:
  /// `budget`: the work this validation may do (see `schema_options`).
  evaluator(const compiled_schema::impl& schema, bool verbose,
            std::vector<schema_error>* errors, uint64_t budget)
    : schema_(schema), verbose_(verbose), errors_(errors), budget_(budget),
      limit_(budget) {
  }

  bool run(element instance) {
    stack_base_ = static_cast<const char*>(__builtin_frame_address(0));
    if (schema_.uses_dynamic_scope)
      in_scope_.assign(schema_.resources.size(), 0);
    return eval(*schema_.root, instance, nullptr) && !stopped_;
  }

  /// Whether the validation was stopped undecided (see `stop`).
  bool stopped() const noexcept {
    return stopped_;
  }

  /// Why it was stopped.
  schema_error& stop_reason() noexcept {
    return stop_reason_;
  }

private:
  /// Maximum nesting of evaluations: a recursion deeper than this ends the
  /// validation (undecided) instead of overflowing the stack.
  static constexpr size_t max_depth = 2048;

  /// A `$ref` or `$dynamicRef` being followed: where it leads, at which
  /// instance location (counted in levels below the root: along one
  /// evaluation path, equal levels are the same location), and with how
  /// many distinct resources in the dynamic scope.
  struct followed_ref {
    const node* target;
    size_t instance_level;
    size_t scope_resources;
  };

  /// Ends the validation undecided: every evaluation from now on fails at
  /// once, errors are no longer collected, and `run`'s caller reports
  /// `message` alone (at the innermost location the output tracks).
  [[gnu::cold, gnu::noinline]] void stop(std::string message) {
    if (stopped_)
      return;
    stopped_ = true;
    budget_ = 0;
    stop_reason_ = {instance_path_, schema_path_, std::move(message), {},
                    true};
    verbose_ = false;
  }

  /// Takes `units` of work from the budget; stops the validation when the
  /// budget is spent (or the validation was stopped: the budget is then 0).
  bool charge(uint64_t units) {
    if (units < budget_) [[likely]] {
      budget_ -= units;
      return true;
    }
    budget_spent();
    return false;
  }

  [[gnu::cold, gnu::noinline]] void too_deep() {
    stop("the schema recurses more than " + std::to_string(max_depth)
         + " levels deep on this document (or its evaluation needs more "
           "stack than a validation may use)");
  }

  [[gnu::cold, gnu::noinline]] void budget_spent() {
    stop("validating this document needs more than " + std::to_string(limit_)
         + " evaluation steps, the limit for a document of its size: the "
           "schema is too complex");
  }

  /// Follows the reference `c` of `from`. A reference that re-enters a
  /// schema already being evaluated at this same instance location (with
  /// the same dynamic scope) would recurse forever: it stops the
  /// validation.
  bool follow(const node& from, const child& c, element instance,
              annotations* ann) {
    if (!c.may_cycle)
      return eval_child(c, instance, ann);
    for (auto i = followed_.rbegin();
         i != followed_.rend() && i->instance_level == instance_level_; ++i)
      if (i->target == c.target && i->scope_resources == scope_resources_) {
        cycle_found(from, c);
        return false;
      }
    followed_.push_back({c.target, instance_level_, scope_resources_});
    auto ok = eval_child(c, instance, ann);
    followed_.pop_back();
    return ok;
  }

  [[gnu::cold, gnu::noinline]] void cycle_found(const node& from,
                                                const child& c) {
    stop(c.path.substr(1) + " at " + schema_location(from, c.path)
         + " re-enters " + schema_location(*c.target, "")
         + " at the same instance location, without consuming any of the "
           "instance: the schema recurses without end");
  }

  static std::string schema_location(const node& n, std::string_view path) {
    auto text = n.where.find('#') == std::string::npos ? "#" + n.where
                                                         : n.where;
    return text + std::string{path};
  }

  void enter_scope(const resource* r) {
    scope_.push_back(r);
    if (in_scope_[r->index]++ == 0)
      ++scope_resources_;
  }

  void leave_scope() {
    if (--in_scope_[scope_.back()->index] == 0)
      --scope_resources_;
    scope_.pop_back();
  }

  /// Maximum stack an evaluation may use, whatever the size of its frames
  /// (sanitizers make them several times larger): deep recursion ends with
  /// an error, never with a stack overflow, on any thread with the usual
  /// 8 MiB stack.
  static constexpr std::ptrdiff_t max_stack_bytes = 3 << 20;

  bool out_of_stack() const noexcept {
    auto* here = static_cast<const char*>(__builtin_frame_address(0));
    return stack_base_ - here > max_stack_bytes;
  }

  void fail(std::string_view keyword, std::string message,
            std::string missing = {}) {
    if (!verbose_ || errors_->size() >= schema_.max_errors)
      return;
    std::string loc = schema_path_;
    if (!keyword.empty()) {
      loc += '/';
      loc += keyword;
    }
    errors_->push_back({instance_path_, std::move(loc), std::move(message),
                        std::move(missing)});
  }

  /// Evaluates `c` (reached from the current node through `c.path`) on
  /// `instance`, which sits at `instance_token` below the current instance
  /// location (empty token: the same location).
  bool eval_child(const child& c, element instance, annotations* ann) {
    auto schema_len = schema_path_.size();
    if (verbose_)
      schema_path_ += c.path;
    auto ok = eval(*c.target, instance, ann);
    if (verbose_)
      schema_path_.resize(schema_len);
    return ok;
  }

  bool eval_at(const child& c, element instance, std::string_view token,
               annotations* ann) {
    auto len = instance_path_.size();
    ++instance_level_;
    if (verbose_) {
      instance_path_ += '/';
      for (auto ch : token) {
        if (ch == '~')
          instance_path_ += "~0";
        else if (ch == '/')
          instance_path_ += "~1";
        else
          instance_path_ += ch;
      }
    }
    auto ok = eval_child(c, instance, ann);
    --instance_level_;
    if (verbose_)
      instance_path_.resize(len);
    return ok;
  }

  bool eval_at(const child& c, element instance, size_t index,
               annotations* ann) {
    auto len = instance_path_.size();
    ++instance_level_;
    if (verbose_) {
      instance_path_ += '/';
      instance_path_ += std::to_string(index);
    }
    auto ok = eval_child(c, instance, ann);
    --instance_level_;
    if (verbose_)
      instance_path_.resize(len);
    return ok;
  }

  /// Runs `f` with errors suppressed (for `not`, `if`, `contains`...).
  template <class F>
  bool quietly(F&& f) {
    auto before = errors_ ? errors_->size() : 0;
    auto saved = verbose_;
    verbose_ = false;
    auto ok = f();
    verbose_ = saved && !stopped_;
    if (errors_)
      errors_->resize(before);
    return ok;
  }

  bool eval(const node& n, element instance, annotations* ann) {
    if (!charge(n.cost))
      return false;
    if (n.is_bool) {
      if (!n.bool_value)
        fail("", "no value is allowed here (the schema is false)");
      return n.bool_value;
    }
    if (depth_ >= max_depth || out_of_stack()) {
      too_deep();
      return false;
    }
    ++depth_;
    bool pushed = false;
    if (schema_.uses_dynamic_scope
        && (scope_.empty() || scope_.back() != n.res)) {
      enter_scope(n.res);
      pushed = true;
    }
    annotations local;
    annotations* own = n.needs_annotations() ? &local : ann;
    auto ok = eval_keywords(n, instance, own);
    if (ok && n.needs_annotations()) {
      ok = eval_unevaluated(n, instance, local);
      if (ok && ann != nullptr)
        ann->merge(local);
    }
    if (pushed)
      leave_scope();
    --depth_;
    return ok;
  }

  // Inlined into `eval`, its only caller, as the compiler did before the
  // budget and cycle checks grew the evaluator: a call per evaluation is
  // measurable (benchmarks/validate_vs_ajv.sh).
  [[gnu::always_inline]] bool eval_keywords(const node& n, element instance,
                                            annotations* ann) {
    bool ok = true;
    auto t = instance.type();
    // -- type
    if (n.types != 0) {
      uint8_t bit = 0;
      switch (t) {
        case element_type::NULL_VALUE: bit = t_null; break;
        case element_type::BOOL: bit = t_boolean; break;
        case element_type::OBJECT: bit = t_object; break;
        case element_type::ARRAY: bit = t_array; break;
        case element_type::STRING: bit = t_string; break;
        case element_type::INT64:
        case element_type::UINT64: bit = t_number | t_integer; break;
        case element_type::DOUBLE: {
          auto d = double(instance);
          bit = std::trunc(d) == d ? (t_number | t_integer) : t_number;
          break;
        }
      }
      if ((n.types & bit) == 0) {
        fail("type", "expected " + types_text(n.types) + ", got "
                       + std::string{type_name(instance)});
        if (!verbose_)
          return false;
        ok = false;
      }
    }
    if (n.const_value && !equals(instance, *n.const_value)) {
      fail("const", "the value must be " + json_excerpt(*n.const_value));
      if (!verbose_)
        return false;
      ok = false;
    }
    if (n.enum_values) {
      bool found = false;
      for (auto& x : *n.enum_values)
        if (equals(instance, x)) {
          found = true;
          break;
        }
      if (!found) {
        std::string allowed;
        for (auto& x : *n.enum_values) {
          if (!allowed.empty())
            allowed += ", ";
          if (allowed.size() > 200) {
            allowed += "...";
            break;
          }
          allowed += json_excerpt(x);
        }
        fail("enum", "the value must be one of " + allowed);
        if (!verbose_)
          return false;
        ok = false;
      }
    }
    switch (t) {
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        ok = eval_number(n, instance) && ok;
        break;
      case element_type::STRING:
        ok = eval_string(n, std::string_view(instance)) && ok;
        break;
      case element_type::ARRAY:
        ok = eval_array(n, simdjson::dom::array(instance), ann) && ok;
        break;
      case element_type::OBJECT:
        ok = eval_object(n, instance, ann) && ok;
        break;
      default:
        break;
    }
    if (!ok && !verbose_)
      return false;
    return eval_in_place(n, instance, ann) && ok;
  }

  bool eval_number(const node& n, element instance) {
    bool ok = true;
    auto d = number_of(instance);
    // Messages are built only on failure: this runs for every number.
    auto failed = [&](std::string_view kw, std::string_view relation,
                      double limit) {
      fail(kw, number_text(d) + std::string{relation} + number_text(limit));
      ok = false;
      return !verbose_;
    };
    if (n.minimum && !(d >= *n.minimum)
        && failed("minimum", " is less than the minimum of ", *n.minimum))
      return false;
    if (n.maximum && !(d <= *n.maximum)
        && failed("maximum", " is greater than the maximum of ", *n.maximum))
      return false;
    if (n.exclusive_minimum && !(d > *n.exclusive_minimum)
        && failed("exclusiveMinimum", " must be greater than ",
                  *n.exclusive_minimum))
      return false;
    if (n.exclusive_maximum && !(d < *n.exclusive_maximum)
        && failed("exclusiveMaximum", " must be less than ",
                  *n.exclusive_maximum))
      return false;
    if (n.multiple_of) {
      auto m = *n.multiple_of;
      bool good;
      if (instance.type() == element_type::INT64 && std::trunc(m) == m
          && m < 9.2e18) {
        good = int64_t(instance) % static_cast<int64_t>(m) == 0;
      } else {
        auto q = d / m;
        good = std::isfinite(q)
               && std::fabs(q - std::round(q))
                    <= 1e-9 * std::max(1.0, std::fabs(q));
      }
      if (!good && failed("multipleOf", " is not a multiple of ", m))
        return false;
    }
    return ok;
  }

  bool eval_string(const node& n, std::string_view s) {
    bool ok = true;
    if (n.min_length || n.max_length) {
      auto len = utf8_length(s);
      if (n.min_length && len < *n.min_length) {
        fail("minLength", "the text is " + std::to_string(len)
                            + " characters long, shorter than "
                            + std::to_string(*n.min_length));
        if (!verbose_)
          return false;
        ok = false;
      }
      if (n.max_length && len > *n.max_length) {
        fail("maxLength", "the text is " + std::to_string(len)
                            + " characters long, longer than "
                            + std::to_string(*n.max_length));
        if (!verbose_)
          return false;
        ok = false;
      }
    }
    if (n.pattern && !n.pattern->search(s)) {
      fail("pattern", "the text does not match the pattern "
                        + n.pattern->source());
      if (!verbose_)
        return false;
      ok = false;
    }
    if (n.format != string_format::unknown && !check_format(n.format, s)) {
      fail("format", "the text is not a valid " + n.format_name);
      ok = false;
    }
    return ok;
  }

  bool eval_array(const node& n, simdjson::dom::array arr, annotations* ann) {
    bool ok = true;
    auto size = arr.size();
    auto bail = [&] { ok = false; return !verbose_; };
    if (n.min_items && size < *n.min_items) {
      fail("minItems", "the array has " + std::to_string(size)
                         + " items, fewer than "
                         + std::to_string(*n.min_items));
      if (bail())
        return false;
    }
    if (n.max_items && size > *n.max_items) {
      fail("maxItems", "the array has " + std::to_string(size)
                         + " items, more than "
                         + std::to_string(*n.max_items));
      if (bail())
        return false;
    }
    if (n.unique_items && size > 1 && !unique(arr)) {
      fail("uniqueItems", "the array holds duplicate items");
      if (bail())
        return false;
    }
    if (!charge(size))
      return false;
    size_t index = 0;
    size_t prefix = n.prefix_items.size();
    bool track = ann != nullptr;
    std::vector<size_t> matched;
    size_t contains_count = 0;
    for (auto item : arr) {
      if (index < prefix) {
        if (!eval_at(n.prefix_items[index], item, index, nullptr) && bail())
          return false;
      } else if (n.items) {
        if (!eval_at(*n.items, item, index, nullptr) && bail())
          return false;
      }
      if (n.contains) {
        ++instance_level_;
        bool hit = quietly([&] {
          return eval_child(*n.contains, item, nullptr);
        });
        --instance_level_;
        if (hit) {
          ++contains_count;
          if (track)
            matched.push_back(index);
        }
      }
      ++index;
    }
    if (n.contains) {
      auto min = n.min_contains.value_or(1);
      if (contains_count < min) {
        fail("contains",
             min == 1 ? "no item matches the contains schema"
                      : std::to_string(contains_count)
                          + " items match the contains schema, fewer than "
                          + std::to_string(min));
        if (bail())
          return false;
      }
      if (n.max_contains && contains_count > *n.max_contains) {
        fail("maxContains", std::to_string(contains_count)
                              + " items match the contains schema, more than "
                              + std::to_string(*n.max_contains));
        if (bail())
          return false;
      }
    }
    if (track && ok) {
      ann->item_prefix = std::max(ann->item_prefix, std::min(prefix, size));
      if (n.items)
        ann->all_items = true;
      ann->item_indices.insert(ann->item_indices.end(), matched.begin(),
                               matched.end());
    }
    return ok;
  }

  bool unique(simdjson::dom::array arr) {
    std::vector<element> items(arr.begin(), arr.end());
    if (items.size() <= 16) {
      for (size_t i = 0; i < items.size(); ++i)
        for (size_t j = i + 1; j < items.size(); ++j)
          if (equals(items[i], items[j]))
            return false;
      return true;
    }
    std::vector<std::pair<size_t, size_t>> hashes;
    hashes.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i)
      hashes.emplace_back(hash_of(items[i]), i);
    std::sort(hashes.begin(), hashes.end());
    for (size_t i = 0; i < hashes.size(); ++i)
      for (size_t j = i + 1;
           j < hashes.size() && hashes[j].first == hashes[i].first; ++j)
        if (equals(items[hashes[i].second], items[hashes[j].second]))
          return false;
    return true;
  }

  bool eval_object(const node& n, element instance, annotations* ann) {
    auto obj = simdjson::dom::object(instance);
    bool ok = true;
    auto bail = [&] { ok = false; return !verbose_; };
    auto size = obj.size();
    if (n.min_properties && size < *n.min_properties) {
      fail("minProperties", "the object has " + std::to_string(size)
                              + " properties, fewer than "
                              + std::to_string(*n.min_properties));
      if (bail())
        return false;
    }
    if (n.max_properties && size > *n.max_properties) {
      fail("maxProperties", "the object has " + std::to_string(size)
                              + " properties, more than "
                              + std::to_string(*n.max_properties));
      if (bail())
        return false;
    }
    for (auto& name : n.required_by_lookup) {
      element ignored;
      if (obj.at_key(name).get(ignored) != simdjson::SUCCESS) {
        fail("required", "the required property '" + name + "' is missing",
             name);
        if (bail())
          return false;
      }
    }
    for (auto& [name, deps] : n.dependent_required) {
      element ignored;
      if (obj.at_key(name).get(ignored) != simdjson::SUCCESS)
        continue;
      for (auto& dep : deps)
        if (obj.at_key(dep).get(ignored) != simdjson::SUCCESS) {
          fail("dependentRequired", "the property '" + dep
                                      + "' is required when '" + name
                                      + "' is present", dep);
          if (bail())
            return false;
        }
    }
    bool track = ann != nullptr;
    bool per_field = !n.properties.empty() || !n.pattern_properties.empty()
                     || n.additional_properties || n.property_names;
    std::vector<std::string_view> seen;
    uint64_t found_required = 0;
    if (per_field && !charge(saturating_budget(0, size, 1 + n.pattern_properties.size())))
      return false;
    if (per_field) {
      for (auto field : obj) {
        bool matched = false;
        if (!n.properties.empty()) {
          const child* c = nullptr;
          size_t slot = 0;
          if (n.properties.size() <= 8) {
            for (; slot < n.properties.size(); ++slot)
              if (n.properties[slot].name == field.key) {
                c = &n.properties[slot].sub;
                break;
              }
          } else if (auto i = n.property_index.find(field.key);
                     i != n.property_index.end()) {
            slot = i->second;
            c = &n.properties[slot].sub;
          }
          if (c != nullptr) {
            if (auto r = n.property_required_slot[slot]; r >= 0)
              found_required |= uint64_t{1} << r;
            matched = true;
            if (!eval_at(*c, field.value, field.key, nullptr) && bail())
              return false;
          }
        }
        for (auto& p : n.pattern_properties)
          if (p.pattern.search(field.key)) {
            matched = true;
            if (!eval_at(p.sub, field.value, field.key, nullptr) && bail())
              return false;
          }
        if (!matched && n.additional_properties) {
          auto& target = *n.additional_properties->target;
          if (target.is_bool && !target.bool_value) {
            auto len = instance_path_.size();
            if (verbose_)
              instance_path_ += "/" + json::escape_pointer_token(field.key);
            fail("additionalProperties",
                 "the property '" + std::string{field.key}
                   + "' is not allowed");
            instance_path_.resize(len);
            if (bail())
              return false;
          } else if (!eval_at(*n.additional_properties, field.value, field.key,
                              nullptr)
                     && bail()) {
            return false;
          }
        }
        if (n.property_names && !eval_name(*n.property_names, field.key)
            && bail())
          return false;
        if (track && matched)
          seen.push_back(field.key);
      }
    }
    if (found_required != n.required_mask) {
      for (size_t i = 0; i < n.required.size() && i < 64; ++i) {
        auto bit = uint64_t{1} << i;
        if ((n.required_mask & bit) != 0 && (found_required & bit) == 0) {
          fail("required", "the required property '" + n.required[i]
                             + "' is missing", n.required[i]);
          if (bail())
            return false;
        }
      }
    }
    for (auto& [name, c] : n.dependent_schemas) {
      element ignored;
      if (obj.at_key(name).get(ignored) != simdjson::SUCCESS)
        continue;
      annotations sub;
      if (!eval_child(c, instance, track ? &sub : nullptr)) {
        if (bail())
          return false;
      } else if (track) {
        ann->merge(sub);
      }
    }
    if (track && ok) {
      if (n.additional_properties)
        ann->all_properties = true;
      else
        ann->properties.insert(ann->properties.end(), seen.begin(), seen.end());
    }
    return ok;
  }

  /// Validates an object key against `propertyNames`: the key becomes a
  /// string instance of its own.
  bool eval_name(const child& c, std::string_view key) {
    ++instance_level_;
    std::string text;
    json::append_quoted(text, key);
    auto& parser = name_parsers_.emplace_back();
    element name;
    auto err = parser.parse(text).get(name);
    bool ok = false;
    if (err == simdjson::SUCCESS) {
      auto len = schema_path_.size();
      if (verbose_)
        schema_path_ += c.path;
      ok = eval(*c.target, name, nullptr);
      schema_path_.resize(len);
      if (!ok)
        fail("propertyNames", "the property name '" + std::string{key}
                                + "' is not allowed");
    }
    name_parsers_.pop_back();
    --instance_level_;
    return ok;
  }

  bool eval_in_place(const node& n, element instance, annotations* ann) {
    bool ok = true;
    bool track = ann != nullptr;
    auto bail = [&] { ok = false; return !verbose_; };
    if (n.ref) {
      if (!follow(n, *n.ref, instance, ann) && bail())
        return false;
    }
    if (n.dynamic_ref) {
      const child* target = &*n.dynamic_ref;
      child dynamic;
      if (!n.dynamic_name.empty()) {
        for (auto* r : scope_) {
          auto i = r->dynamic_anchors.find(n.dynamic_name);
          if (i != r->dynamic_anchors.end()) {
            dynamic = child{n.dynamic_ref->path, i->second, true};
            target = &dynamic;
            break;
          }
        }
      }
      if (!follow(n, *target, instance, ann) && bail())
        return false;
    }
    for (auto& c : n.all_of) {
      if (!eval_child(c, instance, ann) && bail())
        return false;
    }
    if (!n.any_of.empty()) {
      auto before = errors_ ? errors_->size() : 0;
      bool any = false;
      for (auto& c : n.any_of) {
        annotations sub;
        if (eval_child(c, instance, track ? &sub : nullptr)) {
          any = true;
          if (!track)
            break;
          ann->merge(sub);
        }
      }
      if (any) {
        if (errors_)
          errors_->resize(before);
      } else {
        fail("anyOf", "the value matches none of the anyOf schemas");
        if (bail())
          return false;
      }
    }
    if (!n.one_of.empty()) {
      auto before = errors_ ? errors_->size() : 0;
      std::vector<size_t> matches;
      annotations first;
      for (size_t i = 0; i < n.one_of.size(); ++i) {
        annotations sub;
        bool hit = matches.empty()
                     ? eval_child(n.one_of[i], instance, track ? &sub : nullptr)
                     : quietly([&] {
                         return eval_child(n.one_of[i], instance, nullptr);
                       });
        if (hit) {
          if (matches.empty() && track)
            first = std::move(sub);
          matches.push_back(i);
          if (matches.size() > 1 && !verbose_)
            break;
        }
      }
      if (matches.size() == 1) {
        if (errors_)
          errors_->resize(before);
        if (track)
          ann->merge(first);
      } else {
        if (matches.size() > 1) {
          if (errors_)
            errors_->resize(before);
          fail("oneOf", "the value matches " + std::to_string(matches.size())
                          + " of the oneOf schemas, exactly one is allowed");
        } else {
          fail("oneOf", "the value matches none of the oneOf schemas");
        }
        if (bail())
          return false;
      }
    }
    if (n.not_schema) {
      bool hit = quietly([&] {
        return eval_child(*n.not_schema, instance, nullptr);
      });
      if (hit) {
        fail("not", "the value must not match the not schema");
        if (bail())
          return false;
      }
    }
    if (n.if_schema) {
      annotations cond;
      bool hit = quietly([&] {
        return eval_child(*n.if_schema, instance, track ? &cond : nullptr);
      });
      if (hit && track)
        ann->merge(cond);
      const auto& branch = hit ? n.then_schema : n.else_schema;
      if (branch) {
        annotations sub;
        if (!eval_child(*branch, instance, track ? &sub : nullptr)) {
          if (bail())
            return false;
        } else if (track) {
          ann->merge(sub);
        }
      }
    }
    return ok;
  }

  bool eval_unevaluated(const node& n, element instance, annotations& ann) {
    bool ok = true;
    if (n.unevaluated_properties
        && instance.type() == element_type::OBJECT) {
      if (!charge(simdjson::dom::object(instance).size()))
        return false;
      for (auto field : simdjson::dom::object(instance)) {
        if (ann.has_property(field.key))
          continue;
        auto& target = *n.unevaluated_properties->target;
        if (target.is_bool && !target.bool_value) {
          auto len = instance_path_.size();
          if (verbose_)
            instance_path_ += "/" + json::escape_pointer_token(field.key);
          fail("unevaluatedProperties",
               "the property '" + std::string{field.key}
                 + "' is not allowed");
          instance_path_.resize(len);
          ok = false;
        } else if (!eval_at(*n.unevaluated_properties, field.value, field.key,
                            nullptr)) {
          ok = false;
        }
        if (!ok && !verbose_)
          return false;
      }
      if (ok)
        ann.all_properties = true;
    }
    if (n.unevaluated_items && instance.type() == element_type::ARRAY) {
      if (!charge(simdjson::dom::array(instance).size()))
        return false;
      size_t index = 0;
      for (auto item : simdjson::dom::array(instance)) {
        if (!ann.has_item(index)
            && !eval_at(*n.unevaluated_items, item, index, nullptr)) {
          ok = false;
          if (!verbose_)
            return false;
        }
        ++index;
      }
      if (ok)
        ann.all_items = true;
    }
    return ok;
  }

  const compiled_schema::impl& schema_;
  bool verbose_;
  std::vector<schema_error>* errors_;
  std::string schema_path_;
  std::string instance_path_;
  std::vector<const resource*> scope_;
  /// How many times each resource (by index) is in `scope_`, and how many
  /// are there at all: along one evaluation path the scope only grows, so
  /// an equal count means the same set of resources.
  std::vector<uint32_t> in_scope_;
  size_t scope_resources_ = 0;
  std::deque<simdjson::dom::parser> name_parsers_;
  size_t depth_ = 0;
  /// Levels below the root of the instance value being evaluated.
  size_t instance_level_ = 0;
  /// The references being followed, outermost first.
  std::vector<followed_ref> followed_;
  uint64_t budget_;
  uint64_t limit_;
  bool stopped_ = false;
  schema_error stop_reason_;
  const char* stack_base_ = nullptr;
};

/// Validates `root`, whose JSON text is `text_size` bytes long.
validation_result run(const compiled_schema::impl& schema, element root,
                      output mode, size_t text_size) {
  validation_result result;
  auto budget = saturating_budget(schema.max_evaluations,
                                  schema.evaluations_per_byte, text_size);
  auto verbose = mode == output::basic;
  evaluator e{schema, verbose, verbose ? &result.errors : nullptr, budget};
  result.valid = e.run(root);
  if (e.stopped()) {
    result.valid = false;
    result.too_complex = true;
    result.errors.assign(1, std::move(e.stop_reason()));
  }
  return result;
}

compile_result finish_compile(std::unique_ptr<compiled_schema::impl> impl,
                              compiler& c, const node* root) {
  if (!c.errors.empty() || root == nullptr) {
    if (c.errors.empty())
      c.errors.push_back({"", "", "the schema does not resolve"});
    return {nullptr, std::move(c.errors)};
  }
  impl->root = root;
  return {std::make_shared<const compiled_schema>(std::move(impl)), {}};
}

} // namespace

// -- public API -----------------------------------------------------------------

compiled_schema::compiled_schema(std::unique_ptr<impl> p)
  : impl_(std::move(p)) {
}

compiled_schema::~compiled_schema() = default;

validation_result compiled_schema::validate_text(std::string_view text,
                                                 output mode) const {
  thread_local simdjson::dom::parser parser;
  element root;
  auto err = parser.parse(text.data(), text.size()).get(root);
  std::optional<std::string> widened;
  if (err == simdjson::NUMBER_ERROR) {
    widened = json::widen_big_integers(text);
    if (widened)
      err = parser.parse(*widened).get(root);
  }
  if (err != simdjson::SUCCESS) {
    validation_result result;
    auto parsed = json::parse(widened ? std::string_view{*widened} : text);
    result.parse_error = parsed ? std::string{"invalid JSON"}
                                : parsed.error.message;
    return result;
  }
  return run(*impl_, root, mode, widened ? widened->size() : text.size());
}

validation_result compiled_schema::validate(const json::value& doc,
                                            output mode) const {
  return validate_text(json::serialize(doc), mode);
}

compile_result compile_schema(const json::value& schema,
                              const schema_registry& registry,
                              const schema_options& options) {
  auto impl = std::make_unique<compiled_schema::impl>();
  impl->format_assertion = options.format_assertion;
  impl->max_evaluations = options.max_evaluations;
  impl->evaluations_per_byte = options.evaluations_per_byte;
  impl->max_errors = options.max_errors;
  compiler c{*impl, registry, options};
  auto doc = std::make_shared<const json::value>(schema);
  auto* root = c.compile_root(doc, options.base_uri);
  return finish_compile(std::move(impl), c, root);
}

namespace {

/// Whether `path` lies strictly inside `folder` (both absolute and
/// normalised), comparing whole path components: `/x/ab/y.json` is not
/// inside `/x/a`.
bool inside_folder(const std::filesystem::path& folder,
                   const std::filesystem::path& path) {
  auto rel = path.lexically_relative(folder);
  return !rel.empty() && rel.is_relative() && *rel.begin() != ".."
         && rel != ".";
}

} // namespace

schema_registry::loader folder_file_loader(std::filesystem::path folder) {
  namespace fs = std::filesystem;
  std::error_code err;
  folder = fs::absolute(folder, err).lexically_normal();
  return [folder](std::string_view uri) -> std::optional<json::value> {
    constexpr std::string_view scheme = "file://";
    if (uri.substr(0, scheme.size()) != scheme)
      return std::nullopt;
    auto path = fs::path{std::string{uri.substr(scheme.size())}}
                  .lexically_normal();
    if (!path.is_absolute() || !inside_folder(folder, path))
      return std::nullopt;
    // The same question of the real paths: a symlink inside the folder
    // must not lead outside it.
    std::error_code err;
    auto real_folder = fs::canonical(folder, err);
    if (err)
      return std::nullopt;
    auto real_path = fs::canonical(path, err);
    if (err || !inside_folder(real_folder, real_path))
      return std::nullopt;
    auto doc = json::parse_file(real_path.string());
    if (!doc)
      return std::nullopt;
    return std::move(*doc.doc);
  };
}

compile_result compile_schema_at(std::string_view uri,
                                 const schema_registry& registry,
                                 const schema_options& options) {
  auto impl = std::make_unique<compiled_schema::impl>();
  impl->format_assertion = options.format_assertion;
  impl->max_evaluations = options.max_evaluations;
  impl->evaluations_per_byte = options.evaluations_per_byte;
  impl->max_errors = options.max_errors;
  compiler c{*impl, registry, options};
  auto* root = c.compile_uri(uri);
  if (root == nullptr && c.errors.empty())
    c.errors.push_back({"", std::string{uri}, "no schema is registered at "
                                                + std::string{uri}});
  return finish_compile(std::move(impl), c, root);
}

} // namespace omniva::contracts
