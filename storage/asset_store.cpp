#include "storage/asset_store.hpp"

#include "contracts/error_code.hpp"
#include "contracts/media_type.hpp"
#include "contracts/sha256.hpp"
#include "storage/media_detect.hpp"

#include <simdjson.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

namespace fs = std::filesystem;

namespace {

/// Bytes read and written per step while copying or hashing.
constexpr size_t chunk_size = size_t{1} << 20;

/// The mode of a blob: read-only for everyone; the data folder's own
/// permissions decide who can reach it.
constexpr mode_t blob_mode = 0444;

std::string in_quotes(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 2);
  out += '\'';
  out += path;
  out += '\'';
  return out;
}

std::string errno_text(int err) {
  return std::error_code{err, std::generic_category()}.message();
}

caf::error io_error(std::string what, int err) {
  return make_error(ec::io_error, std::move(what) + ": " + errno_text(err));
}

/// A file descriptor that closes itself.
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {
  }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
  }
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    reset();
  }
  int get() const noexcept {
    return fd_;
  }
  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }
  /// Closes now and reports whether the close succeeded (a deferred write
  /// error can surface here).
  int close() noexcept {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }
  void reset() noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

/// A temp file that is deleted unless released (renamed into place).
class temp_file_guard {
public:
  explicit temp_file_guard(std::string path) : path_(std::move(path)) {
  }
  temp_file_guard(const temp_file_guard&) = delete;
  temp_file_guard& operator=(const temp_file_guard&) = delete;
  ~temp_file_guard() {
    if (!path_.empty())
      ::unlink(path_.c_str());
  }
  const std::string& path() const noexcept {
    return path_;
  }
  void release() noexcept {
    path_.clear();
  }

private:
  std::string path_;
};

// -- hashing -----------------------------------------------------------------

caf::error hash_failed() {
  return make_error(ec::storage_error,
                    "computing a SHA-256 failed inside OpenSSL");
}

// -- plain file operations -----------------------------------------------------

/// Reads up to `n` bytes, retrying on EINTR; -1 on error.
ssize_t read_some(int fd, char* buf, size_t n) {
  for (;;) {
    auto got = ::read(fd, buf, n);
    if (got >= 0 || errno != EINTR)
      return got;
  }
}

/// Writes all `n` bytes; false (errno set) on error.
bool write_all(int fd, const char* buf, size_t n) {
  while (n > 0) {
    auto put = ::write(fd, buf, n);
    if (put < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    buf += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

/// fsyncs a folder, so that a rename or a new entry inside it is durable.
caf::error sync_dir(const std::string& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    return io_error("cannot open folder " + in_quotes(dir), errno);
  if (::fsync(fd.get()) != 0)
    return io_error("cannot sync folder " + in_quotes(dir), errno);
  return {};
}

/// Opens a file to be added: the last component must not be a symlink and
/// the file must be regular. O_NONBLOCK keeps a FIFO from blocking the open;
/// it changes nothing for a regular file.
caf::expected<unique_fd> open_source(const std::string& path) {
  unique_fd fd{
    ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
  if (!fd) {
    auto err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return make_error(ec::not_found, "no file at " + in_quotes(path));
    if (err == ELOOP)
      return make_error(ec::path_not_allowed,
                        in_quotes(path)
                          + " is a symbolic link; register the real path "
                            "that check_allowed returns");
    return io_error("cannot open " + in_quotes(path), err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return io_error("cannot stat " + in_quotes(path), errno);
  if (!S_ISREG(st.st_mode))
    return make_error(ec::invalid_argument,
                      in_quotes(path) + " is not a regular file");
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0)
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

caf::error check_media_type(const std::optional<std::string>& media_type) {
  if (media_type && !contracts::is_valid_media_type(*media_type, false))
    return make_error(ec::invalid_media_type,
                      in_quotes(*media_type)
                        + " is not a media type of the form type/subtype");
  return {};
}

/// Whether `inner` equals `outer` or lies below it, comparing whole path
/// components (so `/data2` is not inside `/data`). Both must be normalised
/// absolute paths.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o) {
    if (o->empty()) // A trailing separator yields an empty last element.
      continue;
    if (i == inner.end() || *i != *o)
      return false;
    ++i;
  }
  return true;
}

/// The resolved roots; those that do not exist are dropped.
std::vector<fs::path> canonical_roots(const std::vector<std::string>& roots) {
  std::vector<fs::path> out;
  out.reserve(roots.size());
  for (const auto& r : roots) {
    if (r.empty())
      continue;
    std::error_code err;
    auto c = fs::canonical(r, err);
    if (!err)
      out.push_back(std::move(c));
  }
  return out;
}

bool inside_any(const fs::path& p, const std::vector<fs::path>& roots) {
  for (const auto& r : roots)
    if (is_within(p, r))
      return true;
  return false;
}

/// Whether the file at `path` is, as a whole, a JSON object or array.
bool is_json_container(const std::string& path) {
  std::error_code err;
  auto size = fs::file_size(path, err);
  if (err || size == 0 || size > max_json_sniff_size)
    return false;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(path).get(doc) != simdjson::SUCCESS)
    return false;
  auto t = doc.type();
  return t == simdjson::dom::element_type::OBJECT
         || t == simdjson::dom::element_type::ARRAY;
}

/// Whether `key` is a contract key (`^[A-Za-z_][A-Za-z0-9_-]*$`, 1..128).
bool is_contract_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 128)
    return false;
  auto alpha = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  if (!alpha(key.front()))
    return false;
  for (char c : key)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '-')
      return false;
  return true;
}

