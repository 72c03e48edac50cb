#pragma once

// Webhook delivery (docs/operations.md, "Webhooks"): each webhook (a row of
// table `webhooks`, contracts/webhook.hpp) is sent every committed event of
// the kinds it wants, in commit order, at least once, by a thread of its
// own that reads the events back from the log by sequence number after its
// cursor. Its secret (`<data>/webhooks/<id>.secret`) and its delivery state
// (`<data>/webhooks/<id>.state`: the cursor, failures, the last error) are
// files of the data folder, never part of the lineage, so a restart resumes
// where delivery stopped and nothing committed meanwhile is missed.
//
// A delivery is `POST <url>` with the JSON body of `delivery_body` and the
// header fields `X-Omniva-Event` (the kind), `X-Omniva-Delivery`
// (`<webhook id>/<seq>`, the same for every try of one event: receivers
// deduplicate on it) and `X-Omniva-Signature` (`sha256=<hex HMAC-SHA256 of
// the body with the secret>`). A 2xx answer moves the cursor past the
// event; anything else (no connection, a timeout, another status) is tried
// again after a pause that doubles from `retry_initial` up to `retry_max`,
// never skipping ahead.

#include "contracts/defaults.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/packet.hpp"
#include "contracts/webhook.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace omniva::runtime {

// -- the files of a webhook -----------------------------------------------------

/// `<data>/webhooks`: the webhooks' secrets and delivery state.
std::string webhook_dir(const std::string& data_dir);

/// `<data>/webhooks/<id>.secret`: the secret, as given (mode 0600).
std::string webhook_secret_path(const std::string& data_dir,
                                const std::string& id);

/// `<data>/webhooks/<id>.state`: the delivery state as JSON.
std::string webhook_state_path(const std::string& data_dir,
                               const std::string& id);

/// Writes `content` to `path` atomically (a temporary file beside it,
/// fsynced, renamed over it) with mode 0600, creating the folder (mode
/// 0700) when missing. Errors: `io_error`.
caf::error write_private_file(const std::string& path, std::string_view content);

/// A new secret: 32 random bytes as 64 lowercase hex digits.
std::string make_webhook_secret();

/// Reads the secret of webhook `id`. Errors: `not_found` (no file),
/// `io_error`.
caf::expected<std::string> read_webhook_secret(const std::string& data_dir,
                                               const std::string& id);

/// Removes the secret and state files of webhook `id` (missing ones are
/// fine).
void remove_webhook_files(const std::string& data_dir, const std::string& id);

// -- delivery state ---------------------------------------------------------------

/// Where delivery to one webhook stands (its `.state` file).
struct delivery_state {
  /// The cursor: every event up to this sequence number was delivered, or
  /// is of a kind the webhook does not want.
  uint64_t delivered_seq = 0;
  /// Failed tries of the event after the cursor, in a row; 0 after a
  /// success.
  uint32_t failures = 0;
  /// Why the last try failed ("HTTP 500", "cannot connect to ..."); "" when
  /// it did not.
  std::string last_error;
  /// The status of the last answer (0: none arrived yet, or no answer).
  unsigned last_status = 0;
  /// When the event after the cursor is tried again (RFC 3339); "" when no
  /// retry waits.
  std::string next_attempt_at;
  /// When the last event was delivered (RFC 3339); "" before the first.
  std::string last_delivered_at;

  friend bool operator==(const delivery_state&, const delivery_state&) = default;
};

/// The JSON form: `{"delivered_seq","failures","last_error","last_status",
/// "next_attempt_at","last_delivered_at"}` (the texts null when empty).
json::value to_json(const delivery_state& x);

/// Reads the JSON form (members missing: their defaults); nullopt when
/// `text` is not a JSON object or a member has the wrong type.
std::optional<delivery_state> delivery_state_from_json(std::string_view text);

/// Writes `x` to `path` atomically (`write_private_file`).
caf::error write_delivery_state(const std::string& path, const delivery_state& x);

/// Reads the state at `path`. Errors: `not_found` (no file), `corruption`
/// (not a state), `io_error`.
caf::expected<delivery_state> read_delivery_state(const std::string& path);

