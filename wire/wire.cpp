#include "rampart/wire.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "rampart.capnp.h"
#include "rampart/text.h"

namespace rampart::wire {
namespace {

namespace p = rampart::proto;

kj::StringPtr text(const std::string& s) {
  return kj::StringPtr(s.c_str(), s.size());
}

// ---- encoding ------------------------------------------------------------

void setKeyValues(capnp::List<p::KeyValue>::Builder out, const Labels& in) {
  unsigned i = 0;
  for (const auto& [k, v] : in) {
    out[i].setKey(text(k));
    out[i].setValue(text(v));
    ++i;
  }
}

void setTexts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& in) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, text(in[i]));
}

template <typename Req>
void setRequirements(capnp::List<p::Requirement>::Builder out, const std::vector<Req>& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setKey(text(in[i].key));
    out[i].setOperator(text(in[i].op));
    setTexts(out[i].initValues(in[i].values.size()), in[i].values);
  }
}

void setSelector(p::LabelSelector::Builder out, const LabelSelector& in) {
  setKeyValues(out.initMatchLabels(in.match_labels.size()), in.match_labels);
  setRequirements(out.initMatchExpressions(in.match_expressions.size()), in.match_expressions);
}

void setNodeTerm(p::NodeSelectorTerm::Builder out, const NodeSelectorTerm& in) {
  setRequirements(out.initMatchExpressions(in.match_expressions.size()), in.match_expressions);
  setRequirements(out.initMatchFields(in.match_fields.size()), in.match_fields);
}

void setPodTerm(p::PodAffinityTerm::Builder out, const PodAffinityTerm& in) {
  out.setHasLabelSelector(in.label_selector.has_value());
  if (in.label_selector) setSelector(out.initLabelSelector(), *in.label_selector);
  setTexts(out.initNamespaces(in.namespaces.size()), in.namespaces);
  out.setHasNamespaceSelector(in.namespace_selector.has_value());
  if (in.namespace_selector) setSelector(out.initNamespaceSelector(), *in.namespace_selector);
  out.setTopologyKey(text(in.topology_key));
  setTexts(out.initMatchLabelKeys(in.match_label_keys.size()), in.match_label_keys);
  setTexts(out.initMismatchLabelKeys(in.mismatch_label_keys.size()), in.mismatch_label_keys);
}

void setPodRules(p::PodAffinityRules::Builder out, const PodAffinityRules& in) {
  auto req = out.initRequired(in.required.size());
  for (unsigned i = 0; i < in.required.size(); ++i) setPodTerm(req[i], in.required[i]);
  auto pref = out.initPreferred(in.preferred.size());
  for (unsigned i = 0; i < in.preferred.size(); ++i) {
    pref[i].setWeight(in.preferred[i].weight);
    setPodTerm(pref[i].initTerm(), in.preferred[i].term);
  }
}

void setTaints(capnp::List<p::Taint>::Builder out, const std::vector<Taint>& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setKey(text(in[i].key));
    out[i].setValue(text(in[i].value));
    out[i].setEffect(text(in[i].effect));
  }
}

