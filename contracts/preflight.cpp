#include "contracts/preflight.hpp"

#include "contracts/json_schema.hpp"
#include "contracts/media_type.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <utility>

namespace omniva::contracts {

namespace {

std::string list_text(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out;
}

/// How a VALUE asset of dtype `given` fits a VALUE input of dtype `wanted`.
enum class fit {
  /// The dtypes agree (or the value itself decides).
  ok,
  /// A different kind of thing: text for a URL, a URL for text.
  wrong_kind,
  /// Another type.
  wrong_dtype,
};

fit dtype_fit(value_dtype wanted, std::string_view given_name) {
  if (given_name.empty())
    return fit::ok; // nothing declared: the value decides
  auto given = value_dtype_from_string(given_name);
  if (!given)
    return fit::wrong_dtype;
  if (*given == wanted || wanted == value_dtype::json)
    return fit::ok;
  switch (wanted) {
    case value_dtype::string:
      return *given == value_dtype::text || *given == value_dtype::url
                 || *given == value_dtype::enumeration
               ? fit::ok
               : fit::wrong_dtype;
    case value_dtype::text:
      if (*given == value_dtype::url)
        return fit::wrong_kind;
      return *given == value_dtype::string ? fit::ok : fit::wrong_dtype;
    case value_dtype::url:
      if (*given == value_dtype::text)
        return fit::wrong_kind;
      return *given == value_dtype::string ? fit::ok : fit::wrong_dtype;
    case value_dtype::floating:
      return *given == value_dtype::integer ? fit::ok : fit::wrong_dtype;
    case value_dtype::enumeration:
      return *given == value_dtype::string || *given == value_dtype::text
               ? fit::ok
               : fit::wrong_dtype;
    default:
      return fit::wrong_dtype;
  }
}

/// One pre-flight run.
class preflight_run {
public:
  preflight_run(const module_contract& contract, const task_request& request,
                const asset_view& assets, const preflight_options& options)
    : contract_(contract),
      request_(request),
      assets_(assets),
      options_(options) {
  }

  preflight_result run() {
    // What was wrong with the request as it was read comes first; the
    // findings below skip what those already say (see `report`).
    problems_ = request_.problems;
    resolved_task task;
    task.request = request_;
    if (task.request.module_ref.empty())
      task.request.module_ref = contract_.ref();
    else if (task.request.module_ref != contract_.ref())
      report(ec::invalid_ref, "/module_ref",
             "the request names the module '" + request_.module_ref
               + "' but the contract is '" + contract_.ref() + "'");
    problem why;
    if (!supported_schema_version(request_.schema_version, &why))
      report(why.code, "/schema_version", std::move(why.message));
    for (auto& [key, id] : request_.input_mapping)
      if (!contract_.find_input(key))
        report(ec::unknown_input, mapping_at(key),
               "the module " + contract_.ref() + " has no input '" + key
                 + "'");
    for (auto& [key, text] : request_.values) {
      if (!contract_.find_input(key))
        report(ec::unknown_input, values_at(key),
               "the module " + contract_.ref() + " has no input '" + key
                 + "'");
      else if (request_.input_mapping.contains(key))
        report(ec::duplicate_key, values_at(key),
               "the input '" + key
                 + "' is given both in input_mapping and in values");
    }
    for (auto& input : contract_.inputs) {
      if (input.contract_type == input_kind::asset)
        asset_input(input, task);
      else
        value_input(input, task);
    }
    std::sort(task.defaults_applied.begin(), task.defaults_applied.end());
    preflight_result result;
    if (problems_.empty())
      result.task = std::move(task);
    else
      result.problems = std::move(problems_);
    return result;
  }

private:
  static std::string mapping_at(std::string_view key) {
    return json::append_pointer("/input_mapping", key);
  }

  static std::string values_at(std::string_view key) {
    return json::append_pointer("/values", key);
  }

  /// Records a finding, unless a problem found while reading the request
  /// says it already: the same code at the same pointer, or any finding
  /// about the value at or below a pointer whose member could not be read
  /// (an `input_mapping` entry with a bad asset id is not looked up, a
  /// `values` that is not an object has no missing inputs). What is said
  /// of a key itself (`unknown_input`, `duplicate_key`) is always kept:
  /// "wrong=abc" is both a bad asset id and an input the module lacks.
  void report(ec code, std::string pointer, std::string message) {
    if (said_already(code, pointer))
      return;
    problems_.push_back({code, std::move(pointer), std::move(message)});
  }

  void report_all(std::vector<problem> xs) {
    for (auto& x : xs)
      report(x.code, std::move(x.pointer), std::move(x.message));
  }

