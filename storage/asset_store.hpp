#pragma once

// The content-addressed store of FILE assets (DESIGN.md §4): the file work of
// the asset ledger, without the actor. Everything here blocks on the disk, so
// it runs on a worker thread, never on Zenith's.
//
// A file that is added is copied (or, for an upload, moved) into the store
// under the data folder, at `<data>/blobs/sha256/<first 2 hex>/<64 hex>`, and
// hashed on the way: later edits of the user's file change nothing, and the
// same content is stored once. A blob appears atomically (written to a temp
// file in `<data>/tmp`, fsynced, renamed into place, its folder fsynced) and
// is read-only (mode 0444): a module handed its path cannot edit it by
// accident.
//
// Registering a path on the node's own machine is allowed only inside the
// configured roots; `check_allowed` is that gate, and its answer (the real
// path) is what `add_file` is given.

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::storage {

/// The media type of content nobody recognises.
inline constexpr std::string_view unknown_media_type
  = "application/octet-stream";

/// The largest file that `detect_media_type` parses to tell JSON from plain
/// text: 64 MiB. A larger text file stays `text/plain` unless libmagic itself
/// calls it JSON.
inline constexpr uint64_t max_json_sniff_size = uint64_t{64} << 20;

/// The folders a node lets users register files from when none are
/// configured: the node's working directory and its data folder.
std::vector<std::string> default_allowed_roots(const std::string& data_dir);

/// The node's own secrets, by their names inside the data folder: the API
/// token, the secret the nodes of a cluster share, the database (which
/// holds everything) and the webhooks' secrets and delivery state
/// (`webhooks/`). None of them, nor anything inside them, may become an
/// asset, even where the data folder is an allowed root.
inline constexpr std::string_view node_secret_names[] = {
  "token", "cluster-secret", "db", "webhooks"};

/// `node_secret_names` as paths inside `data_dir`.
std::vector<std::string> node_secret_paths(const std::string& data_dir);

/// A file as the store holds it.
struct stored_blob {
  /// SHA-256 of the content, 64 lowercase hex digits: the blob's name.
  std::string sha256;
  /// Size of the content in bytes.
  uint64_t size = 0;
  /// Absolute path of the blob (`<data>/blobs/sha256/ab/ab…`); read-only.
  std::string path;
  /// The media type given by the caller, else the detected one.
  std::string media_type;
  /// Whether the store held this content already (the new copy was dropped).
  bool deduplicated = false;

  friend bool operator==(const stored_blob&, const stored_blob&) = default;
};

/// The content-addressed blob store of one node's data folder.
///
/// Thread safety: every member function may be called from any number of
/// threads at once, on the same or different files; two threads adding the
/// same content both succeed and both get the same blob.
class asset_store {
public:
  /// A store in data folder `data_dir` (relative paths are resolved against
  /// the working directory now). Creates `<data>/blobs/sha256` and
  /// `<data>/tmp` when it can; when it cannot, the operations report
  /// `io_error`.
  explicit asset_store(const std::string& data_dir);

  /// The data folder, absolute.
  const std::string& data_dir() const noexcept {
    return data_dir_;
  }

  /// `<data>/tmp`, created if missing: where HTTP uploads are written before
  /// `add_temp_file` moves them into the store. The store's own temp files
  /// (`blob-*`) live there too; after a crash, what is left there is garbage.
  std::string temp_dir() const;

  /// Removes everything in `temp_dir()`: what an earlier run left behind
  /// when it died mid-upload or mid-copy. Only while nothing uses the store
  /// (a node calls it at start). Returns how many entries it removed.
  size_t sweep_temp_dir();

  /// The path the blob with SHA-256 `sha256_hex` has (or would have). The
  /// argument must be 64 lowercase hex digits (not checked).
  std::string blob_path(std::string_view sha256_hex) const;

  /// Copies the regular file at `path` into the store, streaming it in
  /// chunks and hashing it on the way; the copy is fsynced and renamed into
  /// place; when the blob exists already the copy is dropped (dedup). The
  /// media type is `media_type` when given, else `detect_media_type` of the
  /// copy. `path` should be what `check_allowed` returned: the path is not
  /// checked against any roots here, and a symlink as its last component is
  /// refused. Errors: `invalid_media_type` (a given media type that is not
  /// `type/subtype`), `not_found`, `path_not_allowed` (a symlink, or one of
  /// the node's own secrets: `check_not_secret`), `invalid_argument` (not a
  /// regular file), `io_error` (reading, writing, disk full).
  caf::expected<stored_blob>
  add_file(const std::string& path, std::optional<std::string> media_type);

  /// Refuses (`path_not_allowed`) a path that is one of this node's own
  /// secrets (`node_secret_names` in the data folder), lies inside one (the
  /// database folder), or is a hard link to a secret file; symlinks and
  /// `..` are resolved first. No error otherwise.
  caf::error check_not_secret(const std::string& path) const;

  /// Moves an upload already on disk under `temp_dir()` into the store:
  /// hashes it, fsyncs it and renames it into place (or deletes it when the
  /// blob exists already). On success `temp_path` no longer exists; on error
  /// it is left alone. Errors: `invalid_media_type`, `not_found`,
  /// `invalid_argument` (outside `temp_dir()`, or not a regular file),
  /// `path_not_allowed` (a symlink), `io_error`.
  caf::expected<stored_blob>
  add_temp_file(const std::string& temp_path,
                std::optional<std::string> media_type);

  /// The gate for registering a file of the node's own machine: resolves
  /// `path` (following every symlink and `..`) and returns its real path
  /// when that lies inside one of `roots` (themselves resolved; a root that
  /// does not exist is ignored) and is a regular file. Containment compares
  /// whole path components: `/data2/x` is not inside `/data`. Errors:
  /// `invalid_argument` (empty or relative path, a path holding a NUL byte,
  /// or not a regular file: a directory, a device), `not_found` (missing,
  /// inside a root),
  /// `path_not_allowed` (the real path, or for a missing file the part of it
  /// that exists, lies outside every root: a missing file outside the roots
  /// is refused, not reported missing), `io_error`.
  static caf::expected<std::string>
  check_allowed(const std::string& path, const std::vector<std::string>& roots);

  /// Writes a VALUE for a worker: the JSON text `value_json`, byte for byte,
  /// into `<dir>/<key>.json` (creating `dir`, replacing an older file
  /// atomically), and returns that path. Not fsynced: an execution folder is
  /// scratch space. Errors: `invalid_argument` (`key` not a contract key,
  /// `^[A-Za-z_][A-Za-z0-9_-]*$`, at most 128 characters), `invalid_json`,
  /// `io_error`.
  static caf::expected<std::string>
  write_value_file(const std::string& dir, const std::string& key,
                   const std::string& value_json);

  /// The media type of the file at `path`, by content (libmagic, through
  /// `magic_media_type` of storage/media_detect.hpp). The rules on top of
  /// libmagic's answer:
  /// - a file libmagic calls `text/plain` whose whole content is a JSON
  ///   object or array (RFC 8259), at most `max_json_sniff_size` bytes, is
  ///   `application/json` (libmagic misses some JSON texts); a lone scalar
  ///   (`42`, `"hi"`, `true`) stays `text/plain`, as it is as much text as
  ///   JSON;
  /// - no answer, an answer that is not `type/subtype`, or a pseudo type of
  ///   libmagic's `inode/` family (an empty file is `inode/x-empty`, a
  ///   missing one has none) gives `application/octet-stream`.
  static std::string detect_media_type(const std::string& path);

private:
  /// Moves the hashed, synced file at `temp_path` into the store under its
  /// SHA-256 `hex` (or drops it when that blob exists) and describes it.
  caf::expected<stored_blob> install(const std::string& temp_path,
                                     std::string hex, uint64_t size,
                                     std::optional<std::string> media_type);

  /// The data folder, absolute.
  std::string data_dir_;
  /// `<data>/blobs/sha256`.
  std::string blob_dir_;
  /// `<data>/tmp`.
  std::string temp_dir_;
};

} // namespace omniva::storage
