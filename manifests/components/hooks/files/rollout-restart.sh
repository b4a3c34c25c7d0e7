#!/usr/bin/env bash
# Rolling restart of the finding's workload (Deployment, StatefulSet or
# DaemonSet): kubectl rollout restart sets the template annotation
# kubectl.kubernetes.io/restartedAt. Match it to pod.crashloop or pod.not-ready.
. "$(dirname "$0")/lib.sh"
kind="${RAMPART_WORKLOAD_KIND:-}"
name="${RAMPART_WORKLOAD_NAME:-}"
ns="${RAMPART_NAMESPACE:-}"
case "$kind" in
  Deployment) resource=deployment ;;
  StatefulSet) resource=statefulset ;;
  DaemonSet) resource=daemonset ;;
  *) die "refusing: cannot restart a workload of kind $(printf '%q' "$kind")" ;;
esac
require_name namespace "$ns"
require_name workload "$name"
args=(rollout restart "$resource/$name" -n "$ns")
[ -n "$(dry_run_flag)" ] && args+=("$(dry_run_flag)")
kubectl "${args[@]}"
say "restarted $resource $ns/$name"
