// The files of one execution: preparing the output folder and the input
// manifest before a module runs, reading and checking its output manifest
// and outputs after.

#include "runtime/execution_files.hpp"

#include "contracts/json_schema.hpp"
#include "contracts/media_type.hpp"
#include "contracts/predicate.hpp"
#include "contracts/sha256.hpp"
#include "runtime/redaction.hpp"
#include "storage/media_detect.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <vector>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;

namespace {

/// The file name extension suggested for an output of `media_type`.
std::string_view extension_for(std::string_view media_type) {
  auto e = contracts::media_type_essence(media_type);
  if (contracts::is_json_media_type(e))
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

/// One file a module's output manifest lists for an output.
struct listed_file {
  /// The path as the manifest gives it (relative to the output folder, or
  /// absolute).
  std::string path;
  /// The media type the manifest declares; nullptr: detect it.
  const json::value* media_type = nullptr;
  /// The output's name in messages: "output 'key'", or for a file of a
  /// `many` output "output 'key' file 2".
  std::string what;
  /// Where the manifest lists it: "/outputs/<key>", or
  /// "/outputs/<key>/paths/<i>" for a file of a `many` output.
  std::string pointer;
};

/// Validates a JSON output against its schema, if it has one; `text` is the
/// file's content, `what` its name in messages ("output 'key'"). Returns
/// false with `r` filled on failure.
bool check_json_output(const execution_context& context,
                       const contracts::output_spec& o, const std::string& what,
                       const std::string& text, contracts::execution_outcome& r) {
  bool has_schema = !o.schema_ref.empty() || !o.schema_json.empty();
  if (!has_schema) {
    auto parsed = json::parse(text);
    if (!parsed) {
      fail(r, ec::output_contract_violation,
           what + " is not valid JSON: "
             + parsed.error.message);
      return false;
    }
    return true;
  }
  bool unresolved = false;
  auto schema = contracts::resolve_spec_schema(o.schema_ref, o.schema_json,
                                               context.schema_lookup, &unresolved);
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
         what + " is not valid JSON: " + *v.parse_error);
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
         what + " does not satisfy its schema at " + where
           + ": " + why
           + (v.errors.size() > 1
                ? " (and " + std::to_string(v.errors.size() - 1)
                    + " more error" + (v.errors.size() > 2 ? "s" : "") + ")"
                : ""));
    return false;
  }
  return true;
}

/// Fails `r` for JSON output file `f`, larger than `limit` bytes (pointer:
/// where the manifest lists it).
void refuse_too_large(const listed_file& f, size_t limit,
                      contracts::execution_outcome& r, uint64_t size = 0) {
  r.error_pointer = f.pointer;
  fail(r, ec::output_too_large,
       f.what + " is "
         + (size > 0 ? std::to_string(size) + " bytes" : std::string{"larger"})
         + ", more than the " + std::to_string(limit)
         + " bytes a JSON output may have; it was not read");
}

/// Checks, before reading it, that the JSON output file `f` at `path` is at
/// most `limit` bytes; fails `r` with `output_too_large` when not.
bool within_json_bound(const listed_file& f, const fs::path& path,
                       size_t limit, contracts::execution_outcome& r) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return true; // reading it reports what is wrong
  auto size = static_cast<uint64_t>(st.st_size);
  if (size <= limit)
    return true;
  refuse_too_large(f, limit, r, size);
  return false;
}

} // namespace

// -- files ------------------------------------------------------------------------

fs::path absolute_normal(const fs::path& p) {
  std::error_code err;
  auto abs = fs::absolute(p, err);
  return (err ? p : abs).lexically_normal();
}

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

std::optional<std::string> read_small_file(const std::string& path,
                                           size_t limit,
                                           bool* too_large) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  auto refuse = [&](bool larger) -> std::optional<std::string> {
    ::close(fd);
    if (larger && too_large)
      *too_large = true;
    return std::nullopt;
  };
  struct stat st{};
  if (::fstat(fd, &st) != 0)
    return refuse(false);
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > limit)
    return refuse(true);
  std::string out;
  if (S_ISREG(st.st_mode))
    out.reserve(static_cast<size_t>(st.st_size));
  std::vector<char> chunk(1 << 16);
  while (true) {
    auto n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return refuse(false);
    if (n == 0)
      break;
    out.append(chunk.data(), static_cast<size_t>(n));
    if (out.size() > limit)
      return refuse(true);
  }
  ::close(fd);
  return out;
}

