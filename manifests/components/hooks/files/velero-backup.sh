#!/usr/bin/env bash
# Creates a Velero backup (backups.velero.io) of the finding's namespace, or of
# every namespace for a cluster-level finding. VELERO_NAMESPACE (default
# velero) is where Velero runs. Match it to backup.stale or backup.not-observed.
. "$(dirname "$0")/lib.sh"
velero_ns="${VELERO_NAMESPACE:-velero}"
ns="${RAMPART_NAMESPACE:-}"
require_name "Velero namespace" "$velero_ns"
if [ -n "$ns" ]; then
  require_name namespace "$ns"
  included="[\"$ns\"]"
  prefix="rampart-$ns"
else
  included='["*"]'
  prefix="rampart-cluster"
fi
name="${prefix:0:40}-$(date -u +%Y%m%d%H%M%S)"
check="${RAMPART_CHECK:-}"
[[ "$check" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || check=unknown
manifest=$(cat <<JSON
{"apiVersion": "velero.io/v1", "kind": "Backup",
 "metadata": {"name": "$name", "namespace": "$velero_ns",
              "labels": {"app.kubernetes.io/created-by": "rampart", "rampart.io/check": "$check"}},
 "spec": {"includedNamespaces": $included, "storageLocation": "default", "ttl": "720h0m0s"}}
JSON
)
# --validate=false: the manifest is fixed here, and kubectl's client-side
# validation would need the server's OpenAPI (kubesim serves none).
args=(create --validate=false -f -)
[ -n "$(dry_run_flag)" ] && args+=("$(dry_run_flag)")
kubectl "${args[@]}" <<<"$manifest"
say "created Velero backup $velero_ns/$name of ${ns:-all namespaces}"
