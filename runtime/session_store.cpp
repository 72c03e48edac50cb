#include "runtime/session_store.hpp"

#include "contracts/error_code.hpp"
#include "contracts/hex.hpp"
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <vector>

namespace omniva::runtime {

using contracts::ec;
using contracts::make_error;
using contracts::timestamp;

namespace {

/// `N` bytes from OpenSSL's random generator (a CSPRNG) as 2N lowercase
/// hex digits. Errors: `io_error`.
template <size_t N>
caf::expected<std::string> random_hex(const char* what) {
  std::array<uint8_t, N> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    return make_error(ec::io_error,
                      std::string{"the random generator gave no bytes for a "}
                        + what);
  return contracts::to_hex(bytes);
}

caf::error no_token(std::string_view name) {
  return make_error(ec::unauthorized,
                    "the token '" + std::string{name}
                      + "' does not exist or has expired");
}

} // namespace

session_store::session_store(std::shared_ptr<const token_store> tokens,
                             session_settings settings,
                             std::shared_ptr<contracts::clock_source> clock)
  : tokens_(std::move(tokens)),
    settings_(settings),
    clock_(std::move(clock)) {
  if (!clock_)
    clock_ = std::make_shared<contracts::system_clock>();
}

caf::expected<new_session> session_store::create(std::string_view token_name,
                                                 std::string_view token_sha256) {
  auto t = tokens_->find(token_name);
  if (!t || (!token_sha256.empty() && t->secret_sha256 != token_sha256))
    return no_token(token_name);
  std::lock_guard guard{mtx_};
  return create_locked(*t, clock_->now());
}

caf::expected<new_session> session_store::redeem(std::string_view code) {
  auto refused = make_error(ec::unauthorized,
                            "the login code is unknown, used or expired");
  if (code.empty())
    return refused;
  auto key = secret_sha256(code);
  code_entry c;
  {
    std::lock_guard guard{mtx_};
    auto i = codes_.find(key);
    if (i == codes_.end())
      return refused;
    // Used up whatever follows: a code is tried once.
    c = std::move(i->second);
    codes_.erase(i);
  }
  auto now = clock_->now();
  if (now - c.created >= settings_.code_lifetime)
    return refused;
  auto t = tokens_->find(c.token_name);
  if (!t || t->secret_sha256 != c.token_sha256)
    return make_error(ec::unauthorized,
                      "the login code's token '" + c.token_name
                        + "' was revoked, rotated or has expired");
  std::lock_guard guard{mtx_};
  return create_locked(*t, now);
}

caf::expected<std::string>
session_store::make_login_code(std::string_view token_name) {
  auto t = tokens_->find(token_name);
  if (!t)
    return no_token(token_name);
  auto code = random_hex<16>("a login code");
  if (!code)
    return code.error();
  auto now = clock_->now();
  std::lock_guard guard{mtx_};
  sweep_locked(now);
  while (codes_.size() >= std::max<size_t>(settings_.max_codes, 1)) {
    auto oldest = std::min_element(codes_.begin(), codes_.end(),
                                   [](const auto& x, const auto& y) {
                                     return x.second.created < y.second.created;
                                   });
    codes_.erase(oldest);
  }
  codes_.emplace(secret_sha256(*code),
                 code_entry{t->who.name, t->secret_sha256, now});
  return code;
}

std::optional<session_info> session_store::resolve(std::string_view id) {
  if (id.empty())
    return std::nullopt;
  auto key = secret_sha256(id);
  entry e;
  {
    std::lock_guard guard{mtx_};
    auto i = sessions_.find(key);
    if (i == sessions_.end())
      return std::nullopt;
    e = i->second;
  }
  auto now = clock_->now();
  auto t = tokens_->find(e.token_name);
  auto alive = t && t->secret_sha256 == e.token_sha256
               && now - e.last_used < settings_.idle_timeout
               && now - e.created < settings_.lifetime;
  std::lock_guard guard{mtx_};
  auto i = sessions_.find(key);
  if (i == sessions_.end())
    return std::nullopt; // ended meanwhile
  if (!alive) {
    sessions_.erase(i);
    return std::nullopt;
  }
  i->second.last_used = std::max(i->second.last_used, now);
  return info_of(i->second, t->who, t->expires);
}

bool session_store::end(std::string_view id) {
  if (id.empty())
    return false;
  auto key = secret_sha256(id);
  std::lock_guard guard{mtx_};
  return sessions_.erase(key) > 0;
}

size_t session_store::size() const {
  std::lock_guard guard{mtx_};
  return sessions_.size();
}

http_session_authenticator
session_store::authenticator(std::shared_ptr<session_store> store) {
  return [store = std::move(store)](std::string_view id) -> std::optional<principal> {
    auto s = store->resolve(id);
    if (!s)
      return std::nullopt;
    return s->who;
  };
}

caf::expected<new_session>
session_store::create_locked(const token_store::named_token& t, timestamp now) {
  auto id = random_hex<32>("a session id");
  if (!id)
    return id.error();
  sweep_locked(now);
  while (sessions_.size() >= std::max<size_t>(settings_.max_sessions, 1)) {
    auto idlest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& x, const auto& y) {
                                     return x.second.last_used
                                            < y.second.last_used;
                                   });
    sessions_.erase(idlest);
  }
  entry e{t.who.name, t.secret_sha256, now, now};
  auto info = info_of(e, t.who, t.expires);
  sessions_.emplace(secret_sha256(*id), std::move(e));
  return new_session{std::move(*id), std::move(info)};
}

session_info
session_store::info_of(const entry& e, principal who,
                       std::optional<timestamp> token_expires) const {
  session_info out;
  out.who = std::move(who);
  auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(
    settings_.lifetime);
  auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
    settings_.idle_timeout);
  out.ends_at = e.created + lifetime;
  if (token_expires)
    out.ends_at = std::min(out.ends_at, *token_expires);
  out.expires_at = std::min(out.ends_at, e.last_used + idle);
  return out;
}

void session_store::sweep_locked(timestamp now) {
  std::erase_if(sessions_, [&](const auto& kv) {
    return now - kv.second.last_used >= settings_.idle_timeout
           || now - kv.second.created >= settings_.lifetime;
  });
  std::erase_if(codes_, [&](const auto& kv) {
    return now - kv.second.created >= settings_.code_lifetime;
  });
}

} // namespace omniva::runtime
