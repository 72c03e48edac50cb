#pragma once

/// @file
/// Registering a module: from the text of a `module.json` to the entry Zenith
/// commits, and the one codec of the row that entry is stored as.
///
/// A row of the `modules` table (key: the ref `name@version`) is
/// `{"contract": <the contract, canonical>, "dir": "<the module's folder>"}`.
/// Zenith writes it (`encode_module_row`) and reads it back at start
/// (`decode_module_row`); the registry and the HTTP API read it
/// (`read_module_row`). Nothing else knows its shape.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"

#include <caf/expected.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace omniva::contracts {

/// Checks a module.json text with `resolve` for schema ids (empty: ids are
/// checked for syntax only) and returns the entry Zenith registers, `dir`
/// remembered as the module's working folder and the contract in its
/// canonical JSON form.
///
/// A contract with problems is one error (`make_error(problems, ...)`): the
/// first problem's code and pointer, every problem in the message.
caf::expected<module_entry> check_module_text(const std::string& text, const std::string& dir,
                                              const schema_resolver& resolve,
                                              const predicate_resolver& predicates = {});

/// A row of the `modules` table, read but not checked.
struct module_row {
  /// The contract as stored (Zenith stores the canonical form).
  json::value contract;
  /// The module's folder; "" when the row names none.
  std::string dir;
};

/// Returns the row that stores `e`: compact JSON, the contract parsed from
/// `e.canonical_json` (null when that is not JSON) and `e.dir`.
std::string encode_module_row(const module_entry& e);

/// Reads a row written by `encode_module_row`; nullopt when it is not JSON or
/// has no `contract`. A `dir` that is missing or not a string reads as "".
std::optional<module_row> read_module_row(std::string_view text);

/// Reads the row stored under `ref` back into the entry Zenith keeps (the
/// contract parsed and checked again, without resolving schema ids). Errors:
/// `corruption` ("module row <ref> has no contract", "... does not parse").
caf::expected<module_entry> decode_module_row(const std::string& ref, std::string_view text,
                                              const predicate_resolver& predicates = {});

} // namespace omniva::contracts
