// The kustomize manifests (manifests/, manifests/README.md): every overlay
// renders with the real kubectl, and `rampartctl audit` finds nothing wrong
// with Rampart's own deployment in the worst placement the ha overlay's rules
// allow.
//
// A Deployment or StatefulSet alone has no pods, and an audit judges pods
// where they are. So the test places the pods the controllers would create on
// fixture clusters (3 zones x (1 tainted control-plane + 2 workers), and one
// zone of 3 workers), adversarially: each replica goes to the eligible node
// that already holds most of its siblings (then the zone that does), where
// "eligible" is what the scheduler's filters enforce (taints, nodeSelector,
// required node affinity, required pod anti-affinity, DoNotSchedule topology
// spread). Preferences are not honoured: a rule that only prefers spreading
// guarantees nothing. The rendered objects, the fixture nodes, the pods, their
// claims and zone-pinned volumes go to the real rampartctl as one v1 List.
//
// RAMPART_MANIFESTS_DIR overrides the manifests directory (to try a modified
// copy: the test must fail when the ha overlay loses its PDB or its spread).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kNamespace = "rampart";
constexpr const char* kZoneKey = "topology.kubernetes.io/zone";
constexpr const char* kHostKey = "kubernetes.io/hostname";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Run {
  int status = -1;
  std::string out, err;
};

// Runs a shell command line; stdout and stderr are captured through files.
Run run(const std::string& cmd, const fs::path& scratch) {
  static int n = 0;
  const fs::path out = scratch / ("out." + std::to_string(++n));
  const fs::path err = scratch / ("err." + std::to_string(n));
  int rc = std::system((cmd + " >" + quote(out) + " 2>" + quote(err)).c_str());
  Run r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// YAML (as kubectl kustomize prints it) to JSON: plain scalars are resolved
// with YAML 1.2's core schema, quoted ones stay strings.
json toJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = toJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& item : n) a.push_back(toJson(item));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      static const std::regex kInt("[-+]?[0-9]+");
      static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      if (s == "true") return true;
      if (s == "false") return false;
      if (std::regex_match(s, kInt)) return std::stoll(s);
      if (std::regex_match(s, kFloat)) return std::stod(s);
      return s;
    }
    default:
      return nullptr;
  }
}

std::vector<json> parseDocs(const std::string& yaml) {
  std::vector<json> docs;
  for (const auto& doc : YAML::LoadAll(yaml))
    if (doc.IsMap()) docs.push_back(toJson(doc));
  return docs;
}

