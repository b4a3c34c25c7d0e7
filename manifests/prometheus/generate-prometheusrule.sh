#!/usr/bin/env bash
# Writes rampart-prometheusrule.yaml (a PrometheusRule, monitoring.coreos.com/v1,
# for the Prometheus Operator) from rampart-rules.yaml, the source of truth:
# `spec` is the plain file's `groups`, verbatim. Run it after editing the
# plain file; CTest (prometheus.rules) fails when the two differ.
# Usage: generate-prometheusrule.sh [OUTPUT]   (default: next to this script)
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$dir/rampart-prometheusrule.yaml}"
{
  cat <<'HEADER'
# GENERATED from rampart-rules.yaml by generate-prometheusrule.sh: edit the
# plain file and run the script. The Prometheus Operator loads it when the
# Prometheus resource's ruleSelector / ruleNamespaceSelector select it (e.g. add
# the label `release: <your kube-prometheus-stack release>`).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: rampart
  namespace: rampart
  labels:
    app.kubernetes.io/name: rampart
    app.kubernetes.io/component: alerting-rules
spec:
HEADER
  sed -n '/^groups:/,$p' "$dir/rampart-rules.yaml" | sed 's/^\(.\)/  \1/'
} >"$out"
