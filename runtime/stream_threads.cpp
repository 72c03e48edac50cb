#include "runtime/stream_threads.hpp"

namespace omniva::runtime {

stream_threads::stream_threads(size_t limit) : limit_(limit) {
}

stream_threads::~stream_threads() {
  std::vector<entry> threads;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_->store(true);
    threads = std::move(threads_);
  }
  for (auto& e : threads) {
    if (e.thread.get_id() == std::this_thread::get_id())
      e.thread.detach(); // the last owner was a stream's own thread
    else if (e.thread.joinable())
      e.thread.join();
  }
}

bool stream_threads::start(responder& r, std::string media_type, body f) {
  std::lock_guard<std::mutex> guard{mtx_};
  reap();
  if (threads_.size() >= limit_ || stopping_->load())
    return false;
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto stream = r.start_text_stream(std::move(media_type));
  threads_.push_back(entry{
    std::thread{[f = std::move(f), stream, done, stopping = stopping_] {
      f(*stream, *stopping);
      // Done before the answer ends: a client that saw the end and asks
      // again finds the slot free (`reap` joins what is left of this).
      done->store(true);
      stream->close();
    }},
    done});
  return true;
}

void stream_threads::reap() {
  for (auto i = threads_.begin(); i != threads_.end();) {
    if (i->done->load()) {
      i->thread.join();
      i = threads_.erase(i);
    } else {
      ++i;
    }
  }
}

} // namespace omniva::runtime
