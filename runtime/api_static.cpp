// The dashboard's files (docs/http-api.md, "Dashboard files"): `GET /` is
// `<web>/index.html`, `GET /<path>` a file under the dashboard's folder, and
// `GET /vendor/<package>/<path>` a file of one of the packages web/package.json
// lists under "dependencies" (`<web>/node_modules/<package>/<path>`; never a
// devDependency such as the browser test tools).
//
// Every route is public: the page loads before its login. The file route is
// a fallback (`route_options::fallback`): it takes only paths no route of
// the API matches, and answers a path under /api/ or /metrics with the
// API's own 404. A path is confined to its folder: no "..", no dotfile, no
// `node_modules` below the folder itself, and the file's canonical path
// (symbolic links resolved) must lie inside the folder's.
//
// Answers carry `Cache-Control: no-cache` and an ETag made of the file's
// size and modification time (304 on a matching `If-None-Match`). The HTML
// page also gets a Content-Security-Policy allowing scripts and styles of
// the node only, plus its inline scripts (the import map) by their SHA-256,
// computed from the bytes served, and the one style sheet Cytoscape.js
// inserts, by its SHA-256.

#include "runtime/api_paging.hpp"

#include "contracts/packet.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

namespace fs = std::filesystem;

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The largest file served (read whole).
constexpr uintmax_t max_static_bytes = uintmax_t{64} << 20;

/// What the node serves the dashboard from.
struct web_files {
  /// The canonical dashboard folder; empty when it could not be resolved.
  fs::path root;
  /// The packages of "dependencies" in web/package.json.
  std::set<std::string> packages;
};

/// The media type for a file name's extension.
std::string media_type_of(const fs::path& p) {
  auto ext = p.extension().string();
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<std::string_view, std::string_view> types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".txt", "text/plain; charset=utf-8"},
  };
  for (auto& [e, type] : types)
    if (ext == e)
      return std::string{type};
  return "application/octet-stream";
}

