#include "runtime/webhooks.hpp"

#include "contracts/error_code.hpp"
#include "contracts/hex.hpp"
#include "contracts/ids.hpp"
#include "contracts/node_log.hpp"
#include "runtime/http_client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;
using contracts::make_error;

namespace {

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// Whether `err` is our `not_found`.
bool is_not_found(const caf::error& err) {
  return err.category() == contracts::error_category
         && static_cast<ec>(err.code()) == ec::not_found;
}

std::string now_text() {
  return contracts::format_timestamp(contracts::system_clock{}.now());
}

std::string later_text(std::chrono::milliseconds after) {
  return contracts::format_timestamp(contracts::system_clock{}.now() + after);
}

/// How many packets a delivery thread reads from the log at a time.
constexpr size_t read_page = 64;

/// How long an idle delivery thread sleeps before it looks at the log
/// again without being woken (a safety net: commits wake it).
constexpr auto idle_recheck = std::chrono::seconds{5};

/// The string member `key` of `x`: "" when missing or null; nullopt for
/// another type.
std::optional<std::string> text_member(const json::value& x, const char* key) {
  auto* v = x.find(key);
  if (v == nullptr || v->is_null())
    return std::string{};
  if (!v->is_string())
    return std::nullopt;
  return v->as_string();
}

json::value text_or_null(const std::string& x) {
  return x.empty() ? json::value{} : json::value{x};
}

} // namespace

// -- the files of a webhook -----------------------------------------------------

std::string webhook_dir(const std::string& data_dir) {
  return (fs::path{data_dir} / "webhooks").string();
}

std::string webhook_secret_path(const std::string& data_dir,
                                const std::string& id) {
  return (fs::path{webhook_dir(data_dir)} / (id + ".secret")).string();
}

std::string webhook_state_path(const std::string& data_dir,
                               const std::string& id) {
  return (fs::path{webhook_dir(data_dir)} / (id + ".state")).string();
}

caf::error write_private_file(const std::string& path, std::string_view content) {
  auto dir = fs::path{path}.parent_path();
  if (!fs::exists(dir)) {
    std::error_code err;
    fs::create_directories(dir, err);
    if (err)
      return make_error(ec::io_error, "cannot create " + dir.string() + ": "
                                        + err.message());
    ::chmod(dir.c_str(), 0700);
  }
  auto tmp = path + ".tmp";
  auto fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ec::io_error, "cannot write " + tmp);
  size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(ec::io_error, "cannot write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error(ec::io_error, "cannot write " + path);
  }
  return caf::none;
}

std::string make_webhook_secret() {
  std::array<uint8_t, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // RAND_bytes does not fail on a system with a working kernel source;
    // the id source's generator is the fallback.
    contracts::random_id_source ids;
    auto text = ids.next_uuid() + ids.next_uuid();
    text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
    return text;
  }
  return contracts::to_hex(bytes);
}

caf::expected<std::string> read_webhook_secret(const std::string& data_dir,
                                               const std::string& id) {
  auto path = webhook_secret_path(data_dir, id);
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    std::error_code err;
    if (!fs::exists(path, err))
      return make_error(ec::not_found, "the secret file " + path + " is missing");
    return make_error(ec::io_error, "cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void remove_webhook_files(const std::string& data_dir, const std::string& id) {
  std::error_code ignored;
  for (auto& path : {webhook_secret_path(data_dir, id),
                     webhook_state_path(data_dir, id)}) {
    fs::remove(path, ignored);
    fs::remove(path + ".tmp", ignored);
  }
}

// -- delivery state ---------------------------------------------------------------

json::value to_json(const delivery_state& x) {
  json::value out{json::object{}};
  out.set("delivered_seq", x.delivered_seq);
  out.set("failures", static_cast<int64_t>(x.failures));
  out.set("last_error", text_or_null(x.last_error));
  out.set("last_status", x.last_status == 0
                           ? json::value{}
                           : json::value{static_cast<int64_t>(x.last_status)});
  out.set("next_attempt_at", text_or_null(x.next_attempt_at));
  out.set("last_delivered_at", text_or_null(x.last_delivered_at));
  return out;
}

std::optional<delivery_state> delivery_state_from_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc || !doc.doc->is_object())
    return std::nullopt;
  auto& x = *doc.doc;
  delivery_state out;
  auto number = [&x](const char* key, uint64_t max, uint64_t& into) {
    auto* v = x.find(key);
    if (v == nullptr || v->is_null())
      return true;
    if (auto* u = std::get_if<uint64_t>(&v->data())) {
      into = *u;
      return *u <= max;
    }
    auto i = v->as_int64();
    if (!v->is_number() || !i || *i < 0 || static_cast<uint64_t>(*i) > max)
      return false;
    into = static_cast<uint64_t>(*i);
    return true;
  };
  uint64_t failures = 0, status = 0;
  if (!number("delivered_seq", std::numeric_limits<uint64_t>::max(),
              out.delivered_seq)
      || !number("failures", std::numeric_limits<uint32_t>::max(), failures)
      || !number("last_status", 999, status))
    return std::nullopt;
  out.failures = static_cast<uint32_t>(failures);
  out.last_status = static_cast<unsigned>(status);
  auto error = text_member(x, "last_error");
  auto next = text_member(x, "next_attempt_at");
  auto last = text_member(x, "last_delivered_at");
  if (!error || !next || !last)
    return std::nullopt;
  out.last_error = std::move(*error);
  out.next_attempt_at = std::move(*next);
  out.last_delivered_at = std::move(*last);
  return out;
}

