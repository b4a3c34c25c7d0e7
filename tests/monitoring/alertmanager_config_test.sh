#!/usr/bin/env bash
# CTest alertmanager.config: manifests/alertmanager/alertmanager.yml with the
# real amtool: `amtool check-config`, then every case of tests/routes.txt
# through `amtool config routes test --verify.receivers` (the receivers a label
# set reaches, in order). Usage: alertmanager_config_test.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: $0 SOURCE_DIR}"
dir="$src/manifests/alertmanager"
config="$dir/alertmanager.yml"
amtool="${AMTOOL:-amtool}"

"$amtool" check-config "$config"

cases=0
failed=0
while read -r receivers labels; do
  case "$receivers" in '' | '#'*) continue ;; esac
  cases=$((cases + 1))
  # shellcheck disable=SC2086  # labels are one word each
  if ! got="$("$amtool" config routes test --config.file="$config" \
    --verify.receivers="$receivers" $labels 2>/dev/null)"; then
    echo "FAIL: {$labels} reaches [$got], expected [$receivers]" >&2
    failed=$((failed + 1))
  fi
done <"$dir/tests/routes.txt"
[ "$cases" -ge 10 ] || { echo "FAIL: only $cases route cases" >&2; exit 1; }
[ "$failed" -eq 0 ] || { echo "FAIL: $failed of $cases route cases" >&2; exit 1; }
echo "alertmanager.config: OK ($cases route cases)"
