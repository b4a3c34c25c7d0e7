#!/usr/bin/env bash
# Evicts one of the co-located replicas of the finding's workload through the
# Eviction API (policy/v1), so that a spread-aware scheduler places it on
# another node. The pods come from the finding's "pods" on stdin (needs jq);
# the last one is evicted. A PodDisruptionBudget that allows no disruption
# answers 429: the hook says so and exits 3. Match it to
# placement.colocated-replicas or workload.replicas-on-one-node.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || die "jq is required (apt-get install jq)"
payload="$(cat)"
pod_ref="$(jq -r '.finding.pods[-1] // empty' <<<"$payload")"
[ -n "$pod_ref" ] || die "the finding names no pod"
ns="${pod_ref%%/*}"
pod="${pod_ref#*/}"
require_name namespace "$ns"
require_name pod "$pod"
eviction="$(jq -cn --arg ns "$ns" --arg pod "$pod" \
  '{apiVersion: "policy/v1", kind: "Eviction", metadata: {name: $pod, namespace: $ns}}')"
if [ "${RAMPART_DRY_RUN:-false}" = "true" ]; then
  say "dry run: would evict pod $ns/$pod"
  exit 0
fi
set +e
out="$(kubectl create --raw "/api/v1/namespaces/$ns/pods/$pod/eviction" -f - <<<"$eviction" 2>&1)"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  if grep -q 'TooManyRequests\|disruption budget' <<<"$out"; then
    say "eviction of pod $ns/$pod refused by a PodDisruptionBudget (429): $out" >&2
    exit 3
  fi
  say "eviction of pod $ns/$pod failed: $out" >&2
  exit 1
fi
say "evicted pod $ns/$pod"
