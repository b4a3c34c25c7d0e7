// Logging set-up and rate limiting. Loggers are made in main() and passed
// down; nothing here is global.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/error.h"

namespace rampart {

using Logger = std::shared_ptr<spdlog::logger>;

// A structured field of a log line: `node`, `namespace`, `workload`, `check`,
// `severity`, `finding`, `hook`, `alertname`... (docs/logging.md). Keys are
// [a-z_]+; values are any bytes (escaped in JSON).
struct LogField {
  std::string key;
  std::string value;
};
using LogFields = std::vector<LogField>;

// `format` is "text" (human-readable, the default) or "json" (one JSON object
// per line for log collectors: time, level, logger, msg, then the fields).
// `level` is an spdlog level name. Lines go to stderr unless another sink is
// given. `fields` go on every line (the agent's `node`).
Result<Logger> makeLogger(const std::string& name, const std::string& format,
                          const std::string& level, spdlog::sink_ptr sink = nullptr,
                          LogFields fields = {});

// Logs `message` with structured fields. JSON lines carry each as a key of
// its own; text lines show the message alone (it names its subject anyway).
void logWithFields(const Logger& log, spdlog::level::level_enum level, const LogFields& fields,
                   std::string_view message);

// Formats and logs with fields:
//   logFields(log, spdlog::level::info, {{"node", n}}, "node {} left", n);
template <typename... Args>
void logFields(const Logger& log, spdlog::level::level_enum level, const LogFields& fields,
               spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (!log || !log->should_log(level)) return;
  logWithFields(log, level, fields, fmt::format(fmt, std::forward<Args>(args)...));
}

// A logger that writes nowhere; for tests and library defaults.
Logger nullLogger();

// Lets one message per key through every `period`; counts what it held back so
// that the next message can say how many were suppressed. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::steady_clock::duration period = std::chrono::seconds(10))
      : period_(period) {}
  // Returns the number of suppressed messages since the last one let through
  // (>= 0) when this one may be logged, or -1 when it must be suppressed.
  long allow(const std::string& key,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Slot {
    std::chrono::steady_clock::time_point last{};
    long suppressed = 0;
    bool used = false;
  };
  std::chrono::steady_clock::duration period_;
  std::mutex mu_;
  std::map<std::string, Slot> slots_;
};

// Logs `message` as a warning unless `limiter` suppresses `key`; the first
// message let through after suppressed ones says how many were dropped.
void warnLimited(const Logger& log, RateLimiter& limiter, const std::string& key,
                 const std::string& message);

}  // namespace rampart