caf::error write_delivery_state(const std::string& path, const delivery_state& x) {
  return write_private_file(path, json::serialize(to_json(x)) + "\n");
}

caf::expected<delivery_state> read_delivery_state(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    std::error_code err;
    if (!fs::exists(path, err))
      return make_error(ec::not_found, "no delivery state " + path);
    return make_error(ec::io_error, "cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto state = delivery_state_from_json(text.str());
  if (!state)
    return make_error(ec::corruption, "the delivery state " + path
                                        + " is not a delivery state");
  return *state;
}

caf::expected<uint64_t> webhook_start_seq(const storage::reader& r,
                                          const std::string& id) {
  auto history = r.history(id, 1);
  if (!history)
    return history.error();
  if (history->empty())
    return make_error(ec::not_found, "no packet names the webhook " + id);
  return history->front().seq;
}

// -- one delivery ---------------------------------------------------------------

std::string webhook_signature(std::string_view secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(),
       mac.data(), &size);
  return "sha256="
         + contracts::to_hex(std::span<const uint8_t>{mac.data(), size});
}

std::chrono::milliseconds retry_delay(uint32_t failures,
                                      std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max) {
  if (initial.count() <= 0)
    initial = std::chrono::milliseconds{1};
  if (max < initial)
    max = initial;
  auto delay = initial;
  for (uint32_t i = 1; i < failures && delay < max; ++i)
    delay = delay > max / 2 ? max : delay * 2;
  return std::min(delay, max);
}

std::string delivery_body(const std::string& webhook_id,
                          const contracts::packet& p,
                          const std::string& subject) {
  json::value body{json::object{}};
  body.set("webhook", webhook_id);
  body.set("seq", p.seq);
  body.set("id", p.id);
  body.set("kind", p.kind);
  body.set("subject", subject);
  json::array subjects;
  for (auto& s : p.subjects)
    subjects.emplace_back(s);
  body.set("subjects", std::move(subjects));
  body.set("at", p.at);
  body.set("trace_id", p.trace_id);
  json::value payload{json::object{}};
  if (auto parsed = json::parse(p.payload); parsed && parsed.doc->is_object()) {
    payload = std::move(*parsed.doc);
    payload.erase("_rows");
  }
  body.set("payload", std::move(payload));
  return json::serialize(body);
}

// -- the dispatcher ---------------------------------------------------------------

/// One webhook's delivery thread and what wakes it.
struct webhook_dispatcher::worker {
  /// The webhook.
  contracts::webhook_record record;
  /// Where delivery starts when it has no state file.
  uint64_t start_seq = 0;
  std::mutex mtx;
  std::condition_variable cv;
  /// Set to end the thread.
  bool stop = false;
  /// Bumped by each commit: the thread looks at the log again.
  uint64_t wakes = 0;
  std::thread thread;
};

webhook_dispatcher::webhook_dispatcher(webhook_options options,
                                       std::shared_ptr<const storage::reader> reader)
  : options_(std::move(options)), reader_(std::move(reader)) {
}

webhook_dispatcher::~webhook_dispatcher() {
  stop();
}

