#include "alerts/alert_book.h"

#include <algorithm>
#include <climits>

namespace rampart::aggregator {

std::chrono::milliseconds backoffDelay(int failures, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max) {
  if (failures <= 0) return std::chrono::milliseconds(0);
  auto delay = initial;
  for (int i = 1; i < failures && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

AlertBook::AlertBook(AlertBookOptions options, size_t alertmanagers)
    : options_(options), ams_(alertmanagers) {}

void AlertBook::restore(AlertState state, const std::vector<size_t>& pending) {
  std::string fp = state.fingerprint;
  alerts_[fp] = std::move(state);
  std::set<std::string> ignored;
  for (size_t am : pending) {
    if (am < ams_.size()) enqueueOne(am, fp, ignored);
  }
}

std::set<std::string> AlertBook::apply(std::vector<DesiredAlert> desired, bool partial,
                                       int64_t now_ms) {
  std::set<std::string> changed;
  std::set<std::string> wanted;
  for (auto& d : desired) {
    wanted.insert(d.fingerprint);
    auto it = alerts_.find(d.fingerprint);
    if (it != alerts_.end() && it->second.firing()) {
      // Still firing: newer annotations go out with the next resend.
      it->second.annotations = std::move(d.annotations);
      it->second.finding_key = std::move(d.finding_key);
      continue;
    }
    AlertState& a = alerts_[d.fingerprint];
    a.fingerprint = d.fingerprint;
    a.finding_key = std::move(d.finding_key);
    a.labels = std::move(d.labels);
    a.annotations = std::move(d.annotations);
    a.starts_at_ms = now_ms;
    a.ends_at_ms = 0;
    a.last_queued_ms = now_ms;
    changed.insert(a.fingerprint);
    enqueue(a.fingerprint, changed);
  }
  if (!partial) {
    // Resolve all first, then queue: a full queue then prefers dropping
    // entries that are still firing over these resolutions.
    std::vector<std::string> resolved;
    for (auto& [fp, a] : alerts_) {
      if (!a.firing() || wanted.contains(fp)) continue;
      a.ends_at_ms = std::max(now_ms, a.starts_at_ms);
      a.last_queued_ms = now_ms;
      resolved.push_back(fp);
    }
    for (const auto& fp : resolved) {
      changed.insert(fp);
      enqueue(fp, changed);
    }
  }
  return changed;
}

std::set<std::string> AlertBook::resendDue(int64_t now_ms) {
  std::set<std::string> changed;
  const int64_t resend = options_.resend.count();
  for (auto& [fp, a] : alerts_) {
    if (!a.firing() || now_ms - a.last_queued_ms < resend) continue;
    a.last_queued_ms = now_ms;
    changed.insert(fp);
    enqueue(fp, changed);
  }
  return changed;
}

std::vector<AlertBatch> AlertBook::takeDue(int64_t now_ms) {
  std::vector<AlertBatch> out;
  const int64_t ahead = 4 * options_.resend.count();
  for (size_t i = 0; i < ams_.size(); ++i) {
    Queue& q = ams_[i];
    if (q.in_flight || q.queue.empty() || now_ms < q.next_attempt_ms) continue;
    AlertBatch batch;
    batch.alertmanager = i;
    for (const auto& [seq, fp] : q.order) {
      if (batch.entries.size() >= options_.max_batch) break;
      auto it = alerts_.find(fp);
      if (it == alerts_.end()) continue;  // cannot happen: queued alerts are kept
      const AlertState& a = it->second;
      batch.entries.emplace_back(fp, seq);
      batch.alerts.push_back(AlertPayload{a.labels, a.annotations, a.starts_at_ms,
                                          a.firing() ? now_ms + ahead : a.ends_at_ms});
    }
    if (batch.entries.empty()) continue;
    q.in_flight = true;
    out.push_back(std::move(batch));
  }
  return out;
}

std::set<std::string> AlertBook::finish(const AlertBatch& batch, SendOutcome outcome,
                                        int64_t now_ms) {
  std::set<std::string> changed;
  Queue& q = ams_[batch.alertmanager];
  q.in_flight = false;
  if (outcome == SendOutcome::kRetry) {
    ++q.failures;
    q.next_attempt_ms =
        now_ms + backoffDelay(q.failures, options_.backoff_initial, options_.backoff_max).count();
    return changed;
  }
  if (outcome == SendOutcome::kDelivered) {
    q.failures = 0;
    q.next_attempt_ms = 0;
  } else {
    // A 4xx: the same payload would be refused again. Back off all the same,
    // so that a misconfigured URL is not hammered.
    ++q.failures;
    q.next_attempt_ms =
        now_ms + backoffDelay(q.failures, options_.backoff_initial, options_.backoff_max).count();
  }
  for (const auto& [fp, seq] : batch.entries) {
    auto it = q.queue.find(fp);
    // A newer state queued while the POST was in flight stays queued.
    if (it != q.queue.end() && it->second == seq) removeEntry(q, fp);
    if (outcome == SendOutcome::kRejected) ++dropped_;
    if (auto a = alerts_.find(fp); a != alerts_.end() && outcome == SendOutcome::kDelivered) {
      a->second.last_sent_ms = now_ms;
    }
    changed.insert(fp);
  }
  return changed;
}

int64_t AlertBook::nextDueMs() const {
  int64_t next = INT64_MAX;
  for (const auto& q : ams_) {
    if (!q.in_flight && !q.queue.empty()) next = std::min(next, q.next_attempt_ms);
  }
  const int64_t resend = options_.resend.count();
  for (const auto& [fp, a] : alerts_) {
    if (a.firing()) next = std::min(next, a.last_queued_ms + resend);
  }
  return next;
}

const AlertState* AlertBook::find(const std::string& fingerprint) const {
  auto it = alerts_.find(fingerprint);
  return it == alerts_.end() ? nullptr : &it->second;
}

std::vector<size_t> AlertBook::pending(const std::string& fingerprint) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < ams_.size(); ++i) {
    if (ams_[i].queue.contains(fingerprint)) out.push_back(i);
  }
  return out;
}

bool AlertBook::done(const std::string& fingerprint) const {
  auto it = alerts_.find(fingerprint);
  return it != alerts_.end() && !it->second.firing() && pending(fingerprint).empty();
}

void AlertBook::forget(const std::string& fingerprint) {
  if (done(fingerprint)) alerts_.erase(fingerprint);
}

size_t AlertBook::firing() const {
  return static_cast<size_t>(std::count_if(alerts_.begin(), alerts_.end(),
                                           [](const auto& e) { return e.second.firing(); }));
}

void AlertBook::enqueue(const std::string& fingerprint, std::set<std::string>& changed) {
  for (size_t i = 0; i < ams_.size(); ++i) enqueueOne(i, fingerprint, changed);
}

void AlertBook::enqueueOne(size_t am, const std::string& fingerprint,
                           std::set<std::string>& changed) {
  Queue& q = ams_[am];
  if (auto it = q.queue.find(fingerprint); it != q.queue.end()) {
    // Newest state wins: one entry per fingerprint, moved to the back.
    q.order.erase(it->second);
    it->second = next_seq_++;
    q.order.emplace(it->second, fingerprint);
    return;
  }
  if (q.queue.size() >= std::max<size_t>(options_.max_queue, 1)) {
    auto firing = [&](const std::string& fp) {
      auto a = alerts_.find(fp);
      return a != alerts_.end() && a->second.firing();
    };
    std::string victim;
    for (const auto& [seq, fp] : q.order) {
      if (firing(fp)) {
        victim = fp;
        break;
      }
    }
    if (victim.empty()) {
      // Only resolutions queued: keep them; a firing newcomer comes back with
      // the next resend.
      ++dropped_;
      return;
    }
    removeEntry(q, victim);
    ++dropped_;
    changed.insert(victim);
  }
  uint64_t seq = next_seq_++;
  q.queue.emplace(fingerprint, seq);
  q.order.emplace(seq, fingerprint);
}

void AlertBook::removeEntry(Queue& q, const std::string& fingerprint) {
  auto it = q.queue.find(fingerprint);
  if (it == q.queue.end()) return;
  q.order.erase(it->second);
  q.queue.erase(it);
}

}  // namespace rampart::aggregator
