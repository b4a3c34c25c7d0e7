# Rampart wire schema, version 4: agent -> aggregator (and aggregator -> agent
# control) messages carried over ZeroMQ. Every frame holds exactly one Envelope.
#
# Evolution rules (see schema/README.md): never renumber, reuse or retype an
# ordinal; add fields at the end with the next ordinal; retire a field by
# renaming it obsoleteFoo; new message kinds are new Envelope union members.
# Receivers count and drop kinds they do not know.

@0xbe459c050d2c89e1;

$import "/capnp/c++.capnp".namespace("rampart::proto");

const wireVersion :UInt16 = 4;  # 2: NodeReport.placementFindings; 3: probeResults; 4: podsUnknown

struct Envelope {
  version @0 :UInt16;          # wireVersion of the sender
  union {
    hello @1 :Hello;
    report @2 :NodeReport;
    heartbeat @3 :Heartbeat;
    resync @4 :Resync;         # aggregator -> agent: send hello and a full report
  }
}

struct Hello {
  node @0 :NodeIdentity;
  agentStartedUnixMs @1 :Int64;
  reportIntervalMs @2 :UInt32;   # heartbeat interval the agent runs with
  fullEveryIntervals @3 :UInt32; # a full report every N intervals
}

struct Heartbeat {
  nodeName @0 :Text;
  bootId @1 :Text;
  sequence @2 :UInt64;          # last report sequence sent (gap detection)
  sentUnixMs @3 :Int64;
  health @4 :HostHealth;        # a cheap sample rides along every interval
  # Version 3. The agent's latest node-local probe results, complete (as in
  # NodeReport.probeResults): they ride along every interval too.
  probeResults @5 :List(ProbeResult);
}

struct Resync {
  reason @0 :Text;
}

struct NodeReport {
  node @0 :NodeIdentity;
  sequence @1 :UInt64;          # per agent run; +1 per report (full or delta)
  sentUnixMs @2 :Int64;
  full @3 :Bool;                # true: pods is the complete set; false: a delta
  health @4 :HostHealth;
  pods @5 :List(Pod);           # full: every pod; delta: added or changed pods
  removedPodUids @6 :List(Text);# delta only
  baseSequence @7 :UInt64;      # delta only: the sequence this delta applies on
  # Version 2. The agent's current node-local placement findings, complete in
  # every report (full and delta): a receiver replaces what it had.
  placementFindings @8 :List(PlacementFinding);
  # Version 3. The agent's latest node-local probe results (kubelet health, API
  # server from the node, operator probes), complete in every report: a
  # receiver replaces what it had.
  probeResults @9 :List(ProbeResult);
  # Version 4. The agent has not listed its node's pods yet (just started, API
  # server unreachable or failing): `pods` is empty and means nothing. A
  # receiver keeps what it knew of the node's pods. Only in full reports.
  podsUnknown @10 :Bool;
}

# Version 3: enumerants are only appended (docs/agent.md, "Probes").
enum ProbeKind {
  unknown @0;
  kubelet @1;
  apiserver @2;
  http @3;
  tcp @4;
}

# Version 3: the latest outcome of one node-local probe.
struct ProbeResult {
  name @0 :Text;                # unique per node
  kind @1 :ProbeKind;
  target @2 :Text;              # URL or host:port
  ok @3 :Bool;
  latencyMs @4 :Float64;        # the last attempt (the timeout when it timed out)
  error @5 :Text;               # empty when ok
  checkedAtMs @6 :Int64;        # Unix ms, agent clock, when the attempt ended
  consecutiveFailures @7 :UInt32;
}

# Version 2: one placement rule broken on the reporting node, as the agent's
# engine found it (docs/checks.md, "Placement on one node").
struct PlacementFinding {
  check @0 :Text;               # check id, e.g. "placement.anti-affinity"
  severity @1 :Text;            # info | low | medium | high | critical
  hard @2 :Bool;                # a required rule is broken
  pods @3 :List(Text);          # "ns/name", the subject pod first
  hasWorkload @4 :Bool;
  workload @5 :WorkloadRef;     # the workload the finding counts against
  message @6 :Text;
  detailsJson @7 :Text;         # a JSON object, the check's details keys
  remediation @8 :Text;
}

struct WorkloadRef {
  kind @0 :Text;
  namespace @1 :Text;
  name @2 :Text;
}

struct NodeIdentity {
  name @0 :Text;
  uid @1 :Text;
  zone @2 :Text;
  region @3 :Text;
  labels @4 :List(KeyValue);
  taints @5 :List(Taint);
  controlPlane @6 :Bool;
  agentVersion @7 :Text;
  bootId @8 :Text;
  unschedulable @9 :Bool;
  kubeletVersion @10 :Text;
  conditions @11 :List(NodeCondition);
}

