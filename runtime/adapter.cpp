// Adapters: the local child-process adapter, the mock adapter, and what they
// share (preparing the output directory, hashing files, the envelope).

#include "runtime/adapter.hpp"

#include "contracts/json_schema.hpp"
#include "contracts/packet.hpp"
#include "contracts/schema_catalog.hpp"

#include <magic.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;

namespace {

// -- names of the files of one execution ----------------------------------------

constexpr const char* input_manifest_name = "input_manifest.json";
constexpr const char* output_manifest_name = "output_manifest.json";
constexpr const char* stdout_name = "stdout.log";
constexpr const char* stderr_name = "stderr.log";

/// The format version of input_manifest.json.
constexpr const char* manifest_schema_version = "1.0.0";

/// The PATH of a child when neither the options nor the node give one.
constexpr const char* default_path = "/usr/local/bin:/usr/bin:/bin";

using clock_type = std::chrono::steady_clock;

/// Milliseconds elapsed since `start`.
int64_t elapsed_ms(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now()
                                                               - start)
    .count();
}

// -- small helpers ------------------------------------------------------------------

/// Sets the failure fields of `r`.
void fail(execution_result& r, ec code, std::string message,
          bool transient = false) {
  r.ok = false;
  r.error_code = code;
  r.error_message = std::move(message);
  r.transient = transient;
}

/// Returns `text` quoted for a message: 'text'.
std::string in_quotes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out.append(text);
  out += '\'';
  return out;
}

/// Replaces every byte sequence that is not valid UTF-8, and every control
/// character but tab, by '?': messages end up in JSON and in one-line logs.
std::string sanitize_text(std::string_view in) {
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

/// Whether `text` is valid UTF-8 without control characters.
bool is_clean_text(std::string_view text) {
  return sanitize_text(text) == text;
}

/// The secret values of a request, longest first (so a value containing
/// another is replaced whole), empty ones left out.
std::vector<std::string> secret_values(const execution_request& req) {
  std::vector<std::string> xs;
  for (auto& [name, value] : req.secrets)
    if (!value.empty())
      xs.push_back(value);
  std::sort(xs.begin(), xs.end(), [](auto& a, auto& b) {
    return a.size() > b.size();
  });
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  return xs;
}

/// The replacement of a secret value in messages and logs.
constexpr std::string_view redacted = "***";

/// Replaces every occurrence of every value in `secrets` by "***".
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (auto& s : secrets) {
    for (size_t pos = text.find(s); pos != std::string::npos;
         pos = text.find(s, pos + redacted.size()))
      text.replace(pos, s.size(), redacted);
  }
  return text;
}

/// Rewrites the file at `path` with every secret value replaced by "***",
/// streaming (logs may be large). A file without secrets is left untouched.
void redact_file(const std::string& path,
                 const std::vector<std::string>& secrets) {
  if (secrets.empty())
    return;
  size_t longest = secrets.front().size();
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
      for (auto& s : secrets) {
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

/// Reads at most `limit` bytes of a file; nullopt when it cannot be read or
/// is larger than `limit` (`*too_large` set then).
std::optional<std::string> read_small_file(const std::string& path,
                                           size_t limit,
                                           bool* too_large = nullptr) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::string out;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    out.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (out.size() > limit) {
      if (too_large)
        *too_large = true;
      return std::nullopt;
    }
  }
  return out;
}

/// Writes `content` to `path` (replacing it); false on failure.
bool write_file(const std::string& path, std::string_view content) {
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  const char* at = content.data();
  size_t left = content.size();
  while (left > 0) {
    auto n = ::write(fd, at, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str()); // no half-written file left behind
      return false;
    }
    at += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    ::unlink(path.c_str());
    return false;
  }
  return true;
}

/// Creates the directory `dir` (absolute) and its missing parents: one
/// mkdir when only the leaf is missing, as for an execution's output folder.
bool make_directories(const fs::path& dir, std::error_code& err) {
  if (::mkdir(dir.c_str(), 0755) == 0)
    return true;
  if (errno == EEXIST) {
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return true;
    err = std::make_error_code(std::errc::not_a_directory);
    return false;
  }
  if (errno != ENOENT || !dir.has_relative_path()) {
    err = std::error_code{errno, std::system_category()};
    return false;
  }
  if (!make_directories(dir.parent_path(), err))
    return false;
  if (::mkdir(dir.c_str(), 0755) == 0)
    return true;
  if (errno == EEXIST) { // made meanwhile by another worker
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return true;
    err = std::make_error_code(std::errc::not_a_directory);
    return false;
  }
  err = std::error_code{errno, std::system_category()};
  return false;
}

/// The SHA-256 (hex) and size of a file, streamed; nullopt on a read error.
std::optional<std::pair<std::string, uint64_t>>
hash_file(const std::string& path, const std::function<void()>& beat = {}) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return std::nullopt;
  std::vector<char> chunk(1 << 16);
  uint64_t size = 0;
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n > 0 && EVP_DigestUpdate(ctx.get(), chunk.data(), n) != 1)
      return std::nullopt;
    size += n;
    // A sign of life every 256 MiB: hashing a large output takes a while.
    if (beat && size % (uint64_t{256} << 20) < n)
      beat();
  }
  if (in.bad())
    return std::nullopt;
  contracts::digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1 || len != d.size())
    return std::nullopt;
  return std::pair{contracts::to_hex(d), size};
}

