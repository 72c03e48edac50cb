#pragma once

#include <span>
#include <string_view>

namespace omniva::contracts {

/// A file of `contracts/schemas/`, embedded into the binary at build time.
struct embedded_file {
  /// The file name, e.g. "ClipCandidate.json".
  std::string_view name;
  /// The file's bytes.
  std::string_view text;
};

/// Returns every embedded schema file, sorted by name.
std::span<const embedded_file> embedded_schema_files() noexcept;

} // namespace omniva::contracts
