#include "storage/relocation.hpp"

#include "contracts/error_code.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

namespace {

/// `path` lexically normal, without a trailing separator.
std::string normal(std::string_view path) {
  auto p = fs::path{std::string{path}}.lexically_normal().string();
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return p;
}

/// The part of `path` after `folder` when `path` lies inside it (whole
/// components); nullopt otherwise. Both normal.
std::optional<std::string_view> inside(std::string_view path,
                                       std::string_view folder) {
  if (folder.empty() || path.size() <= folder.size()
      || path.substr(0, folder.size()) != folder)
    return std::nullopt;
  if (folder == "/")
    return path.substr(1);
  if (path[folder.size()] != '/')
    return std::nullopt;
  return path.substr(folder.size() + 1);
}

/// Writes `text` to `path` through a temporary file, durably.
caf::error write_durably(const fs::path& path, const std::string& text) {
  auto tmp = path.string() + ".tmp";
  auto fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(ec::io_error, "cannot write " + tmp + ": "
                                      + std::strerror(errno));
  auto written = ::write(fd, text.data(), text.size());
  auto synced = ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || synced != 0) {
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto why = std::string{std::strerror(errno)};
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot write " + path.string() + ": " + why);
  }
  auto dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return caf::none;
}

data_relocation make_relocation(const std::string& data_dir,
                                const std::vector<std::string>& lines) {
  data_relocation out;
  out.data_dir = normal(data_dir);
  for (auto& line : lines) {
    auto p = normal(line);
    if (p != out.data_dir
        && std::find(out.earlier.begin(), out.earlier.end(), p)
             == out.earlier.end())
      out.earlier.push_back(std::move(p));
  }
  return out;
}

} // namespace

std::string data_relocation::resolve(std::string_view path) const {
  auto p = normal(path);
  if (earlier.empty() || inside(p, data_dir) || p == data_dir)
    return std::string{path};
  // The longest earlier location that holds the path: one nested in
  // another is the more specific.
  const std::string* best = nullptr;
  std::string_view rest;
  for (auto& e : earlier)
    if (auto r = inside(p, e); r && (best == nullptr || e.size() > best->size())) {
      best = &e;
      rest = *r;
    }
  if (best == nullptr)
    return std::string{path};
  return (fs::path{data_dir} / std::string{rest}).string();
}

std::string data_relocation::relative(std::string_view path) const {
  auto p = normal(resolve(path));
  auto r = inside(p, data_dir);
  return r ? std::string{*r} : std::string{};
}

std::string origin_path(const std::string& data_dir) {
  return (fs::path{data_dir} / std::string{origin_file_name}).string();
}

caf::expected<std::vector<std::string>> read_origin(const std::string& data_dir) {
  auto path = origin_path(data_dir);
  std::error_code err;
  if (!fs::exists(path, err))
    return std::vector<std::string>{};
  std::ifstream in{path};
  if (!in)
    return make_error(ec::io_error, "cannot read " + path);
  std::vector<std::string> out;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty())
      continue;
    if (line.front() != '/' || line.find('\0') != std::string::npos)
      return make_error(ec::corruption,
                        path + ": line " + std::to_string(number)
                          + " is not an absolute path");
    out.push_back(line);
  }
  if (in.bad())
    return make_error(ec::io_error, "cannot read " + path);
  return out;
}

caf::error write_origin(const std::string& data_dir,
                        const std::vector<std::string>& locations) {
  std::string text;
  for (auto& l : locations)
    text += normal(l) + '\n';
  return write_durably(origin_path(data_dir), text);
}

caf::expected<data_relocation> relocation_of(const std::string& data_dir) {
  auto lines = read_origin(data_dir);
  if (!lines)
    return lines.error();
  return make_relocation(data_dir, *lines);
}

caf::expected<data_relocation> record_origin(const std::string& data_dir) {
  auto lines = read_origin(data_dir);
  if (!lines)
    return lines.error();
  auto here = normal(data_dir);
  if (lines->empty() || normal(lines->back()) != here) {
    lines->push_back(here);
    if (auto err = write_origin(data_dir, *lines))
      return err;
  }
  return make_relocation(data_dir, *lines);
}

} // namespace omniva::storage
