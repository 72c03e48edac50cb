#define BOOST_TEST_MODULE disk_guard
#include <boost/test/unit_test.hpp>

#include "contracts/error_code.hpp"
#include "contracts/node_log.hpp"
#include "runtime/disk_guard.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace omniva;
using namespace omniva::runtime;
using namespace std::chrono_literals;
using contracts::ec;

namespace {

/// A file system whose free space the test sets.
struct fake_disk {
  std::atomic<uint64_t> free{0};
  std::atomic<bool> fails{false};
  std::atomic<int> reads{0};

  auto probe() {
    return [this](const std::string& path) -> caf::expected<disk_space> {
      ++reads;
      if (fails)
        return contracts::make_error(ec::io_error, "cannot read " + path);
      return disk_space{free.load(), uint64_t{100} << 20};
    };
  }
};

/// Collects the node's log lines while alive.
struct log_capture {
  std::mutex mtx;
  std::vector<std::string> lines;

  log_capture() {
    node_log::set_sink([this](std::string_view line) {
      std::lock_guard<std::mutex> guard{mtx};
      lines.emplace_back(line);
    });
  }

  ~log_capture() {
    node_log::set_sink({});
  }

  /// The lines naming `event`.
  size_t count(std::string_view event) {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (auto& l : lines)
      if (l.find(" " + std::string{event} + " ") != std::string::npos)
        ++n;
    return n;
  }
};

disk_guard_options options_for(fake_disk& disk, uint64_t reserve) {
  disk_guard_options o;
  o.folder = "/srv/omniva";
  o.reserve = reserve;
  o.check_interval = 10ms;
  o.probe = disk.probe();
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(sizes_read_with_binary_and_decimal_units) {
  BOOST_TEST(*parse_byte_size("0") == 0u);
  BOOST_TEST(*parse_byte_size("1048576") == 1048576u);
  BOOST_TEST(*parse_byte_size("1GiB") == uint64_t{1} << 30);
  BOOST_TEST(*parse_byte_size("512MiB") == uint64_t{512} << 20);
  BOOST_TEST(*parse_byte_size("512 mib") == uint64_t{512} << 20);
  BOOST_TEST(*parse_byte_size("16KiB") == 16384u);
  BOOST_TEST(*parse_byte_size("2GB") == 2000000000u);
  BOOST_TEST(*parse_byte_size("3B") == 3u);
  BOOST_TEST(*parse_byte_size("1TiB") == uint64_t{1} << 40);
}

BOOST_AUTO_TEST_CASE(sizes_that_are_not_sizes_are_refused) {
  for (auto bad : {"", "GiB", "-1", "1.5GiB", "1 GiB extra", "1XB", "1  GiB",
                   "99999999999999999999", "16777216TiB", " 1"})
    BOOST_TEST(!parse_byte_size(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(sizes_print_for_people) {
  BOOST_TEST(format_byte_size(512) == "512 B");
  BOOST_TEST(format_byte_size(1024) == "1 KiB");
  BOOST_TEST(format_byte_size(uint64_t{3} << 29) == "1.5 GiB");
  BOOST_TEST(format_byte_size(uint64_t{16} << 20) == "16 MiB");
}

BOOST_AUTO_TEST_CASE(the_real_file_system_reads_and_a_missing_folder_is_an_error) {
  auto here = read_disk_space("/");
  BOOST_REQUIRE(here);
  BOOST_TEST(here->total_bytes > 0u);
  BOOST_TEST(here->free_bytes <= here->total_bytes);
  auto gone = read_disk_space("/no/such/folder/for/omniva");
  BOOST_REQUIRE(!gone);
  BOOST_TEST(static_cast<int>(gone.error().code())
             == static_cast<int>(ec::io_error));
}

BOOST_AUTO_TEST_CASE(below_the_reserve_new_work_is_refused_with_507_until_space_returns) {
  log_capture log;
  fake_disk disk;
  disk.free = uint64_t{64} << 20;
  disk_guard guard{options_for(disk, uint64_t{16} << 20)};
  BOOST_TEST(!guard.status().low);
  BOOST_TEST(!guard.refusal());

  disk.free = uint64_t{15} << 20;
  auto refused = guard.refusal();
  BOOST_REQUIRE(refused);
  BOOST_TEST(refused->status == 507u);
  BOOST_TEST(refused->body.find("\"code\":\"insufficient_storage\"")
             != std::string::npos, refused->body);
  BOOST_TEST(refused->body.find("/srv/omniva") != std::string::npos);
  BOOST_TEST(refused->body.find("15 MiB") != std::string::npos);
  BOOST_TEST(refused->body.find("16 MiB") != std::string::npos);
  auto s = guard.status();
  BOOST_TEST(s.low);
  BOOST_TEST(s.free_bytes == uint64_t{15} << 20);
  BOOST_TEST(s.reserve_bytes == uint64_t{16} << 20);
  // Still low: no second line.
  BOOST_TEST(guard.refusal().has_value());
  BOOST_TEST(log.count("disk.low") == 1u);

  disk.free = uint64_t{16} << 20; // exactly the reserve is enough
  BOOST_TEST(!guard.refusal());
  BOOST_TEST(!guard.status().low);
  BOOST_TEST(log.count("disk.ok") == 1u);
  BOOST_TEST(log.count("disk.low") == 1u);
}

BOOST_AUTO_TEST_CASE(the_thread_notices_a_change_without_a_request) {
  log_capture log;
  fake_disk disk;
  disk.free = uint64_t{64} << 20;
  disk_guard guard{options_for(disk, uint64_t{16} << 20)};
  guard.start();
  disk.free = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!guard.status().low && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  BOOST_TEST(guard.status().low);
  disk.free = uint64_t{32} << 20;
  while (guard.status().low && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  BOOST_TEST(!guard.status().low);
  guard.stop();
  auto reads = disk.reads.load();
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(disk.reads.load() == reads); // stopped means stopped
  BOOST_TEST(log.count("disk.low") == 1u);
  BOOST_TEST(log.count("disk.ok") == 1u);
}

BOOST_AUTO_TEST_CASE(a_reserve_of_zero_refuses_nothing_even_on_a_full_disk) {
  fake_disk disk;
  disk.free = 0;
  disk_guard guard{options_for(disk, 0)};
  BOOST_TEST(!guard.refusal());
  BOOST_TEST(!guard.status().low);
}

BOOST_AUTO_TEST_CASE(a_failed_reading_keeps_the_last_state_and_says_why) {
  log_capture log;
  fake_disk disk;
  disk.free = uint64_t{1} << 20;
  disk_guard guard{options_for(disk, uint64_t{16} << 20)};
  BOOST_TEST(guard.status().low);
  disk.fails = true;
  auto s = guard.check();
  BOOST_TEST(s.low); // refused nothing on a guess: still as it was
  BOOST_TEST(s.error.find("cannot read /srv/omniva") != std::string::npos, s.error);
  guard.check();
  BOOST_TEST(log.count("disk.unreadable") == 1u);
  disk.fails = false;
  disk.free = uint64_t{64} << 20;
  s = guard.check();
  BOOST_TEST(!s.low);
  BOOST_TEST(s.error.empty());
}
