#include "contracts/sha256.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace omniva::contracts {

namespace {

/// The algorithm, fetched once: OpenSSL 3 looks it up again on every
/// `EVP_sha256()` init, and an EVP_MD is safe to share between threads.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return algorithm;
}

/// Bytes read per step by `sha256_file`.
constexpr size_t file_chunk = size_t{1} << 18;

} // namespace

void sha256_hasher::context_deleter::operator()(evp_md_ctx_st* ctx) const noexcept {
  EVP_MD_CTX_free(ctx);
}

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
  auto* algorithm = sha256_algorithm();
  ok_ = ctx_ != nullptr && algorithm != nullptr
        && EVP_DigestInit_ex(ctx_.get(), algorithm, nullptr) == 1;
}

sha256_hasher::~sha256_hasher() = default;

void sha256_hasher::update(std::string_view bytes) noexcept {
  update(bytes.data(), bytes.size());
}

void sha256_hasher::update(const void* data, size_t n) noexcept {
  ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), data, n) == 1;
}

std::optional<digest> sha256_hasher::finish() noexcept {
  if (!ok_)
    return std::nullopt;
  ok_ = false;
  digest d{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &size) != 1 || size != d.size())
    return std::nullopt;
  return d;
}

std::optional<file_digest> sha256_file(const std::string& path,
                                       const std::function<void()>& progress,
                                       uint64_t progress_every) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  sha256_hasher hasher;
  std::vector<char> chunk(file_chunk);
  uint64_t size = 0;
  uint64_t next_progress = progress_every;
  bool failed = false;
  while (true) {
    auto got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      failed = true;
      break;
    }
    if (got == 0)
      break;
    hasher.update(chunk.data(), static_cast<size_t>(got));
    size += static_cast<uint64_t>(got);
    if (progress && progress_every > 0 && size >= next_progress) {
      progress();
      next_progress = size + progress_every;
    }
  }
  ::close(fd);
  if (failed)
    return std::nullopt;
  auto d = hasher.finish();
  if (!d)
    return std::nullopt;
  return file_digest{to_hex(*d), size};
}

} // namespace omniva::contracts
