#include "contracts/schema_example.hpp"

#include "contracts/json_schema.hpp"
#include "contracts/packet.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace omniva::contracts {

namespace {

/// Builds instances of schemas (see `example_instance`).
class instance_maker {
public:
  explicit instance_maker(std::string seed) : seed_(std::move(seed)) {
  }

  json::value make(const json::value& schema, const json::value& root,
                   size_t salt, int depth) {
    if (depth > 48)
      return nullptr;
    if (schema.is_bool())
      return json::value{json::object{}};
    if (!schema.is_object())
      return nullptr;
    if (auto* c = schema.find("const"))
      return *c;
    if (auto* e = schema.find("enum"); e && e->is_array() && !e->as_array().empty())
      return e->as_array()[salt % e->as_array().size()];
    if (auto* ref = schema.find("$ref"); ref && ref->is_string()) {
      const json::value* target_root = &root;
      if (auto* target = resolve_ref(ref->as_string(), target_root))
        return make(*target, *target_root, salt, depth + 1);
      return nullptr;
    }
    // allOf, the first alternative of anyOf/oneOf, and `then` (as if `if`
    // held: harmless when it does not), merged into one.
    if (schema.find("allOf") || schema.find("anyOf") || schema.find("oneOf")
        || schema.find("then")) {
      json::value merged = schema;
      for (auto* k : {"allOf", "anyOf", "oneOf", "if", "then", "else"})
        merged.erase(k);
      if (auto* then = schema.find("then"))
        merge(merged, *then);
      auto merge_from = [&](const json::value* list, bool all) {
        if (!list || !list->is_array())
          return;
        for (auto& sub : list->as_array()) {
          const json::value* s = &sub;
          const json::value* sub_root = &root;
          if (auto* ref = sub.find("$ref"); ref && ref->is_string())
            if (auto* t = resolve_ref(ref->as_string(), sub_root))
              s = t;
          merge(merged, *s);
          if (!all)
            break;
        }
      };
      merge_from(schema.find("allOf"), true);
      merge_from(schema.find("anyOf"), false);
      merge_from(schema.find("oneOf"), false);
      return make(merged, root, salt, depth + 1);
    }
    auto type = pick_type(schema);
    if (type == "object")
      return make_object(schema, root, depth);
    if (type == "array")
      return make_array(schema, root, depth);
    if (type == "string")
      return make_string(schema, salt);
    if (type == "integer")
      return make_number(schema, salt, true);
    if (type == "number")
      return make_number(schema, salt, false);
    if (type == "boolean")
      return json::value{salt % 2 == 1};
    if (type == "null")
      return nullptr;
    return json::value{json::object{}};
  }

private:
  /// Resolves "#/pointer" inside `root`, or a shipped schema by file name
  /// ("ClipCandidate.json#/..."); updates `root` to the target's document.
  const json::value* resolve_ref(const std::string& ref,
                                 const json::value*& root) {
    auto hash = ref.find('#');
    auto doc_part = ref.substr(0, hash);
    auto fragment = hash == std::string::npos ? std::string{}
                                              : ref.substr(hash + 1);
    if (!doc_part.empty()) {
      std::string_view name{doc_part};
      if (name.starts_with(shipped_schema_base))
        name.remove_prefix(shipped_schema_base.size());
      auto* doc = schema_catalog::shipped().document(name);
      if (!doc)
        return nullptr;
      root = doc;
    }
    if (fragment.empty())
      return root;
    if (fragment.front() != '/')
      return nullptr; // anchors are not supported
    return json::resolve_pointer(*root, fragment);
  }

  /// Adds the keywords of `from` to `into`: properties and required merged,
  /// any other keyword only when `into` lacks it.
  static void merge(json::value& into, const json::value& from) {
    if (!from.is_object())
      return;
    for (auto& [k, v] : from.as_object()) {
      auto* mine = into.find(k);
      if (!mine) {
        into.set(k, v);
      } else if (k == "properties" && mine->is_object() && v.is_object()) {
        for (auto& [pk, pv] : v.as_object())
          if (!mine->find(pk))
            mine->set(pk, pv);
      } else if (k == "required" && mine->is_array() && v.is_array()) {
        for (auto& name : v.as_array())
          if (std::find(mine->as_array().begin(), mine->as_array().end(), name)
              == mine->as_array().end())
            mine->push_back(name);
      }
    }
  }

