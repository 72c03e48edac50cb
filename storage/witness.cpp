#include "storage/witness.hpp"

#include "contracts/error_code.hpp"
#include "contracts/packet.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <utility>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

namespace {

constexpr size_t slot_size = 4096;
constexpr size_t file_size = 2 * slot_size;
constexpr std::string_view magic = "omniva-witness 1";
constexpr std::string_view file_name = "omniva-witness";

/// The line of a slot without its check: `omniva-witness 1 packets=N head=H`.
std::string body_of(const chain_witness& w) {
  std::string out{magic};
  out += " packets=";
  out += std::to_string(w.packets);
  out += " head=";
  out += w.head.empty() ? std::string{"-"} : w.head;
  return out;
}

/// The first 16 hex digits of the SHA-256 of `body`.
std::string check_of(std::string_view body) {
  return contracts::to_hex(contracts::sha256(body)).substr(0, 16);
}

/// A whole slot: the line, then zero bytes.
std::string slot_of(const chain_witness& w) {
  auto body = body_of(w);
  auto line = body + " check=" + check_of(body) + "\n";
  line.resize(slot_size, '\0');
  return line;
}

/// The witness in one slot; nullopt when the slot is not a valid one (never
/// written, or torn).
std::optional<chain_witness> parse_slot(std::string_view slot) {
  auto end = slot.find('\n');
  if (end == std::string_view::npos)
    return std::nullopt;
  auto line = slot.substr(0, end);
  auto at = line.rfind(" check=");
  if (at == std::string_view::npos)
    return std::nullopt;
  auto body = line.substr(0, at);
  if (line.substr(at + 7) != check_of(body))
    return std::nullopt;
  // The body passed its check: it was written whole by `slot_of`.
  constexpr std::string_view packets_tag = " packets=";
  constexpr std::string_view head_tag = " head=";
  if (body.substr(0, magic.size()) != magic)
    return std::nullopt;
  auto rest = body.substr(magic.size());
  if (rest.substr(0, packets_tag.size()) != packets_tag)
    return std::nullopt;
  rest.remove_prefix(packets_tag.size());
  chain_witness w;
  auto [ptr, err] = std::from_chars(rest.data(), rest.data() + rest.size(),
                                    w.packets);
  if (err != std::errc{})
    return std::nullopt;
  rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
  if (rest.substr(0, head_tag.size()) != head_tag)
    return std::nullopt;
  rest.remove_prefix(head_tag.size());
  if (rest != "-")
    w.head = std::string{rest};
  if ((w.packets == 0) != w.head.empty())
    return std::nullopt;
  return w;
}

std::string system_reason() {
  return std::strerror(errno);
}

caf::error io_error(std::string what, const std::string& path) {
  return make_error(ec::storage_error,
                    what + " " + path + ": " + system_reason());
}

/// Writes all of `bytes` at `offset`, retrying short writes.
bool write_at(int fd, std::string_view bytes, off_t offset) {
  while (!bytes.empty()) {
    auto n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return true;
}

/// The newest valid slot of a witness file's bytes, and its index; nullopt
/// when neither is valid.
std::optional<std::pair<chain_witness, int>> newest(std::string_view bytes) {
  std::optional<std::pair<chain_witness, int>> best;
  for (int i = 0; i < 2; ++i) {
    auto w = parse_slot(bytes.substr(static_cast<size_t>(i) * slot_size,
                                     slot_size));
    if (w && (!best || w->packets > best->first.packets))
      best.emplace(std::move(*w), i);
  }
  return best;
}

/// Reads the witness file at `path`: nullopt when there is none; with the
/// index of the slot holding it.
caf::expected<std::optional<std::pair<chain_witness, int>>>
read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::optional<std::pair<chain_witness, int>>{};
    return io_error("cannot open the chain witness", path);
  }
  std::string bytes(file_size + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    auto n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = io_error("cannot read the chain witness", path);
      ::close(fd);
      return err;
    }
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != file_size)
    return make_error(ec::corruption,
                      "the chain witness " + path + " is damaged: "
                        + std::to_string(got) + " bytes instead of "
                        + std::to_string(file_size));
  bytes.resize(file_size);
  auto best = newest(bytes);
  if (!best)
    return make_error(ec::corruption, "the chain witness " + path
                                        + " is damaged: neither of its two "
                                          "records is intact");
  return std::optional<std::pair<chain_witness, int>>{std::move(*best)};
}

} // namespace

std::string witness_path(const std::string& database_path) {
  return (std::filesystem::path{database_path} / file_name).string();
}

caf::expected<std::optional<chain_witness>>
read_witness(const std::string& database_path) {
  auto found = read_file(witness_path(database_path));
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<chain_witness>{};
  return std::optional<chain_witness>{std::move((*found)->first)};
}

std::string describe_loss(const chain_witness& w, uint64_t packets,
                          const std::string& id_at_witness) {
  if (packets < w.packets)
    return "the log lost " + std::to_string(w.packets - packets)
           + " packets: its witness says " + std::to_string(w.packets)
           + " were durable, the log holds " + std::to_string(packets);
  if (w.packets > 0 && id_at_witness != w.head)
    return "packet " + std::to_string(w.packets)
           + " is not the one the witness names (" + w.head
           + "): the log lost packets and was written again after them";
  return {};
}

json::value to_json(const chain_witness& x) {
  json::value out{json::object{}};
  out.set("packets", x.packets);
  out.set("head", x.head);
  return out;
}

