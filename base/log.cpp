#include "rampart/log.h"

#include <spdlog/pattern_formatter.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <algorithm>

namespace rampart {
namespace {

// The fields of the message being logged on this thread (logFields() sets
// them around its call to spdlog; loggers here are synchronous, so the
// formatters run on the same thread, inside that call). Never from the
// message text: a hostile string cannot forge a field.
thread_local const LogFields* current_fields = nullptr;

// The body of a JSON string: quotes, backslashes and control characters
// escaped, so that every line stays one valid object.
void appendJsonEscaped(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
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

bool validKey(std::string_view key) {
  return !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
  });
}

// %j: the message (without its fields) as the body of a JSON string.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    appendJsonEscaped({msg.payload.data(), msg.payload.size()}, dest);
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// %F: the logger's fields, then the message's, as `,"key":"value"` each (a
// message's field replaces a logger's of the same key; the reserved keys
// time, level, logger and msg are skipped).
class JsonFields : public spdlog::custom_flag_formatter {
 public:
  explicit JsonFields(LogFields fixed) : fixed_(std::move(fixed)) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const LogFields* own = current_fields;
    auto emit = [&](std::string_view key, std::string_view value) {
      if (!validKey(key) || key == "time" || key == "level" || key == "logger" || key == "msg") {
        return;
      }
      dest.append(std::string_view(",\""));
      dest.append(key);
      dest.append(std::string_view("\":\""));
      appendJsonEscaped(value, dest);
      dest.push_back('"');
    };
    for (const auto& f : fixed_) {
      bool overridden = own != nullptr && std::any_of(own->begin(), own->end(), [&](const auto& m) {
                          return m.key == f.key;
                        });
      if (!overridden) emit(f.key, f.value);
    }
    if (own != nullptr) {
      for (const auto& f : *own) emit(f.key, f.value);
    }
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<JsonFields>(fixed_);
  }

 private:
  LogFields fixed_;
};

}  // namespace

void logWithFields(const Logger& log, spdlog::level::level_enum level, const LogFields& fields,
                   std::string_view message) {
  const LogFields* outer = current_fields;
  current_fields = &fields;
  try {
    log->log(level, "{}", message);
  } catch (...) {
    current_fields = outer;
    throw;
  }
  current_fields = outer;
}

Result<Logger> makeLogger(const std::string& name, const std::string& format,
                          const std::string& level, spdlog::sink_ptr sink, LogFields fields) {
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
    formatter->add_flag<JsonEscapedMessage>('j').add_flag<JsonFields>('F', std::move(fields));
    formatter->set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%j"%F})");
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
