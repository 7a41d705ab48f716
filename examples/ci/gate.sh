#!/usr/bin/env bash
# The release gate of release-gate.yml as one script any CI can run:
#   examples/ci/gate.sh MODEL HOLDOUT.csv OUTDIR
# Exits non-zero (1 mismatch / unconvertible step, 2 bad input) to block a release.
set -euo pipefail
model=${1:?model file}; holdout=${2:?holdout csv}; out=${3:-dist}
mkdir -p "$out"
mlexport check "$model" --format onnx --json > "$out/check.json"
mlexport onnx "$model" --data "$holdout" -o "$out/model.onnx" --report "$out/onnx-parity.json" --junit "$out/onnx-parity.xml"
echo "release gate passed: $out/model.onnx"
