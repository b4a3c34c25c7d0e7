#!/usr/bin/env bash
# Scales a single-replica Deployment to 2 replicas; kubectl's
# --current-replicas=1 precondition leaves one that someone already scaled
# alone. Match it to workload.single-replica.
. "$(dirname "$0")/lib.sh"
kind="${RAMPART_WORKLOAD_KIND:-}"
name="${RAMPART_WORKLOAD_NAME:-}"
ns="${RAMPART_NAMESPACE:-}"
[ "$kind" = "Deployment" ] || die "refusing: only Deployments are scaled, not $(printf '%q' "$kind")"
require_name namespace "$ns"
require_name deployment "$name"
args=(scale "deployment/$name" -n "$ns" --current-replicas=1 --replicas=2)
[ -n "$(dry_run_flag)" ] && args+=("$(dry_run_flag)")
kubectl "${args[@]}"
say "scaled deployment $ns/$name to 2 replicas"
