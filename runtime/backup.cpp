// Backups of a data folder: writing one from a running node, checking one
// against its manifest and restoring it (runtime/backup.hpp).

#include "runtime/backup.hpp"

#include "contracts/error_code.hpp"
#include "contracts/hex.hpp"
#include "contracts/ids.hpp"
#include "contracts/module_registration.hpp"
#include "contracts/sha256.hpp"
#include "contracts/status.hpp"
#include "runtime/execution_files.hpp"
#include "storage/backup.hpp"
#include "storage/database.hpp"
#include "storage/relocation.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;
using contracts::make_error;

namespace {

/// The names a backup writes at its top level (what a failed backup
/// removes again), the manifest and its sum aside.
const std::set<std::string> backup_names = {"db",      "blobs",    "outputs",
                                            "modules", "webhooks", "token",
                                            "cluster-secret"};

/// The node's secrets, copied with mode 0600.
constexpr std::string_view secret_names[] = {"token", "cluster-secret"};

/// The bytes read and written at a time.
constexpr size_t chunk_bytes = size_t{1} << 20;

/// At most this many files are named in a refusal.
constexpr size_t max_named_files = 20;

std::string now_text() {
  return contracts::format_timestamp(
    std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now()));
}

std::string errno_text() {
  return std::strerror(errno);
}

/// Whether `inner` lies inside `outer` or is it (both lexically normal,
/// absolute), by whole components.
bool within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty() && std::next(o) == outer.end())
      break; // a trailing separator
    if (i == inner.end() || *i != *o)
      return false;
  }
  return true;
}

/// `p` resolved as far as it exists (symlinks followed), lexically normal.
fs::path real(const fs::path& p) {
  std::error_code err;
  auto out = fs::weakly_canonical(p, err);
  return (err ? p : out).lexically_normal();
}

/// Whether `text` survives a trip through JSON unchanged (valid UTF-8): a
/// path the manifest can name.
bool json_safe(const std::string& text) {
  auto doc = json::parse(json::serialize(json::value{text}));
  return doc && doc.doc->is_string() && doc.doc->as_string() == text;
}

/// Whether a relative path from a manifest stays inside its folder.
bool safe_relative(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos)
    return false;
  fs::path p{path};
  if (p.lexically_normal().string() != path)
    return false;
  for (auto& part : p)
    if (part == ".." || part == ".")
      return false;
  return true;
}

/// fsyncs the folder at `dir` (its entries); errors are ignored (a file
/// system without folder sync).
void sync_dir(const fs::path& dir) {
  auto fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// fsyncs every folder under `root` and `root` itself.
void sync_tree(const fs::path& root) {
  std::error_code err;
  for (auto it = fs::recursive_directory_iterator(root, err);
       !err && it != fs::recursive_directory_iterator(); it.increment(err))
    if (it->is_directory(err) && !it->is_symlink(err))
      sync_dir(it->path());
  sync_dir(root);
}

/// A copy of a file, hashed as it was read.
struct copied_file {
  uint64_t size = 0;
  std::string sha256;
};

/// Copies the regular file `from` to the new file `to` (which must not
/// exist; its folder must), with permission bits `mode`, hashing the bytes
/// on the way; fsyncs the copy. Checks `cancel` between chunks.
caf::expected<copied_file> copy_hashed(const fs::path& from, const fs::path& to,
                                       mode_t mode,
                                       const std::atomic<bool>* cancel) {
  auto in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return make_error(ec::io_error, "cannot read " + from.string() + ": "
                                      + errno_text());
  auto out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    mode & 07777);
  if (out < 0) {
    auto why = errno_text();
    ::close(in);
    return make_error(ec::io_error, "cannot write " + to.string() + ": " + why);
  }
  auto fail = [&](caf::error e) -> caf::expected<copied_file> {
    ::close(in);
    ::close(out);
    return e;
  };
  contracts::sha256_hasher hasher;
  std::string buf(chunk_bytes, '\0');
  copied_file result;
  while (true) {
    if (cancel != nullptr && cancel->load())
      return fail(make_error(ec::cancelled, "the backup was stopped"));
    auto n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail(make_error(ec::io_error, "cannot read " + from.string() + ": "
                                             + errno_text()));
    }
    if (n == 0)
      break;
    hasher.update(buf.data(), static_cast<size_t>(n));
    result.size += static_cast<uint64_t>(n);
    for (ssize_t done = 0; done < n;) {
      auto w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR)
          continue;
        return fail(make_error(ec::io_error, "cannot write " + to.string() + ": "
                                               + errno_text()));
      }
      done += w;
    }
  }
  if (::fsync(out) != 0)
    return fail(make_error(ec::io_error, "cannot write " + to.string() + ": "
                                           + errno_text()));
  // The mode given at creation is masked by the umask: set it as asked.
  ::fchmod(out, mode & 07777);
  ::close(in);
  ::close(out);
  auto d = hasher.finish();
  if (!d)
    return make_error(ec::io_error, "cannot hash " + from.string());
  result.sha256 = contracts::to_hex(*d);
  return result;
}