void setPlacement(p::PlacementSpec::Builder out, const PlacementSpec& in) {
  setKeyValues(out.initNodeSelector(in.node_selector.size()), in.node_selector);
  out.setHasNodeAffinity(in.node_affinity.has_value());
  if (in.node_affinity) {
    auto na = out.initNodeAffinity();
    auto req = na.initRequired(in.node_affinity->required.size());
    for (unsigned i = 0; i < in.node_affinity->required.size(); ++i) {
      setNodeTerm(req[i], in.node_affinity->required[i]);
    }
    auto pref = na.initPreferred(in.node_affinity->preferred.size());
    for (unsigned i = 0; i < in.node_affinity->preferred.size(); ++i) {
      pref[i].setWeight(in.node_affinity->preferred[i].weight);
      setNodeTerm(pref[i].initPreference(), in.node_affinity->preferred[i].preference);
    }
  }
  out.setHasPodAffinity(in.pod_affinity.has_value());
  if (in.pod_affinity) setPodRules(out.initPodAffinity(), *in.pod_affinity);
  out.setHasPodAntiAffinity(in.pod_anti_affinity.has_value());
  if (in.pod_anti_affinity) setPodRules(out.initPodAntiAffinity(), *in.pod_anti_affinity);
  auto tsc = out.initTopologySpread(in.topology_spread.size());
  for (unsigned i = 0; i < in.topology_spread.size(); ++i) {
    const auto& c = in.topology_spread[i];
    tsc[i].setMaxSkew(c.max_skew);
    tsc[i].setTopologyKey(text(c.topology_key));
    tsc[i].setWhenUnsatisfiable(text(c.when_unsatisfiable));
    tsc[i].setHasLabelSelector(c.label_selector.has_value());
    if (c.label_selector) setSelector(tsc[i].initLabelSelector(), *c.label_selector);
    tsc[i].setHasMinDomains(c.min_domains.has_value());
    tsc[i].setMinDomains(c.min_domains.value_or(0));
    tsc[i].setNodeAffinityPolicy(text(c.node_affinity_policy));
    tsc[i].setNodeTaintsPolicy(text(c.node_taints_policy));
    setTexts(tsc[i].initMatchLabelKeys(c.match_label_keys.size()), c.match_label_keys);
  }
  auto tol = out.initTolerations(in.tolerations.size());
  for (unsigned i = 0; i < in.tolerations.size(); ++i) {
    const auto& t = in.tolerations[i];
    tol[i].setKey(text(t.key));
    tol[i].setOperator(text(t.op));
    tol[i].setValue(text(t.value));
    tol[i].setEffect(text(t.effect));
    tol[i].setHasTolerationSeconds(t.toleration_seconds.has_value());
    tol[i].setTolerationSeconds(t.toleration_seconds.value_or(0));
  }
}

void setPod(p::Pod::Builder out, const Pod& in) {
  out.setUid(text(in.uid));
  out.setNamespace(text(in.namespace_));
  out.setName(text(in.name));
  out.setNodeName(text(in.node_name));
  setKeyValues(out.initLabels(in.labels.size()), in.labels);
  auto owners = out.initOwners(in.owners.size());
  for (unsigned i = 0; i < in.owners.size(); ++i) {
    owners[i].setKind(text(in.owners[i].kind));
    owners[i].setName(text(in.owners[i].name));
    owners[i].setUid(text(in.owners[i].uid));
    owners[i].setController(in.owners[i].controller);
    owners[i].setInferred(in.owners[i].inferred);
  }
  out.setPhase(static_cast<p::PodPhase>(in.phase));
  out.setReady(in.ready);
  out.setTerminating(in.terminating);
  out.setCreatedUnix(in.created_unix);
  out.setResourceVersion(text(in.resource_version));
  auto cs = out.initContainers(in.containers.size());
  for (unsigned i = 0; i < in.containers.size(); ++i) {
    const auto& c = in.containers[i];
    cs[i].setName(text(c.name));
    cs[i].setReady(c.ready);
    cs[i].setInit(c.init);
    cs[i].setRestartCount(c.restart_count);
    cs[i].setState(static_cast<p::ContainerState>(c.state));
    cs[i].setStateReason(text(c.state_reason));
    cs[i].setLastTerminationReason(text(c.last_termination_reason));
    cs[i].setLastTerminationExitCode(c.last_termination_exit_code);
    cs[i].setReadinessProbe(c.probes.readiness);
    cs[i].setLivenessProbe(c.probes.liveness);
    cs[i].setStartupProbe(c.probes.startup);
  }
  setPlacement(out.initPlacement(), in.placement);
  setTexts(out.initPvcNames(in.pvc_names.size()), in.pvc_names);
}

void setHealth(p::HostHealth::Builder out, const HostHealth& in) {
  out.setCpuUsageRatio(in.cpu_usage_ratio);
  out.setCpuCount(in.cpu_count);
  out.setLoad1(in.load1);
  out.setLoad5(in.load5);
  out.setLoad15(in.load15);
  out.setMemoryTotalBytes(in.memory_total_bytes);
  out.setMemoryAvailableBytes(in.memory_available_bytes);
  out.setHasPressure(in.pressure.has_value());
  if (in.pressure) {
    auto ps = out.initPressure();
    ps.setCpuSomeAvg10(in.pressure->cpu_some_avg10);
    ps.setMemorySomeAvg10(in.pressure->memory_some_avg10);
    ps.setMemoryFullAvg10(in.pressure->memory_full_avg10);
    ps.setIoSomeAvg10(in.pressure->io_some_avg10);
    ps.setIoFullAvg10(in.pressure->io_full_avg10);
  }
  auto fs = out.initFilesystems(in.filesystems.size());
  for (unsigned i = 0; i < in.filesystems.size(); ++i) {
    fs[i].setMountPoint(text(in.filesystems[i].mount_point));
    fs[i].setSizeBytes(in.filesystems[i].size_bytes);
    fs[i].setAvailBytes(in.filesystems[i].avail_bytes);
    fs[i].setFiles(in.filesystems[i].files);
    fs[i].setFilesFree(in.filesystems[i].files_free);
  }
  out.setUptimeSeconds(in.uptime_seconds);
  out.setBootId(text(in.boot_id));
}

