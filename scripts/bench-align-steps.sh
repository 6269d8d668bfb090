#!/usr/bin/env bash
# Optimiser steps of the alignment objectives (pairwise reward model, PPO update) through StepRunner, this tree
# against another revision (default main), each side in its own JVM on the same sizes (AlignStepBench: the jobs
# module's alignment fixture model, vocabulary 512, block 128, d 64, 2 layers, 1 thread). Prints a table with
# the ratio. The other revision is exported with git archive into a scratch folder and built there (model and
# its dependencies only, offline); nothing is installed.
# usage: scripts/bench-align-steps.sh [BASE_REV] [STEPS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_REV="${1:-main}"
STEPS="${2:-10}"
WORK="${TMPDIR:-/tmp}/sparkgpt-bench-align-steps"
rm -rf "$WORK"
mkdir -p "$WORK/base"
git -C "$ROOT" archive "$BASE_REV" | tar -x -C "$WORK/base"
# the measuring class uses only API both sides have
cp "$ROOT/model/src/test/java/io/sparkgpt/model/AlignStepBench.java" "$WORK/base/model/src/test/java/io/sparkgpt/model/"
side() {
  (cd "$1" && mvn -B -q -o -pl model -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt >/dev/null)
  OMP_NUM_THREADS=1 java -cp "$1/model/target/test-classes:$1/model/target/classes:$(cat "$1/model/target/cp.txt")" \
    io.sparkgpt.model.AlignStepBench "$STEPS" | grep '^reward_ms='
}
base=$(side "$WORK/base")
this=$(side "$ROOT")
python3 - "$BASE_REV" "$base" "$this" "$STEPS" <<'PY'
import sys
rev, base, this, steps = sys.argv[1], *[dict(kv.split("=") for kv in a.split()) for a in sys.argv[2:4]], sys.argv[4]
print(f"\nms per optimiser step, median of {steps} after a warm-up step, 1 thread\n")
print(f"| objective | rows x T | {rev} ms/step | this tree ms/step | {rev} / this |")
print("|---|---|---|---|---|")
for key, name, shape in (("reward_ms", "pairwise reward", "16 x 128"), ("ppo_ms", "PPO update", "8 x 64")):
    b, t = float(base[key]), float(this[key])
    print(f"| {name} | {shape} | {b:.1f} | {t:.1f} | {b / t:.2f}x |")
PY