/// SHA-256 and size of the file at `path`, checking `cancel` between
/// chunks.
caf::expected<copied_file> hash_file(const fs::path& path,
                                     const std::atomic<bool>* cancel) {
  auto fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ec::io_error, "cannot read " + path.string() + ": "
                                      + errno_text());
  contracts::sha256_hasher hasher;
  std::string buf(chunk_bytes, '\0');
  copied_file result;
  while (true) {
    if (cancel != nullptr && cancel->load()) {
      ::close(fd);
      return make_error(ec::cancelled, "the backup was stopped");
    }
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto why = errno_text();
      ::close(fd);
      return make_error(ec::io_error, "cannot read " + path.string() + ": " + why);
    }
    if (n == 0)
      break;
    hasher.update(buf.data(), static_cast<size_t>(n));
    result.size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  auto d = hasher.finish();
  if (!d)
    return make_error(ec::io_error, "cannot hash " + path.string());
  result.sha256 = contracts::to_hex(*d);
  return result;
}

/// Writes `text` to the new file `path`, durably.
caf::error write_new_file(const fs::path& path, const std::string& text) {
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(ec::io_error, "cannot write " + path.string() + ": "
                                      + errno_text());
  auto written = ::write(fd, text.data(), text.size());
  auto synced = ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || synced != 0)
    return make_error(ec::io_error, "cannot write " + path.string());
  return caf::none;
}

/// Removes what a backup or restore wrote into `folder` (the top-level
/// names it writes, `names`, and the manifest with its sum), then `folder`
/// itself when the call made it and it is empty.
void remove_written(const fs::path& folder, bool made_folder,
                    const std::set<std::string>& names) {
  std::error_code err;
  for (auto& name : names)
    fs::remove_all(folder / name, err);
  fs::remove(folder / std::string{manifest_name}, err);
  fs::remove(folder / std::string{manifest_sum_name}, err);
  if (made_folder && fs::is_empty(folder, err))
    fs::remove(folder, err);
}

/// Whether `folder` is missing or an empty folder; an error saying why not
/// (pointer `pointer`, what it is `what`).
caf::error missing_or_empty(const fs::path& folder, const std::string& what,
                            const std::string& pointer) {
  std::error_code err;
  auto st = fs::symlink_status(folder, err);
  if (err || st.type() == fs::file_type::not_found)
    return caf::none;
  if (st.type() != fs::file_type::directory)
    return make_error(ec::invalid_argument, what + " " + folder.string()
                                              + " exists and is not a folder",
                      pointer);
  if (!fs::is_empty(folder, err) || err)
    return make_error(ec::invalid_argument,
                      what + " " + folder.string()
                        + " is not empty: give a new or an empty folder",
                      pointer);
  return caf::none;
}

/// The files placed so far in a backup, by relative path, with the digests
/// of those hashed while copied.
using placed_files = std::map<std::string, std::optional<copied_file>>;

/// The backup being written.
struct backup_writer {
  const backup_request& req;
  fs::path to;
  fs::path data;
  storage::data_relocation relocation;
  backup_summary summary;
  placed_files placed;
  json::array missing;
  json::array external;
  json::array modules;

  void step(const std::string& what) {
    if (req.on_step)
      req.on_step(what);
  }

  caf::error check_cancel() const {
    if (req.cancel != nullptr && req.cancel->load())
      return make_error(ec::cancelled, "the backup was stopped");
    return caf::none;
  }

  caf::error make_parent(const fs::path& p) {
    std::error_code err;
    fs::create_directories(p.parent_path(), err);
    if (err)
      return make_error(ec::io_error, "cannot create " + p.parent_path().string()
                                        + ": " + err.message());
    return caf::none;
  }