std::string suggested_file_name(std::string_view key,
                                std::string_view media_type) {
  std::string out{key};
  out.append(extension_for(media_type));
  return out;
}

std::string suggested_file_name(std::string_view key,
                                std::string_view media_type, size_t index) {
  std::string out{key};
  out += '-';
  out += std::to_string(index);
  out.append(extension_for(media_type));
  return out;
}

std::string asset_list_file_name(std::string_view key) {
  std::string out{key};
  out.append(".asset-list.json");
  return out;
}

// -- before the run -----------------------------------------------------------------

std::optional<prepared_execution>
prepare_execution(const contracts::dispatch_order& order, std::string_view mode,
                  contracts::execution_outcome& r) {
  if (order.output_dir.empty()) {
    fail(r, ec::invalid_argument, "the request has no output directory");
    return std::nullopt;
  }
  prepared_execution p;
  p.output_dir = absolute_normal(order.output_dir);
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
  for (auto& in : order.inputs) {
    json::value entry{json::object{}};
    if (in.is_value) {
      auto parsed = json::parse(in.value_json);
      if (!parsed) {
        fail(r, ec::invalid_argument,
             "the value of input " + in_quotes(in.key)
               + " is not JSON: " + parsed.error.message);
        return std::nullopt;
      }
      // The module gets its own copy in the execution folder, whatever the
      // value's asset URI: a module must not reach into the store.
      auto file = p.output_dir / "inputs" / (in.key + ".json");
      fs::create_directories(file.parent_path(), err);
      if (!write_file(file.string(), json::serialize(*parsed.doc))) {
        fail(r, ec::io_error,
             "cannot write the value of input " + in_quotes(in.key) + " to "
               + in_quotes(file.string()),
             true);
        return std::nullopt;
      }
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
  for (auto& o : order.contract.outputs) {
    json::value entry{json::object{}};
    entry.set("media_type", o.media_type);
    if (o.many) {
      // Any number of files: named `<prefix><i><extension>`, suggested.
      entry.set("many", true);
      entry.set("prefix", (p.output_dir / (o.key + "-")).string());
      entry.set("extension", std::string{extension_for(o.media_type)});
    } else {
      entry.set("path",
                (p.output_dir / suggested_file_name(o.key, o.media_type)).string());
    }
    outputs.set(o.key, std::move(entry));
  }

  json::value manifest{json::object{}};
  manifest.set("schema_version", std::string{input_manifest_version});
  manifest.set("execution_id",
               order.execution_id.empty()
                 ? order.task.task_id + "/" + std::to_string(order.task.attempt)
                 : order.execution_id);
  manifest.set("task_id", order.task.task_id);
  manifest.set("attempt", int64_t{order.task.attempt});
  manifest.set("module", order.contract.ref());
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

// -- after the run ------------------------------------------------------------------

bool read_reported_error(const fs::path& output_dir, size_t max_manifest_bytes,
                         contracts::execution_outcome& r) {
  auto text = read_small_file((output_dir / output_manifest_name).string(),
                              max_manifest_bytes, nullptr);
  if (!text)
    return false;
  auto parsed = json::parse(*text);
  if (!parsed || !parsed.doc->is_object())
    return false;
  auto* error = parsed.doc->find("error");
  if (error == nullptr || !error->is_object())
    return false;
  auto* code = error->find("code");
  if (code == nullptr || !code->is_string())
    return false;
  auto& name = code->as_string();
  bool snake = !name.empty() && name.size() <= 64 && name.front() >= 'a'
               && name.front() <= 'z'
               && std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                           || c == '_';
                  });
  if (!snake)
    return false;
  auto* message = error->find("message");
  auto* transient = error->find("transient");
  std::string said = message != nullptr && message->is_string()
                       ? message->as_string().substr(0, 1000)
                       : std::string{"the module reported an error"};
  fail(r, ec::exit_code, "the module reported " + name + ": " + said,
       transient != nullptr && transient->is_bool() && transient->as_bool());
  r.module_error_code = name;
  return true;
}

namespace {

/// What every output file is checked against.
struct file_checks {
  const execution_context& context;
  const output_limits& limits;
  /// The output folder, canonical.
  const fs::path& root;
  /// The files of the runtime, relative to `root`.
  const std::set<std::string, std::less<>>& reserved;
};

/// Checks one listed file of output `o` as the header says (inside the
/// output folder, not a file of the runtime, its media type declared or
/// detected and matching, a JSON output within its bound and against its
/// schema), hashes it and appends it to `r.outputs`. `seen` maps the
/// canonical path of each file of `o` checked before to the pointer listing
/// it: a file listed twice is an `output_contract_violation`. Returns false
/// with `r` failed.
bool check_output_file(const file_checks& in, const contracts::output_spec& o,
                       const listed_file& f,
                       std::map<fs::path, std::string>& seen,
                       contracts::execution_outcome& r) {
  std::error_code err;
  fs::path given{f.path};
  auto candidate = given.is_absolute() ? given : in.root / given;
  auto real = fs::canonical(candidate, err);
  if (err) {
    fail(r, ec::missing_output,
         f.what + ": the file " + in_quotes(given.string()) + " does not exist");
    return false;
  }
  if (!inside(in.root, real)) {
    fail(r, ec::missing_output,
         f.what + ": " + in_quotes(given.string())
           + " lies outside the output directory");
    return false;
  }
  if (!fs::is_regular_file(real, err)) {
    fail(r, ec::missing_output,
         f.what + ": " + in_quotes(given.string()) + " is not a regular file");
    return false;
  }
  auto rel = real.lexically_relative(in.root).string();
  if (in.reserved.contains(rel)) {
    fail(r, ec::output_contract_violation,
         f.what + " names " + in_quotes(rel) + ", a file of the runtime");
    return false;
  }
  if (!is_clean_text(real.string())) {
    fail(r, ec::output_contract_violation,
         f.what + ": the file name is not valid UTF-8 text");
    return false;
  }
  if (auto [first, fresh] = seen.emplace(real, f.pointer); !fresh) {
    fail(r, ec::output_contract_violation,
         "output " + in_quotes(o.key) + " lists " + in_quotes(rel)
           + " twice (" + first->second + " and " + f.pointer
           + "): each file is one element of the list");
    return false;
  }

  // The media type: declared by the module, or detected.
  auto json_limit = in.limits.max_json_output_bytes;
  bool json_contract = contracts::is_json_media_type(o.media_type);
  if (json_contract && !within_json_bound(f, real, json_limit, r))
    return false;
  std::optional<std::string> content; // read once for JSON outputs
  bool grew_too_large = false;
  auto read_content = [&]() -> const std::string* {
    if (!content)
      content = read_small_file(real.string(), json_limit, &grew_too_large);
    return content ? &*content : nullptr;
  };
  std::string media_type;
  if (f.media_type) {
    media_type = f.media_type->as_string();
    if (!contracts::is_valid_media_type(
          contracts::media_type_essence(media_type), false)) {
      fail(r, ec::output_contract_violation,
           f.what + " declares " + in_quotes(media_type)
             + ", which is not a media type");
      return false;
    }
  } else {
    auto detected = storage::magic_media_type(real.string());
    media_type = detected;
    if (json_contract
        && (detected == "text/plain" || detected == "application/json")) {
      // libmagic cannot tell JSON from text reliably: trust the contract
      // when the content is JSON (checked below in any case).
      if (auto* c = read_content(); c && json::parse(*c))
        media_type = o.media_type;
    } else if (detected == "text/plain"
               && contracts::is_text_media_type(o.media_type)
               && o.media_type.find('*') == std::string::npos) {
      // Nor text/csv, text/markdown, ... from text/plain.
      media_type = o.media_type;
    }
    if (media_type.empty()) {
      fail(r, ec::output_contract_violation,
           f.what + ": its media type could not be detected; declare it in "
             + std::string{output_manifest_name});
      return false;
    }
  }
  if (!contracts::media_type_matches(o.media_type, media_type)) {
    fail(r, ec::output_contract_violation,
         f.what + " is " + in_quotes(media_type)
           + (f.media_type ? " (declared)" : " (detected)")
           + " but the contract promises " + in_quotes(o.media_type));
    return false;
  }
  if (json_contract) {
    auto* c = read_content();
    if (!c && grew_too_large) {
      refuse_too_large(f, json_limit, r);
      return false;
    }
    if (!c) {
      fail(r, ec::io_error, "cannot read " + f.what, true);
      return false;
    }
    if (!check_json_output(in.context, o, f.what, *c, r))
      return false;
  }
  auto hashed = contracts::sha256_file(real.string(), in.context.heartbeat);
  if (!hashed) {
    fail(r, ec::io_error, "cannot read " + f.what, true);
    return false;
  }
  r.outputs.push_back(contracts::produced_output{
    o.key, real.string(), media_type, std::move(hashed->sha256), hashed->size});
  return true;
}

/// Reads the manifest entry of output `o` (`entry`, where the manifest
/// names it as `at`, "outputs.<key>") into the files it lists: one `path`
/// for a single output; `paths` (or one `path`) for a `many` output, at
/// most `max_files`. Returns nullopt with `r` failed when the entry is
/// malformed (`missing_manifest`) or lists too many files
/// (`output_contract_violation`).
std::optional<std::vector<listed_file>>
listed_files(const contracts::output_spec& o, const json::value& entry,
             const std::string& at, size_t max_files,
             contracts::execution_outcome& r) {
  auto malformed = [&](std::string what) {
    fail(r, ec::missing_manifest,
         std::string{output_manifest_name} + ": " + std::move(what));
    return std::nullopt;
  };
  auto pointer = json::append_pointer("/outputs", o.key);
  auto what = "output " + in_quotes(o.key);
  // One file: {"path", "media_type"?} at `where`.
  auto one = [&](const json::value& x, const std::string& where,
                 std::string name, std::string ptr) -> std::optional<listed_file> {
    auto* path_v = x.is_object() ? x.find("path") : nullptr;
    if (!path_v || !path_v->is_string() || path_v->as_string().empty()) {
      fail(r, ec::missing_manifest,
           std::string{output_manifest_name} + ": " + where
             + ".path must be a non-empty string"
             + (!o.many && x.is_object() && x.find("paths")
                  ? std::string{" (\"paths\" is for outputs the contract "
                                "declares \"many\")"}
                  : std::string{}));
      return std::nullopt;
    }
    auto* type_v = x.find("media_type");
    if (type_v && !type_v->is_string()) {
      fail(r, ec::missing_manifest,
           std::string{output_manifest_name} + ": " + where
             + ".media_type must be a string");
      return std::nullopt;
    }
    return listed_file{path_v->as_string(), type_v, std::move(name),
                       std::move(ptr)};
  };
  std::vector<listed_file> files;
  auto* paths = entry.is_object() ? entry.find("paths") : nullptr;
  if (o.many && !paths && !(entry.is_object() && entry.find("path")))
    return malformed(at + ".paths must be a list of file paths");
  if (!o.many || !paths) {
    auto f = one(entry, at, what, pointer);
    if (!f)
      return std::nullopt;
    files.push_back(std::move(*f));
    return files;
  }
  if (entry.find("path"))
    return malformed(at + " gives both \"path\" and \"paths\": list every "
                          "file under \"paths\"");
  if (!paths->is_array())
    return malformed(at + ".paths must be a list of file paths");
  auto& xs = paths->as_array();
  if (xs.size() > max_files) {
    fail(r, ec::output_contract_violation,
         what + " lists " + std::to_string(xs.size())
           + " files, more than the " + std::to_string(max_files)
           + " an output may have");
    return std::nullopt;
  }
  files.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    auto where = at + ".paths[" + std::to_string(i) + "]";
    auto name = what + " file " + std::to_string(i);
    auto ptr = json::append_pointer(pointer + "/paths", i);
    if (xs[i].is_string()) {
      if (xs[i].as_string().empty())
        return malformed(where + " must be a non-empty string");
      files.push_back(listed_file{xs[i].as_string(), nullptr, std::move(name),
                                  std::move(ptr)});
      continue;
    }
    if (!xs[i].is_object())
      return malformed(where + " must be a path or {\"path\", \"media_type\"}");
    auto f = one(xs[i], where, std::move(name), std::move(ptr));
    if (!f)
      return std::nullopt;
    files.push_back(std::move(*f));
  }
  return files;
}

} // namespace

