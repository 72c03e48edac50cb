#include "contracts/module_registration.hpp"

namespace omniva::contracts {

caf::expected<module_entry> check_module_text(const std::string& text, const std::string& dir,
                                              const schema_resolver& resolve,
                                              const predicate_resolver& predicates) {
  contract_options options;
  options.resolve_schema = resolve;
  options.resolve_predicate = predicates;
  auto parsed = parse_module_contract(text, options);
  if (!parsed.contract)
    return make_error(parsed.problems, ec::invalid_contract);
  auto doc = json::parse(text);
  return module_entry{*parsed.contract, dir, json::serialize(*doc.doc, json::style::canonical)};
}

std::string encode_module_row(const module_entry& e) {
  auto contract = json::parse(e.canonical_json);
  json::value row{json::object{}};
  row.set("contract", contract ? std::move(*contract.doc) : json::value{});
  row.set("dir", e.dir);
  return json::serialize(row);
}

std::optional<module_row> read_module_row(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc)
    return std::nullopt;
  auto* contract = doc.doc->find("contract");
  if (contract == nullptr)
    return std::nullopt;
  module_row row;
  if (auto* dir = doc.doc->find("dir"); dir && dir->is_string())
    row.dir = dir->as_string();
  row.contract = std::move(*contract);
  return row;
}

caf::expected<module_entry> decode_module_row(const std::string& ref, std::string_view text,
                                              const predicate_resolver& predicates) {
  auto row = read_module_row(text);
  if (!row)
    return make_error(ec::corruption, "module row " + ref + " has no contract");
  contract_options options;
  options.resolve_predicate = predicates;
  auto parsed = parse_module_contract_document(row->contract, options);
  if (!parsed.contract)
    return make_error(ec::corruption, "module row " + ref + " does not parse");
  return module_entry{std::move(*parsed.contract), std::move(row->dir),
                      json::serialize(row->contract, json::style::canonical)};
}

} // namespace omniva::contracts