caf::error webhook_dispatcher::start() {
  auto rows = reader_->scan(storage::table::webhooks, "");
  if (!rows)
    return rows.error();
  std::vector<contracts::webhook_record> hooks;
  for (auto& [id, text] : *rows) {
    auto doc = json::parse(text);
    auto w = doc ? contracts::webhook_record_from_json(*doc.doc) : std::nullopt;
    if (!w || w->id != id)
      return make_error(ec::corruption, "webhook row " + id + " does not parse");
    hooks.push_back(std::move(*w));
  }
  // Files of webhooks the table does not have: a create that never
  // committed, or a removal whose files stayed.
  std::error_code err;
  for (auto it = fs::directory_iterator{webhook_dir(options_.data_dir), err};
       !err && it != fs::directory_iterator{}; it.increment(err)) {
    auto name = it->path().filename().string();
    auto id = name.substr(0, name.find('.'));
    bool known = std::any_of(hooks.begin(), hooks.end(),
                             [&](auto& w) { return w.id == id; });
    if (!known) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
  for (auto& w : hooks) {
    auto start = webhook_start_seq(*reader_, w.id);
    if (!start)
      return start.error();
    launch(w, *start);
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (!manager_.joinable() && !stopping_)
    manager_ = std::thread{[this] { manage(); }};
  return caf::none;
}

void webhook_dispatcher::on_commit(
  const std::vector<contracts::committed_event>& events) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopping_)
    return;
  bool changed = false;
  for (auto& e : events) {
    if (e.kind == "webhook.created") {
      changes_.emplace_back(e.subject, e.seq, true);
      changed = true;
    } else if (e.kind == "webhook.removed") {
      changes_.emplace_back(e.subject, e.seq, false);
      changed = true;
    }
  }
  if (changed)
    manager_cv_.notify_one();
  for (auto& [id, w] : workers_) {
    std::lock_guard<std::mutex> wg{w->mtx};
    ++w->wakes;
    w->cv.notify_one();
  }
}

void webhook_dispatcher::manage() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (true) {
    manager_cv_.wait(lock, [this] { return stopping_ || !changes_.empty(); });
    if (stopping_)
      return;
    auto [id, seq, created] = changes_.front();
    changes_.pop_front();
    lock.unlock();
    if (created) {
      // Not found: removed again before the manager got to it.
      auto row = reader_->get(storage::table::webhooks, id);
      if (row) {
        auto doc = json::parse(*row);
        auto w = doc ? contracts::webhook_record_from_json(*doc.doc)
                     : std::nullopt;
        if (w)
          launch(*w, seq);
      } else if (!is_not_found(row.error())) {
        node_log::write(node_log::level::error, "webhook.failed",
                        {{"webhook", json::value{id}},
                         {"error", json::value{error_text(row.error())}}});
      }
    } else {
      retire(id);
    }
    lock.lock();
  }
}

void webhook_dispatcher::launch(const contracts::webhook_record& w,
                                uint64_t start_seq) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopping_ || workers_.contains(w.id))
    return;
  auto worker_ptr = std::make_shared<worker>();
  worker_ptr->record = w;
  worker_ptr->start_seq = start_seq;
  auto* raw = worker_ptr.get();
  worker_ptr->thread = std::thread{[this, raw] { deliver_loop(*raw); }};
  workers_.emplace(w.id, std::move(worker_ptr));
}

void webhook_dispatcher::retire(const std::string& id) {
  std::shared_ptr<worker> w;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = workers_.find(id); i != workers_.end()) {
      w = i->second;
      workers_.erase(i);
    }
  }
  if (w) {
    {
      std::lock_guard<std::mutex> wg{w->mtx};
      w->stop = true;
      w->cv.notify_one();
    }
    if (w->thread.joinable())
      w->thread.join();
  }
  // After the thread ended: nothing writes its state any more.
  remove_webhook_files(options_.data_dir, id);
}

void webhook_dispatcher::stop() {
  std::map<std::string, std::shared_ptr<worker>> workers;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
    manager_cv_.notify_one();
    workers.swap(workers_);
  }
  if (manager_.joinable())
    manager_.join();
  for (auto& [id, w] : workers) {
    std::lock_guard<std::mutex> wg{w->mtx};
    w->stop = true;
    w->cv.notify_one();
  }
  for (auto& [id, w] : workers)
    if (w->thread.joinable())
      w->thread.join();
}

std::vector<std::string> webhook_dispatcher::running() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (auto& [id, w] : workers_)
    out.push_back(id);
  return out;
}

