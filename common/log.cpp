#include "rampart/log.h"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace rampart {

Result<Logger> makeLogger(const std::string& name, const std::string& format,
                          const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return fail(ErrorCode::kConfig, "unknown log level '" + level +
                                        "' (trace, debug, info, warn, error, critical, off)");
  }
  auto logger = std::make_shared<spdlog::logger>(
      name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (format == "text") {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %n: %v");
  } else if (format == "json") {
    // Messages are escaped by the caller where they may hold quotes; the
    // pattern keeps one JSON object per line.
    logger->set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%v"})");
  } else {
    return fail(ErrorCode::kConfig, "unknown log format '" + format + "' (text, json)");
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

Logger nullLogger() {
  return std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
}

long RateLimiter::allow(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  Slot& slot = slots_[key];
  if (slot.used && now - slot.last < period_) {
    ++slot.suppressed;
    return -1;
  }
  long suppressed = slot.suppressed;
  slot = Slot{now, 0, true};
  return suppressed;
}

}  // namespace rampart
