// The score: every lost point is owed to a finding, exactly, and the result
// does not depend on the order findings arrive in.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "engine_index.h"
#include "engine_score.h"

using namespace rampart;
using namespace rampart::engine;

namespace {

Pod scorePod(std::string ns, std::string name, std::string node, const std::string& owner_kind,
             std::string owner) {
  Pod p;
  p.namespace_ = std::move(ns);
  p.name = std::move(name);
  p.node_name = std::move(node);
  p.phase = PodPhase::kRunning;
  p.ready = true;
  if (!owner_kind.empty()) p.owners.push_back({owner_kind, std::move(owner), "", true, false});
  return p;
}

Node scoreNode(std::string name) {
  Node n;
  n.name = std::move(name);
  n.conditions.push_back({"Ready", "True", ""});
  return n;
}

Finding make(const Index& index, std::string check, Severity s, ObjectRef subject,
             std::optional<ObjectRef> workload) {
  Finding f = index.finding(std::move(check), s, std::move(subject));
  f.workload = std::move(workload);
  return f;
}

Centi sumPoints(const std::vector<Finding>& fs, bool cluster) {
  Centi s = 0;
  for (const Finding& f : fs) s += cluster ? f.cluster_points : f.points;
  return s;
}

}  // namespace

TEST_CASE("apportion splits hundredths exactly, largest remainder first") {
  struct Case {
    std::vector<double> parts;
    Centi total;
    std::vector<Centi> want;
  };
  const Case cases[] = {
      {{1, 1, 1}, 100, {34, 33, 33}},
      {{40, 40, 40}, 10000, {3334, 3333, 3333}},
      {{3, 1}, 400, {300, 100}},
      {{0, 0}, 500, {0, 0}},
      {{2, 1}, 0, {0, 0}},
      {{}, 100, {}},
      {{0.5, 0.25, 0.25}, 7, {3, 2, 2}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.total);
    CHECK(apportion(c.parts, c.total) == c.want);
  }
}

TEST_CASE("severity points and workload weights are the documented constants") {
  CHECK(severityPoints(Severity::kCritical) == 40);
  CHECK(severityPoints(Severity::kHigh) == 20);
  CHECK(severityPoints(Severity::kMedium) == 8);
  CHECK(severityPoints(Severity::kLow) == 3);
  CHECK(severityPoints(Severity::kInfo) == 0);
  CHECK(workloadWeight(1) == doctest::Approx(1.0));
  CHECK(workloadWeight(4) == doctest::Approx(3.0));
  CHECK(workloadWeight(0) == doctest::Approx(1.0));
}

TEST_CASE("workload, namespace and cluster scores add up to their findings") {
  Snapshot s;
  s.nodes = {scoreNode("n1"), scoreNode("n2")};
  // shop/web: 4 replicas (weight 3); shop/pay: 1 bare pod (weight 1).
  for (int i = 0; i < 4; ++i) {
    s.pods.push_back(
        scorePod("shop", "web-" + std::to_string(i), i % 2 ? "n1" : "n2", "StatefulSet", "web"));
  }
  s.pods.push_back(scorePod("shop", "pay", "n1", "", ""));
  Options o;
  Index index(s, o);
  ObjectRef web{"StatefulSet", "shop", "web"};
  ObjectRef pay{"Pod", "shop", "pay"};
  REQUIRE(index.workloads.size() == 2);

  std::vector<Finding> fs;
  fs.push_back(make(index, "workload.replicas-in-one-zone", Severity::kHigh, web, web));
  fs.push_back(make(index, "pod.restarts", Severity::kLow, {"Pod", "shop", "web-1"}, web));
  fs.push_back(make(index, "pod.bare", Severity::kMedium, pay, pay));
  fs.push_back(make(index, "cluster.single-zone", Severity::kHigh, {"Cluster", "", ""}, {}));
  Scores sc = score(index, fs);

  auto find = [&](const std::string& check) {
    return *std::find_if(fs.begin(), fs.end(), [&](const Finding& f) { return f.check == check; });
  };
  // web: 20 (workload level) and 3/4 (one pod of four) compose to
  // 100 * (1 - 0.8 * 0.9925) = 20.6 lost, shared 20 : 0.75.
  CHECK(find("workload.replicas-in-one-zone").points == 1986);
  CHECK(find("pod.restarts").points == 74);
  CHECK(find("pod.bare").points == 800);
  CHECK(find("cluster.single-zone").points == 2000);
  REQUIRE(sc.workloads.size() == 2);
  CHECK(sc.workloads[0].ref == web);  // lowest score first
  CHECK(sc.workloads[0].score == 10000 - 2060);
  CHECK(sc.workloads[1].score == 10000 - 800);
  // Workloads' weighted mean: (3 * 20.6 + 1 * 8) / 4 = 17.45 lost; with the
  // cluster finding: 100 * (1 - 0.8 * 0.8255) = 33.96 lost.
  CHECK(sc.cluster == 10000 - 3396);
  CHECK(sumPoints(fs, true) == 10000 - sc.cluster);
  REQUIRE(sc.namespaces.size() == 1);
  CHECK(sc.namespaces[0].name == "shop");
  CHECK(sc.namespaces[0].score == 10000 - 1745);
}

