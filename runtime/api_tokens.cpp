// Named API tokens over HTTP (docs/http-api.md, "Tokens"), every route
// admin only: create (the secret answered once), list (never a secret nor
// its hash), revoke and rotate. Zenith commits each change; the node's
// token store is refreshed from the row before the answer leaves, so the
// next request already meets the new state. Rotating the first admin token
// (`admin`) also rewrites `<data>/token`, so the CLI on the node's machine
// keeps working.

#include "runtime/api_paging.hpp"
#include "runtime/token_store.hpp"

#include "contracts/access.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>

namespace fs = std::filesystem;

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// A response that caches must not keep (it shows a secret).
http_response secret_response(unsigned status, const json::value& body) {
  auto out = json_response(status, body);
  out.headers.emplace_back("Cache-Control", "no-store");
  return out;
}

/// What a create or rotate body says, read: the role and the expiry (an
/// RFC 3339 time) when given.
struct token_body {
  std::optional<std::string> name;
  std::optional<contracts::role> role;
  std::optional<std::string> expires_at;
};

/// Reads `{"name"?, "role"?, "expires"?}` from `body`, members outside
/// `allowed` refused; answers the first problem (400, with its pointer)
/// through `r` and returns nullopt.
std::optional<token_body> read_token_body(const json::value& body,
                                          std::initializer_list<std::string_view> allowed,
                                          responder& r) {
  if (!body.is_object()) {
    r.send(error_response(400, ec::type_mismatch,
                          "the body must be a JSON object"));
    return std::nullopt;
  }
  for (auto& [key, value] : body.as_object())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (auto a : allowed)
        names += (names.empty() ? "" : ", ") + std::string{a};
      r.send(error_response(400, ec::unknown_field,
                            "the member '" + printable(key)
                              + "' is not known here; known: " + names,
                            json::append_pointer("", key)));
      return std::nullopt;
    }
  auto string_at = [&](const char* key) -> std::optional<std::optional<std::string>> {
    auto* v = body.find(key);
    if (v == nullptr || v->is_null())
      return std::optional<std::string>{};
    if (!v->is_string()) {
      r.send(error_response(400, ec::type_mismatch,
                            std::string{"'"} + key + "' must be a string",
                            std::string{"/"} + key));
      return std::nullopt;
    }
    return std::optional<std::string>{v->as_string()};
  };
  token_body out;
  auto name = string_at("name");
  if (!name)
    return std::nullopt;
  out.name = *name;
  auto role = string_at("role");
  if (!role)
    return std::nullopt;
  if (*role) {
    out.role = contracts::role_from_string(**role);
    if (!out.role) {
      r.send(error_response(400, ec::invalid_argument,
                            "'" + printable(**role)
                              + "' is not a role: viewer, operator or admin",
                            "/role"));
      return std::nullopt;
    }
  }
  auto expires = string_at("expires");
  if (!expires)
    return std::nullopt;
  if (*expires) {
    contracts::system_clock clock;
    auto at = contracts::parse_expiry(**expires, clock.now());
    if (!at) {
      auto p = contracts::problem_from_error(at.error());
      r.send(error_response(400, ec::invalid_argument,
                            p ? p->message : std::string{"bad expiry"},
                            "/expires"));
      return std::nullopt;
    }
    out.expires_at = contracts::format_timestamp(*at);
  }
  return out;
}

/// Zenith's refusal as an answer: its pointers name the change's members,
/// which the request calls otherwise (`/expires_at` is `/expires`; the
/// hash is the node's own, never the client's; a name given in the path
/// has no place in the body).
http_response refused_as(const caf::error& e, bool name_in_path) {
  auto p = contracts::problem_from_error(e);
  std::string pointer = p ? p->pointer : std::string{};
  if (pointer == "/expires_at")
    pointer = "/expires";
  else if (pointer == "/secret_sha256" || pointer == "/by"
           || (name_in_path && pointer == "/name"))
    pointer.clear();
  auto code = code_of(e);
  return error_response(http_status(code), code,
                        p && !p->message.empty()
                          ? p->message
                          : contracts::render_error(e.code(), e.category(),
                                                    e.context()),
                        pointer);
}

/// The name in the path, checked; answers 400 through `r` when it is not a
/// token name.
std::optional<std::string> path_name(const http_request& req, responder& r) {
  auto name = req.params.at("name");
  if (auto p = contracts::check_token_name(name, "")) {
    r.send(error_response(400, p->code, p->message));
    return std::nullopt;
  }
  return name;
}

/// Has the store hold what the row of `name` says now (the commit is
/// durable when Zenith answers); a failed read is logged, and the event
/// listener tries again.
void refresh(const api_context& ctx, const std::string& name) {
  if (!ctx.tokens)
    return;
  if (auto err = ctx.tokens->refresh(name))
    spdlog::error("tokens: cannot read the token {}: {}", name,
                  contracts::render_error(err.code(), err.category(),
                                          err.context()));
}

