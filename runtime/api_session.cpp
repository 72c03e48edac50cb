// Browser sessions over HTTP (docs/http-api.md, "Sessions"): the dashboard
// exchanges a token's secret, or a one-time login code `omniva serve`
// printed, for an HttpOnly, SameSite=Strict cookie `omniva_session`, which
// the server then accepts beside the bearer header (Server-Sent Events and
// media elements cannot send headers). The sessions live in the node's
// session store (runtime/session_store.hpp), which checks the token again
// at each use.

#include "runtime/api_paging.hpp"
#include "runtime/session_store.hpp"
#include "runtime/token_store.hpp"

#include "contracts/access.hpp"

#include <algorithm>
#include <chrono>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The answer every session route gives: who, with which role, until when
/// (null: the bearer token never expires, or tokens are not checked), and
/// how the request was accepted ("cookie", "bearer" or "none").
http_response session_answer(const std::string& name, contracts::role role,
                             std::optional<contracts::timestamp> expires_at,
                             std::string_view via) {
  json::object doc;
  doc.emplace_back("name", json::value{name});
  doc.emplace_back("role", json::value{std::string{to_string(role)}});
  doc.emplace_back("expires_at",
                   expires_at ? json::value{contracts::format_timestamp(*expires_at)}
                              : json::value{});
  doc.emplace_back("via", json::value{std::string{via}});
  auto out = json_response(200, json::value{std::move(doc)});
  out.headers.emplace_back("Cache-Control", "no-store");
  return out;
}

/// The `Set-Cookie` field of session `id`, kept by the browser until
/// `ends_at` (0 seconds and an empty value: forget it).
std::string session_cookie(const std::string& id, std::chrono::seconds max_age) {
  return std::string{session_cookie_name} + "=" + id
         + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
         + std::to_string(std::max<int64_t>(max_age.count(), 0));
}

/// Seconds from now until `t`, rounded up.
std::chrono::seconds seconds_until(contracts::timestamp t) {
  auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
    std::chrono::system_clock::now());
  auto left = t - now;
  return std::chrono::ceil<std::chrono::seconds>(left);
}

/// The session cookie the request carries ("" for none).
std::string cookie_of(const http_request& req) {
  auto c = req.headers.find("cookie");
  return c == req.headers.end() ? std::string{}
                                : cookie_value(c->second, session_cookie_name);
}

/// A session route that a page of another site asked the browser to call:
/// 403, as the server answers such a request on the other routes.
bool refuse_cross_origin(const http_request& req, responder& r) {
  if (same_origin(req))
    return false;
  r.send(error_response(403, ec::forbidden,
                        "This request came from another origin than the "
                        "node's own: a page of another site cannot log in "
                        "or out of the dashboard."));
  return true;
}

/// What a login body says: the secret of a token, or a one-time code.
struct login_body {
  std::optional<std::string> token;
  std::optional<std::string> code;
};

/// Reads `{"token"}` or `{"code"}`; answers the first problem (400, with
/// its pointer) through `r` and returns nullopt.
std::optional<login_body> read_login_body(const json::value& body, responder& r) {
  if (!body.is_object()) {
    r.send(error_response(400, ec::type_mismatch,
                          "the body must be a JSON object: {\"token\": "
                          "\"<secret>\"} or {\"code\": \"<login code>\"}"));
    return std::nullopt;
  }
  for (auto& [key, value] : body.as_object())
    if (key != "token" && key != "code") {
      r.send(error_response(400, ec::unknown_field,
                            "the member '" + printable(key)
                              + "' is not known here; known: token, code",
                            json::append_pointer("", key)));
      return std::nullopt;
    }
  login_body out;
  for (auto [key, slot] : {std::pair{"token", &out.token},
                           std::pair{"code", &out.code}}) {
    auto* v = body.find(key);
    if (v == nullptr)
      continue;
    if (!v->is_string()) {
      r.send(error_response(400, ec::type_mismatch,
                            std::string{"'"} + key + "' must be a string",
                            std::string{"/"} + key));
      return std::nullopt;
    }
    *slot = v->as_string();
  }
  if (out.token && out.code) {
    r.send(error_response(400, ec::invalid_argument,
                          "give either 'token' or 'code', not both",
                          "/code"));
    return std::nullopt;
  }
  if (!out.token && !out.code) {
    r.send(error_response(400, ec::missing_field,
                          "give the secret of a token as 'token', or a "
                          "one-time login code as 'code'",
                          "/token"));
    return std::nullopt;
  }
  return out;
}

} // namespace

