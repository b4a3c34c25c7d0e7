// The scenario sections that describe objects besides workloads and pods:
// Services, HorizontalPodAutoscalers and Velero schedules and backups.
#include <algorithm>
#include <set>
#include <tuple>

#include "scenario/scenario_checker.h"

namespace rampart::kubesim {

std::optional<int64_t> parseAgo(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 100LL * 365 * 86400) return std::nullopt;
      ++i;
      ++digits;
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    switch (text[i++]) {
      case 's':
        total += n;
        break;
      case 'm':
        total += n * 60;
        break;
      case 'h':
        total += n * 3600;
        break;
      case 'd':
        total += n * 86400;
        break;
      default:
        return std::nullopt;
    }
  }
  return total;
}

namespace detail {
namespace {

Result<Json> listAt(const Checker& c, const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Json::array();
  if (!it->is_array()) return c.bad(std::string("'") + key + "' must be a list");
  return *it;
}

bool declared(const Scenario& s, const std::string& ns) {
  return std::find(s.namespaces.begin(), s.namespaces.end(), ns) != s.namespaces.end();
}

// ns and name of an entry, with the entry named in later messages.
Result<std::pair<std::string, std::string>> nsAndName(Checker& c, const Json& entry,
                                                      const Scenario& s,
                                                      const std::string& default_ns = "default") {
  auto name = c.str(entry, "name");
  if (!name) return std::unexpected(name.error());
  auto ns = c.str(entry, "namespace", false);
  if (!ns) return std::unexpected(ns.error());
  const std::string n = ns->empty() ? default_ns : *ns;
  c.where += " (" + n + "/" + *name + ")";
  if (!validName(*name)) return c.bad("invalid name");
  if (!declared(s, n)) return c.bad("namespace '" + n + "' is not declared");
  return std::make_pair(n, *name);
}

Result<Json> servicePorts(const Checker& c, const Json& entry, bool node_ports) {
  auto list = listAt(c, entry, "ports");
  if (!list) return std::unexpected(list.error());
  Json out = Json::array();
  std::set<std::string> names;
  for (const auto& p : *list) {
    if (auto ok = c.onlyKeys(p, {"name", "protocol", "port", "targetPort", "nodePort"}); !ok) {
      return std::unexpected(ok.error());
    }
    if (!p.contains("port") || !p["port"].is_number_integer() || p["port"].get<int64_t>() < 1 ||
        p["port"].get<int64_t>() > 65535) {
      return c.bad("every port needs a 'port' within 1..65535");
    }
    Json port = Json::object();
    if (p.contains("name")) {
      if (!p["name"].is_string()) return c.bad("a port's 'name' must be a string");
      port["name"] = p["name"];
    }
    if (list->size() > 1 && !port.contains("name")) {
      return c.bad("ports must be named when there is more than one");
    }
    if (port.contains("name") && !names.insert(port["name"].get<std::string>()).second) {
      return c.bad("duplicate port name '" + port["name"].get<std::string>() + "'");
    }
    const std::string protocol = p.value("protocol", "TCP");
    if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
      return c.bad("a port's protocol must be TCP, UDP or SCTP");
    }
    port["protocol"] = protocol;
    port["port"] = p["port"];
    port["targetPort"] = p.value("targetPort", p["port"]);
    if (p.contains("nodePort")) {
      if (!node_ports) return c.bad("'nodePort' needs type NodePort or LoadBalancer");
      if (!p["nodePort"].is_number_integer() || p["nodePort"].get<int64_t>() < 30000 ||
          p["nodePort"].get<int64_t>() > 32767) {
        return c.bad("'nodePort' must be within 30000..32767");
      }
      port["nodePort"] = p["nodePort"];
    }
    out.push_back(port);
  }
  return out;
}

const std::set<std::string>& backupPhases() {
  static const std::set<std::string> kPhases = {"New",
                                                "FailedValidation",
                                                "Queued",
                                                "ReadyToStart",
                                                "InProgress",
                                                "WaitingForPluginOperations",
                                                "WaitingForPluginOperationsPartiallyFailed",
                                                "Finalizing",
                                                "FinalizingPartiallyFailed",
                                                "Completed",
                                                "PartiallyFailed",
                                                "Failed",
                                                "Deleting"};
  return kPhases;
}

// One backup's time, phase and counts (the keys shared by a schedule's runs
// and the backups made by hand).
Result<void> backupRun(const Checker& c, const Json& entry, VeleroBackupSpec& out) {
  auto duration = [&](const char* key, int64_t fallback) -> Result<int64_t> {
    auto it = entry.find(key);
    if (it == entry.end() || it->is_null()) return fallback;
    if (it->is_number_integer() && it->get<int64_t>() >= 0) return it->get<int64_t>();
    if (it->is_string()) {
      if (auto v = parseAgo(it->get<std::string>())) return *v;
    }
    return c.bad(std::string("'") + key + "' must be a duration like 90s, 15m, 6h or 3d");
  };
  if (!entry.contains("ago")) return c.bad("missing 'ago' (e.g. 6h: started 6 hours before)");
  auto ago = duration("ago", 0);
  if (!ago) return std::unexpected(ago.error());
  out.ago_seconds = *ago;
  auto took = duration("duration", 60);
  if (!took) return std::unexpected(took.error());
  out.duration_seconds = *took;
  auto phase = c.str(entry, "phase", false);
  if (!phase) return std::unexpected(phase.error());
  if (!phase->empty()) {
    if (!backupPhases().count(*phase)) return c.bad("unknown backup phase '" + *phase + "'");
    out.phase = *phase;
  }
  auto errors = c.integer(entry, "errors", 0);
  if (!errors) return std::unexpected(errors.error());
  out.errors = *errors;
  auto warnings = c.integer(entry, "warnings", 0);
  if (!warnings) return std::unexpected(warnings.error());
  out.warnings = *warnings;
  return {};
}

}  // namespace

