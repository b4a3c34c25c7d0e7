#!/usr/bin/env bash
# Cordons the finding's node (RAMPART_NODE) so that nothing new is scheduled
# there. Match it to node.down or node.partitioned-or-agent-failed.
. "$(dirname "$0")/lib.sh"
node="${RAMPART_NODE:-}"
require_name node "$node"
args=(cordon "$node")
[ -n "$(dry_run_flag)" ] && args+=("$(dry_run_flag)")
kubectl "${args[@]}"
say "cordoned node $node for ${RAMPART_CHECK:-?} (${RAMPART_FINDING_KEY:-})"
