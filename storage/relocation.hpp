#pragma once

// A data folder that moved: restored from a backup into another folder, or
// simply `mv`ed. Its rows cannot change (each packet records the digests of
// the rows it justifies, storage/verify.hpp, and only Zenith writes), and
// the `uri` of a FILE asset is the absolute path the file had when the
// asset was made: `<old data>/blobs/...`, `<old data>/outputs/...`. So the
// rows stay as written and the paths are translated when a file is opened.
//
// `<data>/origin` remembers where the folder has been: one absolute path a
// line, the first where the folder was made, each later one a place a node
// ran it since. A node records its folder at start (`record_origin`);
// `omniva restore` writes the source's lines. A path under an earlier
// location resolves to the same relative path under the folder as it is now
// (`data_relocation::resolve`); any other path is left as it is.

#include <caf/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace omniva::storage {

/// The name of the file, inside a data folder, that lists where it has
/// been.
inline constexpr std::string_view origin_file_name = "origin";

/// Where a data folder is and where it was.
struct data_relocation {
  /// The data folder now, absolute and lexically normal.
  std::string data_dir;
  /// The folder's earlier locations (from `<data>/origin`), absolute and
  /// lexically normal, each once, `data_dir` not among them.
  std::vector<std::string> earlier;

  /// Whether the folder was anywhere else before.
  bool moved() const noexcept {
    return !earlier.empty();
  }

  /// Where the file at absolute path `path` (an asset's `uri`) is now: for
  /// a path inside an earlier location of the folder (by whole path
  /// components: `/data2/x` is not inside `/data`), the same relative path
  /// inside `data_dir`; any other path as given (already inside `data_dir`,
  /// or outside the folder altogether). The one function every opener of a
  /// FILE asset's uri goes through (dispatch, downloads, backups).
  std::string resolve(std::string_view path) const;

  /// The relative path of `path` (after `resolve`) inside `data_dir`;
  /// "" when it is not inside (or is `data_dir` itself).
  std::string relative(std::string_view path) const;
};

/// `<data>/origin`.
std::string origin_path(const std::string& data_dir);

/// The lines of `<data>/origin`: the locations the folder has had, oldest
/// first (each absolute); empty when there is no such file (a folder made
/// before the file existed, or a new one). Errors: `io_error` (it cannot
/// be read), `corruption` (a line is not an absolute path).
caf::expected<std::vector<std::string>> read_origin(const std::string& data_dir);

/// Writes `<data>/origin` with `locations` (a line each), durably: a
/// temporary file, fsync, rename, fsync of the folder. Errors: `io_error`.
caf::error write_origin(const std::string& data_dir,
                        const std::vector<std::string>& locations);

/// The relocation of data folder `data_dir` (absolute) as its origin file
/// states it, read only. Errors as for `read_origin`.
caf::expected<data_relocation> relocation_of(const std::string& data_dir);

/// At a node's start: reads `<data>/origin` and, when `data_dir` (absolute)
/// is not its last line, appends it (creating the file at a first start);
/// returns the relocation. Errors as for `read_origin` and `write_origin`.
caf::expected<data_relocation> record_origin(const std::string& data_dir);

} // namespace omniva::storage
