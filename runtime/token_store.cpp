#include "runtime/token_store.hpp"

#include "contracts/hex.hpp"
#include "contracts/packet.hpp"

#include <openssl/rand.h>

#include <spdlog/spdlog.h>

#include <array>
#include <filesystem>
#include <mutex>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace omniva::runtime {

using contracts::ec;
using contracts::make_error;

caf::expected<std::string> make_token_secret() {
  std::array<uint8_t, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    return make_error(ec::io_error,
                      "the random generator gave no bytes for a token secret");
  return std::string{token_secret_prefix} + contracts::to_hex(bytes);
}

std::string secret_sha256(std::string_view secret) {
  return contracts::to_hex(contracts::sha256(secret));
}

caf::error write_secret_file(const std::string& path, std::string_view secret) {
  auto tmp = path + ".tmp";
  auto fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ec::io_error, "cannot write " + tmp);
  // A file left by an earlier run may have other permissions.
  ::fchmod(fd, 0600);
  std::string line{secret};
  line += '\n';
  auto written = ::write(fd, line.data(), line.size());
  auto synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()) || !synced) {
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot replace " + path);
  }
  // The rename is durable once the folder is.
  auto dir = std::filesystem::path{path}.parent_path().string();
  if (auto dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return caf::none;
}

namespace {

/// A token row as a record; `corruption` when it does not parse or names
/// another token than its key.
caf::expected<contracts::token_record> read_token_row(std::string_view key,
                                                      const std::string& text) {
  auto doc = json::parse(text);
  std::vector<contracts::problem> problems;
  auto t = doc ? contracts::token_record_from_json(*doc.doc, problems)
               : std::nullopt;
  if (!t || contracts::token_subject(t->name) != key)
    return make_error(ec::corruption,
                      "token row " + std::string{key} + " does not parse");
  return std::move(*t);
}

} // namespace

token_store::token_store(std::shared_ptr<const storage::reader> reader,
                         std::shared_ptr<contracts::clock_source> clock)
  : reader_(std::move(reader)), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = std::make_shared<contracts::system_clock>();
}

caf::error token_store::load() {
  std::unique_lock guard{mtx_};
  auto rows = reader_->scan(storage::table::tokens, "");
  if (!rows)
    return rows.error();
  std::vector<contracts::token_record> loaded;
  for (auto& [key, text] : *rows) {
    auto t = read_token_row(key, text);
    if (!t)
      return t.error();
    loaded.push_back(std::move(*t));
  }
  by_hash_.clear();
  hash_of_.clear();
  for (auto& t : loaded)
    put_locked(t);
  return caf::none;
}

caf::error token_store::refresh(std::string_view name) {
  std::unique_lock guard{mtx_};
  auto key = contracts::token_subject(name);
  auto row = reader_->get(storage::table::tokens, key);
  if (!row) {
    auto& e = row.error();
    if (e.category() == contracts::error_category
        && e.code() == static_cast<uint8_t>(ec::not_found)) {
      remove_locked(name);
      return caf::none;
    }
    return e;
  }
  auto t = read_token_row(key, *row);
  if (!t)
    return t.error();
  put_locked(*t);
  return caf::none;
}

void token_store::on_events(const std::vector<contracts::committed_event>& events) {
  auto prefix = contracts::token_subject_prefix;
  for (auto& e : events) {
    if (e.kind.rfind("token.", 0) != 0 || e.subject.rfind(prefix, 0) != 0)
      continue;
    auto name = std::string_view{e.subject}.substr(prefix.size());
    if (auto err = refresh(name))
      spdlog::error("tokens: cannot read the token {} after {}: {}", name,
                    e.kind,
                    contracts::render_error(err.code(), err.category(),
                                            err.context()));
  }
}

void token_store::put(const contracts::token_record& t) {
  std::unique_lock guard{mtx_};
  put_locked(t);
}

void token_store::remove(std::string_view name) {
  std::unique_lock guard{mtx_};
  remove_locked(name);
}

void token_store::put_locked(const contracts::token_record& t) {
  remove_locked(t.name);
  entry e{t.name, t.role, std::nullopt};
  if (t.expires_at) {
    // A row's expiry always parses (read_token_row checked it); one that
    // does not is taken as already passed.
    e.expires = contracts::parse_timestamp(*t.expires_at)
                  .value_or(contracts::timestamp{});
  }
  by_hash_[t.secret_sha256] = std::move(e);
  hash_of_[t.name] = t.secret_sha256;
}

void token_store::remove_locked(std::string_view name) {
  auto i = hash_of_.find(std::string{name});
  if (i == hash_of_.end())
    return;
  if (auto j = by_hash_.find(i->second);
      j != by_hash_.end() && j->second.name == name)
    by_hash_.erase(j);
  hash_of_.erase(i);
}

std::optional<principal> token_store::authenticate(std::string_view secret) const {
  if (secret.empty())
    return std::nullopt;
  auto hash = secret_sha256(secret);
  std::shared_lock guard{mtx_};
  auto i = by_hash_.find(hash);
  if (i == by_hash_.end())
    return std::nullopt;
  if (i->second.expires && clock_->now() >= *i->second.expires)
    return std::nullopt;
  return principal{i->second.name, i->second.role};
}

std::optional<token_store::named_token>
token_store::find(std::string_view name) const {
  std::shared_lock guard{mtx_};
  auto i = hash_of_.find(std::string{name});
  if (i == hash_of_.end())
    return std::nullopt;
  auto j = by_hash_.find(i->second);
  if (j == by_hash_.end() || j->second.name != name)
    return std::nullopt;
  if (j->second.expires && clock_->now() >= *j->second.expires)
    return std::nullopt;
  return named_token{principal{j->second.name, j->second.role}, i->second,
                     j->second.expires};
}

http_authenticator
token_store::authenticator(std::shared_ptr<const token_store> store) {
  return [store = std::move(store)](std::string_view secret) {
    return store->authenticate(secret);
  };
}

size_t token_store::size() const {
  std::shared_lock guard{mtx_};
  return hash_of_.size();
}

} // namespace omniva::runtime
