#include "state/probe_state.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace rampart::aggregator {
namespace {

constexpr size_t kMaxName = 63;
constexpr size_t kMaxText = 1024;
constexpr double kMaxLatencyMs = 3600.0 * 1000.0;

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxName &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
         });
}

std::string printable(std::string_view s) {
  std::string out(s.substr(0, 40));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// What the engine judges of a result: everything but latency and time.
bool sameVerdict(const ProbeResult& a, const ProbeResult& b) {
  return a.name == b.name && a.kind == b.kind && a.target == b.target && a.ok == b.ok &&
         a.error == b.error && a.consecutive_failures == b.consecutive_failures;
}

}  // namespace

std::expected<ProbeResult, std::string> validateProbeResult(const ProbeResult& in) {
  if (!validName(in.name)) return std::unexpected("bad probe name \"" + printable(in.name) + "\"");
  if (in.kind == ProbeKind::kUnknown) return std::unexpected("unknown kind of probe " + in.name);
  if (!std::isfinite(in.latency_ms) || in.latency_ms < 0 || in.latency_ms > kMaxLatencyMs) {
    return std::unexpected("latency of probe " + in.name + " out of range");
  }
  if (in.error.size() > kMaxText || in.target.size() > kMaxText) {
    return std::unexpected("error or target of probe " + in.name + " longer than 1 KiB");
  }
  ProbeResult out = in;
  // The count is the agent's; health decides what it means.
  if (out.ok) out.consecutive_failures = 0;
  if (!out.ok && out.consecutive_failures == 0) out.consecutive_failures = 1;
  return out;
}

bool replaceProbeResults(std::vector<ProbeResult>& held, const std::vector<ProbeResult>& in,
                         std::vector<std::string>& dropped) {
  std::vector<ProbeResult> next;
  next.reserve(std::min(in.size(), kMaxProbesPerNode));
  std::set<std::string> names;
  for (const ProbeResult& r : in) {
    auto v = validateProbeResult(r);
    if (!v) {
      dropped.push_back(std::move(v.error()));
      continue;
    }
    if (!names.insert(v->name).second) {
      dropped.push_back("probe name " + v->name + " sent twice");
      continue;
    }
    if (next.size() >= kMaxProbesPerNode) {
      dropped.push_back("more than " + std::to_string(kMaxProbesPerNode) + " probes");
      continue;
    }
    next.push_back(std::move(*v));
  }
  bool changed = next.size() != held.size() ||
                 !std::equal(next.begin(), next.end(), held.begin(), sameVerdict);
  held = std::move(next);
  return changed;
}

std::map<std::string, bool> ReadinessFlaps::readinessBefore(
    const wire::Message& message, const std::map<std::string, Pod>* pods) {
  std::map<std::string, bool> out;
  const auto* report = std::get_if<wire::Report>(&message);
  if (report == nullptr || pods == nullptr) return out;
  for (const Pod& p : report->pods) {
    if (auto it = pods->find(p.uid); it != pods->end()) out.emplace(p.uid, it->second.ready);
  }
  return out;
}

void ReadinessFlaps::relatch(Tracked& t) {
  bool latched =
      t.latched ? !t.flips.empty() : static_cast<int64_t>(t.flips.size()) >= policy_.threshold;
  if (latched != t.latched || latched) ++version_;  // a latched pod's count moved too
  t.latched = latched;
}

void ReadinessFlaps::observe(const std::vector<Pod>& upserted,
                             const std::vector<std::string>& removed_uids,
                             const std::map<std::string, bool>& before, int64_t now_ms) {
  for (const Pod& p : upserted) {
    auto was = before.find(p.uid);
    auto it = pods_.find(p.uid);
    if (it != pods_.end()) {
      // Keep what the finding names current (the pod may have moved nothing
      // but its readiness; the node is fixed for a pod's life).
      Tracked& t = it->second;
      if (t.pod.ready != p.ready && t.latched) ++version_;
      t.pod.ready = p.ready;
    }
    if (was == before.end() || was->second == p.ready) continue;
    if (it == pods_.end()) {
      Tracked t;
      t.pod.namespace_ = p.namespace_;
      t.pod.name = p.name;
      t.pod.node = p.node_name;
      t.pod.owners = p.owners;
      t.pod.ready = p.ready;
      it = pods_.emplace(p.uid, std::move(t)).first;
    }
    it->second.flips.push_back(now_ms);
    relatch(it->second);
  }
  for (const auto& uid : removed_uids) {
    auto it = pods_.find(uid);
    if (it == pods_.end()) continue;
    if (it->second.latched) ++version_;
    pods_.erase(it);
  }
}

void ReadinessFlaps::expire(int64_t now_ms) {
  const int64_t cutoff = now_ms - policy_.window_ms;
  for (auto it = pods_.begin(); it != pods_.end();) {
    Tracked& t = it->second;
    bool dropped = false;
    while (!t.flips.empty() && t.flips.front() <= cutoff) {
      t.flips.pop_front();
      dropped = true;
    }
    if (dropped) relatch(t);
    if (t.flips.empty() && !t.latched) {
      it = pods_.erase(it);
    } else {
      ++it;
    }
  }
}

std::map<std::string, PodReadinessFlapping> ReadinessFlaps::flapping() const {
  std::map<std::string, PodReadinessFlapping> out;
  for (const auto& [uid, t] : pods_) {
    if (!t.latched) continue;
    PodReadinessFlapping p = t.pod;
    p.flips = static_cast<int32_t>(t.flips.size());
    p.window_seconds = policy_.window_ms / 1000;
    out.emplace(uid, std::move(p));
  }
  return out;
}

}  // namespace rampart::aggregator