caf::expected<chain_witness> witness_from_json(const json::value& x) {
  auto* packets = x.find("packets");
  auto* head = x.find("head");
  if (packets == nullptr || !packets->as_int64() || *packets->as_int64() < 0)
    return make_error(ec::invalid_argument,
                      "a witness needs \"packets\", a count", "/packets");
  if (head == nullptr || !head->is_string())
    return make_error(ec::invalid_argument,
                      "a witness needs \"head\", a packet id or \"\"", "/head");
  chain_witness w{static_cast<uint64_t>(*packets->as_int64()),
                  head->as_string()};
  if (w.packets > 0 && !contracts::digest_from_hex(w.head))
    return make_error(ec::invalid_argument,
                      "\"head\" is not a packet id (64 hex digits)", "/head");
  if (w.packets == 0 && !w.head.empty())
    return make_error(ec::invalid_argument,
                      "a witness of 0 packets has no head", "/head");
  return w;
}

// -- writing -------------------------------------------------------------------------

caf::expected<witness_writer>
witness_writer::open(const std::string& database_path) {
  witness_writer out;
  out.dir_ = database_path;
  out.path_ = witness_path(database_path);
  auto found = read_file(out.path_);
  if (!found)
    return found.error();
  if (*found) {
    out.current_ = std::move((*found)->first);
    out.next_slot_ = 1 - (*found)->second;
  }
  return out;
}

witness_writer::witness_writer(witness_writer&& other) noexcept
  : dir_(std::move(other.dir_)),
    path_(std::move(other.path_)),
    fd_(std::exchange(other.fd_, -1)),
    next_slot_(other.next_slot_),
    current_(std::move(other.current_)) {
}

witness_writer& witness_writer::operator=(witness_writer&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    dir_ = std::move(other.dir_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    next_slot_ = other.next_slot_;
    current_ = std::move(other.current_);
  }
  return *this;
}

witness_writer::~witness_writer() {
  if (fd_ >= 0)
    ::close(fd_);
}

caf::error witness_writer::store(const chain_witness& w) {
  auto slot = slot_of(w);
  if (fd_ < 0 && !current_) {
    // The first witness of this database: a whole file, in place at once.
    auto tmp = path_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0644);
    if (fd < 0)
      return io_error("cannot create the chain witness", tmp);
    std::string bytes = slot + slot;
    bool ok = write_at(fd, bytes, 0) && ::fsync(fd) == 0;
    auto err = ok ? caf::error{} : io_error("cannot write the chain witness", tmp);
    ::close(fd);
    if (err)
      return err;
    if (::rename(tmp.c_str(), path_.c_str()) != 0)
      return io_error("cannot install the chain witness", path_);
    int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
      return io_error("cannot open the database folder", dir_);
    ok = ::fsync(dir) == 0;
    ::close(dir);
    if (!ok)
      return io_error("cannot sync the database folder", dir_);
    current_ = w;
    next_slot_ = 1;
    return caf::none;
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0)
      return io_error("cannot open the chain witness", path_);
  }
  if (!write_at(fd_, slot, static_cast<off_t>(next_slot_) * slot_size)
      || ::fdatasync(fd_) != 0)
    return io_error("cannot write the chain witness", path_);
  current_ = w;
  next_slot_ = 1 - next_slot_;
  return caf::none;
}

// -- keeping it current -----------------------------------------------------------

witness_keeper::witness_keeper(witness_writer writer,
                               std::chrono::milliseconds interval)
  : writer_(std::move(writer)),
    interval_(interval),
    recorded_(writer_.current()) {
  thread_ = std::thread{[this] { run(); }};
}

witness_keeper::~witness_keeper() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void witness_keeper::post(chain_witness w) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if ((pending_ && pending_->packets >= w.packets)
        || (recorded_ && recorded_->packets >= w.packets))
      return;
    pending_ = std::move(w);
  }
  cv_.notify_all();
}

caf::error witness_keeper::flush() {
  std::unique_lock<std::mutex> lock{mtx_};
  ++flushing_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return (!pending_ && !busy_) || failed_.load(); });
  --flushing_;
  return error_;
}

bool witness_keeper::failed() const noexcept {
  return failed_.load();
}

caf::error witness_keeper::error() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return error_;
}

std::optional<chain_witness> witness_keeper::recorded() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return recorded_;
}

void witness_keeper::run() {
  pthread_setname_np(pthread_self(), "omniva.witness");
  using clock = std::chrono::steady_clock;
  std::unique_lock<std::mutex> lock{mtx_};
  auto next_allowed = clock::now();
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || pending_.has_value(); });
    if (!pending_ || failed_.load())
      return; // stopping, with everything posted recorded (or a failure)
    // At most one record per interval, unless the committer closes or
    // someone waits for it; what is posted meanwhile coalesces.
    cv_.wait_until(lock, next_allowed,
                   [&] { return stopping_ || flushing_ > 0; });
    next_allowed = clock::now() + interval_;
    auto w = std::move(*pending_);
    pending_.reset();
    busy_ = true;
    lock.unlock();
    auto err = writer_.store(w);
    lock.lock();
    busy_ = false;
    if (err) {
      error_ = std::move(err);
      failed_ = true;
      pending_.reset();
    } else {
      recorded_ = std::move(w);
    }
    cv_.notify_all();
  }
}

} // namespace omniva::storage