/// Base64 (RFC 4648, padded) of `bytes`.
std::string base64(std::span<const uint8_t> bytes) {
  static constexpr char digits[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    out += digits[n >> 18 & 63];
    out += digits[n >> 12 & 63];
    out += digits[n >> 6 & 63];
    out += digits[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = bytes[i] << 16;
    if (i + 1 < bytes.size())
      n |= bytes[i + 1] << 8;
    out += digits[n >> 18 & 63];
    out += digits[n >> 12 & 63];
    out += i + 1 < bytes.size() ? digits[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

/// ASCII lowercase.
std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The CSP sources (`'sha256-...'`) of the inline scripts of `html`: the
/// text of each `<script>` element without a `src` attribute.
std::string inline_script_hashes(const std::string& html) {
  auto text = lower(html);
  std::string out;
  size_t at = 0;
  for (;;) {
    auto open = text.find("<script", at);
    if (open == std::string::npos)
      break;
    auto close = text.find('>', open);
    if (close == std::string::npos)
      break;
    auto tag = std::string_view{text}.substr(open, close - open);
    auto end = text.find("</script", close + 1);
    if (end == std::string::npos)
      break;
    bool has_src = false;
    for (size_t s = tag.find("src"); s != std::string_view::npos;
         s = tag.find("src", s + 1)) {
      auto before = tag[s - 1];
      auto after = s + 3 < tag.size() ? tag[s + 3] : ' ';
      if ((before == ' ' || before == '\t' || before == '\n' || before == '\r')
          && (after == '=' || after == ' ' || after == '\t'))
        has_src = true;
    }
    if (!has_src) {
      auto d = contracts::sha256(
        std::string_view{html}.substr(close + 1, end - close - 1));
      out += " 'sha256-" + base64(d) + "'";
    }
    at = end + 1;
  }
  return out;
}

/// The inline style sheets the dashboard's libraries insert, admitted by
/// their SHA-256: Cytoscape.js adds one rule for its graph containers.
constexpr std::string_view library_styles[] = {
  ".__________cytoscape_container { position: relative; }",
};

/// The CSP sources of `library_styles`.
std::string library_style_hashes() {
  std::string out;
  for (auto text : library_styles)
    out += " 'sha256-" + base64(contracts::sha256(text)) + "'";
  return out;
}

/// The Content-Security-Policy of an HTML page with these bytes.
std::string content_security_policy(const std::string& html) {
  return "default-src 'self'; script-src 'self'" + inline_script_hashes(html)
         + "; style-src 'self'" + library_style_hashes()
         + "; img-src 'self' data: blob:; "
           "media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
           "object-src 'none'; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'";
}

/// Whether the comma-separated entity tags of an `If-None-Match` field
/// name `etag` (weak comparison) or are "*".
bool etag_listed(std::string_view field, std::string_view etag) {
  while (!field.empty()) {
    auto comma = field.find(',');
    auto item = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view{}
                                            : field.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (item.starts_with("W/"))
      item.remove_prefix(2);
    if (item == "*" || item == etag)
      return true;
  }
  return false;
}

/// The 404 of a file the dashboard does not have.
http_response no_file(const std::string& path) {
  return error_response(404, ec::not_found,
                        "There is no dashboard file at " + printable(path)
                          + ".");
}

/// Whether `rel` (a decoded path relative to a folder) is one the
/// dashboard may serve: no empty, ".", ".." or dot segment, no
/// `node_modules`, no backslash or NUL.
bool acceptable(std::string_view rel) {
  if (rel.empty())
    return false;
  for (;;) {
    auto slash = rel.find('/');
    auto seg = rel.substr(0, slash);
    if (seg.empty() || seg.front() == '.' || seg == "node_modules"
        || seg.find_first_of(std::string_view{"\\\0", 2})
             != std::string_view::npos)
      return false;
    if (slash == std::string_view::npos)
      return true;
    rel.remove_prefix(slash + 1);
  }
}

/// Answers the file `rel` under the canonical folder `base` (which must
/// itself lie in the dashboard's folder), as request `req` asks.
void serve_file(const fs::path& base, const std::string& rel,
                const http_request& req, responder& r) {
  if (base.empty() || !acceptable(rel))
    return r.send(no_file(req.path));
  std::error_code err;
  auto real = fs::canonical(base / fs::path{rel}, err);
  if (err)
    return r.send(no_file(req.path));
  auto inside = real.lexically_relative(base);
  if (inside.empty() || *inside.begin() == ".." || inside.is_absolute())
    return r.send(no_file(req.path));
  auto status = fs::status(real, err);
  if (err || !fs::is_regular_file(status))
    return r.send(no_file(req.path));
  auto size = fs::file_size(real, err);
  if (err)
    return r.send(no_file(req.path));
  auto mtime = fs::last_write_time(real, err);
  if (err)
    return r.send(no_file(req.path));
  if (size > max_static_bytes)
    return r.send(error_response(404, ec::not_found,
                                 "The dashboard file " + printable(req.path)
                                   + " is too large to serve."));
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
              mtime.time_since_epoch())
              .count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%jx-%llx\"", size,
                static_cast<unsigned long long>(ns));
  std::string etag{buf};
  http_response resp;
  resp.headers.emplace_back("ETag", etag);
  resp.headers.emplace_back("Cache-Control", "no-cache");
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (auto inm = req.headers.find("if-none-match");
      inm != req.headers.end() && etag_listed(inm->second, etag)) {
    resp.status = 304;
    return r.send(std::move(resp));
  }
  std::ifstream in{real, std::ios::binary};
  std::string body(static_cast<size_t>(size), '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  if (!in || static_cast<uintmax_t>(in.gcount()) != size)
    return r.send(error_response(500, ec::io_error,
                                 "The dashboard file " + printable(req.path)
                                   + " cannot be read."));
  resp.content_type = media_type_of(real);
  if (resp.content_type.starts_with("text/html")) {
    resp.headers.emplace_back("Content-Security-Policy",
                              content_security_policy(body));
    resp.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  resp.body = std::move(body);
  r.send(std::move(resp));
}

/// Reads the dashboard's folder: its canonical path and the packages of
/// "dependencies" in its package.json.
web_files read_web_files(const std::string& web_dir) {
  web_files w;
  std::error_code err;
  w.root = fs::canonical(web_dir, err);
  if (err || !fs::is_directory(w.root, err)) {
    spdlog::warn("dashboard: the folder {} cannot be read; serving no files",
                 web_dir);
    w.root.clear();
    return w;
  }
  auto manifest = w.root / "package.json";
  if (!fs::exists(manifest, err))
    return w;
  auto parsed = json::parse_file(manifest.string());
  if (!parsed) {
    spdlog::warn("dashboard: {} cannot be read ({}); serving no packages",
                 manifest.string(), parsed.error.message);
    return w;
  }
  if (auto* deps = parsed.doc->find("dependencies"); deps && deps->is_object())
    for (auto& [name, version] : deps->as_object())
      if (!name.empty() && name.find("..") == std::string::npos
          && name.front() != '.')
        w.packages.insert(name);
  return w;
}

/// Whether a decoded path is the API's: under /api/ or /metrics.
bool api_path(const std::string& rest) {
  return rest == "api" || rest.starts_with("api/") || rest == "metrics"
         || rest.starts_with("metrics/");
}

} // namespace

void install_static_routes(http_server& server, const context_ptr& ctx) {
  route_options open;
  open.is_public = true;
  if (ctx->web_dir.empty()) {
    server.route("GET", "/", [](http_request, responder r) {
      r.send(error_response(404, ec::not_found,
                            "This node was started without a dashboard "
                            "(omniva serve --web none); its HTTP API is "
                            "under /api/."));
    }, open);
    return;
  }
  auto files = std::make_shared<const web_files>(read_web_files(ctx->web_dir));
  server.route("GET", "/", [files](http_request req, responder r) {
    serve_file(files->root, "index.html", req, r);
  }, open);
  server.route("GET", "/vendor/{rest*}", [files](http_request req,
                                                  responder r) {
    // A package name may have a scope ("@scope/name"): the longest listed
    // name that prefixes the path.
    auto& rest = req.params["rest"];
    for (auto it = files->packages.rbegin(); it != files->packages.rend();
         ++it) {
      auto& name = *it;
      if (rest.size() > name.size() + 1 && rest.starts_with(name)
          && rest[name.size()] == '/') {
        if (files->root.empty())
          return r.send(no_file(req.path));
        std::error_code err;
        auto base = fs::canonical(files->root / "node_modules" / name, err);
        if (err)
          return r.send(no_file(req.path));
        return serve_file(base, rest.substr(name.size() + 1), req, r);
      }
    }
    r.send(no_file(req.path));
  }, open);
  auto fallback = open;
  fallback.fallback = true;
  server.route("GET", "/{path*}", [files](http_request req, responder r) {
    auto& rest = req.params["path"];
    if (api_path(rest))
      return r.send(error_response(404, ec::not_found,
                                   "There is no endpoint at " + req.path
                                     + "."));
    serve_file(files->root, rest, req, r);
  }, fallback);
}

} // namespace omniva::runtime::api