Result<void> parseServices(const Json& root, Scenario& s) {
  Checker top{"top level"};
  auto list = listAt(top, root, "services");
  if (!list) return std::unexpected(list.error());
  std::set<std::string> keys;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    Checker c{"services[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(
            e, {"namespace", "name", "type", "labels", "selector", "ports", "clusterIP"});
        !ok) {
      return std::unexpected(ok.error());
    }
    ServiceSpec svc;
    auto id = nsAndName(c, e, s);
    if (!id) return std::unexpected(id.error());
    std::tie(svc.ns, svc.name) = *id;
    if (!keys.insert(svc.ns + "/" + svc.name).second) return c.bad("duplicate service");
    auto type = c.str(e, "type", false);
    if (!type) return std::unexpected(type.error());
    if (!type->empty()) svc.type = *type;
    if (svc.type != "ClusterIP" && svc.type != "NodePort" && svc.type != "LoadBalancer") {
      return c.bad("type must be ClusterIP, NodePort or LoadBalancer");
    }
    auto labels = c.stringMap(e, "labels");
    if (!labels) return std::unexpected(labels.error());
    svc.labels = *labels;
    if (e.contains("selector") && !e["selector"].is_null()) {
      auto selector = c.stringMap(e, "selector");
      if (!selector) return std::unexpected(selector.error());
      svc.selector = *selector;
    }
    auto cluster_ip = c.str(e, "clusterIP", false);
    if (!cluster_ip) return std::unexpected(cluster_ip.error());
    if (!cluster_ip->empty() && *cluster_ip != "None") {
      return c.bad("'clusterIP' may only be None (headless); addresses are allocated");
    }
    svc.cluster_ip = *cluster_ip;
    if (svc.cluster_ip == "None" && svc.type != "ClusterIP") {
      return c.bad("a headless service must be of type ClusterIP");
    }
    auto ports = servicePorts(c, e, svc.type != "ClusterIP");
    if (!ports) return std::unexpected(ports.error());
    if (ports->empty() && svc.cluster_ip != "None") {
      return c.bad("'ports' is required (except for a headless service)");
    }
    svc.ports = *ports;
    s.services.push_back(std::move(svc));
  }
  return {};
}

Result<void> parseHpas(const Json& root, Scenario& s) {
  Checker top{"top level"};
  auto list = listAt(top, root, "hpas");
  if (!list) return std::unexpected(list.error());
  std::set<std::string> keys;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    Checker c{"hpas[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(e, {"namespace", "name", "scaleTargetRef", "minReplicas",
                                 "maxReplicas", "cpuUtilization", "currentCpuUtilization"});
        !ok) {
      return std::unexpected(ok.error());
    }
    HpaSpec hpa;
    auto id = nsAndName(c, e, s);
    if (!id) return std::unexpected(id.error());
    std::tie(hpa.ns, hpa.name) = *id;
    if (!keys.insert(hpa.ns + "/" + hpa.name).second) return c.bad("duplicate hpa");
    const Json ref = e.value("scaleTargetRef", Json());
    if (!ref.is_object() || !ref.contains("kind") || !ref.contains("name") ||
        !ref["kind"].is_string() || !ref["name"].is_string()) {
      return c.bad("'scaleTargetRef' needs a kind and a name");
    }
    hpa.target_kind = ref["kind"];
    hpa.target_name = ref["name"];
    bool found = false;
    for (const auto& w : s.workloads) {
      found = found ||
              (w.ns == hpa.ns && w.name == hpa.target_name &&
               workloadKindName(w.kind) == hpa.target_kind && w.kind != WorkloadKind::kDaemonSet);
    }
    if (!found) {
      return c.bad("scaleTargetRef names no Deployment or StatefulSet of the scenario: " +
                   hpa.target_kind + " " + hpa.ns + "/" + hpa.target_name);
    }
    auto min = c.integer(e, "minReplicas", 1);
    if (!min) return std::unexpected(min.error());
    if (*min < 1) return c.bad("'minReplicas' must be at least 1");
    hpa.min_replicas = *min;
    if (!e.contains("maxReplicas")) return c.bad("missing 'maxReplicas'");
    auto max = c.integer(e, "maxReplicas", 1);
    if (!max) return std::unexpected(max.error());
    if (*max < hpa.min_replicas) return c.bad("'maxReplicas' is below 'minReplicas'");
    hpa.max_replicas = *max;
    auto target = c.integer(e, "cpuUtilization", 80, 1000);
    if (!target) return std::unexpected(target.error());
    if (*target < 1) return c.bad("'cpuUtilization' must be at least 1");
    hpa.cpu_utilization = *target;
    auto current = c.integer(e, "currentCpuUtilization", hpa.cpu_utilization * 6 / 10, 1000);
    if (!current) return std::unexpected(current.error());
    hpa.current_cpu_utilization = *current;
    s.hpas.push_back(std::move(hpa));
  }
  return {};
}

