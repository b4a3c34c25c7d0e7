#include "probes.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "rampart/files.h"
#include "rampart/http_client.h"
#include "rampart/text.h"
#include "rampart/time.h"

namespace rampart::agent {

namespace {

using net::Clock;

constexpr size_t kMaxHead = 16u << 10;
constexpr size_t kMaxName = 63;

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxName &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
         });
}

// http(s)://AUTHORITY[/PATH] -> ("http(s)://AUTHORITY", "/PATH" or "/").
std::pair<std::string, std::string> splitUrl(std::string_view url) {
  auto scheme_end = url.find("://");
  size_t from = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  auto slash = url.find('/', from);
  if (slash == std::string_view::npos) return {std::string(url), "/"};
  return {std::string(url.substr(0, slash)), std::string(url.substr(slash))};
}

// A TCP probe's HOST:PORT ([v6]:PORT for IPv6): a host and a port 1-65535.
Result<HostPort> tcpTarget(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) {
    return fail(ErrorCode::kConfig, "TCP probe address must be HOST:PORT: " + std::string(address));
  }
  auto hp = splitHostPort(address);
  if (!hp || hp->port == 0) {
    return fail(ErrorCode::kConfig, "bad port in TCP probe address " + std::string(address));
  }
  return hp;
}

Result<std::pair<int, int>> parseStatusRange(std::string_view text) {
  auto dash = text.find('-');
  std::string_view lo = text.substr(0, dash);
  std::string_view hi = dash == std::string_view::npos ? lo : text.substr(dash + 1);
  int a = 0, b = 0;
  auto r1 = std::from_chars(lo.data(), lo.data() + lo.size(), a);
  auto r2 = std::from_chars(hi.data(), hi.data() + hi.size(), b);
  if (r1.ec != std::errc() || r1.ptr != lo.data() + lo.size() || r2.ec != std::errc() ||
      r2.ptr != hi.data() + hi.size()) {
    return fail(ErrorCode::kConfig, "expectStatus must be N or N-M: " + std::string(text));
  }
  return std::pair{a, b};
}

bool isHttpKind(ProbeKind k) {
  return k == ProbeKind::kHttp || k == ProbeKind::kKubelet || k == ProbeKind::kApiServer;
}

double millisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

Result<void> validateProbes(const std::vector<ProbeSpec>& probes) {
  std::set<std::string> names;
  for (const ProbeSpec& p : probes) {
    if (!validName(p.name)) {
      return fail(ErrorCode::kConfig,
                  "probe name \"" + p.name + "\" must be 1-63 characters of [a-z0-9._-]");
    }
    if (!names.insert(p.name).second) {
      return fail(ErrorCode::kConfig, "probe name \"" + p.name + "\" is used twice");
    }
    if (p.timeout < std::chrono::milliseconds(1) || p.timeout > kMaxProbeTimeout) {
      return fail(ErrorCode::kConfig, "probe " + p.name + ": timeout must be 1..30000 ms");
    }
    if (p.kind == ProbeKind::kTcp) {
      if (auto hp = tcpTarget(p.target); !hp) {
        return fail(ErrorCode::kConfig, "probe " + p.name + ": " + hp.error().message);
      }
    } else if (isHttpKind(p.kind)) {
      if (auto u = http::parseServerUrl(splitUrl(p.target).first); !u) {
        return fail(ErrorCode::kConfig, "probe " + p.name + ": " + u.error().message);
      }
      if (p.status_min < 100 || p.status_max > 599 || p.status_min > p.status_max) {
        return fail(ErrorCode::kConfig,
                    "probe " + p.name + ": expected status range must lie within 100-599");
      }
    } else {
      return fail(ErrorCode::kConfig, "probe " + p.name + ": unknown type");
    }
  }
  return {};
}

