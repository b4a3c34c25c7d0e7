// The aggregator's SQLite store (WAL): nodes and pods as last reported, and a
// history of report events. Schema changes are numbered, append-only
// migrations tracked in PRAGMA user_version (docs/storage.md).
//
// Thread-safety: one thread at a time (the ingest thread writes; startup
// reads before it starts).
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "rampart/error.h"
#include "state/cluster_state.h"
#include "state/write_gate.h"

namespace rampart::aggregator {

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, int64_t value);
  // Runs to completion (for statements returning no rows) and resets.
  Result<void> run();
  // Steps once: true while a row is available.
  Result<bool> step();
  void reset();
  std::string text(int column) const;
  int64_t integer(int column) const;
  bool isNull(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

struct ReportEvent {
  int64_t at_ms = 0;
  std::string node;
  std::string kind;  // hello | full | delta | resync | rejected
  int64_t sequence = 0;
  int64_t pods_upserted = 0;
  int64_t pods_removed = 0;
  std::string detail;
};

class Store {
 public:
  // The schema version this build writes. Frozen history: see migrations in store.cpp.
  static constexpr int kSchemaVersion = 2;

  // `gate`: shared by every connection of the process to `path` (writes
  // take turns through it); null: a gate of this connection's own.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path,
                                             std::shared_ptr<WriteGate> gate = nullptr);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schemaVersion() const;

  // A write transaction: waits for the write gate, then BEGIN IMMEDIATE
  // (the SQLite write lock is taken at once, not on the first write). Every
  // begin() that succeeded ends with commit() or rollback(), which release
  // the gate; a failed COMMIT is rolled back (no transaction stays open).
  Result<void> begin();
  Result<void> commit();
  void rollback();

  // begin() for one scope: rolled back (the gate released) unless commit()
  // was called, whatever returns or throws in between. When begin() failed
  // the writes run on in autocommit mode and commit() is a no-op.
  class Transaction {
   public:
    explicit Transaction(Store& store) : store_(store), open_(store.begin().has_value()) {}
    ~Transaction() {
      if (open_) store_.rollback();
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Result<void> commit() {
      if (!open_) return {};
      open_ = false;
      return store_.commit();
    }

   private:
    Store& store_;
    bool open_;
  };

  Result<void> upsertNode(const NodeRecord& node);
  Result<void> upsertPod(const Pod& pod, int64_t now_ms);
  Result<void> deletePod(const std::string& uid);
  // The node and the pods its agent reported (a node that left the cluster).
  Result<void> deleteNode(const std::string& name);
  Result<void> recordEvent(const ReportEvent& event);
  // Deletes events older than `min_at_ms`; returns how many went.
  Result<int64_t> pruneEvents(int64_t min_at_ms);

  Result<std::vector<NodeRecord>> loadNodes();
  Result<std::vector<ReportEvent>> events(const std::string& node, int limit);

  // For modules that keep their own tables (findings history, alerts, hook
  // runs; created by the migrations here): raw SQL on this connection. A
  // module that runs on its own thread opens its own Store on the same file
  // (WAL, busy timeout 5 s).
  Result<void> exec(const std::string& sql);
  Result<Statement> prepare(const std::string& sql);

 private:
  Store(sqlite3* db, std::shared_ptr<WriteGate> gate) : db_(db), gate_(std::move(gate)) {}
  Result<void> migrate();

  sqlite3* db_ = nullptr;
  std::shared_ptr<WriteGate> gate_;
  bool in_transaction_ = false;
  Statement upsert_node_, upsert_pod_, delete_pod_, insert_event_;
};

}  // namespace rampart::aggregator
