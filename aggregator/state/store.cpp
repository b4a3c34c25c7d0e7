#include "state/store.h"

#include <nlohmann/json.hpp>

namespace rampart::aggregator {
namespace {

// Append-only: migration N brings user_version from N-1 to N. Never edit one
// that has shipped; add the next.
constexpr const char* kMigrations[] = {
    // 1: nodes, pods, report history.
    R"sql(
CREATE TABLE nodes (
  name            TEXT PRIMARY KEY,
  uid             TEXT NOT NULL,
  zone            TEXT NOT NULL,
  region          TEXT NOT NULL,
  control_plane   INTEGER NOT NULL,
  unschedulable   INTEGER NOT NULL,
  kubelet_version TEXT NOT NULL,
  agent_version   TEXT NOT NULL,
  boot_id         TEXT NOT NULL,
  labels          TEXT NOT NULL,  -- JSON object
  taints          TEXT NOT NULL,  -- JSON array of {key,value,effect}
  first_seen_ms   INTEGER NOT NULL,
  last_report_ms  INTEGER NOT NULL
);
CREATE TABLE pods (
  uid         TEXT PRIMARY KEY,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  node        TEXT NOT NULL,
  phase       INTEGER NOT NULL,  -- 0 Unknown 1 Pending 2 Running 3 Succeeded 4 Failed (frozen)
  ready       INTEGER NOT NULL,
  terminating INTEGER NOT NULL,
  owner_kind  TEXT NOT NULL,     -- the top of the owner chain, '' for bare pods
  owner_name  TEXT NOT NULL,
  restarts    INTEGER NOT NULL,  -- sum over containers
  labels      TEXT NOT NULL,     -- JSON object
  updated_ms  INTEGER NOT NULL
);
CREATE INDEX pods_by_node ON pods(node);
CREATE TABLE report_events (
  id            INTEGER PRIMARY KEY,
  at_ms         INTEGER NOT NULL,
  node          TEXT NOT NULL,
  kind          TEXT NOT NULL,   -- hello | full | delta | resync | rejected
  sequence      INTEGER NOT NULL,
  pods_upserted INTEGER NOT NULL,
  pods_removed  INTEGER NOT NULL,
  detail        TEXT NOT NULL
);
CREATE INDEX report_events_by_time ON report_events(at_ms);
CREATE INDEX report_events_by_node ON report_events(node, at_ms);
)sql",
    // 2: finding history, alert state, hook runs (docs/storage.md). Each row carries a
    // JSON `detail` for fields that are not queried.
    R"sql(
CREATE TABLE findings (
  key           TEXT PRIMARY KEY,  -- rampart/finding_key.h
  check_id      TEXT NOT NULL,
  severity      TEXT NOT NULL,
  subject       TEXT NOT NULL,     -- ObjectRef::str()
  workload      TEXT NOT NULL,     -- '' when none
  node          TEXT NOT NULL,
  zone          TEXT NOT NULL,
  message       TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  resolved_ms   INTEGER,           -- NULL while active
  detail        TEXT NOT NULL      -- JSON
);
CREATE INDEX findings_active ON findings(resolved_ms);
CREATE TABLE alerts (
  fingerprint   TEXT PRIMARY KEY,  -- of the label set
  alertname     TEXT NOT NULL,
  finding_key   TEXT NOT NULL,
  labels        TEXT NOT NULL,     -- JSON object
  annotations   TEXT NOT NULL,     -- JSON object
  starts_at_ms  INTEGER NOT NULL,
  ends_at_ms    INTEGER,           -- set once resolved
  last_sent_ms  INTEGER NOT NULL,  -- 0: never delivered
  state         TEXT NOT NULL,     -- firing | resolved (delivered or still queued: see detail)
  detail        TEXT NOT NULL      -- JSON
);
CREATE TABLE hook_runs (
  id            INTEGER PRIMARY KEY,
  hook          TEXT NOT NULL,
  finding_key   TEXT NOT NULL,
  check_id      TEXT NOT NULL,
  started_ms    INTEGER NOT NULL,
  ended_ms      INTEGER,           -- NULL while running (or the aggregator died)
  exit_code     INTEGER,           -- NULL when killed by a signal
  signal        INTEGER,
  timed_out     INTEGER NOT NULL,
  dry_run       INTEGER NOT NULL,
  output        TEXT NOT NULL,     -- stdout+stderr, truncated
  detail        TEXT NOT NULL      -- JSON
);
CREATE INDEX hook_runs_by_finding ON hook_runs(hook, finding_key, started_ms);
)sql",
};

Error sqlError(sqlite3* db, const std::string& what) {
  return Error{ErrorCode::kStore, what + ": " + sqlite3_errmsg(db)};
}