// A temp copy of manifests/ with fresh keys, and an overlay "all" that adds
// every component to ha.
class Workspace {
 public:
  Workspace() {
    std::string tmpl = (fs::temp_directory_path() / "rampart-manifests-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root_ = tmpl;
    const char* override_dir = std::getenv("RAMPART_MANIFESTS_DIR");
    const fs::path src = override_dir ? fs::path(override_dir)
                                      : fs::path(rampart::testing::kSourceDir) / "manifests";
    fs::copy(src, dir(), fs::copy_options::recursive);
    // Never the developer's own keys: fresh ones, as an operator makes them.
    for (const auto& e : fs::directory_iterator(dir() / "base/keys"))
      if (e.path().filename() != ".gitignore") fs::remove(e.path());
    Run keys = run("RAMPARTCTL=" + quote(rampart::testing::kCtlBin) + " " +
                       quote((dir() / "generate-keys.sh").string()),
                   root_);
    INFO(keys.out, keys.err);
    REQUIRE(keys.status == 0);
    fs::create_directories(dir() / "overlays/all");
    std::ofstream(dir() / "overlays/all/kustomization.yaml")
        << "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
           "resources: [../ha]\n"
           "components: [../../components/hooks, ../../components/host-network]\n";
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path dir() const { return root_ / "manifests"; }
  const fs::path& scratch() const { return root_; }

  // kubectl kustomize of base, overlays/NAME or components-only overlays.
  std::vector<json> render(const std::string& overlay) const {
    Run r = run(
        quote(rampart::testing::kKubectlBin) + " kustomize " + quote((dir() / overlay).string()),
        root_);
    INFO("kubectl kustomize ", overlay, ": ", r.err);
    REQUIRE(r.status == 0);
    auto docs = parseDocs(r.out);
    REQUIRE(!docs.empty());
    return docs;
  }

  std::vector<std::string> overlays() const {
    std::vector<std::string> out{"base"};
    for (const auto& e : fs::directory_iterator(dir() / "overlays"))
      if (e.is_directory()) out.push_back("overlays/" + e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path root_;
};

json* find(std::vector<json>& docs, const std::string& kind, const std::string& name) {
  for (auto& d : docs)
    if (d.value("kind", "") == kind && d["metadata"].value("name", "") == name) return &d;
  return nullptr;
}

json* findByPrefix(std::vector<json>& docs, const std::string& kind, const std::string& prefix) {
  for (auto& d : docs)
    if (d.value("kind", "") == kind && d["metadata"].value("name", "").starts_with(prefix))
      return &d;
  return nullptr;
}

// ---- scheduling semantics (the filters, as kube-scheduler applies them) ----

json labelsOf(const json& obj) {
  return obj.contains("metadata") ? obj["metadata"].value("labels", json::object())
                                  : json::object();
}

bool requirementHolds(const json& labels, const json& req) {
  const std::string key = req.value("key", "");
  const std::string op = req.value("operator", "");
  const bool has = labels.contains(key);
  const auto values = req.value("values", json::array());
  auto in = [&] {
    return has && std::find(values.begin(), values.end(), labels[key]) != values.end();
  };
  if (op == "In") return in();
  if (op == "NotIn") return !in();
  if (op == "Exists") return has;
  if (op == "DoesNotExist") return !has;
  return false;
}

// A LabelSelector; absent (null) matches nothing, empty matches everything.
bool selectorMatches(const json& sel, const json& labels) {
  if (sel.is_null()) return false;
  // items() of a temporary would dangle in the range-for: keep the copy.
  const json match_labels = sel.value("matchLabels", json::object());
  for (const auto& [k, v] : match_labels.items())
    if (!labels.contains(k) || labels[k] != v) return false;
  for (const auto& req : sel.value("matchExpressions", json::array()))
    if (!requirementHolds(labels, req)) return false;
  return true;
}

bool tolerates(const json& tolerations, const json& taint) {
  for (const auto& t : tolerations) {
    const std::string effect = t.value("effect", "");
    if (!effect.empty() && effect != taint.value("effect", "")) continue;
    const std::string key = t.value("key", "");
    if (t.value("operator", "Equal") == "Exists") {
      if (key.empty() || key == taint.value("key", "")) return true;
    } else if (key == taint.value("key", "") && t.value("value", "") == taint.value("value", "")) {
      return true;
    }
  }
  return false;
}

bool taintsTolerated(const json& spec, const json& node) {
  for (const auto& taint : node["spec"].value("taints", json::array())) {
    const std::string effect = taint.value("effect", "");
    if ((effect == "NoSchedule" || effect == "NoExecute") &&
        !tolerates(spec.value("tolerations", json::array()), taint))
      return false;
  }
  return true;
}

bool nodeAffinityHolds(const json& spec, const json& node) {
  const json labels = labelsOf(node);
  const json node_selector = spec.value("nodeSelector", json::object());
  for (const auto& [k, v] : node_selector.items())
    if (!labels.contains(k) || labels[k] != v) return false;
  const json req = spec.value(
      "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"_json_pointer, json());
  if (req.is_null()) return true;
  for (const auto& term : req.value("nodeSelectorTerms", json::array())) {
    bool ok = true;
    for (const auto& r : term.value("matchExpressions", json::array()))
      ok = ok && requirementHolds(labels, r);
    if (ok) return true;
  }
  return false;
}

struct PlacedPod {
  json labels;
  json spec;
  std::string ns, owner;
  const json* node = nullptr;
};

std::optional<std::string> domainOf(const json& node, const std::string& key) {
  const json labels = labelsOf(node);
  if (key == kHostKey && !labels.contains(key)) return node["metadata"]["name"].get<std::string>();
  if (!labels.contains(key)) return std::nullopt;
  return labels[key].get<std::string>();
}

json requiredAntiAffinity(const json& spec) {
  return spec.value(
      "/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution"_json_pointer,
      json::array());
}

bool termNamespaceHas(const json& term, const std::string& own_ns, const std::string& ns) {
  const auto names = term.value("namespaces", json::array());
  if (names.empty()) return ns == own_ns;
  return std::find(names.begin(), names.end(), ns) != names.end();
}

class Scheduler {
 public:
  explicit Scheduler(const std::vector<json>& nodes) : nodes_(nodes) {}

  // The eligible node that already holds most pods of `owner` (then whose zone
  // does): the worst placement the hard rules allow. nullptr: unschedulable.
  const json* placeWorst(const json& spec, const json& labels, const std::string& ns,
                         const std::string& owner) {
    const json* best = nullptr;
    std::pair<int, int> best_score{-1, -1};
    for (const auto& node : nodes_) {
      if (!eligible(spec, labels, ns, node)) continue;
      std::pair<int, int> score{siblings(owner, kHostKey, node), siblings(owner, kZoneKey, node)};
      if (score > best_score) best = &node, best_score = score;
    }
    return best;
  }

  // Every node the pod passes the filters on (a DaemonSet's nodes).
  std::vector<const json*> eligibleNodes(const json& spec, const json& labels,
                                         const std::string& ns) {
    std::vector<const json*> out;
    for (const auto& node : nodes_)
      if (eligible(spec, labels, ns, node)) out.push_back(&node);
    return out;
  }

  void add(PlacedPod p) { placed_.push_back(std::move(p)); }

 private:
  int siblings(const std::string& owner, const std::string& key, const json& node) const {
    auto d = domainOf(node, key);
    if (!d) return 0;
    int n = 0;
    for (const auto& p : placed_)
      if (p.owner == owner && domainOf(*p.node, key) == d) ++n;
    return n;
  }

  bool eligible(const json& spec, const json& labels, const std::string& ns,
                const json& node) const {
    if (!taintsTolerated(spec, node) || !nodeAffinityHolds(spec, node)) return false;
    // The pod's own required anti-affinity, and the placed pods' against it.
    for (const auto& term : requiredAntiAffinity(spec)) {
      auto d = domainOf(node, term.value("topologyKey", ""));
      if (!d) continue;
      for (const auto& p : placed_)
        if (termNamespaceHas(term, ns, p.ns) &&
            selectorMatches(term.value("labelSelector", json()), p.labels) &&
            domainOf(*p.node, term.value("topologyKey", "")) == d)
          return false;
    }
    for (const auto& p : placed_)
      for (const auto& term : requiredAntiAffinity(p.spec)) {
        auto d = domainOf(node, term.value("topologyKey", ""));
        if (d && termNamespaceHas(term, p.ns, ns) &&
            selectorMatches(term.value("labelSelector", json()), labels) &&
            domainOf(*p.node, term.value("topologyKey", "")) == d)
          return false;
      }
    // DoNotSchedule topology spread: nodes without the key are filtered out;
    // the skew is counted over the domains of nodes passing the node affinity
    // (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore: the defaults).
    for (const auto& c : spec.value("topologySpreadConstraints", json::array())) {
      if (c.value("whenUnsatisfiable", "") != "DoNotSchedule") continue;
      const std::string key = c.value("topologyKey", "");
      auto d = domainOf(node, key);
      if (!d) return false;
      std::map<std::string, int> counts;
      for (const auto& n : nodes_)
        if (auto nd = domainOf(n, key); nd && nodeAffinityHolds(spec, n)) counts[*nd] += 0;
      for (const auto& p : placed_)
        if (p.ns == ns && selectorMatches(c.value("labelSelector", json()), p.labels))
          if (auto pd = domainOf(*p.node, key); pd && counts.contains(*pd)) ++counts[*pd];
      int min = counts.empty() ? 0 : INT32_MAX;
      for (const auto& [_, n] : counts) min = std::min(min, n);
      if (c.contains("minDomains") && static_cast<int>(counts.size()) < c["minDomains"].get<int>())
        min = 0;
      const int self = selectorMatches(c.value("labelSelector", json()), labels) ? 1 : 0;
      if (counts[*d] + self - min > c.value("maxSkew", 1)) return false;
    }
    return true;
  }

  const std::vector<json> nodes_;  // a copy: PlacedPod::node points into it
  std::vector<PlacedPod> placed_;
};

// ---- the fixture clusters ----

json makeNode(const std::string& name, const std::string& zone, bool control_plane) {
  json labels = {{kHostKey, name},
                 {kZoneKey, zone},
                 {"topology.kubernetes.io/region", "eu-test-1"},
                 {"kubernetes.io/os", "linux"}};
  json spec = json::object();
  if (control_plane) {
    labels["node-role.kubernetes.io/control-plane"] = "";
    spec["taints"] =
        json::array({{{"key", "node-role.kubernetes.io/control-plane"}, {"effect", "NoSchedule"}}});
  }
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"uid", "uid-node-" + name}, {"labels", labels}}},
          {"spec", spec},
          {"status",
           {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})},
            {"nodeInfo", {{"kubeletVersion", "v1.31.0"}}}}}};
}