Result<std::vector<ProbeSpec>> parseProbeConfig(std::string_view yaml) {
  std::vector<ProbeSpec> out;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return out;
    if (!root.IsMap() || (root["probes"] && !root["probes"].IsSequence())) {
      return fail(ErrorCode::kConfig, "probe config: expected a map with a `probes` list");
    }
    for (const auto& kv : root) {
      if (kv.first.as<std::string>() != "probes") {
        return fail(ErrorCode::kConfig,
                    "probe config: unknown key \"" + kv.first.as<std::string>() + "\"");
      }
    }
    size_t index = 0;
    for (const auto& item : root["probes"]) {
      std::string where = "probe config: probes[" + std::to_string(index++) + "]";
      if (!item.IsMap()) return fail(ErrorCode::kConfig, where + ": expected a map");
      ProbeSpec p;
      std::string type;
      for (const auto& kv : item) {
        std::string key = kv.first.as<std::string>();
        if (!kv.second.IsScalar()) {
          return fail(ErrorCode::kConfig, fmt::format("{}: {} must be a scalar", where, key));
        }
        std::string value = kv.second.as<std::string>();
        if (key == "name") {
          p.name = value;
        } else if (key == "type") {
          type = value;
        } else if (key == "url" || key == "address") {
          p.target = value;
        } else if (key == "timeoutMs") {
          p.timeout = std::chrono::milliseconds(kv.second.as<int64_t>());
        } else if (key == "expectStatus") {
          auto range = parseStatusRange(value);
          if (!range) return fail(ErrorCode::kConfig, where + ": " + range.error().message);
          std::tie(p.status_min, p.status_max) = *range;
        } else if (key == "insecureSkipTLSVerify") {
          p.insecure_skip_tls_verify = kv.second.as<bool>();
        } else {
          return fail(ErrorCode::kConfig, fmt::format("{}: unknown key \"{}\"", where, key));
        }
      }
      if (type == "http") {
        p.kind = ProbeKind::kHttp;
        if (!item["url"]) return fail(ErrorCode::kConfig, where + ": an http probe needs `url`");
      } else if (type == "tcp") {
        p.kind = ProbeKind::kTcp;
        if (!item["address"]) {
          return fail(ErrorCode::kConfig, where + ": a tcp probe needs `address` (HOST:PORT)");
        }
      } else {
        return fail(ErrorCode::kConfig, where + ": type must be http or tcp");
      }
      out.push_back(std::move(p));
    }
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kParse, std::string("probe config: ") + e.what());
  }
  if (auto v = validateProbes(out); !v) return std::unexpected(v.error());
  return out;
}

Result<ProbeSpec> parseProbeFlag(std::string_view flag) {
  auto eq = flag.find('=');
  if (eq == std::string_view::npos) {
    return fail(ErrorCode::kConfig, "--probe must be NAME=URL or NAME=tcp://HOST:PORT");
  }
  ProbeSpec p;
  p.name = std::string(flag.substr(0, eq));
  std::string_view target = flag.substr(eq + 1);
  if (target.starts_with("tcp://")) {
    p.kind = ProbeKind::kTcp;
    p.target = std::string(target.substr(6));
  } else {
    p.kind = ProbeKind::kHttp;
    p.target = std::string(target);
  }
  if (auto v = validateProbes({p}); !v) return std::unexpected(v.error());
  return p;
}

std::vector<ProbeSpec> builtinProbes(const std::string& kubelet_url,
                                     const std::optional<KubeCredentials>& creds,
                                     const std::string& apiserver_path) {
  std::vector<ProbeSpec> out;
  if (!kubelet_url.empty()) {
    out.push_back(ProbeSpec{"kubelet", ProbeKind::kKubelet, kubelet_url,
                            std::chrono::milliseconds(1000), 200, 299});
  }
  if (creds && !apiserver_path.empty()) {
    out.push_back(ProbeSpec{"apiserver", ProbeKind::kApiServer, creds->server + apiserver_path,
                            std::chrono::milliseconds(2000), 200, 299});
  }
  return out;
}

Result<std::vector<ProbeSpec>> loadProbes(const std::string& kubelet_url,
                                          const std::optional<KubeCredentials>& creds,
                                          const std::string& apiserver_path,
                                          const std::string& config_path,
                                          const std::vector<std::string>& flags) {
  std::vector<ProbeSpec> out = builtinProbes(kubelet_url, creds, apiserver_path);
  if (!config_path.empty()) {
    auto text = readFile(config_path);
    if (!text) return fail(ErrorCode::kIo, "--probe-config: " + text.error().message);
    auto parsed = parseProbeConfig(*text);
    if (!parsed) {
      return fail(parsed.error().code, config_path + ": " + parsed.error().message);
    }
    out.insert(out.end(), parsed->begin(), parsed->end());
  }
  for (const auto& f : flags) {
    auto p = parseProbeFlag(f);
    if (!p) return fail(ErrorCode::kConfig, "--probe " + f + ": " + p.error().message);
    out.push_back(std::move(*p));
  }
  if (auto v = validateProbes(out); !v) return std::unexpected(v.error());
  return out;
}

// ---- NetProbeExecutor ----------------------------------------------------

struct NetProbeExecutor::Tls {
  Result<std::unique_ptr<net::TlsContext>> context = nullptr;
};

NetProbeExecutor::NetProbeExecutor(std::optional<KubeCredentials> creds)
    : creds_(std::move(creds)) {}
NetProbeExecutor::~NetProbeExecutor() = default;

