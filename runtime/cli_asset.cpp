// `omniva asset ...`: add files (uploaded, or by their path on the node's
// machine) and values to a node, list, show and delete its assets.

#include "runtime/cli_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

/// Files from this size on get an upload progress bar (on a terminal).
constexpr uint64_t progress_min_bytes = 1024 * 1024;

/// The progress bar of an upload, redrawn in place on stderr:
/// `clip.mp4  [########------------]  42%  10.5 MiB / 25.0 MiB  48.2 MiB/s`.
class upload_bar {
public:
  /// A bar for the file named `name`.
  explicit upload_bar(std::string name) : name_(std::move(name)) {
  }

  /// Shows `sent` of `total` bytes; redrawn at most ten times a second,
  /// and always when the last byte went.
  void update(uint64_t sent, uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (sent < total && drawn_ && now - last_ < std::chrono::milliseconds{100})
      return;
    last_ = now;
    drawn_ = true;
    done_ = sent >= total;
    auto secs = std::chrono::duration<double>(now - start_).count();
    auto percent = total == 0 ? 100 : static_cast<int>(sent * 100 / total);
    std::string line = name_ + "  ";
    // A narrow terminal gets the figures without the bar.
    if (terminal_columns(STDERR_FILENO) >= 70) {
      constexpr int width = 20;
      auto filled = percent * width / 100;
      line += "[" + std::string(static_cast<size_t>(filled), '#')
              + std::string(static_cast<size_t>(width - filled), '-') + "]  ";
    }
    line += std::to_string(percent) + "%  " + human_size(sent) + " / "
            + human_size(total);
    // The rate, once there is time enough to tell it (and at the end).
    if (secs > 0.05 || done_)
      line += "  "
              + human_size(static_cast<uint64_t>(static_cast<double>(sent)
                                                 / std::max(secs, 0.001)))
              + "/s";
    // Back to the start of the line, then clear what a longer line left.
    std::cerr << '\r' << line << "\x1b[K" << (done_ ? "\n" : "") << std::flush;
  }

  /// Ends the bar's line when the upload stopped before its end.
  void close() {
    if (drawn_ && !done_)
      std::cerr << '\n' << std::flush;
    done_ = true;
  }

private:
  std::string name_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_;
  bool drawn_ = false;
  bool done_ = false;
};

int asset_add(const arguments& args) {
  po::options_description opts{"options"};
  std::string path, media_type, label;
  opts.add_options()
    ("path", po::value(&path)->required(), "the file")
    ("media-type", po::value(&media_type), "its media type (default: detected)")
    ("label", po::value(&label), "a label")
    ("server-path", "register a path on the node's machine instead of uploading the bytes");
  po::positional_options_description pos;
  pos.add("path", 1);
  client_options c;
  return client_call(
    args, "omniva asset add PATH [--media-type T] [--label L] [--server-path] [--json]",
    "Adds a FILE asset: uploads the file's bytes (works against a node on "
    "another machine), or with --server-path registers a file on the node's "
    "machine (under its allowed roots). Prints the new asset id. Uploading a "
    "file of 1 MiB or more shows a progress bar on stderr when stderr is a "
    "terminal (not with --json).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map& vm) {
      runtime::http_result r;
      if (vm.count("server-path")) {
        json::value body{json::object{}};
        body.set("path", fs::absolute(path).string());
        if (!media_type.empty())
          body.set("media_type", media_type);
        if (!label.empty())
          body.set("label", label);
        r = client.request("POST", "/api/assets/path", json::serialize(body));
      } else {
        if (!fs::is_regular_file(path))
          return fail("not a file: " + path);
        std::map<std::string, std::string> q;
        q["filename"] = fs::path{path}.filename().string();
        if (!media_type.empty())
          q["media_type"] = media_type;
        if (!label.empty())
          q["label"] = label;
        std::error_code err;
        auto size = fs::file_size(path, err);
        runtime::upload_progress progress;
        upload_bar bar{fs::path{path}.filename().string()};
        if (!c.as_json && !err && size >= progress_min_bytes
            && is_terminal(STDERR_FILENO))
          progress = [&](uint64_t sent, uint64_t total) { bar.update(sent, total); };
        r = client.upload_file("/api/assets/upload", path, q,
                               "application/octet-stream", progress);
        bar.close();
      }
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "asset_id");
      return exit_ok;
    });
}

