#pragma once

// The one libmagic wrapper of the engine: what a file's bytes say its media
// type is. The asset store (files registered or uploaded) and the local
// adapter (outputs a module wrote without declaring their type) both ask
// here, with the same flags, so the same bytes get the same answer whether
// they arrive as an input or are produced as an output.
//
// It lives in storage/ because contracts/ stays free of system libraries
// beyond OpenSSL; the runtime links storage already.

#include <string>

namespace omniva::storage {

/// Returns libmagic's media type for the file at `path` (flags
/// `MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_SYMLINK`: the type alone, no
/// charset; an unreadable file is an error, not a description; a symbolic
/// link is followed), e.g. "image/png", "text/plain", "inode/x-empty".
/// Empty when libmagic has no answer (the file cannot be read) or cannot be
/// loaded. libmagic's raw answer: callers apply their own rules on top (see
/// `asset_store::detect_media_type`). Thread-safe: one libmagic handle per
/// thread, opened on first use.
std::string magic_media_type(const std::string& path);

} // namespace omniva::storage
