// Redaction: secret values out of files and messages, messages made
// printable. Files are rewritten through a temporary copy and never kept
// unredacted when that fails.

#include "runtime/redaction.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace omniva::runtime {

std::vector<std::string>
secret_values(const std::map<std::string, std::string>& secrets) {
  std::vector<std::string> xs;
  for (auto& [name, value] : secrets)
    if (!value.empty())
      xs.push_back(value);
  std::sort(xs.begin(), xs.end(), [](auto& a, auto& b) {
    return a.size() > b.size();
  });
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  return xs;
}

std::string scrub(std::string text, const std::vector<std::string>& values) {
  for (auto& s : values) {
    for (size_t pos = text.find(s); pos != std::string::npos;
         pos = text.find(s, pos + redacted.size()))
      text.replace(pos, s.size(), redacted);
  }
  return text;
}

std::string_view to_string(redaction x) noexcept {
  switch (x) {
    case redaction::clean:
      return "clean";
    case redaction::redacted:
      return "redacted";
    case redaction::withheld:
      return "withheld";
    case redaction::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

/// Writes `bytes` whole to `fd`; false on failure.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

/// Copies `in` to `out` with every value replaced by "***"; returns
/// whether the copy is complete, and sets `changed` when it replaced one.
bool copy_redacted(int in, int out, const std::vector<std::string>& values,
                   bool& changed) {
  size_t longest = values.front().size();
  std::string buf;
  std::vector<char> chunk(1 << 16);
  bool ok = true;
  auto flush_safe = [&](bool at_end) {
    // Matches that start before `safe` lie wholly inside `buf`; beyond it a
    // match may continue in the next chunk, so those bytes are carried over.
    size_t safe = at_end ? buf.size()
                         : (buf.size() >= longest ? buf.size() - longest + 1
                                                  : 0);
    std::string emitted;
    size_t pos = 0;
    while (pos < safe) {
      size_t best = std::string::npos;
      const std::string* which = nullptr;
      for (auto& s : values) {
        auto hit = buf.find(s, pos);
        if (hit != std::string::npos && hit < safe && hit < best) {
          best = hit;
          which = &s;
        }
      }
      if (!which) {
        emitted.append(buf, pos, safe - pos);
        pos = safe;
        break;
      }
      emitted.append(buf, pos, best - pos);
      emitted.append(redacted);
      pos = best + which->size();
      changed = true;
    }
    ok = ok && write_all(out, emitted);
    buf.erase(0, std::max(pos, safe));
  };
  while (ok) {
    auto n = ::read(in, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0)
      break;
    buf.append(chunk.data(), static_cast<size_t>(n));
    flush_safe(false);
  }
  flush_safe(true);
  return ok;
}

/// Removes the file at `path`, or empties it when it cannot be removed.
redaction withhold(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT)
    return redaction::withheld;
  if (::truncate(path.c_str(), 0) == 0)
    return redaction::withheld;
  return redaction::failed;
}

} // namespace

redaction redact_file(const std::string& path,
                      const std::vector<std::string>& values) {
  if (values.empty())
    return redaction::clean;
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return errno == ENOENT ? redaction::clean : withhold(path);
  auto tmp = path + ".redacting";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0600);
  if (out < 0) {
    ::close(in);
    return withhold(path);
  }
  bool changed = false;
  bool copied = ::fchmod(out, 0600) == 0 && copy_redacted(in, out, values, changed);
  ::close(in);
  copied = ::close(out) == 0 && copied;
  if (!copied) {
    ::unlink(tmp.c_str());
    return withhold(path);
  }
  if (!changed) {
    ::unlink(tmp.c_str());
    return redaction::clean;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return withhold(path);
  }
  return redaction::redacted;
}

std::string sanitize_text(std::string_view text) {
  auto in = text;
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : static_cast<char>(c);
      ++i;
      continue;
    }
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool valid = n > 0 && i + n <= in.size() && !(c >= 0xf8);
    for (size_t k = 1; valid && k < n; ++k)
      valid = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    if (valid && n == 3) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (valid && n == 4) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      valid = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (valid) {
      out.append(in.substr(i, n));
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

bool is_clean_text(std::string_view text) {
  return sanitize_text(text) == text;
}

std::string clean_message(std::string message,
                          const std::map<std::string, std::string>& secrets) {
  return sanitize_text(scrub(std::move(message), secret_values(secrets)));
}

} // namespace omniva::runtime
