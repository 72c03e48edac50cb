#pragma once

// The Stardust database: RocksDB with the column families of DESIGN.md §5.
//
// Opening a database for writing yields exactly one read handle (shareable)
// and exactly one `committer` (move-only, never copied, constructible only by
// `open_database`): the write capability of the runtime. A second open of the
// same database fails with `ec::database_locked`, in this process or another
// (RocksDB's lock file). Other processes read a database that is open for
// writing through `open_reader`.
//
// RocksDB never appears in these headers: it stays inside storage/.

#include "storage/commit.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>

namespace omniva::storage {

/// The folder of the database inside a node's data folder: `<data>/db`.
/// Every tool that takes `--data DIR` opens the database there.
std::string database_path(const std::string& data_dir);

/// How a database is opened.
struct database_options {
  /// Whether every commit waits for its write-ahead log to reach the disk
  /// (fsync). Default: true. Without it a machine crash may lose the last
  /// commits (a process crash loses nothing either way).
  bool sync = true;
  /// Whether `open_database` creates a missing database. Default: true.
  bool create_if_missing = true;
};

/// A database open for writing: its one read handle and its one committer.
struct writable_database {
  /// The read handle; safe to use from any thread while the committer writes.
  std::shared_ptr<const reader> read;
  /// The only way to write.
  committer write;
};

/// Opens (or creates) the database in folder `path` for writing. Errors:
/// `database_locked` (open elsewhere), `storage_error`, `corruption`.
caf::expected<writable_database>
open_database(const std::string& path, const database_options& options = {});

/// Opens the database in folder `path` for reading only, as a secondary of
/// whichever process has it open for writing (or of none): sees every commit
/// acknowledged before the call, and later ones after `reader::refresh()`.
/// Errors: `not_found` (no database there), `storage_error`.
caf::expected<std::shared_ptr<const reader>>
open_reader(const std::string& path);

} // namespace omniva::storage
