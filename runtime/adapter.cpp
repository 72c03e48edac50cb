// The adapter interface's one body: the envelope, and how every adapter
// completes its outcome.

#include "runtime/adapter.hpp"

#include "runtime/redaction.hpp"

namespace omniva::runtime {

using contracts::ec;

adapter::~adapter() = default;

json::value to_json(const contracts::execution_outcome& x) {
  json::value out{json::object{}};
  out.set("status", x.ok ? "DONE" : "ERROR");
  json::value outputs{json::array{}};
  for (auto& o : x.outputs) {
    json::value entry{json::object{}};
    entry.set("key", o.key);
    entry.set("path", o.path);
    entry.set("media_type", o.media_type);
    entry.set("sha256", o.sha256);
    entry.set("size", o.size);
    outputs.push_back(std::move(entry));
  }
  out.set("outputs", std::move(outputs));
  auto metrics = json::parse(x.metrics_json);
  out.set("metrics", metrics && metrics.doc->is_object()
                       ? std::move(*metrics.doc)
                       : json::value{json::object{}});
  json::value logs{json::object{}};
  if (!x.stdout_path.empty())
    logs.set("stdout", x.stdout_path);
  if (!x.stderr_path.empty())
    logs.set("stderr", x.stderr_path);
  out.set("logs", std::move(logs));
  if (!x.ok) {
    json::value error{json::object{}};
    error.set("code", std::string{contracts::to_string(x.error_code)});
    error.set("message", x.error_message);
    error.set("transient", x.transient);
    if (!x.error_pointer.empty())
      error.set("pointer", x.error_pointer);
    out.set("error", std::move(error));
  }
  return out;
}

void fail(contracts::execution_outcome& x, ec code, std::string message,
          bool transient) {
  x.ok = false;
  x.error_code = code;
  x.error_message = std::move(message);
  x.transient = transient;
}

std::string in_quotes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out.append(text);
  out += '\'';
  return out;
}

contracts::execution_outcome finish(contracts::execution_outcome x,
                                    const json::value& metrics,
                                    const contracts::dispatch_order& order,
                                    const execution_context& context) {
  x.execution_id = order.execution_id;
  x.task_id = order.task.task_id;
  x.attempt = order.task.attempt;
  x.metrics_json = metrics.is_object() ? json::serialize(metrics) : "{}";
  if (!x.error_message.empty())
    x.error_message = clean_message(std::move(x.error_message), context.secrets);
  if (x.ok) {
    x.error_code = ec::none;
    x.transient = false;
  } else {
    x.outputs.clear();
  }
  return x;
}

} // namespace omniva::runtime