  /// Places the data folder's file `rel` at `rel` in the backup: a hard
  /// link, or a copy on another file system.
  caf::error link_or_copy(const std::string& rel) {
    if (placed.count(rel) > 0)
      return caf::none;
    if (auto e = check_cancel())
      return e;
    auto src = data / rel;
    auto dst = to / rel;
    if (auto e = make_parent(dst))
      return e;
    if (::link(src.c_str(), dst.c_str()) == 0) {
      placed.emplace(rel, std::nullopt);
      ++summary.linked;
      return caf::none;
    }
    if (errno != EXDEV && errno != EPERM && errno != EMLINK)
      return make_error(ec::io_error, "cannot link " + src.string() + " to "
                                        + dst.string() + ": " + errno_text());
    struct stat st {};
    if (::stat(src.c_str(), &st) != 0)
      return make_error(ec::io_error, "cannot read " + src.string() + ": "
                                        + errno_text());
    auto copy = copy_hashed(src, dst, st.st_mode, req.cancel);
    if (!copy)
      return copy.error();
    placed.emplace(rel, std::move(*copy));
    ++summary.copied;
    return caf::none;
  }

  /// Copies the regular file `src` to `rel` in the backup.
  caf::error copy_to(const fs::path& src, const std::string& rel,
                     std::optional<mode_t> mode = std::nullopt) {
    if (placed.count(rel) > 0)
      return caf::none;
    if (auto e = check_cancel())
      return e;
    auto dst = to / rel;
    if (auto e = make_parent(dst))
      return e;
    struct stat st {};
    if (::stat(src.c_str(), &st) != 0)
      return make_error(ec::io_error, "cannot read " + src.string() + ": "
                                        + errno_text());
    auto copy = copy_hashed(src, dst, mode.value_or(st.st_mode), req.cancel);
    if (!copy)
      return copy.error();
    placed.emplace(rel, std::move(*copy));
    return caf::none;
  }

  void note_missing(const std::string& path, const std::string& reason,
                    const std::string& asset_id = {}) {
    json::value m{json::object{}};
    m.set("path", path);
    if (!asset_id.empty())
      m.set("asset_id", asset_id);
    m.set("reason", reason);
    missing.push_back(std::move(m));
    ++summary.missing;
  }

  /// Whether `rel` names one of the node's secrets or its database (never
  /// an asset's file).
  static bool reserved(const std::string& rel) {
    auto first = rel.substr(0, rel.find('/'));
    return first == "db" || first == "tmp" || first == "token"
           || first == "cluster-secret" || first == "origin"
           || first == "webhooks";
  }

  /// The files FILE assets of the checkpoint name.
  caf::error place_asset_files(const storage::reader& r) {
    step("assets");
    auto rows = r.scan(storage::table::assets, "");
    if (!rows)
      return rows.error();
    for (auto& [asset_id, text] : *rows) {
      auto doc = json::parse(text);
      if (!doc || !doc.doc->is_object())
        continue;
      auto* kind = doc.doc->find("kind");
      auto* uri = doc.doc->find("uri");
      if (kind == nullptr || !kind->is_string() || kind->as_string() != "FILE"
          || uri == nullptr || !uri->is_string() || uri->as_string().empty())
        continue;
      // Retention removed a PURGED asset's file on purpose: it is not
      // missing, and there is nothing to copy.
      if (auto* status = doc.doc->find("status");
          status != nullptr && status->is_string()
          && status->as_string() == contracts::to_string(contracts::asset_status::purged))
        continue;
      auto rel = relocation.relative(uri->as_string());
      if (rel.empty() || reserved(rel)) {
        json::value x{json::object{}};
        x.set("asset_id", asset_id);
        x.set("uri", uri->as_string());
        external.push_back(std::move(x));
        ++summary.external;
        continue;
      }
      if (placed.count(rel) > 0)
        continue;
      if (!json_safe(rel)) {
        note_missing(rel, "the file's name is not valid UTF-8", asset_id);
        continue;
      }
      std::error_code err;
      if (!fs::is_regular_file(data / rel, err)) {
        note_missing(rel, "the data folder has no such file", asset_id);
        continue;
      }
      if (auto e = link_or_copy(rel))
        return e;
    }
    return caf::none;
  }