void collect_outputs(const contracts::dispatch_order& order,
                     const execution_context& context,
                     const fs::path& output_dir, const output_limits& limits,
                     contracts::execution_outcome& r) {
  auto max_manifest_bytes = limits.max_manifest_bytes;
  auto manifest_path = (output_dir / output_manifest_name).string();
  std::error_code err;
  if (!fs::exists(manifest_path, err)) {
    fail(r, ec::missing_manifest,
         "the module exited with status 0 but wrote no "
           + std::string{output_manifest_name});
    return;
  }
  bool too_large = false;
  auto text = read_small_file(manifest_path, max_manifest_bytes, &too_large);
  if (!text) {
    fail(r, ec::missing_manifest,
         too_large ? std::string{output_manifest_name} + " is larger than "
                       + std::to_string(max_manifest_bytes) + " bytes"
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
  if (read_reported_error(output_dir, max_manifest_bytes, r))
    return; // it exited 0 but says it failed
  auto* listed = parsed.doc->find("outputs");
  if (!listed || !listed->is_object()) {
    fail(r, ec::missing_manifest,
         std::string{output_manifest_name} + " has no \"outputs\" object");
    return;
  }
  auto root = fs::canonical(output_dir, err);
  if (err) {
    fail(r, ec::io_error,
         "cannot resolve the output directory: " + err.message(), true);
    return;
  }
  std::set<std::string, std::less<>> reserved{
    std::string{input_manifest_name}, std::string{output_manifest_name},
    std::string{stdout_log_name}, std::string{stderr_log_name}};
  for (auto& o : order.contract.outputs)
    if (o.many)
      reserved.insert(asset_list_file_name(o.key));
  file_checks checks{context, limits, root, reserved};
  for (auto& o : order.contract.outputs) {
    if (context.stop_requested()) {
      fail(r, ec::cancelled, "the attempt was stopped while its outputs were checked");
      return;
    }
    auto* entry = listed->find(o.key);
    if (!entry) {
      fail(r, ec::missing_output,
           "the module did not list the declared output " + in_quotes(o.key)
             + " in " + std::string{output_manifest_name});
      return;
    }
    auto files = listed_files(o, *entry, std::string{"outputs."} + o.key,
                              limits.max_files_per_output, r);
    if (!files)
      return;
    // A file listed twice would be one asset twice in the list.
    std::map<fs::path, std::string> seen;
    for (size_t i = 0; i < files->size(); ++i) {
      if (i > 0 && context.stop_requested()) {
        fail(r, ec::cancelled,
             "the attempt was stopped while its outputs were checked");
        return;
      }
      if (!check_output_file(checks, o, (*files)[i], seen, r))
        return;
    }
  }
  r.ok = true;
}

void read_reported_cost(const fs::path& output_dir, size_t max_manifest_bytes,
                        contracts::execution_outcome& r) {
  auto text = read_small_file((output_dir / output_manifest_name).string(),
                              max_manifest_bytes, nullptr);
  if (!text)
    return;
  auto parsed = json::parse(*text);
  if (!parsed || !parsed.doc->is_object())
    return;
  auto* cost = parsed.doc->find("cost");
  auto* usd = cost != nullptr && cost->is_object() ? cost->find("usd_micro")
                                                   : nullptr;
  if (usd == nullptr || !usd->is_integral())
    return;
  if (auto n = usd->as_int64(); n && *n >= 0 && *n <= contracts::max_usd_micro)
    r.cost_usd_micro = *n;
}

namespace {

/// `artifact.exists` and `artifact.size_between` over an output, decided from
/// what the output check just found (each file exists, is regular, and its
/// size was measured while it was hashed): no second `stat` per file.
/// nullopt for any other use (the evaluation reads the files).
std::optional<contracts::predicate_outcome>
from_checked_outputs(const contracts::predicate_use& use,
                     const contracts::execution_outcome& r) {
  using contracts::predicate_kind;
  if (use.kind != predicate_kind::artifact_exists
      && use.kind != predicate_kind::artifact_size_between)
    return std::nullopt;
  auto args = json::parse(use.merged_args_json);
  if (!args || !args.doc->is_object())
    return std::nullopt;
  auto* path = args.doc->find("path");
  auto ref = path != nullptr && path->is_string()
               ? contracts::parse_predicate_ref(path->as_string())
               : std::nullopt;
  if (!ref || !ref->output)
    return std::nullopt;
  auto* lo = args.doc->find("min_bytes");
  auto* hi = args.doc->find("max_bytes");
  std::string seen = path->as_string() + " has no file";
  bool any = false;
  for (auto& o : r.outputs) {
    if (o.key != ref->key)
      continue;
    any = true;
    auto name = fs::path{o.path}.filename().string();
    auto n = static_cast<int64_t>(o.size);
    if (use.kind == predicate_kind::artifact_exists) {
      seen = name + " exists (" + std::to_string(n) + " bytes)";
      continue;
    }
    seen = name + " is " + std::to_string(n) + " bytes";
    if (lo != nullptr && lo->as_int64() && n < *lo->as_int64())
      return contracts::predicate_outcome{
        false, seen + ", below min_bytes " + std::to_string(*lo->as_int64())};
    if (hi != nullptr && hi->as_int64() && n > *hi->as_int64())
      return contracts::predicate_outcome{
        false, seen + ", above max_bytes " + std::to_string(*hi->as_int64())};
  }
  if (!any)
    return std::nullopt; // a `many` output without files: as the evaluation says
  return contracts::predicate_outcome{true, std::move(seen)};
}

} // namespace

void check_success_predicates(const contracts::dispatch_order& order,
                              const execution_context& context,
                              contracts::execution_outcome& r) {
  auto& uses = order.contract.predicates.success;
  if (!r.ok || uses.empty())
    return;
  contracts::predicate_subjects subjects
    = [&](const contracts::predicate_ref& ref)
    -> std::optional<contracts::predicate_subject> {
    contracts::predicate_subject s;
    if (ref.output) {
      for (auto& o : r.outputs)
        if (o.key == ref.key)
          s.paths.push_back(o.path);
      // A `many` output with no file: every file of none holds.
      if (s.paths.empty() && !order.contract.find_output(ref.key))
        return std::nullopt;
      return s;
    }
    for (auto& in : order.inputs) {
      if (in.key != ref.key)
        continue;
      if (in.is_value && in.path.empty())
        s.value_json = in.value_json;
      else
        s.paths.push_back(in.path);
      return s;
    }
    return std::nullopt;
  };
  contracts::predicate_schema_resolver resolve;
  if (context.schema_lookup)
    resolve = [&](std::string_view id) { return context.schema_lookup(id); };
  json::array verdicts;
  for (size_t i = 0; i < uses.size(); ++i) {
    if (context.stop_requested()) {
      fail(r, ec::cancelled,
           "the attempt was stopped while its success predicates were checked");
      r.outputs.clear();
      break;
    }
    auto known = from_checked_outputs(uses[i], r);
    auto verdict = known ? std::move(*known)
                         : contracts::evaluate_file_predicate(uses[i], subjects, resolve);
    verdicts.push_back(json::object{{"id", uses[i].id},
                                    {"passed", verdict.passed},
                                    {"saw", verdict.saw}});
    if (!verdict.passed) {
      r.outputs.clear();
      fail(r, ec::success_predicate_failed,
           "success predicate " + uses[i].id + " does not hold: " + verdict.saw);
      r.error_pointer = "/predicates/success/" + std::to_string(i);
      break;
    }
  }
  r.predicates_json = json::serialize(json::value{std::move(verdicts)});
}

} // namespace omniva::runtime
