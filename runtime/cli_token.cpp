// `omniva token ...`: the named API tokens of a node (docs/cli.md,
// "Tokens"): create one (its secret printed once), list them, revoke one,
// rotate one. Every verb needs an admin token.

#include "runtime/cli_client.hpp"

#include <iostream>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// Prints a secret the node answered with (`secret`): alone on stdout, so
/// that `$(omniva token create ...)` captures it, or the whole answer with
/// --json; then, on stderr, that it will not be shown again.
int print_secret(const runtime::http_result& r, bool as_json) {
  auto doc = r.json();
  if (!doc || !doc->is_object() || doc->find("secret") == nullptr)
    return fail("the node's answer holds no secret");
  if (as_json)
    print(*doc, true, nullptr);
  else
    std::cout << field(*doc, "secret") << '\n';
  std::cerr << "omniva: this is the secret of token '" << field(*doc, "name")
            << "' (role " << field(*doc, "role")
            << "); it will not be shown again: keep it now (a lost secret "
               "is replaced with 'omniva token rotate "
            << field(*doc, "name") << "')\n";
  if (auto file = field(*doc, "token_file"); !file.empty())
    std::cerr << "omniva: " << file
              << " holds the new secret (the CLI on the node's machine "
                 "reads it)\n";
  if (auto err = field(*doc, "token_file_error"); !err.empty())
    std::cerr << "omniva: the node's token file was not rewritten: " << err
              << "\n";
  return exit_ok;
}

int token_create(const arguments& args) {
  po::options_description opts{"options"};
  std::string name, role, expires;
  opts.add_options()
    ("name", po::value(&name)->required(), "the token's name")
    ("role", po::value(&role)->required(), "viewer, operator or admin")
    ("expires", po::value(&expires),
     "when it stops working: a duration (90s, 15m, 12h, 30d) or an RFC 3339 "
     "time; default never");
  po::positional_options_description pos;
  pos.add("name", 1);
  client_options c;
  return client_call(
    args, "omniva token create NAME --role viewer|operator|admin [--expires 30d] [--json]",
    "Creates a named API token and prints its secret, once: the node keeps "
    "only its SHA-256. A name is a lowercase letter, then up to 63 lowercase "
    "letters, digits, '_', '.' or '-'. Needs an admin token.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      json::value body{json::object{}};
      body.set("name", name);
      body.set("role", role);
      if (!expires.empty())
        body.set("expires", expires);
      auto r = client.request("POST", "/api/tokens", json::serialize(body));
      if (!r.ok())
        return report(r);
      return print_secret(r, c.as_json);
    });
}

int token_list(const arguments& args) {
  return list_call(
    args, "omniva token list [--limit N] [--cursor C] [--json]",
    "Lists the node's API tokens by name: role, when and by whom each was "
    "created, when it expires. Never their secrets. Needs an admin token.",
    "/api/tokens",
    {col("name"), col("role"),
     column{"created", [](const json::value& t) { return field(t, "created_at"); }},
     column{"created by",
            [](const json::value& t) { return field(t, "created_by"); }},
     column{"expires", [](const json::value& t) {
              auto at = field(t, "expires_at");
              return at.empty() ? std::string{"never"} : at;
            }}});
}

int token_revoke(const arguments& args) {
  po::options_description opts{"options"};
  std::string name;
  opts.add_options()("name", po::value(&name)->required(), "the token's name");
  po::positional_options_description pos;
  pos.add("name", 1);
  client_options c;
  return client_call(
    args, "omniva token revoke NAME [--json]",
    "Revokes a token: from now on it opens nothing (its history stays in the "
    "lineage). The last admin token cannot be revoked. Needs an admin token.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      auto r = client.request("DELETE", "/api/tokens/" + runtime::url_encode(name));
      return print_change(r, c.as_json, "revoked", "name");
    });
}

int token_rotate(const arguments& args) {
  po::options_description opts{"options"};
  std::string name, role, expires;
  opts.add_options()
    ("name", po::value(&name)->required(), "the token's name")
    ("role", po::value(&role), "a new role (default: keep it)")
    ("expires", po::value(&expires),
     "a new expiry: a duration (90s, 15m, 12h, 30d) or an RFC 3339 time "
     "(default: keep it)");
  po::positional_options_description pos;
  pos.add("name", 1);
  client_options c;
  return client_call(
    args, "omniva token rotate NAME [--role R] [--expires 30d] [--json]",
    "Gives a token a new secret and prints it, once; the old secret opens "
    "nothing from then on. Rotating 'admin' also rewrites the node's "
    "<data>/token. Needs an admin token.",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      json::value body{json::object{}};
      if (!role.empty())
        body.set("role", role);
      if (!expires.empty())
        body.set("expires", expires);
      auto r = client.request("POST",
                              "/api/tokens/" + runtime::url_encode(name) + "/rotate",
                              json::serialize(body));
      if (!r.ok())
        return report(r);
      return print_secret(r, c.as_json);
    });
}

} // namespace

int run_token(const arguments& args) {
  static const std::vector<verb> verbs{
    {"create", "create a named API token (its secret shown once)", token_create},
    {"list", "list the node's API tokens (never their secrets)", token_list},
    {"revoke", "revoke a token", token_revoke},
    {"rotate", "give a token a new secret (shown once)", token_rotate},
  };
  return dispatch("token", "Named API tokens of a node, each with a role.",
                  verbs, args);
}

} // namespace omniva::cli