/// Creates a unique temp file from `pattern` (ending in "XXXXXX", replaced
/// in place).
caf::expected<unique_fd> make_temp(std::string& pattern) {
  unique_fd fd{::mkostemp(pattern.data(), O_CLOEXEC)};
  if (!fd)
    return io_error("cannot create a temp file like " + in_quotes(pattern),
                    errno);
  return fd;
}

} // namespace

// -- asset_store -------------------------------------------------------------

std::vector<std::string> default_allowed_roots(const std::string& data_dir) {
  std::error_code err;
  auto cwd = fs::current_path(err);
  std::vector<std::string> out;
  if (!err)
    out.push_back(cwd.string());
  out.push_back(fs::absolute(data_dir, err).lexically_normal().string());
  return out;
}

asset_store::asset_store(const std::string& data_dir) {
  std::error_code err;
  auto abs = fs::absolute(data_dir, err).lexically_normal();
  if (err)
    abs = fs::path{data_dir};
  // "a/b/" normalises to "a/b/": drop the empty last element.
  if (!abs.has_filename() && abs.has_parent_path() && abs != abs.root_path())
    abs = abs.parent_path();
  data_dir_ = abs.string();
  blob_dir_ = (abs / "blobs" / "sha256").string();
  temp_dir_ = (abs / "tmp").string();
  fs::create_directories(blob_dir_, err);
  fs::create_directories(temp_dir_, err);
}

size_t asset_store::sweep_temp_dir() {
  std::error_code err;
  size_t removed = 0;
  std::vector<fs::path> entries;
  for (auto& e : fs::directory_iterator(temp_dir(), err))
    entries.push_back(e.path());
  for (auto& p : entries)
    if (fs::remove_all(p, err) > 0 && !err)
      ++removed;
  return removed;
}

std::string asset_store::temp_dir() const {
  std::error_code ignored;
  fs::create_directories(temp_dir_, ignored);
  return temp_dir_;
}

std::string asset_store::blob_path(std::string_view sha256_hex) const {
  std::string out = blob_dir_;
  out += '/';
  out += sha256_hex.substr(0, 2);
  out += '/';
  out += sha256_hex;
  return out;
}

