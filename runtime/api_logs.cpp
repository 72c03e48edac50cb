// The logs of a task's attempts over HTTP: `GET /api/tasks/{id}/attempts/
// {n}/logs?stream=stdout|stderr[&follow=1]` answers the file the local
// adapter wrote for attempt n (runtime/execution_files.hpp:
// `<data>/outputs/<task_id>/<n>/stdout.log`), as plain text. The path is
// built from the task id of an existing row (a UUID) and the attempt's
// number only, never from the request's text.
//
// A small file is one answer. Following a running attempt, or sending a
// large file, is a chunked text stream fed by a thread of its own (at most
// `max_log_streams` at once; more are 503): it polls the file every
// `log_poll_interval` and listens to the event hub for the task's events,
// on which it reads the task row; once the attempt is over (the task left
// RUNNING, or a later attempt started) it sends the rest of the file and
// ends the answer.

#include "runtime/api_paging.hpp"

#include "contracts/ids.hpp"
#include "runtime/execution_files.hpp"
#include "runtime/stream_threads.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>

namespace fs = std::filesystem;

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The media type of a log answer.
constexpr std::string_view log_media_type = "text/plain; charset=utf-8";

/// The largest log sent as one answer; a larger one is streamed in chunks
/// so that the node never holds a whole log (up to
/// `defaults::adapter::max_file_bytes`) in memory.
constexpr uintmax_t max_whole_log_bytes = uintmax_t{8} << 20;

/// How many log streams (followers, large files) may run at once: each is
/// a thread.
constexpr size_t max_log_streams = 64;

/// How often a log stream looks for new bytes in the file.
constexpr auto log_poll_interval = std::chrono::milliseconds{100};

/// How often a follower reads the task row without an event for the task
/// (a safety net: the event hub wakes it on each of the task's events).
constexpr auto log_state_interval = std::chrono::seconds{1};

/// The bytes read from the file at a time, one chunk of the answer.
constexpr size_t log_chunk_bytes = size_t{64} << 10;

/// How far a client may fall behind before the stream stops reading for
/// it (the server disconnects a client 16 MiB behind).
constexpr size_t log_max_backlog = size_t{1} << 20;

/// What a log request names, checked.
struct log_request {
  std::string task_id;
  uint32_t attempt = 0;
  std::string_view file; // stdout_log_name or stderr_log_name
  /// Stream until the attempt is over.
  bool follow = false;
};

/// Reads and checks the request's parameters (the task is looked up later);
/// on error answers the 400 through `r`.
std::optional<log_request> read_log_request(http_request& req, responder& r) {
  if (auto bad = unknown_parameter(
        req, "GET /api/tasks/{id}/attempts/{n}/logs", {"stream", "follow"})) {
    r.send(std::move(*bad));
    return std::nullopt;
  }
  log_request out;
  out.task_id = req.params["id"];
  auto& n = req.params["n"];
  auto [ptr, err] = std::from_chars(n.data(), n.data() + n.size(), out.attempt);
  bool digits = !n.empty() && n.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || err != std::errc{} || ptr != n.data() + n.size()
      || out.attempt == 0) {
    r.send(error_response(400, ec::invalid_argument,
                          "'" + printable(n)
                            + "' is not an attempt number: attempts count "
                              "from 1",
                          "/attempt"));
    return std::nullopt;
  }
  static const std::vector<std::string> streams{"stdout", "stderr"};
  auto stream = query(req, "stream", "stdout");
  if (auto bad = not_one_of("stream", stream, streams)) {
    r.send(std::move(*bad));
    return std::nullopt;
  }
  out.file = stream == "stdout" ? stdout_log_name : stderr_log_name;
  static const std::vector<std::string> flags{"0", "1", "false", "true"};
  auto follow = query(req, "follow", "0");
  if (auto bad = not_one_of("follow", follow, flags)) {
    r.send(std::move(*bad));
    return std::nullopt;
  }
  out.follow = follow == "1" || follow == "true";
  return out;
}

/// The task row's `status` and `attempt`.
struct task_state {
  std::string status;
  int64_t attempt = 0;
};

