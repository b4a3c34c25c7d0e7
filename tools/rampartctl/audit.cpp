#include "audit.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <utility>

#include "rampart/cluster_reader.h"
#include "rampart/engine_input.h"
#include "rampart/engine_json.h"
#include "rampart/kube_client.h"

namespace rampart::ctl {
namespace {

namespace fs = std::filesystem;

// Dumps are read whole: simdjson needs the document in one buffer. A file
// beyond this is refused with a clear message rather than exhausting memory.
constexpr uintmax_t kMaxInputBytes = 2ull << 30;

Result<std::string> readFile(const fs::path& path) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return fail(ErrorCode::kIo, path.string() + ": " + ec.message());
  if (size > kMaxInputBytes) {
    return fail(ErrorCode::kIo, path.string() + ": " + std::to_string(size) +
                                    " bytes is more than the 2 GiB a dump may have");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(ErrorCode::kIo, path.string() + ": cannot open");
  std::string data;
  // Room for decodeObjects' padding (65 bytes, rampart/k8s_objects.h), so
  // that the dump handed over is parsed in place rather than copied.
  data.reserve(size + 4096);
  data.resize(size);
  f.read(data.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(f.gcount()) != size) {
    return fail(ErrorCode::kIo, path.string() + ": short read");
  }
  return data;
}

// Expands directories into their *.json files, sorted, so that the order of
// inputs (and so the report) never depends on the file system.
Result<std::vector<std::string>> expandInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    if (in == "-") {
      files.push_back(in);
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(in, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") {
          found.push_back(entry.path().string());
        }
      }
      if (ec) return fail(ErrorCode::kIo, in + ": " + ec.message());
      if (found.empty()) return fail(ErrorCode::kIo, in + ": no *.json files in the directory");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (!fs::exists(in, ec)) {
      return fail(ErrorCode::kIo, in + ": no such file or directory");
    } else {
      files.push_back(in);
    }
  }
  return files;
}

Result<k8s::Objects> readLive(const AuditInput& input) {
  Result<KubeCredentials> creds =
      input.in_cluster ? inClusterCredentials() : loadKubeconfig(input.kubeconfig);
  if (!creds) return std::unexpected(creds.error());
  KubeClient client(*creds, "rampartctl/" RAMPART_VERSION);
  return k8s::readCluster(client);
}

int64_t nowOr(const AuditInput& input) {
  return input.now_unix ? *input.now_unix : static_cast<int64_t>(std::time(nullptr));
}

struct Evaluated {
  engine::Snapshot snapshot;
  engine::Report report;
};

// Loads, evaluates, and prints warnings to `err`; nullopt when nothing usable
// was loaded (the error is printed).
std::optional<Evaluated> loadAndEvaluate(const AuditInput& input, const engine::Options& options,
                                         std::istream& in, std::ostream& err) {
  Result<k8s::Objects> objects = loadObjects(input, in);
  if (!objects) {
    err << "rampartctl: " << objects.error().describe() << "\n";
    return std::nullopt;
  }
  Evaluated e;
  e.snapshot = engine::snapshotOf(std::move(*objects), nowOr(input));
  e.report = engine::evaluate(e.snapshot, options);
  for (const std::string& w : e.report.warnings) err << "rampartctl: warning: " << w << "\n";
  if (e.report.partial) {
    err << "rampartctl: warning: the input was incomplete; the results are partial\n";
  }
  return e;
}

}  // namespace

Result<k8s::Objects> loadObjects(const AuditInput& input, std::istream& stdin_stream) {
  bool live = !input.kubeconfig.empty() || input.in_cluster;
  if (live && !input.files.empty()) {
    return fail(ErrorCode::kConfig, "use either -f files or --kubeconfig/--in-cluster, not both");
  }
  if (live) return readLive(input);
  if (input.files.empty()) {
    return fail(ErrorCode::kConfig, "no input: give -f FILE (or -f - for stdin) or --kubeconfig");
  }
  auto files = expandInputs(input.files);
  if (!files) return std::unexpected(files.error());

  k8s::Objects objects;
  size_t usable = 0;
  for (const std::string& name : *files) {
    Result<std::string> data;
    if (name == "-") {
      data = std::string(std::istreambuf_iterator<char>(stdin_stream), {});
    } else {
      data = readFile(name);
    }
    const std::string label = name == "-" ? "stdin" : name;
    if (!data) {
      objects.warnings.push_back(data.error().message);
      objects.partial = true;
      continue;
    }
    size_t before = objects.warnings.size();
    // Handed over: it is not read again, and a dump of hundreds of MB is
    // then never held twice.
    Result<void> r = k8s::decodeObjects(std::move(*data), objects);
    // Name the file in the warnings it produced.
    for (size_t i = before; i < objects.warnings.size(); ++i) {
      objects.warnings[i] = label + ": " + objects.warnings[i];
    }
    if (!r) {
      objects.warnings.push_back(label + ": " + r.error().message);
      objects.partial = true;
      continue;
    }
    ++usable;
  }
  if (usable == 0) {
    std::string why = objects.warnings.empty() ? "no input" : objects.warnings.front();
    for (size_t i = 1; i < objects.warnings.size(); ++i) why += "; " + objects.warnings[i];
    return fail(ErrorCode::kParse, why);
  }
  return objects;
}