void setIdentity(p::NodeIdentity::Builder out, const NodeIdentity& in) {
  const Node& n = in.node;
  out.setName(text(n.name));
  out.setUid(text(n.uid));
  out.setZone(text(n.zone));
  out.setRegion(text(n.region));
  setKeyValues(out.initLabels(n.labels.size()), n.labels);
  setTaints(out.initTaints(n.taints.size()), n.taints);
  out.setControlPlane(n.control_plane);
  out.setAgentVersion(text(in.agent_version));
  out.setBootId(text(in.boot_id));
  out.setUnschedulable(n.unschedulable);
  out.setKubeletVersion(text(n.kubelet_version));
  auto conds = out.initConditions(n.conditions.size());
  for (unsigned i = 0; i < n.conditions.size(); ++i) {
    conds[i].setType(text(n.conditions[i].type));
    conds[i].setStatus(text(n.conditions[i].status));
    conds[i].setReason(text(n.conditions[i].reason));
  }
}

void setFindings(capnp::List<p::PlacementFinding>::Builder out,
                 const std::vector<PlacementFinding>& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    const PlacementFinding& f = in[i];
    out[i].setCheck(text(f.check));
    out[i].setSeverity(text(f.severity));
    out[i].setHard(f.hard);
    setTexts(out[i].initPods(f.pods.size()), f.pods);
    out[i].setHasWorkload(f.workload.has_value());
    if (f.workload) {
      auto w = out[i].initWorkload();
      w.setKind(text(f.workload->kind));
      w.setNamespace(text(f.workload->namespace_));
      w.setName(text(f.workload->name));
    }
    out[i].setMessage(text(f.message));
    out[i].setDetailsJson(text(f.details_json));
    out[i].setRemediation(text(f.remediation));
  }
}

void setProbes(capnp::List<p::ProbeResult>::Builder out, const std::vector<ProbeResult>& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    const ProbeResult& r = in[i];
    out[i].setName(text(r.name));
    out[i].setKind(static_cast<p::ProbeKind>(static_cast<uint16_t>(r.kind)));
    out[i].setTarget(text(r.target));
    out[i].setOk(r.ok);
    out[i].setLatencyMs(r.latency_ms);
    out[i].setError(text(r.error));
    out[i].setCheckedAtMs(r.checked_at_ms);
    out[i].setConsecutiveFailures(r.consecutive_failures);
  }
}

// ---- decoding ------------------------------------------------------------

// Reads untrusted frames: every list's and text's declared size is checked
// against the limits before anything is allocated for it. A limit that bites
// records itself and throws Refused, which decode() turns into its error.
class Decoder {
 public:
  struct Refused {};

  explicit Decoder(const DecodeLimits& limits) : limits_(limits) {}

  // Why the frame was refused, as decode() returns it.
  Error error() const { return Error{code_, message_, 0, reason_}; }

  // `in` when its size is within `max`, else refused as `reason`.
  template <typename List>
  List bounded(List in, uint32_t max, std::string_view reason, const char* what) {
    if (in.size() > max) {
      refuse(reason,
             std::to_string(in.size()) + " " + what + ", over the limit of " + std::to_string(max));
    }
    return in;
  }
  template <typename List>
  List items(List in, const char* what) {
    return bounded(in, limits_.max_list_items, "list_items", what);
  }

  // Every text: within the size limit, and UTF-8 as the schema's Text
  // promises (one bad byte in a metric label would make Prometheus refuse
  // the whole scrape).
  std::string text(capnp::Text::Reader t) {
    if (t.size() > limits_.max_text_bytes) {
      refuse("text_bytes", "a text of " + std::to_string(t.size()) + " bytes, over the limit of " +
                               std::to_string(limits_.max_text_bytes));
    }
    const std::string_view view(t.cStr(), t.size());
    if (!validUtf8(view)) refuse("invalid_utf8", "a text that is not UTF-8", ErrorCode::kParse);
    return std::string(view);
  }

