#include "state/findings_history.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "rampart/engine_json.h"
#include "rampart/finding_key.h"

namespace rampart::aggregator {

Result<std::unique_ptr<FindingsHistory>> FindingsHistory::open(
    const std::filesystem::path& db, Logger log, std::shared_ptr<WriteGate> write_gate) {
  auto store = Store::open(db, std::move(write_gate));
  if (!store) return std::unexpected(store.error());
  std::unique_ptr<FindingsHistory> h(new FindingsHistory(std::move(*store), std::move(log)));
  if (auto r = h->load(); !r) return std::unexpected(r.error());
  return h;
}

FindingsHistory::FindingsHistory(std::unique_ptr<Store> store, Logger log)
    : store_(std::move(store)), log_(std::move(log)) {}

Result<void> FindingsHistory::load() {
  auto prep = [&](Statement& out, const char* sql) -> Result<void> {
    auto s = store_->prepare(sql);
    if (!s) return std::unexpected(s.error());
    out = std::move(*s);
    return {};
  };
  // A key seen again after it resolved starts a new occurrence (first_seen).
  if (auto r = prep(insert_,
                    "INSERT INTO findings(key,check_id,severity,subject,workload,node,zone,"
                    "message,first_seen_ms,last_seen_ms,resolved_ms,detail) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,NULL,?10) ON CONFLICT(key) DO UPDATE "
                    "SET severity=?3,message=?8,last_seen_ms=?9,detail=?10,"
                    "first_seen_ms=CASE WHEN resolved_ms IS NULL THEN first_seen_ms ELSE ?9 END,"
                    "resolved_ms=NULL");
      !r) {
    return r;
  }
  if (auto r = prep(touch_, "UPDATE findings SET last_seen_ms=?2 WHERE key=?1"); !r) return r;
  if (auto r = prep(resolve_, "UPDATE findings SET last_seen_ms=?2, resolved_ms=?3 WHERE key=?1");
      !r) {
    return r;
  }
  auto q = store_->prepare(
      "SELECT key,severity,message,first_seen_ms,last_seen_ms FROM findings "
      "WHERE resolved_ms IS NULL");
  if (!q) return std::unexpected(q.error());
  for (;;) {
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    Active a;
    a.severity = q->text(1);
    a.message = q->text(2);
    a.first_seen_ms = q->integer(3);
    a.written_ms = a.seen_ms = q->integer(4);
    active_.emplace(q->text(0), std::move(a));
  }
  return {};
}

void FindingsHistory::update(const engine::Report& report, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto r = write(report, now_ms); !r) {
    log_->warn("findings history: {} (kept in memory; retried at the next evaluation)",
               r.error().message);
  }
}

