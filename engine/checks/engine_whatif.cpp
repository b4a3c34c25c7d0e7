// Failure-domain what-if: for every node, zone and region, what losing it at
// once (every pod on its nodes gone, nothing rescheduled) would do. One pass
// over the ready pods per question, not one pass per domain: a workload loses
// every ready replica in exactly the domain that holds all of them.
#include <algorithm>
#include <functional>
#include <set>

#include "engine_index.h"
#include "engine_policy.h"

namespace rampart::engine {
namespace {

// Which domain of a level a node belongs to ("" when it has none).
using DomainOf = std::function<std::string(const Node&)>;

struct Level {
  DomainOf domain_of;
  std::vector<DomainImpact>* out;
};

int32_t quorumOf(int32_t members) {
  return members / 2 + 1;
}

// Ready pods of a set, counted per domain of one level.
std::map<std::string, int32_t> readyPerDomain(const Index& index,
                                              const std::vector<const Pod*>& pods,
                                              const DomainOf& domain_of, int32_t& ready_total) {
  std::map<std::string, int32_t> per;
  ready_total = 0;
  for (const Pod* p : pods) {
    if (!index.countsReady(*p)) continue;
    ++ready_total;
    const Node* n = index.node(p->node_name);
    if (n == nullptr) continue;  // a node outside the snapshot is in no domain
    std::string d = domain_of(*n);
    if (!d.empty()) ++per[d];
  }
  return per;
}

void sortUnique(std::vector<ObjectRef>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

WhatIf computeWhatIf(const Index& index, WhatIfParts parts) {
  WhatIf whatif;
  std::vector<Level> levels = {
      {[](const Node& n) { return n.name; }, &whatif.nodes},
      {[](const Node& n) { return n.zone; }, &whatif.zones},
      {[](const Node& n) { return n.region; }, &whatif.regions},
  };

  // The pods and desired healthy count of every PDB, once for all levels.
  struct PdbFacts {
    ObjectRef ref;
    std::vector<const Pod*> pods;
    int32_t desired = 0;
  };
  std::vector<PdbFacts> pdbs;
  for (const PodDisruptionBudget& pdb : index.snapshot.pdbs) {
    if (!parts.workloads || index.cancelled()) break;
    PdbFacts facts{{"PodDisruptionBudget", pdb.namespace_, pdb.name}, pdbPods(index, pdb), 0};
    if (facts.pods.empty()) continue;
    facts.desired = pdbDesiredHealthy(pdb, pdbExpectedPods(index, pdb));
    pdbs.push_back(std::move(facts));
  }

  for (Level& level : levels) {
    if (index.cancelled()) break;  // the caller discards the partial what-if
    std::map<std::string, DomainImpact> impacts;
    for (const auto& [name, info] : index.nodes) {
      if (!parts.domains) break;
      std::string d = level.domain_of(*info.node);
      if (d.empty()) continue;
      DomainImpact& impact = impacts[d];
      impact.name = d;
      impact.nodes.push_back(name);
    }
    // The domain of a hit: listed already, or (without the listing) added on
    // the first hit. A domain comes from a node of the index either way.
    auto impact_in = [&](const std::string& d) {
      auto it = impacts.find(d);
      if (it == impacts.end() && !parts.domains) {
        it = impacts.emplace(d, DomainImpact{}).first;
        it->second.name = d;
      }
      return it;
    };

    // (a) Workloads whose ready replicas all sit in one domain.
    for (const auto& [ref, w] : index.workloads) {
      if (!parts.workloads || index.cancelled()) break;
      if (ref.kind == "Job" || ref.kind == "CronJob") continue;
      int32_t ready = 0;
      auto per = readyPerDomain(index, w.pods, level.domain_of, ready);
      if (ready == 0 || per.size() != 1 || per.begin()->second != ready) continue;
      auto it = impact_in(per.begin()->first);
      if (it != impacts.end()) it->second.outage.push_back(ref);
    }

    // (b) PDBs whose healthy count would fall below desiredHealthy.
    for (const PdbFacts& pdb : pdbs) {
      int32_t healthy = 0;
      auto per = readyPerDomain(index, pdb.pods, level.domain_of, healthy);
      for (const auto& [d, lost] : per) {
        if (healthy - lost >= pdb.desired) continue;
        auto it = impact_in(d);
        if (it != impacts.end()) it->second.below_pdb.push_back(pdb.ref);
      }
    }

    // (c) Quorum: etcd, and StatefulSets of 3 or more marked rampart.io/quorum.
    auto quorum = [&](const ObjectRef& ref, const std::vector<const Pod*>& pods, int32_t members) {
      if (members < 1) return;
      int32_t healthy = 0;
      auto per = readyPerDomain(index, pods, level.domain_of, healthy);
      int32_t q = quorumOf(members);
      for (const auto& [d, lost] : per) {
        if (healthy - lost >= q) continue;
        auto it = impact_in(d);
        if (it != impacts.end()) it->second.quorum_lost.push_back(ref);
      }
    };
    if (auto it = index.control_plane.find("etcd"); parts.etcd && it != index.control_plane.end()) {
      quorum({"Etcd", "kube-system", "etcd"}, it->second, static_cast<int32_t>(it->second.size()));
    }
    for (const auto& [ref, w] : index.workloads) {
      if (!parts.workloads) break;
      if (ref.kind != "StatefulSet" || w.object == nullptr || w.desired < 3) continue;
      auto a = w.object->annotations.find("rampart.io/quorum");
      if (a == w.object->annotations.end() || a->second != "true") continue;
      quorum(ref, w.pods, w.desired);
    }

    for (auto& [d, impact] : impacts) {
      sortUnique(impact.outage);
      sortUnique(impact.below_pdb);
      sortUnique(impact.quorum_lost);
      level.out->push_back(std::move(impact));
    }
  }
  return whatif;
}

namespace {

std::string refList(const std::vector<ObjectRef>& refs, size_t max) {
  std::string s;
  for (size_t i = 0; i < refs.size() && i < max; ++i) {
    if (i > 0) s += ", ";
    s += refs[i].namespace_.empty() ? refs[i].name : refs[i].namespace_ + "/" + refs[i].name;
  }
  if (refs.size() > max) s += ", +" + std::to_string(refs.size() - max) + " more";
  return s;
}

// One cluster finding per level: the domains whose loss takes something down.
void levelFinding(const Index& index, const std::vector<DomainImpact>& domains, std::string check,
                  std::string_view level, std::vector<Finding>& out) {
  std::vector<const DomainImpact*> fatal;
  std::set<ObjectRef> down;
  for (const DomainImpact& d : domains) {
    if (d.outage.empty() && d.quorum_lost.empty()) continue;
    fatal.push_back(&d);
    down.insert(d.outage.begin(), d.outage.end());
    down.insert(d.quorum_lost.begin(), d.quorum_lost.end());
  }
  if (fatal.empty()) return;
  // The worst domain first: most workloads down, then by name.
  std::stable_sort(fatal.begin(), fatal.end(), [](const DomainImpact* a, const DomainImpact* b) {
    return a->outage.size() + a->quorum_lost.size() > b->outage.size() + b->quorum_lost.size();
  });
  Finding f = index.finding(std::move(check), Severity::kCritical, {"Cluster", "", ""});
  f.hard = true;
  nlohmann::ordered_json doms = nlohmann::ordered_json::array();
  for (const DomainImpact* d : fatal) {
    nlohmann::ordered_json o;
    o["name"] = d->name;
    o["outage"] = d->outage.size();
    o["quorum_lost"] = d->quorum_lost.size();
    doms.push_back(std::move(o));
  }
  f.details["domains"] = std::move(doms);
  f.details["workloads_at_risk"] = down.size();
  f.details["domains_total"] = domains.size();
  const DomainImpact& worst = *fatal.front();
  std::vector<ObjectRef> worst_refs = worst.outage;
  worst_refs.insert(worst_refs.end(), worst.quorum_lost.begin(), worst.quorum_lost.end());
  f.message = "the cluster does not survive the loss of any single " + std::string(level) + ": " +
              std::to_string(fatal.size()) + " of " + std::to_string(domains.size()) + " " +
              std::string(level) + "s would take down " + std::to_string(down.size()) +
              " workload(s); losing " + std::string(level) + " " + worst.name + " takes down " +
              refList(worst_refs, 5);
  f.remediation = "Run `rampartctl whatif --" + std::string(level) + " " + worst.name +
                  "` and give each listed workload replicas in at least two " + std::string(level) +
                  "s (more replicas, pod anti-affinity or a topology spread constraint on " +
                  (level == "node" ? hostnameKey() : zoneKey()) + ").";
  out.push_back(std::move(f));
}

}  // namespace

void checkWhatIf(const Index& index, const WhatIf& whatif, std::vector<Finding>& out) {
  levelFinding(index, whatif.nodes, "whatif.node-loss", "node", out);
  // With a single zone, cluster.single-zone already says that a zone loss is
  // a cluster loss; a second finding would count the same risk twice.
  if (whatif.zones.size() >= 2) levelFinding(index, whatif.zones, "whatif.zone-loss", "zone", out);
}

}  // namespace rampart::engine
