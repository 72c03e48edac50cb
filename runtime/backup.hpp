#pragma once

// Backups of a node's data folder (docs/operations.md, "Backup and
// restore"): made by the running node (`POST /api/backup`, `omniva backup`),
// checked and restored offline (`omniva restore`).
//
// A backup folder is laid out like a data folder, every file at the
// relative path it has (or gets) in one:
//
//   db/                  a RocksDB checkpoint of the node's database, with a
//                        chain witness naming its last packet
//                        (storage/backup.hpp)
//   blobs/sha256/..      every blob a FILE asset of the checkpoint names
//   outputs/<task>/<n>/  every output file a FILE asset names, and the logs
//                        (stdout.log, stderr.log) of finished tasks' attempts
//   modules/<folder>/    the folder of each registered module (the module
//                        ref's `dir`), and modules/schemas/, modules/
//                        policies/ from the folders that hold them
//   webhooks/            the webhooks' secrets and delivery state, copied
//                        before the checkpoint (a cursor never ahead of
//                        it); secrets of webhooks made meanwhile after it
//   token, cluster-secret  the node's secrets (mode 0600)
//   manifest.json        what the backup holds (below)
//   manifest.json.sha256 the manifest's own SHA-256 (`sha256sum` format)
//
// Blobs, output files and logs are hard links when the backup folder is on
// the data folder's file system (they never change once written), copies
// otherwise; module folders and secrets are always copies. A backup folder
// the backup makes gets mode 0700.
//
// manifest.json: `{"format": "omniva-backup", "format_version": 1,
// "created_at", "source": {"data_dir", "origin": [...]}, "log": {"packets",
// "last_seq", "head"}, "files": [{"path", "size", "sha256"}...], "modules":
// [{"ref", "dir", "path"}...], "missing": [{"path", "asset_id"?,
// "reason"}...], "external": [{"asset_id", "uri"}...]}`. `files` lists
// every file of the backup but the manifest and its sum, by path;
// `missing` what a row names and the data folder no longer had; `external`
// FILE assets outside the data folder (not copied).

#include "contracts/json.hpp"
#include "storage/reader.hpp"
#include "storage/verify.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace omniva::runtime {

/// `format` of a backup manifest.
inline constexpr std::string_view backup_format = "omniva-backup";

/// `format_version` of the manifests this build writes; a restore refuses
/// a manifest of another version.
inline constexpr int64_t backup_format_version = 1;

/// The manifest's file name inside a backup folder.
inline constexpr std::string_view manifest_name = "manifest.json";

/// The file holding the manifest's SHA-256, beside it.
inline constexpr std::string_view manifest_sum_name = "manifest.json.sha256";

/// Checks a backup destination before anything is written: `to` must be an
/// absolute path, outside the data folder `data_dir` (also through
/// symlinks) and not holding it, and either missing or an empty folder.
/// Errors, with the pointer `/to`: `invalid_argument` (relative, not
/// empty, a file), `path_not_allowed` (inside the data folder, or the data
/// folder inside it).
caf::error check_backup_destination(const std::string& to,
                                    const std::string& data_dir);

/// What a backup is asked to do.
struct backup_request {
  /// The folder to write (see `check_backup_destination`).
  std::string to;
  /// The node's data folder, absolute.
  std::string data_dir;
  /// The node's own reader (a checkpoint is taken through its handle).
  std::shared_ptr<const storage::reader> reader;
  /// Set to stop the backup (the node stops): checked between files and
  /// between the chunks of a file.
  const std::atomic<bool>* cancel = nullptr;
  /// Told what the backup is doing, a few words ("checkpoint", "blobs",
  /// "hashing"), when it starts each step.
  std::function<void(const std::string&)> on_step;
};

/// What a backup wrote.
struct backup_summary {
  /// The backup folder.
  std::string to;
  /// When it was made (RFC 3339, UTC, milliseconds).
  std::string created_at;
  /// The packets of the checkpoint's log (its last sequence number) and
  /// the id of its last packet.
  uint64_t packets = 0;
  std::string head;
  /// Files in the backup (the manifest and its sum not counted) and their
  /// bytes.
  uint64_t files = 0;
  uint64_t bytes = 0;
  /// Of the asset files and logs: how many were hard links, how many copies.
  uint64_t linked = 0;
  uint64_t copied = 0;
  /// The module folders copied.
  uint64_t modules = 0;
  /// Files a row names that the data folder no longer had.
  uint64_t missing = 0;
  /// FILE assets outside the data folder, not in the backup.
  uint64_t external = 0;
};

/// `{"to", "created_at", "packets", "last_seq", "head", "files", "bytes",
/// "linked", "copied", "modules", "missing", "external"}`.
json::value to_json(const backup_summary& x);

/// Writes a backup of the node's data folder (see the file comment):
/// checks the destination, takes the checkpoint, places the files, hashes
/// every one and writes the manifest last. Blocks for as long as that
/// takes: run it on a thread of its own. On error or cancel removes what it
/// wrote (a backup without manifest is never left behind). Errors: those of
/// `check_backup_destination` and `storage::make_checkpoint`, `io_error`
/// (a file could not be read or written: the message names it),
/// `cancelled` (`cancel` was set: the node stops).
caf::expected<backup_summary> write_backup(const backup_request& req);

/// A file of a backup as its manifest lists it.
struct backup_file {
  /// Relative path inside the backup (and the restored data folder).
  std::string path;
  uint64_t size = 0;
  /// 64 lowercase hex digits.
  std::string sha256;
};

/// A backup's manifest, read and checked against the files.
struct backup_manifest {
  /// The whole manifest as written.
  json::value doc;
  /// Its files.
  std::vector<backup_file> files;
  /// The source's data folder and where it had been before.
  std::string source_data_dir;
  std::vector<std::string> source_origin;
  /// The log in the checkpoint.
  uint64_t packets = 0;
  std::string head;
};

/// Reads the manifest of backup folder `from` and checks everything
/// against it: the manifest against its sum, then every file it lists
/// (present, a regular file, its size and SHA-256), each file named in the
/// error. Errors: `not_found` (no manifest or sum), `corruption` (the
/// manifest does not match its sum, or files do not match it: every such
/// file named, at most 20, with the count), `invalid_argument` (a manifest
/// this build does not read: another format or version, a path that
/// leaves the folder), `io_error`.
caf::expected<backup_manifest> check_backup(const std::string& from);

/// What `restore_backup` did.
struct restore_summary {
  /// The new data folder.
  std::string data_dir;
  /// Files copied and their bytes.
  uint64_t files = 0;
  uint64_t bytes = 0;
  /// The source's data folder (what `<data>/origin` now names first).
  std::string source_data_dir;
  /// The verification of the restored database.
  storage::verify_report verify;
  /// Whether the restored log is the one the manifest names (same packets,
  /// same head).
  bool log_matches = false;
};

/// Restores backup folder `from` into a new data folder `data_dir`:
/// `check_backup` first (nothing is written unless every file matches),
/// then `data_dir` must be missing or an empty folder; copies every file of
/// the manifest to its path there (modes kept), writes `<data>/origin`
/// (the source's locations, storage/relocation.hpp), opens the restored
/// database for reading and verifies it. Errors: those of `check_backup`,
/// `invalid_argument` (`data_dir` not empty), `io_error`.
caf::expected<restore_summary> restore_backup(const std::string& from,
                                              const std::string& data_dir);

/// `{"data_dir", "files", "bytes", "source_data_dir", "log_matches",
/// "verify": <storage::to_json of the report>}`.
json::value to_json(const restore_summary& x);

} // namespace omniva::runtime