std::string labelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Labels labelsFromJson(const std::string& text) {
  Labels out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
    }
  }
  return out;
}

}  // namespace

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(sqlError(db_, "sqlite3_step"));
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<void> Statement::run() {
  auto r = step();
  reset();
  if (!r) return std::unexpected(r.error());
  return {};
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p == nullptr ? ""
                      : std::string(reinterpret_cast<const char*>(p),
                                    static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& path,
                                           std::shared_ptr<WriteGate> gate) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(ErrorCode::kStore, "cannot open " + path.string() + ": " + msg);
  }
  if (gate == nullptr) gate = std::make_shared<WriteGate>();
  std::unique_ptr<Store> store(new Store(db, std::move(gate)));
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (auto r = store->exec(pragma); !r) return std::unexpected(r.error());
  }
  if (auto r = store->migrate(); !r) return std::unexpected(r.error());
  auto prep = [&](Statement& out, const char* sql) -> Result<void> {
    auto s = store->prepare(sql);
    if (!s) return std::unexpected(s.error());
    out = std::move(*s);
    return {};
  };
  for (auto r : {prep(store->upsert_node_,
                      "INSERT INTO nodes(name,uid,zone,region,control_plane,unschedulable,"
                      "kubelet_version,agent_version,boot_id,labels,taints,first_seen_ms,"
                      "last_report_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13) "
                      "ON CONFLICT(name) DO UPDATE SET uid=?2,zone=?3,region=?4,"
                      "control_plane=?5,unschedulable=?6,kubelet_version=?7,agent_version=?8,"
                      "boot_id=?9,labels=?10,taints=?11,last_report_ms=?13"),
                 prep(store->upsert_pod_,
                      "INSERT INTO pods(uid,namespace,name,node,phase,ready,terminating,owner_kind,"
                      "owner_name,restarts,labels,updated_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
                      "?10,?11,?12) ON CONFLICT(uid) DO UPDATE SET namespace=?2,name=?3,node=?4,"
                      "phase=?5,ready=?6,terminating=?7,owner_kind=?8,owner_name=?9,restarts=?10,"
                      "labels=?11,updated_ms=?12"),
                 prep(store->delete_pod_, "DELETE FROM pods WHERE uid=?1"),
                 prep(store->insert_event_,
                      "INSERT INTO report_events(at_ms,node,kind,sequence,pods_upserted,"
                      "pods_removed,detail) VALUES(?1,?2,?3,?4,?5,?6,?7)")}) {
    if (!r) return std::unexpected(r.error());
  }
  return store;
}

Store::~Store() {
  if (in_transaction_) rollback();
  upsert_node_ = Statement();
  upsert_pod_ = Statement();
  delete_pod_ = Statement();
  insert_event_ = Statement();
  sqlite3_close(db_);
}

Result<void> Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return fail(ErrorCode::kStore, msg + " in: " + sql.substr(0, 60));
  }
  return {};
}

Result<Statement> Store::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return std::unexpected(sqlError(db_, "prepare"));
  }
  return Statement(db_, stmt);
}

int Store::schemaVersion() const {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr);
  int v = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  return v;
}

Result<void> Store::migrate() {
  int have = schemaVersion();
  constexpr int kKnown = static_cast<int>(std::size(kMigrations));
  static_assert(kKnown == kSchemaVersion);
  if (have > kKnown) {
    return fail(ErrorCode::kStore, "database schema version " + std::to_string(have) +
                                       " is newer than this build knows (" +
                                       std::to_string(kKnown) + "); refusing to touch it");
  }
  for (int v = have; v < kKnown; ++v) {
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
    auto r = exec(kMigrations[v]);
    if (r) r = exec("PRAGMA user_version=" + std::to_string(v + 1));
    if (!r) {
      exec("ROLLBACK");
      return fail(ErrorCode::kStore,
                  "migration " + std::to_string(v + 1) + " failed: " + r.error().message);
    }
    if (auto c = exec("COMMIT"); !c) return c;
  }
  return {};
}

Result<void> Store::begin() {
  gate_->acquire();
  if (auto r = exec("BEGIN IMMEDIATE"); !r) {
    gate_->release();
    return r;
  }
  in_transaction_ = true;
  return {};
}

Result<void> Store::commit() {
  auto r = exec("COMMIT");
  if (!r) (void)exec("ROLLBACK");  // a failed COMMIT would keep the write lock
  in_transaction_ = false;
  gate_->release();
  return r;
}

void Store::rollback() {
  (void)exec("ROLLBACK");
  in_transaction_ = false;
  gate_->release();
}

