#!/usr/bin/env bash
# CTest prometheus.rules: manifests/prometheus/ with the real promtool.
#  1. `promtool check rules` on the plain rule file;
#  2. the PrometheusRule is what generate-prometheusrule.sh makes of it (one
#     source of truth), and its spec passes `promtool check rules` too;
#  3. `promtool test rules` on every tests/*.test.yaml (the expressions);
#  4. every rampart_* metric an expression names is in docs/metrics.md (the
#     metric contract), and every alert has severity, failure_domain and a
#     runbook_url (that the page exists: CTest runbooks);
#  5. no alert reads a recording rule (evaluation order between groups).
# Usage: prometheus_rules_test.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: $0 SOURCE_DIR}"
dir="$src/manifests/prometheus"
plain="$dir/rampart-rules.yaml"
promtool="${PROMTOOL:-promtool}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$promtool" check rules "$plain"

# No alert reads a recording rule: groups are evaluated independently, so such
# an alert would see the recorded series one evaluation late depending on which
# group ran first (it made `promtool test rules` flaky; rampart-rules.yaml).
recorded="$(sed -n 's/^ *- record: *//p' "$plain")"
alert_part="$(sed -n '/^ *- alert:/,$p' "$plain")"
for r in $recorded; do
  if grep -qF -- "$r" <<<"$alert_part"; then
    fail "an alert reads the recording rule $r: repeat its expression instead"
  fi
done

"$dir/generate-prometheusrule.sh" "$tmp/generated.yaml"
diff -u "$dir/rampart-prometheusrule.yaml" "$tmp/generated.yaml" ||
  fail "rampart-prometheusrule.yaml is out of date: run manifests/prometheus/generate-prometheusrule.sh"
sed -n '/^spec:/,$p' "$dir/rampart-prometheusrule.yaml" | tail -n +2 | sed 's/^  //' >"$tmp/spec.yaml"
"$promtool" check rules "$tmp/spec.yaml"

shopt -s nullglob
tests=("$dir"/tests/*.test.yaml)
[ "${#tests[@]}" -gt 0 ] || fail "no promtool unit tests in $dir/tests"
(cd "$dir/tests" && "$promtool" test rules "${tests[@]##*/}")

metrics="$(grep -oE '[a-z_:]*rampart_[a-z_:]*[a-z]' "$plain" | grep -v ':' | sort -u)"
[ -n "$metrics" ] || fail "no rampart_ metric found in $plain"
for m in $metrics; do
  grep -q "\`$m\`" "$src/docs/metrics.md" || fail "$m is used in $plain but not in docs/metrics.md"
done

alerts="$(grep -c '^ *- alert:' "$plain")"
for key in 'severity:' 'failure_domain:' 'runbook_url:'; do
  n="$(sed -n '/^ *- alert:/,$p' "$plain" | grep -c "^ *$key")"
  [ "$n" -eq "$alerts" ] || fail "$alerts alerts but $n with $key"
done
echo "prometheus.rules: OK ($alerts alerts, metrics: $(echo $metrics | wc -w))"
