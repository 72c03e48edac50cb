#include "storage/media_detect.hpp"

#include <magic.h>

namespace omniva::storage {

namespace {

/// One libmagic handle per thread: a magic_t must not be shared, and
/// loading the database once per thread is cheap enough.
class magic_handle {
public:
  magic_handle() {
    cookie_ = ::magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_SYMLINK);
    if (cookie_ != nullptr && ::magic_load(cookie_, nullptr) != 0) {
      ::magic_close(cookie_);
      cookie_ = nullptr;
    }
  }
  magic_handle(const magic_handle&) = delete;
  magic_handle& operator=(const magic_handle&) = delete;
  ~magic_handle() {
    if (cookie_ != nullptr)
      ::magic_close(cookie_);
  }
  /// libmagic's answer for the file at `path`; empty when it has none.
  std::string file(const std::string& path) {
    if (cookie_ == nullptr)
      return {};
    const char* answer = ::magic_file(cookie_, path.c_str());
    return answer != nullptr ? std::string{answer} : std::string{};
  }

private:
  magic_t cookie_ = nullptr;
};

} // namespace

std::string magic_media_type(const std::string& path) {
  thread_local magic_handle magic;
  return magic.file(path);
}

} // namespace omniva::storage