  Labels keyValues(capnp::List<p::KeyValue>::Reader in) {
    Labels out;
    for (auto kv : items(in, "labels")) out.emplace(text(kv.getKey()), text(kv.getValue()));
    return out;
  }

  std::vector<std::string> texts(capnp::List<capnp::Text>::Reader in, const char* what) {
    std::vector<std::string> out;
    out.reserve(items(in, what).size());
    for (auto t : in) out.push_back(text(t));
    return out;
  }

  template <typename Req>
  std::vector<Req> requirements(capnp::List<p::Requirement>::Reader in) {
    std::vector<Req> out;
    out.reserve(items(in, "selector requirements").size());
    for (auto r : in) {
      out.push_back(Req{text(r.getKey()), text(r.getOperator()), texts(r.getValues(), "values")});
    }
    return out;
  }

  LabelSelector selector(p::LabelSelector::Reader in) {
    return LabelSelector{keyValues(in.getMatchLabels()),
                         requirements<LabelSelectorRequirement>(in.getMatchExpressions())};
  }

  NodeSelectorTerm nodeTerm(p::NodeSelectorTerm::Reader in) {
    return NodeSelectorTerm{requirements<NodeSelectorRequirement>(in.getMatchExpressions()),
                            requirements<NodeSelectorRequirement>(in.getMatchFields())};
  }

  PodAffinityTerm podTerm(p::PodAffinityTerm::Reader in) {
    PodAffinityTerm t;
    if (in.getHasLabelSelector()) t.label_selector = selector(in.getLabelSelector());
    t.namespaces = texts(in.getNamespaces(), "namespaces");
    if (in.getHasNamespaceSelector()) t.namespace_selector = selector(in.getNamespaceSelector());
    t.topology_key = text(in.getTopologyKey());
    t.match_label_keys = texts(in.getMatchLabelKeys(), "matchLabelKeys");
    t.mismatch_label_keys = texts(in.getMismatchLabelKeys(), "mismatchLabelKeys");
    return t;
  }

  PodAffinityRules podRules(p::PodAffinityRules::Reader in) {
    PodAffinityRules r;
    for (auto t : items(in.getRequired(), "affinity terms")) r.required.push_back(podTerm(t));
    for (auto w : items(in.getPreferred(), "affinity terms")) {
      r.preferred.push_back(WeightedPodAffinityTerm{w.getWeight(), podTerm(w.getTerm())});
    }
    return r;
  }

  std::vector<Taint> taints(capnp::List<p::Taint>::Reader in) {
    std::vector<Taint> out;
    out.reserve(items(in, "taints").size());
    for (auto t : in) {
      out.push_back(Taint{text(t.getKey()), text(t.getValue()), text(t.getEffect())});
    }
    return out;
  }

  PlacementSpec placement(p::PlacementSpec::Reader in) {
    PlacementSpec s;
    s.node_selector = keyValues(in.getNodeSelector());
    if (in.getHasNodeAffinity()) {
      NodeAffinity na;
      auto affinity = in.getNodeAffinity();
      for (auto t : items(affinity.getRequired(), "node selector terms")) {
        na.required.push_back(nodeTerm(t));
      }
      for (auto p : items(affinity.getPreferred(), "node selector terms")) {
        na.preferred.push_back(PreferredSchedulingTerm{p.getWeight(), nodeTerm(p.getPreference())});
      }
      s.node_affinity = std::move(na);
    }
    if (in.getHasPodAffinity()) s.pod_affinity = podRules(in.getPodAffinity());
    if (in.getHasPodAntiAffinity()) s.pod_anti_affinity = podRules(in.getPodAntiAffinity());
    for (auto c : items(in.getTopologySpread(), "topology spread constraints")) {
      TopologySpreadConstraint t;
      t.max_skew = c.getMaxSkew();
      t.topology_key = text(c.getTopologyKey());
      t.when_unsatisfiable = text(c.getWhenUnsatisfiable());
      if (c.getHasLabelSelector()) t.label_selector = selector(c.getLabelSelector());
      if (c.getHasMinDomains()) t.min_domains = c.getMinDomains();
      t.node_affinity_policy = text(c.getNodeAffinityPolicy());
      t.node_taints_policy = text(c.getNodeTaintsPolicy());
      t.match_label_keys = texts(c.getMatchLabelKeys(), "matchLabelKeys");
      s.topology_spread.push_back(std::move(t));
    }
    for (auto t : items(in.getTolerations(), "tolerations")) {
      Toleration tol{text(t.getKey()), text(t.getOperator()), text(t.getValue()),
                     text(t.getEffect()), std::nullopt};
      if (t.getHasTolerationSeconds()) tol.toleration_seconds = t.getTolerationSeconds();
      s.tolerations.push_back(std::move(tol));
    }
    return s;
  }

