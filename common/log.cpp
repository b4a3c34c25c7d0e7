#include "rampart/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace rampart {
namespace {

// %j: the message as the body of a JSON string (quotes, backslashes and
// control characters escaped), so that every line stays one valid object.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 15], kHex[c & 15]};
            dest.append(esc, esc + sizeof esc);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

}  // namespace

Result<Logger> makeLogger(const std::string& name, const std::string& format,
                          const std::string& level, spdlog::sink_ptr sink) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return fail(ErrorCode::kConfig, "unknown log level '" + level +
                                        "' (trace, debug, info, warn, error, critical, off)");
  }
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  if (format == "text") {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %n: %v");
  } else if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonEscapedMessage>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%j"})");
    logger->set_formatter(std::move(formatter));
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

void warnLimited(const Logger& log, RateLimiter& limiter, const std::string& key,
                 const std::string& message) {
  long suppressed = limiter.allow(key);
  if (suppressed < 0) return;
  if (suppressed > 0) {
    log->warn("{} ({} similar messages suppressed)", message, suppressed);
  } else {
    log->warn("{}", message);
  }
}

}  // namespace rampart