// 3 zones, each one tainted control-plane node and two workers.
std::vector<json> threeZones() {
  std::vector<json> nodes;
  for (const char* z : {"a", "b", "c"}) {
    const std::string zone = std::string("eu-test-1") + z;
    nodes.push_back(makeNode(std::string("cp-") + z, zone, true));
    for (const char* i : {"1", "2"})
      nodes.push_back(makeNode(std::string("worker-") + z + i, zone, false));
  }
  return nodes;
}

// One zone of three workers (what ha must survive too: one node's loss).
std::vector<json> oneZone() {
  std::vector<json> nodes;
  for (const char* i : {"1", "2", "3"})
    nodes.push_back(makeNode(std::string("worker-") + i, "eu-test-1a", false));
  return nodes;
}

json runningPod(const std::string& name, const std::string& ns, json labels, json spec,
                const json* node, const json& owner_ref) {
  json status;
  json containers = json::array();
  for (const auto& c : spec.value("containers", json::array()))
    containers.push_back({{"name", c.value("name", "")},
                          {"ready", node != nullptr},
                          {"restartCount", 0},
                          {"state", node ? json{{"running", json::object()}}
                                         : json{{"waiting", {{"reason", "Pending"}}}}}});
  if (node) {
    spec["nodeName"] = (*node)["metadata"]["name"];
    status = {{"phase", "Running"},
              {"conditions", json::array({{{"type", "PodScheduled"}, {"status", "True"}},
                                          {{"type", "Ready"}, {"status", "True"}},
                                          {{"type", "ContainersReady"}, {"status", "True"}}})},
              {"containerStatuses", containers}};
  } else {
    status = {
        {"phase", "Pending"},
        {"conditions",
         json::array(
             {{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}}})}};
  }
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", "uid-pod-" + ns + "-" + name},
            {"labels", labels},
            {"ownerReferences", json::array({owner_ref})}}},
          {"spec", spec},
          {"status", status}};
}

