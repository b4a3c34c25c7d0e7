// rampart-bench-json DATA_DIR: picks the JSON library for the Kubernetes
// decoder (docs/json-choice.md). For the fixture pod lists, a synthetic
// 110-pod list (fixture pods replicated, the size of a full node) and the
// fixture watch events, it measures three ways of producing the same
// rampart::Pod values with the same field logic (k8s_json_decode.h):
//   nlohmann DOM then walk; simdjson DOM then walk; simdjson On-Demand (the
//   production path, rampart::k8s::decode*).
// Reported: best-of-N decode time (µs per document and MB/s), peak extra
// heap during one decode (counted by the replaced global operator new), heap
// kept by the result, and the peak RSS growth of a forked child decoding once.
#include <malloc.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "k8s_json_decode.h"
#include "rampart/k8s_json.h"

// ---- heap accounting ------------------------------------------------------

namespace {
size_t g_live = 0;
size_t g_peak = 0;

void* countedAlloc(size_t n, size_t align = 0) {
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (n + align - 1) / align * align)
                // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): backs the replaced operator new.
                : std::malloc(n ? n : 1);
  if (p == nullptr) return nullptr;
  g_live += malloc_usable_size(p);
  g_peak = std::max(g_peak, g_live);
  return p;
}
void countedFree(void* p) noexcept {
  if (p == nullptr) return;
  g_live -= malloc_usable_size(p);
  // Backs the replaced operator delete: countedAlloc's blocks come from malloc.
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  std::free(p);
}
}  // namespace

