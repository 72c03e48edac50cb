#include "storage/backup.hpp"

#include "contracts/error_code.hpp"
#include "storage/database.hpp"
#include "storage/db_handle.hpp"
#include "storage/witness.hpp"

#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <memory>
#include <system_error>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

caf::expected<checkpoint_info> log_end_of(const std::string& dir) {
  auto r = open_reader(dir);
  if (!r)
    return r.error();
  checkpoint_info out;
  out.path = dir;
  auto count = (*r)->packet_count();
  if (!count)
    return count.error();
  auto head = (*r)->head();
  if (!head)
    return head.error();
  out.packets = *count;
  out.head = *head;
  if (out.packets == 0) {
    if (!out.head.empty())
      return make_error(ec::corruption, dir + ": meta names a head but no "
                                              "packets");
    return out;
  }
  auto last = (*r)->packet_by_seq(out.packets);
  if (!last)
    return make_error(ec::corruption,
                      dir + ": meta says the log holds "
                        + std::to_string(out.packets)
                        + " packets, and packet " + std::to_string(out.packets)
                        + " cannot be read");
  if (last->id != out.head)
    return make_error(ec::corruption,
                      dir + ": meta's head is not the log's packet "
                        + std::to_string(out.packets));
  return out;
}

caf::expected<checkpoint_info> make_checkpoint(const reader& r,
                                               const std::string& dir) {
  auto& h = r.handle();
  if (!h || !h->db)
    return make_error(ec::invalid_argument, "the database is not open");
  if (!h->secondary_path.empty())
    return make_error(ec::invalid_argument,
                      "a checkpoint is taken through the handle of the "
                      "process that writes the database, not a reader's");
  if (!std::filesystem::path{dir}.is_absolute())
    return make_error(ec::invalid_argument,
                      "the checkpoint folder must be an absolute path: " + dir);
  std::error_code err;
  if (std::filesystem::exists(dir, err))
    return make_error(ec::storage_error,
                      "the checkpoint folder exists already: " + dir);
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(h->db.get(), &raw);
  if (!s.ok())
    return to_error(s, "preparing a checkpoint of " + h->path);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint{raw};
  // log_size_for_flush 0: the memtables are flushed first, so the
  // checkpoint's write-ahead log holds only what arrived during the flush
  // (a node opening it replays little). Consistent either way: what is not
  // in its SST files is in the log files it copies.
  s = checkpoint->CreateCheckpoint(dir, 0);
  if (!s.ok())
    return to_error(s, "taking a checkpoint of " + h->path + " into " + dir);
  auto end = log_end_of(dir);
  if (!end)
    return end.error();
  // The checkpoint's own witness: its log is durable (RocksDB synced what
  // it copied) and ends here, so a copy that later comes back shorter is
  // reported as loss.
  if (end->packets > 0) {
    auto writer = witness_writer::open(dir);
    if (!writer)
      return writer.error();
    if (auto e = writer->store(chain_witness{end->packets, end->head}))
      return e;
  }
  return end;
}

} // namespace omniva::storage
