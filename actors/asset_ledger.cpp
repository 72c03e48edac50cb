#include "actors/asset_ledger.hpp"

#include "contracts/module_contract.hpp"
#include "contracts/packet.hpp"

#include <caf/typed_response_promise.hpp>

#include <filesystem>

namespace omniva::actors {

using contracts::ec;
using contracts::make_error;

std::vector<contracts::problem> check_value_asset(const std::string& value_json,
                                                  const std::string& dtype) {
  auto doc = json::parse(value_json);
  if (!doc)
    return {{ec::invalid_json, "/value", doc.error.message}};
  auto kind = contracts::value_dtype_from_string(dtype);
  if (!kind || *kind == contracts::value_dtype::none)
    return {{ec::dtype_mismatch, "/dtype",
             "'" + dtype + "' is not a dtype (string, text, url, int, float, "
                           "bool, enum, json)"}};
  contracts::input_spec spec;
  spec.key = "value";
  spec.contract_type = contracts::input_kind::value;
  spec.dtype = *kind;
  return contracts::check_value(spec, *doc.doc, "/value");
}

namespace {

contracts::asset_record file_record(const storage::stored_blob& blob,
                                    const std::string& label) {
  contracts::asset_record a;
  a.kind = contracts::asset_kind::file;
  a.media_type = blob.media_type;
  a.uri = blob.path;
  a.sha256 = blob.sha256;
  a.size = blob.size;
  a.label = label;
  return a;
}

std::optional<std::string> given(const std::string& media_type) {
  if (media_type.empty())
    return std::nullopt;
  return media_type;
}

} // namespace

ledger_actor::behavior_type
asset_ledger(ledger_actor::stateful_pointer<asset_ledger_state> self,
             std::shared_ptr<storage::asset_store> store,
             std::vector<std::string> allowed_roots, zenith_actor zenith) {
  self->state.store = std::move(store);
  self->state.allowed_roots = std::move(allowed_roots);
  self->state.zenith = std::move(zenith);
  return {
    [=](atom::add, const std::string& path, const std::string& media_type,
        const std::string& label) -> caf::result<contracts::asset_record> {
      auto& st = self->state;
      auto real = storage::asset_store::check_allowed(path, st.allowed_roots);
      if (!real)
        return real.error();
      if (!media_type.empty() && !contracts::is_valid_media_type(media_type, false))
        return make_error(ec::invalid_media_type,
                          "'" + media_type + "' is not a media type");
      auto blob = st.store->add_file(*real, given(media_type));
      if (!blob)
        return blob.error();
      auto name = label.empty() ? std::filesystem::path{path}.filename().string()
                                : label;
      return self->delegate(st.zenith, atom::add_v, file_record(*blob, name));
    },
    [=](atom::upload, const std::string& temp, const std::string& media_type,
        const std::string& label) -> caf::result<contracts::asset_record> {
      auto& st = self->state;
      if (!media_type.empty() && !contracts::is_valid_media_type(media_type, false)) {
        std::error_code ignored;
        std::filesystem::remove(temp, ignored);
        return make_error(ec::invalid_media_type,
                          "'" + media_type + "' is not a media type");
      }
      auto blob = st.store->add_temp_file(temp, given(media_type));
      if (!blob) {
        std::error_code ignored;
        std::filesystem::remove(temp, ignored); // never leave uploads behind
        return blob.error();
      }
      return self->delegate(st.zenith, atom::add_v, file_record(*blob, label));
    },
    [=](atom::value, const std::string& value_json, const std::string& dtype,
        const std::string& label) -> caf::result<contracts::asset_record> {
      auto problems = check_value_asset(value_json, dtype);
      if (!problems.empty())
        return make_error(problems.front().code,
                          problems.front().pointer + ": "
                            + problems.front().message);
      auto doc = json::parse(value_json);
      contracts::asset_record a;
      a.kind = contracts::asset_kind::value;
      a.dtype = dtype;
      a.value_json = json::serialize(*doc.doc);
      a.sha256 = contracts::to_hex(contracts::sha256(a.value_json));
      a.size = a.value_json.size();
      a.label = label;
      return self->delegate(self->state.zenith, atom::add_v, std::move(a));
    },
  };
}

} // namespace omniva::actors