Result<void> Store::upsertNode(const NodeRecord& rec) {
  const Node& n = rec.identity.node;
  nlohmann::json taints = nlohmann::json::array();
  for (const auto& t : n.taints) {
    taints.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
  }
  return upsert_node_.bind(1, n.name)
      .bind(2, n.uid)
      .bind(3, n.zone)
      .bind(4, n.region)
      .bind(5, int64_t{n.control_plane})
      .bind(6, int64_t{n.unschedulable})
      .bind(7, n.kubelet_version)
      .bind(8, rec.identity.agent_version)
      .bind(9, rec.identity.boot_id)
      .bind(10, labelsJson(n.labels))
      .bind(11, taints.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .bind(12, rec.first_seen_ms)
      .bind(13, rec.last_report_ms)
      .run();
}

Result<void> Store::upsertPod(const Pod& pod, int64_t now_ms) {
  int64_t restarts = 0;
  for (const auto& c : pod.containers) restarts += c.restart_count;
  const OwnerRef* top = pod.owners.empty() ? nullptr : &pod.owners.back();
  return upsert_pod_.bind(1, pod.uid)
      .bind(2, pod.namespace_)
      .bind(3, pod.name)
      .bind(4, pod.node_name)
      .bind(5, static_cast<int64_t>(pod.phase))
      .bind(6, int64_t{pod.ready})
      .bind(7, int64_t{pod.terminating})
      .bind(8, top != nullptr ? top->kind : "")
      .bind(9, top != nullptr ? top->name : "")
      .bind(10, restarts)
      .bind(11, labelsJson(pod.labels))
      .bind(12, now_ms)
      .run();
}

Result<void> Store::deletePod(const std::string& uid) {
  return delete_pod_.bind(1, uid).run();
}

Result<void> Store::deleteNode(const std::string& name) {
  for (const char* sql : {"DELETE FROM pods WHERE node=?1", "DELETE FROM nodes WHERE name=?1"}) {
    auto s = prepare(sql);
    if (!s) return std::unexpected(s.error());
    if (auto r = s->bind(1, name).run(); !r) return r;
  }
  return {};
}

Result<void> Store::recordEvent(const ReportEvent& e) {
  return insert_event_.bind(1, e.at_ms)
      .bind(2, e.node)
      .bind(3, e.kind)
      .bind(4, e.sequence)
      .bind(5, e.pods_upserted)
      .bind(6, e.pods_removed)
      .bind(7, e.detail)
      .run();
}

Result<int64_t> Store::pruneEvents(int64_t min_at_ms) {
  auto s = prepare("DELETE FROM report_events WHERE at_ms < ?1");
  if (!s) return std::unexpected(s.error());
  if (auto r = s->bind(1, min_at_ms).run(); !r) return std::unexpected(r.error());
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Result<std::vector<NodeRecord>> Store::loadNodes() {
  std::map<std::string, NodeRecord> by_name;
  auto s = prepare(
      "SELECT name,uid,zone,region,control_plane,unschedulable,kubelet_version,agent_version,"
      "boot_id,labels,taints,first_seen_ms,last_report_ms FROM nodes ORDER BY name");
  if (!s) return std::unexpected(s.error());
  while (true) {
    auto row = s->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    NodeRecord rec;
    Node& n = rec.identity.node;
    n.name = s->text(0);
    n.uid = s->text(1);
    n.zone = s->text(2);
    n.region = s->text(3);
    n.control_plane = s->integer(4) != 0;
    n.unschedulable = s->integer(5) != 0;
    n.kubelet_version = s->text(6);
    rec.identity.agent_version = s->text(7);
    rec.identity.boot_id = s->text(8);
    n.labels = labelsFromJson(s->text(9));
    auto taints = nlohmann::json::parse(s->text(10), nullptr, false);
    if (taints.is_array()) {
      for (const auto& t : taints) {
        n.taints.push_back(Taint{t.value("key", ""), t.value("value", ""), t.value("effect", "")});
      }
    }
    rec.first_seen_ms = s->integer(11);
    rec.last_report_ms = s->integer(12);
    by_name[n.name] = std::move(rec);
  }
  auto p = prepare(
      "SELECT uid,namespace,name,node,phase,ready,terminating,owner_kind,owner_name,labels "
      "FROM pods ORDER BY uid");
  if (!p) return std::unexpected(p.error());
  while (true) {
    auto row = p->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    Pod pod;
    pod.uid = p->text(0);
    pod.namespace_ = p->text(1);
    pod.name = p->text(2);
    pod.node_name = p->text(3);
    int64_t phase = p->integer(4);
    pod.phase = phase >= 0 && phase <= 4 ? static_cast<PodPhase>(phase) : PodPhase::kUnknown;
    pod.ready = p->integer(5) != 0;
    pod.terminating = p->integer(6) != 0;
    if (!p->text(7).empty())
      pod.owners.push_back(OwnerRef{p->text(7), p->text(8), "", true, false});
    pod.labels = labelsFromJson(p->text(9));
    auto it = by_name.find(pod.node_name);
    if (it != by_name.end()) it->second.pods.emplace(pod.uid, std::move(pod));
  }
  std::vector<NodeRecord> out;
  out.reserve(by_name.size());
  for (auto& [name, rec] : by_name) out.push_back(std::move(rec));
  return out;
}

Result<std::vector<ReportEvent>> Store::events(const std::string& node, int limit) {
  auto s = prepare(
      "SELECT at_ms,node,kind,sequence,pods_upserted,pods_removed,detail FROM report_events "
      "WHERE ?1 = '' OR node = ?1 ORDER BY id DESC LIMIT ?2");
  if (!s) return std::unexpected(s.error());
  s->bind(1, node).bind(2, int64_t{limit});
  std::vector<ReportEvent> out;
  while (true) {
    auto row = s->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(ReportEvent{s->integer(0), s->text(1), s->text(2), s->integer(3), s->integer(4),
                              s->integer(5), s->text(6)});
  }
  return out;
}

}  // namespace rampart::aggregator
