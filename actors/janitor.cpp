#include "actors/janitor.hpp"

#include "contracts/status.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <functional>
#include <unordered_set>

namespace fs = std::filesystem;

namespace omniva::actors {

using contracts::ec;

namespace {

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

bool is_not_found(const caf::error& err) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(ec::not_found);
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

/// The attempt number a folder name is ("3"), or nullopt.
std::optional<uint32_t> attempt_number(const std::string& name) {
  uint32_t n = 0;
  auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (err != std::errc{} || end != name.data() + name.size() || n == 0
      || name.front() == '0')
    return std::nullopt;
  return n;
}

/// The bytes of the regular files under `p` (or of `p` itself), symbolic
/// links not followed; what cannot be read counts nothing.
uint64_t bytes_under(const fs::path& p) {
  std::error_code err;
  auto st = fs::symlink_status(p, err);
  if (err)
    return 0;
  if (fs::is_regular_file(st)) {
    auto n = fs::file_size(p, err);
    return err ? 0 : n;
  }
  if (!fs::is_directory(st))
    return 0;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator
         it{p, fs::directory_options::skip_permission_denied, err},
       end;
       !err && it != end; it.increment(err)) {
    std::error_code e;
    if (it->is_symlink(e) || !it->is_regular_file(e))
      continue;
    auto n = it->file_size(e);
    if (!e)
      total += n;
  }
  return total;
}

/// The modification time of the file at `path` (not following a symbolic
/// link), and whether it is a regular file; nullopt when it cannot be read.
std::optional<std::pair<contracts::timestamp, uint64_t>>
regular_file_time(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  auto since_epoch = std::chrono::seconds{st.st_mtim.tv_sec}
                     + std::chrono::nanoseconds{st.st_mtim.tv_nsec};
  return std::pair{contracts::timestamp{
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                       since_epoch)},
                   static_cast<uint64_t>(st.st_size)};
}

/// Parses a stored row into a record through `from_json`; nullopt (logged)
/// when it does not read.
template <class Record, class FromJson>
std::optional<Record> parse_record(const std::string& text, FromJson from_json,
                                   std::string_view what, const std::string& key) {
  auto doc = json::parse(text);
  if (!doc) {
    spdlog::warn("janitor: the {} row {} is not JSON; left alone", what, key);
    return std::nullopt;
  }
  std::vector<contracts::problem> problems;
  auto record = from_json(*doc.doc, problems, "");
  if (!record)
    spdlog::warn("janitor: the {} row {} does not read; left alone", what, key);
  return record;
}

/// Removes `p` (a folder or a file) and all it holds; true when it is gone
/// (also when it was gone already).
bool remove_path(const fs::path& p) {
  std::error_code err;
  fs::remove_all(p, err);
  if (err) {
    spdlog::warn("janitor: cannot remove {}: {}", p.string(), err.message());
    return false;
  }
  return true;
}

} // namespace

// -- planning ---------------------------------------------------------------------

