// The findings history in SQLite: occurrences, resolution, restart, the query
// and its HTTP parameters.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "rampart/finding_key.h"
#include "state/findings_history.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;

namespace {

engine::Finding finding(std::string check, std::string node, std::string message,
                        engine::Severity sev = engine::Severity::kHigh) {
  engine::Finding f;
  f.check = std::move(check);
  f.severity = sev;
  f.subject = {"Node", "", node};
  f.node = std::move(node);
  f.zone = "a";
  f.message = std::move(message);
  return f;
}

engine::Report reportOf(std::vector<engine::Finding> findings) {
  engine::Report r;
  r.findings = std::move(findings);
  return r;
}

Logger quietLog() {
  return *makeLogger("test", "text", "error");
}

std::map<std::string, FindingRecord> byKey(const std::vector<FindingRecord>& records) {
  std::map<std::string, FindingRecord> out;
  for (const auto& r : records) out.emplace(r.key, r);
  return out;
}

}  // namespace

TEST_CASE("findings history: first seen, last seen, resolved, a new occurrence, a restart") {
  testing::TempDir dir;
  const auto db = dir / "r.db";
  const std::string down_key = "node.down|Node||n1|n1";
  {
    auto h = FindingsHistory::open(db, quietLog());
    REQUIRE(h.has_value());
    auto& history = **h;
    history.update(reportOf({finding("node.down", "n1", "n1 down"),
                             finding("node.cordoned", "n2", "n2 cordoned")}),
                   1'000);
    CHECK(history.activeCount() == 2);
    CHECK(history.firstSeen(down_key) == std::optional<int64_t>(1'000));
    // Same finding, new numbers: updated, first seen kept.
    history.update(reportOf({finding("node.down", "n1", "n1 down, 3 pods"),
                             finding("node.cordoned", "n2", "n2 cordoned")}),
                   2'000);
    CHECK(history.firstSeen(down_key) == std::optional<int64_t>(1'000));
    // n2 uncordoned: resolved at 3000, last seen 2000.
    history.update(reportOf({finding("node.down", "n1", "n1 down, 3 pods")}), 3'000);
    CHECK(history.activeCount() == 1);
    auto all = history.query({});
    REQUIRE(all.has_value());
    auto rows = byKey(*all);
    REQUIRE(rows.size() == 2);
    const auto& cordoned = rows.at("node.cordoned|Node||n2|n2");
    CHECK(cordoned.first_seen_ms == 1'000);
    CHECK(cordoned.last_seen_ms == 2'000);
    CHECK(cordoned.resolved_ms == std::optional<int64_t>(3'000));
    const auto& down = rows.at(down_key);
    CHECK(down.message == "n1 down, 3 pods");
    CHECK(down.first_seen_ms == 1'000);
    CHECK_FALSE(down.resolved_ms.has_value());
    CHECK(down.severity == "high");
    CHECK(down.subject == "Node n1");
  }
  {
    // Restart: the active finding keeps its first seen; the resolved one
    // comes back as a new occurrence.
    auto h = FindingsHistory::open(db, quietLog());
    REQUIRE(h.has_value());
    auto& history = **h;
    CHECK(history.activeCount() == 1);
    CHECK(history.firstSeen(down_key) == std::optional<int64_t>(1'000));
    history.update(reportOf({finding("node.down", "n1", "n1 down, 3 pods"),
                             finding("node.cordoned", "n2", "n2 cordoned")}),
                   70'000);
    CHECK(history.firstSeen(down_key) == std::optional<int64_t>(1'000));
    CHECK(history.firstSeen("node.cordoned|Node||n2|n2") == std::optional<int64_t>(70'000));
    auto active = history.query({"node.", true, 10});
    REQUIRE(active.has_value());
    CHECK(active->size() == 2);
    auto rows = byKey(*active);
    // Unchanged for more than a minute: last seen written.
    CHECK(rows.at(down_key).last_seen_ms == 70'000);
    CHECK_FALSE(rows.at("node.cordoned|Node||n2|n2").resolved_ms.has_value());
    auto resolved = history.query({"", false, 10});
    REQUIRE(resolved.has_value());
    CHECK(resolved->empty());
    auto prefix = history.query({"node.down", std::nullopt, 10});
    REQUIRE(prefix.has_value());
    REQUIRE(prefix->size() == 1);
    CHECK(prefix->front().key == down_key);
  }
}

TEST_CASE("findings history: hostile strings are stored and served verbatim") {
  testing::TempDir dir;
  auto h = FindingsHistory::open(dir / "r.db", quietLog());
  REQUIRE(h.has_value());
  const std::string hostile = "a'\"; DROP TABLE findings; --\n$(touch /tmp/x) `id` \xff";
  (*h)->update(reportOf({finding("pod.bare", "n'1", hostile)}), 5'000);
  auto reply = historyReply(**h, {{"active", "true"}});
  REQUIRE(reply.status == 200);
  auto j = nlohmann::json::parse(reply.body);
  REQUIRE(j["findings"].size() == 1);
  CHECK(j["findings"][0]["node"] == "n'1");
  CHECK(j["findings"][0]["resolved"].is_null());
  CHECK(j["findings"][0]["first_seen"] == "1970-01-01T00:00:05Z");
  // Invalid UTF-8 is replaced in the JSON, the rest is kept.
  CHECK(j["findings"][0]["message"].get<std::string>().starts_with(
      "a'\"; DROP TABLE findings; --\n$(touch /tmp/x) `id` "));
}

TEST_CASE("findings history: query parameters are validated") {
  testing::TempDir dir;
  auto h = FindingsHistory::open(dir / "r.db", quietLog());
  REQUIRE(h.has_value());
  CHECK(historyReply(**h, {{"limit", "0"}}).status == 400);
  CHECK(historyReply(**h, {{"limit", "12x"}}).status == 400);
  CHECK(historyReply(**h, {{"active", "yes"}}).status == 400);
  CHECK(historyReply(**h, {{"bogus", "1"}}).status == 400);
  auto ok = historyReply(**h, {{"limit", "5"}, {"check", "node."}, {"active", "false"}});
  CHECK(ok.status == 200);
  CHECK(nlohmann::json::parse(ok.body)["findings"].empty());
}
