#!/usr/bin/env bash
# Makes the CURVE key pairs of the aggregator and of the agents with
# `rampartctl keygen` into manifests/base/keys/ (or --out DIR), where the base's
# secretGenerator reads them. The private keys never leave that directory: it is
# git-ignored, so they are never committed.
#
#   manifests/generate-keys.sh [--out DIR] [--force]
#
# rampartctl is $RAMPARTCTL, else the one on PATH, else build/dev's.
# Existing keys are kept unless --force (new keys need both Secrets re-applied).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/base/keys"
force=false
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --force) force=true; shift ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "generate-keys.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
ctl="${RAMPARTCTL:-}"
if [ -z "$ctl" ]; then
  if command -v rampartctl >/dev/null 2>&1; then ctl=rampartctl
  else ctl="$here/../build/dev/tools/rampartctl/rampartctl"; fi
fi
if ! [ -x "$ctl" ] && ! command -v "$ctl" >/dev/null 2>&1; then
  echo "generate-keys.sh: rampartctl not found (set RAMPARTCTL or run tools/dev build)" >&2
  exit 1
fi
mkdir -p "$out"
umask 077
for who in aggregator agent; do
  if [ -f "$out/$who.key" ] && ! $force; then
    echo "keeping $out/$who.key (--force makes a new one)"
    continue
  fi
  "$ctl" keygen --out "$out/$who" >/dev/null
  echo "wrote $out/$who.key and $out/$who.pub"
done
