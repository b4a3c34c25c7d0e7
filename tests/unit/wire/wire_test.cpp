#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "rampart/wire.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::wire;

namespace {

// A report exercising every field of the v1 schema. The golden file
// tests/data/golden/report-v1.bin holds its encoding as version 1 wrote it.
Report sampleReport() {
  Report r;
  r.identity.node.name = "node-a1";
  r.identity.node.uid = "6b1d0c1e-1111-4c2a-9b1e-000000000001";
  r.identity.node.zone = "zone-a";
  r.identity.node.region = "region-1";
  r.identity.node.labels = {{"kubernetes.io/hostname", "node-a1"},
                            {"topology.kubernetes.io/zone", "zone-a"}};
  r.identity.node.taints = {{"dedicated", "db", "NoSchedule"}};
  r.identity.node.control_plane = false;
  r.identity.node.unschedulable = true;
  r.identity.node.kubelet_version = "v1.31.2";
  r.identity.node.conditions = {{"Ready", "True", "KubeletReady"},
                                {"MemoryPressure", "False", "KubeletHasSufficientMemory"}};
  r.identity.agent_version = "0.1.0";
  r.identity.boot_id = "0d3c52a6-5c4c-4c5b-a4b8-5e0f6e1f2a3b";
  r.sequence = 42;
  r.sent_unix_ms = 1764000000123;
  r.full = false;
  r.base_sequence = 41;
  r.health.cpu_usage_ratio = 0.25;
  r.health.cpu_count = 4;
  r.health.load1 = 0.5;
  r.health.load5 = 0.75;
  r.health.load15 = 1.0;
  r.health.memory_total_bytes = 8ull << 30;
  r.health.memory_available_bytes = 3ull << 30;
  r.health.pressure = Pressure{1.5, 2.5, 0.5, 3.25, 0.125};
  r.health.filesystems = {{"/", 100ull << 30, 40ull << 30, 6553600, 6000000}};
  r.health.uptime_seconds = 12345.5;
  r.health.boot_id = r.identity.boot_id;

  Pod p;
  p.uid = "pod-uid-1";
  p.namespace_ = "shop";
  p.name = "web-7d4b9c8f6d-abcde";
  p.node_name = "node-a1";
  p.labels = {{"app", "web"}, {"pod-template-hash", "7d4b9c8f6d"}};
  p.owners = {{"ReplicaSet", "web-7d4b9c8f6d", "rs-uid", true, false},
              {"Deployment", "web", "", true, true}};
  p.phase = PodPhase::kRunning;
  p.ready = true;
  p.terminating = false;
  p.created_unix = 1764000000;
  p.resource_version = "1234";
  ContainerStatus init;
  init.name = "init-db";
  init.init = true;
  init.state = ContainerState::kTerminated;
  init.state_reason = "Completed";
  ContainerStatus c;
  c.name = "web";
  c.ready = true;
  c.restart_count = 3;
  c.state = ContainerState::kRunning;
  c.last_termination_reason = "OOMKilled";
  c.last_termination_exit_code = 137;
  c.probes = {true, true, false};
  p.containers = {init, c};
  p.placement.node_selector = {{"disk", "ssd"}};
  NodeAffinity na;
  na.required = {NodeSelectorTerm{{{"topology.kubernetes.io/zone", "In", {"zone-a", "zone-b"}}},
                                  {{"metadata.name", "NotIn", {"node-x"}}}}};
  na.preferred = {PreferredSchedulingTerm{10, NodeSelectorTerm{{{"gpu", "Exists", {}}}, {}}}};
  p.placement.node_affinity = na;
  PodAffinityTerm anti;
  anti.label_selector = LabelSelector{{{"app", "web"}}, {{"tier", "NotIn", {"batch"}}}};
  anti.namespaces = {"shop"};
  anti.namespace_selector = LabelSelector{{{"team", "a"}}, {}};
  anti.topology_key = "kubernetes.io/hostname";
  anti.match_label_keys = {"pod-template-hash"};
  anti.mismatch_label_keys = {"tenant"};
  p.placement.pod_anti_affinity = PodAffinityRules{{anti}, {WeightedPodAffinityTerm{100, anti}}};
  p.placement.pod_affinity = PodAffinityRules{{}, {}};
  TopologySpreadConstraint tsc;
  tsc.max_skew = 1;
  tsc.topology_key = "topology.kubernetes.io/zone";
  tsc.when_unsatisfiable = "DoNotSchedule";
  tsc.label_selector = LabelSelector{{{"app", "web"}}, {}};
  tsc.min_domains = 3;
  tsc.node_affinity_policy = "Honor";
  tsc.node_taints_policy = "Ignore";
  tsc.match_label_keys = {"pod-template-hash"};
  p.placement.topology_spread = {tsc};
  p.placement.tolerations = {{"node.kubernetes.io/not-ready", "Exists", "", "NoExecute", 300},
                             {"dedicated", "Equal", "db", "NoSchedule", std::nullopt}};
  p.pvc_names = {"data-web-0"};
  r.pods = {p};
  r.removed_pod_uids = {"gone-1", "gone-2"};
  return r;
}

// Version 2 added NodeReport.placementFindings: the sample report with two.
Report sampleReportV2() {
  Report r = sampleReport();
  PlacementFinding anti;
  anti.check = "placement.anti-affinity";
  anti.severity = "high";
  anti.hard = true;
  anti.pods = {"shop/web-7d4b9c8f6d-abcde", "shop/web-7d4b9c8f6d-fghij"};
  anti.workload = WorkloadRef{"Deployment", "shop", "web"};
  anti.message = "shop/web-7d4b9c8f6d-abcde shares node node-a1 with 1 pod";
  anti.details_json =
      R"({"terms":[{"topology_key":"kubernetes.io/hostname","domain":"node-a1","required":true,)"
      R"("matching_pods":["shop/web-7d4b9c8f6d-fghij"]}]})";
  anti.remediation = "delete it";
  PlacementFinding taint;
  taint.check = "placement.taint";
  taint.severity = "low";
  taint.pods = {"shop/debug"};
  taint.message = "shop/debug runs on node node-a1 with 1 taint it does not tolerate";
  r.placement_findings = {anti, taint};
  return r;
}

// Version 3 added NodeReport.probeResults (and Heartbeat.probeResults): the
// v2 sample with three results.
Report sampleReportV3() {
  Report r = sampleReportV2();
  r.probe_results = {
      {"kubelet", ProbeKind::kKubelet, "http://127.0.0.1:10248/healthz", true, 1.25, "",
       1764000000100, 0},
      {"apiserver", ProbeKind::kApiServer, "https://10.0.0.1:6443/readyz", false, 2000, "timeout",
       1764000000101, 3},
      {"db", ProbeKind::kTcp, "10.0.0.5:5432", false, 0.5, "connection refused", 1764000000102, 1},
  };
  return r;
}

std::filesystem::path goldenPath(int version = 1) {
  return testing::testData("golden/report-v" + std::to_string(version) + ".bin");
}

}  // namespace

