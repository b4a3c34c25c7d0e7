// kubesim as a process: ready file, HTTP list/watch, faults over the CLI,
// injected API failures, clean exit on SIGTERM, node Leases and their renewal.
#include <doctest/doctest.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rampart/time.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart::testing;
using nlohmann::json;

namespace {

struct Kubesim {
  TempDir dir;
  std::unique_ptr<Process> process;
  std::string url;

  explicit Kubesim(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        rampart::testing::kKubesimBin,
        "serve",
        "--scenario",
        std::string(rampart::testing::kSourceDir) + "/tools/kubesim/scenarios/small.yaml",
        "--ready-file",
        (dir / "ready").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir / "kubesim.log");
    auto ready = readReadyFile(dir / "ready", "url", 20s);
    REQUIRE_MESSAGE(ready.has_value(), process->log());
    url = ready->at("url");
  }

  CommandResult fault(std::vector<std::string> args) {
    std::vector<std::string> argv = {rampart::testing::kKubesimBin, "fault", "--server", url};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, 20s);
  }
};

std::vector<json> events(const std::string& body) {
  std::vector<json> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

}  // namespace

TEST_CASE("the ready file names a URL that serves lists") {
  Kubesim sim;
  CHECK(sim.url.rfind("http://127.0.0.1:", 0) == 0);
  auto r = httpGet(sim.url + "/api/v1/nodes");
  REQUIRE(r.status == 200);
  auto list = json::parse(r.body);
  CHECK(list["kind"] == "NodeList");
  CHECK(list["items"].size() == 3);
  auto by_node = httpGet(sim.url + "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-c");
  REQUIRE(by_node.status == 200);
  auto node_c_pods = json::parse(by_node.body);  // the loop must not outlive its document
  CHECK_FALSE(node_c_pods["items"].empty());
  for (const auto& pod : node_c_pods["items"]) {
    CHECK(pod["spec"]["nodeName"] == "node-c");
  }
  auto bad = httpGet(sim.url + "/api/v1/pods?fieldSelector=spec.color%3Dred");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["message"] == "field label not supported: spec.color");
  auto missing = httpGet(sim.url + "/apis/apps/v1/namespaces/shop/deployments/nope");
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body)["reason"] == "NotFound");
}

TEST_CASE("a watch over HTTP sees a delete-pod fault as MODIFIED then DELETED") {
  Kubesim sim;
  auto list = httpGet(sim.url + "/api/v1/namespaces/default/pods");
  REQUIRE(list.status == 200);
  const std::string rv = json::parse(list.body)["metadata"]["resourceVersion"];
  // Watching from the list's resourceVersion sees every later event, however
  // the watch and the fault race.
  auto watch = std::async(std::launch::async, [&] {
    return httpGet(sim.url + "/api/v1/namespaces/default/pods?watch=1&resourceVersion=" + rv +
                       "&timeoutSeconds=5",
                   30s);
  });
  auto fault = sim.fault({"delete-pod", "default/debug"});
  REQUIRE_MESSAGE(fault.exit_code == 0, fault.output);
  auto r = watch.get();
  REQUIRE(r.status == 200);
  auto evs = events(r.body);
  REQUIRE(evs.size() == 2);
  CHECK(evs[0]["type"] == "MODIFIED");
  CHECK(evs[0]["object"]["kind"] == "Pod");
  CHECK(evs[0]["object"]["metadata"].contains("deletionTimestamp"));
  CHECK(evs[1]["type"] == "DELETED");
  CHECK(evs[1]["object"]["metadata"]["name"] == "debug");
}

TEST_CASE("a too-old resourceVersion gets one ERROR 410 event") {
  Kubesim sim({"--history", "2"});
  REQUIRE(sim.fault({"container-restart", "shop/db-0"}).exit_code == 0);
  REQUIRE(sim.fault({"container-restart", "shop/db-0"}).exit_code == 0);
  REQUIRE(sim.fault({"container-restart", "shop/db-1"}).exit_code == 0);
  auto r = httpGet(sim.url + "/api/v1/pods?watch=true&resourceVersion=1&timeoutSeconds=5");
  REQUIRE(r.status == 200);
  auto evs = events(r.body);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0]["type"] == "ERROR");
  CHECK(evs[0]["object"]["code"] == 410);
  CHECK(evs[0]["object"]["reason"] == "Expired");
  CHECK(evs[0]["object"]["message"].get<std::string>().rfind("too old resource version: 1 (", 0) ==
        0);
}

