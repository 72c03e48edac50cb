// Backups over HTTP (admin role): `POST /api/backup {"to": "/abs/dir"}`
// checks the folder and starts a backup of the node's data folder on a
// thread of its own (it reads and hashes every file: it can take long),
// answering 202 at once; `GET /api/backup` tells how the latest one is
// doing and, once done, what it wrote. One backup at a time. The work is
// runtime/backup.hpp's; a node that stops stops a backup under way (what it
// wrote is removed).

#include "runtime/api_routes.hpp"

#include "contracts/ids.hpp"
#include "contracts/node_log.hpp"
#include "runtime/backup.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace omniva::runtime::api {

using contracts::ec;

namespace {

std::string now_text() {
  return contracts::format_timestamp(
    std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now()));
}

/// What the backup thread and the routes share.
struct backup_status {
  std::mutex mtx;
  /// The latest backup: `{"id", "state", "to", "started_at", "step"?,
  /// "finished_at"?, "result"?, "error"?}`; null before the first.
  json::value latest;
  /// Whether one runs now.
  bool running = false;
  /// Set when the node stops.
  std::atomic<bool> cancel{false};
};

/// The backups of one node: the status and the thread of the one running.
/// Its destructor (the HTTP server's routes go away as the node stops)
/// stops a backup under way and waits for its thread.
class backup_runner {
public:
  backup_runner() : status_(std::make_shared<backup_status>()) {
  }

  ~backup_runner() {
    status_->cancel = true;
    std::lock_guard<std::mutex> guard{thread_mtx_};
    if (thread_.joinable())
      thread_.join();
  }

  backup_runner(const backup_runner&) = delete;
  backup_runner& operator=(const backup_runner&) = delete;

  /// Starts a backup into `to` for `by` (the token's name); the status to
  /// answer with, or an error when one runs already.
  caf::expected<json::value> start(const context_ptr& ctx, std::string to,
                                   const std::string& by) {
    std::lock_guard<std::mutex> guard{thread_mtx_};
    json::value started;
    {
      std::lock_guard<std::mutex> g{status_->mtx};
      if (status_->running) {
        auto* other = status_->latest.find("to");
        return contracts::make_error(
          ec::invalid_argument,
          "a backup is under way already (to "
            + (other && other->is_string() ? other->as_string() : std::string{})
            + "): wait until GET /api/backup says it is done",
          "/to");
      }
      status_->running = true;
      contracts::random_id_source ids;
      started = json::object{{"id", ids.next_uuid()},
                             {"state", "running"},
                             {"to", to},
                             {"started_at", now_text()}};
      status_->latest = started;
    }
    if (thread_.joinable())
      thread_.join(); // the previous backup's thread, finished
    node_log::write(node_log::level::info, "operator.backup",
                    {{"to", json::value{to}},
                     {"operator", by.empty() ? json::value{} : json::value{by}}});
    auto status = status_;
    thread_ = std::thread{[status, ctx, to = std::move(to)] {
      backup_request req;
      req.to = to;
      req.data_dir = ctx->data_dir;
      req.reader = ctx->reader;
      req.cancel = &status->cancel;
      req.on_step = [status](const std::string& step) {
        std::lock_guard<std::mutex> g{status->mtx};
        status->latest.set("step", step);
      };
      auto result = write_backup(req);
      std::lock_guard<std::mutex> g{status->mtx};
      status->latest.erase("step");
      status->latest.set("finished_at", now_text());
      if (result) {
        status->latest.set("state", "done");
        status->latest.set("result", to_json(*result));
        node_log::write(node_log::level::info, "backup.written",
                        {{"to", json::value{to}},
                         {"files", json::value{result->files}},
                         {"bytes", json::value{result->bytes}},
                         {"last_seq", json::value{result->packets}},
                         {"missing", json::value{result->missing}}});
      } else {
        auto& e = result.error();
        auto p = contracts::problem_from_error(e);
        auto message = p && !p->message.empty()
                         ? p->message
                         : contracts::render_error(e.code(), e.category(),
                                                   e.context());
        status->latest.set("state", "failed");
        status->latest.set(
          "error", json::object{{"code", std::string{contracts::to_string(
                                           code_of(e))}},
                                {"message", message}});
        node_log::write(node_log::level::error, "backup.failed",
                        {{"to", json::value{to}},
                         {"code", json::value{std::string{contracts::to_string(
                                    code_of(e))}}},
                         {"message", json::value{message}}});
      }
      status->running = false;
    }};
    return started;
  }

  /// The latest backup's status (`{"state": "none"}` before the first).
  json::value latest() const {
    std::lock_guard<std::mutex> g{status_->mtx};
    if (status_->latest.is_null())
      return json::object{{"state", "none"}};
    return status_->latest;
  }

private:
  std::shared_ptr<backup_status> status_;
  /// Guards `thread_`.
  std::mutex thread_mtx_;
  std::thread thread_;
};

} // namespace

void install_backup_routes(http_server& server, const context_ptr& ctx) {
  auto runner = std::make_shared<backup_runner>();
  auto admin = admin_only();
  server.route("POST", "/api/backup", [ctx, runner](http_request req, responder r) {
    auto body = body_json(req, r);
    if (!body)
      return;
    if (!body->is_object())
      return r.send(error_response(400, ec::type_mismatch,
                                   "the body must be a JSON object: {\"to\": "
                                   "\"/absolute/folder\"}"));
    for (auto& [key, value] : body->as_object())
      if (key != "to")
        return r.send(error_response(400, ec::unknown_field,
                                     "POST /api/backup takes only \"to\"",
                                     json::append_pointer("", key)));
    auto* to = body->find("to");
    if (to == nullptr)
      return r.send(error_response(400, ec::missing_field,
                                   "give the backup folder: {\"to\": "
                                   "\"/absolute/folder\"}",
                                   "/to"));
    if (!to->is_string())
      return r.send(error_response(400, ec::type_mismatch,
                                   "\"to\" must be a string: the backup "
                                   "folder's absolute path",
                                   "/to"));
    // Refused at once when the folder will not do: the client need not
    // wait for the thread to learn it.
    if (auto e = check_backup_destination(to->as_string(), ctx->data_dir))
      return r.send(error_from(e, "/to"));
    auto started = runner->start(ctx, to->as_string(), operator_of(req));
    if (!started)
      return r.send(error_from(started.error(), "/to"));
    auto resp = json_response(202, *started);
    resp.headers.emplace_back("Location", "/api/backup");
    r.send(std::move(resp));
  }, admin);
  server.route("GET", "/api/backup", [runner](http_request, responder r) {
    r.send(json_response(200, runner->latest()));
  }, admin);
}

} // namespace omniva::runtime::api
