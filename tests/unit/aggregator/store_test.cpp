#include <doctest/doctest.h>

#include <sqlite3.h>

#include "state/store.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;

TEST_CASE("a new store migrates to the current schema in WAL mode") {
  testing::TempDir dir;
  auto store = Store::open(dir / "r.db");
  REQUIRE(store.has_value());
  CHECK((*store)->schemaVersion() == Store::kSchemaVersion);
  store->reset();
  // Reopening an up-to-date database runs no migration and keeps the version.
  auto again = Store::open(dir / "r.db");
  REQUIRE(again.has_value());
  CHECK((*again)->schemaVersion() == Store::kSchemaVersion);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "r.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_CASE("a database from a newer build is refused, not modified") {
  testing::TempDir dir;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "new.db").c_str(), &db) == SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto store = Store::open(dir / "new.db");
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().message.find("newer") != std::string::npos);
}

TEST_CASE("an unopenable path gives a clear error") {
  auto store = Store::open("/nonexistent-dir/rampart.db");
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == ErrorCode::kStore);
  CHECK(store.error().message.find("/nonexistent-dir/rampart.db") != std::string::npos);
}

TEST_CASE("nodes, pods and events survive a reopen") {
  testing::TempDir dir;
  {
    auto store = Store::open(dir / "r.db");
    REQUIRE(store.has_value());
    NodeRecord rec;
    rec.identity.node.name = "n1";
    rec.identity.node.zone = "zone-a";
    rec.identity.node.labels = {{"tier", "it's \"quoted\""}};
    rec.identity.node.taints = {{"dedicated", "db", "NoSchedule"}};
    rec.identity.agent_version = "0.1.0";
    rec.first_seen_ms = 10;
    rec.last_report_ms = 20;
    Pod p;
    p.uid = "u1";
    p.namespace_ = "shop";
    p.name = "web-1";
    p.node_name = "n1";
    p.ready = true;
    p.phase = PodPhase::kRunning;
    p.owners = {{"ReplicaSet", "web-abc", "", true, false}, {"Deployment", "web", "", true, true}};
    Pod gone = p;
    gone.uid = "u2";
    REQUIRE((*store)->begin().has_value());
    REQUIRE((*store)->upsertNode(rec).has_value());
    REQUIRE((*store)->upsertPod(p, 30).has_value());
    REQUIRE((*store)->upsertPod(gone, 30).has_value());
    REQUIRE((*store)->deletePod("u2").has_value());
    REQUIRE((*store)->recordEvent({30, "n1", "full", 1, 2, 0, ""}).has_value());
    REQUIRE((*store)->recordEvent({5, "n1", "hello", 0, 0, 0, ""}).has_value());
    REQUIRE((*store)->commit().has_value());
    auto pruned = (*store)->pruneEvents(10);
    REQUIRE(pruned.has_value());
    CHECK(*pruned == 1);
  }
  auto store = Store::open(dir / "r.db");
  REQUIRE(store.has_value());
  auto nodes = (*store)->loadNodes();
  REQUIRE(nodes.has_value());
  REQUIRE(nodes->size() == 1);
  const auto& n = (*nodes)[0];
  CHECK(n.identity.node.zone == "zone-a");
  CHECK(n.identity.node.labels.at("tier") == "it's \"quoted\"");
  REQUIRE(n.identity.node.taints.size() == 1);
  CHECK(n.identity.node.taints[0].effect == "NoSchedule");
  REQUIRE(n.pods.size() == 1);
  const Pod& p = n.pods.at("u1");
  CHECK(p.ready);
  CHECK(p.owners.at(0).kind == "Deployment");  // the top of the chain is kept
  auto events = (*store)->events("n1", 10);
  REQUIRE(events.has_value());
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].kind == "full");
}
