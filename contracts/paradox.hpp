#pragma once

// Paradox's pure logic (docs/engines.md, "Paradox"): the duplicate key of a
// task and the in-memory index that turns keys into advice. The actor
// (actors/paradox.hpp) only feeds batches through it.

#include "contracts/engines.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace omniva::paradox {

/// Looks up an asset by id; nullptr when unknown.
using asset_lookup
  = std::function<const contracts::asset_record*(std::string_view id)>;

/// The duplicate key of a task: SHA-256 (64 lowercase hex digits) over its
/// module ref, then for each input key in order: an ASSET input's content
/// hash (`sha256` of the asset; a PENDING asset, whose content is not known
/// yet, counts as `pending:<asset id>`), a VALUE (inline or a VALUE asset)
/// as canonical JSON. When the contract's rule names JSON pointers for an
/// input, only the values at those pointers count (a pointer that resolves
/// to nothing counts as absent), so a ScraperJob's fresh `job_id` and
/// timestamps do not make two identical jobs different. Pointers apply to
/// VALUE inputs (inline or VALUE assets) only; for a FILE asset the content
/// hash counts. Deterministic: the same task always gives the same key.
std::string duplicate_key(const contracts::module_contract& contract,
                          const std::map<std::string, std::string>& input_mapping,
                          const std::map<std::string, std::string>& values,
                          const asset_lookup& assets);

/// Finds, by its duplicate key, the first task of a `reuse` or `block`
/// contract recorded in the lineage (the subject `dup:<key>`): its id, or
/// nullopt when there is none (or on a read error, logged by the caller).
using durable_lookup
  = std::function<std::optional<std::string>(std::string_view key)>;

/// The subject under which Zenith indexes a task with duplicate key `key`
/// in the lineage (only for `reuse` and `block` contracts).
std::string duplicate_subject(std::string_view key);

/// Paradox's index: duplicate key -> the first task seen with it.
class duplicate_index {
public:
  /// Advises on one new task: `clear` when no other task with its key is
  /// known (it becomes the first), else `ignore` / `reuse` / `block` by
  /// the item's mode, naming the first task. Keys of `reuse` and `block`
  /// items missing from memory are looked up through `durable` (once; the
  /// answer is remembered). A task never duplicates itself.
  contracts::clearance_advice advise(const contracts::clearance_item& item,
                                     const durable_lookup& durable = {});

  /// Advises on a batch, in order (a later task of the batch may duplicate
  /// an earlier one).
  contracts::paradox_advice advise(const std::vector<contracts::clearance_item>& items,
                                   const durable_lookup& durable = {});

  /// Keys held.
  size_t size() const noexcept {
    return first_.size();
  }

private:
  std::unordered_map<std::string, std::string> first_;
};

} // namespace omniva::paradox
