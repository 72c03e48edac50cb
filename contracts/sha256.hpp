#pragma once

// SHA-256 over data that arrives in pieces: a file streamed from disk, a
// copy hashed while it is written. The one-shot `sha256(bytes)` and the
// `digest` type live in packet.hpp beside the packet id they serve; this
// header adds the streaming form and "hash this file", so that the asset
// store and the adapters hash files one way.

#include "contracts/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL's context type (EVP_MD_CTX), declared so that this header does
// not pull in OpenSSL's.
struct evp_md_ctx_st;

namespace omniva::contracts {

/// An incremental SHA-256: `update` with each piece, then `finish` once.
/// Produces the same digest as `sha256` over the concatenated pieces. Not
/// thread-safe; use one per stream.
class sha256_hasher {
public:
  /// Starts an empty stream.
  sha256_hasher();

  /// Frees the OpenSSL context.
  ~sha256_hasher();

  /// Not copyable: one stream, one owner.
  sha256_hasher(const sha256_hasher&) = delete;

  /// Not copyable: one stream, one owner.
  sha256_hasher& operator=(const sha256_hasher&) = delete;

  /// Adds `bytes` to the stream.
  void update(std::string_view bytes) noexcept;

  /// Adds `n` bytes at `data` to the stream.
  void update(const void* data, size_t n) noexcept;

  /// Returns the digest of everything added, or nullopt when OpenSSL failed
  /// at any step (it never does short of running out of memory). Ends the
  /// stream: later calls answer nullopt.
  std::optional<digest> finish() noexcept;

private:
  /// Frees OpenSSL's context.
  struct context_deleter {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_md_ctx_st, context_deleter> ctx_;
  bool ok_ = false;
};

/// The SHA-256 and the size of a file's content.
struct file_digest {
  /// 64 lowercase hex digits.
  std::string sha256;
  /// Bytes read.
  uint64_t size = 0;
};

/// How often `sha256_file` calls its progress callback by default: every
/// 256 MiB read (hashing a large media file takes seconds).
inline constexpr uint64_t sha256_file_progress_bytes = uint64_t{256} << 20;

/// Returns the SHA-256 and size of the file at `path`, read in chunks;
/// nullopt when it cannot be opened or read. Calls `progress` (when set)
/// each time another `progress_every` bytes have been read, so that a
/// caller who must show signs of life (a worker's heartbeat) can. Thread-
/// safe.
std::optional<file_digest>
sha256_file(const std::string& path, const std::function<void()>& progress = {},
            uint64_t progress_every = sha256_file_progress_bytes);

} // namespace omniva::contracts
