// The alert sender's state, without I/O: which alerts fire, since when, and
// what each Alertmanager is still owed. The sender (alerts.h) feeds it the
// desired alerts of each report and the outcome of each POST, and persists
// what it reports changed. Times are wall-clock milliseconds passed in, so
// tests drive it with a fake clock.
//
// Delivery model (docs/alerts.md): every Alertmanager has its own queue of
// fingerprints; a queued fingerprint is sent with the alert's state at the
// time of sending, so the newest state per fingerprint wins. A firing alert
// is queued on start and again every `resend`; a resolution once. A failed
// POST (unreachable, 5xx) is retried after an exponential backoff; a 4xx
// answer drops the batch (counted). A full queue drops its oldest firing
// entry (it comes back with the next resend), or, holding only
// resolutions, the newcomer.
//
// Thread-safety: none; one thread owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "alerts/alert_rules.h"

namespace rampart::aggregator {

struct AlertState {
  std::string fingerprint;
  std::string finding_key;
  AlertLabels labels;
  AlertLabels annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;      // 0 while firing; the resolution time once resolved
  int64_t last_sent_ms = 0;    // last delivery to any Alertmanager; 0: never
  int64_t last_queued_ms = 0;  // last time queued for every Alertmanager (resend schedule)
  bool firing() const { return ends_at_ms == 0; }
};

// What one POST carries: the alert as sent.
struct AlertPayload {
  AlertLabels labels;
  AlertLabels annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;  // firing: now + 4 x resend
};

struct AlertBatch {
  size_t alertmanager = 0;
  std::vector<std::pair<std::string, uint64_t>> entries;  // fingerprint, queue sequence
  std::vector<AlertPayload> alerts;                       // same order as entries
};

struct AlertBookOptions {
  std::chrono::milliseconds resend{60000};
  size_t max_queue = 10000;  // fingerprints per Alertmanager
  size_t max_batch = 500;    // alerts per POST
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

// The delay before retry number `failures` (1 = after the first failure):
// initial x 2^(failures-1), at most `max`.
std::chrono::milliseconds backoffDelay(int failures, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max);

enum class SendOutcome { kDelivered, kRetry, kRejected };

class AlertBook {
 public:
  AlertBook(AlertBookOptions options, size_t alertmanagers);

  // Loads a persisted alert; `pending` = indices of the Alertmanagers still
  // owed its state (they get it queued again).
  void restore(AlertState state, const std::vector<size_t>& pending);

  // Diffs the desired alerts with the state at `now_ms`: new ones start
  // firing and are queued; firing ones absent from `desired` are resolved and
  // queued, unless `partial` (a report that may miss findings resolves
  // nothing); kept ones take the new annotations (sent with the next resend).
  // Returns the fingerprints whose persisted state changed.
  std::set<std::string> apply(std::vector<DesiredAlert> desired, bool partial, int64_t now_ms);

  // Queues the firing alerts last queued `resend` or more ago.
  std::set<std::string> resendDue(int64_t now_ms);

  // A batch for each Alertmanager that has queued alerts, no POST in flight
  // and no backoff pending at `now_ms`.
  std::vector<AlertBatch> takeDue(int64_t now_ms);

  // The outcome of a batch from takeDue. Returns the fingerprints whose
  // persisted state changed (delivery time, pending set, forgotten).
  std::set<std::string> finish(const AlertBatch& batch, SendOutcome outcome, int64_t now_ms);

  // When something next becomes due (a retry or a resend); INT64_MAX: never.
  int64_t nextDueMs() const;

  // nullptr once forgotten (a resolution delivered everywhere).
  const AlertState* find(const std::string& fingerprint) const;
  // The Alertmanagers still owed this fingerprint's state.
  std::vector<size_t> pending(const std::string& fingerprint) const;

  // A resolved alert no Alertmanager is owed any more: persist it, then
  // forget() it.
  bool done(const std::string& fingerprint) const;
  void forget(const std::string& fingerprint);

  size_t firing() const;
  size_t queueLength(size_t alertmanager) const { return ams_[alertmanager].queue.size(); }
  int failures(size_t alertmanager) const { return ams_[alertmanager].failures; }
  // Alerts dropped so far by full queues and 4xx answers.
  uint64_t dropped() const { return dropped_; }
  const std::map<std::string, AlertState>& alerts() const { return alerts_; }

 private:
  struct Queue {
    std::map<std::string, uint64_t> queue;  // fingerprint -> sequence
    std::map<uint64_t, std::string> order;  // sequence -> fingerprint, oldest first
    bool in_flight = false;
    int failures = 0;
    int64_t next_attempt_ms = 0;
  };

  void enqueue(const std::string& fingerprint, std::set<std::string>& changed);
  void enqueueOne(size_t am, const std::string& fingerprint, std::set<std::string>& changed);
  void removeEntry(Queue& q, const std::string& fingerprint);

  AlertBookOptions options_;
  std::vector<Queue> ams_;
  std::map<std::string, AlertState> alerts_;
  uint64_t next_seq_ = 1;
  uint64_t dropped_ = 0;
};

}  // namespace rampart::aggregator
