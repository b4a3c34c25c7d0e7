// Helpers shared by the decodeObjects() tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "k8s_test_util.h"
#include "rampart/k8s_objects.h"

namespace rampart::k8s::testutil {

inline Objects decode(std::string_view json, const char* what = "input") {
  Objects o;
  auto r = decodeObjects(json, o);
  REQUIRE_MESSAGE(r.has_value(), what << ": " << r.error().describe());
  return o;
}

inline Objects decodeFixture(const std::string& file) {
  return decode(fixture(file), file.c_str());
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

inline size_t total(const Objects& o) {
  return o.nodes.size() + o.pods.size() + o.workloads.size() + o.pdbs.size() + o.hpas.size() +
         o.services.size() + o.namespaces.size() + o.pvcs.size() + o.pvs.size() +
         o.velero_schedules.size() + o.velero_backups.size();
}

inline bool same(const Objects& a, const Objects& b) {
  return a.nodes == b.nodes && a.pods == b.pods && a.workloads == b.workloads && a.pdbs == b.pdbs &&
         a.hpas == b.hpas && a.services == b.services && a.namespaces == b.namespaces &&
         a.pvcs == b.pvcs && a.pvs == b.pvs && a.velero_schedules == b.velero_schedules &&
         a.velero_backups == b.velero_backups && a.velero_seen == b.velero_seen &&
         a.warnings == b.warnings && a.skipped == b.skipped && a.partial == b.partial;
}

inline void checkSame(const Objects& a, const Objects& b) {
  CHECK(a.nodes == b.nodes);
  CHECK(a.pods == b.pods);
  CHECK(a.workloads == b.workloads);
  CHECK(a.pdbs == b.pdbs);
  CHECK(a.hpas == b.hpas);
  CHECK(a.services == b.services);
  CHECK(a.namespaces == b.namespaces);
  CHECK(a.pvcs == b.pvcs);
  CHECK(a.pvs == b.pvs);
  CHECK(a.velero_schedules == b.velero_schedules);
  CHECK(a.velero_backups == b.velero_backups);
  CHECK(a.velero_seen == b.velero_seen);
  CHECK(a.warnings == b.warnings);
  CHECK(a.skipped == b.skipped);
  CHECK(a.partial == b.partial);
}

// A list of the given item texts.
inline std::string list(const std::vector<std::string>& items, const char* kind = "List",
                        const char* api_version = "v1") {
  std::string s =
      std::string(R"({"apiVersion":")") + api_version + R"(","kind":")" + kind + R"(","items":[)";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s + R"(],"metadata":{"resourceVersion":""}})";
}

inline const char* const kListFixtures[] = {
    "apiserver-daemonsets_kube-system_eks-v1.31.json",
    "apiserver-deployments_kube-system_eks-v1.31.json",
    "apiserver-deployments_partially-ready_kurl.json",
    "apiserver-nodes_eks-v1.31_2zones.json",
    "apiserver-nodes_mixed-versions_7nodes.json",
    "apiserver-pods_crashloopbackoff.json",
    "apiserver-pods_kube-system_eks-v1.31.json",
    "apiserver-pods_oomkilled.json",
    "apiserver-replicasets_kube-system_eks-v1.31.json",
    "apiserver-replicasets_kurl.json",
    "apiserver-statefulsets_partially-ready_kurl.json",
    "kubectl-get-pdb-A_List_scaleway-kapsule.json",
    "kubelet-pods_empty_items-null.json",
    "kubelet-pods_v1.34_minikube.json",
    "velero-backup_completed_datamover_v1.18.json",
    "mixed-list.json",
};

}  // namespace rampart::k8s::testutil