int audit(const AuditOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  if (options.format != "text" && options.format != "json" && options.format != "markdown") {
    err << "rampartctl: --format must be text, json or markdown\n";
    return kExitError;
  }
  std::optional<Evaluated> e = loadAndEvaluate(options.input, options.engine, in, err);
  if (!e) return kExitError;
  if (options.format == "json") {
    out << engine::dumpReport(e->report, 2) << "\n";
  } else if (options.format == "markdown") {
    out << renderMarkdown(e->report, e->snapshot, options.top);
  } else {
    out << renderText(e->report, e->snapshot, options.top, options.color);
  }
  if (options.fail_below && engine::pointsValue(e->report.score.cluster) < *options.fail_below) {
    err << "rampartctl: cluster score " << engine::pointsValue(e->report.score.cluster)
        << " is below " << *options.fail_below << "\n";
    return kExitBelowScore;
  }
  return kExitOk;
}

int whatif(const WhatIfOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  int chosen = !options.node.empty() + !options.zone.empty() + !options.region.empty();
  if (chosen > 1) {
    err << "rampartctl: give at most one of --node, --zone, --region\n";
    return kExitError;
  }
  if (options.format != "text" && options.format != "json") {
    err << "rampartctl: --format must be text or json\n";
    return kExitError;
  }
  engine::Options engine_options;
  std::optional<Evaluated> e = loadAndEvaluate(options.input, engine_options, in, err);
  if (!e) return kExitError;
  std::string level = !options.node.empty()     ? "node"
                      : !options.zone.empty()   ? "zone"
                      : !options.region.empty() ? "region"
                                                : "";
  std::string name = options.node + options.zone + options.region;
  if (!level.empty()) {
    const auto& domains = level == "node"   ? e->report.whatif.nodes
                          : level == "zone" ? e->report.whatif.zones
                                            : e->report.whatif.regions;
    bool known = std::any_of(domains.begin(), domains.end(),
                             [&](const engine::DomainImpact& d) { return d.name == name; });
    if (!known) {
      err << "rampartctl: no " << level << " named " << name << " in the input\n";
      return kExitError;
    }
  }
  if (options.format == "json") {
    nlohmann::ordered_json j = engine::reportToJson(e->report)["whatif"];
    if (!level.empty()) {
      for (auto& d : j[level + "s"]) {
        if (d["name"] == name) {
          out << d.dump(2) << "\n";
          return kExitOk;
        }
      }
    }
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << renderWhatIf(e->report, e->snapshot, level, name, options.color);
  return kExitOk;
}

int explain(const ExplainOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  if (options.format != "text" && options.format != "json") {
    err << "rampartctl: -o must be text or json\n";
    return kExitError;
  }
  std::optional<Evaluated> e = loadAndEvaluate(options.input, options.engine, in, err);
  if (!e) return kExitError;
  if (options.format == "json") {
    if (options.workload.empty()) {
      out << engine::dumpReport(e->report, 2) << "\n";
      return kExitOk;
    }
    // The shape of the aggregator's /api/v1/workloads/NS/NAME, without pods.
    std::vector<const engine::WorkloadScore*> found;
    for (const engine::WorkloadScore& w : e->report.score.workloads) {
      if (options.workload == w.ref.namespace_ + "/" + w.ref.name ||
          options.workload == w.ref.kind + "/" + w.ref.namespace_ + "/" + w.ref.name) {
        found.push_back(&w);
      }
    }
    if (found.size() != 1) {
      err << "rampartctl: " << (found.empty() ? "no workload " : "more than one workload is named ")
          << options.workload << (found.empty() ? " in the input" : ": give KIND/NS/NAME") << "\n";
      return kExitError;
    }
    nlohmann::ordered_json j;
    j["generated_at"] = formatRfc3339(e->report.now_unix);
    j["partial"] = e->report.partial;
    // (Not items() of the temporary: it would be gone before the loop runs.)
    nlohmann::ordered_json explanation =
        engine::workloadExplanationToJson(e->report, *found.front());
    for (auto& [k, v] : explanation.items()) j[k] = std::move(v);
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  std::string text = renderExplain(e->report, options.workload, options.color);
  if (text.empty()) {
    err << "rampartctl: no workload " << options.workload << " in the input\n";
    return kExitError;
  }
  out << text;
  return kExitOk;
}

}  // namespace rampart::ctl
