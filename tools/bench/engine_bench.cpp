// tools/dev bench engine: generated clusters of growing size (the documented
// Kubernetes limits at the top: 5,000 nodes, 150,000 pods) are decoded from
// kubectl-shaped JSON, evaluated (every check, the what-if of every node, zone
// and region, the score) and rendered as the audit JSON. Prints wall times and
// peak memory; docs/benchmarks.md records the figures.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cluster_gen.h"
#include "rampart/engine.h"
#include "rampart/engine_input.h"
#include "rampart/engine_json.h"
#include "rampart/k8s_objects.h"

using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

long peakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

long currentRssMiB() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long pages = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return n == 2 ? resident * 4096 / (1024 * 1024) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {1000, 10000, 150000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  }
  std::printf("%-8s %-6s %-10s %-9s %-10s %-10s %-10s %-9s %-9s\n", "pods", "nodes", "json_MB",
              "decode_ms", "evaluate_ms", "render_ms", "total_ms", "findings", "peak_MiB");
  for (int pods : sizes) {
    rampart::bench::ClusterShape shape;
    shape.pods = pods;
    shape.nodes = std::max(3, pods / 30);
    rampart::bench::GeneratedCluster g = rampart::bench::generateCluster(shape);

    auto t0 = Clock::now();
    rampart::k8s::Objects objects;
    auto r = rampart::k8s::decodeObjects(g.json, objects);
    if (!r) {
      std::fprintf(stderr, "decode failed: %s\n", r.error().describe().c_str());
      return 1;
    }
    double decode_ms = msSince(t0);
    size_t json_bytes = g.json.size();
    std::string().swap(g.json);  // the dump is not needed after decoding

    auto t1 = Clock::now();
    rampart::engine::Snapshot snapshot =
        rampart::engine::snapshotOf(std::move(objects), 1790000000);
    rampart::engine::Report report = rampart::engine::evaluate(snapshot, {});
    double evaluate_ms = msSince(t1);

    auto t2 = Clock::now();
    std::string out = rampart::engine::reportToJson(report).dump();
    double render_ms = msSince(t2);

    std::printf("%-8d %-6d %-10.1f %-9.0f %-11.0f %-10.0f %-10.0f %-9zu %-9ld\n", g.pods, g.nodes,
                static_cast<double>(json_bytes) / 1e6, decode_ms, evaluate_ms, render_ms,
                decode_ms + evaluate_ms + render_ms, report.findings.size(), peakRssMiB());
    std::fflush(stdout);
    (void)currentRssMiB;
  }
  return 0;
}