ProbeAttempt NetProbeExecutor::run(const ProbeSpec& spec, const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  const auto deadline = start + spec.timeout;
  ProbeAttempt out;
  auto failed = [&](std::string why) {
    out.ok = false;
    out.latency_ms = millisSince(start);
    out.error = std::move(why);
    return out;
  };
  auto error_text = [&](const Error& e) {
    return e.code == ErrorCode::kTimeout
               ? "timed out after " + std::to_string(spec.timeout.count()) + " ms"
               : e.message;
  };

  if (spec.kind == ProbeKind::kTcp) {
    auto hp = tcpTarget(spec.target);
    if (!hp) return failed(hp.error().message);
    auto stream =
        net::Stream::connect(hp->host, hp->portText(), nullptr, deadline, spec.timeout, &stop);
    if (!stream) return failed(error_text(stream.error()));
    out.ok = true;
    out.latency_ms = millisSince(start);
    return out;
  }

  auto [base, path] = splitUrl(spec.target);
  auto server = http::parseServerUrl(base);
  if (!server) return failed(server.error().message);
  const bool api = spec.kind == ProbeKind::kApiServer && creds_.has_value();
  const net::TlsContext* tls = nullptr;
  if (server->tls) {
    auto& slot = tls_[spec.name];
    if (!slot) {
      slot = std::make_unique<Tls>();
      net::TlsOptions o;
      if (api) {
        o = tlsOptionsOf(*creds_);
      } else {
        o.insecure_skip_verify = spec.insecure_skip_tls_verify;
      }
      slot->context = net::TlsContext::create(o);
    }
    if (!slot->context) return failed(slot->context.error().message);
    tls = slot->context->get();
  }
  http::Request request;
  request.path = path;
  request.user_agent = "rampart-agent/" RAMPART_VERSION;
  if (api) request.bearer_token = bearerToken(*creds_).value_or("");  // unreadable: 401 says it
  http::ExchangeOptions options;
  options.deadline = deadline;
  options.connect_timeout = spec.timeout;
  options.stop = &stop;
  options.max_head = kMaxHead;
  options.head_only = true;  // the status is the verdict
  auto response = http::exchange(*server, tls, request, options);
  if (!response) return failed(error_text(response.error()));
  if (response->status < spec.status_min || response->status > spec.status_max) {
    return failed("HTTP " + std::to_string(response->status) + " (expected " +
                  std::to_string(spec.status_min) + "-" + std::to_string(spec.status_max) + ")");
  }
  out.ok = true;
  out.latency_ms = millisSince(start);
  return out;
}

// ---- ProbeRunner ---------------------------------------------------------

ProbeRunner::ProbeRunner(std::vector<ProbeSpec> probes, std::unique_ptr<ProbeExecutor> executor,
                         std::chrono::milliseconds interval, Logger log,
                         std::function<void()> on_change)
    : probes_(std::move(probes)),
      executor_(std::move(executor)),
      interval_(interval),
      log_(std::move(log)),
      on_change_(std::move(on_change)),
      results_(probes_.size()) {}

ProbeRunner::~ProbeRunner() {
  stop();
}

void ProbeRunner::start() {
  if (probes_.empty() || thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void ProbeRunner::stop() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProbeRunner::runOnce() {
  for (size_t i = 0; i < probes_.size() && !stop_; ++i) {
    const ProbeSpec& spec = probes_[i];
    ProbeAttempt attempt = executor_->run(spec, stop_);
    if (stop_) return;
    ProbeResult r;
    r.name = spec.name;
    r.kind = spec.kind;
    r.target = spec.target;
    r.ok = attempt.ok;
    r.latency_ms = attempt.latency_ms;
    r.error = attempt.ok ? "" : attempt.error;
    r.checked_at_ms = unixMillisNow();
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      auto& slot = results_[i];
      r.consecutive_failures =
          attempt.ok ? 0 : (slot && !slot->ok ? slot->consecutive_failures + 1 : 1);
      changed = !slot || slot->ok != r.ok;
      if (changed) ++version_;
      slot = r;
    }
    if (changed) {
      if (r.ok) {
        log_->info("probe {} ({} {}) is healthy, {:.1f} ms", r.name, probeKindName(r.kind),
                   r.target, r.latency_ms);
      } else {
        log_->warn("probe {} ({} {}) failed: {}", r.name, probeKindName(r.kind), r.target, r.error);
      }
      if (on_change_) on_change_();
    }
  }
}

void ProbeRunner::loop() {
  auto next = Clock::now();
  while (!stop_) {
    runOnce();
    next += interval_;
    auto now = Clock::now();
    if (next < now) next = now;  // overran: the next cycle starts at once, no burst after
    std::unique_lock lock(wake_mu_);
    wake_.wait_until(lock, next, [this] { return stop_.load(); });
  }
}

std::vector<ProbeResult> ProbeRunner::results() const {
  std::lock_guard lock(mu_);
  std::vector<ProbeResult> out;
  out.reserve(results_.size());
  for (const auto& r : results_) {
    if (r) out.push_back(*r);
  }
  return out;
}

uint64_t ProbeRunner::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

}  // namespace rampart::agent