TEST_CASE("every message kind round-trips through the wire codec") {
  Report report = sampleReportV3();
  Hello hello{report.identity, 1764000000000, 1000, 30};
  Heartbeat hb{"node-a1",     report.identity.boot_id, 42,
               1764000000999, report.health,           report.probe_results};
  Resync resync{"sequence gap: expected 7, got 9"};
  for (const Message& m : std::vector<Message>{report, hello, hb, resync}) {
    CAPTURE(messageKindName(m));
    auto decoded = decode(encode(m));
    REQUIRE(decoded.has_value());
    CHECK(decoded->sender_version == kWireVersion);
    CHECK(decoded->message == m);
  }
}

TEST_CASE("golden v1 report: today's decoder reads it, with no placement findings") {
  // Frozen: written by version 1. Today's encoder writes version 2 (NodeReport
  // grew a pointer), so only the decoding is checked.
  std::string golden = testing::readFile(goldenPath(1));
  REQUIRE_MESSAGE(!golden.empty(), "missing golden file " << goldenPath(1));
  auto decoded = decode(golden);
  REQUIRE(decoded.has_value());
  CHECK(decoded->sender_version == 1);
  const auto& got = std::get<Report>(decoded->message);
  CHECK(got == sampleReport());
  CHECK(got.placement_findings.empty());
}

TEST_CASE("golden v2 report: today's decoder reads it, with no probe results") {
  // Frozen: written by version 2. Today's encoder writes version 3, so only
  // the decoding is checked.
  std::string golden = testing::readFile(goldenPath(2));
  REQUIRE_MESSAGE(!golden.empty(), "missing golden file " << goldenPath(2));
  auto decoded = decode(golden);
  REQUIRE(decoded.has_value());
  CHECK(decoded->sender_version == 2);
  const auto& got = std::get<Report>(decoded->message);
  CHECK(got == sampleReportV2());
  REQUIRE(got.placement_findings.size() == 2);
  CHECK(got.placement_findings[0].workload == WorkloadRef{"Deployment", "shop", "web"});
  CHECK_FALSE(got.placement_findings[1].workload.has_value());
  CHECK(got.probe_results.empty());
}

TEST_CASE("golden v3 report: today's decoder reads it, with its pods known") {
  // Frozen: written by version 3. Today's encoder writes version 4, so only
  // the decoding is checked.
  std::string golden = testing::readFile(goldenPath(3));
  REQUIRE_MESSAGE(!golden.empty(), "missing golden file " << goldenPath(3));
  auto decoded = decode(golden);
  REQUIRE(decoded.has_value());
  CHECK(decoded->sender_version == 3);
  const auto& got = std::get<Report>(decoded->message);
  CHECK(got == sampleReportV3());
  REQUIRE(got.probe_results.size() == 3);
  CHECK(got.probe_results[1].kind == ProbeKind::kApiServer);
  CHECK(got.probe_results[1].consecutive_failures == 3);
  CHECK(got.probe_results[1].latency_ms == 2000);
  CHECK(got.probe_results[2].error == "connection refused");
  CHECK_FALSE(got.pods_unknown);
}