  Pod pod(p::Pod::Reader in) {
    Pod pod;
    pod.uid = text(in.getUid());
    pod.namespace_ = text(in.getNamespace());
    pod.name = text(in.getName());
    pod.node_name = text(in.getNodeName());
    pod.labels = keyValues(in.getLabels());
    for (auto o : items(in.getOwners(), "owner references")) {
      pod.owners.push_back(OwnerRef{text(o.getKind()), text(o.getName()), text(o.getUid()),
                                    o.getController(), o.getInferred()});
    }
    // An enumerant from a newer schema maps to Unknown rather than an invalid value.
    pod.phase = clampEnum<PodPhase>(static_cast<uint16_t>(in.getPhase()), 4);
    pod.ready = in.getReady();
    pod.terminating = in.getTerminating();
    pod.created_unix = in.getCreatedUnix();
    pod.resource_version = text(in.getResourceVersion());
    for (auto c : items(in.getContainers(), "containers")) {
      ContainerStatus cs;
      cs.name = text(c.getName());
      cs.ready = c.getReady();
      cs.init = c.getInit();
      cs.restart_count = c.getRestartCount();
      cs.state = clampEnum<ContainerState>(static_cast<uint16_t>(c.getState()), 3);
      cs.state_reason = text(c.getStateReason());
      cs.last_termination_reason = text(c.getLastTerminationReason());
      cs.last_termination_exit_code = c.getLastTerminationExitCode();
      cs.probes = ContainerProbes{c.getReadinessProbe(), c.getLivenessProbe(), c.getStartupProbe()};
      pod.containers.push_back(std::move(cs));
    }
    pod.placement = placement(in.getPlacement());
    pod.pvc_names = texts(in.getPvcNames(), "volume claims");
    return pod;
  }

  HostHealth health(p::HostHealth::Reader in) {
    HostHealth h;
    h.cpu_usage_ratio = in.getCpuUsageRatio();
    h.cpu_count = in.getCpuCount();
    h.load1 = in.getLoad1();
    h.load5 = in.getLoad5();
    h.load15 = in.getLoad15();
    h.memory_total_bytes = in.getMemoryTotalBytes();
    h.memory_available_bytes = in.getMemoryAvailableBytes();
    if (in.getHasPressure()) {
      auto ps = in.getPressure();
      h.pressure = Pressure{ps.getCpuSomeAvg10(), ps.getMemorySomeAvg10(), ps.getMemoryFullAvg10(),
                            ps.getIoSomeAvg10(), ps.getIoFullAvg10()};
    }
    for (auto fs : items(in.getFilesystems(), "filesystems")) {
      h.filesystems.push_back(Filesystem{text(fs.getMountPoint()), fs.getSizeBytes(),
                                         fs.getAvailBytes(), fs.getFiles(), fs.getFilesFree()});
    }
    h.uptime_seconds = in.getUptimeSeconds();
    h.boot_id = text(in.getBootId());
    return h;
  }

  NodeIdentity identity(p::NodeIdentity::Reader in) {
    NodeIdentity id;
    Node& n = id.node;
    n.name = text(in.getName());
    n.uid = text(in.getUid());
    n.zone = text(in.getZone());
    n.region = text(in.getRegion());
    n.labels = keyValues(in.getLabels());
    n.taints = taints(in.getTaints());
    n.control_plane = in.getControlPlane();
    n.unschedulable = in.getUnschedulable();
    n.kubelet_version = text(in.getKubeletVersion());
    for (auto c : items(in.getConditions(), "node conditions")) {
      n.conditions.push_back(
          NodeCondition{text(c.getType()), text(c.getStatus()), text(c.getReason())});
    }
    id.agent_version = text(in.getAgentVersion());
    id.boot_id = text(in.getBootId());
    return id;
  }

