#!/usr/bin/env bash
# DPO optimiser step against the SFT step on the same batch (DpoStepBench: 8 preference pairs, 1 thread), on the
# alignment fixture model and on tiny; prints a markdown table with the ratio (target: DPO at most 2.2x SFT).
# Builds the model module and its dependencies through the reactor, offline; nothing is installed.
# usage: scripts/bench-dpo-step.sh [STEPS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mvn -B -q -o -pl model -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt >/dev/null
OMP_NUM_THREADS=1 java -cp "model/target/test-classes:model/target/classes:$(cat model/target/cp.txt)" \
  io.sparkgpt.model.DpoStepBench "${1:-10}"
