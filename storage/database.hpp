#pragma once

// The Stardust database: RocksDB with the column families of DESIGN.md §5.
// This header is the read half, open to every caller: where a node's
// database lives, and opening it for reading from any process.
//
// Opening a database for writing (`open_database`, which makes the one
// `committer`) is in storage/commit.hpp and takes a `committer_key` that
// only the node bootstrap, a benchmark's scratch database and test fixtures
// can make.
//
// RocksDB never appears in these headers: it stays inside storage/.

#include "storage/reader.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>

namespace omniva::storage {

/// The folder of the database inside a node's data folder: `<data>/db`.
/// Every tool that takes `--data DIR` opens the database there.
std::string database_path(const std::string& data_dir);

/// Opens the database in folder `path` for reading only, as a secondary of
/// whichever process has it open for writing (or of none): sees every commit
/// acknowledged before the call, and later ones after `reader::refresh()`.
/// Errors: `not_found` (no database there), `storage_error`.
caf::expected<std::shared_ptr<const reader>>
open_reader(const std::string& path);

} // namespace omniva::storage