TEST_CASE("golden v4 report: today's encoder writes it and today's decoder reads it") {
  // A full report of an agent that has not listed its pods yet.
  Report r = sampleReportV3();
  r.full = true;
  r.pods.clear();
  r.removed_pod_uids.clear();
  r.base_sequence = 0;
  r.pods_unknown = true;
  std::string encoded = encode(r);
  if (std::getenv("RAMPART_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(goldenPath(4), std::ios::binary) << encoded;
  }
  std::string golden = testing::readFile(goldenPath(4));
  REQUIRE_MESSAGE(!golden.empty(), "missing golden file " << goldenPath(4));
  auto decoded = decode(golden);
  REQUIRE(decoded.has_value());
  CHECK(decoded->sender_version == 4);
  const auto& got = std::get<Report>(decoded->message);
  CHECK(got == r);
  CHECK(got.pods_unknown);
  CHECK(got.pods.empty());
  CHECK(encoded == golden);
}

TEST_CASE("probe results round-trip in full reports, deltas and heartbeats; none stays none") {
  for (bool full : {true, false}) {
    CAPTURE(full);
    Report r = sampleReportV3();
    r.full = full;
    auto decoded = decode(encode(r));
    REQUIRE(decoded.has_value());
    CHECK(std::get<Report>(decoded->message).probe_results == r.probe_results);
  }
  Heartbeat hb{"node-a1", "boot", 7, 1764000000999, {}, sampleReportV3().probe_results};
  auto decoded = decode(encode(hb));
  REQUIRE(decoded.has_value());
  CHECK(std::get<Heartbeat>(decoded->message).probe_results == hb.probe_results);
  hb.probe_results.clear();
  decoded = decode(encode(hb));
  REQUIRE(decoded.has_value());
  CHECK(std::get<Heartbeat>(decoded->message).probe_results.empty());
}

TEST_CASE("placement findings round-trip in full and delta reports") {
  for (bool full : {true, false}) {
    CAPTURE(full);
    Report r = sampleReportV2();
    r.full = full;
    auto decoded = decode(encode(r));
    REQUIRE(decoded.has_value());
    CHECK(std::get<Report>(decoded->message).placement_findings == r.placement_findings);
  }
}

TEST_CASE("optional fields stay absent after a round trip") {
  Report r = sampleReport();
  r.health.pressure.reset();
  r.pods[0].placement = PlacementSpec{};
  auto decoded = decode(encode(r));
  REQUIRE(decoded.has_value());
  const auto& got = std::get<Report>(decoded->message);
  CHECK_FALSE(got.health.pressure.has_value());
  CHECK_FALSE(got.pods[0].placement.node_affinity.has_value());
  CHECK_FALSE(got.pods[0].placement.pod_anti_affinity.has_value());
}

TEST_CASE("truncated frames are rejected with an error, never a crash") {
  std::string frame = encode(sampleReport());
  int rejected = 0;
  for (size_t len = 0; len < frame.size(); len += 7) {
    auto r = decode(std::string_view(frame.data(), len));
    if (!r.has_value()) {
      ++rejected;
      CHECK(r.error().code == ErrorCode::kParse);
    }
  }
  // Every strict prefix is missing data the segment table promises.
  CHECK(rejected == static_cast<int>((frame.size() + 6) / 7));
}

TEST_CASE("random bytes are rejected or decode to something, never crash") {
  std::mt19937 rng(7);
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string junk(1 + rng() % 512, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    auto r = decode(junk);
    if (!r.has_value()) ++errors;
  }
  CHECK(errors > 1900);
}

TEST_CASE("empty and oversized frames are rejected") {
  CHECK_FALSE(decode(std::string_view{}).has_value());
  std::string big(DecodeLimits{}.max_frame_bytes + 1, '\0');
  auto r = decode(big);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kLimit);
  CHECK(r.error().reason == "frame_bytes");
}

TEST_CASE("a full report of a busy node (250 pods) round-trips") {
  Report r = sampleReport();
  r.full = true;
  Pod base = r.pods[0];
  r.pods.clear();
  for (int i = 0; i < 250; ++i) {
    Pod p = base;
    p.uid = "uid-" + std::to_string(i);
    p.name = "web-" + std::to_string(i);
    p.ready = i % 3 != 0;
    r.pods.push_back(p);
  }
  auto decoded = decode(encode(r));
  REQUIRE(decoded.has_value());
  CHECK(std::get<Report>(decoded->message) == r);
}