void install_session_routes(http_server& server, const context_ptr& ctx) {
  // Public: logging in is what gives a browser its credential; the body is
  // the credential, checked here.
  server.route(
    "POST", "/api/session",
    [ctx](http_request req, responder r) {
      if (refuse_cross_origin(req, r))
        return;
      auto body = body_json(req, r);
      if (!body)
        return;
      auto in = read_login_body(*body, r);
      if (!in)
        return;
      if (!ctx->tokens)
        // Tokens are not checked: every request acts as an admin already,
        // and no cookie is needed.
        return r.send(session_answer("anonymous", contracts::role::admin,
                                     std::nullopt, "none"));
      if (!ctx->sessions)
        return r.send(error_response(404, ec::not_found,
                                     "This server keeps no browser sessions; "
                                     "send 'Authorization: Bearer <token>'."));
      caf::expected<new_session> made{caf::error{}};
      std::string pointer;
      if (in->token) {
        auto who = ctx->tokens->authenticate(*in->token);
        if (!who)
          return r.send(error_response(401, ec::unauthorized,
                                       "The token given is unknown, revoked "
                                       "or expired.",
                                       "/token"));
        made = ctx->sessions->create(who->name, secret_sha256(*in->token));
        pointer = "/token";
      } else {
        made = ctx->sessions->redeem(*in->code);
        pointer = "/code";
      }
      if (!made) {
        auto code = code_of(made.error());
        if (code != ec::unauthorized)
          return r.send(error_from(made.error()));
        return r.send(error_response(401, ec::unauthorized,
                                     pointer == "/code"
                                       ? "The login code is unknown, used, "
                                         "expired, or its token was revoked "
                                         "or rotated; log in with a token."
                                       : "The token given is unknown, revoked "
                                         "or expired.",
                                     pointer));
      }
      auto out = session_answer(made->info.who.name, made->info.who.role,
                                made->info.expires_at, "cookie");
      out.headers.emplace_back(
        "Set-Cookie",
        session_cookie(made->id, seconds_until(made->info.ends_at)));
      r.send(std::move(out));
    },
    route_options{.is_public = true});

  // Who the caller is: by its cookie or its bearer token (viewer role, as
  // every GET).
  server.route("GET", "/api/session", [ctx](http_request req, responder r) {
    if (!req.session.empty() && ctx->sessions) {
      auto s = ctx->sessions->resolve(req.session);
      if (!s)
        return r.send(error_response(401, ec::unauthorized,
                                     "The session has ended."));
      return r.send(
        session_answer(s->who.name, s->who.role, s->expires_at, "cookie"));
    }
    if (!ctx->tokens || req.who.name.empty())
      return r.send(session_answer(operator_of(req), req.who.role,
                                   std::nullopt, "none"));
    std::optional<contracts::timestamp> expires;
    if (auto t = ctx->tokens->find(req.who.name))
      expires = t->expires;
    r.send(session_answer(req.who.name, req.who.role, expires, "bearer"));
  });

  // Public: ending the session the cookie names needs nothing but the
  // cookie (a session that already ended is forgotten by the browser too).
  server.route(
    "DELETE", "/api/session",
    [ctx](http_request req, responder r) {
      if (refuse_cross_origin(req, r))
        return;
      auto id = cookie_of(req);
      auto ended = !id.empty() && ctx->sessions && ctx->sessions->end(id);
      json::object doc;
      doc.emplace_back("ended", json::value{ended});
      auto out = json_response(200, json::value{std::move(doc)});
      out.headers.emplace_back("Cache-Control", "no-store");
      out.headers.emplace_back(
        "Set-Cookie", session_cookie("", std::chrono::seconds{0}));
      r.send(std::move(out));
    },
    route_options{.is_public = true});
}

} // namespace omniva::runtime::api
