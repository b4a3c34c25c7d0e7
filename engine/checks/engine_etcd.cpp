// Live etcd and API-server checks on the prober's observation (etcd.member-down,
// etcd.no-leader, etcd.quorum-at-risk, etcd.even-members, etcd.leader-flapping,
// etcd.snapshot-stale, controlplane.apiserver-unhealthy). docs/etcd.md and
// docs/checks.md, "Live control plane and etcd".
#include "engine_etcd.h"

#include <algorithm>

#include "engine_hadr.h"

namespace rampart::engine {
namespace {

const ObjectRef kEtcd{"Etcd", "kube-system", "etcd"};

// What names a member in a finding's subject: stable across restarts (the
// finding key is check + subject), so the name first.
std::string memberLabel(const EtcdMemberState& m) {
  if (!m.name.empty()) return m.name;
  if (!m.id.empty()) return m.id;
  return m.endpoint;
}

// "30h05m"
std::string hoursMinutes(int64_t seconds) {
  int64_t minutes = std::max<int64_t>(0, seconds) / 60;
  std::string m = std::to_string(minutes % 60);
  if (m.size() < 2) m = "0" + m;
  return std::to_string(minutes / 60) + "h" + m + "m";
}

void memberDown(const Index& index, const EtcdObservation& o, std::vector<Finding>& out) {
  for (const EtcdMemberState& m : o.members) {
    if (m.healthy) continue;
    const std::string label = memberLabel(m);
    Finding f = index.finding("etcd.member-down", Severity::kHigh, {"EtcdMember", "", label});
    f.details["id"] = m.id;
    f.details["name"] = m.name;
    f.details["endpoint"] = m.endpoint;
    f.details["error"] = m.error;
    f.message = "etcd member " + label + (m.endpoint.empty() ? "" : " (" + m.endpoint + ")") +
                " is down: " + (m.error.empty() ? "unhealthy" : m.error);
    f.remediation =
        "Check the member's process, host, disk and peer connectivity (the etcd static pod's "
        "logs, `journalctl -u etcd`, `etcdctl endpoint health --cluster`); a member that is "
        "gone for good: `etcdctl member remove " +
        (m.id.empty() ? std::string("<id>") : m.id) + "`, then add a replacement.";
    out.push_back(std::move(f));
  }
}

void leaderAndQuorum(const Index& index, const EtcdObservation& o, std::vector<Finding>& out) {
  const auto members = static_cast<int32_t>(o.members.size());
  const int32_t quorum = members / 2 + 1;
  const auto healthy = static_cast<int32_t>(
      std::count_if(o.members.begin(), o.members.end(), [](const auto& m) { return m.healthy; }));

  if (!o.has_leader) {
    Finding f = index.finding("etcd.no-leader", Severity::kCritical, kEtcd);
    f.details["members"] = members;
    f.details["healthy"] = healthy;
    f.details["quorum"] = quorum;
    f.message = "etcd has no leader (" + std::to_string(healthy) + " of " +
                std::to_string(members) +
                " members answer): writes fail, and the API server cannot change anything";
    f.remediation =
        "Bring members back until a quorum (" + std::to_string(quorum) +
        ") runs and elects a leader; if quorum is lost for good, restore from a snapshot "
        "(`etcdutl snapshot restore`, docs/etcd.md).";
    out.push_back(std::move(f));
  }

  if (healthy > quorum) return;
  const bool lost = healthy < quorum;
  Finding f =
      index.finding("etcd.quorum-at-risk", lost ? Severity::kCritical : Severity::kHigh, kEtcd);
  f.details["members"] = members;
  f.details["healthy"] = healthy;
  f.details["quorum"] = quorum;
  f.details["quorum_lost"] = lost;
  if (lost) {
    f.message = "etcd has lost quorum: " + std::to_string(healthy) + " of " +
                std::to_string(members) + " members healthy, " + std::to_string(quorum) + " needed";
    f.remediation =
        "Restart the down members (their data directories intact); if they cannot come back, "
        "restore the cluster from the newest snapshot.";
  } else {
    f.message = "etcd runs on exactly its quorum: " + std::to_string(healthy) + " of " +
                std::to_string(members) + " members healthy (quorum " + std::to_string(quorum) +
                "): one more member failure loses quorum";
    f.remediation =
        "Bring the down members back (or replace them: `etcdctl member remove` + `member "
        "add`) before any maintenance that stops a member.";
  }
  out.push_back(std::move(f));
}

void evenMembers(const Index& index, const EtcdObservation& o, std::vector<Finding>& out) {
  const auto members = static_cast<int32_t>(o.members.size());
  if (members % 2 != 0) return;
  // The pods' etcd.member-count already reports the same even count.
  auto it = index.control_plane.find("etcd");
  if (it != index.control_plane.end() && static_cast<int32_t>(it->second.size()) == members) {
    return;
  }
  Finding f =
      index.finding("etcd.even-members", members == 2 ? Severity::kHigh : Severity::kMedium, kEtcd);
  f.details["members"] = members;
  f.details["tolerated_failures"] = (members - 1) / 2;
  f.message = "etcd has " + std::to_string(members) + " members: quorum is " +
              std::to_string(members / 2 + 1) + ", so it tolerates " +
              std::to_string((members - 1) / 2) + " failure(s), no more than " +
              std::to_string(members - 1) + " members would, with one more member to lose";
  f.remediation = "Run an odd number of members (3 or 5): `etcdctl member add` or `member remove`.";
  out.push_back(std::move(f));
}

void leaderFlapping(const Index& index, const EtcdObservation& o, std::vector<Finding>& out) {
  if (o.leader_changes <= index.options.etcd_leader_changes_max) return;
  Finding f = index.finding("etcd.leader-flapping", Severity::kMedium, kEtcd);
  f.details["leader_changes"] = o.leader_changes;
  f.details["window_seconds"] = o.leader_window_seconds;
  f.details["max"] = index.options.etcd_leader_changes_max;
  f.message = "etcd changed leader " + std::to_string(o.leader_changes) + " times in " +
              std::to_string(o.leader_window_seconds / 60) + " min (more than " +
              std::to_string(index.options.etcd_leader_changes_max) +
              "): requests stall at every election";
  f.remediation =
      "Look for slow disks (etcd_disk_wal_fsync_duration_seconds), CPU starvation or a flaky "
      "network between members; raise --heartbeat-interval / --election-timeout for "
      "high-latency links.";
  out.push_back(std::move(f));
}

void snapshotStale(const Index& index, const EtcdObservation& o, std::vector<Finding>& out) {
  if (!o.snapshot_configured) return;
  const int64_t max_age = index.options.etcd_snapshot_max_age_seconds;
  std::optional<int64_t> age;
  if (o.snapshot_unix) age = index.snapshot.now_unix - *o.snapshot_unix;
  if (age && *age <= max_age) return;
  Finding f = index.finding("etcd.snapshot-stale", Severity::kHigh, kEtcd);
  f.details["max_age_seconds"] = max_age;
  if (age) {
    f.details["age_seconds"] = *age;
    f.message = "the newest etcd snapshot is " + hoursMinutes(*age) + " old (more than " +
                hoursMinutes(max_age) + "): a restore loses everything since";
  } else {
    f.details["error"] = o.snapshot_error;
    f.message = "no etcd snapshot found" +
                (o.snapshot_error.empty() ? std::string() : ": " + o.snapshot_error);
  }
  f.remediation =
      "Take snapshots on a schedule (`etcdctl snapshot save` from a CronJob or systemd timer) "
      "into the directory Rampart watches, and copy them off the control-plane nodes.";
  out.push_back(std::move(f));
}

void apiserverUnhealthy(const Index& index, const EtcdObservation& o, std::vector<Finding>& out) {
  if (o.apiserver_expected <= 0 || o.apiserver_healthy >= o.apiserver_expected) return;
  Severity severity = o.apiserver_healthy == 0   ? Severity::kCritical
                      : o.apiserver_healthy == 1 ? Severity::kHigh
                                                 : Severity::kMedium;
  Finding f = index.finding("controlplane.apiserver-unhealthy", severity,
                            {"ControlPlane", "", "kube-apiserver"});
  f.details["healthy"] = o.apiserver_healthy;
  f.details["expected"] = o.apiserver_expected;
  f.details["errors"] = o.apiserver_errors;
  f.message = std::to_string(o.apiserver_healthy) + " of " + std::to_string(o.apiserver_expected) +
              " API server instances are ready (/readyz)" +
              (o.apiserver_errors.empty() ? "" : ": " + joinNames(o.apiserver_errors));
  f.remediation =
      "Check the failing instances (`curl -k https://HOST:6443/readyz?verbose`, the "
      "kube-apiserver static pod's logs); an instance failing its etcd check points at etcd.";
  out.push_back(std::move(f));
}

}  // namespace

void checkEtcdObserved(const Index& index, std::vector<Finding>& out) {
  if (!index.snapshot.etcd) return;
  const EtcdObservation& o = *index.snapshot.etcd;
  if (!o.members.empty()) {
    memberDown(index, o, out);
    leaderAndQuorum(index, o, out);
    evenMembers(index, o, out);
    leaderFlapping(index, o, out);
  }
  snapshotStale(index, o, out);
  apiserverUnhealthy(index, o, out);
}

}  // namespace rampart::engine