TEST_CASE("findings compose: three criticals leave 0.6^3 of the score, and still add up") {
  Snapshot s;
  s.nodes = {scoreNode("n1")};
  s.pods = {scorePod("a", "solo", "n1", "", "")};
  Options o;
  Index index(s, o);
  ObjectRef solo{"Pod", "a", "solo"};
  std::vector<Finding> fs;
  for (const char* c : {"x.one", "x.two", "x.three"}) {
    fs.push_back(make(index, c, Severity::kCritical, solo, solo));
  }
  Scores sc = score(index, fs);
  CHECK(sc.workloads[0].score == 2160);
  CHECK(sumPoints(fs, false) == 7840);
  CHECK(sumPoints(fs, true) == 10000 - sc.cluster);
  CHECK(sc.cluster == 2160);
}

TEST_CASE("node-level findings weigh min(1, 3/N) of their base") {
  Snapshot s;
  for (int i = 0; i < 6; ++i) s.nodes.push_back(scoreNode("n" + std::to_string(i)));
  Options o;
  Index index(s, o);
  std::vector<Finding> fs = {
      make(index, "node.not-ready", Severity::kHigh, {"Node", "", "n0"}, {})};
  Scores sc = score(index, fs);
  CHECK(fs[0].cluster_points == 1000);
  CHECK(sc.cluster == 9000);
}

TEST_CASE("random findings: points add up and the order of findings does not matter") {
  std::mt19937 rng(20261125);
  for (int round = 0; round < 50; ++round) {
    Snapshot s;
    int nodes = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < nodes; ++i) s.nodes.push_back(scoreNode("n" + std::to_string(i)));
    int workloads = 1 + static_cast<int>(rng() % 6);
    for (int w = 0; w < workloads; ++w) {
      int replicas = 1 + static_cast<int>(rng() % 5);
      for (int r = 0; r < replicas; ++r) {
        s.pods.push_back(scorePod(
            "ns" + std::to_string(w % 3), "w" + std::to_string(w) + "-" + std::to_string(r),
            "n" + std::to_string(rng() % nodes), "StatefulSet", "w" + std::to_string(w)));
      }
    }
    Options o;
    Index index(s, o);
    std::vector<Finding> fs;
    int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      Severity sev = static_cast<Severity>(rng() % 5);
      if (rng() % 4 == 0) {
        fs.push_back(make(index, "c." + std::to_string(i), sev, {"Cluster", "", ""}, {}));
      } else {
        const auto& [ref, info] =
            *std::next(index.workloads.begin(), static_cast<long>(rng() % index.workloads.size()));
        fs.push_back(make(index, "w." + std::to_string(i), sev, ref, ref));
      }
    }
    std::vector<Finding> shuffled = fs;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    Scores a = score(index, fs);
    Scores b = score(index, shuffled);
    CAPTURE(round);
    CHECK(sumPoints(fs, true) == 10000 - a.cluster);
    for (const WorkloadScore& w : a.workloads) {
      Centi lost = 0;
      for (const Finding& f : fs) {
        if (f.workload == w.ref) lost += f.points;
      }
      CHECK(lost == 10000 - w.score);
    }
    CHECK(a.cluster == b.cluster);
    REQUIRE(fs.size() == shuffled.size());
    for (size_t i = 0; i < fs.size(); ++i) {
      CHECK(fs[i].check == shuffled[i].check);
      CHECK(fs[i].cluster_points == shuffled[i].cluster_points);
    }
  }
}