void webhook_dispatcher::deliver_loop(worker& w) {
  auto& id = w.record.id;
  auto state_path = webhook_state_path(options_.data_dir, id);
  auto stopped = [&w] {
    std::lock_guard<std::mutex> guard{w.mtx};
    return w.stop;
  };
  // Sleeps `d` unless stopped first; returns false when stopped.
  auto pause = [&w](std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock{w.mtx};
    return !w.cv.wait_for(lock, d, [&w] { return w.stop; });
  };
  auto save = [&](const delivery_state& st) {
    if (auto err = write_delivery_state(state_path, st))
      node_log::write(node_log::level::error, "webhook.failed",
                      {{"webhook", json::value{id}},
                       {"error", json::value{error_text(err)}}});
  };
  delivery_state st;
  if (auto read = read_delivery_state(state_path)) {
    st = *read;
  } else {
    if (!is_not_found(read.error()))
      // A damaged state: start over from the webhook's creation (at least
      // once: the receiver deduplicates on X-Omniva-Delivery).
      node_log::write(node_log::level::warn, "webhook.failed",
                      {{"webhook", json::value{id}},
                       {"error", json::value{error_text(read.error())}}});
    st.delivered_seq = w.start_seq;
    save(st);
  }
  auto target = contracts::split_webhook_url(w.record.url);
  if (!target) {
    // Zenith checked the URL; a row it did not write is nothing to call.
    node_log::write(node_log::level::error, "webhook.failed",
                    {{"webhook", json::value{id}},
                     {"error", json::value{"the stored URL is not a webhook URL"}}});
    return;
  }
  http_client client{target->base, "", options_.timeout};
  while (!stopped()) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> guard{w.mtx};
      seen = w.wakes;
    }
    auto page = reader_->packets(st.delivered_seq + 1,
                                 std::numeric_limits<uint64_t>::max(), read_page);
    if (!page) {
      node_log::write(node_log::level::error, "webhook.failed",
                      {{"webhook", json::value{id}},
                       {"error", json::value{error_text(page.error())}}});
      if (!pause(options_.retry_initial))
        break;
      continue;
    }
    if (page->empty()) {
      std::unique_lock<std::mutex> lock{w.mtx};
      w.cv.wait_for(lock, idle_recheck,
                    [&] { return w.stop || w.wakes != seen; });
      continue;
    }
    bool moved = false;
    for (auto& p : *page) {
      if (stopped())
        break;
      if (!contracts::webhook_wants(w.record, p.kind)) {
        st.delivered_seq = p.seq;
        moved = true;
        continue;
      }
      auto body = delivery_body(id, p, storage::event_subject(p, *reader_));
      bool delivered = false;
      while (!delivered && !stopped()) {
        auto secret = read_webhook_secret(options_.data_dir, id);
        http_result r;
        if (!secret) {
          r.error = error_text(secret.error());
        } else {
          std::map<std::string, std::string> fields{
            {"X-Omniva-Event", p.kind},
            {"X-Omniva-Delivery", id + "/" + std::to_string(p.seq)},
            {"X-Omniva-Signature", webhook_signature(*secret, body)}};
          r = client.request("POST", target->target, body, "application/json",
                             fields);
        }
        if (r.ok()) {
          if (st.failures > 0)
            node_log::write(node_log::level::info, "webhook.recovered",
                            {{"webhook", json::value{id}},
                             {"seq", json::value{p.seq}},
                             {"failures", json::value{static_cast<int64_t>(
                                            st.failures)}}});
          st.delivered_seq = p.seq;
          st.failures = 0;
          st.last_error.clear();
          st.last_status = r.status;
          st.next_attempt_at.clear();
          st.last_delivered_at = now_text();
          save(st);
          moved = false;
          delivered = true;
          break;
        }
        ++st.failures;
        st.last_status = r.status;
        st.last_error = !r.error.empty() ? r.error
                                         : "HTTP " + std::to_string(r.status);
        auto delay = retry_delay(st.failures, options_.retry_initial,
                                 options_.retry_max);
        st.next_attempt_at = later_text(delay);
        save(st);
        node_log::write(node_log::level::warn, "webhook.failed",
                        {{"webhook", json::value{id}},
                         {"seq", json::value{p.seq}},
                         {"kind", json::value{p.kind}},
                         {"error", json::value{st.last_error}},
                         {"failures", json::value{static_cast<int64_t>(st.failures)}},
                         {"retry_ms", json::value{static_cast<int64_t>(delay.count())}}});
        // A fresh connection for the next try.
        client.close();
        if (!pause(delay))
          break;
      }
      if (!delivered)
        break;
    }
    // Events passed over are saved once the thread caught up (a short page),
    // not after every page: after a crash they are only passed over again.
    if (moved && page->size() < read_page)
      save(st);
  }
}

} // namespace omniva::runtime
