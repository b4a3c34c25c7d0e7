// tools/dev bench engine: generated clusters of growing size (the documented
// Kubernetes limits at the top: 5,000 nodes, 150,000 pods) are decoded from
// kubectl-shaped JSON, evaluated (every check, the what-if of every node, zone
// and region, the score) and rendered as the audit JSON. Prints wall times,
// the CPU time of the three phases (steadier than wall time on a busy
// machine), minor page faults and peak memory; docs/benchmarks.md records the
// figures.
//
// Usage: rampart-bench-engine [--copy] [--repeat N] [--incremental [--changes N]] [pods...]
//   --copy      decodes from a std::string_view (the decoder's own padded
//               copy) instead of handing the dump over.
//   --repeat N  runs each size N times and prints the run with the lowest
//               total wall time (every run starts from a fresh generated dump).
//               Runs after the first reuse the heap the first one freed (no
//               page faults): warm figures, as in the long-running aggregator;
//               one-shot rampartctl figures come from separate processes.
//   --incremental  the live engine instead (engine::Incremental): first
//               evaluation, N single-pod changes (--changes, default 200)
//               timed one by one, the merged report.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster_gen.h"
#include "rampart/engine.h"
#include "rampart/engine_incremental.h"
#include "rampart/engine_input.h"
#include "rampart/engine_json.h"
#include "rampart/k8s_objects.h"

using Clock = std::chrono::steady_clock;

namespace {

// Wall time, CPU time (user + system) and minor page faults of the process.
struct Sample {
  Clock::time_point wall;
  double cpu_ms = 0;
  long minflt = 0;

  static Sample now() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ms = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
    };
    return {Clock::now(), ms(ru.ru_utime) + ms(ru.ru_stime), ru.ru_minflt};
  }
};

struct Phase {
  double wall_ms = 0;
  double cpu_ms = 0;
  long faults = 0;
};

Phase between(const Sample& a, const Sample& b) {
  return {std::chrono::duration<double, std::milli>(b.wall - a.wall).count(), b.cpu_ms - a.cpu_ms,
          b.minflt - a.minflt};
}

long peakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

struct Run {
  int pods = 0, nodes = 0;
  double json_mb = 0;
  Phase decode, evaluate, render;
  size_t findings = 0;
  double total() const { return decode.wall_ms + evaluate.wall_ms + render.wall_ms; }
  double totalCpu() const { return decode.cpu_ms + evaluate.cpu_ms + render.cpu_ms; }
};

bool runOnce(int pods, bool copy, Run& run) {
  rampart::bench::ClusterShape shape;
  shape.pods = pods;
  shape.nodes = std::max(3, pods / 30);
  rampart::bench::GeneratedCluster g = rampart::bench::generateCluster(shape);
  run.pods = g.pods;
  run.nodes = g.nodes;
  run.json_mb = static_cast<double>(g.json.size()) / 1e6;

  Sample s0 = Sample::now();
  rampart::k8s::Objects objects;
  // The dump is handed over, as rampartctl can do with a file it read: the
  // decoder parses it in place and frees it on return. --copy decodes from
  // a view instead (a copy; the dump kept until decoding ends).
  auto r = copy ? rampart::k8s::decodeObjects(std::string_view(g.json), objects)
                : rampart::k8s::decodeObjects(std::move(g.json), objects);
  if (copy) std::string().swap(g.json);
  if (!r) {
    std::fprintf(stderr, "decode failed: %s\n", r.error().describe().c_str());
    return false;
  }
  Sample s1 = Sample::now();
  rampart::engine::Snapshot snapshot = rampart::engine::snapshotOf(std::move(objects), 1790000000);
  rampart::engine::Report report = rampart::engine::evaluate(snapshot, {});
  Sample s2 = Sample::now();
  std::string out = rampart::engine::dumpReport(report);
  Sample s3 = Sample::now();

  run.decode = between(s0, s1);
  run.evaluate = between(s1, s2);
  run.render = between(s2, s3);
  run.findings = report.findings.size();
  return true;
}

// CPU time of the calling thread (steadier than wall time on a shared machine).
double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// p50, p99 and max of a sample.
struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  };
  return {at(0.5), at(0.99), v.back()};
}