/// The essence of a media type: parameters dropped, trimmed, lowercase.
std::string media_essence(std::string_view media_type) {
  auto s = media_type.substr(0, media_type.find(';'));
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Whether a media type is JSON: application/json or any "+json" suffix.
bool is_json_media_type(std::string_view media_type) {
  auto e = media_essence(media_type);
  return e == "application/json" || e.ends_with("+json");
}

/// Whether a media type is text/... (wildcard included).
bool is_text_media_type(std::string_view media_type) {
  return media_essence(media_type).starts_with("text/");
}

/// The file name extension suggested for an output of `media_type`.
std::string_view extension_for(std::string_view media_type) {
  auto e = media_essence(media_type);
  if (is_json_media_type(e))
    return ".json";
  if (e == "text/plain")
    return ".txt";
  if (e == "text/csv")
    return ".csv";
  if (e == "text/markdown")
    return ".md";
  if (e == "text/html")
    return ".html";
  static const std::pair<std::string_view, std::string_view> known[] = {
    {"application/zip", ".zip"}, {"image/png", ".png"},
    {"image/jpeg", ".jpg"},      {"video/mp4", ".mp4"},
    {"audio/wav", ".wav"},       {"audio/x-wav", ".wav"},
    {"audio/mpeg", ".mp3"},      {"application/pdf", ".pdf"},
  };
  for (auto& [type, ext] : known)
    if (e == type)
      return ext;
  return ".bin";
}

/// Whether `child` (canonical) lies strictly inside `dir` (canonical).
bool inside(const fs::path& dir, const fs::path& child) {
  auto rel = child.lexically_relative(dir);
  if (rel.empty() || rel == ".")
    return false;
  auto first = *rel.begin();
  return first != "..";
}

/// The absolute form of `p` with "." and ".." removed (no symlinks resolved).
fs::path absolute_normal(const fs::path& p) {
  std::error_code err;
  auto abs = fs::absolute(p, err);
  return (err ? p : abs).lexically_normal();
}

// -- preparing an execution ---------------------------------------------------------

/// What `prepare` made: the output directory and the input manifest.
struct prepared {
  /// Absolute, normalised output directory (created).
  fs::path output_dir;
  /// The absolute path of input_manifest.json.
  fs::path input_manifest;
  /// The absolute path of the file holding each VALUE input, by key.
  std::map<std::string, std::string> value_paths;
};

/// Creates the output directory, writes VALUE inputs the caller gave no file
/// for and the input manifest. On failure fills `r` and returns nullopt.
std::optional<prepared> prepare(const execution_request& req,
                                std::string_view mode, execution_result& r) {
  if (req.output_dir.empty()) {
    fail(r, ec::invalid_argument, "the request has no output directory");
    return std::nullopt;
  }
  prepared p;
  p.output_dir = absolute_normal(req.output_dir);
  std::error_code err;
  fs::create_directories(p.output_dir, err);
  if (err || !fs::is_directory(p.output_dir, err)) {
    fail(r, ec::io_error,
         "cannot create the output directory " + in_quotes(p.output_dir.string())
           + (err ? ": " + err.message() : ""),
         true);
    return std::nullopt;
  }
  // A manifest left by an earlier run of the same execution must not pass
  // for this run's.
  fs::remove(p.output_dir / output_manifest_name, err);

  json::value inputs{json::object{}};
  for (auto& in : req.inputs) {
    json::value entry{json::object{}};
    if (in.is_value) {
      auto parsed = json::parse(in.value_json);
      if (!parsed) {
        fail(r, ec::invalid_argument,
             "the value of input " + in_quotes(in.key)
               + " is not JSON: " + parsed.error.message);
        return std::nullopt;
      }
      fs::path file = in.path.empty()
                        ? p.output_dir / "inputs" / (in.key + ".json")
                        : absolute_normal(in.path);
      if (in.path.empty() || !fs::exists(file, err)) {
        fs::create_directories(file.parent_path(), err);
        if (!write_file(file.string(), json::serialize(*parsed.doc))) {
          fail(r, ec::io_error,
               "cannot write the value of input " + in_quotes(in.key) + " to "
                 + in_quotes(file.string()),
               true);
          return std::nullopt;
        }
      }
      p.value_paths[in.key] = file.string();
      entry.set("kind", "VALUE");
      entry.set("path", file.string());
      if (!in.media_type.empty())
        entry.set("media_type", in.media_type);
      entry.set("value", std::move(*parsed.doc));
    } else {
      entry.set("kind", "ASSET");
      entry.set("path", absolute_normal(in.path).string());
      entry.set("media_type", in.media_type);
    }
    inputs.set(in.key, std::move(entry));
  }

  json::value outputs{json::object{}};
  for (auto& o : req.contract.outputs) {
    json::value entry{json::object{}};
    entry.set("media_type", o.media_type);
    entry.set("path",
              (p.output_dir / (o.key + std::string{extension_for(o.media_type)}))
                .string());
    outputs.set(o.key, std::move(entry));
  }

  json::value manifest{json::object{}};
  manifest.set("schema_version", manifest_schema_version);
  manifest.set("execution_id",
               req.execution_id.empty()
                 ? req.task_id + "/" + std::to_string(req.attempt)
                 : req.execution_id);
  manifest.set("task_id", req.task_id);
  manifest.set("attempt", int64_t{req.attempt});
  manifest.set("module", req.contract.ref());
  manifest.set("mode", std::string{mode});
  manifest.set("inputs", std::move(inputs));
  manifest.set("output_dir", p.output_dir.string());
  manifest.set("outputs", std::move(outputs));
  manifest.set("output_manifest", (p.output_dir / output_manifest_name).string());
  p.input_manifest = p.output_dir / input_manifest_name;
  if (!write_file(p.input_manifest.string(),
                  json::serialize(manifest, json::style::pretty) + "\n")) {
    fail(r, ec::io_error,
         "cannot write " + in_quotes(p.input_manifest.string()), true);
    return std::nullopt;
  }
  return p;
}

// -- checking outputs ---------------------------------------------------------------

/// Validates a JSON output against its schema, if it has one; `text` is the
/// file's content. Returns false with `r` filled on failure.
bool check_json_output(const execution_request& req,
                       const contracts::output_spec& o, const std::string& text,
                       execution_result& r) {
  bool has_schema = !o.schema_ref.empty() || !o.schema_json.empty();
  if (!has_schema) {
    auto parsed = json::parse(text);
    if (!parsed) {
      fail(r, ec::output_contract_violation,
           "output " + in_quotes(o.key) + " is not valid JSON: "
             + parsed.error.message);
      return false;
    }
    return true;
  }
  bool unresolved = false;
  auto schema = contracts::resolve_spec_schema(o.schema_ref, o.schema_json,
                                               req.schema_lookup, &unresolved);
  if (!schema) {
    fail(r, ec::invalid_ref,
         "the schema "
           + (o.schema_ref.empty() ? std::string{"(inline)"}
                                   : in_quotes(o.schema_ref))
           + " of output " + in_quotes(o.key) + " cannot be resolved");
    return false;
  }
  auto v = schema->validate_text(text, contracts::output::basic);
  if (v.parse_error) {
    fail(r, ec::output_contract_violation,
         "output " + in_quotes(o.key) + " is not valid JSON: " + *v.parse_error);
    return false;
  }
  if (!v.valid) {
    std::string where = "/";
    std::string why = "it does not satisfy the schema";
    if (!v.errors.empty()) {
      auto& e = v.errors.front();
      r.error_pointer = e.instance_location;
      if (!e.missing_property.empty())
        r.error_pointer
          = json::append_pointer(e.instance_location, e.missing_property);
      where = r.error_pointer.empty() ? "/" : r.error_pointer;
      why = e.message;
    }
    fail(r, ec::output_contract_violation,
         "output " + in_quotes(o.key) + " does not satisfy its schema at " + where
           + ": " + why
           + (v.errors.size() > 1
                ? " (and " + std::to_string(v.errors.size() - 1)
                    + " more error" + (v.errors.size() > 2 ? "s" : "") + ")"
                : ""));
    return false;
  }
  return true;
}

/// Reads output_manifest.json and checks every declared output; fills
/// `r.outputs` or fails `r`.
void collect_outputs(const execution_request& req, const prepared& p,
                     const local_adapter_options& opts, execution_result& r) {
  auto manifest_path = (p.output_dir / output_manifest_name).string();
  std::error_code err;
  if (!fs::exists(manifest_path, err)) {
    fail(r, ec::missing_manifest,
         "the module exited with status 0 but wrote no " + std::string{output_manifest_name});
    return;
  }
  bool too_large = false;
  auto text = read_small_file(manifest_path, opts.max_manifest_bytes, &too_large);
  if (!text) {
    fail(r, ec::missing_manifest,
         too_large ? std::string{output_manifest_name} + " is larger than "
                       + std::to_string(opts.max_manifest_bytes) + " bytes"
                   : "cannot read " + std::string{output_manifest_name});
    return;
  }
  auto parsed = json::parse(*text);
  if (!parsed) {
    fail(r, ec::missing_manifest,
         std::string{output_manifest_name} + " is not JSON: "
           + parsed.error.message);
    return;
  }
  auto* listed = parsed.doc->find("outputs");
  if (!listed || !listed->is_object()) {
    fail(r, ec::missing_manifest,
         std::string{output_manifest_name} + " has no \"outputs\" object");
    return;
  }
  auto root = fs::canonical(p.output_dir, err);
  if (err) {
    fail(r, ec::io_error,
         "cannot resolve the output directory: " + err.message(), true);
    return;
  }
  static const std::set<std::string> reserved{input_manifest_name,
                                              output_manifest_name,
                                              stdout_name, stderr_name};
  for (auto& o : req.contract.outputs) {
    auto at = std::string{"outputs."} + o.key;
    auto* entry = listed->find(o.key);
    if (!entry) {
      fail(r, ec::missing_output,
           "the module did not list the declared output " + in_quotes(o.key)
             + " in " + output_manifest_name);
      return;
    }
    auto* path_v = entry->is_object() ? entry->find("path") : nullptr;
    if (!path_v || !path_v->is_string() || path_v->as_string().empty()) {
      fail(r, ec::missing_manifest,
           std::string{output_manifest_name} + ": " + at
             + ".path must be a non-empty string");
      return;
    }
    auto* type_v = entry->find("media_type");
    if (type_v && !type_v->is_string()) {
      fail(r, ec::missing_manifest,
           std::string{output_manifest_name} + ": " + at
             + ".media_type must be a string");
      return;
    }
    fs::path given{path_v->as_string()};
    auto candidate = given.is_absolute() ? given : root / given;
    auto real = fs::canonical(candidate, err);
    if (err) {
      fail(r, ec::missing_output,
           "output " + in_quotes(o.key) + ": the file " + in_quotes(given.string())
             + " does not exist");
      return;
    }
    if (!inside(root, real)) {
      fail(r, ec::missing_output,
           "output " + in_quotes(o.key) + ": " + in_quotes(given.string())
             + " lies outside the output directory");
      return;
    }
    if (!fs::is_regular_file(real, err)) {
      fail(r, ec::missing_output,
           "output " + in_quotes(o.key) + ": " + in_quotes(given.string())
             + " is not a regular file");
      return;
    }
    auto rel = real.lexically_relative(root).string();
    if (reserved.contains(rel)) {
      fail(r, ec::output_contract_violation,
           "output " + in_quotes(o.key) + " names " + in_quotes(rel)
             + ", a file of the runtime");
      return;
    }
    if (!is_clean_text(real.string())) {
      fail(r, ec::output_contract_violation,
           "output " + in_quotes(o.key)
             + ": the file name is not valid UTF-8 text");
      return;
    }

    // The media type: declared by the module, or detected.
    bool json_contract = is_json_media_type(o.media_type);
    std::optional<std::string> content; // read once for JSON outputs
    auto read_content = [&]() -> const std::string* {
      if (!content)
        content = read_small_file(real.string(),
                                  std::numeric_limits<size_t>::max());
      return content ? &*content : nullptr;
    };
    std::string media_type;
    if (type_v) {
      media_type = type_v->as_string();
      if (!contracts::is_valid_media_type(media_essence(media_type), false)) {
        fail(r, ec::output_contract_violation,
             "output " + in_quotes(o.key) + " declares " + in_quotes(media_type)
               + ", which is not a media type");
        return;
      }
    } else {
      auto detected = detect_media_type(real.string());
      media_type = detected;
      if (json_contract
          && (detected == "text/plain" || detected == "application/json")) {
        // libmagic cannot tell JSON from text reliably: trust the contract
        // when the content is JSON (checked below in any case).
        if (auto* c = read_content(); c && json::parse(*c))
          media_type = o.media_type;
      } else if (detected == "text/plain" && is_text_media_type(o.media_type)
                 && o.media_type.find('*') == std::string::npos) {
        // Nor text/csv, text/markdown, ... from text/plain.
        media_type = o.media_type;
      }
      if (media_type.empty()) {
        fail(r, ec::output_contract_violation,
             "output " + in_quotes(o.key)
               + ": its media type could not be detected; declare it in "
               + output_manifest_name);
        return;
      }
    }
    if (!contracts::media_type_matches(o.media_type, media_type)) {
      fail(r, ec::output_contract_violation,
           "output " + in_quotes(o.key) + " is " + in_quotes(media_type)
             + (type_v ? " (declared)" : " (detected)")
             + " but the contract promises " + in_quotes(o.media_type));
      return;
    }
    if (json_contract) {
      auto* c = read_content();
      if (!c) {
        fail(r, ec::io_error, "cannot read output " + in_quotes(o.key), true);
        return;
      }
      if (!check_json_output(req, o, *c, r))
        return;
    }
    auto hashed = hash_file(real.string(), req.heartbeat);
    if (!hashed) {
      fail(r, ec::io_error, "cannot read output " + in_quotes(o.key), true);
      return;
    }
    r.outputs.push_back(output_file{o.key, real.string(), media_type,
                                    std::move(hashed->first), hashed->second});
  }
  r.ok = true;
}

// -- libmagic ---------------------------------------------------------------------

/// One libmagic handle per thread: a handle is not thread-safe, and loading
/// the database once per thread is cheap enough.
struct magic_handle {
  magic_t cookie = nullptr;
  bool tried = false;
  ~magic_handle() {
    if (cookie)
      magic_close(cookie);
  }
  magic_t get() {
    if (!tried) {
      tried = true;
      cookie = magic_open(MAGIC_MIME_TYPE);
      if (cookie && magic_load(cookie, nullptr) != 0) {
        magic_close(cookie);
        cookie = nullptr;
      }
    }
    return cookie;
  }
};

// -- processes ----------------------------------------------------------------------

/// Returns "SIGSEGV" for SIGSEGV, "signal 99" for unknown numbers.
std::string signal_name(int sig) {
  if (auto* abbrev = sigabbrev_np(sig))
    return std::string{"SIG"} + abbrev;
  return "signal " + std::to_string(sig);
}

/// Returns `fd` moved to a number >= 3 (close-on-exec), so that the child's
/// dup2 onto 0, 1 and 2 can never clobber it; -1 on failure.
int lift_fd(int fd) {
  if (fd < 0 || fd >= 3)
    return fd;
  int lifted = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return lifted;
}

/// Closes a descriptor on scope exit.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      close(fd);
  }
};

