// The pure half of the etcd prober: a round of answers to an observation, and
// the leader-change window (rampart/etcd.h).
#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "etcd/etcd.h"

namespace rampart::etcd {
namespace {

std::string trimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// The probe that speaks for `m`: the endpoint that answered (or once
// answered) with its id, else the one at one of its client URLs.
const EndpointProbe* probeOf(const Member& m, const std::vector<EndpointProbe>& probes,
                             const ProbeMemory& memory) {
  for (const EndpointProbe& p : probes) {
    if (p.status && p.status->member_id == m.id) return &p;
  }
  for (const EndpointProbe& p : probes) {
    auto it = memory.id_of_endpoint.find(p.endpoint);
    if (it != memory.id_of_endpoint.end() && it->second == m.id) return &p;
  }
  for (const EndpointProbe& p : probes) {
    for (const std::string& url : m.client_urls) {
      if (trimSlash(url) == trimSlash(p.endpoint)) return &p;
    }
  }
  return nullptr;
}

bool seesLeader(const EndpointProbe& p) {
  if (!p.status || p.status->leader_id.empty()) return false;
  return !(p.metrics && p.metrics->has_leader && !*p.metrics->has_leader);
}

}  // namespace

void LeaderChangeWindow::add(const std::string& member, int64_t now_ms, double counter) {
  samples_[member].push_back({now_ms, counter});
}

int32_t LeaderChangeWindow::changes(int64_t now_ms) {
  const int64_t start =
      now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
  int32_t most = 0;
  for (auto it = samples_.begin(); it != samples_.end();) {
    auto& q = it->second;
    // Keep one sample at or before the window's start: the baseline.
    while (q.size() >= 2 && q[1].at_ms <= start) q.pop_front();
    if (q.empty() || (q.size() == 1 && q.front().at_ms < start)) {
      it = samples_.erase(it);  // a member not sampled within the window
      continue;
    }
    double changes = 0;
    for (size_t i = 1; i < q.size(); ++i) {
      double d = q[i].value - q[i - 1].value;
      changes += d >= 0 ? d : q[i].value;  // a reset counts from 0
    }
    most = std::max(most, static_cast<int32_t>(std::lround(changes)));
    ++it;
  }
  return most;
}

engine::EtcdObservation observe(const std::vector<EndpointProbe>& probes, ProbeMemory& memory) {
  engine::EtcdObservation o;
  for (const EndpointProbe& p : probes) {
    if (p.status) memory.id_of_endpoint[p.endpoint] = p.status->member_id;
  }
  // The member list: the first healthy member's, else any answer, else memory.
  const std::vector<Member>* list = nullptr;
  for (int pass = 0; pass < 2 && list == nullptr; ++pass) {
    for (const EndpointProbe& p : probes) {
      if (!p.members || (pass == 0 && !(p.health && p.health->healthy))) continue;
      list = &*p.members;
      break;
    }
  }
  if (list != nullptr) memory.members = *list;

  // Pair each member with the probe that speaks for it.
  std::vector<std::pair<Member, const EndpointProbe*>> pairs;
  if (!memory.members.empty()) {
    for (const Member& m : memory.members) pairs.emplace_back(m, probeOf(m, probes, memory));
  } else {
    for (const EndpointProbe& p : probes) {
      Member m;
      auto it = memory.id_of_endpoint.find(p.endpoint);
      if (it != memory.id_of_endpoint.end()) m.id = it->second;
      m.client_urls = {p.endpoint};
      pairs.emplace_back(std::move(m), &p);
    }
  }

  // The leader: named by the members that answer and see one.
  std::map<std::string, int> votes;
  for (const auto& [m, p] : pairs) {
    if (p != nullptr && p->answered() && seesLeader(*p)) ++votes[p->status->leader_id];
  }
  for (const auto& [id, n] : votes) {
    if (o.leader_id.empty() || n > votes[o.leader_id]) o.leader_id = id;
  }
  o.has_leader = !o.leader_id.empty();

  for (const auto& [m, p] : pairs) {
    engine::EtcdMemberState s;
    s.id = m.id;
    s.name = m.name;
    s.endpoint = p != nullptr ? p->endpoint : (m.client_urls.empty() ? "" : m.client_urls.front());
    s.is_leader = !m.id.empty() && m.id == o.leader_id;
    if (p == nullptr) {
      s.error = m.client_urls.empty() ? "no client URL (not started?)" : "not probed";
    } else if (!p->answered()) {
      s.error = p->firstError();
      if (s.error.empty()) s.error = "no answer";
    } else if (p->health && !p->health->healthy && o.has_leader) {
      s.error = "/health reports unhealthy";
      if (!p->health->reason.empty()) s.error += " (" + p->health->reason + ")";
      if (p->status && !p->status->errors.empty()) s.error += ": " + p->status->errors.front();
    } else if (!p->health && p->status && !p->status->errors.empty() && o.has_leader) {
      s.error = p->status->errors.front();
    } else {
      s.healthy = true;
    }
    o.members.push_back(std::move(s));
  }
  std::sort(o.members.begin(), o.members.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.id, a.endpoint) < std::tie(b.name, b.id, b.endpoint);
  });
  return o;
}

std::vector<std::string> unprobedMemberUrls(const std::vector<EndpointProbe>& probes,
                                            const ProbeMemory& memory) {
  std::vector<std::string> out;
  for (const Member& m : memory.members) {
    if (m.client_urls.empty() || probeOf(m, probes, memory) != nullptr) continue;
    out.push_back(m.client_urls.front());
  }
  return out;
}

}  // namespace rampart::etcd
