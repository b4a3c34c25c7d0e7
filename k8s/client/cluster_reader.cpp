#include "rampart/cluster_reader.h"

#include <nlohmann/json.hpp>
#include <utility>

namespace rampart::k8s {
namespace {

// metadata.resourceVersion and metadata.continue of a list, without building
// the document: the API server writes metadata before items, so parsing
// stops right after it.
class ListMetaFinder : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string resource_version;
  std::string continue_token;

  bool key(string_t& k) override {
    if (depth_ == 1) in_metadata_ = k == "metadata";
    want_ = nullptr;
    if (in_metadata_ && depth_ == 2) {
      if (k == "continue") want_ = &continue_token;
      if (k == "resourceVersion") want_ = &resource_version;
    }
    return true;
  }
  bool string(string_t& v) override {
    if (want_ != nullptr) *want_ = v;
    want_ = nullptr;
    return true;
  }
  bool start_object(std::size_t) override {
    ++depth_;
    want_ = nullptr;
    return true;
  }
  bool end_object() override {
    --depth_;
    return !(depth_ == 1 && in_metadata_);
  }
  bool start_array(std::size_t) override {
    ++depth_;
    want_ = nullptr;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t) override { return scalar(); }
  bool number_unsigned(number_unsigned_t) override { return scalar(); }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool binary(binary_t&) override { return scalar(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool scalar() {
    want_ = nullptr;
    return true;
  }
  int depth_ = 0;
  bool in_metadata_ = false;
  std::string* want_ = nullptr;
};

}  // namespace

ListMeta listMeta(std::string_view body) {
  ListMetaFinder finder;
  nlohmann::json::sax_parse(body, &finder, nlohmann::json::input_format_t::json, false);
  return {std::move(finder.resource_version), std::move(finder.continue_token)};
}

namespace {

constexpr const char* kHpaV1 = "/apis/autoscaling/v1/horizontalpodautoscalers";

struct Listed {
  bool served = true;  // false: the server answered 404
};

// Lists one path to its end, decoding every page into `out`.
Result<Listed> listAll(KubeClient& client, const std::string& path, const ReadOptions& options,
                       Objects& out) {
  std::string token;
  for (;;) {
    std::string target = path + "?limit=" + std::to_string(options.page_size);
    if (!token.empty()) target += "&continue=" + urlEncode(token);
    auto body = client.get(target, options.request_timeout);
    if (!body) {
      if (body.error().http_status == 404 && token.empty()) return Listed{false};
      Error e = body.error();
      e.message = "GET " + path + ": " + e.message;
      return std::unexpected(e);
    }
    // The token first: the page is then handed over to be decoded in place.
    token = listMeta(*body).continue_token;
    if (auto ok = decodeObjects(std::move(*body), out); !ok) {
      Error e = ok.error();
      e.message = "GET " + path + ": " + e.message;
      return std::unexpected(e);
    }
    if (token.empty()) return Listed{};
  }
}

}  // namespace

const std::vector<LiveList>& liveLists() {
  static const std::vector<LiveList> kLists = {
      {"/api/v1/nodes", "Nodes"},
      {"/api/v1/pods", "Pods"},
      {"/api/v1/services", "Services"},
      {"/api/v1/namespaces", "Namespaces"},
      {"/api/v1/persistentvolumeclaims", "PersistentVolumeClaims"},
      {"/api/v1/persistentvolumes", "PersistentVolumes"},
      {"/apis/apps/v1/deployments", "Deployments"},
      {"/apis/apps/v1/replicasets", "ReplicaSets"},
      {"/apis/apps/v1/statefulsets", "StatefulSets"},
      {"/apis/apps/v1/daemonsets", "DaemonSets"},
      {"/apis/policy/v1/poddisruptionbudgets", "PodDisruptionBudgets"},
      {"/apis/autoscaling/v2/horizontalpodautoscalers", "HorizontalPodAutoscalers"},
      {"/apis/velero.io/v1/backups", "Velero Backups", true},
      {"/apis/velero.io/v1/schedules", "Velero Schedules", true},
      // Node heartbeats (docs/checks.md, "Liveness"); optional: a server
      // without them only loses the lease corroboration of silent agents.
      {"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "Node Leases", true},
  };
  return kLists;
}

Result<Objects> readCluster(KubeClient& client, const ReadOptions& options) {
  Objects out;
  for (const auto& list : liveLists()) {
    auto listed = listAll(client, list.path, options, out);
    if (!listed) return std::unexpected(listed.error());
    if (listed->served || list.optional) continue;
    if (list.path.find("/autoscaling/v2/") != std::string::npos) {
      // Servers before 1.23 have only autoscaling/v1; its HPAs decode the same.
      auto v1 = listAll(client, kHpaV1, options, out);
      if (!v1) return std::unexpected(v1.error());
      if (v1->served) continue;
    }
    out.warnings.push_back(list.what + " not read: the API server does not serve " + list.path +
                           " (404)");
  }
  return out;
}

}  // namespace rampart::k8s
