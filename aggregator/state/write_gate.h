// One writer at a time, first come first served, among the aggregator's
// SQLite connections to the same file (ingest, findings history, hooks,
// alerts: docs/storage.md, "Writers"). SQLite's own busy handler polls with
// sleeps of up to 100 ms: a connection that commits and begins again at once
// (ingest under load, one transaction per poll cycle) takes the lock back
// every time, and the others fail with "database is locked" after the busy
// timeout. Thread-safe; made once in runAggregator() and shared.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace rampart::aggregator {

class WriteGate {
 public:
  // Blocks until every earlier acquire() has been released.
  void acquire() {
    std::unique_lock lock(mu_);
    const uint64_t ticket = next_++;
    turn_.wait(lock, [&] { return serving_ == ticket; });
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      ++serving_;
    }
    turn_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable turn_;
  uint64_t next_ = 0;     // guarded by mu_
  uint64_t serving_ = 0;  // guarded by mu_
};

}  // namespace rampart::aggregator
