#!/usr/bin/env bash
# Chapter 10's GPU run in one command (see benchmarks/gpu_run.py for what it does):
#     bash benchmarks/gpu_run.sh OUT [--dry-run] [--budget SECONDS]
# ddlopt comes from this working tree, torch and triton from the machine's python3 (or
# $PYTHON); the log goes to OUT/gpu_run.log beside the JSON files. Exits non-zero when a
# check fails or a part raises.
set -uo pipefail
out=${1:?usage: bash benchmarks/gpu_run.sh OUT [--dry-run] [--budget SECONDS]}
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"${PYTHON:-python3}" -m benchmarks.gpu_run --out "$out" "$@" 2>&1 | tee "$out/gpu_run.log"
exit "${PIPESTATUS[0]}"