json ownerRef(const json& obj, const std::string& kind) {
  return {{"apiVersion", "apps/v1"},       {"kind", kind},       {"name", obj["metadata"]["name"]},
          {"uid", obj["metadata"]["uid"]}, {"controller", true}, {"blockOwnerDeletion", true}};
}

// The rendered objects with the pods (and claims, volumes, ReplicaSets) their
// controllers would make on `nodes`, as one v1 List.
json clusterOf(std::vector<json> rendered, const std::vector<json>& nodes) {
  Scheduler sched(nodes);
  std::vector<json> extra;
  for (auto& obj : rendered)
    if (!obj["metadata"].contains("uid"))
      obj["metadata"]["uid"] = "uid-" + obj.value("kind", "") + "-" +
                               obj["metadata"].value("namespace", "") + "-" +
                               obj["metadata"].value("name", "");
  auto schedule = [&](json& ctl, const std::string& pod_name, const json& labels, const json& spec,
                      const json& owner) {
    const std::string ns = ctl["metadata"].value("namespace", "default");
    const std::string key = ctl.value("kind", "") + "/" + ctl["metadata"].value("name", "");
    const json* node = sched.placeWorst(spec, labels, ns, key);
    if (node) sched.add({labels, spec, ns, key, node});
    extra.push_back(runningPod(pod_name, ns, labels, spec, node, owner));
    return node;
  };
  for (auto& obj : rendered) {
    const std::string kind = obj.value("kind", "");
    if (kind != "DaemonSet" && kind != "StatefulSet" && kind != "Deployment") continue;
    const std::string name = obj["metadata"]["name"];
    const std::string ns = obj["metadata"].value("namespace", "default");
    const json tmpl = obj["spec"]["template"];
    json labels = labelsOf(tmpl);
    const json& spec = tmpl["spec"];
    const int replicas = obj["spec"].value("replicas", 1);
    int ready = 0;
    if (kind == "DaemonSet") {
      labels["controller-revision-hash"] = "7f6d5c4b3a";
      auto targets = sched.eligibleNodes(spec, labels, ns);
      for (const json* node : targets) {
        const std::string pod = name + "-" + node->at("metadata").at("name").get<std::string>();
        sched.add({labels, spec, ns, "DaemonSet/" + name, node});
        extra.push_back(runningPod(pod, ns, labels, spec, node, ownerRef(obj, kind)));
      }
      const int n = static_cast<int>(targets.size());
      obj["status"] = {
          {"desiredNumberScheduled", n}, {"currentNumberScheduled", n}, {"numberReady", n},
          {"numberAvailable", n},        {"updatedNumberScheduled", n}, {"numberMisscheduled", 0}};
    } else if (kind == "StatefulSet") {
      labels["controller-revision-hash"] = name + "-7f6d5c4b3a";
      for (int i = 0; i < replicas; ++i) {
        const std::string pod = name + "-" + std::to_string(i);
        json pod_labels = labels;
        pod_labels["statefulset.kubernetes.io/pod-name"] = pod;
        pod_labels["apps.kubernetes.io/pod-index"] = std::to_string(i);
        json pod_spec = spec;
        std::vector<json> claims;
        for (const auto& t : obj["spec"].value("volumeClaimTemplates", json::array())) {
          const std::string claim = t["metadata"]["name"].get<std::string>() + "-" + pod;
          pod_spec["volumes"].push_back(
              {{"name", t["metadata"]["name"]}, {"persistentVolumeClaim", {{"claimName", claim}}}});
          claims.push_back({{"name", claim}, {"template", t}});
        }
        const json* node = schedule(obj, pod, pod_labels, pod_spec, ownerRef(obj, kind));
        if (node) ++ready;
        // The claim binds to a zonal disk where the pod landed (WaitForFirstConsumer).
        for (const auto& c : claims) {
          const std::string pv = "pv-" + c["name"].get<std::string>();
          json pvc = {{"apiVersion", "v1"},
                      {"kind", "PersistentVolumeClaim"},
                      {"metadata",
                       {{"name", c["name"]},
                        {"namespace", ns},
                        {"uid", "uid-pvc-" + c["name"].get<std::string>()}}},
                      {"spec", c["template"]["spec"]},
                      {"status", {{"phase", node ? "Bound" : "Pending"}}}};
          if (node) {
            pvc["spec"]["volumeName"] = pv;
            const std::string zone = labelsOf(*node)[kZoneKey];
            extra.push_back(
                {{"apiVersion", "v1"},
                 {"kind", "PersistentVolume"},
                 {"metadata", {{"name", pv}, {"uid", "uid-" + pv}}},
                 {"spec",
                  {{"capacity", {{"storage", "2Gi"}}},
                   {"accessModes", json::array({"ReadWriteOnce"})},
                   {"claimRef", {{"namespace", ns}, {"name", c["name"]}}},
                   {"nodeAffinity",
                    {{"required",
                      {{"nodeSelectorTerms",
                        json::array({{{"matchExpressions",
                                       json::array({{{"key", kZoneKey},
                                                     {"operator", "In"},
                                                     {"values", json::array({zone})}}})}}})}}}}}}},
                 {"status", {{"phase", "Bound"}}}});
          }
          extra.push_back(pvc);
        }
      }
      obj["status"] = {{"replicas", replicas},
                       {"readyReplicas", ready},
                       {"currentReplicas", replicas},
                       {"updatedReplicas", replicas},
                       {"availableReplicas", ready}};
    } else {  // Deployment, through its ReplicaSet
      const std::string hash = "5d8f7c9b6d";
      labels["pod-template-hash"] = hash;
      std::string rs_name = name;
      rs_name.append("-").append(hash);
      std::string rs_uid = "uid-rs-";
      rs_uid.append(ns).append("-").append(name);
      json rs = {
          {"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata",
           {{"name", rs_name},
            {"namespace", ns},
            {"uid", rs_uid},
            {"labels", labels},
            {"ownerReferences", json::array({ownerRef(obj, "Deployment")})}}},
          {"spec",
           {{"replicas", replicas}, {"selector", obj["spec"]["selector"]}, {"template", tmpl}}}};
      for (int i = 0; i < replicas; ++i)
        if (schedule(obj, rs_name + "-p" + std::to_string(i), labels, spec,
                     ownerRef(rs, "ReplicaSet")))
          ++ready;
      rs["status"] = {
          {"replicas", replicas}, {"readyReplicas", ready}, {"availableReplicas", ready}};
      obj["status"] = rs["status"];
      extra.push_back(rs);
    }
  }
  json items = json::array();
  for (auto& o : rendered) items.push_back(std::move(o));
  for (const auto& n : nodes) items.push_back(n);
  for (auto& o : extra) items.push_back(std::move(o));
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

json audit(const Workspace& ws, const json& cluster, const std::string& name) {
  const fs::path file = ws.scratch() / (name + ".json");
  std::ofstream(file) << cluster.dump(1);
  Run r = run(quote(rampart::testing::kCtlBin) + " audit --format json --now 1767225600 -f " +
                  quote(file.string()),
              ws.scratch());
  INFO("rampartctl audit ", name, ": ", r.err);
  REQUIRE(r.status == 0);
  return json::parse(r.out);
}

bool isRampart(const json& ref) {
  return ref.is_object() && ref.value("namespace", "") == kNamespace;
}

// Findings of severity medium or above about Rampart's own objects, and what-if
// domains whose loss takes a Rampart workload down or below its budget.
std::vector<std::string> problems(const json& report, const std::set<std::string>& ignore = {}) {
  std::vector<std::string> out;
  static const std::set<std::string> kSerious{"medium", "high", "critical"};
  for (const auto& f : report["findings"]) {
    if (!kSerious.contains(f.value("severity", "")) || ignore.contains(f.value("check", "")))
      continue;
    if (isRampart(f["subject"]) || isRampart(f["workload"]))
      out.push_back(f.value("severity", "") + " " + f.value("check", "") + ": " +
                    f.value("message", ""));
  }
  // Losing a domain that holds every node (the one zone or region) loses all.
  const size_t all_nodes = report["whatif"].value("nodes", json::array()).size();
  for (const char* kind : {"nodes", "zones", "regions"})
    for (const auto& d : report["whatif"].value(kind, json::array()))
      for (const char* what : {"outage", "below_pdb", "quorum_lost"}) {
        if (d.value("nodes", json::array()).size() == all_nodes) continue;
        for (const auto& ref : d.value(what, json::array()))
          if (isRampart(ref))
            out.push_back(std::string("whatif ") + kind + " " + d.value("name", "") + ": " + what +
                          " " + ref.value("kind", "") + " " + ref.value("name", ""));
      }
  return out;
}
bool hasCheck(const json& report, const std::string& check) {
  for (const auto& f : report["findings"])
    if (f.value("check", "") == check && (isRampart(f["subject"]) || isRampart(f["workload"])))
      return true;
  return false;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "\n  " + l;
  return s;
}

json& container(json& ctl, const std::string& name) {
  for (auto& c : ctl["spec"]["template"]["spec"]["containers"])
    if (c.value("name", "") == name) return c;
  FAIL("no container " << name);
  static json none;
  return none;
}

}  // namespace

