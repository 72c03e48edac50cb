#pragma once

// Pre-flight: the check a task request must pass before a task is created
// ("impossible to reach execution with invalid data"). A pure function of
// the module's contract, the request and a read-only view of the asset
// ledger; it answers with the resolved task or with every problem at once.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"

#include <caf/meta/type_name.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// What pre-flight may know about the asset ledger: lookups only.
struct asset_view {
  /// Returns the asset `id`, or nullptr when the ledger has none. Required.
  /// The pointer must stay valid for the duration of the pre-flight call.
  std::function<const asset_record*(std::string_view id)> find;

  /// For a PENDING asset: the output of the producing task's contract that
  /// promised it (its media type and schema), or nullopt when unknown. May
  /// be empty; then the PENDING record's own `media_type` is the promise.
  std::function<std::optional<output_spec>(std::string_view id)> promise;
};

/// How pre-flight resolves what a contract refers to.
struct preflight_options {
  /// Resolves schema ids that inputs require ("media.metadata@1"); ids it
  /// does not know are looked up among the shipped schemas. May be empty.
  schema_resolver resolve_schema;
};

/// A task request that passed pre-flight: every input accounted for.
struct resolved_task {
  /// The request with the contract's defaults filled into `values` (and
  /// `module_ref` set to the contract's ref when the request left it empty).
  task_request request;
  /// The keys whose value came from the contract's `default`, sorted.
  std::vector<std::string> defaults_applied;
  /// The ids of PENDING assets the task maps: it must wait for them.
  std::vector<std::string> pending_assets;

  friend bool operator==(const resolved_task&, const resolved_task&) = default;
};

/// @relates resolved_task
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolved_task& x) {
  return f(caf::meta::type_name("resolved_task"), x.request,
           x.defaults_applied, x.pending_assets);
}

/// Returns the request's JSON form plus `defaults_applied` and
/// `pending_assets` (both always present).
json::value to_json(const resolved_task& x);

/// Either the resolved task or every problem of the request.
struct preflight_result {
  /// Set when the request may become a task.
  std::optional<resolved_task> task;
  /// Every problem; empty when `task` is set.
  std::vector<problem> problems;

  explicit operator bool() const noexcept {
    return task.has_value();
  }
};

/// Checks `request` against `contract` and the assets it maps. Every
/// problem is reported, with pointers into the request. First come the
/// problems found while reading it (`request.problems`, see
/// `task_request_from_json`); then the findings below, except those that
/// repeat one of them (the same code at the same pointer) or are about a
/// value at or below a pointer that could not be read (a bad asset id is
/// not looked up; an unreadable `values` has no missing inputs). Findings
/// about a key itself (`unknown_input`, `duplicate_key`) are always kept:
/// "wrong": "abc" gets both `invalid_uuid` and `unknown_input`. The
/// findings:
/// - `unsupported_schema_version` ("/schema_version");
/// - `invalid_ref` ("/module_ref"): the request names another module than
///   `contract` (finding the contract, and `module_not_found`, is the
///   caller's job);
/// - `unknown_input` ("/input_mapping/k", "/values/k"): a key the contract
///   does not declare; `duplicate_key` ("/values/k"): a key given both ways;
/// - `missing_input`: a required input without a default that is not given
///   ("/input_mapping/k" for ASSET inputs, "/values/k" for VALUE inputs);
/// - `asset_not_found`, `asset_failed`, `asset_purged` (the retention
///   policy removed its content) ("/input_mapping/k");
/// - `kind_mismatch`: an ASSET input given a VALUE asset or an inline value,
///   a VALUE input given a FILE asset, and the strict kinds: a `url` input
///   refuses text, a `text` input refuses a URL (as an inline value or as a
///   VALUE asset of that dtype);
/// - `media_type_mismatch`: a FILE asset whose media type the input does
///   not accept; for a PENDING asset, the media type its producer promised;
/// - `dtype_mismatch`, `out_of_range`, `not_in_enum`, `pattern_mismatch`,
///   `too_long`: a value (inline, or of an AVAILABLE VALUE asset) against
///   the input's dtype and constraints;
/// - `schema_violation`: a `json` value or a JSON asset (media type
///   application/json or +json with its value inline) that violates the
///   input's schema, the pointer extended by the schema error's instance
///   location; or a PENDING asset promised with another schema;
/// - `invalid_ref`: a schema the input requires cannot be found;
/// - `invalid_json` ("/values/k"): a stored value that is not JSON.
/// Pure: reads its arguments only; thread-safe.
preflight_result preflight(const module_contract& contract,
                           const task_request& request,
                           const asset_view& assets,
                           const preflight_options& options = {});

/// An `asset_view` over records held in memory (tests, the CLI).
class asset_table {
public:
  /// Adds (or replaces) a record, by its `asset_id`.
  void add(asset_record x);

  /// Records what the producer of PENDING asset `id` promised.
  void promise(std::string id, output_spec promised);

  /// Returns the number of records.
  size_t size() const noexcept {
    return records_.size();
  }

  /// Returns a view reading this table; the table must outlive it.
  asset_view view() const;

private:
  std::map<std::string, asset_record, std::less<>> records_;
  std::map<std::string, output_spec, std::less<>> promises_;
};

} // namespace omniva::contracts