void* operator new(size_t n) {
  if (void* p = countedAlloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  if (void* p = countedAlloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return countedAlloc(n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return countedAlloc(n);
}
void* operator new(size_t n, std::align_val_t a) {
  if (void* p = countedAlloc(n, static_cast<size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) {
  if (void* p = countedAlloc(n, static_cast<size_t>(a))) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  countedFree(p);
}
void operator delete[](void* p) noexcept {
  countedFree(p);
}
void operator delete(void* p, size_t) noexcept {
  countedFree(p);
}
void operator delete[](void* p, size_t) noexcept {
  countedFree(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  countedFree(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  countedFree(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  countedFree(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  countedFree(p);
}

namespace {

using rampart::Pod;
using rampart::k8s::PodList;
using rampart::k8s::WatchEvent;
using rampart::k8s::detail::Decoder;
using rampart::k8s::detail::JsonKind;
using rampart::k8s::detail::kAbort;

// ---- backends for the comparison ------------------------------------------

struct Nlohmann {
  using Value = const nlohmann::json;
  static JsonKind kind(Value& v) {
    switch (v.type()) {
      case nlohmann::json::value_t::null:
        return JsonKind::kNull;
      case nlohmann::json::value_t::object:
        return JsonKind::kObject;
      case nlohmann::json::value_t::array:
        return JsonKind::kArray;
      case nlohmann::json::value_t::string:
        return JsonKind::kString;
      case nlohmann::json::value_t::boolean:
        return JsonKind::kBool;
      case nlohmann::json::value_t::number_integer:
      case nlohmann::json::value_t::number_unsigned:
      case nlohmann::json::value_t::number_float:
        return JsonKind::kNumber;
      default:
        return JsonKind::kError;
    }
  }
  static const char* getString(Value& v, std::string_view& out) {
    if (!v.is_string()) return "expected string";
    out = v.get_ref<const std::string&>();
    return nullptr;
  }
  static const char* getInt(Value& v, int64_t& out) {
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return "expected integer";
      out = static_cast<int64_t>(u);
      return nullptr;
    }
    if (!v.is_number_integer()) return "expected integer";
    out = v.get<int64_t>();
    return nullptr;
  }
  static const char* getBool(Value& v, bool& out) {
    if (!v.is_boolean()) return "expected boolean";
    out = v.get<bool>();
    return nullptr;
  }
  template <class F>
  static const char* fields(Value& v, F&& f) {
    if (!v.is_object()) return "expected object";
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!f(std::string_view(it.key()), *it)) return kAbort;
    }
    return nullptr;
  }
  template <class F>
  static const char* elements(Value& v, F&& f) {
    if (!v.is_array()) return "expected array";
    for (const auto& e : v) {
      if (!f(e)) return kAbort;
    }
    return nullptr;
  }
};

struct SimdDom {
  using Value = simdjson::dom::element;
  static JsonKind kind(Value& v) {
    switch (v.type()) {
      case simdjson::dom::element_type::NULL_VALUE:
        return JsonKind::kNull;
      case simdjson::dom::element_type::OBJECT:
        return JsonKind::kObject;
      case simdjson::dom::element_type::ARRAY:
        return JsonKind::kArray;
      case simdjson::dom::element_type::STRING:
        return JsonKind::kString;
      case simdjson::dom::element_type::BOOL:
        return JsonKind::kBool;
      default:
        return JsonKind::kNumber;
    }
  }
  static const char* getString(Value& v, std::string_view& out) {
    return v.get_string().get(out) ? "expected string" : nullptr;
  }
  static const char* getInt(Value& v, int64_t& out) {
    return v.get_int64().get(out) ? "expected integer" : nullptr;
  }
  static const char* getBool(Value& v, bool& out) {
    return v.get_bool().get(out) ? "expected boolean" : nullptr;
  }
  template <class F>
  static const char* fields(Value& v, F&& f) {
    simdjson::dom::object o;
    if (v.get_object().get(o)) return "expected object";
    for (auto kv : o) {
      Value e = kv.value;
      if (!f(kv.key, e)) return kAbort;
    }
    return nullptr;
  }
  template <class F>
  static const char* elements(Value& v, F&& f) {
    simdjson::dom::array a;
    if (v.get_array().get(a)) return "expected array";
    for (Value e : a) {
      if (!f(e)) return kAbort;
    }
    return nullptr;
  }
};

// ---- the three methods ----------------------------------------------------

bool nlohmannList(std::string_view json, PodList& out) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return false;
  Decoder<Nlohmann> d;
  return d.podList(doc, out);
}

bool domList(simdjson::dom::parser& parser, std::string_view json, PodList& out) {
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root)) return false;  // copies into padding
  Decoder<SimdDom> d;
  return d.podList(root, out);
}

bool onDemandList(std::string_view json, PodList& out) {
  auto r = rampart::k8s::decodePodList(json);
  if (!r) return false;
  out = std::move(*r);
  return true;
}

bool nlohmannEvent(std::string_view json, WatchEvent<Pod>& ev) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) return false;
  Decoder<Nlohmann> d;
  bool object_first = false;
  auto pod = [&](const nlohmann::json& v, Pod& p) { return d.pod(v, p); };
  if (!d.watchEvent(doc, ev, pod, object_first)) return false;
  // nlohmann's std::map sorts "object" before "type": a second walk once the
  // type is known (cheap on a DOM).
  return !object_first || d.watchEvent(doc, ev, pod, object_first, ev.type);
}

bool domEvent(simdjson::dom::parser& parser, std::string_view json, WatchEvent<Pod>& ev) {
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root)) return false;
  Decoder<SimdDom> d;
  bool object_first = false;
  return d.watchEvent(
      root, ev, [&](simdjson::dom::element& v, Pod& p) { return d.pod(v, p); }, object_first);
}

bool onDemandEvent(std::string_view json, WatchEvent<Pod>& ev) {
  auto r = rampart::k8s::decodePodWatchEvent(json);
  if (!r) return false;
  ev = std::move(*r);
  return true;
}

// ---- measurement ------------------------------------------------------------

struct Input {
  std::string name;
  std::string json;  // one document, or several watch lines separated by '\n'
  bool watch = false;
  std::vector<std::string_view> lines;
};