  /// The logs of the attempts of finished tasks.
  caf::error place_logs(const storage::reader& r) {
    step("logs");
    auto rows = r.scan(storage::table::tasks, "");
    if (!rows)
      return rows.error();
    for (auto& [task_id, text] : *rows) {
      if (!json_safe(task_id) || task_id.find('/') != std::string::npos
          || task_id == "." || task_id == "..")
        continue;
      auto doc = json::parse(text);
      if (!doc || !doc.doc->is_object())
        continue;
      auto* status = doc.doc->find("status");
      auto* attempt = doc.doc->find("attempt");
      if (status == nullptr || !status->is_string() || attempt == nullptr)
        continue;
      auto st = contracts::task_status_from_string(status->as_string());
      auto n = attempt->as_int64();
      if (!st || !contracts::is_terminal(*st) || !n)
        continue;
      for (int64_t a = 1; a <= *n; ++a)
        for (auto name : {stdout_log_name, stderr_log_name}) {
          auto rel = "outputs/" + task_id + "/" + std::to_string(a) + "/"
                     + std::string{name};
          std::error_code err;
          if (!fs::is_regular_file(data / rel, err))
            continue;
          if (auto e = link_or_copy(rel))
            return e;
        }
    }
    return caf::none;
  }

  /// Copies the regular files of folder `src` (recursively; symlinks to
  /// files followed, to folders left out) to `rel` in the backup; with
  /// `only_suffix`, only the files whose name ends with it.
  caf::error copy_tree(const fs::path& src, const std::string& rel,
                       std::string_view only_suffix = {}) {
    std::error_code err;
    auto it = fs::recursive_directory_iterator(src, err);
    if (err)
      return make_error(ec::io_error, "cannot read " + src.string() + ": "
                                        + err.message());
    std::error_code mk;
    fs::create_directories(to / rel, mk);
    for (; it != fs::recursive_directory_iterator(); it.increment(err)) {
      if (err)
        return make_error(ec::io_error, "cannot read " + src.string() + ": "
                                          + err.message());
      std::error_code e2;
      if (!it->is_regular_file(e2))
        continue;
      // A file being replaced (written as NAME.tmp, then renamed over NAME,
      // as the webhook thread saves its state) is copied under its final
      // name, never mid-write.
      if (it->path().extension() == ".tmp")
        continue;
      auto inner = fs::relative(it->path(), src, e2).string();
      if (!only_suffix.empty()
          && (inner.size() < only_suffix.size()
              || inner.compare(inner.size() - only_suffix.size(),
                               only_suffix.size(), only_suffix)
                   != 0))
        continue;
      auto target = rel + "/" + inner;
      if (e2 || !safe_relative(target) || !json_safe(target)) {
        note_missing(it->path().string(),
                     "the file's name cannot be written in the manifest");
        continue;
      }
      if (auto e = copy_to(it->path(), target)) {
        // Gone between the listing and the copy (replaced by a rename, or
        // removed): the folder holds no such file any more.
        std::error_code gone;
        if (!fs::exists(it->path(), gone) && !gone)
          continue;
        return e;
      }
    }
    return caf::none;
  }

  /// The `schemas/*.json` and `policies/*.json` of folder `parent` (a
  /// folder holding module folders), into `modules/schemas`, `modules/
  /// policies`; a name copied already is left as it is.
  caf::error copy_registry_files(const fs::path& parent) {
    for (auto sub : {"schemas", "policies"}) {
      std::error_code err;
      auto dir = parent / sub;
      if (!fs::is_directory(dir, err))
        continue;
      for (auto& entry : fs::directory_iterator(dir, err)) {
        std::error_code e2;
        if (!entry.is_regular_file(e2)
            || entry.path().extension() != ".json")
          continue;
        auto target = std::string{"modules/"} + sub + "/"
                      + entry.path().filename().string();
        if (!json_safe(target))
          continue;
        if (auto e = copy_to(entry.path(), target))
          return e;
      }
    }
    return caf::none;
  }