/// Where the child failed before exec: reported through the error pipe.
enum class child_stage : int { setpgid = 1, redirect, chdir, limits, exec };

/// What the child writes into the error pipe when it cannot exec.
struct child_failure {
  int stage;
  int error;
};

/// Finds `name` as the child would: with a '/', relative to `cwd`; without,
/// along `path_var`. Empty when there is no executable file.
std::string find_program(const std::string& name, const std::string& cwd,
                         const std::string& path_var) {
  auto executable = [](const fs::path& p) {
    std::error_code err;
    return fs::is_regular_file(p, err) && access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    fs::path p{name};
    if (p.is_relative())
      p = fs::path{cwd} / p;
    return p.string(); // exec reports what is wrong with it
  }
  std::string_view rest{path_var};
  while (true) {
    auto colon = rest.find(':');
    auto dir = rest.substr(0, colon);
    if (!dir.empty()) {
      auto candidate = fs::path{std::string{dir}} / name;
      if (executable(candidate))
        return candidate.string();
    }
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  return {};
}

/// Waits until process `pid` has exited (without reaping it) or `until`
/// passes; returns whether it exited. Uses a pidfd when the kernel has them.
/// Calls `beat` (when set) at least every `every` while it waits.
bool wait_exit(pid_t pid, int pidfd,
               std::optional<clock_type::time_point> until,
               const std::function<void()>& beat = {},
               std::chrono::milliseconds every = std::chrono::seconds{5}) {
  auto next_beat = clock_type::now() + every;
  auto maybe_beat = [&] {
    if (beat && clock_type::now() >= next_beat) {
      beat();
      next_beat = clock_type::now() + every;
    }
  };
  while (true) {
    if (pidfd >= 0) {
      int timeout_ms = -1;
      if (until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      *until - clock_type::now())
                      .count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>(left + 1, 0, 60'000));
      }
      if (beat) {
        auto to_beat = std::chrono::duration_cast<std::chrono::milliseconds>(
                         next_beat - clock_type::now())
                         .count();
        auto cap = static_cast<int>(std::clamp<int64_t>(to_beat + 1, 0, 60'000));
        timeout_ms = timeout_ms < 0 ? cap : std::min(timeout_ms, cap);
      }
      pollfd pfd{pidfd, POLLIN, 0};
      int n = poll(&pfd, 1, timeout_ms);
      if (n > 0)
        return true;
      if (n < 0 && errno != EINTR)
        pidfd = -1; // fall back to polling
    } else {
      siginfo_t info{};
      int rc = waitid(P_PID, static_cast<id_t>(pid), &info,
                      WEXITED | WNOHANG | WNOWAIT);
      if ((rc == 0 && info.si_pid == pid) || (rc != 0 && errno == ECHILD))
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    maybe_beat();
    if (until && clock_type::now() >= *until)
      return false;
  }
}

/// Reads the last `lines` non-empty lines of a text file (at most 8 KiB
/// read), joined by " | ".
std::string tail_lines(const std::string& path, size_t lines) {
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  if (!in || lines == 0)
    return {};
  auto size = static_cast<int64_t>(in.tellg());
  constexpr int64_t window = 8192;
  auto from = std::max<int64_t>(0, size - window);
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (from > 0) { // the first line is probably cut
    auto nl = text.find('\n');
    text.erase(0, nl == std::string::npos ? text.size() : nl + 1);
  }
  std::vector<std::string> all;
  std::istringstream s{text};
  for (std::string line; std::getline(s, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (line.empty())
      continue;
    if (line.size() > 300)
      line = line.substr(0, 300) + "...";
    all.push_back(std::move(line));
  }
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size();
       ++i) {
    if (!out.empty())
      out += " | ";
    out += all[i];
  }
  return out;
}

/// Runs the module and fills `r` with the process outcome (not the outputs).
/// Returns true when the module exited with status 0.
bool run_process(const execution_request& req, const prepared& p,
                 const local_adapter_options& opts, execution_result& r) {
  auto& contract = req.contract;
  if (contract.run.command.empty() || contract.run.command.front().empty()) {
    fail(r, ec::spawn_failed, "the contract's run.command has no program");
    return false;
  }

  // The environment: a minimal base and the contract's secrets, nothing else.
  std::string path_var = opts.path;
  if (path_var.empty()) {
    auto* node_path = std::getenv("PATH");
    path_var = node_path && *node_path ? node_path : default_path;
  }
  std::map<std::string, std::string> env_vars;
  env_vars["PATH"] = path_var;
  auto* home = std::getenv("HOME");
  env_vars["HOME"] = home && *home ? home : p.output_dir.string();
  auto* lang = std::getenv("LANG");
  env_vars["LANG"] = lang && *lang ? lang : "C.UTF-8";
  auto pass_secret = [&](const std::string& name, bool required) {
    auto i = req.secrets.find(name);
    if (i == req.secrets.end()) {
      if (required)
        fail(r, ec::spawn_failed,
             "the required secret " + in_quotes(name) + " is not set on this node");
      return !required;
    }
    env_vars[name] = i->second;
    return true;
  };
  for (auto& name : contract.secrets.required)
    if (!pass_secret(name, true))
      return false;
  for (auto& name : contract.secrets.optional)
    pass_secret(name, false);

  // The program and its arguments.
  auto cwd = absolute_normal(req.module_dir.empty() ? "." : req.module_dir)
               .string();
  auto& name = contract.run.command.front();
  auto program = find_program(name, cwd, path_var);
  if (program.empty()) {
    fail(r, ec::spawn_failed,
         "cannot start the module: the program " + in_quotes(name)
           + " was not found on PATH");
    return false;
  }
  std::vector<std::string> args = contract.run.command;
  args.push_back("--manifest");
  args.push_back(p.input_manifest.string());

  // Everything the child touches is built before fork: after fork in a
  // multi-threaded process only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (auto& [name, value] : env_vars)
    env.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  r.stdout_path = (p.output_dir / stdout_name).string();
  r.stderr_path = (p.output_dir / stderr_name).string();
  constexpr int log_flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  fd_guard out{lift_fd(open(r.stdout_path.c_str(), log_flags, 0644))};
  fd_guard err{lift_fd(open(r.stderr_path.c_str(), log_flags, 0644))};
  fd_guard devnull{lift_fd(open("/dev/null", O_RDONLY | O_CLOEXEC))};
  if (out.fd < 0 || err.fd < 0 || devnull.fd < 0) {
    fail(r, ec::io_error,
         std::string{"cannot open the log files: "} + std::strerror(errno), true);
    return false;
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    fail(r, ec::spawn_failed,
         std::string{"cannot create a pipe: "} + std::strerror(errno), true);
    return false;
  }
  fd_guard status_read{lift_fd(pipe_fds[0])};
  fd_guard status_write{lift_fd(pipe_fds[1])};
  std::optional<rlim_t> address_space;
  if (opts.limit_memory && contract.resources.memory_gb > 0)
    address_space = static_cast<rlim_t>(contract.resources.memory_gb
                                        * 1024.0 * 1024.0 * 1024.0);
  struct rlimit rl_max_nofile {};
  getrlimit(RLIMIT_NOFILE, &rl_max_nofile);
  int max_fd = rl_max_nofile.rlim_cur == RLIM_INFINITY
                   || rl_max_nofile.rlim_cur > 65536
                 ? 65536
                 : static_cast<int>(rl_max_nofile.rlim_cur);

  auto start = clock_type::now();
  pid_t pid = fork();
  if (pid < 0) {
    fail(r, ec::spawn_failed,
         std::string{"cannot fork: "} + std::strerror(errno), true);
    return false;
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only, then exec.
    auto die = [&](child_stage stage) {
      child_failure f{static_cast<int>(stage), errno};
      [[maybe_unused]] auto n = write(status_write.fd, &f, sizeof f);
      _exit(127);
    };
    if (setpgid(0, 0) != 0)
      die(child_stage::setpgid);
    // If the node dies (even by SIGKILL), the module dies with it instead of
    // running on beside the re-run that recovery starts.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
      _exit(127);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig)
      sigaction(sig, &dfl, nullptr); // fails harmlessly for KILL, STOP, ...
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(devnull.fd, 0) < 0 || dup2(out.fd, 1) < 0 || dup2(err.fd, 2) < 0)
      die(child_stage::redirect);
    // Descriptors another thread opened without O_CLOEXEC must not leak.
    if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0)
      for (int fd = 3; fd < max_fd; ++fd)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (chdir(cwd.c_str()) != 0)
      die(child_stage::chdir);
    struct rlimit no_core {0, 0};
    if (setrlimit(RLIMIT_CORE, &no_core) != 0)
      die(child_stage::limits);
    if (address_space) {
      struct rlimit as {*address_space, *address_space};
      if (setrlimit(RLIMIT_AS, &as) != 0)
        die(child_stage::limits);
    }
    execve(program.c_str(), argv.data(), envp.data());
    die(child_stage::exec);
  }

  // The parent. The pipe closes when exec succeeds (close-on-exec), or
  // carries why the child could not get there.
  close(status_write.fd);
  status_write.fd = -1;
  child_failure failure{};
  ssize_t got;
  do
    got = read(status_read.fd, &failure, sizeof failure);
  while (got < 0 && errno == EINTR);
  if (got > 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string what;
    switch (static_cast<child_stage>(failure.stage)) {
      case child_stage::chdir:
        what = "cannot enter the module folder " + in_quotes(cwd);
        break;
      case child_stage::exec:
        what = "cannot execute " + in_quotes(program);
        break;
      default:
        what = "cannot prepare the child process";
    }
    fail(r, ec::spawn_failed,
         "cannot start the module: " + what + ": "
           + std::strerror(failure.error));
    return false;
  }

  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  fd_guard pidfd_guard{pidfd};
  auto timeout = std::chrono::seconds{std::max<int64_t>(contract.resources.timeout_s, 1)};
  bool timed_out = !wait_exit(pid, pidfd, start + timeout, req.heartbeat,
                              req.heartbeat_interval);
  if (timed_out) {
    // The whole group: a module's own children must not outlive it.
    killpg(pid, SIGTERM);
    wait_exit(pid, pidfd, clock_type::now() + opts.kill_grace);
    killpg(pid, SIGKILL);
    wait_exit(pid, pidfd, std::nullopt);
  } else {
    // The main process is done (and not yet reaped, so the group id cannot
    // have been reused): whatever it left behind goes too.
    killpg(pid, SIGKILL);
  }
  int status = 0;
  struct rusage usage {};
  pid_t reaped;
  do
    reaped = wait4(pid, &status, 0, &usage);
  while (reaped < 0 && errno == EINTR);
  if (reaped != pid) {
    // Someone else reaped it (SIGCHLD ignored, a waitpid(-1) elsewhere in
    // the process): the outcome is unknown.
    fail(r, timed_out ? ec::timeout : ec::exit_code,
         std::string{"cannot collect the module's exit status: "}
           + std::strerror(errno),
         true);
    return false;
  }

  auto duration = elapsed_ms(start);
  r.metrics.set("duration_ms", duration);
  r.metrics.set("max_rss_kb", static_cast<int64_t>(usage.ru_maxrss));
  auto ms = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
  };
  r.metrics.set("user_cpu_ms", ms(usage.ru_utime));
  r.metrics.set("system_cpu_ms", ms(usage.ru_stime));

  // The logs never keep a secret, even one the module printed.
  auto secrets = secret_values(req);
  redact_file(r.stdout_path, secrets);
  redact_file(r.stderr_path, secrets);

  auto tail = [&] {
    auto t = tail_lines(r.stderr_path, opts.stderr_tail_lines);
    return t.empty() ? std::string{" (stderr is empty)"}
                     : "; stderr ends with: " + t;
  };
  if (timed_out) {
    r.metrics.set("timed_out", true);
    fail(r, ec::timeout,
         "the module ran longer than its timeout of "
           + std::to_string(contract.resources.timeout_s)
           + " s and its process group was killed",
         true);
    return false;
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    r.metrics.set("signal", int64_t{sig});
    r.metrics.set("signal_name", signal_name(sig));
    // SIGKILL from outside is usually the kernel's OOM killer: worth a retry.
    fail(r, ec::signal,
         "the module was killed by signal " + std::to_string(sig) + " ("
           + signal_name(sig) + ")" + tail(),
         sig == SIGKILL);
    return false;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.metrics.set("exit_code", int64_t{code});
  if (code != 0) {
    fail(r, ec::exit_code,
         "the module exited with status " + std::to_string(code) + tail());
    return false;
  }
  return true;
}

/// Scrubs secrets and unprintable bytes from the message, whatever produced it.
execution_result finish(execution_result r, const execution_request& req) {
  if (!r.error_message.empty())
    r.error_message = sanitize_text(scrub(std::move(r.error_message),
                                          secret_values(req)));
  if (!r.metrics.is_object())
    r.metrics = json::value{json::object{}};
  if (r.ok) {
    r.error_code = ec::none;
    r.transient = false;
  }
  return r;
}

// -- example instances ------------------------------------------------------------

/// Builds instances of schemas (see `example_instance`).
class instance_maker {
public:
  explicit instance_maker(std::string seed) : seed_(std::move(seed)) {
  }

  json::value make(const json::value& schema, const json::value& root,
                   size_t salt, int depth) {
    if (depth > 48)
      return nullptr;
    if (schema.is_bool())
      return json::value{json::object{}};
    if (!schema.is_object())
      return nullptr;
    if (auto* c = schema.find("const"))
      return *c;
    if (auto* e = schema.find("enum"); e && e->is_array() && !e->as_array().empty())
      return e->as_array()[salt % e->as_array().size()];
    if (auto* ref = schema.find("$ref"); ref && ref->is_string()) {
      const json::value* target_root = &root;
      if (auto* target = resolve_ref(ref->as_string(), target_root))
        return make(*target, *target_root, salt, depth + 1);
      return nullptr;
    }
    // allOf, the first alternative of anyOf/oneOf, and `then` (as if `if`
    // held: harmless when it does not), merged into one.
    if (schema.find("allOf") || schema.find("anyOf") || schema.find("oneOf")
        || schema.find("then")) {
      json::value merged = schema;
      for (auto* k : {"allOf", "anyOf", "oneOf", "if", "then", "else"})
        merged.erase(k);
      if (auto* then = schema.find("then"))
        merge(merged, *then);
      auto merge_from = [&](const json::value* list, bool all) {
        if (!list || !list->is_array())
          return;
        for (auto& sub : list->as_array()) {
          const json::value* s = &sub;
          const json::value* sub_root = &root;
          if (auto* ref = sub.find("$ref"); ref && ref->is_string())
            if (auto* t = resolve_ref(ref->as_string(), sub_root))
              s = t;
          merge(merged, *s);
          if (!all)
            break;
        }
      };
      merge_from(schema.find("allOf"), true);
      merge_from(schema.find("anyOf"), false);
      merge_from(schema.find("oneOf"), false);
      return make(merged, root, salt, depth + 1);
    }
    auto type = pick_type(schema);
    if (type == "object")
      return make_object(schema, root, depth);
    if (type == "array")
      return make_array(schema, root, depth);
    if (type == "string")
      return make_string(schema, salt);
    if (type == "integer")
      return make_number(schema, salt, true);
    if (type == "number")
      return make_number(schema, salt, false);
    if (type == "boolean")
      return json::value{salt % 2 == 1};
    if (type == "null")
      return nullptr;
    return json::value{json::object{}};
  }

private:
  /// Resolves "#/pointer" inside `root`, or a shipped schema by file name
  /// ("ClipCandidate.json#/..."); updates `root` to the target's document.
  const json::value* resolve_ref(const std::string& ref,
                                 const json::value*& root) {
    auto hash = ref.find('#');
    auto doc_part = ref.substr(0, hash);
    auto fragment = hash == std::string::npos ? std::string{}
                                              : ref.substr(hash + 1);
    if (!doc_part.empty()) {
      std::string_view name{doc_part};
      if (name.starts_with(contracts::shipped_schema_base))
        name.remove_prefix(contracts::shipped_schema_base.size());
      auto* doc = contracts::schema_catalog::shipped().document(name);
      if (!doc)
        return nullptr;
      root = doc;
    }
    if (fragment.empty())
      return root;
    if (fragment.front() != '/')
      return nullptr; // anchors are not supported
    return json::resolve_pointer(*root, fragment);
  }

  /// Adds the keywords of `from` to `into`: properties and required merged,
  /// any other keyword only when `into` lacks it.
  static void merge(json::value& into, const json::value& from) {
    if (!from.is_object())
      return;
    for (auto& [k, v] : from.as_object()) {
      auto* mine = into.find(k);
      if (!mine) {
        into.set(k, v);
      } else if (k == "properties" && mine->is_object() && v.is_object()) {
        for (auto& [pk, pv] : v.as_object())
          if (!mine->find(pk))
            mine->set(pk, pv);
      } else if (k == "required" && mine->is_array() && v.is_array()) {
        for (auto& name : v.as_array())
          if (std::find(mine->as_array().begin(), mine->as_array().end(), name)
              == mine->as_array().end())
            mine->push_back(name);
      }
    }
  }

  static std::string pick_type(const json::value& schema) {
    if (auto* t = schema.find("type")) {
      if (t->is_string())
        return t->as_string();
      if (t->is_array()) {
        std::string first;
        for (auto& x : t->as_array())
          if (x.is_string()) {
            if (x.as_string() != "null")
              return x.as_string();
            first = "null";
          }
        return first;
      }
    }
    auto has = [&](std::initializer_list<const char*> keys) {
      for (auto* k : keys)
        if (schema.find(k))
          return true;
      return false;
    };
    if (has({"properties", "required", "additionalProperties",
             "patternProperties", "minProperties"}))
      return "object";
    if (has({"items", "prefixItems", "minItems", "contains"}))
      return "array";
    if (has({"minLength", "maxLength", "pattern", "format"}))
      return "string";
    if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
             "multipleOf"}))
      return "number";
    return "object";
  }

  json::value make_object(const json::value& schema, const json::value& root,
                          int depth) {
    json::value out{json::object{}};
    auto* props = schema.find("properties");
    auto sub_for = [&](const std::string& name) -> json::value {
      if (props && props->is_object())
        if (auto* s = props->find(name))
          return *s;
      if (auto* add = schema.find("additionalProperties"); add && add->is_object())
        return *add;
      return json::value{true};
    };
    if (auto* req = schema.find("required"); req && req->is_array())
      for (auto& name : req->as_array())
        if (name.is_string() && !out.find(name.as_string()))
          out.set(name.as_string(),
                  make(sub_for(name.as_string()), root, 0, depth + 1));
    int64_t min_props = 0;
    if (auto* m = schema.find("minProperties"))
      min_props = m->as_int64().value_or(0);
    if (props && props->is_object())
      for (auto& [name, sub] : props->as_object()) {
        if (static_cast<int64_t>(out.as_object().size()) >= min_props)
          break;
        if (!out.find(name))
          out.set(name, make(sub, root, 0, depth + 1));
      }
    return out;
  }

  json::value make_array(const json::value& schema, const json::value& root,
                         int depth) {
    json::value out{json::array{}};
    size_t n = 0;
    if (auto* m = schema.find("minItems"))
      n = static_cast<size_t>(std::max<int64_t>(0, m->as_int64().value_or(0)));
    auto* contains = schema.find("contains");
    if (contains && n == 0)
      n = 1;
    auto* prefix = schema.find("prefixItems");
    auto* items = schema.find("items");
    for (size_t i = 0; i < n; ++i) {
      const json::value* sub = nullptr;
      if (i == 0 && contains)
        sub = contains;
      else if (prefix && prefix->is_array() && i < prefix->as_array().size())
        sub = &prefix->as_array()[i];
      else if (items)
        sub = items;
      out.push_back(sub ? make(*sub, root, i, depth + 1) : json::value{int64_t(i)});
    }
    return out;
  }

  /// Candidates are tried against the string's own constraints (type,
  /// length, pattern, format), compiled once per distinct set.
  json::value make_string(const json::value& schema, size_t salt) {
    json::value check{json::object{}};
    check.set("type", "string");
    for (auto* k : {"minLength", "maxLength", "pattern", "format"})
      if (auto* v = schema.find(k))
        check.set(k, *v);
    std::string format;
    if (auto* f = schema.find("format"); f && f->is_string())
      format = f->as_string();

    auto digest = contracts::to_hex(contracts::sha256(seed_ + "#" + std::to_string(salt)));
    std::vector<std::string> candidates;
    auto uuid = digest.substr(0, 8) + "-" + digest.substr(8, 4) + "-4"
                + digest.substr(13, 3) + "-8" + digest.substr(17, 3) + "-"
                + digest.substr(20, 12);
    static const std::unordered_map<std::string, std::string> by_format{
      {"date-time", "2026-01-01T00:00:00.000Z"},
      {"date", "2026-01-01"},
      {"time", "00:00:00Z"},
      {"email", "mock@example.com"},
      {"uri", "https://example.com/mock"},
      {"uri-reference", "https://example.com/mock"},
      {"hostname", "example.com"},
      {"ipv4", "192.0.2.1"},
      {"ipv6", "2001:db8::1"},
      {"duration", "PT1S"},
      {"json-pointer", "/mock"},
    };
    if (format == "uuid")
      candidates.push_back(uuid);
    else if (auto i = by_format.find(format); i != by_format.end())
      candidates.push_back(i->second);
    auto suffix = salt > 0 ? "-" + std::to_string(salt) : std::string{};
    if (!seed_.empty())
      candidates.push_back("mock-" + digest.substr(0, 12) + suffix);
    // Common shapes: words, identifiers, versions, dotted topics, refs.
    for (std::string c : {"example", "mock_value", "a", "A", "x", "0", "1.0.0",
                          "example.value", "mock-value", "mock@1", "A1"})
      candidates.push_back(c + (salt > 0 ? std::to_string(salt) : ""));
    candidates.push_back(digest);
    candidates.push_back(uuid);
    int64_t min_len = 0;
    std::optional<int64_t> max_len;
    if (auto* v = schema.find("minLength"))
      min_len = v->as_int64().value_or(0);
    if (auto* v = schema.find("maxLength"))
      max_len = v->as_int64();
    std::vector<std::string> sized;
    for (auto& c : candidates) {
      sized.push_back(c);
      auto fitted = c;
      while (static_cast<int64_t>(fitted.size()) < min_len)
        fitted += 'x';
      if (max_len && static_cast<int64_t>(fitted.size()) > *max_len)
        fitted.resize(static_cast<size_t>(std::max<int64_t>(0, *max_len)));
      if (fitted != c)
        sized.push_back(std::move(fitted));
    }
    auto compiled = compile_check(check);
    if (!compiled)
      return json::value{sized.front()};
    for (auto& c : sized)
      if (compiled->validate(json::value{c}, contracts::output::flag).valid)
        return json::value{c};
    return json::value{sized.front()};
  }

  std::shared_ptr<const contracts::compiled_schema>
  compile_check(const json::value& check) {
    auto key = json::serialize(check, json::style::canonical);
    if (auto i = checks_.find(key); i != checks_.end())
      return i->second;
    contracts::schema_registry registry;
    auto compiled = contracts::compile_schema(check, registry);
    checks_.emplace(key, compiled.schema);
    return compiled.schema;
  }

  static json::value make_number(const json::value& schema, size_t salt,
                                 bool integral) {
    auto num = [&](const char* k) -> std::optional<double> {
      if (auto* v = schema.find(k); v && v->is_number())
        return v->as_double();
      return std::nullopt;
    };
    auto min = num("minimum");
    auto max = num("maximum");
    auto xmin = num("exclusiveMinimum");
    auto xmax = num("exclusiveMaximum");
    auto step = num("multipleOf");
    std::optional<double> lo, hi;
    if (integral) {
      if (min)
        lo = std::ceil(*min);
      if (xmin)
        lo = std::max(lo.value_or(-1e300), std::floor(*xmin) + 1);
      if (max)
        hi = std::floor(*max);
      if (xmax)
        hi = std::min(hi.value_or(1e300), std::ceil(*xmax) - 1);
    } else {
      lo = min;
      hi = max;
      if (xmin) {
        double above = xmin.value();
        double gap = hi ? std::min(1.0, (*hi - above) / 2) : 1.0;
        if (xmax)
          gap = std::min(gap, (*xmax - above) / 2);
        lo = std::max(lo.value_or(-1e300), above + gap);
      }
      if (xmax) {
        double below = *xmax;
        double gap = lo ? std::min(1.0, (below - *lo) / 2) : 1.0;
        hi = std::min(hi.value_or(1e300), below - gap);
      }
    }
    double v = lo ? *lo : (hi ? std::min(0.0, *hi) : 0.0);
    if (hi && v + static_cast<double>(salt) <= *hi)
      v += static_cast<double>(salt);
    else if (!hi)
      v += static_cast<double>(salt);
    if (step && *step > 0) {
      double k = std::ceil(v / *step);
      v = k * *step;
      if (hi && v > *hi)
        v = (k - 1) * *step;
    }
    if ((integral || v == std::floor(v)) && std::abs(v) < 9e15)
      return json::value{static_cast<int64_t>(v)};
    return json::value{v};
  }

  std::string seed_;
  std::unordered_map<std::string, std::shared_ptr<const contracts::compiled_schema>>
    checks_;
};