caf::expected<janitor_pass> janitor_state::plan(bool dry_run,
                                                const std::string& by) {
  auto now = clock->now();
  janitor_pass pass;
  pass.plan.dry_run = dry_run;
  pass.plan.by = by;
  pass.plan.at = contracts::format_timestamp(now);
  auto& policy = config.policy;
  std::error_code err;
  // -- task folders
  auto outputs = fs::path{config.data_dir} / "outputs";
  if (fs::is_directory(outputs, err)) {
    std::vector<fs::path> folders;
    for (fs::directory_iterator it{outputs, err}, end; !err && it != end;
         it.increment(err)) {
      std::error_code e;
      if (!it->is_symlink(e) && it->is_directory(e)
          && contracts::is_uuid(it->path().filename().string()))
        folders.push_back(it->path());
    }
    std::sort(folders.begin(), folders.end()); // one order for every run
    auto soonest = std::min(policy.attempts_after, policy.outputs_after);
    for (auto& dir : folders) {
      auto task_id = dir.filename().string();
      auto row = reader->get(storage::table::tasks, task_id);
      if (!row) {
        if (is_not_found(row.error()))
          continue; // not a task of this node: not ours to remove
        return row.error();
      }
      auto task = parse_record<contracts::task_record>(
        *row, contracts::task_record_from_json, "task", task_id);
      if (!task || !contracts::is_terminal(task->status))
        continue;
      auto finished = contracts::parse_timestamp(task->updated_at);
      if (!finished || now - *finished < soonest)
        continue; // too young for either rule: not even listed
      contracts::task_folder folder;
      folder.task = std::move(*task);
      for (fs::directory_iterator it{dir, err}, end; !err && it != end;
           it.increment(err)) {
        std::error_code e;
        auto name = it->path().filename().string();
        auto n = attempt_number(name);
        if (n && !it->is_symlink(e) && it->is_directory(e))
          folder.attempts[*n] = bytes_under(it->path());
        else
          folder.other_bytes += bytes_under(it->path());
      }
      if (err) {
        spdlog::warn("janitor: cannot list {}: {}", dir.string(), err.message());
        err.clear();
        continue;
      }
      if (now - *finished >= policy.outputs_after)
        for (auto& [key, asset_id] : folder.task.outputs) {
          auto text = reader->get(storage::table::assets, asset_id);
          if (!text) {
            if (is_not_found(text.error()))
              continue; // deleted
            return text.error();
          }
          auto asset = parse_record<contracts::asset_record>(
            *text, contracts::asset_record_from_json, "asset", asset_id);
          if (!asset) {
            // An output that does not read counts as held: nothing of the
            // task goes on a guess.
            contracts::asset_record unknown;
            unknown.asset_id = asset_id;
            unknown.holds.push_back("unknown");
            folder.outputs.push_back(std::move(unknown));
            continue;
          }
          auto holders = reader->holders(asset_id);
          if (!holders)
            return holders.error();
          asset->holds = std::move(*holders);
          folder.outputs.push_back(std::move(*asset));
        }
      // What earlier passes recorded matters only when something would go.
      if (contracts::plan_task_folder(folder, policy, now).empty())
        continue;
      auto history = reader->history(folder.task.task_id);
      if (!history)
        return history.error();
      for (auto& p : *history)
        if (p.kind == contracts::files_removed_kind)
          contracts::note_recorded_removal(p.payload, folder.recorded);
      for (auto& item : contracts::plan_task_folder(folder, policy, now))
        pass.plan.tasks.push_back(std::move(item));
    }
    if (err)
      spdlog::warn("janitor: cannot list {}: {}", outputs.string(),
                   err.message());
  }
  // -- blobs
  err.clear();
  auto store = fs::path{config.data_dir} / "blobs" / "sha256";
  std::vector<contracts::blob_file> old_blobs;
  if (fs::is_directory(store, err)) {
    for (fs::directory_iterator shard{store, err}, end; !err && shard != end;
         shard.increment(err)) {
      auto prefix = shard->path().filename().string();
      std::error_code e;
      if (prefix.size() != 2 || !is_hex(prefix) || shard->is_symlink(e)
          || !shard->is_directory(e))
        continue;
      for (fs::directory_iterator it{shard->path(), e}, stop; !e && it != stop;
           it.increment(e)) {
        auto name = it->path().filename().string();
        if (name.size() != 64 || !is_hex(name) || !name.starts_with(prefix))
          continue; // not a blob
        auto file = regular_file_time(it->path().string());
        if (!file || now - file->first < policy.blob_grace)
          continue;
        old_blobs.push_back({name, file->second, file->first, std::nullopt});
      }
    }
  }
  if (!old_blobs.empty()) {
    std::sort(old_blobs.begin(), old_blobs.end(),
              [](auto& x, auto& y) { return x.sha256 < y.sha256; });
    auto rows = reader->scan(storage::table::assets, "");
    if (!rows)
      return rows.error();
    std::unordered_set<std::string> referenced;
    for (auto& [id, text] : *rows) {
      auto asset = parse_record<contracts::asset_record>(
        text, contracts::asset_record_from_json, "asset", id);
      if (!asset) {
        // A row that does not read may name any blob: none goes this pass.
        spdlog::warn("janitor: no blob is removed while an asset row does "
                     "not read");
        old_blobs.clear();
        break;
      }
      contracts::add_blob_references(*asset, referenced);
    }
    for (auto& blob : old_blobs) {
      if (referenced.count(blob.sha256) > 0)
        continue;
      auto history = reader->history(contracts::blob_subject(blob.sha256));
      if (!history)
        return history.error();
      for (auto& p : *history)
        if (p.kind == contracts::blob_removed_kind)
          blob.removal_recorded = contracts::parse_timestamp(p.at);
      if (auto item = contracts::plan_blob(blob, referenced, policy, now)) {
        pass.blob_times[blob.sha256] = blob.modified;
        pass.plan.blobs.push_back(std::move(*item));
      }
    }
  }
  return pass;
}

