// The mock adapter: outputs derived from the module ref and the inputs,
// written without running anything.

#include "runtime/mock_adapter.hpp"

#include "contracts/json_schema.hpp"
#include "contracts/media_type.hpp"
#include "contracts/packet.hpp"
#include "contracts/predicate.hpp"
#include "contracts/schema_catalog.hpp"
#include "contracts/schema_example.hpp"
#include "contracts/sha256.hpp"
#include "runtime/execution_files.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;

namespace {

using clock_type = std::chrono::steady_clock;

/// The seed of every output: a hash of the module ref and every input, in
/// key order.
std::string input_seed(const contracts::dispatch_order& order) {
  std::vector<const contracts::dispatched_input*> inputs;
  for (auto& in : order.inputs)
    inputs.push_back(&in);
  std::sort(inputs.begin(), inputs.end(),
            [](auto* a, auto* b) { return a->key < b->key; });
  std::string material = "omniva-mock\n" + order.contract.ref() + "\n";
  for (auto* in : inputs) {
    material += in->key;
    material += '\0';
    if (in->is_value) {
      auto parsed = json::parse(in->value_json);
      material += "VALUE";
      material += '\0';
      material += parsed ? json::serialize(*parsed.doc, json::style::canonical)
                         : in->value_json;
    } else {
      material += "ASSET";
      material += '\0';
      if (!in->sha256.empty()) {
        // The ledger's hash is the input's identity: no need to read a
        // large media file again on every attempt.
        material += in->sha256;
      } else {
        auto hashed = contracts::sha256_file(in->path);
        material += hashed ? hashed->sha256 : "path:" + in->path;
      }
      material += '\0';
      material += in->media_type;
    }
    material += '\n';
  }
  return contracts::to_hex(contracts::sha256(material));
}

/// The schema document of an output, for `example_instance`: inline, a
/// shipped schema, or through the context's document lookup.
std::optional<json::value> output_schema_document(const execution_context& context,
                                                  const contracts::output_spec& o) {
  if (!o.schema_json.empty()) {
    auto parsed = json::parse(o.schema_json);
    return parsed ? std::move(parsed.doc) : std::nullopt;
  }
  if (o.schema_ref.empty())
    return std::nullopt;
  if (context.schema_document_lookup)
    if (auto doc = context.schema_document_lookup(o.schema_ref))
      return doc;
  if (auto* doc = contracts::schema_catalog::shipped().document(o.schema_ref))
    return *doc;
  return std::nullopt;
}

/// The JSON document of output `o` (a schema-valid instance, or a small
/// object naming the module); nullopt with `r` failed when the schema does
/// not resolve or the instance does not satisfy it.
std::optional<json::value> json_output(const contracts::dispatch_order& order,
                                       const execution_context& context,
                                       const contracts::output_spec& o,
                                       const std::string& seed,
                                       contracts::execution_outcome& r) {
  if (o.schema_ref.empty() && o.schema_json.empty()) {
    json::value doc{json::object{}};
    doc.set("mock", true);
    doc.set("module", order.contract.ref());
    doc.set("output", o.key);
    doc.set("digest", seed);
    return doc;
  }
  bool unresolved = false;
  auto compiled = contracts::resolve_spec_schema(o.schema_ref, o.schema_json,
                                                 context.schema_lookup,
                                                 &unresolved);
  if (!compiled) {
    fail(r, ec::invalid_ref,
         "the schema of output " + in_quotes(o.key) + " cannot be resolved");
    return std::nullopt;
  }
  auto schema_doc = output_schema_document(context, o);
  auto doc = contracts::example_instance(
    schema_doc ? *schema_doc : json::value{json::object{}}, seed);
  auto v = compiled->validate(doc, contracts::output::basic);
  if (!v.valid) {
    std::string why = v.errors.empty() ? "" : ": " + v.errors.front().message;
    if (!v.errors.empty())
      r.error_pointer = v.errors.front().instance_location;
    fail(r, ec::output_contract_violation,
         "the mock adapter cannot produce a document valid against the schema "
         "of output "
           + in_quotes(o.key) + why);
    return std::nullopt;
  }
  return doc;
}

/// Writes one file of output `o` to `output_dir / name`, its content
/// derived from `seed` (`label` names it in the text of a text output and
/// in messages), and appends it to `r.outputs`; false with `r` failed.
bool write_output_file(const contracts::dispatch_order& order,
                       const execution_context& context,
                       const fs::path& output_dir,
                       const contracts::output_spec& o,
                       const std::string& media_type, const std::string& seed,
                       const std::string& name, const std::string& label,
                       contracts::execution_outcome& r) {
  std::string content;
  if (contracts::is_json_media_type(o.media_type)) {
    auto doc = json_output(order, context, o, seed, r);
    if (!doc)
      return false;
    content = json::serialize(*doc, json::style::pretty) + "\n";
  } else if (contracts::is_text_media_type(o.media_type)) {
    content = "mock output " + label + " of " + order.contract.ref() + ": "
              + seed + "\n";
  } else {
    auto a = contracts::sha256(seed + ":0");
    auto b = contracts::sha256(seed + ":1");
    content.assign(a.begin(), a.end());
    content.append(b.begin(), b.end());
  }
  auto path = output_dir / name;
  if (!write_file(path.string(), content)) {
    fail(r, ec::io_error, "cannot write output " + label, true);
    return false;
  }
  r.outputs.push_back(contracts::produced_output{
    o.key, path.string(), media_type,
    contracts::to_hex(contracts::sha256(content)), content.size()});
  return true;
}

/// Writes every declared output into `output_dir`, `many_count` files for
/// a `many` output; fills `r.outputs` or fails `r`.
void write_outputs(const contracts::dispatch_order& order,
                   const execution_context& context, const fs::path& output_dir,
                   size_t many_count, contracts::execution_outcome& r) {
  auto base = input_seed(order);
  for (auto& o : order.contract.outputs) {
    auto seed = contracts::to_hex(contracts::sha256(base + "\n" + o.key));
    std::string media_type = o.media_type;
    if (auto star = media_type.find('*'); star != std::string::npos)
      media_type = media_type.substr(0, star) + "x-omniva-mock";
    if (!o.many) {
      if (!write_output_file(order, context, output_dir, o, media_type, seed,
                             suggested_file_name(o.key, media_type),
                             in_quotes(o.key), r))
        return;
      continue;
    }
    for (size_t i = 0; i < many_count; ++i) {
      auto index = std::to_string(i);
      auto file_seed = contracts::to_hex(contracts::sha256(seed + "\n" + index));
      if (!write_output_file(order, context, output_dir, o, media_type,
                             file_seed,
                             suggested_file_name(o.key, media_type, i),
                             in_quotes(o.key) + " file " + index, r))
        return;
    }
  }
  r.ok = true;
}

} // namespace