// -- mock -------------------------------------------------------------------------

/// The schema document of an output, for `example_instance`: inline, a
/// shipped schema, or through the request's document lookup.
std::optional<json::value> output_schema_document(const execution_request& req,
                                                  const contracts::output_spec& o) {
  if (!o.schema_json.empty()) {
    auto parsed = json::parse(o.schema_json);
    return parsed ? std::move(parsed.doc) : std::nullopt;
  }
  if (o.schema_ref.empty())
    return std::nullopt;
  if (req.schema_document_lookup)
    if (auto doc = req.schema_document_lookup(o.schema_ref))
      return doc;
  if (auto* doc = contracts::schema_catalog::shipped().document(o.schema_ref))
    return *doc;
  return std::nullopt;
}

} // namespace

// -- execution_result ---------------------------------------------------------------

json::value to_json(const execution_result& x) {
  json::value out{json::object{}};
  out.set("status", x.ok ? "DONE" : "ERROR");
  json::value outputs{json::array{}};
  for (auto& o : x.outputs) {
    json::value entry{json::object{}};
    entry.set("key", o.key);
    entry.set("path", o.path);
    entry.set("media_type", o.media_type);
    entry.set("sha256", o.sha256);
    entry.set("size", o.size);
    outputs.push_back(std::move(entry));
  }
  out.set("outputs", std::move(outputs));
  out.set("metrics",
          x.metrics.is_object() ? x.metrics : json::value{json::object{}});
  json::value logs{json::object{}};
  if (!x.stdout_path.empty())
    logs.set("stdout", x.stdout_path);
  if (!x.stderr_path.empty())
    logs.set("stderr", x.stderr_path);
  out.set("logs", std::move(logs));
  if (!x.ok) {
    json::value error{json::object{}};
    error.set("code", std::string{contracts::to_string(x.error_code)});
    error.set("message", x.error_message);
    error.set("transient", x.transient);
    if (!x.error_pointer.empty())
      error.set("pointer", x.error_pointer);
    out.set("error", std::move(error));
  }
  return out;
}

