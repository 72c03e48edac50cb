// `omniva asset ...`: add files (uploaded, or by their path on the node's
// machine) and values to a node, list, show and delete its assets.

#include "runtime/cli_client.hpp"

#include <filesystem>
#include <map>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace omniva::cli {

namespace {

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
    "machine (under its allowed roots). Prints the new asset id.",
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
        r = client.upload_file("/api/assets/upload", path, q);
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
  return list_call(args,
                   "omniva asset list [--status S] [--media-type T] [--json]",
                   "Lists assets.", "/api/assets",
                   {"asset_id", "kind", "status", "media_type", "label"},
                   {{"status", "status", "PENDING, AVAILABLE or FAILED"},
                    {"media-type", "media_type", "e.g. video/mp4 or video/*"}});
}

int asset_show(const arguments& args) {
  return id_call(args, "omniva asset show ID [--json]", "Shows an asset.",
                 "the asset id", "GET", "/api/assets/", "", nullptr);
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