/// Reads the task's state: 404 `not_found` "no task 'x'" (answered through
/// `r`) for an unknown id, or the reader's error.
std::optional<task_state> read_task_state(const api_context& ctx,
                                          const std::string& id, responder& r) {
  auto row = ctx.reader->get(storage::table::tasks, id);
  if (!row) {
    r.send(code_of(row.error()) == ec::not_found
             ? error_response(404, ec::not_found,
                              "no task '" + printable(id) + "'")
             : error_from(row.error()));
    return std::nullopt;
  }
  auto doc = parse_row(*row);
  task_state out;
  if (auto* s = doc.find("status"); s && s->is_string())
    out.status = s->as_string();
  if (auto* a = doc.find("attempt"); a && a->as_int64())
    out.attempt = *a->as_int64();
  return out;
}

/// The log file of the request: built from the checked id and number.
fs::path log_path(const api_context& ctx, const log_request& lr) {
  return fs::path{ctx.data_dir} / "outputs" / lr.task_id
         / std::to_string(lr.attempt) / std::string{lr.file};
}

/// Why the log at `path` is gone, when retention removed its attempt's
/// folder: the sentence naming the `task.files_removed` packet that recorded
/// it; nullopt when the folder exists or no such packet names the attempt.
std::optional<std::string> removed_by_retention(const api_context& ctx,
                                                const log_request& lr,
                                                const fs::path& path) {
  std::error_code err;
  if (fs::exists(path.parent_path(), err) || err)
    return std::nullopt;
  auto history = ctx.reader->history(lr.task_id);
  if (!history)
    return std::nullopt;
  for (auto& p : *history) {
    if (p.kind != "task.files_removed")
      continue;
    auto doc = json::parse(p.payload);
    if (!doc.doc)
      continue;
    bool named = false;
    if (auto* whole = doc.doc->find("whole"); whole && whole->is_bool()
                                               && whole->as_bool())
      named = true;
    if (auto* list = doc.doc->find("attempts"); list && list->is_array())
      for (auto& n : list->as_array())
        named = named
                || (n.as_int64() && *n.as_int64() == static_cast<int64_t>(lr.attempt));
    if (named)
      return "the logs of attempt " + std::to_string(lr.attempt) + " of task "
             + lr.task_id + " were removed by the retention policy at " + p.at
             + " (packet " + p.id + ")";
  }
  return std::nullopt;
}

/// The whole file at `path`; "" when it does not exist (yet). Errors:
/// `io_error`.
caf::expected<std::string> read_log(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    std::error_code err;
    if (!fs::exists(path, err))
      return std::string{};
    return contracts::make_error(ec::io_error,
                                 "cannot read the log " + path.string());
  }
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  if (in.bad())
    return contracts::make_error(ec::io_error,
                                 "cannot read the log " + path.string());
  return text;
}

/// Whether attempt `attempt` of a task in `state` is over: the task left
/// RUNNING, or a later attempt began.
bool attempt_over(const task_state& state, uint32_t attempt) {
  return state.status != "RUNNING" || state.attempt != attempt;
}