  /// The folder of each registered module, as `modules/<folder name>`.
  caf::error place_modules(const storage::reader& r) {
    step("modules");
    auto rows = r.scan(storage::table::modules, "");
    if (!rows)
      return rows.error();
    std::map<std::string, std::string> folder_of; // source dir -> rel
    std::set<std::string> taken{"schemas", "policies"};
    std::set<std::string> parents;
    for (auto& [ref, text] : *rows) {
      auto row = contracts::read_module_row(text);
      if (!row || row->dir.empty())
        continue;
      auto dir = fs::path{relocation.resolve(row->dir)}.lexically_normal();
      std::error_code err;
      if (!fs::is_directory(dir, err)) {
        note_missing(dir.string(), "the folder of module " + ref
                                     + " does not exist");
        continue;
      }
      auto i = folder_of.find(dir.string());
      if (i == folder_of.end()) {
        auto base = dir.filename().string();
        if (base.empty() || base == "." || base == ".." || !json_safe(base))
          base = ref.substr(0, ref.find('@'));
        auto name = base;
        for (int k = 2; taken.count(name) > 0; ++k)
          name = base + "-" + std::to_string(k);
        taken.insert(name);
        auto rel = "modules/" + name;
        if (auto e = copy_tree(dir, rel))
          return e;
        i = folder_of.emplace(dir.string(), rel).first;
        ++summary.modules;
        parents.insert(dir.parent_path().string());
      }
      json::value m{json::object{}};
      m.set("ref", ref);
      m.set("dir", dir.string());
      m.set("path", i->second);
      modules.push_back(std::move(m));
    }
    for (auto& p : parents)
      if (auto e = copy_registry_files(p))
        return e;
    return caf::none;
  }

  caf::error place_secrets() {
    step("secrets");
    for (auto name : secret_names) {
      std::error_code err;
      auto src = data / std::string{name};
      if (!fs::is_regular_file(src, err))
        continue;
      if (auto e = copy_to(src, std::string{name}, mode_t{0600}))
        return e;
    }
    return caf::none;
  }

  /// Every file of the backup, hashed (what was hashed while copied is
  /// not read again).
  caf::expected<std::vector<backup_file>> list_files() {
    step("hashing");
    std::vector<backup_file> out;
    std::error_code err;
    for (auto it = fs::recursive_directory_iterator(to, err);
         it != fs::recursive_directory_iterator(); it.increment(err)) {
      if (err)
        return make_error(ec::io_error, "cannot read " + to.string() + ": "
                                          + err.message());
      std::error_code e2;
      if (!it->is_regular_file(e2) || it->is_symlink(e2))
        continue;
      auto rel = fs::relative(it->path(), to, e2).string();
      if (rel == manifest_name || rel == manifest_sum_name)
        continue;
      backup_file f;
      f.path = rel;
      auto i = placed.find(rel);
      if (i != placed.end() && i->second) {
        f.size = i->second->size;
        f.sha256 = i->second->sha256;
      } else {
        auto h = hash_file(it->path(), req.cancel);
        if (!h)
          return h.error();
        f.size = h->size;
        f.sha256 = std::move(h->sha256);
      }
      out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(),
              [](auto& x, auto& y) { return x.path < y.path; });
    return out;
  }
};

} // namespace

// -- the destination -----------------------------------------------------------------

caf::error check_backup_destination(const std::string& to,
                                    const std::string& data_dir) {
  if (to.empty() || to.find('\0') != std::string::npos
      || !fs::path{to}.is_absolute())
    return make_error(ec::invalid_argument,
                      "give the backup folder as an absolute path on the "
                      "node's machine",
                      "/to");
  auto target = real(to);
  auto data = real(data_dir);
  if (within(target, data))
    return make_error(ec::path_not_allowed,
                      "the backup folder " + to
                        + " lies inside the node's data folder " + data.string()
                        + ": a backup must live elsewhere",
                      "/to");
  if (within(data, target))
    return make_error(ec::path_not_allowed,
                      "the backup folder " + to + " holds the node's data folder "
                        + data.string(),
                      "/to");
  return missing_or_empty(to, "the backup folder", "/to");
}

// -- writing -----------------------------------------------------------------------

json::value to_json(const backup_summary& x) {
  json::value out{json::object{}};
  out.set("to", x.to);
  out.set("created_at", x.created_at);
  out.set("packets", x.packets);
  out.set("last_seq", x.packets);
  out.set("head", x.head);
  out.set("files", x.files);
  out.set("bytes", x.bytes);
  out.set("linked", x.linked);
  out.set("copied", x.copied);
  out.set("modules", x.modules);
  out.set("missing", x.missing);
  out.set("external", x.external);
  return out;
}