TEST_CASE("every overlay renders with kubectl kustomize") {
  Workspace ws;
  for (const auto& overlay : ws.overlays()) {
    CAPTURE(overlay);
    auto docs = ws.render(overlay);
    for (const auto& d : docs) {
      CAPTURE(d.value("kind", ""));
      CAPTURE(d["metadata"].value("name", ""));
      const std::string ns = d["metadata"].value("namespace", "");
      // Namespaced objects live in rampart, but for the node-Lease reader.
      if (d.value("kind", "") == "Role" || d.value("kind", "") == "RoleBinding")
        CHECK((ns == kNamespace || ns == "kube-node-lease"));
      else if (!ns.empty())
        CHECK(ns == kNamespace);
    }
    // Each side holds its own private key and the other's public key only.
    json* agent_keys = findByPrefix(docs, "Secret", "rampart-agent-keys-");
    json* aggregator_keys = findByPrefix(docs, "Secret", "rampart-aggregator-keys-");
    REQUIRE(agent_keys);
    REQUIRE(aggregator_keys);
    std::set<std::string> agent_files, aggregator_files;
    for (const auto& [k, _] : (*agent_keys)["data"].items()) agent_files.insert(k);
    for (const auto& [k, _] : (*aggregator_keys)["data"].items()) aggregator_files.insert(k);
    CHECK(agent_files == std::set<std::string>{"agent.key", "aggregator.pub"});
    CHECK(aggregator_files == std::set<std::string>{"aggregator.key", "agent.pub"});
    // Agents connect to every aggregator replica.
    json* sts = find(docs, "StatefulSet", "rampart-aggregator");
    json* ds = find(docs, "DaemonSet", "rampart-agent");
    REQUIRE(sts);
    REQUIRE(ds);
    std::set<std::string> endpoints;
    for (const auto& a : container(*ds, "agent")["args"])
      if (a.get<std::string>().starts_with("--aggregator=tcp://"))
        endpoints.insert(a.get<std::string>());
    const int replicas = (*sts)["spec"].value("replicas", 1);
    CHECK(endpoints.size() == static_cast<size_t>(replicas));
    for (int i = 0; i < replicas; ++i)
      CHECK(endpoints.contains("--aggregator=tcp://rampart-aggregator-" + std::to_string(i) +
                               ".rampart-aggregator-ingest.rampart.svc:7400"));
  }
}

