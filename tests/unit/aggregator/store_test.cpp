#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "state/store.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using namespace std::chrono_literals;

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

TEST_CASE(
    "a write on another connection waits out an ingest transaction longer than the busy timeout") {
  // Ingest under load held one transaction for a whole poll cycle, which
  // could outlast SQLite's 5 s busy timeout: the findings history's, hooks'
  // and alerts' connections then failed with "database is locked". With the
  // process's write gate they wait their turn instead, however long.
  testing::TempDir dir;
  auto gate = std::make_shared<WriteGate>();
  auto ingest = Store::open(dir / "r.db", gate);
  auto history = Store::open(dir / "r.db", gate);
  REQUIRE(ingest.has_value());
  REQUIRE(history.has_value());
  REQUIRE((*ingest)->exec("CREATE TABLE load(x)").has_value());
  REQUIRE((*ingest)->exec("CREATE TABLE other(x)").has_value());
  std::atomic<bool> in_transaction{false};
  std::string ingest_error;
  std::thread load([&] {
    auto insert = (*ingest)->prepare("INSERT INTO load VALUES(?1)");
    REQUIRE(insert.has_value());
    if (auto r = (*ingest)->begin(); !r) {
      ingest_error = r.error().message;
      return;
    }
    in_transaction = true;
    // Real work for longer than the busy timeout (not a sleep: the load).
    const auto until = std::chrono::steady_clock::now() + 6s;
    for (int64_t i = 0; std::chrono::steady_clock::now() < until; ++i) {
      (void)insert->bind(1, i).run();
    }
    if (auto r = (*ingest)->commit(); !r) ingest_error = r.error().message;
  });
  REQUIRE(testing::waitUntil([&] { return in_transaction.load(); }, 10s));
  auto r = (*history)->begin();
  if (r) {
    r = (*history)->exec("INSERT INTO other VALUES(1)");
    if (r) {
      r = (*history)->commit();
    } else {
      (*history)->rollback();
    }
  }
  load.join();
  CHECK(ingest_error.empty());
  CHECK_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  auto count = (*history)->prepare("SELECT COUNT(*) FROM other");
  REQUIRE(count.has_value());
  REQUIRE(count->step().value_or(false));
  CHECK(count->integer(0) == 1);
}
