#pragma once

// The threads behind streamed HTTP answers that read files (an attempt's
// log, a large asset's content): each answer is fed by a thread of its own,
// at most a fixed number at once, so that a slow client never holds one of
// the server's I/O threads and the node never holds a large file in memory.
//
// Internal to runtime/: used by the route files (api_logs.cpp,
// api_asset_content.cpp).

#include "runtime/http_server.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace omniva::runtime {

/// At most `limit` threads, each feeding one `text_stream`. Thread-safe.
/// Its destructor (when the server's routes go) tells the threads to stop
/// and joins them.
class stream_threads {
public:
  /// What a thread runs: writes to `out` until done or `stopping` turns
  /// true (it should look at least once per chunk). The stream is closed
  /// when it returns.
  using body = std::function<void(text_stream& out,
                                  const std::atomic<bool>& stopping)>;

  /// Threads for at most `limit` answers at once.
  explicit stream_threads(size_t limit);

  stream_threads(const stream_threads&) = delete;
  stream_threads& operator=(const stream_threads&) = delete;

  /// Stops and joins the threads (one that owns the last reference to this
  /// object is detached instead: it ends on its own).
  ~stream_threads();

  /// Answers `r` with a text stream of `media_type` fed by `f` on a new
  /// thread; false (and `r` untouched) when `limit` threads run already or
  /// the threads are stopping.
  bool start(responder& r, std::string media_type, body f);

private:
  struct entry {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  /// Joins the threads that ended; under `mtx_`.
  void reap();

  const size_t limit_;
  std::mutex mtx_;
  std::vector<entry> threads_;
  std::shared_ptr<std::atomic<bool>> stopping_
    = std::make_shared<std::atomic<bool>>(false);
};

} // namespace omniva::runtime
