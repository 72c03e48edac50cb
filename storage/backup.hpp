#pragma once

// A consistent copy of a live database: a RocksDB checkpoint taken through
// the handle the node already has open (no second open: the node's lock
// stays its own), while the committer goes on writing. The checkpoint holds
// every commit acknowledged before it was taken and no part of a later one
// (a commit is one WriteBatch, and a checkpoint is a point-in-time view of
// the whole database: SST files, the MANIFEST and the write-ahead log up to
// that point). SST files are hard links when the folder is on the database's
// file system, copies otherwise; the rest is copied.
//
// A checkpoint is a database of its own: `open_reader` opens it, `verify`
// checks it, and a node can be started on it (runtime/backup.hpp places it
// at `<data>/db` of a restored data folder). It gets a chain witness
// (storage/witness.hpp) of its own, naming its last packet, so that a
// restored log shorter than what the backup held is reported as loss.

#include "storage/reader.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace omniva::storage {

/// What a checkpoint holds.
struct checkpoint_info {
  /// The checkpoint's folder, as given.
  std::string path;
  /// The packets of its log: its last sequence number (0 for an empty log).
  uint64_t packets = 0;
  /// The id of its last packet ("" for an empty log).
  std::string head;
};

/// Takes a checkpoint of the database open for writing behind `r` (the
/// node's own reader: a primary instance) into folder `dir`, which must not
/// exist (its parent must; RocksDB creates it and renames it into place
/// once complete), then opens it for reading to find the end of its log and
/// writes its chain witness. Thread-safe; safe while the committer commits
/// (it blocks no commit, except for the moment the memtables are switched
/// when they are flushed first). Errors: `invalid_argument` (`r` reads a
/// secondary instance, which has no checkpoint of its own to give, or
/// `dir` is not absolute), `storage_error` (`dir` exists; RocksDB failed:
/// its message says why, a full disk included), `corruption` (the
/// checkpoint's log disagrees with its `meta`).
caf::expected<checkpoint_info> make_checkpoint(const reader& r,
                                               const std::string& dir);

/// The end of the log of the database in folder `dir`, opened for reading
/// (also one a process writes): the number of packets and the id of the
/// last (`path` is `dir`). Errors: those of `open_reader`, `corruption`
/// (`meta` names a head the log does not hold at its count).
caf::expected<checkpoint_info> log_end_of(const std::string& dir);

} // namespace omniva::storage