/// Sends the file of `lr`: what it holds, and with `follow` what comes
/// until the attempt is over, then the rest.
void stream_log(const api_context& ctx, const log_request& lr,
                text_stream& out, const std::atomic<bool>& stopping) {
  // Woken by the task's events (on Zenith's thread: only a flag and a
  // notify there).
  struct wake {
    std::mutex mtx;
    std::condition_variable cv;
    bool event = false;
  };
  auto w = std::make_shared<wake>();
  uint64_t handle = 0;
  if (lr.follow && ctx.events)
    handle = ctx.events->listen(
      [w, id = lr.task_id](const std::vector<contracts::committed_event>& xs) {
        for (auto& e : xs)
          if (e.subject == id) {
            std::lock_guard<std::mutex> guard{w->mtx};
            w->event = true;
            w->cv.notify_all();
            return;
          }
      });
  auto path = log_path(ctx, lr);
  std::ifstream in;
  std::string buf(log_chunk_bytes, '\0');
  // Sends what the file holds beyond what was sent; false when the client
  // is gone or far behind (try again later).
  auto pump = [&] {
    if (!in.is_open()) {
      in.open(path, std::ios::binary);
      if (!in.is_open())
        return true; // no log yet
    }
    while (!out.closed() && out.backlog() < log_max_backlog
           && !stopping.load()) {
      in.clear(); // past an earlier end of file: the module wrote more
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      auto n = static_cast<size_t>(in.gcount());
      if (n == 0)
        return true;
      out.write(buf.substr(0, n));
    }
    return false;
  };
  bool over = !lr.follow;
  auto last_state = std::chrono::steady_clock::now();
  while (!out.closed() && !stopping.load()) {
    bool caught_up = pump();
    if (over) {
      if (caught_up)
        break; // the rest is sent
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
      continue;
    }
    bool event = false;
    {
      std::unique_lock<std::mutex> lock{w->mtx};
      w->cv.wait_for(lock, log_poll_interval, [&] { return w->event; });
      event = std::exchange(w->event, false);
    }
    auto now = std::chrono::steady_clock::now();
    if (event || now - last_state >= log_state_interval) {
      last_state = now;
      auto row = ctx.reader->get(storage::table::tasks, lr.task_id);
      if (row) {
        auto doc = parse_row(*row);
        task_state state;
        if (auto* s = doc.find("status"); s && s->is_string())
          state.status = s->as_string();
        if (auto* a = doc.find("attempt"); a && a->as_int64())
          state.attempt = *a->as_int64();
        over = attempt_over(state, lr.attempt);
      } else {
        over = true; // the row cannot be read: end rather than hang
      }
    }
  }
  if (handle != 0)
    ctx.events->unlisten(handle);
}


} // namespace

void install_task_log_routes(http_server& server, const context_ptr& ctx) {
  auto streams = std::make_shared<stream_threads>(max_log_streams);
  server.route("GET", "/api/tasks/{id}/attempts/{n}/logs",
               [ctx, streams](http_request req, responder r) {
    auto lr = read_log_request(req, r);
    if (!lr)
      return;
    auto state = read_task_state(*ctx, lr->task_id, r);
    if (!state)
      return;
    // Every task row's key is a UUID made by the node; checked again so
    // that no request text other than a UUID ever reaches a path.
    if (!contracts::is_uuid(lr->task_id))
      return r.send(error_response(404, ec::not_found,
                                   "no task '" + printable(lr->task_id) + "'"));
    if (lr->attempt > state->attempt)
      return r.send(error_response(
        404, ec::not_found,
        "task " + lr->task_id + " has no attempt "
          + std::to_string(lr->attempt) + ": "
          + (state->attempt < 1    ? std::string{"it has none"}
             : state->attempt == 1 ? std::string{"it has attempt 1 only"}
                                   : "it has attempts 1 to "
                                       + std::to_string(state->attempt))));
    auto path = log_path(*ctx, *lr);
    if (auto removed = removed_by_retention(*ctx, *lr, path))
      return r.send(error_response(404, ec::not_found, std::move(*removed)));
    // Following an attempt that is over is reading its file.
    lr->follow = lr->follow && !attempt_over(*state, lr->attempt);
    std::error_code err;
    auto size = fs::file_size(path, err);
    if (lr->follow || (!err && size > max_whole_log_bytes)) {
      if (!streams->start(r, std::string{log_media_type},
                          [ctx, lr = *lr](text_stream& out,
                                          const std::atomic<bool>& stop) {
                            stream_log(*ctx, lr, out, stop);
                          })) {
        auto resp = error_response(
          503, ec::too_large,
          "the node streams " + std::to_string(max_log_streams)
            + " logs already: try again later, or without follow");
        resp.headers.emplace_back("Retry-After", "1");
        r.send(std::move(resp));
      }
      return;
    }
    auto text = read_log(path);
    if (!text)
      return r.send(error_from(text.error()));
    http_response resp;
    resp.content_type = std::string{log_media_type};
    resp.body = std::move(*text);
    r.send(std::move(resp));
  });
}

} // namespace omniva::runtime::api