  static std::string pick_type(const json::value& schema) {
    if (auto* t = schema.find("type")) {
      if (t->is_string())
        return t->as_string();
      if (t->is_array()) {
        std::string first;
        for (auto& x : t->as_array())
          if (x.is_string()) {
            if (x.as_string() != "null")
              return x.as_string();
            first = "null";
          }
        return first;
      }
    }
    auto has = [&](std::initializer_list<const char*> keys) {
      for (auto* k : keys)
        if (schema.find(k))
          return true;
      return false;
    };
    if (has({"properties", "required", "additionalProperties",
             "patternProperties", "minProperties"}))
      return "object";
    if (has({"items", "prefixItems", "minItems", "contains"}))
      return "array";
    if (has({"minLength", "maxLength", "pattern", "format"}))
      return "string";
    if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
             "multipleOf"}))
      return "number";
    return "object";
  }

  json::value make_object(const json::value& schema, const json::value& root,
                          int depth) {
    json::value out{json::object{}};
    auto* props = schema.find("properties");
    auto sub_for = [&](const std::string& name) -> json::value {
      if (props && props->is_object())
        if (auto* s = props->find(name))
          return *s;
      if (auto* add = schema.find("additionalProperties"); add && add->is_object())
        return *add;
      return json::value{true};
    };
    if (auto* req = schema.find("required"); req && req->is_array())
      for (auto& name : req->as_array())
        if (name.is_string() && !out.find(name.as_string()))
          out.set(name.as_string(),
                  make(sub_for(name.as_string()), root, 0, depth + 1));
    int64_t min_props = 0;
    if (auto* m = schema.find("minProperties"))
      min_props = m->as_int64().value_or(0);
    if (props && props->is_object())
      for (auto& [name, sub] : props->as_object()) {
        if (static_cast<int64_t>(out.as_object().size()) >= min_props)
          break;
        if (!out.find(name))
          out.set(name, make(sub, root, 0, depth + 1));
      }
    return out;
  }

  json::value make_array(const json::value& schema, const json::value& root,
                         int depth) {
    json::value out{json::array{}};
    size_t n = 0;
    if (auto* m = schema.find("minItems"))
      n = static_cast<size_t>(std::max<int64_t>(0, m->as_int64().value_or(0)));
    auto* contains = schema.find("contains");
    if (contains && n == 0)
      n = 1;
    auto* prefix = schema.find("prefixItems");
    auto* items = schema.find("items");
    for (size_t i = 0; i < n; ++i) {
      const json::value* sub = nullptr;
      if (i == 0 && contains)
        sub = contains;
      else if (prefix && prefix->is_array() && i < prefix->as_array().size())
        sub = &prefix->as_array()[i];
      else if (items)
        sub = items;
      out.push_back(sub ? make(*sub, root, i, depth + 1) : json::value{int64_t(i)});
    }
    return out;
  }

  /// Candidates are tried against the string's own constraints (type,
  /// length, pattern, format), compiled once per distinct set.
  json::value make_string(const json::value& schema, size_t salt) {
    json::value check{json::object{}};
    check.set("type", "string");
    for (auto* k : {"minLength", "maxLength", "pattern", "format"})
      if (auto* v = schema.find(k))
        check.set(k, *v);
    std::string format;
    if (auto* f = schema.find("format"); f && f->is_string())
      format = f->as_string();

    auto hex = to_hex(sha256(seed_ + "#" + std::to_string(salt)));
    std::vector<std::string> candidates;
    auto uuid = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-4"
                + hex.substr(13, 3) + "-8" + hex.substr(17, 3) + "-"
                + hex.substr(20, 12);
    static const std::unordered_map<std::string, std::string> by_format{
      {"date-time", "2026-01-01T00:00:00.000Z"},
      {"date", "2026-01-01"},
      {"time", "00:00:00Z"},
      {"email", "mock@example.com"},
      {"uri", "https://example.com/mock"},
      {"uri-reference", "https://example.com/mock"},
      {"hostname", "example.com"},
      {"ipv4", "192.0.2.1"},
      {"ipv6", "2001:db8::1"},
      {"duration", "PT1S"},
      {"json-pointer", "/mock"},
    };
    if (format == "uuid")
      candidates.push_back(uuid);
    else if (auto i = by_format.find(format); i != by_format.end())
      candidates.push_back(i->second);
    auto suffix = salt > 0 ? "-" + std::to_string(salt) : std::string{};
    if (!seed_.empty())
      candidates.push_back("mock-" + hex.substr(0, 12) + suffix);
    // Common shapes: words, identifiers, versions, dotted topics, refs.
    for (std::string c : {"example", "mock_value", "a", "A", "x", "0", "1.0.0",
                          "example.value", "mock-value", "mock@1", "A1"})
      candidates.push_back(c + (salt > 0 ? std::to_string(salt) : ""));
    candidates.push_back(hex);
    candidates.push_back(uuid);
    int64_t min_len = 0;
    std::optional<int64_t> max_len;
    if (auto* v = schema.find("minLength"))
      min_len = v->as_int64().value_or(0);
    if (auto* v = schema.find("maxLength"))
      max_len = v->as_int64();
    std::vector<std::string> sized;
    for (auto& c : candidates) {
      sized.push_back(c);
      auto fitted = c;
      while (static_cast<int64_t>(fitted.size()) < min_len)
        fitted += 'x';
      if (max_len && static_cast<int64_t>(fitted.size()) > *max_len)
        fitted.resize(static_cast<size_t>(std::max<int64_t>(0, *max_len)));
      if (fitted != c)
        sized.push_back(std::move(fitted));
    }
    auto compiled = compile_check(check);
    if (!compiled)
      return json::value{sized.front()};
    for (auto& c : sized)
      if (compiled->validate(json::value{c}, output::flag).valid)
        return json::value{c};
    return json::value{sized.front()};
  }

  std::shared_ptr<const compiled_schema>
  compile_check(const json::value& check) {
    auto key = json::serialize(check, json::style::canonical);
    if (auto i = checks_.find(key); i != checks_.end())
      return i->second;
    schema_registry registry;
    auto compiled = compile_schema(check, registry);
    checks_.emplace(key, compiled.schema);
    return compiled.schema;
  }

  static json::value make_number(const json::value& schema, size_t salt,
                                 bool integral) {
    auto num = [&](const char* k) -> std::optional<double> {
      if (auto* v = schema.find(k); v && v->is_number())
        return v->as_double();
      return std::nullopt;
    };
    auto min = num("minimum");
    auto max = num("maximum");
    auto xmin = num("exclusiveMinimum");
    auto xmax = num("exclusiveMaximum");
    auto step = num("multipleOf");
    std::optional<double> lo, hi;
    if (integral) {
      if (min)
        lo = std::ceil(*min);
      if (xmin)
        lo = std::max(lo.value_or(-1e300), std::floor(*xmin) + 1);
      if (max)
        hi = std::floor(*max);
      if (xmax)
        hi = std::min(hi.value_or(1e300), std::ceil(*xmax) - 1);
    } else {
      lo = min;
      hi = max;
      if (xmin) {
        double above = xmin.value();
        double gap = hi ? std::min(1.0, (*hi - above) / 2) : 1.0;
        if (xmax)
          gap = std::min(gap, (*xmax - above) / 2);
        lo = std::max(lo.value_or(-1e300), above + gap);
      }
      if (xmax) {
        double below = *xmax;
        double gap = lo ? std::min(1.0, (below - *lo) / 2) : 1.0;
        hi = std::min(hi.value_or(1e300), below - gap);
      }
    }
    double v = lo ? *lo : (hi ? std::min(0.0, *hi) : 0.0);
    if (hi && v + static_cast<double>(salt) <= *hi)
      v += static_cast<double>(salt);
    else if (!hi)
      v += static_cast<double>(salt);
    if (step && *step > 0) {
      double k = std::ceil(v / *step);
      v = k * *step;
      if (hi && v > *hi)
        v = (k - 1) * *step;
    }
    if ((integral || v == std::floor(v)) && std::abs(v) < 9e15)
      return json::value{static_cast<int64_t>(v)};
    return json::value{v};
  }

  std::string seed_;
  std::unordered_map<std::string, std::shared_ptr<const compiled_schema>>
    checks_;
};

} // namespace

json::value example_instance(const json::value& schema, std::string_view seed) {
  instance_maker maker{std::string{seed}};
  return maker.make(schema, schema, 0, 0);
}

} // namespace omniva::contracts