struct NodeCondition {
  type @0 :Text;
  status @1 :Text;
  reason @2 :Text;
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

struct Taint {
  key @0 :Text;
  value @1 :Text;
  effect @2 :Text;
}

struct HostHealth {
  cpuUsageRatio @0 :Float64;
  cpuCount @1 :UInt32;
  load1 @2 :Float64;
  load5 @3 :Float64;
  load15 @4 :Float64;
  memoryTotalBytes @5 :UInt64;
  memoryAvailableBytes @6 :UInt64;
  hasPressure @7 :Bool;
  pressure @8 :Pressure;
  filesystems @9 :List(Filesystem);
  uptimeSeconds @10 :Float64;
  bootId @11 :Text;
}

struct Pressure {
  cpuSomeAvg10 @0 :Float64;
  memorySomeAvg10 @1 :Float64;
  memoryFullAvg10 @2 :Float64;
  ioSomeAvg10 @3 :Float64;
  ioFullAvg10 @4 :Float64;
}

struct Filesystem {
  mountPoint @0 :Text;
  sizeBytes @1 :UInt64;
  availBytes @2 :UInt64;
  files @3 :UInt64;
  filesFree @4 :UInt64;
}

enum PodPhase {
  unknown @0;
  pending @1;
  running @2;
  succeeded @3;
  failed @4;
}

enum ContainerState {
  unknown @0;
  waiting @1;
  running @2;
  terminated @3;
}

struct Pod {
  uid @0 :Text;
  namespace @1 :Text;
  name @2 :Text;
  nodeName @3 :Text;
  labels @4 :List(KeyValue);
  owners @5 :List(OwnerRef);
  phase @6 :PodPhase;
  ready @7 :Bool;
  terminating @8 :Bool;
  createdUnix @9 :Int64;
  resourceVersion @10 :Text;
  containers @11 :List(ContainerStatus);
  placement @12 :PlacementSpec;
  pvcNames @13 :List(Text);
}

struct OwnerRef {
  kind @0 :Text;
  name @1 :Text;
  uid @2 :Text;
  controller @3 :Bool;
  inferred @4 :Bool;
}

struct ContainerStatus {
  name @0 :Text;
  ready @1 :Bool;
  init @2 :Bool;
  restartCount @3 :Int32;
  state @4 :ContainerState;
  stateReason @5 :Text;
  lastTerminationReason @6 :Text;
  lastTerminationExitCode @7 :Int32;
  readinessProbe @8 :Bool;
  livenessProbe @9 :Bool;
  startupProbe @10 :Bool;
}

struct PlacementSpec {
  nodeSelector @0 :List(KeyValue);
  hasNodeAffinity @1 :Bool;
  nodeAffinity @2 :NodeAffinity;
  hasPodAffinity @3 :Bool;
  podAffinity @4 :PodAffinityRules;
  hasPodAntiAffinity @5 :Bool;
  podAntiAffinity @6 :PodAffinityRules;
  topologySpread @7 :List(TopologySpreadConstraint);
  tolerations @8 :List(Toleration);
}

struct Requirement {
  key @0 :Text;
  operator @1 :Text;
  values @2 :List(Text);
}

struct LabelSelector {
  matchLabels @0 :List(KeyValue);
  matchExpressions @1 :List(Requirement);
}

struct NodeSelectorTerm {
  matchExpressions @0 :List(Requirement);
  matchFields @1 :List(Requirement);
}

struct PreferredSchedulingTerm {
  weight @0 :Int32;
  preference @1 :NodeSelectorTerm;
}

struct NodeAffinity {
  required @0 :List(NodeSelectorTerm);
  preferred @1 :List(PreferredSchedulingTerm);
}

struct PodAffinityTerm {
  hasLabelSelector @0 :Bool;
  labelSelector @1 :LabelSelector;
  namespaces @2 :List(Text);
  hasNamespaceSelector @3 :Bool;
  namespaceSelector @4 :LabelSelector;
  topologyKey @5 :Text;
  matchLabelKeys @6 :List(Text);
  mismatchLabelKeys @7 :List(Text);
}

struct WeightedPodAffinityTerm {
  weight @0 :Int32;
  term @1 :PodAffinityTerm;
}

struct PodAffinityRules {
  required @0 :List(PodAffinityTerm);
  preferred @1 :List(WeightedPodAffinityTerm);
}

struct TopologySpreadConstraint {
  maxSkew @0 :Int32;
  topologyKey @1 :Text;
  whenUnsatisfiable @2 :Text;
  hasLabelSelector @3 :Bool;
  labelSelector @4 :LabelSelector;
  hasMinDomains @5 :Bool;
  minDomains @6 :Int32;
  nodeAffinityPolicy @7 :Text;
  nodeTaintsPolicy @8 :Text;
  matchLabelKeys @9 :List(Text);
}

struct Toleration {
  key @0 :Text;
  operator @1 :Text;
  value @2 :Text;
  effect @3 :Text;
  hasTolerationSeconds @4 :Bool;
  tolerationSeconds @5 :Int64;
}
