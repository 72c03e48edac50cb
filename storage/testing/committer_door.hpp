#pragma once

// The test fixtures' door to the write capability: tests open a database for
// writing here, since they hold no `committer_key` of their own. For test
// targets only: tests/CMakeLists.txt defines OMNIVA_TESTING for them, and any
// other file that includes this header does not compile.

#ifndef OMNIVA_TESTING
#  error "storage/testing/committer_door.hpp is for test targets only: outside tests, only the node bootstrap (runtime::node::start) opens a database for writing"
#endif

#include "storage/commit.hpp"

#include <caf/expected.hpp>

#include <string>

namespace omniva::storage::testing {

/// Opens databases for writing on behalf of test fixtures (a friend of
/// `committer_key`).
struct committer_door {
  /// Opens (or creates) the database in folder `path` for writing, exactly
  /// as `storage::open_database` does for the node: same options, same
  /// errors (`database_locked`, `storage_error`, `corruption`).
  static caf::expected<writable_database>
  open(const std::string& path, const database_options& options = {}) {
    return open_database(committer_key{}, path, options);
  }
};

} // namespace omniva::storage::testing