// --incremental: the live engine (engine::Incremental) on the same cluster:
// the first evaluation of every partition, then single-pod changes (a
// readiness flip of a random pod, as a watch event or an agent report
// brings it) each followed by refresh() (the re-score: findings, workload
// facts and what-if of the partitions the change touched), wall and thread
// CPU time; then the merged report (report assembly: merge, cluster score,
// order) after one more change, and reportShared() with nothing changed.
bool incrementalRun(int pods, int changes) {
  rampart::bench::ClusterShape shape;
  shape.pods = pods;
  shape.nodes = std::max(3, pods / 30);
  rampart::bench::GeneratedCluster g = rampart::bench::generateCluster(shape);
  rampart::k8s::Objects objects;
  if (auto r = rampart::k8s::decodeObjects(std::move(g.json), objects); !r) {
    std::fprintf(stderr, "decode failed: %s\n", r.error().describe().c_str());
    return false;
  }
  rampart::engine::Snapshot snapshot = rampart::engine::snapshotOf(std::move(objects), 1790000000);
  std::mt19937 rng(7);
  std::vector<rampart::Pod> sample;
  sample.reserve(static_cast<size_t>(changes) + 1);
  for (int i = 0; i < changes + 1; ++i) {
    sample.push_back(snapshot.pods[rng() % snapshot.pods.size()]);
  }
  rampart::engine::Incremental inc;
  Sample a = Sample::now();
  inc.reset(std::move(snapshot));
  size_t partitions = inc.refresh();
  Sample b = Sample::now();
  rampart::engine::Report first = inc.report();
  Sample c = Sample::now();
  std::vector<double> wall, cpu;
  for (int i = 0; i < changes; ++i) {
    rampart::Pod& p = sample[static_cast<size_t>(i)];
    p.ready = !p.ready;
    Sample t0 = Sample::now();
    double c0 = threadCpuMs();
    inc.upsertPod(p);
    inc.refresh();
    cpu.push_back(threadCpuMs() - c0);
    wall.push_back(between(t0, Sample::now()).wall_ms);
  }
  sample.back().ready = !sample.back().ready;
  inc.upsertPod(sample.back());
  inc.refresh();
  Sample d = Sample::now();
  double rc0 = threadCpuMs();
  rampart::engine::Report after = inc.report();
  double report_cpu = threadCpuMs() - rc0;
  Sample e = Sample::now();
  std::shared_ptr<const rampart::engine::Report> again = inc.reportShared();
  Sample f = Sample::now();
  Percentiles w = percentiles(wall), u = percentiles(cpu);
  std::printf(
      "%-7d %-5d %-10zu %-13.0f %-10.0f %-8.3f %-8.3f %-8.3f %-8.3f %-8.3f %-8.3f %-10.0f %-10.0f "
      "%-10.1f %-8zu %-8ld\n",
      g.pods, g.nodes, partitions, between(a, b).wall_ms, between(b, c).wall_ms, w.p50, w.p99,
      w.max, u.p50, u.p99, u.max, between(d, e).wall_ms, report_cpu, between(e, f).wall_ms,
      after.findings.size(), peakRssMiB());
  std::fflush(stdout);
  return first.findings.size() > 0 && again->findings.size() == after.findings.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  int repeat = 1;
  bool copy = false, incremental = false;
  int changes = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--copy") == 0) {
      copy = true;
    } else if (std::strcmp(argv[i], "--incremental") == 0) {
      incremental = true;
    } else if (std::strcmp(argv[i], "--changes") == 0 && i + 1 < argc) {
      changes = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else {
      sizes.push_back(std::atoi(argv[i]));
    }
  }
  if (sizes.empty()) sizes = {1000, 10000, 150000};
  if (incremental) {
    // change_*: upsertPod + refresh() of one changed pod (wall, then thread
    // CPU); report_ms: the merged report (a copy) after a change; again_ms:
    // reportShared() with nothing changed since.
    std::printf(
        "%-7s %-5s %-10s %-13s %-10s %-8s %-8s %-8s %-8s %-8s %-8s %-10s %-10s %-10s %-8s %-8s\n",
        "pods", "nodes", "partitions", "first_eval_ms", "report_ms", "p50_ms", "p99_ms", "max_ms",
        "p50_cpu", "p99_cpu", "max_cpu", "report_ms", "report_cpu", "again_ms", "findings",
        "peak_MiB");
    for (int pods : sizes) {
      if (!incrementalRun(pods, changes)) return 1;
    }
    return 0;
  }
  std::printf("%-7s %-5s %-7s %-9s %-11s %-9s %-8s %-10s %-12s %-10s %-9s %-15s %-8s %-8s\n",
              "pods", "nodes", "json_MB", "decode_ms", "evaluate_ms", "render_ms", "total_ms",
              "decode_cpu", "evaluate_cpu", "render_cpu", "total_cpu", "faults_k(d/e/r)",
              "findings", "peak_MiB");
  for (int pods : sizes) {
    Run best;
    for (int i = 0; i < repeat; ++i) {
      Run run;
      if (!runOnce(pods, copy, run)) return 1;
      if (i == 0 || run.total() < best.total()) best = run;
    }
    const Run& b = best;
    char faults[48];
    std::snprintf(faults, sizeof faults, "%ld/%ld/%ld", b.decode.faults / 1000,
                  b.evaluate.faults / 1000, b.render.faults / 1000);
    std::printf(
        "%-7d %-5d %-7.1f %-9.0f %-11.0f %-9.0f %-8.0f %-10.0f %-12.0f %-10.0f %-9.0f %-15s %-8zu "
        "%-8ld\n",
        b.pods, b.nodes, b.json_mb, b.decode.wall_ms, b.evaluate.wall_ms, b.render.wall_ms,
        b.total(), b.decode.cpu_ms, b.evaluate.cpu_ms, b.render.cpu_ms, b.totalCpu(), faults,
        b.findings, peakRssMiB());
    std::fflush(stdout);
  }
  return 0;
}