/// The sequence number of webhook `id`'s `webhook.created` packet: where
/// its delivery starts when it has no state file yet. Errors: `not_found`
/// when the log has no packet about it, the reader's.
caf::expected<uint64_t> webhook_start_seq(const storage::reader& r,
                                          const std::string& id);

// -- one delivery ---------------------------------------------------------------

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` keyed with
/// `secret`: the value of `X-Omniva-Signature`.
std::string webhook_signature(std::string_view secret, std::string_view body);

/// The pause before try `failures + 1` of an event that failed `failures`
/// times (at least 1): `initial` doubled for each failure after the first,
/// at most `max`.
std::chrono::milliseconds retry_delay(uint32_t failures,
                                      std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max);

/// The body POSTed for packet `p` to webhook `webhook_id`:
/// `{"webhook","seq","id","kind","subject","subjects","at","trace_id",
/// "payload"}`, the payload as the packet holds it without the storage's
/// own `_rows` record.
std::string delivery_body(const std::string& webhook_id,
                          const contracts::packet& p,
                          const std::string& subject);

// -- the dispatcher ---------------------------------------------------------------

/// How the dispatcher delivers.
struct webhook_options {
  /// The node's data folder (`<data>/webhooks/...`).
  std::string data_dir;
  /// The pause after the first failed try of an event. Default: 1 s.
  std::chrono::milliseconds retry_initial = defaults::webhooks::retry_initial;
  /// The longest pause between two tries. Default: 5 min.
  std::chrono::milliseconds retry_max = defaults::webhooks::retry_max;
  /// How long one try may go without progress (connect, send, receive).
  /// Default: 10 s.
  std::chrono::milliseconds timeout = defaults::webhooks::timeout;
};

/// Delivers committed events to the node's webhooks: one thread per
/// webhook, so a slow or dead receiver delays no other. Thread-safe.
class webhook_dispatcher {
public:
  /// A dispatcher reading the log through `reader`.
  webhook_dispatcher(webhook_options options,
                     std::shared_ptr<const storage::reader> reader);

  /// Stops (see `stop`).
  ~webhook_dispatcher();

  webhook_dispatcher(const webhook_dispatcher&) = delete;
  webhook_dispatcher& operator=(const webhook_dispatcher&) = delete;

  /// Starts a delivery thread for every webhook of the table, each from its
  /// cursor, and removes the files of webhooks the table does not have (a
  /// create that never committed, a removal the node did not finish).
  /// Call before anything can create or remove webhooks (before the HTTP
  /// API opens), after `on_commit` is connected. Errors: the reader's.
  caf::error start();

  /// Takes the events of a commit (the node's event hub calls it on
  /// Zenith's thread: it only queues and wakes): wakes the delivery
  /// threads, starts one for each `webhook.created`, stops the one of each
  /// `webhook.removed` and removes its files.
  void on_commit(const std::vector<contracts::committed_event>& events);

  /// Stops every delivery thread (a try under way ends first, within
  /// `timeout`); what is not delivered stays after the cursor for the next
  /// start.
  void stop();

  /// The webhooks with a delivery thread, by id (for tests).
  std::vector<std::string> running() const;

private:
  struct worker;

  /// The manager thread: applies queued creations and removals.
  void manage();

  /// Starts the thread of webhook `w` (cursor from its state file, else
  /// `start_seq`); no-op when it runs.
  void launch(const contracts::webhook_record& w, uint64_t start_seq);

  /// Stops the thread of `id`, waits for it, removes its files.
  void retire(const std::string& id);

  /// The delivery loop of one webhook.
  void deliver_loop(worker& w);

  webhook_options options_;
  std::shared_ptr<const storage::reader> reader_;
  mutable std::mutex mtx_;
  std::condition_variable manager_cv_;
  /// Queued changes: (id, seq of the packet; true: created, false: removed).
  std::deque<std::tuple<std::string, uint64_t, bool>> changes_;
  std::map<std::string, std::shared_ptr<worker>> workers_;
  bool stopping_ = false;
  std::thread manager_;
};

} // namespace omniva::runtime