/// Has Zenith make `change`. Once it answered (the commit is durable) the
/// store holds the token's new row and `answer` makes the response from the
/// token and its public JSON; a refusal is answered by `refused_as`
/// (`name_in_path`: the token is named by the path, not the body).
void commit_change(
  const context_ptr& ctx, responder r, const contracts::token_change& change,
  bool name_in_path,
  std::function<http_response(const contracts::token_record&, json::value)> answer) {
  ask_or<contracts::token_record>(
    ctx->system, ctx->zenith, std::move(r),
    [ctx, answer = std::move(answer)](contracts::token_record& t) {
      refresh(*ctx, t.name);
      return answer(t, contracts::to_public_json(t));
    },
    [name_in_path](const caf::error& e) { return refused_as(e, name_in_path); },
    atom::token_v, change);
}

} // namespace

void install_token_routes(http_server& server, const context_ptr& ctx) {
  server.route(
    "POST", "/api/tokens",
    [ctx](http_request req, responder r) {
      auto body = body_json(req, r);
      if (!body)
        return;
      auto in = read_token_body(*body, {"name", "role", "expires"}, r);
      if (!in)
        return;
      if (!in->name)
        return r.send(error_response(400, ec::missing_field,
                                     "give the token's name", "/name"));
      if (auto p = contracts::check_token_name(*in->name, "/name"))
        return r.send(error_response(400, p->code, p->message, p->pointer));
      if (!in->role)
        return r.send(error_response(400, ec::missing_field,
                                     "give the token's role: viewer, "
                                     "operator or admin",
                                     "/role"));
      auto secret = make_token_secret();
      if (!secret)
        return r.send(error_from(secret.error()));
      contracts::token_change change;
      change.action = contracts::token_action::create;
      change.name = *in->name;
      change.role = in->role;
      change.secret_sha256 = secret_sha256(*secret);
      change.expires_at = in->expires_at;
      change.by = operator_of(req);
      commit_change(ctx, std::move(r), change, false,
                    [secret = *secret](const contracts::token_record&,
                                       json::value out) {
                      out.set("secret", secret);
                      return secret_response(201, out);
                    });
    },
    admin_only());
  server.route(
    "GET", "/api/tokens",
    [ctx](http_request req, responder r) {
      if (auto bad = unknown_parameter(req, "GET /api/tokens", {"limit", "cursor"}))
        return r.send(std::move(*bad));
      auto page = read_page_request(req, "tokens", 1, r);
      if (!page)
        return;
      // Keyed `token:<name>`: in name order already.
      auto rows = ctx->reader->scan(storage::table::tokens, "");
      if (!rows)
        return r.send(error_from(rows.error()));
      std::vector<std::string> names;
      names.reserve(rows->size());
      for (auto& row : *rows)
        names.push_back(row.first);
      auto [chosen, next] = ref_page(names, "tokens", *page);
      json::array out;
      for (auto i : chosen) {
        auto& [key, text] = (*rows)[i];
        std::vector<contracts::problem> problems;
        auto t = contracts::token_record_from_json(parse_row(text), problems);
        if (!t)
          return r.send(error_response(500, ec::corruption,
                                       "the token row " + printable(key)
                                         + " does not parse"));
        out.push_back(contracts::to_public_json(*t));
      }
      r.send(page_response(std::move(out), next));
    },
    admin_only());
  server.route(
    "DELETE", "/api/tokens/{name}",
    [ctx](http_request req, responder r) {
      auto name = path_name(req, r);
      if (!name)
        return;
      contracts::token_change change;
      change.action = contracts::token_action::revoke;
      change.name = *name;
      change.by = operator_of(req);
      commit_change(ctx, std::move(r), change, true,
                    [](const contracts::token_record&, json::value out) {
                      out.set("revoked", true);
                      return json_response(200, out);
                    });
    },
    admin_only());
  server.route(
    "POST", "/api/tokens/{name}/rotate",
    [ctx](http_request req, responder r) {
      auto name = path_name(req, r);
      if (!name)
        return;
      token_body in;
      if (!req.body.empty()) {
        auto body = body_json(req, r);
        if (!body)
          return;
        auto read = read_token_body(*body, {"role", "expires"}, r);
        if (!read)
          return;
        in = std::move(*read);
      }
      auto secret = make_token_secret();
      if (!secret)
        return r.send(error_from(secret.error()));
      contracts::token_change change;
      change.action = contracts::token_action::rotate;
      change.name = *name;
      change.role = in.role;
      change.secret_sha256 = secret_sha256(*secret);
      change.expires_at = in.expires_at;
      change.by = operator_of(req);
      commit_change(
        ctx, std::move(r), change, true,
        [ctx, secret = *secret](const contracts::token_record& t, json::value out) {
          out.set("secret", secret);
          if (t.name == contracts::bootstrap_token_name) {
            // The CLI on the node's machine reads its token from there.
            auto path = (fs::path{ctx->data_dir} / "token").string();
            if (auto err = write_secret_file(path, secret)) {
              auto why = contracts::render_error(err.code(), err.category(),
                                                 err.context());
              spdlog::error("tokens: the admin token was rotated but {} "
                            "was not rewritten: {}",
                            path, why);
              out.set("token_file_error", why);
            } else {
              out.set("token_file", path);
            }
          }
          return secret_response(200, out);
        });
    },
    admin_only());
}

} // namespace omniva::runtime::api