  bool said_already(ec code, std::string_view pointer) const {
    for (auto& read : request_.problems) {
      if (read.code == code && read.pointer == pointer)
        return true;
      if (code == ec::unknown_input || code == ec::duplicate_key)
        continue;
      auto& at = read.pointer;
      if (pointer.starts_with(at)
          && (pointer.size() == at.size() || pointer[at.size()] == '/'))
        return true;
    }
    return false;
  }

  /// Looks up the asset mapped to `key`; reports and returns nullptr when it
  /// is unknown or FAILED. Records PENDING assets in `task`.
  const asset_record* mapped_asset(const input_spec& input,
                                   const std::string& id,
                                   resolved_task& task) {
    auto at = mapping_at(input.key);
    const asset_record* asset = assets_.find ? assets_.find(id) : nullptr;
    if (!asset) {
      report(ec::asset_not_found, at,
             "no asset '" + id + "' exists (input '" + input.key + "')");
      return nullptr;
    }
    if (asset->status == asset_status::failed) {
      report(ec::asset_failed, at,
             "the asset '" + id
               + "' is FAILED and will never be available (input '"
               + input.key + "')");
      return nullptr;
    }
    if (asset->status == asset_status::purged) {
      report(ec::asset_purged, at,
             "the asset '" + id
               + "' is PURGED: the retention policy removed its content "
                 "(input '"
               + input.key + "')");
      return nullptr;
    }
    if (asset->status == asset_status::pending
        && std::find(task.pending_assets.begin(), task.pending_assets.end(), id)
             == task.pending_assets.end())
      task.pending_assets.push_back(id);
    return asset;
  }

  void asset_input(const input_spec& input, resolved_task& task) {
    auto at = mapping_at(input.key);
    if (request_.values.contains(input.key)
        && !request_.input_mapping.contains(input.key))
      report(ec::kind_mismatch, values_at(input.key),
             "the input '" + input.key
               + "' is an ASSET: map it to a FILE asset in input_mapping "
                 "instead of giving a value");
    auto i = request_.input_mapping.find(input.key);
    if (i == request_.input_mapping.end()) {
      if (input.required && !request_.values.contains(input.key))
        report(ec::missing_input, at,
               "the required input '" + input.key + "' ("
                 + (input.label.empty() ? "ASSET" : input.label)
                 + ") is not mapped to an asset");
      return;
    }
    auto* asset = mapped_asset(input, i->second, task);
    if (!asset)
      return;
    if (asset->kind != asset_kind::file) {
      report(ec::kind_mismatch, at,
             "the input '" + input.key
               + "' takes a FILE asset, but the asset '" + asset->asset_id
               + "' is a VALUE");
      return;
    }
    // What the asset is, or for a PENDING asset what it was promised as.
    std::string media_type = asset->media_type;
    std::string promised_schema;
    bool pending = asset->status == asset_status::pending;
    if (pending && assets_.promise)
      if (auto promised = assets_.promise(asset->asset_id)) {
        media_type = promised->media_type;
        promised_schema = promised->schema_ref;
      }
    std::string what = pending ? "the PENDING asset '" + asset->asset_id
                                   + "' is promised as "
                               : "the asset '" + asset->asset_id + "' is ";
    if (!media_type_accepted(input.media_types, media_type)) {
      report(ec::media_type_mismatch, at,
             "the input '" + input.key + "' accepts "
               + list_text(input.media_types) + ", but " + what
               + (media_type.empty() ? std::string{"no media type"}
                                     : media_type));
      return;
    }
    if (input.schema_ref.empty() && input.schema_json.empty())
      return;
    if (pending) {
      if (!promised_schema.empty() && !input.schema_ref.empty()
          && promised_schema != input.schema_ref)
        report(ec::schema_violation, at,
               "the input '" + input.key + "' requires the schema '"
                 + input.schema_ref + "', but " + what + "satisfying '"
                 + promised_schema + "'");
      return;
    }
    // An AVAILABLE JSON asset whose content is at hand is checked now.
    if (!is_json_media_type(media_type) || asset->value_json.empty())
      return;
    auto doc = json::parse(asset->value_json);
    if (!doc) {
      report(ec::schema_violation, at,
             "the JSON asset '" + asset->asset_id
               + "' is not JSON: " + doc.error.message);
      return;
    }
    bool unresolved = false;
    auto schema = resolve_spec_schema(input.schema_ref, input.schema_json,
                                      options_.resolve_schema, &unresolved);
    if (unresolved) {
      report(ec::invalid_ref, at,
             "the schema '" + input.schema_ref + "' that the input '"
               + input.key + "' requires is not registered");
      return;
    }
    if (!schema)
      return;
    auto verdict = schema->validate(*doc.doc);
    auto errors = schema_problems(verdict.errors, ec::schema_violation, at);
    if (!verdict.valid && errors.empty())
      errors.push_back({ec::schema_violation, at,
                        "the asset does not satisfy the input's schema"});
    report_all(std::move(errors));
    // A shipped schema brings its semantic rules (end_time > start_time).
    if (!input.schema_ref.empty()
        && schema_catalog::shipped().uri(input.schema_ref))
      report_all(check_semantic_rules(input.schema_ref, *doc.doc, at));
  }

