#pragma once

// The messages of the registry (actors/registry.hpp) and of Zenith's
// registration of schemas and policies: what a registered schema or policy
// is, and what a load of the module folders did. Plain structs with
// `inspect`, so they cross a network link unchanged.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// A JSON Schema of the registry: its ref ("media.metadata@1") and the
/// canonical text of its document (immutability is checked on it).
struct schema_entry {
  /// `name@version`; never one of the shipped schemas' names (they carry no
  /// version).
  std::string ref;
  /// The document in canonical form (json::style::canonical).
  std::string canonical_json;

  friend bool operator==(const schema_entry&, const schema_entry&) = default;
};

/// @relates schema_entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schema_entry& x) {
  return f(caf::meta::type_name("schema_entry"), x.ref, x.canonical_json);
}

/// A policy of the registry ("default@1"): how a failed task is retried,
/// what a run following it may spend, and how its attempts lease the
/// prefixes they write (docs/policies.md).
struct policy_entry {
  /// `name@version`.
  std::string ref;
  /// For people; may be empty.
  std::string description;
  /// Attempts in all, the first one included: 1 .. 100.
  uint32_t max_attempts = 1;
  /// The pause before retry k (k = 1 .. max_attempts - 1) is
  /// `backoff_ms[k - 1]`, the last value standing for the later ones; no
  /// pause when empty. Each 0 .. 86'400'000 (one day); at most 100 values.
  std::vector<uint32_t> backoff_ms;
  /// Failure codes retried although Eclipse classes them deterministic
  /// (`"retry_on": ["exit_code"]`); each an error code's name or a
  /// module's own snake_case code. At most 100.
  std::vector<std::string> retry_on;
  /// Seeded jitter: each pause is drawn from [backoff * (1 - j/100),
  /// backoff * (1 + j/100)], so that a burst of failures does not retry in
  /// lock-step. 0 .. 100; default 10 (`"jitter_pct"` in the document).
  uint32_t jitter_pct = 10;
  /// The most a pipeline run following this policy may spend, in
  /// millionths of a US dollar (`budget.max_usd_micro`); -1: no cap.
  int64_t budget_max_usd_micro = -1;
  /// How long an attempt's lease on a write prefix lasts without a
  /// heartbeat renewing it (`leases.default_ttl_s`): 1 .. 604800.
  uint32_t lease_ttl_s = 3600;
  /// Whether attempts lease their contract's write prefixes
  /// (`leases.enable_path_leases`).
  bool path_leases = false;

  friend bool operator==(const policy_entry&, const policy_entry&) = default;
};

/// @relates policy_entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, policy_entry& x) {
  return f(caf::meta::type_name("policy_entry"), x.ref, x.description,
           x.max_attempts, x.backoff_ms, x.retry_on, x.jitter_pct,
           x.budget_max_usd_micro, x.lease_ttl_s, x.path_leases);
}

/// What the registry found in a module folder.
enum class registry_kind : uint8_t {
  /// A JSON Schema file (`schemas/<name>@<N>.json`).
  schema = 0,
  /// A policy file (`policies/<name>@<N>.json`).
  policy = 1,
  /// A module folder (its `module.json`).
  module = 2,
  /// A configured folder itself (missing, unreadable).
  folder = 3,
  /// A pipeline file (`pipelines/<name>@<N>.json`, docs/pipelines.md).
  pipeline = 4,
  /// A personas file of Pantheon (`personas/<name>@<N>.json`,
  /// docs/engines.md "Pantheon").
  personas = 5,
  /// A predicate file (`predicates/<name>@<N>.json`, docs/policies.md): an
  /// entry of a kind with default arguments.
  predicate = 6,
};

/// Returns "schema", "policy", "module", "folder", "pipeline",
/// "personas" or "predicate".
std::string_view to_string(registry_kind x) noexcept;

/// What became of one thing the registry loaded.
enum class registry_outcome : uint8_t {
  /// Zenith committed it (new, or a module found in another folder).
  registered = 0,
  /// The same ref with the same content was registered before.
  unchanged = 1,
  /// It was not registered; `registry_item::error` says why.
  refused = 2,
};

/// Returns "registered", "unchanged" or "refused".
std::string_view to_string(registry_outcome x) noexcept;

/// One file or folder of a registry load and its outcome.
struct registry_item {
  registry_kind kind = registry_kind::module;
  /// The ref (`name@version`); empty when it could not be read.
  std::string ref;
  /// The file (schemas, policies) or folder (modules) it came from.
  std::string source;
  registry_outcome outcome = registry_outcome::refused;
  /// Why it was refused (code `none` otherwise); the pointer points into
  /// the file.
  problem error;

  friend bool operator==(const registry_item&, const registry_item&) = default;
};

/// @relates registry_item
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry_item& x) {
  return f(caf::meta::type_name("registry_item"), x.kind, x.ref, x.source,
           x.outcome, x.error);
}

/// What a registry load did: one item per file or folder, in the order they
/// were handled (schemas, policies, personas, modules, then pipelines).
struct registry_report {
  std::vector<registry_item> items;

  /// The number of items with `outcome`.
  size_t count(registry_outcome outcome) const noexcept;

  friend bool operator==(const registry_report&, const registry_report&) = default;
};

/// @relates registry_report
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry_report& x) {
  return f(caf::meta::type_name("registry_report"), x.items);
}

/// Returns `{"items": [{"kind", "ref", "source", "outcome", "error"?}],
/// "registered": n, "unchanged": n, "refused": n}` (`error` only for refused
/// items: `{"code", "message", "pointer"}`).
json::value to_json(const registry_report& x);

} // namespace omniva::contracts