namespace {

/// Moves the finished, fsynced file `from` to `to` (in `shard`, below
/// `blob_dir`) unless a blob of the same size is there already, in which case
/// `from` is deleted. Returns whether the blob existed (dedup).
caf::expected<bool> install_blob(const std::string& from, const std::string& to,
                                 const std::string& shard,
                                 const std::string& blob_dir, uint64_t size) {
  std::error_code err;
  bool new_shard = !fs::exists(shard, err);
  fs::create_directories(shard, err);
  if (err)
    return io_error("cannot create folder " + in_quotes(shard),
                    err.value());
  if (new_shard)
    if (auto e = sync_dir(blob_dir))
      return e;
  // RENAME_NOREPLACE makes "is it there already?" and "put it there" one
  // step, so two threads adding the same content cannot both install it.
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE)
      == 0) {
    if (auto e = sync_dir(shard))
      return e;
    return false;
  }
  auto rename_err = errno;
  if (rename_err != EEXIST && rename_err != EINVAL && rename_err != ENOSYS)
    return io_error("cannot move " + in_quotes(from) + " to " + in_quotes(to),
                    rename_err);
  // The blob exists (or the file system cannot say atomically). A blob of
  // the right size is the same content: keep it, drop the new copy. One of
  // another size is damaged: replace it (rename replaces atomically).
  struct stat st {};
  if (::stat(to.c_str(), &st) == 0 && S_ISREG(st.st_mode)
      && static_cast<uint64_t>(st.st_size) == size) {
    ::unlink(from.c_str());
    // The blob is wanted again: its new modification time tells retention,
    // which planned to remove it as unreferenced, to keep it (the janitor
    // re-reads the time before it deletes).
    ::utimensat(AT_FDCWD, to.c_str(), nullptr, 0);
    return true;
  }
  if (::rename(from.c_str(), to.c_str()) != 0)
    return io_error("cannot move " + in_quotes(from) + " to " + in_quotes(to),
                    errno);
  if (auto e = sync_dir(shard))
    return e;
  return false;
}

/// What one pass over a file's bytes found.
struct hashed_bytes {
  /// The SHA-256 of the bytes, 64 lowercase hex digits.
  std::string hex;
  /// How many bytes there were.
  uint64_t size = 0;
};

/// Reads descriptor `from` (the file `from_path`) to its end, hashing every
/// byte and, when `to` is a descriptor (not -1), writing each byte there too
/// (the file `to_path`): one pass, so the hash is of exactly the bytes
/// written.
caf::expected<hashed_bytes> hash_through(int from, const std::string& from_path,
                                         int to, const std::string& to_path) {
  contracts::sha256_hasher hash;
  hashed_bytes result;
  auto buf = std::make_unique<char[]>(chunk_size);
  for (;;) {
    auto got = read_some(from, buf.get(), chunk_size);
    if (got < 0)
      return io_error("cannot read " + in_quotes(from_path), errno);
    if (got == 0)
      break;
    auto n = static_cast<size_t>(got);
    hash.update(buf.get(), n);
    if (to != -1 && !write_all(to, buf.get(), n))
      return io_error("cannot write " + in_quotes(to_path), errno);
    result.size += n;
  }
  auto digest = hash.finish();
  if (!digest)
    return hash_failed();
  result.hex = contracts::to_hex(*digest);
  return result;
}

/// Makes the blob-to-be behind descriptor `fd` (the file `path`) read-only
/// and its data durable, before it is renamed into the store.
caf::error seal_blob_file(int fd, const std::string& path) {
  if (::fchmod(fd, blob_mode) != 0)
    return io_error("cannot make " + in_quotes(path) + " read-only", errno);
  if (::fsync(fd) != 0)
    return io_error("cannot sync " + in_quotes(path), errno);
  return caf::none;
}

} // namespace

std::vector<std::string> node_secret_paths(const std::string& data_dir) {
  std::vector<std::string> out;
  for (auto name : node_secret_names)
    out.push_back((fs::path{data_dir} / name).lexically_normal().string());
  return out;
}

