#include <doctest/doctest.h>

#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "rampart/log.h"

using namespace rampart;

TEST_CASE("json log lines stay valid JSON whatever the message holds") {
  std::ostringstream out;
  auto logger =
      makeLogger("t", "json", "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  REQUIRE(logger.has_value());
  std::string hostile = "quote \" backslash \\ newline \n tab \t bell \x07 $(rm -rf /) `id`";
  (*logger)->warn("{}", hostile);
  auto line = out.str();
  REQUIRE_FALSE(line.empty());
  auto j = nlohmann::json::parse(line.substr(0, line.find_last_not_of('\n') + 1), nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["msg"] == hostile);
  CHECK(j["level"] == "warning");
  CHECK(j["logger"] == "t");
}

TEST_CASE("bad log settings are configuration errors") {
  CHECK_FALSE(makeLogger("t", "xml", "info").has_value());
  CHECK_FALSE(makeLogger("t", "text", "loud").has_value());
}

TEST_CASE("the rate limiter lets one message per period through and counts the rest") {
  RateLimiter limiter(std::chrono::seconds(10));
  auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  CHECK(limiter.allow("a", t0) == 0);
  CHECK(limiter.allow("a", t0 + std::chrono::seconds(1)) == -1);
  CHECK(limiter.allow("a", t0 + std::chrono::seconds(2)) == -1);
  CHECK(limiter.allow("b", t0 + std::chrono::seconds(2)) == 0);
  CHECK(limiter.allow("a", t0 + std::chrono::seconds(11)) == 2);
}