contracts::purge_plan janitor_state::to_record(const janitor_pass& pass) {
  auto out = pass.plan;
  std::erase_if(out.tasks, [](auto& t) { return t.recorded; });
  std::erase_if(out.blobs, [](auto& b) { return b.recorded; });
  return out;
}

// -- removing -------------------------------------------------------------------------

contracts::purge_plan janitor_state::remove(const janitor_pass& pass,
                                            contracts::purge_plan accepted) {
  contracts::purge_plan out;
  out.by = pass.plan.by;
  out.at = pass.plan.at;
  out.trace_id = accepted.trace_id;
  out.skipped = accepted.skipped;
  auto outputs = fs::path{config.data_dir} / "outputs";
  std::vector<contracts::purge_task> tasks;
  for (auto& t : pass.plan.tasks)
    if (t.recorded)
      tasks.push_back(t);
  for (auto& t : accepted.tasks)
    tasks.push_back(std::move(t));
  for (auto& t : tasks) {
    if (!contracts::is_uuid(t.task_id)) {
      ++out.failed; // never a path built from anything but a task id
      continue;
    }
    auto folder = outputs / t.task_id;
    bool gone = true;
    if (t.whole) {
      gone = remove_path(folder);
    } else {
      for (auto n : t.attempts)
        gone = remove_path(folder / std::to_string(n)) && gone;
    }
    if (!gone)
      ++out.failed;
    out.tasks.push_back(std::move(t));
  }
  std::vector<contracts::purge_blob> blobs;
  for (auto& b : pass.plan.blobs)
    if (b.recorded)
      blobs.push_back(b);
  for (auto& b : accepted.blobs)
    blobs.push_back(std::move(b));
  if (!blobs.empty()) {
    // Looked at again right before the files go: a blob registered again
    // since it was planned (the same content uploaded anew) stays.
    std::unordered_set<std::string> referenced;
    auto rows = reader->scan(storage::table::assets, "");
    bool readable = static_cast<bool>(rows);
    if (rows)
      for (auto& [id, text] : *rows) {
        auto asset = parse_record<contracts::asset_record>(
          text, contracts::asset_record_from_json, "asset", id);
        if (!asset) {
          readable = false;
          break;
        }
        contracts::add_blob_references(*asset, referenced);
      }
    for (auto& b : blobs) {
      auto path = fs::path{config.data_dir} / "blobs" / "sha256"
                  / b.sha256.substr(0, 2) / b.sha256;
      auto planned = pass.blob_times.find(b.sha256);
      auto now_file = regular_file_time(path.string());
      bool rewritten = now_file && planned != pass.blob_times.end()
                       && now_file->first != planned->second;
      if (!readable || referenced.count(b.sha256) > 0 || rewritten) {
        spdlog::warn("janitor: blob {} is kept: {}", b.sha256,
                     !readable ? "the asset rows could not be read again"
                               : "it was registered or written again after "
                                 "its removal was planned");
        ++out.skipped;
        continue;
      }
      if (!b.sha256.empty() && b.sha256.size() == 64 && is_hex(b.sha256)
          && remove_path(path))
        out.blobs.push_back(std::move(b));
      else
        ++out.failed;
    }
  }
  auto n = contracts::totals(out);
  if (n.tasks + n.blobs > 0)
    spdlog::info("janitor: removed {} task folder(s), the attempts that did "
                 "not win of {} other task(s) and {} blob(s), {} bytes ({} "
                 "asset(s) PURGED; operator {}){}",
                 n.folders, n.tasks - n.folders, n.blobs, n.bytes, n.assets,
                 out.by,
                 out.failed > 0 ? "; " + std::to_string(out.failed)
                                    + " could not be removed"
                                : std::string{});
  return out;
}

