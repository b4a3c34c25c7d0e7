// The decoder's limits (docs/security.md, "Limits"): a frame is refused on
// the size its lists and texts declare, before anything is allocated for
// them, and realistic reports of a full node pass the defaults with room.
#include <doctest/doctest.h>

#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include "cluster_gen.h"
#include "hostile_frames.h"
#include "rampart.capnp.h"
#include "rampart/k8s_objects.h"
#include "rampart/wire.h"

using namespace rampart;
using namespace rampart::wire;

namespace {

// Realistic pods: the benchmark generator's cluster, decoded as the agent
// decodes the API server's pods.
std::vector<Pod> generatedPods(int count) {
  bench::ClusterShape shape;
  shape.nodes = 4;
  shape.pods = count + 200;
  k8s::Objects objects;
  REQUIRE(k8s::decodeObjects(bench::generateCluster(shape).json, objects).has_value());
  REQUIRE(objects.pods.size() >= static_cast<size_t>(count));
  objects.pods.resize(count);
  return objects.pods;
}

Report fullReport(std::vector<Pod> pods) {
  Report r;
  r.identity.node.name = "worker-b1";
  r.full = true;
  r.sequence = 1;
  r.pods = std::move(pods);
  return r;
}

uint64_t unpackedWords(const std::string& frame) {
  kj::ArrayInputStream in(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(frame.data()), frame.size()));
  capnp::PackedMessageReader reader(in);
  return reader.getRoot<proto::Envelope>().totalSize().wordCount;
}

}  // namespace

TEST_CASE("a 44-byte frame declaring a million pods is refused before anything is allocated") {
  const std::string frame = testing::declaredPodsFrame(1'000'000);
  INFO("frame bytes: " << frame.size());
  CHECK(frame.size() < 64);
  // Cap'n Proto charges each zero-word element one word of the traversal
  // limit, which the frame's size bounds: the list is refused when read.
  auto r = decode(frame);
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().describe());
  CHECK(r.error().code == ErrorCode::kLimit);
  CHECK(r.error().reason == "amplification");

  // A count the size bound allows is refused on the pods limit, before the
  // vector is reserved.
  auto over = decode(testing::declaredPodsFrame(DecodeLimits{}.max_pods + 1));
  REQUIRE_FALSE(over.has_value());
  CHECK(over.error().reason == "pods");
  CHECK(over.error().message.find(std::to_string(DecodeLimits{}.max_pods + 1) + " pods") !=
        std::string::npos);
  CHECK(decode(testing::declaredPodsFrame(DecodeLimits{}.max_pods)).has_value());
}

TEST_CASE("each list and text limit refuses the frame and names itself") {
  Report r = fullReport({});
  DecodeLimits limits;
  limits.max_pods = 3;
  limits.max_findings = 2;
  limits.max_probes = 2;
  limits.max_list_items = 4;
  limits.max_text_bytes = 32;
  auto reason = [&](const Message& m) -> std::string {
    auto d = decode(encode(m), limits);
    if (d.has_value()) return "accepted";
    CHECK(d.error().code == ErrorCode::kLimit);
    return std::string(d.error().reason);
  };
  CHECK(reason(r) == "accepted");

  Report pods = r;
  pods.pods.resize(4);
  CHECK(reason(pods) == "pods");
  Report removed = r;
  removed.removed_pod_uids = {"a", "b", "c", "d"};
  CHECK(reason(removed) == "pods");
  Report findings = r;
  findings.placement_findings.resize(3);
  CHECK(reason(findings) == "findings");
  Report probes = r;
  probes.probe_results.resize(3);
  CHECK(reason(probes) == "probes");
  Heartbeat heartbeat{"worker-b1", "boot", 1, 1, {}, {}};
  heartbeat.probe_results.resize(3);
  CHECK(reason(heartbeat) == "probes");

  Report labels = r;
  for (int i = 0; i < 5; ++i) labels.identity.node.labels["k" + std::to_string(i)] = "v";
  CHECK(reason(labels) == "list_items");
  Report pod_labels = r;
  pod_labels.pods.resize(1);
  for (int i = 0; i < 5; ++i) pod_labels.pods[0].labels["k" + std::to_string(i)] = "v";
  CHECK(reason(pod_labels) == "list_items");
  Report containers = r;
  containers.pods.resize(1);
  containers.pods[0].containers.resize(5);
  CHECK(reason(containers) == "list_items");
  Report values = r;
  values.pods.resize(1);
  values.pods[0].placement.node_affinity =
      NodeAffinity{{NodeSelectorTerm{{{"zone", "In", {"a", "b", "c", "d", "e"}}}, {}}}, {}};
  CHECK(reason(values) == "list_items");

  Report name = r;
  name.identity.node.name = std::string(33, 'n');
  CHECK(reason(name) == "text_bytes");
  Report pod_name = r;
  pod_name.pods.resize(1);
  pod_name.pods[0].name = std::string(33, 'p');
  CHECK(reason(pod_name) == "text_bytes");
  CHECK(reason(Resync{std::string(33, 'r')}) == "text_bytes");
}

TEST_CASE("a full node's report passes the default limits with room") {
  // 4x the kubelet's default of 110 pods per node.
  const Report r = fullReport(generatedPods(440));
  const std::string frame = encode(r);
  const uint64_t words = unpackedWords(frame);
  const double ratio = static_cast<double>(words) / static_cast<double>(frame.size());
  MESSAGE("440 generated pods: " << frame.size() << " packed bytes, " << words
                                 << " unpacked words, " << ratio << " words per byte");
  const DecodeLimits defaults;
  CHECK(frame.size() * 4 < defaults.max_frame_bytes);
  // Room under the amplification bound: twice the ratio still passes.
  CHECK(ratio * 2 < static_cast<double>(kWordsPerFrameByte));
  auto d = decode(frame);
  REQUIRE(d.has_value());
  CHECK(std::get<Report>(d->message) == r);
}