TEST_CASE("the copied alert rules and hooks match their sources") {
  const fs::path src(rampart::testing::kSourceDir);
  CHECK(slurp(src / "manifests/base/config/alert-rules.yaml") ==
        slurp(src / "aggregator/config/alert-rules.yaml"));
  CHECK(slurp(src / "manifests/components/hooks/files/hooks.yaml") ==
        slurp(src / "tools/hooks/hooks.example.yaml"));
  int scripts = 0;
  for (const auto& e : fs::directory_iterator(src / "tools/hooks")) {
    if (e.path().extension() != ".sh") continue;
    CAPTURE(e.path().filename().string());
    CHECK(slurp(src / "manifests/components/hooks/files" / e.path().filename()) == slurp(e.path()));
    ++scripts;
  }
  CHECK(scripts >= 6);
}

TEST_CASE("ha: the agent and aggregator pods are set up as the docs require") {
  Workspace ws;
  auto docs = ws.render("overlays/ha");
  json* ds = find(docs, "DaemonSet", "rampart-agent");
  REQUIRE(ds);
  const json pod = (*ds)["spec"]["template"]["spec"];
  CHECK(pod["tolerations"] == json::parse(R"([{"operator":"Exists"}])"));
  CHECK(pod["priorityClassName"] == "system-node-critical");
  CHECK(pod["securityContext"]["runAsNonRoot"] == true);
  json& agent = container(*ds, "agent");
  CHECK(agent["securityContext"]["readOnlyRootFilesystem"] == true);
  CHECK(agent["resources"]["requests"].contains("memory"));
  CHECK(agent["resources"]["limits"].contains("memory"));
  CHECK(agent["resources"]["limits"].contains("cpu"));
  bool node_name = false;
  for (const auto& e : agent["env"])
    if (e["name"] == "NODE_NAME")
      node_name = e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName";
  CHECK(node_name);
  bool host_root = false;
  for (const auto& m : agent["volumeMounts"])
    if (m["mountPath"] == "/host") host_root = m.value("readOnly", false);
  CHECK(host_root);

  json* sts = find(docs, "StatefulSet", "rampart-aggregator");
  REQUIRE(sts);
  json& agg = container(*sts, "aggregator");
  CHECK(agg["securityContext"]["readOnlyRootFilesystem"] == true);
  CHECK(agg["readinessProbe"]["httpGet"]["path"] == "/readyz");
  CHECK(agg["livenessProbe"]["httpGet"]["path"] == "/healthz");
  bool tunables = false;
  for (const auto& e : agg["env"])
    if (e["name"] == "GLIBC_TUNABLES") tunables = e["value"] == "glibc.malloc.hugetlb=1";
  CHECK(tunables);
  // The agent runs on every node, the tainted control plane included.
  Scheduler sched(threeZones());
  CHECK(sched.eligibleNodes(pod, labelsOf((*ds)["spec"]["template"]), kNamespace).size() == 9);
}