// -- the behavior -----------------------------------------------------------------------

namespace {

/// Runs the rest of a pass that is not a dry run: Zenith records what is
/// new, then the files go; `done` gets what went, or why nothing did.
void run_pass(janitor_actor::stateful_pointer<janitor_state> self,
              janitor_pass pass,
              std::function<void(caf::expected<contracts::purge_plan>)> done) {
  auto record = janitor_state::to_record(pass);
  if (contracts::empty(record)) {
    done(self->state.remove(pass, std::move(record)));
    return;
  }
  // One pass at a time: the janitor handles nothing else until Zenith
  // answered (a second pass would plan what this one is recording).
  self->request(self->state.zenith, self->state.config.zenith_timeout,
                atom::purge_v, std::move(record))
    .await(
      [self, pass, done](contracts::purge_plan& accepted) {
        done(self->state.remove(pass, std::move(accepted)));
      },
      [done](caf::error& err) {
        spdlog::warn("janitor: Zenith did not record the pass, nothing was "
                     "removed: {}",
                     error_text(err));
        done(std::move(err));
      });
}

} // namespace

janitor_actor::behavior_type
janitor(janitor_actor::stateful_pointer<janitor_state> self,
        janitor_config config, std::shared_ptr<const storage::reader> reader,
        zenith_actor zenith) {
  auto& st = self->state;
  st.config = std::move(config);
  st.reader = std::move(reader);
  st.zenith = std::move(zenith);
  st.clock = std::make_unique<contracts::system_clock>();
  if (st.config.policy.interval.count() > 0)
    self->delayed_send(self, st.config.policy.interval, atom::tick_v);
  return {
    [self](atom::purge, bool dry_run,
           const std::string& by) -> caf::result<contracts::purge_plan> {
      auto pass = self->state.plan(dry_run, by);
      if (!pass) {
        spdlog::warn("janitor: cannot plan a pass: {}", error_text(pass.error()));
        return pass.error();
      }
      if (dry_run)
        return std::move(pass->plan);
      auto promise = self->make_response_promise<contracts::purge_plan>();
      run_pass(self, std::move(*pass),
               [promise](caf::expected<contracts::purge_plan> r) mutable {
                 if (r)
                   promise.deliver(std::move(*r));
                 else
                   promise.deliver(r.error());
               });
      return promise;
    },
    [self](atom::tick) {
      auto next = [self] {
        self->delayed_send(self, self->state.config.policy.interval,
                           atom::tick_v);
      };
      auto pass = self->state.plan(false,
                                   std::string{contracts::retention_operator});
      if (!pass) {
        spdlog::warn("janitor: cannot plan a pass: {}", error_text(pass.error()));
        next();
        return;
      }
      run_pass(self, std::move(*pass),
               [next](const caf::expected<contracts::purge_plan>&) { next(); });
    },
  };
}

} // namespace omniva::actors