caf::error asset_store::check_not_secret(const std::string& path) const {
  std::error_code err;
  auto data = fs::weakly_canonical(data_dir_, err);
  if (err)
    data = fs::path{data_dir_};
  auto real = fs::weakly_canonical(path, err);
  if (err)
    real = fs::absolute(path, err).lexically_normal();
  struct stat file {};
  bool have_file = ::stat(path.c_str(), &file) == 0;
  for (auto name : node_secret_names) {
    auto secret = data / name;
    // By path (the secret itself, or anything inside a secret folder), and
    // by identity: a hard link to a secret file elsewhere is that file.
    bool same = is_within(real, secret);
    struct stat st {};
    if (!same && have_file && ::stat(secret.c_str(), &st) == 0
        && S_ISREG(st.st_mode))
      same = st.st_dev == file.st_dev && st.st_ino == file.st_ino;
    if (same)
      return make_error(ec::path_not_allowed,
                        in_quotes(path) + " is the node's own secret "
                          + in_quotes(secret.string())
                          + ": it cannot be registered as an asset");
  }
  return {};
}

caf::expected<stored_blob>
asset_store::add_file(const std::string& path,
                      std::optional<std::string> media_type) {
  if (auto e = check_media_type(media_type))
    return e;
  if (auto e = check_not_secret(path))
    return e;
  auto src = open_source(path);
  if (!src)
    return std::move(src.error());
  std::error_code ignored;
  fs::create_directories(temp_dir_, ignored);
  std::string temp_path = temp_dir_ + "/blob-XXXXXX";
  auto dst = make_temp(temp_path);
  if (!dst)
    return std::move(dst.error());
  temp_file_guard guard{temp_path};
  // Copy and hash in one pass: the hash is of the bytes we wrote, whatever
  // the user's file does meanwhile.
  auto hashed = hash_through(src->get(), path, dst->get(), temp_path);
  src->reset();
  if (!hashed)
    return std::move(hashed.error());
  if (auto e = seal_blob_file(dst->get(), temp_path))
    return e;
  if (dst->close() != 0)
    return io_error("cannot close " + in_quotes(temp_path), errno);
  auto result = install(temp_path, std::move(hashed->hex), hashed->size,
                        std::move(media_type));
  if (result)
    guard.release();
  return result;
}

caf::expected<stored_blob>
asset_store::add_temp_file(const std::string& temp_path,
                           std::optional<std::string> media_type) {
  if (auto e = check_media_type(media_type))
    return e;
  auto src = open_source(temp_path);
  if (!src)
    return std::move(src.error());
  // Only uploads move: a file anywhere else is the user's, and add_file
  // copies it instead.
  std::error_code err1;
  std::error_code err2;
  std::error_code err3;
  auto parent = fs::canonical(fs::absolute(temp_path, err1).parent_path(),
                              err2);
  auto tmp = fs::canonical(temp_dir_, err3);
  if (err1 || err2 || err3 || !is_within(parent, tmp))
    return make_error(ec::invalid_argument,
                      in_quotes(temp_path) + " is not inside the upload folder "
                        + in_quotes(temp_dir_));
  auto hashed = hash_through(src->get(), temp_path, -1, {});
  if (!hashed)
    return std::move(hashed.error());
  // The uploader may not have synced; a read-only descriptor syncs the
  // file's data all the same.
  if (auto e = seal_blob_file(src->get(), temp_path))
    return e;
  src->reset();
  return install(temp_path, std::move(hashed->hex), hashed->size,
                 std::move(media_type));
}

caf::expected<stored_blob>
asset_store::install(const std::string& temp_path, std::string hex,
                     uint64_t size, std::optional<std::string> media_type) {
  stored_blob result;
  result.sha256 = std::move(hex);
  result.size = size;
  result.path = blob_path(result.sha256);
  auto shard = blob_dir_ + "/" + result.sha256.substr(0, 2);
  auto existed = install_blob(temp_path, result.path, shard, blob_dir_, size);
  if (!existed)
    return std::move(existed.error());
  result.deduplicated = *existed;
  result.media_type = media_type ? std::move(*media_type)
                                 : detect_media_type(result.path);
  return result;
}

