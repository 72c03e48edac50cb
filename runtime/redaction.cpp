#include "runtime/redaction.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace fs = std::filesystem;

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

void redact_file(const std::string& path,
                 const std::vector<std::string>& values) {
  if (values.empty())
    return;
  size_t longest = values.front().size();
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return;
  auto tmp = path + ".redacting";
  std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
  if (!out)
    return;
  bool changed = false;
  std::string buf;
  std::vector<char> chunk(1 << 16);
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
    out.write(emitted.data(), static_cast<std::streamsize>(emitted.size()));
    buf.erase(0, std::max(pos, safe));
  };
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    buf.append(chunk.data(), static_cast<size_t>(in.gcount()));
    flush_safe(false);
  }
  flush_safe(true);
  out.close();
  std::error_code err;
  if (changed && out)
    fs::rename(tmp, path, err);
  else
    fs::remove(tmp, err);
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