  std::vector<PlacementFinding> findings(capnp::List<p::PlacementFinding>::Reader in) {
    std::vector<PlacementFinding> out;
    out.reserve(bounded(in, limits_.max_findings, "findings", "placement findings").size());
    for (auto f : in) {
      PlacementFinding pf;
      pf.check = text(f.getCheck());
      pf.severity = text(f.getSeverity());
      pf.hard = f.getHard();
      pf.pods = texts(f.getPods(), "finding pods");
      if (f.getHasWorkload()) {
        auto w = f.getWorkload();
        pf.workload = WorkloadRef{text(w.getKind()), text(w.getNamespace()), text(w.getName())};
      }
      pf.message = text(f.getMessage());
      pf.details_json = text(f.getDetailsJson());
      pf.remediation = text(f.getRemediation());
      out.push_back(std::move(pf));
    }
    return out;
  }

  std::vector<ProbeResult> probes(capnp::List<p::ProbeResult>::Reader in) {
    std::vector<ProbeResult> out;
    out.reserve(bounded(in, limits_.max_probes, "probes", "probe results").size());
    for (auto r : in) {
      ProbeResult pr;
      pr.name = text(r.getName());
      auto kind = static_cast<uint16_t>(r.getKind());
      // An enumerant from a newer sender is unknown here.
      pr.kind = kind <= static_cast<uint16_t>(ProbeKind::kTcp) ? static_cast<ProbeKind>(kind)
                                                               : ProbeKind::kUnknown;
      pr.target = text(r.getTarget());
      pr.ok = r.getOk();
      pr.latency_ms = r.getLatencyMs();
      pr.error = text(r.getError());
      pr.checked_at_ms = r.getCheckedAtMs();
      pr.consecutive_failures = r.getConsecutiveFailures();
      out.push_back(std::move(pr));
    }
    return out;
  }

  Report report(p::NodeReport::Reader r) {
    Report rep;
    rep.identity = identity(r.getNode());
    rep.sequence = r.getSequence();
    rep.sent_unix_ms = r.getSentUnixMs();
    rep.full = r.getFull();
    rep.health = health(r.getHealth());
    auto pods = bounded(r.getPods(), limits_.max_pods, "pods", "pods in one report");
    rep.pods.reserve(pods.size());
    for (auto p : pods) rep.pods.push_back(pod(p));
    auto removed =
        bounded(r.getRemovedPodUids(), limits_.max_pods, "pods", "removed pods in one report");
    rep.removed_pod_uids.reserve(removed.size());
    for (auto uid : removed) rep.removed_pod_uids.push_back(text(uid));
    rep.base_sequence = r.getBaseSequence();
    rep.placement_findings = findings(r.getPlacementFindings());
    rep.probe_results = probes(r.getProbeResults());
    rep.pods_unknown = r.getPodsUnknown();
    return rep;
  }

 private:
  template <typename E>
  static E clampEnum(uint16_t raw, uint16_t max) {
    return raw <= max ? static_cast<E>(raw) : static_cast<E>(0);
  }

  [[noreturn]] void refuse(std::string_view reason, std::string message,
                           ErrorCode code = ErrorCode::kLimit) {
    code_ = code;
    reason_ = reason;
    message_ = std::move(message);
    throw Refused{};
  }

  const DecodeLimits& limits_;
  ErrorCode code_ = ErrorCode::kLimit;
  std::string_view reason_;
  std::string message_;
};

}  // namespace