caf::expected<std::string>
asset_store::check_allowed(const std::string& path,
                           const std::vector<std::string>& roots) {
  if (path.empty())
    return make_error(ec::invalid_argument, "a file path must not be empty");
  // The system would read the path up to the NUL: another file than named.
  if (path.find('\0') != std::string::npos)
    return make_error(ec::invalid_argument,
                      "a file path must not contain a NUL byte");
  fs::path given{path};
  if (!given.is_absolute())
    return make_error(ec::invalid_argument,
                      in_quotes(path) + " is not an absolute path");
  auto allowed = canonical_roots(roots);
  std::error_code err;
  auto real = fs::canonical(given, err);
  if (err) {
    auto code = err.value();
    if (code != ENOENT && code != ENOTDIR && code != ELOOP)
      return make_error(ec::io_error,
                        "cannot resolve " + in_quotes(path) + ": "
                          + err.message());
    // Missing (or a symlink loop). Where would it be? Resolve what exists:
    // outside the roots it is refused, so nobody learns what exists there.
    std::error_code err2;
    auto partial = fs::weakly_canonical(given, err2);
    if (err2 || !inside_any(partial, allowed))
      return make_error(ec::path_not_allowed,
                        in_quotes(path) + " is outside the allowed roots");
    if (code == ELOOP)
      return make_error(ec::invalid_argument,
                        in_quotes(path) + " is a loop of symbolic links");
    return make_error(ec::not_found, "no file at " + in_quotes(path));
  }
  if (!inside_any(real, allowed)) {
    auto where = real == given.lexically_normal()
                   ? in_quotes(path)
                   : in_quotes(path) + " (really " + in_quotes(real.string()) + ")";
    return make_error(ec::path_not_allowed,
                      where + " is outside the allowed roots");
  }
  auto st = fs::status(real, err);
  if (err)
    return make_error(ec::io_error,
                      "cannot stat " + in_quotes(path) + ": " + err.message());
  if (st.type() == fs::file_type::directory)
    return make_error(ec::invalid_argument,
                      in_quotes(path) + " is a directory, not a file");
  if (st.type() != fs::file_type::regular)
    return make_error(ec::invalid_argument,
                      in_quotes(path) + " is not a regular file");
  return real.string();
}

caf::expected<std::string>
asset_store::write_value_file(const std::string& dir, const std::string& key,
                              const std::string& value_json) {
  if (!is_contract_key(key))
    return make_error(ec::invalid_argument,
                      in_quotes(key)
                        + " is not an input key (letters, digits, '_' and "
                          "'-', not starting with a digit or '-')");
  {
    simdjson::dom::parser parser;
    simdjson::padded_string text{value_json};
    simdjson::dom::element doc;
    if (parser.parse(text).get(doc) != simdjson::SUCCESS)
      return make_error(ec::invalid_json,
                        "the value of " + in_quotes(key) + " is not JSON");
  }
  std::error_code err;
  fs::create_directories(dir, err);
  if (err)
    return make_error(ec::io_error, "cannot create folder " + in_quotes(dir)
                                      + ": " + err.message());
  auto target = (fs::path{dir} / (key + ".json")).string();
  auto temp_path = (fs::path{dir} / ("." + key + ".json.XXXXXX")).string();
  auto fd = make_temp(temp_path);
  if (!fd)
    return std::move(fd.error());
  temp_file_guard guard{temp_path};
  if (!write_all(fd->get(), value_json.data(), value_json.size()))
    return io_error("cannot write " + in_quotes(temp_path), errno);
  // Readable like any file the worker is given (mkostemp makes it 0600).
  ::fchmod(fd->get(), 0644);
  if (fd->close() != 0)
    return io_error("cannot close " + in_quotes(temp_path), errno);
  if (::rename(temp_path.c_str(), target.c_str()) != 0)
    return io_error("cannot move " + in_quotes(temp_path) + " to "
                      + in_quotes(target),
                    errno);
  guard.release();
  return target;
}

std::string asset_store::detect_media_type(const std::string& path) {
  auto answer = magic_media_type(path);
  if (answer.empty() || answer.starts_with("inode/")
      || !contracts::is_valid_media_type(answer, false))
    return std::string{unknown_media_type};
  if (answer == "text/plain" && is_json_container(path))
    return "application/json";
  return answer;
}

} // namespace omniva::storage
