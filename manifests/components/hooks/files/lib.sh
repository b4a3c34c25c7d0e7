# Shared by the example hooks (sourced, not run). The hook contract is in
# docs/hooks.md: the finding arrives as JSON on stdin and as RAMPART_*
# environment variables; nothing is ever interpolated into a shell string here.
# Every value taken from a finding is checked against the Kubernetes name rules
# before it reaches kubectl, and is always passed as one quoted argument.

set -euo pipefail

hook_name="$(basename "$0" .sh)"

say() { printf '%s: %s\n' "$hook_name" "$*"; }
die() { say "$*" >&2; exit "${2:-2}"; }

# DNS-1123 subdomain (node, pod, workload and namespace names).
require_name() {
  local what="$1" value="$2"
  if [ -z "$value" ] || [ "${#value}" -gt 253 ] ||
     ! [[ "$value" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]]; then
    die "refusing: $what is not a Kubernetes name: $(printf '%q' "$value")"
  fi
}

# kubectl's --dry-run for RAMPART_DRY_RUN=true (the aggregator records dry runs
# without starting the hook; this serves a hook run by hand).
dry_run_flag() {
  if [ "${RAMPART_DRY_RUN:-false}" = "true" ]; then printf '%s' "--dry-run=server"; fi
}
