#include "actors/asset_ledger.hpp"

#include "contracts/module_contract.hpp"
#include "contracts/packet.hpp"

#include <caf/typed_response_promise.hpp>

#include <filesystem>

namespace omniva::actors {

using contracts::ec;
using contracts::make_error;

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

caf::error invalid_media_type(const std::string& media_type) {
  return make_error(ec::invalid_media_type, "'" + media_type + "' is not a media type",
                    "/media_type");
}

/// `e` with the pointer of the request member it is about (a file is added
/// by `{"path": ..., "media_type": ...}`), unless it names one already.
caf::error at_member_of_add(caf::error e) {
  auto p = contracts::problem_from_error(e);
  if (!p || !p->pointer.empty())
    return e;
  switch (p->code) {
    case ec::path_not_allowed:
    case ec::not_found:
    case ec::invalid_argument:
      return make_error(p->code, std::move(p->message), "/path");
    case ec::invalid_media_type:
      return make_error(p->code, std::move(p->message), "/media_type");
    default:
      return e;
  }
}

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

} // namespace

// -- the state ---------------------------------------------------------------------

caf::expected<contracts::asset_record>
asset_ledger_state::add_file(const std::string& path, const std::string& media_type,
                             const std::string& label) const {
  auto real = storage::asset_store::check_allowed(path, allowed_roots);
  if (!real)
    return at_member_of_add(real.error());
  if (!media_type.empty() && !contracts::is_valid_media_type(media_type, false))
    return invalid_media_type(media_type);
  auto blob = store->add_file(*real, given(media_type));
  if (!blob)
    return at_member_of_add(blob.error());
  auto name = label.empty() ? std::filesystem::path{path}.filename().string() : label;
  return file_record(*blob, name);
}

caf::expected<contracts::asset_record>
asset_ledger_state::add_upload(const std::string& temp, const std::string& media_type,
                               const std::string& label) const {
  if (!media_type.empty() && !contracts::is_valid_media_type(media_type, false)) {
    remove_quietly(temp);
    return make_error(ec::invalid_media_type, "'" + media_type + "' is not a media type");
  }
  auto blob = store->add_temp_file(temp, given(media_type));
  if (!blob) {
    remove_quietly(temp); // never leave uploads behind
    return blob.error();
  }
  return file_record(*blob, label);
}

caf::expected<contracts::asset_record>
asset_ledger_state::make_value(const std::string& value_json, const std::string& dtype,
                               const std::string& label) const {
  auto problems = contracts::check_value_asset(value_json, dtype);
  if (!problems.empty())
    return make_error(problems, ec::invalid_argument);
  contracts::asset_record a;
  a.kind = contracts::asset_kind::value;
  a.dtype = dtype;
  a.value_json = json::serialize(*json::parse(value_json).doc);
  a.sha256 = contracts::to_hex(contracts::sha256(a.value_json));
  a.size = a.value_json.size();
  a.label = label;
  return a;
}

// -- the actor ---------------------------------------------------------------------

ledger_actor::behavior_type
asset_ledger(ledger_actor::stateful_pointer<asset_ledger_state> self,
             std::shared_ptr<storage::asset_store> store,
             std::vector<std::string> allowed_roots, zenith_actor zenith) {
  self->state.store = std::move(store);
  self->state.allowed_roots = std::move(allowed_roots);
  self->state.zenith = std::move(zenith);
  // A prepared record goes to Zenith, whose answer (the stored record, or
  // why not) is the answer to the request.
  auto record = [self](caf::expected<contracts::asset_record> prepared,
                       const std::string& by)
    -> caf::result<contracts::asset_record> {
    if (!prepared)
      return std::move(prepared.error());
    return self->delegate(self->state.zenith, atom::add_v, std::move(*prepared),
                          by);
  };
  return {
    [=](atom::add, const std::string& path, const std::string& media_type,
        const std::string& label, const std::string& by) {
      return record(self->state.add_file(path, media_type, label), by);
    },
    [=](atom::upload, const std::string& temp, const std::string& media_type,
        const std::string& label, const std::string& by) {
      return record(self->state.add_upload(temp, media_type, label), by);
    },
    [=](atom::value, const std::string& value_json, const std::string& dtype,
        const std::string& label, const std::string& by) {
      return record(self->state.make_value(value_json, dtype, label), by);
    },
  };
}

} // namespace omniva::actors
