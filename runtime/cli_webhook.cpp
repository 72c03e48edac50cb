// `omniva webhook ...`: the webhooks of a node (docs/operations.md,
// "Webhooks"): create one, list them with how their deliveries stand, show
// and remove one. Every verb needs an admin token.

#include "runtime/cli_client.hpp"

#include <algorithm>
#include <iostream>

namespace po = boost::program_options;

namespace omniva::cli {

namespace {

/// The event kinds of `--events` (repeatable, each comma-separated), in
/// order, blanks around each and empty items dropped.
std::vector<std::string> split_events(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (auto& text : given) {
    size_t start = 0;
    while (start <= text.size()) {
      auto end = std::min(text.find(',', start), text.size());
      auto item = text.substr(start, end - start);
      auto first = item.find_first_not_of(" \t");
      if (first != std::string::npos)
        out.push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
      start = end + 1;
    }
  }
  return out;
}

int webhook_create(const arguments& args) {
  po::options_description opts{"options"};
  std::string url, secret_file;
  std::vector<std::string> events;
  opts.add_options()
    ("url", po::value(&url)->required(), "where events are POSTed: http://host[:port][/path]")
    ("events", po::value(&events)->required(), "the event kinds to send, comma-separated (task.failed,task.succeeded; task.* for every task event; * for all); repeatable")
    ("secret-file", po::value(&secret_file), "a file holding the secret the signatures are made with (its content without the last line break, 16 to 1024 bytes); default: the node makes one and shows it once");
  po::positional_options_description pos;
  pos.add("url", 1);
  client_options c;
  return client_call(
    args,
    "omniva webhook create URL --events KIND[,KIND...] [--secret-file F] [--json]",
    "Creates a webhook: every committed event of the kinds given is POSTed "
    "to URL as JSON, signed with HMAC-SHA256 of the secret "
    "(X-Omniva-Signature), in commit order, retried until the receiver "
    "answers 2xx. Prints its id, and the secret when the node made it (shown "
    "only this once).",
    opts, pos, c, [&](runtime::http_client& client, const po::variables_map&) {
      json::value body{json::object{}};
      body.set("url", url);
      json::array kinds;
      for (auto& e : split_events(events))
        kinds.emplace_back(e);
      body.set("events", std::move(kinds));
      if (!secret_file.empty()) {
        std::string secret;
        if (!read_file(secret_file, secret))
          return exit_failure;
        // A file written by `echo` or an editor ends in a line break that
        // is no part of the secret.
        if (secret.ends_with("\r\n"))
          secret.resize(secret.size() - 2);
        else if (secret.ends_with("\n"))
          secret.pop_back();
        body.set("secret", secret);
      }
      auto r = client.request("POST", "/api/webhooks", json::serialize(body));
      if (!r.ok())
        return report(r);
      auto doc = r.json();
      if (!doc)
        return fail("the node's answer is not JSON");
      if (c.as_json) {
        print(*doc, true, nullptr);
        return exit_ok;
      }
      std::cout << field(*doc, "id") << '\n';
      if (auto* s = doc->find("secret"); s && s->is_string())
        std::cout << "secret " << s->as_string()
                  << "  (shown only now: the receiver verifies "
                     "X-Omniva-Signature with it)\n";
      return exit_ok;
    });
}

/// A column showing member `key` of a webhook's `delivery`.
column delivery_col(const char* heading, const char* key, bool cut = false) {
  return column{heading,
                [key](const json::value& w) {
                  auto* d = w.find("delivery");
                  return d ? field(*d, key) : std::string{};
                },
                cut};
}

int webhook_list(const arguments& args) {
  return list_call(
    args, "omniva webhook list [--limit N] [--cursor C] [--json]",
    "Lists the webhooks, oldest first, with how their deliveries stand: the "
    "last event delivered (its sequence number), how many packets of the log "
    "come after it (lag), failed tries of the next one in a row and why the "
    "last failed. A page at a time (--limit, default 100).",
    "/api/webhooks",
    {col("id"), col("url", true),
     column{"events",
            [](const json::value& w) {
              std::string out;
              if (auto* e = w.find("events"); e && e->is_array())
                for (auto& k : e->as_array())
                  if (k.is_string())
                    out += (out.empty() ? "" : ",") + k.as_string();
              return out;
            },
            true},
     delivery_col("delivered", "delivered_seq"), delivery_col("lag", "lag"),
     delivery_col("failures", "failures"),
     column{"last_error",
            [](const json::value& w) {
              auto* d = w.find("delivery");
              auto* e = d ? d->find("last_error") : nullptr;
              return e && e->is_string() ? e->as_string() : std::string{};
            },
            true}});
}

int webhook_show(const arguments& args) {
  return id_call(args, "omniva webhook show ID [--json]",
                 "Shows a webhook and how its deliveries stand.", "webhook id",
                 "GET", "/api/webhooks/", "", nullptr);
}

int webhook_rm(const arguments& args) {
  return id_call(args, "omniva webhook rm ID [--json]",
                 "Removes a webhook: no event is sent to it any more; its "
                 "secret and delivery state are deleted. Prints its id.",
                 "webhook id", "DELETE", "/api/webhooks/", "", "id");
}

} // namespace

int run_webhook(const arguments& args) {
  static const std::vector<verb> verbs{
    {"create", "send committed events of some kinds to a URL", webhook_create},
    {"list", "list the webhooks and how their deliveries stand", webhook_list},
    {"show", "show a webhook", webhook_show},
    {"rm", "remove a webhook", webhook_rm},
  };
  return dispatch("webhook",
                  "Webhooks of a node: committed events POSTed to a URL, "
                  "signed, in commit order, at least once (admin tokens "
                  "only).",
                  verbs, args);
}

} // namespace omniva::cli
