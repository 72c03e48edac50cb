// crash_writer DIR START [COUNT]: the child of the crash test
// (crash_test.cpp), and the writer of tests/lineage_cli_test.sh.
//
// Opens the database in DIR for writing (sync on) and commits numbered
// batches, from START on, until it is killed; with COUNT, COUNT batches,
// then closes the database and exits 0 (a database closed in order: its
// chain witness holds its last packet). Batch n holds
// `packets_in_batch(n)` packets and, for packet k, the tasks row
// "row-<n>-<k>" = "<n>:<k>:<packet index>" justified by it. After each commit
// it writes "<n> <first_seq> <last_seq>\n" with one write(2) on fd 1 (no stdio
// buffer: a line the parent reads is a commit that returned), so the parent
// knows which commits were acknowledged before it sent SIGKILL.
//
// The shape of a batch is a function of n alone; crash_test.cpp restates the
// same rules to check what survived. Exits 1 with a message on any error.

#include "contracts/error_code.hpp"
#include "contracts/ids.hpp"
#include "storage/database.hpp"
#include "storage/testing/committer_door.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace omniva;

/// 1 to 8: the top three bits of a Fibonacci hash of n.
uint64_t packets_in_batch(uint64_t n) {
  return 1 + (n * 0x9E3779B97F4A7C15ULL >> 61);
}

/// A fixed UUIDv4 per batch number.
std::string trace_of(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return buf;
}

std::string row_key(uint64_t n, uint64_t k) {
  return "row-" + std::to_string(n) + "-" + std::to_string(k);
}

/// Writes all of `text` to `fd`, retrying on EINTR and short writes.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    auto n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int fail(std::string_view what, const caf::error& err) {
  std::cerr << "crash_writer: " << what << ": "
            << contracts::render_error(err.code(), err.category(),
                                       err.context())
            << '\n';
  return 1;
}

/// Fills `batch` with batch `n`. Lineage: packets 0 and 4 name `earlier`
/// (the last packet of the previous batch, if any) as a parent; an odd packet
/// follows from the one before it, packets 2 and 6 from packet 0.
void fill(storage::commit_batch& batch, uint64_t n, const std::string& earlier,
          contracts::clock_source& clock) {
  auto count = packets_in_batch(n);
  auto at = contracts::format_timestamp(clock.now());
  for (uint64_t k = 0; k < count; ++k) {
    contracts::packet p;
    p.kind = "test.batch";
    p.actor = "crash_writer";
    p.trace_id = trace_of(n);
    p.subjects = {row_key(n, k), "batch-" + std::to_string(n)};
    p.at = at;
    p.payload = "{\"batch\":" + std::to_string(n) + ",\"k\":"
                + std::to_string(k) + "}";
    if ((k == 0 || k == 4) && !earlier.empty())
      p.meta_parents.push_back(earlier);
    std::vector<size_t> parents;
    if (k % 2 == 1)
      parents.push_back(k - 1);
    else if (k % 4 == 2)
      parents.push_back(0);
    auto index = batch.add(std::move(p), std::move(parents));
    batch.put(storage::table::tasks, row_key(n, k),
              std::to_string(n) + ":" + std::to_string(k) + ":"
                + std::to_string(index),
              index);
  }
}

/// Reads a positive number; nullopt when `text` is not one.
std::optional<uint64_t> positive(std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n == 0)
    return std::nullopt;
  return n;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: crash_writer DIR START [COUNT]\n";
    return 1;
  }
  auto start_arg = positive(argv[2]);
  if (!start_arg) {
    std::cerr << "crash_writer: START must be a batch number >= 1, not '"
              << argv[2] << "'\n";
    return 1;
  }
  auto start = *start_arg;
  auto count = argc == 4 ? positive(argv[3]) : std::optional<uint64_t>{};
  if (argc == 4 && !count) {
    std::cerr << "crash_writer: COUNT must be >= 1, not '" << argv[3] << "'\n";
    return 1;
  }
  // Sync is on by default.
  auto db = storage::testing::committer_door::open(argv[1]);
  if (!db)
    return fail("opening the database", db.error());
  // The last packet already in the log: the first batch's lineage parent.
  auto earlier = db->write.head();
  contracts::system_clock clock;
  storage::commit_batch batch;
  for (auto n = start; !count || n < start + *count; ++n) {
    fill(batch, n, earlier, clock);
    auto receipt = db->write.commit(batch);
    if (!receipt)
      return fail("committing batch " + std::to_string(n), receipt.error());
    earlier = receipt->ids.back();
    auto line = std::to_string(n) + " " + std::to_string(receipt->first_seq)
                + " " + std::to_string(receipt->last_seq) + "\n";
    if (!write_all(STDOUT_FILENO, line)) {
      std::cerr << "crash_writer: acknowledging batch " << n << ": "
                << std::strerror(errno) << '\n';
      return 1;
    }
  }
  return 0;
}