Result<void> FindingsHistory::write(const engine::Report& report, int64_t now_ms) {
  if (auto r = store_->begin(); !r) return r;
  auto rollback = [&](Error e) -> Result<void> {
    store_->rollback();
    return std::unexpected(std::move(e));
  };
  std::set<std::string> seen;
  std::map<std::string, Active> next;
  for (const engine::Finding& f : report.findings) {
    std::string key = engine::findingKey(f);
    if (!seen.insert(key).second) continue;  // the same key twice: the first (worst) wins
    std::string severity(engine::severityName(f.severity));
    auto it = active_.find(key);
    if (it == active_.end() || it->second.severity != severity || it->second.message != f.message) {
      nlohmann::json detail = {{"remediation", f.remediation}, {"runbook", f.runbook}};
      auto r = insert_.bind(1, key)
                   .bind(2, f.check)
                   .bind(3, severity)
                   .bind(4, f.subject.str())
                   .bind(5, f.workload ? f.workload->str() : std::string())
                   .bind(6, f.node)
                   .bind(7, f.zone)
                   .bind(8, f.message)
                   .bind(9, now_ms)
                   .bind(10, detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                   .run();
      if (!r) return rollback(r.error());
      if (it == active_.end()) {
        logFields(log_, spdlog::level::debug, engine::findingLogFields(f),
                  "findings history: {} opened", key);
      }
      Active a;
      a.severity = std::move(severity);
      a.message = f.message;
      a.first_seen_ms = it == active_.end() ? now_ms : it->second.first_seen_ms;
      a.written_ms = a.seen_ms = now_ms;
      next.emplace(std::move(key), std::move(a));
      continue;
    }
    Active a = std::move(it->second);
    a.seen_ms = now_ms;
    if (now_ms - a.written_ms >= kLastSeenEveryMs) {
      if (auto r = touch_.bind(1, key).bind(2, now_ms).run(); !r) return rollback(r.error());
      a.written_ms = now_ms;
    }
    next.emplace(std::move(key), std::move(a));
  }
  for (const auto& [key, a] : active_) {
    if (next.contains(key)) continue;
    if (auto r = resolve_.bind(1, key).bind(2, a.seen_ms).bind(3, now_ms).run(); !r) {
      return rollback(r.error());
    }
    logFields(log_, spdlog::level::debug, engine::findingKeyLogFields(key),
              "findings history: {} resolved", key);
  }
  if (auto r = store_->commit(); !r) return r;  // rolled back
  active_ = std::move(next);
  return {};
}

std::optional<int64_t> FindingsHistory::firstSeen(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = active_.find(key);
  if (it == active_.end()) return std::nullopt;
  return it->second.first_seen_ms;
}

size_t FindingsHistory::activeCount() const {
  std::lock_guard lock(mu_);
  return active_.size();
}

Result<std::vector<FindingRecord>> FindingsHistory::query(const HistoryQuery& q) const {
  std::lock_guard lock(mu_);
  std::string sql =
      "SELECT key,check_id,severity,subject,workload,node,zone,message,first_seen_ms,"
      "last_seen_ms,resolved_ms FROM findings WHERE substr(check_id,1,length(?1))=?1";
  if (q.active) sql += *q.active ? " AND resolved_ms IS NULL" : " AND resolved_ms IS NOT NULL";
  sql += " ORDER BY first_seen_ms DESC, key LIMIT ?2";
  auto st = store_->prepare(sql);
  if (!st) return std::unexpected(st.error());
  st->bind(1, q.check_prefix).bind(2, int64_t{q.limit});
  std::vector<FindingRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    FindingRecord r;
    r.key = st->text(0);
    r.check = st->text(1);
    r.severity = st->text(2);
    r.subject = st->text(3);
    r.workload = st->text(4);
    r.node = st->text(5);
    r.zone = st->text(6);
    r.message = st->text(7);
    r.first_seen_ms = st->integer(8);
    r.last_seen_ms = st->integer(9);
    if (!st->isNull(10)) r.resolved_ms = st->integer(10);
    out.push_back(std::move(r));
  }
  return out;
}

std::string historyJson(const std::vector<FindingRecord>& records) {
  using json = nlohmann::ordered_json;
  auto time = [](int64_t ms) { return formatRfc3339(ms / 1000); };
  json list = json::array();
  for (const FindingRecord& r : records) {
    list.push_back({{"key", r.key},
                    {"check", r.check},
                    {"severity", r.severity},
                    {"subject", r.subject},
                    {"workload", r.workload.empty() ? json(nullptr) : json(r.workload)},
                    {"node", r.node},
                    {"zone", r.zone},
                    {"message", r.message},
                    {"first_seen", time(r.first_seen_ms)},
                    {"last_seen", time(r.last_seen_ms)},
                    {"resolved", r.resolved_ms ? json(time(*r.resolved_ms)) : json(nullptr)}});
  }
  return json{{"findings", std::move(list)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace rampart::aggregator

namespace rampart::aggregator {

HistoryReply historyReply(const FindingsHistory& history,
                          const std::map<std::string, std::string>& params) {
  auto bad = [](const std::string& why) {
    return HistoryReply{400, nlohmann::json{{"error", why}}.dump(
                                 -1, ' ', false, nlohmann::json::error_handler_t::replace)};
  };
  HistoryQuery q;
  for (const auto& [k, v] : params) {
    if (k == "check") {
      q.check_prefix = v;
    } else if (k == "active") {
      if (v != "true" && v != "false") return bad("active must be true or false");
      q.active = v == "true";
    } else if (k == "limit") {
      int n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 10000) {
        return bad("limit must be an integer from 1 to 10000");
      }
      q.limit = n;
    } else {
      return bad("unknown parameter " + k + " (check, active, limit)");
    }
  }
  auto records = history.query(q);
  if (!records) return {500, nlohmann::json{{"error", records.error().message}}.dump()};
  return {200, historyJson(*records)};
}

}  // namespace rampart::aggregator