caf::expected<backup_summary> write_backup(const backup_request& req) {
  if (!req.reader)
    return make_error(ec::invalid_argument, "the node's database is not open");
  if (auto e = check_backup_destination(req.to, req.data_dir))
    return e;
  backup_writer w{req, fs::path{req.to}.lexically_normal(),
                  fs::path{req.data_dir}.lexically_normal(), {}, {}, {}, {},
                  {}, {}};
  std::error_code err;
  bool made_folder = !fs::exists(w.to, err);
  fs::create_directories(w.to, err);
  if (err)
    return make_error(ec::io_error, "cannot create the backup folder "
                                      + w.to.string() + ": " + err.message(),
                      "/to");
  // A backup holds the node's secrets and its whole database: a folder it
  // makes is its owner's alone.
  if (made_folder)
    fs::permissions(w.to, fs::perms::owner_all, fs::perm_options::replace, err);
  auto run = [&]() -> caf::error {
    auto relocation = storage::relocation_of(w.data.string());
    if (!relocation)
      return relocation.error();
    w.relocation = std::move(*relocation);
    w.summary.to = w.to.string();
    w.summary.created_at = now_text();
    // The webhooks' secrets and delivery state, before the checkpoint: a
    // cursor is never ahead of the log it is restored with (a restored
    // node delivers again what came after the checkpoint, never skips).
    w.step("webhooks");
    if (std::error_code e2; fs::is_directory(w.data / "webhooks", e2))
      if (auto e = w.copy_tree(w.data / "webhooks", "webhooks"))
        return e;
    w.step("checkpoint");
    auto checkpoint = storage::make_checkpoint(*req.reader, (w.to / "db").string());
    if (!checkpoint)
      return checkpoint.error();
    w.summary.packets = checkpoint->packets;
    w.summary.head = checkpoint->head;
    // The secret of a webhook created while the checkpoint was taken (its
    // row may be in it; its state starts at its creation).
    if (std::error_code e2; fs::is_directory(w.data / "webhooks", e2))
      if (auto e = w.copy_tree(w.data / "webhooks", "webhooks", ".secret"))
        return e;
    {
      // What the checkpoint names, read from the checkpoint itself: a row
      // committed after it is not in it, and its files need not be either.
      auto r = storage::open_reader((w.to / "db").string());
      if (!r)
        return r.error();
      if (auto e = w.place_asset_files(**r))
        return e;
      if (auto e = w.place_logs(**r))
        return e;
      if (auto e = w.place_modules(**r))
        return e;
    }
    if (auto e = w.place_secrets())
      return e;
    auto files = w.list_files();
    if (!files)
      return files.error();
    json::array listed;
    for (auto& f : *files) {
      w.summary.bytes += f.size;
      listed.push_back(json::object{{"path", f.path},
                                    {"size", f.size},
                                    {"sha256", f.sha256}});
    }
    w.summary.files = files->size();
    json::array origin;
    for (auto& e : w.relocation.earlier)
      origin.emplace_back(e);
    json::value manifest{json::object{}};
    manifest.set("format", std::string{backup_format});
    manifest.set("format_version", backup_format_version);
    manifest.set("created_at", w.summary.created_at);
    manifest.set("source", json::object{{"data_dir", w.data.string()},
                                        {"origin", json::value{std::move(origin)}}});
    manifest.set("log", json::object{{"packets", w.summary.packets},
                                     {"last_seq", w.summary.packets},
                                     {"head", w.summary.head}});
    manifest.set("files", json::value{std::move(listed)});
    manifest.set("modules", json::value{std::move(w.modules)});
    manifest.set("missing", json::value{std::move(w.missing)});
    manifest.set("external", json::value{std::move(w.external)});
    auto text = json::serialize(manifest, json::style::pretty) + "\n";
    // The folders first, then the manifest: a backup with a manifest is
    // whole on the disk.
    w.step("syncing");
    sync_tree(w.to);
    if (auto e = write_new_file(w.to / std::string{manifest_name}, text))
      return e;
    auto sum = contracts::to_hex(contracts::sha256(text)) + "  "
               + std::string{manifest_name} + "\n";
    if (auto e = write_new_file(w.to / std::string{manifest_sum_name}, sum))
      return e;
    sync_dir(w.to);
    return caf::none;
  };
  if (auto e = run()) {
    remove_written(w.to, made_folder, backup_names);
    return e;
  }
  return w.summary;
}