struct Figures {
  double us_per_doc = 0;  // best of runs, per document
  double mb_per_s = 0;
  size_t peak_heap = 0;       // peak extra heap during one decode
  size_t result_heap = 0;     // still held after: the values + retained parser buffers
  size_t warm_peak_heap = 0;  // peak extra heap of a second decode (steady state)
  long rss_growth_kb = -1;    // forked child: max RSS growth for one decode
};

long currentRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// A decode of the whole input; keeps its result alive in `keep`.
using Run = std::function<bool(const Input&, std::vector<PodList>& keep)>;

// One decode in a forked child, so that parser buffers start empty (run
// this before the parent decodes anything) and RSS high water is per method.
void measureMemory(const Input& in, const Run& run, Figures& f) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    long before = currentRssKb();
    size_t base = g_live;
    g_peak = g_live;
    long out[4] = {-1, -1, -1, -1};
    {
      std::vector<PodList> keep;
      if (run(in, keep)) {
        out[0] = static_cast<long>(g_peak - base);
        out[1] = static_cast<long>(g_live - base);
      }
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      out[2] = ru.ru_maxrss - before;
    }
    {
      // Steady state: the same decode again, parser buffers as the first left them.
      size_t warm_base = g_live;
      g_peak = g_live;
      std::vector<PodList> keep;
      if (run(in, keep)) out[3] = static_cast<long>(g_peak - warm_base);
    }
    (void)!write(pipefd[1], out, sizeof out);
    _exit(0);
  }
  close(pipefd[1]);
  long out[4];
  if (read(pipefd[0], out, sizeof out) == sizeof out) {
    f.peak_heap = static_cast<size_t>(out[0]);
    f.result_heap = static_cast<size_t>(out[1]);
    f.rss_growth_kb = out[2];
    f.warm_peak_heap = static_cast<size_t>(out[3]);
  }
  close(pipefd[0]);
  waitpid(pid, nullptr, 0);
}