int asset_value(const arguments& args) {
  po::options_description opts{"options"};
  std::string value, dtype, label;
  opts.add_options()
    ("value", po::value(&value)->required(), "the value as JSON (a bare word is taken as a string)")
    ("dtype", po::value(&dtype)->required(), "string, text, url, int, float, bool, enum or json")
    ("label", po::value(&label), "a label");
  po::positional_options_description pos;
  pos.add("value", 1);
  client_options c;
  return client_call(
    args, "omniva asset value VALUE --dtype T [--label L] [--json]",
    "Creates a VALUE asset (checked against its dtype). Prints its id.", opts,
    pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto parsed = json::parse(value);
      json::value body{json::object{}};
      body.set("value", parsed ? std::move(*parsed.doc) : json::value{value});
      body.set("dtype", dtype);
      if (!label.empty())
        body.set("label", label);
      auto r = client.request("POST", "/api/assets/value", json::serialize(body));
      if (!r.ok())
        return report(r);
      print(*r.json(), c.as_json, "asset_id");
      return exit_ok;
    });
}

int asset_list(const arguments& args) {
  return list_call(
    args,
    "omniva asset list [--status S] [--media-type T] [--limit N] [--cursor C] "
    "[--json]",
    "Lists assets, a page at a time (--limit, default 100); when there is "
    "more, the last line is the command that prints the next page. An "
    "unknown status is refused (exit 2).",
    "/api/assets",
    {col("asset_id"), col("kind"), col("status"),
     column{"type",
            [](const json::value& a) {
              auto t = field(a, "media_type");
              return t.empty() ? field(a, "dtype") : t;
            },
            false},
     size_col("size"), col("label", true)},
    {{"status", "status", "PENDING, AVAILABLE, FAILED or PURGED (exactly so)"},
     {"media-type", "media_type", "e.g. video/mp4 or video/*"}});
}

int asset_show(const arguments& args) {
  po::options_description opts{"options"};
  std::string id;
  opts.add_options()("id", po::value(&id)->required(), "the asset id");
  po::positional_options_description pos;
  pos.add("id", 1);
  client_options c;
  return client_call(
    args, "omniva asset show ID [--json]",
    "Shows an asset: a field a line, its size in binary units (--json: the "
    "record, sizes in bytes).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("GET", "/api/assets/" + runtime::url_encode(id));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc || !doc->is_object())
        return fail("the node's answer is not a JSON object");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      print_fields(*doc, [](const std::string& key, const json::value& value)
                           -> std::optional<std::string> {
        auto bytes = key == "size" ? value.as_int64() : std::nullopt;
        if (!bytes || *bytes < 0)
          return std::nullopt;
        auto text = human_size(static_cast<uint64_t>(*bytes));
        return *bytes < 1024 ? text
                             : text + " (" + std::to_string(*bytes) + " bytes)";
      });
      return exit_ok;
    });
}

int asset_rm(const arguments& args) {
  return id_call(args, "omniva asset rm ID [--json]",
                 "Deletes an asset (refused while an unfinished task holds it).",
                 "the asset id", "DELETE", "/api/assets/", "", "deleted");
}

} // namespace

int run_asset(const arguments& args) {
  static const std::vector<verb> verbs{
    {"add", "add a file (upload, or --server-path)", asset_add},
    {"value", "create a VALUE asset", asset_value},
    {"list", "list assets (filter by status, media type)", asset_list},
    {"show", "show an asset", asset_show},
    {"rm", "delete an asset", asset_rm},
  };
  return dispatch("asset", "Assets of a node: files and values.", verbs, args);
}

} // namespace omniva::cli