// -- checking ------------------------------------------------------------------------

caf::expected<backup_manifest> check_backup(const std::string& from) {
  fs::path dir{from};
  auto manifest_path = dir / std::string{manifest_name};
  auto sum_path = dir / std::string{manifest_sum_name};
  std::error_code err;
  if (!fs::is_directory(dir, err))
    return make_error(ec::not_found, "there is no backup folder " + from);
  for (auto& p : {manifest_path, sum_path})
    if (!fs::is_regular_file(p, err))
      return make_error(ec::not_found,
                        "the backup folder " + from + " has no "
                          + p.filename().string()
                          + " (not a backup, or one that did not finish)");
  std::string text;
  {
    std::ifstream in{manifest_path, std::ios::binary};
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in)
      return make_error(ec::io_error, "cannot read " + manifest_path.string());
    text = std::move(buf).str();
  }
  std::string sum_line;
  {
    std::ifstream in{sum_path};
    std::getline(in, sum_line);
  }
  auto want = sum_line.substr(0, sum_line.find(' '));
  if (want != contracts::to_hex(contracts::sha256(text)))
    return make_error(ec::corruption,
                      "the backup does not match its manifest: "
                        + std::string{manifest_name} + " (its SHA-256 is not the "
                        + "one " + std::string{manifest_sum_name} + " holds)");
  auto doc = json::parse(text);
  if (!doc || !doc.doc->is_object())
    return make_error(ec::invalid_argument,
                      manifest_path.string() + " is not a JSON object");
  backup_manifest m;
  m.doc = std::move(*doc.doc);
  auto str = [](const json::value* v) {
    return v && v->is_string() ? v->as_string() : std::string{};
  };
  if (str(m.doc.find("format")) != backup_format)
    return make_error(ec::invalid_argument,
                      manifest_path.string() + " is not an omniva backup manifest");
  auto* version = m.doc.find("format_version");
  if (version == nullptr || version->as_int64() != backup_format_version)
    return make_error(ec::invalid_argument,
                      manifest_path.string() + " has format_version "
                        + (version ? json::serialize(*version) : "(none)")
                        + "; this build reads version "
                        + std::to_string(backup_format_version));
  if (auto* source = m.doc.find("source")) {
    m.source_data_dir = str(source->find("data_dir"));
    if (auto* origin = source->find("origin"); origin && origin->is_array())
      for (auto& o : origin->as_array())
        if (o.is_string() && !o.as_string().empty() && o.as_string()[0] == '/')
          m.source_origin.push_back(o.as_string());
  }
  if (auto* log = m.doc.find("log")) {
    if (auto* p = log->find("packets"))
      m.packets = static_cast<uint64_t>(p->as_int64().value_or(0));
    m.head = str(log->find("head"));
  }
  auto* files = m.doc.find("files");
  if (files == nullptr || !files->is_array())
    return make_error(ec::invalid_argument,
                      manifest_path.string() + " lists no files");
  std::vector<std::string> problems;
  for (auto& f : files->as_array()) {
    backup_file bf;
    bf.path = str(f.find("path"));
    bf.sha256 = str(f.find("sha256"));
    auto* size = f.find("size");
    if (!safe_relative(bf.path) || bf.path == manifest_name
        || bf.path == manifest_sum_name || bf.path == storage::origin_file_name
        || size == nullptr || !size->as_int64() || *size->as_int64() < 0
        || !contracts::digest_from_hex(bf.sha256))
      return make_error(ec::invalid_argument,
                        manifest_path.string() + " lists a file this build "
                          "cannot restore: " + json::serialize(f));
    bf.size = static_cast<uint64_t>(*size->as_int64());
    auto path = dir / bf.path;
    std::error_code e2;
    auto st = fs::symlink_status(path, e2);
    if (e2 || st.type() == fs::file_type::not_found) {
      problems.push_back(bf.path + " (missing)");
    } else if (st.type() != fs::file_type::regular) {
      problems.push_back(bf.path + " (not a regular file)");
    } else {
      auto h = hash_file(path, nullptr);
      if (!h)
        problems.push_back(bf.path + " (cannot be read)");
      else if (h->size != bf.size)
        problems.push_back(bf.path + " (" + std::to_string(h->size)
                           + " bytes, the manifest says "
                           + std::to_string(bf.size) + ")");
      else if (h->sha256 != bf.sha256)
        problems.push_back(bf.path + " (its SHA-256 differs from the manifest's)");
    }
    m.files.push_back(std::move(bf));
  }
  if (!problems.empty()) {
    std::string named;
    for (size_t i = 0; i < problems.size() && i < max_named_files; ++i)
      named += (i == 0 ? "" : ", ") + problems[i];
    if (problems.size() > max_named_files)
      named += ", and " + std::to_string(problems.size() - max_named_files)
               + " more";
    return make_error(ec::corruption,
                      "the backup does not match its manifest: "
                        + std::to_string(problems.size()) + " file(s): " + named);
  }
  return m;
}

