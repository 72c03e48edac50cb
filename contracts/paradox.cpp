#include "contracts/paradox.hpp"

#include "contracts/hex.hpp"
#include "contracts/json.hpp"
#include "contracts/packet.hpp" // sha256

#include <cstdint>

namespace omniva::paradox {

namespace {

/// Tags the key's framing, so a change of the recipe never collides with
/// keys made by an older one.
constexpr std::string_view key_domain = "omniva.duplicate_key.v1";

/// Appends `bytes` to `h` preceded by its length (8 bytes, big endian):
/// the parts of a key stay apart ("ab" + "c" is not "a" + "bc").
void frame(std::string& h, std::string_view bytes) {
  uint64_t n = bytes.size();
  for (int shift = 56; shift >= 0; shift -= 8)
    h.push_back(static_cast<char>(static_cast<uint8_t>(n >> shift)));
  h.append(bytes);
}

/// Feeds a JSON text as its canonical form (the same value always gives the
/// same bytes, whatever its spacing or member order), the parts at
/// `pointers` only when the contract names some. A text that is not JSON
/// (pre-flight never lets one through) counts as its raw bytes.
void frame_value(std::string& h, std::string_view json_text,
                 const std::vector<std::string>* pointers) {
  auto parsed = json::parse(json_text);
  if (!parsed) {
    frame(h, "raw");
    frame(h, json_text);
    return;
  }
  if (pointers == nullptr || pointers->empty()) {
    frame(h, "value");
    frame(h, json::serialize(*parsed.doc, json::style::canonical));
    return;
  }
  frame(h, "parts");
  for (auto& pointer : *pointers) {
    frame(h, pointer);
    if (auto* part = json::resolve_pointer(*parsed.doc, pointer)) {
      frame(h, "present");
      frame(h, json::serialize(*part, json::style::canonical));
    } else {
      frame(h, "absent");
    }
  }
}

} // namespace

std::string duplicate_key(const contracts::module_contract& contract,
                          const std::map<std::string, std::string>& input_mapping,
                          const std::map<std::string, std::string>& values,
                          const asset_lookup& assets) {
  // The framed parts, hashed at the end (a key's material is small).
  std::string h;
  frame(h, key_domain);
  frame(h, contract.ref());
  auto pointers_of = [&](const std::string& key) -> const std::vector<std::string>* {
    auto i = contract.duplicates.key.find(key);
    return i == contract.duplicates.key.end() ? nullptr : &i->second;
  };
  // Both maps are sorted by key; walk them as one sorted sequence, so the
  // order of the inputs never depends on how the request spelled them.
  auto a = input_mapping.begin();
  auto v = values.begin();
  while (a != input_mapping.end() || v != values.end()) {
    bool take_asset = v == values.end()
                      || (a != input_mapping.end() && a->first <= v->first);
    if (take_asset) {
      auto& [key, asset_id] = *a++;
      frame(h, "input");
      frame(h, key);
      const contracts::asset_record* rec = assets ? assets(asset_id) : nullptr;
      if (rec == nullptr) {
        frame(h, "unknown");
        frame(h, asset_id);
      } else if (rec->kind == contracts::asset_kind::value
                 && !rec->value_json.empty()) {
        frame_value(h, rec->value_json, pointers_of(key));
      } else if (rec->status == contracts::asset_status::pending
                 || rec->sha256.empty()) {
        // Content not known yet: the promise itself is what is identical.
        frame(h, "pending:" + rec->asset_id);
      } else {
        frame(h, "sha256");
        frame(h, rec->sha256);
      }
    } else {
      auto& [key, text] = *v++;
      frame(h, "input");
      frame(h, key);
      frame_value(h, text, pointers_of(key));
    }
  }
  return contracts::to_hex(contracts::sha256(h));
}

std::string duplicate_subject(std::string_view key) {
  return "dup:" + std::string{key};
}

contracts::clearance_advice
duplicate_index::advise(const contracts::clearance_item& item,
                        const durable_lookup& durable) {
  contracts::clearance_advice out;
  out.task_id = item.task_id;
  out.key = item.key;
  auto i = first_.find(item.key);
  if (i == first_.end()) {
    std::optional<std::string> found;
    if (item.mode != contracts::duplicate_mode::allow && durable)
      found = durable(item.key);
    // Remembered either way: the durable index is read once per key.
    i = first_.emplace(item.key, found ? *found : item.task_id).first;
  }
  if (i->second == item.task_id) {
    out.action = "clear";
    return out;
  }
  out.duplicate_of = i->second;
  switch (item.mode) {
    case contracts::duplicate_mode::reuse:
      out.action = "reuse";
      break;
    case contracts::duplicate_mode::block:
      out.action = "block";
      break;
    case contracts::duplicate_mode::allow:
    default:
      out.action = "ignore";
      break;
  }
  return out;
}

contracts::paradox_advice
duplicate_index::advise(const std::vector<contracts::clearance_item>& items,
                        const durable_lookup& durable) {
  contracts::paradox_advice out;
  out.items.reserve(items.size());
  for (auto& item : items)
    out.items.push_back(advise(item, durable));
  return out;
}

} // namespace omniva::paradox