size_t mock_many_count_from_environment() {
  const char* text = std::getenv("OMNIVA_MOCK_MANY");
  if (text == nullptr || *text == '\0')
    return default_mock_many_count;
  size_t n = 0;
  for (const char* c = text; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9')
      return default_mock_many_count;
    n = n * 10 + static_cast<size_t>(*c - '0');
    if (n > max_many_output_files)
      n = max_many_output_files + 1; // stays above the bound, never wraps
  }
  return std::min(n, max_many_output_files);
}

contracts::execution_outcome
mock_adapter::invoke(const contracts::dispatch_order& order,
                     const execution_context& context) {
  auto start = clock_type::now();
  contracts::execution_outcome r;
  json::value metrics{json::object{}};
  metrics.set("mode", "mock");
  try {
    if (context.stop_requested()) {
      fail(r, ec::cancelled, "the attempt was stopped before it ran");
      return finish(std::move(r), metrics, order, context);
    }
    // No process reads a manifest: only the output folder is needed.
    if (order.output_dir.empty()) {
      fail(r, ec::invalid_argument, "the request has no output directory");
      return finish(std::move(r), metrics, order, context);
    }
    auto output_dir = absolute_normal(order.output_dir);
    std::error_code err;
    if (!make_directories(output_dir, err)) {
      fail(r, ec::io_error,
           "cannot create the output directory "
             + in_quotes(output_dir.string()) + ": " + err.message(),
           true);
      return finish(std::move(r), metrics, order, context);
    }
    write_outputs(order, context, output_dir, options_.many_count, r);
    // What a real run would report (docs/policies.md): the per-run cost,
    // or the per-second cost for the seconds it took (at least one).
    if (auto& cost = order.contract.cost; !cost.empty()) {
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                       clock_type::now() - start)
                       .count()
                     + 1;
      r.cost_usd_micro
        = cost.usd_micro_per_run > 0
            ? cost.usd_micro_per_run
            : std::min(cost.worst_case(order.contract.resources.timeout_s),
                       cost.usd_micro_per_second * seconds);
    }
  } catch (const std::exception& e) {
    fail(r, ec::io_error, std::string{"the mock adapter failed: "} + e.what(),
         true);
  }
  metrics.set("duration_ms",
              static_cast<int64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(
                  clock_type::now() - start)
                  .count()));
  return finish(std::move(r), metrics, order, context);
}

} // namespace omniva::runtime