TEST_CASE("api-error and api-garbage faults hit the next API requests only") {
  Kubesim sim;
  auto r = sim.fault({"api-error", "--status", "500", "--count", "2"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  for (int i = 0; i < 2; ++i) {
    auto failed = httpGet(sim.url + "/api/v1/pods");
    CHECK(failed.status == 500);
    CHECK(json::parse(failed.body)["kind"] == "Status");
  }
  CHECK(httpGet(sim.url + "/api/v1/pods").status == 200);

  REQUIRE(sim.fault({"api-garbage", "--count", "1"}).exit_code == 0);
  auto state = httpGet(sim.url + "/_kubesim/state");  // not an API request: not affected
  REQUIRE(state.status == 200);
  CHECK(json::parse(state.body)["pendingApiGarbage"] == 1);
  auto garbage = httpGet(sim.url + "/api/v1/pods");
  CHECK(garbage.status == 200);
  CHECK_FALSE(json::accept(garbage.body));
  CHECK(json::accept(httpGet(sim.url + "/api/v1/pods").body));
}

TEST_CASE("bad faults are rejected with a clear message") {
  Kubesim sim;
  auto unknown = sim.fault({"node-down", "no-such-node"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.output.find("node no-such-node not found") != std::string::npos);
  auto usage = sim.fault({"explode"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.output.find("unknown fault 'explode'") != std::string::npos);
  auto bad_json = httpRequest("POST", sim.url + "/_kubesim/faults", "{not json");
  CHECK(bad_json.status == 400);
  CHECK(json::parse(bad_json.body)["error"].get<std::string>().find("invalid JSON") !=
        std::string::npos);
}

TEST_CASE("kubesim exits cleanly on SIGTERM, even with a watch open") {
  Kubesim sim;
  auto watch = std::async(std::launch::async, [&] {
    return httpGet(sim.url + "/api/v1/pods?watch=1&timeoutSeconds=120", 60s);
  });
  REQUIRE(waitUntil(
      [&] {
        auto st = httpGet(sim.url + "/_kubesim/state");
        return st.status == 200;
      },
      10s));
  sim.process->signal(SIGTERM);
  auto status = sim.process->wait(15s);
  REQUIRE_MESSAGE(status.has_value(), sim.process->log());
  CHECK(*status == 0);
  watch.get();
}

TEST_CASE("kubesim serve with a bad scenario exits non-zero with one clear line") {
  TempDir dir;
  std::ofstream(dir / "bad.yaml") << "nodes: [{name: n1}]\nworkloads: [{name: w, replicas: -1}]\n";
  auto r = runCommand(
      {rampart::testing::kKubesimBin, "serve", "--scenario", (dir / "bad.yaml").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("'replicas' must be a non-negative integer") != std::string::npos);
}

namespace {

constexpr const char* kLeases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

std::map<std::string, std::string> renewTimes(const Kubesim& sim) {
  std::map<std::string, std::string> out;
  auto r = httpGet(sim.url + kLeases);
  if (r.status != 200) return out;
  auto list = json::parse(r.body);
  for (const auto& l : list["items"]) out[l["metadata"]["name"]] = l["spec"]["renewTime"];
  return out;
}

}  // namespace

TEST_CASE("every node has its kubelet's Lease in kube-node-lease") {
  const auto before = std::chrono::system_clock::now();
  Kubesim sim;
  auto nodes = json::parse(httpGet(sim.url + "/api/v1/nodes").body)["items"];
  REQUIRE(nodes.size() == 3);
  auto r = httpGet(sim.url + kLeases);
  REQUIRE(r.status == 200);
  auto list = json::parse(r.body);
  CHECK(list["kind"] == "LeaseList");
  CHECK(list["apiVersion"] == "coordination.k8s.io/v1");
  REQUIRE(list["items"].size() == nodes.size());
  const auto since_epoch = [](auto t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    const json& node = nodes[i];
    const json& lease = list["items"][i];
    const std::string name = node["metadata"]["name"];
    CAPTURE(name);
    CHECK(lease["metadata"]["name"] == name);
    CHECK(lease["metadata"]["namespace"] == "kube-node-lease");
    CHECK(lease["metadata"]["ownerReferences"] ==
          json::array({{{"apiVersion", "v1"},
                        {"kind", "Node"},
                        {"name", name},
                        {"uid", node["metadata"]["uid"]}}}));
    CHECK(lease["spec"]["holderIdentity"] == name);
    CHECK(lease["spec"]["leaseDurationSeconds"] == 40);
    // MicroTime, renewed at start by the wall clock.
    const std::string renew = lease["spec"]["renewTime"];
    REQUIRE(renew.size() == 27);
    CHECK(renew[19] == '.');
    CHECK(renew.back() == 'Z');
    const auto parsed = rampart::parseRfc3339(renew);
    REQUIRE(parsed.has_value());
    const int64_t t = parsed->unix_seconds;
    CHECK(t >= since_epoch(before) - 1);
    CHECK(t <= since_epoch(std::chrono::system_clock::now()));
  }
  auto one = httpGet(sim.url + std::string(kLeases) + "/node-b");
  REQUIRE(one.status == 200);
  CHECK(json::parse(one.body)["kind"] == "Lease");
  auto by_name =
      httpGet(sim.url + "/apis/coordination.k8s.io/v1/leases?fieldSelector=metadata.name%3Dnode-c");
  REQUIRE(by_name.status == 200);
  auto selected = json::parse(by_name.body)["items"];
  REQUIRE(selected.size() == 1);
  CHECK(selected[0]["metadata"]["name"] == "node-c");
  auto discovery = json::parse(httpGet(sim.url + "/apis/coordination.k8s.io/v1").body);
  REQUIRE(discovery["resources"].size() == 1);
  CHECK(discovery["resources"][0]["name"] == "leases");
  CHECK(httpGet(sim.url + "/api/v1/namespaces/default/leases").status == 404);
}

TEST_CASE("a watch on leases sees renewals of every Ready node") {
  Kubesim sim({"--lease-renew-ms", "200"});
  const auto initial = renewTimes(sim);
  REQUIRE(initial.size() == 3);
  const std::string rv =
      json::parse(httpGet(sim.url + kLeases).body)["metadata"]["resourceVersion"];
  auto r = httpGet(
      sim.url + std::string(kLeases) + "?watch=1&timeoutSeconds=2&resourceVersion=" + rv, 30s);
  REQUIRE(r.status == 200);
  std::map<std::string, std::string> latest = initial;
  std::map<std::string, int> modified;
  uint64_t last_rv = std::stoull(rv);
  for (const auto& e : events(r.body)) {
    REQUIRE(e["type"] == "MODIFIED");
    CHECK(e["object"]["kind"] == "Lease");
    const std::string name = e["object"]["metadata"]["name"];
    const std::string renew = e["object"]["spec"]["renewTime"];
    CHECK(renew > latest[name]);
    latest[name] = renew;
    ++modified[name];
    const uint64_t event_rv =
        std::stoull(e["object"]["metadata"]["resourceVersion"].get<std::string>());
    CHECK(event_rv > last_rv);
    last_rv = event_rv;
  }
  CHECK(modified.size() == 3);
  for (const auto& [name, count] : modified) CHECK(count >= 1);
}

TEST_CASE("node-down stops a node's lease renewals while the others go on; node-up renews it") {
  Kubesim sim({"--lease-renew-ms", "200"});
  auto down = sim.fault({"node-down", "node-b"});
  REQUIRE_MESSAGE(down.exit_code == 0, down.output);
  const auto at_down = renewTimes(sim);
  REQUIRE(at_down.size() == 3);
  // Two renewals of the others after the fault, none of node-b.
  std::string a_seen = at_down.at("node-a");
  int a_renewals = 0;
  REQUIRE_MESSAGE(waitUntil(
                      [&] {
                        auto now = renewTimes(sim);
                        if (now.size() != 3) return false;
                        if (now["node-a"] != a_seen) {
                          a_seen = now["node-a"];
                          ++a_renewals;
                        }
                        return a_renewals >= 2 && now["node-c"] > at_down.at("node-c");
                      },
                      15s),
                  sim.process->log());
  CHECK(renewTimes(sim).at("node-b") == at_down.at("node-b"));

  auto up = sim.fault({"node-up", "node-b"});
  REQUIRE_MESSAGE(up.exit_code == 0, up.output);
  const std::string at_up = renewTimes(sim).at("node-b");
  CHECK(at_up > at_down.at("node-b"));  // at once, not at the next round
  CHECK(waitUntil([&] { return renewTimes(sim)["node-b"] > at_up; }, 15s));
}

TEST_CASE("kubectl get leases -n kube-node-lease prints NAME HOLDER AGE") {
  constexpr const char* kKubectl = "/usr/bin/kubectl";
  if (!std::filesystem::exists(kKubectl)) {
    FAIL("kubectl is not installed at " << kKubectl);
  }
  Kubesim sim;
  auto r = runCommand({"/usr/bin/env", "HOME=" + (sim.dir / "home").string(), kKubectl, "--server",
                       sim.url, "get", "leases", "-n", "kube-node-lease"},
                      60s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string w; words >> w;) row.push_back(w);
    if (!row.empty()) rows.push_back(row);
  }
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"NAME", "HOLDER", "AGE"});
  const char* names[] = {"node-a", "node-b", "node-c"};
  for (size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 3);
    CHECK(rows[i][0] == names[i - 1]);
    CHECK(rows[i][1] == names[i - 1]);
  }
}
