#!/usr/bin/env bash
# Benchmark of the two `pretrain` engines (issue #6): averaging (the explicit engine Gpt over Spark RDDs) and
# dl4j-spark (deeplearning4j-spark's ParameterAveragingTrainingMaster, the same Gpt as a DL4J layer) on the same
# dataset, model and run shape: 2 workers on local[2], K=4 steps between averages, batch 8 per worker, a fixed
# number of steps, 1 ND4J thread per task.
# Prints ms/round and tokens/s (medians over the rounds after the first, which includes start-up), the last
# round's train loss (at its last step) and the final validation loss, and the dl4j-spark/averaging ratios.
# usage: scripts/bench-pretrain-engines.sh [SHARED_CORPUS] [WORK_DIR]   (env: STEPS=24 D=64 L=2 H=2 T=64 B=8 K=4)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-pretrain}"
STEPS="${STEPS:-24}" D="${D:-64}" L="${L:-2}" H="${H:-2}" T="${T:-64}" B="${B:-8}" K="${K:-4}"
mkdir -p "$WORK"
(cd "$ROOT" && mvn -q -B -DskipTests package -pl jobs -am)
export SPARKGPT_SKIP_BUILD=1
TEXT="$CORPUS/prose_en/tinyshakespeare.txt"
if [[ ! -f "$WORK/data-$T/manifest.json" ]]; then
  "$ROOT/scripts/sparkgpt" train-tokenizer --master 'local[2]' -i "$TEXT" --doc-split blank-line \
    -o "$WORK/tokenizer.json" --vocab-size 512 >"$WORK/tokenizer.log" 2>&1
  "$ROOT/scripts/sparkgpt" tokenize --master 'local[2]' -i "$TEXT" --doc-split blank-line -t "$WORK/tokenizer.json" \
    -o "$WORK/data-$T" --seq-len "$T" --val-fraction 0.05 >"$WORK/tokenize.log" 2>&1
fi
for engine in averaging dl4j-spark; do
  echo "pretrain --engine $engine: $STEPS steps" >&2
  "$ROOT/scripts/sparkgpt" pretrain --engine "$engine" --master 'local[2]' --data "$WORK/data-$T" \
    --output "$WORK/run-$engine" --no-resume --no-verify --preset tiny --block-size "$T" --d-model "$D" --layers "$L" \
    --heads "$H" --workers 2 --averaging-every "$K" --batch-size "$B" --steps "$STEPS" --warmup 5 --lr 3e-3 \
    --eval-every 1000 --eval-batches 4 --checkpoint-every 0 >"$WORK/$engine.log" 2>&1 \
    || { tail -5 "$WORK/$engine.log" >&2; exit 1; }
done
python3 - "$WORK" "$STEPS" "$D" "$L" "$H" "$T" "$B" "$K" <<'PY'
import json, statistics, sys
w, steps, d, l, h, t, b, k = sys.argv[1:]
def load(engine):
    rows = [json.loads(x) for x in open(f"{w}/run-{engine}/metrics.jsonl") if x.strip()]
    rounds = [r for r in rows if "loss" in r]
    later = rounds[1:] or rounds
    return {"ms": statistics.median(r["ms"] for r in later),
            "tok": statistics.median(r["tokens_per_s"] for r in later),
            "loss": rounds[-1]["loss_last_step"],
            "val": [r["val_loss"] for r in rows if "val_loss" in r][-1],
            "rounds": len(rounds)}
a, g = load("averaging"), load("dl4j-spark")
print(f"\nmodel d={d} L={l} H={h} T={t}, vocab 512; 2 workers (local[2]) x batch {b}, K={k}, {steps} steps "
      f"({a['rounds']} rounds); medians over rounds 2..{a['rounds']}")
print("\n| engine | ms/round | tokens/s | final train loss (last step) | final val loss |")
print("|---|---|---|---|---|")
for name, r in (("averaging", a), ("dl4j-spark", g)):
    print(f"| {name} | {r['ms']:,.0f} | {r['tok']:,.0f} | {r['loss']:.4f} | {r['val']:.4f} |")
print(f"| dl4j-spark / averaging | {g['ms']/a['ms']:.2f} | {g['tok']/a['tok']:.2f} | | |")
PY