// -- adapter ----------------------------------------------------------------------

adapter::~adapter() = default;

// -- local_adapter ------------------------------------------------------------------

local_adapter::local_adapter(local_adapter_options options)
  : options_(std::move(options)) {
}

execution_result local_adapter::invoke(const execution_request& request) {
  execution_result r;
  r.metrics = json::value{json::object{}};
  r.metrics.set("mode", "real");
  try {
    auto p = prepare(request, "real", r);
    if (!p)
      return finish(std::move(r), request);
    for (auto& in : request.inputs) {
      std::error_code err;
      if (!in.is_value && !fs::is_regular_file(in.path, err)) {
        fail(r, ec::io_error,
             "the file of input " + in_quotes(in.key) + " (" + in_quotes(in.path)
               + ") does not exist");
        return finish(std::move(r), request);
      }
    }
    if (run_process(request, *p, options_, r))
      collect_outputs(request, *p, options_, r);
  } catch (const std::exception& e) {
    r.outputs.clear();
    fail(r, ec::io_error, std::string{"the adapter failed: "} + e.what(), true);
  }
  if (!r.ok)
    r.outputs.clear();
  return finish(std::move(r), request);
}

// -- mock_adapter -------------------------------------------------------------------

execution_result mock_adapter::invoke(const execution_request& request) {
  auto start = clock_type::now();
  execution_result r;
  r.metrics = json::value{json::object{}};
  r.metrics.set("mode", "mock");
  try {
    // No process reads a manifest: only the output folder is needed.
    if (request.output_dir.empty()) {
      fail(r, ec::invalid_argument, "the request has no output directory");
      return finish(std::move(r), request);
    }
    auto output_dir = absolute_normal(request.output_dir);
    std::error_code err;
    if (!make_directories(output_dir, err)) {
      fail(r, ec::io_error,
           "cannot create the output directory "
             + in_quotes(output_dir.string()) + ": " + err.message(),
           true);
      return finish(std::move(r), request);
    }
    // The seed: the module ref and every input, in key order.
    std::vector<const resolved_input*> inputs;
    for (auto& in : request.inputs)
      inputs.push_back(&in);
    std::sort(inputs.begin(), inputs.end(),
              [](auto* a, auto* b) { return a->key < b->key; });
    std::string material = "omniva-mock\n" + request.contract.ref() + "\n";
    for (auto* in : inputs) {
      material += in->key;
      material += '\0';
      if (in->is_value) {
        auto parsed = json::parse(in->value_json);
        material += "VALUE";
        material += '\0';
        material += parsed ? json::serialize(*parsed.doc, json::style::canonical)
                           : in->value_json;
      } else {
        material += "ASSET";
        material += '\0';
        if (!in->sha256.empty()) {
          material += in->sha256;
        } else {
          auto hashed = hash_file(in->path);
          material += hashed ? hashed->first : "path:" + in->path;
        }
        material += '\0';
        material += in->media_type;
      }
      material += '\n';
    }
    auto base = contracts::to_hex(contracts::sha256(material));

    for (auto& o : request.contract.outputs) {
      auto seed = contracts::to_hex(contracts::sha256(base + "\n" + o.key));
      std::string media_type = o.media_type;
      if (auto star = media_type.find('*'); star != std::string::npos)
        media_type = media_type.substr(0, star) + "x-omniva-mock";
      std::string content;
      if (is_json_media_type(o.media_type)) {
        bool has_schema = !o.schema_ref.empty() || !o.schema_json.empty();
        json::value doc;
        if (has_schema) {
          bool unresolved = false;
          auto compiled = contracts::resolve_spec_schema(
            o.schema_ref, o.schema_json, request.schema_lookup, &unresolved);
          if (!compiled) {
            fail(r, ec::invalid_ref,
                 "the schema of output " + in_quotes(o.key)
                   + " cannot be resolved");
            break;
          }
          auto schema_doc = output_schema_document(request, o);
          doc = example_instance(schema_doc ? *schema_doc
                                            : json::value{json::object{}},
                                 seed);
          auto v = compiled->validate(doc, contracts::output::basic);
          if (!v.valid) {
            std::string why = v.errors.empty() ? "" : ": " + v.errors.front().message;
            if (!v.errors.empty())
              r.error_pointer = v.errors.front().instance_location;
            fail(r, ec::output_contract_violation,
                 "the mock adapter cannot produce a document valid against "
                 "the schema of output "
                   + in_quotes(o.key) + why);
            break;
          }
        } else {
          doc = json::value{json::object{}};
          doc.set("mock", true);
          doc.set("module", request.contract.ref());
          doc.set("output", o.key);
          doc.set("digest", seed);
        }
        content = json::serialize(doc, json::style::pretty) + "\n";
      } else if (is_text_media_type(o.media_type)) {
        content = "mock output '" + o.key + "' of " + request.contract.ref()
                  + ": " + seed + "\n";
      } else {
        auto a = contracts::sha256(seed + ":0");
        auto b = contracts::sha256(seed + ":1");
        content.assign(a.begin(), a.end());
        content.append(b.begin(), b.end());
      }
      auto path = output_dir / (o.key + std::string{extension_for(media_type)});
      if (!write_file(path.string(), content)) {
        fail(r, ec::io_error, "cannot write output " + in_quotes(o.key), true);
        break;
      }
      r.outputs.push_back(output_file{
        o.key, path.string(), media_type,
        contracts::to_hex(contracts::sha256(content)), content.size()});
    }
    if (r.error_code == ec::none)
      r.ok = true;
  } catch (const std::exception& e) {
    fail(r, ec::io_error, std::string{"the mock adapter failed: "} + e.what(),
         true);
  }
  if (!r.ok)
    r.outputs.clear();
  r.metrics.set("duration_ms", elapsed_ms(start));
  return finish(std::move(r), request);
}

// -- free functions -----------------------------------------------------------------

json::value example_instance(const json::value& schema, std::string_view seed) {
  instance_maker maker{std::string{seed}};
  return maker.make(schema, schema, 0, 0);
}

std::string detect_media_type(const std::string& path) {
  thread_local magic_handle handle;
  auto cookie = handle.get();
  if (!cookie)
    return {};
  auto* type = magic_file(cookie, path.c_str());
  return type ? std::string{type} : std::string{};
}

} // namespace omniva::runtime