TEST_CASE("rampartctl audit finds nothing wrong with the ha deployment") {
  Workspace ws;
  for (const auto& overlay : {std::string("overlays/ha"), std::string("overlays/all")}) {
    CAPTURE(overlay);
    const auto docs = ws.render(overlay);
    for (const auto& [fixture, nodes] : {std::pair{std::string("three zones"), threeZones()},
                                         std::pair{std::string("one zone"), oneZone()}}) {
      CAPTURE(fixture);
      json report = audit(ws, clusterOf(docs, nodes), "ha");
      // In one zone every volume is in that zone: volume.zone-pinned (the
      // spread claims zone redundancy) says nothing about the manifests there;
      // the three-zone run checks it.
      auto found =
          problems(report, fixture == "one zone" ? std::set<std::string>{"volume.zone-pinned"}
                                                 : std::set<std::string>{});
      INFO("problems:", join(found));
      CHECK(found.empty());
      // The audit did see both replicas ready, and the agent on every node.
      std::map<std::string, int> ready;
      for (const auto& w : report["score"]["workloads"])
        if (isRampart(w)) ready[w.value("name", "")] = w.value("ready", 0);
      CHECK(ready["rampart-aggregator"] == 2);
      CHECK(ready["rampart-agent"] == static_cast<int>(nodes.size()));
    }
  }
}