std::string encode(const Message& message) {
  capnp::MallocMessageBuilder builder;
  auto env = builder.initRoot<p::Envelope>();
  env.setVersion(kWireVersion);
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Hello>) {
          auto h = env.initHello();
          setIdentity(h.initNode(), m.identity);
          h.setAgentStartedUnixMs(m.agent_started_unix_ms);
          h.setReportIntervalMs(m.report_interval_ms);
          h.setFullEveryIntervals(m.full_every_intervals);
        } else if constexpr (std::is_same_v<T, Report>) {
          auto r = env.initReport();
          setIdentity(r.initNode(), m.identity);
          r.setSequence(m.sequence);
          r.setSentUnixMs(m.sent_unix_ms);
          r.setFull(m.full);
          setHealth(r.initHealth(), m.health);
          auto pods = r.initPods(m.pods.size());
          for (unsigned i = 0; i < m.pods.size(); ++i) setPod(pods[i], m.pods[i]);
          setTexts(r.initRemovedPodUids(m.removed_pod_uids.size()), m.removed_pod_uids);
          r.setBaseSequence(m.base_sequence);
          // Version 1 readers never look at it; an empty list stays a null pointer.
          if (!m.placement_findings.empty()) {
            setFindings(r.initPlacementFindings(m.placement_findings.size()), m.placement_findings);
          }
          if (!m.probe_results.empty()) {
            setProbes(r.initProbeResults(m.probe_results.size()), m.probe_results);
          }
          r.setPodsUnknown(m.pods_unknown);
        } else if constexpr (std::is_same_v<T, Heartbeat>) {
          auto h = env.initHeartbeat();
          h.setNodeName(text(m.node_name));
          h.setBootId(text(m.boot_id));
          h.setSequence(m.sequence);
          h.setSentUnixMs(m.sent_unix_ms);
          setHealth(h.initHealth(), m.health);
          if (!m.probe_results.empty()) {
            setProbes(h.initProbeResults(m.probe_results.size()), m.probe_results);
          }
        } else {
          env.initResync().setReason(text(m.reason));
        }
      },
      message);
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, builder);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Result<Decoded> decode(std::span<const std::byte> frame, const DecodeLimits& limits) {
  if (frame.empty()) return fail(ErrorCode::kParse, "empty frame");
  if (frame.size() > limits.max_frame_bytes) {
    return failLimit("frame_bytes", "a frame of " + std::to_string(frame.size()) +
                                        " bytes, over the limit of " +
                                        std::to_string(limits.max_frame_bytes));
  }
  Decoder decoder(limits);
  Result<Decoded> result = fail(ErrorCode::kParse, "undecoded");
  // Packed zero runs let a few bytes declare megabytes of empty elements; what
  // a frame may unpack to is bounded by its size.
  const uint64_t traversal_words = kTraversalFloorWords + kWordsPerFrameByte * frame.size();
  bool refused = false;
  kj::Maybe<kj::Exception> exception = kj::runCatchingExceptions([&] {
    kj::ArrayInputStream in(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(frame.data()), frame.size()));
    capnp::ReaderOptions options;
    options.traversalLimitInWords = traversal_words;
    options.nestingLimit = kNestingLimit;
    capnp::PackedMessageReader reader(in, options);
    auto env = reader.getRoot<p::Envelope>();
    Decoded d;
    d.sender_version = env.getVersion();
    try {
      switch (env.which()) {
        case p::Envelope::HELLO: {
          auto h = env.getHello();
          d.message = Hello{decoder.identity(h.getNode()), h.getAgentStartedUnixMs(),
                            h.getReportIntervalMs(), h.getFullEveryIntervals()};
          break;
        }
        case p::Envelope::REPORT:
          d.message = decoder.report(env.getReport());
          break;
        case p::Envelope::HEARTBEAT: {
          auto h = env.getHeartbeat();
          d.message = Heartbeat{decoder.text(h.getNodeName()),
                                decoder.text(h.getBootId()),
                                h.getSequence(),
                                h.getSentUnixMs(),
                                decoder.health(h.getHealth()),
                                decoder.probes(h.getProbeResults())};
          break;
        }
        case p::Envelope::RESYNC:
          d.message = Resync{decoder.text(env.getResync().getReason())};
          break;
        default:
          result = fail(ErrorCode::kProtocol,
                        "unknown message kind " + std::to_string(static_cast<int>(env.which())) +
                            " (sender wire version " + std::to_string(d.sender_version) + ")");
          return;
      }
    } catch (const Decoder::Refused&) {
      refused = true;
      return;
    }
    result = std::move(d);
  });
  if (refused) return std::unexpected(decoder.error());
  KJ_IF_MAYBE (e, exception) {
    std::string what = e->getDescription().cStr();
    if (what.find("traversal limit") != std::string::npos) {
      return failLimit("amplification", "a frame of " + std::to_string(frame.size()) +
                                            " bytes that unpacks to more than " +
                                            std::to_string(traversal_words) + " words");
    }
    return fail(ErrorCode::kParse, "malformed frame: " + what);
  }
  return result;
}

std::string_view messageKindName(const Message& message) {
  switch (message.index()) {
    case 0:
      return "hello";
    case 1:
      return "report";
    case 2:
      return "heartbeat";
    case 3:
      return "resync";
  }
  return "unknown";
}

}  // namespace rampart::wire
