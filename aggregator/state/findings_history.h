// The findings' history in SQLite (table `findings`, docs/storage.md): when each
// finding (rampart/finding_key.h) was first seen, last seen and resolved. It
// survives a restart: a finding still active after one keeps its first-seen
// time.
//
// Thread-safety: update() on the engine runner's thread, the queries from the
// HTTP threads; one mutex.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rampart/engine.h"
#include "rampart/error.h"
#include "rampart/log.h"
#include "state/store.h"

namespace rampart::aggregator {

struct FindingRecord {
  std::string key;
  std::string check;
  std::string severity;
  std::string subject;   // ObjectRef::str()
  std::string workload;  // ObjectRef::str(), "" when none
  std::string node;
  std::string zone;
  std::string message;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::optional<int64_t> resolved_ms;
};

struct HistoryQuery {
  std::string check_prefix;  // "" = all
  std::optional<bool> active;
  int limit = 100;  // newest first (by first seen)
};

class FindingsHistory {
 public:
  // Opens its own connection to the aggregator's database and loads the
  // findings that were active when the aggregator stopped.
  // `write_gate`: the process's (store.h); null: its own.
  static Result<std::unique_ptr<FindingsHistory>> open(
      const std::filesystem::path& db, Logger log, std::shared_ptr<WriteGate> write_gate = nullptr);

  // Records one evaluation: new findings are inserted (a resolved one that
  // comes back starts a new occurrence), a changed message or severity is
  // updated, active findings missing from the report are resolved. last_seen
  // of unchanged active findings is written at most every `kLastSeenEveryMs`
  // (and on resolution). A SQLite error is logged; the next update retries.
  void update(const engine::Report& report, int64_t now_ms);

  // When the finding's current occurrence was first seen (active ones only).
  std::optional<int64_t> firstSeen(const std::string& key) const;
  size_t activeCount() const;
  Result<std::vector<FindingRecord>> query(const HistoryQuery& q) const;

  static constexpr int64_t kLastSeenEveryMs = 60'000;

 private:
  struct Active {
    std::string severity;
    std::string message;
    int64_t first_seen_ms = 0;
    int64_t written_ms = 0;  // last_seen as stored
    int64_t seen_ms = 0;     // last evaluation that had it
  };
  FindingsHistory(std::unique_ptr<Store> store, Logger log);
  Result<void> load();
  Result<void> write(const engine::Report& report, int64_t now_ms);

  mutable std::mutex mu_;
  std::unique_ptr<Store> store_;
  Logger log_;
  std::map<std::string, Active> active_;
  Statement insert_, touch_, resolve_;
};

// {"findings":[{key, check, severity, subject, workload, node, zone, message,
// first_seen, last_seen, resolved}]} with RFC 3339 times (resolved null while
// active); docs/api.md.
std::string historyJson(const std::vector<FindingRecord>& records);

// GET /api/v1/findings/history?check=PREFIX&active=true|false&limit=N
// (limit 1..10000, default 100): 400 with {"error":...} for a bad parameter.
struct HistoryReply {
  int status = 200;
  std::string body;
};
HistoryReply historyReply(const FindingsHistory& history,
                          const std::map<std::string, std::string>& params);

}  // namespace rampart::aggregator