TEST_CASE("the audit sees what base lacks, and what a weakened ha would lose") {
  Workspace ws;
  SUBCASE("base: one replica") {
    json report = audit(ws, clusterOf(ws.render("base"), threeZones()), "base");
    CHECK(hasCheck(report, "workload.single-replica"));
  }
  const auto ha = ws.render("overlays/ha");
  auto without = [&](const std::function<void(std::vector<json>&)>& edit) {
    auto docs = ha;
    edit(docs);
    return docs;
  };
  auto drop_spread = [](std::vector<json>& docs) {
    find(docs, "StatefulSet", "rampart-aggregator")
        ->at("spec")
        .at("template")
        .at("spec")
        .erase("topologySpreadConstraints");
  };
  auto drop_anti_affinity = [](std::vector<json>& docs) {
    find(docs, "StatefulSet", "rampart-aggregator")
        ->at("spec")
        .at("template")
        .at("spec")
        .erase("affinity");
  };
  SUBCASE("no topology spread: both replicas in one zone") {
    json report = audit(ws, clusterOf(without(drop_spread), threeZones()), "no-spread");
    CHECK(hasCheck(report, "workload.replicas-in-one-zone"));
  }
  SUBCASE("no anti-affinity: both replicas on one node of a one-zone cluster") {
    json report = audit(ws, clusterOf(without(drop_anti_affinity), oneZone()), "no-anti");
    CHECK(hasCheck(report, "workload.replicas-on-one-node"));
  }
  SUBCASE("neither: both on one node") {
    auto docs = without(drop_spread);
    drop_anti_affinity(docs);
    json report = audit(ws, clusterOf(docs, threeZones()), "neither");
    CHECK(hasCheck(report, "workload.replicas-on-one-node"));
  }
  SUBCASE("no PodDisruptionBudget") {
    auto docs = without([](std::vector<json>& d) {
      std::erase_if(d, [](const json& o) { return o.value("kind", "") == "PodDisruptionBudget"; });
    });
    json report = audit(ws, clusterOf(docs, threeZones()), "no-pdb");
    CHECK(hasCheck(report, "pdb.missing"));
  }
}
