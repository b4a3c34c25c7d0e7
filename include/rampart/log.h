// Logging set-up and rate limiting. Loggers are made in main() and passed
// down; nothing here is global.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rampart/error.h"

namespace rampart {

using Logger = std::shared_ptr<spdlog::logger>;

// `format` is "text" (human-readable, the default) or "json" (one JSON object
// per line for log collectors). `level` is an spdlog level name. Lines go to
// stderr unless another sink is given.
Result<Logger> makeLogger(const std::string& name, const std::string& format,
                          const std::string& level, spdlog::sink_ptr sink = nullptr);

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