void measureTime(const Input& in, const Run& run, int runs, Figures& f) {
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    std::vector<PodList> keep;
    auto t0 = std::chrono::steady_clock::now();
    run(in, keep);
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  size_t docs = in.watch ? in.lines.size() : 1;
  f.us_per_doc = best / static_cast<double>(docs);
  f.mb_per_s = static_cast<double>(in.json.size()) / best;  // bytes per µs = MB/s
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A PodList of `count` pods cycled from the fixture lists' items (original
// field order, minified as the API server sends it).
std::string syntheticList(const std::vector<std::string>& files, size_t count) {
  std::vector<std::string> items;
  simdjson::dom::parser parser;
  for (const std::string& f : files) {
    simdjson::padded_string json(readAll(f));
    simdjson::dom::array a = parser.parse(json)["items"];
    for (simdjson::dom::element e : a) items.push_back(simdjson::minify(e));
  }
  std::string out =
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[)";
  for (size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    out += items[i % items.size()];
  }
  out += "]}";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s tests/data/k8s\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<Input> inputs;
  for (const char* f :
       {"apiserver-pods_kube-system_eks-v1.31.json", "kubelet-pods_v1.34_minikube.json",
        "apiserver-pods_crashloopbackoff.json", "apiserver-pods_oomkilled.json"}) {
    inputs.push_back(Input{f, readAll(dir + "/" + f)});
  }
  inputs.push_back(Input{"synthetic 110-pod list",
                         syntheticList({dir + "/kubelet-pods_v1.34_minikube.json",
                                        dir + "/apiserver-pods_kube-system_eks-v1.31.json"},
                                       110)});
  {
    Input w{"watch events (6 lines)",
            readAll(dir + "/apiserver-watch-pods_kind_graceful-delete.ndjson"), true};
    std::string_view all = w.json;
    while (!all.empty()) {
      size_t nl = all.find('\n');
      std::string_view line = all.substr(0, nl);
      if (!line.empty()) w.lines.push_back(line);
      all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
    }
    inputs.push_back(std::move(w));
  }

  simdjson::dom::parser dom_parser;
  struct Method {
    const char* name;
    Run run;
  };
  auto list_or_events = [](auto list_fn, auto event_fn) {
    return [=](const Input& in, std::vector<PodList>& keep) {
      if (!in.watch) return list_fn(in.json, keep.emplace_back());
      PodList& l = keep.emplace_back();
      for (std::string_view line : in.lines) {
        WatchEvent<Pod> ev;
        if (!event_fn(line, ev)) return false;
        l.items.push_back(std::move(ev.object));
      }
      return true;
    };
  };
  std::vector<Method> methods = {
      {"nlohmann DOM+walk", list_or_events(nlohmannList, nlohmannEvent)},
      {"simdjson DOM+walk",
       list_or_events(
           [&](std::string_view j, PodList& o) { return domList(dom_parser, j, o); },
           [&](std::string_view j, WatchEvent<Pod>& e) { return domEvent(dom_parser, j, e); })},
      {"simdjson On-Demand", list_or_events(onDemandList, onDemandEvent)},
  };

  std::printf("rampart-bench-json: %s, simdjson %s (%s), nlohmann-json %d.%d.%d\n", dir.c_str(),
              SIMDJSON_STRINGIFY(SIMDJSON_VERSION),
              simdjson::get_active_implementation()->name().c_str(), NLOHMANN_JSON_VERSION_MAJOR,
              NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
  std::printf(
      "time: best of N runs. heap (bytes, counted in operator new): peak = extra during a first\n"
      "decode in a fresh process, kept = still held after it (values + retained parser buffers),\n"
      "warm = peak extra of a second decode. rss: max RSS growth (KiB) of that fresh process\n\n");
  std::printf("%-42s %-20s %9s %7s %9s %9s %9s %7s %7s %7s\n", "input", "method", "us/doc", "MB/s",
              "peak", "kept", "warm", "rss", "x time", "x rss");
  // Memory first, while no parser in this process has allocated anything.
  std::vector<std::vector<Figures>> figs(inputs.size(), std::vector<Figures>(methods.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (size_t m = 0; m < methods.size(); ++m)
      measureMemory(inputs[i], methods[m].run, figs[i][m]);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Input& in = inputs[i];
    // Check the three agree before timing anything.
    std::vector<std::vector<PodList>> results(methods.size());
    for (size_t m = 0; m < methods.size(); ++m) {
      if (!methods[m].run(in, results[m])) {
        std::fprintf(stderr, "%s failed on %s\n", methods[m].name, in.name.c_str());
        return 1;
      }
    }
    for (size_t m = 1; m < methods.size(); ++m) {
      if (results[m][0].items != results[0][0].items) {
        std::fprintf(stderr, "%s and %s disagree on %s\n", methods[m].name, methods[0].name,
                     in.name.c_str());
        return 1;
      }
    }
    results.clear();
    int runs = in.json.size() > 500000 ? 30 : 200;
    for (size_t m = 0; m < methods.size(); ++m) measureTime(in, methods[m].run, runs, figs[i][m]);
    const Figures& od = figs[i].back();
    char label[64];
    std::snprintf(label, sizeof label, "%.36s (%zu KB)", in.name.c_str(), in.json.size() / 1024);
    for (size_t m = 0; m < methods.size(); ++m) {
      const Figures& f = figs[i][m];
      std::printf("%-42s %-20s %9.1f %7.0f %9zu %9zu %9zu %7ld %7.2f %7.2f\n", m == 0 ? label : "",
                  methods[m].name, f.us_per_doc, f.mb_per_s, f.peak_heap, f.result_heap,
                  f.warm_peak_heap, f.rss_growth_kb, f.us_per_doc / od.us_per_doc,
                  static_cast<double>(f.rss_growth_kb) / static_cast<double>(od.rss_growth_kb));
    }
  }
  std::printf("\nx time / x rss: ratio to simdjson On-Demand (the production decoder)\n");
  return 0;
}