// -- restoring -----------------------------------------------------------------------

json::value to_json(const restore_summary& x) {
  json::value out{json::object{}};
  out.set("data_dir", x.data_dir);
  out.set("files", x.files);
  out.set("bytes", x.bytes);
  out.set("source_data_dir", x.source_data_dir);
  out.set("log_matches", x.log_matches);
  out.set("verify", storage::to_json(x.verify));
  return out;
}

caf::expected<restore_summary> restore_backup(const std::string& from,
                                              const std::string& data_dir) {
  if (data_dir.empty() || data_dir.find('\0') != std::string::npos)
    return make_error(ec::invalid_argument, "give the new data folder");
  auto data = fs::absolute(data_dir).lexically_normal();
  if (data.filename().empty())
    data = data.parent_path();
  if (auto e = missing_or_empty(data, "the data folder", ""))
    return e;
  auto m = check_backup(from);
  if (!m)
    return m.error();
  std::error_code err;
  bool made_folder = !fs::exists(data, err);
  fs::create_directories(data, err);
  if (err)
    return make_error(ec::io_error, "cannot create " + data.string() + ": "
                                      + err.message());
  restore_summary out;
  out.data_dir = data.string();
  out.source_data_dir = m->source_data_dir;
  auto run = [&]() -> caf::error {
    for (auto& f : m->files) {
      auto src = fs::path{from} / f.path;
      auto dst = data / f.path;
      std::error_code e2;
      fs::create_directories(dst.parent_path(), e2);
      if (e2)
        return make_error(ec::io_error, "cannot create "
                                          + dst.parent_path().string() + ": "
                                          + e2.message());
      struct stat st {};
      if (::stat(src.c_str(), &st) != 0)
        return make_error(ec::io_error, "cannot read " + src.string() + ": "
                                          + errno_text());
      auto copy = copy_hashed(src, dst, st.st_mode, nullptr);
      if (!copy)
        return copy.error();
      // What was read is what was checked: a file changed meanwhile fails.
      if (copy->sha256 != f.sha256 || copy->size != f.size)
        return make_error(ec::corruption, "the backup does not match its "
                                          "manifest: "
                                            + f.path + " changed while it was "
                                                       "restored");
      ++out.files;
      out.bytes += copy->size;
    }
    // Where the folder was: the source's earlier locations, then the
    // source itself (storage/relocation.hpp).
    auto locations = m->source_origin;
    if (!m->source_data_dir.empty()
        && (locations.empty() || locations.back() != m->source_data_dir))
      locations.push_back(m->source_data_dir);
    if (!locations.empty())
      if (auto e = storage::write_origin(data.string(), locations))
        return e;
    sync_tree(data);
    return caf::none;
  };
  if (auto e = run()) {
    // The folder was missing or empty: what is in it now came from here.
    std::set<std::string> names{std::string{storage::origin_file_name}};
    for (auto& f : m->files)
      names.insert(f.path.substr(0, f.path.find('/')));
    remove_written(data, made_folder, names);
    return e;
  }
  auto r = storage::open_reader(storage::database_path(data.string()));
  if (!r) {
    out.verify.ok = false;
    out.verify.code = r.error().category() == contracts::error_category
                        ? static_cast<ec>(r.error().code())
                        : ec::storage_error;
    out.verify.reason = contracts::render_error(r.error().code(),
                                                r.error().category(),
                                                r.error().context());
    return out;
  }
  out.verify = storage::verify(**r);
  out.log_matches = out.verify.packets == m->packets && out.verify.head == m->head;
  return out;
}

} // namespace omniva::runtime
