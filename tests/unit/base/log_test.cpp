#include <doctest/doctest.h>

#include <spdlog/sinks/ostream_sink.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rampart/finding_key.h"
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

namespace {
nlohmann::json lastLine(const std::ostringstream& out) {
  std::string text = out.str();
  text = text.substr(0, text.find_last_not_of('\n') + 1);
  return nlohmann::json::parse(text.substr(text.rfind('\n') + 1), nullptr, false);
}
}  // namespace

TEST_CASE("json log lines carry the logger's and the message's fields as keys") {
  std::ostringstream out;
  auto logger = makeLogger("agent", "json", "info",
                           std::make_shared<spdlog::sinks::ostream_sink_mt>(out), {{"node", "n1"}});
  REQUIRE(logger.has_value());
  (*logger)->info("plain line");
  auto j = lastLine(out);
  REQUIRE(j.is_object());
  CHECK(j["msg"] == "plain line");
  CHECK(j["node"] == "n1");  // every line of the agent names its node

  const std::string hostile = "web\"},\"level\":\"fake\n$(id)`x`\x01";
  logFields(*logger, spdlog::level::warn,
            {{"node", "n2"},
             {"namespace", "shop"},
             {"workload", hostile},
             {"check", "pod.not-ready"},
             {"Bad-Key", "dropped"},
             {"msg", "reserved"}},
            "finding {} on {}", "pod.not-ready", hostile);
  j = lastLine(out);
  REQUIRE(j.is_object());
  CHECK(j["node"] == "n2");  // the message's field wins over the logger's
  CHECK(j["namespace"] == "shop");
  CHECK(j["workload"] == hostile);
  CHECK(j["check"] == "pod.not-ready");
  CHECK(j["level"] == "warning");
  CHECK(j["msg"] == "finding pod.not-ready on " + hostile);
  CHECK_FALSE(j.contains("Bad-Key"));
  CHECK(j.size() == 8);  // time level logger msg node namespace workload check

  // A message text cannot forge fields, and the next plain line has none.
  (*logger)->info("{}", std::string("\x1e") +
                            "node\x1f"
                            "forged\x1d"
                            "text");
  j = lastLine(out);
  REQUIRE(j.is_object());
  CHECK(j["node"] == "n1");
  CHECK_FALSE(j.contains("workload"));
}

TEST_CASE("text log lines show the message alone, fields or not") {
  std::ostringstream out;
  auto logger = makeLogger("aggregator", "text", "debug",
                           std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  REQUIRE(logger.has_value());
  logFields(*logger, spdlog::level::info, {{"node", "n1"}}, "node {} left the cluster", "n1");
  CHECK(out.str().find("aggregator: node n1 left the cluster\n") != std::string::npos);
  CHECK(out.str().find("n1\"") == std::string::npos);
  logFields(*logger, spdlog::level::trace, {{"node", "n1"}}, "not logged {}", 1);
  CHECK(out.str().find("not logged") == std::string::npos);
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

TEST_CASE("a finding's log fields, from the finding or from its key") {
  engine::Finding f;
  f.check = "workload.replicas-on-one-node";
  f.severity = engine::Severity::kCritical;
  f.subject = {"Deployment", "shop", "web"};
  f.workload = engine::ObjectRef{"Deployment", "shop", "web"};
  f.node = "n1";
  f.zone = "z1";
  auto fields = engine::findingLogFields(f);
  std::map<std::string, std::string> m;
  for (const auto& x : fields) m[x.key] = x.value;
  CHECK(m == std::map<std::string, std::string>{
                 {"finding", "workload.replicas-on-one-node|Deployment|shop|web|n1"},
                 {"check", "workload.replicas-on-one-node"},
                 {"severity", "critical"},
                 {"namespace", "shop"},
                 {"workload", "Deployment/web"},
                 {"node", "n1"},
                 {"zone", "z1"}});

  m.clear();
  for (const auto& x : engine::findingKeyLogFields("node.down|Node||n3|n3")) m[x.key] = x.value;
  CHECK(m == std::map<std::string, std::string>{
                 {"finding", "node.down|Node||n3|n3"}, {"check", "node.down"}, {"node", "n3"}});
  m.clear();
  for (const auto& x : engine::findingKeyLogFields("pdb.missing|Deployment|shop|web|")) {
    m[x.key] = x.value;
  }
  CHECK(m["workload"] == "Deployment/web");
  CHECK(m["namespace"] == "shop");
  CHECK_FALSE(m.contains("node"));
  // Not a key: only itself.
  CHECK(engine::findingKeyLogFields("garbage").size() == 1);
  CHECK(engine::findingKeyLogFields("").size() == 1);
}