  void value_input(const input_spec& input, resolved_task& task) {
    auto mapped = request_.input_mapping.find(input.key);
    auto inline_value = request_.values.find(input.key);
    if (mapped != request_.input_mapping.end()) {
      value_asset(input, mapped->second, task);
      return;
    }
    if (inline_value != request_.values.end()) {
      auto at = values_at(input.key);
      auto doc = json::parse(inline_value->second);
      if (!doc) {
        report(ec::invalid_json, at,
               "the value is not JSON: " + doc.error.message);
        return;
      }
      report_all(check_value(input, *doc.doc, at, options_.resolve_schema));
      task.request.values[input.key] = json::serialize(*doc.doc);
      return;
    }
    if (input.has_default()) {
      task.request.values[input.key] = input.default_json;
      task.defaults_applied.push_back(input.key);
      return;
    }
    if (input.required)
      report(ec::missing_input, values_at(input.key),
             "the required input '" + input.key + "' ("
               + std::string{to_string(input.dtype)}
               + " value) is not given and has no default");
  }

  void value_asset(const input_spec& input, const std::string& id,
                   resolved_task& task) {
    auto at = mapping_at(input.key);
    auto* asset = mapped_asset(input, id, task);
    if (!asset)
      return;
    if (asset->kind != asset_kind::value) {
      report(ec::kind_mismatch, at,
             "the input '" + input.key + "' takes a "
               + std::string{to_string(input.dtype)}
               + " value, but the asset '" + id + "' is a FILE");
      return;
    }
    switch (dtype_fit(input.dtype, asset->dtype)) {
      case fit::ok:
        break;
      case fit::wrong_kind:
        report(ec::kind_mismatch, at,
               "the input '" + input.key + "' takes "
                 + std::string{to_string(input.dtype)}
                 + ", but the VALUE asset '" + id + "' holds "
                 + asset->dtype);
        return;
      case fit::wrong_dtype:
        report(ec::dtype_mismatch, at,
               "the input '" + input.key + "' takes "
                 + std::string{to_string(input.dtype)}
                 + ", but the VALUE asset '" + id + "' has dtype "
                 + asset->dtype);
        return;
    }
    if (asset->status != asset_status::available || asset->value_json.empty())
      return;
    auto doc = json::parse(asset->value_json);
    if (!doc) {
      report(ec::invalid_json, at,
             "the value of the asset '" + id
               + "' is not JSON: " + doc.error.message);
      return;
    }
    report_all(check_value(input, *doc.doc, at, options_.resolve_schema));
  }

  const module_contract& contract_;
  const task_request& request_;
  const asset_view& assets_;
  const preflight_options& options_;
  std::vector<problem> problems_;
};

} // namespace

json::value to_json(const resolved_task& x) {
  auto out = to_json(x.request);
  json::array defaults;
  for (auto& key : x.defaults_applied)
    defaults.emplace_back(key);
  out.set("defaults_applied", std::move(defaults));
  json::array pending;
  for (auto& id : x.pending_assets)
    pending.emplace_back(id);
  out.set("pending_assets", std::move(pending));
  return out;
}

preflight_result preflight(const module_contract& contract,
                           const task_request& request,
                           const asset_view& assets,
                           const preflight_options& options) {
  return preflight_run{contract, request, assets, options}.run();
}

void asset_table::add(asset_record x) {
  auto id = x.asset_id;
  records_.insert_or_assign(std::move(id), std::move(x));
}

void asset_table::promise(std::string id, output_spec promised) {
  promises_.insert_or_assign(std::move(id), std::move(promised));
}

asset_view asset_table::view() const {
  asset_view out;
  out.find = [this](std::string_view id) -> const asset_record* {
    auto i = records_.find(id);
    return i == records_.end() ? nullptr : &i->second;
  };
  out.promise = [this](std::string_view id) -> std::optional<output_spec> {
    auto i = promises_.find(id);
    if (i == promises_.end())
      return std::nullopt;
    return i->second;
  };
  return out;
}

} // namespace omniva::contracts