Result<void> parseVelero(const Json& root, Scenario& s) {
  auto it = root.find("velero");
  if (it == root.end()) return {};
  Checker top{"velero"};
  const Json velero = it->is_null() ? Json::object() : *it;
  if (auto ok = top.onlyKeys(velero, {"namespace", "schedules", "backups"}); !ok) {
    return std::unexpected(ok.error());
  }
  s.velero.installed = true;
  auto ns = top.str(velero, "namespace", false);
  if (!ns) return std::unexpected(ns.error());
  if (!ns->empty()) s.velero.ns = *ns;
  if (!declared(s, s.velero.ns)) {
    return top.bad("namespace '" + s.velero.ns + "' is not declared");
  }
  std::set<std::string> schedule_names;
  std::set<std::string> run_keys;  // schedule/ago, or a manual backup's name
  auto schedules = listAt(top, velero, "schedules");
  if (!schedules) return std::unexpected(schedules.error());
  for (size_t i = 0; i < schedules->size(); ++i) {
    const Json& e = (*schedules)[i];
    Checker c{"velero.schedules[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(e, {"name", "schedule", "paused", "template", "backups"}); !ok) {
      return std::unexpected(ok.error());
    }
    VeleroScheduleSpec sched;
    auto name = c.str(e, "name");
    if (!name) return std::unexpected(name.error());
    sched.name = *name;
    c.where += " (" + sched.name + ")";
    if (!validName(sched.name)) return c.bad("invalid name");
    if (!schedule_names.insert(sched.name).second) return c.bad("duplicate schedule");
    auto cron = c.str(e, "schedule");
    if (!cron) return std::unexpected(cron.error());
    sched.cron = *cron;
    auto paused = c.boolean(e, "paused");
    if (!paused) return std::unexpected(paused.error());
    sched.paused = *paused;
    if (e.contains("template")) {
      if (!e["template"].is_object()) return c.bad("'template' must be a mapping");
      sched.backup_template = e["template"];
    }
    auto runs = listAt(c, e, "backups");
    if (!runs) return std::unexpected(runs.error());
    for (size_t r = 0; r < runs->size(); ++r) {
      Checker rc{c.where + ".backups[" + std::to_string(r) + "]"};
      if (auto ok = rc.onlyKeys((*runs)[r], {"ago", "duration", "phase", "errors", "warnings"});
          !ok) {
        return std::unexpected(ok.error());
      }
      VeleroBackupSpec b;
      b.schedule = sched.name;
      b.spec = sched.backup_template;
      if (auto ok = backupRun(rc, (*runs)[r], b); !ok) return std::unexpected(ok.error());
      if (!run_keys.insert(sched.name + "/" + std::to_string(b.ago_seconds)).second) {
        return rc.bad("two backups of one schedule start at the same time");
      }
      s.velero.backups.push_back(std::move(b));
    }
    s.velero.schedules.push_back(std::move(sched));
  }
  auto backups = listAt(top, velero, "backups");
  if (!backups) return std::unexpected(backups.error());
  for (size_t i = 0; i < backups->size(); ++i) {
    const Json& e = (*backups)[i];
    Checker c{"velero.backups[" + std::to_string(i) + "]"};
    if (auto ok = c.onlyKeys(e, {"name", "spec", "ago", "duration", "phase", "errors", "warnings"});
        !ok) {
      return std::unexpected(ok.error());
    }
    VeleroBackupSpec b;
    auto name = c.str(e, "name");
    if (!name) return std::unexpected(name.error());
    b.name = *name;
    c.where += " (" + b.name + ")";
    if (!validName(b.name)) return c.bad("invalid name");
    if (!run_keys.insert(b.name).second) return c.bad("duplicate backup");
    if (e.contains("spec")) {
      if (!e["spec"].is_object()) return c.bad("'spec' must be a mapping");
      b.spec = e["spec"];
    }
    if (auto ok = backupRun(c, e, b); !ok) return std::unexpected(ok.error());
    s.velero.backups.push_back(std::move(b));
  }
  return {};
}

}  // namespace detail
}  // namespace rampart::kubesim
